//! Benchmark: `prover eval` throughput against sim-repl at 50 ms per tactic, with 1, 4 and 16
//! REPL workers, over a generated world. The simulated model server proposes the world's whole
//! tactic vocabulary, so every provable theorem can be found; the cache is off.
//!
//! `cargo bench -p prover-tests --bench eval` prints the figures (`-- --bench --workers 16`:
//! one row), with the requests the pool spent replaying proof states on another REPL. Under `cargo test` (no
//! `--bench` argument) it runs a tiny smoke version and prints no measurement.

use std::time::Instant;

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
        let started = Instant::now();
        let output = prover_command()
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
        runs.push(Run {
            workers,
            seconds,
            theorems: results.len(),
            proved: results.iter().filter(|r| r["status"] == "proved").count(),
            lean_calls: results
                .iter()
                .map(|r| r["lean_calls"].as_u64().unwrap())
                .sum(),
            replays: replay_requests(&String::from_utf8_lossy(&output.stderr)),
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
}
