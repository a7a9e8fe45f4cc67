//! Policy answers asked for ahead of need (`Policy::prefetch`): started on the runtime when the search hints at the next states, handed to the later `propose` for the same state.
//!
//! The search calls `prefetch` just before an expansion's tactics go to Lean, so a model round
//! trip for a state it will probably expand next overlaps those tactics. Each answer is used at
//! most once, by the `propose` for its key; one the search never asks for is dropped (its
//! request aborted) once newer ones push it out. Whatever happened to a prefetch (it failed,
//! panicked or was dropped), the `propose` it was meant for asks afresh, so a prefetch can make
//! an answer early, never different or missing.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Answers kept per round of hints: a few rounds, so a state outranked for a while by new ones
/// still finds its answer, while the requests a search may leave unused stay bounded.
pub const ROUNDS_KEPT: usize = 4;

/// What became of a cache's prefetches, for the logs and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefetchStats {
    /// Requests started ahead of need.
    pub started: u64,
    /// Of those, answers a `propose` used.
    pub used: u64,
    /// Answers a `propose` found but could not use (the request failed or its task died).
    pub failed: u64,
    /// Requests dropped unused to make room for newer ones, or when the search ended.
    pub discarded: u64,
    /// Of `started`, requests for a new state an environment announced as soon as its tactic
    /// answered ([`PrefetchCache::start_new_state`]).
    pub new_states: u64,
    /// Of `used`, answers started for such a new state.
    pub new_states_used: u64,
}

/// Up to a bounded number of answers in the making, by key (what `propose` reads of a query).
/// Shared between the policy and the environment that announces new states, hence `&self`
/// throughout; the lock is never held while an answer is awaited.
#[derive(Debug)]
pub struct PrefetchCache<T> {
    runtime: Handle,
    inner: Mutex<Inner<T>>,
}

#[derive(Debug)]
struct Inner<T> {
    /// Oldest first.
    pending: VecDeque<Pending<T>>,
    /// The most answers kept: [`ROUNDS_KEPT`] times the most hints of one round seen so far.
    capacity: usize,
    /// Hints since the last call of `start` (its own and the new states' after it).
    round: usize,
    stats: PrefetchStats,
}

#[derive(Debug)]
struct Pending<T> {
    key: String,
    task: JoinHandle<T>,
    /// Started for a new state an environment announced.
    new_state: bool,
}

impl<T: Send + 'static> PrefetchCache<T> {
    /// An empty cache whose requests run on `runtime`.
    pub fn new(runtime: Handle) -> Self {
        PrefetchCache {
            runtime,
            inner: Mutex::new(Inner {
                pending: VecDeque::new(),
                capacity: 0,
                round: 0,
                stats: PrefetchStats::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts `ask(key)` on the runtime for every key not already started, best first (the
    /// search's look-ahead: one round of hints); drops the oldest unused answers beyond the
    /// capacity.
    pub fn start<'k, Fut>(
        &self,
        keys: impl ExactSizeIterator<Item = &'k str>,
        mut ask: impl FnMut(&str) -> Fut,
    ) where
        Fut: Future<Output = T> + Send + 'static,
    {
        let mut inner = self.lock();
        inner.round = keys.len();
        for key in keys {
            self.start_one(&mut inner, key, false, &mut ask);
        }
        inner.settle();
    }

    /// Starts `ask(key)` for a state an environment has just produced, unless it was started
    /// already. Callable from any thread or task.
    pub fn start_new_state<Fut>(&self, key: &str, mut ask: impl FnMut(&str) -> Fut)
    where
        Fut: Future<Output = T> + Send + 'static,
    {
        let mut inner = self.lock();
        if self.start_one(&mut inner, key, true, &mut ask) {
            inner.round += 1;
            inner.settle();
        }
    }

    /// Starts one request unless its key is pending; whether it started.
    fn start_one<Fut>(
        &self,
        inner: &mut Inner<T>,
        key: &str,
        new_state: bool,
        ask: &mut impl FnMut(&str) -> Fut,
    ) -> bool
    where
        Fut: Future<Output = T> + Send + 'static,
    {
        if inner.pending.iter().any(|pending| pending.key == key) {
            return false;
        }
        inner.stats.started += 1;
        inner.stats.new_states += u64::from(new_state);
        let task = self.runtime.spawn(ask(key));
        inner.pending.push_back(Pending {
            key: key.to_owned(),
            task,
            new_state,
        });
        true
    }

    /// The answer started for `key`, waited for if it is not in yet (call from a blocking
    /// thread, as `Handle::block_on` requires), or `None` when none was started or its task
    /// died. Either way nothing is kept for `key` afterwards. `usable` says whether the answer
    /// can serve (a failed request cannot), for the counts.
    pub fn take(&self, key: &str, usable: impl FnOnce(&T) -> bool) -> Option<T> {
        let pending = {
            let mut inner = self.lock();
            let at = inner
                .pending
                .iter()
                .position(|pending| pending.key == key)?;
            inner.pending.remove(at)?
        };
        let answer = self.runtime.block_on(pending.task);
        let mut inner = self.lock();
        match answer {
            Ok(answer) => {
                if usable(&answer) {
                    inner.stats.used += 1;
                    inner.stats.new_states_used += u64::from(pending.new_state);
                } else {
                    inner.stats.failed += 1;
                }
                Some(answer)
            }
            Err(error) => {
                tracing::debug!(%error, "a prefetched policy answer's task died; asking again");
                inner.stats.failed += 1;
                None
            }
        }
    }

    /// What became of the prefetches so far.
    pub fn stats(&self) -> PrefetchStats {
        self.lock().stats
    }
}

impl<T> Inner<T> {
    /// Grows the capacity to this round's hints and drops the oldest unused answers beyond it.
    fn settle(&mut self) {
        self.capacity = self.capacity.max(ROUNDS_KEPT * self.round);
        while self.pending.len() > self.capacity {
            if let Some(pending) = self.pending.pop_front() {
                tracing::trace!(state = %pending.key, "dropping an unused prefetched policy answer");
                pending.task.abort();
                self.stats.discarded += 1;
            }
        }
    }
}

impl<T> Drop for PrefetchCache<T> {
    /// Requests nobody will read are stopped, so they hold no model-server slot.
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        for pending in inner.pending.drain(..) {
            pending.task.abort();
            inner.stats.discarded += 1;
        }
        if inner.stats.started > 0 {
            let PrefetchStats {
                started,
                used,
                failed,
                discarded,
                new_states,
                new_states_used,
            } = inner.stats;
            tracing::debug!(
                started,
                used,
                failed,
                discarded,
                new_states,
                new_states_used,
                "policy answers asked ahead of need"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_started_answer_is_taken_once_by_its_key() {
        let runtime = runtime();
        let cache = PrefetchCache::new(runtime.handle().clone());
        let asked = Arc::new(AtomicUsize::new(0));
        let count = |asked: &Arc<AtomicUsize>| {
            let asked = asked.clone();
            move |key: &str| {
                asked.fetch_add(1, Ordering::SeqCst);
                let key = key.to_owned();
                async move { format!("answer to {key}") }
            }
        };
        cache.start(["a", "b"].into_iter(), count(&asked));
        // Hinted again: not asked twice.
        cache.start(["b"].into_iter(), count(&asked));
        assert_eq!(asked.load(Ordering::SeqCst), 2);
        assert_eq!(cache.take("b", |_| true).as_deref(), Some("answer to b"));
        assert_eq!(cache.take("b", |_| true), None, "used once");
        assert_eq!(cache.take("c", |_| true), None, "never started");
        assert_eq!(cache.stats().started, 2);
    }

    #[test]
    fn the_oldest_unused_answers_are_dropped_beyond_the_capacity() {
        let runtime = runtime();
        let cache = PrefetchCache::new(runtime.handle().clone());
        let answer = |key: &str| {
            let key = key.to_owned();
            async move { key }
        };
        cache.start(["0"].into_iter(), answer);
        for key in 1..=ROUNDS_KEPT {
            cache.start([key.to_string().as_str()].into_iter(), answer);
        }
        assert_eq!(cache.take("0", |_| true), None, "pushed out by newer hints");
        assert_eq!(cache.take("1", |_| true).as_deref(), Some("1"));
        assert_eq!(cache.stats().discarded, 1);
    }

    #[test]
    fn a_task_that_died_gives_no_answer() {
        let runtime = runtime();
        let cache = PrefetchCache::<u32>::new(runtime.handle().clone());
        cache.start(["x"].into_iter(), |_| async { panic!("the request broke") });
        assert_eq!(cache.take("x", |_| true), None);
        assert_eq!(cache.stats().failed, 1);
    }

    #[test]
    fn a_new_state_announced_from_another_thread_is_answered_once_and_counted() {
        let runtime = runtime();
        let cache = Arc::new(PrefetchCache::new(runtime.handle().clone()));
        let answer = |key: &str| {
            let key = key.to_owned();
            async move { key.len() }
        };
        cache.start(["a"].into_iter(), answer);
        let announcer = Arc::clone(&cache);
        std::thread::spawn(move || {
            announcer.start_new_state("new", answer);
            // Already pending: not asked twice.
            announcer.start_new_state("a", answer);
            announcer.start_new_state("new", answer);
        })
        .join()
        .unwrap();
        assert_eq!(cache.take("new", |_| true), Some(3));
        assert_eq!(
            cache.take("a", |_| false),
            Some(1),
            "handed over, counted unusable"
        );
        let stats = cache.stats();
        assert_eq!(
            (
                stats.started,
                stats.new_states,
                stats.used,
                stats.new_states_used,
                stats.failed
            ),
            (2, 1, 1, 1, 1)
        );
    }

    #[test]
    fn new_states_widen_the_round_so_they_do_not_push_out_the_searchs_own_hints() {
        let runtime = runtime();
        let cache = PrefetchCache::new(runtime.handle().clone());
        let answer = |key: &str| {
            let key = key.to_owned();
            async move { key }
        };
        cache.start(["s"].into_iter(), answer);
        for key in 0..ROUNDS_KEPT {
            cache.start_new_state(&key.to_string(), answer);
        }
        assert_eq!(cache.take("s", |_| true).as_deref(), Some("s"));
        assert_eq!(cache.stats().discarded, 0);
    }
}
