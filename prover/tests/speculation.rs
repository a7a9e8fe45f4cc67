//! `prover::engine::speculation` over a real `ReplPool` of sim-repls (simulated REPLs, not Lean): tactics run ahead only in slots the expansion under way does not need, never more than the bound at once, and the search's own runs take their answers.

use std::sync::Arc;
use std::time::Duration;

use lean_bridge::{ApplyReply, PoolConfig, ProofHandle, ReplConfig, ReplPool, StartReply};
use prover::engine::speculation::{Claim, Speculation, likely_tactics};
use prover::search::{Candidate, ProposalHint};
use prover_tests::harness::SimRepl;
use serde_json::json;

const HEADER: &str = "import Mathlib";
const ROOT_GOAL: &str = "a b : ℕ\nh : a = b\n⊢ b = a";
const DEADLINE: Duration = Duration::from_secs(10);
const TACTICS: [&str; 6] = ["t0", "t1", "t2", "t3", "t4", "t5"];

/// One state whose six tactics each take a while and lead to a state of their own.
fn world(dir: &std::path::Path) -> std::path::PathBuf {
    let mut states = serde_json::Map::new();
    states.insert("s0".into(), json!([ROOT_GOAL]));
    let transitions: Vec<_> = TACTICS
        .iter()
        .map(|tactic| {
            states.insert(format!("after {tactic}"), json!([format!("⊢ {tactic}")]));
            json!({"from": "s0", "tactic": tactic,
                   "outcome": {"goals": format!("after {tactic}")}, "latency_ms": 20})
        })
        .collect();
    let world = json!({
        "imports": ["Mathlib"],
        "theorems": [{"name": "t", "statement": "theorem t (a b : ℕ) (h : a = b) : b = a", "root": "s0"}],
        "states": states,
        "transitions": transitions,
    });
    let path = dir.join("world.json");
    std::fs::write(&path, world.to_string()).unwrap();
    path
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A pool of four sim-repls on the world, each started and holding the root (work ahead of
/// need never starts a process), and the root state.
fn pool_and_root(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
) -> (Arc<ReplPool>, ProofHandle) {
    let pool = Arc::new(ReplPool::new(PoolConfig {
        workers: 4,
        repl: ReplConfig {
            command: SimRepl::world(&world(dir)).command_line(),
            ..ReplConfig::default()
        },
        header_deadline: DEADLINE,
        ..PoolConfig::default()
    }));
    let statement = "theorem t (a b : ℕ) (h : a = b) : b = a := by sorry";
    // Four at once: each takes a worker of its own.
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            runtime.spawn(async move { pool.start_proof(HEADER, statement, DEADLINE).await })
        })
        .collect();
    let mut root = None;
    for start in starts {
        let reply = runtime.block_on(start).unwrap();
        let Ok(StartReply::Started(started)) = reply else {
            panic!("the root starts: {reply:?}");
        };
        root = Some(started);
    }
    assert_eq!(pool.stats().spawned, 4);
    (pool, root.expect("four starts"))
}

fn candidates() -> Vec<Candidate> {
    TACTICS
        .iter()
        .enumerate()
        .map(|(rank, tactic)| Candidate::new(*tactic, -(rank as f64)))
        .collect()
}

#[test]
fn tactics_run_ahead_only_in_free_slots_within_the_bound_and_are_taken_by_the_search() {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (pool, root) = pool_and_root(&runtime, dir.path());
    let speculation = Speculation::new(
        pool.clone(),
        runtime.handle().clone(),
        None,
        (2, 8, DEADLINE),
        None,
    );
    // An expansion of six tactics of another state is under way: its slots are its own.
    let other = root.child("elsewhere", vec!["⊢ elsewhere".into()]);
    speculation.begin(&other, TACTICS.len());
    speculation.know_state(&root, true);
    speculation.proposed(ROOT_GOAL, &candidates());
    assert_eq!(
        speculation.stats().speculated,
        0,
        "nothing runs ahead while the expansion under way still needs every slot"
    );
    // It launched nothing after all (it stopped at a proof, say): the slots are free again.
    speculation.end();
    assert_eq!(
        speculation.stats().speculated,
        2,
        "the bound's two slots, at once"
    );
    // The search now runs the six tactics itself, in order.
    speculation.begin(&root, TACTICS.len());
    let mut ahead = 0;
    let tasks: Vec<_> = TACTICS
        .iter()
        .map(|tactic| match speculation.claim(&root, tactic) {
            Claim::Ahead(task) => {
                ahead += 1;
                task
            }
            Claim::Run(slot) => {
                let (pool, root, tactic) = (pool.clone(), root.clone(), tactic.to_string());
                runtime.spawn(async move {
                    let reply = pool.apply(&root, &tactic, DEADLINE).await;
                    drop(slot);
                    reply
                })
            }
        })
        .collect();
    speculation.end();
    for (tactic, task) in TACTICS.iter().zip(tasks) {
        let reply = runtime.block_on(task).unwrap().unwrap();
        let ApplyReply::Open(next) = reply else {
            panic!("{tactic}: {reply:?}");
        };
        assert_eq!(
            next.goals(),
            [format!("⊢ {tactic}")],
            "{tactic}'s own answer"
        );
        assert_eq!(next.tactics().collect::<Vec<_>>(), [*tactic]);
    }
    let stats = speculation.stats();
    assert!(ahead >= 2, "the two run ahead were taken: {ahead}");
    assert_eq!(stats.used, ahead);
    assert!(
        stats.peak_in_flight <= 2,
        "{} tactic applications in flight at once",
        stats.peak_in_flight
    );
    assert_eq!(stats.dropped(), stats.speculated - ahead);
}

#[test]
fn a_state_is_run_ahead_once_both_its_handle_and_its_tactics_are_known() {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (pool, root) = pool_and_root(&runtime, dir.path());
    let speculation =
        Speculation::new(pool, runtime.handle().clone(), None, (4, 8, DEADLINE), None);
    // The policy's answer first (it came in before the state was hinted at) ...
    speculation.proposed(ROOT_GOAL, &candidates());
    assert_eq!(speculation.stats().speculated, 0, "no handle yet");
    // ... then the state: its best tactics start at once, up to the bound.
    speculation.know_state(&root, false);
    assert_eq!(speculation.stats().speculated, 4);
    // An answer for a state never known starts nothing.
    speculation.proposed("⊢ elsewhere", &candidates());
    assert_eq!(speculation.stats().speculated, 4);
}

#[test]
fn the_tactics_run_ahead_are_the_ones_the_search_would_run_first() {
    let candidates = [
        Candidate::new(" simp ", -1.0),
        Candidate::new("ring", -0.5),
        Candidate::new("simp", -0.1),
        Candidate::new("", 0.0),
        Candidate::new("omega", f64::NAN),
        Candidate::new("linarith", -2.0),
    ];
    // Trimmed, the first of equal texts kept with its score, best first, NaN last, width 3.
    assert_eq!(likely_tactics(&candidates, 3), ["ring", "simp", "linarith"]);
    assert_eq!(
        likely_tactics(&candidates, 8),
        ["ring", "simp", "linarith", "omega"]
    );
}

/// While the search waits for the policy's answer for the state it chose, nothing runs ahead:
/// the workers that are free rebuild that state instead, so its tactics find it held once the
/// answer is in. When the expansion begins, running ahead resumes.
#[test]
fn while_the_search_waits_for_a_chosen_states_tactics_free_workers_rebuild_it_instead() {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (pool, root) = pool_and_root(&runtime, dir.path());
    let reply = runtime.block_on(pool.apply(&root, "t0", DEADLINE));
    let Ok(ApplyReply::Open(chosen)) = reply else {
        panic!("t0 opens a state: {reply:?}");
    };
    let replays_before = pool.stats().replay_requests;
    let speculation = Speculation::new(
        pool.clone(),
        runtime.handle().clone(),
        None,
        (4, 8, DEADLINE),
        None,
    );
    speculation.about_to_expand(&chosen);
    // The root's tactics are known meanwhile: none of them runs ahead.
    speculation.know_state(&root, true);
    speculation.proposed(ROOT_GOAL, &candidates());
    assert_eq!(speculation.stats().speculated, 0, "nothing runs ahead");
    // The three workers that lack the chosen state rebuild it: one step each (a bound for a
    // failing test, not a timed assertion).
    for _ in 0..2000 {
        if pool.stats().replay_requests >= replays_before + 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(pool.stats().replay_requests, replays_before + 3);
    // The expansion begins (and launches nothing, say): running ahead resumes.
    speculation.begin(&chosen, 0);
    speculation.end();
    for _ in 0..2000 {
        if speculation.stats().speculated > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        speculation.stats().speculated > 0,
        "the root's tactics run ahead"
    );
}
