//! Benchmark: a cold `prover eval` against a warm rerun into a fresh output file (so resuming
//! skips nothing), and a rerun with a larger budget over a cache filled by a small one, over a
//! generated world (sim-repl at a fixed latency per request, simulated model server).
//!
//! `cargo bench -p prover-tests --bench cache` prints wall times, Lean calls and the requests
//! the simulated REPL received. Under `cargo test` it runs a tiny smoke version.

use std::path::Path;
use std::time::Instant;

use prover_tests::harness::{prover_command, vocabulary_server, write_generated_world};
use prover_tests::worldgen::WorldSpec;
use serde_json::Value;

struct Run {
    label: &'static str,
    seconds: f64,
    lean_calls: u64,
    tactic_requests: usize,
    commands: usize,
    proved: usize,
}

fn requests_since(log: &Path, skip: usize) -> (usize, usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut tactics = 0;
    let mut commands = 0;
    for line in lines.iter().skip(skip) {
        let request: Value = serde_json::from_str(line).unwrap();
        if request.get("tactic").is_some() {
            tactics += 1;
        } else if request.get("cmd").is_some() {
            commands += 1;
        }
    }
    (tactics, commands, lines.len())
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (theorems, latency_ms) = if measuring { (32, 5) } else { (3, 0) };
    let spec = WorldSpec {
        theorems,
        depth: 4,
        branching: 4,
        dead_end_rate: 0.3,
        repeat_rate: 0.2,
        unprovable_rate: 0.25,
        seed: 99,
        tactic_vocabulary: 6,
        ..WorldSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_generated_world(&spec, dir.path());
    let (world, dataset) = (files.world, files.dataset);
    let server = vocabulary_server(spec.tactic_vocabulary, dir.path());
    let url = format!("http://{}/v1", server.addr());
    // One log and one REPL command line for every run: the command is part of the cache key.
    let log = dir.path().join("sim.log");
    let repl_cmd = format!(
        "{} --world {} --log {} --latency-ms {latency_ms}",
        env!("CARGO_BIN_EXE_sim-repl"),
        world.display(),
        log.display()
    );

    // Built (or found built) before any clock starts: the cold run would time the build.
    prover_tests::harness::prover_bin();
    let mut logged = 0;
    let mut run = |label: &'static str, cache: &Path, expansions: &str| {
        let out = dir.path().join(format!("{label}.jsonl").replace(' ', "-"));
        let started = Instant::now();
        let output = prover_command()
            .args([
                "eval",
                "--workers",
                "2",
                "--width",
                "8",
                "--max-expansions",
                expansions,
            ])
            .args(["--policy", "openai", "--samples", "16", "--llm-url", &url])
            .arg("--cache")
            .arg(cache)
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
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let results: Vec<Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let (tactic_requests, commands, total) = requests_since(&log, logged);
        logged = total;
        Run {
            label,
            seconds,
            lean_calls: results
                .iter()
                .map(|r| r["lean_calls"].as_u64().unwrap())
                .sum(),
            tactic_requests,
            commands,
            proved: results.iter().filter(|r| r["status"] == "proved").count(),
        }
    };
    let full = dir.path().join("cache-full");
    let partial = dir.path().join("cache-partial");
    let runs = [
        run("cold", &full, "200"),
        run("warm rerun", &full, "200"),
        run("small budget", &partial, "3"),
        run("larger budget", &partial, "200"),
    ];
    assert_eq!(runs[1].tactic_requests, 0, "a warm rerun sends no tactic");
    if !measuring {
        println!(
            "cache bench smoke run: ok; run `cargo bench -p prover-tests --bench cache` for figures"
        );
        return;
    }
    println!(
        "prover eval, {theorems} generated theorems, sim-repl at {latency_ms} ms per request, 2 workers, width 8"
    );
    println!("  run            wall s  Lean calls  tactic requests  commands  proved");
    for r in &runs {
        println!(
            "  {:<13} {:>7.2}  {:>10}  {:>15}  {:>8}  {:>3}/{theorems}",
            r.label, r.seconds, r.lean_calls, r.tactic_requests, r.commands, r.proved
        );
    }
}
