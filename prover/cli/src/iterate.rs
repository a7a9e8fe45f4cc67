//! `prover iterate`: expert-iteration rounds over a conjecture file (`prover::pipeline::expert`), with progress on stderr and the user's command between rounds.

use std::path::Path;
use std::process::ExitCode;

use ::datasets::CheckResult;
use ::datasets::training::RoundRecord;
use anyhow::{Context, bail};
use prover::engine::ProveStatus;
use prover::pipeline::expert::{
    RoundEvents, RoundSummary, RoundsConfig, RoundsOutcome, run_rounds,
};
use prover::pipeline::{PipelineError, Stop};
use prover::policy::{PolicyKind, PolicySpec};
use prover::session::Session;
use prover::settings::{self, CheckOverlay, SettingsFile};
use serde_json::json;

use super::IterateArgs;
use super::interrupt::Interrupt;
use super::{manifest, preflight};
use crate::exit;

/// Default expansions of the cheap pass: BFS-Prover's filter is a small beam, a few nodes.
const CHEAP_EXPANSIONS: u32 = 4;
/// Default width of the cheap pass.
const CHEAP_WIDTH: usize = 2;

/// Runs `prover iterate`.
pub(super) fn run(args: IterateArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    if !(1..=1000).contains(&args.rounds) {
        bail!("--rounds must be from 1 to 1000, got {}", args.rounds);
    }
    let cheap_width = settings::at_once(args.cheap_width.unwrap_or(CHEAP_WIDTH), "--cheap-width")?;
    let cheap_expansions = args.cheap_expansions.unwrap_or(CHEAP_EXPANSIONS);
    let (bytes, conjectures) = super::eval::read_dataset(&args.conjectures, "conjectures")?;
    if conjectures.is_empty() {
        bail!("conjectures {} holds no rows", args.conjectures.display());
    }
    if args.dir.exists() && !args.dir.is_dir() {
        bail!("--dir {} exists and is not a directory", args.dir.display());
    }

    let overlay = super::search_overlay(&args.search, &args.cache, &args.repl);
    let mut config = settings::session_config(&overlay, settings)?;
    // The search itself is wanted, for its steps and refusals; cached answers still spare Lean.
    config.prove.reuse_verdicts = false;
    let cheap_spec = match args.cheap_policy.as_deref() {
        Some("same") => config.policy.clone(),
        _ => PolicySpec {
            kind: PolicyKind::Portfolio,
            llm: None,
            fallback: false,
            ..config.policy.clone()
        },
    };
    let mut cheap_prove = config.prove.clone();
    cheap_prove.search.expansion_width = cheap_width;
    cheap_prove.search.max_expansions = Some(cheap_expansions.max(1));
    let prompt_template = config.policy.llm.as_ref().map_or_else(
        || "{state}:::".to_owned(),
        |llm| llm.prompt_template.clone(),
    );
    let check = settings::check_config(
        &CheckOverlay {
            allow_native_decide: config.policy.allow_native_decide,
            ..CheckOverlay::default()
        },
        settings,
    )?;
    let pool = config.pool.clone();
    let concurrency = settings::concurrency(args.concurrency, settings, pool.workers)?;
    let session = Session::open(config)?;
    let cheap = session.prover_with(cheap_spec, cheap_prove)?;
    let search = session.prover();

    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create --dir {}", args.dir.display()))?;
    let mut run_config = super::eval::eval_config(session.prove_config(), &pool);
    for (key, value) in [
        ("cheap_policy", json!(cheap.config().policy_id)),
        ("cheap_width", json!(cheap_width)),
        ("cheap_expansions", json!(cheap_expansions)),
        ("keep_easy", json!(args.keep_easy)),
        ("dpo_timeouts", json!(args.dpo_timeouts)),
        ("prompt_template", json!(prompt_template)),
        ("verify_timeout_ms", json!(check.timeout.as_millis() as u64)),
    ] {
        run_config.insert(key.to_owned(), value);
    }
    let mut input = manifest::input_record(&args.conjectures, &bytes, conjectures.len());
    input.statement_sha1 = conjectures
        .iter()
        .map(|t| (t.name.clone(), t.statement_hash()))
        .collect();
    let resuming = args.dir.join("round-1").exists();
    let run_manifest = manifest::prepare(
        &args.dir.join("iterate"),
        "iterate",
        run_config,
        manifest::repl_record(&pool),
        input,
        false,
        resuming,
    )?;

    let interrupt = Interrupt::install(session.handle())?;
    let ready = session.handle().block_on(async {
        preflight::repl(session.pool(), &conjectures[0].header).await?;
        preflight::model(session.policies()).await
    });
    if let Err(error) = ready {
        session.handle().block_on(session.pool().shutdown());
        return Err(error);
    }
    run_manifest.start()?;

    let rounds = RoundsConfig {
        dir: args.dir.clone(),
        rounds: args.rounds,
        concurrency,
        cheap_pass: cheap_expansions > 0,
        keep_easy: args.keep_easy,
        dpo_timeouts: args.dpo_timeouts,
        prompt_template,
        check,
        pool,
        manifest: run_manifest.record().clone(),
    };
    let (stopper, stop) = Stop::channel();
    {
        let interrupt = interrupt.clone();
        session.handle().spawn(async move {
            interrupt.wait().await;
            stopper.stop();
        });
    }
    let mut progress = Progress {
        after_round: args.after_round.clone(),
        command_failed: None,
    };
    let outcome = session.handle().block_on(run_rounds(
        &cheap,
        &search,
        &conjectures,
        &rounds,
        &stop,
        &mut progress,
    ));
    super::cache::finish_run(session.cache());
    if let Some(signal) = interrupt.signal() {
        note!(
            "prover iterate: stopped by {}; what was decided is in {}; rerun the same command to \
             resume",
            Interrupt::name(signal),
            args.dir.display()
        );
        return Ok(Interrupt::exit_code(signal));
    }
    session.handle().block_on(session.pool().shutdown());
    let summaries = match outcome {
        Ok(RoundsOutcome::Completed(summaries)) => summaries,
        Ok(RoundsOutcome::Stopped) => return Ok(exit::signal(libc::SIGINT)),
        Err(PipelineError::Stopped(message)) => {
            note!("prover iterate: {message}");
            let code = progress.command_failed.unwrap_or(exit::COULD_NOT_RUN);
            return Ok(ExitCode::from(code));
        }
        Err(error) => return Err(error.into()),
    };
    let last = summaries.last().cloned().unwrap_or_default();
    run_manifest.finish(&[
        ("rounds", summaries.len()),
        (
            "solved",
            summaries.iter().map(|s| s.verified).sum::<usize>(),
        ),
        ("sft_rows", summaries.iter().map(|s| s.sft_rows).sum()),
        ("dpo_rows", summaries.iter().map(|s| s.dpo_rows).sum()),
    ]);
    Ok(exit::settled_if(last.errors == 0))
}

/// Progress lines on stderr, and `--after-round`.
struct Progress {
    after_round: Option<String>,
    /// The exit status of a failed `--after-round` command.
    command_failed: Option<u8>,
}

impl RoundEvents for Progress {
    fn decided(&mut self, round: u32, record: &RoundRecord) {
        let status = match record.status {
            ProveStatus::Proved => "proved",
            ProveStatus::Failed => "failed",
            ProveStatus::Error => "error",
        };
        note!(
            "[round {round} {}] {status:<6} {} ({:.1}s, {} Lean calls)",
            record.stage.name(),
            record.name,
            record.seconds,
            record.lean_calls
        );
    }

    fn verified(&mut self, round: u32, result: &CheckResult) {
        if result.status != ::datasets::Status::Valid {
            note!(
                "[round {round} verify] {} refused: {}",
                result.name,
                result.reasons.join("; ")
            );
        }
    }

    fn finished(&mut self, s: &RoundSummary) {
        note!(
            "round {}: {} conjectures, {} easy (cheap pass), {} solved by search, {} failed, {} \
             error, {} unverified; {} SFT rows, {} DPO rows, {} Lean calls",
            s.round,
            s.conjectures,
            s.solved_by_cheap,
            s.solved_by_search,
            s.failed,
            s.errors,
            s.unverified,
            s.sft_rows,
            s.dpo_rows,
            s.lean_calls
        );
    }

    fn between_rounds(&mut self, round: u32, dir: &Path) -> Result<(), PipelineError> {
        let Some(command) = &self.after_round else {
            return Ok(());
        };
        note!("prover iterate: after round {round}: {command}");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("PROVER_ROUND", round.to_string())
            .env("PROVER_ROUND_DIR", dir)
            .stdin(std::process::Stdio::null())
            .status()
            .map_err(|e| PipelineError::Stopped(format!("--after-round cannot start sh: {e}")))?;
        if status.success() {
            return Ok(());
        }
        let code = status.code().map_or(exit::COULD_NOT_RUN, |c| {
            u8::try_from(c).unwrap_or(exit::COULD_NOT_RUN)
        });
        self.command_failed = Some(code);
        Err(PipelineError::Stopped(format!(
            "--after-round `{command}` failed after round {round} ({status}); round {round}'s \
             files are kept in {}; rerun to run the command again and go on",
            dir.display()
        )))
    }
}
