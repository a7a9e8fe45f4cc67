//! `prover eval|prove|iterate|explore --planner openai` end to end against sim-repl (a simulated REPL, not Lean) and sim-openai (a simulated model server, not a model) answering planning requests from a script: a theorem no direct search proves is proved through a skeleton after a replan whose request names the refuted lemma's goal; a changed statement and a skeleton that does not elaborate are refused and counted; the proof passes `prover check`; a rerun finds every closed hole in the cache and sends the REPL no tactic; `iterate` and `explore` write per-hole steps and plan rows; `--planner off` changes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use prover_tests::harness::{ProverRun, SimRepl, fixture_world, read_jsonl, results_by_name};
use prover_tests::openai_sim::{self, Options, Script, SimServer};
use serde_json::{Value, json};

const HEADER: &str = prover_tests::harness::MINIF2F_HEADER;
const STATEMENT: &str = "theorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by";
const GOOD: &str = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 = x * x := by sorry\n  have h₂ : x * x ≥ 2 * x := by sorry\n  exact h₁ ▸ h₂\n```";
const CHANGED: &str =
    "```lean\ntheorem two_steps (x : ℕ) (h : 1 ≤ x) : x ^ 2 ≥ 2 * x := by\n  sorry\n```";
const NOT_ELABORATING: &str = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x = 7 := by sorry\n  exact h₁ ▸ h\n```";
const FALSE_LEMMA: &str = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 = 2 * x := by sorry\n  exact h₁ ▸ le_refl _\n```";
/// What only a replan request holds: the refuted hole's goal, as the request shows it.
const REFUTED_GOAL: &str = "its goal:\nx : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = 2 * x\nKeep the closed holes; split or restate the open ones.";

/// The planner's server: three bad skeletons for the first request, the good one for a
/// request that names the refuted lemma's goal (the longer key wins when both match).
fn planner_server(log: &Path) -> SimServer {
    let completion = |text: &str| json!({"text": text});
    let script: Script = serde_json::from_value(json!({
        "responses": {
            format!("{STATEMENT} sorry"): [
                completion(CHANGED), completion(NOT_ELABORATING), completion(FALSE_LEMMA)
            ],
            REFUTED_GOAL: [completion(GOOD)],
        },
        "default": [],
    }))
    .unwrap();
    openai_sim::serve(
        script,
        Options {
            log: Some(log.to_owned()),
            ..Options::default()
        },
    )
    .unwrap()
}

fn dataset(dir: &Path) -> PathBuf {
    let rows = [
        ("two_steps", STATEMENT),
        ("direct", "theorem direct (x : ℕ) : x + 0 = x := by"),
    ]
    .map(|(name, statement)| {
        datasets::Theorem {
            name: name.to_owned(),
            header: HEADER.to_owned(),
            formal_statement: format!("{statement}\n"),
        }
        .to_row()
    });
    let path = dir.join("dataset.jsonl");
    std::fs::write(&path, rows.join("\n") + "\n").unwrap();
    path
}

/// sim-repl's request log, one for every run in `dir`: the REPL command is part of the
/// cache's Lean identity, so two runs that should share a cache must log to one file.
fn repl_log(dir: &Path) -> PathBuf {
    dir.join("repl.log")
}

fn eval(dir: &Path, out: &str, cache: &Path, extra: &[&str]) -> Output {
    let repl_log = repl_log(dir);
    let output = ProverRun::new("eval")
        .args(["--workers", "2", "--max-expansions", "40"])
        .path("--dataset", &dataset(dir))
        .path("--out", &dir.join(out))
        .path("--cache", cache)
        .repl(&SimRepl::world(&fixture_world("planner.json")).log(&repl_log))
        .args(extra)
        .output();
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `prover check` on one proof of the planner world.
fn check(dir: &Path, name: &str, statement: &str, proof: &str) -> Value {
    let input = dir.join("proofs.jsonl");
    let out = dir.join("checked.jsonl");
    let row = datasets::ProofRow {
        name: name.to_owned(),
        header: HEADER.to_owned(),
        formal_statement: statement.to_owned(),
        proof: proof.to_owned(),
    }
    .to_row();
    std::fs::write(&input, row + "\n").unwrap();
    let output = ProverRun::new("check")
        .path("--input", &input)
        .path("--out", &out)
        .args(["--fresh"])
        .repl(&SimRepl::world(&fixture_world("planner.json")))
        .output();
    assert!(output.status.code().is_some(), "{output:?}");
    read_jsonl(&out).remove(0)
}

#[test]
fn a_theorem_only_a_skeleton_proves_is_proved_after_a_replan_and_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let requests = dir.path().join("requests.jsonl");
    let server = planner_server(&requests);
    let cache = dir.path().join("cache");
    let planner = [
        "--planner",
        "openai",
        "--planner-url",
        &server.base_url(),
        "--planner-samples",
        "3",
    ];
    let log = dir.path().join("plan.jsonl");
    let log_flag = ["--plan-log", log.to_str().unwrap()];
    let flags: Vec<&str> = planner.iter().chain(&log_flag).copied().collect();
    eval(dir.path(), "planned.jsonl", &cache, &flags);
    let results = results_by_name(&dir.path().join("planned.jsonl"));
    let two_steps = &results["two_steps"];
    assert_eq!(two_steps["status"], "proved", "{two_steps}");
    assert_eq!(results["direct"]["status"], "proved");
    let proof = two_steps["proof"].as_str().unwrap();
    assert!(!proof.contains("sorry"), "{proof}");

    // The plan log: the direct search failed; the first round's three skeletons were a changed
    // statement, one that does not elaborate, and a false lemma; the replan's closed.
    let records = read_jsonl(&log);
    let record = records
        .iter()
        .find(|r| r["name"] == "two_steps")
        .expect("a plan record for two_steps");
    assert_eq!(record["outcome"], "plan");
    assert_eq!(record["planner_calls"], 2);
    let labels: Vec<&str> = record["skeletons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["refused", "refused", "refuted", "closed_all"]);
    let reasons: Vec<&str> = record["skeletons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap_or(""))
        .collect();
    assert!(
        reasons[0].starts_with("the statement was changed"),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("does not elaborate"), "{reasons:?}");
    assert_eq!(record["proof"].as_str(), Some(proof));
    let direct = records.iter().find(|r| r["name"] == "direct").unwrap();
    assert_eq!(direct["outcome"], "direct");
    assert_eq!(direct["planner_calls"], 0);

    // The replan request carried the refuted lemma's goal; no request was sent for `direct`.
    // (The client tops a request up with further ones when fewer distinct answers than
    // samples came back, so the HTTP requests hold two distinct prompts.)
    // (The preflight's probe is one more request, of its own.)
    let prompt = |r: &Value| r["messages"][0]["content"].as_str().unwrap().to_owned();
    let mut prompts: Vec<String> = read_jsonl(&requests)
        .iter()
        .map(prompt)
        .filter(|p| p.contains("Theorem (its header first)"))
        .collect();
    prompts.dedup();
    assert_eq!(prompts.len(), 2, "{prompts:#?}");
    assert!(!prompts[0].contains(REFUTED_GOAL));
    assert!(prompts[1].contains(REFUTED_GOAL), "{}", prompts[1]);
    // With the last errors Lean gave to the refuted hole's tactics (its search reached no
    // further goal), as the plan log records them.
    assert!(
        prompts[1].contains("The last errors Lean gave to its tactics:\n- "),
        "{}",
        prompts[1]
    );
    let refuted = record["skeletons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"] == "refuted")
        .unwrap();
    assert!(
        !refuted["holes"][0]["errors"].as_array().unwrap().is_empty(),
        "{refuted}"
    );
    assert!(prompts.iter().all(|p| !p.contains("theorem direct")));

    // The result rows say what planning did; a theorem the direct search proved says so.
    let plan = &two_steps["plan"];
    assert_eq!(plan["outcome"], "plan", "{two_steps}");
    assert_eq!(plan["planner_calls"], 2, "{plan}");
    assert_eq!(plan["replans"], 1, "{plan}");
    assert_eq!(plan["skeletons"], 4, "{plan}");
    assert_eq!(plan["skeletons_refused"], 2, "{plan}");
    assert_eq!(plan["holes"], 3, "{plan}");
    assert_eq!(plan["holes_closed"], 2, "{plan}");
    assert_eq!(plan["holes_refuted"], 1, "{plan}");
    for part in [
        "direct_search",
        "skeleton_checks",
        "hole_searches",
        "final_checks",
    ] {
        assert!(plan["lean_seconds"][part].is_f64(), "{part}: {plan}");
    }
    assert!(plan["lean_seconds"]["skeleton_checks"].as_f64().unwrap() > 0.0);
    // The planner's tokens, as sim-openai's `usage` reported them, per theorem.
    let tokens = &plan["planner_tokens"];
    assert!(tokens["prompt"].as_u64().unwrap() > 0, "{plan}");
    assert!(tokens["completion"].as_u64().unwrap() > 0, "{plan}");
    assert_eq!(record["planner_tokens"], *tokens, "{record}");
    assert_eq!(results["direct"]["plan"]["outcome"], "direct");
    assert!(results["direct"]["plan"].get("planner_tokens").is_none());
    assert_eq!(results["direct"]["plan"]["planner_calls"], 0);

    // `prover report` shows them in totals and per theorem.
    let report_json = dir.path().join("report.json");
    let report = ProverRun::new("report")
        .path("--out", &dir.path().join("report.html"))
        .path("--json", &report_json)
        .args([dir.path().join("planned.jsonl").as_os_str()])
        .output();
    assert_eq!(report.status.code(), Some(0), "{report:?}");
    let figures: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_json).unwrap()).unwrap();
    let totals = &figures["runs"][0]["plan"];
    assert_eq!(totals["planned"], 2, "{totals}");
    assert_eq!(totals["proved_by_plan"], 1, "{totals}");
    assert_eq!(totals["proved_directly"], 1, "{totals}");
    assert_eq!(totals["holes_closed"], 2, "{totals}");
    assert_eq!(totals["planner_tokens"], *tokens, "{totals}");
    let row = figures["runs"][0]["table"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "two_steps")
        .unwrap();
    assert_eq!(row["plan"]["holes_refuted"], 1, "{row}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<h2>Planner</h2>"));
    assert!(html.contains("<th>planner tokens</th>"));

    // `prover tree` draws the plan from the plan log: skeleton → holes → each hole's search.
    let drawn = dir.path().join("plan.html");
    let tree = ProverRun::new("tree")
        .args([log.as_os_str()])
        .args(["--theorem", "two_steps"])
        .path("--out", &drawn)
        .output();
    assert_eq!(tree.status.code(), Some(0), "{tree:?}");
    let page = std::fs::read_to_string(&drawn).unwrap();
    assert!(page.contains("plan of two_steps"), "{page}");
    for text in [
        "skeleton 4 (request 2)",
        "the search of its negation",
        "⊢ x ^ 2 = x * x",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }

    // The reported proof is a proof: `prover check` accepts it, with no sorry.
    let checked = check(dir.path(), "two_steps", &format!("{STATEMENT}\n"), proof);
    assert_eq!(checked["status"], "valid", "{checked}");

    // Rerunning on the same cache finds every closed hole there (the hole cache, rechecked
    // in place): no tactic reaches the REPL at all, for the holes or anything else.
    let again_log = dir.path().join("plan-again.jsonl");
    let again_flag = ["--plan-log", again_log.to_str().unwrap()];
    let flags: Vec<&str> = planner.iter().chain(&again_flag).copied().collect();
    let first_run = read_jsonl(&repl_log(dir.path())).len();
    eval(dir.path(), "again.jsonl", &cache, &flags);
    let requests = read_jsonl(&repl_log(dir.path())).split_off(first_run);
    assert!(!requests.is_empty(), "the rerun asked the REPL something");
    let tactics: Vec<&Value> = requests
        .iter()
        .filter(|r| r.get("tactic").is_some())
        .collect();
    assert!(tactics.is_empty(), "{tactics:#?}");
    let again = results_by_name(&dir.path().join("again.jsonl"));
    assert_eq!(again["two_steps"]["status"], "proved");
    let record = read_jsonl(&again_log)
        .into_iter()
        .find(|r| r["name"] == "two_steps")
        .unwrap();
    let closed = record["skeletons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"] == "closed_all")
        .unwrap()
        .clone();
    for hole in closed["holes"].as_array().unwrap() {
        assert_eq!(hole["search"]["from_cache"], true, "{hole}");
        assert_eq!(hole["search"]["expansions"], 0, "{hole}");
    }
    let plan = &again["two_steps"]["plan"];
    assert!(plan["holes_closed"].as_u64().unwrap() >= 2, "{plan}");
    // Every hole's verdict, the closed ones' and the refuted one's, came from the cache.
    assert_eq!(plan["holes_from_cache"], plan["holes"], "{plan}");
}

#[test]
fn with_the_planner_off_eval_is_what_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    eval(dir.path(), "plain.jsonl", &cache, &[]);
    let cache_off = dir.path().join("cache-off");
    eval(dir.path(), "off.jsonl", &cache_off, &["--planner", "off"]);
    let plain = results_by_name(&dir.path().join("plain.jsonl"));
    let off = results_by_name(&dir.path().join("off.jsonl"));
    for (name, row) in &plain {
        for field in ["status", "proof", "stop_reason", "expansions", "lean_calls"] {
            assert_eq!(row[field], off[name][field], "{name}.{field}");
        }
    }
    assert!(plain.values().all(|row| row.get("plan").is_none()));
    assert!(off.values().all(|row| row.get("plan").is_none()));
    assert_eq!(plain["two_steps"]["status"], "failed");
    assert_eq!(plain["two_steps"]["stop_reason"], "exhausted");
    // A plan log without a planner is refused before any work.
    let output = ProverRun::new("eval")
        .path("--dataset", &dataset(dir.path()))
        .path("--out", &dir.path().join("refused.jsonl"))
        .args(["--plan-log", dir.path().join("p.jsonl").to_str().unwrap()])
        .repl(&SimRepl::world(&fixture_world("planner.json")))
        .output();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--plan-log needs --planner openai"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn prove_plans_too_and_prints_the_checked_proof() {
    let dir = tempfile::tempdir().unwrap();
    let server = planner_server(&dir.path().join("requests.jsonl"));
    let output = ProverRun::new("prove")
        .args(["--statement", STATEMENT, "--max-expansions", "40", "--json"])
        .args(["--planner", "openai", "--planner-url", &server.base_url()])
        .repl(&SimRepl::world(&fixture_world("planner.json")))
        .output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["status"], "proved");
    let proof = result["proof"].as_str().unwrap();
    let checked = check(dir.path(), "two_steps", &format!("{STATEMENT}\n"), proof);
    assert_eq!(checked["status"], "valid", "{checked}");
}

#[test]
fn a_planner_server_that_does_not_answer_stops_the_run_before_any_theorem() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("prover.toml");
    std::fs::write(&settings, "[planner]\nretries = 0\n").unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = dir.path().join("results.jsonl");
    let output = ProverRun::new("eval")
        .path("--config", &settings)
        .path("--dataset", &dataset(dir.path()))
        .path("--out", &out)
        .args(["--planner", "openai", "--planner-url"])
        .args([format!("http://127.0.0.1:{port}/v1")])
        .repl(&SimRepl::world(&fixture_world("planner.json")))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--planner-url"), "{stderr}");
    assert!(
        !out.exists(),
        "nothing is written before the planner answers"
    );
}

/// `prover iterate` on the planner world: one round, no cheap pass, the search stage through
/// the planner when `planner` flags are given.
fn iterate(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let run = ProverRun::new("iterate")
        .args(["--workers", "2", "--max-expansions", "40", "--rounds", "1"])
        .args(["--cheap-expansions", "0"])
        .path("--conjectures", &dataset(dir))
        .path("--dir", &dir.join(out));
    on_the_planner_world(run, dir, out, extra)
}

/// `run` with its cache in `dir/out-cache`, sim-repl on the planner world and `extra`;
/// it must exit 0.
fn on_the_planner_world(run: ProverRun, dir: &Path, out: &str, extra: &[&str]) -> Output {
    let output = run
        .path("--cache", &dir.join(format!("{out}-cache")))
        .repl(&SimRepl::world(&fixture_world("planner.json")))
        .args(extra)
        .output();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn iterate_proves_through_a_skeleton_and_writes_plan_rows_and_each_holes_steps() {
    let dir = tempfile::tempdir().unwrap();
    let server = planner_server(&dir.path().join("requests.jsonl"));
    let planner = [
        "--planner",
        "openai",
        "--planner-url",
        &server.base_url(),
        "--planner-samples",
        "3",
    ];
    let output = iterate(dir.path(), "rounds", &planner);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DPO rows, 2 planner rows,"), "{stderr}");
    let round = dir.path().join("rounds/round-1");
    let results = results_by_name(&round.join("results.jsonl"));
    assert_eq!(results["two_steps"]["status"], "proved", "{results:?}");
    assert_eq!(results["direct"]["status"], "proved", "{results:?}");
    let proof = results["two_steps"]["proof"].as_str().unwrap();
    assert!(proof.contains("have h₁ : x ^ 2 = x * x"), "{proof}");
    assert!(!proof.contains("sorry"), "{proof}");

    // One (statement → skeleton) row per skeleton that elaborated, in the order tried: the
    // false lemma refuted, the replan's skeleton closed; the two refused ones are no rows.
    let bytes = std::fs::read(round.join("plans.jsonl")).unwrap();
    let (rows, errors) = datasets::plan::read_plan_rows(&bytes);
    assert!(errors.is_empty(), "{errors:?}");
    let labelled: Vec<(&str, u32, datasets::plan::SkeletonLabel, u32, u32)> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.request, r.label, r.holes, r.holes_closed))
        .collect();
    use datasets::plan::SkeletonLabel::{ClosedAll, Refuted};
    assert_eq!(
        labelled,
        [
            ("two_steps", 0, Refuted, 1, 0),
            ("two_steps", 1, ClosedAll, 2, 2)
        ]
    );
    assert!(rows.iter().all(|r| r.round == 1 && r.header == HEADER));
    assert!(
        rows.iter().all(|r| r.statement.trim_end() == STATEMENT),
        "{rows:?}"
    );
    assert!(
        rows[1]
            .skeleton
            .contains("have h₂ : x * x ≥ 2 * x := by sorry")
    );

    // SFT rows: each hole's proof, rooted at the hole's goal (the earlier `have` among its
    // hypotheses), and the direct search's proof of `direct` as without the planner.
    let sft = read_jsonl(&round.join("sft.jsonl"));
    let steps: BTreeSet<(String, String, String, u64, u64)> = sft
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
                r["tactic"].as_str().unwrap().to_owned(),
                r["depth"].as_u64().unwrap(),
                r["proof_length"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |name: &str, state: &str, tactic: &str| {
        (name.to_owned(), state.to_owned(), tactic.to_owned(), 0, 1)
    };
    let expected = BTreeSet::from([
        row("direct", "x : ℕ\n⊢ x + 0 = x", "simp"),
        row("two_steps", "x : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = x * x", "norm_num"),
        row(
            "two_steps",
            "x : ℕ\nh : 2 ≤ x\nh₁ : x ^ 2 = x * x\n⊢ x * x ≥ 2 * x",
            "nlinarith",
        ),
    ]);
    assert_eq!(steps, expected);
    // DPO rows: at a hole's goal, its step against a tactic Lean refused there.
    let dpo = read_jsonl(&round.join("dpo.jsonl"));
    let at_holes: Vec<&Value> = dpo.iter().filter(|r| r["name"] == "two_steps").collect();
    assert!(!at_holes.is_empty(), "{dpo:?}");
    for pair in &at_holes {
        let chosen = pair["chosen"].as_str().unwrap();
        assert!(["norm_num", "nlinarith"].contains(&chosen), "{pair}");
        assert_ne!(pair["rejected"], pair["chosen"]);
    }
    // The stage log keeps the plan, so a resumed round exports the same rows.
    let search = read_jsonl(&round.join("search.jsonl"));
    let logged = search.iter().find(|r| r["name"] == "two_steps").unwrap();
    assert_eq!(logged["plan"]["outcome"], "plan");
    assert_eq!(logged["holes"].as_array().unwrap().len(), 2);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(round.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["counts"]["plan_rows"], 2, "{manifest}");
    assert!(manifest["config"]["planner"].is_object(), "{manifest}");

    // Two shards of the same run, merged: the planner's rows and the holes' rows are the
    // unsharded round's, byte for byte.
    let shards: Vec<PathBuf> = (0..2)
        .map(|index| {
            let out = format!("shard-{index}");
            let shard = format!("{index}/2");
            let flags: Vec<&str> = planner.iter().copied().chain(["--shard", &shard]).collect();
            iterate(dir.path(), &out, &flags);
            dir.path().join(out)
        })
        .collect();
    let merged = dir.path().join("merged");
    let output = ProverRun::new("merge")
        .args([&merged, &shards[0], &shards[1]])
        .output();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    for file in [
        "plans.jsonl",
        "sft.jsonl",
        "dpo.jsonl",
        "results.jsonl",
        "proofs.jsonl",
    ] {
        assert_eq!(
            std::fs::read_to_string(merged.join("round-1").join(file)).unwrap(),
            std::fs::read_to_string(round.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn with_the_planner_off_iterate_writes_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let plain = iterate(dir.path(), "plain", &[]);
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(stderr.contains("DPO rows, "), "{stderr}");
    assert!(!stderr.contains("planner rows"), "{stderr}");
    iterate(dir.path(), "off", &["--planner", "off"]);
    for (name, round) in [("plain", "plain/round-1"), ("off", "off/round-1")] {
        let round = dir.path().join(round);
        let mut files: Vec<String> = std::fs::read_dir(&round)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "cheap.jsonl",
                "dpo.jsonl",
                "manifest.json",
                "proofs.jsonl",
                "results.jsonl",
                "search.jsonl",
                "sft.jsonl",
                "verify.jsonl"
            ],
            "{name}"
        );
        // The stage log's records have exactly the fields they had before the planner.
        for record in read_jsonl(&round.join("search.jsonl")) {
            let keys: BTreeSet<&str> = record
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                BTreeSet::from([
                    "schema_version",
                    "name",
                    "stage",
                    "status",
                    "proof",
                    "stop_reason",
                    "lean_calls",
                    "seconds",
                    "steps",
                    "refusals"
                ]),
                "{name}: {record}"
            );
        }
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(round.join("manifest.json")).unwrap())
                .unwrap();
        assert!(
            manifest["config"].get("planner").is_none(),
            "{name}: {manifest}"
        );
        assert!(
            manifest["counts"].get("plan_rows").is_none(),
            "{name}: {manifest}"
        );
    }
    for file in ["results.jsonl", "proofs.jsonl", "sft.jsonl", "dpo.jsonl"] {
        assert_eq!(
            std::fs::read(dir.path().join("plain/round-1").join(file)).unwrap(),
            std::fs::read(dir.path().join("off/round-1").join(file)).unwrap(),
            "{file}"
        );
    }
    let results = results_by_name(&dir.path().join("plain/round-1/results.jsonl"));
    assert_eq!(results["two_steps"]["status"], "failed");
}

/// `prover explore` on the planner world, its output in `dir/out`.
fn explore(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let run = ProverRun::new("explore")
        .args(["--workers", "2", "--max-expansions", "40"])
        .path("--dataset", &dataset(dir))
        .path("--out", &dir.join(out));
    on_the_planner_world(run, dir, out, extra)
}

/// Every row of one level of an exploration, all splits.
fn explore_level(out: &Path, level: &str) -> Vec<Value> {
    datasets::explore::SPLITS
        .iter()
        .flat_map(|split| read_jsonl(&out.join(format!("data/{level}/{split}.jsonl"))))
        .collect()
}

#[test]
fn explore_proves_through_a_skeleton_and_writes_plan_rows_and_each_holes_steps() {
    let dir = tempfile::tempdir().unwrap();
    let server = planner_server(&dir.path().join("requests.jsonl"));
    let out = dir.path().join("explored");
    explore(
        dir.path(),
        "explored",
        &[
            "--planner",
            "openai",
            "--planner-url",
            &server.base_url(),
            "--planner-samples",
            "3",
        ],
    );
    // The stage log keeps the plan and the checked proof, so a resume exports the same rows.
    let search = read_jsonl(&out.join("search.jsonl"));
    let logged = search.iter().find(|r| r["name"] == "two_steps").unwrap();
    assert_eq!(logged["status"], "proved", "{logged}");
    assert_eq!(logged["plan"]["outcome"], "plan", "{logged}");
    assert_eq!(logged["holes"].as_array().unwrap().len(), 2, "{logged}");
    assert_eq!(logged["proofs"], json!([]), "{logged}");
    let direct = search.iter().find(|r| r["name"] == "direct").unwrap();
    assert_eq!(direct["plan"]["outcome"], "direct", "{direct}");
    assert!(direct.get("proof").is_none(), "{direct}");

    // The proofs level: the whole proof through the skeleton, exactly the checked text, which
    // `prover check` accepts.
    let proofs = explore_level(&out, "proofs");
    let planned: Vec<&Value> = proofs.iter().filter(|r| r["name"] == "two_steps").collect();
    assert_eq!(planned.len(), 1, "{proofs:?}");
    let proof = planned[0]["proof"].as_str().unwrap();
    assert_eq!(Some(proof), logged["proof"].as_str());
    assert!(proof.contains("have h₁ : x ^ 2 = x * x"), "{proof}");
    assert!(!proof.contains("sorry"), "{proof}");
    assert_eq!(planned[0]["proof_length"], 3, "{proof}");
    let checked = check(dir.path(), "two_steps", STATEMENT, proof);
    assert_eq!(checked["status"], "valid", "{checked}");
    assert!(proofs.iter().any(|r| r["name"] == "direct"), "{proofs:?}");

    // The steps level: each hole's proof, rooted at its goal, as `iterate` makes them.
    let steps: BTreeSet<(String, String, String, u64, u64)> = explore_level(&out, "steps")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
                r["tactic"].as_str().unwrap().to_owned(),
                r["depth"].as_u64().unwrap(),
                r["proof_length"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |name: &str, state: &str, tactic: &str| {
        (name.to_owned(), state.to_owned(), tactic.to_owned(), 0, 1)
    };
    assert_eq!(
        steps,
        BTreeSet::from([
            row("direct", "x : ℕ\n⊢ x + 0 = x", "simp"),
            row("two_steps", "x : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = x * x", "norm_num"),
            row(
                "two_steps",
                "x : ℕ\nh : 2 ≤ x\nh₁ : x ^ 2 = x * x\n⊢ x * x ≥ 2 * x",
                "nlinarith",
            ),
        ])
    );
    // Preferences at a hole's goal: its step against a tactic Lean refused there.
    let preferences = explore_level(&out, "preferences");
    let at_holes: Vec<&Value> = preferences
        .iter()
        .filter(|r| r["name"] == "two_steps")
        .collect();
    assert!(!at_holes.is_empty(), "{preferences:?}");
    for pair in &at_holes {
        let chosen = pair["chosen"].as_str().unwrap();
        assert!(["norm_num", "nlinarith"].contains(&chosen), "{pair}");
        assert_ne!(pair["rejected"], pair["chosen"]);
    }

    // The plans level: one (statement → skeleton) row per skeleton that elaborated.
    let bytes: Vec<u8> = datasets::explore::SPLITS
        .iter()
        .flat_map(|split| std::fs::read(out.join(format!("data/plans/{split}.jsonl"))).unwrap())
        .collect();
    let (rows, errors) = datasets::plan::read_plan_rows(&bytes);
    assert!(errors.is_empty(), "{errors:?}");
    use datasets::plan::SkeletonLabel::{ClosedAll, Refuted};
    let labelled: Vec<(&str, u32, u32, datasets::plan::SkeletonLabel, u32, u32)> = rows
        .iter()
        .map(|r| {
            let row = (r.name.as_str(), r.round, r.request, r.label);
            (row.0, row.1, row.2, row.3, r.holes, r.holes_closed)
        })
        .collect();
    assert_eq!(
        labelled,
        [
            ("two_steps", 0, 0, Refuted, 1, 0),
            ("two_steps", 0, 1, ClosedAll, 2, 2)
        ]
    );

    // The card lists the plans config and the planner's settings; the manifest records them.
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(card.contains("- config_name: plans\n"), "{card}");
    assert!(card.contains("\n## Planner\n"), "{card}");
    assert!(card.contains("\n- planner: `{"), "{card}");
    assert!(card.contains("- proofs_through_skeletons: 1\n"), "{card}");
    assert!(card.contains("- plan_rows: 2\n"), "{card}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["config"]["planner"].is_object(), "{manifest}");

    // The Hugging Face `datasets` library loads every config, plans included.
    if let Some(loaded) = crate::explore::load_with_hf_datasets(&out, dir.path()) {
        let plans: u64 = loaded["plans"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(plans, 2, "{loaded}");
    }

    // A rerun resumes from the stage logs and writes the same data.
    let before: Vec<Vec<u8>> = ["proofs", "steps", "preferences", "plans"]
        .iter()
        .flat_map(|l| datasets::explore::SPLITS.iter().map(move |s| (l, s)))
        .map(|(l, s)| std::fs::read(out.join(format!("data/{l}/{s}.jsonl"))).unwrap())
        .collect();
    let planned = || {
        std::fs::read_to_string(dir.path().join("requests.jsonl"))
            .unwrap()
            .matches("two_steps")
            .count()
    };
    let requests = planned();
    explore(
        dir.path(),
        "explored",
        &[
            "--planner",
            "openai",
            "--planner-url",
            &server.base_url(),
            "--planner-samples",
            "3",
        ],
    );
    let after: Vec<Vec<u8>> = ["proofs", "steps", "preferences", "plans"]
        .iter()
        .flat_map(|l| datasets::explore::SPLITS.iter().map(move |s| (l, s)))
        .map(|(l, s)| std::fs::read(out.join(format!("data/{l}/{s}.jsonl"))).unwrap())
        .collect();
    assert_eq!(before, after);
    // Nothing was planned again.
    assert_eq!(planned(), requests);
}

#[test]
fn with_the_planner_off_explore_writes_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    explore(dir.path(), "plain", &[]);
    explore(dir.path(), "off", &["--planner", "off"]);
    let files = |out: &str| -> Vec<String> {
        let root = dir.path().join(out);
        let mut files = Vec::new();
        let mut todo = vec![root.clone()];
        while let Some(at) = todo.pop() {
            for entry in std::fs::read_dir(&at).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    todo.push(path);
                } else {
                    let name = path.strip_prefix(&root).unwrap();
                    files.push(name.to_string_lossy().into_owned());
                }
            }
        }
        files.sort();
        files
    };
    let listed = files("plain");
    assert_eq!(listed, files("off"));
    assert!(!listed.iter().any(|f| f.contains("plans")), "{listed:?}");
    // Every file is the same, wall times aside (`seconds` in the stage logs and traces, the
    // manifests' clocks, whose configs are compared below).
    for file in listed.iter().filter(|f| !f.ends_with("manifest.json")) {
        let read = |out: &str| std::fs::read_to_string(dir.path().join(out).join(file)).unwrap();
        if file.ends_with(".jsonl") {
            // The stage logs are appended in the order theorems end: their rows are compared
            // sorted; the data files are written sorted, so in their order.
            let timeless = |out: &str| -> Vec<String> {
                let mut rows: Vec<String> = read_jsonl(&dir.path().join(out).join(file))
                    .into_iter()
                    .map(|row| without_seconds(row).to_string())
                    .collect();
                if !file.starts_with("data") {
                    rows.sort();
                }
                rows
            };
            assert_eq!(timeless("plain"), timeless("off"), "{file}");
        } else {
            assert_eq!(read("plain"), read("off"), "{file}");
        }
    }
    // No field of the planner in the stage log, the card or the manifest.
    for record in read_jsonl(&dir.path().join("off/search.jsonl")) {
        let keys: BTreeSet<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "schema_version",
                "name",
                "status",
                "stop_reason",
                "lean_calls",
                "seconds",
                "proofs",
                "edges"
            ]),
            "{record}"
        );
    }
    let card = std::fs::read_to_string(dir.path().join("off/README.md")).unwrap();
    assert!(!card.contains("plan"), "{card}");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("off/manifest.json")).unwrap(),
    )
    .unwrap();
    assert!(manifest["config"].get("planner").is_none(), "{manifest}");
    assert!(manifest["counts"].get("plan_rows").is_none(), "{manifest}");
    let plain: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("plain/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(plain["config"], manifest["config"]);
    assert_eq!(plain["counts"], manifest["counts"]);
}

/// `value` with every `seconds` field (a wall time) left out, at any depth.
fn without_seconds(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(key, _)| key != "seconds")
                .map(|(key, field)| (key, without_seconds(field)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_seconds).collect()),
        other => other,
    }
}
