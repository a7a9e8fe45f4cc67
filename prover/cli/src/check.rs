//! `prover check`: flags → [`CheckRun`] → `pipeline::check::run` → exit code, with one progress line per row on stderr and the results on stdout without `--out`.

use std::process::ExitCode;

use super::CheckArgs;
use super::interrupt::Interrupt;
use super::progress::StderrProgress;
use crate::exit;
use prover::CheckStatus as Status;
use prover::pipeline::check::{CheckEvent, CheckRun};
use prover::settings::SettingsFile;

/// Runs `prover check`.
pub(super) fn run(args: CheckArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let request = CheckRun {
        input: args.input.clone(),
        out: args.out.clone(),
        fresh: args.fresh,
        header: args.header.clone(),
        reference: args.reference.clone(),
        repl: args.repl.overlay(),
        rules: args.overlay(),
        shard: prover::settings::shard(args.shard.as_deref())?,
        build: super::common::prover_build(),
    };
    let mut progress = StderrProgress::default();
    let results = Box::new(std::io::stdout());
    let end = prover::pipeline::check::run(request, settings, results, &mut progress)?;
    if let Some(signal) = progress.signal() {
        note!(
            "prover check: stopped by {}; the rows above were written",
            Interrupt::name(signal)
        );
        return Ok(Interrupt::exit_code(signal));
    }
    Ok(exit::settled_if(end.tally.error == 0))
}

/// A check's event as stderr lines.
pub(super) fn render(event: &CheckEvent<'_>) {
    match event {
        CheckEvent::Skipping {
            decided,
            total,
            out,
        } => note!(
            "prover check: {decided} of {total} rows already decided in {}; skipping them \
             (--fresh to redo)",
            out.display()
        ),
        CheckEvent::Decided {
            result,
            tally,
            total,
        } => note!(
            "[{}/{total}] {:<7} {} line {} ({:.1}s) | {} valid, {} invalid, {} error",
            tally.total(),
            match result.status {
                Status::Valid => "valid",
                Status::Invalid => "invalid",
                Status::Error => "error",
            },
            result.name,
            result.line,
            result.seconds,
            tally.valid,
            tally.invalid,
            tally.error
        ),
        CheckEvent::Finished {
            tally,
            seconds,
            workers,
        } => note!(
            "prover check: {} rows: {} valid, {} invalid, {} error in {seconds:.1}s ({:.2} rows/s, {workers} workers){}",
            tally.total(),
            tally.valid,
            tally.invalid,
            tally.error,
            (tally.total() - tally.from_earlier) as f64 / seconds.max(1e-9),
            if tally.from_earlier > 0 {
                format!("; {} of them decided by an earlier run", tally.from_earlier)
            } else {
                String::new()
            }
        ),
        _ => {}
    }
}
