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

/// What `prover merge` is asked: plain values from the front end's arguments.
#[derive(Debug, Clone)]
pub struct MergeRun {
    /// The merged results file (its manifest beside it), or the merged directory of rounds.
    pub out: PathBuf,
    /// The shards' results files (`eval` or `check`, each with its manifest), or their
    /// `iterate --dir` directories.
    pub inputs: Vec<PathBuf>,
}

/// What a merge joined.
#[derive(Debug, Clone)]
pub enum Merged {
    /// Results files of `eval` or `check`, into one file.
    Results(MergeReport),
    /// `iterate --dir` directories, into one directory of rounds.
    Rounds(RoundsReport),
}

impl Merged {
    /// Whether the merge holds the whole dataset (the exit code's question).
    pub fn complete(&self) -> bool {
        match self {
            Merged::Results(report) => report.complete(),
            Merged::Rounds(report) => report.complete(),
        }
    }
}

/// Runs `prover merge`: checks the outputs (never an input, of the inputs' kind), then joins
/// the inputs: `iterate --dir` directories when every input is a directory, else results files
/// ([`merge_eval_outputs`], [`merge_iterate_dirs`]).
pub fn run(request: MergeRun) -> Result<Merged, super::RunError> {
    use ::datasets::output::{FileKind, Input, Output, Target};
    let rounds = request.inputs.iter().all(|path| path.is_dir());
    let flag = if rounds {
        "a shard's --dir"
    } else {
        "a shard's results"
    };
    let inputs: Vec<Input<'_>> = request
        .inputs
        .iter()
        .map(|path| Input { flag, path })
        .collect();
    if rounds {
        let outputs = [Output {
            flag: "OUT",
            path: &request.out,
            target: Target::Dir,
        }];
        let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
        return Ok(Merged::Rounds(merge_iterate_dirs(
            &request.out,
            &request.inputs,
        )?));
    }
    // The merged file is of the inputs' kind (a manifest that does not read is refused, with
    // its name, by the merge itself).
    let of_check = request.inputs.first().is_some_and(|first| {
        RunManifest::read(&RunManifest::path_for(first))
            .ok()
            .flatten()
            .is_some_and(|manifest| manifest.kind == "check")
    });
    let kind = match of_check {
        true => FileKind::CheckResults,
        false => FileKind::EvalResults,
    };
    let manifest_path = RunManifest::path_for(&request.out);
    let outputs = [
        Output {
            flag: "OUT",
            path: &request.out,
            target: Target::File(kind),
        },
        Output {
            flag: "the manifest of OUT",
            path: &manifest_path,
            target: Target::File(FileKind::Manifest),
        },
    ];
    let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
    Ok(Merged::Results(merge_eval_outputs(
        &request.out,
        &request.inputs,
    )?))
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
    if manifest.kind != "eval" && manifest.kind != "check" {
        return Err(MergeError::Mismatch(format!(
            "{} is the output of `prover {}`; `prover merge` joins `prover eval` and `prover \
             check` results (and `prover iterate` directories)",
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

/// The merged rows of one kind of output, and what the merge found.
struct Joined {
    bytes: Vec<u8>,
    rows: usize,
    counts: BTreeMap<String, u64>,
    missing: Vec<String>,
    unknown: Vec<String>,
    duplicates: Vec<Duplicate>,
    row_errors: Vec<String>,
}

/// `prover check` outputs: one row per input line (keyed by line and name, as `check`
/// resumes), sorted by line, each kept as its file wrote it; an `error` gives way to a verdict,
/// and two verdicts that differ are a conflict. Input lines no row answers are named by line
/// (the manifests record how many rows the input held).
fn merge_check_rows(read: &[Input]) -> Result<Joined, MergeError> {
    type Row = (String, String, String);
    // (line, name) → per input, its rows: (input, status, text).
    let mut groups: BTreeMap<(usize, String), Vec<Row>> = BTreeMap::new();
    let mut row_errors = Vec::new();
    for input in read {
        let file = input.path.display().to_string();
        for (number, line) in ::datasets::jsonl_lines(&input.bytes) {
            let parsed = line.ok().and_then(|text| {
                let row: ::datasets::CheckResult = serde_json::from_str(text).ok()?;
                let status = serde_json::to_value(row.status).ok()?.as_str()?.to_owned();
                Some(((row.line, row.name), status, text.to_owned()))
            });
            match parsed {
                Some((key, status, text)) => {
                    groups
                        .entry(key)
                        .or_default()
                        .push((file.clone(), status, text));
                }
                None => row_errors.push(format!("{file}: line {number}: not a check result")),
            }
        }
    }
    let mut conflicts = Vec::new();
    let mut duplicates = Vec::new();
    let mut bytes = Vec::new();
    let mut counts: BTreeMap<String, u64> = ["valid", "invalid", "error"]
        .into_iter()
        .map(|status| (status.to_owned(), 0))
        .collect();
    let mut answered = BTreeSet::new();
    for ((line, name), rows) in &groups {
        let verdicts: Vec<&Row> = rows.iter().filter(|row| row.1 != "error").collect();
        if verdicts.iter().any(|row| row.1 != verdicts[0].1) {
            let described: Vec<String> = verdicts
                .iter()
                .map(|(file, status, _)| format!("{status} in {file}"))
                .collect();
            conflicts.push(format!(
                "row `{name}` (input line {line}) has different verdicts: {}",
                described.join(", ")
            ));
            continue;
        }
        let kept = verdicts.first().copied().unwrap_or(&rows[0]);
        let files: BTreeSet<&String> = rows.iter().map(|row| &row.0).collect();
        if files.len() > 1 {
            duplicates.push(Duplicate {
                name: format!("{name} (input line {line})"),
                attempt: 0,
                files: files.into_iter().cloned().collect(),
                kept: kept.0.clone(),
            });
        }
        bytes.extend(kept.2.as_bytes());
        bytes.push(b'\n');
        *counts.entry(kept.1.clone()).or_default() += 1;
        answered.insert(*line);
    }
    if !conflicts.is_empty() {
        return Err(MergeError::Mismatch(format!(
            "the inputs disagree; nothing was written:\n  {}",
            conflicts.join("\n  ")
        )));
    }
    let rows = groups.len() - conflicts.len();
    let expected = read.first().map_or(0, |input| input.manifest.input.rows);
    let missing = if answered.len() < expected {
        vec![format!(
            "{} of the input's {expected} rows (answered lines: {})",
            expected - answered.len(),
            answered.len()
        )]
    } else {
        Vec::new()
    };
    Ok(Joined {
        bytes,
        rows,
        counts,
        missing,
        unknown: Vec::new(),
        duplicates,
        row_errors,
    })
}

/// Merges the `eval` (or `check`) results files `inputs` into `out` and its manifest. `out` must not be one
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
    let joined = if first.manifest.kind == "check" {
        merge_check_rows(&read)?
    } else {
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
        Joined {
            bytes,
            rows: merged.rows.len(),
            counts,
            missing: covered.missing,
            unknown: covered.unknown,
            duplicates: merged.duplicates,
            row_errors: merged.row_errors.iter().map(ToString::to_string).collect(),
        }
    };
    let Joined {
        bytes,
        rows,
        counts,
        missing,
        unknown,
        duplicates,
        row_errors,
    } = joined;
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
        rows,
        counts,
        shard_count,
        missing_shards,
        missing_theorems: missing,
        unknown_theorems: unknown,
        duplicates,
        row_errors,
    })
}

/// The files of a round `prover merge` joins, each a JSONL of rows with a `name`.
const ROUND_FILES: [&str; 8] = [
    "cheap.jsonl",
    "search.jsonl",
    "verify.jsonl",
    "results.jsonl",
    "proofs.jsonl",
    "sft.jsonl",
    "dpo.jsonl",
    "plans.jsonl",
];

/// Round files only some runs write (`plans.jsonl`, with the planner): merged when an input
/// has one, and not written when none has (inputs made alike all have it or none).
const OPTIONAL_ROUND_FILES: [&str; 1] = ["plans.jsonl"];

/// What a merge of `iterate --dir` directories wrote and found missing.
#[derive(Debug, Clone, Default)]
pub struct RoundsReport {
    /// Rounds complete in every input, merged.
    pub rounds: u32,
    /// Rounds complete in some inputs only (not merged), with the inputs that lack them.
    pub incomplete: Vec<(u32, Vec<String>)>,
    /// The shard count of the inputs, when they are shards.
    pub shard_count: Option<u32>,
    /// Shards of that count no input holds.
    pub missing_shards: Vec<Shard>,
    /// Conjectures no input's first round decided, sorted.
    pub missing_theorems: Vec<String>,
    /// Names several inputs hold in one round's file (one input's rows kept): `round/file: name`.
    pub duplicates: Vec<String>,
    /// Lines that did not read (not JSON with a `name`), by file and line.
    pub row_errors: Vec<String>,
}

impl RoundsReport {
    /// Whether the merged rounds hold every conjecture and every shard's rounds.
    pub fn complete(&self) -> bool {
        self.incomplete.is_empty()
            && self.missing_shards.is_empty()
            && self.missing_theorems.is_empty()
            && self.row_errors.is_empty()
    }
}

/// One JSONL file's lines grouped by their `name`, each line's bytes as written.
fn lines_by_name(
    path: &Path,
    errors: &mut Vec<String>,
) -> Result<BTreeMap<String, Vec<String>>, MergeError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(MergeError::Read(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (number, line) in ::datasets::jsonl_lines(&bytes) {
        let named = line.ok().and_then(|text| {
            let value: Value = serde_json::from_str(text).ok()?;
            let name = value.get("name")?.as_str()?.to_owned();
            Some((name, text.to_owned()))
        });
        match named {
            Some((name, text)) => groups.entry(name).or_default().push(text),
            None => errors.push(format!(
                "{}: line {number}: not a JSON row with a name",
                path.display()
            )),
        }
    }
    Ok(groups)
}

/// Merges the `iterate --dir` directories of a sharded `prover iterate` into `out`: for every
/// round that all inputs completed (its `manifest.json` exists), each of the round's files
/// holds every input's rows, grouped by conjecture in name order as a round writes them
/// (inputs that both hold a conjecture: the first input's rows, reported; two `results.jsonl`
/// rows of one conjecture with different statuses are a conflict, and nothing is written), the
/// round's manifest with the inputs' counts summed; and `iterate.manifest.json` as `eval`'s
/// merge makes it. A round's learned model (`model.bin`) is each shard's own and is not merged.
pub fn merge_iterate_dirs(out: &Path, inputs: &[PathBuf]) -> Result<RoundsReport, MergeError> {
    if inputs.is_empty() {
        return Err(MergeError::Read("no directory to merge".to_owned()));
    }
    let mut dirs: Vec<(PathBuf, RunManifest, Vec<Shard>)> = Vec::new();
    for dir in inputs {
        let run = dir.join("iterate");
        let manifest_path = RunManifest::path_for(&run);
        let manifest = RunManifest::read(&manifest_path)
            .map_err(|e| MergeError::Read(e.to_string()))?
            .ok_or_else(|| {
                MergeError::Read(format!(
                    "{} holds no `prover iterate` run ({} is missing)",
                    dir.display(),
                    manifest_path.display()
                ))
            })?;
        if manifest.kind != "iterate" {
            return Err(MergeError::Mismatch(format!(
                "{} is the output of `prover {}`",
                manifest_path.display(),
                manifest.kind
            )));
        }
        let shards = shards_of(&run, &manifest)?;
        dirs.push((dir.clone(), manifest, shards));
    }
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    let as_input = |(path, manifest, shards): &(PathBuf, RunManifest, Vec<Shard>)| Input {
        path: path.clone(),
        bytes: Vec::new(),
        manifest: manifest.clone(),
        shards: shards.clone(),
    };
    let first = as_input(&dirs[0]);
    for other in &dirs[1..] {
        let differences = differences(&first, &as_input(other));
        if !differences.is_empty() {
            return Err(MergeError::Mismatch(format!(
                "{} and {} were not made alike, so their rounds do not merge:\n  {}",
                dirs[0].0.display(),
                other.0.display(),
                differences.join("\n  ")
            )));
        }
    }
    let counts: BTreeSet<u32> = dirs
        .iter()
        .flat_map(|(_, _, shards)| shards.iter().map(|shard| shard.count))
        .collect();
    if counts.len() > 1 {
        return Err(MergeError::Mismatch(format!(
            "the inputs are shards of different splits (counts {counts:?}); they do not merge"
        )));
    }
    let mut report = RoundsReport {
        shard_count: counts.into_iter().next(),
        ..RoundsReport::default()
    };
    let held: BTreeSet<Shard> = dirs.iter().flat_map(|(_, _, s)| s.clone()).collect();
    if let Some(count) = report.shard_count
        && dirs.iter().all(|(_, _, shards)| !shards.is_empty())
    {
        report.missing_shards = (0..count)
            .map(|index| Shard { index, count })
            .filter(|shard| !held.contains(shard))
            .collect();
    }

    // Every round complete in all inputs, read and checked before anything is written.
    type RoundFiles = Vec<(&'static str, BTreeMap<String, Vec<String>>)>;
    let mut rounds: Vec<(u32, RoundFiles, RunManifest)> = Vec::new();
    let mut conflicts = Vec::new();
    for round in 1.. {
        let complete: Vec<bool> = dirs
            .iter()
            .map(|(dir, _, _)| dir.join(format!("round-{round}/manifest.json")).is_file())
            .collect();
        if !complete.iter().all(|done| *done) {
            if complete.iter().any(|done| *done) {
                let lacking = dirs
                    .iter()
                    .zip(&complete)
                    .filter(|(_, done)| !**done)
                    .map(|((dir, _, _), _)| dir.display().to_string())
                    .collect();
                report.incomplete.push((round, lacking));
            }
            break;
        }
        let mut files: RoundFiles = Vec::new();
        for file in ROUND_FILES {
            let written = dirs
                .iter()
                .any(|(dir, _, _)| dir.join(format!("round-{round}")).join(file).exists());
            if OPTIONAL_ROUND_FILES.contains(&file) && !written {
                continue;
            }
            let mut merged: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut statuses: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
            for (dir, _, _) in &dirs {
                let path = dir.join(format!("round-{round}")).join(file);
                for (name, lines) in lines_by_name(&path, &mut report.row_errors)? {
                    if file == "results.jsonl" {
                        for line in &lines {
                            let status = serde_json::from_str::<Value>(line)
                                .ok()
                                .and_then(|v| {
                                    v.get("status").and_then(Value::as_str).map(str::to_owned)
                                })
                                .unwrap_or_default();
                            statuses
                                .entry(name.clone())
                                .or_default()
                                .push((dir.display().to_string(), status));
                        }
                    }
                    if merged.contains_key(&name) {
                        report
                            .duplicates
                            .push(format!("round-{round}/{file}: {name}"));
                        continue;
                    }
                    merged.insert(name, lines);
                }
            }
            for (name, seen) in statuses {
                if seen.iter().any(|(_, status)| *status != seen[0].1) {
                    let described: Vec<String> = seen
                        .iter()
                        .map(|(dir, status)| format!("{status} in {dir}"))
                        .collect();
                    conflicts.push(format!(
                        "round {round}: conjecture `{name}` has different results: {}",
                        described.join(", ")
                    ));
                }
            }
            files.push((file, merged));
        }
        let mut manifest: Option<RunManifest> = None;
        for (dir, _, _) in &dirs {
            let path = dir.join(format!("round-{round}/manifest.json"));
            let own = RunManifest::read(&path)
                .map_err(|e| MergeError::Read(e.to_string()))?
                .ok_or_else(|| MergeError::Read(format!("cannot read {}", path.display())))?;
            match &mut manifest {
                None => manifest = Some(own),
                Some(merged) => {
                    for (key, count) in own.counts {
                        *merged.counts.entry(key).or_default() += count;
                    }
                    merged.started_unix = merged.started_unix.min(own.started_unix);
                    merged.finished_unix = merged.finished_unix.max(own.finished_unix);
                }
            }
        }
        let mut manifest = manifest.unwrap_or_else(|| first.manifest.clone());
        manifest.config.remove(SHARD_KEY);
        manifest.recorded.remove("learned_model");
        rounds.push((round, files, manifest));
    }
    if !conflicts.is_empty() {
        return Err(MergeError::Mismatch(format!(
            "the inputs disagree; nothing was written:\n  {}",
            conflicts.join("\n  ")
        )));
    }
    let decided: Vec<String> = rounds
        .first()
        .and_then(|(_, files, _)| files.iter().find(|(file, _)| *file == "results.jsonl"))
        .map(|(_, names)| names.keys().cloned().collect())
        .unwrap_or_default();
    report.missing_theorems = coverage_of_names(&first.manifest, &decided);

    let write = |path: &Path, bytes: &[u8]| {
        ::datasets::write_atomic(path, bytes)
            .map_err(|e| MergeError::Write(format!("cannot write {}: {e}", path.display())))
    };
    std::fs::create_dir_all(out)
        .map_err(|e| MergeError::Write(format!("cannot create {}: {e}", out.display())))?;
    for (round, files, manifest) in &rounds {
        let dir = out.join(format!("round-{round}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| MergeError::Write(format!("cannot create {}: {e}", dir.display())))?;
        for (file, groups) in files {
            let mut text = String::new();
            for line in groups.values().flatten() {
                text.push_str(line);
                text.push('\n');
            }
            write(&dir.join(file), text.as_bytes())?;
        }
        // The manifest last: a round is complete when it exists.
        let path = dir.join("manifest.json");
        manifest
            .write(&path)
            .map_err(|e| MergeError::Write(format!("cannot write {}: {e}", path.display())))?;
    }
    let mut manifest = first.manifest.clone();
    manifest.config.remove(SHARD_KEY);
    manifest.recorded.insert(
        "merged_from".to_owned(),
        json!(
            dirs.iter()
                .map(|(dir, _, _)| dir.display().to_string())
                .collect::<Vec<_>>()
        ),
    );
    if !held.is_empty() {
        manifest.recorded.insert(
            MERGED_SHARDS_KEY.to_owned(),
            json!(held.iter().map(Shard::to_string).collect::<Vec<_>>()),
        );
    }
    manifest.runs = dirs.iter().map(|(_, m, _)| m.runs).sum();
    manifest.started_unix = dirs
        .iter()
        .map(|(_, m, _)| m.started_unix)
        .min()
        .unwrap_or(0);
    manifest.finished_unix = dirs
        .iter()
        .map(|(_, m, _)| m.finished_unix)
        .collect::<Option<Vec<u64>>>()
        .and_then(|ends| ends.into_iter().max());
    let path = RunManifest::path_for(&out.join("iterate"));
    manifest
        .write(&path)
        .map_err(|e| MergeError::Write(format!("cannot write {}: {e}", path.display())))?;
    report.rounds = rounds.len() as u32;
    Ok(report)
}

/// The dataset's names (from a manifest's statement hashes) that `decided` lacks, sorted.
fn coverage_of_names(manifest: &RunManifest, decided: &[String]) -> Vec<String> {
    let decided: BTreeSet<&str> = decided.iter().map(String::as_str).collect();
    manifest
        .input
        .statement_sha1
        .keys()
        .filter(|name| !decided.contains(name.as_str()))
        .cloned()
        .collect()
}
