//! A planner's answer as Lean text: the fenced ```lean block, the statement compared with the theorem's (whitespace runs aside), the `sorry` holes with their placements, and the proofs of the holes spliced back in their places.

use std::ops::Range;

use crate::guard::TacticGuard;
use crate::text::{self, Placement, SorryGoal};

/// A skeleton whose statement is the theorem's: the whole declaration, and where its proof
/// (the text after `:= by`) starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    /// The declaration as the planner wrote it, from its keyword (or doc comment) on.
    pub declaration: String,
    /// The byte just after the `by` that opens the proof.
    pub proof_start: usize,
}

/// Why a planner's answer is not a usable skeleton: the reason a record gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No fenced ```lean block in the answer.
    #[error("the answer holds no ```lean block")]
    NoLeanBlock,
    /// The block's statement is not the theorem's.
    #[error("the statement was changed (the block starts `{0}`)")]
    StatementChanged(String),
    /// The statement is the theorem's but the proof is not a `by` block.
    #[error("the proof is not a `by` block")]
    NotATacticProof,
    /// The screening guard refused the proof text (its `sorry`s aside).
    #[error("refused by the screening guard: {0}")]
    Screening(String),
    /// Lean refused the skeleton with an error.
    #[error("does not elaborate: {0}")]
    Elaboration(String),
    /// Its one hole is the theorem's own goal.
    #[error("no progress: its only hole is the theorem's goal")]
    NoProgress,
}

/// The first fenced ```lean (or ```lean4) block of `answer`, without its fences; or the whole
/// answer when it has no fence and starts as Lean text does (`import`, a doc comment, an
/// attribute, `theorem`, `lemma`): the model client unwraps a chat reply that is one fence.
pub fn lean_block(answer: &str) -> Option<&str> {
    if !answer.contains("```") {
        let start = answer.trim_start();
        let lean = ["import ", "/--", "@[", "theorem ", "lemma "]
            .iter()
            .any(|opening| start.starts_with(opening));
        return lean.then_some(answer);
    }
    let mut rest = answer;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let line_end = after.find('\n')?;
        let info = after[..line_end].trim();
        let body = &after[line_end + 1..];
        let close = body.find("```").unwrap_or(body.len());
        if info == "lean" || info == "lean4" {
            return Some(&body[..close]);
        }
        rest = body.get(close + 3..)?;
    }
    None
}

/// Reads `answer` as a skeleton of `statement` (ending in `:= by`): its ```lean block, any
/// leading `import` lines and blank lines dropped, must start with the statement, equal byte
/// for byte after whitespace runs are collapsed, followed by `:= by`.
pub fn parse(answer: &str, statement: &str) -> Result<Skeleton, Refusal> {
    let block = lean_block(answer).ok_or(Refusal::NoLeanBlock)?;
    let mut start = 0;
    for line in block.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("import ") {
            start += line.len();
        } else {
            break;
        }
    }
    let declaration = block[start..].trim_end().to_owned();
    let wanted = ::datasets::lean::normalized_statement(statement);
    let assign = declaration
        .match_indices(":=")
        .map(|(at, _)| at)
        .find(|&at| ::datasets::lean::normalized_statement(&declaration[..at]) == wanted)
        .ok_or_else(|| {
            let first = declaration.lines().next().unwrap_or_default();
            Refusal::StatementChanged(first.chars().take(120).collect())
        })?;
    let after = &declaration[assign + 2..];
    let by = after.trim_start();
    let is_by = by.strip_prefix("by").is_some_and(|rest| {
        rest.chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || c == '\n')
    });
    if !is_by {
        return Err(Refusal::NotATacticProof);
    }
    let proof_start = assign + 2 + (after.len() - by.len()) + 2;
    Ok(Skeleton {
        declaration,
        proof_start,
    })
}

impl Skeleton {
    /// The proof: the text after `:= by`.
    pub fn proof(&self) -> &str {
        &self.declaration[self.proof_start..]
    }

    /// The screening guard on the proof, each `sorry` (a hole, not a proof) blanked.
    pub fn screen(&self, guard: &TacticGuard) -> Result<(), Refusal> {
        let mut blanked = self.proof().to_owned();
        for sorry in text::source::sorry_tokens(self.proof()) {
            blanked.replace_range(sorry, "     ");
        }
        guard
            .check_proof(&blanked)
            .map_err(|rejection| Refusal::Screening(rejection.to_string()))
    }

    /// This skeleton with the proof's lines `first..=last` (1-based lines of the declaration,
    /// as Lean's positions count them) left out: a line Lean refused, masked once. `None` when
    /// they are not all lines of the proof, or nothing of the proof would be left.
    pub fn masked(&self, first: u32, last: u32) -> Option<Skeleton> {
        let proof_line = self.declaration[..self.proof_start].matches('\n').count() as u32 + 1;
        if first <= proof_line || last < first {
            return None;
        }
        let mut kept = String::new();
        for (index, line) in self.declaration.split_inclusive('\n').enumerate() {
            let number = index as u32 + 1;
            if !(first..=last).contains(&number) {
                kept.push_str(line);
            }
        }
        let masked = Skeleton {
            declaration: kept.trim_end().to_owned(),
            proof_start: self.proof_start,
        };
        (!masked.proof().trim().is_empty()).then_some(masked)
    }

    /// Every `sorry` of the proof as a [`SorryGoal`] on `header`, in text order.
    pub fn sorry_goals(&self, name: &str, header: &str) -> Vec<SorryGoal> {
        text::source::sorry_tokens(&self.declaration)
            .into_iter()
            .filter(|sorry| sorry.start >= self.proof_start)
            .filter_map(|sorry| text::source::declaration_of(&self.declaration, sorry))
            .map(|declaration| {
                let mut goal = text::sorry_goal(&self.declaration, &declaration);
                goal.header = header.to_owned();
                goal.name = format!("{name}/hole@{}:{}", goal.at.line, goal.at.column);
                goal
            })
            .collect()
    }

    /// The declaration with each hole's proof in its sorry's place, laid out as the editor
    /// places a proof: `proofs` pairs a hole's sorry bytes and placement with its script.
    /// Edits go from the last sorry to the first, so each range is still where it was.
    pub fn assembled(&self, proofs: &[(Range<usize>, Placement, String)]) -> String {
        let mut ordered: Vec<&(Range<usize>, Placement, String)> = proofs.iter().collect();
        ordered.sort_by_key(|(sorry, _, _)| std::cmp::Reverse(sorry.start));
        let mut text = self.declaration.clone();
        for (sorry, placement, proof) in ordered {
            let (range, replacement) =
                text::source::placed_edit(&text, sorry.clone(), *placement, proof);
            text.replace_range(range, &replacement);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATEMENT: &str = "theorem t (n : ℕ) :\n    n + 0 = n := by";

    #[test]
    fn the_block_is_found_and_the_statement_compared_up_to_whitespace() {
        let answer = "Here is a plan.\n```text\nnot this\n```\n```lean\nimport Mathlib\n\ntheorem t (n : ℕ) : n + 0 = n := by\n  have h : n = n := by sorry\n  exact h ▸ rfl\n```\nDone.";
        let skeleton = parse(answer, STATEMENT).unwrap();
        assert!(skeleton.declaration.starts_with("theorem t (n : ℕ)"));
        assert_eq!(
            skeleton.proof(),
            "\n  have h : n = n := by sorry\n  exact h ▸ rfl"
        );
    }

    #[test]
    fn a_changed_statement_or_a_term_proof_or_no_block_is_refused() {
        let changed = "```lean\ntheorem t (n : ℕ) : n + 1 = n + 1 := by\n  sorry\n```";
        assert!(matches!(
            parse(changed, STATEMENT),
            Err(Refusal::StatementChanged(first)) if first.contains("n + 1")
        ));
        let term = "```lean\ntheorem t (n : ℕ) : n + 0 = n := sorry\n```";
        assert_eq!(parse(term, STATEMENT), Err(Refusal::NotATacticProof));
        assert_eq!(
            parse("I would use `simp` here.", STATEMENT),
            Err(Refusal::NoLeanBlock)
        );
        assert_eq!(
            parse(
                "```text\ntheorem t (n : ℕ) : n + 0 = n := by simp\n```",
                STATEMENT
            ),
            Err(Refusal::NoLeanBlock)
        );
        // A reply that was one fence arrives unwrapped from the chat client.
        let unwrapped = parse("theorem t (n : ℕ) : n + 0 = n := by simp", STATEMENT).unwrap();
        assert_eq!(unwrapped.proof(), " simp");
        // A statement that only extends the theorem's is a change too.
        let longer = "```lean\ntheorem t (n : ℕ) : n + 0 = n ∧ True := by\n  sorry\n```";
        assert!(matches!(
            parse(longer, STATEMENT),
            Err(Refusal::StatementChanged(_))
        ));
    }

    #[test]
    fn holes_are_the_proofs_sorries_and_proofs_go_back_in_their_places() {
        let answer = "```lean\ntheorem t (n : ℕ) : n + 0 = n := by\n  have h₁ : n = n := by sorry\n  have h₂ : n + 0 = n := by\n    sorry\n  exact h₂\n```";
        let skeleton = parse(answer, STATEMENT).unwrap();
        assert_eq!(skeleton.screen(&TacticGuard::new()), Ok(()));
        let goals = skeleton.sorry_goals("t", "import Mathlib\n");
        assert_eq!(goals.len(), 2);
        assert_eq!(
            goals[0].at,
            text::Position {
                line: 2,
                column: 24
            }
        );
        assert_eq!(goals[1].at, text::Position { line: 4, column: 4 });
        assert_eq!(goals[0].header, "import Mathlib\n");
        let proofs: Vec<_> = goals
            .iter()
            .zip(["\n  rfl", "\n  simp\n  done"])
            .map(|(goal, proof)| (goal.sorry.clone(), goal.placement, proof.to_owned()))
            .collect();
        let whole = skeleton.assembled(&proofs);
        assert!(!whole.contains("sorry"), "{whole}");
        // Each splice is the one the engine's recheck of that hole elaborated.
        let first = goals[0].spliced("\n  rfl").text;
        assert!(
            whole.starts_with(&first[..first.find("have h₂").unwrap()]),
            "{whole}\n{first}"
        );
        assert!(whole.contains("    simp\n    done\n  exact h₂"), "{whole}");
    }

    #[test]
    fn a_refused_line_of_the_proof_is_masked_but_never_the_statement() {
        let answer = "```lean\ntheorem t (n : ℕ) : n + 0 = n := by\n  have h₀ : junk := by sorry\n  have h : n = n := by\n    sorry\n  exact h ▸ rfl\n```";
        let skeleton = parse(answer, STATEMENT).unwrap();
        let masked = skeleton.masked(2, 2).unwrap();
        assert_eq!(
            masked.proof(),
            "\n  have h : n = n := by\n    sorry\n  exact h ▸ rfl"
        );
        assert_eq!(
            skeleton.masked(3, 4).unwrap().proof(),
            "\n  have h₀ : junk := by sorry\n  exact h ▸ rfl"
        );
        assert_eq!(skeleton.masked(1, 2), None, "the statement's line");
        assert_eq!(skeleton.masked(2, 5), None, "nothing would be left");
    }

    #[test]
    fn the_guard_screens_the_skeleton_but_not_its_holes() {
        let answer = "```lean\ntheorem t (n : ℕ) : n + 0 = n := by\n  have h : n = n := by sorry\n  native_decide\n```";
        let skeleton = parse(answer, STATEMENT).unwrap();
        assert!(matches!(
            skeleton.screen(&TacticGuard::new()),
            Err(Refusal::Screening(_))
        ));
    }

    #[test]
    fn obtain_lines_are_holes_like_haves() {
        let answer = "```lean\ntheorem t (n : ℕ) : n + 0 = n := by\n  obtain ⟨k, hk⟩ : ∃ k, n = k := by sorry\n  have h : k + 0 = k := by\n    sorry\n  exact hk ▸ h\n```";
        let skeleton = parse(answer, STATEMENT).unwrap();
        assert_eq!(skeleton.screen(&TacticGuard::new()), Ok(()));
        let goals = skeleton.sorry_goals("t", "");
        let at: Vec<_> = goals.iter().map(|goal| goal.at).collect();
        assert_eq!(
            at,
            [
                text::Position {
                    line: 2,
                    column: 36
                },
                text::Position { line: 4, column: 4 }
            ]
        );
        let proofs: Vec<_> = goals
            .iter()
            .zip(["\n  exact ⟨n, rfl⟩", "\n  simp"])
            .map(|(goal, proof)| (goal.sorry.clone(), goal.placement, proof.to_owned()))
            .collect();
        let whole = skeleton.assembled(&proofs);
        // Placed as the editor places a proof at a `have`'s sorry on its `by` line.
        assert!(
            whole.ends_with(
                "  obtain ⟨k, hk⟩ : ∃ k, n = k := by exact ⟨n, rfl⟩\n  have h : k + 0 = k := by\n    simp\n  exact hk ▸ h"
            ),
            "{whole}"
        );
        let first = goals[0].spliced("\n  exact ⟨n, rfl⟩").text;
        assert!(whole.starts_with(&first[..first.find("have h").unwrap()]));
    }
}
