//! Degenerate-statement flags (`prover datasets audit`): the flags file written next to a
//! dataset, one row per audited problem with its flags and their evidence, and the statement
//! text the audit needs (the binders a signature writes, the hypotheses a goal shows, the
//! statement of a signature's hypotheses refuted).
//!
//! A row holds the problem's statement identity and the audit budget, so a rerun reuses it only
//! for the same statement under the same budget.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::jsonl::RowError;

/// The flags file's schema version.
pub const FLAGS_SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    FLAGS_SCHEMA_VERSION
}

/// What is degenerate about a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The elaborated signature binds more variables than the statement writes (Lean's
    /// `autoImplicit` bound a name the author meant to be bound elsewhere).
    AutoBound,
    /// The hypotheses are refuted: `False` follows from them at the audit's budget.
    Vacuous,
    /// The portfolio proves it at depth 1.
    Trivial,
    /// The statement does not elaborate on the lineage's toolchain.
    DoesNotElaborate,
    /// Another lineage states the same problem differently (by statement hash).
    DiffersFrom,
}

impl FlagKind {
    /// The flag as written in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::AutoBound => "auto_bound",
            FlagKind::Vacuous => "vacuous",
            FlagKind::Trivial => "trivial",
            FlagKind::DoesNotElaborate => "does_not_elaborate",
            FlagKind::DiffersFrom => "differs_from",
        }
    }
}

/// One flag with what shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Flag {
    /// What is degenerate.
    pub flag: FlagKind,
    /// The evidence: the extra binders, the refuting or one-step proof, Lean's first error,
    /// the other lineage and its statement hash.
    pub evidence: String,
}

/// One audited problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// The record's schema version.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// The dataset row's name.
    pub name: String,
    /// The lineage, when the dataset names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
    /// The canonical problem id.
    pub problem_id: String,
    /// The statement's normal-form hash (`lineage::statement_hash`).
    pub statement_hash: String,
    /// The expansions the vacuity search had (a row is reused only for the same budget).
    pub budget_expansions: u32,
    /// The flags, sorted; empty for a statement found sound.
    pub flags: Vec<Flag>,
    /// Whether an infrastructure failure left a check undecided (such a row is audited again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
}

impl AuditRow {
    /// Whether it carries `kind`.
    pub fn has(&self, kind: FlagKind) -> bool {
        self.flags.iter().any(|f| f.flag == kind)
    }
}

/// The flags file of a dataset: `x.jsonl` → `x.flags.jsonl`.
pub fn flags_path_for(dataset: &Path) -> std::path::PathBuf {
    let name = dataset
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".jsonl").unwrap_or(&name);
    dataset.with_file_name(format!("{stem}.flags.jsonl"))
}

/// Reads a flags file: the rows that read, and an error naming the line for each that does not.
pub fn read_flags(text: &str) -> (Vec<AuditRow>, Vec<RowError>) {
    crate::jsonl::read_rows_versioned(text.as_bytes(), FLAGS_SCHEMA_VERSION)
}

/// The flags file's text: one row per line, sorted by name.
pub fn flags_text(rows: &[AuditRow]) -> String {
    let mut rows: Vec<&AuditRow> = rows.iter().collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows.iter()
        .map(|row| serde_json::to_string(row).expect("audit rows serialize") + "\n")
        .collect()
}

/// A theorem-shaped statement cut in three: the text up to and including the declaration's
/// name, the binders, and the conclusion (the type after the top-level `:`, without `:= …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature<'a> {
    /// `/-- doc -/ theorem name`.
    pub head: &'a str,
    /// `(x : ℝ) (h₀ : 0 < x)`.
    pub binders: &'a str,
    /// `x ^ 2 > 0`.
    pub conclusion: &'a str,
}

/// Cuts a `theorem`/`lemma` statement ending in `:=` or `:= by` into its parts; `None` when
/// it has no such shape.
pub fn signature(statement: &str) -> Option<Signature<'_>> {
    let keyword = ["theorem ", "lemma "]
        .iter()
        .filter_map(|k| {
            statement
                .match_indices(k)
                .map(|(i, _)| i)
                .find(|&i| i == 0 || statement.as_bytes()[i - 1].is_ascii_whitespace())
                .map(|i| i + k.len())
        })
        .min()?;
    let rest = &statement[keyword..];
    let name_start = keyword + (rest.len() - rest.trim_start().len());
    let name_len = statement[name_start..]
        .find(|c: char| c.is_whitespace() || "([{⦃:".contains(c))
        .unwrap_or(statement.len() - name_start);
    let name_end = name_start + name_len;
    let mut depth = 0i32;
    let mut colon = None;
    let bytes = statement.as_bytes();
    for (i, c) in statement[name_end..].char_indices() {
        let at = name_end + i;
        match c {
            '(' | '[' | '{' | '⦃' | '⟨' => depth += 1,
            ')' | ']' | '}' | '⦄' | '⟩' => depth -= 1,
            ':' if depth == 0 && bytes.get(at + 1) != Some(&b'=') => {
                colon = Some(at);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let body = &statement[colon + 1..];
    let assign = body.rfind(":=")?;
    Some(Signature {
        head: &statement[..name_end],
        binders: statement[name_end..colon].trim(),
        conclusion: body[..assign].trim(),
    })
}

/// The names a signature's binders write, instance binders without a name aside
/// (`(a b : ℕ) {f : ℕ → ℕ} [Fintype α] (h : …)` → `a b f h`).
pub fn written_binder_names(binders: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut depth = 0i32;
    let mut group_start = None;
    for (i, c) in binders.char_indices() {
        match c {
            '(' | '[' | '{' | '⦃' | '⟨' => {
                if depth == 0 {
                    group_start = Some(i + c.len_utf8());
                }
                depth += 1;
            }
            ')' | ']' | '}' | '⦄' | '⟩' => {
                depth -= 1;
                if depth == 0
                    && let Some(start) = group_start.take()
                {
                    let group = &binders[start..i];
                    if let Some(colon) = top_level_colon(group) {
                        names.extend(group[..colon].split_whitespace().map(str::to_owned));
                    }
                }
            }
            _ => {}
        }
    }
    names
}

fn top_level_colon(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' | '⦃' | '⟨' => depth += 1,
            ')' | ']' | '}' | '⦄' | '⟩' => depth -= 1,
            ':' if depth == 0 && !text[i + 1..].starts_with('=') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The hypotheses a goal shows, as `(name, type)` pairs in order (`x y : ℝ` is two), Lean's
/// inaccessible names (`inst✝`, `a✝¹`) aside: they stand for binders written without a name.
pub fn goal_hypotheses(goal: &str) -> Vec<(String, String)> {
    let mut hypotheses = Vec::new();
    let mut entries: Vec<String> = Vec::new();
    for line in goal.lines() {
        if line.starts_with('⊢') {
            break;
        }
        if line.trim().is_empty() || line.starts_with("case ") {
            continue;
        }
        match entries.last_mut() {
            Some(entry) if line.starts_with(char::is_whitespace) => {
                entry.push(' ');
                entry.push_str(line.trim());
            }
            _ => entries.push(line.trim().to_owned()),
        }
    }
    for entry in entries {
        let Some(colon) = top_level_colon(&entry) else {
            continue;
        };
        let ty = entry[colon + 1..].trim().to_owned();
        for name in entry[..colon].split_whitespace() {
            if !name.contains('✝') {
                hypotheses.push((name.to_owned(), ty.clone()));
            }
        }
    }
    hypotheses
}

/// The hypotheses of `goal` that the signature's binders do not write: what Lean bound
/// automatically (`y : ℝ`), each as `name : type`.
pub fn auto_bound(binders: &str, goal: &str) -> Vec<String> {
    let written = written_binder_names(binders);
    goal_hypotheses(goal)
        .into_iter()
        .filter(|(name, _)| !written.contains(name))
        .map(|(name, ty)| format!("{name} : {ty}"))
        .collect()
}

/// The statement that the signature's hypotheses are contradictory: the same head (renamed
/// `new_name`) and binders, concluding `False`; `None` without binders (nothing to refute).
pub fn vacuity_statement(statement: &str, new_name: &str) -> Option<String> {
    let signature = signature(statement)?;
    if signature.binders.is_empty() {
        return None;
    }
    let name = crate::lean::declaration_name(statement)?;
    let head = signature.head.strip_suffix(name.as_str())?;
    Some(format!(
        "{head}{new_name} {} : False := by",
        signature.binders
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cut_at_the_top_level_colon() {
        let s =
            "/-- doc: x -/\ntheorem t (x : ℝ) {f : ℕ → ℕ} (h₀ : ∀ n, f n = 0) :\n  f 1 = 0 := by";
        let sig = signature(s).unwrap();
        assert_eq!(sig.head, "/-- doc: x -/\ntheorem t");
        assert_eq!(sig.binders, "(x : ℝ) {f : ℕ → ℕ} (h₀ : ∀ n, f n = 0)");
        assert_eq!(sig.conclusion, "f 1 = 0");
        assert_eq!(
            written_binder_names(sig.binders)
                .into_iter()
                .collect::<Vec<_>>(),
            ["f", "h₀", "x"]
        );
        assert!(signature("def x := 1").is_none());
    }

    #[test]
    fn auto_bound_variables_are_the_goals_unwritten_hypotheses() {
        let binders = "(x : ℝ) (h₀ : x = 2) [inst : Fact True] [Fintype α]";
        let goal = "y x : ℝ\nh₀ : x = 2\ninst : Fact True\ninst✝ : Fintype α\n⊢ x * y = 2 * y";
        assert_eq!(auto_bound(binders, goal), ["y : ℝ"]);
        assert!(auto_bound("(x : ℝ)", "x : ℝ\n⊢ x = x").is_empty());
    }

    #[test]
    fn the_vacuity_statement_keeps_the_binders_and_concludes_false() {
        assert_eq!(
            vacuity_statement("theorem t (x : ℕ) (h : x < 0) : x = 5 := by", "t_vacuous").unwrap(),
            "theorem t_vacuous (x : ℕ) (h : x < 0) : False := by"
        );
        assert_eq!(vacuity_statement("theorem t : 1 = 1 := by", "v"), None);
    }

    #[test]
    fn flags_files_round_trip_sorted_and_name_bad_lines() {
        let row = |name: &str| AuditRow {
            schema_version: FLAGS_SCHEMA_VERSION,
            name: name.into(),
            lineage: None,
            problem_id: name.into(),
            statement_hash: "h".into(),
            budget_expansions: 8,
            flags: vec![Flag {
                flag: FlagKind::Vacuous,
                evidence: "omega".into(),
            }],
            incomplete: false,
        };
        let text = flags_text(&[row("b"), row("a")]);
        assert!(
            text.starts_with("{\"schema_version\":1,\"name\":\"a\""),
            "{text}"
        );
        assert!(text.contains("\"flag\":\"vacuous\""), "{text}");
        let (rows, errors) = read_flags(&format!("{text}not json\n"));
        assert_eq!(rows, [row("a"), row("b")]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
        assert_eq!(
            crate::output::sniff_bytes(text.as_bytes()),
            Some(crate::output::FileKind::AuditFlags)
        );
        assert_eq!(
            flags_path_for(Path::new("d/test.jsonl")),
            Path::new("d/test.flags.jsonl")
        );
    }
}
