//! What the searching subcommands share: reading a dataset, the run configuration their manifests compare, the pipelines' settings, and learning online.

use std::path::Path;

use anyhow::{Context, bail};
use prover::session::Session;
use prover::settings::{self, SettingsFile};
use prover::{ProveResult, ProveStatus, Theorem};

use ::datasets::output::{FileKind, Input, Output, Target};
use prover::pipeline::run as manifest;

/// The inputs and outputs a session's own flags add to a run: `--learned-model` is read,
/// `--save-model` written (a model file, nothing else).
pub(super) fn session_files<'a>(
    session: &'a super::SessionArgs,
    inputs: &mut Vec<Input<'a>>,
    outputs: &mut Vec<Output<'a>>,
) {
    if let Some(path) = &session.search.learned_model {
        inputs.push(Input {
            flag: "--learned-model",
            path,
        });
    }
    if let Some(path) = &session.search.save_model {
        outputs.push(Output {
            flag: "--save-model",
            path,
            target: Target::File(FileKind::Model),
        });
    }
}

/// The `--trace DIR` output: a directory of `.trace.jsonl` files.
pub(super) fn trace_output(dir: Option<&Path>) -> Option<Output<'_>> {
    dir.map(|path| Output {
        flag: "--trace",
        path,
        target: Target::DirOf(".trace.jsonl"),
    })
}

/// The one write rule (`datasets::output`), before any work: refuses an output that is an
/// input, holds an input it would overwrite, is a file of another kind, cannot be written, or
/// is being written by another run; the guard holds the output directories' locks.
pub(super) fn check_outputs(
    outputs: &[Output<'_>],
    inputs: &[Input<'_>],
) -> anyhow::Result<::datasets::output::OutputGuard> {
    Ok(::datasets::check_outputs(outputs, inputs)?)
}

/// What a searching subcommand does around each search besides proving: learning online
/// (`--learn-online`) and writing the search tree (`--trace DIR`).
#[derive(Debug, Clone, Default)]
pub(super) struct Extras {
    /// Teach the learned model each proof found.
    pub learn_online: bool,
    /// Write each theorem's edge records to `DIR/<sanitized name>.trace.jsonl`.
    pub trace: Option<std::path::PathBuf>,
}

impl Extras {
    /// The extras of a session's flags and `--trace`; the trace directory is created here, so
    /// a directory that cannot be made is refused before any search.
    pub(super) fn new(learn_online: bool, trace: Option<&Path>) -> anyhow::Result<Extras> {
        if let Some(dir) = trace {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create --trace {}", dir.display()))?;
        }
        Ok(Extras {
            learn_online,
            trace: trace.map(Path::to_owned),
        })
    }
}

/// Proves `theorem` with the extras asked for: teaches the learned model what the search found
/// (the proof's steps and the tactics Lean refused along it) and writes the search's trace.
/// A trace that cannot be written is a warning, never a lost result.
///
/// `attempt` numbers the row (and names its trace `<name>.<attempt>`) when a theorem is
/// searched several times.
pub(super) async fn prove_with_extras(
    prover: &prover::session::Prover,
    theorem: Theorem,
    extras: &Extras,
    attempt: Option<u32>,
) -> ProveResult {
    let mut result = prove_with_extras_once(prover, theorem, extras, attempt).await;
    result.attempt = attempt;
    result
}

async fn prove_with_extras_once(
    prover: &prover::session::Prover,
    theorem: Theorem,
    extras: &Extras,
    attempt: Option<u32>,
) -> ProveResult {
    use ::datasets::training::{RefusalKind, Stage};
    use prover::pipeline::collect::TrainingHook;
    use prover::pipeline::explore::TraceHook;
    if !extras.learn_online && extras.trace.is_none() {
        return prover.prove_async(theorem).await;
    }
    let hooks = (
        extras.learn_online.then(TrainingHook::default),
        extras.trace.is_some().then(TraceHook::default),
    );
    let (result, hooks) = prover.prove_async_with(theorem, hooks).await;
    let Some((training, trace)) = hooks else {
        return result;
    };
    if let Some(hook) = training
        && result.status == ProveStatus::Proved
    {
        let record = hook.into_record(Stage::Search, &result);
        let steps: Vec<(String, String)> = record
            .steps
            .into_iter()
            .map(|s| (s.state, s.tactic))
            .collect();
        let refusals: Vec<(String, String)> = record
            .refusals
            .into_iter()
            .filter(|r| r.kind == RefusalKind::LeanError)
            .map(|r| (r.state, r.tactic))
            .collect();
        prover.policies().learn(&steps, &refusals);
    }
    if let (Some(dir), Some(hook)) = (&extras.trace, trace) {
        let name = match attempt {
            Some(attempt) => format!("{}.{attempt}", result.name),
            None => result.name.clone(),
        };
        write_trace(dir, &name, &hook.into_record(&result).edges);
    }
    result
}

/// Writes one theorem's trace under `--trace DIR`, warning when it cannot.
pub(super) fn write_trace(dir: &Path, name: &str, edges: &[::datasets::explore::TraceRow]) {
    if let Err(error) = ::datasets::explore::write_trace(dir, name, edges) {
        note!(
            "prover: warning: cannot write the trace of {name} under {}: {error}",
            dir.display()
        );
    }
}

/// Writes the learned model as it stands (`--save-model`).
pub(super) fn save_model(session: &Session, path: &Path) -> anyhow::Result<()> {
    if session.policies().spec().kind != prover::policy::PolicyKind::Learned {
        bail!("--save-model needs --policy learned");
    }
    let model = session.policies().learned_model();
    model.save(path)?;
    note!(
        "prover: learned model with {} stored states written to {}",
        model.len(),
        path.display()
    );
    Ok(())
}

/// What the pipelines (`iterate`, `explore`) take from the session's settings: the prompt
/// their rows carry (the model's template, BFS-Prover's `{state}:::` otherwise) and the rules
/// proofs are verified under (`[check]`, with the search's `native_decide` opt-in).
pub(super) fn pipeline_settings(
    config: &prover::session::SessionConfig,
    settings: &SettingsFile,
) -> anyhow::Result<(String, prover::CheckConfig)> {
    let prompt_template = config.policy.llm.as_ref().map_or_else(
        || "{state}:::".to_owned(),
        |llm| llm.prompt_template.clone(),
    );
    let check = settings::check_config(
        &settings::CheckOverlay {
            allow_native_decide: config.policy.allow_native_decide,
            ..settings::CheckOverlay::default()
        },
        settings,
    )?;
    Ok((prompt_template, check))
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

/// A run's identity for its manifest, with this build of prover.
pub(super) fn identity(
    kind: &str,
    config: std::collections::BTreeMap<String, serde_json::Value>,
    recorded: std::collections::BTreeMap<String, serde_json::Value>,
    input: ::datasets::InputRecord,
) -> manifest::RunIdentity {
    manifest::RunIdentity {
        kind: kind.to_owned(),
        prover: prover_build(),
        config,
        recorded,
        input,
    }
}
