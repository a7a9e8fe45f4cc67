//! `prover eval` and `prover prove` end to end against sim-repl (a simulated REPL, not Lean):
//! the portfolio policy on hand-written worlds with dead ends, repeated states, the tricky
//! failure answer, a hanging and a crashing tactic; every proof it reports passes `prover check`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use prover_tests::harness::{
    ProverRun, SimRepl, count_command, fixture_world, logged_requests, results_by_name,
};
use prover_tests::world::World;
use serde_json::Value;

const HEADER: &str = prover_tests::harness::MINIF2F_HEADER;

fn world_path(name: &str) -> std::path::PathBuf {
    fixture_world(name)
}

fn sim_cmd(world: &Path, log: Option<&Path>) -> String {
    let sim = SimRepl::world(world);
    match log {
        Some(log) => sim.log(log),
        None => sim,
    }
    .command_line()
}

/// A miniF2F-style dataset holding every theorem of `world`.
fn dataset_for(world: &Path, dir: &Path) -> std::path::PathBuf {
    let world = World::load(world).unwrap();
    let rows: Vec<String> = world
        .theorems
        .iter()
        .map(|t| {
            datasets::Theorem {
                name: t.name.clone(),
                header: HEADER.to_owned(),
                formal_statement: format!("{} := by\n", t.statement),
            }
            .to_row()
        })
        .collect();
    let path = dir.join("dataset.jsonl");
    std::fs::write(&path, rows.join("\n") + "\n").unwrap();
    path
}

fn run_eval(dataset: &Path, out: &Path, repl_cmd: &str, extra: &[&str]) -> Output {
    ProverRun::new("eval")
        .args([
            "--workers",
            "2",
            "--tactic-timeout",
            "1",
            "--time-limit",
            "60",
        ])
        .path("--dataset", dataset)
        .path("--out", out)
        .repl_cmd(repl_cmd)
        .args(extra)
        .output()
}

/// A JSON string's text (empty for anything else).
fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// Runs `prover check` on every proof the eval reported and returns the statuses.
fn recheck(
    dataset: &Path,
    results: &BTreeMap<String, Value>,
    world: &Path,
    dir: &Path,
) -> Vec<String> {
    let statements: BTreeMap<String, Value> = std::fs::read_to_string(dataset)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v))
        .collect();
    let rows: Vec<String> = results
        .values()
        .filter(|r| r["status"] == "proved")
        .map(|r| {
            let row = &statements[r["name"].as_str().unwrap()];
            datasets::ProofRow {
                name: text(&r["name"]),
                header: text(&row["header"]),
                formal_statement: text(&row["formal_statement"]),
                proof: text(&r["proof"]),
            }
            .to_row()
        })
        .collect();
    let input = dir.join("proofs.jsonl");
    let out = dir.join("checked.jsonl");
    std::fs::write(&input, rows.join("\n")).unwrap();
    let output = ProverRun::new("check")
        .path("--input", &input)
        .path("--out", &out)
        .repl(&SimRepl::world(world))
        .output();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn eval_with_the_portfolio_proves_every_provable_theorem_and_survives_faults() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_path("eval-portfolio.json");
    let dataset = dataset_for(&world, dir.path());
    let out = dir.path().join("results.jsonl");
    let output = run_eval(&dataset, &out, &sim_cmd(&world, None), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(stderr.contains("pass rate"), "summary on stderr:\n{stderr}");

    let results = results_by_name(&out);
    assert_eq!(results.len(), 8, "{results:#?}");
    for name in [
        "and_intro",
        "forall_intro",
        "linarith_hyps",
        "exists_obtain",
        "dead_end_repeat",
        "hang_then_prove",
        "crash_then_prove",
    ] {
        assert_eq!(
            results[name]["status"], "proved",
            "{name}: {:#}",
            results[name]
        );
        assert!(results[name]["lean_calls"].as_u64().unwrap() >= 2);
    }
    assert_eq!(results["unprovable"]["status"], "failed");
    assert_eq!(
        results["unprovable"]["stop_reason"], "exhausted",
        "{:#}",
        results["unprovable"]
    );
    assert_eq!(results["forall_intro"]["proof"], "\n  intro n\n  simp");
    assert_eq!(
        results["exists_obtain"]["proof"],
        "\n  obtain ⟨k, hk⟩ := h\n  subst hk\n  simp"
    );
    assert_eq!(results["hang_then_prove"]["proof"], "\n  simp");
    assert_eq!(results["crash_then_prove"]["proof"], "\n  omega");

    let statuses = recheck(&dataset, &results, &world, dir.path());
    assert_eq!(statuses, vec!["valid"; 7]);
}

#[test]
fn a_rerun_skips_decided_theorems_and_repairs_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_path("eval-portfolio.json");
    let dataset = dataset_for(&world, dir.path());
    let out = dir.path().join("results.jsonl");
    let log = dir.path().join("sim.log");
    let first = run_eval(&dataset, &out, &sim_cmd(&world, None), &[]);
    assert_eq!(first.status.code(), Some(0));
    // Simulate a crash mid-write: drop the last line's tail.
    let text = std::fs::read_to_string(&out).unwrap();
    let last_start = text.trim_end().rfind('\n').unwrap() + 1;
    let torn_name = serde_json::from_str::<Value>(text[last_start..].trim()).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(&out, &text[..last_start + 10]).unwrap();

    let second = run_eval(&dataset, &out, &sim_cmd(&world, Some(&log)), &[]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("7 of 8 theorems already decided"),
        "{stderr}"
    );
    assert!(stderr.contains("dropping"), "{stderr}");
    let results = results_by_name(&out);
    assert_eq!(results.len(), 8);
    let lines = std::fs::read_to_string(&out).unwrap().lines().count();
    assert_eq!(lines, 8, "one line per theorem, none duplicated");
    // Only the torn theorem went back to the REPL.
    let log = std::fs::read_to_string(&log).unwrap();
    let statement_requests = log.lines().filter(|l| l.contains("theorem ")).count();
    assert!(statement_requests >= 1);
    assert!(
        log.contains(&torn_name),
        "the torn theorem {torn_name} was redone:\n{log}"
    );
}

#[test]
fn prove_at_a_sorry_of_a_file_proves_it_as_the_editor_server_would() {
    let world = world_path("eval-portfolio.json");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Sorry.lean");
    let declaration = "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by sorry";
    std::fs::write(&file, format!("{HEADER}{declaration}\n")).unwrap();
    let line = HEADER.lines().count() + 1;
    // Lean's columns: codepoints from 0; `ℕ` is one.
    let column = declaration[..declaration.find("sorry").unwrap()]
        .chars()
        .count()
        + 2;
    let at = format!("{line}:{column}");
    let output = ProverRun::new("prove")
        .path("--file", &file)
        .args(["--at", &at])
        .repl(&SimRepl::world(&world))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by\n  intro n\n  simp\n"
    );
    // --write puts it in the file.
    let written = ProverRun::new("prove")
        .path("--file", &file)
        .args(["--at", &at, "--write"])
        .repl(&SimRepl::world(&world))
        .output();
    assert_eq!(
        written.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{HEADER}theorem forall_intro : ∀ n : ℕ, n + 0 = n := by\n  intro n\n  simp\n")
    );
    std::fs::write(&file, format!("{HEADER}{declaration}\n")).unwrap();
    let nowhere = ProverRun::new("prove")
        .path("--file", &file)
        .args(["--at", "1:0"])
        .repl(&SimRepl::world(&world))
        .output();
    let stderr = String::from_utf8_lossy(&nowhere.stderr);
    assert_eq!(nowhere.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Sorry.lean:1:0: no `sorry` there"),
        "{stderr}"
    );
}

/// `prover prove` starts the REPLs its search will run tactics on (P, the pool's size by
/// default) as soon as it knows the header, so the first expansion's tactics find them warm
/// instead of each starting a REPL and elaborating the header after the statement's own (with
/// Mathlib, a second 5–15 s on the clock). Every elaboration the run pays is one of them.
#[test]
fn prove_starts_the_searchs_repls_at_once_and_the_search_uses_them() {
    let world = world_path("eval-portfolio.json");
    let dir = tempfile::tempdir().unwrap();
    let header = dir.path().join("header.lean");
    std::fs::write(&header, HEADER).unwrap();
    let log = dir.path().join("requests.jsonl");
    let output = ProverRun::new("prove")
        .args([
            "--statement",
            "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by sorry",
            "--workers",
            "3",
            "--repl-memory-estimate",
            "0.05",
        ])
        .path("--header", &header)
        .env("PROVER_LOG", "prover::timeline=debug")
        .repl(&SimRepl::world(&world).log(&log))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("workers prewarming prewarmed=3"),
        "the search's three REPLs start before the preflight: {stderr}"
    );
    let requests = logged_requests(&log);
    // The header's import block is one command without an env, and the rest of it
    // (`set_option`, `open`) a command on that env.
    let (imports, rest) = HEADER.split_at("import Mathlib\n".len());
    assert_eq!(
        count_command(&requests, imports, false),
        3,
        "one import on each REPL"
    );
    assert_eq!(
        count_command(&requests, rest, true),
        3,
        "the header's rest once on each REPL"
    );
}

#[test]
fn prove_prints_the_proof_of_one_statement() {
    let world = world_path("eval-portfolio.json");
    let dir = tempfile::tempdir().unwrap();
    let header = dir.path().join("header.lean");
    std::fs::write(&header, HEADER).unwrap();
    let output = ProverRun::new("prove")
        .args([
            "--statement",
            "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by sorry",
        ])
        .path("--header", &header)
        .repl(&SimRepl::world(&world))
        .output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout,
        "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by\n  intro n\n  simp\n"
    );

    let output = ProverRun::new("prove")
        .args([
            "--json",
            "--statement",
            "theorem unprovable (x : ℕ) : x < x := by",
        ])
        .path("--header", &header)
        .repl(&SimRepl::world(&world))
        .output();
    assert_eq!(output.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["status"], "failed");
    assert_eq!(result["stop_reason"], "exhausted");
}

#[test]
fn prove_says_when_its_verdict_came_from_the_cache() {
    let world = world_path("eval-portfolio.json");
    let dir = tempfile::tempdir().unwrap();
    let header = dir.path().join("header.lean");
    std::fs::write(&header, HEADER).unwrap();
    let cache = dir.path().join("cache");
    let prove = || {
        ProverRun::new("prove")
            .args([
                "--statement",
                "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by sorry",
            ])
            .path("--header", &header)
            .path("--cache", &cache)
            .repl(&SimRepl::world(&world))
            .output()
    };
    let first = prove();
    assert_eq!(first.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&first.stderr).contains("from the cache"));
    let second = prove();
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(first.stdout, second.stdout, "the same proof");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(
            "from the cache (a recorded proof, rechecked in Lean just now, found by a search of"
        ),
        "{stderr}"
    );
}

#[test]
fn every_eval_output_has_a_manifest_and_a_resume_under_other_settings_is_refused() {
    let world = world_path("eval-portfolio.json");
    let dir = tempfile::tempdir().unwrap();
    let dataset = dataset_for(&world, dir.path());
    let out = dir.path().join("results.jsonl");
    let manifest_path = dir.path().join("results.jsonl.manifest.json");
    // The world's faulty theorems may end `error` (exit 1); 2 would mean a refusal.
    let first = run_eval(&dataset, &out, &sim_cmd(&world, None), &["--width", "8"]);
    assert_ne!(
        first.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let manifest = read_json(&manifest_path);
    assert_eq!(manifest["kind"], "eval");
    assert_eq!(manifest["config"]["width"], 8);
    assert!(
        manifest["config"]["policy"]
            .as_str()
            .unwrap()
            .contains("portfolio")
    );
    assert!(
        manifest["recorded"]["repl_command"]
            .as_str()
            .unwrap()
            .contains("sim-repl")
    );
    assert_eq!(manifest["input"]["rows"], results_by_name(&out).len());
    assert_eq!(manifest["input"]["sha1"].as_str().unwrap().len(), 40);
    assert!(manifest["input"]["statement_sha1"]["forall_intro"].is_string());
    assert!(manifest["host"]["cores"].as_u64().unwrap() >= 1);
    assert!(manifest["finished_unix"].as_u64().is_some());
    let proved = manifest["counts"]["proved"].as_u64().unwrap();
    assert!(proved >= 1);

    // Another width into the same file: refused, naming the difference, the file untouched.
    let before = std::fs::read(&out).unwrap();
    let other = run_eval(&dataset, &out, &sim_cmd(&world, None), &["--width", "4"]);
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("another configuration"), "{stderr}");
    assert!(stderr.contains("width: 8 → 4"), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), before);

    // The same settings resume (a second run into the file); --fresh starts over.
    let same = run_eval(&dataset, &out, &sim_cmd(&world, None), &["--width", "8"]);
    assert_ne!(
        same.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    let manifest = read_json(&manifest_path);
    assert_eq!(manifest["runs"], 2);
    assert_eq!(
        manifest["counts"]["proved"].as_u64().unwrap(),
        proved,
        "counts cover the file"
    );
    let fresh = run_eval(
        &dataset,
        &out,
        &sim_cmd(&world, None),
        &["--width", "4", "--fresh"],
    );
    assert_ne!(
        fresh.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    let manifest = read_json(&manifest_path);
    assert_eq!(
        (
            manifest["runs"].as_u64(),
            manifest["config"]["width"].as_u64()
        ),
        (Some(1), Some(4))
    );
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn attempts_write_one_numbered_row_each_resume_to_more_and_give_the_report_its_pass_at_k() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_path("eval-portfolio.json");
    let dataset = dataset_for(&world, dir.path());
    let out = dir.path().join("results.jsonl");
    let first = run_eval(&dataset, &out, &sim_cmd(&world, None), &["--attempts", "2"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the attempts repeat one search"),
        "the portfolio proposes the same every time: {stderr}"
    );
    let rows = prover_tests::harness::read_jsonl(&out);
    assert_eq!(rows.len(), 16, "8 theorems, 2 attempts each");
    let mut attempts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for row in &rows {
        attempts
            .entry(text(&row["name"]))
            .or_default()
            .push(row["attempt"].as_u64().unwrap());
        assert_eq!(
            row["from_cache"],
            Value::Null,
            "every attempt searched: {row}"
        );
    }
    assert!(attempts.values_mut().all(|a| {
        a.sort_unstable();
        a == &[0, 1]
    }));
    let proved: usize = rows.iter().filter(|r| r["status"] == "proved").count() / 2;
    assert!(stderr.contains("pass@2"), "{stderr}");

    // One more attempt each: only the new ones are searched.
    let second = run_eval(&dataset, &out, &sim_cmd(&world, None), &["--attempts", "3"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("16 of 24 attempts already decided"),
        "{stderr}"
    );
    assert_eq!(prover_tests::harness::read_jsonl(&out).len(), 24);

    // The report counts them as attempts at one theorem: pass@1 to pass@3, all alike here.
    let figures = crate::report::figures_of(&out, dir.path());
    let run = &figures["runs"][0];
    assert_eq!(run["attempts"], 24);
    let pass: Vec<f64> = run["pass_at_k"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    let rate = (proved as f64 / 8.0 * 1e6).round() / 1e6;
    assert_eq!(pass, vec![rate; 3], "{run}");
}

#[test]
fn eval_attempts_k_on_a_file_of_more_reports_pass_at_k_of_the_first_k_as_the_report_does() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_path("eval-portfolio.json");
    let dataset = dataset_for(&world, dir.path());
    let out = dir.path().join("results.jsonl");
    let first = run_eval(&dataset, &out, &sim_cmd(&world, None), &["--attempts", "5"]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The portfolio repeats one search, so make the attempts differ as sampling would: the
    // first proved theorem fails its attempts 0 and 1, the second its attempt 0.
    let mut rows = prover_tests::harness::read_jsonl(&out);
    let proved: Vec<String> = rows
        .iter()
        .filter(|r| r["status"] == "proved" && r["attempt"] == 0)
        .map(|r| text(&r["name"]))
        .collect();
    assert!(proved.len() >= 2, "{proved:?}");
    for row in &mut rows {
        let attempt = row["attempt"].as_u64().unwrap();
        let name = text(&row["name"]);
        if (name == proved[0] && attempt < 2) || (name == proved[1] && attempt == 0) {
            let object = row.as_object_mut().unwrap();
            object.insert("status".into(), "failed".into());
            object.remove("proof");
            object.insert("stop_reason".into(), "expansion_limit".into());
        }
    }
    let lines: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(&out, lines.join("\n") + "\n").unwrap();

    let two = run_eval(
        &dataset,
        &out,
        &sim_cmd(&world, None),
        &["--attempts", "2", "--json"],
    );
    let stderr = String::from_utf8_lossy(&two.stderr);
    assert_eq!(two.status.code(), Some(0), "{stderr}");
    let summary: Value = serde_json::from_slice(&two.stdout).unwrap();
    let theorems = rows.len() / 5;
    assert!(
        stderr.contains(&format!(
            "{theorems} × 2 attempts ({} attempts decided",
            theorems * 2
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{} rows of attempts 2 and later, not counted",
            theorems * 3
        )),
        "{stderr}"
    );
    // pass@2 over attempts 0..1: the first proved theorem no longer counts.
    let solved_in_two: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|r| r["status"] == "proved" && r["attempt"].as_u64() < Some(2))
        .map(|r| text(&r["name"]))
        .collect();
    assert!(!solved_in_two.contains(&proved[0]) && solved_in_two.contains(&proved[1]));
    let expected = solved_in_two.len() as f64 / theorems as f64;
    let pass = &summary["pass_at_k"];
    assert_eq!(
        (pass["k"].as_u64(), pass["attempts"].as_str()),
        (Some(2), Some("0..1"))
    );
    assert!(
        (pass["value"].as_f64().unwrap() - expected).abs() < 1e-6,
        "{summary}"
    );
    assert!(
        stderr.contains(&format!("pass@2       {:>7.1}%", 100.0 * expected)),
        "{stderr}"
    );

    // `prover report --attempts 2` counts the same rows and gives the same figure; without
    // it, the report estimates pass@2 from all five attempts, and says so.
    let report = |extra: &[&str]| {
        let json = dir.path().join("report.json");
        let html = dir.path().join("report.html");
        let output = ProverRun::new("report")
            .args([out.as_os_str()])
            .path("--out", &html)
            .path("--json", &json)
            .args(extra)
            .output();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let figures: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (
            figures["runs"][0].clone(),
            std::fs::read_to_string(&html).unwrap(),
        )
    };
    let pass_at = |run: &Value, k: u64| {
        run["pass_at_k"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["k"] == k)
            .map(|p| p["value"].as_f64().unwrap())
    };
    let (first_two, html) = report(&["--attempts", "2"]);
    assert_eq!(
        pass_at(&first_two, 2),
        pass["value"].as_f64(),
        "{first_two}"
    );
    assert_eq!(
        pass_at(&first_two, 4),
        None,
        "no pass@k past the attempts counted"
    );
    assert_eq!(first_two["attempts"], theorems * 2);
    assert_eq!(first_two["attempts_left_out"], theorems * 3);
    assert!(
        html.contains("attempts 0..1 only"),
        "the page says which attempts"
    );
    let (all, html) = report(&[]);
    assert_eq!(all["attempts_per_theorem"]["fewest"], 5);
    assert_ne!(
        pass_at(&all, 2),
        pass["value"].as_f64(),
        "an estimate from five attempts"
    );
    assert!(html.contains("unbiased estimate from 5 attempts per theorem"));
}
