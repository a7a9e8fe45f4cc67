//! Policies made of two policies: `CombinedPolicy` (both, merged) and `FallbackPolicy` (the second only when the first fails).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crate::search::{Candidate, Policy, PolicyError, ProposalHint, Query, StateHint};

/// Candidates from two policies together: `first`'s (the model's), then `second`'s (the
/// portfolio's), with duplicate tactic texts merged into the first position and the higher
/// score.
///
/// One side failing is survived: the other side's candidates are used and the failure is
/// counted and logged. Only when both fail is the expansion an error.
#[derive(Debug)]
pub struct CombinedPolicy<A, B> {
    /// Asked first; its candidates come first.
    pub first: A,
    /// Asked second.
    pub second: B,
    first_failures: u64,
    second_failures: u64,
}

impl<A, B> CombinedPolicy<A, B> {
    /// Merges `first`'s candidates with `second`'s.
    pub fn new(first: A, second: B) -> Self {
        Self {
            first,
            second,
            first_failures: 0,
            second_failures: 0,
        }
    }

    /// Expansions where `first` failed.
    pub fn first_failures(&self) -> u64 {
        self.first_failures
    }

    /// Expansions where `second` failed.
    pub fn second_failures(&self) -> u64 {
        self.second_failures
    }
}

impl<A: Policy, B: Policy> Policy for CombinedPolicy<A, B> {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        let first = self.first.propose(query);
        let second = self.second.propose(query);
        match (first, second) {
            (Ok(a), Ok(b)) => Ok(merge(a.into_iter().chain(b))),
            (Ok(a), Err(e)) => {
                self.second_failures += 1;
                tracing::warn!(error = %error_chain(&e), "second policy failed; using the first alone");
                Ok(merge(a))
            }
            (Err(e), Ok(b)) => {
                self.first_failures += 1;
                tracing::warn!(error = %error_chain(&e), "first policy failed; using the second alone");
                Ok(merge(b))
            }
            (Err(a), Err(b)) => {
                self.first_failures += 1;
                self.second_failures += 1;
                Err(both_failed(a, b))
            }
        }
    }

    fn prefetch(&mut self, upcoming: &[Query<'_>]) {
        self.first.prefetch(upcoming);
        self.second.prefetch(upcoming);
    }

    fn state_hints(&self) -> Option<Arc<dyn StateHint>> {
        match (self.first.state_hints(), self.second.state_hints()) {
            (Some(first), Some(second)) => Some(Arc::new(BothHear(first, second))),
            (first, second) => first.or(second),
        }
    }
}

/// `primary`'s candidates, or `fallback`'s for an expansion where `primary` failed (after its
/// own retries): a model server that is down costs proposal quality, not the search.
#[derive(Debug)]
pub struct FallbackPolicy<A, B> {
    /// Asked first, every expansion.
    pub primary: A,
    /// Asked only when `primary` fails.
    pub fallback: B,
    /// Shared so a caller holding the policy behind a trait object can still read it.
    fallbacks: Arc<AtomicU64>,
}

impl<A, B> FallbackPolicy<A, B> {
    /// Uses `fallback` whenever `primary` fails.
    pub fn new(primary: A, fallback: B) -> Self {
        Self {
            primary,
            fallback,
            fallbacks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Expansions answered by `fallback` (or failed there too).
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// The counter behind [`FallbackPolicy::fallbacks`], readable after the policy is boxed.
    pub fn fallback_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.fallbacks)
    }
}

impl<A: Policy, B: Policy> Policy for FallbackPolicy<A, B> {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        match self.primary.propose(query) {
            Ok(candidates) => Ok(candidates),
            Err(primary) => {
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %error_chain(&primary), "primary policy failed; using the fallback");
                self.fallback
                    .propose(query)
                    .map_err(|fallback| both_failed(primary, fallback))
            }
        }
    }

    /// The primary is asked every expansion; the fallback only after it failed, so it gets
    /// no hint.
    fn prefetch(&mut self, upcoming: &[Query<'_>]) {
        self.primary.prefetch(upcoming);
    }

    /// The primary's, as with `prefetch`: the fallback is asked only when the primary failed.
    fn state_hints(&self) -> Option<Arc<dyn StateHint>> {
        self.primary.state_hints()
    }
}

/// Candidates in order of first appearance, each text once with its best score.
/// Both policies of a [`CombinedPolicy`] hear of a new state.
struct BothHear(Arc<dyn StateHint>, Arc<dyn StateHint>);

impl StateHint for BothHear {
    fn new_state(&self, state: &str) {
        self.0.new_state(state);
        self.1.new_state(state);
    }

    /// Each tells its own answers: the combined proposal holds both, so every tactic either
    /// proposes ahead of need is one the search may run.
    fn tell_proposals(&self, ear: Weak<dyn ProposalHint>) {
        self.0.tell_proposals(ear.clone());
        self.1.tell_proposals(ear);
    }
}

fn merge(candidates: impl IntoIterator<Item = Candidate>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        let tactic = candidate.tactic.trim();
        match out.iter_mut().find(|c| c.tactic == tactic) {
            // NaN is −∞ to the search; `max` would prefer the number anyway.
            Some(existing) => existing.score = existing.score.max(candidate.score),
            None => out.push(Candidate::new(tactic, candidate.score)),
        }
    }
    out
}

fn both_failed(first: PolicyError, second: PolicyError) -> PolicyError {
    // Both causes in the message: a `source` chain could carry only one of them.
    PolicyError::new(format!(
        "both policies failed: {}; and: {}",
        error_chain(&first),
        error_chain(&second)
    ))
}

/// An error and its causes on one line, for logs.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
