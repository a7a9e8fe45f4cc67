//! Benchmark: a 3-round `prover iterate` over a generated world with easy and hard theorems (sim-repl at a fixed latency per request, simulated model server), one round per invocation so each round's wall time and cache hit rate are its own.
//!
//! `cargo bench -p prover-tests --bench iterate` prints, per round: conjectures, solved by the
//! cheap pass and by the search, SFT and DPO rows, Lean calls, the cache hit rate and wall
//! time. Under `cargo test` it runs a tiny smoke version.

use std::time::Instant;

use prover_tests::harness::{ProverRun, SimRepl, vocabulary_server, write_generated_world};
use prover_tests::worldgen::WorldSpec;
use serde_json::Value;

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (theorems, latency_ms) = if measuring { (40, 5) } else { (4, 0) };
    let spec = WorldSpec {
        theorems,
        depth: 4,
        branching: 4,
        dead_end_rate: 0.3,
        repeat_rate: 0.2,
        unprovable_rate: 0.3,
        seed: 41,
        tactic_vocabulary: 6,
        one_step_every: 4,
        ..WorldSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_generated_world(&spec, dir.path());
    let server = vocabulary_server(spec.tactic_vocabulary, dir.path());
    let url = format!("http://{}/v1", server.addr());
    let sim = SimRepl::world(&files.world).latency_ms(latency_ms);
    let rounds = dir.path().join("rounds");
    let cache = dir.path().join("cache");
    // Built (or found built) before any clock starts.
    prover_tests::harness::prover_bin();
    let mut lines = Vec::new();
    for round in 1..=3u32 {
        let started = Instant::now();
        let output = ProverRun::new("iterate")
            .path("--conjectures", &files.dataset)
            .path("--dir", &rounds)
            .path("--cache", &cache)
            .args(["--rounds", &round.to_string(), "--workers", "2"])
            .args(["--policy", "openai", "--samples", "6", "--width", "6"])
            .args(["--max-expansions", "60", "--llm-url", &url])
            .args([
                "--cheap-policy",
                "same",
                "--cheap-width",
                "1",
                "--cheap-expansions",
                "2",
            ])
            .repl(&sim)
            .output();
        let seconds = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let hits = stderr
            .lines()
            .find(|l| l.trim_start().starts_with("cache"))
            .map_or("-".to_owned(), |l| {
                l.trim().trim_start_matches("cache").trim().to_owned()
            });
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(rounds.join(format!("round-{round}/manifest.json"))).unwrap(),
        )
        .unwrap();
        let c = &manifest["counts"];
        lines.push(format!(
            "  {round:>5}  {:>11}  {:>5}  {:>6}  {:>6}  {:>4}  {:>4}  {:>10}  {:>7.2}  {hits}",
            c["conjectures"],
            c["solved_by_cheap"],
            c["solved_by_search"],
            c["failed"],
            c["sft_rows"],
            c["dpo_rows"],
            c["lean_calls"],
            seconds
        ));
    }
    if !measuring {
        println!(
            "iterate bench smoke run: ok; run `cargo bench -p prover-tests --bench iterate` for figures"
        );
        return;
    }
    println!(
        "prover iterate, {theorems} generated theorems (every 4th easy), sim-repl at {latency_ms} ms per request, 2 workers, one round per run"
    );
    println!("  round  conjectures  cheap  search  failed   SFT   DPO  Lean calls   wall s  cache");
    for line in lines {
        println!("{line}");
    }
}
