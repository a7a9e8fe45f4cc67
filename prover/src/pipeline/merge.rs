//! `prover merge OUT SHARDS…`: the results files of a sharded `eval` (`--shard I/N`) joined into
//! one, with its manifest, exactly and idempotently.
//!
//! Before anything is written, the inputs' manifests (`<file>.manifest.json`, which every run
//! writes) must agree on everything that decides results: the kind of run, the configuration
//! (policy, budgets, Lean pins, …) but for the shard index, and the dataset (its hash). The rows
//! are merged by [`datasets::merge::merge_results`] (a pure function of the files' bytes: the
//! same inputs give the same bytes, a merged file merged again with a shard it holds changes
//! nothing), and a theorem two inputs give different verdicts is an error naming it: nothing
//! is written then. What the merge could not find is reported by name, and the merged file is
//! written all the same (nothing computed is lost): shards of `N` that no input holds, the
//! dataset's theorems no row answers (from the manifests' per-theorem statement hashes), and
//! names the dataset does not hold.
//!
//! The merged manifest is the inputs' configuration without a shard (an unsharded run's, so a
//! merged file reads, reports and resumes as one), with `merged_from` (the inputs) and
//! `merged_shards` recorded, the runs summed, the earliest start and latest end, and the
//! counts of the merged rows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ::datasets::merge::{Conflict, Duplicate, coverage, merge_results};
use ::datasets::shard::Shard;
use ::datasets::{ProveStatus, RunManifest};
use serde_json::{Value, json};

/// The key of a run manifest's `config` that holds its shard (`"2/8"`); absent for a whole run.
pub const SHARD_KEY: &str = "shard";

/// The key of a merged manifest's `recorded` that lists the shards it holds.
const MERGED_SHARDS_KEY: &str = "merged_shards";

/// Records a run's shard in its manifest's configuration, so a resume into the output of
/// another shard is refused and `prover merge` knows which share of the dataset it holds; the
/// whole dataset (no `--shard`, or `0/1`) records nothing, as before shards existed.
pub fn record_shard(config: &mut BTreeMap<String, Value>, shard: Option<Shard>) {
    if let Some(shard) = shard.filter(|shard| !shard.is_all()) {
        config.insert(SHARD_KEY.to_owned(), json!(shard.to_string()));
    }
}

/// Why a merge wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An input or its manifest could not be read.
    #[error("{0}")]
    Read(String),
    /// The inputs were not made alike, or not by `eval`.
    #[error("{0}")]
    Mismatch(String),
    /// Inputs give different verdicts for theorems.
    #[error(
        "the inputs disagree; nothing was written:\n  {}",
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    Conflicts(Vec<Conflict>),
    /// The merged file or its manifest could not be written.
    #[error("{0}")]
    Write(String),
}

/// What a merge wrote and what it found missing.
#[derive(Debug, Clone, Default)]
pub struct MergeReport {
    /// Rows written.
    pub rows: usize,
    /// Rows by status.
    pub counts: BTreeMap<String, u64>,
    /// The shard count of the inputs, when they are shards.
    pub shard_count: Option<u32>,
    /// Shards of that count no input holds (`1/3`).
    pub missing_shards: Vec<Shard>,
    /// Theorems of the dataset no row answers, sorted.
    pub missing_theorems: Vec<String>,
    /// Names answered that the dataset does not hold, sorted.
    pub unknown_theorems: Vec<String>,
    /// (theorem, attempt)s more than one input answered alike (one kept).
    pub duplicates: Vec<Duplicate>,
    /// Lines of the inputs that did not read, by file and line.
    pub row_errors: Vec<String>,
}

impl MergeReport {
    /// Whether the merged file holds the whole dataset, every line read.
    pub fn complete(&self) -> bool {
        self.missing_shards.is_empty()
            && self.missing_theorems.is_empty()
            && self.unknown_theorems.is_empty()
            && self.row_errors.is_empty()
    }
}

/// One input: its path, bytes and manifest.
struct Input {
    path: PathBuf,
    bytes: Vec<u8>,
    manifest: RunManifest,
    /// The shards it holds: its own, or a merged file's; empty for a whole run.
    shards: Vec<Shard>,
}

fn shards_of(path: &Path, manifest: &RunManifest) -> Result<Vec<Shard>, MergeError> {
    let bad = |what: &Value| {
        MergeError::Read(format!(
            "{}: the manifest's shard {what} is not I/N",
            RunManifest::path_for(path).display()
        ))
    };
    let parse = |value: &Value| {
        value
            .as_str()
            .and_then(|text| text.parse::<Shard>().ok())
            .ok_or_else(|| bad(value))
    };
    if let Some(value) = manifest.config.get(SHARD_KEY) {
        return Ok(vec![parse(value)?]);
    }
    match manifest.recorded.get(MERGED_SHARDS_KEY) {
        Some(Value::Array(values)) => values.iter().map(parse).collect(),
        Some(other) => Err(bad(other)),
        None => Ok(Vec::new()),
    }
}

fn read_input(path: &Path) -> Result<Input, MergeError> {
    let bytes = std::fs::read(path)
        .map_err(|e| MergeError::Read(format!("cannot read {}: {e}", path.display())))?;
    let manifest_path = RunManifest::path_for(path);
    let manifest = RunManifest::read(&manifest_path)
        .map_err(|e| MergeError::Read(e.to_string()))?
        .ok_or_else(|| {
            MergeError::Read(format!(
                "{} has no manifest ({} is missing): the merge needs it to check that the shards \
                 were run alike",
                path.display(),
                manifest_path.display()
            ))
        })?;
    if manifest.kind != "eval" {
        return Err(MergeError::Mismatch(format!(
            "{} is the output of `prover {}`; `prover merge` joins `prover eval` results",
            path.display(),
            manifest.kind
        )));
    }
    let shards = shards_of(path, &manifest)?;
    Ok(Input {
        path: path.to_owned(),
        bytes,
        manifest,
        shards,
    })
}

/// What must be equal between two inputs, as `name: this → that` lines.
fn differences(first: &Input, other: &Input) -> Vec<String> {
    let without_shard = |manifest: &RunManifest| {
        let mut manifest = manifest.clone();
        manifest.config.remove(SHARD_KEY);
        manifest
    };
    let mut differences =
        without_shard(&first.manifest).config_differences(&without_shard(&other.manifest));
    if first.manifest.input.sha1 != other.manifest.input.sha1 {
        differences.push(format!(
            "the dataset: {} (sha1 {}) → {} (sha1 {})",
            first.manifest.input.path,
            first.manifest.input.sha1,
            other.manifest.input.path,
            other.manifest.input.sha1
        ));
    }
    differences
}

/// Merges the `eval` results files `inputs` into `out` and its manifest. `out` must not be one
/// of the inputs (the front end checks outputs first, `datasets::check_outputs`).
pub fn merge_eval_outputs(out: &Path, inputs: &[PathBuf]) -> Result<MergeReport, MergeError> {
    if inputs.is_empty() {
        return Err(MergeError::Read("no results file to merge".to_owned()));
    }
    let mut read: Vec<Input> = inputs
        .iter()
        .map(|path| read_input(path))
        .collect::<Result<_, _>>()?;
    // The merge is a function of the set of inputs, not of their order.
    read.sort_by(|a, b| a.path.cmp(&b.path));

    let first = &read[0];
    for other in &read[1..] {
        let differences = differences(first, other);
        if !differences.is_empty() {
            return Err(MergeError::Mismatch(format!(
                "{} and {} were not made alike, so their results do not merge:\n  {}",
                first.path.display(),
                other.path.display(),
                differences.join("\n  ")
            )));
        }
    }
    let counts: BTreeSet<u32> = read
        .iter()
        .flat_map(|input| input.shards.iter().map(|shard| shard.count))
        .collect();
    if counts.len() > 1 {
        let described: Vec<String> = read
            .iter()
            .map(|input| {
                let shards: Vec<String> = input.shards.iter().map(Shard::to_string).collect();
                format!("{}: {}", input.path.display(), shards.join(", "))
            })
            .collect();
        return Err(MergeError::Mismatch(format!(
            "the inputs are shards of different splits (counts {}); each theorem's shard depends \
             on the count, so they do not merge:\n  {}",
            counts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            described.join("\n  ")
        )));
    }
    let shard_count = counts.into_iter().next();
    let held: BTreeSet<Shard> = read.iter().flat_map(|input| input.shards.clone()).collect();
    let whole_run = read.iter().any(|input| input.shards.is_empty());
    let missing_shards: Vec<Shard> = match shard_count {
        Some(count) if !whole_run => (0..count)
            .map(|index| Shard { index, count })
            .filter(|shard| !held.contains(shard))
            .collect(),
        _ => Vec::new(),
    };

    let files: Vec<(String, &[u8])> = read
        .iter()
        .map(|input| (input.path.display().to_string(), &input.bytes[..]))
        .collect();
    let merged = merge_results(&files);
    if !merged.conflicts.is_empty() {
        return Err(MergeError::Conflicts(merged.conflicts));
    }
    let dataset: Vec<&str> = first
        .manifest
        .input
        .statement_sha1
        .keys()
        .map(String::as_str)
        .collect();
    let covered = coverage(dataset, &merged.rows);
    let bytes = merged
        .to_jsonl()
        .map_err(|e| MergeError::Write(format!("cannot encode the merged rows: {e}")))?;

    let mut counts: BTreeMap<String, u64> = ["proved", "failed", "error"]
        .into_iter()
        .map(|status| (status.to_owned(), 0))
        .collect();
    for row in &merged.rows {
        let status = match row.status {
            ProveStatus::Proved => "proved",
            ProveStatus::Failed => "failed",
            ProveStatus::Error => "error",
        };
        *counts.entry(status.to_owned()).or_default() += 1;
    }
    let mut manifest = first.manifest.clone();
    manifest.config.remove(SHARD_KEY);
    manifest.recorded.insert(
        "merged_from".to_owned(),
        json!(
            read.iter()
                .map(|input| input.path.display().to_string())
                .collect::<Vec<_>>()
        ),
    );
    if !held.is_empty() {
        manifest.recorded.insert(
            MERGED_SHARDS_KEY.to_owned(),
            json!(held.iter().map(Shard::to_string).collect::<Vec<_>>()),
        );
    }
    manifest.started_unix = read
        .iter()
        .map(|input| input.manifest.started_unix)
        .min()
        .unwrap_or(manifest.started_unix);
    manifest.finished_unix = read
        .iter()
        .map(|input| input.manifest.finished_unix)
        .collect::<Option<Vec<u64>>>()
        .and_then(|ends| ends.into_iter().max());
    manifest.runs = read.iter().map(|input| input.manifest.runs).sum();
    manifest.counts = counts.clone();

    ::datasets::write_atomic(out, &bytes)
        .map_err(|e| MergeError::Write(format!("cannot write {}: {e}", out.display())))?;
    let manifest_path = RunManifest::path_for(out);
    manifest.write(&manifest_path).map_err(|e| {
        MergeError::Write(format!(
            "cannot write the manifest {}: {e}",
            manifest_path.display()
        ))
    })?;
    Ok(MergeReport {
        rows: merged.rows.len(),
        counts,
        shard_count,
        missing_shards,
        missing_theorems: covered.missing,
        unknown_theorems: covered.unknown,
        duplicates: merged.duplicates,
        row_errors: merged.row_errors.iter().map(ToString::to_string).collect(),
    })
}
