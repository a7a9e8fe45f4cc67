//! Output safety and input robustness (issue 8), with the simulated REPL (sim-repl, not Lean): `--out` never destroys a file, a second writer is refused, `check` resumes, and bad lines fail alone.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use prover_tests::harness::{prover_command, workspace_root};
use serde_json::{Value, json};

const HEADER: &str = "import Mathlib\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n\n";

fn world() -> PathBuf {
    workspace_root().join("tests/fixtures/worlds/check-mixed.json")
}

fn repl_cmd(extra: &str) -> String {
    format!(
        "{} --world {} {extra}",
        env!("CARGO_BIN_EXE_sim-repl"),
        world().display()
    )
}

fn proof_row(name: &str) -> String {
    json!({"name": name, "header": HEADER,
           "formal_statement": "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by",
           "proof": "\n  subst h₀ h₁\n  norm_num"})
    .to_string()
}

fn check(input: &Path, out: &Path, extra: &[&str]) -> Output {
    prover_command()
        .arg("check")
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--repl-cmd", &repl_cmd("")])
        .args(extra)
        .output()
        .unwrap()
}

fn eval(dataset: &Path, out: &Path, repl: &str) -> std::process::Command {
    let mut command = prover_command();
    command
        .args(["eval", "--no-cache", "--dataset"])
        .arg(dataset)
        .arg("--out")
        .arg(out)
        .args(["--repl-cmd", repl]);
    command
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn an_out_that_is_an_input_or_another_kind_of_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("dataset.jsonl");
    let row = json!({"name": "add_valid", "header": HEADER,
                     "formal_statement": "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by"});
    std::fs::write(&dataset, format!("{row}\n")).unwrap();
    let before = std::fs::read(&dataset).unwrap();
    let refused = eval(&dataset, &dataset, &repl_cmd("")).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("also an input"));
    assert_eq!(
        std::fs::read(&dataset).unwrap(),
        before,
        "the dataset is untouched"
    );

    // A dataset given as another run's --out is no results file either.
    let other = dir.path().join("other.jsonl");
    std::fs::copy(&dataset, &other).unwrap();
    let refused = eval(&dataset, &other, &repl_cmd("")).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("is not a results file of `prover eval`"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&other).unwrap(), before);

    // `check --out INPUT`, and `check` results given to `eval`.
    let input = dir.path().join("proofs.jsonl");
    std::fs::write(&input, proof_row("add_valid")).unwrap();
    let input_before = std::fs::read(&input).unwrap();
    let refused = check(&input, &input, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(std::fs::read(&input).unwrap(), input_before);
    let checked = dir.path().join("checked.jsonl");
    assert_eq!(check(&input, &checked, &[]).status.code(), Some(0));
    let checked_before = std::fs::read(&checked).unwrap();
    let refused = eval(&dataset, &checked, &repl_cmd("")).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(std::fs::read(&checked).unwrap(), checked_before);
}

#[test]
fn a_second_writer_on_one_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("dataset.jsonl");
    let row = json!({"name": "add_valid", "header": HEADER,
                     "formal_statement": "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by"});
    std::fs::write(&dataset, format!("{row}\n")).unwrap();
    let out = dir.path().join("results.jsonl");
    // The first run is slowed down (every answer takes 200 ms) so that it holds the file.
    let first = eval(&dataset, &out, &repl_cmd("--latency-ms 200"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !out.exists() {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let second = eval(&dataset, &out, &repl_cmd("")).output().unwrap();
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("being written by another prover process"),
        "{stderr}"
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(lines(&out).len(), 1, "one line, from the first writer only");
}

#[test]
fn check_resumes_and_bad_lines_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("proofs.jsonl");
    // A byte-order mark, a line that is not UTF-8, a JSON array, a CRLF line, and good rows.
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(proof_row("first").as_bytes());
    bytes.extend(b"\n{\"name\": \"broken\xFF\"}\n[1, 2, 3]\n");
    bytes.extend(proof_row("crlf").as_bytes());
    bytes.extend(b"\r\n");
    bytes.extend(proof_row("last").as_bytes());
    std::fs::write(&input, &bytes).unwrap();
    let out = dir.path().join("results.jsonl");
    let first = check(&input, &out, &[]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(
        first.status.code(),
        Some(1),
        "two rows are errors: {stderr}"
    );
    let results = lines(&out);
    assert_eq!(results.len(), 5, "{results:#?}");
    let by_line = |line: u64| {
        results
            .iter()
            .find(|r| r["line"] == line)
            .unwrap_or_else(|| panic!("no result for line {line}"))
            .clone()
    };
    assert_eq!(by_line(1)["status"], "valid", "the BOM is tolerated");
    assert!(by_line(2)["reasons"].to_string().contains("not UTF-8"));
    assert!(by_line(3)["reasons"].to_string().contains("found an array"));
    assert_eq!(by_line(4)["status"], "valid", "CRLF is tolerated");
    assert_eq!(by_line(5)["status"], "valid");
    assert!(
        stderr.contains("[5/5]"),
        "a progress line per row: {stderr}"
    );

    // The rerun skips every decided row and its summary still covers all five.
    let again = check(&input, &out, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("5 of 5 rows already decided"), "{stderr}");
    assert!(
        stderr.contains("5 rows: 3 valid, 0 invalid, 2 error"),
        "{stderr}"
    );
    assert_eq!(lines(&out).len(), 5, "nothing written twice");
    // `--fresh` starts over.
    let fresh = check(&input, &out, &["--fresh"]);
    assert_eq!(fresh.status.code(), Some(1));
    assert_eq!(lines(&out).len(), 5);
}

/// Runs `eval` on a one-theorem dataset; returns its output and whether --out exists after.
fn eval_once(repl: &str, extra: &[&str], env_path: Option<&str>) -> (Output, bool, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("dataset.jsonl");
    let row = json!({"name": "add_valid", "header": HEADER,
                     "formal_statement": "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by"});
    std::fs::write(&dataset, format!("{row}\n")).unwrap();
    std::fs::write(dir.path().join("lakefile.lean"), "-- a Lean project\n").unwrap();
    let out = dir.path().join("results.jsonl");
    let mut command = eval(&dataset, &out, repl);
    if repl.is_empty() {
        // The default REPL command (`lake env …`) in this project directory.
        command = prover_command();
        command
            .args(["eval", "--no-cache", "--dataset"])
            .arg(&dataset)
            .arg("--out")
            .arg(&out)
            .arg("--project")
            .arg(dir.path());
    }
    if let Some(path) = env_path {
        command.env("PATH", path);
    }
    let started = Instant::now();
    let output = command.args(extra).output().unwrap();
    (output, out.exists(), started.elapsed())
}

#[test]
fn a_broken_set_up_stops_at_the_preflight_with_one_message() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let refused_url = format!("http://{closed}/v1");
    let cases: Vec<(&str, String, Vec<&str>, Option<&str>)> = vec![
        // `lake` missing: the default command cannot start.
        (
            "`lake` is not installed",
            String::new(),
            vec![],
            Some("/usr/bin:/bin"),
        ),
        (
            "exited at start",
            format!("{} --crash-on-start", env!("CARGO_BIN_EXE_sim-repl")),
            vec![],
            None,
        ),
        (
            "does not speak the REPL protocol",
            "yes".to_owned(),
            vec![],
            None,
        ),
        (
            "is the server running",
            repl_cmd(""),
            vec![
                "--policy",
                "openai",
                "--llm-retries",
                "0",
                "--llm-url",
                &refused_url,
            ],
            None,
        ),
    ];
    for (expected, repl, extra, path) in cases {
        let (output, written, took) = eval_once(&repl, &extra, path);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{expected}: {stderr}");
        assert!(stderr.contains("preflight"), "{expected}: {stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("prover:")).count(),
            1,
            "one message: {stderr}"
        );
        assert!(!written, "{expected}: nothing written");
        assert!(took < Duration::from_secs(20), "{expected}: took {took:?}");
    }
}
