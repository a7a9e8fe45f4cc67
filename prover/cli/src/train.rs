//! `prover train`: a learned-policy model from SFT and DPO rows (`iterate`'s `sft.jsonl` and `dpo.jsonl`, `explore`'s steps and preferences), optionally on top of an earlier model.

use std::process::ExitCode;
use std::time::Instant;

use super::TrainArgs;
use crate::exit;

/// Runs `prover train`.
pub(super) fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let trained = prover::pipeline::train::run(&args.data, args.from.as_deref(), &args.out)?;
    let size = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    note!(
        "prover train: {} steps and {} refusals read; the model holds {} stored states ({} new); \
         {} bytes, sha1 {}; {:.2}s; written to {}",
        trained.steps,
        trained.refusals,
        trained.states,
        trained.new_states,
        size,
        trained.hash,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(ExitCode::from(exit::SETTLED))
}
