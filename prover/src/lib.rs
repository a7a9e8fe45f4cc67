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
