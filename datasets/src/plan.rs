//! Plan records: what the planner proposed for a theorem, what became of each skeleton and of each of its holes (`prover prove|eval --planner … --plan-log FILE`), one JSON line per theorem.
//!
//! A record is training data for the planner as much as a log: each skeleton carries its
//! label (`closed_all`, `partial`, `refuted`, or `refused` with the reason), so the
//! (statement → skeleton) pairs of a run can be filtered by how far they got.

use serde::{Deserialize, Serialize};

use crate::results::StopCode;

/// The schema version of [`PlanRecord`].
pub const PLAN_SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    PLAN_SCHEMA_VERSION
}

/// One theorem's planning: the direct search first, then each skeleton tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// [`PLAN_SCHEMA_VERSION`].
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// The theorem's name.
    pub name: String,
    /// The statement, as the dataset gives it.
    pub statement: String,
    /// Whether the theorem was proved, and how: `direct`, `plan` or `unproved`.
    pub outcome: PlanOutcome,
    /// The direct search (a share of the budget) that ran before any planning.
    pub direct: HoleSearch,
    /// Requests sent to the planner (the first, then one per replan).
    pub planner_calls: u32,
    /// Tokens those requests cost, as the server's `usage` reported them (absent when none).
    #[serde(default, skip_serializing_if = "PlannerTokens::is_zero")]
    pub planner_tokens: PlannerTokens,
    /// Every skeleton the planner proposed, in the order tried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skeletons: Vec<SkeletonRecord>,
    /// Why the planner itself failed (its server down, say), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner_error: Option<String>,
    /// The direct search run again, from the start, with the budget planning left, when no
    /// skeleton closed and the first one's tree was not exhausted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<HoleSearch>,
    /// The proof reported, exactly as the final check accepted it, when proved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// Tokens the planner's requests cost, from the OpenAI-compatible `usage` field (a server
/// that reports none counts 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannerTokens {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens.
    pub completion: u64,
}

impl PlannerTokens {
    /// Whether nothing was counted.
    pub fn is_zero(&self) -> bool {
        self.prompt == 0 && self.completion == 0
    }

    /// Both counts summed.
    pub fn total(&self) -> u64 {
        self.prompt + self.completion
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: PlannerTokens) {
        self.prompt += other.prompt;
        self.completion += other.completion;
    }
}

/// How a planned theorem ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanOutcome {
    /// A direct search proved it: the first (no planner was asked) or the fallback.
    Direct,
    /// A skeleton with every hole closed passed the final check.
    Plan,
    /// Neither.
    #[default]
    Unproved,
}

/// One skeleton and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkeletonRecord {
    /// Which planner request proposed it: 0 for the first, then one more per replan.
    pub round: u32,
    /// The planner's skeleton (the fenced Lean block), as proposed.
    pub text: String,
    /// Its label.
    pub label: SkeletonLabel,
    /// Why it was refused, or why its holes did not all close, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its holes, in the REPL's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holes: Vec<HoleRecord>,
}

/// What a skeleton came to: the label of a (statement → skeleton) training row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkeletonLabel {
    /// Refused before any hole was searched: statement changed, no Lean block, does not
    /// elaborate, no progress, refused by the screening guard.
    Refused,
    /// Every hole closed and the assembled proof passed the final check.
    ClosedAll,
    /// Some holes closed, none refuted, and some still open when its budget ran out; or every
    /// hole closed but the assembled proof failed the final check.
    Partial,
    /// A hole was refuted (its negation proved, or its search exhausted with no
    /// infrastructure error): its lemma is false or out of the policy's reach, and the
    /// skeleton was abandoned.
    Refuted,
}

/// One hole: a `sorry` of a skeleton, its goal, and its search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoleRecord {
    /// Where its `sorry` starts in the skeleton: line from 1, column in codepoints from 0.
    pub line: u32,
    /// See [`HoleRecord::line`].
    pub column: u32,
    /// The goal Lean reported at the sorry.
    pub goal: String,
    /// Its search.
    pub search: HoleSearch,
    /// When it did not close: the most promising open states its search took from the
    /// frontier (at most three, highest priority first, the hole's own goal aside).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frontier: Vec<String>,
    /// When it did not close: the last errors Lean gave to its tactics (at most three, oldest
    /// first, each `tactic: first line of the message`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The search of its goal's negation (`¬(T)` with its hypotheses as binders, a small
    /// share of the budget), when one ran: proved, it refutes the hole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refutation: Option<HoleSearch>,
}

impl HoleRecord {
    /// Whether the hole was refuted: its negation proved, or its search exhausted with no
    /// infrastructure error.
    pub fn refuted(&self) -> bool {
        !self.search.proved
            && (self.search.stop_reason == Some(StopCode::Exhausted)
                || self.refutation.as_ref().is_some_and(|r| r.proved))
    }
}

/// What one search (the direct one, or a hole's) did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HoleSearch {
    /// Whether it found a proof.
    pub proved: bool,
    /// The proof it found (the script in the sorry's place, or after `:= by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// Why it stopped, when it found none; absent when it never ran (a sibling hole was
    /// refuted first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopCode>,
    /// Expansions it made.
    pub expansions: u32,
    /// Requests it sent to Lean.
    pub lean_calls: u32,
    /// Its verdict came from the cache.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_cache: bool,
}

/// The schema version of [`PlanRow`].
pub const PLAN_ROW_SCHEMA_VERSION: u32 = 1;

fn plan_row_version() -> u32 {
    PLAN_ROW_SCHEMA_VERSION
}

/// One (statement → skeleton) training row for the planner (`round-N/plans.jsonl` of
/// `prover iterate --planner openai`, `data/plans/<split>.jsonl` of `prover explore`): a
/// skeleton that elaborated, labelled by what its holes came to. Refused skeletons are not
/// rows (their reasons are in the plan log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRow {
    /// [`PLAN_ROW_SCHEMA_VERSION`].
    #[serde(default = "plan_row_version")]
    pub schema_version: u32,
    /// The theorem's name.
    pub name: String,
    /// The round that planned it (`iterate`'s round, from 1; 0 for `explore`).
    pub round: u32,
    /// Which planner request proposed the skeleton: 0 for the first, then one more per replan.
    pub request: u32,
    /// The theorem's header (imports, opens).
    pub header: String,
    /// The statement, as the dataset gives it: the row's input.
    pub statement: String,
    /// The skeleton as searched (a line Lean refused masked): the row's target.
    pub skeleton: String,
    /// `closed_all`, `partial` or `refuted`.
    pub label: SkeletonLabel,
    /// Its holes.
    pub holes: u32,
    /// Of those, closed.
    pub holes_closed: u32,
}

impl PlanRow {
    /// The rows of `record`'s skeletons that elaborated, in the order tried. A `closed_all`
    /// skeleton is left out when `closed_verified` is false (the theorem's proof failed a
    /// later verification): a row is never labelled by a proof that did not hold.
    pub fn rows_of(
        record: &PlanRecord,
        round: u32,
        header: &str,
        closed_verified: bool,
    ) -> Vec<PlanRow> {
        record
            .skeletons
            .iter()
            .filter(|s| s.label != SkeletonLabel::Refused)
            .filter(|s| s.label != SkeletonLabel::ClosedAll || closed_verified)
            .map(|skeleton| PlanRow {
                schema_version: PLAN_ROW_SCHEMA_VERSION,
                name: record.name.clone(),
                round,
                request: skeleton.round,
                header: header.to_owned(),
                statement: record.statement.clone(),
                skeleton: skeleton.text.clone(),
                label: skeleton.label,
                holes: skeleton.holes.len() as u32,
                holes_closed: skeleton.holes.iter().filter(|h| h.search.proved).count() as u32,
            })
            .collect()
    }
}

/// Reads a `plans.jsonl` file: its rows, and an error per line that does not read (naming the
/// line); rows of a newer schema version are refused rather than read wrongly.
pub fn read_plan_rows(bytes: &[u8]) -> (Vec<PlanRow>, Vec<crate::RowError>) {
    crate::jsonl::read_rows_versioned(bytes, PLAN_ROW_SCHEMA_VERSION)
}

/// What planning did for one theorem, as its result row shows it (`ProveResult::plan`): the
/// counts `prover report` sums, without the skeletons' texts (those are in the plan log).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// How the theorem ended: `direct`, `plan` or `unproved`.
    pub outcome: PlanOutcome,
    /// Requests sent to the planner (the first, then one per replan).
    pub planner_calls: u32,
    /// Requests after the first: `planner_calls − 1`, or 0.
    pub replans: u32,
    /// Tokens the planner's requests cost (absent when none was reported).
    #[serde(default, skip_serializing_if = "PlannerTokens::is_zero")]
    pub planner_tokens: PlannerTokens,
    /// Skeletons tried (refused ones included).
    pub skeletons: u32,
    /// Of those, refused before any hole was searched.
    pub skeletons_refused: u32,
    /// Holes of the skeletons that elaborated, summed over skeletons (a goal two skeletons
    /// share counts twice).
    pub holes: u32,
    /// Of those, closed (a proof found, or taken from the cache or an earlier skeleton).
    pub holes_closed: u32,
    /// Of those, whose verdict came from the cache or an earlier skeleton of the same plan
    /// rather than from a search of their own.
    pub holes_from_cache: u32,
    /// Of those, refuted: the negation of its goal proved, or searched to exhaustion with no
    /// infrastructure error.
    pub holes_refuted: u32,
    /// Seconds waiting for Lean, split by what asked.
    pub lean_seconds: PlanSeconds,
}

/// Seconds waiting for Lean during one theorem's planning, by what asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSeconds {
    /// The direct search and its fallback (Lean's answers to tactics, as `lean_seconds`).
    pub direct_search: f64,
    /// Elaborating skeletons (and the theorem's own goal, to tell a skeleton that made no
    /// progress): wall time of those commands.
    pub skeleton_checks: f64,
    /// The holes' searches (Lean's answers to tactics, as `lean_seconds`).
    pub hole_searches: f64,
    /// The final checks of assembled proofs: wall time of those checks.
    pub final_checks: f64,
}

impl PlanSummary {
    /// The counts of `record` (the seconds are not in it: the caller adds them).
    pub fn of(record: &PlanRecord) -> PlanSummary {
        let holes = || record.skeletons.iter().flat_map(|s| &s.holes);
        let count = |keep: &dyn Fn(&HoleRecord) -> bool| holes().filter(|h| keep(h)).count() as u32;
        PlanSummary {
            outcome: record.outcome,
            planner_calls: record.planner_calls,
            replans: record.planner_calls.saturating_sub(1),
            planner_tokens: record.planner_tokens,
            skeletons: record.skeletons.len() as u32,
            skeletons_refused: record
                .skeletons
                .iter()
                .filter(|s| s.label == SkeletonLabel::Refused)
                .count() as u32,
            holes: holes().count() as u32,
            holes_closed: count(&|h| h.search.proved),
            holes_from_cache: count(&|h| h.search.from_cache),
            holes_refuted: count(&|h| h.refuted()),
            lean_seconds: PlanSeconds::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written_and_old_rows_get_the_version() {
        let record = PlanRecord {
            schema_version: PLAN_SCHEMA_VERSION,
            name: "t".into(),
            statement: "theorem t : p := by".into(),
            outcome: PlanOutcome::Plan,
            direct: HoleSearch {
                stop_reason: Some(StopCode::Exhausted),
                expansions: 3,
                lean_calls: 9,
                ..HoleSearch::default()
            },
            planner_calls: 1,
            planner_tokens: PlannerTokens {
                prompt: 120,
                completion: 40,
            },
            skeletons: vec![SkeletonRecord {
                round: 0,
                text: "theorem t : p := by\n  have h : q := by sorry\n  exact f h".into(),
                label: SkeletonLabel::ClosedAll,
                reason: None,
                holes: vec![HoleRecord {
                    line: 2,
                    column: 20,
                    goal: "⊢ q".into(),
                    search: HoleSearch {
                        proved: true,
                        proof: Some("simp".into()),
                        ..HoleSearch::default()
                    },
                    frontier: vec!["⊢ r".into()],
                    errors: vec!["simp: simp made no progress".into()],
                    refutation: None,
                }],
            }],
            planner_error: None,
            fallback: None,
            proof: Some("\n  have h : q := by\n    simp\n  exact f h".into()),
        };
        let line = serde_json::to_string(&record).unwrap();
        assert!(line.contains(r#""label":"closed_all""#), "{line}");
        assert!(line.contains(r#""frontier":["⊢ r"]"#), "{line}");
        assert!(
            line.contains(r#""planner_tokens":{"prompt":120,"completion":40}"#),
            "{line}"
        );
        let back: PlanRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record);
        let old = r#"{"name":"t","statement":"s","outcome":"unproved","direct":{"proved":false,"expansions":0,"lean_calls":0},"planner_calls":0}"#;
        let old: PlanRecord = serde_json::from_str(old).unwrap();
        assert_eq!(old.schema_version, PLAN_SCHEMA_VERSION);
        assert!(old.skeletons.is_empty());
    }

    #[test]
    fn plan_rows_are_the_skeletons_that_elaborated_labelled_and_read_back() {
        let hole = |proved: bool| HoleRecord {
            line: 2,
            column: 0,
            goal: "⊢ q".into(),
            search: HoleSearch {
                proved,
                ..HoleSearch::default()
            },
            frontier: Vec::new(),
            errors: Vec::new(),
            refutation: None,
        };
        let skeleton = |round, label, holes| SkeletonRecord {
            round,
            text: format!("skeleton {round}"),
            label,
            reason: None,
            holes,
        };
        let record = PlanRecord {
            schema_version: PLAN_SCHEMA_VERSION,
            name: "t".into(),
            statement: "theorem t : p := by".into(),
            outcome: PlanOutcome::Plan,
            direct: HoleSearch::default(),
            planner_calls: 2,
            planner_tokens: PlannerTokens::default(),
            skeletons: vec![
                skeleton(0, SkeletonLabel::Refused, vec![]),
                skeleton(0, SkeletonLabel::Refuted, vec![hole(true), hole(false)]),
                skeleton(0, SkeletonLabel::Partial, vec![hole(false)]),
                skeleton(1, SkeletonLabel::ClosedAll, vec![hole(true), hole(true)]),
            ],
            planner_error: None,
            fallback: None,
            proof: None,
        };
        let rows = PlanRow::rows_of(&record, 3, "import Mathlib", true);
        let seen: Vec<(u32, SkeletonLabel, u32, u32)> = rows
            .iter()
            .map(|r| (r.request, r.label, r.holes, r.holes_closed))
            .collect();
        assert_eq!(
            seen,
            [
                (0, SkeletonLabel::Refuted, 2, 1),
                (0, SkeletonLabel::Partial, 1, 0),
                (1, SkeletonLabel::ClosedAll, 2, 2),
            ]
        );
        assert!(
            rows.iter()
                .all(|r| r.round == 3 && r.header == "import Mathlib")
        );
        let unverified = PlanRow::rows_of(&record, 3, "", false);
        assert_eq!(unverified.len(), 2);
        assert!(
            unverified
                .iter()
                .all(|r| r.label != SkeletonLabel::ClosedAll)
        );

        let text: String = rows
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        assert!(text.contains(r#""label":"closed_all""#), "{text}");
        let newer = text.replacen(r#""schema_version":1"#, r#""schema_version":2"#, 1);
        let (back, errors) = read_plan_rows(text.as_bytes());
        assert_eq!((back, errors.len()), (rows.clone(), 0));
        let (back, errors) = read_plan_rows(newer.as_bytes());
        assert_eq!(back.len(), 2);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 1);
    }

    #[test]
    fn a_summary_counts_skeletons_and_holes_by_what_became_of_them() {
        let hole = |proved: bool, stop: Option<StopCode>, from_cache: bool| HoleRecord {
            line: 2,
            column: 0,
            goal: "⊢ q".into(),
            search: HoleSearch {
                proved,
                stop_reason: stop,
                from_cache,
                ..HoleSearch::default()
            },
            frontier: Vec::new(),
            errors: Vec::new(),
            refutation: None,
        };
        let skeleton = |label, holes| SkeletonRecord {
            round: 0,
            text: String::new(),
            label,
            reason: None,
            holes,
        };
        let record = PlanRecord {
            schema_version: PLAN_SCHEMA_VERSION,
            name: "t".into(),
            statement: "theorem t : p := by".into(),
            outcome: PlanOutcome::Plan,
            direct: HoleSearch::default(),
            planner_calls: 3,
            planner_tokens: PlannerTokens {
                prompt: 300,
                completion: 90,
            },
            skeletons: vec![
                skeleton(SkeletonLabel::Refused, vec![]),
                skeleton(
                    SkeletonLabel::Refuted,
                    vec![
                        hole(true, None, false),
                        hole(false, Some(StopCode::Exhausted), false),
                        hole(false, None, false),
                    ],
                ),
                skeleton(
                    SkeletonLabel::Refuted,
                    vec![HoleRecord {
                        refutation: Some(HoleSearch {
                            proved: true,
                            ..HoleSearch::default()
                        }),
                        ..hole(false, Some(StopCode::Cancelled), false)
                    }],
                ),
                skeleton(
                    SkeletonLabel::ClosedAll,
                    vec![hole(true, None, true), hole(true, None, false)],
                ),
            ],
            planner_error: None,
            fallback: None,
            proof: None,
        };
        let summary = PlanSummary::of(&record);
        assert_eq!(
            summary,
            PlanSummary {
                outcome: PlanOutcome::Plan,
                planner_calls: 3,
                replans: 2,
                planner_tokens: PlannerTokens {
                    prompt: 300,
                    completion: 90,
                },
                skeletons: 4,
                skeletons_refused: 1,
                holes: 6,
                holes_closed: 3,
                holes_from_cache: 1,
                holes_refuted: 2,
                lean_seconds: PlanSeconds::default(),
            }
        );
        let line = serde_json::to_string(&summary).unwrap();
        assert_eq!(serde_json::from_str::<PlanSummary>(&line).unwrap(), summary);
    }
}
