//! The `prover mcp` binary driven over stdio with raw JSON-RPC lines, against sim-repl (a simulated REPL, not Lean): the handshake and tool list, REPLs prewarmed before any call, a proof and a failure with its stop reason, checks of a valid and an invalid proof, sorries filled in a file (written only when unchanged), a long search cancelled both ways, a REPL that crashes at start as an error result, malformed input answered without ending the server, and a clean exit on EOF.

use std::path::Path;
use std::time::Duration;

use prover_tests::harness::{
    SimRepl, count_command, fixture_world, logged_requests, prover_bin, prover_command,
    workspace_root,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// A file of the portfolio world's theorems with a sorry each: two the portfolio proves, one
/// it never does.
const FILE: &str = "import Mathlib\n\ntheorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by sorry\n\ntheorem forall_intro : ∀ n : ℕ, n + 0 = n := by\n  sorry\n\ntheorem unprovable (x : ℕ) : x < x := by sorry\n";

/// A running `prover mcp` and the messages it sent that were not yet asked for.
struct Mcp {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: i64,
    /// Notifications and answers seen while waiting for something else.
    seen: Vec<Value>,
}

impl Mcp {
    /// `prover mcp --repl-cmd REPL --workers 1` plus `extra`, initialized.
    async fn start(repl: &str, extra: &[&str]) -> Mcp {
        Mcp::start_declaring(repl, extra, json!({})).await
    }

    /// [`Mcp::start`] by a client that declares `capabilities`.
    async fn start_declaring(repl: &str, extra: &[&str], capabilities: Value) -> Mcp {
        Mcp::spawn(repl, extra, capabilities, false).await
    }

    /// [`Mcp::start`] by a client that closes the server's stderr at once (an agent that
    /// reads only stdout): every log line the server writes then meets a broken pipe.
    async fn start_with_stderr_closed(repl: &str) -> Mcp {
        Mcp::spawn(repl, &[], json!({}), true).await
    }

    async fn spawn(repl: &str, extra: &[&str], capabilities: Value, close_stderr: bool) -> Mcp {
        let mut command = prover_command();
        command
            .args(["mcp", "--repl-cmd", repl, "--workers", "1"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(if close_stderr {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            });
        let mut child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .expect("prover mcp starts");
        drop(child.stderr.take());
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut mcp = Mcp {
            child,
            stdin,
            stdout,
            next_id: 1,
            seen: Vec::new(),
        };
        let init = mcp
            .request(
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": capabilities,
                       "clientInfo": {"name": "e2e", "version": "1"}}),
            )
            .await;
        assert_eq!(init["result"]["serverInfo"]["name"], "prover", "{init}");
        mcp.notify("notifications/initialized", json!({})).await;
        mcp
    }

    async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    async fn notify(&mut self, method: &str, params: Value) {
        let line = json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string();
        self.send_line(&line).await;
    }

    /// Sends a request; returns its id.
    async fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let line =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        self.send_line(&line).await;
        id
    }

    /// The next message from the server; `None` at the end of its output.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(Duration::from_secs(120), self.stdout.next_line())
            .await
            .expect("the server answers within two minutes")
            .expect("stdout reads")?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
    }

    /// The first message (seen before or next) that `wanted` accepts.
    async fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.seen.iter().position(&wanted) {
            return self.seen.remove(i);
        }
        loop {
            let message = self.next().await.expect("the server is still talking");
            if wanted(&message) {
                return message;
            }
            self.seen.push(message);
        }
    }

    async fn answer(&mut self, id: i64) -> Value {
        self.wait_for(|m| m["id"] == id && m.get("method").is_none())
            .await
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params).await;
        self.answer(id).await
    }

    /// `tools/call`; returns the result (`structuredContent`, `isError`) or the error.
    async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
    }

    /// Closes stdin and waits for the exit code.
    async fn close(mut self) -> Option<i32> {
        drop(self.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the server exits after EOF")
            .unwrap();
        status.code()
    }
}

fn portfolio() -> String {
    SimRepl::world(&fixture_world("eval-portfolio.json")).command_line()
}

fn structured(answer: &Value) -> &Value {
    &answer["result"]["structuredContent"]
}

fn is_error(answer: &Value) -> bool {
    answer["result"]["isError"] == true
}

/// The sorry of `theorem` in `text`, as `line` (from 1) and `column` (characters from 0).
fn sorry_position(text: &str, theorem: &str) -> (usize, usize) {
    let at = text.find(theorem).unwrap();
    let sorry = at + text[at..].find("sorry").unwrap();
    let line = text[..sorry].matches('\n').count() + 1;
    let line_start = text[..sorry].rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..sorry].chars().count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_listed_a_theorem_is_proved_a_failure_says_why_and_proofs_are_checked() {
    let mut mcp = Mcp::start(&portfolio(), &[]).await;
    let list = mcp.request("tools/list", json!({})).await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "prover_prove",
            "prover_fill_sorries",
            "prover_check",
            "prover_try",
            "prover_goal",
            "prover_job",
            "prover_cancel",
            "prover_plan"
        ]
    );
    assert_eq!(
        list["result"]["tools"][0]["inputSchema"]["properties"]["budget"]["$ref"],
        "#/$defs/Budget"
    );

    // A proof, with a progress notification per expansion for the caller's token.
    let id = mcp
        .send(
            "tools/call",
            json!({"name": "prover_prove", "_meta": {"progressToken": "p"},
                   "arguments": {"statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by sorry"}}),
        )
        .await;
    let proved = mcp.answer(id).await;
    let result = structured(&proved);
    assert!(!is_error(&proved), "{proved}");
    assert_eq!(result["status"], "proved", "{proved}");
    assert_eq!(
        result["proof"],
        "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  constructor\n  exact hp\n  exact hq"
    );
    assert_eq!(result["layers"]["elaboration"], "passed");
    assert_eq!(result["layers"]["axioms"], "passed");
    assert_eq!(result["axioms"], json!([]));
    assert!(
        result["lean"]["repl"]
            .as_str()
            .unwrap()
            .contains("sim-repl")
    );
    let progress: Vec<&Value> = mcp
        .seen
        .iter()
        .filter(|m| m["method"] == "notifications/progress" && m["params"]["progressToken"] == "p")
        .collect();
    assert_eq!(
        progress.len() as u64,
        result["statistics"]["expansions"].as_u64().unwrap(),
        "one notification per expansion: {progress:?}"
    );

    // A failure is not an error: it says why the search stopped and where it got to.
    let failed = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem unprovable (x : ℕ) : x < x := by", "budget": {"max_expansions": 5}}),
        )
        .await;
    let result = structured(&failed);
    assert!(!is_error(&failed), "{failed}");
    assert_eq!(result["status"], "failed");
    assert!(result["stop_reason"].is_string(), "{failed}");
    assert!(result.get("proof").is_none());
    assert!(
        result["best_open_goals"][0]["goals"]
            .as_str()
            .unwrap()
            .contains('⊢'),
        "{failed}"
    );
    // Its job is in the table, ended, with the same answer, and is a resource.
    let job = mcp.call("prover_job", json!({"id": result["job"]})).await;
    assert_eq!(structured(&job)["state"], "ended");
    assert_eq!(structured(&job)["answer"]["status"], "failed");
    let uri = format!("prover://jobs/{}", result["job"]);
    let resource = mcp.request("resources/read", json!({"uri": uri})).await;
    let contents = &resource["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "application/json", "{resource}");
    let text: Value = serde_json::from_str(contents["text"].as_str().unwrap()).unwrap();
    assert_eq!(text["answer"]["stop_reason"], result["stop_reason"]);
    let templates = mcp.request("resources/templates/list", json!({})).await;
    assert_eq!(
        templates["result"]["resourceTemplates"][0]["uriTemplate"],
        "prover://jobs/{id}"
    );
    let missing = mcp
        .request("resources/read", json!({"uri": "prover://jobs/999999"}))
        .await;
    assert!(missing["error"]["code"].is_i64(), "{missing}");

    // A budget the settings refuse is an error naming it.
    let refused = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by", "budget": {"max_expansions": 0}}),
        )
        .await;
    assert!(is_error(&refused), "{refused}");
    assert!(
        structured(&refused)["error"]
            .as_str()
            .unwrap()
            .contains("max-expansions"),
        "{refused}"
    );

    // A valid and an invalid proof.
    let statement = "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by";
    let valid = mcp
        .call(
            "prover_check",
            json!({"statement": statement, "proof": "\n  constructor\n  exact hp\n  exact hq"}),
        )
        .await;
    assert!(!is_error(&valid), "{valid}");
    assert_eq!(structured(&valid)["status"], "valid", "{valid}");
    assert_eq!(structured(&valid)["layers"]["no_sorry"], "passed");
    let invalid = mcp
        .call(
            "prover_check",
            json!({"statement": statement, "proof": "\n  norm_num"}),
        )
        .await;
    assert!(!is_error(&invalid), "{invalid}");
    assert_eq!(structured(&invalid)["status"], "invalid", "{invalid}");
    assert!(
        !structured(&invalid)["messages"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{invalid}"
    );
    assert_eq!(mcp.close().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_is_answered_and_the_server_keeps_serving_until_eof() {
    let mut mcp = Mcp::start(&portfolio(), &[]).await;
    mcp.send_line("{not json").await;
    let parse = mcp.wait_for(|m| m["error"]["code"] == -32700).await;
    assert_eq!(parse["id"], Value::Null);
    mcp.send_line("[1, 2").await;
    mcp.wait_for(|m| m["error"]["code"] == -32700).await;

    let unknown_method = mcp.request("prover/nothing", json!({})).await;
    assert_eq!(unknown_method["error"]["code"], -32601, "{unknown_method}");
    let unknown_tool = mcp.call("prover_nothing", json!({})).await;
    assert_eq!(unknown_tool["error"]["code"], -32602, "{unknown_tool}");
    let wrong_type = mcp.call("prover_prove", json!({"statement": 5})).await;
    assert_eq!(wrong_type["error"]["code"], -32602, "{wrong_type}");
    assert!(
        wrong_type["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expected a string")
    );
    let unknown_key = mcp
        .call(
            "prover_check",
            json!({"statment": "theorem t : True := by"}),
        )
        .await;
    assert_eq!(unknown_key["error"]["code"], -32602, "{unknown_key}");
    assert!(
        unknown_key["error"]["message"]
            .as_str()
            .unwrap()
            .contains("statment")
    );
    let no_job = mcp.call("prover_job", json!({"id": 999_999})).await;
    assert!(is_error(&no_job), "{no_job}");
    let neither = mcp.call("prover_prove", json!({})).await;
    assert!(is_error(&neither), "{neither}");

    // The same connection still proves.
    let proved = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by"}),
        )
        .await;
    assert_eq!(structured(&proved)["status"], "proved", "{proved}");
    assert_eq!(mcp.close().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorries_of_a_file_are_proved_in_place_and_written_only_when_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Proofs.lean");
    std::fs::write(&file, FILE).unwrap();
    let mut mcp = Mcp::start(&portfolio(), &[]).await;

    // One sorry by position: the proof laid out for its site, and the edit in file positions.
    let (line, column) = sorry_position(FILE, "and_intro");
    let one = mcp
        .call(
            "prover_prove",
            json!({"file": file, "line": line, "column": column}),
        )
        .await;
    let result = structured(&one);
    assert_eq!(result["status"], "proved", "{one}");
    // A proof of several lines starts on its own line after `by`: the edit replaces the
    // space and the sorry.
    assert_eq!(
        result["edit"]["start"],
        json!({"line": line, "column": column - 1})
    );
    assert_eq!(
        result["edit"]["end"],
        json!({"line": line, "column": column + 5})
    );
    assert_eq!(
        result["edit"]["new_text"],
        "\n  constructor\n  exact hp\n  exact hq"
    );
    assert_eq!(result["sha1"], datasets::hash::sha1_hex(FILE.as_bytes()));
    assert_eq!(result["acceptance"], "in-place recheck");
    let by_name = mcp
        .call(
            "prover_prove",
            json!({"file": file, "theorem": "forall_intro"}),
        )
        .await;
    assert_eq!(structured(&by_name)["status"], "proved", "{by_name}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        FILE,
        "nothing written"
    );

    // Every sorry: two proved, one not; with `write`, the file gets the two edits.
    let filled = mcp
        .call(
            "prover_fill_sorries",
            json!({"file": file, "write": true, "budget": {"max_expansions": 4}}),
        )
        .await;
    let result = structured(&filled);
    assert!(!is_error(&filled), "{filled}");
    assert_eq!(result["sorries"], 3);
    assert_eq!(result["proved"], 2, "{filled}");
    assert_eq!(result["edits"].as_array().unwrap().len(), 2);
    assert_eq!(result["written"]["written"], true, "{filled}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains("p ∧ q := by\n  constructor\n  exact hp\n  exact hq\n"),
        "{written}"
    );
    assert!(
        written.contains("theorem unprovable (x : ℕ) : x < x := by sorry\n"),
        "{written}"
    );
    assert!(!written.contains("n + 0 = n := by\n  sorry"), "{written}");
    assert_eq!(mcp.close().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_during_the_search_is_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Proofs.lean");
    std::fs::write(&file, FILE).unwrap();
    // Each REPL answer slowed, so the search is still running when the file changes.
    let slow = SimRepl::world(&fixture_world("eval-portfolio.json"))
        .latency_ms(20)
        .command_line();
    let mut mcp = Mcp::start(&slow, &[]).await;
    let id = mcp
        .send(
            "tools/call",
            json!({"name": "prover_fill_sorries", "_meta": {"progressToken": 1},
                   "arguments": {"file": file, "theorem": "and_intro", "write": true}}),
        )
        .await;
    mcp.wait_for(|m| m["method"] == "notifications/progress")
        .await;
    std::fs::write(&file, format!("{FILE}\n-- edited\n")).unwrap();
    let answer = mcp.answer(id).await;
    let result = structured(&answer);
    assert_eq!(result["proved"], 1, "{answer}");
    assert_eq!(result["written"]["written"], false, "{answer}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{FILE}\n-- edited\n")
    );
    assert_eq!(mcp.close().await, Some(0));
}

/// Polls `prover_job` until the job ended; returns its answer.
async fn ended(mcp: &mut Mcp, job: &Value) -> Value {
    loop {
        let status = mcp.call("prover_job", json!({"id": job})).await;
        if structured(&status)["state"] == "ended" {
            return structured(&status)["answer"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_search_is_cancelled_by_prover_cancel_and_by_notifications_cancelled() {
    let slow = SimRepl::world(&fixture_world("eval-portfolio.json"))
        .latency_ms(50)
        .command_line();
    let mut mcp = Mcp::start(&slow, &[]).await;
    let statement = "theorem unprovable (x : ℕ) : x < x := by";

    // `wait: false`, then `prover_cancel` by number.
    let started = mcp
        .call(
            "prover_prove",
            json!({"statement": statement, "wait": false}),
        )
        .await;
    let job = structured(&started)["job"].clone();
    assert_eq!(structured(&started)["state"], "running", "{started}");
    let cancel = mcp.call("prover_cancel", json!({"id": job})).await;
    assert_eq!(structured(&cancel)["cancelled"], true, "{cancel}");
    let answer = ended(&mut mcp, &job).await;
    assert_eq!(answer["stop_reason"], "cancelled", "{answer}");
    assert_ne!(answer["status"], "proved");

    // A call in flight, cancelled by the client's notification once it made progress.
    let id = mcp
        .send(
            "tools/call",
            json!({"name": "prover_prove", "_meta": {"progressToken": "c"},
                   "arguments": {"statement": statement}}),
        )
        .await;
    let progress = mcp
        .wait_for(|m| m["method"] == "notifications/progress")
        .await;
    let message = progress["params"]["message"].as_str().unwrap().to_owned();
    let job: u64 = message
        .strip_prefix("job ")
        .and_then(|m| m.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{message}"));
    mcp.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "test"}),
    )
    .await;
    let answer = ended(&mut mcp, &json!(job)).await;
    assert_eq!(answer["stop_reason"], "cancelled", "{answer}");
    assert_eq!(answer["status"], "failed", "{answer}");
    // The job itself stopped: the server proves something else at once on its one REPL.
    let proved = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by"}),
        )
        .await;
    assert_eq!(structured(&proved)["status"], "proved", "{proved}");
    assert_eq!(mcp.close().await, Some(0));
}

/// `prover_prove` of `and_intro` on a server whose REPL crashes at start: an error answer.
async fn prove_on_a_crashing_repl(mcp: &mut Mcp) -> Value {
    let answer = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by"}),
        )
        .await;
    assert!(is_error(&answer), "{answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stderr_changes_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut mcp = Mcp::start_with_stderr_closed(&crashing_repl(dir.path())).await;
    let answer = prove_on_a_crashing_repl(&mut mcp).await;
    let cause = structured(&answer)["error"].as_str().unwrap().to_owned();
    // The cause is the REPL's, not a log line that could not be written.
    assert!(cause.contains("simulated REPL: cannot start"), "{answer}");
    assert_eq!(mcp.close().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repl_that_crashes_at_start_is_an_error_result_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let mut mcp = Mcp::start(&crashing_repl(dir.path()), &[]).await;
    let answer = prove_on_a_crashing_repl(&mut mcp).await;
    let result = structured(&answer);
    assert_eq!(result["status"], "error");
    assert!(!result["error"].as_str().unwrap().is_empty(), "{answer}");
    let check = mcp
        .call(
            "prover_check",
            json!({"statement": "theorem t : True := by", "proof": "trivial"}),
        )
        .await;
    assert!(is_error(&check), "{check}");
    assert_eq!(structured(&check)["status"], "error");
    assert_eq!(mcp.close().await, Some(0));
}

/// How many requests in sim-repl's `--log` file run the command `cmd`: without an env (an
/// import) when `on_env` is false, on an env when it is true.
fn commands_logged(log: &Path, cmd: &str, on_env: bool) -> usize {
    count_command(&logged_requests(log), cmd, on_env)
}

/// `prover mcp` on two simulated REPLs that log their requests, with `extra` flags; no client
/// message is sent.
fn silent_server(log: &Path, extra: &[&str]) -> std::process::Child {
    let repl = SimRepl::world(&fixture_world("eval-portfolio.json"))
        .log(log)
        .command_line();
    prover_command()
        .args(["mcp", "--repl-cmd", &repl, "--workers", "2"])
        .args(["--repl-memory-estimate", "0.05"])
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("prover mcp starts")
}

#[test]
fn prewarm_elaborates_the_header_on_the_searchs_repls_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    // Without it, nothing starts before a call needs a REPL.
    let cold = dir.path().join("cold.jsonl");
    let mut server = silent_server(&cold, &[]);
    drop(server.stdin.take());
    assert!(server.wait().unwrap().success());
    assert_eq!(commands_logged(&cold, "import Mathlib\n", false), 0);
    // With it, both REPLs (one search's, the pool's size) elaborate the default header while
    // no client has said anything; a header with lines after its imports runs them as a
    // command on the imports' env.
    let settings = dir.path().join("prover.toml");
    std::fs::write(&settings, "[repl]\nprewarm = true\n").unwrap();
    for (name, extra, header, after_imports) in [
        ("default", vec!["--prewarm"], "import Mathlib\n", None),
        // `[repl] prewarm` in the settings file, as the flag.
        (
            "settings",
            vec!["--config", "SETTINGS"],
            "import Mathlib\n",
            None,
        ),
        (
            "file",
            vec!["--prewarm-header", "HEADER"],
            "import Mathlib\nopen Nat\n",
            Some("open Nat\n"),
        ),
    ] {
        let header_file = dir.path().join(format!("{name}.lean"));
        std::fs::write(&header_file, header).unwrap();
        let extra: Vec<&str> = extra
            .iter()
            .map(|arg| match *arg {
                "HEADER" => header_file.to_str().unwrap(),
                "SETTINGS" => settings.to_str().unwrap(),
                other => other,
            })
            .collect();
        let log = dir.path().join(format!("{name}.jsonl"));
        let mut server = silent_server(&log, &extra);
        let last = after_imports.map_or((header, false), |rest| (rest, true));
        let waited = std::time::Instant::now();
        while commands_logged(&log, last.0, last.1) < 2
            && waited.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(server.stdin.take());
        let output = server.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert_eq!(
            commands_logged(&log, "import Mathlib\n", false),
            2,
            "{name}: each REPL imports once, before any call: {stderr}"
        );
        assert_eq!(
            commands_logged(&log, last.0, last.1),
            2,
            "{name}: each REPL elaborates the header once, before any call: {stderr}"
        );
    }
    // A header file that cannot be read is named, and nothing starts.
    let missing = dir.path().join("missing.lean");
    let output = prover_command()
        .args(["mcp", "--repl-cmd", "false", "--prewarm-header"])
        .arg(&missing)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--prewarm-header") && stderr.contains("missing.lean"),
        "{stderr}"
    );
}

#[test]
fn http_off_loopback_without_a_token_is_refused() {
    let output = prover_command()
        .args(["mcp", "--http", "0.0.0.0:0", "--repl-cmd", "true"])
        .env_remove("PROVER_MCP_TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}

/// The HTTP server's address, from its first stderr line.
fn http_server(token: Option<&str>, repl: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut command = prover_command();
    command
        .args(["mcp", "--http", "127.0.0.1:0", "--repl-cmd", repl])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    match token {
        Some(token) => command.env("PROVER_MCP_TOKEN", token),
        None => command.env_remove("PROVER_MCP_TOKEN"),
    };
    let mut child = command.spawn().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    // Drained for the server's life: a closed pipe would fail the server's later writes to
    // stderr, and that failure, not the REPL's, would become the cause a client is told.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, url)
}

/// One HTTP/1.1 POST of `body` to `url`; the status code.
fn post_status(url: &str, body: &str, token: Option<&str>) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

#[test]
fn http_asks_for_the_bearer_token_when_one_is_set() {
    let (mut child, url) = http_server(Some("s3cret"), &portfolio());
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "e2e", "version": "1"}}})
    .to_string();
    assert_eq!(post_status(&url, &initialize, None), 401);
    assert_eq!(post_status(&url, &initialize, Some("wrong!")), 401);
    assert_eq!(post_status(&url, &initialize, Some("s3cret")), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Whether python3 imports the MCP Python SDK; prints a `skipped:` line for `test` where it
/// does not (`pip install mcp`).
fn python_sdk_or_skip(test: &str) -> bool {
    let imported = std::process::Command::new("python3")
        .args(["-c", "import mcp"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !imported {
        eprintln!("skipped: python3 cannot import the MCP Python SDK (pip install mcp): {test}");
    }
    imported
}

/// Runs `tests/tools/mcp_sdk_client.py` with `args`, its children's cache in `scratch`, and
/// requires it to succeed.
fn python_sdk_client(args: &[&str], scratch: &Path) -> std::process::Output {
    let script = workspace_root().join("tests/tools/mcp_sdk_client.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .env("XDG_CACHE_HOME", scratch.join("cache"))
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "the MCP Python SDK client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A REPL command that dies at once, saying why on stderr.
fn crashing_repl(dir: &Path) -> String {
    let script = dir.join("crash.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'simulated REPL: cannot start' >&2\nexit 3\n",
    )
    .unwrap();
    format!("sh {}", script.display())
}

#[test]
fn the_official_python_sdk_client_uses_every_tool_over_stdio() {
    if !python_sdk_or_skip("the_official_python_sdk_client_uses_every_tool_over_stdio") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let slow = SimRepl::world(&fixture_world("eval-portfolio.json"))
        .latency_ms(50)
        .command_line();
    let output = python_sdk_client(
        &[
            "stdio",
            prover_bin().to_str().unwrap(),
            &slow,
            &crashing_repl(dir.path()),
            dir.path().to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&output.stdout).ends_with("ok\n"));
}

#[test]
fn the_official_python_sdk_client_shares_one_http_server_between_two_clients() {
    if !python_sdk_or_skip(
        "the_official_python_sdk_client_shares_one_http_server_between_two_clients",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repl_log = dir.path().join("repl.log");
    let slow = SimRepl::world(&fixture_world("eval-portfolio.json"))
        .latency_ms(50)
        .log(&repl_log)
        .command_line();
    let (mut child, url) = http_server(Some("agents-token"), &slow);
    let (mut crashing, crash_url) = http_server(Some("agents-token"), &crashing_repl(dir.path()));
    let output = std::panic::catch_unwind(|| {
        python_sdk_client(
            &[
                "http",
                &url,
                "agents-token",
                dir.path().to_str().unwrap(),
                repl_log.to_str().unwrap(),
                &crash_url,
            ],
            dir.path(),
        )
    });
    for server in [&mut child, &mut crashing] {
        server.kill().unwrap();
        server.wait().unwrap();
    }
    let stdout = String::from_utf8_lossy(&output.unwrap().stdout).into_owned();
    assert!(stdout.contains("from the shared cache"), "{stdout}");
    assert!(stdout.contains("crash at start over HTTP"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_session_is_replayed_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    let mut mcp = Mcp::start(&portfolio(), &["--trace-file", trace.to_str().unwrap()]).await;
    mcp.send_line("{not json").await;
    let proved = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by"}),
        )
        .await;
    assert_eq!(structured(&proved)["status"], "proved", "{proved}");
    assert_eq!(mcp.close().await, Some(0));
    let rows: Vec<Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        rows.iter()
            .any(|r| r["dir"] == "in" && r["message"] == "{not json")
    );
    assert!(
        rows.iter()
            .any(|r| r["dir"] == "out" && r["message"]["id"] == proved["id"])
    );

    let replayed = prover_command()
        .args(["mcp", "--repl-cmd", &portfolio(), "--replay"])
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(replayed.status.code(), Some(0));
    let answers: Vec<Value> = String::from_utf8_lossy(&replayed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(answers.iter().any(|a| a["error"]["code"] == -32700));
    let again = answers
        .iter()
        .find(|a| a["id"] == proved["id"])
        .expect("the recorded call is answered again");
    assert_eq!(structured(again)["proof"], structured(&proved)["proof"]);

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"dir\": \"sideways\"}\n").unwrap();
    let refused = prover_command()
        .args(["mcp", "--repl-cmd", &portfolio(), "--replay"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("bad.jsonl:1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tactics_are_tried_on_a_state_through_the_cache_and_goals_are_structured() {
    let mut mcp = Mcp::start(&portfolio(), &[]).await;
    let statement = "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by";
    let goal = mcp
        .call("prover_goal", json!({"statement": statement}))
        .await;
    assert!(!is_error(&goal), "{goal}");
    let first = &structured(&goal)["goals"][0];
    assert_eq!(first["target"], "p ∧ q", "{goal}");
    assert_eq!(
        first["hypotheses"],
        json!([{"names": ["p", "q"], "type": "Prop"}, {"names": ["hp"], "type": "p"}, {"names": ["hq"], "type": "q"}])
    );

    let tactics = json!(["constructor", "norm_num", "assumption"]);
    let tried = mcp
        .call(
            "prover_try",
            json!({"statement": statement, "tactics": tactics}),
        )
        .await;
    assert!(!is_error(&tried), "{tried}");
    let results = structured(&tried)["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["status"], "open");
    assert_eq!(results[0]["goals"][0]["case"], "left");
    assert_eq!(results[0]["goals"][1]["target"], "q");
    assert_eq!(results[1]["status"], "error");
    assert!(
        results[1]["message"]
            .as_str()
            .unwrap()
            .contains("simp made no progress")
    );
    assert_eq!(results[2]["status"], "error", "{tried}");

    // The same state and tactics again: every answer from the cache, none sent to Lean.
    let again = mcp
        .call(
            "prover_try",
            json!({"statement": statement, "tactics": tactics}),
        )
        .await;
    assert_eq!(structured(&again)["results"], json!(results));
    assert_eq!(structured(&again)["lean_calls"], 0, "{again}");

    let none = mcp
        .call("prover_try", json!({"statement": statement, "tactics": []}))
        .await;
    assert!(is_error(&none), "{none}");
    assert_eq!(mcp.close().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_search_cancels_its_jobs_and_the_server_exits() {
    let slow = SimRepl::world(&fixture_world("eval-portfolio.json"))
        .latency_ms(200)
        .command_line();
    let mut mcp = Mcp::start(&slow, &[]).await;
    let id = mcp
        .send(
            "tools/call",
            json!({"name": "prover_prove", "_meta": {"progressToken": "leave"},
                   "arguments": {"statement": "theorem unprovable (x : ℕ) : x < x := by"}}),
        )
        .await;
    mcp.wait_for(|m| m["method"] == "notifications/progress")
        .await;
    drop(mcp.stdin.take());
    // The call in flight is still answered, cancelled, before the server exits.
    let answer = mcp.answer(id).await;
    assert_eq!(structured(&answer)["stop_reason"], "cancelled", "{answer}");
    assert_eq!(mcp.close().await, Some(0));
}

#[test]
fn the_official_python_sdk_client_proves_a_theorem_of_a_generated_world() {
    if !python_sdk_or_skip("the_official_python_sdk_client_proves_a_theorem_of_a_generated_world") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = prover_tests::harness::write_generated_world(
        &prover_tests::worldgen::WorldSpec {
            theorems: 6,
            depth: 3,
            branching: 3,
            unprovable_rate: 0.3,
            seed: 23,
            tactic_vocabulary: 5,
            ..Default::default()
        },
        dir.path(),
    );
    let rows = prover_tests::harness::read_jsonl(&files.dataset);
    let row = rows
        .iter()
        .find(|row| files.provable[row["name"].as_str().unwrap()])
        .expect("the generated world has a provable theorem");
    let server = prover_tests::harness::vocabulary_server(5, dir.path());
    let url = format!("http://{}/v1", server.addr());
    let repl = SimRepl::world(&files.world).command_line();
    let args = json!([
        "--repl-cmd",
        repl,
        "--workers",
        "1",
        "--policy",
        "openai",
        "--samples",
        "8",
        "--llm-url",
        url,
        "--width",
        "8",
        "--max-expansions",
        "1000"
    ]);
    let output = python_sdk_client(
        &[
            "prove",
            prover_bin().to_str().unwrap(),
            &args.to_string(),
            row["header"].as_str().unwrap(),
            row["formal_statement"].as_str().unwrap(),
        ],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("proved {}", row["name"].as_str().unwrap())),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_against_a_reference_dataset_applies_its_statement_rule() {
    let dir = tempfile::tempdir().unwrap();
    let statement = "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by";
    let reference = dir.path().join("reference.jsonl");
    let rows = [
        json!({"name": "and_intro", "header": "import Mathlib\n", "formal_statement": statement}),
        json!({"name": "renamed", "header": "import Mathlib\n", "formal_statement": statement}),
    ];
    let text: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(&reference, text.join("\n") + "\n").unwrap();
    let mut mcp = Mcp::start(&portfolio(), &[]).await;
    let proof = "\n  constructor\n  exact hp\n  exact hq";

    // The reference's statement: checked in Lean, on the reference's header.
    let valid = mcp
        .call(
            "prover_check",
            json!({"statement": statement, "proof": proof, "reference": reference}),
        )
        .await;
    assert!(!is_error(&valid), "{valid}");
    assert_eq!(structured(&valid)["status"], "valid", "{valid}");
    assert_eq!(
        structured(&valid)["layers"]["statement"],
        "passed",
        "{valid}"
    );
    assert_eq!(structured(&valid)["layers"]["header"], "passed", "{valid}");

    // The same statement under another row's name, given by `name`.
    let named = mcp
        .call(
            "prover_check",
            json!({"statement": statement, "proof": proof, "reference": reference, "name": "renamed"}),
        )
        .await;
    assert_eq!(structured(&named)["status"], "valid", "{named}");
    assert_eq!(structured(&named)["name"], "renamed", "{named}");

    // A weakened statement is invalid however good its proof, without reaching Lean.
    let weakened = mcp
        .call(
            "prover_check",
            json!({"statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p := by",
                   "proof": "\n  exact hp", "reference": reference}),
        )
        .await;
    assert!(!is_error(&weakened), "{weakened}");
    assert_eq!(structured(&weakened)["status"], "invalid", "{weakened}");
    assert!(
        structured(&weakened)["reasons"][0]
            .as_str()
            .unwrap()
            .contains("differs from the reference"),
        "{weakened}"
    );

    // A theorem the reference does not name is invalid too.
    let unknown = mcp
        .call(
            "prover_check",
            json!({"statement": statement, "proof": proof, "reference": reference, "name": "absent"}),
        )
        .await;
    assert_eq!(structured(&unknown)["status"], "invalid", "{unknown}");
    assert!(
        structured(&unknown)["reasons"][0]
            .as_str()
            .unwrap()
            .contains("not in the reference dataset"),
        "{unknown}"
    );

    // A reference that cannot be read is an error naming it.
    let missing = dir.path().join("missing.jsonl");
    let unread = mcp
        .call(
            "prover_check",
            json!({"statement": statement, "proof": proof, "reference": missing}),
        )
        .await;
    assert!(is_error(&unread), "{unread}");
    assert!(
        structured(&unread)["error"]
            .as_str()
            .unwrap()
            .contains("missing.jsonl"),
        "{unread}"
    );
    assert_eq!(mcp.close().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_search_has_its_trace_and_tree_as_resources() {
    let mut mcp = Mcp::start(&portfolio(), &[]).await;
    let templates = mcp.request("resources/templates/list", json!({})).await;
    let uris: Vec<&str> = templates["result"]["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "prover://jobs/{id}",
            "prover://jobs/{id}/trace",
            "prover://jobs/{id}/tree"
        ]
    );
    let proved = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by"}),
        )
        .await;
    assert_eq!(structured(&proved)["status"], "proved", "{proved}");
    let job = structured(&proved)["job"].clone();

    // The trace: every edge tried, the proof's steps marked, as `prove --trace` writes them.
    let read = |what: &str| json!({"uri": format!("prover://jobs/{job}/{what}")});
    let trace = mcp.request("resources/read", read("trace")).await;
    let contents = &trace["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "application/jsonl", "{trace}");
    let rows: Vec<Value> = contents["text"]
        .as_str()
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let steps: Vec<&str> = rows
        .iter()
        .filter(|r| r["on_proof"] == true)
        .map(|r| r["tactic"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["constructor", "exact hp", "exact hq"], "{rows:#?}");
    assert!(rows.iter().all(|r| r["name"] == "and_intro"));
    assert!(
        rows.len() > steps.len(),
        "the refused tactics too: {rows:#?}"
    );

    // The tree, as `prover tree` draws it: one HTML page naming the proof's tactics.
    let tree = mcp.request("resources/read", read("tree")).await;
    let contents = &tree["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "text/html", "{tree}");
    let html = contents["text"].as_str().unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("exact hp"), "{html}");

    // A check runs no search: it has no trace, and says so.
    let statement = "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by";
    let checked = mcp
        .call(
            "prover_check",
            json!({"statement": statement, "proof": "\n  exact ⟨hp, hq⟩"}),
        )
        .await;
    let job = structured(&checked)["job"].clone();
    let none = mcp
        .request(
            "resources/read",
            json!({"uri": format!("prover://jobs/{job}/tree")}),
        )
        .await;
    assert!(
        none["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no trace"),
        "{none}"
    );
    assert_eq!(mcp.close().await, Some(0));
}

/// `prover_plan` against sim-openai's planning script (a simulated model server, not a model)
/// on sim-repl's planner world: three bad skeletons first, the good one for the replan that
/// names the refuted lemma's goal (as `tests/e2e/planner.rs` drives `eval --planner openai`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_theorem_only_a_skeleton_proves_is_planned_through_prover_plan() {
    use prover_tests::openai_sim::{self, Options, Script};
    const STATEMENT: &str = "theorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by";
    let block = |body: &str| json!({"text": format!("```lean\n{body}\n```")});
    let script: Script = serde_json::from_value(json!({
        "responses": {
            format!("{STATEMENT} sorry"): [
                block("theorem two_steps (x : ℕ) (h : 1 ≤ x) : x ^ 2 ≥ 2 * x := by\n  sorry"),
                block(&format!("{STATEMENT}\n  have h₁ : x = 7 := by sorry\n  exact h₁ ▸ h")),
                block(&format!("{STATEMENT}\n  have h₁ : x ^ 2 = 2 * x := by sorry\n  exact h₁ ▸ le_refl _")),
            ],
            "its goal:\nx : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = 2 * x\nKeep the closed holes; split or restate the open ones.": [
                block(&format!("{STATEMENT}\n  have h₁ : x ^ 2 = x * x := by sorry\n  have h₂ : x * x ≥ 2 * x := by sorry\n  exact h₁ ▸ h₂")),
            ],
        },
        "default": [],
    }))
    .unwrap();
    let server = openai_sim::serve(script, Options::default()).unwrap();
    let repl = SimRepl::world(&fixture_world("planner.json")).command_line();
    let url = server.base_url();
    let mut mcp = Mcp::start(&repl, &["--planner-url", &url, "--max-expansions", "40"]).await;
    let header = prover_tests::harness::MINIF2F_HEADER;
    let planned = mcp
        .call(
            "prover_plan",
            json!({"statement": STATEMENT, "header": header, "samples": 3}),
        )
        .await;
    let result = structured(&planned);
    assert!(!is_error(&planned), "{planned}");
    assert_eq!(result["status"], "proved", "{planned}");
    assert_eq!(result["outcome"], "plan", "{planned}");
    assert_eq!(result["planner_calls"], 2, "{planned}");
    let labels: Vec<&str> = result["skeletons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["refused", "refused", "refuted", "closed_all"]);
    assert_eq!(result["holes_closed"], 2, "{planned}");
    let proof = result["proof"].as_str().unwrap();
    assert!(proof.starts_with(STATEMENT), "{proof}");
    assert!(!proof.contains("sorry"), "{proof}");
    assert_eq!(result["layers"]["no_sorry"], "passed", "{planned}");
    assert_eq!(result["acceptance"], "prover check");

    // The checked proof passes `prover_check` too.
    let checked = mcp
        .call(
            "prover_check",
            json!({"statement": STATEMENT, "header": header, "proof": result["script"]}),
        )
        .await;
    assert_eq!(structured(&checked)["status"], "valid", "{checked}");

    // A theorem the direct search proves asks the planner nothing.
    let direct = mcp
        .call(
            "prover_plan",
            json!({"statement": "theorem direct (x : ℕ) : x + 0 = x := by", "header": header}),
        )
        .await;
    assert_eq!(structured(&direct)["status"], "proved", "{direct}");
    assert_eq!(structured(&direct)["outcome"], "direct", "{direct}");
    assert_eq!(structured(&direct)["planner_calls"], 0, "{direct}");

    // A planner setting out of range is an error naming it.
    let refused = mcp
        .call(
            "prover_plan",
            json!({"statement": STATEMENT, "header": header, "samples": 0}),
        )
        .await;
    assert!(is_error(&refused), "{refused}");
    assert!(
        structured(&refused)["error"]
            .as_str()
            .unwrap()
            .contains("--planner-samples"),
        "{refused}"
    );
    assert_eq!(mcp.close().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_declares_mcp_tasks_gets_a_search_as_a_task_it_polls() {
    let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let slow = SimRepl::world(&fixture_world("eval-portfolio.json"))
        .latency_ms(50)
        .command_line();
    let mut mcp = Mcp::start_declaring(&slow, &[], tasks).await;
    let init_caps = mcp.request("tools/list", json!({})).await;
    assert!(init_caps["result"]["tools"].is_array());
    let created = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by"}),
        )
        .await;
    let task = &created["result"];
    assert_eq!(task["resultType"], "task", "{created}");
    assert_eq!(task["status"], "working", "{created}");
    let id = task["taskId"].as_str().unwrap().to_owned();
    // Polled until it completes: the result is the tool's, as `tools/call` would have given it.
    let done = loop {
        let polled = mcp.request("tasks/get", json!({"taskId": id})).await;
        assert!(polled["error"].is_null(), "{polled}");
        if polled["result"]["status"] == "completed" {
            break polled;
        }
        assert_eq!(polled["result"]["status"], "working", "{polled}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let result = &done["result"]["result"];
    assert_eq!(result["structuredContent"]["status"], "proved", "{done}");
    assert_eq!(result["isError"], false, "{done}");
    assert!(done["result"]["createdAt"].as_str().unwrap().ends_with('Z'));

    // A search asked to wait answers in the call, and an unknown task is an error.
    let waited = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by", "wait": true}),
        )
        .await;
    assert_eq!(structured(&waited)["status"], "proved", "{waited}");
    let unknown = mcp.request("tasks/get", json!({"taskId": "999999"})).await;
    assert!(unknown["error"]["code"].is_i64(), "{unknown}");

    // A long search cancelled through `tasks/cancel` ends cancelled.
    let long = mcp
        .call(
            "prover_prove",
            json!({"statement": "theorem unprovable (x : ℕ) : x < x := by"}),
        )
        .await;
    let id = long["result"]["taskId"].as_str().unwrap().to_owned();
    let cancelled = mcp.request("tasks/cancel", json!({"taskId": id})).await;
    assert!(cancelled["error"].is_null(), "{cancelled}");
    let ended = loop {
        let polled = mcp.request("tasks/get", json!({"taskId": id})).await;
        if polled["result"]["status"] == "completed" {
            break polled;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let answer = &ended["result"]["result"]["structuredContent"];
    assert_eq!(answer["stop_reason"], "cancelled", "{ended}");
    assert_eq!(answer["status"], "failed", "{ended}");
    assert_eq!(mcp.close().await, Some(0));
}
