//! What the subcommands share: the one write rule before any work, the model client's counters in summaries, and this build's identity for run manifests.

use ::datasets::output::{Input, Output};
use prover::session::Session;

/// The one write rule (`datasets::output`), before any work: refuses an output that is an
/// input, holds an input it would overwrite, is a file of another kind, cannot be written, or
/// is being written by another run; the guard holds the output directories' locks.
pub(super) fn check_outputs(
    outputs: &[Output<'_>],
    inputs: &[Input<'_>],
) -> anyhow::Result<::datasets::output::OutputGuard> {
    Ok(::datasets::check_outputs(outputs, inputs)?)
}

/// The model client's counters for the summary: requests, retries, timeouts, top-ups, mean
/// latency and the request limit it ended at; nothing without a model policy.
pub(super) fn print_model_summary(session: &Session) {
    let Some(client) = session.policies().client() else {
        return;
    };
    let stats = client.stats();
    note!(
        "  model requests {:>6} ({} retries, {} timeouts, {} for more samples), {} failed \
         proposals of {}",
        stats.requests,
        stats.retries,
        stats.timeouts,
        stats.top_ups,
        stats.failures,
        stats.calls
    );
    note!(
        "  model latency  {:>6.0} ms mean over {} answers; {} requests at once at the end \
         (at most {})",
        stats.mean_latency_ms(),
        stats.answered,
        stats.concurrency_limit,
        client.config().max_concurrency
    );
    let servers = client.server_stats();
    if servers.len() > 1 {
        for server in servers {
            note!(
                "  model server {:>6} requests ({} failed) to {}",
                server.requests,
                server.failures,
                server.url
            );
        }
    }
}

/// The model client's counters as JSON, for `--json` summaries (`null` without a model).
pub(super) fn model_summary_json(session: &Session) -> serde_json::Value {
    session
        .policies()
        .client()
        .map_or(serde_json::Value::Null, |client| {
            let stats = client.stats();
            serde_json::json!({
                "requests": stats.requests,
                "retries": stats.retries,
                "timeouts": stats.timeouts,
                "top_ups": stats.top_ups,
                "failed_proposals": stats.failures,
                "proposals": stats.calls,
                "mean_latency_ms": stats.mean_latency_ms(),
                "concurrency_limit": stats.concurrency_limit,
                "servers": client.server_stats().iter().map(|server| serde_json::json!({
                    "url": server.url,
                    "requests": server.requests,
                    "failures": server.failures,
                })).collect::<Vec<_>>(),
            })
        })
}

/// This build of prover, for run manifests: its version and the git commit it was built from.
pub(super) fn prover_build() -> std::collections::BTreeMap<String, String> {
    let mut build = std::collections::BTreeMap::new();
    build.insert("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned());
    if let Some(commit) = option_env!("PROVER_GIT_COMMIT") {
        build.insert("git_commit".to_owned(), commit.to_owned());
    }
    build
}
