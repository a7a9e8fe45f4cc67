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

fn eval(dataset: &Path, out: &Path) -> std::process::Output {
    ProverRun::new("eval")
        .args(["--workers", "2", "--time-limit", "60"])
        .path("--dataset", dataset)
        .path("--out", out)
        .repl(&sim())
        .output()
}

/// Two evals on two lineages of the same four problems (two stated alike, two not), the audit
/// of the first, the transfer re-checks both ways, and the report of both: the figures on all
/// problems, on the unflagged ones and on the intersection, the transfer matrix, and the
/// leaderboard rows naming lineage, toolchain and flagged problems. A resume on a changed
/// statement is refused, naming the row.
#[test]
fn a_report_of_two_lineages_shows_the_intersection_and_the_transfer_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let a = dataset(
        dir.path(),
        "a4.jsonl",
        A,
        &[AND_INTRO, VACUOUS, TRIVIAL_A, TWO_STEP_A],
    );
    let b = lineage_b(dir.path());
    let (out_a, out_b) = (
        dir.path().join("a.results.jsonl"),
        dir.path().join("b.results.jsonl"),
    );
    for (dataset, out) in [(&a, &out_a), (&b, &out_b)] {
        let output = eval(dataset, out);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let rows = read_jsonl(&out_a);
    assert!(
        rows.iter()
            .all(|r| r["lineage"] == A && r["statement_hash"].is_string()),
        "{rows:?}"
    );
    let audit = ProverRun::new("datasets")
        .args(["audit"])
        .path("--dataset", &a)
        .path("--compare", &b)
        .repl(&sim())
        .output();
    assert!(audit.status.success(), "{}", stderr(&audit));
    let transfer_file = dir.path().join("transfer.jsonl");
    let transfer = ProverRun::new("datasets")
        .args(["transfer"])
        .args([&out_a, &out_b])
        .path("--dataset", &a)
        .path("--dataset", &b)
        .path("--out", &transfer_file)
        .repl(&sim())
        .output();
    assert!(transfer.status.success(), "{}", stderr(&transfer));
    assert!(
        stdout_of(&transfer).contains(&format!("{A} → {B}: 2 transfer, 1 do not, 0 error")),
        "{}",
        stdout_of(&transfer)
    );
    let (html, json_path) = (dir.path().join("r.html"), dir.path().join("r.json"));
    let report = ProverRun::new("report")
        .args([&out_a, &out_b])
        .path("--out", &html)
        .path("--json", &json_path)
        .path("--flags", &dir.path().join("a4.flags.jsonl"))
        .path("--transfer", &transfer_file)
        .output();
    assert!(report.status.success(), "{}", stderr(&report));
    let figures: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let lineages = &figures["lineages"];
    assert_eq!(lineages["intersection_size"], 2, "and_intro and vacuous_lt");
    let solved = |run: usize, which: &str| {
        let s = &lineages["runs"][run][which];
        (s["solved"].as_u64().unwrap(), s["total"].as_u64().unwrap())
    };
    assert_eq!(lineages["runs"][0]["lineage"], A);
    assert_eq!(solved(0, "all"), (3, 4));
    assert_eq!(
        solved(0, "unflagged"),
        (2, 2),
        "vacuous_lt and trivial_add flagged"
    );
    assert_eq!(solved(0, "intersection"), (1, 2));
    assert_eq!(lineages["runs"][1]["lineage"], B);
    assert_eq!(solved(1, "all"), (3, 4));
    assert_eq!(solved(1, "unflagged"), (3, 4), "no flags file for B");
    assert_eq!(solved(1, "intersection"), (1, 2));
    let cell = |from: &str| {
        lineages["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["from"] == from)
            .cloned()
            .unwrap()
    };
    let a_to_b = cell(A);
    assert_eq!(
        (
            &a_to_b["proofs"],
            &a_to_b["transfers"],
            &a_to_b["does_not"],
            &a_to_b["statement_differs"],
            &a_to_b["transfers_although_different"]
        ),
        (&json!(3), &json!(2), &json!(1), &json!(2), &json!(1)),
        "and_intro and trivial_add (differently stated) transfer; two_step's does not"
    );
    assert_eq!(cell(B)["transfers"], 2);
    let row = &figures["leaderboard"]["a.results.jsonl"];
    assert_eq!(row["lineage"], A);
    assert_eq!(row["toolchain"], "unknown", "no registry lineage");
    assert_eq!(row["flagged"], json!(["trivial_add", "vacuous_lt"]));
    assert_eq!(row["flagged-counted"], true);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h2>Lineages</h2>") && page.contains("Transfer matrix"));

    // The same results file resumed on a dataset whose statement of trivial_add changed.
    let changed = dataset(
        dir.path(),
        "a4.jsonl",
        A,
        &[AND_INTRO, VACUOUS, TRIVIAL_B, TWO_STEP_A],
    );
    let refused = eval(&changed, &out_a);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("trivial_add (attempt 0): statement hash"),
        "{}",
        stderr(&refused)
    );
}

/// `prover eval --shard` of a lineage dataset: each shard's rows carry the lineage, problem
/// id and statement hash an unsharded run writes, `prover merge` keeps them, and shards of two
/// lineages that state one problem differently are refused rather than mixed.
#[test]
fn sharded_evals_of_a_lineage_merge_with_their_statement_identities() {
    let dir = tempfile::tempdir().unwrap();
    let a = lineage_a(dir.path());
    let shard_eval = |dataset: &Path, shard: &str, out: &Path| {
        ProverRun::new("eval")
            .args(["--workers", "2", "--time-limit", "60", "--shard", shard])
            .path("--dataset", dataset)
            .path("--out", out)
            .repl(&sim())
            .output()
    };
    let identities = |path: &Path| -> Vec<Value> {
        let mut rows: Vec<Value> = read_jsonl(path)
            .into_iter()
            .map(|row| {
                json!([
                    row["name"],
                    row["status"],
                    row["lineage"],
                    row["problem_id"],
                    row["statement_hash"]
                ])
            })
            .collect();
        rows.sort_by_key(|row| row.to_string());
        rows
    };
    let whole = dir.path().join("whole.jsonl");
    let output = eval(&a, &whole);
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        stderr(&output)
    );
    let shards: Vec<PathBuf> = (0..2)
        .map(|index| {
            let out = dir.path().join(format!("a-{index}.jsonl"));
            let output = shard_eval(&a, &format!("{index}/2"), &out);
            assert!(
                output.status.code().is_some_and(|c| c < 2),
                "{}",
                stderr(&output)
            );
            out
        })
        .collect();
    let merged = dir.path().join("merged.jsonl");
    let output = ProverRun::new("merge")
        .args([&merged, &shards[0], &shards[1]])
        .output();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let expected = identities(&whole);
    assert_eq!(expected.len(), 6);
    assert!(
        expected.iter().all(|row| row[2] == A && row[4].is_string()),
        "{expected:?}"
    );
    assert_eq!(identities(&merged), expected);

    // Lineage b states two_step otherwise: its shard does not merge with a's.
    let b = lineage_b(dir.path());
    let b_shard = dir.path().join("b-1.jsonl");
    let output = shard_eval(&b, "1/2", &b_shard);
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        stderr(&output)
    );
    let mixed = dir.path().join("mixed.jsonl");
    let output = ProverRun::new("merge")
        .args([&mixed, &shards[0], &b_shard])
        .output();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!mixed.exists(), "nothing is written");
}
