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

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Answers kept per hinted state: a few rounds of hints, so a state outranked for a while by
/// new ones still finds its answer, while the requests a search may leave unused stay bounded.
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
    /// Requests dropped unused to make room for newer ones.
    pub discarded: u64,
}

/// Up to a bounded number of answers in the making, by key (what `propose` reads of a query).
#[derive(Debug)]
pub struct PrefetchCache<T> {
    runtime: Handle,
    /// Oldest first.
    pending: VecDeque<(String, JoinHandle<T>)>,
    /// The most answers kept; grows to [`ROUNDS_KEPT`] times the largest hint seen.
    capacity: usize,
    stats: PrefetchStats,
}

impl<T: Send + 'static> PrefetchCache<T> {
    /// An empty cache whose requests run on `runtime`.
    pub fn new(runtime: Handle) -> Self {
        PrefetchCache {
            runtime,
            pending: VecDeque::new(),
            capacity: 0,
            stats: PrefetchStats::default(),
        }
    }

    /// Starts `ask(key)` on the runtime for every key not already started, best first;
    /// drops the oldest unused answers beyond the capacity.
    pub fn start<'k, Fut>(
        &mut self,
        keys: impl ExactSizeIterator<Item = &'k str>,
        mut ask: impl FnMut(&str) -> Fut,
    ) where
        Fut: Future<Output = T> + Send + 'static,
    {
        self.capacity = self.capacity.max(ROUNDS_KEPT * keys.len());
        for key in keys {
            if self.pending.iter().any(|(started, _)| started == key) {
                continue;
            }
            self.stats.started += 1;
            let task = self.runtime.spawn(ask(key));
            self.pending.push_back((key.to_owned(), task));
        }
        while self.pending.len() > self.capacity {
            if let Some((key, task)) = self.pending.pop_front() {
                tracing::trace!(state = %key, "dropping an unused prefetched policy answer");
                task.abort();
                self.stats.discarded += 1;
            }
        }
    }

    /// The answer started for `key`, waited for if it is not in yet (call from a blocking
    /// thread, as `Handle::block_on` requires), or `None` when none was started or its task
    /// died. Either way nothing is kept for `key` afterwards.
    pub fn take(&mut self, key: &str) -> Option<T> {
        let at = self
            .pending
            .iter()
            .position(|(started, _)| started == key)?;
        let (_, task) = self.pending.remove(at)?;
        match self.runtime.block_on(task) {
            Ok(answer) => Some(answer),
            Err(error) => {
                tracing::debug!(%error, "a prefetched policy answer's task died; asking again");
                self.stats.failed += 1;
                None
            }
        }
    }

    /// Counts an answer `take` gave that was used, or one that could not be.
    pub fn record(&mut self, used: bool) {
        if used {
            self.stats.used += 1;
        } else {
            self.stats.failed += 1;
        }
    }

    /// What became of the prefetches so far.
    pub fn stats(&self) -> PrefetchStats {
        self.stats
    }
}

impl<T> Drop for PrefetchCache<T> {
    /// Requests nobody will read are stopped, so they hold no model-server slot.
    fn drop(&mut self) {
        for (_, task) in self.pending.drain(..) {
            task.abort();
            self.stats.discarded += 1;
        }
        if self.stats.started > 0 {
            let PrefetchStats {
                started,
                used,
                failed,
                discarded,
            } = self.stats;
            tracing::debug!(
                started,
                used,
                failed,
                discarded,
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
        let mut cache = PrefetchCache::new(runtime.handle().clone());
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
        assert_eq!(cache.take("b").as_deref(), Some("answer to b"));
        assert_eq!(cache.take("b"), None, "used once");
        assert_eq!(cache.take("c"), None, "never started");
        assert_eq!(cache.stats().started, 2);
    }

    #[test]
    fn the_oldest_unused_answers_are_dropped_beyond_the_capacity() {
        let runtime = runtime();
        let mut cache = PrefetchCache::new(runtime.handle().clone());
        let answer = |key: &str| {
            let key = key.to_owned();
            async move { key }
        };
        cache.start(["0"].into_iter(), answer);
        for key in 1..=ROUNDS_KEPT {
            cache.start([key.to_string().as_str()].into_iter(), answer);
        }
        assert_eq!(cache.take("0"), None, "pushed out by newer hints");
        assert_eq!(cache.take("1").as_deref(), Some("1"));
        assert_eq!(cache.stats().discarded, 1);
    }

    #[test]
    fn a_task_that_died_gives_no_answer() {
        let runtime = runtime();
        let mut cache = PrefetchCache::<u32>::new(runtime.handle().clone());
        cache.start(["x"].into_iter(), |_| async { panic!("the request broke") });
        assert_eq!(cache.take("x"), None);
        assert_eq!(cache.stats().failed, 1);
    }
}
