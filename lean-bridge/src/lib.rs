//! Client for the leanprover-community/repl JSON protocol: typed messages, supervised processes and a pool.
//!
//! `lean_bridge` owns every Lean process and knows nothing about search. See `ARCHITECTURE.md`.

pub mod error;
mod header;
pub mod memory;
pub mod pool;
pub mod process;
pub mod proof;
pub mod protocol;
pub mod reaper;
mod spares;

pub use error::BridgeError;
pub use header::split_imports;
pub use pool::{
    ApplyReply, CommandReply, LiveSearch, PoolConfig, PoolStats, ReplPool, SequenceReply,
    StartReply,
};
pub use process::{ReplConfig, ReplProcess};
pub use proof::{ProofHandle, ProofPath};
pub use protocol::{
    CommandRequest, CommandResponse, EnvId, Message, ProofStateId, ProofStepRequest,
    ProofStepResponse, Request, Response, Severity, TacticOutcome, classify_tactic,
};
