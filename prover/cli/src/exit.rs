//! The exit codes of every subcommand, in one place: what a script may rely on.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | The run finished and everything asked was settled: every `check` row `valid` or `invalid`, every `eval` theorem `proved` or `failed`, the `prove` theorem proved; `cache` and `datasets` did their job. |
//! | 1 | The run finished, but not everything asked was settled: some row or theorem ended `error` (rerun to retry just those), or `prove` found no proof (its status says `failed` or `error`). |
//! | 2 | The run could not start, or stopped before the end: a bad flag, input or settings file, a broken set-up (preflight), a results file of another configuration, a model server down past `--llm-outage-limit`. Whatever was decided before is kept. |
//! | 128 + N | Stopped by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP); what was decided before it is kept. |
//!
//! A closed stdout (`prover … | head`) is not a failure: the run ends quietly with 0.
//!
//! `prover lsp` follows the LSP specification instead: 0 after `shutdown` then `exit`, 1 after
//! `exit` without `shutdown` or an input closed without `exit`, 2 when the connection broke.

use std::process::ExitCode;

/// Everything asked was settled.
pub const SETTLED: u8 = 0;
/// The run finished with something unsettled.
pub const UNSETTLED: u8 = 1;
/// The run could not start or stopped before the end.
pub const COULD_NOT_RUN: u8 = 2;

/// [`SETTLED`] when `all_settled`, else [`UNSETTLED`].
pub fn settled_if(all_settled: bool) -> ExitCode {
    ExitCode::from(if all_settled { SETTLED } else { UNSETTLED })
}

/// A run stopped by `signal`: 128 + its number.
pub fn signal(signal: i32) -> ExitCode {
    ExitCode::from(u8::try_from(128 + signal).unwrap_or(130))
}

/// The table above, for `--help`.
pub const HELP: &str = "Exit codes: 0 everything asked was settled (every row valid or invalid, \
every theorem proved or failed, the `prove` theorem proved); 1 the run finished with something \
unsettled (a row or theorem ended `error`, or `prove` found no proof); 2 the run could not start \
or stopped early (bad flags or input, broken set-up, another configuration's results file, model \
outage), keeping what it decided; 128+N stopped by signal N.";
