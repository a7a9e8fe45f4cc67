//! `prover eval`: searches every theorem of a dataset, appending one result per theorem as it is
//! decided, and resumes from what the output already holds.

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ::datasets::output::{FileKind, Input, Output, Target};
use anyhow::bail;
use tokio::sync::{Semaphore, mpsc};

use super::EvalArgs;
use super::interrupt::Interrupt;
use super::manifest;
use super::preflight;
use super::results_file;
use crate::exit;
use prover::engine::{ProveResult, ProveStatus};
use prover::policy::ModelOutage;
use prover::session::Session;
use prover::settings::{self, SettingsFile};

/// Runs `prover eval`.
pub(super) fn run(args: EvalArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let manifest_path = ::datasets::RunManifest::path_for(&args.out);
    let mut inputs = vec![Input {
        flag: "--dataset",
        path: &args.dataset,
    }];
    let mut outputs = vec![
        Output {
            flag: "--out",
            path: &args.out,
            target: Target::File(FileKind::EvalResults),
        },
        Output {
            flag: "the manifest of --out",
            path: &manifest_path,
            target: Target::File(FileKind::Manifest),
        },
    ];
    outputs.extend(super::common::trace_output(args.trace.as_deref()));
    super::common::session_files(&args.session, &mut inputs, &mut outputs);
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;
    let (bytes, theorems) = super::common::read_dataset(&args.dataset, "dataset")?;
    if args.attempts == 0 || args.attempts > MAX_ATTEMPTS {
        bail!(
            "--attempts must be from 1 to {MAX_ATTEMPTS}, got {}",
            args.attempts
        );
    }
    let several = args.attempts > 1;

    let input = manifest::dataset_input(&args.dataset, &bytes, &theorems);
    let (mut out, earlier) =
        results_file::open::<ProveResult>(&args.out, "eval", args.fresh, &[&args.dataset])?;
    // The rows that stand (an `error` row gives way to a later row for its attempt). One
    // decides an attempt at a theorem (rows without a number are attempt 0), unless it ended
    // `error`: an outage or a crash is no verdict, so that attempt is searched again and its
    // new row takes the old one's place.
    let had_rows = !earlier.is_empty();
    let earlier = ::datasets::standing_results(earlier);
    let errored: HashSet<(String, u32)> = earlier
        .iter()
        .filter(|r| r.status == ProveStatus::Error)
        .map(|r| (r.name.clone(), r.attempt.unwrap_or(0)))
        .collect();
    let retried = errored.len();
    let earlier: Vec<ProveResult> = earlier
        .into_iter()
        .filter(|r| r.status != ProveStatus::Error)
        .collect();
    let decided: HashSet<(String, u32)> = earlier
        .iter()
        .map(|r| (r.name.clone(), r.attempt.unwrap_or(0)))
        .collect();
    if retried > 0 {
        note!(
            "prover eval: {retried} result(s) in {} ended `error` (no verdict); searching them again",
            args.out.display()
        );
    }
    let dataset_names: HashSet<String> = theorems.iter().map(|t| t.name.clone()).collect();
    let total = theorems.len() * args.attempts as usize;
    let searches: Vec<(prover::engine::Theorem, u32)> = theorems
        .iter()
        .flat_map(|t| (0..args.attempts).map(move |a| (t.clone(), a)))
        .filter(|(t, a)| !decided.contains(&(t.name.clone(), *a)))
        .collect();
    if total > searches.len() {
        note!(
            "prover eval: {} of {total} {} already decided in {}; skipping them (--fresh to redo)",
            total - searches.len(),
            if several { "attempts" } else { "theorems" },
            args.out.display()
        );
    }

    // Nothing is left behind when the run cannot start: a results file this run created is
    // removed again.
    let prepared = (|| {
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
            super::common::run_config(session.prove_config(), &pool_config),
            {
                let mut recorded = manifest::repl_record(&pool_config);
                recorded.insert("concurrency".to_owned(), serde_json::json!(concurrency));
                recorded
            },
            input,
            args.fresh,
            had_rows,
        )?;
        anyhow::Ok((session, workers, concurrency, run_manifest))
    })();
    let (session, workers, concurrency, mut run_manifest) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            out.abandon();
            return Err(error);
        }
    };

    let started = Instant::now();
    // The summary covers the whole output file for this dataset, earlier runs included; the
    // progress counter counts this run's theorems.
    let mut earlier_tally = Tally::default();
    let mut solved = Solved::default();
    for result in earlier.iter().filter(|r| dataset_names.contains(&r.name)) {
        earlier_tally.add(result);
        solved.add(result);
    }
    let mut tally = Tally::default();
    let todo = searches.len();
    let prover = attempt_prover(&session, args.attempts);
    let outage: Arc<Mutex<Option<ModelOutage>>> = Arc::default();
    let mut pool_stats = None;
    let interrupt = Interrupt::install(session.handle())?;
    if let Some((first, _)) = searches.first() {
        match preflight::ready(&session, &first.header) {
            Ok(probe) => run_manifest.set_model_probe(probe),
            Err(error) => {
                out.abandon();
                return Err(error);
            }
        }
    }
    run_manifest.start()?;
    let extras = Arc::new(super::common::Extras::new(
        args.session.search.learn_online,
        args.trace.as_deref(),
    )?);
    session.handle().block_on(async {
        let permits = Arc::new(Semaphore::new(concurrency));
        let (sender, mut receiver) = mpsc::unbounded_channel::<ProveResult>();
        for (theorem, attempt) in searches {
            let (prover, permits, sender) = (prover.clone(), permits.clone(), sender.clone());
            let (outage, interrupt, extras) = (outage.clone(), interrupt.clone(), extras.clone());
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
                let attempt = several.then_some(attempt);
                let result =
                    super::common::prove_with_extras(&prover, theorem, &extras, attempt).await;
                let _ = sender.send(result);
            });
        }
        drop(sender);
        while let Some(mut result) = interrupt.next(&mut receiver).await {
            // The row takes the place of the `error` row of the same attempt, for every reader.
            result.replaces_error =
                errored.contains(&(result.name.clone(), result.attempt.unwrap_or(0)));
            out.append(&result)?;
            tally.add(&result);
            solved.add(&result);
            note!(
                "[{}/{todo}] {:<7} {}{} ({:.1}s, {} Lean calls{}) | pass rate {:.1}%",
                tally.total(),
                status_word(result.status),
                result.name,
                result
                    .attempt
                    .map_or(String::new(), |a| format!(" (attempt {a})")),
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
        super::common::save_model(&session, path)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    print_summary(&tally, &earlier_tally, seconds, workers, concurrency);
    if several {
        note!(
            "  pass@{:<6} {:>7.1}% ({} of {} theorems proved in some attempt)",
            args.attempts,
            100.0 * solved.proved() as f64 / dataset_names.len().max(1) as f64,
            solved.proved(),
            dataset_names.len()
        );
    }
    if let Some(stats) = pool_stats {
        note!(
            "  REPL restarts {:>7} ({} timeouts), {} started",
            stats.restarts,
            stats.timeouts,
            stats.spawned
        );
    }
    super::common::print_model_summary(&session);
    let stopped = outage.lock().unwrap_or_else(|p| p.into_inner()).take();
    run_manifest.finish(&[
        ("proved", tally.proved + earlier_tally.proved),
        ("failed", tally.failed + earlier_tally.failed),
        ("error", tally.error + earlier_tally.error),
    ])?;
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
            "attempts": args.attempts,
            "theorems_proved_in_some_attempt": solved.proved(),
            "seconds": seconds,
            "lean_calls": tally.lean_calls,
            "lean_timeouts": tally.lean_timeouts,
            "lean_crashes": tally.lean_crashes,
            "policy_errors": tally.policy_errors,
            "model": super::common::model_summary_json(&session),
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

/// The most attempts `--attempts` takes.
const MAX_ATTEMPTS: u32 = 1024;

/// The prover of the attempts: the session's for one attempt; for several, one that never
/// reports a verdict the cache recorded, so every attempt is a search of its own (Lean's
/// answers are still shared). Every attempt samples the same model client, so attempts differ
/// only where the model samples: with a temperature and no fixed seed.
fn attempt_prover(session: &Session, attempts: u32) -> prover::session::Prover {
    let prover = session.prover();
    if attempts == 1 {
        return prover;
    }
    let spec = session.policies().spec();
    let samples = spec.llm.as_ref().filter(|_| {
        matches!(
            spec.kind,
            prover::policy::PolicyKind::Openai | prover::policy::PolicyKind::Combined
        )
    });
    match samples {
        None => note!(
            "prover eval: warning: --attempts {attempts} with the {} policy, which proposes the \
             same tactics every time: the attempts repeat one search",
            spec.kind.name()
        ),
        Some(llm) if llm.seed.is_some() => note!(
            "prover eval: warning: --attempts {attempts} with a fixed --seed: the model samples \
             the same tactics every time, so the attempts repeat one search"
        ),
        Some(_) => {}
    }
    let mut config = session.prove_config().clone();
    config.reuse_verdicts = false;
    prover.with_config(config)
}

/// Which theorems some attempt proved.
#[derive(Default)]
struct Solved(std::collections::HashMap<String, bool>);

impl Solved {
    fn add(&mut self, result: &ProveResult) {
        *self.0.entry(result.name.clone()).or_default() |= result.status == ProveStatus::Proved;
    }

    fn proved(&self) -> usize {
        self.0.values().filter(|p| **p).count()
    }
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
