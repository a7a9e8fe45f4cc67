//! Expert-iteration records: what each stage of a round logs (`RoundRecord`), what a round reports per conjecture (`RoundResult`), and the training rows it exports (`SftRow`, `DpoRow`).
//!
//! Rows are JSONL with the field names TRL's trainers read (`prompt`/`completion` for SFT,
//! `prompt`/`chosen`/`rejected` for DPO), each with `schema_version` and the theorem's `name`
//! and `round`, so a split by theorem is a filter on `name`, never on steps.

use serde::{Deserialize, Serialize};

use crate::results::{ProveStatus, StopCode};

/// The schema version of every record in this module.
pub const TRAINING_SCHEMA_VERSION: u32 = 1;

fn training_version() -> u32 {
    TRAINING_SCHEMA_VERSION
}

/// The stage of a round that decided a conjecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The small-budget pass that finds the easy conjectures.
    Cheap,
    /// The full search.
    Search,
}

impl Stage {
    /// The stage's name in file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Cheap => "cheap",
            Stage::Search => "search",
        }
    }
}

/// One step of a found proof: the state before it and the tactic that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofStep {
    /// The goals before the step, as Lean printed them (goals separated by a blank line).
    pub state: String,
    /// The tactic.
    pub tactic: String,
    /// The policy's score for it, when the search saw the step run.
    pub score: Option<f64>,
}

/// Why Lean did not take a tactic the search tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// Lean answered with an error.
    LeanError,
    /// Lean gave no answer within the tactic deadline.
    Timeout,
}

/// A tactic Lean refused at a state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// The goals the tactic ran on.
    pub state: String,
    /// The tactic.
    pub tactic: String,
    /// Lean's message (or the deadline's).
    pub error: String,
    /// Error or timeout.
    pub kind: RefusalKind,
}

/// What a round's `cheap.jsonl` and `search.jsonl` hold: one line per conjecture the stage
/// searched, with the steps of its proof and the tactics Lean refused on the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// [`TRAINING_SCHEMA_VERSION`].
    #[serde(default = "training_version")]
    pub schema_version: u32,
    /// The conjecture.
    pub name: String,
    /// The stage.
    pub stage: Stage,
    /// `proved`, `failed` or `error`.
    pub status: ProveStatus,
    /// The proof text after `:= by`, when proved.
    pub proof: Option<String>,
    /// Why the search stopped, when not proved.
    pub stop_reason: Option<StopCode>,
    /// Lean requests the search made.
    pub lean_calls: u32,
    /// Wall time.
    pub seconds: f64,
    /// The proof's steps, root first; empty when not proved.
    pub steps: Vec<ProofStep>,
    /// Every tactic Lean refused at a state of the proof path (the DPO material).
    pub refusals: Vec<Refusal>,
    /// With `--planner openai`: what planning did for the conjecture (its skeletons, each
    /// labelled), the material of `plans.jsonl`. Absent without the planner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<crate::plan::PlanRecord>>,
    /// With `--planner openai`, when a skeleton proved the conjecture: each of its holes'
    /// proof steps and refusals, in the skeleton's order (the theorem's own `steps` are then
    /// empty: its proof is no search path). Absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holes: Vec<HoleSteps>,
}

/// One hole of the skeleton that proved a conjecture: its search's proof steps, rooted at the
/// hole's goal, and the tactics Lean refused at states of that path (SFT and DPO rows, as a
/// whole theorem's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoleSteps {
    /// The goal Lean reported at the hole's `sorry`.
    pub goal: String,
    /// The steps of the hole's proof, its goal first.
    pub steps: Vec<ProofStep>,
    /// Every tactic Lean refused at a state of that proof's path.
    pub refusals: Vec<Refusal>,
}

/// A round's `results.jsonl`: one line per conjecture the round searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundResult {
    /// [`TRAINING_SCHEMA_VERSION`].
    #[serde(default = "training_version")]
    pub schema_version: u32,
    /// The conjecture.
    pub name: String,
    /// The round, from 1.
    pub round: u32,
    /// `proved` (and verified), `failed` or `error`.
    pub status: ProveStatus,
    /// The stage that decided it.
    pub stage: Stage,
    /// The verified proof text after `:= by`.
    pub proof: Option<String>,
    /// Solved by the cheap pass, so it gives no training rows unless `--keep-easy`.
    pub easy: bool,
    /// Why a proof found by the search is not counted: the verification's reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<String>,
}

/// One supervised fine-tuning pair: a step of a verified proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftRow {
    /// [`TRAINING_SCHEMA_VERSION`].
    #[serde(default = "training_version")]
    pub schema_version: u32,
    /// The theorem the proof is of.
    pub name: String,
    /// The round that found it.
    pub round: u32,
    /// The goals before the step, as Lean printed them.
    pub state: String,
    /// The step.
    pub tactic: String,
    /// The policy's prompt template applied to `state`.
    pub prompt: String,
    /// `tactic`, as the trainer's target.
    pub completion: String,
    /// Steps before this one on the proof.
    pub depth: u32,
    /// Steps of the whole proof.
    pub proof_length: u32,
}

/// One preference pair: at a state of a verified proof, the proof's step against a sibling
/// tactic Lean refused there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpoRow {
    /// [`TRAINING_SCHEMA_VERSION`].
    #[serde(default = "training_version")]
    pub schema_version: u32,
    /// The theorem.
    pub name: String,
    /// The round.
    pub round: u32,
    /// The goals both tactics ran on.
    pub state: String,
    /// The policy's prompt template applied to `state`.
    pub prompt: String,
    /// The step on the verified proof.
    pub chosen: String,
    /// The sibling Lean refused.
    pub rejected: String,
    /// Lean's message for it.
    pub rejected_error: String,
    /// `lean_error` (timeouts only with an explicit opt-in).
    pub rejected_kind: RefusalKind,
}

/// What a training file's row teaches the learned policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainingRow {
    /// A proof step: at `state`, `tactic` (an SFT row).
    Step {
        /// The goals.
        state: String,
        /// The step.
        tactic: String,
    },
    /// A preference: at `state`, `chosen` was the proof's step and Lean refused `rejected` (a
    /// DPO row).
    Preference {
        /// The goals.
        state: String,
        /// The proof's step.
        chosen: String,
        /// The refused tactic.
        rejected: String,
        /// Why it was refused (`lean_error` or `timeout`).
        kind: RefusalKind,
    },
}

/// Reads one row of an SFT or DPO file (`sft.jsonl`, `dpo.jsonl`, or any JSONL with `state`
/// and `tactic`, or `state`, `chosen` and `rejected`). Errors name the line and the field.
pub fn parse_training_row(line: usize, text: &str) -> Result<TrainingRow, crate::RowError> {
    let row = crate::parse_object(line, text)?;
    let name = row.get("name").and_then(|v| v.as_str()).map(str::to_owned);
    let fail = |reason: String| crate::RowError {
        line,
        name: name.clone(),
        reason,
    };
    let field = |key: &str| -> Result<String, crate::RowError> {
        match row.get(key) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(fail(format!(
                "field `{key}` must be a string, found {other}"
            ))),
            None => Err(fail(format!("missing field `{key}`"))),
        }
    };
    if row.contains_key("rejected") {
        let kind = match row.get("rejected_kind").and_then(|v| v.as_str()) {
            None | Some("lean_error") => RefusalKind::LeanError,
            Some("timeout") => RefusalKind::Timeout,
            Some(other) => return Err(fail(format!("unknown `rejected_kind` {other:?}"))),
        };
        return Ok(TrainingRow::Preference {
            state: field("state")?,
            chosen: field("chosen")?,
            rejected: field("rejected")?,
            kind,
        });
    }
    if row.contains_key("tactic") || row.contains_key("completion") {
        let tactic = if row.contains_key("tactic") {
            field("tactic")?
        } else {
            field("completion")?
        };
        return Ok(TrainingRow::Step {
            state: field("state")?,
            tactic,
        });
    }
    Err(fail(
        "neither an SFT row (`state`, `tactic`) nor a DPO row (`state`, `chosen`, `rejected`)"
            .to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_rows_are_read_from_sft_and_dpo_files() {
        let step =
            parse_training_row(1, r#"{"name":"t","state":"⊢ p","tactic":"exact h"}"#).unwrap();
        assert_eq!(
            step,
            TrainingRow::Step {
                state: "⊢ p".into(),
                tactic: "exact h".into()
            }
        );
        let pair =
            r#"{"state":"⊢ p","chosen":"exact h","rejected":"simp","rejected_kind":"lean_error"}"#;
        assert!(matches!(
            parse_training_row(2, pair).unwrap(),
            TrainingRow::Preference {
                kind: RefusalKind::LeanError,
                ..
            }
        ));
        let error = parse_training_row(3, r#"{"name":"t","prompt":"x"}"#).unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.to_string().contains("neither an SFT row"), "{error}");
        let error = parse_training_row(4, r#"{"state":"⊢ p","tactic":3}"#).unwrap_err();
        assert!(error.to_string().contains("`tactic`"), "{error}");
    }

    #[test]
    fn records_read_back_and_default_their_version() {
        let row = SftRow {
            schema_version: TRAINING_SCHEMA_VERSION,
            name: "t".into(),
            round: 2,
            state: "⊢ p".into(),
            tactic: "exact h".into(),
            prompt: "⊢ p:::".into(),
            completion: "exact h".into(),
            depth: 0,
            proof_length: 1,
        };
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(serde_json::from_str::<SftRow>(&text).unwrap(), row);
        let old = text.replace("\"schema_version\":1,", "");
        assert_eq!(serde_json::from_str::<SftRow>(&old).unwrap(), row);
        let kind = serde_json::to_string(&RefusalKind::LeanError).unwrap();
        assert_eq!(kind, "\"lean_error\"");
    }
}
