//! Real-Lean tests, gated: they run only where `lake` is on PATH (the GitHub Actions workflow
//! after `scripts/setup.sh`) and print a skip line elsewhere.

use prover_tests::harness::{
    lean_or_skip, print_uncaptured, prover_command, shared_file_or_skip, workspace_root,
};
use serde_json::Value;

/// Checks `lean-project/examples/check-small.jsonl` with the REPL built by the set-up and
/// compares every row's status with its `expected` field.
#[test]
fn real_lean_check_small_examples() {
    let Some(_lake) = lean_or_skip("real_lean_check_small_examples") else {
        return;
    };
    check_examples_file("lean-project/examples/check-small.jsonl", &[]);
}

/// Issue 7's axiom attacks on real Lean: a `trace` that prints the axiom sentence, an
/// `example` and a `def` using an axiom the (trusted) header declares.
#[test]
fn real_lean_check_axiom_attacks() {
    let Some(_lake) = lean_or_skip("real_lean_check_axiom_attacks") else {
        return;
    };
    check_examples_file(
        "lean-project/examples/check-attacks.jsonl",
        &["--trust-header"],
    );
}

/// Issue 20, audit rows 1 and 5, on real Lean: root theorems whose names Mathlib also has
/// under the opened `Nat.` and `Real.` (one `#print axioms` answer per resolved constant), a
/// universe-polymorphic theorem (`foo.{u}`), private theorems (Lean prints their mangled
/// names), `namespace A.B` … `end B` and a `«»` name: all valid.
#[test]
fn real_lean_check_name_edge_cases() {
    let Some(_lake) = lean_or_skip("real_lean_check_name_edge_cases") else {
        return;
    };
    check_examples_file("lean-project/examples/check-names.jsonl", &[]);
}

/// Checks a file of rows carrying an `expected` status (a path inside the checkout) with the
/// built REPL: one result per row, each with its expected status.
fn check_examples_file(relative: &str, extra: &[&str]) {
    check_rows_file(&workspace_root().join(relative), extra);
}

fn check_rows_file(input: &std::path::Path, extra: &[&str]) {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let status = prover_command()
        .args(["check", "--workers", "1", "--timeout", "900"])
        .args(extra)
        .arg("--project")
        .arg(&root)
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let expected: Vec<Value> = std::fs::read_to_string(input)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let results: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), expected.len());
    for want in &expected {
        let got = results
            .iter()
            .find(|r| r["name"] == want["name"])
            .unwrap_or_else(|| panic!("no result for {}", want["name"]));
        assert_eq!(got["status"], want["expected"], "{got:#}");
    }
}

/// Checks the 438 DeepSeek-Prover-V2 miniF2F proofs; they need DeepSeek's Lean v4.9.0-rc1
/// environment (README, "Lean versions"), given as a set-up project in `PROVER_V49_PROJECT`.
#[test]
fn real_lean_check_deepseek_traces() {
    let Some(_lake) = lean_or_skip("real_lean_check_deepseek_traces") else {
        return;
    };
    let Some(project) = std::env::var_os("PROVER_V49_PROJECT") else {
        print_uncaptured(
            "skipped: no Lean v4.9.0-rc1 project (set PROVER_V49_PROJECT to a set-up DeepSeek environment): real_lean_check_deepseek_traces",
        );
        return;
    };
    let Some(input) = shared_file_or_skip(
        "datasets/traces/deepseek_prover_v2_minif2f_proofs.jsonl",
        "real_lean_check_deepseek_traces",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let status = prover_command()
        .args(["check", "--workers", "2", "--timeout", "600"])
        .arg("--project")
        .arg(&project)
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let results: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 438);
    let valid = results.iter().filter(|r| r["status"] == "valid").count();
    println!("deepseek traces: {valid} of 438 valid");
    // DeepSeek published these as verified proofs of their own statements.
    assert!(valid >= 400, "only {valid} of 438 published proofs checked");
}

/// Runs `prover eval` with the portfolio on a few easy miniF2F problems (yangky11 statements,
/// the pinned toolchain's version) through the REPL built by the set-up.
#[test]
fn real_lean_eval_minif2f_sample() {
    let Some(_lake) = lean_or_skip("real_lean_eval_minif2f_sample") else {
        return;
    };
    let root = workspace_root();
    let wanted = [
        "mathd_numbertheory_254",
        "mathd_numbertheory_3",
        "mathd_algebra_10",
        "mathd_numbertheory_12",
    ];
    let mut rows = Vec::new();
    for split in ["valid", "test"] {
        let Some(path) = shared_file_or_skip(
            &format!("datasets/minif2f/yangky11_v4.24.0/{split}.jsonl"),
            "real_lean_eval_minif2f_sample",
        ) else {
            return;
        };
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            if wanted.contains(&row["name"].as_str().unwrap()) {
                rows.push(line.to_owned());
            }
        }
    }
    assert_eq!(rows.len(), wanted.len());
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("sample.jsonl");
    std::fs::write(&dataset, rows.join("\n")).unwrap();
    let out = dir.path().join("results.jsonl");
    let status = prover_command()
        .args([
            "eval",
            "--workers",
            "1",
            "--time-limit",
            "300",
            "--tactic-timeout",
            "60",
        ])
        .arg("--project")
        .arg(&root)
        .arg("--dataset")
        .arg(&dataset)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let results: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), wanted.len());
    let proved = results.iter().filter(|r| r["status"] == "proved").count();
    println!(
        "real Lean eval sample: {proved} of {} proved",
        results.len()
    );
    assert!(
        results.iter().all(|r| r["status"] != "error"),
        "{results:#?}"
    );
    // `(239 + 174 + 83) % 10 = 6` falls to norm_num or decide.
    assert!(proved >= 1, "{results:#?}");
}

/// Verbatim yangky11 statements (the pinned toolchain's miniF2F) with short proofs written
/// here, and altered statements with the same proofs, which must not pass.
#[test]
fn real_lean_check_verbatim_minif2f_statements() {
    let test = "real_lean_check_verbatim_minif2f_statements";
    let Some(_lake) = lean_or_skip(test) else {
        return;
    };
    let proofs = [
        ("mathd_numbertheory_254", "\n  norm_num"),
        ("mathd_numbertheory_299", "\n  norm_num"),
        ("mathd_algebra_478", "\n  rw [h₁, h₂, h₃]\n  norm_num"),
    ];
    let mut reference = Vec::new();
    for split in ["valid", "test"] {
        let Some(path) = shared_file_or_skip(
            &format!("datasets/minif2f/yangky11_v4.24.0/{split}.jsonl"),
            test,
        ) else {
            return;
        };
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            if proofs.iter().any(|(name, _)| row["name"] == *name) {
                reference.push(row);
            }
        }
    }
    assert_eq!(reference.len(), proofs.len());
    let mut rows = Vec::new();
    for row in &reference {
        let name = row["name"].as_str().unwrap();
        let proof = proofs.iter().find(|(n, _)| *n == name).unwrap().1;
        let statement = row["formal_statement"].as_str().unwrap();
        rows.push(serde_json::json!({"name": name, "header": row["header"],
            "formal_statement": statement, "proof": proof, "expected": "valid"}));
    }
    // The same proof of a changed statement: Lean refuses it.
    let altered = reference
        .iter()
        .find(|r| r["name"] == "mathd_numbertheory_254")
        .unwrap();
    rows.push(
        serde_json::json!({"name": "altered_254", "header": altered["header"],
        "formal_statement": altered["formal_statement"].as_str().unwrap().replace("= 6", "= 7"),
        "proof": "\n  norm_num", "expected": "invalid"}),
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    let lines: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    check_rows_file(&input, &[]);
}

/// Issue 20's editor rows on real Lean: `prover prove --file --at` (the editor server's job) on
/// a documented theorem whose sorry follows `case … =>`: the doc comment travels with the
/// declaration, the proof goes in as a tactic, and nothing beyond the standard axioms is used.
#[test]
fn real_lean_prove_a_sorry_after_case_in_a_documented_theorem() {
    let Some(_lake) = lean_or_skip("real_lean_prove_a_sorry_after_case_in_a_documented_theorem")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Documented.lean");
    let text = "import Mathlib\n\n/-- Both halves, one of them proved in a `case`. -/\n@[simp]\ntheorem prover_editor_both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  constructor\n  case left => sorry\n  case right => exact hq\n";
    std::fs::write(&file, text).unwrap();
    let sorry = text.find("sorry").unwrap();
    let line = text[..sorry].matches('\n').count() + 1;
    let column = sorry - text[..sorry].rfind('\n').unwrap() - 1;
    let output = prover_command()
        .args(["prove", "--json", "--workers", "1", "--time-limit", "300"])
        .arg("--project")
        .arg(workspace_root())
        .arg("--file")
        .arg(&file)
        .args(["--at", &format!("{line}:{column}")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["status"], "proved", "{result:#}");
    assert_eq!(result.get("rests_on"), None, "{result:#}");
}
