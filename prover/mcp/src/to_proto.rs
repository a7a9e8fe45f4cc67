//! The library's results as the tools' JSON answers: a proof laid out for its site (a theorem's whole text, or the declaration with its sorry replaced and the edit in file positions), the stop reason, the acceptance layers and axioms, the search's figures; and a theorem of a file split into header, statement and proof for `prover_check`.

use prover::text::source;
use prover::{CheckResult, Goal, ProveResult, ProveStatus};
use serde_json::{Value, json};

/// The axioms every Mathlib proof may rest on.
const STANDARD_AXIOMS: [&str; 3] = ["propext", "Classical.choice", "Quot.sound"];

/// `prover_prove`'s answer for one result. `checked` is the `prover check` verdict of a
/// theorem's proof; `best` the search's most promising open states.
pub fn prove_answer(
    result: &ProveResult,
    goal: &Goal,
    checked: Option<&CheckResult>,
    best: &[Value],
) -> Value {
    let status = match result.status {
        ProveStatus::Proved => "proved",
        ProveStatus::Failed => "failed",
        ProveStatus::Error => "error",
    };
    let mut value = json!({
        "name": result.name,
        "status": status,
        "statistics": {
            "expansions": result.expansions,
            "lean_calls": result.lean_calls,
            "policy_calls": result.policy_calls,
            "from_cache": result.from_cache,
            "lean_timeouts": result.lean_timeouts,
            "lean_crashes": result.lean_crashes,
            "seconds": result.seconds,
        },
    });
    if let Some(reason) = &result.stop_reason {
        value["stop_reason"] = serde_json::to_value(reason).unwrap_or(Value::Null);
    }
    if let Some(detail) = &result.stop_detail {
        value["stop_detail"] = json!(detail);
    }
    if result.status == ProveStatus::Error {
        // The cause, where an agent looks for it first.
        value["error"] = json!(
            result
                .stop_detail
                .clone()
                .unwrap_or_else(|| "the search failed without saying why".into())
        );
    }
    if let Some(proof) = &result.proof {
        value["script"] = json!(proof);
        match goal {
            Goal::Theorem(theorem) => {
                value["proof"] = json!(format!("{}{proof}", theorem.formal_statement));
            }
            Goal::Sorry(sorry) => {
                value["proof"] = json!(sorry.spliced(proof).text);
                let (range, new_text) = source::placed_edit(
                    &sorry.declaration,
                    sorry.sorry.clone(),
                    sorry.placement,
                    proof,
                );
                value["edit_in_declaration"] =
                    json!({"start": range.start, "end": range.end, "new_text": new_text});
            }
        }
    }
    match (goal, checked) {
        (Goal::Theorem(_), Some(check)) => {
            value["layers"] = serde_json::to_value(check.layers).unwrap_or(Value::Null);
            value["axioms"] = json!(check.axioms);
            value["acceptance"] = json!("prover check");
        }
        (Goal::Sorry(_), _) if result.status == ProveStatus::Proved => {
            // Rechecked in place: the declaration with the proof elaborated with no error and
            // no sorry but the others it kept; `#print axioms` said what it rests on.
            let rests_on = result.rests_on.clone().unwrap_or_default();
            value["acceptance"] = json!("in-place recheck");
            value["layers"] = json!({"elaboration": "passed", "no_sorry": "passed",
                                     "axioms": if rests_on.axioms.is_empty() { "passed" } else { "rests_on" }});
            // `#print axioms` of the edited declaration, beyond the standard three (which an
            // in-place recheck does not list).
            value["axioms"] = json!(rests_on.axioms);
            value["axioms_beyond"] = json!(STANDARD_AXIOMS);
            value["rests_on"] = serde_json::to_value(&rests_on).unwrap_or(Value::Null);
        }
        _ => {}
    }
    if result.status == ProveStatus::Failed && !best.is_empty() {
        value["best_open_goals"] = json!(best);
    }
    value
}

/// `prover_plan`'s answer: the result as `prover_prove` gives it (the proof is the text the
/// final check accepted), and the plan: how the theorem was proved (`outcome`: `direct`, `plan`
/// or `unproved`), the direct search, every skeleton tried with its label, reason and holes
/// (each with its goal and its search: the proof when it closed, else why it stopped), the
/// holes closed in all, the planner's requests, its failure, and the fallback search.
pub fn plan_answer(
    planned: &prover::pipeline::plan::Planned,
    goal: &Goal,
    checked: Option<&CheckResult>,
) -> Value {
    let mut value = prove_answer(&planned.result, goal, checked, &[]);
    let record = &planned.record;
    let holes_closed = record
        .skeletons
        .iter()
        .flat_map(|skeleton| &skeleton.holes)
        .filter(|hole| hole.search.proved)
        .count();
    value["outcome"] = to_json(&record.outcome);
    value["direct"] = to_json(&record.direct);
    value["planner_calls"] = json!(record.planner_calls);
    value["skeletons"] = to_json(&record.skeletons);
    value["holes_closed"] = json!(holes_closed);
    if let Some(error) = &record.planner_error {
        value["planner_error"] = json!(error);
    }
    if let Some(fallback) = &record.fallback {
        value["fallback"] = to_json(fallback);
    }
    value
}

/// Plain data as JSON (it always serializes; a failure would be `null`).
fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Goals as structured data: the case tag, the hypotheses (names and type) and the target,
/// with the text Lean printed.
pub fn goals(goals: &[String]) -> Value {
    let structured: Vec<Value> = goals
        .iter()
        .map(|text| {
            let parsed = prover::job::parse_goals(text);
            let one = parsed.first().cloned().unwrap_or_default();
            json!({
                "case": one.case,
                "hypotheses": one.hypotheses.iter().map(|h| json!({"names": h.names, "type": h.ty})).collect::<Vec<_>>(),
                "target": one.target,
                "text": text,
            })
        })
        .collect();
    json!(structured)
}

/// `prover_goal`'s and `prover_try`'s answer.
pub fn probe_answer(probe: &prover::Probe) -> Value {
    let results: Vec<Value> = probe
        .tried
        .iter()
        .map(|(tactic, tried)| match tried {
            prover::Tried::Proved => json!({"tactic": tactic, "status": "proved", "goals": []}),
            prover::Tried::Goals(after) => {
                json!({"tactic": tactic, "status": "open", "goals": goals(after)})
            }
            prover::Tried::Rejected(message) => {
                json!({"tactic": tactic, "status": "error", "message": message})
            }
            prover::Tried::Failed(cause) => {
                json!({"tactic": tactic, "status": "infrastructure_error", "error": cause})
            }
        })
        .collect();
    let mut value = json!({"goals": goals(&probe.goals), "lean_calls": probe.lean_calls});
    if !probe.tried.is_empty() {
        value["results"] = json!(results);
    }
    value
}

/// `prover_check`'s answer.
pub fn check_answer(check: &CheckResult) -> Value {
    let mut value = serde_json::to_value(check).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("schema_version");
        map.remove("line");
        if check.status == prover::CheckStatus::Error {
            map.insert(
                "error".into(),
                json!(if check.reasons.is_empty() {
                    "the check could not decide".to_owned()
                } else {
                    check.reasons.join("; ")
                }),
            );
        }
    }
    value
}

/// A search's trace as JSON lines (the `traces` record format `prove --trace DIR` writes).
pub fn trace_jsonl(rows: &[::datasets::explore::TraceRow]) -> String {
    let mut text = String::new();
    for row in rows {
        if let Ok(line) = serde_json::to_string(row) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

/// A search's tree as a self-contained HTML page, as `prover tree` draws it.
pub fn tree_html(rows: &[::datasets::explore::TraceRow]) -> String {
    let tree = prover_report::tree::build(rows, &prover_report::TreeOptions::default());
    prover_report::tree::html(&tree)
}

/// An edit of a declaration starting at byte `start` of `source`, as file positions: lines
/// from 1, columns in characters from 0 (as `prover_prove` takes them), the end exclusive.
pub fn file_edit(source: &str, start: usize, edit: &Value) -> Value {
    let (Some(from), Some(to)) = (edit["start"].as_u64(), edit["end"].as_u64()) else {
        return Value::Null;
    };
    let position = |offset: usize| {
        let offset = offset.min(source.len());
        let line = source[..offset].matches('\n').count() + 1;
        json!({"line": line, "column": source::codepoint_column(source, offset)})
    };
    json!({
        "start": position(start + from as usize),
        "end": position(start + to as usize),
        "new_text": edit["new_text"],
    })
}

/// The theorem or lemma named `theorem` in `source`: the text before it, its statement up to
/// its first `:= by` (or `:=`), and its proof (to the next line at column 0 that starts another
/// command, or the end).
pub fn split_theorem(source: &str, theorem: &str) -> Option<(String, String, String)> {
    let mut offset = 0;
    let mut start = None;
    for line in source.split_inclusive('\n') {
        let words: Vec<&str> = line.split_whitespace().collect();
        let named = words
            .iter()
            .position(|w| matches!(*w, "theorem" | "lemma"))
            .and_then(|i| words.get(i + 1))
            .is_some_and(|name| *name == theorem);
        if start.is_none() && named && !line.starts_with(char::is_whitespace) {
            start = Some(offset);
        } else if let Some(s) = start
            && offset > s
            && line.starts_with(|c: char| !c.is_whitespace())
            && !line.starts_with("--")
        {
            let declaration = &source[s..offset];
            return split_declaration(&source[..s], declaration);
        }
        offset += line.len();
    }
    let s = start?;
    split_declaration(&source[..s], &source[s..])
}

fn split_declaration(header: &str, declaration: &str) -> Option<(String, String, String)> {
    let (cut, len) = match declaration.find(":= by") {
        Some(i) => (i, 5),
        None => (declaration.find(":=")?, 2),
    };
    let statement = declaration[..cut + len].to_owned();
    let proof = declaration[cut + len..].trim_end().to_owned();
    Some((header.to_owned(), statement, proof))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_theorem_of_a_file_splits_at_its_first_assignment() {
        let text = "import Mathlib\n\ntheorem a : 1 = 1 := by\n  rfl\n\ntheorem b (p : Prop) (h : p) : p := h\n-- done\n";
        let (header, statement, proof) = split_theorem(text, "a").unwrap();
        assert_eq!(header, "import Mathlib\n\n");
        assert_eq!(statement, "theorem a : 1 = 1 := by");
        assert_eq!(proof, "\n  rfl");
        let (_, statement, proof) = split_theorem(text, "b").unwrap();
        assert_eq!(statement, "theorem b (p : Prop) (h : p) : p :=");
        assert_eq!(proof, " h\n-- done");
        assert!(split_theorem(text, "c").is_none());
    }

    #[test]
    fn an_edit_is_placed_in_file_lines_and_character_columns() {
        let source = "import Mathlib\n\ntheorem t (x : ℕ) : x = x := by sorry\n";
        let start = source.find("theorem").unwrap();
        let sorry = source.find("sorry").unwrap() - start;
        let edit = file_edit(
            source,
            start,
            &json!({"start": sorry, "end": sorry + 5, "new_text": "rfl"}),
        );
        assert_eq!(edit["start"], json!({"line": 3, "column": 32}));
        assert_eq!(edit["end"], json!({"line": 3, "column": 37}));
    }
}
