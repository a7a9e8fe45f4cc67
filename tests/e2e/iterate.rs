//! `prover iterate` end to end against sim-repl (a simulated REPL, not Lean) and the simulated model server: rounds, the cheap filter, training rows replayed in the simulated world, resume after `kill -9`, `--after-round`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use prover_tests::harness::{
    ProverRun, SimRepl, read_jsonl, vocabulary_server, write_generated_world,
};
use prover_tests::openai_sim::SimServer;
use prover_tests::world::{Outcome, World};
use prover_tests::worldgen::WorldSpec;
use serde_json::Value;

/// Eight theorems: every third has a one-step proof by the tactic the model scores best, the
/// rest need three steps; some have no proof at all.
fn spec() -> WorldSpec {
    WorldSpec {
        theorems: 8,
        depth: 3,
        branching: 3,
        dead_end_rate: 0.2,
        repeat_rate: 0.1,
        unprovable_rate: 0.25,
        seed: 11,
        tactic_vocabulary: 5,
        one_step_every: 3,
        ..WorldSpec::default()
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    world: PathBuf,
    dataset: PathBuf,
    provable: BTreeMap<String, bool>,
    server: SimServer,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let files = write_generated_world(&spec(), &root);
    let server = vocabulary_server(spec().tactic_vocabulary, &root);
    Setup {
        _dir: dir,
        root,
        world: files.world,
        dataset: files.dataset,
        provable: files.provable,
        server,
    }
}

fn iterate(setup: &Setup, dir: &Path, sim: &SimRepl, extra: &[&str]) -> ProverRun {
    ProverRun::new("iterate")
        .path("--conjectures", &setup.dataset)
        .path("--dir", dir)
        .args([
            "--workers",
            "2",
            "--tactic-timeout",
            "2",
            "--policy",
            "openai",
        ])
        .args(["--llm-url", &format!("http://{}/v1", setup.server.addr())])
        .args(["--samples", "5", "--width", "5", "--max-expansions", "200"])
        .args([
            "--cheap-policy",
            "same",
            "--cheap-width",
            "1",
            "--cheap-expansions",
            "2",
        ])
        .repl(sim)
        .args(extra)
}

fn names_with(rows: &[Value], key: &str, value: &str) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| r[key] == value)
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_ok(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The world's state whose goals print as `text`.
fn state_named<'w>(world: &'w World, text: &str) -> &'w str {
    world
        .states
        .iter()
        .find(|(_, goals)| goals.join("\n\n") == text)
        .map(|(name, _)| name.as_str())
        .unwrap_or_else(|| panic!("no state of the world prints as {text:?}"))
}

/// What the world answers to `tactic` at `state` (the first matching transition, as the
/// simulator answers); `None` when it has none (the simulator refuses it).
fn answer<'w>(world: &'w World, state: &str, tactic: &str) -> Option<&'w Outcome> {
    world
        .transitions
        .iter()
        .find(|t| t.from == state && t.tactic.trim() == tactic.trim())
        .map(|t| &t.outcome)
}

#[test]
fn three_rounds_filter_easy_conjectures_and_write_rows_that_replay_in_the_world() {
    let setup = setup();
    let dir = setup.root.join("rounds");
    let log = setup.root.join("after-round.log");
    let after = format!(
        "echo \"$PROVER_ROUND $(basename \"$PROVER_ROUND_DIR\")\" >> {}",
        log.display()
    );
    let output = iterate(
        &setup,
        &dir,
        &SimRepl::world(&setup.world),
        &["--rounds", "3"],
    )
    .args(["--after-round", &after])
    .output();
    assert_ok(&output);
    let world = World::load(&setup.world).unwrap();

    // Round 1: the easy provable theorems are decided by the cheap pass, the rest by the search.
    let results = read_jsonl(&dir.join("round-1/results.jsonl"));
    assert_eq!(results.len(), spec().theorems, "one result per conjecture");
    let easy: BTreeSet<String> = world
        .theorems
        .iter()
        .enumerate()
        .filter(|(i, t)| i % 3 == 0 && setup.provable[&t.name])
        .map(|(_, t)| t.name.clone())
        .collect();
    assert!(!easy.is_empty(), "the world has easy provable theorems");
    assert_eq!(names_with(&results, "stage", "cheap"), easy);
    let proved = names_with(&results, "status", "proved");
    let provable: BTreeSet<String> = setup
        .provable
        .iter()
        .filter(|(_, p)| **p)
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(
        proved, provable,
        "the search proves exactly what the oracle can"
    );
    let hard: BTreeSet<String> = provable.difference(&easy).cloned().collect();
    assert!(!hard.is_empty(), "some theorems need the search");

    // Training rows: none of the easy ones; every SFT row a real step of its proof.
    let sft = read_jsonl(&dir.join("round-1/sft.jsonl"));
    let sft_names: BTreeSet<String> = sft
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sft_names, hard, "rows of the search's proofs only");
    for name in &hard {
        let theorem = world.theorems.iter().find(|t| &t.name == name).unwrap();
        let mut steps: Vec<&Value> = sft.iter().filter(|r| r["name"] == name.as_str()).collect();
        steps.sort_by_key(|r| r["depth"].as_u64());
        let mut at = theorem.root.clone();
        for (depth, step) in steps.iter().enumerate() {
            assert_eq!(step["depth"], depth);
            assert_eq!(step["proof_length"], steps.len());
            assert_eq!(step["round"], 1);
            let state = step["state"].as_str().unwrap();
            assert_eq!(state, world.states[&at].join("\n\n"), "{name} step {depth}");
            assert_eq!(step["prompt"], format!("{state}:::"));
            assert_eq!(step["completion"], step["tactic"]);
            match answer(&world, &at, step["tactic"].as_str().unwrap()) {
                Some(Outcome::Goals(next)) => at = next.clone(),
                Some(Outcome::Proved) => assert_eq!(depth + 1, steps.len(), "{name}"),
                other => panic!("{name} step {depth}: the world answers {other:?}"),
            }
        }
    }
    // Every DPO pair: the chosen step of the proof, against a tactic refused at that state.
    let dpo = read_jsonl(&dir.join("round-1/dpo.jsonl"));
    assert!(!dpo.is_empty(), "the search met refused siblings");
    for pair in &dpo {
        let state = state_named(&world, pair["state"].as_str().unwrap());
        assert!(
            sft.iter().any(|s| s["name"] == pair["name"]
                && s["state"] == pair["state"]
                && s["tactic"] == pair["chosen"]),
            "{pair}"
        );
        let refused = answer(&world, state, pair["rejected"].as_str().unwrap());
        assert!(
            !matches!(refused, Some(Outcome::Goals(_) | Outcome::Proved)),
            "{pair}: the world takes it ({refused:?})"
        );
        assert_eq!(pair["rejected_kind"], "lean_error");
        assert!(!pair["rejected_error"].as_str().unwrap().is_empty());
    }
    // Proofs are in `check`'s input form, one per verified conjecture.
    let proofs = read_jsonl(&dir.join("round-1/proofs.jsonl"));
    assert_eq!(
        proofs
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect::<BTreeSet<_>>(),
        provable
    );

    // Every row of every file a round writes carries its schema version.
    for name in [
        "cheap.jsonl",
        "search.jsonl",
        "verify.jsonl",
        "results.jsonl",
        "proofs.jsonl",
        "sft.jsonl",
        "dpo.jsonl",
    ] {
        for row in read_jsonl(&dir.join(format!("round-1/{name}"))) {
            assert!(row["schema_version"].is_u64(), "{name}: {row}");
        }
    }

    // Rounds 2 and 3 search only what round 1 left.
    for round in [2, 3] {
        let results = read_jsonl(&dir.join(format!("round-{round}/results.jsonl")));
        let searched: BTreeSet<String> = results
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            searched.is_disjoint(&provable),
            "round {round} searched a solved conjecture"
        );
        assert_eq!(searched.len(), spec().theorems - provable.len());
        for stage in ["cheap", "search"] {
            for record in read_jsonl(&dir.join(format!("round-{round}/{stage}.jsonl"))) {
                assert!(!provable.contains(record["name"].as_str().unwrap()));
            }
        }
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("round-1/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["counts"]["solved_by_cheap"], easy.len());
    assert_eq!(manifest["counts"]["solved_by_search"], hard.len());
    assert_eq!(manifest["counts"]["sft_rows"], sft.len());
    assert_eq!(manifest["counts"]["dpo_rows"], dpo.len());
    assert!(dir.join("iterate.manifest.json").is_file());
    // Between rounds only, with the documented variables.
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "1 round-1\n2 round-2\n"
    );
}

/// The round files that must not depend on an interruption.
fn round_files(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for round in 1..=2 {
        for name in ["results.jsonl", "proofs.jsonl", "sft.jsonl", "dpo.jsonl"] {
            let path = dir.join(format!("round-{round}/{name}"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files.insert(format!("round-{round}/{name}"), text);
        }
    }
    files
}

#[test]
fn a_round_killed_mid_search_resumes_to_the_same_files() {
    let setup = setup();
    let sim = SimRepl::world(&setup.world).latency_ms(20);
    let whole = setup.root.join("whole");
    assert_ok(&iterate(&setup, &whole, &sim, &["--rounds", "2"]).output());

    let killed = setup.root.join("killed");
    let mut child = iterate(&setup, &killed, &sim, &["--rounds", "2"])
        .into_command()
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the search has decided something and before the round is complete.
    let search_log = killed.join("round-1/search.jsonl");
    let started = Instant::now();
    while std::fs::read_to_string(&search_log).map_or(0, |t| t.lines().count()) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the search never decided"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("round-1/manifest.json").exists(),
        "killed mid-round"
    );

    let resumed = iterate(&setup, &killed, &sim, &["--rounds", "2"]).output();
    assert_ok(&resumed);
    assert_eq!(round_files(&killed), round_files(&whole));
}

#[test]
fn a_failing_after_round_command_stops_the_run_with_its_status_and_a_rerun_goes_on() {
    let setup = setup();
    let dir = setup.root.join("rounds");
    let sim = SimRepl::world(&setup.world);
    let failed = iterate(
        &setup,
        &dir,
        &sim,
        &["--rounds", "2", "--after-round", "exit 7"],
    )
    .output();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("--after-round"), "{stderr}");
    assert!(
        dir.join("round-1/manifest.json").is_file(),
        "round 1 is intact"
    );
    assert!(!dir.join("round-2").exists(), "round 2 never started");

    // Another budget for the same directory is refused, naming the difference.
    let other = iterate(&setup, &dir, &sim, &["--rounds", "2", "--keep-easy"]).output();
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("keep_easy"), "{stderr}");

    let rerun = iterate(
        &setup,
        &dir,
        &sim,
        &["--rounds", "2", "--after-round", "true"],
    )
    .output();
    assert_ok(&rerun);
    assert!(dir.join("round-2/manifest.json").is_file());
}

#[test]
fn two_shards_of_iterate_merge_to_the_unsharded_rounds() {
    let setup = setup();
    let sim = SimRepl::world(&setup.world);
    let whole = setup.root.join("whole");
    assert_ok(&iterate(&setup, &whole, &sim, &["--rounds", "2"]).output());
    let shards: Vec<PathBuf> = (0..2)
        .map(|index| {
            let dir = setup.root.join(format!("shard-{index}"));
            let shard = format!("{index}/2");
            assert_ok(&iterate(&setup, &dir, &sim, &["--rounds", "2", "--shard", &shard]).output());
            dir
        })
        .collect();
    let merged = setup.root.join("merged");
    let output = ProverRun::new("merge")
        .args([&merged, &shards[0], &shards[1]])
        .output();
    assert_ok(&output);
    // The derived files, sorted by conjecture, are the unsharded run's byte for byte.
    assert_eq!(round_files(&merged), round_files(&whole));
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(merged.join("round-1/manifest.json")).unwrap(),
    )
    .unwrap();
    let whole_manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(whole.join("round-1/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["counts"]["verified"],
        whole_manifest["counts"]["verified"]
    );
    // One shard alone: the other's conjectures are named missing (exit 1).
    let partial = ProverRun::new("merge")
        .args([&setup.root.join("partial"), &shards[0]])
        .output();
    assert_eq!(partial.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&partial.stderr).contains("missing shards: 1/2"));
}
