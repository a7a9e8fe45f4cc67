//! Warm spare REPL processes: a few processes beyond the pool's workers, started in the
//! background with the hot import header already elaborated, so a worker whose process was
//! killed (a tactic past its deadline, a crash, a recycle) gets a replacement at once instead
//! of paying a whole `import Mathlib` (5–15 s) on the next request.
//!
//! Accounting: the shelf holds at most `spares` processes, those still elaborating their header
//! included, so the pool never runs more than `workers + spares` processes. The spares are
//! warmed on the hot header: the one held by the most live worker processes (ties: the one
//! elaborated most recently). With one header throughout, as in a miniF2F run, that is
//! `spares` processes per header; with several, the spares follow the most-used one, so memory
//! stays bounded by `workers + spares` REPLs. A spare on a header that is no longer hot is
//! retired when its place is needed for the hot one.
//!
//! Every spare is a [`ReplProcess`] like a worker's: its own registered process group (so
//! `reaper::shut_down` and the reaper kill it), the same `RLIMIT_DATA`, and a memory check on
//! its header's answer; a spare already due for recycling is not shelved. A failed warm-up is
//! logged and not retried until the next trigger (a header elaborated on a worker, or a spare
//! taken), so a REPL that cannot start never spins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::task::Poll;

use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::EnvId;
use crate::error::BridgeError;
use crate::pool::{
    Counters, HeaderCommand, HeaderEnv, PoolConfig, command_request, elaborate_in_steps,
    header_env_from,
};
use crate::process::{ReplConfig, ReplProcess};

/// A process with one header elaborated, waiting for a worker to lose its own.
pub(crate) struct Spare {
    pub(crate) process: ReplProcess,
    pub(crate) header: String,
    pub(crate) env: HeaderEnv,
    /// The header's import block and its env, when the header was elaborated in two steps
    /// ([`crate::split_imports`]): a worker that takes the spare imports no more for another
    /// header with the same imports.
    pub(crate) imports: Option<(String, HeaderEnv)>,
}

/// The pool's spare processes and the background tasks warming more.
pub(crate) struct Spares {
    target: usize,
    repl: ReplConfig,
    header_deadline: Duration,
    counters: Arc<Counters>,
    shelf: Arc<Mutex<Shelf>>,
}

#[derive(Default)]
struct Shelf {
    ready: Vec<Spare>,
    /// Warm-ups under way, per header.
    warming: HashMap<String, usize>,
    tasks: JoinSet<()>,
    /// Per header: how many live worker processes hold it elaborated, and when it was last
    /// elaborated or handed out (a tick of `clock`).
    heat: HashMap<String, Heat>,
    clock: u64,
    closed: bool,
}

#[derive(Default, Clone, Copy)]
struct Heat {
    workers: usize,
    last: u64,
}

impl Shelf {
    fn warming_total(&self) -> usize {
        self.warming.values().sum()
    }

    /// The header the spares are kept for: held by the most worker processes, then the most
    /// recent. A header no worker holds any more stays hot until another is used.
    fn hot(&self) -> Option<String> {
        self.heat
            .iter()
            .max_by_key(|(_, heat)| (heat.workers, heat.last))
            .map(|(header, _)| header.clone())
    }

    fn warmed(&mut self, header: &str) {
        self.clock += 1;
        let heat = self.heat.entry(header.to_owned()).or_default();
        heat.workers += 1;
        heat.last = self.clock;
    }
}

impl Spares {
    pub(crate) fn new(config: &PoolConfig, counters: Arc<Counters>) -> Spares {
        Spares {
            target: config.spares,
            repl: config.repl.clone(),
            header_deadline: config.header_deadline,
            counters,
            shelf: Arc::new(Mutex::new(Shelf::default())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shelf> {
        lock(&self.shelf)
    }

    /// A worker's process elaborated `header` (on a request's path, or in a background
    /// respawn): the header gets hotter, and the shelf is topped up for the hot header. The heat
    /// is kept without spares too: a respawn warms the hot header.
    pub(crate) fn worker_has(&self, header: &str) {
        self.lock().warmed(header);
        if self.target > 0 {
            self.refill();
        }
    }

    /// A worker's process, holding these headers elaborated, is gone.
    pub(crate) fn worker_lost<'h>(&self, headers: impl Iterator<Item = &'h str>) {
        let mut shelf = self.lock();
        for header in headers {
            if let Some(heat) = shelf.heat.get_mut(header) {
                heat.workers = heat.workers.saturating_sub(1);
            }
        }
    }

    /// A ready spare holding one of `headers` (the hottest of them first), for a worker that
    /// has no process; the shelf starts warming its successor.
    pub(crate) fn take(&self, headers: &[&str]) -> Option<Spare> {
        if self.target == 0 {
            return None;
        }
        let spare = {
            let mut shelf = self.lock();
            if shelf.closed {
                return None;
            }
            let heat_of = |s: &Spare| shelf.heat.get(&s.header).copied().unwrap_or_default();
            let best = shelf
                .ready
                .iter()
                .enumerate()
                .filter(|(_, s)| headers.contains(&s.header.as_str()))
                .max_by_key(|(_, s)| (heat_of(s).workers, heat_of(s).last))
                .map(|(i, _)| i)?;
            let spare = shelf.ready.swap_remove(best);
            if matches!(spare.env, HeaderEnv::Ready(_)) {
                shelf.warmed(&spare.header);
            }
            spare
        };
        Counters::bump(&self.counters.spares_used);
        tracing::debug!(
            pgid = spare.process.pgid(),
            "a warm spare repl replaces a lost one"
        );
        self.refill();
        Some(spare)
    }

    /// Starts warm-ups until the hot header has `target` spares (ready or warming), retiring
    /// ready spares of colder headers when their places are needed.
    fn refill(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let retired = {
            let mut shelf = self.lock();
            while shelf.tasks.try_join_next().is_some() {}
            if shelf.closed {
                return;
            }
            let Some(hot) = shelf.hot() else {
                return;
            };
            let held = shelf.ready.iter().filter(|s| s.header == hot).count()
                + shelf.warming.get(&hot).copied().unwrap_or(0);
            let need = self.target.saturating_sub(held);
            let mut free = self
                .target
                .saturating_sub(shelf.ready.len() + shelf.warming_total());
            let mut retired = Vec::new();
            while free < need {
                let Some(cold) = shelf.ready.iter().position(|s| s.header != hot) else {
                    break;
                };
                retired.push(shelf.ready.swap_remove(cold));
                free += 1;
            }
            for _ in 0..need.min(free) {
                *shelf.warming.entry(hot.clone()).or_default() += 1;
                let warm_up = warm_up(
                    self.repl.clone(),
                    hot.clone(),
                    self.header_deadline,
                    Arc::clone(&self.counters),
                    Arc::clone(&self.shelf),
                );
                shelf.tasks.spawn_on(warm_up, &runtime);
            }
            retired
        };
        // Dropping a process kills its group; done outside the lock.
        drop(retired);
    }

    /// Starts a replacement process for a slot that lost its own and got no spare: it
    /// elaborates the hot header in the background, so the slot rejoins as a warm worker
    /// instead of waiting, headerless, for a request to pay the header. None when no header was
    /// ever elaborated (nothing to warm: the slot starts its process on its next use, as
    /// before), when the pool is closing, or outside a runtime.
    pub(crate) fn respawn(&self) -> Option<Respawn> {
        let hot = self.lock().hot()?;
        self.start_on(hot, Quiet::No)
    }

    /// Starts a process for an empty slot that elaborates `header` in the background (the
    /// pool's prewarm at start-up). None when the pool is closing or outside a runtime.
    pub(crate) fn prewarm(&self, header: &str) -> Option<Respawn> {
        self.start_on(header.to_owned(), Quiet::Yes)
    }

    fn start_on(&self, header: String, quiet: Quiet) -> Option<Respawn> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        if self.lock().closed {
            return None;
        }
        let (arrive, arrived) = oneshot::channel();
        let (repl, deadline) = (self.repl.clone(), self.header_deadline);
        let counters = Arc::clone(&self.counters);
        let for_header = header.clone();
        let task = runtime.spawn(async move {
            let warmed = elaborate(&repl, &for_header, deadline, &counters).await;
            match (&warmed, quiet) {
                (Ok(_), Quiet::No) => Counters::bump(&counters.respawned),
                (Ok(_), Quiet::Yes) => {}
                (Err(error), Quiet::No) => tracing::warn!(%error,
                    "a background respawn failed to elaborate its header; the slot starts a process on its next use"),
                // The slot's first request starts a process of its own and reports the
                // failure as its own (the preflight's, at start-up).
                (Err(error), Quiet::Yes) => tracing::debug!(%error, "a prewarm failed"),
            }
            // Nobody waiting (the slot was shut down): the process dies with the message.
            let _ = arrive.send(warmed);
        });
        Some(Respawn {
            header,
            task,
            arrived,
        })
    }

    /// Stops warming and starts no more; returns the ready spares for the caller to kill.
    /// Aborting a warm-up drops its process, which kills its group.
    pub(crate) fn close(&self) -> Vec<Spare> {
        let mut shelf = self.lock();
        shelf.closed = true;
        shelf.tasks.abort_all();
        shelf.warming.clear();
        std::mem::take(&mut shelf.ready)
    }
}

/// Whether a failed warm-up is the user's business: a respawn after a loss is (a warning); a
/// prewarm at start-up is not, since the slot's first request meets the same failure and
/// reports it.
#[derive(Clone, Copy)]
enum Quiet {
    No,
    Yes,
}

/// A slot's replacement process, starting and elaborating its header in the background
/// ([`Spares::respawn`]). It belongs to the slot, so the slot still counts one process: the
/// pool's bound of `workers + spares` holds. Dropping it aborts the warm-up, whose process dies
/// with it.
pub(crate) struct Respawn {
    header: String,
    task: JoinHandle<()>,
    arrived: oneshot::Receiver<Result<Spare, BridgeError>>,
}

impl Respawn {
    /// The header it elaborates.
    pub(crate) fn header(&self) -> &str {
        &self.header
    }

    /// The warm process once it is ready: `Ready(None)` when the warm-up failed (logged),
    /// `Pending` while it runs.
    pub(crate) fn try_take(&mut self) -> Poll<Option<Spare>> {
        match self.arrived.try_recv() {
            Ok(warmed) => Poll::Ready(warmed.ok()),
            Err(oneshot::error::TryRecvError::Empty) => Poll::Pending,
            Err(oneshot::error::TryRecvError::Closed) => Poll::Ready(None),
        }
    }

    /// Waits for the warm process (None when the warm-up failed): a request that found only
    /// this slot free, on the header the respawn elaborates, is further along waiting for it
    /// than starting another process.
    pub(crate) async fn wait(&mut self) -> Option<Spare> {
        (&mut self.arrived).await.ok().and_then(Result::ok)
    }

    /// Aborts the warm-up and returns once its process is gone, so that a process started in
    /// its place never runs beside it.
    pub(crate) async fn cancel(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        // A warm-up that finished before the abort left its process in the channel.
        self.arrived.close();
        drop(self.arrived.try_recv());
    }
}

impl Drop for Respawn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(shelf: &Mutex<Shelf>) -> std::sync::MutexGuard<'_, Shelf> {
    shelf.lock().unwrap_or_else(|p| p.into_inner())
}

/// One background warm-up: a new process elaborates `header`, then waits on the shelf.
async fn warm_up(
    repl: ReplConfig,
    header: String,
    deadline: Duration,
    counters: Arc<Counters>,
    shelf: Arc<Mutex<Shelf>>,
) {
    let warmed = elaborate(&repl, &header, deadline, &counters).await;
    let unwanted = {
        let mut shelf = lock(&shelf);
        if let Some(n) = shelf.warming.get_mut(&header) {
            *n = n.saturating_sub(1);
        }
        match warmed {
            Ok(spare) if shelf.closed => Some(spare),
            Ok(spare) if spare.process.needs_recycle() => {
                tracing::debug!(
                    pgid = spare.process.pgid(),
                    "a spare repl is already due for recycling; not kept"
                );
                Some(spare)
            }
            Ok(spare) => {
                Counters::bump(&counters.spares_warmed);
                shelf.ready.push(spare);
                None
            }
            Err(error) => {
                tracing::warn!(%error, "a spare repl failed to elaborate its header; not retried until the next refill");
                None
            }
        }
    };
    drop(unwanted);
}

async fn elaborate(
    repl: &ReplConfig,
    header: &str,
    deadline: Duration,
    counters: &Counters,
) -> Result<Spare, BridgeError> {
    let mut process = ReplProcess::spawn(repl)?;
    Counters::bump(&counters.spawned);
    let mut spare = SpareProcess {
        process: &mut process,
        deadline,
        counters,
    };
    let (env, imports) = elaborate_in_steps(&mut spare, header, None).await?;
    Ok(Spare {
        process,
        header: header.to_owned(),
        env,
        imports,
    })
}

/// A warming spare's header commands, as the pool's own go (each counted in `requests`).
struct SpareProcess<'a> {
    process: &'a mut ReplProcess,
    deadline: Duration,
    counters: &'a Counters,
}

impl HeaderCommand for SpareProcess<'_> {
    type Error = BridgeError;

    async fn run(&mut self, text: &str, env: Option<EnvId>) -> Result<HeaderEnv, BridgeError> {
        Counters::bump(&self.counters.requests);
        let answer = self
            .process
            .send_tracked(&command_request(text, env), self.deadline)
            .await;
        if let Err(failure) = &answer
            && matches!(failure.error, BridgeError::Timeout { .. })
        {
            Counters::bump(&self.counters.timeouts);
        }
        header_env_from(answer.map_err(|f| f.error)?).map_err(|f| f.error)
    }
}
