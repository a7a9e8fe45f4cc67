//! Result records: one line per theorem of `prover eval` (`ProveResult`) and per row of `prover check` (`CheckResult`), with the messages Lean gave (`LeanMessage`).
//!
//! Every record carries `schema_version` ([`RESULTS_SCHEMA_VERSION`]); a field added later is
//! optional with a default, so older files still read.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::jsonl::RowError;
use crate::proofs::ProofTask;

/// The version of the result records written now.
pub const RESULTS_SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    RESULTS_SCHEMA_VERSION
}

/// A message Lean gave, as results files keep it: the REPL's own shape (`severity`, `pos`,
/// `endPos`, `data`), so a results line reads like the REPL's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeanMessage {
    /// `info`, `warning`, `error` (or `trace`).
    pub severity: MessageSeverity,
    /// Start position.
    pub pos: MessagePos,
    /// End position, when Lean gave one.
    #[serde(rename = "endPos", default, skip_serializing_if = "Option::is_none")]
    pub end_pos: Option<MessagePos>,
    /// The text.
    pub data: String,
}

/// A message's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageSeverity {
    /// Informational output.
    Info,
    /// A warning.
    Warning,
    /// An error.
    Error,
    /// A trace message.
    Trace,
}

/// A line (1-based) and column (0-based, code points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePos {
    /// Line.
    pub line: u32,
    /// Column.
    pub column: u32,
}

/// The outcome of proving one theorem: what `prover eval` writes per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProveStatus {
    /// A proof was found and passed the command-mode recheck.
    Proved,
    /// The search ended without a proof (budget, exhausted tree).
    Failed,
    /// The infrastructure failed (the statement did not elaborate, Lean kept crashing).
    Error,
}

/// Why a search or a theorem stopped without a proof: the `stop_reason` code of results files,
/// cache verdicts and round logs. Each spelling on the wire is the snake_case name below.
///
/// A code this build does not know (a file written by a newer build, or edited by hand) reads
/// as [`StopCode::Other`] and is written back as it was: [`read_prove_results`] refuses a row
/// that does not parse, so a strict enum would drop such a row and the work it records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCode {
    /// Every proposal and tactic got an answer and none led to a proof.
    Exhausted,
    /// The expansion budget ran out.
    ExpansionLimit,
    /// The time budget ran out.
    TimeLimit,
    /// The budget of Lean calls ran out.
    LeanCallLimit,
    /// The search was cancelled; never a verdict.
    Cancelled,
    /// Lean or the machinery around it failed (or the search panicked).
    Infrastructure,
    /// The policy failed during the search, so the tree is incomplete.
    PolicyFailure,
    /// Lean failed on some tactics, so the tree is incomplete.
    LeanFailure,
    /// The recheck of a found proof failed to run, so the tree is incomplete.
    CheckerFailure,
    /// The theorem's statement does not elaborate.
    StatementRejected,
    /// The theorem's header does not elaborate.
    HeaderRejected,
    /// With the planner: the direct search failed and the planner could not be asked (its
    /// server down past its retries, or no skeleton in its answers); never a verdict.
    PlannerFailure,
    /// With the planner: the direct search failed and every skeleton was refused before any
    /// hole was searched (statement changed, does not elaborate, no progress, screening).
    PlanRefused,
    /// With the planner: the direct search failed and no skeleton had every hole closed and
    /// its assembled proof accepted (holes refuted or left open when the budget ran out).
    PlanUnclosed,
    /// A code this build does not know, kept as it was spelled.
    #[serde(untagged)]
    Other(String),
}

impl StopCode {
    /// Every code this build knows, in declaration order.
    pub const KNOWN: [StopCode; 14] = [
        StopCode::Exhausted,
        StopCode::ExpansionLimit,
        StopCode::TimeLimit,
        StopCode::LeanCallLimit,
        StopCode::Cancelled,
        StopCode::Infrastructure,
        StopCode::PolicyFailure,
        StopCode::LeanFailure,
        StopCode::CheckerFailure,
        StopCode::StatementRejected,
        StopCode::HeaderRejected,
        StopCode::PlannerFailure,
        StopCode::PlanRefused,
        StopCode::PlanUnclosed,
    ];

    /// The code as results files spell it.
    pub fn as_str(&self) -> &str {
        match self {
            StopCode::Exhausted => "exhausted",
            StopCode::ExpansionLimit => "expansion_limit",
            StopCode::TimeLimit => "time_limit",
            StopCode::LeanCallLimit => "lean_call_limit",
            StopCode::Cancelled => "cancelled",
            StopCode::Infrastructure => "infrastructure",
            StopCode::PolicyFailure => "policy_failure",
            StopCode::LeanFailure => "lean_failure",
            StopCode::CheckerFailure => "checker_failure",
            StopCode::StatementRejected => "statement_rejected",
            StopCode::HeaderRejected => "header_rejected",
            StopCode::PlannerFailure => "planner_failure",
            StopCode::PlanRefused => "plan_refused",
            StopCode::PlanUnclosed => "plan_unclosed",
            StopCode::Other(code) => code,
        }
    }
}

impl std::fmt::Display for StopCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result for one theorem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProveResult {
    /// The record's schema version.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// The theorem's name.
    pub name: String,
    /// Proved, failed or error.
    pub status: ProveStatus,
    /// The proof text after `:= by`, exactly as it passed the recheck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// Why the search stopped, when it did not prove the theorem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopCode>,
    /// The stop reason in words, with its figures or Lean's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_detail: Option<String>,
    /// Expansions made.
    pub expansions: u32,
    /// Requests sent to Lean for this theorem: the root, tactics and rechecks.
    pub lean_calls: u32,
    /// Candidates the untrusted-tactic guard refused.
    pub candidates_rejected: u32,
    /// Expansions whose policy failed (a model server down after its retries).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub policy_errors: u32,
    /// Expansions the portfolio answered because the model server failed.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub llm_fallbacks: u64,
    /// Lean requests (tactics, the statement, rechecks) that hit their deadline; each killed
    /// its REPL, which the pool replaced.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lean_timeouts: u32,
    /// Lean requests whose REPL crashed or broke the protocol; each cost a REPL restart.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lean_crashes: u32,
    /// The verdict came from the cache without a search: a recorded proof that passed its
    /// recheck in Lean again, or a failure recorded under a budget at least as large. The
    /// row's own `expansions`, `lean_calls` and `seconds` are then what this run spent (the
    /// recheck), and [`ProveResult::original_search`] what the search that found it spent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_cache: bool,
    /// When the verdict came from the cache: the cost of the search that decided it, in an
    /// earlier run. Absent in rows written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_search: Option<SearchCost>,
    /// Calls to the policy (one per expansion that asked it for tactics), when the search ran.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub policy_calls: u32,
    /// Seconds spent waiting for Lean's answers to tactics (cached answers cost none).
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub lean_seconds: f64,
    /// Which attempt at the theorem this row is, from 0, when `eval --attempts K` searches
    /// each theorem K times (pass@k); absent for a single attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Written by a rerun that searched again an attempt whose earlier row ended `error`: this
    /// row takes that one's place ([`standing_results`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaces_error: bool,
    /// What a sorry proved in place (`prover prove --file --at`, the editor) rests on beyond
    /// Lean's standard axioms, when it rests on anything: an earlier sorried lemma or an axiom
    /// of the file. Absent for theorems, and for a proof that rests on nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rests_on: Option<RestsOn>,
    /// The benchmark lineage of the theorem's dataset row (`lineage::Registry` id), when the
    /// dataset names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
    /// The theorem's canonical problem id in its lineage, when the dataset row gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_id: Option<String>,
    /// SHA-1 of the normal form of the statement this row was computed for
    /// (`lineage::statement_hash`); absent in rows written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_hash: Option<String>,
    /// What the planner did (`--planner openai`): skeletons, holes, planner calls and Lean
    /// time by part; absent when the theorem was not planned, and in rows written before it
    /// was recorded. (Boxed: most rows have none.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<crate::plan::PlanSummary>>,
    /// Wall time.
    pub seconds: f64,
}

/// What one search spent: the units budgets limit and budget curves count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchCost {
    /// Expansions made.
    pub expansions: u32,
    /// Requests sent to Lean: the root, tactics not answered by the cache, and rechecks.
    pub lean_calls: u32,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// What a proof of a sorry in place rests on beyond `propext`, `Classical.choice` and
/// `Quot.sound`, read from `#print axioms` of the edited declaration (a command of its own) and
/// of the declarations of the file the proof names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestsOn {
    /// The edited declaration's axioms beyond the standard three: `sorryAx` when it rests on a
    /// sorry (not counted when the declaration keeps sorries of its own), or an `axiom`.
    pub axioms: Vec<String>,
    /// The declarations the proof names whose own axioms go beyond the standard three: a
    /// sorried lemma, an `axiom`.
    pub declarations: Vec<String>,
}

impl RestsOn {
    /// `sorryAx, my_axiom (through my_lemma, my_axiom)`.
    pub fn describe(&self) -> String {
        let mut text = self.axioms.join(", ");
        if !self.declarations.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("(through {})", self.declarations.join(", ")));
        }
        text
    }
}

fn is_zero_f64(n: &f64) -> bool {
    *n == 0.0
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

impl ProveResult {
    /// The cost of the search behind this row's verdict: the original search's when the
    /// verdict came from the cache, else this row's own. Budget curves count this.
    pub fn search_cost(&self) -> SearchCost {
        self.original_search.unwrap_or(SearchCost {
            expansions: self.expansions,
            lean_calls: self.lean_calls,
            seconds: self.seconds,
        })
    }

    /// A result decided without running a search (from the cache, or before the search
    /// could start); the caller fills in the proof or the stop reason.
    pub fn unsearched(
        name: &str,
        status: ProveStatus,
        lean_calls: u32,
        started: Instant,
    ) -> ProveResult {
        ProveResult {
            schema_version: RESULTS_SCHEMA_VERSION,
            name: name.to_owned(),
            status,
            proof: None,
            stop_reason: None,
            stop_detail: None,
            expansions: 0,
            lean_calls,
            candidates_rejected: 0,
            policy_errors: 0,
            llm_fallbacks: 0,
            lean_timeouts: 0,
            lean_crashes: 0,
            from_cache: false,
            original_search: None,
            policy_calls: 0,
            lean_seconds: 0.0,
            attempt: None,
            replaces_error: false,
            rests_on: None,
            lineage: None,
            problem_id: None,
            statement_hash: None,
            plan: None,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// The `eval` results of a file: every row that reads as a [`ProveResult`], and an error
/// naming the line for each that does not (the caller reports it and goes on).
pub fn read_prove_results(bytes: &[u8]) -> (Vec<ProveResult>, Vec<RowError>) {
    crate::jsonl::read_rows_versioned(bytes, RESULTS_SCHEMA_VERSION)
}

/// The rows of a results file that stand. The file is an append log: an `error` row (an outage
/// or a crash, no verdict) gives way to a later row for the same theorem and attempt marked
/// [`ProveResult::replaces_error`], which a rerun writes when it searched that attempt again.
/// Every other row stands: rows of one theorem in files joined together are attempts (pass@k),
/// errors included. In file order, a replaced row's successor in its place.
pub fn standing_results(rows: Vec<ProveResult>) -> Vec<ProveResult> {
    let mut open_error: std::collections::HashMap<(String, u32), usize> = Default::default();
    let mut standing: Vec<Option<ProveResult>> = Vec::with_capacity(rows.len());
    for row in rows {
        let key = (row.name.clone(), row.attempt.unwrap_or(0));
        let slot = match open_error.remove(&key).filter(|_| row.replaces_error) {
            Some(slot) => {
                standing[slot] = Some(row.clone());
                slot
            }
            None => {
                standing.push(Some(row.clone()));
                standing.len() - 1
            }
        };
        if row.status == ProveStatus::Error {
            open_error.insert(key, slot);
        } else {
            open_error.remove(&key);
        }
    }
    standing.into_iter().flatten().collect()
}

/// The rows of attempts 0..k−1 of each theorem (a row without a number is attempt 0), as
/// `eval --attempts K` and `report --attempts K` count them, and how many rows were left out.
pub fn first_attempts(rows: Vec<ProveResult>, k: u32) -> (Vec<ProveResult>, usize) {
    let before = rows.len();
    let kept: Vec<ProveResult> = rows
        .into_iter()
        .filter(|row| row.attempt.unwrap_or(0) < k)
        .collect();
    let left_out = before - kept.len();
    (kept, left_out)
}

/// How one layer of the check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Checked and passed.
    Passed,
    /// Checked and failed.
    Failed,
    /// Not checked because of how the check was configured (no reference dataset, no
    /// external checker).
    NotConfigured,
    /// Accepted on the user's word (`--trust-header`).
    Trusted,
    /// Not reached: an earlier layer failed or the infrastructure did.
    NotReached,
}

/// The acceptance record: which layers a result passed, so a consumer can require all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layers {
    /// The statement is one declaration and the proof text holds nothing the guard refuses.
    pub screening: Layer,
    /// The header policy: allow-listed lines, the reference's header, or trusted.
    pub header: Layer,
    /// The statement equals the reference dataset's.
    pub statement: Layer,
    /// Command-mode elaboration with no error.
    pub elaboration: Layer,
    /// No sorry reported, no sorry warning.
    pub no_sorry: Layer,
    /// `#print axioms`, as a command of its own, within the allowed axioms.
    pub axioms: Layer,
    /// The external checker accepted the whole file.
    pub external: Layer,
}

impl Default for Layers {
    fn default() -> Self {
        Layers {
            screening: Layer::NotReached,
            header: Layer::NotReached,
            statement: Layer::NotReached,
            elaboration: Layer::NotReached,
            no_sorry: Layer::NotReached,
            axioms: Layer::NotReached,
            external: Layer::NotReached,
        }
    }
}

impl Layers {
    /// Whether every layer passed (none trusted or left out).
    pub fn all_passed(&self) -> bool {
        [
            self.screening,
            self.header,
            self.statement,
            self.elaboration,
            self.no_sorry,
            self.axioms,
            self.external,
        ]
        .iter()
        .all(|layer| *layer == Layer::Passed)
    }
}

/// The verdict on one proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The proof checks.
    Valid,
    /// Lean rejected it, it uses `sorry` or a non-standard axiom, or its text, header or
    /// statement broke a rule.
    Invalid,
    /// The infrastructure failed (timeout, crash) after retries, or the row was malformed.
    Error,
}

/// The result of checking one row: what `prover check` prints per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The record's schema version.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// The row's name.
    pub name: String,
    /// 1-based input line.
    pub line: usize,
    /// The verdict.
    pub status: Status,
    /// Why it is not valid, in plain words (empty when valid).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Lean's messages for the spliced theorem (positions count from its first line).
    #[serde(default)]
    pub messages: Vec<LeanMessage>,
    /// The axioms `#print axioms` reported, when it reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub axioms: Option<Vec<String>>,
    /// Which layers of the check passed.
    #[serde(default)]
    pub layers: Layers,
    /// The constant the axioms were printed for, when the statement was renamed to get one (an
    /// `example`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_as: Option<String>,
    /// Attempts made (more than one after infrastructure failures).
    pub attempts: u32,
    /// Attempts that hit the deadline (each killed its REPL, which was replaced).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeouts: u32,
    /// Attempts whose REPL crashed or broke the protocol (each cost a restart).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub crashes: u32,
    /// Wall time spent on this row.
    pub seconds: f64,
}

impl CheckResult {
    /// A result for row `line` named `name`, with nothing decided yet (`error`, no layer reached).
    pub fn new(name: &str, line: usize) -> CheckResult {
        CheckResult {
            schema_version: RESULTS_SCHEMA_VERSION,
            name: name.to_owned(),
            line,
            status: Status::Error,
            reasons: Vec::new(),
            messages: Vec::new(),
            axioms: None,
            layers: Layers::default(),
            checked_as: None,
            attempts: 0,
            timeouts: 0,
            crashes: 0,
            seconds: 0.0,
        }
    }

    /// A result for a row that could not be read.
    pub fn malformed(error: &RowError) -> CheckResult {
        CheckResult {
            reasons: vec![error.to_string()],
            ..CheckResult::new(&error.name.clone().unwrap_or_default(), error.line)
        }
    }

    /// A result decided without asking Lean, for one reason.
    pub fn unchecked(task: &ProofTask, status: Status, reason: String) -> CheckResult {
        CheckResult {
            status,
            reasons: vec![reason],
            ..CheckResult::new(&task.name, task.line)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stop_code_round_trips_as_its_old_spelling() {
        let old = [
            "exhausted",
            "expansion_limit",
            "time_limit",
            "lean_call_limit",
            "cancelled",
            "infrastructure",
            "policy_failure",
            "lean_failure",
            "checker_failure",
            "statement_rejected",
            "header_rejected",
            "planner_failure",
            "plan_refused",
            "plan_unclosed",
        ];
        for (code, spelled) in StopCode::KNOWN.iter().zip(old) {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{spelled}\""));
            assert_eq!(code.as_str(), spelled);
            assert_eq!(code.to_string(), spelled);
            let back: StopCode = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, code);
        }
        assert_eq!(StopCode::KNOWN.len(), old.len());
    }

    #[test]
    fn an_unknown_stop_code_reads_and_is_written_back_as_it_was() {
        let code: StopCode = serde_json::from_str("\"budget_spent\"").unwrap();
        assert_eq!(code, StopCode::Other("budget_spent".into()));
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"budget_spent\"");
        assert_eq!(code.as_str(), "budget_spent");
    }

    #[test]
    fn an_old_results_row_reads_with_its_stop_code() {
        let old = concat!(
            r#"{"schema_version":1,"name":"a","status":"failed","stop_reason":"expansion_limit","#,
            r#""stop_detail":"expansion limit (3) reached","expansions":3,"lean_calls":5,"#,
            r#""candidates_rejected":0,"seconds":0.5}"#,
            "\n",
            r#"{"schema_version":1,"name":"b","status":"error","stop_reason":"statement_rejected","#,
            r#""expansions":0,"lean_calls":1,"candidates_rejected":0,"seconds":0.1}"#,
            "\n",
            r#"{"schema_version":1,"name":"c","status":"failed","stop_reason":"some_future_code","#,
            r#""expansions":0,"lean_calls":1,"candidates_rejected":0,"seconds":0.1}"#,
            "\n",
        );
        let (rows, errors) = read_prove_results(old.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
        let codes: Vec<Option<StopCode>> = rows.iter().map(|r| r.stop_reason.clone()).collect();
        assert_eq!(
            codes,
            vec![
                Some(StopCode::ExpansionLimit),
                Some(StopCode::StatementRejected),
                Some(StopCode::Other("some_future_code".into())),
            ]
        );
        let written: Vec<String> = rows
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        assert_eq!(written.join("\n") + "\n", old);
    }

    #[test]
    fn the_first_attempts_are_the_numbered_below_k_and_the_unnumbered() {
        let row = |attempt| ProveResult {
            attempt,
            ..ProveResult::unsearched("a", ProveStatus::Failed, 0, std::time::Instant::now())
        };
        let rows = vec![row(None), row(Some(1)), row(Some(2)), row(Some(4))];
        let (kept, left_out) = first_attempts(rows, 2);
        let attempts: Vec<Option<u32>> = kept.iter().map(|r| r.attempt).collect();
        assert_eq!((attempts, left_out), (vec![None, Some(1)], 2));
    }

    #[test]
    fn an_error_row_gives_way_to_its_rerun_and_every_other_row_stands() {
        let row = |name: &str, status, attempt, replaces_error| ProveResult {
            attempt,
            replaces_error,
            ..ProveResult::unsearched(name, status, 0, std::time::Instant::now())
        };
        let rows = vec![
            row("a", ProveStatus::Error, None, false),
            row("b", ProveStatus::Proved, None, false),
            row("a", ProveStatus::Failed, Some(1), false),
            row("a", ProveStatus::Error, Some(0), true),
            row("a", ProveStatus::Proved, Some(0), true),
            // Joined runs: two rows of b, even an error, are two attempts.
            row("b", ProveStatus::Error, None, false),
            row("b", ProveStatus::Failed, None, false),
        ];
        let standing: Vec<(String, ProveStatus, Option<u32>)> = standing_results(rows)
            .into_iter()
            .map(|r| (r.name, r.status, r.attempt))
            .collect();
        assert_eq!(
            standing,
            [
                ("a".to_owned(), ProveStatus::Proved, Some(0)),
                ("b".to_owned(), ProveStatus::Proved, None),
                ("a".to_owned(), ProveStatus::Failed, Some(1)),
                ("b".to_owned(), ProveStatus::Error, None),
                ("b".to_owned(), ProveStatus::Failed, None),
            ]
        );
    }
}
