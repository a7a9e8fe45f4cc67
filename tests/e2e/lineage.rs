//! Benchmark lineages end to end against sim-repl (a simulated REPL, not Lean): the registry
//! printed, a resume into a results file of other statements refused, the audit of degenerate
//! statements (flags exactly the world's vacuous, trivial, auto-bound and unelaborable
//! statements, reused on a rerun), and the per-lineage report of a constructed pair of runs
//! with its transfer matrix.

use std::path::{Path, PathBuf};

use prover_tests::harness::{MINIF2F_HEADER, ProverRun, SimRepl, fixture_world, read_jsonl};
use serde_json::{Value, json};

const A: &str = "sim/a@0000000";
const B: &str = "sim/b@1111111";

/// A dataset of `(name, statement)` rows in `lineage`, as `prover datasets fetch` writes them.
fn dataset(dir: &Path, file: &str, lineage: &str, rows: &[(&str, &str)]) -> PathBuf {
    let text: String = rows
        .iter()
        .map(|(name, statement)| {
            json!({
                "name": name,
                "header": MINIF2F_HEADER,
                "formal_statement": format!("{statement} := by\n"),
                "lineage": lineage,
                "problem_id": name,
            })
            .to_string()
                + "\n"
        })
        .collect();
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

const AND_INTRO: (&str, &str) = (
    "and_intro",
    "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q",
);
const VACUOUS: (&str, &str) = (
    "vacuous_lt",
    "theorem vacuous_lt (x : ℕ) (h₀ : x < 0) : x = 5",
);
const TRIVIAL_A: (&str, &str) = ("trivial_add", "theorem trivial_add (n : ℕ) : n + 0 = n");
const TRIVIAL_B: (&str, &str) = ("trivial_add", "theorem trivial_add (n : ℕ) : 0 + n = n");
const TWO_STEP_A: (&str, &str) = ("two_step", "theorem two_step (a b : ℕ) (h : a = b) : b = a");
const TWO_STEP_B: (&str, &str) = ("two_step", "theorem two_step (a b : ℕ) (h : b = a) : b = a");

fn lineage_a(dir: &Path) -> PathBuf {
    dataset(
        dir,
        "a.jsonl",
        A,
        &[
            AND_INTRO,
            VACUOUS,
            TRIVIAL_A,
            TWO_STEP_A,
            (
                "auto_bound_mul",
                "theorem auto_bound_mul (x : ℝ) (h₀ : x = 2) : x * y = 2 * y",
            ),
            (
                "broken_stmt",
                "theorem broken_stmt (x : ℕ) : x = x + 1 - 1 + 0",
            ),
        ],
    )
}

fn lineage_b(dir: &Path) -> PathBuf {
    dataset(
        dir,
        "b.jsonl",
        B,
        &[AND_INTRO, VACUOUS, TRIVIAL_B, TWO_STEP_B],
    )
}

fn sim() -> SimRepl {
    SimRepl::world(&fixture_world("lineage.json"))
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn datasets_list_prints_every_lineage_with_its_pins() {
    let output = ProverRun::new("datasets").args(["list"]).output();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    for id in [
        "minif2f/deepseek-v1.5@2c4ba91",
        "minif2f/yangky11@5746b7d",
        "minif2f/v2s@0492cea",
        "proofnet/verified@22c9c70",
        "putnambench@3c9b926",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    assert!(text.contains("valid→test"), "v2's split map:\n{text}");
    assert!(text.contains("pins NOT verified"), "{text}");
    let unknown = ProverRun::new("datasets")
        .args(["fetch", "minif2f/nonesuch"])
        .output();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("minif2f/nonesuch"),
        "{}",
        stderr(&unknown)
    );
    let unverified = ProverRun::new("datasets")
        .args(["fetch", "minif2f/v2s"])
        .output();
    assert!(
        stderr(&unverified).contains("not fetchable"),
        "{}",
        stderr(&unverified)
    );
}

/// The flags of each audited problem, by name.
fn flags_by_name(path: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    read_jsonl(path)
        .into_iter()
        .map(|row| {
            let flags = row["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["flag"].as_str().unwrap().to_owned())
                .collect();
            (row["name"].as_str().unwrap().to_owned(), flags)
        })
        .collect()
}

#[test]
fn the_audit_flags_exactly_the_worlds_degenerate_statements_and_reuses_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let a = lineage_a(dir.path());
    let b = lineage_b(dir.path());
    let audit = || {
        ProverRun::new("datasets")
            .args(["audit"])
            .path("--dataset", &a)
            .path("--compare", &b)
            .repl(&sim())
            .output()
    };
    let output = audit();
    assert!(output.status.success(), "{}", stderr(&output));
    let flags_path = dir.path().join("a.flags.jsonl");
    let flags = flags_by_name(&flags_path);
    let expected: std::collections::BTreeMap<String, Vec<String>> = [
        ("and_intro", vec![]),
        ("auto_bound_mul", vec!["auto_bound"]),
        ("broken_stmt", vec!["does_not_elaborate"]),
        ("trivial_add", vec!["trivial", "differs_from"]),
        ("two_step", vec!["differs_from"]),
        ("vacuous_lt", vec!["vacuous"]),
    ]
    .into_iter()
    .map(|(name, flags)| {
        (
            name.to_owned(),
            flags.into_iter().map(str::to_owned).collect(),
        )
    })
    .collect();
    assert_eq!(flags, expected);
    let rows: Vec<Value> = read_jsonl(&flags_path);
    let evidence = |name: &str, flag: &str| -> String {
        rows.iter()
            .find(|r| r["name"] == name)
            .and_then(|r| {
                r["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["flag"] == flag)
            })
            .map(|f| f["evidence"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(
        evidence("auto_bound_mul", "auto_bound").contains("y : ℝ"),
        "the extra binder"
    );
    let refutation = evidence("vacuous_lt", "vacuous");
    assert!(
        refutation
            .starts_with("theorem vacuous_lt_audit_vacuous (x : ℕ) (h₀ : x < 0) : False := by\n")
            && (refutation.contains("omega") || refutation.contains("linarith")),
        "the refuting proof: {refutation}"
    );
    assert!(evidence("trivial_add", "differs_from").starts_with(B));
    assert!(
        stdout_of(&output).contains("6 problems audited, 5 flagged"),
        "{}",
        stdout_of(&output)
    );

    // A rerun reuses every row (same statements, same budget) and writes the same bytes.
    let before = std::fs::read(&flags_path).unwrap();
    let again = audit();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("6 of 6 problems already audited"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(&flags_path).unwrap(), before);
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
