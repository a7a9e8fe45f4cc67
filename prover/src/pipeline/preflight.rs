//! Preflight: before the first theorem, one REPL elaborates the first header and (for model policies) the model server answers one small request, so a broken set-up is one clear message (the step, and the likely fix) instead of an `error` row per theorem.
//!
//! The message is the library's, so every front end says the same thing; a front end that
//! gets a [`PreflightError`] stops with nothing written. The REPL that passed keeps its
//! header environment for the first theorem.

use std::time::Duration;

use ::datasets::manifest::ModelProbe;
use lean_bridge::pool::{CommandReply, ReplPool};
use lean_bridge::{BridgeError, Message};

use crate::llm::LlmError;
use crate::policy::Policies;
use crate::session::Session;

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
    /// The model server failed the probe, or refuses what every request asks of it, and no
    /// fallback answers meanwhile; the message names the server and the fix.
    #[error("{0}")]
    Model(String),
}

/// The target of the preflight's warnings, as the command line has always printed them.
const LOG_TARGET: &str = "prover_cli::preflight";

/// Before the first theorem of a run on `session`: one REPL elaborates `header`, then the
/// model server (for model policies) answers a probe. `probed` hears what the probe found
/// before it is judged. A failure stops the REPLs it started.
pub fn ready(
    session: &Session,
    header: &str,
    probed: &mut dyn FnMut(&str, &ModelProbe),
) -> Result<Option<ModelProbe>, PreflightError> {
    let ready = session.handle().block_on(async {
        repl(session.pool(), header).await?;
        model(session.policies(), probed).await
    });
    if ready.is_err() {
        session.handle().block_on(session.pool().shutdown());
    }
    ready
}

/// Probes the model server of `policies`, if it has one: what it serves and how (the probe
/// is recorded in the run's manifest), or one message with the likely fix. With a fallback
/// policy a failing server is a warning, and the portfolio answers until it recovers.
pub async fn model(
    policies: &Policies,
    probed: &mut dyn FnMut(&str, &ModelProbe),
) -> Result<Option<ModelProbe>, PreflightError> {
    let Some(client) = policies.client() else {
        return Ok(None);
    };
    let error = match client.probe().await {
        Ok(()) => match client.probe_server().await {
            Ok(probe) => return judge_probe(policies, client.url(), probe, probed),
            // The server answered; what fails now is an outage for the breaker to handle.
            Err(error) => {
                tracing::warn!(
                    target: LOG_TARGET,
                    "preflight: the model server at {} answered, but probing it failed: \
                     {error}; going on with the configured samples mode and request limit",
                    client.url()
                );
                return Ok(None);
            }
        },
        // A server that refuses log-probabilities fails every request that asks for them:
        // the probe finds out whether that is all, and says so.
        Err(error) => match client.probe_server().await {
            Ok(probe) if probe.logprobs_refused.is_some() => {
                return judge_probe(policies, client.url(), probe, probed);
            }
            _ => error,
        },
    };
    let hint = match &error {
        LlmError::Status { status: 401, .. } | LlmError::Status { status: 403, .. } => {
            "check the API key (OPENAI_API_KEY, or [llm] api_key_env in prover.toml)"
        }
        LlmError::Status { status: 404, .. } => {
            "check --llm-url (it ends in /v1) and --llm-model (the name the server serves)"
        }
        LlmError::Transport { .. } | LlmError::Timeout { .. } => {
            "is the server running, and is --llm-url right?"
        }
        _ => "see the server's own log",
    };
    if policies.falls_back() {
        tracing::warn!(
            target: LOG_TARGET,
            "preflight: the model server at {} failed: {error}; {hint}. The portfolio answers \
             (--llm-fallback) until it recovers",
            client.url()
        );
        return Ok(None);
    }
    Err(PreflightError::Model(format!(
        "preflight: the model server at {} failed: {error}.\n{hint} (or pass --llm-fallback to \
         let the portfolio answer while it is down)",
        client.url()
    )))
}

/// What the probe found, told to `probed`; a server that refuses log-probabilities fails
/// the preflight unless a fallback answers.
fn judge_probe(
    policies: &Policies,
    url: &str,
    probe: ModelProbe,
    probed: &mut dyn FnMut(&str, &ModelProbe),
) -> Result<Option<ModelProbe>, PreflightError> {
    probed(url, &probe);
    if let Some(refusal) = &probe.logprobs_refused {
        let advice = "pass --no-logprobs (candidates then get rank scores), or restart the \
                      server with log-probabilities on (llama-cpp-python: --logits_all True)";
        if policies.falls_back() {
            tracing::warn!(
                target: LOG_TARGET,
                "preflight: the model server at {url} refuses log-probabilities ({refusal}); \
                 {advice}. The portfolio answers (--llm-fallback) meanwhile"
            );
        } else {
            return Err(PreflightError::Model(format!(
                "preflight: the model server at {url} refuses requests for log-probabilities \
                 and answers the same request without them: {refusal}.\n{advice}"
            )));
        }
    }
    Ok(Some(probe))
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
