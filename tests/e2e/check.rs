//! `prover check` end to end against the simulated REPL (sim-repl, not Lean): a mixed input of
//! valid, invalid, sorry, native, hanging, crashing and malformed rows, with two workers.

use std::collections::BTreeMap;
use std::path::Path;

use prover_tests::harness::{ProverRun, SimRepl, workspace_root};
use serde_json::{Value, json};

const HEADER: &str = prover_tests::harness::MINIF2F_HEADER;

fn row(name: &str, statement: &str, proof: &str) -> String {
    json!({"name": name, "header": HEADER, "formal_statement": statement, "proof": proof})
        .to_string()
}

fn read_results(path: &Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (format!("{}:{}", v["line"], v["name"].as_str().unwrap()), v))
        .collect()
}

fn mixed_input() -> String {
    [
        row(
            "add_valid",
            "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by",
            "\n  subst h₀ h₁\n  norm_num",
        ),
        row(
            "wrong_invalid",
            "theorem wrong_invalid (x : ℝ) (h₀ : 2 * x = 4) : x = 3 := by",
            "\n  linarith",
        ),
        row(
            "sorry_invalid",
            "theorem sorry_invalid (n : ℕ) (h₀ : n % 2 = 1) : n ^ 2 % 2 = 1 := by",
            "\n  sorry",
        ),
        row(
            "native_invalid",
            "theorem native_invalid : 2 ^ 20 % 7 = 4 := by",
            "\n  native_decide",
        ),
        row(
            "hang_error",
            "theorem hang_error (x : ℕ) : x + 0 = x := by",
            "\n  simp",
        ),
        row(
            "crash_error",
            "theorem crash_error (x : ℕ) : 0 + x = x := by",
            "\n  simp",
        ),
        row(
            "unsolved_invalid",
            "theorem unsolved_invalid (p q : Prop) (hp : p) (hq : q) : p ∧ q := by",
            "\n  constructor\n  exact hp",
        ),
        // Malformed: no formal_statement.
        json!({"name": "broken_row", "header": HEADER, "proof": "simp"}).to_string(),
        // The same valid proof again, after the faults, to show the pool recovered.
        row(
            "add_valid",
            "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by sorry",
            "\n  subst h₀ h₁\n  norm_num",
        ),
    ]
    .join("\n")
}

#[test]
fn check_decides_a_mixed_input_with_two_workers() {
    let dir = tempfile::tempdir().unwrap();
    let world = workspace_root().join("tests/fixtures/worlds/check-mixed.json");
    let input = dir.path().join("in.jsonl");
    let out = dir.path().join("out.jsonl");
    std::fs::write(&input, mixed_input()).unwrap();

    let output = ProverRun::new("check")
        .args(["--workers", "2", "--timeout", "1", "--retries", "1"])
        .path("--input", &input)
        .path("--out", &out)
        .repl(&SimRepl::world(&world))
        .into_command()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Some rows ended in `error` (hang, crash, malformed), so the exit code is 1, not 0 or 2.
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(output.stdout.is_empty(), "results go to --out, not stdout");
    assert!(
        stderr.contains("9 rows: 2 valid, 4 invalid, 3 error"),
        "summary on stderr:\n{stderr}"
    );

    let results = read_results(&out);
    let status = |key: &str| results[key]["status"].as_str().unwrap().to_owned();
    assert_eq!(results.len(), 9, "one result per row: {results:#?}");
    assert_eq!(status("1:add_valid"), "valid");
    assert_eq!(status("9:add_valid"), "valid");
    assert_eq!(status("2:wrong_invalid"), "invalid");
    assert_eq!(status("3:sorry_invalid"), "invalid");
    assert_eq!(status("4:native_invalid"), "invalid");
    assert_eq!(status("7:unsolved_invalid"), "invalid");
    assert_eq!(status("5:hang_error"), "error");
    assert_eq!(status("6:crash_error"), "error");
    assert_eq!(status("8:broken_row"), "error");

    let reasons = |key: &str| results[key]["reasons"].to_string();
    assert!(
        reasons("3:sorry_invalid").contains("sorry"),
        "{}",
        reasons("3:sorry_invalid")
    );
    // Refused by the text screening before Lean saw it.
    assert!(reasons("4:native_invalid").contains("native_decide"));
    assert_eq!(results["4:native_invalid"]["layers"]["screening"], "failed");
    assert!(reasons("2:wrong_invalid").contains("linarith failed"));
    assert!(reasons("8:broken_row").contains("line 8: missing field `formal_statement`"));
    assert!(
        reasons("5:hang_error").contains("no answer within"),
        "{}",
        reasons("5:hang_error")
    );
    assert!(
        reasons("6:crash_error").contains("simulated crash"),
        "{}",
        reasons("6:crash_error")
    );
    assert_eq!(
        results["5:hang_error"]["attempts"], 2,
        "one retry after the timeout"
    );
    assert_eq!(results["1:add_valid"]["axioms"], json!(["propext"]));
}

#[test]
fn check_rejects_a_statement_that_differs_from_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let world = workspace_root().join("tests/fixtures/worlds/check-mixed.json");
    let input = dir.path().join("in.jsonl");
    let reference = dir.path().join("reference.jsonl");
    let out = dir.path().join("out.jsonl");
    std::fs::write(
        &input,
        row(
            "add_valid",
            "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by",
            "\n  subst h₀ h₁\n  norm_num",
        ),
    )
    .unwrap();
    std::fs::write(
        &reference,
        json!({"name": "add_valid", "formal_statement": "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 5) : a + b = 8 := by sorry"})
            .to_string(),
    )
    .unwrap();
    let output = ProverRun::new("check")
        .path("--input", &input)
        .path("--reference", &reference)
        .path("--out", &out)
        .repl(&SimRepl::world(&world))
        .output();
    assert_eq!(output.status.code(), Some(0));
    let results = read_results(&out);
    assert_eq!(results["1:add_valid"]["status"], "invalid");
    assert!(
        results["1:add_valid"]["reasons"]
            .to_string()
            .contains("differs from the reference")
    );
}

#[test]
fn check_names_an_unreadable_input() {
    let output = ProverRun::new("check")
        .args(["--input", "/nonexistent/proofs.jsonl"])
        .repl_cmd("true")
        .output();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/proofs.jsonl"), "{stderr}");
}
