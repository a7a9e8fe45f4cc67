//! The `prover lsp` binary as a sloppy or hostile editor meets it, over sim-repl (a simulated REPL, not Lean): each malformed frame answered and the same connection proving a sorry after them, the frame-size cap without the process growing, out-of-range and stale changes, `didClose` cancelling, the exit codes, and editor settings laid over the command line.

use prover_tests::harness::{SimRepl, fixture_world, prover_command};
use prover_tests::lsp_client::Client;
use serde_json::{Value, json};
use tokio::process::{Child, ChildStdin, ChildStdout};

const URI: &str = "file:///tmp/Proofs.lean";

/// A file with a theorem the portfolio proves in the fixture world and one it never does.
const TEXT: &str = "import Mathlib\n\ntheorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by sorry\n\ntheorem unprovable (x : ℕ) : x < x := by sorry\n";

/// A running `prover lsp` and the test client on its stdio.
struct Lsp {
    child: Child,
    client: Client<ChildStdout, ChildStdin>,
}

/// Starts `prover lsp --repl-cmd <sim> --workers 1 --no-cache`, initializes it with `options`
/// as `initializationOptions` (a client with progress and versioned edits), and opens [`TEXT`].
async fn started(sim: &SimRepl, options: Value) -> Lsp {
    let mut command = prover_command();
    command
        .args(["lsp", "--repl-cmd", &sim.command_line()])
        .args(["--workers", "1", "--no-cache"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()
        .expect("prover lsp starts");
    let (stdout, stdin) = (child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let mut client = Client::new(stdout, stdin, TEXT);
    let init = client
        .request(
            "initialize",
            json!({"capabilities": {
                "window": {"workDoneProgress": true},
                "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}}},
                "initializationOptions": options}),
        )
        .await;
    assert!(init.get("result").is_some(), "{init}");
    client.notify("initialized", json!({})).await;
    Lsp { child, client }
}

impl Lsp {
    async fn open(&mut self) {
        self.client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": URI, "languageId": "lean", "version": 1, "text": TEXT}}),
            )
            .await;
    }

    /// The next error answer, whatever else the server says first.
    async fn next_error(&mut self) -> Value {
        loop {
            let message = self.client.recv().await;
            if message.get("error").is_some() {
                return message;
            }
            self.client.handle(message).await;
        }
    }

    /// The range of the `sorry` of `theorem`, in the client's copy.
    fn sorry_of(&self, theorem: &str) -> Value {
        let text = &self.client.text;
        let at = text.find(theorem).unwrap();
        let offset = at + text[at..].find("sorry").unwrap();
        let line = text[..offset].matches('\n').count();
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let character: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
        json!({"start": {"line": line, "character": character},
               "end": {"line": line, "character": character + 5}})
    }

    async fn code_actions(&mut self, theorem: &str) -> Value {
        let range = self.sorry_of(theorem);
        self.client
            .request(
                "textDocument/codeAction",
                json!({"textDocument": {"uri": URI}, "range": range, "context": {"diagnostics": []}}),
            )
            .await
    }

    async fn prove(&mut self, theorem: &str) -> Value {
        let range = self.sorry_of(theorem);
        let version = self.client.version;
        self.client
            .request(
                "workspace/executeCommand",
                json!({"command": "prover.proveSorry",
                       "arguments": [{"uri": URI, "version": version, "range": range}]}),
            )
            .await
    }

    async fn change(&mut self, version: i64, change: Value) {
        self.client
            .notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [change]}),
            )
            .await;
    }

    async fn warning(&mut self) -> String {
        let message = self
            .client
            .wait_for(|m| m["method"] == "window/showMessage" && m["params"]["type"] == 2)
            .await;
        message["params"]["message"].as_str().unwrap().to_owned()
    }

    /// `shutdown` (when asked), `exit`, and the exit code.
    async fn exit(mut self, shutdown: bool) -> Option<i32> {
        if shutdown {
            let answer = self.client.request("shutdown", Value::Null).await;
            assert_eq!(answer["result"], Value::Null, "{answer}");
        }
        self.client.notify("exit", Value::Null).await;
        self.child.wait().await.unwrap().code()
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    [
        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
        body,
    ]
    .concat()
}

/// The most memory the process has held, in bytes (`VmHWM`).
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_frame_is_answered_and_the_same_connection_proves_a_sorry() {
    let sim = SimRepl::world(&fixture_world("eval-portfolio.json"));
    // Options `{}` keep the command line's --repl-cmd (they once replaced every flag).
    let mut lsp = started(&sim, json!({})).await;
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":"deep","method":"textDocument/codeAction","params":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    for (bad, id, code) in [
        // A Content-Length that is no number: the body cannot be found, so it is skipped up to
        // the next frame's header.
        (
            b"Content-Length: abc\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"shutdown\"}"
                .to_vec(),
            Value::Null,
            -32700,
        ),
        (
            b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}".to_vec(),
            Value::Null,
            -32700,
        ),
        (frame(b"{\"jsonrpc\": "), Value::Null, -32700),
        (
            frame(b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"\xff\xfe\"}"),
            Value::Null,
            -32700,
        ),
        (frame(deep.as_bytes()), json!("deep"), -32600),
        (frame(b"[1, 2, 3]"), Value::Null, -32600),
    ] {
        lsp.client.send_raw(&bad).await;
        let error = lsp.next_error().await;
        assert_eq!(
            (&error["id"], &error["error"]["code"]),
            (&id, &json!(code)),
            "{} → {error}",
            String::from_utf8_lossy(&bad)
        );
    }
    // Over the 64 MiB cap: refused from the header alone, then skipped as it streams by, never
    // held (the process stays far below the frame's size).
    let size = 70_000_000;
    lsp.client
        .send_raw(format!("Content-Length: {size}\r\n\r\n").as_bytes())
        .await;
    let error = lsp.next_error().await;
    assert_eq!(error["error"]["code"], -32600, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("67108864"),
        "{error}"
    );
    let chunk = vec![b' '; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        lsp.client.send_raw(&chunk[..n]).await;
        left -= n;
    }
    // The same connection proves a sorry.
    lsp.open().await;
    let answer = lsp.prove("and_intro").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    let edit = lsp
        .client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    assert!(
        lsp.client.text.contains("p ∧ q := by\n  constructor"),
        "{edit}\n{}",
        lsp.client.text
    );
    let peak = peak_memory(lsp.child.id().unwrap());
    assert!(
        peak < size as u64,
        "the skipped frame was held: peak {peak} bytes"
    );
    assert_eq!(lsp.exit(true).await, Some(0), "shutdown, then exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_without_shutdown_exits_1() {
    let sim = SimRepl::world(&fixture_world("eval-portfolio.json"));
    let lsp = started(&sim, Value::Null).await;
    assert_eq!(lsp.exit(false).await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_range_or_stale_change_leaves_the_document_out_of_sync_until_its_whole_text() {
    let sim = SimRepl::world(&fixture_world("eval-portfolio.json"));
    let mut lsp = started(&sim, json!({})).await;
    lsp.open().await;
    assert_eq!(
        lsp.code_actions("and_intro").await["result"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let at = |line: i64| json!({"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}});
    let mut version = 1;
    for (change, said) in [
        // Past the end of the 5-line text.
        (json!({"range": at(99), "text": "x"}), "outside its"),
        (
            json!({"range": at(4_294_967_295), "text": "x"}),
            "outside its",
        ),
        // A line −1 does not even read as a change.
        (json!({"range": at(-1), "text": "x"}), "do not read"),
    ] {
        version += 1;
        lsp.change(version, change.clone()).await;
        let warning = lsp.warning().await;
        assert!(
            warning.contains("out of sync") && warning.contains(said),
            "{change} → {warning}"
        );
        // Nothing is offered or proved on the document until its whole text comes.
        assert_eq!(
            lsp.code_actions("and_intro").await["result"],
            Value::Null,
            "{change}"
        );
        let refused = lsp.prove("and_intro").await;
        assert_eq!(refused["error"]["code"], -32801, "{refused}");
        version += 1;
        lsp.change(version, json!({"text": TEXT})).await;
        assert_eq!(
            lsp.code_actions("and_intro").await["result"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "the whole text puts it back in sync"
        );
    }
    // A frame that did not read may have been a change to any document: all go out of sync.
    lsp.client
        .send_raw(&frame(b"{\"jsonrpc\": \"2.0\", "))
        .await;
    let warning = lsp.warning().await;
    assert!(
        warning.contains("out of sync") && warning.contains("not JSON"),
        "{warning}"
    );
    assert_eq!(lsp.code_actions("and_intro").await["result"], Value::Null);
    version += 1;
    lsp.change(version, json!({"text": TEXT})).await;
    assert!(lsp.code_actions("and_intro").await["result"].is_array());
    // A change to a version already seen: refused, out of sync.
    lsp.change(version, json!({"range": at(0), "text": "-- a comment\n"}))
        .await;
    let warning = lsp.warning().await;
    assert!(
        warning.contains(&format!("version {version} came after version {version}")),
        "{warning}"
    );
    assert_eq!(lsp.code_actions("and_intro").await["result"], Value::Null);
    assert_eq!(lsp.exit(true).await, Some(0));
}

/// Starts a job on `unprovable` (each REPL request slowed so that it runs for a while) and
/// waits for its first progress report; returns the report's message.
async fn a_slow_job(lsp: &mut Lsp) -> String {
    lsp.open().await;
    let answer = lsp.prove("unprovable").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    let report = lsp
        .client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "report")
        .await;
    report["params"]["value"]["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn ends_cancelled(lsp: &mut Lsp) {
    let end = lsp
        .client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .await;
    assert_eq!(end["params"]["value"]["message"], "cancelled", "{end}");
    assert!(
        !lsp.client
            .seen
            .iter()
            .any(|m| m["method"] == "workspace/applyEdit")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_document_cancels_its_jobs() {
    let sim = SimRepl::world(&fixture_world("eval-portfolio.json")).latency_ms(200);
    let mut lsp = started(&sim, json!({})).await;
    a_slow_job(&mut lsp).await;
    lsp.client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    ends_cancelled(&mut lsp).await;
    assert_eq!(lsp.exit(true).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editor_settings_are_prover_toml_keys_over_the_flags_and_unknown_ones_are_named() {
    let sim = SimRepl::world(&fixture_world("eval-portfolio.json")).latency_ms(200);
    let mut lsp = started(
        &sim,
        json!({"search": {"policy": "learned", "widht": 3}, "colour": "blue"}),
    )
    .await;
    let mut warnings = vec![lsp.warning().await, lsp.warning().await];
    warnings.sort();
    assert!(
        warnings[0].contains("`colour`") && warnings[1].contains("`search.widht`"),
        "{warnings:?}"
    );
    // The policy came from the options, the REPL from the command line.
    let report = a_slow_job(&mut lsp).await;
    assert!(report.contains(" · learned"), "{report}");
    let answer = lsp
        .client
        .request(
            "workspace/executeCommand",
            json!({"command": "prover.cancel"}),
        )
        .await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    ends_cancelled(&mut lsp).await;
    assert_eq!(lsp.exit(true).await, Some(0));
}
