//! Cross-lineage transfer rows (`prover datasets transfer`): a proof found for one lineage's
//! statement of a problem, re-checked in command mode against another lineage's statement of
//! the same problem. `prover report --transfer` draws the matrix from them.

use serde::{Deserialize, Serialize};

/// The transfer file's schema version.
pub const TRANSFER_SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    TRANSFER_SCHEMA_VERSION
}

/// What the re-check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    /// The proof checks against the other lineage's statement.
    Transfers,
    /// Lean refused it there.
    DoesNot,
    /// The check itself failed (a timeout, a crash): no verdict.
    Error,
}

impl TransferOutcome {
    /// As written in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferOutcome::Transfers => "transfers",
            TransferOutcome::DoesNot => "does_not",
            TransferOutcome::Error => "error",
        }
    }
}

/// One proof re-checked against another lineage's statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRow {
    /// The record's schema version.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// The lineage whose statement the proof was found for.
    pub from_lineage: String,
    /// The lineage whose statement it was checked against.
    pub to_lineage: String,
    /// The canonical problem id.
    pub problem_id: String,
    /// The theorem's name in the target lineage.
    pub name: String,
    /// Whether the two statements' normal-form hashes differ.
    pub statement_differs: bool,
    /// What the check found.
    pub transfer: TransferOutcome,
    /// Why it does not transfer (the checker's first reason), empty when it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Reads a transfer file: the rows that read, and an error naming the line for each that does not.
pub fn read_transfers(text: &str) -> (Vec<TransferRow>, Vec<crate::RowError>) {
    crate::jsonl::read_rows_versioned(text.as_bytes(), TRANSFER_SCHEMA_VERSION)
}

/// The transfer file's text, sorted by (from, to, problem).
pub fn transfers_text(rows: &[TransferRow]) -> String {
    let mut rows: Vec<&TransferRow> = rows.iter().collect();
    rows.sort_by(|a, b| {
        (&a.from_lineage, &a.to_lineage, &a.problem_id).cmp(&(
            &b.from_lineage,
            &b.to_lineage,
            &b.problem_id,
        ))
    });
    rows.iter()
        .map(|row| serde_json::to_string(row).expect("transfer rows serialize") + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_files_round_trip_sorted() {
        let row = |from: &str, problem: &str| TransferRow {
            schema_version: TRANSFER_SCHEMA_VERSION,
            from_lineage: from.into(),
            to_lineage: "b@1".into(),
            problem_id: problem.into(),
            name: problem.into(),
            statement_differs: true,
            transfer: TransferOutcome::DoesNot,
            detail: "Lean: unknown tactic".into(),
        };
        let text = transfers_text(&[row("a@1", "q"), row("a@1", "p")]);
        let (rows, errors) = read_transfers(&text);
        assert!(errors.is_empty());
        assert_eq!(rows, [row("a@1", "p"), row("a@1", "q")]);
        assert!(text.contains("\"transfer\":\"does_not\""), "{text}");
        assert_eq!(
            crate::output::sniff_bytes(text.as_bytes()),
            Some(crate::output::FileKind::TransferRows)
        );
    }
}
