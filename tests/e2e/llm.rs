//! `prover eval --policy openai|combined` end to end: the real binary against sim-repl (not
//! Lean) and the simulated OpenAI-compatible server (no model), over real HTTP on loopback.

use std::path::Path;
use std::process::Output;

use prover_tests::harness::{ProverRun, SimRepl, workspace_root};
use prover_tests::openai_sim::{self, Faults, Options, Script};
use serde_json::{Value, json};

const HEADER: &str = prover_tests::harness::MATHLIB_HEADER;

fn fixture(name: &str) -> std::path::PathBuf {
    workspace_root().join("tests/fixtures").join(name)
}

fn eval(dir: &Path, policy: &str, url: Option<&str>) -> (Output, Vec<Value>) {
    let dataset = dir.join("dataset.jsonl");
    std::fs::write(
        &dataset,
        json!({"name": "special_lemma", "header": HEADER, "formal_statement": "theorem special_lemma (a : ℕ) (h : 0 < a) : my_pred a := by sorry"}).to_string(),
    )
    .unwrap();
    let out = dir.join(format!("results-{policy}.jsonl"));
    let mut command = ProverRun::new("eval")
        .args(["--fresh", "--policy", policy, "--tactic-timeout", "2"])
        .path("--dataset", &dataset)
        .path("--out", &out)
        .repl(&SimRepl::world(&fixture("worlds/eval-llm.json")));
    if let Some(url) = url {
        command = command.args([
            "--llm-url",
            url,
            "--llm-model",
            "sim-model",
            "--samples",
            "4",
        ]);
    }
    let output = command.output();
    let results = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (output, results)
}

fn start(faults: Faults) -> openai_sim::SimServer {
    let script = Script::from_path(&fixture("llm-script.json")).unwrap();
    openai_sim::serve(
        script,
        Options {
            faults,
            ..Options::default()
        },
    )
    .unwrap()
}

#[test]
fn the_search_follows_the_servers_tactics_and_scores() {
    let server = start(Faults::default());
    let url = format!("http://{}/v1", server.addr());
    let dir = tempfile::tempdir().unwrap();
    let (output, results) = eval(dir.path(), "openai", Some(&url));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(results[0]["status"], "proved", "{:#}", results[0]);
    // The better-scored tactic of the second state wins over `omega`, which also works.
    assert_eq!(
        results[0]["proof"],
        "\n  unfold my_pred\n  exact Nat.pos_iff_ne_zero.mp h"
    );
    assert_eq!(
        results[0]["candidates_rejected"], 1,
        "`sorry` is refused by the guard"
    );
    let requests = server.requests();
    assert!(requests.len() >= 3);
    // The first request is the preflight's probe of a trivial state.
    assert_eq!(requests[0]["prompt"], "⊢ True:::");
    let prompt = requests[1]["prompt"].as_str().unwrap();
    assert_eq!(
        prompt, "a : ℕ\nh : 0 < a\n⊢ my_pred a:::",
        "BFS-Prover's prompt"
    );
    assert_eq!(requests[1]["n"], 4);
    assert_eq!(requests[1]["model"], "sim-model");
}

#[test]
fn the_portfolio_alone_cannot_prove_what_needs_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let (output, results) = eval(dir.path(), "portfolio", None);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(results[0]["status"], "failed", "{:#}", results[0]);
}

#[test]
fn server_errors_are_retried_and_combined_mode_proves() {
    let server = start(Faults {
        fail_first: Some(2),
        ..Faults::default()
    });
    let url = format!("http://{}/v1", server.addr());
    let dir = tempfile::tempdir().unwrap();
    let (output, results) = eval(dir.path(), "combined", Some(&url));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(results[0]["status"], "proved", "{:#}", results[0]);
    assert!(
        server.requests().len() >= 4,
        "two failed requests, then the retries succeeded"
    );
}
