//! `Session`: everything a front end needs to prove theorems (runtime, REPL pool, cache, policies, prove settings), opened once and shut down cleanly.
//!
//! A front end (the CLI, an editor server, a pipeline stage) turns its user's settings into a
//! [`SessionConfig`] (`settings::session_config`), opens a [`Session`], and submits jobs to it
//! ([`Session::submit`], see [`crate::job`]), or to the cheap [`Prover`] handles it hands out to
//! tasks. Inputs and outputs are plain data (`Job`, `JobEvent`, `ProveResult`, `CheckResult`);
//! no clap or LSP type reaches this module. The `prove_*` methods are thin wrappers over
//! [`Prover::submit`].
//!
//! **Invariant:** proving never panics for being called from the wrong place. A search is
//! synchronous and reaches the async pool by blocking on a runtime handle, which panics on a
//! thread that is running async tasks; so every job runs on the runtime's blocking threads
//! (`spawn_blocking`), and [`JobHandle::wait_blocking`], called on a runtime thread, waits on a
//! thread of its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use crate::cache::{CacheBackend, MemoryBackend, ProofCache, SledBackend};
use crate::check::{self, CheckResult, ProofTask};
use crate::engine::{Engine, Goal, ProveConfig, ProveResult};
use crate::job::{self, CancelToken, Job, JobHandle, Observer};
use crate::llm::LlmError;
use crate::policy::{Policies, PolicySpec};
use crate::search::{SearchEvent, SearchHook};

/// What a session is opened with: plain data, usually from `settings::session_config`.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The REPL pool.
    pub pool: PoolConfig,
    /// Search and recheck settings (`policy_id` is filled from `policy` when the session opens).
    pub prove: ProveConfig,
    /// The tactic policy.
    pub policy: PolicySpec,
    /// How long a batch waits for a model server that is down.
    pub outage_limit: Duration,
    /// The proof-state cache directory; `None` runs without a cache.
    pub cache_dir: Option<PathBuf>,
    /// What to do when another process holds the cache directory.
    pub cache_fallback: CacheFallback,
}

/// What a session does when another process holds its cache directory
/// (`--cache-shared-fallback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheFallback {
    /// Refuse to open, saying what to do (the default): sixteen shards on one shared cache
    /// directory would otherwise run fifteen of them uncached without anyone noticing.
    #[default]
    Error,
    /// Go on with an in-memory cache, with a warning.
    Memory,
}

impl CacheFallback {
    /// Every value, for a front end's list of choices.
    pub const ALL: [CacheFallback; 2] = [CacheFallback::Error, CacheFallback::Memory];

    /// The value's name on the command line and in `prover.toml`.
    pub fn name(self) -> &'static str {
        match self {
            CacheFallback::Error => "error",
            CacheFallback::Memory => "memory",
        }
    }
}

impl std::str::FromStr for CacheFallback {
    type Err = String;

    fn from_str(text: &str) -> Result<CacheFallback, String> {
        CacheFallback::ALL
            .into_iter()
            .find(|value| value.name() == text)
            .ok_or_else(|| format!("expected `error` or `memory`, got {text:?}"))
    }
}

/// Why a session could not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The model client could not be built from its settings.
    #[error(transparent)]
    Model(#[from] LlmError),
    /// Another process holds the cache directory, and the settings say not to go on without it.
    #[error(
        "the cache at {} is in use by another process. Give each process its own --cache DIR \
         (a sharded run does by default: --shard I/N uses DIR/shard-I-of-N, and `prover cache \
         merge` joins them afterwards), wait for the other run to end, run without a cache \
         (--no-cache), or pass --cache-shared-fallback memory to run on an in-memory cache",
        .dir.display()
    )]
    CacheHeld {
        /// The cache directory.
        dir: PathBuf,
    },
}

/// An open session. Dropping it stops its runtime without waiting for searches still running;
/// call [`Session::shutdown`] first to stop the REPLs and flush the cache.
pub struct Session {
    prover: Prover,
    outage_limit: Duration,
    cache: Option<Arc<ProofCache>>,
    /// Present when the session started its own runtime ([`Session::open`]).
    runtime: Option<Runtime>,
}

/// A cheap, cloneable handle that proves theorems on a session's pool, cache and policies:
/// what a spawned task or a job holds.
#[derive(Clone)]
pub struct Prover {
    engine: Engine,
    policies: Arc<Policies>,
    config: Arc<ProveConfig>,
}

impl Session {
    /// Opens a session on a runtime of its own: for synchronous front ends.
    pub fn open(config: SessionConfig) -> Result<Session, SessionError> {
        let runtime = Runtime::new().map_err(SessionError::Runtime)?;
        let mut session = Session::open_on(runtime.handle(), config)?;
        session.runtime = Some(runtime);
        Ok(session)
    }

    /// Opens a session on the caller's runtime: for async front ends (an editor server).
    pub fn open_on(handle: &Handle, config: SessionConfig) -> Result<Session, SessionError> {
        let SessionConfig {
            pool,
            mut prove,
            policy,
            outage_limit,
            cache_dir,
            cache_fallback,
        } = config;
        let cache = match cache_dir {
            Some(dir) => Some(open_cache(&dir, &pool, cache_fallback)?),
            None => None,
        };
        let policies = Policies::new(policy, outage_limit, handle)?;
        prove.policy_id = policies.id();
        let engine = Engine {
            pool: Arc::new(ReplPool::new(pool)),
            runtime: handle.clone(),
            cache: cache.clone(),
        };
        Ok(Session {
            prover: Prover {
                engine,
                policies: Arc::new(policies),
                config: Arc::new(prove),
            },
            cache,
            outage_limit,
            runtime: None,
        })
    }

    /// A handle on this session's pool and cache that proves with another policy and other
    /// settings (a pipeline's cheap pass); `prove.policy_id` is filled from `policy`.
    pub fn prover_with(
        &self,
        policy: PolicySpec,
        mut prove: ProveConfig,
    ) -> Result<Prover, SessionError> {
        let policies = Policies::new(policy, self.outage_limit, self.handle())?;
        prove.policy_id = policies.id();
        Ok(Prover {
            engine: self.prover.engine.clone(),
            policies: Arc::new(policies),
            config: Arc::new(prove),
        })
    }

    /// A handle for tasks.
    pub fn prover(&self) -> Prover {
        self.prover.clone()
    }

    /// The runtime the session's requests run on.
    pub fn handle(&self) -> &Handle {
        &self.prover.engine.runtime
    }

    /// The REPL pool.
    pub fn pool(&self) -> &Arc<ReplPool> {
        &self.prover.engine.pool
    }

    /// Starts the REPLs that `searches` searches at once will run their tactics on (each its
    /// search parallelism: the pool's size unless set), each elaborating `header` in the
    /// background (`ReplPool::prewarm`), so the first expansions find them warm instead of
    /// each starting a REPL and elaborating the header on the search's clock. Call it as soon
    /// as the first header is known: the rest of the start-up (the preflight, the statement's
    /// own start) overlaps the elaborations. Returns how many it started.
    pub fn prewarm(&self, header: &str, searches: usize) -> usize {
        let workers = self.pool().config().workers;
        let wanted = searches
            .saturating_mul(self.prover.config.parallelism(workers))
            .min(workers);
        let _runtime = self.handle().enter();
        self.pool().prewarm(header, wanted)
    }

    /// [`prewarm`](Self::prewarm) on the import block a Lean file's text starts with
    /// (`lean_bridge::split_imports`): what every header taken from the file shares, since
    /// the pool imports a header's import block once per process and elaborates the rest on
    /// it. Nothing for a text with no import. The editor server
    /// calls it when a file opens (`prover lsp --prewarm`).
    pub fn prewarm_imports(&self, text: &str, searches: usize) -> usize {
        match lean_bridge::split_imports(text) {
            Some((imports, _)) => self.prewarm(imports, searches),
            None => 0,
        }
    }

    /// The policies.
    pub fn policies(&self) -> &Policies {
        &self.prover.policies
    }

    /// The search and recheck settings, policy identity included.
    pub fn prove_config(&self) -> &ProveConfig {
        &self.prover.config
    }

    /// The proof-state cache, when on.
    pub fn cache(&self) -> Option<&Arc<ProofCache>> {
        self.cache.as_ref()
    }

    /// Submits a job ([`Prover::submit`]): the one door through which a front end proves a
    /// goal or checks a proof, with a handle to cancel and wait on it and events for `observer`.
    pub fn submit(&self, job: Job, observer: impl Observer) -> JobHandle {
        self.prover.submit(job, observer)
    }

    /// Stops every REPL (waiting for them to exit) and flushes the cache; what a session
    /// decided is on disk afterwards. The session stays usable: a later request starts REPLs
    /// again.
    pub async fn shutdown(&self) -> Result<(), crate::cache::CacheError> {
        self.pool().shutdown().await;
        match &self.cache {
            Some(cache) => cache.finish_run(),
            None => Ok(()),
        }
    }

    /// [`Session::shutdown`] from synchronous code.
    pub fn shutdown_blocking(&self) -> Result<(), crate::cache::CacheError> {
        if Handle::try_current().is_ok() {
            return std::thread::scope(|scope| {
                scope
                    .spawn(|| self.handle().block_on(self.shutdown()))
                    .join()
                    .unwrap_or(Ok(()))
            });
        }
        self.handle().block_on(self.shutdown())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Never blocks and never panics, even when dropped inside an async task: searches
        // still winding down on blocking threads are not waited for.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Prover {
    /// Submits a job: it starts at once on the runtime's blocking threads and reports to
    /// `observer` (see [`crate::job`]): the one door through which anything is proved or
    /// checked. [`JobEnd::prove_result`] reads a proof job's result, and a [`job::Lend`]
    /// observer lends its search events to a [`crate::search::SearchHook`].
    pub fn submit(&self, job: Job, observer: impl Observer) -> JobHandle {
        job::spawn(
            &self.engine.runtime,
            self.clone(),
            job,
            observer,
            CancelToken::new(),
        )
    }

    /// This prover with other search and recheck settings: the same pool, cache and policies
    /// (one model client, one request limit). The policy identity stays the policies'.
    pub fn with_config(&self, mut config: ProveConfig) -> Prover {
        config.policy_id = self.config.policy_id.clone();
        Prover {
            engine: self.engine.clone(),
            policies: self.policies.clone(),
            config: Arc::new(config),
        }
    }

    /// The goals at `goal`'s root and what each of `tactics` does there (each on the root),
    /// through the pool and the cache, with this prover's tactic deadline: what an agent trying
    /// tactics by hand asks. `Err` is an `error` result (statement, header or REPL failed).
    pub async fn probe(
        &self,
        goal: Goal,
        tactics: Vec<String>,
    ) -> Result<crate::engine::Probe, Box<ProveResult>> {
        let engine = self.engine.clone();
        let config = self.config.clone();
        let name = goal.name().to_owned();
        self.engine
            .runtime
            .spawn_blocking(move || engine.probe(&goal, &tactics, &config))
            .await
            .unwrap_or_else(|e| {
                Err(Box::new(crate::job::crashed(
                    &name,
                    &format!("the probe stopped: {e}"),
                )))
            })
    }

    /// The search and recheck settings, policy identity included.
    pub fn config(&self) -> &ProveConfig {
        &self.config
    }

    /// The policies.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// The REPL pool, for a pipeline's own commands (the planner's skeleton checks).
    pub(crate) fn pool(&self) -> &Arc<ReplPool> {
        &self.engine.pool
    }
}

impl job::Runner for Prover {
    fn prove(&self, goal: &Goal, hook: &mut dyn SearchHook, cancel: &CancelToken) -> ProveResult {
        let mut policy = self.policies.make();
        let mut result = self.engine.prove(
            goal,
            &self.config,
            &mut policy,
            self.policies.guard(),
            |event: &SearchEvent<'_>| hook.on_event(event),
            cancel,
        );
        result.llm_fallbacks = policy.fallbacks();
        result
    }

    fn check(&self, task: &ProofTask) -> CheckResult {
        self.engine.runtime.block_on(check::check_task(
            &self.engine.pool,
            task,
            &self.config.check,
        ))
    }
}

pub use crate::job::crashed;

/// The REPL pool a session or a pipeline runs on, named here so front ends need not depend on
/// `lean_bridge`.
pub use lean_bridge::pool::{PoolConfig, ReplPool};

pub use crate::cache::merge::{Disagreement as CacheDisagreement, Merged as CacheMerge};
pub use crate::cache::{CacheError, RunStats};

/// A cache directory opened on its own, to inspect or clear it (`prover cache`), without a
/// session: what a front end needs of the cache, so that it never names `cache`'s types.
pub struct CacheStore {
    backend: SledBackend,
    dir: PathBuf,
}

/// What a cache directory holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheStats {
    /// Where the store's files are (the versioned directory inside the cache directory).
    pub data_dir: PathBuf,
    /// Entries holding Lean's answers and verdicts (the last run's counters not counted).
    pub entries: usize,
    /// Bytes the store uses on disk.
    pub size_on_disk: u64,
    /// The counters the last run stored, if one did.
    pub last_run: Option<RunStats>,
}

impl CacheStore {
    /// Opens the store in `dir`; a store another process holds is refused
    /// ([`CacheError::Locked`]).
    pub fn open(dir: &std::path::Path) -> Result<CacheStore, CacheError> {
        Ok(CacheStore {
            backend: SledBackend::open(dir)?,
            dir: dir.to_owned(),
        })
    }

    /// Opens the store in `dir` only if one is there (a source to merge from: a mistyped path
    /// must not read as an empty cache).
    pub fn open_existing(dir: &std::path::Path) -> Result<CacheStore, CacheError> {
        if !SledBackend::data_dir(dir).is_dir() {
            return Err(CacheError::Store {
                path: dir.to_owned(),
                reason: format!(
                    "no cache of this prover is there (no {})",
                    SledBackend::data_dir(dir).display()
                ),
            });
        }
        CacheStore::open(dir)
    }

    /// What the store holds.
    pub fn stats(&self) -> Result<CacheStats, CacheError> {
        let last_run = crate::cache::last_run(&self.backend)?;
        Ok(CacheStats {
            data_dir: SledBackend::data_dir(&self.dir),
            // One entry holds the last run's counters, not a Lean answer.
            entries: self
                .backend
                .len()
                .saturating_sub(usize::from(last_run.is_some())),
            size_on_disk: self.backend.size_on_disk(),
            last_run,
        })
    }

    /// Merges every entry of `source` into this store (`prover cache merge`): keys this store
    /// lacks are copied, theorem verdicts under other budgets added, and a key the two answer
    /// differently is reported in [`CacheMerge::disagreements`] and left as this store has it.
    pub fn merge_from(&self, source: &CacheStore) -> Result<CacheMerge, CacheError> {
        crate::cache::merge::merge(&self.backend, &source.backend)
    }

    /// Removes every entry (the last run's counters included); returns how many there were.
    pub fn clear(&self) -> Result<usize, CacheError> {
        let entries = self.backend.len();
        self.backend.clear()?;
        Ok(entries)
    }
}

/// Kills every live REPL process group of this process at once and starts no more (a signal
/// handler's first act, so nothing keeps Lean's memory alive while a run winds down); returns
/// how many groups were killed.
pub fn stop_all_repls() -> usize {
    lean_bridge::reaper::shut_down()
}

/// Names the Lean toolchain and REPL behind `pool`: the launch command and the Lean project's
/// `lean-toolchain` and `lake-manifest.json`. Answers from another identity are never reused.
pub fn lean_identity(pool: &PoolConfig) -> String {
    let mut identity = format!("repl={}", pool.repl.command);
    if let Some(dir) = &pool.repl.working_dir {
        for file in ["lean-toolchain", "lake-manifest.json"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
                identity.push_str(&format!("\n{file}={}", text.trim()));
            }
        }
    }
    identity
}

/// Opens the cache in `dir`. A directory another process holds is refused unless `fallback`
/// says to go on in memory; a broken store is not fatal: the session goes on with an
/// in-memory cache, and says so.
fn open_cache(
    dir: &std::path::Path,
    pool: &PoolConfig,
    fallback: CacheFallback,
) -> Result<Arc<ProofCache>, SessionError> {
    let backend: Arc<dyn CacheBackend> = match SledBackend::open(dir) {
        Ok(store) => Arc::new(store),
        Err(CacheError::Locked { path }) if fallback == CacheFallback::Error => {
            return Err(SessionError::CacheHeld { dir: path });
        }
        Err(error) => {
            tracing::warn!("{error}; this run uses an in-memory cache instead");
            Arc::new(MemoryBackend::default())
        }
    };
    Ok(Arc::new(ProofCache::new(backend, lean_identity(pool))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_store_counts_and_clears_what_a_run_wrote() {
        let dir = tempfile::tempdir().unwrap();
        {
            let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
            let cache = ProofCache::new(backend, "lean v4.24.0 | repl");
            cache.record_root(
                "import Mathlib",
                "theorem t : True := sorry",
                &["⊢ True".into()],
            );
            cache.root("import Mathlib", "theorem u : True := sorry");
            cache.finish_run().unwrap();
        }
        let store = CacheStore::open(dir.path()).unwrap();
        let stats = store.stats().unwrap();
        assert_eq!(stats.data_dir, SledBackend::data_dir(dir.path()));
        // The last run's counters are stored beside the one answer, and not counted as one.
        assert_eq!(stats.entries, 1);
        let last = stats.last_run.unwrap();
        assert_eq!((last.misses, last.writes), (1, 1));
        assert_eq!(store.clear().unwrap(), 2);
        let cleared = store.stats().unwrap();
        assert_eq!((cleared.entries, cleared.last_run), (0, None));
    }
}
