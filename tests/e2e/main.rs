//! End-to-end tests: the real `prover` binary against the simulated REPL, and gated real-Lean runs.

mod check;
mod real_lean;
