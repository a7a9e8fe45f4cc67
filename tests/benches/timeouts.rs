//! Benchmark: `prover eval` wall time when tactics hang, with no warm spare REPL and with one
//! (`--repl-spares 0` and `1`), against sim-repl elaborating each header in 3 s (as a REPL
//! importing Mathlib takes seconds) and answering tactics in 50 ms.
//!
//! Some of the world's failing tactics are marked to hang (the world format's `"fault":
//! "hang"`: logged, never answered, the process alive), so the search hits a tactic deadline
//! now and then; the pool kills that REPL's process group, and the next request on that slot
//! either elaborates the header again (no spare) or runs on a spare that already has (one
//! spare). `cargo bench -p prover-tests --bench timeouts` prints the figures. Under `cargo test`
//! (no `--bench` argument) it runs a quick version (a 50 ms header, 1 ms tactics) that checks
//! both runs decide the same theorems the same way and that the spare was used, and prints no
//! measurement.

use std::time::Instant;

use prover_tests::harness::{ProverRun, SimRepl, read_jsonl, vocabulary_server};
use prover_tests::world::{Fault, Outcome};
use prover_tests::worldgen::{self, WorldSpec};

/// Every this many failing transitions of the world, one hangs instead of failing.
const HANG_EVERY: usize = 6;

struct Run {
    spares: usize,
    seconds: f64,
    rows: Vec<serde_json::Value>,
    summary: String,
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (theorems, latency_ms, header_ms, tactic_timeout) = if measuring {
        (16, 50, 3000, "1")
    } else {
        (4, 1, 50, "0.3")
    };
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
    let mut generated = worldgen::generate(&spec);
    let mut failing = 0;
    let mut hanging = 0;
    for transition in &mut generated.world.transitions {
        if let Outcome::Error(_) = transition.outcome {
            if failing % HANG_EVERY == 0 {
                transition.fault = Some(Fault::Hang);
                hanging += 1;
            }
            failing += 1;
        }
    }
    let world = dir.path().join("world.json");
    generated.world.save(&world).unwrap();
    let dataset = dir.path().join("dataset.jsonl");
    std::fs::write(
        &dataset,
        worldgen::dataset_jsonl(&generated.world, worldgen::DEFAULT_HEADER),
    )
    .unwrap();
    let server = vocabulary_server(spec.tactic_vocabulary, dir.path());
    let url = format!("http://{}/v1", server.addr());

    // Built (or found built) before any clock starts: the first run would time the build.
    prover_tests::harness::prover_bin();
    let mut runs = Vec::new();
    for spares in [0, 1] {
        let out = dir.path().join(format!("results-{spares}.jsonl"));
        let sim = SimRepl::world(&world)
            .latency_ms(latency_ms)
            .arg("--header-delay-ms")
            .arg(&header_ms.to_string());
        let started = Instant::now();
        let output = ProverRun::new("eval")
            .args([
                "--fresh",
                "--no-cache",
                "--width",
                "8",
                "--max-expansions",
                "30",
            ])
            .args(["--policy", "openai", "--samples", "16", "--llm-url", &url])
            .args(["--workers", "4", "--concurrency", "4"])
            .args(["--repl-memory-estimate", "0.05"])
            .args(["--tactic-timeout", tactic_timeout])
            .args(["--repl-spares", &spares.to_string()])
            .path("--dataset", &dataset)
            .path("--out", &out)
            .repl(&sim)
            .output();
        let seconds = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "eval failed: {stderr}");
        let mut rows = read_jsonl(&out);
        rows.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        let summary = stderr
            .lines()
            .filter(|l| {
                l.contains("REPL restarts")
                    || l.contains("warm spares")
                    || l.contains("REPL respawns")
            })
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ");
        runs.push(Run {
            spares,
            seconds,
            rows,
            summary,
        });
    }
    let timeouts = |run: &Run| -> u64 {
        run.rows
            .iter()
            .map(|r| r["lean_timeouts"].as_u64().unwrap_or(0))
            .sum()
    };
    // A spare changes how fast, never what: the same verdicts, found by the same searches.
    let (cold, warm) = (&runs[0], &runs[1]);
    assert_eq!(cold.rows.len(), warm.rows.len());
    for (a, b) in cold.rows.iter().zip(&warm.rows) {
        assert_eq!(
            (&a["name"], &a["status"], &a["proof"], &a["expansions"]),
            (&b["name"], &b["status"], &b["proof"], &b["expansions"])
        );
    }
    assert!(timeouts(cold) > 0, "no tactic hung: {}", cold.summary);
    assert!(
        spares_used(&warm.summary) > 0,
        "the spare was never used: {}",
        warm.summary
    );
    assert_eq!(spares_used(&cold.summary), 0, "{}", cold.summary);
    if !measuring {
        println!(
            "timeouts bench smoke run: ok; run `cargo bench -p prover-tests --bench timeouts` for figures"
        );
        return;
    }
    println!(
        "prover eval over a generated world: {theorems} theorems, 1 in {HANG_EVERY} failing tactics hangs ({hanging} of {failing}), sim-repl at {latency_ms} ms per tactic and {header_ms} ms per header, --tactic-timeout {tactic_timeout} s, 4 workers, width 8, 30 expansions max, no cache"
    );
    println!("  spares  wall s  timeouts  proved  pool");
    for run in &runs {
        println!(
            "  {:>6}  {:>6.1}  {:>8}  {:>3}/{}  {}",
            run.spares,
            run.seconds,
            timeouts(run),
            run.rows.iter().filter(|r| r["status"] == "proved").count(),
            run.rows.len(),
            run.summary
        );
    }
    println!(
        "  1 spare vs none: {:.2}x faster ({:+.1} s)",
        cold.seconds / warm.seconds,
        warm.seconds - cold.seconds
    );
}

/// The spares the run's summary says were used (`warm spares N used …`; no such line: none).
fn spares_used(summary: &str) -> u64 {
    summary
        .split("warm spares")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map_or(0, |n| n.parse().expect("a count"))
}
