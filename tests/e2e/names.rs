//! Issue 20, audit rows 1 and 5: `prover check` and `prover eval` name the constant whose axioms
//! they read exactly as Lean resolves and prints it, against sim-repl (a simulated REPL, not
//! Lean), which answers `#print axioms` once per constant a name resolves to.
//!
//! Before the fix each of these valid proofs came back `invalid`: a root theorem that Mathlib
//! also has under `Nat.` got two answers under the miniF2F header's `open … Nat …`;
//! `theorem foo.{u}` was queried as `foo.`; a `private` theorem is printed under its mangled
//! name; `«foo bar»` was cut at the space; `namespace A.B` … `end B` was taken to close both.

use std::collections::BTreeMap;
use std::path::Path;

use prover_tests::harness::{ProverRun, SimRepl, fixture_world, results_by_name};
use serde_json::{Value, json};

const HEADER: &str = prover_tests::harness::MINIF2F_HEADER;

/// Runs `prover check` on `rows` against `sim`; returns the results by name.
fn check(dir: &Path, rows: &[Value], sim: &SimRepl, extra: &[&str]) -> BTreeMap<String, Value> {
    let input = dir.join("in.jsonl");
    let out = dir.join("out.jsonl");
    let text: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(&input, text.join("\n")).unwrap();
    let output = ProverRun::new("check")
        .path("--input", &input)
        .path("--out", &out)
        .repl(sim)
        .args(extra)
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    results_by_name(&out)
}

fn assert_all_valid(results: &BTreeMap<String, Value>, count: usize) {
    assert_eq!(results.len(), count, "{results:#?}");
    for (name, result) in results {
        assert_eq!(result["status"], "valid", "{name}: {result:#}");
        assert_eq!(result["layers"]["axioms"], "passed", "{name}: {result:#}");
    }
}

/// The theorems of `names.json`: the statement (as a dataset row writes it) and a proof.
fn names_rows() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "succ_le_of_lt",
            "theorem succ_le_of_lt (n m : ℕ) (h : n < m) : n + 1 ≤ m := by",
            "\n  omega",
        ),
        (
            "refl_univ",
            "theorem refl_univ.{u} (α : Sort u) (a : α) : a = a := by",
            "\n  rfl",
        ),
        (
            "refl_private",
            "private theorem refl_private (α : Sort u) (a : α) : a = a := by",
            "\n  rfl",
        ),
        (
            "refl_escaped",
            "theorem «refl escaped» (α : Sort u) (a : α) : a = a := by",
            "\n  rfl",
        ),
    ]
}

#[test]
fn i20_root_universe_private_and_escaped_names_check_valid() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Value> = names_rows()
        .into_iter()
        .map(|(name, statement, proof)| {
            json!({"name": name, "header": HEADER, "formal_statement": statement, "proof": proof})
        })
        .collect();
    let results = check(
        dir.path(),
        &rows,
        &SimRepl::world(&fixture_world("names.json")),
        &[],
    );
    assert_all_valid(&results, 4);
    // The axioms are the theorem's own, not those of Mathlib's `Nat.succ_le_of_lt`.
    assert_eq!(results["succ_le_of_lt"]["axioms"], json!(["propext"]));
}

#[test]
fn i20_search_reports_proofs_of_names_lean_resolves_ambiguously() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = names_rows()
        .into_iter()
        .map(|(name, statement, _)| {
            datasets::Theorem {
                name: name.to_owned(),
                header: HEADER.to_owned(),
                formal_statement: statement.to_owned(),
            }
            .to_row()
        })
        .collect();
    let dataset = dir.path().join("dataset.jsonl");
    std::fs::write(&dataset, rows.join("\n") + "\n").unwrap();
    let out = dir.path().join("results.jsonl");
    let output = ProverRun::new("eval")
        .args(["--workers", "1", "--time-limit", "60"])
        .path("--dataset", &dataset)
        .path("--out", &out)
        .repl(&SimRepl::world(&fixture_world("names.json")))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    let results = results_by_name(&out);
    assert_eq!(results.len(), 4, "{results:#?}");
    for (name, result) in &results {
        assert_eq!(result["status"], "proved", "{name}: {result:#}");
    }
}

#[test]
fn i20_scopes_and_opened_namespaces_resolve_as_in_lean() {
    let dir = tempfile::tempdir().unwrap();
    let row = |name: &str, header: &str, statement: &str| json!({"name": name, "header": header, "formal_statement": statement, "proof": "\n  trivial"});
    let rows = [
        // `end B` closes only the `B` of `namespace A.B`: the theorem is `A.scoped_t`.
        row(
            "scoped_t",
            "import Mathlib\nnamespace A.B\nend B\n",
            "theorem scoped_t : True := by",
        ),
        // A private theorem inside a namespace: `_private.0.A.private_t`.
        row(
            "private_t",
            "import Mathlib\nnamespace A\n",
            "private theorem private_t : True := by",
        ),
        // A root theorem whose name the header also declares under an opened namespace.
        row(
            "twin",
            "import Mathlib\nnamespace Nat\ntheorem twin : True := trivial\nend Nat\nopen Nat\n",
            "theorem twin : True := by",
        ),
        row(
            "escaped",
            "import Mathlib\nnamespace «x y»\n",
            "theorem «a b».c : True := by",
        ),
    ];
    let results = check(
        dir.path(),
        &rows,
        &SimRepl::accept_all(),
        &["--trust-header"],
    );
    assert_all_valid(&results, 4);
}
