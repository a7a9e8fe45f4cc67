//! Benchmark: one theorem's wall time to its first proof with parallel expansion (`--search-parallelism P`, P = 1, 2, 4, 8) against sim-repl at 50 ms per tactic and a simulated model server answering in 100 ms.
//!
//! `cargo bench -p prover-tests --bench parallel` prints the figures: per P, the theorem's own
//! search seconds (the result row's `seconds`, so process start-up and the REPLs' start are not
//! in it), the speed-up over P = 1 and the target 0.75·P of issue 26. Every run uses the same
//! pool of 8 simulated REPLs, so only P changes. Under `cargo test` (no `--bench` argument) it
//! runs a quick version (1 ms per tactic, P = 1 and 2) that checks the runs agree and prints no
//! measurement. Pipelined policy calls are not built yet, so there is one column.

use prover_tests::harness::{
    ProverRun, SimRepl, read_jsonl, vocabulary_server_with, write_generated_world,
};
use prover_tests::openai_sim::{Faults, Options};
use prover_tests::worldgen::WorldSpec;

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (latency_ms, model_ms, parallelisms): (u64, u64, &[usize]) = if measuring {
        (50, 100, &[1, 2, 4, 8])
    } else {
        (1, 1, &[1, 2])
    };
    // Deep and bushy, with many failing tactics: the proof takes several expansions, and each
    // expansion runs the whole vocabulary (8 tactics).
    let spec = WorldSpec {
        theorems: 8,
        depth: 4,
        branching: 4,
        dead_end_rate: 0.2,
        repeat_rate: 0.1,
        unprovable_rate: 0.0,
        seed: 11,
        tactic_vocabulary: 8,
        ..WorldSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_generated_world(&spec, dir.path());
    let (name, _) = files
        .provable
        .iter()
        .find(|(_, provable)| **provable)
        .expect("the world has a provable theorem");
    let row = std::fs::read_to_string(&files.dataset)
        .unwrap()
        .lines()
        .find(|line| line.contains(&format!("\"{name}\"")))
        .expect("the theorem's row")
        .to_owned();
    let dataset = dir.path().join("one.jsonl");
    std::fs::write(&dataset, format!("{row}\n")).unwrap();
    let options = Options {
        faults: Faults {
            delay_ms: model_ms,
            ..Faults::default()
        },
        ..Options::default()
    };
    let server = vocabulary_server_with(spec.tactic_vocabulary, dir.path(), options);
    let url = format!("http://{}/v1", server.addr());
    prover_tests::harness::prover_bin();
    let mut rows = Vec::new();
    for &parallelism in parallelisms {
        let out = dir.path().join(format!("results-{parallelism}.jsonl"));
        let sim = SimRepl::world(&files.world).latency_ms(latency_ms);
        let output = ProverRun::new("eval")
            .args(["--fresh", "--no-cache", "--width", "8"])
            .args(["--policy", "openai", "--samples", "8", "--llm-url", &url])
            .args(["--workers", "8", "--repl-memory-estimate", "0.05"])
            .args(["--concurrency", "1"])
            .args(["--search-parallelism", &parallelism.to_string()])
            .path("--dataset", &dataset)
            .path("--out", &out)
            .repl(&sim)
            .output();
        assert!(
            output.status.success(),
            "eval failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let result = read_jsonl(&out).remove(0);
        assert_eq!(result["status"], "proved", "{result}");
        rows.push((parallelism, result));
    }
    let (_, first) = &rows[0];
    for (parallelism, result) in &rows {
        // The same search whatever P: the same proof after the same expansions.
        assert_eq!(result["proof"], first["proof"], "P = {parallelism}");
        assert_eq!(
            result["expansions"], first["expansions"],
            "P = {parallelism}"
        );
    }
    if !measuring {
        println!(
            "parallel bench smoke run: ok; run `cargo bench -p prover-tests --bench parallel` for figures"
        );
        return;
    }
    let seconds = |result: &serde_json::Value| result["seconds"].as_f64().unwrap_or(f64::NAN);
    let base = seconds(first);
    println!(
        "one theorem ({name}), sim-repl at {latency_ms} ms per tactic, simulated model at {model_ms} ms, width 8, 8 REPLs, no cache; {} expansions, {} env calls to the first proof",
        first["expansions"], first["lean_calls"]
    );
    println!("  P  search s  speed-up  target 0.75·P  Lean calls");
    for (parallelism, result) in &rows {
        let s = seconds(result);
        println!(
            "  {parallelism}  {s:>8.2}  {:>8.2}  {:>13.2}  {:>10}",
            base / s,
            0.75 * *parallelism as f64,
            result["lean_calls"]
        );
    }
}
