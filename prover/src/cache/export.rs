//! Export and import of a cache store as JSONL of typed records, so what Lean answered on one
//! machine (a shard of a run) can be shared with another.
//!
//! One line per entry: `schema_version` (of this file format), `cache_schema` (the
//! [`SCHEMA_VERSION`] its key was made under), `key` (42 hex digits: keys are hashes of the
//! Lean identity, header, goal text and tactic, so they are copied, never recomputed), `kind`
//! (`transition`, `root`, `theorem`, `hole`, `last_run`) and `record`, the typed record the store holds
//! under that key. An entry made under another Lean identity imports harmlessly: nothing with
//! another identity ever asks for its key.
//!
//! Export writes the entries in key order, so the same store gives the same bytes. Import reads
//! every line it can ([`datasets::jsonl::read_rows_versioned`]: a newer `schema_version` is
//! refused), refuses a line whose key, kind or cache schema does not fit, naming the line, and
//! stores the rest in one batch; an imported record replaces what the store held under its key
//! (a record is what Lean answered, the same on every machine with the same identity; a
//! theorem's list of verdicts is replaced whole).

use serde::{Deserialize, Serialize};

use super::{
    CacheBackend, CacheError, CacheKey, KIND_HOLE, KIND_ROOT, KIND_THEOREM, KIND_TRANSITION,
    LAST_RUN_KEY, RunStats, SCHEMA_VERSION, TheoremRecord, TransitionRecord,
};
use ::datasets::RowError;

/// The version of the export format, written in every line.
pub const EXPORT_SCHEMA_VERSION: u32 = 1;

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportLine {
    /// [`EXPORT_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// The cache's [`SCHEMA_VERSION`] the key was made under.
    pub cache_schema: u32,
    /// The key, as hex.
    pub key: String,
    /// What is stored under it.
    #[serde(flatten)]
    pub record: ExportRecord,
}

/// A record of the store, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum ExportRecord {
    /// What a tactic did to a goal text.
    Transition(TransitionRecord),
    /// A statement's root goals.
    Root(Vec<String>),
    /// A theorem's verdicts, one per search setting.
    Theorem(Vec<TheoremRecord>),
    /// A hole's verdicts, one per search setting (its proofs name hypotheses canonically).
    Hole(Vec<TheoremRecord>),
    /// The last run's statistics.
    LastRun(RunStats),
}

impl ExportRecord {
    /// The kind byte its keys start with.
    fn kind_byte(&self) -> u8 {
        match self {
            ExportRecord::Transition(_) => KIND_TRANSITION,
            ExportRecord::Root(_) => KIND_ROOT,
            ExportRecord::Theorem(_) => KIND_THEOREM,
            ExportRecord::Hole(_) => KIND_HOLE,
            ExportRecord::LastRun(_) => LAST_RUN_KEY.0[0],
        }
    }

    /// The record as the store keeps it.
    fn to_bytes(&self) -> Vec<u8> {
        let bytes = match self {
            ExportRecord::Transition(record) => serde_json::to_vec(record),
            ExportRecord::Root(goals) => serde_json::to_vec(goals),
            ExportRecord::Theorem(records) | ExportRecord::Hole(records) => {
                serde_json::to_vec(records)
            }
            ExportRecord::LastRun(stats) => serde_json::to_vec(stats),
        };
        // Plain records of strings and numbers always serialize.
        bytes.unwrap_or_default()
    }
}

/// What an export wrote and what it could not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exported {
    /// The JSONL bytes.
    pub bytes: Vec<u8>,
    /// Lines written.
    pub records: usize,
    /// Entries left out (a value that is not a record of its key's kind), each with why.
    pub skipped: Vec<String>,
}

/// What an import stored and what it refused.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Imported {
    /// Records stored.
    pub records: usize,
    /// Lines refused, each naming its line.
    pub errors: Vec<RowError>,
}

fn hex(key: &CacheKey) -> String {
    key.0.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn key_from_hex(text: &str) -> Option<CacheKey> {
    if text.len() != 42 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 21];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16).ok()?;
    }
    Some(CacheKey(bytes))
}

/// Decodes one stored value by its key's kind.
fn typed(key: &CacheKey, value: &[u8]) -> Result<ExportRecord, String> {
    let decoded = if *key == LAST_RUN_KEY {
        serde_json::from_slice(value).map(ExportRecord::LastRun)
    } else {
        match key.0[0] {
            KIND_TRANSITION => serde_json::from_slice(value).map(ExportRecord::Transition),
            KIND_ROOT => serde_json::from_slice(value).map(ExportRecord::Root),
            KIND_THEOREM => serde_json::from_slice(value).map(ExportRecord::Theorem),
            KIND_HOLE => serde_json::from_slice(value).map(ExportRecord::Hole),
            other => return Err(format!("key {}: unknown kind byte {other:#04x}", hex(key))),
        }
    };
    decoded.map_err(|error| format!("key {}: {error}", hex(key)))
}

/// Every entry of `store` as JSONL of typed records, in key order.
pub fn export(store: &dyn CacheBackend) -> Result<Exported, CacheError> {
    let mut exported = Exported::default();
    for (key, value) in store.entries()? {
        let record = match typed(&key, &value) {
            Ok(record) => record,
            Err(reason) => {
                exported.skipped.push(reason);
                continue;
            }
        };
        let line = ExportLine {
            schema_version: EXPORT_SCHEMA_VERSION,
            cache_schema: SCHEMA_VERSION,
            key: hex(&key),
            record,
        };
        match serde_json::to_vec(&line) {
            Ok(bytes) => {
                exported.bytes.extend(bytes);
                exported.bytes.push(b'\n');
                exported.records += 1;
            }
            Err(error) => exported.skipped.push(format!("key {}: {error}", line.key)),
        }
    }
    Ok(exported)
}

/// Stores the records of an export (`bytes`, JSONL) in `store`, in one batch.
pub fn import(store: &dyn CacheBackend, bytes: &[u8]) -> Result<Imported, CacheError> {
    let (lines, mut errors) =
        ::datasets::jsonl::read_rows_versioned::<ExportLine>(bytes, EXPORT_SCHEMA_VERSION);
    // `read_rows_versioned` does not say which line each row came from: they are the lines of
    // the same reader that did not fail, in order.
    let failed: std::collections::HashSet<usize> = errors.iter().map(|error| error.line).collect();
    let numbered: Vec<usize> = ::datasets::jsonl_lines(bytes)
        .map(|(line, _)| line)
        .filter(|line| !failed.contains(line))
        .collect();
    let mut entries = Vec::new();
    for (line, row) in numbered.into_iter().zip(lines) {
        let refuse = |reason: String| RowError {
            line,
            name: None,
            reason,
        };
        if row.cache_schema != SCHEMA_VERSION {
            errors.push(refuse(format!(
                "cache_schema {} is not this prover's ({SCHEMA_VERSION}): its key is never asked for",
                row.cache_schema
            )));
            continue;
        }
        let Some(key) = key_from_hex(&row.key) else {
            errors.push(refuse(format!("key {:?} is not 42 hex digits", row.key)));
            continue;
        };
        let kind_fits = if key == LAST_RUN_KEY {
            matches!(row.record, ExportRecord::LastRun(_))
        } else {
            key.0[0] == row.record.kind_byte() && !matches!(row.record, ExportRecord::LastRun(_))
        };
        if !kind_fits {
            errors.push(refuse(format!(
                "key {} is not a key of a {} record",
                row.key,
                kind_name(&row.record)
            )));
            continue;
        }
        entries.push((key, row.record.to_bytes()));
    }
    errors.sort_by_key(|error| error.line);
    store.put_batch(&entries)?;
    store.flush()?;
    Ok(Imported {
        records: entries.len(),
        errors,
    })
}

fn kind_name(record: &ExportRecord) -> &'static str {
    match record {
        ExportRecord::Transition(_) => "transition",
        ExportRecord::Root(_) => "root",
        ExportRecord::Theorem(_) => "theorem",
        ExportRecord::Hole(_) => "hole",
        ExportRecord::LastRun(_) => "last_run",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Budget, MemoryBackend, ProofCache, Spent, Verdict};
    use super::*;
    use std::sync::Arc;

    fn filled() -> (Arc<MemoryBackend>, ProofCache) {
        let store = Arc::new(MemoryBackend::default());
        let cache = ProofCache::new(store.clone(), "lean v4.24.0");
        cache.record_root(
            "import Mathlib",
            "theorem t : 1 = 1",
            &["⊢ 1 = 1".to_owned()],
        );
        cache.record_transition(
            "import Mathlib",
            "⊢ 1 = 1",
            "rfl",
            &TransitionRecord::Proved,
        );
        cache.record_transition(
            "import Mathlib",
            "⊢ 1 = 1",
            "simp",
            &TransitionRecord::Rejected("simp made no progress".to_owned()),
        );
        let record = TheoremRecord {
            verdict: Verdict::Proved {
                proof: "rfl".to_owned(),
                tactics: vec!["rfl".to_owned()],
            },
            budget: Budget {
                policy: "portfolio".to_owned(),
                width: 8,
                alpha: 0.5,
                max_expansions: Some(100),
                max_time_ms: None,
                max_env_calls: None,
                tactic_deadline_ms: 10_000,
            },
            spent: Spent::default(),
        };
        cache.record_theorem("import Mathlib", "theorem t : 1 = 1", record.clone());
        cache.record_hole("import Mathlib", "⊢ 1 = 1", record);
        (store, cache)
    }

    #[test]
    fn an_export_imports_into_an_empty_store_and_exports_to_the_same_bytes() {
        let (store, _) = filled();
        let exported = export(store.as_ref()).unwrap();
        assert_eq!(exported.records, 5);
        assert!(exported.skipped.is_empty());
        let text = String::from_utf8(exported.bytes.clone()).unwrap();
        assert!(
            text.lines()
                .all(|line| line.starts_with("{\"schema_version\":1,")),
            "{text}"
        );
        assert!(text.contains("\"kind\":\"theorem\""), "{text}");
        assert!(text.contains("\"kind\":\"hole\""), "{text}");

        let other = Arc::new(MemoryBackend::default());
        let imported = import(other.as_ref(), &exported.bytes).unwrap();
        assert_eq!((imported.records, imported.errors.len()), (5, 0));
        assert_eq!(other.entries().unwrap(), store.entries().unwrap());
        assert_eq!(export(other.as_ref()).unwrap().bytes, exported.bytes);

        // The imported store answers as the original did.
        let cache = ProofCache::new(other, "lean v4.24.0");
        assert_eq!(
            cache.transition("import Mathlib", "⊢ 1 = 1", "rfl"),
            Some(TransitionRecord::Proved)
        );
        assert_eq!(
            cache.root("import Mathlib", "theorem t : 1 = 1"),
            Some(vec!["⊢ 1 = 1".to_owned()])
        );
        assert_eq!(
            cache.theorem("import Mathlib", "theorem t : 1 = 1").len(),
            1
        );
        assert_eq!(cache.hole("import Mathlib", "⊢ 1 = 1").len(), 1);
    }

    #[test]
    fn bad_lines_are_refused_by_line_and_the_rest_imported() {
        let (store, _) = filled();
        let exported = String::from_utf8(export(store.as_ref()).unwrap().bytes).unwrap();
        let first = exported.lines().next().unwrap().to_owned();
        let good_key = first.split("\"key\":\"").nth(1).unwrap()[..42].to_owned();
        let bad = [
            first.replace(&good_key, "zz"),
            first.replace("\"cache_schema\":1", "\"cache_schema\":99"),
            first.replace("\"schema_version\":1", "\"schema_version\":2"),
            "not json".to_owned(),
            // A root record under a transition key.
            first.replace(&good_key, &format!("74{}", &good_key[2..])),
        ];
        let mut input = String::new();
        for line in &bad {
            input += line;
            input.push('\n');
        }
        input += &first;
        input.push('\n');
        let other = MemoryBackend::default();
        let imported = import(&other, input.as_bytes()).unwrap();
        assert_eq!(imported.records, 1);
        let lines: Vec<usize> = imported.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5], "{:?}", imported.errors);
        assert_eq!(other.len(), 1);
    }

    #[test]
    fn a_value_that_is_not_its_kinds_record_is_skipped_and_named() {
        let store = MemoryBackend::default();
        let mut key = [0u8; 21];
        key[0] = KIND_TRANSITION;
        store
            .put_batch(&[(CacheKey(key), b"{\"nonsense\": 1}".to_vec())])
            .unwrap();
        let exported = export(&store).unwrap();
        assert_eq!(exported.records, 0);
        assert_eq!(exported.skipped.len(), 1);
        assert!(
            exported.skipped[0].starts_with("key 74000000"),
            "{:?}",
            exported.skipped
        );
    }
}
