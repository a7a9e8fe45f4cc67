//! Preflight on the command line: the library's (`prover::pipeline::preflight`: one REPL elaborates the first header, the model server answers a probe) with what the probe found as one line on stderr.
//!
//! Each failure names the step and the likely fix; the subcommand then exits 2 with nothing
//! written. The REPL that passed keeps its header environment for the first theorem.

use prover::llm::ModelProbe;

/// The whole preflight on `session` before its first theorem; a failure stops its REPLs.
pub(super) fn ready(
    session: &prover::session::Session,
    header: &str,
) -> anyhow::Result<Option<ModelProbe>> {
    Ok(prover::pipeline::preflight::ready(
        session,
        header,
        &mut render_probe,
    )?)
}

/// What the model server's probe found, as one line.
pub(super) fn render_probe(url: &str, probe: &ModelProbe) {
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
}
