//! Benchmark datasets: the `datasets` crate's rows, reader and fetch, under the paths the rest of the library used before the formats moved there.

pub use ::datasets::lean::statement_ending_in_by;
pub use ::datasets::{fetch, jsonl_lines, lineage, parse_object, parse_theorem};

#[cfg(test)]
#[path = "../../../tests/src/test_data.rs"]
mod test_data;

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
