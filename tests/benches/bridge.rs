//! Benchmark: the bridge's own cost per tactic round trip against a zero-latency sim-repl: the
//! lean-bridge `ReplProcess` minus a raw client loop to the same sim-repl (no typed client, no
//! async runtime), measured unpinned and with the whole run pinned to one core. The floor of a
//! raw JSON pipe echo (`cat`) is printed beside them for scale, not as the headline: on a small
//! VM the ratio to it mostly measures cross-core wake-ups, which pinning removes.
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

/// Figures of one pass: microseconds per round trip, the median of `REPEATS` interleaved runs.
struct Pass {
    floor: f64,
    raw: f64,
    bridge: f64,
}

/// One column of a [`Pass`].
type Figure = fn(&Pass) -> f64;

/// Runs per figure; raw and bridge runs alternate so a burst of load hits both alike.
const REPEATS: usize = 3;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One pass: a short warm-up of each client (the binaries paged in, the sim's first answers
/// and the runtime's first polls out of the figures), then the measured runs.
fn measure(trips: usize, world: &std::path::Path, echo_request: &[u8]) -> Pass {
    let warm_up = trips / 10 + 1;
    raw_echo_floor(warm_up, echo_request);
    raw_client_to_sim(warm_up, world);
    bridge_to_sim(warm_up, world);
    let mut floor = Vec::new();
    let mut raw = Vec::new();
    let mut bridge = Vec::new();
    for _ in 0..REPEATS {
        floor.push(raw_echo_floor(trips, echo_request));
        raw.push(raw_client_to_sim(trips, world));
        bridge.push(bridge_to_sim(trips, world));
    }
    Pass {
        floor: median(floor),
        raw: median(raw),
        bridge: median(bridge),
    }
}

/// Runs `f` with this thread (and every process and thread it starts, which inherit the mask)
/// on one core, then restores the mask. `None` when the affinity cannot be set.
fn on_one_core<T>(f: impl FnOnce() -> T) -> Option<(usize, T)> {
    // SAFETY: cpu_set_t is plain data; an all-zero value is the empty set.
    let mut before: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `before` is a valid, writable cpu_set_t of `size` bytes; pid 0 is this thread.
    if unsafe { libc::sched_getaffinity(0, size, &mut before) } != 0 {
        return None;
    }
    // SAFETY: CPU_ISSET reads a valid set; the index is within CPU_SETSIZE.
    let core = (0..libc::CPU_SETSIZE as usize).find(|&c| unsafe { libc::CPU_ISSET(c, &before) })?;
    // SAFETY: as above; `one` holds exactly `core`.
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(core, &mut one) };
    // SAFETY: valid set of `size` bytes for this thread.
    if unsafe { libc::sched_setaffinity(0, size, &one) } != 0 {
        return None;
    }
    let result = f();
    // SAFETY: restores the mask read above.
    unsafe { libc::sched_setaffinity(0, size, &before) };
    Some((core, result))
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let trips = if measuring { 20_000 } else { 200 };
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("loop.json");
    std::fs::write(&world, WORLD).unwrap();
    let echo_request = b"{\"tactic\":\"skip\",\"proofState\":0}\n\n";

    let unpinned = measure(trips, &world, echo_request);
    let pinned = on_one_core(|| measure(trips, &world, echo_request));
    if !measuring {
        println!(
            "bridge bench smoke run ({trips} round trips each): ok; run `cargo bench -p prover-tests --bench bridge` for figures"
        );
        return;
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "bridge round trip, {trips} tactics per run, median of {REPEATS} runs, after a warm-up of each client ({cores} cores available)"
    );
    let own = |pass: &Pass| pass.bridge - pass.raw;
    match &pinned {
        Some((core, pinned)) => println!(
            "bridge's own cost per round trip (bridge minus raw client): {:+.1} us unpinned, {:+.1} us pinned to core {core}",
            own(&unpinned),
            own(pinned)
        ),
        None => println!(
            "bridge's own cost per round trip (bridge minus raw client): {:+.1} us unpinned (pinning unavailable)",
            own(&unpinned)
        ),
    }
    println!("  microseconds per round trip      unpinned    pinned");
    let column = |f: Figure| match &pinned {
        Some((_, p)) => format!("{:>8.1}", f(p)),
        None => "       -".to_owned(),
    };
    let rows: [(&str, Figure); 4] = [
        ("raw pipe echo through `cat`", |p| p.floor),
        ("raw client loop to sim-repl", |p| p.raw),
        ("lean-bridge ReplProcess", |p| p.bridge),
        ("bridge minus raw client", |p| p.bridge - p.raw),
    ];
    for (name, f) in rows {
        println!("  {name:<30} {:>8.1}  {}", f(&unpinned), column(f));
    }
    println!(
        "  (ratio bridge / `cat` floor, for scale only: {:.2}x unpinned{})",
        unpinned.bridge / unpinned.floor,
        match &pinned {
            Some((_, p)) => format!(", {:.2}x pinned", p.bridge / p.floor),
            None => String::new(),
        }
    );
}
