//! End-to-end tests: the real `prover` binary against the simulated REPL, and gated real-Lean runs.

mod cache;
mod check;
mod check_attacks;
mod editor;
mod eval;
mod explore;
mod hygiene;
mod in_place;
mod iterate;
mod lineage;
mod llm;
mod lsp;
mod mcp;
mod names;
mod oracle;
mod planner;
mod readme;
mod real_lean;
mod real_llama;
mod report;
mod safety;
mod signals;
mod test_data;
mod writers;
