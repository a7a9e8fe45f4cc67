//! Proof rows: the input of `prover check` (`name`, `header` or `lean_code`, `formal_statement`, `proof`).

use serde::{Deserialize, Serialize};

use crate::jsonl::{RowError, parse_object};
use crate::lean::{header_from_lean_code, strip_trailing_sorry};

/// One proof to check, as read from an input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofTask {
    /// 1-based line of the input file the task came from.
    pub line: usize,
    /// The row's `name`.
    pub name: String,
    /// Imports and options to elaborate first (the row's `header`).
    pub header: String,
    /// The statement ending in `:= by` or `:=` (a trailing `sorry` is dropped).
    pub formal_statement: String,
    /// The text after `:= by` (a tactic proof) or `:=` (a term).
    pub proof: String,
    /// Where the header came from, which decides whether the checker's header policy applies.
    pub header_origin: HeaderOrigin,
}

/// Where a task's header came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderOrigin {
    /// The row itself (its `header`, its `lean_code`, or `--header FILE`): untrusted.
    Row,
    /// The reference dataset, or the dataset a search proves from: trusted as the statement is.
    Reference,
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
    // Checked as an object first: serde would read a JSON array into the struct by position.
    let object = parse_object(line, text)?;
    let raw: RawRow = serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| fail(None, format!("not a proof row: {e}")))?;
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
    if !formal_statement.trim_end().ends_with(":=")
        && !formal_statement.trim_end().ends_with(":= by")
    {
        return Err(fail(
            some_name,
            "field `formal_statement` must end in `:= by` or `:=` (optionally followed by `sorry`)"
                .into(),
        ));
    }
    Ok(ProofTask {
        line,
        name,
        header,
        formal_statement,
        proof,
        header_origin: HeaderOrigin::Row,
    })
}

/// The schema version every written [`ProofRow`] carries (`schema_version`, first).
pub const PROOF_ROW_SCHEMA_VERSION: u32 = 1;

/// A proof row in `prover check`'s input form: `formal_statement` ending in `:= by` and
/// `proof` the text after it, so the two together are the whole declaration. Written with
/// `schema_version` ([`PROOF_ROW_SCHEMA_VERSION`]), which [`parse_task`] does not need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRow {
    /// The theorem's name.
    pub name: String,
    /// Imports and options.
    pub header: String,
    /// The statement, ending in `:= by`.
    pub formal_statement: String,
    /// The text after `:= by` (see [`script_to_proof`](crate::lean::script_to_proof)).
    pub proof: String,
}

impl Serialize for ProofRow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut row = serializer.serialize_struct("ProofRow", 5)?;
        row.serialize_field("schema_version", &PROOF_ROW_SCHEMA_VERSION)?;
        row.serialize_field("name", &self.name)?;
        row.serialize_field("header", &self.header)?;
        row.serialize_field("formal_statement", &self.formal_statement)?;
        row.serialize_field("proof", &self.proof)?;
        row.end()
    }
}

impl ProofRow {
    /// One JSON object without the newline: what [`parse_task`] reads back.
    pub fn to_row(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lean::script_to_proof;
    use crate::theorem::{Theorem, parse_theorem};

    #[test]
    fn rows_written_here_read_back_as_the_same_rows() {
        let theorem = Theorem {
            name: "t \"quoted\"".to_owned(),
            header: "import Mathlib\n\nopen Real\n".to_owned(),
            formal_statement: "theorem t (x : ℝ) : x = x := by".to_owned(),
        };
        assert_eq!(parse_theorem(1, &theorem.to_row()).unwrap(), theorem);
        let row = ProofRow {
            name: theorem.name.clone(),
            header: theorem.header.clone(),
            formal_statement: theorem.formal_statement.clone(),
            proof: script_to_proof(&["intro h\n".to_owned(), "rfl".to_owned()]),
        };
        let written: serde_json::Value = serde_json::from_str(&row.to_row()).unwrap();
        assert_eq!(written["schema_version"], PROOF_ROW_SCHEMA_VERSION);
        let task = parse_task(3, &row.to_row(), None).unwrap();
        assert_eq!(
            (task.line, &task.name, &task.header, &task.proof),
            (3, &row.name, &row.header, &row.proof)
        );
        assert_eq!(
            task.proof, "\n  intro h\n  rfl",
            "a tactic's trailing newline is dropped"
        );
    }
}
