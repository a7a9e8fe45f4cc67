//! `prover train`: a learned-policy model from SFT and DPO rows (`iterate`'s `sft.jsonl` and `dpo.jsonl`, `explore`'s steps and preferences) through `policy::learned::from_rows`, optionally on top of an earlier model.

use std::path::{Path, PathBuf};

use super::RunError;
use crate::policy::learned::{self, LearnedModel, Lessons};

/// What a training wrote.
#[derive(Debug)]
pub struct Trained {
    /// Proof steps read.
    pub steps: usize,
    /// Lean refusals read.
    pub refusals: usize,
    /// Stored states of the model written.
    pub states: usize,
    /// Of those, new ones.
    pub new_states: usize,
    /// The model's content hash.
    pub hash: String,
}

/// Checks the files (`datasets::check_outputs`), reads every row of `data`, teaches them to
/// `from`'s model (or an empty one) and writes the model to `out`.
pub fn run(data: &[PathBuf], from: Option<&Path>, out: &Path) -> Result<Trained, RunError> {
    use ::datasets::output::{FileKind, Input, Output, Target};
    if data.is_empty() {
        return Err(RunError::Refused(
            "prover train needs at least one --data FILE.jsonl".to_owned(),
        ));
    }
    let inputs: Vec<Input<'_>> = data
        .iter()
        .map(|path| Input {
            flag: "--data",
            path,
        })
        .chain(from.iter().map(|path| Input {
            flag: "--from",
            path,
        }))
        .collect();
    let target = Target::File(FileKind::Model);
    let outputs = [Output {
        flag: "--out",
        path: out,
        target,
    }];
    let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
    let lessons = read_lessons(data)?;
    let mut model = match from {
        Some(path) => LearnedModel::load(path)?,
        None => LearnedModel::new(),
    };
    let before = model.len();
    lessons.teach(&mut model);
    model.save(out)?;
    Ok(Trained {
        steps: lessons.steps.len(),
        refusals: lessons.refusals.len(),
        states: model.len(),
        new_states: model.len() - before,
        hash: model.content_hash(),
    })
}

/// What the `--data` files' rows teach, every row read.
fn read_lessons(paths: &[PathBuf]) -> Result<Lessons, RunError> {
    let mut rows = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|source| RunError::Io {
            what: format!("cannot read --data {}", path.display()),
            source,
        })?;
        for (line, text) in ::datasets::jsonl_lines(&bytes) {
            let row = text
                .and_then(|text| ::datasets::training::parse_training_row(line, text))
                .map_err(|e| RunError::Refused(format!("--data {}: {e}", path.display())))?;
            rows.push(row);
        }
    }
    Ok(learned::from_rows(rows))
}
