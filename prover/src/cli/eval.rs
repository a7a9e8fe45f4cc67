//! `prover eval`: searches every theorem of a dataset, appending one result per theorem as it is
//! decided, and resumes from what the output already holds.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use lean_bridge::pool::ReplPool;
use tokio::sync::{Semaphore, mpsc};

use super::EvalArgs;
use super::config::{self, Settings};
use super::interrupt::Interrupt;
use super::policy::{ModelOutage, PolicyFactory};
use crate::datasets;
use crate::engine::{Engine, ProveResult, ProveStatus};

/// Runs `prover eval`.
pub(super) fn run(args: EvalArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.dataset)
        .with_context(|| format!("cannot read dataset {}", args.dataset.display()))?;
    let mut theorems = Vec::new();
    let mut malformed = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match datasets::parse_theorem(index + 1, line) {
            Ok(theorem) => theorems.push(theorem),
            Err(error) => malformed.push(error),
        }
    }
    if let Some(first) = malformed.first() {
        bail!(
            "dataset {}: {first}{}",
            args.dataset.display(),
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
                "dataset {}: the name `{}` appears twice; results are keyed by name",
                args.dataset.display(),
                theorem.name
            );
        }
    }

    let (mut out, decided) = open_results(&args.out, args.fresh)?;
    let total = theorems.len();
    theorems.retain(|t| !decided.contains(&t.name));
    if !decided.is_empty() {
        eprintln!(
            "prover eval: {} of {total} theorems already decided in {}; skipping them (--fresh to redo)",
            total - theorems.len(),
            args.out.display()
        );
    }

    let pool_config = config::pool_config(&args.repl, settings)?;
    let workers = pool_config.workers;
    let concurrency = args
        .concurrency
        .or(settings.search.concurrency)
        .unwrap_or(workers)
        .max(1);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let factory = Arc::new(PolicyFactory::new(
        &args.search,
        settings,
        runtime.handle(),
    )?);
    let mut prove_config = config::prove_config(&args.search, settings)?;
    prove_config.policy_id = factory.id();
    let prove_config = Arc::new(prove_config);
    let cache = super::cache::open_for_run(&args.cache, settings, &pool_config)?;

    let started = Instant::now();
    let mut tally = Tally::default();
    let todo = theorems.len();
    let outage: Arc<Mutex<Option<ModelOutage>>> = Arc::default();
    let mut pool_stats = None;
    let interrupt = Interrupt::install(&runtime)?;
    runtime.block_on(async {
        let engine = Engine {
            pool: Arc::new(ReplPool::new(pool_config)),
            runtime: tokio::runtime::Handle::current(),
            cache: cache.clone(),
        };
        let permits = Arc::new(Semaphore::new(concurrency));
        let (sender, mut receiver) = mpsc::unbounded_channel::<ProveResult>();
        for theorem in theorems {
            let (engine, permits, sender) = (engine.clone(), permits.clone(), sender.clone());
            let (factory, prove_config) = (factory.clone(), prove_config.clone());
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
                if let Err(stop) = factory.wait_for_model().await {
                    outage
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(stop);
                    return;
                }
                let name = theorem.name.clone();
                let result = tokio::task::spawn_blocking(move || {
                    factory.prove(&engine, &theorem, &prove_config)
                })
                .await
                .unwrap_or_else(|panic| crashed(&name, &panic.to_string()));
                let _ = sender.send(result);
            });
        }
        drop(sender);
        loop {
            let result = tokio::select! {
                biased;
                () = interrupt.wait() => break,
                result = receiver.recv() => match result {
                    Some(result) => result,
                    None => break,
                },
            };
            // A search cut short by the signal is no verdict: the rerun redoes it.
            if interrupt.signal().is_some() {
                break;
            }
            append_result(&mut out, &result, &args.out)?;
            tally.add(&result);
            eprintln!(
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
        pool_stats = Some(engine.pool.stats());
        if interrupt.signal().is_none() {
            engine.pool.shutdown().await;
        }
        anyhow::Ok(())
    })?;

    let seconds = started.elapsed().as_secs_f64();
    print_summary(&tally, seconds, workers, concurrency);
    if let Some(stats) = pool_stats {
        eprintln!(
            "  REPL restarts {:>7} ({} timeouts), {} started",
            stats.restarts, stats.timeouts, stats.spawned
        );
    }
    let stopped = outage.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(signal) = interrupt.signal() {
        super::cache::finish_run(cache.as_ref());
        eprintln!(
            "prover eval: stopped by {}: {} of {todo} theorems decided and written to {}; rerun \
             the same command to resume",
            Interrupt::name(signal),
            tally.total(),
            args.out.display()
        );
        // Searches still winding down on blocking threads are not waited for.
        runtime.shutdown_background();
        return Ok(Interrupt::exit_code(signal));
    }
    super::cache::finish_run(cache.as_ref());
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
        });
        println!("{summary}");
    }
    if let Some(ModelOutage(message)) = stopped {
        bail!(
            "{message} ({} of {todo} theorems not started)",
            todo - tally.total()
        );
    }
    Ok(if tally.error == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn crashed(name: &str, panic: &str) -> ProveResult {
    ProveResult {
        stop_reason: Some("infrastructure".into()),
        stop_detail: Some(format!("internal error: {panic}")),
        ..ProveResult::unsearched(name, ProveStatus::Error, 0, Instant::now())
    }
}

/// ", 2 Lean timeouts, 1 REPL crash, 3 model failures" for the faults a theorem met, if any.
fn fault_note(result: &ProveResult) -> String {
    let plural = |n: u32, one: &str| format!(", {n} {one}{}", if n == 1 { "" } else { "s" });
    let mut note = String::new();
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

fn print_summary(tally: &Tally, seconds: f64, workers: usize, concurrency: usize) {
    eprintln!();
    eprintln!("  theorems     {:>8}", tally.total());
    eprintln!("  proved       {:>8}", tally.proved);
    eprintln!("  failed       {:>8}", tally.failed);
    eprintln!("  error        {:>8}", tally.error);
    eprintln!("  pass rate    {:>7.1}%", tally.pass_rate());
    eprintln!("  wall time    {:>7.1}s", seconds);
    eprintln!(
        "  search time  {:>7.1}s (summed over theorems)",
        tally.search_seconds
    );
    eprintln!("  Lean calls   {:>8}", tally.lean_calls);
    eprintln!(
        "  Lean faults  {:>8} ({} timeouts, {} crashes)",
        tally.lean_timeouts + tally.lean_crashes,
        tally.lean_timeouts,
        tally.lean_crashes
    );
    eprintln!(
        "  model faults {:>8} (failed proposals)",
        tally.policy_errors
    );
    eprintln!("  REPLs {workers}, theorems at once {concurrency}");
}

/// Opens the results file for appending and returns the names it already decides.
///
/// A last line cut short by a crash (no newline, or not JSON) is cut off so that its theorem
/// is searched again and the file stays one JSON object per line.
fn open_results(path: &Path, fresh: bool) -> anyhow::Result<(File, HashSet<String>)> {
    if path.exists() && !path.is_file() {
        bail!(
            "results {} exist but are not a regular file; pass a file path to --out",
            path.display()
        );
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open results {}", path.display()))?;
    if fresh {
        file.set_len(0)
            .with_context(|| format!("cannot truncate results {}", path.display()))?;
        return Ok((file, HashSet::new()));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .with_context(|| format!("cannot read results {}", path.display()))?;
    let mut decided = HashSet::new();
    let mut good_len = 0usize;
    for line in text.split_inclusive('\n') {
        let complete = line.ends_with('\n');
        let parsed = serde_json::from_str::<ProveResult>(line.trim_end());
        match (complete, parsed) {
            (true, Ok(result)) => {
                decided.insert(result.name);
                good_len += line.len();
            }
            _ => break,
        }
    }
    if good_len < text.len() {
        let dropped = &text[good_len..];
        eprintln!(
            "prover eval: {}: dropping {} byte(s) after the last complete result (an interrupted write); those theorems run again",
            path.display(),
            dropped.len()
        );
        file.set_len(good_len as u64)
            .with_context(|| format!("cannot repair results {}", path.display()))?;
    }
    file.seek(SeekFrom::End(0))?;
    Ok((file, decided))
}

fn append_result(out: &mut File, result: &ProveResult, path: &Path) -> anyhow::Result<()> {
    let mut line = serde_json::to_string(result).context("cannot encode a result")?;
    line.push('\n');
    out.write_all(line.as_bytes())
        .and_then(|()| out.sync_data())
        .with_context(|| format!("cannot write results to {}", path.display()))
}
