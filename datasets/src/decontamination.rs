//! Decontamination: which statements restate a benchmark's, by four rules in order: the text (name aside, whitespace runs collapsed), the token normal form ([`crate::normal_form`]), the root goal as a REPL printed it (a row's `goal` field, a cached root, an explored theorem's first state), and near-duplicates of the normal form ([`crate::near_duplicate`]); a [`Level`] says how many apply.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::jsonl::{jsonl_lines, parse_object};
use crate::lean::statement_body;
use crate::near_duplicate::NearIndex;
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
    /// A near-duplicate of a benchmark statement's or root goal's normal form
    /// ([`crate::near_duplicate`]).
    Near,
}

impl Rule {
    /// Every rule, in the order they are tried.
    pub const ALL: [Rule; 4] = [Rule::Text, Rule::NormalForm, Rule::RootGoal, Rule::Near];

    /// The rule's name in counts and the dataset card.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Text => "text",
            Rule::NormalForm => "normal_form",
            Rule::RootGoal => "root_goal",
            Rule::Near => "near",
        }
    }
}

/// How far decontamination goes: each level applies the rules of the one before and more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// The text rule only: the same statement, name and layout aside.
    Exact,
    /// Text, normal form and root goal: the same statement as Lean reads it.
    Normal,
    /// All four rules, near-duplicates included: the conservative choice, and the default.
    #[default]
    Near,
}

impl Level {
    /// Every level, from the least to the most dropped.
    pub const ALL: [Level; 3] = [Level::Exact, Level::Normal, Level::Near];

    /// The level's name on the command line, in the manifest and the card.
    pub fn name(self) -> &'static str {
        match self {
            Level::Exact => "exact",
            Level::Normal => "normal",
            Level::Near => "near",
        }
    }

    /// Whether `rule` applies at this level.
    pub fn applies(self, rule: Rule) -> bool {
        match rule {
            Rule::Text => true,
            Rule::NormalForm | Rule::RootGoal => self >= Level::Normal,
            Rule::Near => self >= Level::Near,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decontamination level that is not one of [`Level::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown decontamination level {0:?}: expected exact, normal or near")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(text: &str) -> Result<Level, UnknownLevel> {
        Level::ALL
            .into_iter()
            .find(|level| level.name() == text)
            .ok_or_else(|| UnknownLevel(text.to_owned()))
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

/// The excluded benchmarks' statements and root goals, by each rule's key, and the level
/// that says which rules apply ([`Level::Near`] unless set).
#[derive(Debug, Clone, Default)]
pub struct ExclusionIndex {
    text: HashMap<String, String>,
    statements: HashMap<String, String>,
    goals: HashMap<String, String>,
    near: NearIndex,
    rows: usize,
    level: Level,
}

impl ExclusionIndex {
    /// An empty index that applies the rules of `level`.
    pub fn new(level: Level) -> ExclusionIndex {
        ExclusionIndex {
            level,
            ..ExclusionIndex::default()
        }
    }

    /// The level the index applies.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Adds a benchmark row: its statement, and its root goal where one is known.
    pub fn add(&mut self, name: &str, statement: &str, goal: Option<&str>) {
        self.rows += 1;
        self.text
            .entry(statement_body(statement))
            .or_insert_with(|| name.to_owned());
        let form = statement_normal_form(statement);
        self.near.add(name, &form);
        self.statements
            .entry(form)
            .or_insert_with(|| name.to_owned());
        if let Some(goal) = goal {
            self.add_goal(name, goal);
        }
    }

    /// Adds a root goal of a benchmark row (from a REPL, or a cache of its answers).
    pub fn add_goal(&mut self, name: &str, goal: &str) {
        if let Some(form) = goal_normal_form(goal) {
            self.near.add(name, &form);
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

    /// The benchmark row `statement` restates, if any, and by the first rule of the index's
    /// level that matched; `goal` is its root goal where a REPL reported one.
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
        if self.level < Level::Normal {
            return None;
        }
        let form = statement_normal_form(statement);
        if let Some(name) = self.statements.get(&form) {
            return found(Rule::NormalForm, name);
        }
        if let Some(name) = self.goals.get(&form) {
            return found(Rule::RootGoal, name);
        }
        if let Some(found) = goal.and_then(|goal| self.find_goal(goal)) {
            return Some(found);
        }
        self.find_near(&form).or_else(|| {
            goal.and_then(goal_normal_form)
                .and_then(|g| self.find_near(&g))
        })
    }

    /// The benchmark row whose statement or root goal is `goal` (a REPL's root goal, or a
    /// state that a synthetic theorem restates), if any: by the root-goal rule, then (at
    /// [`Level::Near`]) as a near-duplicate.
    pub fn find_goal(&self, goal: &str) -> Option<Match> {
        if self.level < Level::Normal {
            return None;
        }
        let form = goal_normal_form(goal)?;
        self.goals
            .get(&form)
            .or_else(|| self.statements.get(&form))
            .map(|name| Match {
                rule: Rule::RootGoal,
                reference: name.clone(),
            })
            .or_else(|| self.find_near(&form))
    }

    /// The benchmark row `form` (a statement's or goal's normal form) is a near-duplicate of,
    /// at [`Level::Near`].
    fn find_near(&self, form: &str) -> Option<Match> {
        if self.level < Level::Near {
            return None;
        }
        self.near.find(form).map(|found| Match {
            rule: Rule::Near,
            reference: found.reference,
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

    /// The rules in order, each named, at the default level (near); then what each level
    /// leaves out.
    #[test]
    fn rules_are_tried_in_order_and_named() {
        let mut index = ExclusionIndex::default();
        assert_eq!(index.level(), Level::Near);
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
            Some(Rule::Near)
        );
        assert_eq!(
            rule("theorem mine (x : ℝ) (h : 0 < x) : 1 < x ^ 2 := by"),
            None,
            "two numerals changed"
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

    /// `exact` applies the text rule only, `normal` the three exact rules, `near` all four; the
    /// names are the command line's.
    #[test]
    fn levels_apply_their_rules() {
        let statement = "theorem bench (x : ℝ) (h : 0 < x) : 0 < x ^ 3 := by";
        let found = |level: Level, candidate: &str| {
            let mut index = ExclusionIndex::new(level);
            index.add("bench", statement, None);
            index.find(candidate, None).map(|m| m.rule)
        };
        let same_text = "theorem mine (x : ℝ) (h : 0 < x) : 0 < x ^ 3 := by";
        let same_form = "theorem mine (y:ℝ) (h₀ : y > 0) : 0 < y^3 := by";
        let near = "theorem mine (y:ℝ) (h₀ : y > 0) : 0 < y^2 := by";
        assert_eq!(found(Level::Exact, same_text), Some(Rule::Text));
        assert_eq!(found(Level::Exact, same_form), None);
        assert_eq!(found(Level::Normal, same_form), Some(Rule::NormalForm));
        assert_eq!(found(Level::Normal, near), None);
        assert_eq!(found(Level::Near, near), Some(Rule::Near));
        for level in Level::ALL {
            assert_eq!(level.name().parse::<Level>(), Ok(level));
        }
        assert_eq!(
            "nearest".parse::<Level>().unwrap_err().to_string(),
            "unknown decontamination level \"nearest\": expected exact, normal or near"
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

    fn index_of(rows: &[(crate::Theorem, Option<String>)], level: Level) -> ExclusionIndex {
        let mut index = ExclusionIndex::new(level);
        for (theorem, goal) in rows {
            index.add(&theorem.name, &theorem.formal_statement, goal.as_deref());
        }
        index
    }

    /// The two miniF2F versions of the reference data (DeepSeek's, for Lean 4.9, with root
    /// goals; yangky11's, for Lean 4.24, reformatted and partly corrected): excluding one from
    /// the other at each level, and each from itself, with the figures printed; no two
    /// problems of one file share a normal form; and the cost of the near rule: the pairs of
    /// distinct problems of one file it merges, the miniF2F valid problems it drops against
    /// the test set, and the same for ProofNet (different problems, all of them).
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
        let mut rows_of = HashMap::new();
        for split in ["test", "valid"] {
            let deepseek = benchmark(&dir.join(format!("{split}.jsonl")));
            let yangky11 = benchmark(&dir.join(format!("yangky11_v4.24.0/{split}.jsonl")));
            assert_eq!(deepseek.len(), 244);
            assert_eq!(yangky11.len(), 244);
            for (label, rows) in [("DeepSeek", &deepseek), ("yangky11", &yangky11)] {
                // A set excludes all of itself, and no two of its problems collide.
                let index = index_of(rows, Level::Near);
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
                let pairs = near_pairs(rows);
                print(format!(
                    "miniF2F {split}, {label}: {} pairs of distinct problems are near-duplicates: {}",
                    pairs.len(),
                    pairs.join(", ")
                ));
                assert!(pairs.len() <= 12, "{label} {split}: near merges {pairs:?}");
            }
            for level in Level::ALL {
                for (label, explored, excluded) in [
                    ("DeepSeek excluding yangky11", &deepseek, &yangky11),
                    ("yangky11 excluding DeepSeek", &yangky11, &deepseek),
                ] {
                    let index = index_of(excluded, level);
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
                        "miniF2F {split}, {label}, --decontamination {level}: {dropped} of {} dropped ({by_rule:?}); kept: {}",
                        explored.len(),
                        kept.join(", ")
                    ));
                    if level == Level::Near && split == "test" {
                        assert!(dropped >= 240, "{label}: {dropped} dropped");
                    }
                }
            }
            rows_of.insert(split, (deepseek, yangky11));
        }
        // Different problems: the valid split against the test split.
        let (test_deepseek, test_yangky11) = &rows_of["test"];
        let (valid_deepseek, _) = &rows_of["valid"];
        let mut both = test_deepseek.clone();
        both.extend(test_yangky11.iter().cloned());
        let dropped = dropped_by_near(valid_deepseek, &both);
        print(format!(
            "miniF2F valid (DeepSeek) excluding both test versions: {} of {} dropped by near: {}",
            dropped.len(),
            valid_deepseek.len(),
            dropped.join(", ")
        ));
        assert!(dropped.len() <= 3, "valid against test: {dropped:?}");
        let proofnet = dir.join("../proofnet");
        if proofnet.join("test.jsonl").exists() {
            let test = benchmark(&proofnet.join("test.jsonl"));
            let valid = benchmark(&proofnet.join("valid.jsonl"));
            let dropped = dropped_by_near(&valid, &test);
            print(format!(
                "ProofNet valid excluding ProofNet test: {} of {} dropped by near: {}",
                dropped.len(),
                valid.len(),
                dropped.join(", ")
            ));
            let pairs = near_pairs(&test);
            print(format!(
                "ProofNet test: {} pairs of distinct problems are near-duplicates",
                pairs.len()
            ));
        } else {
            print(format!(
                "skipped: {test}: ProofNet figures: no proofnet next to minif2f"
            ));
        }
    }

    /// The pairs of distinct rows of one file that the near rule merges (`a~b`).
    fn near_pairs(rows: &[(crate::Theorem, Option<String>)]) -> Vec<String> {
        let index = index_of(rows, Level::Near);
        let mut pairs = Vec::new();
        for (theorem, _) in rows {
            let form = statement_normal_form(&theorem.formal_statement);
            for found in index.near.matches(&form) {
                let (a, b) = (theorem.name.as_str(), found.reference.as_str());
                if a == b {
                    continue;
                }
                let pair = if a < b {
                    format!("{a}~{b}")
                } else {
                    format!("{b}~{a}")
                };
                if !pairs.contains(&pair) {
                    pairs.push(pair);
                }
            }
        }
        pairs.sort();
        pairs
    }

    /// The rows of `explored` the near rule (only) drops against `excluded`, as `row~match`.
    fn dropped_by_near(
        explored: &[(crate::Theorem, Option<String>)],
        excluded: &[(crate::Theorem, Option<String>)],
    ) -> Vec<String> {
        let index = index_of(excluded, Level::Near);
        explored
            .iter()
            .filter_map(|(theorem, _)| {
                index
                    .near
                    .find(&statement_normal_form(&theorem.formal_statement))
                    .map(|found| format!("{}~{}", theorem.name, found.reference))
            })
            .collect()
    }
}
