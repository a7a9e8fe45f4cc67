//! `prover check`'s rules over many rows: the reference-statement rule (a row's statement must be the reference dataset's, and it runs on the reference's header) and the batch that checks rows on one pool through `batch::run`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use lean_bridge::pool::ReplPool;

use super::{Stop, batch};
use crate::check::{self, CheckConfig, CheckResult, ProofTask, Status};

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
