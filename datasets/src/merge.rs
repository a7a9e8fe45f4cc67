//! Merging the results files of a sharded `eval` into one: a pure function of the files'
//! bytes, so merging the same files, given in any order, writes the same bytes.
//!
//! The rule:
//! - each file is read as its own append log ([`crate::read_prove_results`], then
//!   [`crate::standing_results`]: an `error` row gives way to its rerun's `replaces_error`
//!   row); a line that does not read is reported with its file and line, and the rest kept;
//! - a (theorem, attempt) that one file holds is kept as that file holds it (several rows
//!   without an attempt number, as joined runs wrote them, stay several attempts);
//! - a (theorem, attempt) that several files hold is a duplicate (shards overlapped, or a
//!   shard ran twice, or a merged file is merged again with a shard it holds): it is reported,
//!   and the rows of one file are kept, those of the first file in name order whose rows hold
//!   a verdict (an `error` gives way, as in [`crate::standing_results`]), else of the first
//!   file; when two files hold different verdicts for it (`proved` in one, `failed` in the
//!   other) it is a [`Conflict`], which the caller refuses, naming the theorem;
//! - rows keep their statement identity (lineage, problem id, statement hash) as written, and
//!   a (theorem, attempt) whose rows name different statements (two files computed for
//!   different versions of one problem) is a [`Conflict`] too, whatever the verdicts: rows of
//!   different statements are never mixed. Rows without an identity (older files) are not
//!   compared;
//! - the rows are written sorted by (name, attempt), a row without a number being attempt 0,
//!   one JSON object a line exactly as [`crate::AppendLog`] writes them.
//!
//! [`coverage`] says which theorems of a dataset no merged row answers.

use std::collections::{BTreeMap, BTreeSet};

use crate::jsonl::RowError;
use crate::results::{ProveResult, ProveStatus, read_prove_results, standing_results};

/// A line of an input file that did not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {error}")]
pub struct FileRowError {
    /// The file, as the caller named it.
    pub file: String,
    /// The line and what is wrong with it.
    pub error: RowError,
}

/// A (theorem, attempt) answered by more than one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The theorem.
    pub name: String,
    /// The attempt (0 for a row without a number).
    pub attempt: u32,
    /// Every file that answered it, in name order.
    pub files: Vec<String>,
    /// The file whose rows were kept.
    pub kept: String,
}

/// A (theorem, attempt) to which two files give different verdicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The theorem.
    pub name: String,
    /// The attempt (0 for a row without a number).
    pub attempt: u32,
    /// Each file that gave a verdict (not `error`), in name order, with its verdict.
    pub verdicts: Vec<(String, ProveStatus)>,
    /// When the files' rows name different statements: each file's, in name order, as
    /// `lineage/problem statement HASH` (empty when the statements agree).
    pub statements: Vec<(String, String)>,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "theorem `{}`", self.name)?;
        if self.attempt > 0 {
            write!(f, " (attempt {})", self.attempt)?;
        }
        if !self.statements.is_empty() {
            write!(f, " was computed for different statements:")?;
            for (index, (file, statement)) in self.statements.iter().enumerate() {
                let sep = if index == 0 { " " } else { ", " };
                write!(f, "{sep}{statement} in {file}")?;
            }
            return Ok(());
        }
        write!(f, " has different verdicts:")?;
        for (index, (file, status)) in self.verdicts.iter().enumerate() {
            let sep = if index == 0 { " " } else { ", " };
            write!(f, "{sep}{} in {file}", verdict_word(*status))?;
        }
        Ok(())
    }
}

/// A status as results files spell it.
fn verdict_word(status: ProveStatus) -> &'static str {
    match status {
        ProveStatus::Proved => "proved",
        ProveStatus::Failed => "failed",
        ProveStatus::Error => "error",
    }
}

/// A row's statement identity as a conflict names it (`None` for rows without one).
fn statement_of(row: &ProveResult) -> Option<String> {
    let hash = row.statement_hash.as_deref()?;
    let problem = match (&row.lineage, &row.problem_id) {
        (Some(lineage), Some(problem)) => format!("{lineage}/{problem} "),
        (None, Some(problem)) => format!("{problem} "),
        _ => String::new(),
    };
    Some(format!(
        "{problem}statement {}",
        &hash[..hash.len().min(12)]
    ))
}

/// The merged rows and what was found on the way.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Merged {
    /// The standing rows of every file, sorted by (name, attempt).
    pub rows: Vec<ProveResult>,
    /// Lines that did not read, by file (in name order) and line.
    pub row_errors: Vec<FileRowError>,
    /// (theorem, attempt)s that several files answered, sorted by (name, attempt).
    pub duplicates: Vec<Duplicate>,
    /// (theorem, attempt)s that files gave different verdicts, sorted by (name, attempt).
    pub conflicts: Vec<Conflict>,
}

impl Merged {
    /// The merged file's bytes: one row a line, as [`crate::AppendLog`] writes rows.
    pub fn to_jsonl(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = Vec::new();
        for row in &self.rows {
            bytes.extend(serde_json::to_vec(row)?);
            bytes.push(b'\n');
        }
        Ok(bytes)
    }
}

/// Which theorems of a dataset the merged rows answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Theorems of the dataset that no file answered, sorted: the work a rerun of the
    /// missing shard (or a shard that died) still owes.
    pub missing: Vec<String>,
    /// Names answered that the dataset does not hold, sorted (a merge of another dataset's
    /// results, or a renamed theorem).
    pub unknown: Vec<String>,
}

/// Merges results files, each given as (its name, its bytes). The result does not depend on
/// the order of `files`; two files of the same name are taken in the order given.
pub fn merge_results<N: AsRef<str>>(files: &[(N, &[u8])]) -> Merged {
    let mut files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, bytes)| (name.as_ref(), *bytes))
        .collect();
    files.sort_by(|a, b| a.0.cmp(b.0));

    let mut merged = Merged::default();
    // (name, attempt) → per file index, that file's rows for it, in file order.
    let mut groups: BTreeMap<(String, u32), BTreeMap<usize, Vec<ProveResult>>> = BTreeMap::new();
    for (index, (file, bytes)) in files.iter().enumerate() {
        let (rows, errors) = read_prove_results(bytes);
        merged
            .row_errors
            .extend(errors.into_iter().map(|error| FileRowError {
                file: (*file).to_owned(),
                error,
            }));
        for row in standing_results(rows) {
            let key = (row.name.clone(), row.attempt.unwrap_or(0));
            groups
                .entry(key)
                .or_default()
                .entry(index)
                .or_default()
                .push(row);
        }
    }

    for ((name, attempt), mut by_file) in groups {
        let kept_index = by_file
            .iter()
            .find(|(_, rows)| rows.iter().any(|row| row.status != ProveStatus::Error))
            .or_else(|| by_file.iter().next())
            .map(|(index, _)| *index);
        let Some(kept_index) = kept_index else {
            continue;
        };
        // Each file's verdicts for it (several only in joined files, where rows without an
        // attempt number are several attempts); two files that both decided it must agree.
        let per_file: Vec<(usize, Vec<ProveStatus>)> = by_file
            .iter()
            .map(|(index, rows)| {
                let mut statuses: Vec<ProveStatus> = rows
                    .iter()
                    .map(|row| row.status)
                    .filter(|status| *status != ProveStatus::Error)
                    .collect();
                statuses.sort_by_key(|status| verdict_word(*status));
                (*index, statuses)
            })
            .filter(|(_, statuses)| !statuses.is_empty())
            .collect();
        // Each file's statement identities for it; rows of two statements never mix.
        let statements: Vec<(usize, String)> = by_file
            .iter()
            .flat_map(|(index, rows)| {
                let named: BTreeSet<String> = rows.iter().filter_map(statement_of).collect();
                named.into_iter().map(|statement| (*index, statement))
            })
            .collect();
        let different_statements = statements
            .iter()
            .any(|(_, statement)| *statement != statements[0].1);
        if different_statements
            || per_file
                .iter()
                .any(|(_, statuses)| *statuses != per_file[0].1)
        {
            merged.conflicts.push(Conflict {
                name: name.clone(),
                attempt,
                statements: match different_statements {
                    true => statements
                        .iter()
                        .map(|(index, statement)| (files[*index].0.to_owned(), statement.clone()))
                        .collect(),
                    false => Vec::new(),
                },
                verdicts: per_file
                    .iter()
                    .flat_map(|(index, statuses)| {
                        statuses
                            .iter()
                            .map(|status| (files[*index].0.to_owned(), *status))
                    })
                    .collect(),
            });
        }
        if by_file.len() > 1 {
            merged.duplicates.push(Duplicate {
                name: name.clone(),
                attempt,
                files: by_file.keys().map(|i| files[*i].0.to_owned()).collect(),
                kept: files[kept_index].0.to_owned(),
            });
        }
        merged
            .rows
            .extend(by_file.remove(&kept_index).unwrap_or_default());
    }
    merged
}

/// The theorems of `dataset` that no row of `rows` answers, and the names of `rows` that
/// `dataset` does not hold.
pub fn coverage<'a>(dataset: impl IntoIterator<Item = &'a str>, rows: &[ProveResult]) -> Coverage {
    let dataset: BTreeSet<&str> = dataset.into_iter().collect();
    let answered: BTreeSet<&str> = rows.iter().map(|row| row.name.as_str()).collect();
    Coverage {
        missing: dataset
            .difference(&answered)
            .map(|name| (*name).to_owned())
            .collect(),
        unknown: answered
            .difference(&dataset)
            .map(|name| (*name).to_owned())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, status: ProveStatus, attempt: Option<u32>, replaces: bool) -> ProveResult {
        ProveResult {
            attempt,
            replaces_error: replaces,
            seconds: 1.5,
            ..ProveResult::unsearched(name, status, 3, std::time::Instant::now())
        }
    }

    fn file(rows: &[ProveResult]) -> Vec<u8> {
        rows.iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect::<String>()
            .into_bytes()
    }

    fn summary(merged: &Merged) -> Vec<(String, ProveStatus, Option<u32>)> {
        merged
            .rows
            .iter()
            .map(|r| (r.name.clone(), r.status, r.attempt))
            .collect()
    }

    #[test]
    fn rows_are_sorted_by_name_and_attempt_and_written_as_the_log_writes_them() {
        let shard0 = file(&[
            row("zeta", ProveStatus::Proved, Some(1), false),
            row("alpha", ProveStatus::Failed, Some(0), false),
            row("zeta", ProveStatus::Failed, Some(0), false),
        ]);
        let shard1 = file(&[row("mid", ProveStatus::Proved, None, false)]);
        let merged = merge_results(&[("s0.jsonl", &shard0[..]), ("s1.jsonl", &shard1[..])]);
        assert_eq!(
            summary(&merged),
            vec![
                ("alpha".to_owned(), ProveStatus::Failed, Some(0)),
                ("mid".to_owned(), ProveStatus::Proved, None),
                ("zeta".to_owned(), ProveStatus::Failed, Some(0)),
                ("zeta".to_owned(), ProveStatus::Proved, Some(1)),
            ]
        );
        assert!(merged.duplicates.is_empty() && merged.row_errors.is_empty());
        let bytes = merged.to_jsonl().unwrap();
        let (reread, errors) = read_prove_results(&bytes);
        assert!(errors.is_empty());
        assert_eq!(reread, merged.rows);
        // One shard's merge is its own rows, byte for byte, once sorted.
        let alone = merge_results(&[("s1.jsonl", &shard1[..])]);
        assert_eq!(alone.to_jsonl().unwrap(), shard1);
    }

    #[test]
    fn the_merge_does_not_depend_on_the_order_of_the_files() {
        let a = file(&[
            row("t", ProveStatus::Error, Some(0), false),
            row("u", ProveStatus::Proved, Some(0), false),
        ]);
        let b = file(&[
            row("t", ProveStatus::Failed, Some(0), false),
            row("v", ProveStatus::Failed, Some(0), false),
        ]);
        let c = file(&[row("t", ProveStatus::Proved, Some(0), false)]);
        let forward = merge_results(&[("a", &a[..]), ("b", &b[..]), ("c", &c[..])]);
        let backward = merge_results(&[("c", &c[..]), ("b", &b[..]), ("a", &a[..])]);
        assert_eq!(forward, backward);
        assert_eq!(
            forward.to_jsonl().unwrap(),
            backward.to_jsonl().unwrap(),
            "same bytes"
        );
    }

    #[test]
    fn an_error_gives_way_within_a_file_and_across_files_and_duplicates_are_reported() {
        // Within a file: the rerun's replaces_error row stands instead of the error.
        let shard0 = file(&[
            row("a", ProveStatus::Error, Some(0), false),
            row("b", ProveStatus::Error, Some(0), false),
            row("a", ProveStatus::Proved, Some(0), true),
        ]);
        // Across files: b's error in shard 0 gives way to shard 1's verdict; c is answered
        // twice with different verdicts: the first file's stands and the conflict is named.
        let shard1 = file(&[
            row("b", ProveStatus::Failed, Some(0), false),
            row("c", ProveStatus::Proved, Some(0), false),
        ]);
        let shard2 = file(&[row("c", ProveStatus::Failed, Some(0), false)]);
        let merged = merge_results(&[
            ("shard-0.jsonl", &shard0[..]),
            ("shard-1.jsonl", &shard1[..]),
            ("shard-2.jsonl", &shard2[..]),
        ]);
        assert_eq!(
            summary(&merged),
            vec![
                ("a".to_owned(), ProveStatus::Proved, Some(0)),
                ("b".to_owned(), ProveStatus::Failed, Some(0)),
                ("c".to_owned(), ProveStatus::Proved, Some(0)),
            ]
        );
        assert_eq!(
            merged.duplicates,
            vec![
                Duplicate {
                    name: "b".to_owned(),
                    attempt: 0,
                    files: vec!["shard-0.jsonl".to_owned(), "shard-1.jsonl".to_owned()],
                    kept: "shard-1.jsonl".to_owned(),
                },
                Duplicate {
                    name: "c".to_owned(),
                    attempt: 0,
                    files: vec!["shard-1.jsonl".to_owned(), "shard-2.jsonl".to_owned()],
                    kept: "shard-1.jsonl".to_owned(),
                },
            ]
        );
        assert_eq!(
            merged.conflicts,
            vec![Conflict {
                name: "c".to_owned(),
                attempt: 0,
                verdicts: vec![
                    ("shard-1.jsonl".to_owned(), ProveStatus::Proved),
                    ("shard-2.jsonl".to_owned(), ProveStatus::Failed),
                ],
                statements: Vec::new(),
            }]
        );
        assert_eq!(
            merged.conflicts[0].to_string(),
            "theorem `c` has different verdicts: proved in shard-1.jsonl, failed in shard-2.jsonl"
        );
        // The same verdict twice (a merged file merged again with a shard it holds) is a
        // duplicate, not a conflict, and changes nothing.
        let again = merge_results(&[
            ("merged", &merged.to_jsonl().unwrap()[..]),
            ("s1", &shard1[..]),
        ]);
        assert!(again.conflicts.iter().all(|c| c.name == "c"));
        // Only errors everywhere: the first file's error stands.
        let e1 = file(&[row("d", ProveStatus::Error, None, false)]);
        let e2 = file(&[row("d", ProveStatus::Error, None, false)]);
        let merged = merge_results(&[("y", &e2[..]), ("x", &e1[..])]);
        assert_eq!(merged.rows.len(), 1);
        assert_eq!(merged.duplicates[0].kept, "x");
    }

    #[test]
    fn statement_identities_are_kept_and_rows_of_different_statements_never_mix() {
        let stamped = |name: &str, status, hash: &str| ProveResult {
            lineage: Some("minif2f-v2".to_owned()),
            problem_id: Some(format!("p-{name}")),
            statement_hash: Some(hash.to_owned()),
            ..row(name, status, Some(0), false)
        };
        let shard0 = file(&[stamped("a", ProveStatus::Proved, "aaaa1111")]);
        let shard1 = file(&[
            stamped("b", ProveStatus::Failed, "bbbb2222"),
            // An older row without an identity is not compared.
            row("c", ProveStatus::Failed, Some(0), false),
        ]);
        let merged = merge_results(&[("s0", &shard0[..]), ("s1", &shard1[..])]);
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        let kept: Vec<_> = merged
            .rows
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.problem_id.as_deref(),
                    r.statement_hash.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            vec![
                ("a", Some("p-a"), Some("aaaa1111")),
                ("b", Some("p-b"), Some("bbbb2222")),
                ("c", None, None),
            ]
        );
        assert!(
            merged.rows[..2]
                .iter()
                .all(|r| r.lineage.as_deref() == Some("minif2f-v2"))
        );
        // Theorem b computed again for another statement of its problem, with the same
        // verdict: still a conflict, naming both statements; an identity-less row of b agrees.
        let other = file(&[stamped("b", ProveStatus::Failed, "cccc3333")]);
        let older = file(&[row("b", ProveStatus::Failed, Some(0), false)]);
        let merged = merge_results(&[("s1", &shard1[..]), ("x", &other[..]), ("y", &older[..])]);
        assert_eq!(merged.conflicts.len(), 1, "{:?}", merged.conflicts);
        assert_eq!(
            merged.conflicts[0].to_string(),
            "theorem `b` was computed for different statements: minif2f-v2/p-b statement \
             bbbb2222 in s1, minif2f-v2/p-b statement cccc3333 in x"
        );
        let agreeing = merge_results(&[("s1", &shard1[..]), ("y", &older[..])]);
        assert!(agreeing.conflicts.is_empty());
    }

    #[test]
    fn attempts_of_one_file_without_numbers_stay_attempts() {
        // Joined runs: two rows of one theorem in one file are two attempts (pass@k).
        let joined = file(&[
            row("b", ProveStatus::Failed, None, false),
            row("b", ProveStatus::Proved, None, false),
        ]);
        let merged = merge_results(&[("joined", &joined[..])]);
        assert_eq!(merged.rows.len(), 2);
        assert!(merged.duplicates.is_empty());
    }

    #[test]
    fn lines_that_do_not_read_are_reported_by_file_and_line_and_the_rest_kept() {
        let mut bytes = file(&[row("a", ProveStatus::Proved, Some(0), false)]);
        bytes.extend(b"{\"name\": \"torn\n");
        bytes.extend(file(&[row("b", ProveStatus::Failed, Some(0), false)]));
        let merged = merge_results(&[("shard-3.jsonl", &bytes[..])]);
        assert_eq!(merged.rows.len(), 2);
        assert_eq!(merged.row_errors.len(), 1);
        let message = merged.row_errors[0].to_string();
        assert!(message.starts_with("shard-3.jsonl: line 2:"), "{message}");
    }

    #[test]
    fn coverage_names_the_theorems_no_shard_answered() {
        let s0 = file(&[row("a", ProveStatus::Proved, Some(0), false)]);
        let s1 = file(&[
            row("c", ProveStatus::Error, Some(0), false),
            row("stray", ProveStatus::Failed, Some(0), false),
        ]);
        let merged = merge_results(&[("s0", &s0[..]), ("s1", &s1[..])]);
        let report = coverage(["d", "c", "b", "a"], &merged.rows);
        assert_eq!(
            report,
            Coverage {
                missing: vec!["b".to_owned(), "d".to_owned()],
                unknown: vec!["stray".to_owned()],
            }
        );
    }

    /// The shards of [`crate::shard::Shard`] partition a dataset, so merging one results
    /// file per shard covers it with no duplicate.
    #[test]
    fn shards_merge_back_to_the_whole_dataset() {
        use crate::shard::Shard;
        let names: Vec<String> = (0..60).map(|i| format!("mathd_algebra_{i}")).collect();
        let shards: Vec<Vec<u8>> = (0..3)
            .map(|index| {
                let shard = Shard { index, count: 3 };
                let rows: Vec<ProveResult> = shard
                    .filter(names.iter().map(String::as_str))
                    .into_iter()
                    .map(|name| row(name, ProveStatus::Failed, Some(0), false))
                    .collect();
                file(&rows)
            })
            .collect();
        let inputs: Vec<(String, &[u8])> = shards
            .iter()
            .enumerate()
            .map(|(i, bytes)| (format!("shard-{i}"), &bytes[..]))
            .collect();
        let merged = merge_results(&inputs);
        assert!(merged.duplicates.is_empty() && merged.conflicts.is_empty());
        assert_eq!(merged.rows.len(), names.len());
        let report = coverage(names.iter().map(String::as_str), &merged.rows);
        assert_eq!(report, Coverage::default());
    }
}
