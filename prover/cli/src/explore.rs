//! `prover explore`: flags → [`ExploreRun`] → `pipeline::explore::run` → exit code, with progress on stderr.

use std::process::ExitCode;

use prover::ProveStatus;
use prover::pipeline::explore::{ExploreEvent, ExploreRun};
use prover::settings::SettingsFile;

use super::ExploreArgs;
use super::interrupt::Interrupt;
use super::progress::StderrProgress;
use crate::exit;

/// Runs `prover explore`.
pub(super) fn run(args: ExploreArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let request = ExploreRun {
        dataset: args.dataset.clone(),
        out: args.out.clone(),
        proofs_per_theorem: args.proofs_per_theorem,
        exclude: args.exclude.clone(),
        decontamination: args.decontamination.clone(),
        license: args.license.clone(),
        trace: args.trace.clone(),
        concurrency: args.concurrency,
        overlay: args.session.overlay_in_shard(args.shard.as_deref())?,
        save_model: args.session.search.save_model.is_some(),
        build: super::common::prover_build(),
        planner: args.planner.request(),
    };
    let mut progress = StderrProgress::default();
    let exploration = prover::pipeline::explore::run(request, settings, &mut progress)?;
    super::cache::finish_run(exploration.session());
    super::common::print_model_summary(exploration.session());
    if let Some(signal) = progress.signal() {
        note!(
            "prover explore: stopped by {}; what was decided is in {}; rerun the same command \
             to resume",
            Interrupt::name(signal),
            args.out.display()
        );
        return Ok(Interrupt::exit_code(signal));
    }
    match exploration.finish(&mut progress)? {
        Some(summary) => Ok(exit::settled_if(summary.get("error") == 0)),
        None => Ok(exit::signal(libc::SIGINT)),
    }
}

/// An exploration's event as stderr lines.
pub(super) fn render(event: &ExploreEvent<'_>) {
    match event {
        ExploreEvent::Searched(record) => {
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
        }
        ExploreEvent::Verified(result) if result.status != ::datasets::Status::Valid => note!(
            "[explore verify] {} refused: {}",
            result.name,
            result.reasons.join("; ")
        ),
        ExploreEvent::Finished { summary, data } => note!(
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
            data.display()
        ),
        _ => {}
    }
}
