//! `prover eval`: searches every theorem of a dataset, appending one result per theorem as it is
//! decided, and resumes from what the output already holds.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use tokio::sync::{Semaphore, mpsc};

use super::EvalArgs;
use super::interrupt::Interrupt;
use super::manifest;
use super::preflight;
use super::results_file;
use crate::exit;
use prover::datasets;
use prover::engine::{ProveResult, ProveStatus, Theorem};
use prover::policy::ModelOutage;
use prover::session::Session;
use prover::settings::{self, SettingsFile};

/// Runs `prover eval`.
pub(super) fn run(args: EvalArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let (bytes, mut theorems) = read_dataset(&args.dataset, "dataset")?;

    let input = manifest::dataset_input(&args.dataset, &bytes, &theorems);
    let (mut out, earlier) =
        results_file::open::<ProveResult>(&args.out, "eval", args.fresh, &[&args.dataset])?;
    let decided: HashSet<String> = earlier.iter().map(|r| r.name.clone()).collect();
    let dataset_names: HashSet<String> = theorems.iter().map(|t| t.name.clone()).collect();
    let total = theorems.len();
    theorems.retain(|t| !decided.contains(&t.name));
    if !decided.is_empty() {
        note!(
            "prover eval: {} of {total} theorems already decided in {}; skipping them (--fresh to redo)",
            total - theorems.len(),
            args.out.display()
        );
    }

    let session = Session::open(settings::session_config(&args.session.overlay(), settings)?)?;
    if args.session.search.save_model.is_some()
        && session.policies().spec().kind != prover::policy::PolicyKind::Learned
    {
        bail!("--save-model needs --policy learned");
    }
    let pool_config = session.pool().config().clone();
    let workers = pool_config.workers;
    let concurrency = settings::concurrency(args.concurrency, settings, workers)?;
    let run_manifest = manifest::prepare(
        &args.out,
        "eval",
        eval_config(session.prove_config(), &pool_config),
        {
            let mut recorded = manifest::repl_record(&pool_config);
            recorded.insert("concurrency".to_owned(), serde_json::json!(concurrency));
            recorded
        },
        input,
        args.fresh,
        !earlier.is_empty(),
    )?;

    let started = Instant::now();
    // The summary covers the whole output file for this dataset, earlier runs included; the
    // progress counter counts this run's theorems.
    let mut earlier_tally = Tally::default();
    for result in earlier.iter().filter(|r| dataset_names.contains(&r.name)) {
        earlier_tally.add(result);
    }
    let mut tally = Tally::default();
    let todo = theorems.len();
    let outage: Arc<Mutex<Option<ModelOutage>>> = Arc::default();
    let mut pool_stats = None;
    let interrupt = Interrupt::install(session.handle())?;
    if let Some(first) = theorems.first()
        && let Err(error) = preflight::ready(&session, &first.header)
    {
        out.abandon();
        return Err(error);
    }
    run_manifest.start()?;
    let learn_online = args.session.search.learn_online;
    session.handle().block_on(async {
        let permits = Arc::new(Semaphore::new(concurrency));
        let (sender, mut receiver) = mpsc::unbounded_channel::<ProveResult>();
        for theorem in theorems {
            let (prover, permits, sender) = (session.prover(), permits.clone(), sender.clone());
            let (outage, interrupt) = (outage.clone(), interrupt.clone());
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                if interrupt.signal().is_some() {
                    return;
                }
                // No theorem starts while the model server is down; past the outage limit,
                // none starts at all and the run ends with what it has.
                if outage.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                    return;
                }
                if let Err(stop) = prover.policies().wait_for_model().await {
                    outage
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(stop);
                    return;
                }
                let result = if learn_online {
                    prove_and_learn(&prover, theorem).await
                } else {
                    prover.prove_async(theorem).await
                };
                let _ = sender.send(result);
            });
        }
        drop(sender);
        while let Some(result) = interrupt.next(&mut receiver).await {
            out.append(&result)?;
            tally.add(&result);
            note!(
                "[{}/{todo}] {:<7} {} ({:.1}s, {} Lean calls{}) | pass rate {:.1}%",
                tally.total(),
                status_word(result.status),
                result.name,
                result.seconds,
                result.lean_calls,
                fault_note(&result),
                tally.pass_rate()
            );
        }
        pool_stats = Some(session.pool().stats());
        if interrupt.signal().is_none() {
            session.pool().shutdown().await;
        }
        anyhow::Ok(())
    })?;

    if let Some(path) = &args.session.search.save_model {
        save_model(&session, path)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    print_summary(&tally, &earlier_tally, seconds, workers, concurrency);
    if let Some(stats) = pool_stats {
        note!(
            "  REPL restarts {:>7} ({} timeouts), {} started",
            stats.restarts,
            stats.timeouts,
            stats.spawned
        );
    }
    let stopped = outage.lock().unwrap_or_else(|p| p.into_inner()).take();
    run_manifest.finish(&[
        ("proved", tally.proved + earlier_tally.proved),
        ("failed", tally.failed + earlier_tally.failed),
        ("error", tally.error + earlier_tally.error),
    ]);
    if let Some(signal) = interrupt.signal() {
        super::cache::finish_run(session.cache());
        note!(
            "prover eval: stopped by {}: {} of {todo} theorems decided and written to {}; rerun \
             the same command to resume",
            Interrupt::name(signal),
            tally.total(),
            args.out.display()
        );
        // Dropping the session does not wait for searches still winding down.
        return Ok(Interrupt::exit_code(signal));
    }
    super::cache::finish_run(session.cache());
    if args.json {
        let summary = serde_json::json!({
            "theorems": tally.total(),
            "proved": tally.proved,
            "failed": tally.failed,
            "error": tally.error,
            "skipped": total - todo,
            "pass_rate": tally.pass_rate() / 100.0,
            "seconds": seconds,
            "lean_calls": tally.lean_calls,
            "lean_timeouts": tally.lean_timeouts,
            "lean_crashes": tally.lean_crashes,
            "policy_errors": tally.policy_errors,
            "whole_file": {
                "theorems": tally.total() + earlier_tally.total(),
                "proved": tally.proved + earlier_tally.proved,
                "failed": tally.failed + earlier_tally.failed,
                "error": tally.error + earlier_tally.error,
            },
        });
        out!("{summary}")?;
    }
    if let Some(ModelOutage(message)) = stopped {
        bail!(
            "{message} ({} of {todo} theorems not started)",
            todo - tally.total()
        );
    }
    Ok(exit::settled_if(tally.error == 0))
}

/// Proves `theorem` and teaches the learned model what the search found: the proof's steps
/// and the tactics Lean refused along it (`--learn-online`).
pub(super) async fn prove_and_learn(
    prover: &prover::session::Prover,
    theorem: Theorem,
) -> ProveResult {
    use ::datasets::training::{RefusalKind, Stage};
    let (result, hook) = prover
        .prove_async_with(theorem, prover::pipeline::collect::TrainingHook::default())
        .await;
    if let Some(hook) = hook
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
    result
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
) -> anyhow::Result<(String, prover::check::CheckConfig)> {
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

/// The theorems of a dataset file and its bytes (for the manifest's hash); a malformed row or
/// a name given twice is refused, naming the file, the line and the field. `what` names the
/// file in messages (`dataset`, `conjectures`).
pub(super) fn read_dataset(path: &Path, what: &str) -> anyhow::Result<(Vec<u8>, Vec<Theorem>)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    let mut theorems = Vec::new();
    let mut malformed = Vec::new();
    for (number, line) in datasets::jsonl_lines(&bytes) {
        match line.and_then(|line| datasets::parse_theorem(number, line)) {
            Ok(theorem) => theorems.push(theorem),
            Err(error) => malformed.push(error),
        }
    }
    if let Some(first) = malformed.first() {
        bail!(
            "{what} {}: {first}{}",
            path.display(),
            if malformed.len() > 1 {
                format!(" (and {} more malformed rows)", malformed.len() - 1)
            } else {
                String::new()
            }
        );
    }
    let mut seen = HashSet::new();
    for theorem in &theorems {
        if !seen.insert(theorem.name.clone()) {
            bail!(
                "{what} {}: the name `{}` appears twice; results are keyed by name",
                path.display(),
                theorem.name
            );
        }
    }
    Ok((bytes, theorems))
}

/// What must be equal for two `eval` runs to write into one results file: the policy identity,
/// every search setting, the recheck's, and the Lean pins.
pub(super) fn eval_config(
    config: &prover::engine::ProveConfig,
    pool: &lean_bridge::PoolConfig,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let budget = config.budget();
    let mut map = manifest::lean_pins(pool);
    for (key, value) in [
        ("policy", json!(budget.policy)),
        ("width", json!(budget.width)),
        ("alpha", json!(budget.alpha)),
        ("max_expansions", json!(budget.max_expansions)),
        ("max_time_ms", json!(budget.max_time_ms)),
        ("max_env_calls", json!(budget.max_env_calls)),
        ("tactic_deadline_ms", json!(budget.tactic_deadline_ms)),
        (
            "statement_deadline_ms",
            json!(config.statement_deadline.as_millis() as u64),
        ),
        (
            "recheck_timeout_ms",
            json!(config.check.timeout.as_millis() as u64),
        ),
        (
            "recheck_allow_native_decide",
            json!(config.check.guard.allow_native_decide),
        ),
    ] {
        map.insert(key.to_owned(), value);
    }
    map
}

/// ", from the cache, 2 Lean timeouts, 1 REPL crash, 3 model failures": where a verdict came
/// from and the faults a theorem met, if any.
fn fault_note(result: &ProveResult) -> String {
    let plural = |n: u32, one: &str| format!(", {n} {one}{}", if n == 1 { "" } else { "s" });
    let mut note = String::new();
    if result.from_cache {
        note += ", from the cache";
    }
    if result.lean_timeouts > 0 {
        note += &plural(result.lean_timeouts, "Lean timeout");
    }
    if result.lean_crashes > 0 {
        note += &plural(result.lean_crashes, "REPL crash");
    }
    if result.policy_errors > 0 {
        note += &plural(result.policy_errors, "model failure");
    }
    note
}

fn status_word(status: ProveStatus) -> &'static str {
    match status {
        ProveStatus::Proved => "proved",
        ProveStatus::Failed => "failed",
        ProveStatus::Error => "error",
    }
}

#[derive(Default)]
struct Tally {
    proved: usize,
    failed: usize,
    error: usize,
    lean_calls: u64,
    search_seconds: f64,
    lean_timeouts: u64,
    lean_crashes: u64,
    policy_errors: u64,
}

impl Tally {
    fn add(&mut self, result: &ProveResult) {
        match result.status {
            ProveStatus::Proved => self.proved += 1,
            ProveStatus::Failed => self.failed += 1,
            ProveStatus::Error => self.error += 1,
        }
        self.lean_calls += u64::from(result.lean_calls);
        self.search_seconds += result.seconds;
        self.lean_timeouts += u64::from(result.lean_timeouts);
        self.lean_crashes += u64::from(result.lean_crashes);
        self.policy_errors += u64::from(result.policy_errors);
    }

    fn total(&self) -> usize {
        self.proved + self.failed + self.error
    }

    fn pass_rate(&self) -> f64 {
        100.0 * self.proved as f64 / self.total().max(1) as f64
    }
}

/// The summary on stderr: the counts cover every theorem of the dataset the output file
/// decides (earlier runs included); times and calls are this run's.
fn print_summary(tally: &Tally, earlier: &Tally, seconds: f64, workers: usize, concurrency: usize) {
    let whole = Tally {
        proved: tally.proved + earlier.proved,
        failed: tally.failed + earlier.failed,
        error: tally.error + earlier.error,
        ..Tally::default()
    };
    note!();
    if earlier.total() > 0 {
        note!(
            "  theorems     {:>8} ({} this run, {} from earlier runs into this file)",
            whole.total(),
            tally.total(),
            earlier.total()
        );
    } else {
        note!("  theorems     {:>8}", whole.total());
    }
    note!("  proved       {:>8}", whole.proved);
    note!("  failed       {:>8}", whole.failed);
    note!("  error        {:>8}", whole.error);
    note!("  pass rate    {:>7.1}%", whole.pass_rate());
    note!("  wall time    {:>7.1}s", seconds);
    note!(
        "  search time  {:>7.1}s (summed over theorems)",
        tally.search_seconds
    );
    note!("  Lean calls   {:>8}", tally.lean_calls);
    note!(
        "  Lean faults  {:>8} ({} timeouts, {} crashes)",
        tally.lean_timeouts + tally.lean_crashes,
        tally.lean_timeouts,
        tally.lean_crashes
    );
    note!(
        "  model faults {:>8} (failed proposals)",
        tally.policy_errors
    );
    note!("  REPLs {workers}, theorems at once {concurrency}");
}
