//! The editor server in process, with real Content-Length framing over in-memory pipes, against sim-repl (a simulated REPL, not Lean): capabilities, the code action on a `sorry` after `ℕ` and `𝓝`, a job with progress ending in an applied edit, a stale range, a malformed request, cancellation by an edit.

use prover::portfolio::Portfolio;
use prover::settings::{CacheOverlay, Overlay, ReplOverlay, SettingsFile};
use prover_tests::harness::SimRepl;
use prover_tests::lsp_client::Client;
use prover_tests::world::{Outcome, Theorem, Transition, World};
use serde_json::{Value, json};
use tokio::io::{DuplexStream, ReadHalf, WriteHalf};

/// The client on the in-memory pipes.
type TestClient = Client<ReadHalf<DuplexStream>, WriteHalf<DuplexStream>>;

const URI: &str = "file:///tmp/Sorry.lean";

/// A world where `near` is proved by the portfolio's first candidate twice over; `slow` by
/// nothing (its tactics take seconds).
fn world(dir: &std::path::Path) -> std::path::PathBuf {
    let portfolio = Portfolio::default();
    let root = "x : ℕ\nh : 𝓝 = 𝓝\n⊢ x + 0 = x".to_owned();
    let next = "x : ℕ\nh : 𝓝 = 𝓝\n⊢ x = x".to_owned();
    let first = |state: &str| portfolio.candidates(state)[0].tactic.clone();
    let mut world = World::default();
    world.states.insert("r".into(), vec![root.clone()]);
    world.states.insert("n".into(), vec![next.clone()]);
    world
        .states
        .insert("s".into(), vec!["y : ℕ\n⊢ y = y".into()]);
    world.theorems.push(Theorem {
        name: "near".into(),
        statement: "theorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x".into(),
        root: "r".into(),
        axioms: Vec::new(),
    });
    world.theorems.push(Theorem {
        name: "slow".into(),
        statement: "theorem slow (y : ℕ) : y = y".into(),
        root: "s".into(),
        axioms: Vec::new(),
    });
    for (from, tactic, outcome, latency_ms) in [
        ("r", first(&root), Outcome::Goals("n".into()), 0),
        ("n", first(&next), Outcome::Proved, 0),
        (
            "s",
            first("y : ℕ\n⊢ y = y"),
            Outcome::Error("no".into()),
            3000,
        ),
    ] {
        world.transitions.push(Transition {
            from: from.into(),
            tactic,
            outcome,
            fault: None,
            latency_ms,
        });
    }
    let path = dir.join("world.json");
    world.save(&path).unwrap();
    path
}

/// A server on in-memory pipes, initialized, with `text` open.
async fn started(world: &std::path::Path, text: &str) -> TestClient {
    let (client_side, server_side) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_side);
    let overlay = Overlay {
        repl: ReplOverlay {
            repl_cmd: Some(SimRepl::world(world).command_line()),
            workers: Some(1),
            ..ReplOverlay::default()
        },
        cache: CacheOverlay {
            no_cache: true,
            ..CacheOverlay::default()
        },
        ..Overlay::default()
    };
    tokio::spawn(prover_lsp::serve(
        SettingsFile::default(),
        overlay,
        server_read,
        server_write,
    ));
    let (read, write) = tokio::io::split(client_side);
    let mut client = Client::new(read, write, text);
    let init = client
        .request(
            "initialize",
            json!({"capabilities": {
                "window": {"workDoneProgress": true},
                "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}}
            }}),
        )
        .await;
    let capabilities = &init["result"]["capabilities"];
    assert_eq!(capabilities["positionEncoding"], "utf-16");
    assert_eq!(capabilities["codeActionProvider"]["resolveProvider"], true);
    assert_eq!(
        capabilities["executeCommandProvider"]["commands"],
        json!(["prover.proveSorry", "prover.cancel"])
    );
    client.notify("initialized", json!({})).await;
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": URI, "languageId": "lean", "version": 1, "text": text}}),
        )
        .await;
    client
}

/// The UTF-16 position of the first `sorry` at or after byte `from`.
fn sorry_at(text: &str, from: usize) -> Value {
    let offset = from + text[from..].find("sorry").unwrap();
    let line = text[..offset].matches('\n').count();
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let character: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": character})
}

fn range_at(position: &Value) -> Value {
    let end =
        json!({"line": position["line"], "character": position["character"].as_u64().unwrap() + 5});
    json!({"start": position, "end": end})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sorry_after_wide_characters_is_proved_with_progress_and_one_edit() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let text = "import Mathlib\n\ntheorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x := by sorry\n-- sorry in a comment\n";
    let mut client = started(&world, text).await;
    let position = sorry_at(text, 0);
    assert_eq!(
        position,
        json!({"line": 2, "character": 53}),
        "𝓝 is two UTF-16 units"
    );
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": {"start": position, "end": position},
                   "context": {"diagnostics": []}}),
        )
        .await;
    let actions = actions["result"].as_array().unwrap().clone();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["title"], "Prove this sorry (prover)");
    let command = actions[0]["command"].clone();
    // The comment's `sorry` offers nothing.
    let comment = sorry_at(text, text.find("--").unwrap());
    let none = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": {"start": comment, "end": comment},
                   "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(none["result"], json!([]));

    let started = client
        .request(
            "workspace/executeCommand",
            json!({"command": command["command"], "arguments": command["arguments"]}),
        )
        .await;
    assert_eq!(
        started["result"],
        Value::Null,
        "the command returns at once: {started}"
    );
    let edit = client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    assert_eq!(
        edit["params"]["edit"]["documentChanges"][0]["textDocument"]["version"],
        1
    );
    assert!(!client.text.contains(":= by sorry"), "{}", client.text);
    let portfolio = Portfolio::default();
    let first = portfolio.candidates("x : ℕ\nh : 𝓝 = 𝓝\n⊢ x + 0 = x")[0]
        .tactic
        .clone();
    assert!(
        client.text.contains(&format!(":= by\n  {first}\n  ")),
        "two tactics, one per line, indented two spaces: {}",
        client.text
    );
    let begin = client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin")
        .await;
    assert_eq!(begin["params"]["value"]["cancellable"], true);
    client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .await;

    // A range that no longer holds `sorry` is refused as content modified.
    let stale = client
        .request(
            "workspace/executeCommand",
            json!({"command": "prover.proveSorry", "arguments": [{"uri": URI, "version": 1, "range": range_at(&json!({"line": 0, "character": 0}))}]}),
        )
        .await;
    assert_eq!(stale["error"]["code"], -32801, "{stale}");
    // A malformed request gets an error, and the server stays up.
    let malformed = client
        .request("textDocument/codeAction", json!({"nonsense": true}))
        .await;
    assert!(malformed.get("error").is_some(), "{malformed}");
    let still = client
        .request(
            "workspace/executeCommand",
            json!({"command": "prover.cancel"}),
        )
        .await;
    assert_eq!(still["result"], Value::Null);
    let shutdown = client.request("shutdown", Value::Null).await;
    assert_eq!(shutdown["result"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_inside_the_declaration_cancels_its_job_and_nothing_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let text = "import Mathlib\n\ntheorem slow (y : ℕ) : y = y := by sorry\n";
    let mut client = started(&world, text).await;
    let position = sorry_at(text, 0);
    let started = client
        .request(
            "workspace/executeCommand",
            json!({"command": "prover.proveSorry", "arguments": [{"uri": URI, "version": 1, "range": range_at(&position)}]}),
        )
        .await;
    assert_eq!(started["result"], Value::Null, "{started}");
    client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin")
        .await;
    // The user types inside the statement.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 2, "character": 8}, "end": {"line": 2, "character": 8}}, "text": "x"}]}),
        )
        .await;
    let end = client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .await;
    assert_eq!(end["params"]["value"]["message"], "cancelled");
    assert!(
        !client
            .seen
            .iter()
            .any(|m| m["method"] == "workspace/applyEdit"),
        "a cancelled job applies nothing"
    );
    let _ = client.request("shutdown", Value::Null).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sorry_as_the_last_tactic_is_proved_from_the_state_the_tactics_before_it_leave() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let portfolio = Portfolio::default();
    let first = portfolio.candidates("x : ℕ\nh : 𝓝 = 𝓝\n⊢ x + 0 = x")[0]
        .tactic
        .clone();
    let second = portfolio.candidates("x : ℕ\nh : 𝓝 = 𝓝\n⊢ x = x")[0]
        .tactic
        .clone();
    let text = format!(
        "import Mathlib\n\ntheorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x := by\n  {first}\n  sorry\n"
    );
    let mut client = started(&world, &text).await;
    let position = sorry_at(&text, 0);
    assert_eq!(position["character"], 2);
    let answer = client
        .request(
            "workspace/executeCommand",
            json!({"command": "prover.proveSorry", "arguments": [{"uri": URI, "version": 1, "range": range_at(&position)}]}),
        )
        .await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    assert_eq!(
        client.text,
        format!(
            "import Mathlib\n\ntheorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x := by\n  {first}\n  {second}\n"
        )
    );
    let _ = client.request("shutdown", Value::Null).await;
}
