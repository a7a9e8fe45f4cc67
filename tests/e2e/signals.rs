//! Process hygiene under signals (issue 8): SIGINT, SIGTERM and SIGKILL sent to `prover eval` while the simulated REPLs (sim-repl, not Lean) hang leave no REPL behind, keep what was written, and a rerun resumes.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prover_tests::harness::{ProverRun, SimRepl, results_by_name};
use serde_json::json;

const HEADER: &str = prover_tests::harness::MATHLIB_HEADER;

/// A world with one theorem the portfolio proves at once and one whose every tactic hangs.
fn write_world(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let hang = |tactic: &str| json!({"from": "h0", "tactic": tactic, "outcome": "proved", "fault": "hang"});
    let world = json!({
        "theorems": [
            {"name": "fine", "statement": "theorem fine (x : ℕ) : x + 0 = x", "root": "f0"},
            {"name": "hangs", "statement": "theorem hangs (x : ℕ) : x + 1 > x", "root": "h0"}
        ],
        "states": {"f0": ["x : ℕ\n⊢ x + 0 = x"], "h0": ["x : ℕ\n⊢ x + 1 > x"]},
        "transitions": [
            {"from": "f0", "tactic": "simp", "outcome": "proved"},
            hang("norm_num"), hang("linarith"), hang("simp"), hang("omega"), hang("positivity")
        ]
    });
    let world_path = dir.join("hanging-world.json");
    std::fs::write(&world_path, world.to_string()).unwrap();
    let rows = [
        json!({"name": "fine", "header": HEADER, "formal_statement": "theorem fine (x : ℕ) : x + 0 = x := by"}),
        json!({"name": "hangs", "header": HEADER, "formal_statement": "theorem hangs (x : ℕ) : x + 1 > x := by"}),
    ];
    let dataset = dir.join("dataset.jsonl");
    let lines: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    std::fs::write(&dataset, lines.join("\n")).unwrap();
    (world_path, dataset)
}

/// Pids of live processes whose command line mentions `marker`.
fn processes_mentioning(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        // A zombie has an empty command line: it no longer runs anything.
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            found.push(pid);
        }
    }
    found
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn eval(dataset: &Path, out: &Path, repl_cmd: &str, extra: &[&str]) -> Command {
    ProverRun::new("eval")
        .args(["--workers", "2", "--no-cache"])
        .path("--dataset", dataset)
        .path("--out", out)
        .repl_cmd(repl_cmd)
        .args(extra)
        .into_command()
}

fn run_and_signal(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (world, dataset) = write_world(dir.path());
    let marker = world.to_str().unwrap().to_owned();
    let repl_cmd = SimRepl::world(&world).command_line();
    let out = dir.path().join("results.jsonl");
    // A tactic deadline well past the moment the signal comes, kept for the rerun: a resume
    // must use the same search settings.
    let budget = ["--tactic-timeout", "3"];
    let mut child: Child = eval(&dataset, &out, &repl_cmd, &budget)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-run: `fine` is decided and written, `hangs` sits on a REPL that never answers.
    wait_until("`fine` is written", Duration::from_secs(30), || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.lines().count() == 1)
    });
    wait_until("a REPL hangs", Duration::from_secs(30), || {
        !processes_mentioning(&marker).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = {
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "prover did not stop after SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    match signal {
        "INT" => assert_eq!(output.code(), Some(130), "{stderr}"),
        "TERM" => assert_eq!(output.code(), Some(143), "{stderr}"),
        _ => assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&output),
            Some(9)
        ),
    }
    if signal != "KILL" {
        assert!(
            stderr.contains(&format!("stopped by SIG{signal}")),
            "{stderr}"
        );
        assert!(
            stderr.contains("pass rate"),
            "the summary is printed: {stderr}"
        );
    }
    // No REPL outlives prover by more than a few seconds, however it died.
    wait_until(
        &format!("every REPL is gone after SIG{signal}"),
        Duration::from_secs(5),
        || processes_mentioning(&marker).is_empty(),
    );
    let written = results_by_name(&out);
    assert_eq!(written.len(), 1, "only `fine` was decided: {written:?}");
    assert_eq!(written["fine"]["status"], "proved");

    // The rerun resumes: `fine` is skipped, `hangs` runs, on REPLs that no longer hang (the
    // REPL command is no part of the configuration a resume must keep).
    let healed = dir.path().join("healed-world.json");
    let text = std::fs::read_to_string(&world)
        .unwrap()
        .replace(r#""fault":"hang","#, "");
    std::fs::write(&healed, text).unwrap();
    let healed_cmd = SimRepl::world(&healed).command_line();
    let rerun = eval(&dataset, &out, &healed_cmd, &budget).output().unwrap();
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        stderr.contains("1 of 2 theorems already decided"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 2, "one line per theorem: {text}");
    assert_eq!(results_by_name(&out).len(), 2);
}

#[test]
fn sigint_stops_cleanly_and_kills_every_repl() {
    run_and_signal("INT");
}

#[test]
fn sigterm_stops_cleanly_and_kills_every_repl() {
    run_and_signal("TERM");
}

#[test]
fn sigkill_of_prover_takes_its_repls_down_too() {
    run_and_signal("KILL");
}
