//! The only serde types for the REPL's JSON: every request and answer kind of the pinned REPL,
//! the answer decoding rule, and the classification of tactic answers.
//!
//! Shapes follow leanprover-community/repl (`REPL/JSON.lean`): absent lists mean empty lists
//! (except `goals` of a proof-step answer, which is always present), unknown fields are ignored,
//! and positions count Unicode code points, not bytes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An environment id, allocated per process.
pub type EnvId = u64;
/// A proof-state id, allocated per process.
pub type ProofStateId = u64;

/// A request to the REPL. Serializes to exactly the JSON object the REPL dispatches on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Request {
    /// Run one tactic on a proof state.
    ProofStep(ProofStepRequest),
    /// Write an environment to an `.olean`.
    PickleEnvironment(PickleEnvironmentRequest),
    /// Read an environment back from an `.olean`.
    UnpickleEnvironment(UnpickleEnvironmentRequest),
    /// Write a proof state to an `.olean`.
    PickleProofState(PickleProofStateRequest),
    /// Read a proof state back from an `.olean`.
    UnpickleProofState(UnpickleProofStateRequest),
    /// Elaborate Lean commands.
    Command(CommandRequest),
    /// Elaborate a file.
    File(FileRequest),
}

/// `{"tactic", "proofState"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofStepRequest {
    /// Exactly one tactic syntax node (use `;`, `<;>` or a parenthesised block for several).
    pub tactic: String,
    /// The state to run it on.
    #[serde(rename = "proofState")]
    pub proof_state: ProofStateId,
}

/// `{"env", "pickleTo"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickleEnvironmentRequest {
    /// The environment to write.
    pub env: EnvId,
    /// Target `.olean` path, relative to the REPL's working directory.
    #[serde(rename = "pickleTo")]
    pub pickle_to: String,
}

/// `{"unpickleEnvFrom"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpickleEnvironmentRequest {
    /// Source `.olean` path.
    #[serde(rename = "unpickleEnvFrom")]
    pub unpickle_env_from: String,
}

/// `{"proofState", "pickleTo"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickleProofStateRequest {
    /// The proof state to write.
    #[serde(rename = "proofState")]
    pub proof_state: ProofStateId,
    /// Target `.olean` path.
    #[serde(rename = "pickleTo")]
    pub pickle_to: String,
}

/// `{"unpickleProofStateFrom", "env"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpickleProofStateRequest {
    /// Source `.olean` path.
    #[serde(rename = "unpickleProofStateFrom")]
    pub unpickle_proof_state_from: String,
    /// A live environment to reuse instead of re-importing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<EnvId>,
}

/// Which InfoTree nodes a command answer should carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InfoTreeFilter {
    /// Everything.
    Full,
    /// TacticInfo nodes only.
    Tactics,
    /// TacticInfo nodes from original syntax.
    Original,
    /// As `original`, without structural combinators.
    Substantive,
}

/// `{"cmd", "env"?, "allTactics"?, "rootGoals"?, "infotree"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CommandRequest {
    /// Lean source text. Newlines must be `\n` escapes inside the JSON, which serde gives.
    pub cmd: String,
    /// Environment to run on; without it the text's own `import` header is elaborated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<EnvId>,
    /// Report every original-syntax tactic with a proof state.
    #[serde(
        rename = "allTactics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub all_tactics: Option<bool>,
    /// Report a synthetic sorry for every declaration's root goal.
    #[serde(rename = "rootGoals", default, skip_serializing_if = "Option::is_none")]
    pub root_goals: Option<bool>,
    /// Attach a filtered InfoTree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infotree: Option<InfoTreeFilter>,
}

/// `{"path", "env"?, "allTactics"?, "rootGoals"?, "infotree"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FileRequest {
    /// Path of a `.lean` file, relative to the REPL's working directory.
    pub path: String,
    /// Environment to run on (REPL v4.22.0 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<EnvId>,
    /// As [`CommandRequest::all_tactics`].
    #[serde(
        rename = "allTactics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub all_tactics: Option<bool>,
    /// As [`CommandRequest::root_goals`].
    #[serde(rename = "rootGoals", default, skip_serializing_if = "Option::is_none")]
    pub root_goals: Option<bool>,
    /// As [`CommandRequest::infotree`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infotree: Option<InfoTreeFilter>,
}

impl Request {
    /// A short name for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::ProofStep(_) => "tactic",
            Request::PickleEnvironment(_) => "pickle environment",
            Request::UnpickleEnvironment(_) => "unpickle environment",
            Request::PickleProofState(_) => "pickle proof state",
            Request::UnpickleProofState(_) => "unpickle proof state",
            Request::Command(_) => "command",
            Request::File(_) => "file",
        }
    }

    /// The exact bytes to write: compact single-line JSON and one blank line.
    ///
    /// Raw newlines never appear: since REPL v4.22.0 they would be dropped (`:= by⏎sorry`
    /// elaborates as `bysorry`), and serde escapes them inside strings.
    pub fn to_wire(&self) -> String {
        let mut line = serde_json::to_string(self).expect("requests always serialize");
        line.push_str("\n\n");
        line
    }

    /// Decodes a request the way the REPL dispatches it: the first kind whose required keys are
    /// present wins, and unknown keys are ignored.
    pub fn from_value(value: &Value) -> Option<Request> {
        let obj = value.as_object()?;
        let has = |k: &str| obj.contains_key(k);
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
        let nat = |k: &str| obj.get(k).and_then(Value::as_u64);
        let flag = |k: &str| obj.get(k).and_then(Value::as_bool);
        let infotree = || {
            obj.get("infotree")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
        };
        if has("tactic") && has("proofState") {
            return Some(Request::ProofStep(ProofStepRequest {
                tactic: text("tactic")?,
                proof_state: nat("proofState")?,
            }));
        }
        if has("env") && has("pickleTo") {
            return Some(Request::PickleEnvironment(PickleEnvironmentRequest {
                env: nat("env")?,
                pickle_to: text("pickleTo")?,
            }));
        }
        if has("unpickleEnvFrom") {
            return Some(Request::UnpickleEnvironment(UnpickleEnvironmentRequest {
                unpickle_env_from: text("unpickleEnvFrom")?,
            }));
        }
        if has("proofState") && has("pickleTo") {
            return Some(Request::PickleProofState(PickleProofStateRequest {
                proof_state: nat("proofState")?,
                pickle_to: text("pickleTo")?,
            }));
        }
        if has("unpickleProofStateFrom") {
            return Some(Request::UnpickleProofState(UnpickleProofStateRequest {
                unpickle_proof_state_from: text("unpickleProofStateFrom")?,
                env: nat("env"),
            }));
        }
        if has("cmd") {
            return Some(Request::Command(CommandRequest {
                cmd: text("cmd")?,
                env: nat("env"),
                all_tactics: flag("allTactics"),
                root_goals: flag("rootGoals"),
                infotree: infotree(),
            }));
        }
        if has("path") {
            return Some(Request::File(FileRequest {
                path: text("path")?,
                env: nat("env"),
                all_tactics: flag("allTactics"),
                root_goals: flag("rootGoals"),
                infotree: infotree(),
            }));
        }
        None
    }
}

/// A line/column position: lines 1-based, columns 0-based in Unicode code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pos {
    /// 1-based line; 0 inside tactic mode, where the tactic is parsed standalone.
    pub line: u32,
    /// 0-based column in code points.
    pub column: u32,
}

impl Pos {
    /// The byte offset of this position in `text`, or `None` when it lies outside.
    pub fn to_byte_offset(self, text: &str) -> Option<usize> {
        let line_start = if self.line <= 1 {
            0
        } else {
            let mut seen = 1;
            let mut start = None;
            for (i, b) in text.bytes().enumerate() {
                if b == b'\n' {
                    seen += 1;
                    if seen == self.line {
                        start = Some(i + 1);
                        break;
                    }
                }
            }
            start?
        };
        let line = &text[line_start..];
        let line = line.split('\n').next().unwrap_or("");
        if self.column as usize == line.chars().count() {
            return Some(line_start + line.len());
        }
        line.char_indices()
            .nth(self.column as usize)
            .map(|(i, _)| line_start + i)
    }
}

/// Message severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational output (`#print`, `#eval`, …).
    Info,
    /// A warning (`declaration uses sorry`, linters).
    Warning,
    /// An error.
    Error,
    /// In the REPL's enum but never produced.
    Trace,
}

/// An elaboration message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Severity.
    pub severity: Severity,
    /// Start position.
    pub pos: Pos,
    /// End position, when Lean gives one.
    #[serde(rename = "endPos", default, skip_serializing_if = "Option::is_none")]
    pub end_pos: Option<Pos>,
    /// The rendered, trimmed text.
    pub data: String,
}

impl Message {
    /// Whether this message is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// An explicit `sorry` with a goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sorry {
    /// The proof state at the sorry, usable with a ProofStep request.
    #[serde(rename = "proofState")]
    pub proof_state: Option<ProofStateId>,
    /// Start position; absent inside tactic mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<Pos>,
    /// The goal text; several goals are joined with `\n`.
    pub goal: String,
    /// End position; absent inside tactic mode.
    #[serde(rename = "endPos", default, skip_serializing_if = "Option::is_none")]
    pub end_pos: Option<Pos>,
}

/// A tactic reported by `allTactics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tactic {
    /// Pretty-printed tactic.
    pub tactic: String,
    /// The state before the tactic.
    #[serde(rename = "proofState")]
    pub proof_state: ProofStateId,
    /// Start position.
    pub pos: Pos,
    /// Goals before the tactic, as a single string (`"no goals"` when none).
    pub goals: String,
    /// End position.
    #[serde(rename = "endPos")]
    pub end_pos: Pos,
    /// Constants the tactic used: present, possibly empty, since REPL v4.14.0; absent before.
    #[serde(
        rename = "usedConstants",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub used_constants: Option<Vec<String>>,
}

/// The answer to a command or file request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResponse {
    /// The environment after the command; allocated even when the command had errors.
    pub env: EnvId,
    /// All elaboration messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// Explicit sorries with goals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sorries: Vec<Sorry>,
    /// Present only with `allTactics`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<Tactic>,
    /// Present only with `infotree`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub infotree: Vec<Value>,
}

impl CommandResponse {
    /// Whether any message has error severity.
    pub fn has_errors(&self) -> bool {
        self.messages.iter().any(Message::is_error)
    }
}

/// The answer to a tactic, or to pickling or unpickling a proof state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofStepResponse {
    /// The new proof state's id.
    #[serde(rename = "proofState")]
    pub proof_state: ProofStateId,
    /// One pretty-printed string per open goal; always present, possibly empty.
    pub goals: Vec<String>,
    /// Messages new since the parent state (positions are 0:0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// Sorries the tactic introduced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sorries: Vec<Sorry>,
    /// New `trace.*` output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<String>,
    /// The REPL's verdict on the whole proof (REPL v4.19.0 and later).
    #[serde(
        rename = "proofStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub proof_status: Option<String>,
}

/// The error answer `{"message": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error text, e.g. `Unknown proof state.` or `Lean error:\n…`.
    pub message: String,
}

/// Any answer, decoded by the REPL client's rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// `{"message"}`.
    Error(ErrorResponse),
    /// Has `proofState` and `goals`.
    ProofStep(ProofStepResponse),
    /// Has `env`.
    Command(CommandResponse),
}

/// An answer that matches none of the three shapes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("answer is not a REPL response: {reason}")]
pub struct DecodeError {
    /// What was wrong.
    pub reason: String,
}

impl Response {
    /// Parses one answer's text (the lines before the blank line, joined).
    pub fn parse(text: &str) -> Result<Response, DecodeError> {
        let value: Value = serde_json::from_str(text).map_err(|e| DecodeError {
            reason: format!("invalid JSON ({e})"),
        })?;
        Response::from_value(value)
    }

    /// Decodes in the protocol's order: exactly one key `message` → error; `proofState` and
    /// `goals` → proof step; `env` → command.
    pub fn from_value(value: Value) -> Result<Response, DecodeError> {
        let Some(obj) = value.as_object() else {
            return Err(DecodeError {
                reason: "not a JSON object".into(),
            });
        };
        let fail = |e: serde_json::Error| DecodeError {
            reason: e.to_string(),
        };
        if obj.len() == 1 && obj.contains_key("message") {
            return serde_json::from_value(value)
                .map(Response::Error)
                .map_err(fail);
        }
        if obj.contains_key("proofState") && obj.contains_key("goals") {
            return serde_json::from_value(value)
                .map(Response::ProofStep)
                .map_err(fail);
        }
        if obj.contains_key("env") {
            return serde_json::from_value(value)
                .map(Response::Command)
                .map_err(fail);
        }
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        Err(DecodeError {
            reason: format!("unexpected keys {keys:?}"),
        })
    }

    /// The JSON this response stands for, with empty lists omitted as the REPL omits them.
    pub fn to_value(&self) -> Value {
        match self {
            Response::Error(e) => serde_json::to_value(e),
            Response::ProofStep(p) => serde_json::to_value(p),
            Response::Command(c) => serde_json::to_value(c),
        }
        .expect("responses always serialize")
    }

    /// A short name for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Error(_) => "error",
            Response::ProofStep(_) => "proof step",
            Response::Command(_) => "command",
        }
    }
}

/// The proof status that, with the other conditions, marks a finished proof.
pub const COMPLETED: &str = "Completed";

/// What a tactic answer means for search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TacticOutcome {
    /// The proof of the root goal is complete and kernel-checked. Still recheck in command
    /// mode before trusting it.
    Proved {
        /// The state id of the finished proof.
        proof_state: ProofStateId,
    },
    /// A new state with open goals.
    Open {
        /// The new state's id.
        proof_state: ProofStateId,
        /// Its goals, one string each.
        goals: Vec<String>,
    },
    /// The tactic failed: an error answer, an error-severity message, left sorries, or goals
    /// closed without a complete proof.
    Failed {
        /// Why, in Lean's words where Lean gave any.
        reason: String,
    },
}

/// Classifies the answer to a ProofStep request by the finished-proof rule.
///
/// `Proved` requires: no `message` key, no error-severity message, no sorries, `goals == []`,
/// and `proofStatus == "Completed"` where the REPL reports a status (v4.19.0 and later).
/// `goals == []` alone means nothing: it also comes with an error and `Incomplete: contains
/// sorry`. Rule 5 (the state descends from the theorem's own sorry) is the caller's to keep.
pub fn classify_tactic(response: &Response) -> TacticOutcome {
    let step = match response {
        Response::Error(e) => {
            return TacticOutcome::Failed {
                reason: e.message.clone(),
            };
        }
        Response::Command(_) => {
            return TacticOutcome::Failed {
                reason: "a command answer came back for a tactic".into(),
            };
        }
        Response::ProofStep(step) => step,
    };
    let errors: Vec<&str> = step
        .messages
        .iter()
        .filter(|m| m.is_error())
        .map(|m| m.data.as_str())
        .collect();
    if !errors.is_empty() {
        return TacticOutcome::Failed {
            reason: errors.join("\n"),
        };
    }
    if !step.sorries.is_empty() {
        return TacticOutcome::Failed {
            reason: "the tactic left sorries".into(),
        };
    }
    if step.goals.is_empty() {
        return match step.proof_status.as_deref() {
            None | Some(COMPLETED) => TacticOutcome::Proved {
                proof_state: step.proof_state,
            },
            Some(status) => TacticOutcome::Failed {
                reason: format!("no goals left but the proof is not complete: {status}"),
            },
        };
    }
    TacticOutcome::Open {
        proof_state: step.proof_state,
        goals: step.goals.clone(),
    }
}

/// Joins the physical lines of one request the way the REPL does since v4.22.0: each line
/// loses its trailing whitespace and the lines are concatenated with no separator.
pub fn join_request_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    lines
        .into_iter()
        .map(|l| l.trim_end_matches([' ', '\t', '\r', '\n']))
        .collect()
}

/// Splits a stream into blank-line-terminated blocks, each a list of its lines. A trailing
/// block without a blank line (the REPL accepts one before EOF) is kept.
pub fn split_blocks(stream: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut current = Vec::new();
    for line in stream.split('\n') {
        if line.trim_matches([' ', '\t', '\r']).is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_one_line_and_one_blank_line() {
        let req = Request::Command(CommandRequest {
            cmd: "theorem t : 1 = 1 := by\n  sorry".into(),
            env: Some(0),
            ..Default::default()
        });
        let wire = req.to_wire();
        assert!(wire.ends_with("}\n\n"));
        assert_eq!(wire.matches('\n').count(), 2, "{wire}");
        let blocks = split_blocks(&wire);
        assert_eq!(blocks.len(), 1);
        let joined = join_request_lines(blocks[0].iter().copied());
        let back = Request::from_value(&serde_json::from_str(&joined).unwrap()).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn tactic_serializes_with_camel_case_keys() {
        let req = Request::ProofStep(ProofStepRequest {
            tactic: "intro x".into(),
            proof_state: 3,
        });
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"tactic":"intro x","proofState":3}"#
        );
    }

    /// REPL v4.24.0 sends `"endPos": null` for a parse error at the end of the input
    /// (transcript `unfinished_tactic_block`): it reads as no end position.
    #[test]
    fn a_null_end_position_reads_as_none() {
        let r = Response::parse(
            r#"{"messages": [{"severity": "error", "pos": {"line": 1, "column": 17}, "endPos": null, "data": "unexpected end of input; expected '{'"}], "env": 0}"#,
        )
        .unwrap();
        let Response::Command(command) = r else {
            panic!("a command answer: {r:?}");
        };
        assert_eq!(command.messages[0].end_pos, None);
        assert!(command.messages[0].is_error());
    }

    #[test]
    fn goals_empty_with_error_is_not_proved() {
        let r = Response::parse(
            r#"{"proofStatus": "Incomplete: contains sorry", "proofState": 1, "messages": [{"severity": "error", "pos": {"line": 0, "column": 0}, "endPos": {"line": 0, "column": 0}, "data": "Unknown identifier `my_fake_premise`"}], "goals": []}"#,
        )
        .unwrap();
        assert!(matches!(
            classify_tactic(&r),
            TacticOutcome::Failed { reason } if reason.contains("my_fake_premise")
        ));
    }

    #[test]
    fn goals_empty_with_other_status_is_not_proved() {
        let r = Response::parse(
            r#"{"proofStatus": "Incomplete: contains metavariable(s)", "proofState": 2, "goals": []}"#,
        )
        .unwrap();
        assert!(matches!(classify_tactic(&r), TacticOutcome::Failed { .. }));
    }

    #[test]
    fn completed_is_proved_and_missing_status_is_proved_on_old_repls() {
        let r = Response::parse(r#"{"proofStatus": "Completed", "proofState": 2, "goals": []}"#)
            .unwrap();
        assert_eq!(
            classify_tactic(&r),
            TacticOutcome::Proved { proof_state: 2 }
        );
        let old = Response::parse(r#"{"proofState": 4, "goals": []}"#).unwrap();
        assert_eq!(
            classify_tactic(&old),
            TacticOutcome::Proved { proof_state: 4 }
        );
    }

    #[test]
    fn positions_count_code_points() {
        let text = "theorem x : ℕ := by\n  ⊢ sorry";
        let pos = Pos { line: 2, column: 4 };
        assert_eq!(&text[pos.to_byte_offset(text).unwrap()..], "sorry");
        let first = Pos {
            line: 1,
            column: 14,
        };
        assert_eq!(
            &text[first.to_byte_offset(text).unwrap()..],
            ":= by\n  ⊢ sorry"
        );
        assert_eq!(Pos { line: 9, column: 0 }.to_byte_offset(text), None);
    }

    #[test]
    fn dispatch_order_prefers_pickle_over_command() {
        let v: Value =
            serde_json::from_str(r#"{"env": 0, "pickleTo": "a.olean", "cmd": "x"}"#).unwrap();
        assert!(matches!(
            Request::from_value(&v),
            Some(Request::PickleEnvironment(_))
        ));
    }
}
