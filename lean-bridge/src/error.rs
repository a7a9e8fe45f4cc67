//! `BridgeError`: every way talking to a REPL process can fail, as opposed to Lean rejecting input.

use std::time::Duration;

/// An infrastructure failure. A Lean error in a proof is never a `BridgeError`: it comes back
/// as data inside a response.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The process could not be started.
    #[error("cannot start repl `{command}`: {reason}")]
    Spawn {
        /// The launch command line.
        command: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The process exited (or closed stdout) while a request was outstanding or before it.
    #[error(
        "repl exited ({status}) while running {request}{}",
        stderr_suffix(stderr_tail)
    )]
    Exited {
        /// The exit status as text (`exit status: 3`, `signal: 9`, `still running` for EOF).
        status: String,
        /// The request kind that was running.
        request: String,
        /// The last lines the process wrote to stderr.
        stderr_tail: String,
    },
    /// No answer within the deadline; the process group was killed.
    #[error("repl gave no answer within {after:?} to {request}; its process group was killed")]
    Timeout {
        /// The deadline that passed.
        after: Duration,
        /// The request kind.
        request: String,
    },
    /// The process wrote something that is not a REPL answer; it was killed.
    #[error("repl broke the protocol: {reason} (answer starts {line:?})")]
    Protocol {
        /// The first line of the offending output, shortened.
        line: String,
        /// Why it is not an answer.
        reason: String,
    },
    /// The REPL answered, but not with the shape the request calls for.
    #[error("unexpected {got} answer to {request}: {detail}")]
    UnexpectedAnswer {
        /// The request kind.
        request: String,
        /// The answer kind.
        got: String,
        /// The answer, shortened.
        detail: String,
    },
    /// Writing to or reading from the process's pipes failed.
    #[error("i/o with repl failed: {0}")]
    Io(String),
    /// The pool was shut down.
    #[error("the repl pool is shut down")]
    PoolClosed,
    /// Rebuilding a proof state on another process did not reproduce it: the statement or a
    /// step of the recorded tactic path no longer gives an open state. The process is fine.
    #[error("replaying a proof state diverged at {at}: {reason}")]
    ReplayDiverged {
        /// Where: `statement`, `header` or `step N (`tactic`)`, N counted from 1.
        at: String,
        /// What came back instead of an open state.
        reason: String,
    },
}

fn stderr_suffix(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", tail.trim())
    }
}

impl BridgeError {
    /// Whether the process that raised this error is unusable and must be replaced.
    pub fn kills_process(&self) -> bool {
        !matches!(
            self,
            BridgeError::UnexpectedAnswer { .. }
                | BridgeError::ReplayDiverged { .. }
                | BridgeError::PoolClosed
        )
    }
}
