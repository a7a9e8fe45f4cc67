//! The `Policy` and `CandidateFilter` traits, and how raw proposals become the tactics one expansion runs.

use super::error::PolicyError;

/// One proposed tactic with the policy's confidence in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The tactic text; the search trims surrounding whitespace before using it.
    pub tactic: String,
    /// A log-probability-like score, normally ≤ 0; higher is better. BFS-Prover uses the
    /// token-mean log-probability of the sampled tactic. NaN is treated as −∞.
    pub score: f64,
}

impl Candidate {
    /// A candidate with the given tactic text and score.
    pub fn new(tactic: impl Into<String>, score: f64) -> Self {
        Self {
            tactic: tactic.into(),
            score,
        }
    }
}

/// Proposes scored tactics for a proof state.
///
/// Contract: **a policy changes how fast a proof is found, never whether one exists under
/// exhaustive limits.** The search executes every proposed tactic of every reachable state when
/// no budget, width or filter cuts it short, so scores only decide the order. Which tactics are
/// proposed does decide provability, of course.
///
/// `S` is the environment's state type; most policies only read `state_text`.
pub trait Policy<S: ?Sized> {
    /// Proposes candidate tactics for `state`, whose canonical text is `state_text`.
    ///
    /// `width` is a hint: the search runs at most that many of the candidates (after its own
    /// filtering and deduplication), so a sampling policy may sample about that many. It may be
    /// `usize::MAX` when the search is configured without a width limit.
    ///
    /// An `Err` is counted and the state is abandoned unexpanded; the search continues elsewhere.
    fn propose(
        &mut self,
        state: &S,
        state_text: &str,
        width: usize,
    ) -> Result<Vec<Candidate>, PolicyError>;
}

/// Decides whether a proposed tactic may run at all, before the environment sees it.
///
/// This is where an untrusted-tactic guard plugs in (`sorry`, `native_decide`, …); the search
/// only counts what it drops. Closures `FnMut(&str) -> bool` are filters.
pub trait CandidateFilter {
    /// `true` to let `tactic` (already trimmed) run.
    fn allows(&mut self, tactic: &str) -> bool;
}

impl<F: FnMut(&str) -> bool> CandidateFilter for F {
    fn allows(&mut self, tactic: &str) -> bool {
        self(tactic)
    }
}

/// The filter that lets every tactic through.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl CandidateFilter for AllowAll {
    fn allows(&mut self, _tactic: &str) -> bool {
        true
    }
}

/// What happened to a policy's proposals on the way to execution.
#[derive(Debug, Default)]
pub(super) struct Prepared {
    /// The tactics to run, best first, at most `width` of them.
    pub(super) selected: Vec<Candidate>,
    /// Proposals the filter refused, in proposal order.
    pub(super) rejected: Vec<Candidate>,
    /// Proposals dropped because an earlier proposal had the same trimmed text, or was empty.
    pub(super) duplicates: u32,
    /// Acceptable proposals left out because `width` better ones were kept.
    pub(super) beyond_width: u32,
}

/// Trims, filters, deduplicates, orders by score and cuts to `width`.
///
/// Duplicates keep the first occurrence and its score, as BFS-Prover-V2 does. Sorting is stable,
/// so equal scores keep the policy's order and the result is deterministic.
pub(super) fn prepare_candidates(
    proposals: Vec<Candidate>,
    filter: &mut impl CandidateFilter,
    width: usize,
) -> Prepared {
    let mut prepared = Prepared::default();
    let mut seen = std::collections::HashSet::new();
    for proposal in proposals {
        let tactic = proposal.tactic.trim();
        let score = if proposal.score.is_nan() {
            f64::NEG_INFINITY
        } else {
            proposal.score
        };
        let candidate = Candidate::new(tactic, score);
        if tactic.is_empty() || seen.contains(tactic) {
            prepared.duplicates += 1;
        } else if !filter.allows(tactic) {
            // Remember refused text too, so a repeat of it is a duplicate rather than a second
            // rejection: the count then means "distinct tactics refused".
            seen.insert(candidate.tactic.clone());
            prepared.rejected.push(candidate);
        } else {
            seen.insert(candidate.tactic.clone());
            prepared.selected.push(candidate);
        }
    }
    prepared
        .selected
        .sort_by(|a, b| b.score.total_cmp(&a.score));
    if prepared.selected.len() > width {
        prepared.beyond_width = u32::try_from(prepared.selected.len() - width).unwrap_or(u32::MAX);
        prepared.selected.truncate(width);
    }
    prepared
}
