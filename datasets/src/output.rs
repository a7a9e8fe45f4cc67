//! The one rule for every file prover writes: an output is checked against the run's inputs and against what already lies at its path before any work, and written whole and atomically.
//!
//! [`check_outputs`] refuses, touching nothing, an output that
//! - is one of the run's inputs (the same file, however named), or the same path as another
//!   output of the run;
//! - is a directory the run writes into (`iterate --dir`, `explore --out`, `--trace DIR`) that
//!   holds one of the run's inputs where the run would write;
//! - is an existing file of another kind ([`sniff`]: a results file, a manifest, a model, a
//!   trace, a dataset, a page, …, from its first bytes), or a file of no kind prover knows;
//! - cannot be written (its directory is missing or read-only: probed with a temporary file);
//! - is a directory another prover process is writing into (`flock`, held by [`OutputGuard`]).
//!
//! When nothing is refused, the directories the run owns are made and locked for the run.
//!
//! [`write_atomic`] writes a whole file under a unique temporary name in the same directory,
//! syncs it, renames it over the path and syncs the directory; on any failure the temporary
//! file is removed, so nothing partial is ever left.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a file holds, as far as its first bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// `prover eval` results (`ProveResult` lines).
    EvalResults,
    /// `prover check` results (`CheckResult` lines).
    CheckResults,
    /// A run manifest (`RunManifest`, pretty JSON).
    Manifest,
    /// A learned-policy model file.
    Model,
    /// A search trace (`TraceRow` lines).
    Trace,
    /// Theorems to prove (`name`, `formal_statement`).
    Dataset,
    /// Proofs to check (`formal_statement` and `proof`).
    ProofRows,
    /// SFT or DPO rows (`prompt` with `completion` or `chosen`/`rejected`).
    TrainingRows,
    /// A stage log or round results of `iterate` or `explore`.
    PipelineLog,
    /// `prover report --json` figures.
    ReportJson,
    /// A planner log (`--plan-log`: `plan::PlanRecord` lines).
    PlanLog,
    /// An HTML page (`report`, `tree`).
    Html,
    /// An SVG picture (`tree`).
    Svg,
    /// A Graphviz DOT graph (`tree`).
    Dot,
    /// Degenerate-statement flags of `prover datasets audit` (`audit::AuditRow` lines).
    AuditFlags,
    /// Cross-lineage transfer rows of `prover datasets transfer`.
    TransferRows,
    /// Anything else: a file prover does not write, never written over.
    Unknown,
}

impl FileKind {
    /// The kind in words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::EvalResults => "a results file of `prover eval`",
            FileKind::CheckResults => "a results file of `prover check`",
            FileKind::Manifest => "a run manifest",
            FileKind::Model => "a learned model",
            FileKind::Trace => "a search trace",
            FileKind::Dataset => "a dataset of theorems",
            FileKind::ProofRows => "a file of proofs to check",
            FileKind::TrainingRows => "a file of SFT or DPO rows",
            FileKind::PipelineLog => "a log or results file of `iterate` or `explore`",
            FileKind::ReportJson => "the figures of `prover report --json`",
            FileKind::PlanLog => "a planner log (`--plan-log`)",
            FileKind::Html => "an HTML page",
            FileKind::Svg => "an SVG picture",
            FileKind::Dot => "a Graphviz DOT graph",
            FileKind::AuditFlags => "a flags file of `prover datasets audit`",
            FileKind::TransferRows => "a transfer file of `prover datasets transfer`",
            FileKind::Unknown => "a file prover does not write",
        }
    }
}

/// How many bytes [`sniff`] reads: a first line is found well within it.
const SNIFF_BYTES: u64 = 64 * 1024;

/// The kind of the file at `path` from its first bytes; `None` when there is no file or it
/// is empty (or only whitespace), which any writer may fill.
pub fn sniff(path: &Path) -> std::io::Result<Option<FileKind>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut head = Vec::new();
    file.take(SNIFF_BYTES).read_to_end(&mut head)?;
    Ok(sniff_bytes(&head))
}

/// [`sniff`] on a file's first bytes.
pub fn sniff_bytes(head: &[u8]) -> Option<FileKind> {
    if head.starts_with(b"PRVLRN") {
        return Some(FileKind::Model);
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let lower = text.get(..text.len().min(32)).unwrap_or("").to_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return Some(FileKind::Html);
    }
    if lower.starts_with("<svg") || lower.starts_with("<?xml") {
        return Some(FileKind::Svg);
    }
    if lower.starts_with("digraph") || lower.starts_with("strict digraph") {
        return Some(FileKind::Dot);
    }
    if !text.starts_with('{') {
        return Some(FileKind::Unknown);
    }
    let first_line = text.lines().next().unwrap_or("").trim();
    let Ok(serde_json::Value::Object(row)) = serde_json::from_str::<serde_json::Value>(first_line)
    else {
        // One pretty-printed object: its first keys tell a manifest from the report's figures.
        return Some(
            if text.contains("\n  \"kind\": ") && text.contains("\"config\"") {
                FileKind::Manifest
            } else if text.contains("\n  \"runs\": ") {
                FileKind::ReportJson
            } else {
                FileKind::Unknown
            },
        );
    };
    let has = |key: &str| row.contains_key(key);
    Some(if has("kind") && has("config") {
        FileKind::Manifest
    } else if has("runs") && has("leaderboard") {
        FileKind::ReportJson
    } else if has("planner_calls") && has("direct") {
        FileKind::PlanLog
    } else if has("flags") && has("statement_hash") && has("budget_expansions") {
        FileKind::AuditFlags
    } else if has("transfer") && has("to_lineage") {
        FileKind::TransferRows
    } else if has("layers") && has("status") {
        FileKind::CheckResults
    } else if has("status") && has("expansions") {
        FileKind::EvalResults
    } else if has("state_before") && has("outcome") {
        FileKind::Trace
    } else if has("prompt") && (has("completion") || has("chosen")) {
        FileKind::TrainingRows
    } else if has("stage") || has("edges") || (has("round") && has("easy")) {
        FileKind::PipelineLog
    } else if has("formal_statement") && has("proof") {
        FileKind::ProofRows
    } else if has("formal_statement") {
        FileKind::Dataset
    } else {
        FileKind::Unknown
    })
}

/// An input of a run: a file or a directory it reads, with the flag that named it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// `--dataset`, `--conjectures`, `results`, …
    pub flag: &'a str,
    /// The path as given.
    pub path: &'a Path,
}

/// What a run writes at an output path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A file of this kind: an existing file of this kind (or empty) may be replaced.
    File(FileKind),
    /// A directory the run owns whole (`iterate --dir`, `explore --out`): locked for the
    /// run, and no input may lie inside it.
    Dir,
    /// A directory of files ending in this suffix (`--trace DIR`: `.trace.jsonl`): no input
    /// so named may lie inside it.
    DirOf(&'static str),
}

/// An output of a run, with the flag that named it.
#[derive(Debug, Clone, Copy)]
pub struct Output<'a> {
    /// `--out`, `--json`, `--save-model`, …
    pub flag: &'a str,
    /// The path as given.
    pub path: &'a Path,
    /// What is written there.
    pub target: Target,
}

/// Why an output is refused; every message names the output and what it collides with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteRefusal {
    /// The output is one of the inputs.
    #[error("{flag} {} is also an input of this run ({input_flag} {}); refusing to write over it", .path.display(), .input.display())]
    IsAnInput {
        /// The output's flag.
        flag: String,
        /// The output.
        path: PathBuf,
        /// The input's flag.
        input_flag: String,
        /// The input.
        input: PathBuf,
    },
    /// An input lies inside a directory the run writes into.
    #[error("{input_flag} {} lies inside {flag} {}, which this run writes into; move the input out of it or pass another {flag}", .input.display(), .dir.display())]
    InputInside {
        /// The directory's flag.
        flag: String,
        /// The directory.
        dir: PathBuf,
        /// The input's flag.
        input_flag: String,
        /// The input.
        input: PathBuf,
    },
    /// Two outputs of the run are one path.
    #[error("{flag} {} and {other_flag} {} are the same file; pass two paths", .path.display(), .other.display())]
    SameOutput {
        /// One output's flag.
        flag: String,
        /// Its path.
        path: PathBuf,
        /// The other's flag.
        other_flag: String,
        /// Its path.
        other: PathBuf,
    },
    /// An existing file of another kind.
    #[error("{flag} {} is {} (this run writes {}); refusing to write over it: pass another path, or delete it", .path.display(), .found.describe(), .writes.describe())]
    Foreign {
        /// The output's flag.
        flag: String,
        /// The output.
        path: PathBuf,
        /// What the file holds.
        found: FileKind,
        /// What the run writes there.
        writes: FileKind,
    },
    /// A directory where a file goes, or a file where a directory goes.
    #[error("{flag} {} exists and is not {wanted}", .path.display())]
    WrongType {
        /// The output's flag.
        flag: String,
        /// The output.
        path: PathBuf,
        /// "a file", "a directory".
        wanted: &'static str,
    },
    /// The output cannot be written.
    #[error("{flag} {} cannot be written: {source}", .path.display())]
    Unwritable {
        /// The output's flag.
        flag: String,
        /// The output.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another process writes into the directory.
    #[error("{flag} {} is being written by another prover process; wait for it to finish or pass another {flag}", .path.display())]
    Locked {
        /// The directory's flag.
        flag: String,
        /// The directory.
        path: PathBuf,
    },
}

/// The locks on the output directories of a run; hold it until the run ends.
#[derive(Debug, Default)]
pub struct OutputGuard {
    _locks: Vec<File>,
}

/// The path a file has or would have: canonical where it exists, else its canonical
/// directory joined with its name (so two spellings of one new file compare equal).
fn identity(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    }
}

/// Applies the rule to every output of a run before any work (see the module's text); the
/// guard holds the locks of the directories the run owns.
pub fn check_outputs(
    outputs: &[Output<'_>],
    inputs: &[Input<'_>],
) -> Result<OutputGuard, WriteRefusal> {
    let mut guard = OutputGuard::default();
    let inputs: Vec<(Input<'_>, PathBuf)> = inputs
        .iter()
        .map(|input| (*input, identity(input.path)))
        .collect();
    let ids: Vec<PathBuf> = outputs.iter().map(|o| identity(o.path)).collect();
    for (i, output) in outputs.iter().enumerate() {
        let flag = output.flag.to_owned();
        let id = &ids[i];
        if let Some((j, _)) = ids
            .iter()
            .enumerate()
            .find(|(j, other)| *j < i && *other == id)
        {
            return Err(WriteRefusal::SameOutput {
                flag: outputs[j].flag.to_owned(),
                path: outputs[j].path.to_owned(),
                other_flag: flag,
                other: output.path.to_owned(),
            });
        }
        if let Some((input, _)) = inputs.iter().find(|(_, input_id)| input_id == id) {
            return Err(WriteRefusal::IsAnInput {
                flag,
                path: output.path.to_owned(),
                input_flag: input.flag.to_owned(),
                input: input.path.to_owned(),
            });
        }
        match output.target {
            Target::File(writes) => {
                if output.path.is_dir() {
                    return Err(WriteRefusal::WrongType {
                        flag,
                        path: output.path.to_owned(),
                        wanted: "a file",
                    });
                }
                let unwritable = |source| WriteRefusal::Unwritable {
                    flag: output.flag.to_owned(),
                    path: output.path.to_owned(),
                    source,
                };
                match sniff(output.path).map_err(unwritable)? {
                    Some(found) if found != writes => {
                        return Err(WriteRefusal::Foreign {
                            flag,
                            path: output.path.to_owned(),
                            found,
                            writes,
                        });
                    }
                    _ => {}
                }
                probe_writable(output.path).map_err(unwritable)?;
            }
            Target::Dir | Target::DirOf(_) => {
                if output.path.exists() && !output.path.is_dir() {
                    return Err(WriteRefusal::WrongType {
                        flag,
                        path: output.path.to_owned(),
                        wanted: "a directory",
                    });
                }
                let owned = |input: &Path| match output.target {
                    Target::DirOf(suffix) => input.to_string_lossy().ends_with(suffix),
                    _ => true,
                };
                if let Some((input, _)) = inputs
                    .iter()
                    .find(|(input, input_id)| input_id.starts_with(id) && owned(input.path))
                {
                    return Err(WriteRefusal::InputInside {
                        flag,
                        dir: output.path.to_owned(),
                        input_flag: input.flag.to_owned(),
                        input: input.path.to_owned(),
                    });
                }
            }
        }
    }
    // Nothing was refused: the directories the run owns are made and locked.
    for output in outputs.iter().filter(|o| o.target == Target::Dir) {
        let unwritable = |source| WriteRefusal::Unwritable {
            flag: output.flag.to_owned(),
            path: output.path.to_owned(),
            source,
        };
        std::fs::create_dir_all(output.path).map_err(unwritable)?;
        let dir = File::open(output.path).map_err(unwritable)?;
        match dir.try_lock() {
            Ok(()) => guard._locks.push(dir),
            Err(TryLockError::WouldBlock) => {
                return Err(WriteRefusal::Locked {
                    flag: output.flag.to_owned(),
                    path: output.path.to_owned(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(unwritable(source)),
        }
    }
    Ok(guard)
}

/// Whether a file can be written at `path`: a temporary file is created beside it and removed.
fn probe_writable(path: &Path) -> std::io::Result<()> {
    let temporary = temporary_path(path);
    drop(
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?,
    );
    std::fs::remove_file(&temporary)
}

/// A name no other writer uses, beside `path`: hidden, with the process id and a counter.
fn temporary_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Replaces `path` with `bytes` at once: a reader sees the old file or the new one, never a
/// part. Written under a unique temporary name beside it, synced, renamed over it, and the
/// directory synced; on failure the temporary file is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = temporary_path(path);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_told_by_its_first_bytes() {
        let cases: &[(&[u8], Option<FileKind>)] = &[
            (b"", None),
            (b"  \n", None),
            (b"PRVLRN\0\0\x02\0\0\0", Some(FileKind::Model)),
            (b"<!DOCTYPE html>\n<html>", Some(FileKind::Html)),
            (b"<svg xmlns=\"x\">", Some(FileKind::Svg)),
            (b"digraph search_tree {", Some(FileKind::Dot)),
            (
                b"{\n  \"schema_version\": 1,\n  \"kind\": \"eval\",\n  \"config\": {}",
                Some(FileKind::Manifest),
            ),
            (
                b"{\n  \"schema_version\": 1,\n  \"runs\": [",
                Some(FileKind::ReportJson),
            ),
            (
                b"{\"name\":\"a\",\"status\":\"proved\",\"expansions\":3}\n",
                Some(FileKind::EvalResults),
            ),
            (
                b"{\"schema_version\":1,\"name\":\"a\",\"statement\":\"s\",\"outcome\":\"plan\",\"direct\":{},\"planner_calls\":1}\n",
                Some(FileKind::PlanLog),
            ),
            (
                b"{\"name\":\"a\",\"status\":\"valid\",\"layers\":{}}\n",
                Some(FileKind::CheckResults),
            ),
            (
                b"{\"name\":\"a\",\"state_before\":\"x\",\"tactic\":\"t\",\"outcome\":\"proved\"}\n",
                Some(FileKind::Trace),
            ),
            (
                b"{\"name\":\"a\",\"header\":\"\",\"formal_statement\":\"theorem a : True := by\"}\n",
                Some(FileKind::Dataset),
            ),
            (
                b"{\"name\":\"a\",\"formal_statement\":\"s\",\"proof\":\"trivial\"}\n",
                Some(FileKind::ProofRows),
            ),
            (
                b"{\"prompt\":\"p\",\"completion\":\"c\"}\n",
                Some(FileKind::TrainingRows),
            ),
            (
                b"{\"name\":\"a\",\"stage\":\"search\",\"status\":\"failed\"}\n",
                Some(FileKind::PipelineLog),
            ),
            (b"import Mathlib\ntheorem x", Some(FileKind::Unknown)),
        ];
        for (bytes, kind) in cases {
            assert_eq!(
                sniff_bytes(bytes),
                *kind,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn the_rule_refuses_inputs_foreign_files_shared_paths_and_locked_directories() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("data.jsonl");
        std::fs::write(&input, "{\"name\":\"a\",\"formal_statement\":\"s\"}\n").unwrap();
        let html = dir.path().join("r.html");
        let inputs = [Input {
            flag: "--dataset",
            path: &input,
        }];
        let file = |flag, path, kind| Output {
            flag,
            path,
            target: Target::File(kind),
        };
        let refused = |outputs: &[Output<'_>]| check_outputs(outputs, &inputs).unwrap_err();
        let as_input = refused(&[file("--out", &input, FileKind::Html)]).to_string();
        assert!(as_input.contains("also an input") && as_input.contains("--dataset"));
        let dotted = dir.path().join(".").join("data.jsonl");
        assert!(matches!(
            refused(&[file("--out", &dotted, FileKind::Html)]),
            WriteRefusal::IsAnInput { .. }
        ));
        assert!(matches!(
            refused(&[
                file("--out", &html, FileKind::Html),
                file("--json", &html, FileKind::ReportJson)
            ]),
            WriteRefusal::SameOutput { .. }
        ));
        std::fs::write(
            &html,
            "{\"name\":\"a\",\"status\":\"proved\",\"expansions\":1}\n",
        )
        .unwrap();
        let foreign = refused(&[file("--out", &html, FileKind::Html)]).to_string();
        assert!(
            foreign.contains("results file of `prover eval`"),
            "{foreign}"
        );
        std::fs::write(&html, "<!DOCTYPE html>").unwrap();
        assert!(check_outputs(&[file("--out", &html, FileKind::Html)], &inputs).is_ok());
        let missing = dir.path().join("no/such/dir/m.bin");
        assert!(matches!(
            refused(&[file("--save-model", &missing, FileKind::Model)]),
            WriteRefusal::Unwritable { .. }
        ));
        // A directory the run owns may not hold an input; a second run is refused.
        let owned = Output {
            flag: "--dir",
            path: dir.path(),
            target: Target::Dir,
        };
        assert!(matches!(
            refused(&[owned]),
            WriteRefusal::InputInside { .. }
        ));
        let rounds = dir.path().join("rounds");
        std::fs::create_dir(&rounds).unwrap();
        let owned = Output {
            flag: "--dir",
            path: &rounds,
            target: Target::Dir,
        };
        let _held = check_outputs(&[owned], &inputs).unwrap();
        assert!(matches!(refused(&[owned]), WriteRefusal::Locked { .. }));
        // A trace directory owns its `.trace.jsonl` files only.
        let traces = Output {
            flag: "--trace",
            path: dir.path(),
            target: Target::DirOf(".trace.jsonl"),
        };
        assert!(check_outputs(&[traces], &inputs).is_ok());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            3,
            "nothing left behind"
        );
    }

    #[test]
    fn atomic_writes_leave_nothing_partial_even_when_they_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // Renaming over a directory fails: the old directory stays, no temporary file does.
        let taken = dir.path().join("taken");
        std::fs::create_dir(taken.join("inner").parent().unwrap()).unwrap();
        std::fs::write(taken.join("x"), b"x").unwrap();
        assert!(write_atomic(&taken, b"three").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
