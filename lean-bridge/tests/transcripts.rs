//! Conformance with real Lean output: every recorded REPL exchange in
//! the reference data (found through `tests/src/test_data.rs`, skipped when absent) must parse into the typed shapes, re-serialize to the
//! same JSON, pass through our framing unchanged, and classify as the reviewed table says.
//!
//! Both recorded sets are checked: v4.33.0-rc2 (`fixtures/repl-transcripts`, 217 exchanges) and
//! the pinned v4.24.0 (`fixtures/repl-transcripts-v4.24.0`, 216), so one client reads both.
//!
//! This test has its own `main` (harness = false) so the counts it prints are always visible.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lean_bridge::protocol::{join_request_lines, split_blocks};
use lean_bridge::{Request, Response, TacticOutcome, classify_tactic};
use serde_json::Value;

#[path = "../../tests/src/test_data.rs"]
mod test_data;

/// One recorded `.in`/`.expected.out` pair.
struct Transcript {
    /// Path without extension, relative to the fixture root, e.g. `test/readme`.
    name: String,
    requests: Vec<String>,
    answers: Vec<String>,
}

fn find_inputs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            find_inputs(&path, out);
        } else if path.extension().is_some_and(|e| e == "in") {
            out.push(path);
        }
    }
}

fn load(root: &Path) -> (Vec<Transcript>, Vec<String>) {
    let mut inputs = Vec::new();
    find_inputs(root, &mut inputs);
    let mut pairs = Vec::new();
    let mut unpaired = Vec::new();
    for input in inputs {
        let stem = input.with_extension("");
        let name = stem
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let expected = stem.with_extension("expected.out");
        if !expected.exists() {
            unpaired.push(name);
            continue;
        }
        let input_text = std::fs::read_to_string(&input).unwrap();
        let output_text = std::fs::read_to_string(&expected).unwrap();
        let requests = split_blocks(&input_text)
            .into_iter()
            .filter(|b| !(b[0].starts_with('#') || b[0].starts_with("--")))
            .map(join_request_lines)
            .collect();
        // Answers keep their line breaks: Lean pretty-prints them over several lines.
        let answers = split_blocks(&output_text)
            .into_iter()
            .map(|b| b.join("\n"))
            .collect();
        pairs.push(Transcript {
            name,
            requests,
            answers,
        });
    }
    (pairs, unpaired)
}

fn expected_classes() -> BTreeMap<(String, usize), String> {
    let text = include_str!("data/tactic-classes.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let file = parts.next().unwrap().to_owned();
            let index = parts.next().unwrap().parse().unwrap();
            let class = parts.next().unwrap().to_owned();
            ((file, index), class)
        })
        .collect()
}

fn class_name(outcome: &TacticOutcome) -> &'static str {
    match outcome {
        TacticOutcome::Proved { .. } => "proved",
        TacticOutcome::Open { .. } => "open",
        TacticOutcome::Failed { .. } => "failed",
    }
}

#[derive(Default)]
struct Counts {
    pairs: usize,
    requests: usize,
    answers: usize,
    by_answer_kind: BTreeMap<&'static str, usize>,
    by_request_kind: BTreeMap<&'static str, usize>,
    by_class: BTreeMap<&'static str, usize>,
    empty_goals_traps: usize,
}

/// `"endPos": null` (v4.24.0 gives it for a parse error at the end of input) means what an
/// absent `endPos` means, and the typed message keeps neither: both compare as absent.
fn without_null_end_positions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("endPos") == Some(&Value::Null) {
                map.remove("endPos");
            }
            map.values_mut().for_each(without_null_end_positions);
        }
        Value::Array(items) => items.iter_mut().for_each(without_null_end_positions),
        _ => {}
    }
}

/// The recorded sets: where they live, which Lean produced them, how many exchanges each holds.
const SETS: [(&str, &str, usize); 2] = [
    ("fixtures/repl-transcripts", "v4.33.0-rc2", 217),
    ("fixtures/repl-transcripts-v4.24.0", "v4.24.0", 216),
];

fn main() {
    let mut problems = Vec::new();
    for (relative, version, count) in SETS {
        let Some(root) = test_data::find_or_skip(relative, "transcripts") else {
            continue;
        };
        problems.extend(
            check_set(&root, version, count)
                .into_iter()
                .map(|p| format!("{version}: {p}")),
        );
    }
    if problems.is_empty() {
        println!("repl transcripts: ok");
    } else {
        for p in &problems {
            eprintln!("FAIL {p}");
        }
        eprintln!("repl transcripts: {} failures", problems.len());
        std::process::exit(1);
    }
}

/// Checks one recorded set; returns what failed.
fn check_set(root: &Path, version: &str, expected_count: usize) -> Vec<String> {
    let (transcripts, unpaired) = load(root);
    let expected = expected_classes();
    let mut counts = Counts::default();
    let mut failures: Vec<String> = Vec::new();
    let mut classified = 0usize;

    for t in &transcripts {
        counts.pairs += 1;
        if t.requests.len() != t.answers.len() {
            failures.push(format!(
                "{}: {} requests but {} answers",
                t.name,
                t.requests.len(),
                t.answers.len()
            ));
            continue;
        }
        for (index, (request_text, answer_text)) in t.requests.iter().zip(&t.answers).enumerate() {
            let at = format!("{} #{index}", t.name);
            counts.requests += 1;
            counts.answers += 1;

            // Requests: typed, then re-framed by our writer, then read back by the REPL's rule.
            let original: Value = match serde_json::from_str(request_text) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{at}: request is not JSON: {e}"));
                    continue;
                }
            };
            let Some(request) = Request::from_value(&original) else {
                failures.push(format!("{at}: request matches no kind: {request_text}"));
                continue;
            };
            *counts.by_request_kind.entry(request.kind()).or_default() += 1;
            let wire = request.to_wire();
            let reframed = split_blocks(&wire);
            if reframed.len() != 1 || !wire.ends_with("}\n\n") || wire.matches('\n').count() != 2 {
                failures.push(format!("{at}: our framing is not one line + blank line"));
            }
            let reread: Value =
                serde_json::from_str(&join_request_lines(reframed[0].iter().copied())).unwrap();
            if reread != original {
                failures.push(format!(
                    "{at}: our request serializes differently:\n  ours: {reread}\n  real: {original}"
                ));
            }

            // Answers: the three shapes, losslessly.
            let mut value: Value = match serde_json::from_str(answer_text) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{at}: answer is not JSON: {e}"));
                    continue;
                }
            };
            let response = match Response::from_value(value.clone()) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{at}: {e}"));
                    continue;
                }
            };
            *counts.by_answer_kind.entry(response.kind()).or_default() += 1;
            without_null_end_positions(&mut value);
            if response.to_value() != value {
                failures.push(format!(
                    "{at}: typed answer loses or invents data:\n  typed: {}\n  real:  {value}",
                    response.to_value()
                ));
            }

            // Every tactic answer classifies as the reviewed table says.
            if let Request::ProofStep(_) = request {
                let outcome = classify_tactic(&response);
                let got = class_name(&outcome);
                *counts.by_class.entry(got).or_default() += 1;
                if let Response::ProofStep(step) = &response
                    && step.goals.is_empty()
                    && got != "proved"
                {
                    counts.empty_goals_traps += 1;
                }
                match expected.get(&(t.name.clone(), index)) {
                    Some(want) if want == got => classified += 1,
                    Some(want) => failures.push(format!("{at}: classified {got}, expected {want}")),
                    None => failures.push(format!("{at}: no expected class in the table")),
                }
            }
        }
    }
    if classified != expected.len() {
        failures.push(format!(
            "the table has {} tactic answers but {classified} were checked",
            expected.len()
        ));
    }

    println!(
        "repl transcripts {version}: checked {} recorded exchanges (requests and answers) in {} pairs from {}",
        counts.requests,
        counts.pairs,
        root.display()
    );
    println!("  request kinds: {:?}", counts.by_request_kind);
    println!("  answer kinds:  {:?}", counts.by_answer_kind);
    println!(
        "  tactic answers classified: {:?}; `goals: []` that is not a proof: {}",
        counts.by_class, counts.empty_goals_traps
    );
    println!(
        "  inputs without recorded output (not checked): {}",
        unpaired.join(", ")
    );

    let mut problems = failures;
    if counts.requests != expected_count || counts.answers != expected_count {
        problems.push(format!(
            "expected the {expected_count} recorded exchanges of SOURCE.md, found {} requests and {} answers",
            counts.requests, counts.answers
        ));
    }
    problems
}
