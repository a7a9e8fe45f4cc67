//! Test support for prover: simulated worlds, the sim-repl engine, random world generation and e2e harness.
pub mod harness;
pub mod lean_json;
pub mod lean_syntax;
pub mod lsp_client;
pub mod openai_sim;
pub mod permissive;
pub mod sim;
pub mod test_data;
pub mod world;
pub mod worldgen;
