//! `prover datasets fetch|list|audit|transfer`: the command-line side of the lineage registry,
//! fetching pinned benchmarks; flagging degenerate statements and re-checking proofs across
//! lineages through `pipeline::{audit, transfer}::run`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::FetchArgs;
use super::progress::StderrProgress;
use prover::datasets::fetch::{self, Source};
use prover::datasets::lineage::Registry;
use prover::pipeline::audit::{AuditEvent, AuditRun};
use prover::pipeline::transfer::{TransferEvent, TransferRun};

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

/// Runs `prover datasets audit`: flags → [`AuditRun`] → `pipeline::audit::run`, then the
/// summary on stdout.
pub(super) fn audit(
    args: Box<super::AuditArgs>,
    settings: &prover::settings::SettingsFile,
) -> anyhow::Result<ExitCode> {
    let request = AuditRun {
        dataset: args.dataset.clone(),
        compare: args.compare.clone(),
        out: args.out.clone(),
        audit_expansions: args.audit_expansions,
        fresh: args.fresh,
        save_model: args.session.search.save_model.clone(),
        overlay: args.session.overlay(),
    };
    let mut progress = StderrProgress::default();
    let end = prover::pipeline::audit::run(request, settings, &mut progress)?;
    let summary: Vec<String> = (end.flag_counts().iter())
        .map(|(flag, n)| format!("{n} {flag}"))
        .collect();
    let incomplete = end.incomplete();
    println!(
        "{}: {} problems audited, {} flagged ({}){}",
        end.out.display(),
        end.rows.len(),
        end.flagged(),
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
    if let Some(signal) = progress.signal() {
        return Ok(crate::exit::signal(signal));
    }
    Ok(crate::exit::settled_if(end.settled()))
}

/// Runs `prover datasets transfer`: flags → [`TransferRun`] → `pipeline::transfer::run`, then
/// a summary per pair of lineages on stdout.
pub(super) fn transfer(
    args: Box<super::TransferArgs>,
    settings: &prover::settings::SettingsFile,
) -> anyhow::Result<ExitCode> {
    let request = TransferRun {
        results: args.results.clone(),
        datasets: args.datasets.clone(),
        out: args.out.clone(),
        save_model: args.session.search.save_model.clone(),
        overlay: args.session.overlay(),
    };
    let mut progress = StderrProgress::default();
    let end = prover::pipeline::transfer::run(request, settings, &mut progress)?;
    let pairs = end.pairs();
    for ((from, to), [transfers, does_not, errors]) in &pairs {
        println!("{from} → {to}: {transfers} transfer, {does_not} do not, {errors} error");
    }
    if let Some(signal) = progress.signal() {
        return Ok(crate::exit::signal(signal));
    }
    Ok(crate::exit::settled_if(
        pairs.values().all(|counts| counts[2] == 0),
    ))
}

/// An audit's lines on stderr.
pub(super) fn render_audit(event: &AuditEvent<'_>) {
    match event {
        AuditEvent::UnreadFlags { out, line, reason } => note!(
            "prover datasets audit: {}:{line}: {reason} (audited again)",
            out.display()
        ),
        AuditEvent::AlreadyAudited {
            kept,
            problems,
            out,
        } => note!(
            "prover datasets audit: {kept} of {problems} problems already audited in {} (same \
             statements, same budget)",
            out.display()
        ),
        AuditEvent::Audited {
            row,
            decided,
            total,
        } => {
            let flags: Vec<&str> = row.flags.iter().map(|f| f.flag.as_str()).collect();
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
        }
        _ => {}
    }
}

/// A transfer's lines on stderr.
pub(super) fn render_transfer(event: &TransferEvent<'_>) {
    match event {
        TransferEvent::SkippedLine { path, line, reason } => note!(
            "prover datasets transfer: warning: {}:{line}: {reason}; line skipped",
            path.display()
        ),
        TransferEvent::Planned { checks } => note!(
            "prover datasets transfer: {checks} re-check(s) of proofs against other lineages' \
             statements"
        ),
        _ => {}
    }
}
