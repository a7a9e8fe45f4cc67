//! Output safety and input robustness (issue 8), with the simulated REPL (sim-repl, not Lean): `--out` never destroys a file, a second writer is refused, `check` resumes, and bad lines fail alone.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use prover_tests::harness::{ProverRun, SimRepl, workspace_root};
use serde_json::{Value, json};

const HEADER: &str = prover_tests::harness::MINIF2F_HEADER;

fn world() -> PathBuf {
    workspace_root().join("tests/fixtures/worlds/check-mixed.json")
}

fn repl_cmd(extra: &str) -> String {
    extra
        .split_whitespace()
        .fold(SimRepl::world(&world()), SimRepl::arg)
        .command_line()
}

fn proof_row(name: &str) -> String {
    json!({"name": name, "header": HEADER,
           "formal_statement": "theorem add_valid (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by",
           "proof": "\n  subst h₀ h₁\n  norm_num"})
    .to_string()
}

fn check(input: &Path, out: &Path, extra: &[&str]) -> Output {
    ProverRun::new("check")
        .path("--input", input)
        .path("--out", out)
        .repl(&SimRepl::world(&world()))
        .args(extra)
        .output()
}

fn eval(dataset: &Path, out: &Path, repl: &str) -> std::process::Command {
    ProverRun::new("eval")
        .args(["--no-cache"])
        .path("--dataset", dataset)
        .path("--out", out)
        .repl_cmd(repl)
        .into_command()
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
        stderr
            .contains("is a dataset of theorems (this run writes a results file of `prover eval`)"),
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
    // The run's manifest is beside it, and another rule setting may not resume into it.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("results.jsonl.manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["kind"], "check");
    assert_eq!(manifest["counts"]["valid"], 3);
    assert_eq!(manifest["runs"], 2);
    let other = check(&input, &out, &["--trust-header"]);
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("trust_header: false → true"), "{stderr}");
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
        command = ProverRun::new("eval")
            .args(["--no-cache"])
            .path("--dataset", &dataset)
            .path("--out", &out)
            .path("--project", dir.path())
            .into_command();
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
            SimRepl::accept_all().arg("--crash-on-start").command_line(),
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

/// The numeric flags of `eval` (and the shared REPL and search flags).
const NUMERIC_FLAGS: &[&str] = &[
    "--workers",
    "--concurrency",
    "--width",
    "--alpha",
    "--max-expansions",
    "--time-limit",
    "--tactic-timeout",
    "--samples",
    "--temperature",
    "--llm-retries",
    "--llm-timeout",
    "--llm-breaker",
    "--llm-outage-limit",
    "--llm-concurrency",
    "--seed",
    "--repl-memory-limit",
    "--repl-max-rss",
    "--repl-max-requests",
    "--repl-memory-estimate",
    "--repl-spares",
];

fn flag_value() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "1",
            "1e30",
            "-1e30",
            "1e308",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "0.0",
            "1e-300",
            "18446744073709551616",
            "4294967296",
            "99999999999",
            "",
            "abc",
            "1.5",
            " 3",
        ])
        .prop_map(str::to_owned),
        any::<f64>().prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 48,
        max_shrink_iters: 0,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Whatever value a numeric flag gets, `prover eval` answers with a message and an exit
    /// code, never a panic.
    #[test]
    fn no_numeric_flag_value_makes_prover_panic(
        flag in proptest::sample::select(NUMERIC_FLAGS.to_vec()),
        value in flag_value(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let dataset = dir.path().join("dataset.jsonl");
        let row = json!({"name": "t", "header": HEADER, "formal_statement": "theorem t : True := by"});
        std::fs::write(&dataset, format!("{row}\n")).unwrap();
        let output = ProverRun::new("eval")
            .args(["--no-cache", "--policy", "openai", "--llm-url", "http://127.0.0.1:9/v1"])
            .path("--dataset", &dataset)
            .path("--out", &dir.path().join("out.jsonl"))
            .repl_cmd("false")
            .args([format!("{flag}={value}")])
            .output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        proptest::prop_assert!(!stderr.contains("panicked"), "{flag}={value}: {stderr}");
        proptest::prop_assert!(
            matches!(output.status.code(), Some(0..=2)),
            "{flag}={value}: {:?} {stderr}",
            output.status
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly_and_logs_to_a_pipe_carry_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("proofs.jsonl");
    let rows: Vec<String> = (0..6).map(|i| proof_row(&format!("row{i}"))).collect();
    std::fs::write(&input, rows.join("\n")).unwrap();
    // `check` writes its results to stdout and its progress to stderr, both into `head -1`,
    // which exits after one line; nothing may panic on the closed pipe.
    let script = format!(
        "XDG_CACHE_HOME={cache} {prover} check --input {input} --repl-cmd '{repl}' 2>&1 | head -1; \
         echo \"status=${{PIPESTATUS[0]}}\"",
        cache = dir.path().join("cache").display(),
        prover = prover_tests::harness::prover_bin().display(),
        input = input.display(),
        repl = repl_cmd(""),
    );
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("panicked"), "{text}");
    let status = text
        .lines()
        .find_map(|l| l.strip_prefix("status="))
        .unwrap_or_else(|| panic!("no status in {text}"));
    assert!(
        ["0", "1"].contains(&status),
        "prover ended with {status}: {text}"
    );

    // A warning logged into a pipe (not a terminal) is plain text.
    let one = dir.path().join("one.jsonl");
    std::fs::write(&one, proof_row("slow")).unwrap();
    let out = dir.path().join("results.jsonl");
    let logged = ProverRun::new("check")
        .path("--input", &one)
        .path("--out", &out)
        .args(["--timeout", "1", "--retries", "0"])
        .repl(&SimRepl::world(&world()).latency_ms(1200))
        .output();
    let stderr = String::from_utf8_lossy(&logged.stderr);
    assert!(
        stderr.contains("WARN"),
        "a timeout is warned about: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes: {stderr:?}");
}
