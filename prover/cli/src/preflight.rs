//! Preflight: before the first theorem, one REPL elaborates the first header and (for model policies) the model server answers one small request, so a broken set-up is one clear message instead of an `error` row per theorem.
//!
//! Each failure names the step and the likely fix; the subcommand then exits 2 with nothing
//! written. The REPL that passed keeps its header environment for the first theorem.

use anyhow::bail;

use prover::llm::ModelProbe;
use prover::policy::Policies;
use prover::session::ReplPool;

/// Starts one REPL of `pool` and elaborates `header` on it (`prover::pipeline::preflight`).
pub(super) async fn repl(pool: &ReplPool, header: &str) -> anyhow::Result<()> {
    Ok(prover::pipeline::preflight::repl(pool, header).await?)
}

/// Sends the model server one small request, then probes what it does with prover's requests
/// (`n`, log-probabilities, requests at once) and prints the findings, unless the policy has
/// no model. With a fallback to the portfolio a failure is only a warning.
pub(super) async fn model(factory: &Policies) -> anyhow::Result<Option<ModelProbe>> {
    let Some(client) = factory.client() else {
        return Ok(None);
    };
    let error = match client.probe().await {
        Ok(()) => match client.probe_server().await {
            Ok(probe) => return judge_probe(factory, client.url(), probe),
            // The server answered; what fails now is an outage for the breaker to handle.
            Err(error) => {
                tracing::warn!(
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
                return judge_probe(factory, client.url(), probe);
            }
            _ => error,
        },
    };
    let hint = match &error {
        prover::llm::LlmError::Status { status: 401, .. }
        | prover::llm::LlmError::Status { status: 403, .. } => {
            "check the API key (OPENAI_API_KEY, or [llm] api_key_env in prover.toml)"
        }
        prover::llm::LlmError::Status { status: 404, .. } => {
            "check --llm-url (it ends in /v1) and --llm-model (the name the server serves)"
        }
        prover::llm::LlmError::Transport { .. } | prover::llm::LlmError::Timeout { .. } => {
            "is the server running, and is --llm-url right?"
        }
        _ => "see the server's own log",
    };
    if factory.falls_back() {
        tracing::warn!(
            "preflight: the model server at {} failed: {error}; {hint}. The portfolio answers \
             (--llm-fallback) until it recovers",
            client.url()
        );
        return Ok(None);
    }
    bail!(
        "preflight: the model server at {} failed: {error}.\n{hint} (or pass --llm-fallback to \
         let the portfolio answer while it is down)",
        client.url()
    )
}

/// Prints what the probe found; a server that refuses log-probabilities stops the run (every
/// request would fail) unless the portfolio falls back.
fn judge_probe(
    factory: &Policies,
    url: &str,
    probe: ModelProbe,
) -> anyhow::Result<Option<ModelProbe>> {
    let yes_no = |found: Option<bool>| match found {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown (no answer, or the endpoint failed)",
    };
    note!(
        "prover: model server {url}: honours n: {}; log-probabilities: completions {}, chat {}; \
         serves {} ({} ms alone); asking with {}, starting at {} requests at once",
        yes_no(probe.honours_n),
        yes_no(probe.completions_logprobs),
        yes_no(probe.chat_logprobs),
        probe.serves_at_once.map_or_else(
            || "too fast to time".to_owned(),
            |n| format!("about {n} of {} requests at once", probe.probed_at_once)
        ),
        probe.latency_ms,
        if probe.samples_mode == "n" {
            "n"
        } else {
            "one request per sample"
        },
        probe.start_concurrency,
    );
    if let Some(refusal) = &probe.logprobs_refused {
        let advice = "pass --no-logprobs (candidates then get rank scores), or restart the \
                      server with log-probabilities on (llama-cpp-python: --logits_all True)";
        if factory.falls_back() {
            tracing::warn!(
                "preflight: the model server at {url} refuses log-probabilities ({refusal}); \
                 {advice}. The portfolio answers (--llm-fallback) meanwhile"
            );
        } else {
            bail!(
                "preflight: the model server at {url} refuses requests for log-probabilities \
                 and answers the same request without them: {refusal}.\n{advice}"
            );
        }
    }
    Ok(Some(probe))
}

/// Both checks on `session` for `header`, and what the model server was found to do; on a
/// failure its REPLs are stopped before the error is returned, so the caller only has to
/// report it.
pub(super) fn ready(
    session: &prover::session::Session,
    header: &str,
) -> anyhow::Result<Option<ModelProbe>> {
    let ready = session.handle().block_on(async {
        repl(session.pool(), header).await?;
        model(session.policies()).await
    });
    if ready.is_err() {
        session.handle().block_on(session.pool().shutdown());
    }
    ready
}
