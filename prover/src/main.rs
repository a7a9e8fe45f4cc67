//! The `prover` binary: parses the command line, runs it, and maps the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match prover::cli::run(prover::cli::parse()) {
        Ok(code) => code,
        Err(e) if prover::cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prover: {e:#}");
            ExitCode::from(2)
        }
    }
}
