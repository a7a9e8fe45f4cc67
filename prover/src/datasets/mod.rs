//! Benchmark datasets: reading miniF2F/ProofNet-style JSONL rows into theorems to prove.

pub mod fetch;

use crate::check::{RowError, strip_trailing_sorry};
use crate::engine::Theorem;

/// Normalizes a statement to end in `:= by`: drops a trailing `sorry` (miniF2F at v4.24.0)
/// and completes a bare `:=` (ProofNet).
pub fn statement_ending_in_by(statement: &str) -> Option<String> {
    let stripped = strip_trailing_sorry(statement);
    let trimmed = stripped.trim_end();
    if trimmed.ends_with(":= by") {
        Some(trimmed.to_owned())
    } else if trimmed.ends_with(":=") {
        Some(format!("{trimmed} by"))
    } else {
        None
    }
}

/// Parses one dataset row: `name` (or a unique `id`, preferred when present), `header`,
/// `formal_statement`. Errors name the line and the field.
pub fn parse_theorem(line: usize, text: &str) -> Result<Theorem, RowError> {
    let fail = |name: Option<String>, reason: String| RowError { line, name, reason };
    let row: serde_json::Value =
        serde_json::from_str(text).map_err(|e| fail(None, format!("not a JSON object: {e}")))?;
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

#[cfg(test)]
#[path = "../../../tests/src/test_data.rs"]
pub(crate) mod test_data;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_normalized_to_end_in_by() {
        assert_eq!(
            statement_ending_in_by("theorem a : 1 = 1 := by sorry").unwrap(),
            "theorem a : 1 = 1 := by"
        );
        assert_eq!(
            statement_ending_in_by("theorem a : 1 = 1 := by\n").unwrap(),
            "theorem a : 1 = 1 := by"
        );
        assert_eq!(
            statement_ending_in_by("theorem a : 1 = 1 :=").unwrap(),
            "theorem a : 1 = 1 := by"
        );
        assert_eq!(statement_ending_in_by("theorem a : 1 = 1"), None);
    }

    #[test]
    fn rows_prefer_id_and_name_their_missing_fields() {
        let t = parse_theorem(
            1,
            r#"{"id": "Rudin|exercise_1_1b", "name": "exercise_1_1b", "header": "import Mathlib\n", "formal_statement": "theorem exercise_1_1b : True :="}"#,
        )
        .unwrap();
        assert_eq!(t.name, "Rudin|exercise_1_1b");
        assert_eq!(t.formal_statement, "theorem exercise_1_1b : True := by");
        let e = parse_theorem(
            4,
            r#"{"name": "x", "formal_statement": "theorem x : True := by"}"#,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "line 4: missing field `header`");
    }

    #[test]
    fn every_shared_minif2f_and_proofnet_row_parses() {
        let Some(root) = super::test_data::find_or_skip(
            "datasets",
            "every_shared_minif2f_and_proofnet_row_parses",
        ) else {
            return;
        };
        let mut count = 0;
        for file in [
            "minif2f/valid.jsonl",
            "minif2f/test.jsonl",
            "minif2f/yangky11_v4.24.0/valid.jsonl",
            "minif2f/yangky11_v4.24.0/test.jsonl",
            "proofnet/valid.jsonl",
            "proofnet/test.jsonl",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            for (i, line) in text.lines().enumerate() {
                let theorem = parse_theorem(i + 1, line).unwrap_or_else(|e| panic!("{file}: {e}"));
                assert!(theorem.formal_statement.ends_with(":= by"));
                count += 1;
            }
        }
        assert_eq!(count, 244 * 4 + 185 + 186);
    }
}
