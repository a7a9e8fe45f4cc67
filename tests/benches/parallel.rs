//! Benchmark: one theorem's wall time to its first proof with parallel expansion (`--search-parallelism P`, P = 1, 2, 4, 8), with and without pipelined policy calls (`--policy-lookahead`) and speculative expansion, against sim-repl at 50 ms per tactic and a simulated model server answering in 100 ms.
//!
//! `cargo bench -p prover-tests --bench parallel` prints the figures: per P, the theorem's own
//! search seconds (the result row's `seconds`, so process start-up and the REPLs' start are not
//! in it) without look-ahead, with a look-ahead of 4 states, and with that look-ahead and
//! speculative expansion (the likely next states' tactics run ahead on idle REPLs), each
//! speed-up over P = 1 without look-ahead (today's order), the target 0.75·P of issue 26, how
//! many model answers were asked ahead and how many of them the search used, and how many
//! tactics ran ahead, were used, how many states they produced were announced to the policy
//! at once, and the most in flight at once; then, for the speculation runs, where the time
//! goes (waiting for Lean, waiting for the model) and how busy the REPLs were. Every run uses
//! the same pool of 8 simulated REPLs, so only P and the look-ahead change. Under `cargo test`
//! (no `--bench` argument) it runs a quick version (1 ms per tactic, P = 1 and 2) that checks
//! the runs agree and prints no measurement. `-- --bench --parallelism N` runs P = 1 and N only.

use prover_tests::harness::{
    ProverRun, SimRepl, read_jsonl, vocabulary_server_with, write_generated_world,
};
use prover_tests::openai_sim::{Faults, Options};
use prover_tests::worldgen::WorldSpec;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench");
    // `-- --bench --parallelism N`: P = 1 and N only.
    let only = args
        .iter()
        .position(|a| a == "--parallelism")
        .and_then(|at| args.get(at + 1)?.parse::<usize>().ok());
    let (latency_ms, model_ms, parallelisms): (u64, u64, Vec<usize>) = match (measuring, only) {
        (true, Some(p)) => (50, 100, vec![1, p]),
        (true, None) => (50, 100, vec![1, 2, 4, 8]),
        (false, _) => (1, 1, vec![1, 2]),
    };
    // Deep and bushy, with many failing tactics: the proof takes several expansions, and each
    // expansion runs the whole vocabulary (8 tactics).
    let spec = WorldSpec {
        theorems: 8,
        depth: 4,
        branching: 4,
        dead_end_rate: 0.2,
        repeat_rate: 0.1,
        unprovable_rate: 0.0,
        seed: 11,
        tactic_vocabulary: 8,
        ..WorldSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_generated_world(&spec, dir.path());
    let (name, _) = files
        .provable
        .iter()
        .find(|(_, provable)| **provable)
        .expect("the world has a provable theorem");
    let row = std::fs::read_to_string(&files.dataset)
        .unwrap()
        .lines()
        .find(|line| line.contains(&format!("\"{name}\"")))
        .expect("the theorem's row")
        .to_owned();
    let dataset = dir.path().join("one.jsonl");
    std::fs::write(&dataset, format!("{row}\n")).unwrap();
    let options = Options {
        faults: Faults {
            delay_ms: model_ms,
            ..Faults::default()
        },
        ..Options::default()
    };
    let server = vocabulary_server_with(spec.tactic_vocabulary, dir.path(), options);
    let url = format!("http://{}/v1", server.addr());
    prover_tests::harness::prover_bin();
    let mut rows = Vec::new();
    for &parallelism in &parallelisms {
        for (lookahead, speculate) in [(0, false), (LOOKAHEAD, false), (LOOKAHEAD, true)] {
            let run = format!("{parallelism}-{lookahead}-{speculate}");
            let out = dir.path().join(format!("results-{run}.jsonl"));
            let log = dir.path().join(format!("requests-{run}.jsonl"));
            let sim = SimRepl::world(&files.world)
                .latency_ms(latency_ms)
                .log(&log);
            let output = ProverRun::new("eval")
                .args(["--fresh", "--no-cache", "--width", "8"])
                .args(["--policy", "openai", "--samples", "8", "--llm-url", &url])
                .args(["--workers", &WORKERS.to_string()])
                .args(["--repl-memory-estimate", "0.05"])
                .args(["--concurrency", "1"])
                .args(["--search-parallelism", &parallelism.to_string()])
                .args(["--policy-lookahead", &lookahead.to_string()])
                .args((!speculate).then_some("--no-speculation"))
                .env(
                    "PROVER_LOG",
                    "prover::policy::prefetch=debug,prover::engine=debug",
                )
                .path("--dataset", &dataset)
                .path("--out", &out)
                .repl(&sim)
                .output();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "eval failed: {stderr}");
            let result = read_jsonl(&out).remove(0);
            assert_eq!(result["status"], "proved", "{result}");
            let tactic_requests = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter(|line| line.contains("\"tactic\""))
                .count();
            rows.push(Row {
                parallelism,
                lookahead,
                speculate,
                tactic_requests,
                prefetched: prefetch_counts(&stderr),
                speculated: speculation_counts(&stderr),
                result,
            });
        }
    }
    let first = &rows[0].result;
    for row in &rows {
        // The same search whatever P and the look-ahead: the same proof after the same
        // expansions and model calls.
        let what = format!(
            "P = {}, look-ahead {}, speculation {}",
            row.parallelism, row.lookahead, row.speculate
        );
        for field in ["proof", "expansions", "policy_calls"] {
            assert_eq!(row.result[field], first[field], "{what}: {field}");
        }
        match row.speculated {
            Some(Speculated {
                speculated,
                used,
                peak_in_flight,
                ..
            }) => {
                assert!(
                    row.speculate && row.parallelism > 1 && row.lookahead > 0,
                    "{what}: speculation only where asked for and able"
                );
                assert!(
                    used > 0 && used <= speculated,
                    "{what}: {speculated} run ahead, {used} used"
                );
                assert!(
                    peak_in_flight <= row.parallelism,
                    "{what}: {peak_in_flight} tactic applications in flight at once"
                );
            }
            None => assert!(
                !row.speculate || row.parallelism == 1 || row.lookahead == 0,
                "{what}: the search ran nothing ahead"
            ),
        }
        if row.lookahead == 0 {
            assert_eq!(row.prefetched, None, "{what}: nothing asked ahead");
        } else {
            let Prefetched {
                started,
                used,
                new_states,
                ..
            } = row.prefetched.expect("the look-ahead asked ahead");
            assert!(
                used > 0 && used <= started,
                "{what}: {started} asked, {used} used"
            );
            assert!(
                new_states > 0 && new_states <= started,
                "{what}: new states are announced as their tactics answer"
            );
        }
    }
    for triple in rows.chunks(3) {
        if let [_, ahead, speculating] = triple {
            // A tactic run ahead counts as a Lean call once the search takes its answer, so
            // the same P asks Lean the same tactics with speculation as without.
            assert_eq!(
                ahead.result["lean_calls"], speculating.result["lean_calls"],
                "P = {}: Lean calls with and without speculation",
                ahead.parallelism
            );
        }
    }
    if !measuring {
        println!(
            "parallel bench smoke run: ok; run `cargo bench -p prover-tests --bench parallel` for figures"
        );
        return;
    }
    let seconds = |result: &serde_json::Value| result["seconds"].as_f64().unwrap_or(f64::NAN);
    let base = seconds(first);
    println!(
        "one theorem ({name}), sim-repl at {latency_ms} ms per tactic, simulated model at {model_ms} ms, width 8, {WORKERS} REPLs, no cache; {} expansions ({} model calls), {} env calls to the first proof",
        first["expansions"], first["policy_calls"], first["lean_calls"]
    );
    println!(
        "  P  look-ahead 0: s  speed-up  look-ahead {LOOKAHEAD}: s  speed-up  + speculation: s  speed-up  target 0.75·P  asked ahead (new states)  used (new states)  run ahead  used  announced ahead  peak in flight  Lean calls  tactic requests (no look-ahead / look-ahead / + speculation)"
    );
    for triple in rows.chunks(3) {
        let [plain, ahead, speculating] = triple else {
            continue;
        };
        let Prefetched {
            started,
            used,
            new_states,
            new_states_used,
        } = speculating.prefetched.unwrap_or_default();
        let speculated = speculating.speculated.unwrap_or_default();
        println!(
            "  {}  {:>15.2}  {:>8.2}  {:>15.2}  {:>8.2}  {:>16.2}  {:>8.2}  {:>13.2}  {:>24}  {:>17}  {:>9}  {:>4}  {:>15}  {:>14}  {:>10}  {} / {} / {}",
            plain.parallelism,
            seconds(&plain.result),
            base / seconds(&plain.result),
            seconds(&ahead.result),
            base / seconds(&ahead.result),
            seconds(&speculating.result),
            base / seconds(&speculating.result),
            0.75 * plain.parallelism as f64,
            format!("{started} ({new_states})"),
            format!("{used} ({new_states_used})"),
            speculated.speculated,
            speculated.used,
            speculated.announced,
            speculated.peak_in_flight,
            speculating.result["lean_calls"],
            plain.tactic_requests,
            ahead.tactic_requests,
            speculating.tactic_requests
        );
    }
    // Where a run's time goes: the search waits either for Lean (the row's `lean_seconds`) or
    // for the model's answers not yet in (the rest, with the search's own time, which is small);
    // the REPLs are busy for every tactic request they receive, replays included.
    println!(
        "where the time goes with speculation: waiting for Lean (the row's lean_seconds), the rest (the model's answers not in yet, and the search itself), and how busy the {WORKERS} REPLs were (tactic requests, replays included, x {latency_ms} ms over {WORKERS} REPLs x the search's seconds)"
    );
    println!("  P  search s  waiting for Lean s  the rest s  REPLs busy");
    for triple in rows.chunks(3) {
        let [_, _, speculating] = triple else {
            continue;
        };
        let total = seconds(&speculating.result);
        let lean = speculating.result["lean_seconds"].as_f64().unwrap_or(0.0);
        let busy = speculating.tactic_requests as f64 * latency_ms as f64 / 1000.0;
        println!(
            "  {}  {:>8.2}  {:>18.2}  {:>10.2}  {:>9.0}%",
            speculating.parallelism,
            total,
            lean,
            total - lean,
            100.0 * busy / (WORKERS as f64 * total)
        );
    }
}

/// The REPLs of every run: the pool stays the same, only P and the look-ahead change.
const WORKERS: usize = 8;

/// The look-ahead of the pipelined runs: the default of `prove` and the editor.
const LOOKAHEAD: usize = 4;

/// One run of the theorem.
struct Row {
    parallelism: usize,
    lookahead: usize,
    /// Whether speculative expansion was left on (`--no-speculation` otherwise).
    speculate: bool,
    /// Tactics run ahead of need, from the engine's debug line (none when nothing could be).
    speculated: Option<Speculated>,
    /// Model answers asked ahead of need and used, from the policy's debug line.
    prefetched: Option<Prefetched>,
    result: serde_json::Value,
    /// Tactic requests the simulated REPLs received: the search's own and the steps replayed
    /// on a process that lacked a state.
    tactic_requests: usize,
}

/// The counts the policy logs as its search ends: all answers asked ahead and used, and of
/// those, the ones for new states announced as their tactics answered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Prefetched {
    started: u64,
    used: u64,
    new_states: u64,
    new_states_used: u64,
}

/// The counts the engine logs as a search with speculative expansion ends.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Speculated {
    speculated: u64,
    used: u64,
    /// States produced by tactics run ahead and announced to the policy at once.
    announced: u64,
    peak_in_flight: usize,
}

/// The value of ` name=` in a log line, if it is a number.
fn log_field(line: &str, name: &str) -> Option<u64> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// [`Speculated`] from the engine's line, if the search ran tactics ahead.
fn speculation_counts(stderr: &str) -> Option<Speculated> {
    let line = stderr
        .lines()
        .find(|line| line.contains("tactics run ahead of need"))?;
    Some(Speculated {
        speculated: log_field(line, "speculated")?,
        used: log_field(line, "used")?,
        announced: log_field(line, "announced")?,
        peak_in_flight: usize::try_from(log_field(line, "peak_in_flight")?).ok()?,
    })
}

/// [`Prefetched`] from the line the policy logs as its search ends, if it asked ahead.
fn prefetch_counts(stderr: &str) -> Option<Prefetched> {
    let line = stderr
        .lines()
        .find(|line| line.contains("policy answers asked ahead of need"))?;
    let field = |name: &str| log_field(line, name);
    Some(Prefetched {
        started: field("started")?,
        used: field("used")?,
        new_states: field("new_states")?,
        new_states_used: field("new_states_used")?,
    })
}
