//! Benchmark: `prover eval` throughput against sim-repl at 50 ms per tactic, with 1, 4 and 16
//! REPL workers, over a generated world. The simulated model server proposes the world's whole
//! tactic vocabulary, so every provable theorem can be found; the cache is off.
//!
//! `cargo bench -p prover-tests --bench eval` prints the figures (`-- --bench --workers 16`:
//! one row), with the requests the pool spent replaying proof states on another REPL. Under `cargo test` (no
//! `--bench` argument) it runs a tiny smoke version and prints no measurement.
//!
//! Where the wall time goes: `prover eval` logs its milestones (`PROVER_LOG=prover::timeline=debug`:
//! session open, preflight passed, each search's start and row, batch done, pool shut down), and
//! the bench replays the rows' own search times (`seconds`) in dispatch order on as many slots
//! as the run had (each theorem to the slot that frees first) to predict the ideal. A second
//! table splits the wall time: start-up (launch to the first search), the batch beyond that
//! prediction (hand-over gaps between a row and the next search, time outside `seconds`), the
//! pool's shutdown, and the exit (summary, runtime teardown).

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use prover_tests::harness::{prover_command, vocabulary_server, write_generated_world};
use prover_tests::worldgen::WorldSpec;

struct Run {
    workers: usize,
    seconds: f64,
    theorems: usize,
    proved: usize,
    lean_calls: u64,
    /// Requests spent rebuilding a proof state on another REPL (`prover eval`'s summary).
    replays: u64,
    timeline: Timeline,
}

/// Where one run's wall time went, in seconds from the launch.
#[derive(Default)]
struct Timeline {
    /// The searches' own times replayed in dispatch order (the dataset's) on `workers` slots.
    predicted: f64,
    /// The same replay in the order the searches started in the log; equal to `predicted`
    /// when the batch dispatches in the dataset's order.
    replayed_as_started: f64,
    /// The searches' own times summed over the slots: the prediction with no imbalance.
    balanced: f64,
    session_open: f64,
    preflight: f64,
    first_search: f64,
    last_row: f64,
    batch_done: f64,
    shut_down: f64,
    /// Summed over searches: from its row to the next search's start on the freed slot.
    handover: f64,
    /// Summed over searches: from its start to its row, beyond its own `seconds`.
    outside_seconds: f64,
}

/// Seconds since midnight UTC of a log line's RFC 3339 timestamp (`2026-01-01T12:00:00.123456Z`).
fn time_of_day(line: &str) -> Option<f64> {
    let (_, rest) = line.split_once('T')?;
    let stamp = rest.split(['Z', ' ']).next()?;
    let mut parts = stamp.split(':');
    let (h, m, s): (f64, f64, f64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    Some(h * 3600.0 + m * 60.0 + s)
}

fn now_of_day() -> f64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    since.as_secs_f64() % 86_400.0
}

/// Reads the run's milestones from its log (`launched`: the launch's time of day) and
/// replays the rows' search times in dispatch order (`order`: the dataset's names).
fn timeline(
    stderr: &str,
    launched: f64,
    rows: &[serde_json::Value],
    order: &[String],
    slots: usize,
) -> Timeline {
    let mut t = Timeline::default();
    let seconds: HashMap<&str, f64> = rows
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["seconds"].as_f64().unwrap()))
        .collect();
    let replay = |order: &[String]| {
        let mut free = vec![0.0f64; slots.max(1)];
        for name in order {
            let slot = (0..free.len())
                .min_by(|&a, &b| free[a].total_cmp(&free[b]))
                .unwrap();
            free[slot] += seconds.get(name.as_str()).copied().unwrap_or(0.0);
        }
        free.iter().copied().fold(0.0, f64::max)
    };
    t.predicted = replay(order);
    t.balanced = seconds.values().sum::<f64>() / slots.max(1) as f64;
    let (mut starts, mut written) = (Vec::new(), Vec::new());
    let mut started_at: HashMap<String, f64> = HashMap::new();
    let mut started_order: Vec<String> = Vec::new();
    for line in stderr.lines().filter(|l| l.contains("prover::timeline")) {
        let Some(at) = time_of_day(line) else {
            continue;
        };
        // A run across midnight UTC.
        let at = if at < launched - 43_200.0 {
            at + 86_400.0
        } else {
            at
        } - launched;
        let theorem = line
            .split_once("theorem=")
            .map(|(_, name)| name.trim().to_owned());
        if line.contains("session open") {
            t.session_open = at;
        } else if line.contains("preflight passed") {
            t.preflight = at;
        } else if line.contains("search started") {
            starts.push(at);
            started_order.push(theorem.clone().unwrap_or_default());
            started_at.insert(theorem.unwrap_or_default(), at);
        } else if line.contains("row written") {
            written.push(at);
            let name = theorem.unwrap_or_default();
            let own = seconds.get(name.as_str()).copied().unwrap_or(0.0);
            if let Some(start) = started_at.get(&name) {
                t.outside_seconds += (at - start - own).max(0.0);
            }
        } else if line.contains("batch done") {
            t.batch_done = at;
        } else if line.contains("pool shut down") {
            t.shut_down = at;
        }
    }
    t.replayed_as_started = replay(&started_order);
    t.first_search = starts.first().copied().unwrap_or(0.0);
    t.last_row = written.last().copied().unwrap_or(0.0);
    // The searches past the first wave start as rows free their slots, in order.
    for (row, start) in written.iter().zip(starts.iter().skip(slots)) {
        t.handover += (start - row).max(0.0);
    }
    t
}

/// The replay requests `prover eval`'s summary reports on stderr (none when it prints none).
fn replay_requests(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|line| {
            let (_, after) = line.split_once("REPL requests")?;
            let (_, inside) = after.split_once('(')?;
            inside.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench");
    let (theorems, latency_ms, mut worker_counts): (usize, u64, Vec<usize>) = if measuring {
        (48, 50, vec![1, 4, 16])
    } else {
        (3, 1, vec![1, 2])
    };
    // `-- --bench --workers 16`: one worker count only (a before/after comparison of one row).
    if let Some(at) = args.iter().position(|a| a == "--workers") {
        let count = args.get(at + 1).and_then(|n| n.parse().ok());
        worker_counts = vec![count.expect("--workers takes a number")];
    }
    let spec = WorldSpec {
        theorems,
        depth: 3,
        branching: 4,
        dead_end_rate: 0.2,
        repeat_rate: 0.1,
        unprovable_rate: 0.2,
        seed: 7,
        tactic_vocabulary: 9,
        ..WorldSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_generated_world(&spec, dir.path());
    let (world, dataset) = (files.world, files.dataset);
    let provable = files.provable.values().filter(|p| **p).count();
    // The dispatch order: the dataset's.
    let order: Vec<String> = std::fs::read_to_string(&dataset)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let server = vocabulary_server(spec.tactic_vocabulary, dir.path());
    let url = format!("http://{}/v1", server.addr());

    // Built (or found built) before any clock starts: the first run would time the build.
    prover_tests::harness::prover_bin();
    let mut runs = Vec::new();
    for &workers in &worker_counts {
        let out = dir.path().join(format!("results-{workers}.jsonl"));
        let repl_cmd = format!(
            "{} --world {} --latency-ms {latency_ms}",
            env!("CARGO_BIN_EXE_sim-repl"),
            world.display()
        );
        let launched = now_of_day();
        let started = Instant::now();
        let output = prover_command()
            .env("PROVER_LOG", "warn,prover::timeline=debug")
            .args([
                "eval",
                "--fresh",
                "--no-cache",
                "--width",
                "8",
                "--max-expansions",
                "30",
            ])
            .args(["--policy", "openai", "--samples", "16", "--llm-url", &url])
            .args(["--workers", &workers.to_string()])
            // sim-repl needs a few MiB, not a Mathlib REPL's gigabytes.
            .args(["--repl-memory-estimate", "0.05"])
            .args(["--concurrency", &workers.to_string()])
            .arg("--dataset")
            .arg(&dataset)
            .arg("--out")
            .arg(&out)
            .arg("--repl-cmd")
            .arg(&repl_cmd)
            .output()
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert!(
            output.status.success(),
            "eval failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let results: Vec<serde_json::Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let timeline = timeline(&stderr, launched, &results, &order, workers);
        runs.push(Run {
            workers,
            seconds,
            timeline,
            theorems: results.len(),
            proved: results.iter().filter(|r| r["status"] == "proved").count(),
            lean_calls: results
                .iter()
                .map(|r| r["lean_calls"].as_u64().unwrap())
                .sum(),
            replays: replay_requests(&stderr),
        });
    }
    if !measuring {
        println!(
            "eval bench smoke run: ok; run `cargo bench -p prover-tests --bench eval` for figures"
        );
        return;
    }
    println!(
        "prover eval over a generated world: {theorems} theorems ({provable} provable), sim-repl at {latency_ms} ms per request, simulated model proposing the whole vocabulary, width 8, 30 expansions max, no cache"
    );
    println!("  workers  wall s  theorems/s  Lean calls  calls/s  proved  replay requests");
    for run in &runs {
        println!(
            "  {:>7}  {:>6.1}  {:>10.2}  {:>10}  {:>7.1}  {:>3}/{}  {:>15}",
            run.workers,
            run.seconds,
            run.theorems as f64 / run.seconds,
            run.lean_calls,
            run.lean_calls as f64 / run.seconds,
            run.proved,
            run.theorems,
            run.replays
        );
    }
    if let Some(one) = runs.iter().find(|r| r.workers == 1) {
        for run in runs.iter().filter(|r| r.workers > 1) {
            println!(
                "  {} workers vs 1: {:.2}x (predicted from the rows' own search times in dispatch order: {:.2}x)",
                run.workers,
                one.seconds / run.seconds,
                one.timeline.predicted / run.timeline.predicted
            );
        }
    }
    println!(
        "where the wall time goes (s from launch; predicted: the rows' own search times replayed in dispatch order; balanced: the same with no tail imbalance)"
    );
    println!(
        "  workers  wall  predicted  as started  balanced  session  preflight  1st search  batch done  shut down  start-up  batch-pred  shutdown  exit  handover  outside"
    );
    for run in &runs {
        let t = &run.timeline;
        println!(
            "  {:>7}  {:>4.2}  {:>9.2}  {:>10.2}  {:>8.2}  {:>7.2}  {:>9.2}  {:>10.2}  {:>10.2}  {:>9.2}  {:>8.2}  {:>10.2}  {:>8.2}  {:>4.2}  {:>8.2}  {:>7.2}",
            run.workers,
            run.seconds,
            t.predicted,
            t.replayed_as_started,
            t.balanced,
            t.session_open,
            t.preflight,
            t.first_search,
            t.batch_done,
            t.shut_down,
            t.first_search,
            t.batch_done - t.first_search - t.predicted,
            t.shut_down - t.batch_done,
            run.seconds - t.shut_down,
            t.handover,
            t.outside_seconds
        );
    }
}
