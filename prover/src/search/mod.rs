//! Pure best-first proof search (BFS-Prover style): strategy, environment and time come in through traits.
//!
//! # What it does
//!
//! The search keeps a priority queue of open proof states. It repeatedly pops the state with
//! the highest priority `(Σ tactic scores along its path) / depth^α`, asks a [`Policy`] for
//! scored tactics, keeps the best [`SearchConfig::expansion_width`] of them after a
//! [`CandidateFilter`] and exact-duplicate removal, and runs them one by one through a
//! [`ProofEnv`]. New states are queued; a state whose canonical text was seen before gets an
//! extra edge but keeps its first score and is not queued again. The expansion stops at the
//! first tactic that closes every goal; the shortest known script to there is sent to a
//! [`ProofChecker`], and only an accepted proof is reported. A node whose tactics all failed is
//! FAILED, and so, recursively, is a parent whose children all failed; a FAILED root ends the
//! search early. The facts behind each choice are in `docs/search-algorithm.md`.
//!
//! ```text
//! Search::new(config).with_hook(hook).run(&mut env, &mut policy, &mut checker, root)
//!     loop: check cancellation and limits → select → expand → back up
//! ```
//!
//! # Invariants
//!
//! - **The search knows nothing about Lean, LSP, HTTP or tokio.** It performs no IO, spawns
//!   nothing, reads no environment variable and names no other module of this crate. Lean is a
//!   [`ProofEnv`], the model is a [`Policy`], the recheck is a [`ProofChecker`], time is a
//!   [`Clock`]; data leaves only through a [`SearchHook`]. The engine provides the real
//!   implementations; [`offline`] provides in-memory ones for tests and docs.
//! - **Deterministic.** Given deterministic collaborators and a [`ManualClock`], the same inputs
//!   give the same report and the same event sequence. Ties in priority break by insertion
//!   order, candidates with equal scores keep the policy's order, and no randomness is used at
//!   all (sampling diversity belongs to the policy).
//! - **A failed proof is data.** [`Search::run`] returns a [`SearchReport`], never an `Err`:
//!   exhausting the space, running out of budget, cancellation and broken infrastructure are
//!   all [`StopReason`]s. A tactic Lean refuses is [`Applied::Rejected`], not an error. An `Err`
//!   from a collaborator is counted and costs only what it touched (an environment error fails
//!   that edge, a policy error abandons that node, a checker error withholds that proof); it ends
//!   the search only after [`SearchConfig::max_consecutive_errors`] in a row. A tree that ran
//!   out of work after any such error ends [`StopReason::Incomplete`], never
//!   [`StopReason::Exhausted`]: "no proof exists" is claimed only when every proposal and every
//!   tactic got an answer.
//! - **Only rechecked proofs are reported.** A proof the checker does not accept is not
//!   reported; its last edge is marked failed and the search goes on (the node resumes with its
//!   remaining tactics).
//! - **A policy changes how fast a proof is found, never whether one exists under exhaustive
//!   limits** ([`SearchConfig::exhaustive`]).

mod chunked;
mod config;
mod env;
mod error;
mod frontier;
mod hash;
mod hook;
mod limits;
pub mod offline;
mod policy;
mod proof;
mod report;
mod run;
mod tree;

pub use config::SearchConfig;
pub use env::{Applied, ProofEnv, Tactics};
pub use error::{CheckError, EnvError, PolicyError};
pub use hook::{EdgeEvent, EdgeOutcome, NoHook, SearchEvent, SearchHook};
pub use limits::{CancelToken, Clock, InstantClock, ManualClock};
pub use policy::{
    AllowAll, Candidate, CandidateFilter, FirstPath, Policy, ProposalHint, Query, Refused,
    StateHint, selected_tactics,
};
pub use proof::{Proof, ProofChecker, Verdict};
pub use report::{FaultSource, Outcome, SearchReport, SearchStats, StopReason};
pub use run::Search;
pub use tree::NodeId;
