//! `prover explore`: synthetic proof data from search (`prover::pipeline::explore`), with progress on stderr.

use std::collections::HashMap;
use std::process::ExitCode;

use ::datasets::output::{Input, Output, Target};
use anyhow::{Context, bail};
use prover::ProveStatus;

use ::datasets::decontamination::{ExclusionIndex, Level};
use prover::pipeline::explore::{ExploreConfig, ExploreEvents, run_explore};
use prover::session::Session;
use prover::settings::{self, SettingsFile};
use serde_json::json;

use super::ExploreArgs;
use super::interrupt::Interrupt;
use super::preflight;
use crate::exit;
use prover::pipeline::run as manifest;

/// Runs `prover explore`.
pub(super) fn run(args: ExploreArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let proofs_wanted = args.proofs_per_theorem.unwrap_or(1);
    if !(1..=1000).contains(&proofs_wanted) {
        bail!("--proofs-per-theorem must be from 1 to 1000, got {proofs_wanted}");
    }
    let inputs: Vec<Input<'_>> = std::iter::once(Input {
        flag: "--dataset",
        path: &args.dataset,
    })
    .chain(args.exclude.iter().map(|path| Input {
        flag: "--exclude",
        path,
    }))
    .collect();
    let outputs: Vec<Output<'_>> = std::iter::once(Output {
        flag: "--out",
        path: &args.out,
        target: Target::Dir,
    })
    .chain(super::common::trace_output(args.trace.as_deref()))
    .collect();
    if args.session.search.learn_online || args.session.search.save_model.is_some() {
        bail!("--learn-online and --save-model work with `prover eval` and `prover iterate`");
    }
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;
    let (bytes, theorems) = manifest::read_dataset(&args.dataset, "dataset")?;
    let mut input = manifest::dataset_input(&args.dataset, &bytes, &theorems);
    let shard = settings::shard(args.shard.as_deref())?;
    let theorems = prover::pipeline::batch::in_shard(theorems, shard, |t| t.name.as_str());
    if theorems.is_empty() {
        bail!(
            "dataset {} holds no rows{}",
            args.dataset.display(),
            shard.map_or(String::new(), |shard| format!(" in shard {shard}"))
        );
    }
    let license = args.license.clone().unwrap_or_else(|| "unknown".to_owned());
    let valid_license = license.starts_with(|c: char| c.is_ascii_alphanumeric())
        && license
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '+'));
    if !valid_license {
        bail!(
            "--license must be a Hugging Face license id such as mit, apache-2.0 or cc-by-4.0 \
             (lower-case letters, digits, `-`, `.`, `+`), got {license:?}"
        );
    }
    let level: Level = args
        .decontamination
        .as_deref()
        .unwrap_or(Level::default().name())
        .parse()?;
    let mut excluded = ExclusionIndex::new(level);
    let mut exclude_files: Vec<String> = Vec::new();
    let mut benchmarks = Vec::new();
    for path in &args.exclude {
        let (bytes, benchmark) = manifest::read_dataset(path, "--exclude")?;
        let goals = ::datasets::decontamination::root_goals(&bytes);
        for theorem in &benchmark {
            let goal = goals.get(&theorem.name).map(String::as_str);
            excluded.add(&theorem.name, &theorem.formal_statement, goal);
        }
        // The card and the manifest name an input by its file name and content, never by
        // where it lay on this machine.
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let sha1 = sha1_smol::Sha1::from(&bytes).digest().to_string();
        exclude_files.push(format!(
            "{name} (SHA-1 {}, {} rows)",
            &sha1[..12],
            benchmark.len()
        ));
        benchmarks.extend(benchmark);
    }
    exclude_files.sort();
    if args.out.exists() && !args.out.is_dir() {
        bail!("--out {} exists and is not a directory", args.out.display());
    }

    let overlay = settings::Overlay {
        shard,
        ..args.session.overlay()
    };
    let mut config = settings::session_config(&overlay, settings)?;
    config.prove.reuse_verdicts = prover::VerdictReuse::Never;
    config.prove.search.proofs_wanted = proofs_wanted;
    let (prompt_template, check) = super::common::pipeline_settings(&config, settings)?;
    let pool = config.pool.clone();
    let concurrency = settings::concurrency(args.concurrency, settings, pool.workers)?;
    let session = Session::open(config)?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create --out {}", args.out.display()))?;
    let trace = super::common::Extras::new(false, args.trace.as_deref())?.trace;
    let mut run_config = manifest::search_config(session.prove_config(), &pool);
    // Root goals Lean printed before, under this Lean, for the benchmarks and the theorems.
    let mut known_roots = HashMap::new();
    if let Some(cache) = session.cache() {
        let root = |t: &::datasets::Theorem| {
            let statement = ::datasets::lean::with_sorry(&t.formal_statement);
            cache
                .root(&t.header, &statement)
                .filter(|goals| goals.len() == 1)
                .map(|goals| goals.concat())
        };
        for theorem in &benchmarks {
            if let Some(goal) = root(theorem) {
                excluded.add_goal(&theorem.name, &goal);
            }
        }
        for theorem in &theorems {
            if let Some(goal) = root(theorem) {
                known_roots.insert(theorem.name.clone(), goal);
            }
        }
    }
    for (key, value) in [
        ("proofs_per_theorem", json!(proofs_wanted)),
        ("prompt_template", json!(prompt_template)),
        ("exclude", json!(exclude_files)),
        ("decontamination", json!(level.name())),
        ("verify_timeout_ms", json!(check.timeout.as_millis() as u64)),
    ] {
        run_config.insert(key.to_owned(), value);
    }
    prover::pipeline::merge::record_shard(&mut run_config, shard);
    if let Some(name) = args.dataset.file_name() {
        input.path = name.to_string_lossy().into_owned();
    }
    let resuming = args.out.join("search.jsonl").exists();
    let mut run_manifest = manifest::prepare(
        &args.out.join("explore"),
        super::common::identity("explore", run_config, manifest::repl_record(&pool), input),
        false,
        resuming,
    )?;

    let interrupt = Interrupt::install(session.handle())?;
    let probe = preflight::ready(&session, &theorems[0].header)?;
    run_manifest.set_model_probe(probe);
    run_manifest.start()?;

    let explore = ExploreConfig {
        out: args.out.clone(),
        concurrency,
        prompt_template,
        check,
        pool,
        excluded,
        excluded_files: exclude_files,
        known_roots,
        license,
        manifest: run_manifest.record().clone(),
    };
    let stop = interrupt.stop();
    let prover = session.prover();
    let outcome = session.handle().block_on(run_explore(
        &prover,
        &theorems,
        &explore,
        &stop,
        &mut Progress { trace },
    ));
    super::cache::finish_run(&session);
    super::common::print_model_summary(&session);
    if let Some(signal) = interrupt.signal() {
        note!(
            "prover explore: stopped by {}; what was decided is in {}; rerun the same command \
             to resume",
            Interrupt::name(signal),
            args.out.display()
        );
        return Ok(Interrupt::exit_code(signal));
    }
    session.handle().block_on(session.pool().shutdown());
    let Some(summary) = outcome? else {
        return Ok(exit::signal(libc::SIGINT));
    };
    note!(
        "prover explore: {} theorems ({} dropped as benchmark duplicates): {} proved, {} \
         failed, {} error; {} proofs, {} trace rows, {} steps, {} preferences; {} of {} \
         synthetic theorems verified; written to {}",
        summary.get("theorems"),
        summary.get("excluded_as_benchmark_duplicates"),
        summary.get("proved"),
        summary.get("failed"),
        summary.get("error"),
        summary.get("proofs"),
        summary.get("trace_rows"),
        summary.get("steps"),
        summary.get("preferences"),
        summary.get("synthetic_verified"),
        summary.get("synthetic_candidates"),
        args.out.join("data").display()
    );
    let counts: Vec<(&str, usize)> = summary
        .counts
        .iter()
        .map(|(k, v)| (k.as_str(), usize::try_from(*v).unwrap_or(usize::MAX)))
        .collect();
    run_manifest.finish(&counts)?;
    Ok(exit::settled_if(summary.get("error") == 0))
}

/// Progress lines on stderr, and each theorem's trace under `--trace DIR`.
struct Progress {
    trace: Option<std::path::PathBuf>,
}

impl ExploreEvents for Progress {
    fn searched(&mut self, record: &::datasets::explore::ExploreRecord) {
        let status = match record.status {
            ProveStatus::Proved => "proved",
            ProveStatus::Failed => "failed",
            ProveStatus::Error => "error",
        };
        note!(
            "[explore] {status:<6} {} ({} proofs, {} edges, {:.1}s, {} Lean calls)",
            record.name,
            record.proofs.len(),
            record.edges.len(),
            record.seconds,
            record.lean_calls
        );
        if let Some(dir) = &self.trace {
            super::common::write_trace(dir, &record.name, &record.edges);
        }
    }

    fn verified(&mut self, result: &::datasets::CheckResult) {
        if result.status != ::datasets::Status::Valid {
            note!(
                "[explore verify] {} refused: {}",
                result.name,
                result.reasons.join("; ")
            );
        }
    }
}
