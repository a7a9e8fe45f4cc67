//! `prover check`'s rules over many rows: the reference-statement rule (a row's statement must be the reference dataset's, and it runs on the reference's header) and the batch that checks rows on one pool through `batch::run`.

use std::collections::HashMap;
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
