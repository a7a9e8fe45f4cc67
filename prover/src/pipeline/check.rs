//! `prover check`: [`run`] checks every row of an input and writes one result per row as it is decided, resuming from what the output holds; and its rules over many rows: the reference-statement rule (a row's statement must be the reference dataset's, and it runs on the reference's header) and the batch that checks rows on one pool through `batch::run`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ::datasets::output::{FileKind, Input, Output, Target};
use lean_bridge::pool::ReplPool;

use super::{Progress, RunError, RunEvent, Stop, batch};
use crate::check::{self, CheckConfig, CheckResult, ProofTask, Status};
use crate::settings::SettingsFile;

/// A reference dataset that could not be read; the message names the file, the line and the
/// field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReferenceError(String);

/// One reference row: the statement a checked row must match and the header it runs on.
#[derive(Debug, PartialEq)]
struct ReferenceRow {
    formal_statement: String,
    header: Option<String>,
}

/// A reference dataset by name. A name given twice with different statements or headers is
/// ambiguous: rows that name it are refused, the others are checked.
#[derive(Debug)]
pub struct Reference {
    rows: HashMap<String, ReferenceRow>,
    ambiguous: HashMap<String, usize>,
}

impl Reference {
    /// Reads a reference dataset (JSON lines with `name`, `formal_statement` and an optional
    /// `header`; blank lines skipped). A name given more than once with different rows is kept
    /// as ambiguous ([`Reference::ambiguous_names`]), not refused.
    pub fn read(path: &Path) -> Result<Reference, ReferenceError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ReferenceError(format!("cannot read reference {}: {error}", path.display()))
        })?;
        let mut rows: HashMap<String, ReferenceRow> = HashMap::new();
        let mut ambiguous: HashMap<String, usize> = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = || format!("reference {} line {}", path.display(), index + 1);
            let row: serde_json::Value = serde_json::from_str(line)
                .map_err(|error| ReferenceError(format!("{}: not JSON: {error}", at())))?;
            let field = |key: &str| {
                row.get(key)
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| ReferenceError(format!("{}: missing field `{key}`", at())))
            };
            let name = field("name")?.to_owned();
            let reference = ReferenceRow {
                formal_statement: field("formal_statement")?.to_owned(),
                header: row
                    .get("header")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
            };
            match rows.get(&name) {
                Some(known) if *known != reference => *ambiguous.entry(name).or_insert(1) += 1,
                Some(_) => {}
                None => {
                    rows.insert(name, reference);
                }
            }
        }
        Ok(Reference { rows, ambiguous })
    }

    /// The names given more than once with different rows, sorted.
    pub fn ambiguous_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.ambiguous.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The task as it must be checked against the reference: its statement must equal the
    /// reference's up to whitespace runs, and it runs on the reference's header (a header of
    /// its own must be the same up to whitespace). `Err` carries the reason it is invalid.
    pub fn apply(&self, task: &mut ProofTask) -> Result<(), String> {
        if let Some(count) = self.ambiguous.get(&task.name) {
            let reason = format!(
                "`{}` names {count} different statements in the reference dataset",
                task.name
            );
            return Err(reason);
        }
        let Some(expected) = self.rows.get(&task.name) else {
            let reason = format!("`{}` is not in the reference dataset", task.name);
            return Err(reason);
        };
        if check::normalized_statement(&expected.formal_statement)
            != check::normalized_statement(&task.formal_statement)
        {
            return Err("the statement differs from the reference dataset's".into());
        }
        if let Some(header) = &expected.header {
            let own = task.header.trim();
            if !own.is_empty()
                && check::collapse_whitespace(own) != check::collapse_whitespace(header)
            {
                return Err("the row's header differs from the reference dataset's".into());
            }
            task.header = header.clone();
            task.header_origin = check::HeaderOrigin::Reference;
        }
        Ok(())
    }
}

/// What must be equal for two `check` runs to write into one results file: every rule's
/// setting, the reference and header files (by hash), and the Lean pins.
pub fn run_config(
    config: &CheckConfig,
    pool: &lean_bridge::PoolConfig,
    reference: Option<&Path>,
    header: Option<&Path>,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let file_sha1 = |path: Option<&Path>| {
        path.map(|p| {
            std::fs::read(p).map_or_else(
                |_| "unreadable".to_owned(),
                |bytes| sha1_smol::Sha1::from(bytes).digest().to_string(),
            )
        })
    };
    let mut map = super::run::lean_pins(pool);
    for (key, value) in [
        ("timeout_ms", json!(config.timeout.as_millis() as u64)),
        ("retries", json!(config.retries)),
        ("allowed_axioms", json!(config.allowed_axioms)),
        (
            "allow_native_decide",
            json!(config.guard.allow_native_decide),
        ),
        ("trust_header", json!(config.trust_header)),
        ("external_checker", json!(config.external_checker)),
        ("reference_sha1", json!(file_sha1(reference))),
        ("header_sha1", json!(file_sha1(header))),
    ] {
        map.insert(key.to_owned(), value);
    }
    map
}

/// The header the first row that passes the reference rule and the screening will run on:
/// the one a preflight must elaborate.
pub fn first_header(
    tasks: &[ProofTask],
    reference: Option<&Reference>,
    config: &CheckConfig,
) -> Option<String> {
    tasks.iter().find_map(|task| {
        let mut task = task.clone();
        if let Some(reference) = reference {
            reference.apply(&mut task).ok()?;
        }
        check::screen(&task, config).ok()?;
        Some(task.header)
    })
}

/// Checks `tasks` on `pool` through [`batch::run`], `concurrency` at a time, each against
/// `reference` first (a row it refuses is `invalid` without reaching Lean), and calls `done`
/// with each result in completion order; nothing decided after `stop` is set is reported.
pub async fn check_all<E>(
    pool: &Arc<ReplPool>,
    config: &CheckConfig,
    reference: Option<Reference>,
    tasks: Vec<ProofTask>,
    concurrency: usize,
    stop: &Stop,
    done: impl FnMut(CheckResult) -> Result<(), E>,
) -> Result<(), E> {
    let (pool, config) = (pool.clone(), Arc::new(config.clone()));
    let reference = Arc::new(reference);
    let _no_model = batch::run(
        tasks,
        concurrency,
        stop,
        None,
        move |mut task: ProofTask| {
            let (pool, config, reference) = (pool.clone(), config.clone(), reference.clone());
            async move {
                let against = match reference.as_ref() {
                    Some(reference) => reference.apply(&mut task),
                    None => Ok(()),
                };
                match against {
                    Err(reason) => CheckResult::unchecked(&task, Status::Invalid, reason),
                    Ok(()) => check::check_task(&pool, &task, &config).await,
                }
            }
        },
        done,
    )
    .await?;
    Ok(())
}

/// The rows of a `check` input: those to check, and those malformed, already decided `error`.
#[derive(Debug, Default)]
pub struct Rows {
    /// The rows that read, to check.
    pub tasks: Vec<ProofTask>,
    /// The result of each row that did not read.
    pub malformed: Vec<CheckResult>,
}

impl Rows {
    /// Reads the rows of `input` (JSON lines); a row without a header of its own takes
    /// `default_header`, or, `with_reference`, the reference's. Each malformed row is handed to
    /// `refused` and kept as an `error` result.
    pub fn read(
        input: &[u8],
        default_header: Option<&str>,
        with_reference: bool,
        mut refused: impl FnMut(&check::RowError),
    ) -> Rows {
        let mut rows = Rows::default();
        // With a reference dataset, a row may leave its header out: the reference's is used.
        let fallback = default_header.or(with_reference.then_some(""));
        for (line, text) in ::datasets::jsonl_lines(input) {
            match text.and_then(|text| check::parse_task(line, text, fallback)) {
                Ok(task) => rows.tasks.push(task),
                Err(error) => {
                    refused(&error);
                    rows.malformed.push(CheckResult::malformed(&error));
                }
            }
        }
        rows
    }

    /// Keeps the rows of `shard` (every row without one): by name, as `eval --shard` takes
    /// theorems, so every proof of one theorem is checked in one shard; a malformed row whose
    /// name could not be read goes to shard 0, so each row is in exactly one shard.
    pub fn keep_shard(&mut self, shard: Option<::datasets::shard::Shard>) {
        let Some(shard) = shard.filter(|shard| !shard.is_all()) else {
            return;
        };
        let names = self
            .tasks
            .iter()
            .map(|task| task.name.as_str())
            .chain(self.malformed.iter().map(|row| row.name.as_str()))
            .filter(|name| !name.is_empty());
        let assignment: std::collections::HashMap<String, u32> =
            ::datasets::shard::Shard::assignment(names, shard.count)
                .into_iter()
                .map(|(name, index)| (name.to_owned(), index))
                .collect();
        let mine = |name: &str| assignment.get(name).copied().unwrap_or(0) == shard.index;
        self.tasks.retain(|task| mine(&task.name));
        self.malformed.retain(|row| mine(&row.name));
    }

    /// How many rows the input holds.
    pub fn len(&self) -> usize {
        self.tasks.len() + self.malformed.len()
    }

    /// Whether the input holds no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the rows a results file already decides (the resume key: the input line and the
    /// name), and returns the earlier results that are about rows of this input, which a
    /// summary of the whole file counts.
    pub fn resume<'a>(&mut self, earlier: &'a [CheckResult]) -> Vec<&'a CheckResult> {
        let key = |line: usize, name: &str| (line, name.to_owned());
        let decided: HashSet<(usize, String)> =
            earlier.iter().map(|r| key(r.line, &r.name)).collect();
        let current: HashSet<(usize, String)> = self
            .tasks
            .iter()
            .map(|t| key(t.line, &t.name))
            .chain(self.malformed.iter().map(|r| key(r.line, &r.name)))
            .collect();
        self.tasks
            .retain(|t| !decided.contains(&key(t.line, &t.name)));
        self.malformed
            .retain(|r| !decided.contains(&key(r.line, &r.name)));
        earlier
            .iter()
            .filter(|r| current.contains(&key(r.line, &r.name)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "import Mathlib\n";

    fn reference(rows: &[serde_json::Value]) -> Reference {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reference.jsonl");
        let text: Vec<String> = rows.iter().map(ToString::to_string).collect();
        std::fs::write(&path, text.join("\n\n")).unwrap();
        Reference::read(&path).unwrap()
    }

    fn rows(lines: &[serde_json::Value]) -> Rows {
        let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
        Rows::read(text.join("\n").as_bytes(), Some(HEADER), false, |_| {})
    }

    #[test]
    fn the_reference_rule_holds_statements_and_headers_to_the_reference() {
        let reference = reference(&[
            serde_json::json!({"name": "t", "formal_statement": "theorem t : 1 = 1 := by sorry", "header": "import Mathlib\nopen Nat"}),
            serde_json::json!({"name": "twice", "formal_statement": "theorem twice : True := by sorry"}),
            serde_json::json!({"name": "twice", "formal_statement": "theorem twice : False := by sorry"}),
        ]);
        assert_eq!(reference.ambiguous_names(), ["twice"]);
        let mut input = rows(&[
            serde_json::json!({"name": "t", "formal_statement": "theorem  t :\n 1 = 1 := by", "proof": "rfl", "header": ""}),
            serde_json::json!({"name": "t", "formal_statement": "theorem t : 1 = 2 := by", "proof": "rfl"}),
            serde_json::json!({"name": "t", "formal_statement": "theorem t : 1 = 1 := by", "proof": "rfl", "header": "import Lean"}),
            serde_json::json!({"name": "twice", "formal_statement": "theorem twice : True := by", "proof": "trivial"}),
            serde_json::json!({"name": "absent", "formal_statement": "theorem absent : True := by", "proof": "trivial"}),
        ]);
        let outcomes: Vec<Result<(), String>> = input
            .tasks
            .iter_mut()
            .map(|task| reference.apply(task))
            .collect();
        assert_eq!(outcomes[0], Ok(()));
        assert_eq!(input.tasks[0].header, "import Mathlib\nopen Nat");
        assert_eq!(input.tasks[0].header_origin, check::HeaderOrigin::Reference);
        assert!(
            outcomes[1]
                .as_ref()
                .unwrap_err()
                .contains("statement differs")
        );
        assert!(outcomes[2].as_ref().unwrap_err().contains("header differs"));
        assert!(
            outcomes[3]
                .as_ref()
                .unwrap_err()
                .contains("2 different statements")
        );
        assert!(
            outcomes[4]
                .as_ref()
                .unwrap_err()
                .contains("not in the reference")
        );
    }

    #[test]
    fn a_resume_skips_rows_decided_by_line_and_name() {
        let mut input = rows(&[
            serde_json::json!({"name": "a", "formal_statement": "theorem a : True := by", "proof": "trivial"}),
            serde_json::json!({"name": "broken"}),
            serde_json::json!({"name": "c", "formal_statement": "theorem c : True := by", "proof": "trivial"}),
        ]);
        assert_eq!((input.tasks.len(), input.malformed.len()), (2, 1));
        let decided = |task: &ProofTask| CheckResult::unchecked(task, Status::Valid, String::new());
        let mut elsewhere = input.tasks[1].clone();
        elsewhere.line = 7;
        let earlier = vec![
            decided(&input.tasks[0]),
            input.malformed[0].clone(),
            decided(&elsewhere),
        ];
        let counted = input.resume(&earlier);
        assert_eq!(
            counted.len(),
            2,
            "the row of line 7 is not one of this input's"
        );
        let left: Vec<&str> = input.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(left, ["c"]);
        assert!(input.malformed.is_empty());
    }
}

/// The target of `prover check`'s log lines, as the command line has always printed them.
const LOG_TARGET: &str = "prover_cli::check";

/// What `prover check` is asked: plain values from the front end's flags.
#[derive(Debug, Clone)]
pub struct CheckRun {
    /// The rows to check.
    pub input: PathBuf,
    /// The results file; `None` writes results to `results` instead.
    pub out: Option<PathBuf>,
    /// Discard what `out` holds.
    pub fresh: bool,
    /// The header of rows that bring none.
    pub header: Option<PathBuf>,
    /// The reference dataset.
    pub reference: Option<PathBuf>,
    /// The REPL settings from the front end.
    pub repl: crate::settings::ReplOverlay,
    /// The rules' settings from the front end.
    pub rules: crate::settings::CheckOverlay,
    /// `--shard`: the rows of one shard, by name (`None`: every row).
    pub shard: Option<::datasets::shard::Shard>,
    /// The front end's build (version, git commit), for the manifest.
    pub build: BTreeMap<String, String>,
}

/// A check's events, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckEvent<'a> {
    /// Rows `out` already decides are skipped.
    Skipping {
        /// How many.
        decided: usize,
        /// The input's rows.
        total: usize,
        /// The results file.
        out: &'a Path,
    },
    /// One row decided and written.
    Decided {
        /// Its result.
        result: &'a CheckResult,
        /// The counts so far, this row included.
        tally: &'a Tally,
        /// The input's rows.
        total: usize,
    },
    /// Every row this run could decide is decided, before the manifest is closed.
    Finished {
        /// The counts.
        tally: &'a Tally,
        /// Wall-clock seconds of this run.
        seconds: f64,
        /// REPL workers.
        workers: usize,
    },
}

/// A check's counts.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Valid rows.
    pub valid: usize,
    /// Invalid rows.
    pub invalid: usize,
    /// Rows that ended `error`.
    pub error: usize,
    /// Of the above, decided by an earlier run into the same output.
    pub from_earlier: usize,
}

impl Tally {
    /// Rows counted.
    pub fn total(&self) -> usize {
        self.valid + self.invalid + self.error
    }

    fn add(&mut self, status: Status) {
        match status {
            Status::Valid => self.valid += 1,
            Status::Invalid => self.invalid += 1,
            Status::Error => self.error += 1,
        }
    }

    fn earlier(&mut self, status: Status) {
        self.add(status);
        self.from_earlier += 1;
    }
}

/// What a check decided.
#[derive(Debug)]
pub struct CheckEnd {
    /// The counts.
    pub tally: Tally,
    /// Whether the run was stopped before its end.
    pub stopped: bool,
}

/// Where results go: a locked results file, or the caller's stream.
enum Sink {
    File(::datasets::AppendLog),
    Stream(Box<dyn Write>),
}

impl Sink {
    /// Writes one result, counts it, and tells `progress`.
    fn write(
        &mut self,
        result: &CheckResult,
        tally: &mut Tally,
        total: usize,
        progress: &mut dyn Progress,
    ) -> Result<(), RunError> {
        tally.add(result.status);
        match self {
            Sink::File(file) => file.append(result)?,
            Sink::Stream(stream) => {
                let line = serde_json::to_string(result).map_err(|error| RunError::Io {
                    what: "cannot encode a result".to_owned(),
                    source: std::io::Error::other(error),
                })?;
                let io = |source| RunError::Io {
                    what: "cannot write a result".to_owned(),
                    source,
                };
                writeln!(stream, "{line}").map_err(io)?;
                stream.flush().map_err(io)?;
            }
        }
        progress.event(RunEvent::Check(CheckEvent::Decided {
            result,
            tally,
            total,
        }));
        Ok(())
    }
}

/// What a check reads before it starts.
struct Inputs {
    bytes: Vec<u8>,
    reference: Option<Reference>,
    rows: Rows,
    config: CheckConfig,
    pool: lean_bridge::PoolConfig,
}

/// Runs `prover check`: checks the outputs, reads the rows (and the header and reference),
/// resumes from what `out` holds, preflights the first header a row will run on, checks every
/// row left on one pool through [`check_all`], and writes each result as it is decided
/// (malformed rows first); with no `out`, results go to `results`.
pub fn run(
    request: CheckRun,
    settings: &SettingsFile,
    results: Box<dyn Write>,
    progress: &mut dyn Progress,
) -> Result<CheckEnd, RunError> {
    let manifest_path = request
        .out
        .as_deref()
        .map(::datasets::RunManifest::path_for);
    let flagged = [
        ("--input", Some(&request.input)),
        ("--reference", request.reference.as_ref()),
        ("--header", request.header.as_ref()),
    ];
    let inputs: Vec<Input<'_>> = flagged
        .iter()
        .filter_map(|&(flag, path)| Some(Input { flag, path: path? }))
        .collect();
    let outputs: Vec<Output<'_>> = [
        ("--out", request.out.as_deref(), FileKind::CheckResults),
        (
            "the manifest of --out",
            manifest_path.as_deref(),
            FileKind::Manifest,
        ),
    ]
    .into_iter()
    .filter_map(|(flag, path, kind)| {
        Some(Output {
            flag,
            path: path?,
            target: Target::File(kind),
        })
    })
    .collect();
    let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
    let mut read = read_inputs(&request, settings)?;
    let input_paths: Vec<&Path> = flagged
        .iter()
        .filter_map(|(_, p)| p.map(PathBuf::as_path))
        .collect();
    let input_rows = read.rows.len();
    read.rows.keep_shard(request.shard);
    let total = read.rows.len();
    // Rows the output already decides (by input line and name) are not checked again.
    let mut tally = Tally::default();
    let sink = match &request.out {
        Some(path) => {
            let (file, earlier) = super::open_results::<CheckResult>(
                path,
                "check",
                request.fresh,
                &input_paths,
                progress,
            )?;
            // The summary covers the whole file's rows for this input, earlier runs included.
            for result in read.rows.resume(&earlier) {
                tally.earlier(result.status);
            }
            if tally.from_earlier > 0 {
                progress.event(RunEvent::Check(CheckEvent::Skipping {
                    decided: tally.from_earlier,
                    total,
                    out: path,
                }));
            }
            Sink::File(file)
        }
        None => Sink::Stream(results),
    };
    let run_manifest = match &request.out {
        Some(path) => Some(super::run::prepare(
            path,
            super::run::RunIdentity {
                kind: "check".to_owned(),
                prover: request.build.clone(),
                config: {
                    let mut config = run_config(
                        &read.config,
                        &read.pool,
                        request.reference.as_deref(),
                        request.header.as_deref(),
                    );
                    super::merge::record_shard(&mut config, request.shard);
                    config
                },
                recorded: super::run::repl_record(&read.pool),
                input: super::run::input_record(&request.input, &read.bytes, input_rows),
            },
            request.fresh,
            tally.from_earlier > 0,
        )?),
        None => None,
    };
    check_rows(read, sink, tally, run_manifest, progress)
}

/// Reads the input, the header and the reference, and merges the settings.
fn read_inputs(request: &CheckRun, settings: &SettingsFile) -> Result<Inputs, RunError> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|source| RunError::Io {
            what: format!("cannot read {what} {}", path.display()),
            source,
        })
    };
    let bytes = read(&request.input, "input")?;
    let default_header = match &request.header {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|source| RunError::Io {
                what: format!("cannot read header {}", path.display()),
                source,
            })?,
        ),
        None => None,
    };
    let reference = match &request.reference {
        Some(path) => Some(read_reference(path)?),
        None => None,
    };
    let pool = crate::settings::pool_config(&request.repl, settings)?;
    let config = CheckConfig {
        reference_checked: reference.is_some(),
        ..crate::settings::check_config(&request.rules, settings)?
    };
    let rows = Rows::read(
        &bytes,
        default_header.as_deref(),
        reference.is_some(),
        |error| {
            tracing::error!(target: LOG_TARGET, "{}: {error}", request.input.display());
        },
    );
    if rows.is_empty() {
        return Err(RunError::Refused(format!(
            "input {} holds no rows",
            request.input.display()
        )));
    }
    Ok(Inputs {
        bytes,
        reference,
        rows,
        config,
        pool,
    })
}

/// Reads a reference dataset; names it holds more than once with different rows are logged
/// and kept as ambiguous.
fn read_reference(path: &Path) -> Result<Reference, RunError> {
    let reference = Reference::read(path).map_err(|error| RunError::Refused(error.to_string()))?;
    let names = reference.ambiguous_names();
    if !names.is_empty() {
        tracing::warn!(
            target: LOG_TARGET,
            "reference {} gives {} name(s) more than once with different statements; rows \
             with these names are refused: {}",
            path.display(),
            names.len(),
            names.join(", ")
        );
    }
    Ok(reference)
}

/// Starts the runtime and the pool, preflights, writes the malformed rows, checks the rest,
/// and closes the manifest.
fn check_rows(
    read: Inputs,
    mut sink: Sink,
    mut tally: Tally,
    run_manifest: Option<super::run::Manifest>,
    progress: &mut dyn Progress,
) -> Result<CheckEnd, RunError> {
    let Inputs {
        reference,
        rows,
        config,
        pool,
        ..
    } = read;
    let (total, workers) = (rows.len(), pool.workers);
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().map_err(|source| RunError::Io {
        what: "cannot start the async runtime".to_owned(),
        source,
    })?;
    let stop = progress.stop_on(runtime.handle())?;
    let pool = Arc::new(ReplPool::new(pool));
    // Preflight on the header the first checkable row will really run on.
    if let Some(header) = first_header(&rows.tasks, reference.as_ref(), &config)
        && let Err(error) = runtime.block_on(super::preflight::repl(&pool, &header))
    {
        runtime.block_on(pool.shutdown());
        if let Sink::File(file) = sink {
            file.abandon();
        }
        return Err(error.into());
    }
    if let Some(run_manifest) = &run_manifest {
        run_manifest.start()?;
    }
    for result in &rows.malformed {
        sink.write(result, &mut tally, total, progress)?;
    }
    runtime.block_on(async {
        check_all(
            &pool,
            &config,
            reference,
            rows.tasks,
            workers,
            &stop,
            |result| sink.write(&result, &mut tally, total, progress),
        )
        .await?;
        if !stop.is_set() {
            pool.shutdown().await;
        }
        Ok::<(), RunError>(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    progress.event(RunEvent::Check(CheckEvent::Finished {
        tally: &tally,
        seconds,
        workers,
    }));
    if let Some(run_manifest) = run_manifest {
        run_manifest.finish(&[
            ("valid", tally.valid),
            ("invalid", tally.invalid),
            ("error", tally.error),
        ])?;
    }
    let stopped = stop.is_set();
    if stopped {
        runtime.shutdown_background();
    }
    Ok(CheckEnd { tally, stopped })
}
