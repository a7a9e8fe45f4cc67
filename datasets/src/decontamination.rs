//! Decontamination: which statements restate a benchmark's, by three rules in order: the text (name aside, whitespace runs collapsed), the token normal form ([`crate::normal_form`]), and the root goal as a REPL printed it (a row's `goal` field, a cached root, an explored theorem's first state).

use std::collections::HashMap;

use crate::jsonl::{jsonl_lines, parse_object};
use crate::lean::statement_body;
use crate::normal_form::{goal_normal_form, statement_normal_form};

/// The rule that found a statement to be a benchmark's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The same text, the name aside and whitespace runs collapsed.
    Text,
    /// The same token normal form.
    NormalForm,
    /// The same root goal (or a statement the same as a benchmark's root goal).
    RootGoal,
}

impl Rule {
    /// Every rule, in the order they are tried.
    pub const ALL: [Rule; 3] = [Rule::Text, Rule::NormalForm, Rule::RootGoal];

    /// The rule's name in counts and the dataset card.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Text => "text",
            Rule::NormalForm => "normal_form",
            Rule::RootGoal => "root_goal",
        }
    }
}

/// What a statement matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The rule that matched.
    pub rule: Rule,
    /// The benchmark row's name.
    pub reference: String,
}

/// The excluded benchmarks' statements and root goals, by each rule's key.
#[derive(Debug, Clone, Default)]
pub struct ExclusionIndex {
    text: HashMap<String, String>,
    statements: HashMap<String, String>,
    goals: HashMap<String, String>,
    rows: usize,
}

impl ExclusionIndex {
    /// Adds a benchmark row: its statement, and its root goal where one is known.
    pub fn add(&mut self, name: &str, statement: &str, goal: Option<&str>) {
        self.rows += 1;
        self.text
            .entry(statement_body(statement))
            .or_insert_with(|| name.to_owned());
        self.statements
            .entry(statement_normal_form(statement))
            .or_insert_with(|| name.to_owned());
        if let Some(goal) = goal {
            self.add_goal(name, goal);
        }
    }

    /// Adds a root goal of a benchmark row (from a REPL, or a cache of its answers).
    pub fn add_goal(&mut self, name: &str, goal: &str) {
        if let Some(form) = goal_normal_form(goal) {
            self.goals.entry(form).or_insert_with(|| name.to_owned());
        }
    }

    /// The number of rows added.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The benchmark row `statement` restates, if any, and by which rule; `goal` is its root
    /// goal where a REPL reported one.
    pub fn find(&self, statement: &str, goal: Option<&str>) -> Option<Match> {
        let found = |rule, name: &String| {
            Some(Match {
                rule,
                reference: name.clone(),
            })
        };
        if let Some(name) = self.text.get(&statement_body(statement)) {
            return found(Rule::Text, name);
        }
        let form = statement_normal_form(statement);
        if let Some(name) = self.statements.get(&form) {
            return found(Rule::NormalForm, name);
        }
        if let Some(name) = self.goals.get(&form) {
            return found(Rule::RootGoal, name);
        }
        goal.and_then(|goal| self.find_goal(goal))
    }

    /// The benchmark row whose statement or root goal is `goal` (a REPL's root goal, or a
    /// state that a synthetic theorem restates), if any.
    pub fn find_goal(&self, goal: &str) -> Option<Match> {
        let form = goal_normal_form(goal)?;
        self.goals
            .get(&form)
            .or_else(|| self.statements.get(&form))
            .map(|name| Match {
                rule: Rule::RootGoal,
                reference: name.clone(),
            })
    }
}

/// The `goal` field (the root goal as a REPL printed it, as in DeepSeek's miniF2F) of each row
/// of a benchmark file that has one, by the row's name (`id` where present, as
/// [`crate::parse_theorem`] names rows). Rows without one, or that do not read, are skipped:
/// the benchmark's reader reports those.
pub fn root_goals(bytes: &[u8]) -> HashMap<String, String> {
    let mut goals = HashMap::new();
    for (line, text) in jsonl_lines(bytes) {
        let Ok(text) = text else { continue };
        let Ok(row) = parse_object(line, text) else {
            continue;
        };
        let name = row
            .get("id")
            .or_else(|| row.get("name"))
            .and_then(|v| v.as_str());
        if let (Some(name), Some(goal)) = (name, row.get("goal").and_then(|v| v.as_str())) {
            goals.insert(name.to_owned(), goal.to_owned());
        }
    }
    goals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_tried_in_order_and_named() {
        let mut index = ExclusionIndex::default();
        index.add(
            "bench_a",
            "theorem bench_a (x : ℝ) (h : 0 < x) : 0 < x ^ 3 := by",
            Some("x : ℝ\nh : 0 < x\n⊢ 0 < x ^ 3"),
        );
        index.add(
            "bench_b",
            "theorem bench_b (n : ℕ) : (List.sum (Nat.digits 10 n)) = 13 := by",
            Some("n : ℕ\n⊢ (Nat.digits 10 n).sum = 13"),
        );
        let rule = |statement: &str| index.find(statement, None).map(|m| m.rule);
        assert_eq!(
            rule("theorem mine  (x : ℝ) (h : 0 < x) :\n 0 < x ^ 3 := by sorry"),
            Some(Rule::Text)
        );
        assert_eq!(
            rule("theorem mine (y:ℝ) (h₀ : y > 0) : 0 < y^3 := by"),
            Some(Rule::NormalForm)
        );
        assert_eq!(
            rule("theorem mine (m : ℕ) : (Nat.digits 10 m).sum = 13 := by"),
            Some(Rule::RootGoal)
        );
        assert_eq!(
            rule("theorem mine (x : ℝ) (h : 0 < x) : 0 < x ^ 2 := by"),
            None
        );
        let by_goal = index.find(
            "theorem mine (m : ℕ) : List.sum (m.digits 10) = 13 := by",
            Some("m : ℕ\n⊢ (Nat.digits 10 m).sum = 13"),
        );
        assert_eq!(
            by_goal,
            Some(Match {
                rule: Rule::RootGoal,
                reference: "bench_b".into()
            })
        );
        assert_eq!(
            index
                .find_goal("y : ℝ\nh : 0 < y\n⊢ 0 < y ^ 3")
                .map(|m| m.reference),
            Some("bench_a".into())
        );
    }

    #[test]
    fn goals_are_read_by_row_name() {
        let bytes =
            b"{\"name\": \"a\", \"goal\": \"\xe2\x8a\xa2 True\"}\n{\"name\": \"b\"}\nnot json\n";
        let goals = root_goals(bytes);
        assert_eq!(goals.len(), 1);
        assert_eq!(goals["a"], "⊢ True");
    }

    /// Every row of a benchmark file with its root goal, where it has one.
    fn benchmark(path: &std::path::Path) -> Vec<(crate::Theorem, Option<String>)> {
        let bytes = std::fs::read(path).unwrap();
        let goals = root_goals(&bytes);
        jsonl_lines(&bytes)
            .map(|(line, text)| {
                let theorem = crate::parse_theorem(line, text.unwrap()).unwrap();
                let goal = goals.get(&theorem.name).cloned();
                (theorem, goal)
            })
            .collect()
    }

    fn index_of(rows: &[(crate::Theorem, Option<String>)]) -> ExclusionIndex {
        let mut index = ExclusionIndex::default();
        for (theorem, goal) in rows {
            index.add(&theorem.name, &theorem.formal_statement, goal.as_deref());
        }
        index
    }

    /// The two miniF2F versions of the reference data (DeepSeek's, for Lean 4.9, with root
    /// goals; yangky11's, for Lean 4.24, reformatted and partly corrected): excluding one from
    /// the other, and each from itself, with the figures printed; and no two problems of one
    /// file share a normal form (a false merge).
    #[test]
    fn the_two_minif2f_versions_exclude_each_other() {
        let test = "decontamination::the_two_minif2f_versions_exclude_each_other";
        let Some(dir) = crate::test_data::find_or_skip("datasets/minif2f", test) else {
            return;
        };
        let print = |line: String| {
            use std::io::Write;
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        };
        for split in ["test", "valid"] {
            let deepseek = benchmark(&dir.join(format!("{split}.jsonl")));
            let yangky11 = benchmark(&dir.join(format!("yangky11_v4.24.0/{split}.jsonl")));
            assert_eq!(deepseek.len(), 244);
            assert_eq!(yangky11.len(), 244);
            for (label, rows) in [("DeepSeek", &deepseek), ("yangky11", &yangky11)] {
                // A set excludes all of itself, and no two of its problems collide.
                let index = index_of(rows);
                assert!(rows.iter().all(|(t, g)| {
                    index
                        .find(&t.formal_statement, g.as_deref())
                        .map(|m| m.reference)
                        == Some(t.name.clone())
                }));
                let mut forms: HashMap<String, Vec<&str>> = HashMap::new();
                for (theorem, _) in rows {
                    forms
                        .entry(statement_normal_form(&theorem.formal_statement))
                        .or_default()
                        .push(&theorem.name);
                }
                let merged: Vec<&Vec<&str>> = forms.values().filter(|n| n.len() > 1).collect();
                assert!(
                    merged.is_empty(),
                    "{label} {split}: false merges {merged:?}"
                );
                print(format!(
                    "miniF2F {split}, {label} excluding itself: {} of {} dropped; {} distinct normal forms",
                    rows.len(),
                    rows.len(),
                    forms.len()
                ));
            }
            for (label, explored, excluded) in [
                ("DeepSeek excluding yangky11", &deepseek, &yangky11),
                ("yangky11 excluding DeepSeek", &yangky11, &deepseek),
            ] {
                let index = index_of(excluded);
                let mut by_rule: std::collections::BTreeMap<&str, usize> = Default::default();
                let mut kept = Vec::new();
                for (theorem, goal) in explored {
                    match index.find(&theorem.formal_statement, goal.as_deref()) {
                        Some(found) => {
                            // The same problem, never another one.
                            assert_eq!(
                                found.reference.to_lowercase(),
                                theorem.name.to_lowercase(),
                                "{label}: {} matched {}",
                                theorem.name,
                                found.reference
                            );
                            *by_rule.entry(found.rule.name()).or_default() += 1;
                        }
                        None => kept.push(theorem.name.as_str()),
                    }
                }
                let dropped = explored.len() - kept.len();
                print(format!(
                    "miniF2F {split}, {label}: {dropped} of {} dropped ({by_rule:?}); kept: {}",
                    explored.len(),
                    kept.join(", ")
                ));
            }
        }
    }
}
