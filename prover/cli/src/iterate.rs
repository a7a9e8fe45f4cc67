//! `prover iterate`: flags → [`IterateRun`] → `pipeline::expert::run` → exit code, with progress on stderr and the user's `--after-round` command between rounds.

use std::path::Path;
use std::process::ExitCode;

use prover::ProveStatus;
use prover::pipeline::expert::{IterateEvent, IterateRun, RoundsOutcome};
use prover::pipeline::{PipelineError, Progress, RunError, RunEvent, Stop};
use prover::settings::SettingsFile;

use super::IterateArgs;
use super::interrupt::Interrupt;
use super::progress::StderrProgress;
use crate::exit;

/// Runs `prover iterate`.
pub(super) fn run(args: IterateArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let request = IterateRun {
        conjectures: args.conjectures.clone(),
        dir: args.dir.clone(),
        rounds: args.rounds,
        cheap_expansions: args.cheap_expansions,
        cheap_width: args.cheap_width,
        cheap_policy_same: args.cheap_policy.as_deref() == Some("same"),
        keep_easy: args.keep_easy,
        dpo_timeouts: args.dpo_timeouts,
        concurrency: args.concurrency,
        save_model: args.session.search.save_model.clone(),
        overlay: args.session.overlay_in_shard(args.shard.as_deref())?,
        build: super::common::prover_build(),
        planner: args.planner.request(),
    };
    let mut progress = RoundsProgress {
        stderr: StderrProgress::default(),
        after_round: args.after_round.clone(),
        command_failed: None,
    };
    let iteration = prover::pipeline::expert::run(request, settings, &mut progress)?;
    super::cache::finish_run(iteration.session());
    if let Some(signal) = progress.stderr.signal() {
        note!(
            "prover iterate: stopped by {}; what was decided is in {}; rerun the same command to \
             resume",
            Interrupt::name(signal),
            args.dir.display()
        );
        return Ok(Interrupt::exit_code(signal));
    }
    match iteration.finish(&mut progress) {
        Ok(RoundsOutcome::Completed(summaries)) => {
            let last = summaries.last().cloned().unwrap_or_default();
            Ok(exit::settled_if(last.errors == 0))
        }
        Ok(RoundsOutcome::Stopped) => Ok(exit::signal(libc::SIGINT)),
        Err(RunError::Pipeline(PipelineError::Stopped(message))) => {
            note!("prover iterate: {message}");
            let code = progress.command_failed.unwrap_or(exit::COULD_NOT_RUN);
            Ok(ExitCode::from(code))
        }
        Err(error) => Err(error.into()),
    }
}

/// Progress lines on stderr, and `--after-round` between rounds.
struct RoundsProgress {
    stderr: StderrProgress,
    after_round: Option<String>,
    /// The exit status of a failed `--after-round` command.
    command_failed: Option<u8>,
}

impl Progress for RoundsProgress {
    fn stop_on(&mut self, runtime: &tokio::runtime::Handle) -> Result<Stop, RunError> {
        self.stderr.stop_on(runtime)
    }

    fn event(&mut self, event: RunEvent<'_>) {
        self.stderr.event(event);
    }

    fn between_rounds(&mut self, round: u32, dir: &Path) -> Result<(), String> {
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
            .map_err(|e| format!("--after-round cannot start sh: {e}"))?;
        if status.success() {
            return Ok(());
        }
        let code = status.code().map_or(exit::COULD_NOT_RUN, |c| {
            u8::try_from(c).unwrap_or(exit::COULD_NOT_RUN)
        });
        self.command_failed = Some(code);
        Err(format!(
            "--after-round `{command}` failed after round {round} ({status}); round {round}'s \
             files are kept in {}; rerun to run the command again and go on",
            dir.display()
        ))
    }
}

/// An iteration's event as stderr lines.
pub(super) fn render(event: &IterateEvent<'_>) {
    match event {
        IterateEvent::Retrained {
            round,
            states,
            hash,
        } => note!(
            "prover iterate: round {round} searches with the learned model retrained on rounds 1-{} ({states} stored states, sha1 {hash})",
            round - 1
        ),
        IterateEvent::Decided { round, record } => {
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
        IterateEvent::Verified { round, result } if result.status != ::datasets::Status::Valid => {
            note!(
                "[round {round} verify] {} refused: {}",
                result.name,
                result.reasons.join("; ")
            );
        }
        IterateEvent::Finished(s) => note!(
            "round {}: {} conjectures, {} easy (cheap pass), {} solved by search, {} failed, {} \
             error, {} unverified; {} SFT rows, {} DPO rows{}, {} Lean calls",
            s.round,
            s.conjectures,
            s.solved_by_cheap,
            s.solved_by_search,
            s.failed,
            s.errors,
            s.unverified,
            s.sft_rows,
            s.dpo_rows,
            s.plan_rows
                .map_or(String::new(), |rows| format!(", {rows} planner rows")),
            s.lean_calls
        ),
        IterateEvent::ModelSaved { states, path } => note!(
            "prover iterate: learned model with {states} stored states written to {}",
            path.display()
        ),
        _ => {}
    }
}
