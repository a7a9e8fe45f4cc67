//! Benchmark datasets: reading miniF2F/ProofNet-style JSONL rows into theorems to prove.

pub mod fetch;

use crate::check::{RowError, strip_trailing_sorry};
use crate::engine::Theorem;

/// The lines of a JSONL file, numbered from 1, with blank lines left out: a UTF-8 byte-order
/// mark before the first line and a `\r` before each newline are tolerated, and a line that is
/// not UTF-8 is an error for that line alone.
pub fn jsonl_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, Result<&str, RowError>)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(index, raw)| {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let text = std::str::from_utf8(raw).map_err(|e| RowError {
                line: index + 1,
                name: None,
                reason: format!("not UTF-8 text (byte {} of the line)", e.valid_up_to() + 1),
            });
            (index + 1, text)
        })
        .filter(|(_, text)| !matches!(text, Ok(t) if t.trim().is_empty()))
}

/// One JSONL row as a JSON object; anything else (an array, a number, broken JSON) is an error
/// naming the line.
pub fn parse_object(
    line: usize,
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, RowError> {
    let fail = |reason: String| RowError {
        line,
        name: None,
        reason,
    };
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(fail(format!(
            "not a JSON object: found {}",
            match other {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            }
        ))),
        Err(e) => Err(fail(format!("not a JSON object: {e}"))),
    }
}

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

#[cfg(test)]
#[path = "../../../tests/src/test_data.rs"]
pub(crate) mod test_data;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_tolerate_a_bom_and_crlf_and_fail_alone_when_not_utf8() {
        let bytes = b"\xEF\xBB\xBF{\"a\": 1}\r\n\n{\"b\": \xFF}\n[1, 2]\n";
        let lines: Vec<(usize, Result<&str, RowError>)> = jsonl_lines(bytes).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].0, 1);
        assert_eq!(lines[0].1.as_ref().unwrap(), &"{\"a\": 1}");
        assert_eq!(lines[1].0, 3);
        assert!(
            lines[1]
                .1
                .as_ref()
                .unwrap_err()
                .reason
                .contains("not UTF-8")
        );
        let array = parse_object(4, lines[2].1.as_ref().unwrap()).unwrap_err();
        assert_eq!(
            array.to_string(),
            "line 4: not a JSON object: found an array"
        );
        assert!(parse_object(1, "{\"a\": 1}").is_ok());
    }

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
