//! The prover library: proof checking, search, policies, settings and sessions, on top of `lean_bridge`; the `prover` binary is the `prover-cli` package.

pub mod cache;
pub mod check;
pub mod datasets;
pub mod engine;
pub mod goal;
pub mod guard;
pub mod job;
pub mod llm;
pub mod pipeline;
pub mod policy;
pub mod portfolio;
pub mod search;
pub mod session;
pub mod settings;
pub mod text;

// The front door: the types a front end (CLI, editor server, MCP server) handles, named here so that no
// front end reaches into `engine`, `check`, `cache` or `lean_bridge` (`tests/tidy.rs`).
pub use crate::check::{CheckConfig, CheckResult, ProofTask, Status as CheckStatus};
pub use crate::engine::{Probe, ProveConfig, Tried, VerdictReuse};
pub use crate::job::{Goal, Job, JobEnd, JobEvent, JobHandle, Observer};
pub use crate::search::{CancelToken, SearchEvent};
pub use crate::session::{Prover, Session, SessionConfig};
pub use crate::text::SorryGoal;
pub use ::datasets::{ProveResult, ProveStatus, RestsOn, Theorem};
