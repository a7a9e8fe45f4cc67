//! The `ProofEnv` trait: how the search applies a tactic to a proof state without knowing what runs it.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::time::Duration;

use super::error::EnvError;
use super::policy::Candidate;

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
/// - [`apply_all`](Self::apply_all) hands over the answers `apply` would give, in the order of
///   its tactics, and stops at the first `Break`; how and when it computes them is its own
///   affair (in parallel, reordered, ahead of time).
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

    /// A hint: the search has chosen `state` to expand next and is about to ask the policy
    /// for its tactics, which will then run with `deadline`. An environment may prepare for
    /// them meanwhile (rebuild the state on idle processes that lack it, say); it must answer
    /// the tactics exactly as without the hint. The default does nothing.
    fn about_to_expand(&mut self, state: &Self::State, deadline: Duration) {
        let _ = (state, deadline);
    }

    /// A hint: the search will probably expand these states soon, best first (the states of
    /// its policy look-ahead, [`SearchConfig::policy_lookahead`](super::SearchConfig::policy_lookahead),
    /// given just before the policy hears of them). An environment may run their likely
    /// tactics ahead of need; it must answer them exactly as without the hint. The default
    /// does nothing.
    fn upcoming(&mut self, states: &[&Self::State]) {
        let _ = states;
    }

    /// Runs every tactic of one expansion on `state` and hands each answer to `answer`, in the
    /// order of `tactics`, until `answer` says [`ControlFlow::Break`] (after a tactic closed
    /// every goal, or when a budget ran out between two tactics) or the tactics run out.
    ///
    /// The search calls this once per expansion, with the tactics it would run one by one. The
    /// default does exactly that, so the search costs what it always did; an environment that
    /// can run tactics side by side (several REPL processes) overrides it, computes the
    /// answers in whatever order suits it, and hands them over in the tactics' order. Work done
    /// for tactics after a `Break` is thrown away: the search counts only the answers it took,
    /// so its report is the same either way (`prover/tests/search_proptest.rs`).
    fn apply_all(
        &mut self,
        state: &Self::State,
        tactics: Tactics<'_>,
        deadline: Duration,
        answer: &mut dyn FnMut(Result<Applied<Self::State>, EnvError>) -> ControlFlow<()>,
    ) {
        for tactic in tactics.iter() {
            if answer(self.apply(state, tactic, deadline)).is_break() {
                return;
            }
        }
    }
}

/// The tactics of one expansion, in the order the search wants their answers (a view of the
/// search's own queue, so handing them over allocates nothing).
#[derive(Debug, Clone, Copy)]
pub struct Tactics<'a> {
    queue: &'a VecDeque<Candidate>,
}

impl<'a> Tactics<'a> {
    /// A view of `queue`'s tactics.
    pub fn new(queue: &'a VecDeque<Candidate>) -> Tactics<'a> {
        Tactics { queue }
    }

    /// How many tactics there are.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The `index`th tactic.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        self.queue
            .get(index)
            .map(|candidate| candidate.tactic.as_str())
    }

    /// The tactics in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + use<'a> {
        self.queue.iter().map(|candidate| candidate.tactic.as_str())
    }
}
