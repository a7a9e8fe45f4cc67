//! `prover eval`'s rules: what a results file already decides (the resume keys: a name and an attempt), which `error` rows are searched again, the attempts left to search, and the prover that searches attempts.

use std::collections::HashSet;

use ::datasets::{ProveResult, ProveStatus, Theorem};

use crate::engine::{ProveConfig, VerdictReuse};

/// The most attempts at a theorem an eval takes.
pub const MAX_ATTEMPTS: u32 = 1024;

/// One search to run: a theorem and the number of the attempt at it.
pub type Attempt = (Theorem, u32);

/// What an eval's output already holds for a dataset, and what is left to search.
#[derive(Debug)]
pub struct Resume {
    /// Whether the output held any row (a manifest's configuration must then match).
    pub had_rows: bool,
    /// The (name, attempt) keys whose standing row ended `error` (no verdict): searched
    /// again, the new row replacing the old one.
    pub errored: HashSet<(String, u32)>,
    /// The rows of the dataset's theorems that stand and decide an attempt 0..K−1 (no `error`
    /// row): the summary counts them with this run's.
    pub decided: Vec<ProveResult>,
    /// The rows of attempts K and later, left out of the summary.
    pub beyond_k: usize,
    /// The attempts left to search, in dataset order, each theorem's attempts in order.
    pub searches: Vec<Attempt>,
    /// The attempts the dataset asks for: theorems × K.
    pub total: usize,
}

impl Resume {
    /// Plans an eval of `attempts` attempts at each of `theorems` into an output holding
    /// `rows`. A row decides an attempt at a theorem (rows without a number are attempt 0),
    /// unless it ended `error`: an outage or a crash is no verdict, so that attempt is
    /// searched again. An `error` row gives way to its rerun's (`standing_results`).
    pub fn plan(theorems: &[Theorem], attempts: u32, rows: Vec<ProveResult>) -> Resume {
        let key = |r: &ProveResult| (r.name.clone(), r.attempt.unwrap_or(0));
        let had_rows = !rows.is_empty();
        let standing = ::datasets::standing_results(rows);
        let errored: HashSet<(String, u32)> = standing
            .iter()
            .filter(|r| r.status == ProveStatus::Error)
            .map(key)
            .collect();
        // pass@K counts attempts 0..K−1 only; rows of later attempts stay in the file,
        // uncounted.
        let (first, beyond_k) = ::datasets::first_attempts(standing, attempts);
        let first: Vec<ProveResult> = first
            .into_iter()
            .filter(|r| r.status != ProveStatus::Error)
            .collect();
        let done: HashSet<(String, u32)> = first.iter().map(key).collect();
        let names: HashSet<&str> = theorems.iter().map(|t| t.name.as_str()).collect();
        let searches: Vec<Attempt> = theorems
            .iter()
            .flat_map(|t| (0..attempts).map(move |a| (t.clone(), a)))
            .filter(|(t, a)| !done.contains(&(t.name.clone(), *a)))
            .collect();
        let decided = first
            .into_iter()
            .filter(|r| names.contains(r.name.as_str()))
            .collect();
        Resume {
            had_rows,
            errored,
            decided,
            beyond_k,
            searches,
            total: theorems.len() * attempts as usize,
        }
    }

    /// Marks `result` as taking the place of the `error` row of its attempt, if there is one,
    /// for every reader of the file.
    pub fn mark(&self, result: &mut ProveResult) {
        result.replaces_error = self
            .errored
            .contains(&(result.name.clone(), result.attempt.unwrap_or(0)));
    }
}

/// The prove settings of the attempts: for one attempt, `config` itself; for several, one that
/// never reports a verdict the cache recorded, so every attempt is a search of its own (Lean's
/// answers are still shared).
pub fn attempt_config(config: &ProveConfig, attempts: u32) -> Option<ProveConfig> {
    (attempts > 1).then(|| ProveConfig {
        reuse_verdicts: VerdictReuse::Never,
        ..config.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theorem(name: &str) -> Theorem {
        Theorem {
            name: name.to_owned(),
            header: String::new(),
            formal_statement: format!("theorem {name} : True := by sorry"),
        }
    }

    fn row(name: &str, attempt: Option<u32>, status: ProveStatus) -> ProveResult {
        ProveResult {
            attempt,
            ..ProveResult::unsearched(name, status, 0, std::time::Instant::now())
        }
    }

    #[test]
    fn an_error_row_is_searched_again_and_later_attempts_are_not_counted() {
        let theorems = [theorem("a"), theorem("b")];
        let rows = vec![
            row("a", Some(0), ProveStatus::Proved),
            row("a", Some(1), ProveStatus::Error),
            row("b", Some(5), ProveStatus::Failed),
            row("gone", Some(0), ProveStatus::Failed),
        ];
        let resume = Resume::plan(&theorems, 2, rows);
        assert!(resume.had_rows);
        let left: Vec<(&str, u32)> = resume
            .searches
            .iter()
            .map(|(t, a)| (t.name.as_str(), *a))
            .collect();
        assert_eq!(left, [("a", 1), ("b", 0), ("b", 1)]);
        assert_eq!(resume.beyond_k, 1);
        assert_eq!(resume.total, 4);
        let decided: Vec<&str> = resume.decided.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            decided,
            ["a"],
            "rows of names outside the dataset are not counted"
        );
        let mut rerun = row("a", Some(1), ProveStatus::Failed);
        resume.mark(&mut rerun);
        assert!(rerun.replaces_error);
        let mut other = row("b", Some(0), ProveStatus::Failed);
        resume.mark(&mut other);
        assert!(!other.replaces_error);
    }
}
