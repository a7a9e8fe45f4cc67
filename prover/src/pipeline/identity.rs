//! Statement identity in results: each row of an eval is stamped with the lineage, the
//! canonical problem id and the statement hash of the dataset row it was computed for, and a
//! results file whose rows were computed for other statements than the dataset's is refused on
//! resume, naming the rows.
//!
//! A results file is keyed by (lineage, problem_id, statement_hash, attempt): within one
//! dataset a name determines the first three, so the resume plan keys by (name, attempt) once
//! this check has passed. Rows written before identities were recorded carry none and are
//! accepted as they are (nothing to compare).

use std::collections::{BTreeMap, BTreeSet};

use ::datasets::lineage::{StatementIdentity, dataset_identities};
use ::datasets::{ProveResult, Theorem};

/// The statement identity of each theorem of a dataset, by name.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    by_name: BTreeMap<String, StatementIdentity>,
}

/// A results file computed for other statements than the dataset's.
#[derive(Debug, thiserror::Error)]
#[error(
    "{count} row(s) of the results file were computed for other statements than the dataset's: {rows}; \
     resuming would mix figures of different theorems (use a new --out, or --fresh to redo)"
)]
pub struct IdentityMismatch {
    /// How many rows differ.
    pub count: usize,
    /// The first few, each as `name (attempt N): what differs`.
    pub rows: String,
}

impl Identities {
    /// The identities of `theorems`, read from the dataset's bytes (rows written by `prover
    /// datasets fetch` name their lineage and problem id; the hashes are computed here).
    pub fn of_dataset(bytes: &[u8], theorems: &[Theorem]) -> Identities {
        let text = String::from_utf8_lossy(bytes);
        Identities {
            by_name: dataset_identities(&text, theorems),
        }
    }

    /// The lineages the dataset's rows name.
    pub fn lineages(&self) -> BTreeSet<String> {
        self.by_name
            .values()
            .filter_map(|i| i.lineage.clone())
            .collect()
    }

    /// Name → statement hash.
    pub fn statement_hashes(&self) -> BTreeMap<String, String> {
        self.by_name
            .iter()
            .map(|(name, i)| (name.clone(), i.statement_hash.clone()))
            .collect()
    }

    /// Writes the identity of `result`'s theorem into it.
    pub fn stamp(&self, result: &mut ProveResult) {
        if let Some(identity) = self.by_name.get(&result.name) {
            result.lineage = identity.lineage.clone();
            result.problem_id = Some(identity.problem_id.clone());
            result.statement_hash = Some(identity.statement_hash.clone());
        }
    }

    /// Refuses `rows` (a results file to resume into) when a row of a theorem of the dataset
    /// was computed for another statement, lineage or problem: every such row is counted and
    /// the first ten are named. Rows of names the dataset does not hold, and rows without
    /// identities (older files), are not compared.
    pub fn check_resume(&self, rows: &[ProveResult]) -> Result<(), IdentityMismatch> {
        let mut differing = Vec::new();
        for row in rows {
            let Some(identity) = self.by_name.get(&row.name) else {
                continue;
            };
            let mut what = Vec::new();
            if let Some(hash) = &row.statement_hash
                && *hash != identity.statement_hash
            {
                what.push(format!(
                    "statement hash {} in the file, {} in the dataset",
                    short(hash),
                    short(&identity.statement_hash)
                ));
            }
            if let Some(lineage) = &row.lineage
                && Some(lineage) != identity.lineage.as_ref()
            {
                what.push(format!(
                    "lineage {lineage} in the file, {} in the dataset",
                    identity.lineage.as_deref().unwrap_or("none")
                ));
            }
            if let Some(problem) = &row.problem_id
                && *problem != identity.problem_id
            {
                what.push(format!(
                    "problem {problem} in the file, {} in the dataset",
                    identity.problem_id
                ));
            }
            if !what.is_empty() {
                differing.push(format!(
                    "{} (attempt {}): {}",
                    row.name,
                    row.attempt.unwrap_or(0),
                    what.join(", ")
                ));
            }
        }
        if differing.is_empty() {
            return Ok(());
        }
        let count = differing.len();
        let mut rows = differing
            .into_iter()
            .take(10)
            .collect::<Vec<_>>()
            .join("; ");
        if count > 10 {
            rows.push_str(&format!("; and {} more", count - 10));
        }
        Err(IdentityMismatch { count, rows })
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::datasets::ProveStatus;

    fn dataset() -> (Vec<u8>, Vec<Theorem>) {
        let text = concat!(
            r#"{"name":"a","header":"","formal_statement":"theorem a (x : ℕ) : x = x := by","lineage":"minif2f/yangky11@5746b7d","problem_id":"a"}"#,
            "\n",
            r#"{"name":"b","header":"","formal_statement":"theorem b : 1 = 1 := by","lineage":"minif2f/yangky11@5746b7d","problem_id":"b"}"#,
            "\n"
        );
        let theorems = text
            .lines()
            .enumerate()
            .map(|(i, l)| ::datasets::parse_theorem(i + 1, l).unwrap())
            .collect();
        (text.as_bytes().to_vec(), theorems)
    }

    fn row(name: &str) -> ProveResult {
        ProveResult::unsearched(name, ProveStatus::Failed, 0, std::time::Instant::now())
    }

    #[test]
    fn results_are_stamped_and_a_resume_of_other_statements_is_refused_naming_the_rows() {
        let (bytes, theorems) = dataset();
        let identities = Identities::of_dataset(&bytes, &theorems);
        assert_eq!(
            identities.lineages().into_iter().collect::<Vec<_>>(),
            ["minif2f/yangky11@5746b7d"]
        );
        let mut a = row("a");
        identities.stamp(&mut a);
        assert_eq!(a.lineage.as_deref(), Some("minif2f/yangky11@5746b7d"));
        assert_eq!(a.problem_id.as_deref(), Some("a"));
        assert_eq!(
            a.statement_hash.as_deref(),
            Some(::datasets::lineage::statement_hash("theorem a (y : ℕ) : y = y := by").as_str()),
            "the normal form: bound names aside"
        );
        let old = row("b");
        let outside = ProveResult {
            statement_hash: Some("0".repeat(40)),
            ..row("not-in-the-dataset")
        };
        identities
            .check_resume(&[a.clone(), old, outside])
            .expect("own rows, rows without identities and rows of other names pass");
        let changed = ProveResult {
            statement_hash: Some(::datasets::lineage::statement_hash(
                "theorem b : 2 = 2 := by",
            )),
            attempt: Some(3),
            ..row("b")
        };
        let other_lineage = ProveResult {
            lineage: Some("minif2f/deepseek-v1.5@2c4ba91".into()),
            ..a
        };
        let err = identities
            .check_resume(&[changed, other_lineage])
            .unwrap_err();
        assert_eq!(err.count, 2);
        let text = err.to_string();
        assert!(text.contains("b (attempt 3): statement hash"), "{text}");
        assert!(
            text.contains("a (attempt 0): lineage minif2f/deepseek-v1.5@2c4ba91 in the file"),
            "{text}"
        );
    }
}
