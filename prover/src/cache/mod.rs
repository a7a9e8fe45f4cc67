//! The proof-state cache: what Lean already answered, keyed by (toolchain and REPL identity,
//! import header, canonical goal text, tactic), so no question is sent to Lean twice.
//!
//! The cache is an optimisation: every result is the same with it off. The store sits behind
//! [`CacheBackend`] (sled on disk, or memory), so it can be swapped in an afternoon. Only this
//! module names `sled`.

mod backend;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use backend::{CacheBackend, CacheError, MemoryBackend, SledBackend};

/// Bumped whenever a key or record layout changes; old entries are then never read.
pub const SCHEMA_VERSION: u32 = 1;

/// A cache key: a hash over the versioned fields, with a one-byte kind prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub [u8; 21]);

const KIND_TRANSITION: u8 = b't';
const KIND_ROOT: u8 = b'r';
const KIND_THEOREM: u8 = b'p';
/// The key of the last run's statistics.
pub const LAST_RUN_KEY: CacheKey = CacheKey([b'm'; 21]);

fn key(kind: u8, fields: &[&str]) -> CacheKey {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(&SCHEMA_VERSION.to_le_bytes());
    for field in fields {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        hasher.update(&(field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    let mut bytes = [0u8; 21];
    bytes[0] = kind;
    bytes[1..].copy_from_slice(&hasher.digest().bytes());
    CacheKey(bytes)
}

/// What a tactic did to a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionRecord {
    /// A new state with these goals.
    Goals(Vec<String>),
    /// The proof was complete.
    Proved,
    /// Lean refused the tactic.
    Rejected(String),
}

/// The budget a search ran under, to decide whether a recorded failure still holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Identifies the policy and its settings; failures under another policy say nothing.
    pub policy: String,
    /// Expansion width.
    pub width: usize,
    /// Depth exponent α.
    pub alpha: f64,
    /// Expansion limit.
    pub max_expansions: Option<u32>,
    /// Time limit in milliseconds.
    pub max_time_ms: Option<u64>,
    /// Tactic-run limit.
    pub max_env_calls: Option<u32>,
    /// Per-tactic deadline in milliseconds.
    pub tactic_deadline_ms: u64,
}

impl Budget {
    /// Whether a search under `self` can do nothing a search under `recorded` did not do.
    pub fn within(&self, recorded: &Budget) -> bool {
        fn le<T: PartialOrd>(new: Option<T>, old: Option<T>) -> bool {
            match (new, old) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(n), Some(o)) => n <= o,
            }
        }
        self.policy == recorded.policy
            && self.width == recorded.width
            && self.alpha == recorded.alpha
            && le(self.max_expansions, recorded.max_expansions)
            && le(self.max_time_ms, recorded.max_time_ms)
            && le(self.max_env_calls, recorded.max_env_calls)
            && self.tactic_deadline_ms <= recorded.tactic_deadline_ms
    }

    /// Milliseconds of a duration, for records.
    pub fn millis(duration: Duration) -> u64 {
        duration.as_millis().min(u128::from(u64::MAX)) as u64
    }
}

/// What became of a whole theorem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TheoremRecord {
    /// Proved; the proof text after `:= by` passed the recheck.
    Proved {
        /// The proof text.
        proof: String,
        /// The same proof as the tactic script it was spliced from.
        tactics: Vec<String>,
    },
    /// Not proved under this budget.
    Failed {
        /// The budget of the failed search.
        budget: Budget,
        /// The stop reason's code.
        stop_reason: String,
        /// The stop reason in words.
        stop_detail: String,
    },
}

/// Counters of one run, stored under [`LAST_RUN_KEY`] for `prover cache stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to Lean.
    pub misses: u64,
    /// Records written.
    pub writes: u64,
}

impl RunStats {
    /// Hits over lookups, or `None` before any lookup.
    pub fn hit_rate(&self) -> Option<f64> {
        let lookups = self.hits + self.misses;
        (lookups > 0).then(|| self.hits as f64 / lookups as f64)
    }
}

/// The cache as the engine uses it: typed records over a backend, scoped to one Lean identity.
pub struct ProofCache {
    backend: Arc<dyn CacheBackend>,
    identity: String,
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
}

impl ProofCache {
    /// A cache over `backend` for the Lean toolchain and REPL described by `identity`.
    pub fn new(backend: Arc<dyn CacheBackend>, identity: impl Into<String>) -> ProofCache {
        ProofCache {
            backend,
            identity: identity.into(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// The backend, for statistics.
    pub fn backend(&self) -> &Arc<dyn CacheBackend> {
        &self.backend
    }

    fn read<T: for<'de> Deserialize<'de>>(&self, key: &CacheKey) -> Option<T> {
        let found = match self.backend.get(key) {
            Ok(found) => found.and_then(|bytes| serde_json::from_slice(&bytes).ok()),
            Err(error) => {
                tracing::warn!("cache read failed: {error}");
                None
            }
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn write<T: Serialize>(&self, key: CacheKey, record: &T) {
        let bytes = serde_json::to_vec(record).expect("records always serialize");
        match self.backend.put_batch(&[(key, bytes)]) {
            Ok(()) => {
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => tracing::warn!("cache write failed: {error}"),
        }
    }

    fn transition_key(&self, header: &str, goals: &str, tactic: &str) -> CacheKey {
        key(
            KIND_TRANSITION,
            &[&self.identity, header, goals, tactic.trim()],
        )
    }

    fn root_key(&self, header: &str, statement: &str) -> CacheKey {
        key(KIND_ROOT, &[&self.identity, header, statement])
    }

    fn theorem_key(&self, header: &str, statement: &str) -> CacheKey {
        key(KIND_THEOREM, &[&self.identity, header, statement])
    }

    /// What `tactic` did on the state with canonical text `goals`, if known.
    pub fn transition(&self, header: &str, goals: &str, tactic: &str) -> Option<TransitionRecord> {
        self.read(&self.transition_key(header, goals, tactic))
    }

    /// Records what `tactic` did.
    pub fn record_transition(
        &self,
        header: &str,
        goals: &str,
        tactic: &str,
        record: &TransitionRecord,
    ) {
        self.write(self.transition_key(header, goals, tactic), record);
    }

    /// The root goals of a statement, if known.
    pub fn root(&self, header: &str, statement: &str) -> Option<Vec<String>> {
        self.read(&self.root_key(header, statement))
    }

    /// Records the root goals of a statement.
    pub fn record_root(&self, header: &str, statement: &str, goals: &[String]) {
        self.write(self.root_key(header, statement), &goals);
    }

    /// What became of a theorem, if known.
    pub fn theorem(&self, header: &str, statement: &str) -> Option<TheoremRecord> {
        self.read(&self.theorem_key(header, statement))
    }

    /// Records what became of a theorem.
    pub fn record_theorem(&self, header: &str, statement: &str, record: &TheoremRecord) {
        self.write(self.theorem_key(header, statement), record);
    }

    /// This run's counters so far.
    pub fn run_stats(&self) -> RunStats {
        RunStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }

    /// Stores this run's counters for `prover cache stats` and flushes everything to disk.
    pub fn finish_run(&self) -> Result<(), CacheError> {
        let stats = serde_json::to_vec(&self.run_stats()).expect("stats always serialize");
        self.backend.put_batch(&[(LAST_RUN_KEY, stats)])?;
        self.backend.flush()
    }
}

/// The last run's counters stored in `backend`, if any.
pub fn last_run(backend: &dyn CacheBackend) -> Result<Option<RunStats>, CacheError> {
    Ok(backend
        .get(&LAST_RUN_KEY)?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> ProofCache {
        ProofCache::new(Arc::new(MemoryBackend::default()), "lean v4.24.0 | repl")
    }

    #[test]
    fn transitions_round_trip_and_count_hits() {
        let cache = cache();
        assert_eq!(cache.transition("import Mathlib", "⊢ 1 = 1", "rfl"), None);
        cache.record_transition(
            "import Mathlib",
            "⊢ 1 = 1",
            "rfl",
            &TransitionRecord::Proved,
        );
        assert_eq!(
            cache.transition("import Mathlib", "⊢ 1 = 1", " rfl "),
            Some(TransitionRecord::Proved)
        );
        assert_eq!(cache.transition("import Lean", "⊢ 1 = 1", "rfl"), None);
        let stats = cache.run_stats();
        assert_eq!((stats.hits, stats.misses, stats.writes), (1, 2, 1));
    }

    #[test]
    fn identities_do_not_share_entries() {
        let backend: Arc<dyn CacheBackend> = Arc::new(MemoryBackend::default());
        let a = ProofCache::new(backend.clone(), "v4.24.0");
        let b = ProofCache::new(backend, "v4.9.0");
        a.record_root("h", "theorem t : True := by sorry", &["⊢ True".into()]);
        assert!(a.root("h", "theorem t : True := by sorry").is_some());
        assert!(b.root("h", "theorem t : True := by sorry").is_none());
    }

    #[test]
    fn key_fields_are_length_prefixed() {
        assert_ne!(key(b't', &["ab", "c"]), key(b't', &["a", "bc"]));
    }

    #[test]
    fn a_failure_holds_only_within_its_budget() {
        let recorded = Budget {
            policy: "portfolio".into(),
            width: 8,
            alpha: 2.0,
            max_expansions: Some(100),
            max_time_ms: None,
            max_env_calls: None,
            tactic_deadline_ms: 12_000,
        };
        assert!(recorded.within(&recorded));
        let bigger = Budget {
            max_expansions: Some(200),
            ..recorded.clone()
        };
        assert!(!bigger.within(&recorded));
        assert!(recorded.within(&bigger));
        let unlimited = Budget {
            max_expansions: None,
            ..recorded.clone()
        };
        assert!(!unlimited.within(&recorded));
        let other_policy = Budget {
            policy: "openai".into(),
            ..recorded.clone()
        };
        assert!(!other_policy.within(&recorded));
    }
}
