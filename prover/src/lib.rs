//! The prover library: proof checking, search and the command line, on top of `lean_bridge`.

pub mod check;
pub mod cli;
pub mod search;
