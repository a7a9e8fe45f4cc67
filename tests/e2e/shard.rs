//! Sharded runs end to end (issue 24): `eval --shard I/N` over generated worlds merged back with
//! `prover merge` gives the unsharded run's verdicts; merge refusals and idempotence; per-shard
//! caches joined by `prover cache merge`; several model servers, one failing and one killed.
//! The real `prover` against sim-repl (a simulated REPL, not Lean) and sim-openai (a simulated
//! model server, no model).

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use prover_tests::harness::{
    ProverRun, SimRepl, read_jsonl, results_by_name, vocabulary_server, vocabulary_server_with,
    write_generated_world,
};
use prover_tests::openai_sim::{Faults, Options};
use prover_tests::worldgen::WorldSpec;
use serde_json::Value;

struct World {
    world: PathBuf,
    dataset: PathBuf,
    provable: BTreeMap<String, bool>,
}

fn world(seed: u64, theorems: usize, dir: &Path) -> World {
    let files = write_generated_world(
        &WorldSpec {
            theorems,
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
    World {
        world: files.world,
        dataset: files.dataset,
        provable: files.provable,
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `prover eval` of `world` over the vocabulary server at `urls`, with `extra` flags.
fn eval(world: &World, repl: &str, urls: &[String], out: &Path, extra: &[&str]) -> Output {
    let mut run = ProverRun::new("eval")
        .args(["--workers", "2", "--policy", "openai", "--samples", "8"])
        .args(["--width", "8", "--max-expansions", "100000"])
        .path("--dataset", &world.dataset)
        .path("--out", out)
        .repl_cmd(repl);
    for url in urls {
        run = run.args(["--llm-url", url]);
    }
    run.args(extra).output()
}

fn merge(out: &Path, inputs: &[PathBuf]) -> Output {
    let mut run = ProverRun::new("merge").args([out]);
    for input in inputs {
        run = run.args([input]);
    }
    run.output()
}

/// Status per theorem: what sharding must not change.
fn statuses(path: &Path) -> BTreeMap<String, Value> {
    results_by_name(path)
        .into_iter()
        .map(|(name, row)| (name, row["status"].clone()))
        .collect()
}

fn manifest(results: &Path) -> Value {
    let mut path = results.as_os_str().to_owned();
    path.push(".manifest.json");
    serde_json::from_str(&std::fs::read_to_string(PathBuf::from(path)).unwrap()).unwrap()
}

/// Runs the `count` shards of `world` into `dir/shard-I.jsonl`, each checked: exit 0, its
/// shard in the manifest, its share of the theorems.
fn run_shards(world: &World, dir: &Path, repl: &str, url: &str, count: u32) -> Vec<PathBuf> {
    let mut sizes = Vec::new();
    let mut seen = BTreeSet::new();
    let outs: Vec<PathBuf> = (0..count)
        .map(|index| {
            let out = dir.join(format!("n{count}-shard-{index}.jsonl"));
            let shard = format!("{index}/{count}");
            let output = eval(world, repl, &[url.to_owned()], &out, &["--shard", &shard]);
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
            // The whole dataset as one shard records none: it is an unsharded run.
            let recorded = (count > 1).then_some(shard.as_str());
            assert_eq!(manifest(&out)["config"]["shard"].as_str(), recorded);
            let names = statuses(&out);
            sizes.push(names.len());
            for name in names.keys() {
                assert!(seen.insert(name.clone()), "{name} in two shards of {count}");
            }
            out
        })
        .collect();
    assert_eq!(
        seen.len(),
        world.provable.len(),
        "the shards of {count} cover the dataset"
    );
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    assert!(max - min <= 1, "shards of {count}: sizes {sizes:?}");
    outs
}

#[test]
fn the_merge_of_n_shard_runs_gives_the_unsharded_runs_verdicts() {
    for (seed, counts) in [(31, &[1u32, 2, 3, 7][..]), (32, &[2][..])] {
        let dir = tempfile::tempdir().unwrap();
        let world = world(seed, 8, dir.path());
        let server = vocabulary_server(5, dir.path());
        let repl = SimRepl::world(&world.world).command_line();
        let whole = dir.path().join("whole.jsonl");
        let output = eval(&world, &repl, &[server.base_url()], &whole, &[]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(manifest(&whole)["config"].get("shard").is_none());
        let expected = statuses(&whole);
        let proved = expected.values().filter(|s| *s == "proved").count();
        assert_eq!(proved, world.provable.values().filter(|p| **p).count());
        for &count in counts {
            let shards = run_shards(&world, dir.path(), &repl, &server.base_url(), count);
            let merged = dir.path().join(format!("merged-{count}.jsonl"));
            let output = merge(&merged, &shards);
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
            assert_eq!(statuses(&merged), expected, "seed {seed}, {count} shards");
            // One line per theorem, sorted by name.
            let names: Vec<String> = read_jsonl(&merged)
                .iter()
                .map(|row| row["name"].as_str().unwrap().to_owned())
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(names, sorted);
            let merged_manifest = manifest(&merged);
            assert!(merged_manifest["config"].get("shard").is_none());
            assert_eq!(
                merged_manifest["recorded"]["merged_shards"]
                    .as_array()
                    .map(Vec::len),
                (count > 1).then_some(count as usize)
            );
            assert_eq!(merged_manifest["counts"]["proved"], proved);
        }
    }
}

#[test]
fn merge_is_idempotent_and_refuses_or_reports_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(33, 9, dir.path());
    let server = vocabulary_server(5, dir.path());
    let repl = SimRepl::world(&world.world).command_line();
    let shards = run_shards(&world, dir.path(), &repl, &server.base_url(), 3);

    // The same inputs, in another order, give the same bytes, manifest included.
    let first = dir.path().join("first.jsonl");
    let second = dir.path().join("second.jsonl");
    assert_eq!(merge(&first, &shards).status.code(), Some(0));
    let reversed: Vec<PathBuf> = shards.iter().rev().cloned().collect();
    assert_eq!(merge(&second, &reversed).status.code(), Some(0));
    let bytes = |path: &Path| std::fs::read(path).unwrap();
    assert_eq!(bytes(&first), bytes(&second));
    let manifest_bytes = |path: &Path| {
        let mut name = path.as_os_str().to_owned();
        name.push(".manifest.json");
        std::fs::read(PathBuf::from(name)).unwrap()
    };
    assert_eq!(manifest_bytes(&first), manifest_bytes(&second));
    // A merged file with a shard it holds already: nothing changes.
    let again = dir.path().join("again.jsonl");
    let output = merge(&again, &[first.clone(), shards[1].clone()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(bytes(&again), bytes(&first));

    // A missing shard: named, and its theorems named; the rest is written (exit 1).
    let partial = dir.path().join("partial.jsonl");
    let output = merge(&partial, &[shards[0].clone(), shards[2].clone()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("missing shards: 1/3"), "{text}");
    for name in statuses(&shards[1]).keys() {
        assert!(text.contains(name.as_str()), "{name} is named: {text}");
    }
    assert_eq!(
        statuses(&partial).len(),
        statuses(&shards[0]).len() + statuses(&shards[2]).len()
    );

    // Conflicting verdicts: an error naming the theorem, nothing written.
    let rows = std::fs::read_to_string(&shards[0]).unwrap();
    let first_row: Value = serde_json::from_str(rows.lines().next().unwrap()).unwrap();
    let name = first_row["name"].as_str().unwrap().to_owned();
    let flipped = if first_row["status"] == "proved" {
        "failed"
    } else {
        "proved"
    };
    let mut other = first_row.clone();
    other["status"] = Value::from(flipped);
    let forged = dir.path().join("forged.jsonl");
    std::fs::write(&forged, format!("{other}\n")).unwrap();
    std::fs::copy(
        dir.path().join("n3-shard-0.jsonl.manifest.json"),
        dir.path().join("forged.jsonl.manifest.json"),
    )
    .unwrap();
    let conflict = dir.path().join("conflict.jsonl");
    let output = merge(&conflict, &[shards[0].clone(), forged.clone()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains(&format!("theorem `{name}` has different verdicts")),
        "{text}"
    );
    assert!(!conflict.exists(), "nothing is written on a conflict");

    // A shard run under another configuration is refused, naming what differs.
    let other_budget = dir.path().join("other-budget.jsonl");
    let output = eval(
        &world,
        &repl,
        &[server.base_url()],
        &other_budget,
        &["--shard", "1/3", "--tactic-timeout", "7"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let refused = dir.path().join("refused.jsonl");
    let output = merge(
        &refused,
        &[shards[0].clone(), other_budget, shards[2].clone()],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("tactic_deadline_ms"),
        "{}",
        stderr(&output)
    );
    assert!(!refused.exists());

    // A shard of another split is refused too.
    let split = dir.path().join("split.jsonl");
    let output = eval(
        &world,
        &repl,
        &[server.base_url()],
        &split,
        &["--shard", "0/2"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = merge(
        &dir.path().join("splits.jsonl"),
        &[shards[0].clone(), split],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("different splits"),
        "{}",
        stderr(&output)
    );

    // A resume into a shard's output with another shard is refused.
    let output = eval(
        &world,
        &repl,
        &[server.base_url()],
        &shards[0],
        &["--shard", "1/3"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("shard"), "{}", stderr(&output));
}

/// Tactic requests a sim-repl log holds after its first `skip` lines.
fn tactic_requests(log: &Path, skip: usize) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .skip(skip)
        .filter(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap()
                .get("tactic")
                .is_some()
        })
        .count()
}

fn log_len(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
}

#[test]
fn shards_cache_apart_and_cache_merge_makes_a_rerun_send_no_tactic() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(34, 8, dir.path());
    let server = vocabulary_server(5, dir.path());
    let log = dir.path().join("sim.log");
    // One command line for every run: it is part of the cache's identity.
    let repl = SimRepl::world(&world.world).log(&log).command_line();
    let root = dir.path().join("cache");
    let cache = ["--cache", root.to_str().unwrap()];
    for index in 0..3 {
        let out = dir.path().join(format!("shard-{index}.jsonl"));
        let shard = format!("{index}/3");
        let mut flags = vec!["--shard", shard.as_str()];
        flags.extend(cache);
        let output = eval(&world, &repl, &[server.base_url()], &out, &flags);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(root.join(format!("shard-{index}-of-3")).is_dir());
    }
    let merged_cache = dir.path().join("merged-cache");
    let mut merge = ProverRun::new("cache")
        .args(["merge"])
        .args([&merged_cache]);
    for index in 0..3 {
        merge = merge.args([root.join(format!("shard-{index}-of-3"))]);
    }
    let output = merge.output();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(", 0 disagreed"),
        "{}",
        stderr(&output)
    );
    // Merging again changes nothing and still agrees.
    let output = ProverRun::new("cache")
        .args(["merge"])
        .args([&merged_cache, &root.join("shard-1-of-3")])
        .output();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(": 0 added, 0 theorems gained"),
        "{}",
        stderr(&output)
    );
    // A source that holds no cache is refused, not read as empty.
    let output = ProverRun::new("cache")
        .args(["merge"])
        .args([&merged_cache, &dir.path().join("no-such-cache")])
        .output();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no-such-cache"),
        "{}",
        stderr(&output)
    );

    let before = log_len(&log);
    let warm = dir.path().join("warm.jsonl");
    let output = eval(
        &world,
        &repl,
        &[server.base_url()],
        &warm,
        &["--cache", merged_cache.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(statuses(&warm).len(), 8);
    assert_eq!(
        tactic_requests(&log, before),
        0,
        "the merged cache answered every tactic"
    );
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes_and_bad_shards_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(35, 6, dir.path());
    let server = vocabulary_server(5, dir.path());
    let repl = SimRepl::world(&world.world).command_line();
    let run = |out: &str, shard: &str, env: &[(&str, &str)]| {
        let mut run = ProverRun::new("eval")
            .args(["--workers", "1", "--policy", "openai", "--llm-url"])
            .args([server.base_url()])
            .path("--dataset", &world.dataset)
            .path("--out", &dir.path().join(out))
            .repl_cmd(&repl)
            .args(["--shard", shard]);
        for (key, value) in env {
            run = run.env(key, value);
        }
        run.output()
    };
    let output = run(
        "slurm.jsonl",
        "auto",
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        manifest(&dir.path().join("slurm.jsonl"))["config"]["shard"],
        "1/2"
    );
    let output = run("k8s.jsonl", "auto/3", &[("JOB_COMPLETION_INDEX", "0")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        manifest(&dir.path().join("k8s.jsonl"))["config"]["shard"],
        "0/3"
    );
    for (shard, env, says) in [
        ("auto", &[][..], "--shard I/N"),
        ("3/3", &[][..], "below the count"),
        ("auto", &[("JOB_COMPLETION_INDEX", "1")][..], "auto/N"),
    ] {
        let out = format!("bad-{}.jsonl", shard.replace('/', "-"));
        let output = run(&out, shard, env);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
        assert!(!dir.path().join(out).exists());
    }
}

#[test]
fn check_takes_its_shard_of_the_rows_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(36, 7, dir.path());
    // Proofs to check: each theorem's statement with a wrong proof (decided `invalid` or
    // `valid` alike: the shard is what is tested).
    let proofs = dir.path().join("proofs.jsonl");
    let rows: Vec<String> = read_jsonl(&world.dataset)
        .into_iter()
        .map(|mut row| {
            row["proof"] = Value::from("simp");
            row.to_string()
        })
        .collect();
    std::fs::write(&proofs, rows.join("\n") + "\n").unwrap();
    let repl = SimRepl::world(&world.world).command_line();
    let mut names = BTreeSet::new();
    let mut sizes = Vec::new();
    for index in 0..2 {
        let out = dir.path().join(format!("check-{index}.jsonl"));
        let output = ProverRun::new("check")
            .path("--input", &proofs)
            .path("--out", &out)
            .repl_cmd(&repl)
            .args(["--shard", &format!("{index}/2")])
            .output();
        assert!(output.status.code() != Some(2), "{}", stderr(&output));
        let rows = read_jsonl(&out);
        sizes.push(rows.len());
        for row in rows {
            assert!(names.insert(row["name"].as_str().unwrap().to_owned()));
        }
        assert_eq!(manifest(&out)["config"]["shard"], format!("{index}/2"));
        assert_eq!(manifest(&out)["input"]["rows"], 7);
    }
    assert_eq!(names.len(), 7);
    assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);

    // The shards' outputs merge into one row per input line, in line order; without one
    // shard, the rows it owed are reported.
    let shards: Vec<PathBuf> = (0..2)
        .map(|index| dir.path().join(format!("check-{index}.jsonl")))
        .collect();
    let merged = dir.path().join("check-merged.jsonl");
    let output = merge(&merged, &shards);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines: Vec<u64> = read_jsonl(&merged)
        .iter()
        .map(|row| row["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, (1..=7).collect::<Vec<u64>>());
    let output = merge(&dir.path().join("check-partial.jsonl"), &shards[..1]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("missing shards: 1/2"),
        "{}",
        stderr(&output)
    );
}

/// Per-server request counts from a run's closing note: `url → requests`.
fn requests_per_server(stderr: &str) -> BTreeMap<String, u64> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("model server")?;
            let (count, url) = rest.split_once(" requests")?;
            let url = url.rsplit(" to ").next()?;
            Some((url.trim().to_owned(), count.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn with_three_model_servers_one_failing_the_healthy_two_carry_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(37, 8, dir.path());
    let failing = vocabulary_server_with(
        5,
        dir.path(),
        Options {
            faults: Faults {
                status: Some(500),
                ..Faults::default()
            },
            ..Options::default()
        },
    );
    let healthy = [
        vocabulary_server(5, dir.path()),
        vocabulary_server(5, dir.path()),
    ];
    let repl = SimRepl::world(&world.world).command_line();
    // The failing server first: the preflight's probe must find a healthy one too.
    let urls = [
        failing.base_url(),
        healthy[0].base_url(),
        healthy[1].base_url(),
    ];
    let out = dir.path().join("three.jsonl");
    let output = eval(&world, &repl, &urls, &out, &["--no-cache"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let results = statuses(&out);
    assert_eq!(results.len(), 8);
    assert!(results.values().all(|s| s != "error"), "{results:?}");
    let proved = results.values().filter(|s| *s == "proved").count();
    assert_eq!(proved, world.provable.values().filter(|p| **p).count());
    let per_server = requests_per_server(&text);
    assert_eq!(per_server.len(), 3, "{text}");
    let bad = per_server[&urls[0]];
    for url in &urls[1..] {
        assert!(per_server[url] > bad, "{per_server:?}");
    }
    // The preflight's probe asks the failing server directly too, outside the balancing.
    assert!(failing.request_count() >= bad.max(1), "{per_server:?}");
}

/// A `sim-openai` process serving the vocabulary of generated worlds, and its URL.
fn sim_openai_process(dir: &Path, name: &str) -> (std::process::Child, String, PathBuf) {
    let script = dir.join("process-script.json");
    let completions: Vec<Value> = prover_tests::worldgen::vocabulary(5)
        .iter()
        .enumerate()
        .map(|(rank, t)| serde_json::json!({"text": t, "logprobs": [-0.1 * (rank as f64 + 1.0)]}))
        .collect();
    std::fs::write(
        &script,
        serde_json::json!({"responses": {}, "default": completions}).to_string(),
    )
    .unwrap();
    let log = dir.join(format!("{name}.log"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-openai"))
        .args(["--script"])
        .arg(&script)
        .args(["--delay-ms", "5", "--log"])
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = format!("{}/v1", line.trim().strip_prefix("listening on ").unwrap());
    (child, url, log)
}

#[test]
fn a_model_server_killed_mid_run_leaves_the_other_to_finish_it() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(38, 12, dir.path());
    let (mut doomed, doomed_url, doomed_log) = sim_openai_process(dir.path(), "doomed");
    let (mut survivor, survivor_url, survivor_log) = sim_openai_process(dir.path(), "survivor");
    let sim_log = dir.path().join("sim.log");
    let repl = SimRepl::world(&world.world)
        .log(&sim_log)
        .latency_ms(5)
        .command_line();
    let out = dir.path().join("killed.jsonl");
    let mut run = ProverRun::new("eval")
        .args([
            "--workers",
            "2",
            "--policy",
            "openai",
            "--samples",
            "8",
            "--no-cache",
        ])
        .args([
            "--width",
            "8",
            "--max-expansions",
            "100000",
            "--concurrency",
            "2",
        ])
        .args(["--llm-url", &doomed_url, "--llm-url", &survivor_url])
        .path("--dataset", &world.dataset)
        .path("--out", &out)
        .repl_cmd(&repl)
        .into_command()
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the first server once two theorems are decided, while the others remain.
    let lines = |path: &Path| std::fs::read_to_string(path).map_or(0, |t| t.lines().count());
    while lines(&out) < 2 {
        assert!(
            run.try_wait().unwrap().is_none(),
            "the run ended before the kill"
        );
        // Polling, not timing: nothing is asserted about how long it takes.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let at_kill = lines(&survivor_log);
    let decided_at_kill = lines(&out);
    assert!(
        lines(&doomed_log) > 0,
        "the doomed server served before it died"
    );
    let mut text = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().unwrap(), &mut text).unwrap();
    let status = run.wait().unwrap();
    survivor.kill().unwrap();
    survivor.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    let results = statuses(&out);
    assert_eq!(results.len(), 12, "{text}");
    assert!(results.values().all(|s| s != "error"), "{results:?}");
    assert_eq!(
        results.values().filter(|s| *s == "proved").count(),
        world.provable.values().filter(|p| **p).count()
    );
    assert!(
        decided_at_kill < 12,
        "theorems were left when the server died"
    );
    assert!(
        lines(&survivor_log) > at_kill,
        "the survivor carried on: {text}"
    );
    let per_server = requests_per_server(&text);
    assert_eq!(per_server.len(), 2, "{text}");
}

#[test]
fn explore_takes_its_shard_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(39, 6, dir.path());
    let server = vocabulary_server(5, dir.path());
    let repl = SimRepl::world(&world.world).command_line();
    let mut searched = BTreeSet::new();
    for index in 0..2 {
        let out = dir.path().join(format!("explore-{index}"));
        let output = ProverRun::new("explore")
            .path("--dataset", &world.dataset)
            .path("--out", &out)
            .args(["--policy", "openai", "--samples", "4", "--width", "4"])
            .args(["--llm-url", &server.base_url()])
            .args(["--shard", &format!("{index}/2")])
            .repl_cmd(&repl)
            .output();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let run = manifest(&out.join("explore"));
        assert_eq!(run["config"]["shard"], format!("{index}/2"));
        // The input record keeps the whole dataset, for the merge's coverage.
        assert_eq!(run["input"]["rows"], 6);
        let names: BTreeSet<String> = read_jsonl(&out.join("search.jsonl"))
            .iter()
            .map(|row| row["name"].as_str().unwrap().to_owned())
            .collect();
        assert!((2..=4).contains(&names.len()), "{names:?}");
        for name in names {
            assert!(
                searched.insert(name.clone()),
                "{name} explored by both shards"
            );
        }
    }
    assert_eq!(searched.len(), 6);
}
