//! `prover explore` end to end against sim-repl (a simulated REPL, not Lean) and the simulated model server: every record level, proofs past the first, synthetic theorems that pass `prover check`, splits by theorem, and decontamination of a planted benchmark duplicate.

use std::collections::BTreeSet;
use std::path::Path;

use datasets::explore::{SPLITS, split_of};
use prover_tests::harness::{
    ProverRun, SimRepl, read_jsonl, vocabulary_server, write_generated_world,
};
use prover_tests::world::{Outcome, Transition, World};
use prover_tests::worldgen::{WorldSpec, vocabulary};
use serde_json::{Value, json};

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
        theorems: 9,
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
    // A benchmark holding three of the theorems: the first under another name (the text
    // rule), the second reformatted (the normal form), and the third only as a root goal
    // Lean printed for it (a `goal` field, as DeepSeek's miniF2F has): none is explored.
    let dataset = std::fs::read_to_string(&files.dataset).unwrap();
    let mut rows: Vec<Value> = dataset
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let planted: Vec<String> = rows[..3]
        .iter()
        .map(|r| text(&r["name"]).to_owned())
        .collect();
    let bench = dir.path().join("bench.jsonl");
    let statement = |i: usize| text(&rows[i]["formal_statement"]).to_owned();
    let reformatted = format!(
        "/-- A docstring. -/\n@[simp] private {}",
        statement(1)
            .replacen(&planted[1], "«benchmark_reformatted»\n   ", 1)
            .replace(" : ", " :\n  ")
    );
    let root_goal = world.states[&world.theorems[2].root].join("\n\n");
    let bench_rows = [
        json!({"name": "benchmark_copy", "header": rows[0]["header"],
               "formal_statement": statement(0).replacen(&planted[0], "benchmark_copy", 1)}),
        json!({"name": "benchmark_reformatted", "header": rows[1]["header"],
               "formal_statement": reformatted}),
        json!({"name": "benchmark_by_goal", "header": rows[2]["header"],
               "formal_statement": "theorem benchmark_by_goal : False := by", "goal": root_goal}),
    ];
    let bench_text: String = bench_rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&bench, bench_text).unwrap();
    // Dataset names that are no Lean names (a `-`, a line break that once put an `axiom`
    // line into checked text): the synthetic theorems made from them must be named as Lean
    // accepts, or sim-repl, like Lean, refuses them below.
    for (i, row) in rows.iter_mut().enumerate().skip(3) {
        let name = text(&row["name"]).to_owned();
        row["name"] = json!(if i == 3 {
            format!("{name}\naxiom bad : False")
        } else {
            format!("amc12a-{name}-p{i}")
        });
    }
    let renamed: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&files.dataset, renamed).unwrap();

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
                "--license",
                "mit",
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
    for name in &planted {
        assert!(
            !traced.contains(name.as_str()),
            "{name}, a benchmark's, was explored"
        );
    }
    assert_eq!(traced.len(), spec.theorems - 3);
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
    for row in &synthetic {
        let name = text(&row["name"]);
        assert!(datasets::lean::is_lean_identifier(name), "{name:?}");
        let statement = text(&row["formal_statement"]);
        assert!(
            statement.starts_with(&format!("theorem {name} ("))
                || statement.starts_with(&format!("theorem {name} :")),
            "{statement}"
        );
        assert!(!statement.contains("axiom"), "{statement}");
    }
    assert!(
        synthetic.iter().any(|r| text(&r["source"]).contains('-')),
        "no synthetic theorem from a dataset name with a `-`: {synthetic:?}"
    );
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

    // The card names its license, configs and the decontamination by rule, and no path of
    // this machine; the manifest counts agree.
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(card.starts_with("---\nlicense: mit\n"), "{card}");
    assert!(card.contains("\nconfigs:\n- config_name: traces"), "{card}");
    assert!(
        card.contains("3 theorems dropped as benchmark statements (1 by text, 1 by normal form, 1 by root goal, 0 by near)"),
        "{card}"
    );
    assert!(card.contains("`bench.jsonl (SHA-1 "), "{card}");
    let here = dir.path().to_string_lossy();
    assert!(
        !card.contains(here.as_ref()),
        "an absolute path in the card: {card}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    // The default level is `near`, recorded; it drops none of the six other theorems (the
    // world's statements share their shape, not their numbers), nor any synthetic theorem.
    assert_eq!(manifest["config"]["decontamination"], "near");
    assert!(card.contains("Level: **near**"), "{card}");
    assert_eq!(manifest["counts"]["excluded_as_benchmark_duplicates"], 3);
    for key in ["excluded_by_near", "synthetic_excluded_by_near"] {
        // A rule that caught nothing has no count.
        assert_eq!(manifest["counts"][key].as_u64().unwrap_or(0), 0, "{key}");
    }
    for rule in ["text", "normal_form", "root_goal"] {
        assert_eq!(
            manifest["counts"][format!("excluded_by_{rule}")],
            1,
            "{rule}"
        );
    }
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

/// Loads every config and split the card lists with the real `datasets` library from PyPI
/// (offline, its cache in a temporary directory), and returns the rows of each, by config
/// and split; `None` after printing a `skipped:` line where `import datasets` fails.
pub(crate) fn load_with_hf_datasets(dir: &Path, scratch: &Path) -> Option<Value> {
    const SCRIPT: &str = r#"
import json, sys
import datasets
path = sys.argv[1]
loaded = {}
for config in datasets.get_dataset_config_names(path):
    splits = datasets.load_dataset(path, config)
    loaded[config] = {name: split.num_rows for name, split in splits.items()}
print(json.dumps(loaded))
"#;
    let python = |args: &[&str]| {
        std::process::Command::new("python3")
            .args(args)
            .env("HF_DATASETS_OFFLINE", "1")
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HOME", scratch.join("hf"))
            .env("HF_DATASETS_CACHE", scratch.join("hf-datasets"))
            .output()
    };
    match python(&["-c", "import datasets"]) {
        Ok(output) if output.status.success() => {}
        _ => {
            eprintln!(
                "skipped: python3 cannot import datasets (pip install datasets): \
                 explore_output_loads_with_the_datasets_library"
            );
            return None;
        }
    }
    let output = python(&["-c", SCRIPT, &dir.to_string_lossy()]).unwrap();
    assert!(
        output.status.success(),
        "datasets.load_dataset failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

#[test]
fn explore_output_loads_with_the_datasets_library() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WorldSpec {
        theorems: 5,
        depth: 2,
        branching: 2,
        unprovable_rate: 0.2,
        seed: 5,
        tactic_vocabulary: 4,
        ..WorldSpec::default()
    };
    let files = write_generated_world(&spec, dir.path());
    let server = vocabulary_server(spec.tactic_vocabulary, dir.path());
    let out = dir.path().join("explored");
    let output = ProverRun::new("explore")
        .path("--dataset", &files.dataset)
        .path("--out", &out)
        .args(["--policy", "openai", "--samples", "4", "--width", "4"])
        .args(["--llm-url", &format!("http://{}/v1", server.addr())])
        .repl(&SimRepl::world(&files.world))
        .output();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(card.starts_with("---\nlicense: unknown\n"), "{card}");
    // Five theorems leave splits (and levels) empty: exactly what the library refused.
    let rows_of = |level: &str, split: &str| {
        read_jsonl(&out.join(format!("data/{level}/{split}.jsonl"))).len()
    };
    let wanted: Vec<(&str, &str, usize)> = LEVELS
        .iter()
        .flat_map(|l| SPLITS.iter().map(move |s| (*l, *s)))
        .map(|(l, s)| (l, s, rows_of(l, s)))
        .collect();
    assert!(wanted.iter().any(|(_, _, n)| *n == 0), "no empty split");
    assert!(wanted.iter().any(|(_, _, n)| *n > 0), "no rows at all");
    for (level, split, n) in &wanted {
        let listed = card.contains(&format!("path: data/{level}/{split}.jsonl"));
        assert_eq!(listed, *n > 0, "{level}/{split} with {n} rows: {card}");
    }
    // Every row of every exported file carries its schema version.
    for (level, split, _) in &wanted {
        for row in read_jsonl(&out.join(format!("data/{level}/{split}.jsonl"))) {
            assert_eq!(row["schema_version"], 1, "{level}/{split}: {row}");
        }
    }
    let Some(loaded) = load_with_hf_datasets(&out, dir.path()) else {
        return;
    };
    eprintln!("datasets loaded: {loaded}");
    for (level, split, n) in &wanted {
        let got = loaded[level][split].as_u64();
        if *n == 0 {
            assert_eq!(got, None, "{level}/{split} is empty: {loaded}");
        } else {
            assert_eq!(got, Some(*n as u64), "{level}/{split}: {loaded}");
        }
    }
}
