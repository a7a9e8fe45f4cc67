//! `prover train`: a learned-policy model from SFT and DPO rows (`iterate`'s `sft.jsonl` and `dpo.jsonl`, `explore`'s steps and preferences), optionally on top of an earlier model.

use std::process::ExitCode;
use std::time::Instant;

use ::datasets::output::{FileKind, Input, Output, Target};
use ::datasets::training::parse_training_row;
use anyhow::{Context, bail};
use prover::policy::learned::{self, LearnedModel};

use super::TrainArgs;
use crate::exit;

/// Runs `prover train`.
pub(super) fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    if args.data.is_empty() {
        bail!("prover train needs at least one --data FILE.jsonl");
    }
    let inputs: Vec<Input<'_>> = args
        .data
        .iter()
        .map(|path| Input {
            flag: "--data",
            path,
        })
        .chain(args.from.iter().map(|path| Input {
            flag: "--from",
            path,
        }))
        .collect();
    let _outputs = super::common::check_outputs(
        &[Output {
            flag: "--out",
            path: &args.out,
            target: Target::File(FileKind::Model),
        }],
        &inputs,
    )?;
    let started = Instant::now();
    let lessons = read_lessons(&args.data)?;
    let mut model = match &args.from {
        Some(path) => LearnedModel::load(path)?,
        None => LearnedModel::new(),
    };
    let before = model.len();
    lessons.teach(&mut model);
    model.save(&args.out)?;
    let size = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    note!(
        "prover train: {} steps and {} refusals read; the model holds {} stored states ({} new); \
         {} bytes, sha1 {}; {:.2}s; written to {}",
        lessons.steps.len(),
        lessons.refusals.len(),
        model.len(),
        model.len() - before,
        size,
        model.content_hash(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(ExitCode::from(exit::SETTLED))
}

/// What the `--data` files' rows teach (`policy::learned::from_rows`), every row read.
fn read_lessons(paths: &[std::path::PathBuf]) -> anyhow::Result<learned::Lessons> {
    let mut rows = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read --data {}", path.display()))?;
        for (line, text) in ::datasets::jsonl_lines(&bytes) {
            let row = text
                .and_then(|text| parse_training_row(line, text))
                .map_err(|e| anyhow::anyhow!("--data {}: {e}", path.display()))?;
            rows.push(row);
        }
    }
    Ok(learned::from_rows(rows))
}
