//! Per-lineage figures: for each run on a registry lineage, solved / total on all its problems,
//! on the problems its audit did not flag, and on the intersection of problems whose statement
//! hash is equal in every lineage compared; and the transfer matrix (proofs of one lineage
//! re-checked against another's statements: transfer, do not, statement differs).
//!
//! Two figures on different lineages are comparable only on that intersection: there the runs
//! proved the same theorems.

use std::collections::{BTreeMap, BTreeSet};

use datasets::audit::FlagKind;
use datasets::lineage::Registry;
use datasets::transfer::TransferOutcome;
use datasets::{ProveResult, ProveStatus};
use serde::Serialize;

use crate::figures::Run;

/// Solved out of a total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Solved {
    /// Problems some attempt proved.
    pub solved: u32,
    /// Problems.
    pub total: u32,
}

impl Solved {
    /// `3/4 (75.0 %)`.
    pub fn describe(&self) -> String {
        if self.total == 0 {
            return "0/0".to_owned();
        }
        format!(
            "{}/{} ({:.1} %)",
            self.solved,
            self.total,
            100.0 * f64::from(self.solved) / f64::from(self.total)
        )
    }
}

/// One run's figures on its lineage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageFigures {
    /// The run's label.
    pub run: String,
    /// The registry id its rows name.
    pub lineage: String,
    /// The Lean toolchain the lineage targets (from the registry; `unknown` for a lineage the
    /// registry does not hold).
    pub toolchain: String,
    /// Every problem of the run.
    pub all: Solved,
    /// The problems its audit flagged as degenerate left out.
    pub unflagged: Solved,
    /// Only the problems whose statement hash is equal in every lineage compared.
    pub intersection: Solved,
    /// The problems flagged `auto_bound`, `vacuous`, `trivial` or `does_not_elaborate`, sorted
    /// (left out of `unflagged`, counted in `all`).
    pub flagged: Vec<String>,
}

/// Proofs of one lineage re-checked against another's statements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferCell {
    /// Where the proofs were found.
    pub from: String,
    /// Whose statements they were checked against.
    pub to: String,
    /// Proofs re-checked.
    pub proofs: u32,
    /// That check there.
    pub transfers: u32,
    /// That Lean refuses there.
    pub does_not: u32,
    /// Whose check failed (no verdict).
    pub errors: u32,
    /// Of `proofs`, those whose two statements differ (by hash).
    pub statement_differs: u32,
    /// Of `transfers`, those whose statements differ: results that carry over although the
    /// theorem is worded differently.
    pub transfers_although_different: u32,
}

/// The lineage section of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageReport {
    /// One entry per run that names a lineage, in the order given.
    pub runs: Vec<LineageFigures>,
    /// How many problems the compared lineages state identically (by statement hash).
    pub intersection_size: u32,
    /// The transfer matrix, by (from, to).
    pub transfers: Vec<TransferCell>,
}

/// The lineage a run's rows name (the most frequent, ties to the first in order).
pub fn run_lineage(run: &Run) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &run.results {
        if let Some(lineage) = &row.lineage {
            *counts.entry(lineage).or_default() += 1;
        }
    }
    counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(lineage, _)| (*lineage).to_owned())
}

fn case_fold(lineage: &str) -> bool {
    Registry::builtin()
        .get(lineage)
        .is_ok_and(|l| l.names.case_fold)
}

/// A run's problems: key → (statement hash, proved by some attempt).
fn problems(run: &Run, fold: bool) -> BTreeMap<String, (Option<String>, bool)> {
    let mut problems: BTreeMap<String, (Option<String>, bool)> = BTreeMap::new();
    for row in &run.results {
        let entry = problems
            .entry(problem_key(row, fold))
            .or_insert((row.statement_hash.clone(), false));
        entry.1 |= row.status == ProveStatus::Proved;
    }
    problems
}

fn problem_key(row: &ProveResult, fold: bool) -> String {
    let id = row.problem_id.as_deref().unwrap_or(&row.name);
    if fold {
        id.to_lowercase()
    } else {
        id.to_owned()
    }
}

fn degenerate(flag: FlagKind) -> bool {
    flag != FlagKind::DiffersFrom
}

/// The lineage section of `runs`, when any of them names a lineage.
pub fn lineage_report(runs: &[Run]) -> Option<LineageReport> {
    let named: Vec<(&Run, String)> = runs
        .iter()
        .filter_map(|run| run_lineage(run).map(|lineage| (run, lineage)))
        .collect();
    if named.is_empty() {
        return None;
    }
    // Problem ids are compared without case when any compared lineage says so (miniF2F ports
    // differ in the case of one name).
    let fold = named.iter().any(|(_, lineage)| case_fold(lineage));
    let per_run: Vec<BTreeMap<String, (Option<String>, bool)>> =
        named.iter().map(|(run, _)| problems(run, fold)).collect();
    let intersection: BTreeSet<String> = per_run[0]
        .iter()
        .filter(|(key, (hash, _))| {
            hash.is_some()
                && per_run[1..]
                    .iter()
                    .all(|other| other.get(*key).is_some_and(|(h, _)| h == hash))
        })
        .map(|(key, _)| key.clone())
        .collect();
    let figures = named
        .iter()
        .zip(&per_run)
        .map(|((run, lineage), problems)| {
            let flagged: BTreeSet<String> = run
                .flags
                .iter()
                .filter(|row| row.lineage.as_deref() == Some(lineage.as_str()))
                .filter(|row| row.flags.iter().any(|f| degenerate(f.flag)))
                .map(|row| {
                    if fold {
                        row.problem_id.to_lowercase()
                    } else {
                        row.problem_id.clone()
                    }
                })
                .filter(|key| problems.contains_key(key))
                .collect();
            let count = |keep: &dyn Fn(&str) -> bool| {
                let mut solved = Solved::default();
                for (key, (_, proved)) in problems {
                    if keep(key) {
                        solved.total += 1;
                        solved.solved += u32::from(*proved);
                    }
                }
                solved
            };
            LineageFigures {
                run: run.label.clone(),
                lineage: lineage.clone(),
                toolchain: Registry::builtin()
                    .get(lineage)
                    .map_or_else(|_| "unknown".to_owned(), |l| l.toolchain.clone()),
                all: count(&|_| true),
                unflagged: count(&|key| !flagged.contains(key)),
                intersection: count(&|key| intersection.contains(key)),
                flagged: flagged.into_iter().collect(),
            }
        })
        .collect();
    let mut cells: BTreeMap<(String, String), TransferCell> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for run in runs {
        for row in &run.transfers {
            // The same transfer file given with several runs counts once.
            if !seen.insert((
                row.from_lineage.clone(),
                row.to_lineage.clone(),
                row.problem_id.clone(),
            )) {
                continue;
            }
            let cell = cells
                .entry((row.from_lineage.clone(), row.to_lineage.clone()))
                .or_insert_with(|| TransferCell {
                    from: row.from_lineage.clone(),
                    to: row.to_lineage.clone(),
                    ..TransferCell::default()
                });
            cell.proofs += 1;
            cell.statement_differs += u32::from(row.statement_differs);
            match row.transfer {
                TransferOutcome::Transfers => {
                    cell.transfers += 1;
                    cell.transfers_although_different += u32::from(row.statement_differs);
                }
                TransferOutcome::DoesNot => cell.does_not += 1,
                TransferOutcome::Error => cell.errors += 1,
            }
        }
    }
    Some(LineageReport {
        runs: figures,
        intersection_size: intersection.len() as u32,
        transfers: cells.into_values().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::audit::{AuditRow, FLAGS_SCHEMA_VERSION, Flag};
    use datasets::transfer::{TRANSFER_SCHEMA_VERSION, TransferRow};

    /// A result row (read from JSON: the report never reads the clock).
    fn result(name: &str, proved: bool) -> ProveResult {
        serde_json::from_value(serde_json::json!({
            "name": name, "status": if proved { "proved" } else { "failed" },
            "expansions": 1, "lean_calls": 1, "candidates_rejected": 0, "seconds": 0.0,
        }))
        .unwrap()
    }

    fn row(lineage: &str, name: &str, hash: &str, proved: bool) -> ProveResult {
        ProveResult {
            lineage: Some(lineage.into()),
            problem_id: Some(name.into()),
            statement_hash: Some(hash.into()),
            ..result(name, proved)
        }
    }

    fn flag(lineage: &str, name: &str, kind: FlagKind) -> AuditRow {
        AuditRow {
            schema_version: FLAGS_SCHEMA_VERSION,
            name: name.into(),
            lineage: Some(lineage.into()),
            problem_id: name.into(),
            statement_hash: String::new(),
            budget_expansions: 8,
            flags: vec![Flag {
                flag: kind,
                evidence: String::new(),
            }],
            incomplete: false,
        }
    }

    fn transfer(from: &str, to: &str, problem: &str, differs: bool, ok: bool) -> TransferRow {
        TransferRow {
            schema_version: TRANSFER_SCHEMA_VERSION,
            from_lineage: from.into(),
            to_lineage: to.into(),
            problem_id: problem.into(),
            name: problem.into(),
            statement_differs: differs,
            transfer: if ok {
                TransferOutcome::Transfers
            } else {
                TransferOutcome::DoesNot
            },
            detail: String::new(),
        }
    }

    /// A constructed pair: p and s stated alike, q and r differently; A proves p, q, r; B
    /// proves p, q; A's audit flags r vacuous and s differs_from B.
    #[test]
    fn a_constructed_pair_gives_all_unflagged_intersection_and_transfer_figures() {
        let a = Run {
            label: "a.jsonl".into(),
            results: vec![
                row("x/a@1", "p", "h1", true),
                row("x/a@1", "q", "h2", true),
                row("x/a@1", "r", "h3", true),
                row("x/a@1", "s", "h4", false),
                row("x/a@1", "s", "h4", false),
            ],
            flags: vec![
                flag("x/a@1", "r", FlagKind::Vacuous),
                flag("x/a@1", "s", FlagKind::DiffersFrom),
                flag("x/b@2", "p", FlagKind::Trivial),
            ],
            transfers: vec![
                transfer("x/a@1", "x/b@2", "p", false, true),
                transfer("x/a@1", "x/b@2", "q", true, true),
                transfer("x/a@1", "x/b@2", "r", true, false),
                transfer("x/b@2", "x/a@1", "p", false, true),
                transfer("x/b@2", "x/a@1", "q", true, false),
            ],
            ..Run::default()
        };
        let b = Run {
            label: "b.jsonl".into(),
            results: vec![
                row("x/b@2", "p", "h1", true),
                row("x/b@2", "q", "h2'", true),
                row("x/b@2", "r", "h3'", false),
                row("x/b@2", "s", "h4", false),
            ],
            transfers: a.transfers.clone(),
            ..Run::default()
        };
        let report = lineage_report(&[a, b]).unwrap();
        assert_eq!(report.intersection_size, 2, "p and s");
        let [fa, fb] = [&report.runs[0], &report.runs[1]];
        assert_eq!(
            (fa.lineage.as_str(), fb.lineage.as_str()),
            ("x/a@1", "x/b@2")
        );
        assert_eq!(
            fa.all,
            Solved {
                solved: 3,
                total: 4
            }
        );
        assert_eq!(
            fa.unflagged,
            Solved {
                solved: 2,
                total: 3
            },
            "r left out"
        );
        assert_eq!(fa.flagged, ["r"], "differs_from is no degeneracy");
        assert_eq!(
            fa.intersection,
            Solved {
                solved: 1,
                total: 2
            }
        );
        assert_eq!(
            fb.all,
            Solved {
                solved: 2,
                total: 4
            }
        );
        assert_eq!(fb.unflagged, fb.all, "B's flag rows are not in its run");
        assert_eq!(
            fb.intersection,
            Solved {
                solved: 1,
                total: 2
            }
        );
        assert_eq!(fa.toolchain, "unknown");
        assert_eq!(
            report.transfers,
            [
                TransferCell {
                    from: "x/a@1".into(),
                    to: "x/b@2".into(),
                    proofs: 3,
                    transfers: 2,
                    does_not: 1,
                    errors: 0,
                    statement_differs: 2,
                    transfers_although_different: 1,
                },
                TransferCell {
                    from: "x/b@2".into(),
                    to: "x/a@1".into(),
                    proofs: 2,
                    transfers: 1,
                    does_not: 1,
                    errors: 0,
                    statement_differs: 1,
                    transfers_although_different: 0,
                },
            ],
            "a transfer file given with both runs counts once"
        );
        assert_eq!(fa.all.describe(), "3/4 (75.0 %)");
    }

    #[test]
    fn runs_without_lineages_have_no_lineage_section() {
        let run = Run {
            label: "old.jsonl".into(),
            results: vec![result("p", true)],
            ..Run::default()
        };
        assert!(lineage_report(&[run]).is_none());
    }
}
