//! `prover explore` end to end against sim-repl (a simulated REPL, not Lean) and the simulated model server: every record level, proofs past the first, synthetic theorems that pass `prover check`, splits by theorem, and decontamination of a planted benchmark duplicate.

use std::collections::BTreeSet;
use std::path::Path;

use datasets::explore::{SPLITS, split_of};
use prover_tests::harness::{
    ProverRun, SimRepl, read_jsonl, vocabulary_server, write_generated_world,
};
use prover_tests::world::{Outcome, Transition, World};
use prover_tests::worldgen::{WorldSpec, vocabulary};
use serde_json::Value;

const LEVELS: [&str; 5] = ["traces", "proofs", "steps", "preferences", "synthetic"];

/// Every row of a level, with the split it was found in.
fn level(out: &Path, name: &str) -> Vec<(String, Value)> {
    SPLITS
        .iter()
        .flat_map(|split| {
            read_jsonl(&out.join(format!("data/{name}/{split}.jsonl")))
                .into_iter()
                .map(|row| ((*split).to_owned(), row))
        })
        .collect()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

#[test]
fn explore_writes_every_level_verified_synthetic_theorems_and_drops_a_benchmark_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WorldSpec {
        theorems: 6,
        depth: 3,
        branching: 3,
        dead_end_rate: 0.1,
        repeat_rate: 0.3,
        unprovable_rate: 0.2,
        seed: 23,
        tactic_vocabulary: 5,
        ..WorldSpec::default()
    };
    let files = write_generated_world(&spec, dir.path());
    // A second closing tactic wherever the world has one, so proofs past the first exist.
    let mut world = World::load(&files.world).unwrap();
    let vocabulary = vocabulary(spec.tactic_vocabulary);
    let mut extra = Vec::new();
    for closing in world
        .transitions
        .iter()
        .filter(|t| t.outcome == Outcome::Proved)
    {
        let taken: BTreeSet<&str> = world
            .transitions
            .iter()
            .filter(|t| t.from == closing.from)
            .map(|t| t.tactic.trim())
            .collect();
        if let Some(other) = vocabulary.iter().find(|v| !taken.contains(v.as_str())) {
            extra.push(Transition {
                tactic: other.clone(),
                ..closing.clone()
            });
        }
    }
    assert!(!extra.is_empty());
    world.transitions.extend(extra);
    world.save(&files.world).unwrap();
    let server = vocabulary_server(spec.tactic_vocabulary, dir.path());
    // A benchmark holding the first theorem under another name: it must not be explored.
    let dataset = std::fs::read_to_string(&files.dataset).unwrap();
    let first: Value = serde_json::from_str(dataset.lines().next().unwrap()).unwrap();
    let planted = text(&first["name"]).to_owned();
    let bench = dir.path().join("bench.jsonl");
    let renamed = datasets::Theorem {
        name: "benchmark_copy".into(),
        header: text(&first["header"]).into(),
        formal_statement: text(&first["formal_statement"]).replacen(&planted, "benchmark_copy", 1),
    };
    std::fs::write(&bench, renamed.to_row() + "\n").unwrap();

    let out = dir.path().join("explored");
    let sim = SimRepl::world(&files.world);
    let explore = || {
        ProverRun::new("explore")
            .path("--dataset", &files.dataset)
            .path("--out", &out)
            .path("--exclude", &bench)
            .args([
                "--proofs-per-theorem",
                "3",
                "--workers",
                "2",
                "--tactic-timeout",
                "2",
            ])
            .args(["--policy", "openai", "--samples", "5", "--width", "5"])
            .args(["--llm-url", &format!("http://{}/v1", server.addr())])
            .repl(&sim)
            .output()
    };
    let output = explore();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    // Every level and split exists; every row sits in its theorem's split.
    for name in LEVELS {
        for (split, row) in level(&out, name) {
            let source = if name == "synthetic" {
                &row["source"]
            } else {
                &row["name"]
            };
            assert_eq!(split, split_of(text(source)), "{name}: {row}");
            assert_eq!(row["schema_version"], 1);
        }
    }
    let traces = level(&out, "traces");
    let traced: BTreeSet<&str> = traces.iter().map(|(_, r)| text(&r["name"])).collect();
    assert!(
        !traced.contains(planted.as_str()),
        "the benchmark duplicate was explored"
    );
    assert_eq!(traced.len(), spec.theorems - 1);
    // Traces agree with the world.
    for (_, edge) in &traces {
        let state = world
            .states
            .iter()
            .find(|(_, goals)| goals.join("\n\n") == text(&edge["state_before"]))
            .map(|(name, _)| name.clone())
            .expect("a traced state is a world state");
        let answer = world
            .transitions
            .iter()
            .find(|t| t.from == state && t.tactic.trim() == text(&edge["tactic"]))
            .map(|t| &t.outcome);
        match (text(&edge["outcome"]), answer) {
            ("goals", Some(Outcome::Goals(next))) => {
                assert_eq!(text(&edge["state_after"]), world.states[next].join("\n\n"));
            }
            ("proved", Some(Outcome::Proved)) => {}
            (
                "lean_error",
                Some(Outcome::Error(_) | Outcome::Fail(_) | Outcome::Incomplete(_)) | None,
            ) => {}
            (outcome, answer) => panic!("{edge}: traced {outcome}, the world answers {answer:?}"),
        }
    }
    // More than one proof for some theorem; every step of a proof is a traced on-proof edge.
    let proofs = level(&out, "proofs");
    let proved: BTreeSet<&str> = proofs.iter().map(|(_, p)| text(&p["name"])).collect();
    assert!(
        proofs.len() > proved.len(),
        "some theorem has several proofs: {proofs:?}"
    );
    for (_, step) in level(&out, "steps") {
        assert!(
            traces.iter().any(|(_, e)| e["name"] == step["name"]
                && e["state_before"] == step["state"]
                && e["tactic"] == step["tactic"]
                && e["on_proof"] == true),
            "{step}"
        );
    }
    assert!(!level(&out, "preferences").is_empty());

    // Synthetic theorems: some were made, and every one passes `prover check`.
    let synthetic: Vec<Value> = level(&out, "synthetic")
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert!(!synthetic.is_empty(), "no synthetic theorem: {stderr}");
    let input = dir.path().join("synthetic.jsonl");
    let lines: Vec<String> = synthetic
        .iter()
        .map(|r| {
            datasets::ProofRow {
                name: text(&r["name"]).into(),
                header: text(&r["header"]).into(),
                formal_statement: text(&r["formal_statement"]).into(),
                proof: text(&r["proof"]).into(),
            }
            .to_row()
        })
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let checked = dir.path().join("checked.jsonl");
    let check = ProverRun::new("check")
        .path("--input", &input)
        .path("--out", &checked)
        .repl(&sim)
        .output();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for result in read_jsonl(&checked) {
        assert_eq!(result["status"], "valid", "{result}");
    }

    // The card names its configs and the decontamination; the manifest counts agree.
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        card.starts_with("---\nconfigs:\n- config_name: traces"),
        "{card}"
    );
    assert!(card.contains("Decontamination: 1 theorems"), "{card}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["excluded_as_benchmark_duplicates"], 1);
    assert_eq!(manifest["counts"]["synthetic_verified"], synthetic.len());
    assert_eq!(manifest["counts"]["trace_rows"], traces.len());

    // A rerun resumes from the logs and writes the same data.
    let before: Vec<String> = LEVELS
        .iter()
        .flat_map(|l| SPLITS.iter().map(move |s| format!("data/{l}/{s}.jsonl")))
        .map(|f| std::fs::read_to_string(out.join(f)).unwrap())
        .collect();
    let again = explore();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let after: Vec<String> = LEVELS
        .iter()
        .flat_map(|l| SPLITS.iter().map(move |s| format!("data/{l}/{s}.jsonl")))
        .map(|f| std::fs::read_to_string(out.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);
}
