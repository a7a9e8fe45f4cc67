//! Exploration records (`prover explore`): the search log of a theorem with every edge tried and every proof found, the trace rows, proof rows and synthetic theorems exported from it, and the split rule.

use serde::{Deserialize, Serialize};

use crate::results::{ProveStatus, StopCode};

/// The schema version of every record in this module.
pub const EXPLORE_SCHEMA_VERSION: u32 = 1;

fn explore_version() -> u32 {
    EXPLORE_SCHEMA_VERSION
}

/// What a tactic led to, as a trace row says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Lean answered with goals (`state_after`).
    Goals,
    /// Every goal closed.
    Proved,
    /// Lean answered with an error (`error`).
    LeanError,
    /// Lean gave no answer within the tactic deadline.
    Timeout,
    /// The untrusted-tactic guard refused it before Lean saw it (`error` is its reason).
    Filtered,
}

/// One tactic the search tried (or the guard refused) at one state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceRow {
    /// [`EXPLORE_SCHEMA_VERSION`].
    #[serde(default = "explore_version")]
    pub schema_version: u32,
    /// The theorem searched.
    pub name: String,
    /// The goals the tactic ran on, as Lean printed them.
    pub state_before: String,
    /// The tactic.
    pub tactic: String,
    /// What it led to.
    pub outcome: EdgeKind,
    /// The goals after it, for `goals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_after: Option<String>,
    /// Lean's message, the deadline, or the guard's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The policy's score.
    pub score: Option<f64>,
    /// Tactics from the root to `state_before` on the first path that reached it.
    pub depth: u32,
    /// How long Lean took.
    pub seconds: f64,
    /// Whether the edge is a step of a found proof.
    pub on_proof: bool,
}

/// A proof the search found: its tactics and the state each ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundProof {
    /// The tactics, root first.
    pub tactics: Vec<String>,
    /// `states[i]` is the goals `tactics[i]` ran on.
    pub states: Vec<String>,
}

/// What `DIR/search.jsonl` holds: one line per theorem explored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreRecord {
    /// [`EXPLORE_SCHEMA_VERSION`].
    #[serde(default = "explore_version")]
    pub schema_version: u32,
    /// The theorem.
    pub name: String,
    /// `proved`, `failed` or `error`.
    pub status: ProveStatus,
    /// Why the search stopped, when it found nothing.
    pub stop_reason: Option<StopCode>,
    /// Lean requests made.
    pub lean_calls: u32,
    /// Wall time.
    pub seconds: f64,
    /// Every accepted proof, in the order found.
    pub proofs: Vec<FoundProof>,
    /// Every edge tried, in order (`on_proof` filled in). With the planner, the edges of the
    /// whole theorem's searches (the direct search and its fallback), never a hole's.
    pub edges: Vec<TraceRow>,
    /// With the planner, a proof through a skeleton: the whole proof the final check accepted
    /// (`proofs` is then empty, since no one search found it). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// With the planner (`--planner openai`), what planning did for the theorem; absent
    /// without it, so a record is written as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<crate::plan::PlanRecord>>,
    /// For a proof through a skeleton, each hole's proof steps and the tactics Lean refused on
    /// its path (as `iterate`'s `RoundRecord::holes`); a hole closed from the cache has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holes: Vec<crate::training::HoleSteps>,
}

/// One found proof, in `prover check`'s input form plus its place among the theorem's proofs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofLevelRow {
    /// [`EXPLORE_SCHEMA_VERSION`].
    #[serde(default = "explore_version")]
    pub schema_version: u32,
    /// The theorem.
    pub name: String,
    /// Which of its proofs (0 is the first found).
    pub proof_index: u32,
    /// Imports and options.
    pub header: String,
    /// The statement, ending in `:= by`.
    pub formal_statement: String,
    /// The text after `:= by`.
    pub proof: String,
    /// Its number of steps.
    pub proof_length: u32,
}

/// A theorem made from a state of a found proof, verified before it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticRow {
    /// [`EXPLORE_SCHEMA_VERSION`].
    #[serde(default = "explore_version")]
    pub schema_version: u32,
    /// Its own name (`<source>__<hash>`).
    pub name: String,
    /// The theorem whose proof passed the state.
    pub source: String,
    /// Steps of the source proof before the state.
    pub depth: u32,
    /// The source's header.
    pub header: String,
    /// The statement, ending in `:= by`.
    pub formal_statement: String,
    /// The rest of the source proof, as the text after `:= by`.
    pub proof: String,
}

/// The file one theorem's search tree is written to under `--trace DIR`:
/// `<sanitized name>.trace.jsonl`. Letters, digits, `_`, `-` and `.` are kept (a leading `.`
/// is not); anything else becomes `_`, and then a short hash of the real name is appended, so
/// two names never share a file.
pub fn trace_file_name(name: &str) -> String {
    let mut clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if clean.starts_with('.') {
        clean.replace_range(..1, "_");
    }
    if clean != name || clean.is_empty() {
        let hash = crate::hash::sha1_hex(name);
        clean = format!("{clean}-{}", &hash[..8]);
    }
    format!("{clean}.trace.jsonl")
}

/// Writes one theorem's trace (its edge records, in the order tried) to `dir`, replacing the
/// file at once ([`crate::write_atomic`]); returns the file's path.
pub fn write_trace(
    dir: &std::path::Path,
    name: &str,
    edges: &[TraceRow],
) -> std::io::Result<std::path::PathBuf> {
    let mut text = String::new();
    for edge in edges {
        text += &serde_json::to_string(edge).map_err(std::io::Error::other)?;
        text.push('\n');
    }
    let path = dir.join(trace_file_name(name));
    crate::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// The edge records of a trace file (or of any JSONL of [`TraceRow`]s, such as the `traces`
/// level of an exploration); each line that is not one is an error naming its line, and the
/// others are kept.
pub fn read_trace(bytes: &[u8]) -> (Vec<TraceRow>, Vec<crate::RowError>) {
    crate::jsonl::read_rows_versioned(bytes, EXPLORE_SCHEMA_VERSION)
}

/// The splits, by the share of theorem names each takes: train 90 %, validation 5 %, test 5 %.
pub const SPLITS: [&str; 3] = ["train", "validation", "test"];

/// The split of everything made from theorem `name`: a stable hash of the name (SHA-1, never
/// Rust's randomized hasher), so adding theorems never moves one, and a theorem's steps,
/// proofs and synthetic theorems stay together.
pub fn split_of(name: &str) -> &'static str {
    // The top 16 bits of the digest, as this rule was first written (two bytes, big-endian).
    match (crate::hash::sha1_prefix(name) >> 48) % 100 {
        0..90 => SPLITS[0],
        90..95 => SPLITS[1],
        _ => SPLITS[2],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_stable_and_roughly_as_documented() {
        assert_eq!(split_of("mathd_algebra_10"), split_of("mathd_algebra_10"));
        let names: Vec<String> = (0..2000).map(|i| format!("theorem_{i}")).collect();
        let train = names.iter().filter(|n| split_of(n) == "train").count();
        assert!((1700..1900).contains(&train), "{train} of 2000 in train");
        assert!(
            SPLITS
                .iter()
                .all(|s| names.iter().any(|n| split_of(n) == *s))
        );
    }

    /// Pinned against SHA-1 computed elsewhere (Python's `hashlib`: the top two bytes of the
    /// digest modulo 100 are 89, 91 and 98), so no refactoring of the hash moves a split.
    #[test]
    fn splits_are_pinned() {
        assert_eq!(split_of("mathd_algebra_10"), "train");
        assert_eq!(split_of("mathd_numbertheory_6"), "validation");
        assert_eq!(split_of("x"), "test");
    }

    #[test]
    fn trace_file_names_are_safe_and_distinct() {
        assert_eq!(
            trace_file_name("mathd_algebra_10"),
            "mathd_algebra_10.trace.jsonl"
        );
        assert_eq!(trace_file_name("Nat.add_comm"), "Nat.add_comm.trace.jsonl");
        let odd = ["a/b", "a_b", "a b", "../x", "", "α"];
        let files: std::collections::BTreeSet<String> =
            odd.iter().map(|n| trace_file_name(n)).collect();
        assert_eq!(files.len(), odd.len(), "{files:?}");
        for file in &files {
            assert!(!file.contains('/') && !file.starts_with('.'), "{file}");
        }
    }

    #[test]
    fn a_trace_round_trips_and_a_bad_line_is_named() {
        let row = TraceRow {
            schema_version: EXPLORE_SCHEMA_VERSION,
            name: "t".into(),
            state_before: "⊢ p".into(),
            tactic: "simp".into(),
            outcome: EdgeKind::Proved,
            state_after: None,
            error: None,
            score: Some(-0.5),
            depth: 0,
            seconds: 0.25,
            on_proof: true,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = write_trace(dir.path(), "t", std::slice::from_ref(&row)).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"broken\n");
        let (rows, errors) = read_trace(&bytes);
        assert_eq!(rows, [row]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 2);
    }
}
