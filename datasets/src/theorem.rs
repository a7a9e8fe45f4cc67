//! Benchmark rows (miniF2F, ProofNet, any JSONL with `name`, `header`, `formal_statement`): the theorems `prove` and `eval` search.

use crate::jsonl::{RowError, parse_object};
use crate::lean::{normalized_statement, statement_ending_in_by};

/// One theorem to prove, as a miniF2F-style dataset row gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theorem {
    /// The row's `name`.
    pub name: String,
    /// Imports and options (the row's `header`).
    pub header: String,
    /// The statement ending in `:= by` (a trailing `sorry` is dropped).
    pub formal_statement: String,
}

impl Theorem {
    /// A hash of the statement as compared across datasets (whitespace runs collapsed), for
    /// manifests: it names the statement a result was computed for.
    pub fn statement_hash(&self) -> String {
        crate::hash::sha1_hex(normalized_statement(&self.formal_statement))
    }

    /// The theorem as a dataset row (`name`, `header`, `formal_statement`), one JSON object
    /// without the newline: what [`parse_theorem`] reads back.
    pub fn to_row(&self) -> String {
        serde_json::json!({
            "name": self.name,
            "header": self.header,
            "formal_statement": self.formal_statement,
        })
        .to_string()
    }
}

/// Parses one dataset row: `name` (or a unique `id`, preferred when present), `header`,
/// `formal_statement`. Errors name the line and the field.
pub fn parse_theorem(line: usize, text: &str) -> Result<Theorem, RowError> {
    let fail = |name: Option<String>, reason: String| RowError { line, name, reason };
    let row = parse_object(line, text)?;
    let field = |key: &str, name: Option<String>| -> Result<String, RowError> {
        match row.get(key) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(fail(
                name,
                format!("field `{key}` must be a string, found {other}"),
            )),
            None => Err(fail(name, format!("missing field `{key}`"))),
        }
    };
    let name = match row.get("id").and_then(|v| v.as_str()) {
        Some(id) => id.to_owned(),
        None => field("name", None)?,
    };
    let header = field("header", Some(name.clone()))?;
    let statement = field("formal_statement", Some(name.clone()))?;
    let formal_statement = statement_ending_in_by(&statement).ok_or_else(|| {
        fail(
            Some(name.clone()),
            "field `formal_statement` must end in `:=`, `:= by` or `:= by sorry`".into(),
        )
    })?;
    Ok(Theorem {
        name,
        header,
        formal_statement,
    })
}
