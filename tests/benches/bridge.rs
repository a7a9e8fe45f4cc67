//! Benchmark: bridge round-trip overhead per tactic against a zero-latency sim-repl, beside the
//! floor of a raw JSON pipe echo (`cat`) and a raw client loop to the same sim-repl, in one run.
//!
//! `cargo bench -p prover-tests --bench bridge` prints the figures. Under `cargo test` (no
//! `--bench` argument) it runs a few hundred round trips as a smoke test and prints nothing
//! that claims to be a measurement.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lean_bridge::process::{ReplConfig, ReplProcess};
use lean_bridge::protocol::{CommandRequest, ProofStepRequest};
use lean_bridge::{Request, Response, TacticOutcome, classify_tactic};

const WORLD: &str = r#"{
  "theorems": [{"name": "loop", "statement": "theorem loop (n : ℕ) : n = n", "root": "s0"}],
  "states": {"s0": ["n : ℕ\n⊢ n = n"]},
  "transitions": [{"from": "s0", "tactic": "skip", "outcome": {"goals": "s0"}}]
}"#;

/// Writes `request` + blank line, reads lines until the blank line; returns the answer size.
fn raw_round_trip(
    stdin: &mut impl Write,
    stdout: &mut impl BufRead,
    request: &[u8],
    line: &mut String,
) -> usize {
    stdin.write_all(request).unwrap();
    stdin.flush().unwrap();
    let mut bytes = 0;
    loop {
        line.clear();
        let n = stdout.read_line(line).unwrap();
        assert!(n > 0, "peer closed its stdout");
        if line.trim().is_empty() {
            return bytes;
        }
        bytes += n;
    }
}

fn per_trip(elapsed: Duration, trips: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / trips as f64
}

fn raw_echo_floor(trips: usize, request: &[u8]) -> f64 {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cat is available");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let started = Instant::now();
    for _ in 0..trips {
        raw_round_trip(&mut stdin, &mut stdout, request, &mut line);
    }
    let elapsed = started.elapsed();
    drop(stdin);
    child.wait().unwrap();
    per_trip(elapsed, trips)
}

fn raw_client_to_sim(trips: usize, world: &std::path::Path) -> f64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-repl"))
        .arg("--world")
        .arg(world)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    raw_round_trip(
        &mut stdin,
        &mut stdout,
        b"{\"cmd\": \"import Mathlib\"}\n\n",
        &mut line,
    );
    raw_round_trip(
        &mut stdin,
        &mut stdout,
        b"{\"cmd\": \"theorem loop (n : \xe2\x84\x95) : n = n := by sorry\", \"env\": 0}\n\n",
        &mut line,
    );
    // Tactics always run on state 0: the world loops, and the REPL allows branching.
    let request = b"{\"tactic\": \"skip\", \"proofState\": 0}\n\n";
    let started = Instant::now();
    for _ in 0..trips {
        raw_round_trip(&mut stdin, &mut stdout, request, &mut line);
    }
    let elapsed = started.elapsed();
    drop(stdin);
    child.wait().unwrap();
    per_trip(elapsed, trips)
}

fn bridge_to_sim(trips: usize, world: &std::path::Path) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = ReplConfig {
            command: format!(
                "{} --world {}",
                env!("CARGO_BIN_EXE_sim-repl"),
                world.display()
            ),
            ..ReplConfig::default()
        };
        let mut process = ReplProcess::spawn(&config).unwrap();
        let deadline = Duration::from_secs(30);
        let header = Request::Command(CommandRequest {
            cmd: "import Mathlib".into(),
            ..Default::default()
        });
        process.send(&header, deadline).await.unwrap();
        let statement = Request::Command(CommandRequest {
            cmd: "theorem loop (n : ℕ) : n = n := by sorry".into(),
            env: Some(0),
            ..Default::default()
        });
        let Response::Command(opened) = process.send(&statement, deadline).await.unwrap() else {
            panic!("the sim answered the statement with something else");
        };
        let root = opened.sorries[0].proof_state.unwrap();
        let started = Instant::now();
        for _ in 0..trips {
            let request = Request::ProofStep(ProofStepRequest {
                tactic: "skip".into(),
                proof_state: root,
            });
            let answer = process.send(&request, deadline).await.unwrap();
            assert!(matches!(
                classify_tactic(&answer),
                TacticOutcome::Open { .. }
            ));
        }
        per_trip(started.elapsed(), trips)
    })
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let trips = if measuring { 20_000 } else { 200 };
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("loop.json");
    std::fs::write(&world, WORLD).unwrap();
    let echo_request = b"{\"tactic\":\"skip\",\"proofState\":0}\n\n";

    // Warm up page caches and the sim binary once before measuring.
    raw_echo_floor(trips / 10 + 1, echo_request);
    let floor = raw_echo_floor(trips, echo_request);
    let raw_sim = raw_client_to_sim(trips, &world);
    let bridge = bridge_to_sim(trips, &world);
    if measuring {
        println!("bridge round trip, {trips} tactics per figure (microseconds per round trip):");
        println!("  raw JSON pipe echo through `cat` (floor):        {floor:8.1} us");
        println!("  raw client loop to sim-repl (no typed client):   {raw_sim:8.1} us");
        println!("  lean-bridge ReplProcess to sim-repl:             {bridge:8.1} us");
        println!(
            "  ratio bridge / echo floor: {:.2}x; bridge overhead over the raw client: {:+.1} us",
            bridge / floor,
            bridge - raw_sim
        );
    } else {
        println!(
            "bridge bench smoke run ({trips} round trips each): ok; run `cargo bench -p prover-tests --bench bridge` for figures"
        );
    }
}
