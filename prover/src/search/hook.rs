//! The `SearchHook` trait: the one way data leaves a running search (every expansion, edge and recheck).
//!
//! The search writes no files. Training data (SFT pairs from proof edges, DPO triples from
//! failing siblings) and traces are built by a hook from these events.

use std::time::Duration;

use super::policy::Candidate;
use super::proof::{Proof, Verdict};
use super::tree::NodeId;

/// Something the search just did. State texts are canonical texts (`ProofEnv::canonical_text`).
#[derive(Debug, Clone, PartialEq)]
pub enum SearchEvent<'a> {
    /// A node was taken from the frontier for expansion (or to resume one).
    Selected {
        /// The node.
        node: NodeId,
        /// Its state.
        state: &'a str,
        /// Tactics from the root on the first path that reached it.
        depth: u32,
        /// Its queue priority.
        priority: f64,
    },
    /// The policy failed on this node; it is abandoned unexpanded.
    PolicyFailed {
        /// The node.
        node: NodeId,
        /// Its state.
        state: &'a str,
        /// The policy's error message.
        error: &'a str,
    },
    /// The candidate filter refused a proposed tactic; it never ran.
    Filtered {
        /// The node.
        node: NodeId,
        /// Its state.
        state: &'a str,
        /// The refused candidate (trimmed).
        candidate: &'a Candidate,
        /// The filter's reason (`CandidateFilter::screen`).
        reason: &'a str,
    },
    /// A tactic ran: one edge of the search graph.
    Edge(EdgeEvent<'a>),
    /// The checker judged a proof; only an accepted proof is reported.
    Rechecked {
        /// The proof as it would be reported.
        proof: &'a Proof,
        /// The verdict, or the checker's error message when it could not decide.
        verdict: Result<&'a Verdict, &'a str>,
    },
}

/// One tactic applied to one state.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeEvent<'a> {
    /// The node the tactic ran on.
    pub parent: NodeId,
    /// Its state.
    pub state: &'a str,
    /// The parent's depth.
    pub depth: u32,
    /// The tactic (trimmed).
    pub tactic: &'a str,
    /// The policy's score for it.
    pub score: f64,
    /// What happened.
    pub outcome: EdgeOutcome<'a>,
    /// How long the environment took, on the search's clock; zero when the hook said it does
    /// not want durations ([`SearchHook::wants_durations`]).
    pub duration: Duration,
}

/// What one tactic led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeOutcome<'a> {
    /// A state not seen before; it was queued.
    NewState {
        /// Its new node.
        node: NodeId,
        /// Its canonical text.
        state: &'a str,
    },
    /// A state already in the graph; it was not queued again.
    KnownState {
        /// The existing node.
        node: NodeId,
        /// Its canonical text.
        state: &'a str,
    },
    /// Every goal closed; a recheck follows.
    Proved,
    /// The environment refused the tactic with this message.
    Rejected(&'a str),
    /// The environment failed (infrastructure) with this message.
    EnvError(&'a str),
}

/// Observes a running search. Closures `FnMut(&SearchEvent)` are hooks.
pub trait SearchHook {
    /// Called synchronously for each event, in order.
    fn on_event(&mut self, event: &SearchEvent<'_>);

    /// Whether [`EdgeEvent::duration`] is read. Timing a tactic costs two clock reads, which
    /// is most of what the search itself spends on a tactic, so a hook that never reads
    /// durations (only [`NoHook`] among this module's hooks) lets the search skip them.
    fn wants_durations(&self) -> bool {
        true
    }
}

impl<F: FnMut(&SearchEvent<'_>)> SearchHook for F {
    fn on_event(&mut self, event: &SearchEvent<'_>) {
        self(event)
    }
}

/// An absent hook hears nothing; a present one hears everything.
impl<H: SearchHook> SearchHook for Option<H> {
    fn on_event(&mut self, event: &SearchEvent<'_>) {
        if let Some(hook) = self {
            hook.on_event(event);
        }
    }

    fn wants_durations(&self) -> bool {
        self.as_ref().is_some_and(SearchHook::wants_durations)
    }
}

/// Two hooks hear every event, the first one first.
impl<A: SearchHook, B: SearchHook> SearchHook for (A, B) {
    fn on_event(&mut self, event: &SearchEvent<'_>) {
        self.0.on_event(event);
        self.1.on_event(event);
    }

    fn wants_durations(&self) -> bool {
        self.0.wants_durations() || self.1.wants_durations()
    }
}

/// The hook that ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl SearchHook for NoHook {
    fn on_event(&mut self, _event: &SearchEvent<'_>) {}

    fn wants_durations(&self) -> bool {
        false
    }
}
