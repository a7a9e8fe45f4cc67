//! End-to-end property: on random simulated worlds (sim-repl, not Lean), `prover eval` with an
//! exhaustive budget proves exactly the theorems a plain breadth-first oracle proves, and two
//! runs give the same results. The simulated model server proposes the world's whole tactic
//! vocabulary for every state, so provability depends on the search alone.

use std::collections::BTreeMap;

use prover_tests::harness::{
    ProverRun, SimRepl, results_by_name_without, vocabulary_server, write_generated_world,
};
use prover_tests::worldgen::WorldSpec;
use serde_json::Value;

fn eval_statuses(
    seed: u64,
    workers: &str,
    extra_args: &[&str],
) -> (BTreeMap<String, bool>, Vec<BTreeMap<String, Value>>) {
    let spec = WorldSpec {
        theorems: 6,
        depth: 3,
        branching: 3,
        dead_end_rate: 0.3,
        repeat_rate: 0.3,
        unprovable_rate: 0.3,
        seed,
        tactic_vocabulary: 5,
        ..WorldSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_generated_world(&spec, dir.path());
    let (world, dataset) = (files.world, files.dataset);
    let server = vocabulary_server(spec.tactic_vocabulary, dir.path());
    let url = format!("http://{}/v1", server.addr());
    let mut runs = Vec::new();
    for run in 0..2 {
        let out = dir.path().join(format!("results-{run}.jsonl"));
        let output = ProverRun::new("eval")
            .args([
                "--workers",
                workers,
                "--width",
                "32",
                "--max-expansions",
                "100000",
            ])
            .args(["--policy", "openai", "--samples", "32", "--llm-url", &url])
            .args(extra_args.iter().copied())
            .path("--dataset", &dataset)
            .path("--out", &out)
            .repl(&SimRepl::world(&world))
            .output();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Wall time differs between runs; everything else must not. Lean calls include the
        // tactics a parallel expansion ran past a proof.
        let results = results_by_name_without(&out, &["seconds", "lean_seconds", "lean_calls"]);
        runs.push(results);
    }
    (files.provable, runs)
}

#[test]
fn exhaustive_eval_proves_exactly_what_the_bfs_oracle_proves() {
    for seed in [1, 2, 3] {
        let (provable, runs) = eval_statuses(seed, "2", &[]);
        assert_eq!(runs[0].len(), provable.len());
        for (name, oracle) in &provable {
            let status = &runs[0][name]["status"];
            assert_eq!(
                status == "proved",
                *oracle,
                "seed {seed}, {name}: eval says {status}, the oracle says provable = {oracle}"
            );
            if !oracle {
                assert_eq!(runs[0][name]["stop_reason"], "exhausted");
            }
        }
        assert_eq!(runs[0], runs[1], "seed {seed}: two runs differ");
    }
}

/// Parallel expansion (`--search-parallelism 3` on three simulated REPLs, each theorem alone),
/// with and without the model asked ahead of need (`--policy-lookahead 4`), gives every theorem
/// the same row as one tactic at a time, and so proves exactly what the oracle proves.
#[test]
fn parallel_expansion_gives_the_same_rows_as_one_tactic_at_a_time() {
    let serial = ["--concurrency", "1", "--search-parallelism", "1"];
    let parallel = ["--concurrency", "1", "--search-parallelism", "3"];
    let ahead = [
        "--concurrency",
        "1",
        "--search-parallelism",
        "3",
        "--policy-lookahead",
        "4",
    ];
    for seed in [4] {
        let (provable, one) = eval_statuses(seed, "3", &serial);
        let (_, three) = eval_statuses(seed, "3", &parallel);
        let (_, three_ahead) = eval_statuses(seed, "3", &ahead);
        for (name, oracle) in &provable {
            assert_eq!(
                three[0][name]["status"] == "proved",
                *oracle,
                "seed {seed}, {name}"
            );
        }
        assert_eq!(one[0], three[0], "seed {seed}: P = 1 and P = 3 differ");
        assert_eq!(three[0], three[1], "seed {seed}: two runs at P = 3 differ");
        assert_eq!(
            one[0], three_ahead[0],
            "seed {seed}: P = 1 and P = 3 with the model asked ahead differ"
        );
        assert_eq!(
            three_ahead[0], three_ahead[1],
            "seed {seed}: two runs differ"
        );
    }
}
