//! Speculative expansion end to end (sim-repl, a simulated REPL, not Lean, and a simulated model server): the likely next states' tactics run ahead of need on idle REPLs change no result row, their answers are used, and a search never has more than `--search-parallelism` tactic applications in flight.

use std::collections::BTreeMap;

use prover_tests::harness::{
    ProverRun, SimRepl, results_by_name_without, vocabulary_server, write_generated_world,
};
use prover_tests::worldgen::WorldSpec;
use serde_json::Value;

/// The parallelism of the runs: below the pool's 4 workers, so the bound is the search's own.
const PARALLELISM: u64 = 3;

/// One search's speculation line: tactics run ahead, answers used, most in flight at once.
type Speculated = (u64, u64, u64);

/// One eval of the world with `extra` flags: its rows by name (wall times aside) and the
/// engine's speculation lines (speculated, used, peak in flight), one per search that could
/// speculate.
fn eval(
    files: &prover_tests::harness::GeneratedFiles,
    url: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> (BTreeMap<String, Value>, Vec<Speculated>) {
    let output = ProverRun::new("eval")
        .args([
            "--fresh",
            "--no-cache",
            "--width",
            "8",
            "--max-expansions",
            "40",
        ])
        .args(["--policy", "openai", "--samples", "8", "--llm-url", url])
        .args([
            "--workers",
            "4",
            "--repl-memory-estimate",
            "0.05",
            "--concurrency",
            "1",
        ])
        .args(["--search-parallelism", &PARALLELISM.to_string()])
        .args(["--policy-lookahead", "4"])
        .args(extra.iter().copied())
        .env("PROVER_LOG", "prover::engine=debug")
        .path("--dataset", &files.dataset)
        .path("--out", out)
        .repl(&SimRepl::world(&files.world))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // Wall time differs between runs; everything else must not (Lean calls included: a tactic
    // run ahead counts once the search takes its answer).
    let rows = results_by_name_without(out, &["seconds", "lean_seconds"]);
    let field = |line: &str, name: &str| -> u64 {
        let start = line.find(&format!(" {name}=")).expect(name) + name.len() + 2;
        line[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect(name)
    };
    let speculation = stderr
        .lines()
        .filter(|line| line.contains("tactics run ahead of need"))
        .map(|line| {
            (
                field(line, "speculated"),
                field(line, "used"),
                field(line, "peak_in_flight"),
            )
        })
        .collect();
    (rows, speculation)
}

#[test]
fn speculation_changes_no_row_its_answers_are_used_and_the_bound_holds() {
    // Deep, with dead ends and unprovable theorems: many expansions per theorem, most of them
    // of states the search hinted at or a tactic had just produced.
    let spec = WorldSpec {
        theorems: 5,
        depth: 4,
        branching: 3,
        dead_end_rate: 0.3,
        repeat_rate: 0.2,
        unprovable_rate: 0.2,
        seed: 7,
        tactic_vocabulary: 8,
        ..WorldSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_generated_world(&spec, dir.path());
    let server = vocabulary_server(spec.tactic_vocabulary, dir.path());
    let url = format!("http://{}/v1", server.addr());
    let path = |name: &str| dir.path().join(name);
    let (on, speculated) = eval(&files, &url, &path("on.jsonl"), &[]);
    let (off, none) = eval(&files, &url, &path("off.jsonl"), &["--no-speculation"]);
    let (again, _) = eval(&files, &url, &path("again.jsonl"), &[]);
    assert_eq!(on.len(), spec.theorems, "a row per theorem");
    assert!(
        on.values().any(|row| row["status"] == "proved"),
        "the world proves something: {on:?}"
    );
    assert_eq!(on, off, "the same rows with speculation on and off");
    assert_eq!(on, again, "two runs with speculation give the same rows");
    assert!(none.is_empty(), "--no-speculation runs nothing ahead");
    assert_eq!(speculated.len(), spec.theorems, "one line per search");
    let used: u64 = speculated.iter().map(|&(_, used, _)| used).sum();
    assert!(used > 0, "answers run ahead were used: {speculated:?}");
    for &(ran, used, peak) in &speculated {
        assert!(used <= ran, "{used} used of {ran} run ahead");
        assert!(
            peak <= PARALLELISM,
            "{peak} tactic applications in flight at once, above {PARALLELISM}"
        );
    }
}
