//! What a search returns: `SearchReport`, with the outcome (a proof or a `StopReason`) and counters.
//!
//! A failed proof is data, not an `Err`: every way a search can end is a `StopReason`.

use std::fmt;
use std::time::Duration;

use super::proof::Proof;

/// The result of one search attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchReport {
    /// Proved, or why the search stopped without a proof.
    pub outcome: Outcome,
    /// Counters over the whole attempt.
    pub stats: SearchStats,
    /// Time from start to finish on the search's clock.
    pub elapsed: Duration,
    /// Every accepted proof, in the order found; the outcome's is the first. More than one only
    /// with `SearchConfig::proofs_wanted` above 1.
    pub proofs: Vec<Proof>,
}

impl SearchReport {
    /// The accepted proof, if any.
    pub fn proof(&self) -> Option<&Proof> {
        match &self.outcome {
            Outcome::Proved(proof) => Some(proof),
            Outcome::Failed(_) => None,
        }
    }
}

/// How a search ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A proof that the checker accepted: the shortest one known when it was found.
    Proved(Proof),
    /// No proof; the reason the search stopped.
    Failed(StopReason),
}

/// Why a search stopped without a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Nothing left to try: the frontier is empty or the root is FAILED. With exhaustive limits
    /// this means no proof exists among the tactics the policy proposes.
    Exhausted,
    /// `max_expansions` expansions were done.
    ExpansionLimit(u32),
    /// `max_time` passed.
    TimeLimit(Duration),
    /// `max_env_calls` tactics were run.
    EnvCallLimit(u32),
    /// The `CancelToken` was cancelled.
    Cancelled,
    /// The environment, the policy or the checker failed `max_consecutive_errors` times in a row.
    EnvFailure(String),
    /// The tree ran out of work, but only because some proposals, tactic runs or rechecks
    /// failed: nothing is known about the theorem (a model server that was down, a REPL that
    /// kept crashing). Never reported as [`StopReason::Exhausted`].
    Incomplete {
        /// Which collaborator failed (the policy first, when several did).
        source: FaultSource,
        /// How many of its calls failed during the search.
        failures: u32,
        /// Its last error, with causes.
        last_error: String,
    },
}

/// A collaborator of the search whose failures left it incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultSource {
    /// [`Policy::propose`](super::Policy::propose).
    Policy,
    /// [`ProofEnv::apply`](super::ProofEnv::apply).
    Environment,
    /// [`ProofChecker::check`](super::ProofChecker::check).
    Checker,
}

impl fmt::Display for FaultSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultSource::Policy => "policy",
            FaultSource::Environment => "environment",
            FaultSource::Checker => "checker",
        })
    }
}

impl StopReason {
    /// Whether the reason says something about the theorem under the budget (and so may be
    /// remembered as its failure): not when the infrastructure failed or the search was
    /// cancelled.
    pub fn is_verdict(&self) -> bool {
        !matches!(
            self,
            StopReason::EnvFailure(_) | StopReason::Incomplete { .. } | StopReason::Cancelled
        )
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Exhausted => write!(f, "search space exhausted"),
            StopReason::ExpansionLimit(limit) => write!(f, "expansion limit of {limit} reached"),
            StopReason::TimeLimit(limit) => write!(f, "time limit of {limit:?} reached"),
            StopReason::EnvCallLimit(limit) => write!(f, "limit of {limit} tactic runs reached"),
            StopReason::Cancelled => write!(f, "cancelled"),
            StopReason::EnvFailure(message) => write!(f, "infrastructure failure: {message}"),
            StopReason::Incomplete {
                source,
                failures,
                last_error,
            } => write!(
                f,
                "search incomplete: the {source} failed {failures} time(s), so the tree ran out \
                 of work without being explored; last error: {last_error}"
            ),
        }
    }
}

/// Counters over one search attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Nodes selected for expansion (a resumed node counts again).
    pub expansions: u32,
    /// Calls to `Policy::propose`.
    pub policy_calls: u32,
    /// Calls to `ProofEnv::apply`.
    pub env_calls: u32,
    /// Candidates the policy returned, before any filtering.
    pub candidates_proposed: u32,
    /// Candidates the filter refused.
    pub candidates_rejected: u32,
    /// Candidates dropped as empty or as exact repeats (after trimming) within one proposal.
    pub duplicate_tactics: u32,
    /// Candidates left out by the expansion width.
    pub candidates_beyond_width: u32,
    /// Tactics the environment refused (`Applied::Rejected`).
    pub tactics_refused: u32,
    /// Distinct states, the root included.
    pub states: u32,
    /// Edges that reached a state already in the graph.
    pub duplicate_states: u32,
    /// Nodes found to be FAILED.
    pub failed_states: u32,
    /// Deepest node created.
    pub max_depth: u32,
    /// `Err` from `ProofEnv::apply`.
    pub env_errors: u32,
    /// `Err` from `Policy::propose`.
    pub policy_errors: u32,
    /// `Err` from `ProofChecker::check`.
    pub check_errors: u32,
    /// Proofs found whose recheck did not accept them.
    pub proofs_rejected: u32,
}

impl SearchStats {
    /// Calls to a collaborator that failed, of any kind.
    pub fn infrastructure_errors(&self) -> u32 {
        self.env_errors + self.policy_errors + self.check_errors
    }
}
