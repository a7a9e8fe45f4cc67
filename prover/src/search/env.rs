//! The `ProofEnv` trait: how the search applies a tactic to a proof state without knowing what runs it.

use std::time::Duration;

use super::error::EnvError;

/// What one tactic did to one proof state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied<S> {
    /// The tactic succeeded and left these open goals (at least one).
    Goals(S),
    /// The tactic closed every goal: the path to here is a complete proof, pending the recheck.
    Proved,
    /// The prover refused the tactic; the text is its error message. This is data, not a failure
    /// of the environment: such an edge becomes a negative example for training.
    Rejected(String),
}

/// A proof environment: applies tactics to opaque proof states.
///
/// Contracts the search relies on:
///
/// - `apply` is a function of `(state, tactic)`: the same pair gives the same kind of answer.
///   Environments that time out nondeterministically are fine, but the search is only
///   deterministic when the environment is.
/// - `canonical_text` is the deduplication key. Two states with equal text are treated as the
///   same node, so the text must cover **all** open goals (hypotheses and targets of every goal,
///   in order), and a proof found through one of them must be valid through the other.
/// - `Err` means the environment itself broke (the REPL died, a timeout killed it). The search
///   counts it, treats that single edge as failed, and stops with
///   [`StopReason::EnvFailure`](super::StopReason::EnvFailure) only after
///   [`SearchConfig::max_consecutive_errors`](super::SearchConfig::max_consecutive_errors) in a row.
/// - A tactic that runs past `deadline` must be answered (with `Rejected` or `Err`), not waited
///   for: the search has no other way to stop a stuck tactic.
pub trait ProofEnv {
    /// A proof state: whatever handle the environment needs to continue from it.
    type State;

    /// Runs `tactic` on `state`, giving up after `deadline`.
    fn apply(
        &mut self,
        state: &Self::State,
        tactic: &str,
        deadline: Duration,
    ) -> Result<Applied<Self::State>, EnvError>;

    /// The canonical text of every open goal of `state`: the deduplication key and the text
    /// shown to the policy and to the hook.
    fn canonical_text(&self, state: &Self::State) -> String;

    /// Appends [`canonical_text`](Self::canonical_text) of `state` to `out`, which the search
    /// hands over empty and reuses from one tactic to the next. The search calls this, not
    /// `canonical_text`, for every state a tactic produces: an environment that can write its
    /// text in place saves an allocation per tactic. The text must be the same.
    fn write_canonical_text(&self, state: &Self::State, out: &mut String) {
        out.push_str(&self.canonical_text(state));
    }
}
