//! `lean_bridge`'s process and pool layers against `sim-repl` with injected faults: hangs,
//! crashes, garbage, EOF, memory growth, limits and exits, checking that the pool restarts,
//! recycles, re-elaborates headers and replays proof states without callers noticing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lean_bridge::{
    ApplyReply, BridgeError, CommandReply, PoolConfig, PoolStats, ProofHandle, ReplConfig,
    ReplPool, StartReply,
};
use serde_json::{Value, json};

const HEADER: &str = "import Mathlib\nopen Nat";
const STATEMENT: &str = "theorem t1 (a b : ℕ) (h : a = b) : b = a := by sorry";
const ROOT_GOAL: &str = "a b : ℕ\nh : a = b\n⊢ b = a";
const NEXT_GOAL: &str = "a : ℕ\n⊢ a = a";
const DEADLINE: Duration = Duration::from_secs(10);
const SHORT: Duration = Duration::from_millis(500);

/// One theorem, two states, and a fault-injecting tactic per fault kind.
fn world() -> Value {
    json!({
        "imports": ["Mathlib"],
        "theorems": [
            {"name": "t1", "statement": "theorem t1 (a b : ℕ) (h : a = b) : b = a", "root": "s0"}
        ],
        "states": {"s0": [ROOT_GOAL], "s1": [NEXT_GOAL]},
        "transitions": [
            {"from": "s0", "tactic": "subst h", "outcome": {"goals": "s1"}},
            {"from": "s1", "tactic": "rfl", "outcome": "proved"},
            {"from": "s1", "tactic": "slow_step", "outcome": {"goals": "s1"}, "latency_ms": 400},
            {"from": "s1", "tactic": "busy_step", "outcome": {"goals": "s1"}, "latency_ms": 1500},
            {"from": "s0", "tactic": "simp", "outcome": {"error": "simp made no progress"}},
            {"from": "s0", "tactic": "hang", "outcome": {"goals": "s1"}, "fault": "hang"},
            {"from": "s0", "tactic": "crash", "outcome": {"goals": "s1"},
             "fault": {"crash": {"stderr": "INTERNAL PANIC: simulated stack overflow", "code": 101}}},
            {"from": "s0", "tactic": "garbage", "outcome": {"goals": "s1"}, "fault": "garbage"},
            {"from": "s0", "tactic": "eof", "outcome": {"goals": "s1"}, "fault": "eof"},
            {"from": "s0", "tactic": "grow", "outcome": {"goals": "s1"}, "fault": {"grow_mb": 96}},
            {"from": "s0", "tactic": "balloon", "outcome": {"goals": "s1"}, "fault": {"grow_mb": 2048}}
        ]
    })
}

/// A temporary directory holding a world file and the sim's request log.
struct Sim {
    dir: tempfile::TempDir,
}

impl Sim {
    fn new(world: &Value) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("world.json"), world.to_string()).unwrap();
        Sim { dir }
    }

    fn world(&self) -> PathBuf {
        self.dir.path().join("world.json")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("requests.log")
    }

    /// The command line of a logging sim-repl with extra flags.
    fn command(&self, flags: &str) -> String {
        sim_command(
            &self.world(),
            &format!("--log '{}' {flags}", self.log().display()),
        )
    }

    fn pool(&self, flags: &str, workers: usize) -> ReplPool {
        self.pool_with(
            ReplConfig {
                command: self.command(flags),
                ..ReplConfig::default()
            },
            workers,
        )
    }

    /// A pool of `workers` logging sim-repls with `spares` warm spares beside them; each
    /// process's group id (its `sh` leader's pid) is appended to `pids`.
    fn pool_with_spares(&self, flags: &str, workers: usize, spares: usize) -> ReplPool {
        let command = format!(
            "echo $$ >> '{}'; exec {}",
            self.pids().display(),
            self.command(flags)
        );
        ReplPool::new(PoolConfig {
            workers,
            repl: ReplConfig {
                command,
                ..ReplConfig::default()
            },
            header_deadline: DEADLINE,
            spares,
        })
    }

    fn pids(&self) -> PathBuf {
        self.dir.path().join("pids")
    }

    /// The processes `pool_with_spares` started that are still running (not dead, not zombies).
    fn running(&self) -> Vec<u32> {
        let text = std::fs::read_to_string(self.pids()).unwrap_or_default();
        text.lines()
            .map(|l| l.parse().unwrap())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    // The state follows the command name's closing parenthesis.
                    stat.rsplit_once(") ")
                        .is_some_and(|(_, rest)| !rest.starts_with('Z'))
                })
            })
            .collect()
    }

    fn pool_with(&self, repl: ReplConfig, workers: usize) -> ReplPool {
        ReplPool::new(PoolConfig {
            workers,
            repl,
            header_deadline: DEADLINE,
            ..PoolConfig::default()
        })
    }

    /// Every request any sim process logged, in order.
    fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// How many env-less commands (header elaborations) were sent.
    fn header_count(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.get("cmd").is_some() && r.get("env").is_none())
            .count()
    }

    /// Returns once some process has received `tactic` (the sim logs before answering).
    async fn received(&self, tactic: &str) {
        for _ in 0..1000 {
            if self.tactics().iter().any(|t| t == tactic) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no process received `{tactic}`");
    }

    /// The tactics sent, in order.
    fn tactics(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter_map(|r| r.get("tactic").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }
}

fn sim_command(world: &Path, flags: &str) -> String {
    format!(
        "'{}' --world '{}' {flags}",
        env!("CARGO_BIN_EXE_sim-repl"),
        world.display()
    )
}

async fn start(pool: &ReplPool) -> ProofHandle {
    match pool.start_proof(HEADER, STATEMENT, DEADLINE).await.unwrap() {
        StartReply::Started(handle) => handle,
        other => panic!("expected a started proof, got {other:?}"),
    }
}

async fn open(pool: &ReplPool, state: &ProofHandle, tactic: &str) -> ProofHandle {
    match pool.apply(state, tactic, DEADLINE).await.unwrap() {
        ApplyReply::Open(handle) => handle,
        other => panic!("expected `{tactic}` to leave open goals, got {other:?}"),
    }
}

async fn proved(pool: &ReplPool, state: &ProofHandle, tactic: &str) -> Vec<String> {
    match pool.apply(state, tactic, DEADLINE).await.unwrap() {
        ApplyReply::Proved(path) => path.tactics,
        other => panic!("expected `{tactic}` to finish the proof, got {other:?}"),
    }
}

#[tokio::test]
async fn commands_and_a_proof_run_to_completion() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);

    let reply = pool
        .command(
            HEADER,
            "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  rfl",
            DEADLINE,
        )
        .await
        .unwrap();
    let CommandReply::Ran(ran) = reply else {
        panic!("expected the command to run, got {reply:?}");
    };
    assert!(!ran.has_errors(), "{ran:?}");

    let root = start(&pool).await;
    assert_eq!(root.goals(), [ROOT_GOAL]);
    assert_eq!(root.depth(), 0);
    match pool.apply(&root, "simp", DEADLINE).await.unwrap() {
        ApplyReply::Failed(reason) => assert!(reason.contains("simp made no progress"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    match pool.apply(&root, "no_such_tactic", DEADLINE).await.unwrap() {
        ApplyReply::Failed(reason) => assert!(reason.contains("unknown tactic"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    let next = open(&pool, &root, "subst h").await;
    assert_eq!(next.goals(), [NEXT_GOAL]);
    assert_eq!(next.tactics().collect::<Vec<_>>(), ["subst h"]);
    assert_eq!(proved(&pool, &next, "rfl").await, ["subst h", "rfl"]);

    // The header was elaborated once (its import, then `open Nat` on the import's env) and
    // everything else ran on its environment.
    assert_eq!(sim.header_count(), 1);
    assert_eq!(
        pool.stats(),
        PoolStats {
            spawned: 1,
            restarts: 0,
            recycled: 0,
            timeouts: 0,
            requests: 8,
            headers_elaborated: 1,
            spares_warmed: 0,
            spares_used: 0,
            respawned: 0,
            replay_requests: 0,
        }
    );
}

#[tokio::test]
async fn rejections_are_data_not_errors() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    match pool
        .command("import Mathlb", "example : True := trivial", DEADLINE)
        .await
        .unwrap()
    {
        CommandReply::HeaderRejected(messages) => {
            assert!(messages.iter().any(|m| m.is_error()), "{messages:?}");
        }
        other => panic!("expected the header to be rejected, got {other:?}"),
    }
    assert!(matches!(
        pool.start_proof("import Mathlb", STATEMENT, DEADLINE)
            .await
            .unwrap(),
        StartReply::HeaderRejected(_)
    ));
    // The rejected header is remembered per process, not sent again.
    assert_eq!(sim.header_count(), 1);
    match pool
        .start_proof(HEADER, "theorem unknown : True := by sorry", DEADLINE)
        .await
        .unwrap()
    {
        StartReply::Rejected(messages) => assert!(messages.iter().any(|m| m.is_error())),
        other => panic!("expected the statement to be rejected, got {other:?}"),
    }
    assert_eq!(pool.stats().restarts, 0);
}

#[tokio::test]
async fn a_hang_times_out_and_the_next_request_gets_a_fresh_process() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    let root = start(&pool).await;
    let error = pool.apply(&root, "hang", SHORT).await.unwrap_err();
    assert!(
        matches!(error, BridgeError::Timeout { after, .. } if after == SHORT),
        "{error:?}"
    );
    let stats = pool.stats();
    assert_eq!((stats.timeouts, stats.restarts), (1, 1));
    // The handle from before the hang is rebuilt on the new process.
    let next = open(&pool, &root, "subst h").await;
    assert_eq!(proved(&pool, &next, "rfl").await, ["subst h", "rfl"]);
    assert_eq!(pool.stats().spawned, 2);
}

#[tokio::test]
async fn a_crash_mid_request_reports_the_stderr_tail_and_recovers() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    let root = start(&pool).await;
    let error = pool.apply(&root, "crash", DEADLINE).await.unwrap_err();
    match &error {
        BridgeError::Exited {
            status,
            stderr_tail,
            request,
        } => {
            assert!(status.contains("101"), "{status}");
            assert!(
                stderr_tail.contains("INTERNAL PANIC: simulated stack overflow"),
                "{stderr_tail}"
            );
            assert_eq!(request, "tactic");
        }
        other => panic!("expected Exited, got {other:?}"),
    }
    assert_eq!(pool.stats().restarts, 1);
    let next = open(&pool, &root, "subst h").await;
    assert_eq!(next.goals(), [NEXT_GOAL]);
}

#[tokio::test]
async fn garbage_is_a_protocol_error_and_the_process_is_replaced() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    let root = start(&pool).await;
    let error = pool.apply(&root, "garbage", DEADLINE).await.unwrap_err();
    assert!(
        matches!(&error, BridgeError::Protocol { line, .. } if line.contains("not JSON")),
        "{error:?}"
    );
    assert_eq!(pool.stats().restarts, 1);
    open(&pool, &root, "subst h").await;
}

#[tokio::test]
async fn eof_without_an_answer_is_exited_and_the_process_is_replaced() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    let root = start(&pool).await;
    let error = pool.apply(&root, "eof", DEADLINE).await.unwrap_err();
    assert!(matches!(error, BridgeError::Exited { .. }), "{error:?}");
    open(&pool, &root, "subst h").await;
    assert_eq!(pool.stats().restarts, 1);
}

#[tokio::test]
async fn a_caller_that_gives_up_mid_request_costs_only_that_process() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    let root = start(&pool).await;
    // A cancelled search drops its future while the REPL is still working.
    tokio::select! {
        result = pool.apply(&root, "hang", DEADLINE) => panic!("a hang answered: {result:?}"),
        () = sim.received("hang") => {}
    }
    // The abandoned process is killed at once, and replaced before anyone else uses it.
    assert_eq!(pool.stats().restarts, 1);
    let next = open(&pool, &root, "subst h").await;
    assert_eq!(next.goals(), [NEXT_GOAL]);
    let stats = pool.stats();
    assert_eq!((stats.spawned, stats.restarts, stats.timeouts), (2, 1, 0));
}

#[tokio::test]
async fn a_process_past_its_rss_budget_is_recycled_after_answering() {
    let sim = Sim::new(&world());
    let pool = sim.pool_with(
        ReplConfig {
            command: sim.command(""),
            max_rss_anon_bytes: Some(64 << 20),
            memory_check_every: 1,
            ..ReplConfig::default()
        },
        1,
    );
    let root = start(&pool).await;
    assert_eq!(pool.stats().recycled, 0, "the sim starts well under 64 MiB");
    // The answer arrives; the bloated process is retired afterwards.
    let grown = open(&pool, &root, "grow").await;
    assert_eq!(grown.goals(), [NEXT_GOAL]);
    let stats = pool.stats();
    assert_eq!((stats.recycled, stats.restarts), (1, 0));
    assert_eq!(proved(&pool, &grown, "rfl").await, ["grow", "rfl"]);
    assert_eq!(pool.stats().spawned, 2);
}

#[tokio::test]
async fn a_process_that_exits_between_requests_is_replaced_silently() {
    let sim = Sim::new(&world());
    // Five answers per process: the header (its import, then the rest on the import's env),
    // the statement and two tactics.
    let pool = sim.pool("--exit-after 5", 1);
    let root = start(&pool).await;
    let next = open(&pool, &root, "subst h").await;
    assert!(matches!(
        pool.apply(&root, "simp", DEADLINE).await.unwrap(),
        ApplyReply::Failed(_)
    ));
    // Let the sim exit while idle, as a REPL killed from outside would.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(proved(&pool, &next, "rfl").await, ["subst h", "rfl"]);
    let stats = pool.stats();
    assert_eq!((stats.spawned, stats.restarts), (2, 1));
}

#[tokio::test]
async fn the_data_limit_kills_a_runaway_process() {
    let sim = Sim::new(&world());
    let pool = sim.pool_with(
        ReplConfig {
            command: sim.command(""),
            memory_limit_bytes: Some(256 << 20),
            ..ReplConfig::default()
        },
        1,
    );
    let root = start(&pool).await;
    let error = pool.apply(&root, "balloon", DEADLINE).await.unwrap_err();
    assert!(
        matches!(&error, BridgeError::Exited { stderr_tail, .. }
            if stderr_tail.contains("memory allocation")),
        "{error:?}"
    );
    // The limit is no obstacle to ordinary work on the replacement.
    open(&pool, &root, "subst h").await;
    assert_eq!(pool.stats().restarts, 1);
}

#[tokio::test]
async fn a_restart_re_elaborates_the_header_exactly_once() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    for _ in 0..3 {
        let reply = pool.command(
            HEADER,
            "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  rfl",
            DEADLINE,
        );
        assert!(matches!(reply.await.unwrap(), CommandReply::Ran(_)));
    }
    assert_eq!(sim.header_count(), 1);
    let root = start(&pool).await;
    pool.apply(&root, "crash", DEADLINE).await.unwrap_err();
    for _ in 0..3 {
        let reply = pool.command(
            HEADER,
            "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  rfl",
            DEADLINE,
        );
        assert!(matches!(reply.await.unwrap(), CommandReply::Ran(_)));
    }
    assert_eq!(sim.header_count(), 2);
}

#[tokio::test]
async fn a_handle_from_before_a_crash_is_replayed_on_the_new_process() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    let root = start(&pool).await;
    let next = open(&pool, &root, "subst h").await;
    pool.apply(&root, "crash", DEADLINE).await.unwrap_err();
    let before = sim.requests().len();
    assert_eq!(proved(&pool, &next, "rfl").await, ["subst h", "rfl"]);
    // The new process got: the header (its import, then the rest on the import's env), the
    // statement, the replayed path, the new tactic.
    let after: Vec<Value> = sim.requests().split_off(before);
    assert_eq!(after.len(), 5, "{after:?}");
    assert_eq!(after[0], json!({"cmd": "import Mathlib\n"}));
    assert_eq!(after[1], json!({"cmd": "open Nat", "env": 0}));
    assert_eq!(after[2]["cmd"], STATEMENT);
    assert_eq!(after[3]["tactic"], "subst h");
    assert_eq!(after[4]["tactic"], "rfl");
    assert_eq!(
        after[4]["proofState"],
        after[3]["proofState"].as_u64().unwrap() + 1
    );
}

#[tokio::test]
async fn handles_move_between_two_concurrent_workers() {
    let sim = Sim::new(&world());
    let pool = Arc::new(sim.pool("", 2));
    let root = start(&pool).await;
    let next = open(&pool, &root, "subst h").await;
    // Keep the worker that holds `next` busy, then ask for `next` again elsewhere.
    let busy = tokio::spawn({
        let pool = Arc::clone(&pool);
        let next = next.clone();
        async move { pool.apply(&next, "busy_step", DEADLINE).await }
    });
    sim.received("busy_step").await;
    assert_eq!(proved(&pool, &next, "rfl").await, ["subst h", "rfl"]);
    let ApplyReply::Open(after_busy) = busy.await.unwrap().unwrap() else {
        panic!("busy_step leaves goals");
    };
    // Both workers hold their own copy of `next`'s path now; the busy one's child only lives
    // on the first worker, and continuing it there needs no replay.
    let replays_before = sim.tactics().len();
    assert_eq!(
        proved(&pool, &after_busy, "rfl").await,
        ["subst h", "busy_step", "rfl"]
    );
    assert_eq!(sim.tactics().len(), replays_before + 1);
    assert_eq!(
        sim.tactics().iter().filter(|t| *t == "subst h").count(),
        2,
        "the second worker replayed `subst h` once"
    );
    let stats = pool.stats();
    assert_eq!((stats.spawned, stats.restarts), (2, 0));
}

/// The same theorem as `t1` under other names: each its own search root.
fn world_of_three() -> Value {
    let mut world = world();
    for name in ["t2", "t3"] {
        world["theorems"].as_array_mut().unwrap().push(json!({
            "name": name,
            "statement": format!("theorem {name} (a b : ℕ) (h : a = b) : b = a"),
            "root": "s0"
        }));
    }
    world
}

async fn start_named(pool: &ReplPool, name: &str) -> ProofHandle {
    let statement = STATEMENT.replace("t1", name);
    match pool
        .start_proof(HEADER, &statement, DEADLINE)
        .await
        .unwrap()
    {
        StartReply::Started(handle) => handle,
        other => panic!("expected a started proof of {name}, got {other:?}"),
    }
}

/// Polls `first` once (enough to lease its worker: the lease takes an idle worker without
/// waiting), then runs both to the end, so `second` chooses among the workers `first` left.
async fn first_then<A: Future, B: Future>(first: A, second: B) -> (A::Output, B::Output) {
    let mut first = std::pin::pin!(first);
    let early = tokio::select! {
        biased;
        out = &mut first => Some(out),
        () = std::future::ready(()) => None,
    };
    match early {
        Some(out) => (out, second.await),
        None => tokio::join!(first, second),
    }
}

/// Two starts side by side: the first on slot 0, the second on slot 1.
async fn two_roots(pool: &ReplPool, first: &str, second: &str) -> (ProofHandle, ProofHandle) {
    first_then(start_named(pool, first), start_named(pool, second)).await
}

#[tokio::test]
async fn a_recheck_for_a_live_search_runs_on_its_worker_and_others_keep_theirs() {
    let sim = Sim::new(&world_of_three());
    let pool = sim.pool("", 2);
    let (a, b) = two_roots(&pool, "t1", "t2").await;
    let (_live_a, _live_b) = (pool.live_search(&a), pool.live_search(&b));
    assert_eq!(pool.stats().replay_requests, 0);
    // B found a proof and rechecks it while A steps on: each on its own worker. Without the
    // hint the recheck took the lowest slot, A's, and A rebuilt its root on B's.
    let recheck = [STATEMENT
        .replace("t1", "t2")
        .replace("sorry", "subst h\n  rfl")];
    let (sequence, next) = first_then(
        pool.command_sequence_near(&b, HEADER, &recheck, DEADLINE),
        pool.apply(&a, "subst h", DEADLINE),
    )
    .await;
    sequence.unwrap();
    assert!(matches!(next.unwrap(), ApplyReply::Open(_)));
    assert_eq!(pool.stats().replay_requests, 0, "{:?}", pool.stats());
    assert_eq!(sim.header_count(), 2);
}

#[tokio::test]
async fn a_new_theorem_starts_on_the_worker_of_a_search_that_ended() {
    let sim = Sim::new(&world_of_three());
    let pool = sim.pool("", 2);
    // B on slot 0 is still searching; A's search on slot 1 has ended.
    let (b, a) = two_roots(&pool, "t2", "t1").await;
    let live_b = pool.live_search(&b);
    drop(pool.live_search(&a));
    // C starts while B steps on. Without the mark the start took the lowest slot, B's, and B
    // rebuilt its root on A's old worker.
    let (c, next) = first_then(
        start_named(&pool, "t3"),
        pool.apply(&b, "subst h", DEADLINE),
    )
    .await;
    assert!(matches!(next.unwrap(), ApplyReply::Open(_)));
    assert_eq!(pool.stats().replay_requests, 0, "{:?}", pool.stats());
    // Once B ends too, its worker is as free as any: C's next step stays on C's worker.
    drop(live_b);
    let _live_c = pool.live_search(&c);
    open(&pool, &c, "subst h").await;
    assert_eq!(pool.stats().replay_requests, 0, "{:?}", pool.stats());
}

#[tokio::test]
async fn a_state_no_worker_holds_is_rebuilt_on_a_free_worker_not_a_live_searchs() {
    let sim = Sim::new(&world_of_three());
    let pool = sim.pool("", 2);
    let (b, a) = two_roots(&pool, "t2", "t1").await;
    let _live_b = pool.live_search(&b);
    drop(pool.live_search(&a));
    // C's root comes from elsewhere (a cache): no worker holds it, so it is rebuilt; on A's
    // old worker, not on B's, so B's next step needs no replay.
    let c = ProofHandle::root(
        HEADER,
        &STATEMENT.replace("t1", "t3"),
        vec![ROOT_GOAL.into()],
    );
    let _live_c = pool.live_search(&c);
    let (c_next, b_next) = first_then(
        pool.apply(&c, "subst h", DEADLINE),
        pool.apply(&b, "subst h", DEADLINE),
    )
    .await;
    assert!(matches!(c_next.unwrap(), ApplyReply::Open(_)));
    assert!(matches!(b_next.unwrap(), ApplyReply::Open(_)));
    assert_eq!(
        pool.stats().replay_requests,
        1,
        "only C's statement was run again: {:?}",
        pool.stats()
    );
}

#[tokio::test]
async fn many_tasks_share_two_workers() {
    let sim = Sim::new(&world());
    let pool = Arc::new(sim.pool("", 2));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                let root = start(&pool).await;
                let next = open(&pool, &root, "subst h").await;
                let slow = open(&pool, &next, "slow_step").await;
                proved(&pool, &slow, "rfl").await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), ["subst h", "slow_step", "rfl"]);
    }
    let stats = pool.stats();
    assert_eq!(stats.spawned, 2, "{stats:?}");
    assert_eq!(sim.header_count(), 2);
}

#[tokio::test]
async fn results_decided_before_a_crash_stay_valid() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    let root = start(&pool).await;
    let next = open(&pool, &root, "subst h").await;
    let proof = proved(&pool, &next, "rfl").await;
    pool.apply(&root, "crash", DEADLINE).await.unwrap_err();
    // The proof found before the crash still checks in command mode on the new process.
    let text = format!(
        "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  {}",
        proof.join("\n  ")
    );
    let CommandReply::Ran(check) = pool.command(HEADER, &text, DEADLINE).await.unwrap() else {
        panic!("the header stays accepted");
    };
    assert!(!check.has_errors(), "{check:?}");
    // And every handle from before the crash is still usable.
    assert_eq!(next.goals(), [NEXT_GOAL]);
    assert_eq!(proved(&pool, &next, "rfl").await, proof);
}

#[tokio::test]
async fn a_repl_that_cannot_start_fails_each_request_once() {
    let sim = Sim::new(&world());
    let pool = sim.pool("--crash-on-start", 1);
    for _ in 0..2 {
        let error = pool
            .start_proof(HEADER, STATEMENT, DEADLINE)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, BridgeError::Exited { stderr_tail, .. }
                if stderr_tail.contains("simulated crash on start")),
            "{error:?}"
        );
    }
    let stats = pool.stats();
    assert_eq!((stats.spawned, stats.restarts), (2, 2));
}

#[tokio::test]
async fn a_replay_that_no_longer_matches_is_reported() {
    // The first process sees a world where `subst h` works; every later one does not.
    let sim = Sim::new(&world());
    let mut changed = world();
    changed["transitions"][0]["outcome"] = json!({"error": "subst failed"});
    let changed_path = sim.dir.path().join("changed.json");
    std::fs::write(&changed_path, changed.to_string()).unwrap();
    let marker = sim.dir.path().join("started-once");
    let command = format!(
        "if [ -e '{m}' ]; then exec {later}; else touch '{m}'; exec {first}; fi",
        m = marker.display(),
        later = sim_command(&changed_path, ""),
        first = sim_command(&sim.world(), ""),
    );
    let pool = sim.pool_with(
        ReplConfig {
            command,
            ..ReplConfig::default()
        },
        1,
    );
    let root = start(&pool).await;
    let next = open(&pool, &root, "subst h").await;
    pool.apply(&root, "crash", DEADLINE).await.unwrap_err();
    let error = pool.apply(&next, "rfl", DEADLINE).await.unwrap_err();
    assert!(
        matches!(&error, BridgeError::ReplayDiverged { at, reason }
            if at.contains("subst h") && reason.contains("subst failed")),
        "{error:?}"
    );
    assert!(!error.kills_process());
    // The process itself is fine.
    open(&pool, &root, "grow").await;
    assert_eq!(pool.stats().restarts, 1);
}

#[tokio::test]
async fn shutdown_refuses_later_requests() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 2);
    start(&pool).await;
    pool.shutdown().await;
    let error = pool
        .start_proof(HEADER, STATEMENT, DEADLINE)
        .await
        .unwrap_err();
    assert!(matches!(error, BridgeError::PoolClosed), "{error:?}");
}

/// Waits until the pool's counters satisfy `ready` (spares warm in the background); panics if
/// they never do. A bound for a failing test, not a timed assertion.
async fn until(pool: &ReplPool, what: &str, ready: impl Fn(&PoolStats) -> bool) {
    for _ in 0..2000 {
        if ready(&pool.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never {what}: {:?}", pool.stats());
}

#[tokio::test]
async fn a_process_killed_at_a_deadline_is_replaced_by_a_warm_spare() {
    let sim = Sim::new(&world());
    // A slow header makes a cold replacement costly; what is asserted is who paid it.
    let pool = sim.pool_with_spares("--header-delay-ms 200 --hang-on-tactic stuck", 1, 1);
    let root = start(&pool).await;
    until(&pool, "one spare warm", |s| s.spares_warmed == 1).await;
    let error = pool.apply(&root, "stuck", SHORT).await.unwrap_err();
    assert!(matches!(error, BridgeError::Timeout { .. }), "{error:?}");
    let stats = pool.stats();
    assert_eq!(
        (stats.timeouts, stats.restarts, stats.spares_used),
        (1, 1, 1)
    );
    // The next request runs on the spare, which holds the header already: no request waits
    // for a header again, and the state is replayed on it.
    let next = open(&pool, &root, "subst h").await;
    assert_eq!(proved(&pool, &next, "rfl").await, ["subst h", "rfl"]);
    assert_eq!(pool.stats().headers_elaborated, 1);
    // The shelf is refilled in the background, and the refill replaces the next lost process.
    until(&pool, "the spare refilled", |s| s.spares_warmed == 2).await;
    pool.apply(&root, "crash", DEADLINE).await.unwrap_err();
    open(&pool, &root, "subst h").await;
    until(&pool, "the second refill", |s| s.spares_warmed == 3).await;
    let stats = pool.stats();
    assert_eq!(
        (
            stats.restarts,
            stats.spares_used,
            stats.headers_elaborated,
            stats.spawned
        ),
        (2, 2, 1, 4),
        "{stats:?}"
    );
    // Every header the simulator saw: the first worker's and the three spares'.
    assert_eq!(sim.header_count(), 4);
    // One worker and one spare run; the two killed processes are gone.
    assert_eq!(sim.running().len(), 2, "{stats:?}");
    pool.shutdown().await;
    until(&pool, "no process left", |_| sim.running().is_empty()).await;
}

/// Without spares, a slot whose process was killed at a deadline starts a new one at once and
/// elaborates the hot header in the background: it rejoins as a warm worker, and no request
/// pays that header (it used to sit headerless until a request did).
#[tokio::test]
async fn without_spares_a_lost_process_is_respawned_warm_in_the_background() {
    let sim = Sim::new(&world());
    let pool = sim.pool_with_spares("--hang-on-tactic stuck", 1, 0);
    let root = start(&pool).await;
    pool.apply(&root, "stuck", SHORT).await.unwrap_err();
    until(&pool, "the slot respawned", |s| s.respawned == 1).await;
    let next = open(&pool, &root, "subst h").await;
    assert_eq!(proved(&pool, &next, "rfl").await, ["subst h", "rfl"]);
    let stats = pool.stats();
    assert_eq!(
        (
            stats.spawned,
            stats.restarts,
            stats.headers_elaborated,
            stats.respawned
        ),
        (2, 1, 1, 1),
        "{stats:?}"
    );
    assert_eq!((stats.spares_warmed, stats.spares_used), (0, 0));
    // The first process's header and the respawn's.
    assert_eq!(sim.header_count(), 2);
    assert_eq!(sim.running().len(), 1);
    pool.shutdown().await;
    until(&pool, "no process left", |_| sim.running().is_empty()).await;
}

/// A prewarm starts processes on empty slots and elaborates the header on them in the
/// background: the first requests pay no header, and a slot never gets a second process.
#[tokio::test]
async fn a_prewarmed_pool_elaborates_the_header_before_any_request_needs_it() {
    let sim = Sim::new(&world());
    let pool = sim.pool_with_spares("", 3, 0);
    assert_eq!(pool.prewarm(HEADER, 2), 2);
    until(&pool, "two processes started", |s| s.spawned == 2).await;
    let root = start(&pool).await;
    let next = open(&pool, &root, "subst h").await;
    assert_eq!(proved(&pool, &next, "rfl").await, ["subst h", "rfl"]);
    until(&pool, "both headers elaborated", |_| {
        sim.header_count() == 2
    })
    .await;
    let stats = pool.stats();
    assert_eq!(
        (stats.spawned, stats.headers_elaborated, stats.respawned),
        (2, 0, 0),
        "{stats:?}"
    );
    // Only the slot with neither a process nor a warm-up is left to prewarm.
    assert_eq!(pool.prewarm(HEADER, 3), 1);
    until(&pool, "the third process started", |s| s.spawned == 3).await;
    assert_eq!(pool.prewarm(HEADER, 3), 0);
    pool.shutdown().await;
    until(&pool, "no process left", |_| sim.running().is_empty()).await;
}

/// A respawn still elaborating its header when the pool shuts down (or is dropped) dies with
/// it; one on a header the next request does not want makes room for that request's process.
#[tokio::test]
async fn a_respawn_under_way_is_killed_by_shutdown_and_never_runs_beside_its_slots_process() {
    let sim = Sim::new(&world());
    let slow = "--header-delay-ms 300 --hang-on-tactic stuck";
    let pool = sim.pool_with_spares(slow, 1, 0);
    let root = start(&pool).await;
    pool.apply(&root, "stuck", SHORT).await.unwrap_err();
    pool.shutdown().await;
    until(&pool, "no process left", |_| sim.running().is_empty()).await;

    let pool = sim.pool_with_spares(slow, 1, 0);
    let root = start(&pool).await;
    pool.apply(&root, "stuck", SHORT).await.unwrap_err();
    // Another header: the respawn on the first is cancelled before a process starts for it.
    let other = "import Mathlib\nopen Nat Real";
    let body = "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  rfl";
    pool.command(other, body, DEADLINE).await.unwrap();
    assert_eq!(sim.running().len(), 1, "{:?}", pool.stats());
    assert_eq!(pool.stats().headers_elaborated, 2);
    drop(pool);
    until_no_process(&sim).await;
}

#[tokio::test]
async fn spares_follow_the_hot_header_within_their_budget() {
    let sim = Sim::new(&world());
    let pool = sim.pool_with_spares("", 1, 1);
    let body = "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  rfl";
    pool.command(HEADER, body, DEADLINE).await.unwrap();
    until(&pool, "a spare on the first header", |s| {
        s.spares_warmed == 1
    })
    .await;
    // The worker moves to another header: the spare on the first is retired for one on it.
    let other = "import Mathlib\nopen Nat Real";
    pool.command(other, body, DEADLINE).await.unwrap();
    until(&pool, "a spare on the second header", |s| {
        s.spares_warmed == 2
    })
    .await;
    until(&pool, "the first spare retired", |_| {
        sim.running().len() == 2
    })
    .await;
    // A lost process is replaced by the spare on the header it held.
    let root = match pool.start_proof(other, STATEMENT, DEADLINE).await.unwrap() {
        StartReply::Started(handle) => handle,
        reply => panic!("{reply:?}"),
    };
    pool.apply(&root, "crash", DEADLINE).await.unwrap_err();
    assert_eq!(pool.stats().spares_used, 1);
    open(&pool, &root, "subst h").await;
    // The worker imported once: the second header shares the first's import (the spares'
    // elaborations are not counted).
    assert_eq!(pool.stats().headers_elaborated, 1);
}

#[tokio::test]
async fn shutdown_kills_warm_and_warming_spares() {
    let sim = Sim::new(&world());
    let pool = sim.pool_with_spares("--header-delay-ms 100", 1, 3);
    start(&pool).await;
    until(&pool, "a spare warm", |s| s.spares_warmed >= 1).await;
    pool.shutdown().await;
    until(&pool, "no process left", |_| sim.running().is_empty()).await;
    // Dropping a pool kills its spares too.
    let pool = sim.pool_with_spares("", 1, 2);
    start(&pool).await;
    until(&pool, "two spares warm", |s| s.spares_warmed == 2).await;
    assert_eq!(sim.running().len(), 3);
    drop(pool);
    until_no_process(&sim).await;
}

/// Waits until no process the pool started runs (after the pool was dropped); panics if one
/// outlives it. A bound for a failing test, not a timed assertion.
async fn until_no_process(sim: &Sim) {
    for _ in 0..2000 {
        if sim.running().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("processes outlived their pool: {:?}", sim.running());
}

#[tokio::test]
async fn a_preloaded_state_is_replayed_on_idle_warm_workers_so_tactics_on_it_need_no_replay() {
    let sim = Sim::new(&world());
    let pool = Arc::new(sim.pool("", 4));
    // Three workers warm (each holds the root), the fourth never started.
    let roots = start_on_three_workers(&pool).await;
    let next = open(&pool, &roots, "subst h").await;
    assert_eq!(pool.stats().spawned, 3);
    // Asked for four holders: the one that produced `next` counts, two warm workers replay it,
    // the cold one is left alone.
    let replays = pool.preload(&next, 4, DEADLINE);
    assert_eq!(replays.len(), 2);
    for replay in replays {
        replay.await.unwrap();
    }
    let replayed = |sim: &Sim| sim.tactics().iter().filter(|t| *t == "subst h").count();
    assert_eq!(replayed(&sim), 3, "produced once, replayed twice");
    // Three tactics on `next` side by side find it held wherever they run.
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (pool, next) = (Arc::clone(&pool), next.clone());
            tokio::spawn(async move { proved(&pool, &next, "rfl").await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), ["subst h", "rfl"]);
    }
    assert_eq!(replayed(&sim), 3, "no tactic replayed the path");
    assert_eq!(pool.stats().spawned, 3, "preloading starts no process");
    // Held by three already: nothing to do.
    assert!(pool.preload(&next, 3, DEADLINE).is_empty());
}

/// A header's import block is imported once per process and the lines after it run as a
/// command on that env: headers that share their imports (the editor's headers for two
/// declarations of one file) import once, and an error after the imports is reported at its
/// line in the whole header.
#[tokio::test]
async fn headers_sharing_their_imports_import_once_and_an_error_after_them_keeps_its_line() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 1);
    let first = "import Mathlib\nopen Nat\n";
    let second = "import Mathlib\nopen Nat\n-- the header of a later declaration\n";
    for header in [first, second, first] {
        match pool.start_proof(header, STATEMENT, DEADLINE).await.unwrap() {
            StartReply::Started(handle) => assert_eq!(handle.goals(), [ROOT_GOAL]),
            other => panic!("expected a started proof on {header:?}, got {other:?}"),
        }
    }
    assert_eq!(sim.header_count(), 1, "one import for both headers");
    assert_eq!(pool.stats().headers_elaborated, 1);
    let on_an_env = |cmd: &str| {
        sim.requests()
            .iter()
            .filter(|r| r["cmd"] == cmd && r.get("env").is_some())
            .count()
    };
    assert_eq!(on_an_env("open Nat\n"), 1);
    assert_eq!(
        on_an_env("open Nat\n-- the header of a later declaration\n"),
        1
    );
    // Line 4 of the whole header, line 3 of the command after the imports.
    let broken = "import Mathlib\nopen Nat\n\ndef helper : Nat := 1\n";
    match pool
        .command(broken, "#print axioms t1", DEADLINE)
        .await
        .unwrap()
    {
        CommandReply::HeaderRejected(messages) => {
            assert_eq!(messages.len(), 1, "{messages:?}");
            assert_eq!(messages[0].pos.line, 4, "{messages:?}");
            assert_eq!(messages[0].end_pos.map(|p| p.line), Some(4), "{messages:?}");
        }
        other => panic!("expected the header refused, got {other:?}"),
    }
    assert_eq!(sim.header_count(), 1, "still one import");
    pool.shutdown().await;
}

/// A header whose imports a worker already holds goes to that worker, not to the first idle
/// one: there the lines after the imports run as one command instead of a second import (the
/// editor's job on another declaration of a file, with another file's REPL beside it).
#[tokio::test]
async fn a_header_goes_to_the_worker_holding_its_imports() {
    let sim = Sim::new(&world());
    let pool = sim.pool("", 2);
    // Slot 0 imports Aesop and slot 1 Mathlib, at once, so each takes one.
    let (aesop, mathlib) = tokio::join!(
        pool.command("import Aesop\n", "#print axioms t1", DEADLINE),
        pool.command("import Mathlib\nopen Nat\n", "#print axioms t1", DEADLINE),
    );
    aesop.unwrap();
    mathlib.unwrap();
    assert_eq!(sim.header_count(), 2);
    // Slot 0 is the first idle one; slot 1 holds the imports.
    pool.command("import Mathlib\nopen Real\n", "#print axioms t1", DEADLINE)
        .await
        .unwrap();
    assert_eq!(
        sim.header_count(),
        2,
        "no third import: {:?}",
        sim.requests()
    );
    assert_eq!(pool.stats().headers_elaborated, 2);
    pool.shutdown().await;
}

/// Work ahead of need (`try_apply`) takes a worker only when one is idle at once and warm: it
/// never waits in the queue for one and never starts a process or elaborates a header. A future
/// dropped before it runs gives its worker back.
#[tokio::test]
async fn try_apply_takes_only_a_warm_idle_worker_and_a_dropped_one_gives_it_back() {
    let sim = Sim::new(&world());
    let pool = Arc::new(sim.pool("", 2));
    // One worker warm and holding `next`; the other never started.
    let root = start(&pool).await;
    let next = open(&pool, &root, "subst h").await;
    assert_eq!(pool.stats().spawned, 1);
    let run = pool
        .try_apply(&next, "rfl", DEADLINE)
        .expect("the warm worker is idle");
    assert!(
        pool.try_apply(&next, "rfl", DEADLINE).is_none(),
        "the only other worker has no process"
    );
    drop(run);
    let run = pool
        .try_apply(&next, "rfl", DEADLINE)
        .expect("the dropped future gave its worker back");
    match run.await.unwrap() {
        ApplyReply::Proved(path) => assert_eq!(path.tactics, ["subst h", "rfl"]),
        other => panic!("expected `rfl` to finish the proof, got {other:?}"),
    }
    assert_eq!(
        pool.stats().spawned,
        1,
        "work ahead of need started no process"
    );
    assert_eq!(
        sim.tactics().iter().filter(|t| *t == "subst h").count(),
        1,
        "ran on the worker holding the state: no replay"
    );
    pool.shutdown().await;
}

/// Another live search's worker is not preloaded: it would rebuild its own state on its next
/// step. Once that search has ended, its worker may be used.
#[tokio::test]
async fn a_preload_leaves_the_worker_of_another_live_search_alone() {
    let sim = Sim::new(&world_of_three());
    let pool = Arc::new(sim.pool("", 2));
    let (a, b) = two_roots(&pool, "t1", "t2").await;
    let live_a = pool.live_search(&a);
    let _live_b = pool.live_search(&b);
    let next = open(&pool, &b, "subst h").await;
    assert!(
        pool.preload(&next, 2, DEADLINE).is_empty(),
        "A's worker is A's"
    );
    drop(live_a);
    let replays = pool.preload(&next, 2, DEADLINE);
    assert_eq!(replays.len(), 1, "A ended: its worker is free");
    for replay in replays {
        replay.await.unwrap();
    }
}

/// Starts the proof on three workers at once, so each holds the root; returns the root.
async fn start_on_three_workers(pool: &Arc<ReplPool>) -> ProofHandle {
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let pool = Arc::clone(pool);
            tokio::spawn(async move {
                let busy = pool.start_proof(HEADER, STATEMENT, DEADLINE);
                match busy.await.unwrap() {
                    StartReply::Started(handle) => handle,
                    other => panic!("expected a started proof, got {other:?}"),
                }
            })
        })
        .collect();
    let mut root = None;
    for start in starts {
        root = Some(start.await.unwrap());
    }
    root.unwrap()
}
