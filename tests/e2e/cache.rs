//! The proof-state cache, resumable runs and run-level faults, end to end: the real `prover`
//! against sim-repl (not Lean) and the simulated model server (no model).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use prover_tests::harness::{
    ProverRun, SimRepl, fixture_world, results_by_name, vocabulary_server, write_generated_world,
};
use prover_tests::openai_sim::{self, Faults, Options, Script};
use prover_tests::world::World;
use prover_tests::worldgen::WorldSpec;
use serde_json::{Value, json};

const HEADER: &str = prover_tests::harness::MATHLIB_HEADER;

fn sim_cmd(world: &Path, log: &Path, latency_ms: u64) -> String {
    SimRepl::world(world)
        .log(log)
        .latency_ms(latency_ms)
        .command_line()
}

fn dataset_of(world: &Path, dir: &Path) -> PathBuf {
    let world = World::load(world).unwrap();
    let rows: Vec<String> = world
        .theorems
        .iter()
        .map(|t| {
            json!({"name": t.name, "header": HEADER, "formal_statement": format!("{} := by", t.statement)})
                .to_string()
        })
        .collect();
    let path = dir.join("dataset.jsonl");
    std::fs::write(&path, rows.join("\n")).unwrap();
    path
}

fn eval(dataset: &Path, out: &Path, repl_cmd: &str, extra: &[&str]) -> Output {
    ProverRun::new("eval")
        .args(["--workers", "2"])
        .path("--dataset", dataset)
        .path("--out", out)
        .repl_cmd(repl_cmd)
        .args(extra)
        .output()
}

/// What must not depend on the cache: status, proof and stop reason per theorem.
fn verdicts(results: &BTreeMap<String, Value>) -> BTreeMap<String, (Value, Value, Value)> {
    results
        .iter()
        .map(|(name, r)| {
            (
                name.clone(),
                (
                    r["status"].clone(),
                    r["proof"].clone(),
                    r["stop_reason"].clone(),
                ),
            )
        })
        .collect()
}

/// Lines in a sim-repl log so far.
fn log_len(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

/// The requests a sim-repl log holds after its first `skip` lines: (tactic requests, commands).
///
/// Runs that must share a cache share one log too: the REPL command line is part of the
/// cache's identity, so it must not change between them.
fn count_requests(log: &Path, skip: usize) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut tactics = 0;
    let mut commands = Vec::new();
    for line in text.lines().skip(skip) {
        let request: Value = serde_json::from_str(line).unwrap();
        if request.get("tactic").is_some() {
            tactics += 1;
        } else if let Some(cmd) = request.get("cmd").and_then(Value::as_str) {
            commands.push(cmd.to_owned());
        }
    }
    (tactics, commands)
}

fn generated_world(seed: u64, dir: &Path) -> (PathBuf, PathBuf, BTreeMap<String, bool>) {
    let files = write_generated_world(
        &WorldSpec {
            theorems: 6,
            depth: 3,
            branching: 3,
            dead_end_rate: 0.3,
            repeat_rate: 0.3,
            unprovable_rate: 0.3,
            seed,
            tactic_vocabulary: 5,
            ..WorldSpec::default()
        },
        dir,
    );
    (files.world, files.dataset, files.provable)
}

#[test]
fn results_are_identical_with_the_cache_on_and_off_and_a_warm_rerun_sends_no_tactic() {
    for seed in [11, 12] {
        let dir = tempfile::tempdir().unwrap();
        let (world, dataset, provable) = generated_world(seed, dir.path());
        let server = vocabulary_server(5, dir.path());
        let url = format!("http://{}/v1", server.addr());
        let cache = dir.path().join("cache");
        let llm = ["--policy", "openai", "--samples", "8", "--llm-url", &url];
        let budget = ["--width", "8", "--max-expansions", "100000"];
        let log = dir.path().join("sim.log");
        let run = |name: &str, cache_flags: &[&str]| {
            let out = dir.path().join(format!("{name}.jsonl"));
            let mut extra: Vec<&str> = llm.iter().chain(budget.iter()).copied().collect();
            extra.extend_from_slice(cache_flags);
            let before = log_len(&log);
            let output = eval(&dataset, &out, &sim_cmd(&world, &log, 0), &extra);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            (results_by_name(&out), count_requests(&log, before))
        };
        let cache_flag = ["--cache", cache.to_str().unwrap()];
        let (off, _) = run("off", &["--no-cache"]);
        let (cold, (cold_tactics, _)) = run("cold", &cache_flag);
        let (warm, (warm_tactics, warm_commands)) = run("warm", &cache_flag);

        assert_eq!(
            verdicts(&off),
            verdicts(&cold),
            "seed {seed}: cache off vs cold"
        );
        assert_eq!(
            verdicts(&off),
            verdicts(&warm),
            "seed {seed}: cache off vs warm"
        );
        let proved = off.values().filter(|r| r["status"] == "proved").count();
        assert_eq!(
            proved,
            provable.values().filter(|p| **p).count(),
            "seed {seed}"
        );

        assert!(cold_tactics > 0);
        assert_eq!(
            warm_tactics, 0,
            "seed {seed}: the warm rerun sent tactics to the REPL"
        );
        let rechecks = warm_commands
            .iter()
            .filter(|c| c.contains("#print axioms"))
            .count();
        let statements = warm_commands.iter().filter(|c| c.contains("sorry")).count();
        assert_eq!(
            rechecks, proved,
            "seed {seed}: one recheck per proved theorem"
        );
        assert_eq!(
            statements, 0,
            "seed {seed}: no statement was elaborated again"
        );
        assert!(
            warm.values()
                .all(|r| r["lean_calls"].as_u64().unwrap() <= 1)
        );

        let stats = ProverRun::new("cache")
            .args(["stats"])
            .path("--cache", &cache)
            .output();
        let stats = String::from_utf8_lossy(&stats.stdout);
        assert!(stats.contains("entries"), "{stats}");
        assert!(stats.contains("last run      100.0% hits"), "{stats}");
        assert!(stats.contains("size on disk"), "{stats}");
    }
}

#[test]
fn a_larger_budget_reuses_the_cached_part_of_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (world, dataset, _) = generated_world(21, dir.path());
    let server = vocabulary_server(5, dir.path());
    let url = format!("http://{}/v1", server.addr());
    let llm = [
        "--policy",
        "openai",
        "--samples",
        "8",
        "--llm-url",
        &url,
        "--width",
        "8",
    ];
    let log = dir.path().join("sim.log");
    let run = |name: &str, expansions: &str, cache: &Path| {
        let out = dir.path().join(format!("{name}.jsonl"));
        let before = log_len(&log);
        let mut extra: Vec<&str> = llm.to_vec();
        extra.extend_from_slice(&[
            "--max-expansions",
            expansions,
            "--cache",
            cache.to_str().unwrap(),
        ]);
        let output = eval(&dataset, &out, &sim_cmd(&world, &log, 0), &extra);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (results_by_name(&out), count_requests(&log, before).0)
    };
    let shared = dir.path().join("shared-cache");
    let (_, small_tactics) = run("small", "2", &shared);
    let (bigger, reuse_tactics) = run("bigger", "100000", &shared);
    let (fresh, fresh_tactics) = run("fresh", "100000", &dir.path().join("fresh-cache"));
    assert_eq!(verdicts(&bigger), verdicts(&fresh));
    assert!(small_tactics > 0);
    assert!(
        reuse_tactics < fresh_tactics,
        "the rerun sent {reuse_tactics} tactics, a cold run {fresh_tactics}"
    );
}

/// Theorems a results map proves.
fn proved_count(results: &BTreeMap<String, Value>) -> usize {
    results.values().filter(|r| r["status"] == "proved").count()
}

#[test]
fn a_cached_verdict_answers_only_the_budget_and_policy_it_was_found_under() {
    let dir = tempfile::tempdir().unwrap();
    let (world, dataset, _) = generated_world(31, dir.path());
    let server = vocabulary_server(5, dir.path());
    let url = format!("http://{}/v1", server.addr());
    let cache = dir.path().join("cache");
    let log = dir.path().join("sim.log");
    let llm = ["--policy", "openai", "--samples", "8", "--llm-url", &url];
    let generous = ["--width", "8", "--max-expansions", "100000"];
    let tiny = ["--width", "1", "--max-expansions", "1"];
    let run = |name: &str, flags: &[&[&str]]| {
        let out = dir.path().join(format!("{name}.jsonl"));
        let extra: Vec<&str> = flags.iter().flat_map(|f| f.iter().copied()).collect();
        let output = eval(&dataset, &out, &sim_cmd(&world, &log, 0), &extra);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        (
            results_by_name(&out),
            out,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let shared = ["--cache", cache.to_str().unwrap()];
    let (cold, _, _) = run("cold", &[&llm, &generous, &shared]);
    assert!(proved_count(&cold) > 0);
    assert!(cold.values().all(|r| r["from_cache"].is_null()));

    // The same question again: every verdict from the cache, with the cost of the search
    // that found it; the report marks them and draws the curves from that cost.
    let (warm, warm_out, warm_stderr) = run("warm", &[&llm, &generous, &shared]);
    assert_eq!(verdicts(&warm), verdicts(&cold));
    for (name, row) in &warm {
        assert_eq!(row["from_cache"], true, "{name}: {row}");
        assert_eq!(
            row["original_search"]["expansions"], cold[name]["expansions"],
            "{name}: {row}"
        );
    }
    assert!(
        warm_stderr.contains(&format!("from cache   {:>8}", warm.len())),
        "{warm_stderr}"
    );
    let cold_figures = crate::report::figures_of(&dir.path().join("cold.jsonl"), dir.path());
    let figures = crate::report::figures_of(&warm_out, dir.path());
    let report = &figures["runs"][0];
    assert_eq!(report["from_cache"], warm.len());
    assert_eq!(
        report["curves"]["expansions"], cold_figures["runs"][0]["curves"]["expansions"],
        "the curve counts the original searches"
    );
    assert!(
        report["table"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["from_cache"] == true)
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let page = scraper::Html::parse_document(&html);
    let cells = |css: &str| -> Vec<String> {
        page.select(&scraper::Selector::parse(css).unwrap())
            .map(|e| e.text().collect())
            .collect()
    };
    assert_eq!(cells("td.from-cache"), [warm.len().to_string()]);
    let marked = cells("table#theorems td")
        .iter()
        .filter(|t| t.ends_with("(cached)"))
        .count();
    assert_eq!(marked, warm.len(), "every theorem row marked");

    // A smaller budget and width, and another policy: exactly what a run without the cache
    // finds, though the cache holds proofs of those theorems.
    let nocache = ["--no-cache"];
    let learned = ["--policy", "learned"];
    for (what, question) in [
        ("tiny", &[&llm[..], &tiny[..]]),
        ("learned", &[&learned[..], &generous[..]]),
    ] {
        let (with_cache, _, _) = run(
            &format!("{what}-cached"),
            &[question[0], question[1], &shared],
        );
        let (without, _, _) = run(
            &format!("{what}-nocache"),
            &[question[0], question[1], &nocache],
        );
        assert_eq!(verdicts(&with_cache), verdicts(&without), "{what}");
        assert!(
            proved_count(&without) < proved_count(&cold),
            "{what}: the question must differ from the cached one's answer"
        );
        assert!(
            with_cache.values().all(|r| r["from_cache"].is_null()),
            "{what}"
        );
    }

    // `--reuse-verdicts any` answers with whatever proof the cache holds, and says so.
    let any = ["--reuse-verdicts", "any"];
    let (reused, reused_out, _) = run("tiny-any", &[&llm, &tiny, &shared, &any]);
    assert_eq!(proved_count(&reused), proved_count(&cold));
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(datasets::RunManifest::path_for(&reused_out)).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["config"]["reuse_verdicts"], "any");
}

#[test]
fn kill_9_mid_run_then_a_rerun_gives_exactly_one_result_per_theorem() {
    let dir = tempfile::tempdir().unwrap();
    let world = fixture_world("eval-portfolio.json");
    let dataset = dataset_of(&world, dir.path());
    let out = dir.path().join("results.jsonl");
    let log = dir.path().join("sim.log");
    let mut child = ProverRun::new("eval")
        .args(["--workers", "1", "--tactic-timeout", "1", "--no-cache"])
        .path("--dataset", &dataset)
        .path("--out", &out)
        .repl_cmd(&sim_cmd(&world, &log, 40))
        .into_command()
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&out)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no results appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = std::fs::read_to_string(&out).unwrap().lines().count();
    assert!(before < 8, "the run was killed before it finished");

    let output = eval(
        &dataset,
        &out,
        &sim_cmd(&world, &log, 0),
        &["--no-cache", "--tactic-timeout", "1"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let names: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(names.len(), 8, "{text}");
    assert_eq!(unique.len(), 8, "{text}");
    assert!(text.ends_with('\n'));
}

#[test]
fn a_model_server_that_is_down_falls_back_to_the_portfolio_where_configured() {
    let dir = tempfile::tempdir().unwrap();
    let world = fixture_world("eval-portfolio.json");
    let dataset = dir.path().join("one.jsonl");
    std::fs::write(
        &dataset,
        json!({"name": "and_intro", "header": HEADER, "formal_statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by"}).to_string(),
    )
    .unwrap();
    let script = dir.path().join("script.json");
    std::fs::write(&script, r#"{"responses": {}, "default": []}"#).unwrap();
    let server = openai_sim::serve(
        Script::from_path(&script).unwrap(),
        Options {
            faults: Faults {
                status: Some(500),
                ..Faults::default()
            },
            ..Options::default()
        },
    )
    .unwrap();
    let url = format!("http://{}/v1", server.addr());
    let log = dir.path().join("sim.log");
    // Without a fallback, a server that is down at the start stops the run at the preflight:
    // one message, exit 2, nothing written (a server that goes down mid-run is the outage test).
    // One retry keeps the runs short; the retry path itself is what is exercised.
    let llm = [
        "--no-cache",
        "--policy",
        "openai",
        "--llm-retries",
        "1",
        "--llm-url",
        &url,
    ];
    let out = dir.path().join("out-down.jsonl");
    let output = eval(&dataset, &out, &sim_cmd(&world, &log, 0), &llm);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("preflight: the model server"), "{stderr}");
    assert!(!out.exists(), "nothing written");
    // With the fallback, the portfolio answers while the server is down.
    let out = dir.path().join("out-fallback.jsonl");
    let before = server.requests().len();
    let with_fallback: Vec<&str> = llm.iter().copied().chain(["--llm-fallback"]).collect();
    let output = eval(&dataset, &out, &sim_cmd(&world, &log, 0), &with_fallback);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result = &results_by_name(&out)["and_intro"];
    assert_eq!(result["status"], "proved", "{result:#}");
    assert!(
        result["llm_fallbacks"].as_u64().unwrap_or(0) >= 1,
        "{result:#}"
    );
    // The preflight (two attempts) and two more failed proposals open the breaker; after
    // that the portfolio answers at once, and at most a probe or two reach the server.
    let sent = server.requests().len() - before;
    assert!((6..=8).contains(&sent), "{sent} requests: {result:#}");

    // Connection refused: nothing listens on the port any more.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let out = dir.path().join("refused.jsonl");
    let refused_url = format!("http://{closed}/v1");
    let output = eval(
        &dataset,
        &out,
        &sim_cmd(&world, &log, 0),
        &[
            "--no-cache",
            "--policy",
            "openai",
            "--llm-fallback",
            "--llm-url",
            &refused_url,
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(results_by_name(&out)["and_intro"]["status"], "proved");
}

#[test]
fn a_repl_that_keeps_crashing_on_one_theorem_marks_it_error_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let world = fixture_world("crash-always.json");
    let dataset = dataset_of(&world, dir.path());
    let out = dir.path().join("results.jsonl");
    let log = dir.path().join("sim.log");
    let output = eval(&dataset, &out, &sim_cmd(&world, &log, 0), &["--no-cache"]);
    assert_eq!(output.status.code(), Some(1), "a theorem ended in error");
    let results = results_by_name(&out);
    // The crashes are visible: counted in the result, warned about, summed in the summary.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        results["crashes"]["lean_crashes"].as_u64().unwrap_or(0) >= 3,
        "{:#}",
        results["crashes"]
    );
    assert!(
        stderr.contains("Lean infrastructure failure on crashes"),
        "{stderr}"
    );
    assert!(stderr.contains("REPL restarts"), "{stderr}");
    assert!(results["fine"].get("lean_crashes").is_none());
    assert_eq!(
        results["crashes"]["status"], "error",
        "{:#}",
        results["crashes"]
    );
    assert_eq!(results["crashes"]["stop_reason"], "infrastructure");
    assert!(
        results["crashes"]["stop_detail"]
            .as_str()
            .unwrap()
            .contains("out of memory"),
        "{:#}",
        results["crashes"]
    );
    assert_eq!(results["fine"]["status"], "proved");
}

#[test]
fn an_unwritable_output_fails_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let world = fixture_world("eval-portfolio.json");
    let dataset = dataset_of(&world, dir.path());
    let log = dir.path().join("sim.log");
    let out = dir.path().join("missing-dir/results.jsonl");
    let output = eval(&dataset, &out, &sim_cmd(&world, &log, 0), &["--no-cache"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing-dir/results.jsonl"), "{stderr}");
    assert!(!log.exists(), "no REPL was started");
}

#[test]
fn a_second_process_on_one_cache_directory_is_refused_unless_memory_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let world = fixture_world("eval-portfolio.json");
    let dataset = dataset_of(&world, dir.path());
    let cache = dir.path().join("cache");
    let first_out = dir.path().join("first.jsonl");
    let log = dir.path().join("sim.log");
    // The first run holds the cache until it ends; its REPL takes a second per answer, so it
    // is still running when the others have ended (it is killed then).
    let mut first = ProverRun::new("eval")
        .args(["--workers", "1"])
        .path("--cache", &cache)
        .path("--dataset", &dataset)
        .path("--out", &first_out)
        .repl_cmd(&sim_cmd(&world, &log, 1000))
        .into_command()
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first run holds the cache: its REPL has been asked something.
    while log_len(&log) == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let second_out = dir.path().join("second.jsonl");
    let refused = eval(
        &dataset,
        &second_out,
        &sim_cmd(&world, &log, 0),
        &["--tactic-timeout", "1", "--cache", cache.to_str().unwrap()],
    );
    let allowed_out = dir.path().join("allowed.jsonl");
    let allowed = eval(
        &dataset,
        &allowed_out,
        &sim_cmd(&world, &log, 0),
        &[
            "--tactic-timeout",
            "1",
            "--cache",
            cache.to_str().unwrap(),
            "--cache-shared-fallback",
            "memory",
        ],
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run held the cache throughout"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is in use by another process"), "{stderr}");
    assert!(
        stderr.contains("--cache-shared-fallback memory"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--shard"),
        "says how sharded runs avoid it: {stderr}"
    );
    assert!(!second_out.exists(), "nothing written: {stderr}");
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    assert_eq!(allowed.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("in-memory cache"), "{stderr}");
    assert_eq!(results_by_name(&allowed_out).len(), 8);
}

/// The model flags of a run against [`going_down`]: a search that only the model's outage can
/// end, no retries, and one second of outage before the run stops.
fn outage_run_flags(url: &str) -> [&str; 14] {
    [
        "--policy",
        "openai",
        "--samples",
        "8",
        "--width",
        "8",
        "--max-expansions",
        "100000",
        "--llm-retries",
        "0",
        "--llm-outage-limit",
        "1",
        "--llm-url",
        url,
    ]
}

/// A model server proposing the generated worlds' vocabulary that answers the preflight's
/// request and goes down right after it (HTTP 500 until `recover`).
fn going_down(dir: &Path) -> prover_tests::openai_sim::SimServer {
    prover_tests::harness::vocabulary_server_with(
        5,
        dir,
        Options {
            faults: Faults {
                status: Some(500),
                fail_after: Some(1),
                ..Faults::default()
            },
            ..Options::default()
        },
    )
}

#[test]
fn r7_a_model_outage_is_never_cached_as_a_failure() {
    // Issue 7: a model server answering HTTP 500 made every search end `failed`/exhausted and
    // cached those failures, so a `--fresh` rerun after the server recovered reported 0 %.
    let dir = tempfile::tempdir().unwrap();
    let (world, dataset, provable) = generated_world(11, dir.path());
    let expected: Vec<&String> = provable
        .iter()
        .filter(|(_, p)| **p)
        .map(|(n, _)| n)
        .collect();
    assert!(!expected.is_empty(), "the world has provable theorems");
    let server = going_down(dir.path());
    let url = format!("http://{}/v1", server.addr());
    let cache = dir.path().join("cache");
    let log = dir.path().join("sim.log");
    let run = |name: &str, cache: &Path| {
        let out = dir.path().join(format!("{name}.jsonl"));
        let output = eval(
            &dataset,
            &out,
            &sim_cmd(&world, &log, 0),
            &[
                &["--fresh", "--cache", cache.to_str().unwrap()][..],
                &outage_run_flags(&url),
            ]
            .concat(),
        );
        (output, out)
    };

    let (output, out) = run("outage", &cache);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopping the run"), "{stderr}");
    let during = results_by_name(&out);
    assert!(!during.is_empty(), "{stderr}");
    for (name, result) in &during {
        assert_eq!(result["status"], "error", "{name}: {result:#}");
        assert_eq!(
            result["stop_reason"], "policy_failure",
            "{name}: {result:#}"
        );
    }

    server.recover();
    let (output, out) = run("recovered", &cache);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let proved = |out: &Path| -> Vec<String> {
        results_by_name(out)
            .into_iter()
            .filter(|(_, r)| r["status"] == "proved")
            .map(|(n, _)| n)
            .collect()
    };
    let recovered = proved(&out);
    let (output, clean_out) = run("clean", &dir.path().join("clean-cache"));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        recovered,
        proved(&clean_out),
        "a rerun on the outage's cache proves what a clean run proves"
    );
    let expected: Vec<String> = expected.into_iter().cloned().collect();
    assert_eq!(recovered, expected);
}

#[test]
fn a_rerun_searches_again_what_ended_error_and_its_row_replaces_the_old() {
    // An outage's `error` rows are no verdict: rerunning the same command (no --fresh) after
    // the server recovered searches them again, and the report reads the new rows.
    let dir = tempfile::tempdir().unwrap();
    let (world, dataset, provable) = generated_world(11, dir.path());
    let server = going_down(dir.path());
    let url = format!("http://{}/v1", server.addr());
    let out = dir.path().join("results.jsonl");
    let log = dir.path().join("sim.log");
    let run = || {
        eval(
            &dataset,
            &out,
            &sim_cmd(&world, &log, 0),
            &outage_run_flags(&url),
        )
    };
    let first = run();
    assert_ne!(first.status.code(), Some(0));
    let errors = results_by_name(&out)
        .values()
        .filter(|r| r["status"] == "error")
        .count();
    assert!(errors > 0, "{}", String::from_utf8_lossy(&first.stderr));

    server.recover();
    let second = run();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{errors} result(s) in"))
            && stderr.contains("searching them again"),
        "{stderr}"
    );
    // The last row of each theorem is a verdict, and the file holds every theorem.
    let standing = results_by_name(&out);
    assert_eq!(standing.len(), provable.len());
    for (name, result) in &standing {
        let expected = if provable[name] { "proved" } else { "failed" };
        assert_eq!(result["status"], expected, "{name}: {result:#}");
    }
    let figures = crate::report::figures_of(&out, dir.path());
    assert_eq!(
        figures["runs"][0]["error"], 0,
        "the old error rows were replaced"
    );
    assert_eq!(figures["runs"][0]["attempts"], provable.len());
}
