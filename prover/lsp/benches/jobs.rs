//! Benchmark: latency from `prover.proveSorry` to the applied edit, p50 and p90 over 20 jobs on a small simulated world (sim-repl, not Lean), with no cache and with a warm cache.
//!
//! `cargo bench -p prover-lsp --bench jobs` prints the figures; under `cargo test` it runs a
//! three-job smoke version.

use std::time::Instant;

use prover::portfolio::Portfolio;
use prover::settings::{CacheOverlay, Overlay, ReplOverlay, SettingsFile};
use prover_tests::harness::SimRepl;
use prover_tests::lsp_client::Client;
use prover_tests::world::{Outcome, Theorem, Transition, World};
use serde_json::json;

const URI: &str = "file:///tmp/Bench.lean";
const TEXT: &str = "import Mathlib\n\ntheorem bench_t (a b : ℕ) (h : a = b) : b = a := by sorry\n";

fn world(dir: &std::path::Path) -> std::path::PathBuf {
    let root = "a b : ℕ\nh : a = b\n⊢ b = a";
    let candidates = Portfolio::default().candidates(root);
    let mut world = World::default();
    world.states.insert("r".into(), vec![root.into()]);
    world.theorems.push(Theorem {
        name: "bench_t".into(),
        statement: "theorem bench_t (a b : ℕ) (h : a = b) : b = a".into(),
        root: "r".into(),
        axioms: Vec::new(),
    });
    // Only the portfolio's third candidate works; each request takes 2 ms.
    for (rank, candidate) in candidates.iter().take(3).enumerate() {
        world.transitions.push(Transition {
            from: "r".into(),
            tactic: candidate.tactic.clone(),
            outcome: if rank == 2 {
                Outcome::Proved
            } else {
                Outcome::Error("no".into())
            },
            fault: None,
            latency_ms: 2,
        });
    }
    let path = dir.join("world.json");
    world.save(&path).unwrap();
    path
}

async fn latencies(
    world: &std::path::Path,
    cache: Option<&std::path::Path>,
    jobs: usize,
) -> Vec<f64> {
    let (client_side, server_side) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_side);
    let overlay = Overlay {
        repl: ReplOverlay {
            repl_cmd: Some(SimRepl::world(world).command_line()),
            workers: Some(1),
            ..ReplOverlay::default()
        },
        cache: CacheOverlay {
            cache: cache.map(|c| c.to_path_buf()),
            no_cache: cache.is_none(),
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
    let mut client = Client::new(read, write, TEXT);
    let capabilities = json!({"capabilities": {"workspace": {"applyEdit": true,
        "workspaceEdit": {"documentChanges": true}}}});
    client.request("initialize", capabilities).await;
    client.notify("initialized", json!({})).await;
    let sorry = TEXT.find("sorry").unwrap();
    let character = TEXT[TEXT[..sorry].rfind('\n').unwrap() + 1..sorry]
        .chars()
        .count();
    let range = json!({"start": {"line": 2, "character": character},
                       "end": {"line": 2, "character": character + 5}});
    let mut times = Vec::new();
    for version in 1..=jobs {
        client.text = TEXT.to_owned();
        let document = json!({"uri": URI, "languageId": "lean", "version": version, "text": TEXT});
        client
            .notify("textDocument/didOpen", json!({"textDocument": document}))
            .await;
        let started = Instant::now();
        let arguments = json!([{"uri": URI, "version": version, "range": range}]);
        client
            .request(
                "workspace/executeCommand",
                json!({"command": "prover.proveSorry", "arguments": arguments}),
            )
            .await;
        client
            .wait_for(|m| m["method"] == "workspace/applyEdit")
            .await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(!client.text.contains("sorry"), "{}", client.text);
        client
            .notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": URI}}),
            )
            .await;
    }
    client.request("shutdown", serde_json::Value::Null).await;
    times
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let jobs = if measuring { 20 } else { 3 };
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cold = runtime.block_on(latencies(&world, None, jobs));
    let cache = dir.path().join("cache");
    // One job fills the cache; the measured ones find the proof there (rechecked in Lean).
    runtime.block_on(latencies(&world, Some(&cache), 1));
    let warm = runtime.block_on(latencies(&world, Some(&cache), jobs));
    if !measuring {
        println!(
            "lsp jobs bench smoke run: ok; run `cargo bench -p prover-lsp --bench jobs` for figures"
        );
        return;
    }
    println!("prover lsp: command to applied edit over {jobs} jobs (sim-repl at 2 ms a request)");
    for (label, times) in [("no cache", cold), ("warm cache", warm)] {
        println!(
            "  {label:<10}  p50 {:>7.1} ms  p90 {:>7.1} ms",
            percentile(times.clone(), 0.5),
            percentile(times, 0.9)
        );
    }
}
