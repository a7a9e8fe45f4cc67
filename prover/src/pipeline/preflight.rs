//! Preflight of the REPL: before the first theorem, one REPL elaborates the first header, so a broken set-up is one clear message (the step, and the likely fix) instead of an `error` row per theorem.
//!
//! The message is the library's, so every front end says the same thing; a front end that
//! gets a [`PreflightError`] stops with nothing written. The REPL that passed keeps its
//! header environment for the first theorem.

use std::time::Duration;

use lean_bridge::pool::{CommandReply, ReplPool};
use lean_bridge::{BridgeError, Message};

/// Why the REPL is not ready; its `Display` is the whole message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
    /// The REPL started, but Lean refused the header.
    #[error(
        "preflight: the REPL started, but the first header does not elaborate: {first_error}.\n\
         If it imports Mathlib, is Mathlib built for this project? Run scripts/setup.sh \
         (or `lake exe cache get` in the Lean project), or check the dataset's header"
    )]
    HeaderRejected {
        /// Lean's first error message about the header (or its first message).
        first_error: String,
    },
    /// The REPL could not be started or did not answer as a REPL.
    #[error("preflight: the REPL command `{command}` {explanation}")]
    Repl {
        /// The configured REPL command.
        command: String,
        /// What went wrong and the likely fix.
        explanation: String,
    },
}

/// Starts one REPL of `pool` and elaborates `header` on it.
pub async fn repl(pool: &ReplPool, header: &str) -> Result<(), PreflightError> {
    let command = pool.config().repl.command.clone();
    // An empty command on the header's environment: the answer is just a new env id.
    match pool
        .command(header, "", pool.config().header_deadline)
        .await
    {
        Ok(CommandReply::Ran(_)) => Ok(()),
        Ok(CommandReply::HeaderRejected(messages)) => Err(PreflightError::HeaderRejected {
            first_error: first_error(&messages),
        }),
        Err(error) => Err(PreflightError::Repl {
            explanation: explain(&error, &command),
            command,
        }),
    }
}

fn first_error(messages: &[Message]) -> String {
    messages
        .iter()
        .find(|m| m.is_error())
        .or(messages.first())
        .map_or_else(|| "no message".to_owned(), |m| m.data.clone())
}

/// What a start-up failure of the REPL most likely means, and the fix.
fn explain(error: &BridgeError, command: &str) -> String {
    let uses_lake = command.split_whitespace().next() == Some("lake");
    match error {
        BridgeError::Spawn { reason, .. } => format!("could not be started: {reason}"),
        BridgeError::Exited {
            status,
            stderr_tail,
            ..
        } => {
            let missing = stderr_tail.contains("not found") || status.contains("127");
            let fix = if missing && uses_lake {
                "`lake` is not installed or not on PATH: run scripts/setup.sh (it installs Lean \
                 and builds the REPL), or pass --repl-cmd"
            } else if missing {
                "the program was not found: check --repl-cmd"
            } else if uses_lake {
                "is the REPL built? Run scripts/setup.sh, or pass --repl-cmd"
            } else {
                "check --repl-cmd: it must start a process that speaks the REPL protocol"
            };
            let tail = stderr_tail.trim();
            format!(
                "exited at start ({status}){}.\n{fix}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            )
        }
        BridgeError::Protocol { .. } | BridgeError::UnexpectedAnswer { .. } => format!(
            "does not speak the REPL protocol: {error}.\nCheck --repl-cmd: it must start the \
             leanprover-community/repl (or a process that speaks its JSON protocol)"
        ),
        BridgeError::Timeout { after, .. } => format!(
            "gave no answer to the first header within {}.\nA cold `import Mathlib` can take \
             minutes; is the machine swapping, or is the REPL waiting for something?",
            humanize(*after)
        ),
        other => format!("failed: {other}"),
    }
}

fn humanize(duration: Duration) -> String {
    format!("{:.0}s", duration.as_secs_f64())
}
