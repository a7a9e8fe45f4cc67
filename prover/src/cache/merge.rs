//! Merging one cache store into another (`prover cache merge DEST SRC…`), so the shards of a run,
//! each with a cache directory of its own, leave one warm cache for the next run on any machine.
//!
//! Keys are hashes of what was asked (Lean identity, header, goal text, tactic), so the same key
//! in two stores is the same question, and two answers to it must agree:
//! - a key `DEST` lacks is copied;
//! - a key both hold with the same record is left alone;
//! - a theorem's (or a hole's) verdicts are a list, one per search setting: `SRC`'s records for budgets `DEST`
//!   has none of are added (newest first, as `ProofCache::record_theorem` keeps them), one for a
//!   budget `DEST` holds with the same kind of verdict agrees (what it spent may differ between
//!   machines), and a proof against a failure under one budget disagrees;
//! - any other difference (Lean answered a tactic differently on two machines: another
//!   toolchain under the same identity, a flaky build) is a [`Disagreement`], reported and never
//!   written: `DEST` keeps what it had.
//!
//! The last run's counters (`prover cache stats`) are `DEST`'s own and never copied.

use super::{
    CacheBackend, CacheError, CacheKey, KIND_HOLE, KIND_ROOT, KIND_THEOREM, KIND_TRANSITION,
    LAST_RUN_KEY, RECORDS_PER_THEOREM, TheoremRecord,
};

/// A key two stores answer differently; `DEST`'s answer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The key, as hex.
    pub key: String,
    /// What the key holds: `transition`, `root`, `theorem`, `hole` or `unknown`.
    pub kind: &'static str,
    /// What differs, in words.
    pub detail: String,
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Merged {
    /// Keys copied from the source.
    pub added: usize,
    /// Keys both held alike (theorem lists that only gained records count as `extended`).
    pub same: usize,
    /// Theorem keys that gained verdicts under other budgets.
    pub extended: usize,
    /// Keys answered differently, left as the destination had them.
    pub disagreements: Vec<Disagreement>,
}

fn kind_name(key: &CacheKey) -> &'static str {
    match key.0[0] {
        KIND_TRANSITION => "transition",
        KIND_ROOT => "root",
        KIND_THEOREM => "theorem",
        KIND_HOLE => "hole",
        _ => "unknown",
    }
}

fn hex(key: &CacheKey) -> String {
    key.0.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Merges every entry of `source` into `dest`, in one batch, and flushes `dest`.
pub fn merge(dest: &dyn CacheBackend, source: &dyn CacheBackend) -> Result<Merged, CacheError> {
    let mut merged = Merged::default();
    let mut writes = Vec::new();
    for (key, value) in source.entries()? {
        if key == LAST_RUN_KEY {
            continue;
        }
        let Some(held) = dest.get(&key)? else {
            writes.push((key, value));
            merged.added += 1;
            continue;
        };
        if held == value {
            merged.same += 1;
            continue;
        }
        let disagreement = |detail: String| Disagreement {
            key: hex(&key),
            kind: kind_name(&key),
            detail,
        };
        // A theorem's or a hole's verdicts are lists, one per search setting.
        if key.0[0] != KIND_THEOREM && key.0[0] != KIND_HOLE {
            merged.disagreements.push(disagreement(format!(
                "the destination holds {}, the source {}",
                String::from_utf8_lossy(&held),
                String::from_utf8_lossy(&value)
            )));
            continue;
        }
        let (Ok(mut ours), Ok(theirs)) = (
            serde_json::from_slice::<Vec<TheoremRecord>>(&held),
            serde_json::from_slice::<Vec<TheoremRecord>>(&value),
        ) else {
            merged.disagreements.push(disagreement(
                "a theorem record that does not read".to_owned(),
            ));
            continue;
        };
        let mut gained = false;
        let mut conflicting = Vec::new();
        for record in theirs {
            let same_budget = |own: &&TheoremRecord| own.budget == record.budget;
            if ours
                .iter()
                .filter(same_budget)
                .any(|own| own.is_proof() == record.is_proof())
            {
                continue;
            }
            match ours.iter().find(same_budget) {
                Some(own) => conflicting.push(format!(
                    "under policy {} the destination says {}, the source {}",
                    own.budget.policy,
                    verdict_word(own),
                    verdict_word(&record)
                )),
                None => {
                    ours.push(record);
                    gained = true;
                }
            }
        }
        if !conflicting.is_empty() {
            merged
                .disagreements
                .push(disagreement(conflicting.join("; ")));
            continue;
        }
        if gained {
            ours.truncate(RECORDS_PER_THEOREM);
            writes.push((key, serde_json::to_vec(&ours).unwrap_or(held)));
            merged.extended += 1;
        } else {
            merged.same += 1;
        }
    }
    dest.put_batch(&writes)?;
    dest.flush()?;
    Ok(merged)
}

fn verdict_word(record: &TheoremRecord) -> &'static str {
    if record.is_proof() {
        "proved"
    } else {
        "failed"
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Budget, ProofCache, Spent, TransitionRecord, Verdict};
    use super::*;
    use crate::cache::MemoryBackend;
    use std::sync::Arc;

    fn budget(policy: &str, expansions: u32) -> Budget {
        Budget {
            policy: policy.to_owned(),
            width: 8,
            alpha: 0.5,
            max_expansions: Some(expansions),
            max_time_ms: None,
            max_env_calls: None,
            tactic_deadline_ms: 1000,
        }
    }

    fn record(proved: bool, budget: Budget, seconds: f64) -> TheoremRecord {
        let mut spent = Spent::default();
        spent.cost.seconds = seconds;
        TheoremRecord {
            verdict: if proved {
                Verdict::Proved {
                    proof: "simp".to_owned(),
                    tactics: vec!["simp".to_owned()],
                }
            } else {
                Verdict::Failed {
                    stop_reason: ::datasets::StopCode::Exhausted,
                    stop_detail: "exhausted".to_owned(),
                }
            },
            budget,
            spent,
        }
    }

    fn cache() -> (Arc<dyn CacheBackend>, ProofCache) {
        let backend: Arc<dyn CacheBackend> = Arc::new(MemoryBackend::default());
        (backend.clone(), ProofCache::new(backend, "lean | repl"))
    }

    #[test]
    fn a_merge_copies_what_is_missing_keeps_what_agrees_and_reports_what_disagrees() {
        let (dest_store, dest) = cache();
        let (source_store, source) = cache();
        dest.record_transition("h", "⊢ a", "simp", &TransitionRecord::Proved);
        source.record_transition("h", "⊢ a", "simp", &TransitionRecord::Proved);
        source.record_transition("h", "⊢ b", "simp", &TransitionRecord::Proved);
        dest.record_transition("h", "⊢ c", "ring", &TransitionRecord::Proved);
        source.record_transition(
            "h",
            "⊢ c",
            "ring",
            &TransitionRecord::Rejected("ring failed".to_owned()),
        );
        // One theorem: the same verdict under the same budget (another time spent), and a
        // failure under another budget, which the destination gains.
        dest.record_theorem("h", "theorem t", record(true, budget("p", 10), 1.0));
        source.record_theorem("h", "theorem t", record(true, budget("p", 10), 2.5));
        source.record_theorem("h", "theorem t", record(false, budget("q", 10), 2.5));
        // Another theorem: a proof against a failure under one budget.
        dest.record_theorem("h", "theorem u", record(true, budget("p", 10), 1.0));
        source.record_theorem("h", "theorem u", record(false, budget("p", 10), 1.0));
        source.finish_run().unwrap();

        let merged = merge(&*dest_store, &*source_store).unwrap();
        assert_eq!(merged.added, 1, "{merged:?}");
        assert_eq!(merged.same, 1, "{merged:?}");
        assert_eq!(merged.extended, 1, "{merged:?}");
        let kinds: Vec<&str> = merged.disagreements.iter().map(|d| d.kind).collect();
        assert_eq!(kinds.len(), 2, "{merged:?}");
        assert!(kinds.contains(&"transition") && kinds.contains(&"theorem"));
        // Never overwritten.
        assert_eq!(
            dest.transition("h", "⊢ c", "ring"),
            Some(TransitionRecord::Proved)
        );
        assert_eq!(dest.theorem("h", "theorem u").len(), 1);
        assert!(dest.theorem("h", "theorem u")[0].is_proof());
        assert_eq!(dest.theorem("h", "theorem t").len(), 2);
        assert_eq!(
            dest.transition("h", "⊢ b", "simp"),
            Some(TransitionRecord::Proved)
        );
        assert!(crate::cache::last_run(&*dest_store).unwrap().is_none());
        // Merging again changes nothing.
        let again = merge(&*dest_store, &*source_store).unwrap();
        assert_eq!((again.added, again.extended), (0, 0));
        assert_eq!(again.disagreements, merged.disagreements);
    }
}
