//! `prover datasets fetch|list|audit`: the command-line side of the lineage registry, fetching
//! pinned benchmarks, and flagging degenerate statements.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::FetchArgs;
use prover::datasets::fetch::{self, Source};
use prover::datasets::lineage::Registry;

/// Runs `prover datasets fetch`: a registry lineage (by id, or by id without `@commit`), or
/// the older `minif2f`/`proofnet` with `--version`.
pub(super) fn fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::builtin();
    let lineage = if args.dataset.contains('/')
        || args.dataset.contains('@')
        || registry.get(&args.dataset).is_ok()
    {
        if args.version.is_some() {
            anyhow::bail!("--version is for `minif2f`/`proofnet`; a lineage id names its version");
        }
        registry.get(&args.dataset)?
    } else {
        let source = Source::parse(&args.dataset, args.version.as_deref())?;
        registry.get(source.lineage_id())?
    };
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("datasets").join(match lineage.id.as_str() {
            // The directories earlier versions wrote keep their names.
            "minif2f/deepseek-v1.5@2c4ba91" => "minif2f-deepseek".to_owned(),
            "minif2f/yangky11@5746b7d" => "minif2f-yangky11".to_owned(),
            "proofnet/deepseek@2c4ba91" => "proofnet-deepseek".to_owned(),
            id => id.replace(['/', '@'], "-"),
        })
    });
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let fetched = fetch::fetch_lineage(lineage, &out, scratch.path())?;
    for (path, rows) in &fetched.files {
        note!(
            "prover datasets: wrote {rows} rows of {} to {}",
            lineage.id,
            path.display()
        );
    }
    Ok(ExitCode::from(crate::exit::SETTLED))
}

/// Runs `prover datasets list`: the registry on stdout.
pub(super) fn list() -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    for lineage in &Registry::builtin().lineages {
        writeln!(stdout, "{}\n", lineage.describe())?;
    }
    Ok(ExitCode::from(crate::exit::SETTLED))
}

/// Runs `prover datasets audit`: every problem of the dataset not already answered by its flags
/// file (same statement, same budget) is audited through the session's REPL pool, and the
/// flags file is rewritten whole after each problem, so nothing decided is lost to an
/// interruption.
pub(super) fn audit(
    args: Box<super::AuditArgs>,
    settings: &prover::settings::SettingsFile,
) -> anyhow::Result<ExitCode> {
    use ::datasets::audit::{AuditRow, flags_path_for, flags_text, read_flags};
    use ::datasets::output::{FileKind, Input, Output, Target};
    use prover::pipeline::audit::{AuditPlan, problem_key};
    use prover::pipeline::run as manifest;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    let out = args
        .out
        .clone()
        .unwrap_or_else(|| flags_path_for(&args.dataset));
    let mut inputs = vec![Input {
        flag: "--dataset",
        path: &args.dataset,
    }];
    inputs.extend(args.compare.iter().map(|path| Input {
        flag: "--compare",
        path,
    }));
    let mut outputs = vec![Output {
        flag: "--out",
        path: &out,
        target: Target::File(FileKind::AuditFlags),
    }];
    prover::pipeline::run::session_files(
        args.session.search.learned_model.as_deref(),
        args.session.search.save_model.as_deref(),
        &mut inputs,
        &mut outputs,
    );
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;

    let (bytes, theorems) = manifest::read_dataset(&args.dataset, "dataset")?;
    let identities =
        ::datasets::lineage::dataset_identities(&String::from_utf8_lossy(&bytes), &theorems);
    let lineages: std::collections::BTreeSet<&str> = identities
        .values()
        .filter_map(|i| i.lineage.as_deref())
        .collect();
    // Problem ids are compared without case where the registry's name map says so.
    let case_fold = lineages.iter().any(|id| {
        Registry::builtin()
            .get(id)
            .is_ok_and(|lineage| lineage.names.case_fold)
    });
    let mut others: BTreeMap<String, Vec<(String, ::datasets::lineage::StatementIdentity)>> =
        BTreeMap::new();
    for path in &args.compare {
        let (other_bytes, other_theorems) = manifest::read_dataset(path, "--compare")?;
        let other = ::datasets::lineage::dataset_identities(
            &String::from_utf8_lossy(&other_bytes),
            &other_theorems,
        );
        for identity in other.into_values() {
            let source = identity
                .lineage
                .clone()
                .unwrap_or_else(|| path.display().to_string());
            others
                .entry(problem_key(&identity.problem_id, case_fold))
                .or_default()
                .push((source, identity));
        }
    }
    let session = prover::session::Session::open(prover::settings::session_config(
        &args.session.overlay(),
        settings,
    )?)?;
    let plan = Arc::new(AuditPlan {
        problems: theorems
            .iter()
            .map(|t| (t.clone(), identities[&t.name].clone()))
            .collect(),
        others,
        case_fold,
        budget_expansions: args.audit_expansions,
        statement_deadline: session.prove_config().statement_deadline,
    });
    let earlier = match (args.fresh, std::fs::read_to_string(&out)) {
        (false, Ok(text)) => {
            let (rows, errors) = read_flags(&text);
            for error in errors {
                note!(
                    "prover datasets audit: {}:{}: {} (audited again)",
                    out.display(),
                    error.line,
                    error.reason
                );
            }
            rows
        }
        _ => Vec::new(),
    };
    let (todo, kept) = plan.left_to_audit(earlier);
    if !kept.is_empty() {
        note!(
            "prover datasets audit: {} of {} problems already audited in {} (same statements, same budget)",
            kept.len(),
            plan.problems.len(),
            out.display()
        );
    }
    let rows: Arc<Mutex<Vec<AuditRow>>> = Arc::new(Mutex::new(kept));
    ::datasets::write_atomic(&out, flags_text(&rows.lock().unwrap()).as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    let workers = session.pool().config().workers;
    let concurrency = prover::settings::concurrency(None, settings, workers)?;
    let interrupt = super::interrupt::Interrupt::install(session.handle())?;
    let stop = interrupt.stop();
    let total = todo.len();
    let written = rows.clone();
    let out_path = out.clone();
    let mut decided = 0usize;
    session.handle().block_on(prover::pipeline::audit::run(
        &session,
        plan.clone(),
        todo,
        concurrency,
        &stop,
        move |row| {
            let mut rows = written.lock().unwrap_or_else(|p| p.into_inner());
            let flags: Vec<&str> = row.flags.iter().map(|f| f.flag.as_str()).collect();
            decided += 1;
            note!(
                "[{decided}/{total}] {}: {}",
                row.name,
                if row.incomplete {
                    "incomplete (audited again next time)".to_owned()
                } else if flags.is_empty() {
                    "no flags".to_owned()
                } else {
                    flags.join(", ")
                }
            );
            rows.push(row);
            ::datasets::write_atomic(&out_path, flags_text(&rows).as_bytes()).map_err(|source| {
                prover::pipeline::PipelineError::Io {
                    path: out_path.clone(),
                    source,
                }
            })
        },
    ))?;
    if interrupt.signal().is_none() {
        session.handle().block_on(session.pool().shutdown());
    }
    let rows = rows.lock().unwrap_or_else(|p| p.into_inner());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows.iter() {
        for flag in &row.flags {
            *counts.entry(flag.flag.as_str()).or_default() += 1;
        }
    }
    let incomplete = rows.iter().filter(|r| r.incomplete).count();
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "{}: {} problems audited, {} flagged ({}){}",
        out.display(),
        rows.len(),
        rows.iter().filter(|r| !r.flags.is_empty()).count(),
        if summary.is_empty() {
            "none".to_owned()
        } else {
            summary.join(", ")
        },
        if incomplete > 0 {
            format!(", {incomplete} incomplete")
        } else {
            String::new()
        }
    );
    if let Some(signal) = interrupt.signal() {
        return Ok(crate::exit::signal(signal));
    }
    Ok(crate::exit::settled_if(
        incomplete == 0 && rows.len() == plan.problems.len(),
    ))
}

/// Runs `prover datasets transfer`: every proof of the results files re-checked against each
/// other lineage's statement of its problem, written (sorted) to `--out`; a summary per pair
/// of lineages on stdout.
pub(super) fn transfer(
    args: Box<super::TransferArgs>,
    settings: &prover::settings::SettingsFile,
) -> anyhow::Result<ExitCode> {
    use ::datasets::output::{FileKind, Input, Output, Target};
    use ::datasets::transfer::{TransferOutcome, TransferRow, transfers_text};
    use prover::pipeline::run as manifest;
    use std::collections::BTreeMap;

    let inputs: Vec<Input<'_>> = args
        .results
        .iter()
        .map(|path| Input {
            flag: "results",
            path,
        })
        .chain(args.datasets.iter().map(|path| Input {
            flag: "--dataset",
            path,
        }))
        .collect();
    let mut inputs = inputs;
    let mut outputs = vec![Output {
        flag: "--out",
        path: &args.out,
        target: Target::File(FileKind::TransferRows),
    }];
    prover::pipeline::run::session_files(
        args.session.search.learned_model.as_deref(),
        args.session.search.save_model.as_deref(),
        &mut inputs,
        &mut outputs,
    );
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;

    let mut results = Vec::new();
    for path in &args.results {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read results {}", path.display()))?;
        let (rows, errors) = ::datasets::read_prove_results(&bytes);
        for error in errors {
            note!(
                "prover datasets transfer: warning: {}:{}: {}; line skipped",
                path.display(),
                error.line,
                error.reason
            );
        }
        if !rows.iter().any(|r| r.lineage.is_some()) {
            anyhow::bail!(
                "results {} name no lineage: its rows were computed on a dataset that names none (fetch it with `prover datasets fetch`)",
                path.display()
            );
        }
        results.extend(rows);
    }
    let mut targets = BTreeMap::new();
    let mut case_fold = false;
    for path in &args.datasets {
        let (bytes, theorems) = manifest::read_dataset(path, "--dataset")?;
        let identities =
            ::datasets::lineage::dataset_identities(&String::from_utf8_lossy(&bytes), &theorems);
        for theorem in theorems {
            let identity = identities[&theorem.name].clone();
            let Some(lineage) = identity.lineage.clone() else {
                anyhow::bail!(
                    "--dataset {}: row {} names no lineage",
                    path.display(),
                    theorem.name
                );
            };
            case_fold |= Registry::builtin()
                .get(&lineage)
                .is_ok_and(|l| l.names.case_fold);
            targets
                .entry(lineage)
                .or_insert_with(Vec::new)
                .push((theorem, identity));
        }
    }
    let tasks = prover::pipeline::transfer::plan(&results, &targets, case_fold);
    note!(
        "prover datasets transfer: {} re-check(s) of proofs against other lineages' statements",
        tasks.len()
    );
    let session = prover::session::Session::open(prover::settings::session_config(
        &args.session.overlay(),
        settings,
    )?)?;
    let workers = session.pool().config().workers;
    let concurrency = prover::settings::concurrency(None, settings, workers)?;
    let interrupt = super::interrupt::Interrupt::install(session.handle())?;
    let stop = interrupt.stop();
    let mut rows: Vec<TransferRow> = Vec::new();
    session.handle().block_on(prover::pipeline::transfer::run(
        &session,
        tasks,
        concurrency,
        &stop,
        |row| {
            rows.push(row);
            Ok(())
        },
    ))?;
    if interrupt.signal().is_none() {
        session.handle().block_on(session.pool().shutdown());
    }
    ::datasets::write_atomic(&args.out, transfers_text(&rows).as_bytes())
        .with_context(|| format!("cannot write --out {}", args.out.display()))?;
    let mut pairs: BTreeMap<(&str, &str), [usize; 3]> = BTreeMap::new();
    for row in &rows {
        let counts = pairs
            .entry((row.from_lineage.as_str(), row.to_lineage.as_str()))
            .or_default();
        counts[match row.transfer {
            TransferOutcome::Transfers => 0,
            TransferOutcome::DoesNot => 1,
            TransferOutcome::Error => 2,
        }] += 1;
    }
    for ((from, to), [transfers, does_not, errors]) in &pairs {
        println!("{from} → {to}: {transfers} transfer, {does_not} do not, {errors} error");
    }
    if let Some(signal) = interrupt.signal() {
        return Ok(crate::exit::signal(signal));
    }
    Ok(crate::exit::settled_if(
        pairs.values().all(|counts| counts[2] == 0),
    ))
}
