//! The proof-state cache: what Lean already answered, keyed by (toolchain and REPL identity,
//! import header, canonical goal text, tactic), so no question is sent to Lean twice.
//!
//! Besides Lean's answers it keeps verdicts: per theorem (statement), and per hole (a sorry's
//! goal, by its [`crate::goal::HoleKey`]: hypotheses and target with the hypothesis names
//! canonical), so a lemma two skeletons or two runs share is searched once.
//!
//! The cache is an optimisation: every result is the same with it off. The store sits behind
//! [`CacheBackend`] (sled on disk, or memory), so it can be swapped in an afternoon. Only this
//! module names `sled`.

mod backend;
pub mod export;
pub mod merge;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::datasets::SearchCost;
use serde::{Deserialize, Serialize};

pub use backend::{CacheBackend, CacheError, MemoryBackend, SledBackend};

/// Bumped whenever a key or record layout changes; old entries are then never read.
pub const SCHEMA_VERSION: u32 = 1;

/// The layout of theorem records, part of their keys: bumped when only it changes, so the
/// old verdicts are never read while Lean's answers (transitions and roots) stay shared.
/// Version 2 records the budget and cost of the search behind a proof.
const THEOREM_RECORDS_VERSION: &str = "theorem records v2";

/// The layout of hole records (a list of [`TheoremRecord`]s whose proof tactics name the
/// hole's hypotheses canonically), part of their keys as [`THEOREM_RECORDS_VERSION`] is of
/// theorems'.
const HOLE_RECORDS_VERSION: &str = "hole records v1";

/// A cache key: a hash over the versioned fields, with a one-byte kind prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub [u8; 21]);

const KIND_TRANSITION: u8 = b't';
const KIND_ROOT: u8 = b'r';
const KIND_THEOREM: u8 = b'p';
const KIND_HOLE: u8 = b'h';
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

/// The budget a search ran under: the settings that decide which tree it grows (policy,
/// width, α, per-tactic deadline) and the limits that decide how far it grows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Identifies the policy and its settings; verdicts under another policy say nothing.
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
    /// Whether a search under `self` grows the same tree as one under `other`, as far as both
    /// go: the same policy, width, α and per-tactic deadline. Each must be equal, not merely
    /// larger: a wider expansion or another α orders the frontier differently, and another
    /// deadline changes which tactics time out, either of which can find a proof the other
    /// misses or miss one it finds.
    pub fn same_search(&self, other: &Budget) -> bool {
        self.policy == other.policy
            && self.width == other.width
            && self.alpha == other.alpha
            && self.tactic_deadline_ms == other.tactic_deadline_ms
    }

    /// Whether a search under `self` can do nothing a search under `recorded` did not do: the
    /// same search with limits no larger. A failure recorded under `recorded` holds then.
    pub fn within(&self, recorded: &Budget) -> bool {
        fn le<T: PartialOrd>(new: Option<T>, old: Option<T>) -> bool {
            match (new, old) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(n), Some(o)) => n <= o,
            }
        }
        self.same_search(recorded)
            && le(self.max_expansions, recorded.max_expansions)
            && le(self.max_time_ms, recorded.max_time_ms)
            && le(self.max_env_calls, recorded.max_env_calls)
    }

    /// Whether the limits of `self` let a search spend what `spent` records. Best-first search
    /// is deterministic given its settings, so the same search under limits that cover what a
    /// proof cost finds that proof at the same point.
    pub fn covers(&self, spent: &Spent) -> bool {
        let cost = &spent.cost;
        self.max_expansions.is_none_or(|n| cost.expansions <= n)
            && self.max_env_calls.is_none_or(|n| spent.tactic_runs <= n)
            && self
                .max_time_ms
                .is_none_or(|ms| cost.seconds * 1000.0 <= ms as f64)
    }

    /// Milliseconds of a duration, for records.
    pub fn millis(duration: Duration) -> u64 {
        duration.as_millis().min(u128::from(u64::MAX)) as u64
    }
}

/// What a search spent, as its theorem's record keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    /// Expansions, Lean requests and seconds, as its result reported them.
    pub cost: SearchCost,
    /// Tactics it ran, cached answers included: what `max_env_calls` limits.
    pub tactic_runs: u32,
}

/// How a whole search of a theorem ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Proved; the proof text after `:= by` passed the recheck.
    Proved {
        /// The proof text.
        proof: String,
        /// The same proof as the tactic script it was spliced from.
        tactics: Vec<String>,
    },
    /// Not proved under the record's budget.
    Failed {
        /// The stop reason's code.
        stop_reason: ::datasets::StopCode,
        /// The stop reason in words.
        stop_detail: String,
    },
}

/// What became of one search of a whole theorem: the verdict, the budget it ran under and
/// what it spent, so the verdict is reused only for the question it answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoremRecord {
    /// Proved or failed.
    pub verdict: Verdict,
    /// The budget of the search.
    pub budget: Budget,
    /// What the search spent.
    pub spent: Spent,
}

impl TheoremRecord {
    /// Whether this record answers a search under `budget`: a proof when the same search
    /// under `budget` reaches it (the same policy, width, α and deadline, and limits that
    /// cover its cost: found in 40 expansions, it answers 100 but not 1), a failure when
    /// `budget` is within the one it was recorded under.
    pub fn answers(&self, budget: &Budget) -> bool {
        match self.verdict {
            Verdict::Proved { .. } => {
                budget.same_search(&self.budget) && budget.covers(&self.spent)
            }
            Verdict::Failed { .. } => budget.within(&self.budget),
        }
    }

    /// Whether the search found a proof.
    pub fn is_proof(&self) -> bool {
        matches!(self.verdict, Verdict::Proved { .. })
    }
}

/// The records of a theorem kept at once: one proof and one failure per search setting, the
/// newest first, so a budget sweep or a policy comparison on one cache keeps what each found.
const RECORDS_PER_THEOREM: usize = 8;

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
        key(
            KIND_THEOREM,
            &[&self.identity, THEOREM_RECORDS_VERSION, header, statement],
        )
    }

    fn hole_key(&self, header: &str, hole: &str) -> CacheKey {
        key(
            KIND_HOLE,
            &[&self.identity, HOLE_RECORDS_VERSION, header, hole],
        )
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

    /// What became of the searches of a theorem, the newest first.
    pub fn theorem(&self, header: &str, statement: &str) -> Vec<TheoremRecord> {
        self.read(&self.theorem_key(header, statement))
            .unwrap_or_default()
    }

    /// Records what became of a search of a theorem. It takes the place of an earlier record
    /// of the same kind (proof or failure) under the same search settings; the others stay,
    /// up to [`RECORDS_PER_THEOREM`]. Two processes recording one theorem at once may lose
    /// one of the two records, which only costs a search.
    pub fn record_theorem(&self, header: &str, statement: &str, record: TheoremRecord) {
        self.record_verdict(self.theorem_key(header, statement), record);
    }

    /// What became of the searches of a hole (a sorry whose goal has the canonical text `hole`,
    /// a [`crate::goal::HoleKey`]), the newest first; proof tactics name its hypotheses
    /// canonically.
    pub fn hole(&self, header: &str, hole: &str) -> Vec<TheoremRecord> {
        self.read(&self.hole_key(header, hole)).unwrap_or_default()
    }

    /// Records what became of a search of a hole, as [`ProofCache::record_theorem`] does for
    /// a theorem.
    pub fn record_hole(&self, header: &str, hole: &str, record: TheoremRecord) {
        self.record_verdict(self.hole_key(header, hole), record);
    }

    fn record_verdict(&self, key: CacheKey, record: TheoremRecord) {
        let mut records: Vec<TheoremRecord> = match self.backend.get(&key) {
            Ok(found) => found
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        records.retain(|old| {
            old.is_proof() != record.is_proof() || !old.budget.same_search(&record.budget)
        });
        records.insert(0, record);
        records.truncate(RECORDS_PER_THEOREM);
        self.write(key, &records);
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
    fn holes_keep_verdicts_apart_from_theorems_and_per_header() {
        let cache = cache();
        let record = proof_record(
            &Budget {
                policy: "portfolio".into(),
                width: 8,
                alpha: 2.0,
                max_expansions: Some(10),
                max_time_ms: None,
                max_env_calls: None,
                tactic_deadline_ms: 12_000,
            },
            3,
        );
        let hole = "⦃0⦄ : ℕ\n⊢ ⦃0⦄ = ⦃0⦄";
        assert!(cache.hole("import Mathlib", hole).is_empty());
        cache.record_hole("import Mathlib", hole, record.clone());
        assert_eq!(cache.hole("import Mathlib", hole), [record]);
        assert!(cache.hole("import Lean", hole).is_empty());
        assert!(cache.theorem("import Mathlib", hole).is_empty());
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
        let shorter_deadline = Budget {
            tactic_deadline_ms: 6_000,
            ..recorded.clone()
        };
        assert!(
            !shorter_deadline.within(&recorded),
            "another deadline grows another tree"
        );
    }

    fn proof_record(budget: &Budget, expansions: u32) -> TheoremRecord {
        TheoremRecord {
            verdict: Verdict::Proved {
                proof: "\n  simp".into(),
                tactics: vec!["simp".into()],
            },
            budget: budget.clone(),
            spent: Spent {
                cost: SearchCost {
                    expansions,
                    lean_calls: 3,
                    seconds: 2.5,
                },
                tactic_runs: 7,
            },
        }
    }

    #[test]
    fn a_proof_answers_the_same_search_under_limits_that_cover_its_cost() {
        let generous = Budget {
            policy: "portfolio".into(),
            width: 8,
            alpha: 2.0,
            max_expansions: Some(100),
            max_time_ms: None,
            max_env_calls: None,
            tactic_deadline_ms: 12_000,
        };
        let proof = proof_record(&generous, 40);
        assert!(proof.answers(&generous));
        let unlimited = Budget {
            max_expansions: None,
            ..generous.clone()
        };
        assert!(proof.answers(&unlimited));
        for (what, budget, answers) in [
            ("40 expansions", Some(40), true),
            ("39 expansions", Some(39), false),
            ("1 expansion", Some(1), false),
        ] {
            let smaller = Budget {
                max_expansions: budget,
                ..generous.clone()
            };
            assert_eq!(proof.answers(&smaller), answers, "{what}");
        }
        let tactic_runs = |n| Budget {
            max_env_calls: Some(n),
            ..generous.clone()
        };
        assert!(proof.answers(&tactic_runs(7)) && !proof.answers(&tactic_runs(6)));
        let time = |ms| Budget {
            max_time_ms: Some(ms),
            ..generous.clone()
        };
        assert!(proof.answers(&time(2_500)) && !proof.answers(&time(2_499)));
        type Change = fn(&mut Budget);
        let changes: [(&str, Change); 4] = [
            ("policy", |b| b.policy = "learned".into()),
            ("width", |b| b.width = 1),
            ("alpha", |b| b.alpha = 1.0),
            ("deadline", |b| b.tactic_deadline_ms += 1),
        ];
        for (what, change) in changes {
            let mut other = generous.clone();
            change(&mut other);
            assert!(!proof.answers(&other), "another {what}");
        }
    }

    #[test]
    fn a_theorem_keeps_one_proof_and_one_failure_per_search_setting() {
        let cache = cache();
        let budget = |width| Budget {
            policy: "portfolio".into(),
            width,
            alpha: 2.0,
            max_expansions: Some(100),
            max_time_ms: None,
            max_env_calls: None,
            tactic_deadline_ms: 12_000,
        };
        let failure = |width, max_expansions| TheoremRecord {
            verdict: Verdict::Failed {
                stop_reason: ::datasets::StopCode::ExpansionLimit,
                stop_detail: "limit".into(),
            },
            budget: Budget {
                max_expansions: Some(max_expansions),
                ..budget(width)
            },
            spent: Spent::default(),
        };
        let (h, s) = ("import Mathlib", "theorem t : True := by sorry");
        assert!(cache.theorem(h, s).is_empty());
        cache.record_theorem(h, s, proof_record(&budget(8), 40));
        cache.record_theorem(h, s, failure(1, 1));
        cache.record_theorem(h, s, failure(1, 5));
        cache.record_theorem(h, s, failure(2, 1));
        let records = cache.theorem(h, s);
        assert_eq!(
            records,
            [failure(2, 1), failure(1, 5), proof_record(&budget(8), 40)],
            "the newest first; a failure under the same settings replaced"
        );
        for width in 10..20 {
            cache.record_theorem(h, s, failure(width, 1));
        }
        assert_eq!(cache.theorem(h, s).len(), RECORDS_PER_THEOREM);
    }
}
