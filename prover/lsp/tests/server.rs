//! The editor server in process, with real Content-Length framing over in-memory pipes, against sim-repl (a simulated REPL, not Lean): capabilities, the code action on a `sorry` after `ℕ` and `𝓝`, a job with progress ending in an applied edit, sorries as a last tactic and in a nested `have`, a stale range, a skipped edit sent again, resolve, settings changes, a malformed request, all four cancellations, a crashing REPL, an opened file's imports prewarmed and reused by its jobs, a theorem's whole sorry planned through a skeleton against sim-openai.

use prover::portfolio::Portfolio;
use prover::settings::{CacheOverlay, Overlay, ReplOverlay, SettingsFile};
use prover_tests::harness::{SimRepl, logged_requests};
use prover_tests::lsp_client::Client;
use prover_tests::world::{Fault, Outcome, Theorem, Transition, World};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{DuplexStream, ReadHalf, WriteHalf};

/// The client on the in-memory pipes.
type TestClient = Client<ReadHalf<DuplexStream>, WriteHalf<DuplexStream>>;

const URI: &str = "file:///tmp/Sorry.lean";

/// A world where `near` is proved by the portfolio's first candidate twice over; `slow` by
/// nothing (its tactics take seconds); `crashy` kills the REPL on every tactic.
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
    world
        .states
        .insert("c".into(), vec!["z : ℕ\n⊢ z + 0 = z".into()]);
    world.theorems.push(Theorem {
        name: "crashy".into(),
        statement: "theorem crashy (z : ℕ) : z + 0 = z".into(),
        root: "c".into(),
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
    // Every tactic on `crashy` kills the REPL mid-request.
    for candidate in portfolio.candidates("z : ℕ\n⊢ z + 0 = z") {
        world.transitions.push(Transition {
            from: "c".into(),
            tactic: candidate.tactic.clone(),
            outcome: Outcome::Proved,
            fault: Some(Fault::Crash {
                stderr: "simulated crash".into(),
                code: 139,
            }),
            latency_ms: 0,
        });
    }
    let path = dir.join("world.json");
    world.save(&path).unwrap();
    path
}

/// What the test client says it can do, unless a test says otherwise.
fn full_capabilities() -> Value {
    json!({
        "window": {"workDoneProgress": true},
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}}
    })
}

/// A server on in-memory pipes, initialized, with `text` open.
async fn started(world: &std::path::Path, text: &str) -> TestClient {
    started_with(world, text, full_capabilities()).await
}

/// A server on in-memory pipes over the simulated world, not yet initialized, and a client
/// holding `text`.
fn on_pipes(world: &std::path::Path, text: &str) -> TestClient {
    on_pipes_cached(world, text, None)
}

/// [`on_pipes`], with the proof-state cache in `cache` (none without).
fn on_pipes_cached(
    world: &std::path::Path,
    text: &str,
    cache: Option<&std::path::Path>,
) -> TestClient {
    serving(
        SimRepl::world(world),
        cache,
        prover_lsp::Options::default(),
        text,
    )
}

/// A server on in-memory pipes with one REPL running `repl`, the cache in `cache` (none
/// without) and `options`, not yet initialized, and a client holding `text`.
fn serving(
    repl: SimRepl,
    cache: Option<&std::path::Path>,
    options: prover_lsp::Options,
    text: &str,
) -> TestClient {
    let (client_side, server_side) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_side);
    let overlay = Overlay {
        repl: ReplOverlay {
            repl_cmd: Some(repl.command_line()),
            workers: Some(1),
            ..ReplOverlay::default()
        },
        cache: CacheOverlay {
            cache: cache.map(std::path::Path::to_path_buf),
            no_cache: cache.is_none(),
            ..CacheOverlay::default()
        },
        ..Overlay::default()
    };
    tokio::spawn(prover_lsp::serve_with(
        SettingsFile::default(),
        overlay,
        options,
        server_read,
        server_write,
    ));
    let (read, write) = tokio::io::split(client_side);
    Client::new(read, write, text)
}

/// [`started`], for a client with these capabilities.
async fn started_with(world: &std::path::Path, text: &str, capabilities: Value) -> TestClient {
    started_cached(world, text, capabilities, None).await
}

/// [`started_with`], with the proof-state cache in `cache`.
async fn started_cached(
    world: &std::path::Path,
    text: &str,
    capabilities: Value,
    cache: Option<&std::path::Path>,
) -> TestClient {
    let mut client = on_pipes_cached(world, text, cache);
    handshake(&mut client, capabilities).await;
    client
}

/// `initialize` (by a client with these capabilities), `initialized`, and `didOpen` of the
/// client's text.
async fn handshake(client: &mut TestClient, capabilities: Value) {
    handshake_with(client, capabilities, Value::Null).await;
}

/// [`handshake`] with these `initializationOptions` (none when null).
async fn handshake_with(client: &mut TestClient, capabilities: Value, options: Value) {
    let text = client.text.clone();
    let mut params = json!({ "capabilities": capabilities });
    if !options.is_null() {
        params["initializationOptions"] = options;
    }
    let init = client.request("initialize", params).await;
    assert!(init.get("error").is_none(), "{init}");
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
}

/// The UTF-16 position of the first `sorry` at or after byte `from`.
fn sorry_at(text: &str, from: usize) -> Value {
    let offset = from + text[from..].find("sorry").unwrap();
    let line = text[..offset].matches('\n').count();
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let character: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": character})
}

/// Starts a job on the first `sorry` after `marker`; the command's answer.
async fn prove_after(client: &mut TestClient, marker: &str) -> Value {
    let text = client.text.clone();
    let position = sorry_at(&text, text.find(marker).unwrap());
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "prover.proveSorry", "arguments": [{"uri": URI, "version": client.version, "range": range_at(&position)}]}),
        )
        .await
}

/// The first tactic the portfolio proposes for `state`: what the simulated world's
/// transitions use.
fn first_tactic(state: &str) -> String {
    Portfolio::default().candidates(state)[0].tactic.clone()
}

/// A file whose one sorry is `near`'s whole proof.
const NEAR: &str = "import Mathlib\n\ntheorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x := by sorry\n";

/// The code actions the server offers at `position` (an empty range there).
async fn code_actions_at(client: &mut TestClient, position: &Value) -> Value {
    client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": {"start": position, "end": position},
                   "context": {"diagnostics": []}}),
        )
        .await
}

const ROOT: &str = "x : ℕ\nh : 𝓝 = 𝓝\n⊢ x + 0 = x";
const NEXT: &str = "x : ℕ\nh : 𝓝 = 𝓝\n⊢ x = x";

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
    let actions = code_actions_at(&mut client, &position).await;
    let actions = actions["result"].as_array().unwrap().clone();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["title"], "Prove this sorry (prover)");
    let command = actions[0]["command"].clone();
    // The comment's `sorry` offers nothing.
    let comment = sorry_at(text, text.find("--").unwrap());
    let none = code_actions_at(&mut client, &comment).await;
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
    let end = client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .await;
    assert_eq!(end["params"]["value"]["message"], "proved in 2 step(s)");

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
async fn an_edit_the_editor_skipped_is_sent_again_at_the_declarations_new_place() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let text = NEAR;
    let mut client = started(&world, text).await;
    // As Neovim does with an edit for a version it has moved past: `applied: true`, no change.
    client.skip_edits = 1;
    let answer = prove_after(&mut client, "near").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    assert!(client.text.contains("by sorry"), "the edit was skipped");
    // The user's next change, above the declaration: the server sees no proof in it.
    client.text.insert_str(0, "-- a note\n");
    client.version += 1;
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": client.version},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "-- a note\n"}]}),
        )
        .await;
    let again = client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    assert_eq!(
        again["params"]["edit"]["documentChanges"][0]["textDocument"]["version"], 2,
        "sent again for the version the server saw last"
    );
    let (first, second) = (first_tactic(ROOT), first_tactic(NEXT));
    assert_eq!(
        client.text,
        format!(
            "-- a note\nimport Mathlib\n\ntheorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x := by\n  {first}\n  {second}\n"
        ),
        "re-anchored one line down"
    );
    let _ = client.request("shutdown", Value::Null).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_progress_hears_of_the_proof_and_a_known_proof_resolves_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let text = NEAR;
    let capabilities = json!({"workspace": {"applyEdit": true}});
    let mut client = started_with(&world, text, capabilities).await;
    let answer = prove_after(&mut client, "near").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    let edit = client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    assert!(
        edit["params"]["edit"]["changes"][URI].is_array(),
        "plain `changes` for a client without documentChanges: {edit}"
    );
    let message = client
        .wait_for(|m| m["method"] == "window/showMessage")
        .await;
    assert_eq!(message["params"]["type"], 3, "{message}");
    assert!(
        message["params"]["message"]
            .as_str()
            .unwrap()
            .starts_with("prover: proved"),
        "{message}"
    );
    assert!(
        !client.seen.iter().any(|m| m["method"] == "$/progress"),
        "no progress for a client that cannot show it"
    );
    let proved = client.text.clone();
    // Undo: the sorry is back, and its action resolves to the proof without a search.
    client.version += 1;
    client.text = text.to_owned();
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": client.version},
                   "contentChanges": [{"text": text}]}),
        )
        .await;
    let position = sorry_at(text, 0);
    let actions = code_actions_at(&mut client, &position).await;
    let action = actions["result"][0].clone();
    assert!(
        action.get("edit").is_none(),
        "the action itself stays cheap"
    );
    let resolved = client.request("codeAction/resolve", action).await;
    let edits = resolved["result"]["edit"]["changes"][URI].clone();
    assert_eq!(edits.as_array().map(Vec::len), Some(1), "{resolved}");
    client.apply(&edits[0]);
    assert_eq!(
        client.text, proved,
        "the resolved edit is the proof found before"
    );
    let _ = client.request("shutdown", Value::Null).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_settings_keep_the_old_session_and_new_ones_take_over() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let text = NEAR;
    let mut client = started(&world, text).await;
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"prover": {"search": {"width": 0}}}}),
        )
        .await;
    let refused = client
        .wait_for(|m| m["method"] == "window/showMessage")
        .await;
    assert_eq!(refused["params"]["type"], 2, "a warning: {refused}");
    let said = refused["params"]["message"].as_str().unwrap();
    assert!(
        said.contains("refused") && said.contains("--width"),
        "{refused}"
    );
    // Settings that leave the search one expansion (the proof needs two), in prover.toml's
    // keys, on top of the command line's (the simulated REPL): the next job ends without a
    // proof.
    let overlay = json!({"search": {"max_expansions": 1}});
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"prover": overlay}}),
        )
        .await;
    let answer = prove_after(&mut client, "near").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    let message = client
        .wait_for(|m| m["method"] == "window/showMessage")
        .await;
    assert!(
        message["params"]["message"]
            .as_str()
            .unwrap()
            .starts_with("prover: no proof found"),
        "{message}"
    );
    let _ = client.request("shutdown", Value::Null).await;
}

/// The editor reopens its session on a settings change while the old one still holds the cache
/// directory: the new settings take over (on an in-memory cache, with a warning in the log)
/// instead of being refused because a cache is held, as a second process's would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_settings_take_over_while_the_old_session_holds_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let cache = dir.path().join("cache");
    let mut client = started_cached(&world, NEAR, full_capabilities(), Some(&cache)).await;
    assert!(cache.exists(), "the first session holds the cache");
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"prover": {"search": {"max_expansions": 1}}}}),
        )
        .await;
    let answer = prove_after(&mut client, "near").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    let message = client
        .wait_for(|m| m["method"] == "window/showMessage")
        .await;
    let said = message["params"]["message"].as_str().unwrap();
    assert!(said.starts_with("prover: no proof found"), "{message}");
    let _ = client.request("shutdown", Value::Null).await;
}

/// Starts a job on `slow`, waits for its progress to begin, cancels it with `cancel`, and
/// checks that it ends cancelled with nothing applied.
async fn cancelled_by(cancel: impl AsyncFnOnce(&mut TestClient, Value)) {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let text = "import Mathlib\n\ntheorem slow (y : ℕ) : y = y := by sorry\n";
    let mut client = started(&world, text).await;
    let answer = prove_after(&mut client, "slow").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    let begin = client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin")
        .await;
    cancel(&mut client, begin["params"]["token"].clone()).await;
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
    assert_eq!(client.text, text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_cancel_button_cancels_its_job() {
    cancelled_by(async |client: &mut TestClient, token: Value| {
        // The search is slow enough for one report first (after half a second).
        let report = client
            .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "report")
            .await;
        let message = report["params"]["value"]["message"].as_str().unwrap();
        assert!(
            message.contains(" expansions · best ") && message.contains(" s · portfolio · "),
            "{message}"
        );
        client
            .notify("window/workDoneProgress/cancel", json!({ "token": token }))
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cancel_command_cancels_every_job() {
    cancelled_by(async |client: &mut TestClient, _token: Value| {
        let answer = client
            .request(
                "workspace/executeCommand",
                json!({"command": "prover.cancel"}),
            )
            .await;
        assert_eq!(answer["result"], Value::Null, "{answer}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_every_job() {
    cancelled_by(async |client: &mut TestClient, _token: Value| {
        let answer = client.request("shutdown", Value::Null).await;
        assert_eq!(answer["result"], Value::Null, "{answer}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_repl_ends_its_job_with_a_warning_and_the_server_proves_on() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let text = "import Mathlib\n\ntheorem crashy (z : ℕ) : z + 0 = z := by sorry\n\ntheorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x := by sorry\n";
    let mut client = started(&world, text).await;
    let answer = prove_after(&mut client, "crashy").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    let warning = client
        .wait_for(|m| m["method"] == "window/showMessage")
        .await;
    assert_eq!(warning["params"]["type"], 2, "a warning: {warning}");
    assert!(
        warning["params"]["message"]
            .as_str()
            .unwrap()
            .contains("simulated crash"),
        "the warning names the cause: {warning}"
    );
    assert!(
        client
            .text
            .contains("crashy (z : ℕ) : z + 0 = z := by sorry"),
        "nothing applied after a crash"
    );
    let answer = prove_after(&mut client, "near").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    assert!(!client.text.contains("x := by sorry"), "{}", client.text);
    let _ = client.request("shutdown", Value::Null).await;
}

/// The whole conversation of one proof, as a reviewed golden file
/// (`tests/snapshots/server__a_proof_conversation.snap`): every answer and every message the
/// server sent, with its version and the timing-dependent progress reports left out. A change
/// of any frame's shape shows up as a diff to review (`INSTA_UPDATE=always` rewrites it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversation_of_one_proof_matches_its_reviewed_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let text = NEAR;
    let mut client = on_pipes(&world, text);
    let mut answers = Vec::new();
    let mut initialize = client
        .request("initialize", json!({ "capabilities": full_capabilities() }))
        .await;
    initialize["result"]["serverInfo"]["version"] = json!("[version]");
    answers.push(initialize);
    client.notify("initialized", json!({})).await;
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": URI, "languageId": "lean", "version": 1, "text": text}}),
        )
        .await;
    let position = sorry_at(text, 0);
    let actions = code_actions_at(&mut client, &position).await;
    let command = actions["result"][0]["command"].clone();
    answers.push(actions);
    answers.push(
        client
            .request(
                "workspace/executeCommand",
                json!({"command": command["command"], "arguments": command["arguments"]}),
            )
            .await,
    );
    let edit = client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    answers.push(client.request("shutdown", Value::Null).await);
    let sent: Vec<Value> = client
        .seen
        .iter()
        .filter(|m| !(m["method"] == "$/progress" && m["params"]["value"]["kind"] == "report"))
        .cloned()
        .collect();
    insta::assert_json_snapshot!(
        "a_proof_conversation",
        json!({"answers": answers, "server_messages": sent, "edit": edit, "document": client.text})
    );
}

/// The document after proving the first `sorry` after `marker` in `text`.
async fn proved_in_place(world: &std::path::Path, text: &str, marker: &str) -> String {
    let mut client = started(world, text).await;
    let answer = prove_after(&mut client, marker).await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    let _ = client.request("shutdown", Value::Null).await;
    client.text
}

/// [`commands_logged`] once the log shows at least `imports` imports (or after 30 s: a bound
/// for a failing test, not a timed assertion).
async fn once_imported(log: &std::path::Path, imports: usize) -> (Vec<String>, Vec<String>) {
    let waited = std::time::Instant::now();
    while commands_logged(log).0.len() < imports && waited.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    commands_logged(log)
}

/// The commands sim-repl's `--log` file shows without an env (imports) and on one.
fn commands_logged(log: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let (on_env, imports): (Vec<Value>, Vec<Value>) = logged_requests(log)
        .into_iter()
        .filter(|request| request["cmd"].is_string())
        .partition(|request| request.get("env").is_some());
    let cmds = |requests: Vec<Value>| {
        requests
            .into_iter()
            .map(|request| request["cmd"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    (cmds(imports), cmds(on_env))
}

/// `prover lsp --prewarm`: opening a file starts the job's REPL importing the file's imports
/// before any job; the job on the file's second declaration then elaborates only what comes
/// after the imports (its header is the file before it) on that import; new settings start
/// the new session's REPL importing them again, before any job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_files_imports_are_imported_before_any_job_and_again_under_new_settings() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let log = dir.path().join("requests.jsonl");
    let text = "import Mathlib\n\ntheorem slow (y : ℕ) : y = y := by sorry\n\ntheorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x := by sorry\n";
    let options = prover_lsp::Options {
        prewarm: true,
        ..prover_lsp::Options::default()
    };
    let mut client = serving(SimRepl::world(&world).log(&log), None, options, text);
    handshake(&mut client, full_capabilities()).await;
    assert_eq!(
        once_imported(&log, 1).await,
        (vec!["import Mathlib\n".to_owned()], Vec::new()),
        "the imports alone, before any job"
    );
    let answer = prove_after(&mut client, "near").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    let (imports, on_env) = commands_logged(&log);
    assert_eq!(imports, ["import Mathlib\n"], "imported once");
    assert_eq!(
        on_env.first().map(String::as_str),
        Some("\ntheorem slow (y : ℕ) : y = y := by sorry\n\n"),
        "the header's rest on the import: {on_env:?}"
    );
    // New settings replace the session, whose pool starts cold: the open file's imports are
    // imported on it at once, without waiting for a job.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"prover": {"search": {"max_expansions": 30}}}}),
        )
        .await;
    let (imports_now, on_env_now) = once_imported(&log, 2).await;
    assert_eq!(
        imports_now,
        ["import Mathlib\n", "import Mathlib\n"],
        "the new session's REPL imports the open file's imports"
    );
    assert_eq!(on_env_now, on_env, "and runs nothing else: no job started");
    let _ = client.request("shutdown", Value::Null).await;
}

/// `[repl] prewarm` in the editor's settings turns prewarming on without `--prewarm`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editors_prewarm_setting_imports_an_opened_files_imports_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let log = dir.path().join("requests.jsonl");
    let mut client = serving(
        SimRepl::world(&world).log(&log),
        None,
        prover_lsp::Options::default(),
        NEAR,
    );
    let options = json!({"repl": {"prewarm": true}});
    handshake_with(&mut client, full_capabilities(), options).await;
    assert_eq!(
        once_imported(&log, 1).await,
        (vec!["import Mathlib\n".to_owned()], Vec::new()),
        "the imports alone, before any job"
    );
    let _ = client.request("shutdown", Value::Null).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_placement_is_proved_from_its_own_goal_and_laid_out_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let (first, second) = (first_tactic(ROOT), first_tactic(NEXT));
    let statement = "import Mathlib\n\ntheorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x :=";
    let cases = [
        // The last tactic: the search starts from the state the tactics before it leave.
        (
            format!(" by\n  {first}\n  sorry\n"),
            "near",
            format!(" by\n  {first}\n  {second}\n"),
        ),
        // A nested `have` before other tactics: from its own goal (the simulator starts it
        // from the state concluding `x = x`, NEXT, and leaves the main goal as it was).
        (
            format!(" by\n  have k : x = x := by sorry\n  {first}\n  {second}\n"),
            "have",
            format!(" by\n  have k : x = x := by {second}\n  {first}\n  {second}\n"),
        ),
        // After `·`: the later tactics at the sorry's column.
        (
            " by\n  · sorry\n".to_owned(),
            "·",
            format!(" by\n  · {first}\n    {second}\n"),
        ),
        // The whole term after `:=`: a `by` block.
        (
            "\n  sorry\n".to_owned(),
            "near",
            format!(" by\n  {first}\n  {second}\n"),
        ),
    ];
    for (proof, marker, expected) in cases {
        let text = format!("{statement}{proof}");
        assert_eq!(
            proved_in_place(&world, &text, marker).await,
            format!("{statement}{expected}"),
            "in {text:?}"
        );
    }
}

/// With the planner on (an editor's `planner` section, read as prover.toml's `[planner]`), a
/// sorry that is a theorem's whole proof is proved through a skeleton when no search alone can
/// (the planner world's `two_steps`, sim-openai answering the planning request), and the edit
/// is the proof the plan's final check accepted; the section is no unknown setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_planner_on_a_theorems_whole_sorry_is_proved_through_a_skeleton() {
    use prover_tests::openai_sim::{self, Options, Script};
    const STATEMENT: &str = "theorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by";
    let good = format!(
        "```lean\n{STATEMENT}\n  have h₁ : x ^ 2 = x * x := by sorry\n  have h₂ : x * x ≥ 2 * x := by sorry\n  exact h₁ ▸ h₂\n```"
    );
    let script: Script = serde_json::from_value(json!({
        "responses": {format!("{STATEMENT} sorry"): [{"text": good}]},
        "default": [],
    }))
    .unwrap();
    let server = openai_sim::serve(script, Options::default()).unwrap();
    let world = prover_tests::harness::fixture_world("planner.json");
    let text = format!(
        "{}\n{STATEMENT}\n  sorry\n",
        prover_tests::harness::MINIF2F_HEADER
    );
    let mut client = on_pipes(&world, &text);
    let options = json!({
        "planner": {"kind": "openai", "url": server.base_url(), "samples": 1},
        "search": {"max_expansions": 40},
    });
    handshake_with(&mut client, full_capabilities(), options).await;
    let answer = prove_after(&mut client, "two_steps").await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    let end = client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .await;
    assert_eq!(
        end["params"]["value"]["message"], "proved through a skeleton (2 hole(s) closed)",
        "{end}"
    );
    client
        .wait_for(|m| m["method"] == "workspace/applyEdit")
        .await;
    let expected = format!(
        "{}\n{STATEMENT}\n  have h₁ : x ^ 2 = x * x := by norm_num\n  have h₂ : x * x ≥ 2 * x := by nlinarith\n  exact h₁ ▸ h₂\n",
        prover_tests::harness::MINIF2F_HEADER
    );
    assert_eq!(client.text, expected);
    // No warning named the planner's section as unknown.
    let warnings: Vec<&Value> = client
        .seen
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .filter(|m| {
            m["params"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("unknown")
        })
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    let _ = client.request("shutdown", Value::Null).await;
}
