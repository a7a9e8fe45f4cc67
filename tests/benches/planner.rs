//! Benchmark (issue 22): theorems proved and Lean calls with `--planner off` and `--planner
//! openai` at equal budget (`--max-expansions`), over a generated world in which a share of the
//! theorems need two lemmas (no tactic sequence proves them; a skeleton of two `have`s does).
//! sim-repl (a simulated REPL, not Lean) answers; one sim-openai (a simulated model server)
//! proposes the world's tactic vocabulary for every state, another answers planning requests
//! from the generator's planner script (good skeletons, some only after a replan, and bad
//! ones: changed statements, false and useless lemmas, skeletons that make no progress). The
//! cache is off, so every Lean call is counted.
//!
//! `cargo bench -p prover-tests --bench planner` prints the figures at four budgets. Under
//! `cargo test` (no `--bench` argument) it runs a tiny smoke version and prints no figures.

use std::path::Path;
use std::time::Instant;

use prover_tests::harness::{ProverRun, SimRepl, read_jsonl, vocabulary_server};
use prover_tests::openai_sim::{self, Script};
use prover_tests::worldgen::{self, WorldSpec};

/// What one `prover eval` run did.
#[derive(Debug, Default)]
struct Figures {
    proved: usize,
    proved_two_lemma: usize,
    lean_calls: u64,
    expansions: u64,
    planner_calls: u64,
    seconds: f64,
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (theorems, budgets): (usize, &[u32]) = if measuring {
        (40, &[10, 20, 40, 80])
    } else {
        (6, &[40])
    };
    let spec = WorldSpec {
        theorems,
        depth: 4,
        branching: 3,
        seed: 22,
        tactic_vocabulary: 5,
        two_lemma_rate: 0.3,
        ..WorldSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let generated = worldgen::generate(&spec);
    let world = dir.path().join("world.json");
    generated.world.save(&world).unwrap();
    let dataset = dir.path().join("dataset.jsonl");
    std::fs::write(
        &dataset,
        worldgen::dataset_jsonl(&generated.world, worldgen::DEFAULT_HEADER),
    )
    .unwrap();
    let tactics = vocabulary_server(spec.tactic_vocabulary, dir.path());
    let script: Script = serde_json::from_value(worldgen::planner_script(&generated)).unwrap();
    let planner = openai_sim::serve(script, openai_sim::Options::default()).unwrap();
    let two_lemma = generated.two_lemma.len();
    let planned = generated.two_lemma.values().filter(|t| t.planned).count();
    let provable = generated.provable.values().filter(|p| **p).count();

    // Built (or found built) before any clock starts: the first run would time the build.
    prover_tests::harness::prover_bin();
    let mut rows = Vec::new();
    for &budget in budgets {
        let run = |label: &str, planner_flags: &[&str]| -> Figures {
            let out = dir.path().join(format!("{label}-{budget}.jsonl"));
            let started = Instant::now();
            let output = ProverRun::new("eval")
                .args(["--fresh", "--no-cache", "--workers", "2"])
                .args(["--max-expansions", &budget.to_string()])
                .args(["--policy", "openai", "--samples", "8", "--width", "5"])
                .args(["--llm-url", &format!("http://{}/v1", tactics.addr())])
                .args(["--repl-memory-estimate", "0.05"])
                .args(planner_flags)
                .path("--dataset", &dataset)
                .path("--out", &out)
                .repl(&SimRepl::world(&world))
                .output();
            let seconds = started.elapsed().as_secs_f64();
            assert!(
                output.status.code().is_some_and(|code| code <= 1),
                "eval {label} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            figures(&out, &generated.two_lemma, seconds)
        };
        let off = run("off", &["--planner", "off"]);
        let url = planner.base_url();
        let on = run("on", &["--planner", "openai", "--planner-url", &url]);
        // What the world guarantees, whatever the budget: no direct search proves a
        // two-lemma theorem.
        assert_eq!(off.proved_two_lemma, 0, "{off:?}");
        assert_eq!(off.planner_calls, 0, "{off:?}");
        rows.push((budget, off, on));
    }
    if !measuring {
        let (_, _, on) = &rows[0];
        assert!(on.planner_calls > 0, "{on:?}");
        println!(
            "planner bench smoke run: ok; run `cargo bench -p prover-tests --bench planner` for figures"
        );
        return;
    }
    println!(
        "prover eval over a generated world: {theorems} theorems, {provable} provable by a tactic sequence, {two_lemma} needing two lemmas ({planned} of them planned well by the simulated planner, {} only badly); simulated model proposing the vocabulary of 5, width 5, 2 REPLs, no cache; equal --max-expansions per theorem",
        two_lemma - planned
    );
    println!(
        "  budget  planner  proved  of them two-lemma  Lean calls  expansions  planner calls  wall s"
    );
    for (budget, off, on) in &rows {
        for (label, f) in [("off", off), ("openai", on)] {
            println!(
                "  {budget:>6}  {label:>7}  {:>6}  {:>17}  {:>10}  {:>10}  {:>13}  {:>6.1}",
                f.proved,
                f.proved_two_lemma,
                f.lean_calls,
                f.expansions,
                f.planner_calls,
                f.seconds
            );
        }
    }
}

/// The figures of one results file.
fn figures(
    out: &Path,
    two_lemma: &std::collections::BTreeMap<String, worldgen::TwoLemma>,
    seconds: f64,
) -> Figures {
    let mut f = Figures {
        seconds,
        ..Figures::default()
    };
    for row in read_jsonl(out) {
        let proved = row["status"] == "proved";
        f.proved += usize::from(proved);
        let name = row["name"].as_str().unwrap();
        f.proved_two_lemma += usize::from(proved && two_lemma.contains_key(name));
        f.lean_calls += row["lean_calls"].as_u64().unwrap_or(0);
        f.expansions += row["expansions"].as_u64().unwrap_or(0);
        f.planner_calls += row["plan"]["planner_calls"].as_u64().unwrap_or(0);
    }
    f
}
