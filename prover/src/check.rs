//! Checking whole proofs: the rules that make a proof `valid`, and running them through a REPL pool.
//!
//! A proof is valid only if the theorem, spliced byte-for-byte from its statement and proof,
//! elaborates in command mode on the header's environment with no error, no `sorry`, and
//! `#print axioms` naming nothing beyond the standard three. Search uses the same rules to
//! recheck every proof it finds before reporting it.

use std::time::{Duration, Instant};

use lean_bridge::pool::{CommandReply, ReplPool};
use lean_bridge::{BridgeError, CommandResponse, Message, Severity};
use serde::{Deserialize, Serialize};

/// The axioms a proof may depend on: Lean's standard ones.
pub const STANDARD_AXIOMS: [&str; 3] = ["propext", "Classical.choice", "Quot.sound"];

/// One proof to check, as read from an input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofTask {
    /// 1-based line of the input file the task came from.
    pub line: usize,
    /// The row's `name`.
    pub name: String,
    /// Imports and options to elaborate first (the row's `header`).
    pub header: String,
    /// The statement ending in `:= by` (a trailing `sorry` is dropped).
    pub formal_statement: String,
    /// The text after `:= by`.
    pub proof: String,
}

/// A row that cannot be checked, naming what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RowError {
    /// 1-based line.
    pub line: usize,
    /// The row's name, when it had one.
    pub name: Option<String>,
    /// What is wrong.
    pub reason: String,
}

#[derive(Deserialize)]
struct RawRow {
    name: Option<serde_json::Value>,
    header: Option<serde_json::Value>,
    formal_statement: Option<serde_json::Value>,
    proof: Option<serde_json::Value>,
    lean_code: Option<String>,
}

/// Parses one JSONL row of a check input.
///
/// Rows need `name`, `formal_statement` and `proof`, and a `header`. A row without `header` but
/// with `lean_code` (the DeepSeek-Prover-V2 traces) takes the text before its statement, minus
/// the trailing docstring, as header; `default_header` is the last resort.
pub fn parse_task(
    line: usize,
    text: &str,
    default_header: Option<&str>,
) -> Result<ProofTask, RowError> {
    let fail = |name: Option<String>, reason: String| RowError { line, name, reason };
    let raw: RawRow =
        serde_json::from_str(text).map_err(|e| fail(None, format!("not a JSON object: {e}")))?;
    let field = |value: &Option<serde_json::Value>,
                 key: &str,
                 name: Option<String>|
     -> Result<String, RowError> {
        match value {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(fail(
                name,
                format!("field `{key}` must be a string, found {other}"),
            )),
            None => Err(fail(name, format!("missing field `{key}`"))),
        }
    };
    let name = field(&raw.name, "name", None)?;
    let some_name = Some(name.clone());
    let formal_statement = field(&raw.formal_statement, "formal_statement", some_name.clone())?;
    let proof = field(&raw.proof, "proof", some_name.clone())?;
    let header = match (&raw.header, &raw.lean_code, default_header) {
        (Some(_), _, _) => field(&raw.header, "header", some_name.clone())?,
        (None, Some(code), _) => {
            header_from_lean_code(code, &formal_statement).ok_or_else(|| {
                fail(
                    some_name.clone(),
                    "missing field `header`, and `lean_code` does not contain `formal_statement`"
                        .into(),
                )
            })?
        }
        (None, None, Some(default)) => default.to_owned(),
        (None, None, None) => {
            return Err(fail(
                some_name,
                "missing field `header` (or pass --header FILE for rows without one)".into(),
            ));
        }
    };
    let formal_statement = strip_trailing_sorry(&formal_statement);
    if !formal_statement.trim_end().ends_with(":= by") {
        return Err(fail(
            some_name,
            "field `formal_statement` must end in `:= by` (or `:= by sorry`)".into(),
        ));
    }
    Ok(ProofTask {
        line,
        name,
        header,
        formal_statement,
        proof,
    })
}

fn header_from_lean_code(code: &str, statement: &str) -> Option<String> {
    let start = code.find(statement.trim_end())?;
    let before = &code[..start];
    // Drop a docstring that belongs to the theorem: it is not part of the environment.
    let cut = before
        .match_indices("/--")
        .filter(|(i, _)| *i == 0 || before.as_bytes()[i - 1] == b'\n')
        .map(|(i, _)| i)
        .last()
        .unwrap_or(before.len());
    Some(before[..cut].to_owned())
}

/// `… := by sorry` → `… := by`; other statements unchanged.
pub fn strip_trailing_sorry(statement: &str) -> String {
    let trimmed = statement.trim_end();
    match trimmed.strip_suffix("sorry") {
        Some(rest) if rest.trim_end().ends_with(":= by") => rest.trim_end().to_owned(),
        _ => statement.to_owned(),
    }
}

/// The declaration name of `theorem NAME …`, `lemma NAME …` or `example` (None).
pub fn declaration_name(statement: &str) -> Option<String> {
    let mut words = statement.split_whitespace();
    while let Some(word) = words.next() {
        match word {
            "theorem" | "lemma" => return words.next().map(str::to_owned),
            "example" => return None,
            _ => {}
        }
    }
    None
}

/// The text of the theorem as checked: the statement byte for byte, then the proof.
pub fn splice(statement: &str, proof: &str) -> String {
    let mut text = statement.to_owned();
    if !proof.starts_with(char::is_whitespace) {
        text.push(' ');
    }
    text.push_str(proof);
    text
}

/// Renders a tactic script as the text after `:= by`: one tactic per line, indented two
/// spaces, continuation lines of multi-line tactics re-indented by the same amount.
pub fn script_to_proof(tactics: &[String]) -> String {
    let mut proof = String::new();
    for tactic in tactics {
        for line in tactic.lines() {
            proof.push_str("\n  ");
            proof.push_str(line);
        }
    }
    proof
}

/// Why the proof text cannot stand for the stated theorem, if it tries to leave the `by` block:
/// a line at column 0 would end the proof and start a new command.
pub fn proof_escapes_statement(proof: &str) -> Option<String> {
    proof
        .split('\n')
        .enumerate()
        .skip(1)
        .find(|(_, l)| !l.trim().is_empty() && !l.starts_with([' ', '\t']) && !l.starts_with("--"))
        .map(|(i, l)| format!("proof line {} leaves the tactic block: {:?}", i + 1, l))
}

/// The verdict on one proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The proof checks.
    Valid,
    /// Lean rejected it, or it uses `sorry` or a non-standard axiom.
    Invalid,
    /// The infrastructure failed (timeout, crash) after retries, or the row was malformed.
    Error,
}

/// The result of checking one row: what `prover check` prints per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
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
    pub messages: Vec<Message>,
    /// The axioms `#print axioms` reported, when it reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub axioms: Option<Vec<String>>,
    /// Attempts made (more than one after infrastructure failures).
    pub attempts: u32,
    /// Wall time spent on this row.
    pub seconds: f64,
}

impl CheckResult {
    /// A result for a row that could not be read.
    pub fn malformed(error: &RowError) -> CheckResult {
        CheckResult {
            name: error.name.clone().unwrap_or_default(),
            line: error.line,
            status: Status::Error,
            reasons: vec![error.to_string()],
            messages: Vec::new(),
            axioms: None,
            attempts: 0,
            seconds: 0.0,
        }
    }

    /// A result decided without asking Lean, for one reason.
    pub fn unchecked(task: &ProofTask, status: Status, reason: String) -> CheckResult {
        CheckResult {
            name: task.name.clone(),
            line: task.line,
            status,
            reasons: vec![reason],
            messages: Vec::new(),
            axioms: None,
            attempts: 0,
            seconds: 0.0,
        }
    }
}

/// Settings for checking.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// Wall-clock deadline for one elaboration.
    pub timeout: Duration,
    /// Further attempts after an infrastructure failure.
    pub retries: u32,
    /// Axioms a valid proof may use.
    pub allowed_axioms: Vec<String>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            timeout: Duration::from_secs(300),
            retries: 1,
            allowed_axioms: STANDARD_AXIOMS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The axiom list `#print axioms NAME` printed, if one of `messages` is its output.
///
/// Parses the bracketed list rather than matching the sentence, which changes between Lean
/// versions: `'x' depends on axioms: [propext, Quot.sound]` or `'x' does not depend on any axioms`.
pub fn printed_axioms(messages: &[Message], name: &str) -> Option<Vec<String>> {
    let quoted = [format!("'{name}'"), format!("`{name}`")];
    messages
        .iter()
        .filter(|m| m.severity == Severity::Info)
        .filter(|m| quoted.iter().any(|q| m.data.starts_with(q.as_str())))
        .find_map(|m| {
            if m.data.contains("does not depend on any axioms") {
                return Some(Vec::new());
            }
            let open = m.data.find('[')?;
            let close = m.data.rfind(']')?;
            Some(
                m.data[open + 1..close]
                    .split(',')
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty())
                    .collect(),
            )
        })
}

fn uses_sorry_warning(message: &Message) -> bool {
    message.severity == Severity::Warning
        && (message.data.contains("declaration uses 'sorry'")
            || message.data.contains("declaration uses `sorry`"))
}

/// Judges a command answer for the spliced theorem. Returns (status, reasons, axioms).
pub fn judge(
    response: &CommandResponse,
    name: Option<&str>,
    allowed_axioms: &[String],
) -> (Status, Vec<String>, Option<Vec<String>>) {
    let mut reasons = Vec::new();
    for m in response.messages.iter().filter(|m| m.is_error()) {
        reasons.push(format!(
            "error at {}:{}: {}",
            m.pos.line, m.pos.column, m.data
        ));
    }
    if !response.sorries.is_empty() || response.messages.iter().any(uses_sorry_warning) {
        reasons.push("the proof uses sorry".into());
    }
    let axioms = name.and_then(|n| printed_axioms(&response.messages, n));
    match (&axioms, name) {
        (Some(list), _) => {
            for axiom in list {
                if !allowed_axioms.contains(axiom) {
                    reasons.push(format!("depends on the non-standard axiom {axiom}"));
                }
            }
        }
        (None, Some(n)) if reasons.is_empty() => {
            reasons.push(format!("`#print axioms {n}` printed no axiom list"));
        }
        _ => {}
    }
    let status = if reasons.is_empty() {
        Status::Valid
    } else {
        Status::Invalid
    };
    (status, reasons, axioms)
}

/// The command sent for a task: the spliced theorem, then `#print axioms` for it.
pub fn check_command(task: &ProofTask) -> (String, Option<String>) {
    let name = declaration_name(&task.formal_statement);
    let mut cmd = splice(&task.formal_statement, &task.proof);
    if let Some(n) = &name {
        cmd.push_str("\n\n#print axioms ");
        cmd.push_str(n);
    }
    (cmd, name)
}

/// Checks one task on the pool, retrying infrastructure failures on a fresh process.
pub async fn check_task(pool: &ReplPool, task: &ProofTask, config: &CheckConfig) -> CheckResult {
    let started = Instant::now();
    let mut result = CheckResult {
        name: task.name.clone(),
        line: task.line,
        status: Status::Error,
        reasons: Vec::new(),
        messages: Vec::new(),
        axioms: None,
        attempts: 0,
        seconds: 0.0,
    };
    if let Some(reason) = proof_escapes_statement(&task.proof) {
        return CheckResult::unchecked(task, Status::Invalid, reason);
    }
    let (cmd, name) = check_command(task);
    loop {
        result.attempts += 1;
        match pool.command(&task.header, &cmd, config.timeout).await {
            Ok(CommandReply::Ran(response)) => {
                let (status, reasons, axioms) =
                    judge(&response, name.as_deref(), &config.allowed_axioms);
                result.status = status;
                result.reasons = reasons;
                result.axioms = axioms;
                result.messages = response.messages;
                break;
            }
            Ok(CommandReply::HeaderRejected(messages)) => {
                result.status = Status::Error;
                result.reasons = vec!["the header failed to elaborate".into()];
                result.messages = messages;
                break;
            }
            Err(error) => {
                tracing::warn!(name = %task.name, attempt = result.attempts, "{error}");
                result.reasons.push(describe(&error));
                if result.attempts > config.retries {
                    result.status = Status::Error;
                    break;
                }
            }
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

fn describe(error: &BridgeError) -> String {
    format!("attempt failed: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lean_bridge::protocol::Pos;

    fn info(data: &str) -> Message {
        Message {
            severity: Severity::Info,
            pos: Pos { line: 3, column: 0 },
            end_pos: None,
            data: data.into(),
        }
    }

    #[test]
    fn axioms_are_parsed_from_the_bracketed_list() {
        let m = [info(
            "'foo' depends on axioms: [propext, Classical.choice, Quot.sound]",
        )];
        assert_eq!(
            printed_axioms(&m, "foo").unwrap(),
            ["propext", "Classical.choice", "Quot.sound"]
        );
        assert_eq!(
            printed_axioms(&[info("'foo' does not depend on any axioms")], "foo").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(printed_axioms(&m, "bar"), None);
    }

    #[test]
    fn sorry_and_native_axioms_make_a_proof_invalid() {
        let allowed: Vec<String> = STANDARD_AXIOMS.iter().map(|s| s.to_string()).collect();
        let response = CommandResponse {
            env: 1,
            messages: vec![info("'t' depends on axioms: [propext, sorryAx]")],
            sorries: vec![],
            tactics: vec![],
            infotree: vec![],
        };
        let (status, reasons, _) = judge(&response, Some("t"), &allowed);
        assert_eq!(status, Status::Invalid);
        assert!(reasons[0].contains("sorryAx"), "{reasons:?}");
        let native = CommandResponse {
            messages: vec![info(
                "'t' depends on axioms: [propext, t._native.native_decide.ax_1_1]",
            )],
            ..response.clone()
        };
        assert_eq!(judge(&native, Some("t"), &allowed).0, Status::Invalid);
        let clean = CommandResponse {
            messages: vec![info("'t' depends on axioms: [propext]")],
            ..response
        };
        assert_eq!(judge(&clean, Some("t"), &allowed).0, Status::Valid);
    }

    #[test]
    fn both_sorry_warning_spellings_are_caught() {
        for text in ["declaration uses 'sorry'", "declaration uses `sorry`"] {
            let response = CommandResponse {
                env: 1,
                messages: vec![
                    Message {
                        severity: Severity::Warning,
                        pos: Pos { line: 1, column: 8 },
                        end_pos: None,
                        data: text.into(),
                    },
                    info("'t' does not depend on any axioms"),
                ],
                sorries: vec![],
                tactics: vec![],
                infotree: vec![],
            };
            assert_eq!(
                judge(&response, Some("t"), &[]).0,
                Status::Invalid,
                "{text}"
            );
        }
    }

    #[test]
    fn rows_name_their_line_and_missing_field() {
        let err =
            parse_task(7, r#"{"name": "x", "header": "", "proof": "simp"}"#, None).unwrap_err();
        assert_eq!(err.to_string(), "line 7: missing field `formal_statement`");
        let err = parse_task(2, "{not json", None).unwrap_err();
        assert!(err.to_string().starts_with("line 2: not a JSON object"));
        let err = parse_task(
            3,
            r#"{"name": "x", "formal_statement": "theorem x : True := by", "proof": " trivial"}"#,
            None,
        )
        .unwrap_err();
        assert!(err.reason.contains("missing field `header`"), "{err}");
    }

    #[test]
    fn header_is_recovered_from_lean_code_without_the_docstring() {
        let row = r#"{"name": "t", "formal_statement": "theorem t : True := by", "proof": "\n  trivial",
            "lean_code": "import Mathlib\n\nopen Real\n\n/-- informal -/\ntheorem t : True := by\n  trivial"}"#;
        let task = parse_task(1, row, None).unwrap();
        assert_eq!(task.header, "import Mathlib\n\nopen Real\n\n");
    }

    #[test]
    fn statements_with_sorry_are_accepted_and_spliced_byte_for_byte() {
        let row = r#"{"name": "t", "header": "", "formal_statement": "theorem t (a : ℕ) :\n  a = a := by sorry", "proof": "\n  rfl"}"#;
        let task = parse_task(1, row, None).unwrap();
        assert_eq!(task.formal_statement, "theorem t (a : ℕ) :\n  a = a := by");
        let (cmd, name) = check_command(&task);
        assert_eq!(
            cmd,
            "theorem t (a : ℕ) :\n  a = a := by\n  rfl\n\n#print axioms t"
        );
        assert_eq!(name.as_deref(), Some("t"));
    }

    #[test]
    fn a_proof_that_leaves_the_by_block_is_caught() {
        assert!(proof_escapes_statement("\n  simp\ntheorem cheat : False := sorry").is_some());
        assert!(proof_escapes_statement("\n  simp\n\n  -- note\n  ring").is_none());
        assert!(proof_escapes_statement(" simp").is_none());
    }

    #[test]
    fn scripts_render_one_tactic_per_indented_line() {
        let script = vec![
            "intro x".to_string(),
            "cases x with\n| inl h => simp\n| inr h => simp".into(),
        ];
        assert_eq!(
            script_to_proof(&script),
            "\n  intro x\n  cases x with\n  | inl h => simp\n  | inr h => simp"
        );
    }
}
