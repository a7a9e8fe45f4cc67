//! Every on-disk format of prover, and nothing else: no Lean, no tokio, no other crate of the workspace.
//!
//! - [`jsonl`]: the line reader, the append log every results file goes through, the atomic
//!   writer;
//! - [`lean`]: Lean source text (statements, the proof splice, declaration names, what
//!   Lean accepts as a name);
//! - [`normal_form`], [`near_duplicate`] and [`decontamination`]: statements compared as Lean
//!   reads them, near-duplicates by n-gram overlap, and the benchmark exclusion of `explore`;
//! - [`theorem`]: benchmark rows to prove;
//! - [`proofs`]: proof rows to check;
//! - [`results`]: what `eval` and `check` write, and [`manifest`]: how they wrote it;
//! - [`explore`]: exploration logs, trace rows, found proofs, synthetic theorems, splits;
//! - [`training`]: expert-iteration stage records, round results, SFT and DPO rows;
//! - [`plan`]: the planner's log: skeletons, their holes and labels, per theorem;
//! - [`fetch`]: the pinned benchmark files, downloaded and checked;
//! - [`output`]: the one rule for every file prover writes ([`output::check_outputs`]: no input,
//!   no file of another kind, no unwritable path, refused before any work) and the atomic writer.
//!
//! `datasets/README.md` is the schema document.

pub mod audit;
pub mod decontamination;
pub mod explore;
pub mod fetch;
pub mod hash;
pub mod jsonl;
pub mod lean;
pub mod lineage;
pub mod manifest;
pub mod merge;
pub mod near_duplicate;
pub mod normal_form;
pub mod output;
pub mod plan;
pub mod proofs;
pub mod results;
pub mod shard;
pub mod theorem;
pub mod training;
pub mod transfer;

pub use jsonl::{
    AppendLog, LogError, RowError, jsonl_lines, parse_object, read_rows, read_rows_versioned,
    write_atomic,
};
pub use manifest::{InputRecord, ManifestError, RunManifest};
pub use output::{FileKind, check_outputs};
pub use proofs::{HeaderOrigin, ProofRow, ProofTask, parse_task};
pub use results::{
    CheckResult, Layer, Layers, LeanMessage, MessagePos, MessageSeverity, ProveResult, ProveStatus,
    RESULTS_SCHEMA_VERSION, RestsOn, SearchCost, Status, StopCode, first_attempts,
    read_prove_results, standing_results,
};
pub use theorem::{Theorem, parse_theorem};

#[cfg(test)]
#[path = "../../tests/src/test_data.rs"]
mod test_data;
