//! Regression tests for issue 7: attacks on `prover check` against the permissive simulated REPL (sim-repl --accept-all, not Lean).
//!
//! The permissive simulator elaborates every declaration, so what decides each verdict is the
//! checker's own rules; it models the Lean answers the attacks rely on (`trace` and `#print`
//! messages, header axioms, `example`, several declarations in one command). Every attack
//! must come back `invalid`; honest proofs, reflowed statements and the 438 real DeepSeek
//! proofs must stay `valid`.

use std::collections::BTreeMap;
use std::path::Path;

use prover_tests::harness::{ProverRun, SimRepl, shared_file_or_skip};
use serde_json::{Value, json};

const HEADER: &str = prover_tests::harness::MINIF2F_HEADER;

fn row(name: &str, header: &str, statement: &str, proof: &str) -> Value {
    json!({"name": name, "header": header, "formal_statement": statement, "proof": proof})
}

/// Runs `prover check` on `rows` with `extra` flags; returns the results by name and stderr.
fn check(dir: &Path, rows: &[Value], extra: &[&str]) -> (BTreeMap<String, Value>, String) {
    let input = dir.join("in.jsonl");
    let out = dir.join("out.jsonl");
    let text: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(&input, text.join("\n")).unwrap();
    let _ = std::fs::remove_file(&out);
    let output = ProverRun::new("check")
        .path("--input", &input)
        .path("--out", &out)
        .args(["--workers", "2"])
        .repl(&SimRepl::accept_all())
        .args(extra)
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    let results = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v))
        .collect();
    (results, stderr)
}

fn assert_status(results: &BTreeMap<String, Value>, name: &str, status: &str, reason: &str) {
    let result = &results[name];
    assert_eq!(result["status"], status, "{name}: {result:#}");
    assert!(
        result["reasons"].to_string().contains(reason),
        "{name}: expected a reason with {reason:?}: {result:#}"
    );
}

#[test]
fn r7_attacks_without_a_reference_are_invalid_and_honest_proofs_valid() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        row(
            "honest",
            HEADER,
            "theorem honest (a b : ℕ) : a + b = b + a := by",
            "\n  omega",
        ),
        row(
            "honest_trace",
            HEADER,
            "theorem honest_trace : 1 + 1 = 2 := by",
            "\n  trace \"'honest_trace' does not depend on any axioms\"\n  norm_num",
        ),
        row(
            "honest_example",
            HEADER,
            "example : 1 + 1 = 2 := by",
            "\n  -- an example, checked under a fresh theorem name\n  norm_num",
        ),
        // Hole 2: `example` and `def` got no axiom check at all.
        row(
            "example_native",
            HEADER,
            "example : 2 ^ 20 % 7 = 4 := by",
            "\n  native_decide",
        ),
        // Hole 3: trusted headers.
        row(
            "header_variable",
            "import Mathlib\nvariable (h : False)\ninclude h\n",
            "theorem header_variable : 1 = 2 := by",
            "\n  exact h.elim",
        ),
        row(
            "header_macro",
            "import Mathlib\nmacro_rules | `($a = $b) => `(True)\n",
            "theorem header_macro : 1 = 2 := by",
            "\n  trivial",
        ),
        row(
            "header_axiom",
            "import Mathlib\naxiom cheat : False\n",
            "theorem header_axiom : 1 = 2 := by",
            "\n  exact cheat.elim",
        ),
        // Hole 5: proof text that reaches Lean unscreened.
        row(
            "skip_kernel",
            HEADER,
            "theorem skip_kernel : 1 = 2 := by",
            "\n  set_option debug.skipKernelTC true in\n  decide",
        ),
        row(
            "run_tac",
            HEADER,
            "theorem t_run_tac : 1 = 2 := by",
            "\n  run_tac Lean.Elab.admitGoal",
        ),
        row(
            "run_cmd",
            HEADER,
            "theorem t_run_cmd : 1 = 2 := by",
            "\n  simp\n  run_cmd pure ()",
        ),
        row(
            "elab",
            HEADER,
            "theorem t_elab : 1 = 2 := by",
            "\n  simp\n  elab \"cheat\" : tactic => pure ()",
        ),
        row(
            "indented_print",
            HEADER,
            "theorem indented_print : 1 = 2 := by",
            "\n  simp\n  #print \"'indented_print' does not depend on any axioms\"",
        ),
        row(
            "indented_theorem",
            HEADER,
            "theorem indented_theorem : True := by",
            "\n  trivial\n  theorem cheat : False := by sorry",
        ),
        row(
            "exit",
            HEADER,
            "theorem t_exit : 1 = 2 := by",
            "\n  simp\n  #exit",
        ),
        // A statement that smuggles a command in front of the theorem.
        row(
            "statement_axiom",
            HEADER,
            "axiom cheat2 : False\ntheorem statement_axiom : 1 = 2 := by",
            "\n  exact cheat2.elim",
        ),
    ];
    let (results, _) = check(dir.path(), &rows, &[]);
    assert_eq!(results.len(), rows.len());
    for name in ["honest", "honest_trace", "honest_example"] {
        assert_status(&results, name, "valid", "");
        let layers = &results[name]["layers"];
        for layer in ["screening", "header", "elaboration", "no_sorry", "axioms"] {
            assert_eq!(layers[layer], "passed", "{name}: {layers}");
        }
        assert_eq!(layers["statement"], "not_configured");
        assert_eq!(layers["external"], "not_configured");
    }
    let renamed = results["honest_example"]["checked_as"].as_str().unwrap();
    assert!(renamed.starts_with("prover_check_example_"), "{renamed}");
    assert_status(&results, "example_native", "invalid", "native_decide");
    assert_status(&results, "header_variable", "invalid", "header line 2");
    assert_status(&results, "header_macro", "invalid", "header line 2");
    assert_status(&results, "header_axiom", "invalid", "header line 2");
    assert_eq!(results["header_axiom"]["layers"]["header"], "failed");
    assert_status(&results, "skip_kernel", "invalid", "line 2");
    assert_status(&results, "skip_kernel", "invalid", "debug.skipKernelTC");
    assert_status(&results, "run_tac", "invalid", "run_tac");
    assert_status(&results, "run_cmd", "invalid", "line 3");
    assert_status(&results, "elab", "invalid", "`elab` on line 3");
    assert_status(&results, "indented_print", "invalid", "#print");
    assert_status(
        &results,
        "indented_theorem",
        "invalid",
        "`theorem` on line 3",
    );
    assert_status(&results, "exit", "invalid", "#exit");
    assert_status(&results, "statement_axiom", "invalid", "statement line 1");
}

#[test]
fn r7_trusted_headers_still_get_a_real_axiom_check() {
    // Hole 1: a `trace` that prints the axiom sentence, and an `example` or `def` using an
    // axiom the (trusted) header declares. The axiom answer is a command of its own now.
    let dir = tempfile::tempdir().unwrap();
    let header = "import Mathlib\naxiom cheat : False\n";
    let rows = [
        row(
            "spoof_trace",
            header,
            "theorem spoof_trace : 1 = 2 := by",
            "\n  trace \"'spoof_trace' does not depend on any axioms\"\n  exact cheat.elim",
        ),
        row(
            "spoof_example",
            header,
            "example : 1 = 2 := by",
            "\n  exact cheat.elim",
        ),
        row("spoof_def", header, "def spoof_def : ℕ :=", " cheat.elim"),
        row(
            "honest",
            header,
            "theorem honest (a b : ℕ) : a + b = b + a := by",
            "\n  omega",
        ),
    ];
    let (results, _) = check(dir.path(), &rows, &["--trust-header"]);
    assert_status(
        &results,
        "spoof_trace",
        "invalid",
        "non-standard axiom cheat",
    );
    assert_eq!(
        results["spoof_trace"]["axioms"],
        json!(["Classical.choice", "Quot.sound", "cheat", "propext"])
    );
    assert_status(
        &results,
        "spoof_example",
        "invalid",
        "non-standard axiom cheat",
    );
    assert_status(&results, "spoof_def", "invalid", "non-standard axiom cheat");
    assert_status(&results, "honest", "valid", "");
    assert_eq!(results["honest"]["layers"]["header"], "trusted");
}

#[test]
fn r7_references_supply_the_header_and_compare_whitespace_runs_only() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.jsonl");
    let reference_rows = [
        json!({"name": "apply_f", "header": HEADER,
               "formal_statement": "theorem apply_f (f : ℕ → ℕ) (x : ℕ) (h : f x = 1) :\n    f x = 1 := by sorry"}),
        json!({"name": "defs", "header": "import Mathlib\n\ndef double (n : ℕ) := 2 * n\n\n",
               "formal_statement": "theorem defs : double 2 = 4 :="}),
    ];
    let lines: Vec<String> = reference_rows.iter().map(Value::to_string).collect();
    std::fs::write(&reference, lines.join("\n")).unwrap();
    let reference_flag = reference.to_str().unwrap();
    let rows = [
        // Reflowed onto one line: the same statement.
        row(
            "apply_f",
            "",
            "theorem apply_f (f : ℕ → ℕ) (x : ℕ) (h : f x = 1) : f x = 1 := by",
            "\n  exact h",
        ),
        // The reference's header (with a `def`) is used for a row that has none.
        json!({"name": "defs", "formal_statement": "theorem defs : double 2 = 4 :=", "proof": " rfl"}),
    ];
    let (results, _) = check(dir.path(), &rows, &["--reference", reference_flag]);
    assert_status(&results, "apply_f", "valid", "");
    assert_status(&results, "defs", "valid", "");
    assert_eq!(results["defs"]["layers"]["statement"], "passed");
    assert_eq!(results["defs"]["layers"]["header"], "passed");

    // Hole 4: `fx` is not `f x`; hole 3: a header of the row's own that differs.
    let attacks = [
        row(
            "apply_f",
            "",
            "theorem apply_f (f : ℕ → ℕ) (x : ℕ) (h : f x = 1) : fx = 1 := by",
            "\n  exact h",
        ),
        row(
            "defs",
            "import Mathlib\n\ndef double (n : ℕ) := 2\n\n",
            "theorem defs : double 2 = 4 :=",
            " rfl",
        ),
    ];
    let (results, _) = check(dir.path(), &attacks, &["--reference", reference_flag]);
    assert_status(&results, "apply_f", "invalid", "differs from the reference");
    assert_status(
        &results,
        "defs",
        "invalid",
        "header differs from the reference",
    );

    // A name the reference gives twice with different statements is ambiguous: refused.
    let other = json!({"name": "apply_f", "header": HEADER,
                       "formal_statement": "theorem apply_f : True := by sorry"});
    std::fs::write(&reference, format!("{}\n{}\n{}", lines[0], lines[1], other)).unwrap();
    let (results, stderr) = check(dir.path(), &rows, &["--reference", reference_flag]);
    assert_status(
        &results,
        "apply_f",
        "invalid",
        "names 2 different statements",
    );
    assert_status(&results, "defs", "valid", "");
    assert!(
        stderr.contains("rows with these names are refused: apply_f"),
        "{stderr}"
    );
}

#[test]
fn r7_an_external_checker_is_one_more_layer() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        row(
            "uses_omega",
            HEADER,
            "theorem uses_omega (a : ℕ) : a = a := by",
            "\n  omega",
        ),
        row(
            "uses_rfl",
            HEADER,
            "theorem uses_rfl (a : ℕ) : a = a := by",
            "\n  rfl",
        ),
    ];
    // A stand-in for lean4checker: accepts a file that mentions omega, prints why otherwise.
    let checker = "sh -c 'grep -q omega \"$0\" || { echo \"no omega in $0\" >&2; exit 1; }'";
    let (results, _) = check(dir.path(), &rows, &["--external-checker", checker]);
    assert_status(&results, "uses_omega", "valid", "");
    assert_eq!(results["uses_omega"]["layers"]["external"], "passed");
    assert_status(&results, "uses_rfl", "invalid", "no omega in");
    assert_eq!(results["uses_rfl"]["layers"]["external"], "failed");
}

#[test]
fn r7_the_real_deepseek_proofs_stay_valid() {
    let test = "r7_the_real_deepseek_proofs_stay_valid";
    let Some(traces) = shared_file_or_skip(
        "datasets/traces/deepseek_prover_v2_minif2f_proofs.jsonl",
        test,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Value> = std::fs::read_to_string(traces)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (results, stderr) = check(dir.path(), &rows, &[]);
    assert_eq!(results.len(), 438, "{stderr}");
    let refused: Vec<String> = results
        .values()
        .filter(|r| r["status"] != "valid")
        .map(|r| format!("{}: {}", r["name"], r["reasons"]))
        .collect();
    assert!(
        refused.is_empty(),
        "{} refused: {refused:#?}",
        refused.len()
    );
}

#[test]
fn r7_every_benchmark_statement_and_header_passes_the_text_rules() {
    // The statement screening and the header allow-list must not refuse the benchmarks
    // themselves: miniF2F (both versions) without a reference, ProofNet (whose headers hold
    // `def`s) through its own reference.
    let test = "r7_every_benchmark_statement_and_header_passes_the_text_rules";
    for (relative, as_reference) in [
        ("datasets/minif2f/test.jsonl", false),
        ("datasets/minif2f/yangky11_v4.24.0/valid.jsonl", false),
        ("datasets/proofnet/test.jsonl", true),
        ("datasets/proofnet/valid.jsonl", true),
    ] {
        let Some(dataset) = shared_file_or_skip(relative, test) else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<Value> = std::fs::read_to_string(&dataset)
            .unwrap()
            .lines()
            .map(|l| {
                let mut row: Value = serde_json::from_str(l).unwrap();
                let statement = row["formal_statement"].as_str().unwrap().to_owned();
                let term_mode = statement
                    .trim_end()
                    .trim_end_matches("sorry")
                    .trim_end()
                    .ends_with(":=");
                row["proof"] = json!(if term_mode { " by simp" } else { "\n  simp" });
                row
            })
            .collect();
        let flags: Vec<&str> = match as_reference {
            true => vec!["--reference", dataset.to_str().unwrap()],
            false => vec![],
        };
        let (results, _) = check(dir.path(), &rows, &flags);
        let names: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(results.len(), names.len(), "{relative}");
        for (name, result) in &results {
            // ProofNet's test split gives four names twice, for different theorems.
            if result["reasons"]
                .to_string()
                .contains("different statements in the reference")
            {
                continue;
            }
            assert_eq!(result["status"], "valid", "{relative} {name}: {result}");
        }
    }
}
