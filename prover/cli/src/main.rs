//! The `prover` binary: parses the command line, runs it, and maps the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match prover_cli::run(prover_cli::parse()) {
        Ok(code) => code,
        Err(e) if prover_cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            // Not `eprintln!`, which panics when stderr is a closed pipe.
            let message = format!("prover: {e:#}");
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}",
                prover_cli::terminal_safe(&message)
            );
            ExitCode::from(prover_cli::exit::COULD_NOT_RUN)
        }
    }
}
