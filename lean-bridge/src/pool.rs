//! `ReplPool`: a bounded set of REPL workers shared by many tasks. It elaborates each import
//! header once per process, replaces dead processes, recycles bloated ones, and rebuilds proof
//! states by replay so that callers never care which process holds a state.
//!
//! Each worker is one slot: at most one process, its header environments and its proof-state
//! ids. A slot is leased to one task at a time, which keeps every process strictly sequential.
//! Beside the slots, `spares.rs` keeps up to `spares` processes warm on the hot header; a slot
//! that loses its process takes one of them at once.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::BridgeError;
use crate::header;
use crate::process::{ReplConfig, ReplProcess, SendFailure};
use crate::proof::{ProofHandle, ProofPath, Root, StateCache};
use crate::protocol::{
    CommandRequest, CommandResponse, EnvId, Message, Pos, ProofStateId, ProofStepRequest, Request,
    Response, Severity, TacticOutcome, classify_tactic,
};
use crate::spares::{Respawn, Spare, Spares};

/// How many workers to run and how to start each one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The most processes alive at once; 0 is read as 1. Size by memory, not cores: one REPL
    /// with Mathlib needs several GB. Default: 1.
    pub workers: usize,
    /// How each process is started and supervised.
    pub repl: ReplConfig,
    /// Deadline for elaborating a header (an `import Mathlib` takes tens of seconds), which is
    /// separate from the per-request deadlines callers pass. Default: 600 s.
    pub header_deadline: Duration,
    /// Warm spare processes kept beside the workers, each with the hot import header already
    /// elaborated: a worker whose process is killed (a deadline, a crash) or recycled takes
    /// one at once, and another is warmed in the background. They count against memory like
    /// workers: the pool runs at most `workers + spares` processes. Default: 0 (none; a lost
    /// process is replaced on the slot's next use, which elaborates the header again).
    pub spares: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: 1,
            repl: ReplConfig::default(),
            header_deadline: Duration::from_secs(600),
            spares: 0,
        }
    }
}

/// The answer to [`ReplPool::command`].
#[derive(Debug, Clone, PartialEq)]
pub enum CommandReply {
    /// The body ran on the header's environment. Lean errors are inside, as messages.
    Ran(CommandResponse),
    /// The header itself had errors; these are all its messages.
    HeaderRejected(Vec<Message>),
}

/// The answer to [`ReplPool::command_sequence`].
#[derive(Debug, Clone, PartialEq)]
pub enum SequenceReply {
    /// Every body ran, each on the environment the one before it produced; one answer each.
    Ran(Vec<CommandResponse>),
    /// The header itself had errors; these are all its messages.
    HeaderRejected(Vec<Message>),
}

/// The answer to [`ReplPool::start_proof`].
#[derive(Debug, Clone, PartialEq)]
pub enum StartReply {
    /// The first sorry's proof state.
    Started(ProofHandle),
    /// The statement had errors, or no sorry came back with a proof state; the statement's
    /// messages.
    Rejected(Vec<Message>),
    /// The header had errors; its messages.
    HeaderRejected(Vec<Message>),
}

/// The answer to [`ReplPool::apply`], classified by the finished-proof rule.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyReply {
    /// A new state with open goals.
    Open(ProofHandle),
    /// The proof is complete in tactic mode; recheck it in command mode before trusting it.
    Proved(ProofPath),
    /// Lean rejected the tactic, or it closed the goals without a complete proof.
    Failed(String),
}

/// Counters since the pool was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Processes started.
    pub spawned: u64,
    /// Processes discarded because they died, timed out, broke the protocol or were found dead
    /// while idle; each slot takes a warm spare, else starts a fresh process at once in the
    /// background on the hot header (`respawned`).
    pub restarts: u64,
    /// Healthy processes retired for having served `max_requests` or grown past
    /// `max_rss_anon_bytes`.
    pub recycled: u64,
    /// Requests that hit their deadline.
    pub timeouts: u64,
    /// Requests sent (header elaborations and replay steps included, spares' too).
    pub requests: u64,
    /// Header imports a request waited for, on a worker's process: a header's import block,
    /// once per process for every header that starts with it (the lines after the imports run
    /// as a command on the import's env, and are not counted). A spare's happen in the
    /// background and are not counted here.
    pub headers_elaborated: u64,
    /// Spare processes that elaborated their header and joined the shelf.
    pub spares_warmed: u64,
    /// Workers that took a warm spare in place of a lost process (or of none).
    pub spares_used: u64,
    /// Slots that lost their process (without a spare to take) and got a new one started at
    /// once in the background, its header elaborated before any request needed it; counted
    /// when the header is ready. Its elaboration is not in `headers_elaborated`.
    pub respawned: u64,
    /// Round trips spent rebuilding a proof state on a worker that lacked it: statements run
    /// again and path steps replayed (included in `requests`).
    pub replay_requests: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spawned: AtomicU64,
    restarts: AtomicU64,
    recycled: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) requests: AtomicU64,
    headers_elaborated: AtomicU64,
    pub(crate) spares_warmed: AtomicU64,
    pub(crate) spares_used: AtomicU64,
    pub(crate) respawned: AtomicU64,
    replay_requests: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A pool of REPL processes, shareable across tasks (wrap it in an `Arc`).
///
/// Processes start lazily. Nothing is retried on the caller's behalf, with one exception: a
/// process found dead before a request reached it is replaced silently. Any error that kills a
/// process ([`BridgeError::kills_process`]) discards it, so no caller sees a dead process twice.
/// Dropping the pool kills every process, spares included.
pub struct ReplPool {
    config: PoolConfig,
    slots: Mutex<Slots>,
    changed: Notify,
    counters: Arc<Counters>,
    spares: Spares,
}

impl Drop for ReplPool {
    fn drop(&mut self) {
        // Ready spares die with their processes; warm-ups are aborted, which drops theirs.
        drop(self.spares.close());
    }
}

struct Slots {
    idle: Vec<Worker>,
    leased: usize,
    /// Requests waiting for a worker ([`ReplPool::try_apply`] takes none while any waits).
    waiting: usize,
    closed: bool,
    /// The roots of the searches under way ([`ReplPool::live_search`]), each with how many
    /// searches of it run.
    live: HashMap<Arc<Root>, usize>,
}

impl Slots {
    /// Takes the idle worker that suits `op` best among those `eligible` allows.
    fn take_best(&mut self, op: &Op<'_>, eligible: impl Fn(&Worker) -> bool) -> Option<Worker> {
        let best = (0..self.idle.len())
            .filter(|&i| eligible(&self.idle[i]))
            .max_by_key(|&i| {
                let worker = &self.idle[i];
                (op.score(worker, &self.live), Reverse(worker.slot))
            })?;
        self.leased += 1;
        Some(self.idle.swap_remove(best))
    }

    /// Idle slots whose background respawn is ready take its process, so they are chosen as
    /// the warm workers they now are.
    fn absorb_respawns(&mut self, spares: &Spares) {
        for worker in &mut self.idle {
            let Some(respawn) = worker.respawn.as_mut() else {
                continue;
            };
            if let std::task::Poll::Ready(warmed) = respawn.try_take() {
                worker.respawn = None;
                if let Some(spare) = warmed {
                    worker.install_respawned(spare, spares);
                }
            }
        }
    }
}

/// A search under way, from [`ReplPool::live_search`]; dropping it ends the claim.
#[must_use = "the search counts as live only while this is held"]
pub struct LiveSearch<'p> {
    pool: &'p ReplPool,
    root: Arc<Root>,
}

impl Drop for LiveSearch<'_> {
    fn drop(&mut self) {
        let mut slots = self.pool.lock();
        if let Some(count) = slots.live.get_mut(&self.root) {
            *count -= 1;
            if *count == 0 {
                slots.live.remove(&self.root);
            }
        }
    }
}

/// What a header's elaboration left on one process.
#[derive(Debug, Clone)]
pub(crate) enum HeaderEnv {
    Ready(EnvId),
    Rejected(Vec<Message>),
}

/// Runs one header command on a process: a worker's, or a spare's as it warms.
pub(crate) trait HeaderCommand {
    /// What a failed round trip gives.
    type Error;
    /// `text` as a command on `env`, or without one (an import).
    fn run(
        &mut self,
        text: &str,
        env: Option<EnvId>,
    ) -> impl std::future::Future<Output = Result<HeaderEnv, Self::Error>> + Send;
}

/// `header`'s env, elaborated through `process`. A header that splits
/// ([`header::split_imports`]) is its import block without an env (unless `known` is that
/// block's env already), then the rest as a command on it, a rejection of the rest moved down
/// to the whole header's lines; one that does not is one command. Also returns the import block
/// and its env, when split. The pool's workers and its spares elaborate headers through this
/// alone.
pub(crate) async fn elaborate_in_steps<P: HeaderCommand>(
    process: &mut P,
    header: &str,
    known: Option<HeaderEnv>,
) -> Result<(HeaderEnv, Option<(String, HeaderEnv)>), P::Error> {
    let Some((imports, rest)) = header::split_imports(header) else {
        return Ok((process.run(header, None).await?, None));
    };
    let base = match known {
        Some(env) => env,
        None => process.run(imports, None).await?,
    };
    let env = match &base {
        HeaderEnv::Ready(env) if !rest.is_empty() => process
            .run(rest, Some(*env))
            .await?
            .moved_down(header::lines_before_rest(imports)),
        // Nothing after the imports, or the imports refused.
        base => base.clone(),
    };
    Ok((env, Some((imports.to_owned(), base))))
}

impl HeaderEnv {
    /// A rejection's messages `lines` lines further down: Lean numbered them from the first
    /// line of a command that starts that far into the header.
    pub(crate) fn moved_down(self, lines: u32) -> HeaderEnv {
        match self {
            HeaderEnv::Rejected(mut messages) => {
                for message in &mut messages {
                    message.pos.line = message.pos.line.saturating_add(lines);
                    if let Some(end) = &mut message.end_pos {
                        end.line = end.line.saturating_add(lines);
                    }
                }
                HeaderEnv::Rejected(messages)
            }
            ready => ready,
        }
    }
}

/// One slot: at most one process and what that process holds.
struct Worker {
    slot: usize,
    process: Option<ReplProcess>,
    headers: HashMap<String, HeaderEnv>,
    states: StateCache,
    /// The root of the last proof state this process started or stepped: while that search is
    /// live, its next step most likely wants this worker.
    last_root: Option<Arc<Root>>,
    /// The replacement for a process this slot lost, warming in the background; only while
    /// the slot has no process.
    respawn: Option<Respawn>,
}

/// Why a worker's process is thrown away.
enum Discard {
    Dead,
    Recycled,
}

impl ReplPool {
    /// A pool with `config.workers` empty slots; no process starts until a request needs one.
    pub fn new(config: PoolConfig) -> ReplPool {
        let workers = config.workers.max(1);
        let idle = (0..workers)
            .map(|slot| Worker {
                slot,
                process: None,
                headers: HashMap::new(),
                states: StateCache::default(),
                last_root: None,
                respawn: None,
            })
            .collect();
        let counters = Arc::new(Counters::default());
        ReplPool {
            spares: Spares::new(&config, Arc::clone(&counters)),
            config,
            slots: Mutex::new(Slots {
                idle,
                leased: 0,
                waiting: 0,
                closed: false,
                live: HashMap::new(),
            }),
            changed: Notify::new(),
            counters,
        }
    }

    /// The configuration the pool was built with.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PoolStats {
        let c = &self.counters;
        PoolStats {
            spawned: c.spawned.load(Ordering::Relaxed),
            restarts: c.restarts.load(Ordering::Relaxed),
            recycled: c.recycled.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            headers_elaborated: c.headers_elaborated.load(Ordering::Relaxed),
            spares_warmed: c.spares_warmed.load(Ordering::Relaxed),
            spares_used: c.spares_used.load(Ordering::Relaxed),
            respawned: c.respawned.load(Ordering::Relaxed),
            replay_requests: c.replay_requests.load(Ordering::Relaxed),
        }
    }

    /// Runs `body` as a command on the environment of `header` (elaborated once per process,
    /// under `header_deadline`). `deadline` bounds the body's round trip.
    pub async fn command(
        &self,
        header: &str,
        body: &str,
        deadline: Duration,
    ) -> Result<CommandReply, BridgeError> {
        match self
            .run(&Op::Command {
                header,
                body,
                deadline,
            })
            .await?
        {
            Done::Command(reply) => Ok(reply),
            _ => unreachable!("a command operation answers with a command reply"),
        }
    }

    /// Runs `bodies` one after another on one process: the first on the environment of
    /// `header`, each later one on the environment its predecessor produced, so a later command
    /// sees exactly what the earlier ones declared and its answer is its own. `deadline` bounds
    /// each round trip.
    pub async fn command_sequence(
        &self,
        header: &str,
        bodies: &[String],
        deadline: Duration,
    ) -> Result<SequenceReply, BridgeError> {
        self.sequence_near(None, header, bodies, deadline).await
    }

    /// [`ReplPool::command_sequence`] for a live search's sake (the recheck of a proof it
    /// found, say): it runs on the worker `search`'s last step ran on when that one is idle,
    /// so the other searches keep theirs. The answers are the same on any worker.
    pub async fn command_sequence_near(
        &self,
        search: &ProofHandle,
        header: &str,
        bodies: &[String],
        deadline: Duration,
    ) -> Result<SequenceReply, BridgeError> {
        self.sequence_near(Some(search), header, bodies, deadline)
            .await
    }

    async fn sequence_near(
        &self,
        near: Option<&ProofHandle>,
        header: &str,
        bodies: &[String],
        deadline: Duration,
    ) -> Result<SequenceReply, BridgeError> {
        match self
            .run(&Op::Sequence {
                header,
                bodies,
                near,
                deadline,
            })
            .await?
        {
            Done::Sequence(reply) => Ok(reply),
            _ => unreachable!("a sequence operation answers with a sequence reply"),
        }
    }

    /// Marks the search rooted at `root`'s root as under way until the guard drops. Only the
    /// choice of worker changes: while it is live, the worker its last step ran on is kept for
    /// it, and operations that need no particular worker (a new theorem's statement, a
    /// command, another search's state that no worker holds) take a worker whose search has
    /// ended, or none ran, before one a live search is using; without the mark a finished
    /// search's worker and a busy one's look alike, and taking the wrong one makes that
    /// search replay its state elsewhere.
    pub fn live_search(&self, root: &ProofHandle) -> LiveSearch<'_> {
        let root = Arc::clone(root.root_key());
        *self.lock().live.entry(Arc::clone(&root)).or_default() += 1;
        LiveSearch { pool: self, root }
    }

    /// Elaborates `statement_with_sorry` on `header`'s environment and returns the proof state
    /// of its first sorry.
    pub async fn start_proof(
        &self,
        header: &str,
        statement_with_sorry: &str,
        deadline: Duration,
    ) -> Result<StartReply, BridgeError> {
        self.start_proof_at(header, statement_with_sorry, None, deadline)
            .await
    }

    /// Elaborates `command` (a whole declaration, say, with several sorries) on `header`'s
    /// environment and returns the proof state of the sorry that starts at `at` (line 1-based,
    /// column in codepoints, relative to `command`, as the REPL reports it), or of the first
    /// sorry when `at` is `None`. A command with errors is rejected, as a statement is.
    pub async fn start_proof_at(
        &self,
        header: &str,
        command: &str,
        at: Option<Pos>,
        deadline: Duration,
    ) -> Result<StartReply, BridgeError> {
        let op = Op::Start {
            header,
            statement: command,
            at,
            deadline,
        };
        match self.run(&op).await? {
            Done::Start(reply) => Ok(reply),
            _ => unreachable!("a start operation answers with a start reply"),
        }
    }

    /// Runs `tactic` on the state `state` names, on whichever idle worker suits best: one
    /// holding the state, else one holding more of its path, else one with its header, else
    /// any. A worker that lacks the state rebuilds it by re-running the statement and replaying
    /// the path; each replayed round trip has `deadline` too.
    pub async fn apply(
        &self,
        state: &ProofHandle,
        tactic: &str,
        deadline: Duration,
    ) -> Result<ApplyReply, BridgeError> {
        let op = Op::Apply {
            state,
            tactic,
            deadline,
        };
        match self.run(&op).await? {
            Done::Apply(reply) => Ok(reply),
            _ => unreachable!("an apply operation answers with an apply reply"),
        }
    }

    /// Rebuilds `state` ahead of need on idle workers that lack it, so that tactics about to run
    /// on it side by side find it held instead of each replaying its path first: at most `want`
    /// idle workers hold it afterwards, counting those that already do, preferring those that
    /// hold most of its path. Only a worker with a live process and the state's header ready is
    /// used (a preload never starts a process or elaborates a header), never one another live
    /// search ([`ReplPool::live_search`]) is using, and none is waited for:
    /// busy workers are left alone. Each replay runs as a task on the current runtime (call
    /// from within it), holding its worker like any request; the handles may be dropped. A
    /// replay that fails is only logged: a tactic that needs the state replays it again and
    /// reports what went wrong.
    pub fn preload(
        self: &Arc<Self>,
        state: &ProofHandle,
        want: usize,
        deadline: Duration,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let chosen: Vec<Worker> = {
            let mut slots = self.lock();
            if slots.closed {
                return Vec::new();
            }
            slots.absorb_respawns(&self.spares);
            let held = |w: &Worker| w.states.longest_prefix(state).map(|(depth, _)| depth);
            let holds = |w: &Worker| held(w) == Some(state.depth());
            let holders = slots.idle.iter().filter(|w| holds(w)).count();
            let mut fit: Vec<usize> = (0..slots.idle.len())
                .filter(|&i| {
                    let w = &slots.idle[i];
                    // Another live search's worker stays its own (`Claim::Others`).
                    let claimed = w.last_root.as_ref().is_some_and(|last| {
                        last != state.root_key() && slots.live.contains_key(last)
                    });
                    w.process.is_some()
                        && matches!(w.headers.get(state.header()), Some(HeaderEnv::Ready(_)))
                        && !holds(w)
                        && !claimed
                })
                .collect();
            fit.sort_by_key(|&i| (Reverse(held(&slots.idle[i])), slots.idle[i].slot));
            fit.truncate(want.saturating_sub(holders));
            // Largest index first, so each `swap_remove` leaves the others where they were.
            fit.sort_unstable_by(|a, b| b.cmp(a));
            let taken: Vec<Worker> = fit.into_iter().map(|i| slots.idle.swap_remove(i)).collect();
            slots.leased += taken.len();
            taken
        };
        chosen
            .into_iter()
            .map(|worker| {
                let (pool, state) = (Arc::clone(self), state.clone());
                tokio::spawn(async move {
                    let mut lease = Lease {
                        pool: &pool,
                        worker: Some(worker),
                    };
                    let worker = lease.worker.as_mut().expect("a lease holds its worker");
                    if let Err(failure) = worker.state_id(&pool, &state, deadline).await {
                        tracing::debug!(slot = worker.slot, error = %failure.error,
                            "preloading a proof state failed");
                    }
                    worker.settle(&pool).await;
                })
            })
            .collect()
    }

    /// Starts processes on up to `slots` idle slots that have none, each elaborating `header`
    /// in the background, so that the first requests find warm workers instead of each
    /// starting a process and elaborating the header on its own clock: a run calls it as soon
    /// as it knows its first header, and the rest of its start-up overlaps the elaborations.
    /// Requests never wait for it unless they land on such a slot, where waiting is shorter
    /// than starting anew; a slot whose request wants another header drops its warm-up first,
    /// so the pool never runs more processes than without it. Returns how many it started.
    pub fn prewarm(&self, header: &str, slots: usize) -> usize {
        let mut slots_of = self.lock();
        if slots_of.closed {
            return 0;
        }
        let mut started = 0;
        for worker in slots_of.idle.iter_mut() {
            if started == slots {
                break;
            }
            if worker.process.is_some() || worker.respawn.is_some() {
                continue;
            }
            let Some(respawn) = self.spares.prewarm(header) else {
                break;
            };
            worker.respawn = Some(respawn);
            started += 1;
        }
        started
    }

    /// Kills every process, spares included, and refuses later requests with
    /// [`BridgeError::PoolClosed`]. Requests already running finish first (each is bounded by
    /// its deadline).
    pub async fn shutdown(&self) {
        let idle = {
            let mut slots = self.lock();
            slots.closed = true;
            std::mem::take(&mut slots.idle)
        };
        self.changed.notify_waiters();
        let started = std::time::Instant::now();
        let mut respawns = Vec::new();
        let processes: Vec<ReplProcess> = self
            .spares
            .close()
            .into_iter()
            .map(|spare| spare.process)
            .chain(idle.into_iter().filter_map(|mut worker| {
                respawns.extend(worker.respawn.take());
                worker.process.take()
            }))
            .collect();
        let killed = processes.len();
        // Every group gets its SIGKILL first and all are reaped together: one by one, each
        // waited for its leader's exit before the next was signalled (16 REPLs: ~0.2 s).
        let mut kills = tokio::task::JoinSet::new();
        for mut process in processes {
            kills.spawn(async move { process.kill().await });
        }
        for respawn in respawns {
            kills.spawn(respawn.cancel());
        }
        while kills.join_next().await.is_some() {}
        tracing::debug!(
            killed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "pool shut down"
        );
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.lock().leased == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Leases the best-scoring idle worker, performs `op` on it, and settles the worker's
    /// process afterwards (discarded if dead, retired if due for recycling).
    async fn run(&self, op: &Op<'_>) -> Result<Done, BridgeError> {
        let lease = self.lease(op).await?;
        self.run_leased(lease, op).await
    }

    /// [`run`](Self::run) on a worker already leased.
    async fn run_leased(&self, mut lease: Lease<'_>, op: &Op<'_>) -> Result<Done, BridgeError> {
        let worker = lease.worker.as_mut().expect("a lease holds its worker");
        let mut replaced = false;
        loop {
            worker.ensure_process(self, op.header()).await?;
            let served = worker.served();
            match worker.perform(self, op).await {
                // The process died before it saw this operation's first request (it had
                // served others, so it is not a process that cannot start): replace it once.
                Err(failure)
                    if !failure.delivered
                        && !replaced
                        && served > 0
                        && worker.served() == served
                        && failure.error.kills_process() =>
                {
                    tracing::debug!(slot = worker.slot, error = %failure.error,
                        "repl was already dead; replacing it and sending again");
                    replaced = true;
                    worker.discard(self, Discard::Dead);
                }
                result => {
                    worker.settle(self).await;
                    return result.map_err(|failure| failure.error);
                }
            }
        }
    }

    async fn lease(&self, op: &Op<'_>) -> Result<Lease<'_>, BridgeError> {
        // Counted among the waiting from the first miss until this returns or is dropped.
        let mut waiting: Option<Waiting<'_>> = None;
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before looking, so a worker returned in between still wakes us.
            notified.as_mut().enable();
            {
                let mut slots = self.lock();
                if slots.closed {
                    return Err(BridgeError::PoolClosed);
                }
                slots.absorb_respawns(&self.spares);
                if let Some(worker) = slots.take_best(op, |_| true) {
                    return Ok(Lease {
                        pool: self,
                        worker: Some(worker),
                    });
                }
                if waiting.is_none() {
                    slots.waiting += 1;
                    waiting = Some(Waiting { pool: self });
                }
            }
            notified.await;
        }
    }

    /// Runs `tactic` on `state` only if a worker is idle right now, nobody waits for one, and
    /// the worker needs no process started and no header elaborated: the best-suited such
    /// worker, as [`apply`](Self::apply) would choose it, is taken at once and the returned
    /// future runs the tactic on it (dropped unpolled, it gives the worker back). `None`
    /// otherwise. Work done ahead of need goes through here, so it never waits in the queue
    /// for a worker, never takes one a waiting request could have, and never pays a start-up.
    pub fn try_apply(
        self: &Arc<Self>,
        state: &ProofHandle,
        tactic: &str,
        deadline: Duration,
    ) -> Option<impl std::future::Future<Output = Result<ApplyReply, BridgeError>> + Send + 'static>
    {
        let op = Op::Apply {
            state,
            tactic,
            deadline,
        };
        let worker = {
            let mut slots = self.lock();
            if slots.closed || slots.waiting > 0 {
                return None;
            }
            slots.absorb_respawns(&self.spares);
            slots.take_best(&op, |w| {
                w.process.is_some()
                    && matches!(w.headers.get(state.header()), Some(HeaderEnv::Ready(_)))
            })?
        };
        let mut taken = TakenWorker {
            pool: Arc::clone(self),
            worker: Some(worker),
        };
        let (state, tactic) = (state.clone(), tactic.to_owned());
        Some(async move {
            let pool = Arc::clone(&taken.pool);
            let lease = Lease {
                pool: &pool,
                worker: taken.worker.take(),
            };
            let op = Op::Apply {
                state: &state,
                tactic: &tactic,
                deadline,
            };
            match pool.run_leased(lease, &op).await? {
                Done::Apply(reply) => Ok(reply),
                _ => unreachable!("an apply operation answers with an apply reply"),
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One pool operation as data, so that a single `run` leases, replaces and settles for all.
enum Op<'a> {
    Command {
        header: &'a str,
        body: &'a str,
        deadline: Duration,
    },
    Sequence {
        header: &'a str,
        bodies: &'a [String],
        /// The live search this runs for, if any.
        near: Option<&'a ProofHandle>,
        deadline: Duration,
    },
    Start {
        header: &'a str,
        statement: &'a str,
        at: Option<Pos>,
        deadline: Duration,
    },
    Apply {
        state: &'a ProofHandle,
        tactic: &'a str,
        deadline: Duration,
    },
}

/// The answer to an [`Op`], of the same kind.
enum Done {
    Command(CommandReply),
    Sequence(SequenceReply),
    Start(StartReply),
    Apply(ApplyReply),
}

impl Op<'_> {
    /// The import header the operation runs on.
    fn header(&self) -> &str {
        match self {
            Op::Command { header, .. } | Op::Sequence { header, .. } | Op::Start { header, .. } => {
                header
            }
            Op::Apply { state, .. } => state.header(),
        }
    }

    /// The search the operation is for: an apply's own, a sequence's `near`.
    fn search(&self) -> Option<&Arc<Root>> {
        match self {
            Op::Apply { state, .. } => Some(state.root_key()),
            Op::Sequence { near, .. } => near.map(ProofHandle::root_key),
            Op::Command { .. } | Op::Start { .. } => None,
        }
    }

    /// How well an idle worker suits this operation, larger first: it holds the state, how
    /// much of the state's path it holds, how much of the header it holds ([`HeaderHeld`]),
    /// whose it is ([`Claim`]), it has a process at all (or one starting: a respawn or
    /// prewarm). A header outranks the claim: elaborating one (an `import Mathlib`) costs more
    /// than a search's replay of its path.
    fn score(
        &self,
        w: &Worker,
        live: &HashMap<Arc<Root>, usize>,
    ) -> (bool, Option<usize>, HeaderHeld, Claim, bool) {
        // A slot whose process is starting in the background counts as having one: waiting
        // for it is shorter than starting another.
        let spawned = w.process.is_some() || w.respawn.is_some();
        let claim = match &w.last_root {
            Some(last) if self.search() == Some(last) => Claim::Own,
            Some(last) if live.contains_key(last) => Claim::Others,
            _ => Claim::Free,
        };
        match self {
            Op::Command { header, .. } | Op::Sequence { header, .. } | Op::Start { header, .. } => {
                (false, None, HeaderHeld::of(w, header), claim, spawned)
            }
            Op::Apply { state, .. } => {
                let held = w.states.longest_prefix(state).map(|(depth, _)| depth);
                (
                    held == Some(state.depth()),
                    held,
                    HeaderHeld::of(w, state.header()),
                    claim,
                    spawned,
                )
            }
        }
    }
}

/// How much of a header an idle worker holds; larger is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum HeaderHeld {
    /// Neither the header nor its import block: taking it means an import.
    Nothing,
    /// The header's import block only ([`header::split_imports`]): the rest runs as one
    /// command on it, without importing (the editor's headers for a file's other
    /// declarations).
    Imports,
    /// The whole header.
    Whole,
}

impl HeaderHeld {
    fn of(w: &Worker, header: &str) -> HeaderHeld {
        if w.headers.contains_key(header) {
            HeaderHeld::Whole
        } else if header::split_imports(header)
            .is_some_and(|(imports, _)| w.headers.contains_key(imports))
        {
            HeaderHeld::Imports
        } else {
            HeaderHeld::Nothing
        }
    }
}

/// A worker's header commands: one without an env is an import, counted in
/// `headers_elaborated`.
impl HeaderCommand for (&mut Worker, &ReplPool) {
    type Error = SendFailure;

    async fn run(&mut self, text: &str, env: Option<EnvId>) -> Result<HeaderEnv, SendFailure> {
        let (worker, pool) = self;
        if env.is_none() {
            Counters::bump(&pool.counters.headers_elaborated);
        }
        let request = command_request(text, env);
        let answer = worker
            .round_trip(pool, &request, pool.config.header_deadline)
            .await?;
        header_env_from(answer)
    }
}

/// Whose an idle worker is, by the search its last step ran for; larger is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Claim {
    /// Another live search's: taking it makes that search rebuild its state elsewhere.
    Others,
    /// No live search's: its search ended, or it never ran one.
    Free,
    /// The operation's own search's.
    Own,
}

/// A request counted among those waiting for a worker; dropping it uncounts it.
struct Waiting<'p> {
    pool: &'p ReplPool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut slots = self.pool.lock();
        slots.waiting = slots.waiting.saturating_sub(1);
    }
}

/// A worker [`ReplPool::try_apply`] took, until its future leases it; a future dropped unpolled
/// gives it back through here.
struct TakenWorker {
    pool: Arc<ReplPool>,
    worker: Option<Worker>,
}

impl Drop for TakenWorker {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            drop(Lease {
                pool: &self.pool,
                worker: Some(worker),
            });
        }
    }
}

/// A worker taken out of the pool; dropping it puts the worker back, even when the task using
/// it was cancelled mid-request (the abandoned process is then killed on the spot).
struct Lease<'p> {
    pool: &'p ReplPool,
    worker: Option<Worker>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(mut worker) = self.worker.take() else {
            return;
        };
        // A caller that gave up mid-request leaves a REPL still working on an answer nobody
        // will read; kill it now rather than let it burn CPU and memory until the slot's next use.
        if worker
            .process
            .as_ref()
            .is_some_and(ReplProcess::is_mid_request)
        {
            worker.discard(self.pool, Discard::Dead);
        }
        let discarded = {
            let mut slots = self.pool.lock();
            slots.leased -= 1;
            if slots.closed {
                Some(worker)
            } else {
                slots.idle.push(worker);
                None
            }
        };
        // Dropping a worker's process kills its group; done outside the lock.
        drop(discarded);
        self.pool.changed.notify_waiters();
    }
}

impl Worker {
    fn served(&self) -> u64 {
        self.process
            .as_ref()
            .map_or(0, ReplProcess::requests_served)
    }

    async fn perform(&mut self, pool: &ReplPool, op: &Op<'_>) -> Result<Done, SendFailure> {
        match *op {
            Op::Command {
                header,
                body,
                deadline,
            } => self
                .command(pool, header, body, deadline)
                .await
                .map(Done::Command),
            Op::Sequence {
                header,
                bodies,
                deadline,
                ..
            } => self
                .sequence(pool, header, bodies, deadline)
                .await
                .map(Done::Sequence),
            Op::Start {
                header,
                statement,
                at,
                deadline,
            } => self
                .start(pool, header, statement, at, deadline)
                .await
                .map(Done::Start),
            Op::Apply {
                state,
                tactic,
                deadline,
            } => self
                .apply(pool, state, tactic, deadline)
                .await
                .map(Done::Apply),
        }
    }

    async fn command(
        &mut self,
        pool: &ReplPool,
        header: &str,
        body: &str,
        deadline: Duration,
    ) -> Result<CommandReply, SendFailure> {
        let env = match self.header_env(pool, header).await? {
            HeaderEnv::Ready(env) => env,
            HeaderEnv::Rejected(messages) => return Ok(CommandReply::HeaderRejected(messages)),
        };
        let request = command_request(body, Some(env));
        match self.round_trip(pool, &request, deadline).await? {
            Response::Command(c) => Ok(CommandReply::Ran(c)),
            other => Err(unexpected("command", &other)),
        }
    }

    async fn sequence(
        &mut self,
        pool: &ReplPool,
        header: &str,
        bodies: &[String],
        deadline: Duration,
    ) -> Result<SequenceReply, SendFailure> {
        let mut env = match self.header_env(pool, header).await? {
            HeaderEnv::Ready(env) => env,
            HeaderEnv::Rejected(messages) => return Ok(SequenceReply::HeaderRejected(messages)),
        };
        let mut answers = Vec::with_capacity(bodies.len());
        for body in bodies {
            let request = command_request(body, Some(env));
            match self.round_trip(pool, &request, deadline).await? {
                Response::Command(c) => {
                    env = c.env;
                    answers.push(c);
                }
                other => return Err(unexpected("command", &other)),
            }
        }
        Ok(SequenceReply::Ran(answers))
    }

    async fn start(
        &mut self,
        pool: &ReplPool,
        header: &str,
        statement: &str,
        at: Option<Pos>,
        deadline: Duration,
    ) -> Result<StartReply, SendFailure> {
        let env = match self.header_env(pool, header).await? {
            HeaderEnv::Ready(env) => env,
            HeaderEnv::Rejected(messages) => return Ok(StartReply::HeaderRejected(messages)),
        };
        let request = command_request(statement, Some(env));
        let response = match self.round_trip(pool, &request, deadline).await? {
            Response::Command(c) => c,
            other => return Err(unexpected("command", &other)),
        };
        let Some((id, goal)) = chosen_sorry(&response, at) else {
            return Ok(StartReply::Rejected(response.messages));
        };
        let handle = ProofHandle::root_at(header, statement, at, vec![goal]);
        self.states
            .insert(handle.root_key(), handle.path_steps(), id);
        self.last_root = Some(Arc::clone(handle.root_key()));
        Ok(StartReply::Started(handle))
    }

    async fn apply(
        &mut self,
        pool: &ReplPool,
        state: &ProofHandle,
        tactic: &str,
        deadline: Duration,
    ) -> Result<ApplyReply, SendFailure> {
        self.last_root = Some(Arc::clone(state.root_key()));
        let id = self.state_id(pool, state, deadline).await?;
        let request = Request::ProofStep(ProofStepRequest {
            tactic: tactic.to_owned(),
            proof_state: id,
        });
        let response = self.round_trip(pool, &request, deadline).await?;
        if let Response::Command(_) = response {
            return Err(unexpected("tactic", &response));
        }
        Ok(match classify_tactic(&response) {
            TacticOutcome::Open { proof_state, goals } => {
                let child = state.child(tactic, goals);
                self.states
                    .insert(child.root_key(), child.path_steps(), proof_state);
                ApplyReply::Open(child)
            }
            TacticOutcome::Proved { .. } => ApplyReply::Proved(state.path_then(tactic)),
            TacticOutcome::Failed { reason } => ApplyReply::Failed(reason),
        })
    }

    /// Gives the slot a live process: its own, else a warm spare on `header`, else a new one.
    /// One that died while idle is replaced silently.
    async fn ensure_process(&mut self, pool: &ReplPool, header: &str) -> Result<(), BridgeError> {
        loop {
            if let Some(process) = self.process.as_mut() {
                if process.is_alive().await {
                    return Ok(());
                }
                tracing::debug!(slot = self.slot, cause = ?process.exit_cause(),
                    "repl died while idle; replacing it");
                // May hand the slot a spare, which the next turn checks in turn.
                self.discard(pool, Discard::Dead);
                continue;
            }
            if let Some(mut respawn) = self.respawn.take() {
                // The slot's own replacement: wait for it when it warms this header (it is
                // further along than a new process would be), else make room for a new one.
                if respawn.header() == header {
                    if let Some(spare) = respawn.wait().await {
                        self.install_respawned(spare, &pool.spares);
                    }
                    continue;
                }
                respawn.cancel().await;
            }
            if let Some(spare) = pool.spares.take(&[header]) {
                self.install(spare);
                continue;
            }
            let process = ReplProcess::spawn(&pool.config.repl)?;
            Counters::bump(&pool.counters.spawned);
            self.process = Some(process);
            return Ok(());
        }
    }

    /// Puts a warm spare's process in this empty slot, with the header it elaborated.
    fn install(&mut self, spare: Spare) {
        debug_assert!(self.process.is_none(), "a slot holds one process");
        self.process = Some(spare.process);
        if let Some((imports, env)) = spare.imports {
            self.headers.insert(imports, env);
        }
        self.headers.insert(spare.header, spare.env);
    }

    /// Puts the slot's own background respawn in place; its header counts as a worker's. One
    /// already due for recycling is dropped (killed), as a spare would be, and the slot starts
    /// a process on its next use.
    fn install_respawned(&mut self, spare: Spare, spares: &Spares) {
        if spare.process.needs_recycle() {
            tracing::debug!(
                slot = self.slot,
                pgid = spare.process.pgid(),
                "a background respawn is already due for recycling; not kept"
            );
            return;
        }
        if let HeaderEnv::Ready(_) = spare.env {
            spares.worker_has(&spare.header);
        }
        tracing::debug!(
            slot = self.slot,
            pgid = spare.process.pgid(),
            "a background respawn rejoins warm"
        );
        self.install(spare);
    }

    /// After an operation: a dead process is discarded, a process due for recycling retired.
    async fn settle(&mut self, pool: &ReplPool) {
        let Some(process) = self.process.as_mut() else {
            return;
        };
        if process.exit_cause().is_some() {
            self.discard(pool, Discard::Dead);
        } else if process.needs_recycle() {
            tracing::debug!(slot = self.slot, requests = process.requests_served(),
                rss_anon = ?process.last_rss_anon_bytes(), "recycling repl");
            process.kill().await;
            self.discard(pool, Discard::Recycled);
        }
    }

    /// Drops the process (killing its group) and everything it held, and puts a warm spare
    /// holding one of its headers in its place when the shelf has one; else starts a new
    /// process on the hot header in the background ([`Spares::respawn`]), so the slot does not
    /// sit headerless, ranked below every live worker, until a request has to pay its header.
    fn discard(&mut self, pool: &ReplPool, why: Discard) {
        if self.process.take().is_none() {
            return;
        }
        let held: Vec<String> = self
            .headers
            .drain()
            .filter(|(_, env)| matches!(env, HeaderEnv::Ready(_)))
            .map(|(header, _)| header)
            .collect();
        self.states.clear();
        self.last_root = None;
        Counters::bump(match why {
            Discard::Dead => &pool.counters.restarts,
            Discard::Recycled => &pool.counters.recycled,
        });
        pool.spares.worker_lost(held.iter().map(String::as_str));
        let held: Vec<&str> = held.iter().map(String::as_str).collect();
        if let Some(spare) = pool.spares.take(&held) {
            self.install(spare);
        } else {
            self.respawn = pool.spares.respawn();
        }
    }

    async fn round_trip(
        &mut self,
        pool: &ReplPool,
        request: &Request,
        deadline: Duration,
    ) -> Result<Response, SendFailure> {
        let Some(process) = self.process.as_mut() else {
            return Err(SendFailure {
                error: BridgeError::Io("the worker has no process".into()),
                delivered: false,
            });
        };
        Counters::bump(&pool.counters.requests);
        let result = process.send_tracked(request, deadline).await;
        if let Err(SendFailure {
            error: BridgeError::Timeout { .. },
            ..
        }) = &result
        {
            Counters::bump(&pool.counters.timeouts);
        }
        result
    }

    /// The environment of `header` on this process, elaborating it on first use: its import
    /// block once per process (an env-less command, the import), and the rest of the header
    /// as a command on that env ([`header::split_imports`]), so headers that differ only after
    /// their imports import once.
    async fn header_env(
        &mut self,
        pool: &ReplPool,
        header: &str,
    ) -> Result<HeaderEnv, SendFailure> {
        if let Some(env) = self.headers.get(header) {
            return Ok(env.clone());
        }
        let known = header::split_imports(header)
            .and_then(|(imports, _)| self.headers.get(imports).cloned());
        let (env, imports) = elaborate_in_steps(&mut (&mut *self, pool), header, known).await?;
        if let Some((imports, imports_env)) = imports {
            self.headers.insert(imports, imports_env);
        }
        self.headers.insert(header.to_owned(), env.clone());
        if let HeaderEnv::Ready(_) = env {
            pool.spares.worker_has(header);
        }
        Ok(env)
    }

    /// This process's id for `handle`'s state, rebuilt from the longest prefix it holds (or
    /// from the statement) when it lacks the state itself.
    async fn state_id(
        &mut self,
        pool: &ReplPool,
        handle: &ProofHandle,
        deadline: Duration,
    ) -> Result<ProofStateId, SendFailure> {
        let (held, mut id) = match self.states.longest_prefix(handle) {
            Some(found) => found,
            None => (0, self.rebuild_root(pool, handle, deadline).await?),
        };
        let path = handle.path_steps();
        if held < path.len() {
            tracing::debug!(
                slot = self.slot,
                held,
                depth = path.len(),
                "replaying proof path"
            );
        }
        for (i, tactic) in path.iter().enumerate().skip(held) {
            let request = Request::ProofStep(ProofStepRequest {
                tactic: tactic.to_string(),
                proof_state: id,
            });
            Counters::bump(&pool.counters.replay_requests);
            let response = self.round_trip(pool, &request, deadline).await?;
            let at = || format!("step {} (`{tactic}`)", i + 1);
            match classify_tactic(&response) {
                TacticOutcome::Open { proof_state, .. } => {
                    self.states
                        .insert(handle.root_key(), &path[..=i], proof_state);
                    id = proof_state;
                }
                TacticOutcome::Proved { .. } => {
                    return Err(diverged(at(), "the proof closed".into()));
                }
                TacticOutcome::Failed { reason } => return Err(diverged(at(), reason)),
            }
        }
        Ok(id)
    }

    async fn rebuild_root(
        &mut self,
        pool: &ReplPool,
        handle: &ProofHandle,
        deadline: Duration,
    ) -> Result<ProofStateId, SendFailure> {
        let env = match self.header_env(pool, handle.header()).await? {
            HeaderEnv::Ready(env) => env,
            HeaderEnv::Rejected(messages) => {
                return Err(diverged("header".into(), error_text(&messages)));
            }
        };
        let request = command_request(handle.statement(), Some(env));
        Counters::bump(&pool.counters.replay_requests);
        let response = match self.round_trip(pool, &request, deadline).await? {
            Response::Command(c) => c,
            other => return Err(unexpected("command", &other)),
        };
        let Some((id, _)) = chosen_sorry(&response, handle.sorry_at()) else {
            return Err(diverged("statement".into(), error_text(&response.messages)));
        };
        self.states.insert(handle.root_key(), &[], id);
        Ok(id)
    }
}

/// What a header command's answer leaves on the process that ran it.
pub(crate) fn header_env_from(answer: Response) -> Result<HeaderEnv, SendFailure> {
    Ok(match answer {
        Response::Command(c) if c.has_errors() => HeaderEnv::Rejected(c.messages),
        Response::Command(c) => HeaderEnv::Ready(c.env),
        Response::Error(e) => HeaderEnv::Rejected(vec![Message {
            severity: Severity::Error,
            pos: Pos { line: 1, column: 0 },
            end_pos: None,
            data: e.message,
        }]),
        other => return Err(unexpected("header command", &other)),
    })
}

pub(crate) fn command_request(cmd: &str, env: Option<EnvId>) -> Request {
    Request::Command(CommandRequest {
        cmd: cmd.to_owned(),
        env,
        ..Default::default()
    })
}

/// The proof state and goal of a command's sorry that starts at `at` (its first sorry when
/// `at` is `None`), when the command elaborated without errors.
fn chosen_sorry(response: &CommandResponse, at: Option<Pos>) -> Option<(ProofStateId, String)> {
    if response.has_errors() {
        return None;
    }
    let sorry = match at {
        None => response.sorries.first()?,
        Some(at) => response.sorries.iter().find(|s| s.pos == Some(at))?,
    };
    Some((sorry.proof_state?, sorry.goal.clone()))
}

fn error_text(messages: &[Message]) -> String {
    let errors: Vec<&str> = messages
        .iter()
        .filter(|m| m.is_error())
        .map(|m| m.data.as_str())
        .collect();
    if errors.is_empty() {
        "no sorry with a proof state came back".into()
    } else {
        errors.join("\n")
    }
}

fn diverged(at: String, reason: String) -> SendFailure {
    SendFailure {
        error: BridgeError::ReplayDiverged { at, reason },
        delivered: true,
    }
}

fn unexpected(request: &str, got: &Response) -> SendFailure {
    let mut detail = got.to_value().to_string();
    if let Some((cut, _)) = detail.char_indices().nth(200) {
        detail.truncate(cut);
        detail.push('…');
    }
    SendFailure {
        error: BridgeError::UnexpectedAnswer {
            request: request.to_owned(),
            got: got.kind().to_owned(),
            detail,
        },
        delivered: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Callers spawn pool calls on a multi-threaded runtime, so every future must be `Send`;
    /// generic async closures once broke that without any error inside this crate.
    #[test]
    fn pool_futures_are_send_and_the_pool_is_shareable() {
        fn assert_sync<T: Send + Sync>() {}
        assert_sync::<ReplPool>();
        assert_sync::<ProofHandle>();
        // Awaited inside a task body, as `tokio::spawn` sees them: that is where lifetimes get
        // erased and a non-general `Send` shows up.
        let pool = std::sync::Arc::new(ReplPool::new(PoolConfig::default()));
        let handle = ProofHandle::root("", "", Vec::new());
        assert_send(&async move {
            let _ = pool.command("", "", Duration::ZERO).await;
            let _ = pool.start_proof("", "", Duration::ZERO).await;
            let _ = pool.apply(&handle, "", Duration::ZERO).await;
            pool.shutdown().await;
        });
    }
}
