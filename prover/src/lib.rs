//! The prover library: proof checking, search and the command line, on top of `lean_bridge`.

pub mod cache;
pub mod check;
pub mod cli;
pub mod datasets;
pub mod engine;
pub mod goal;
pub mod guard;
pub mod llm;
pub mod portfolio;
pub mod search;
