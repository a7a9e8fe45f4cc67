//! The goal of one `sorry` as plain data: its declaration, which sorry it is in Lean's positions, and how a proof goes in its place; built here for the editor server and `prover prove --file --at` alike, and spliced here when the engine rechecks a proof.

use std::ops::Range;

use super::source::{self, Declaration, Placement};

/// A position as the REPL counts it: lines from 1, columns in codepoints from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// The line, from 1.
    pub line: u32,
    /// The column in codepoints, from 0.
    pub column: u32,
}

/// One `sorry` of a whole declaration, proved in place: the editor's job. The search starts
/// from the proof state Lean reports for that sorry, and a proof is accepted when the
/// declaration with the proof in the sorry's place elaborates on the header with no error and
/// no sorry but the others it already had. What the accepted proof rests on beyond Lean's
/// standard axioms (an earlier sorried lemma, an `axiom` of the file) is read from `#print
/// axioms` and reported with it, never hidden and never a refusal: a declaration may well rest
/// on lemmas the user has not proved yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryGoal {
    /// The declaration's name, for logs and results.
    pub name: String,
    /// The text before the declaration: imports, and the declarations before it.
    pub header: String,
    /// The declaration as it stands in the file, starting at column 0 with its doc comment,
    /// attributes and `set_option … in`/`open … in` prefixes.
    pub declaration: String,
    /// Where the declaration's modifiers (`private`, …) or keyword start in `declaration`.
    pub head: usize,
    /// Where the sorry starts, as the REPL counts positions in `declaration`.
    pub at: Position,
    /// The sorry's bytes in `declaration`.
    pub sorry: Range<usize>,
    /// How a proof replaces it.
    pub placement: Placement,
}

/// A declaration with a proof in its sorry's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spliced {
    /// The edited declaration.
    pub text: String,
    /// Where its other sorries start, as the REPL counts positions in `text`: the only places
    /// Lean may still report a sorry at (once per goal it ran on) for the proof to count.
    pub kept_sorries: Vec<Position>,
}

/// The goal of the declaration's `sorry` in `text`: the search starts from the proof state Lean
/// reports there, and a proof is accepted when the declaration with the proof in its place
/// (laid out as the edit will be) elaborates on the text before it, Lean reporting no sorry but
/// at the declaration's other sorries.
pub fn sorry_goal(text: &str, declaration: &Declaration) -> SorryGoal {
    let declaration_text = text[declaration.start..declaration.end].to_owned();
    let (line, column) = declaration.sorry_position(text);
    let relative = declaration.shifted(-(declaration.start as isize));
    let head = relative.head;
    let name = ::datasets::lean::declaration_name(&declaration_text[head..])
        .unwrap_or_else(|| "example".to_owned());
    SorryGoal {
        name,
        header: text[..declaration.start].to_owned(),
        declaration: declaration_text,
        head,
        at: Position { line, column },
        sorry: relative.sorry,
        placement: relative.placement,
    }
}

impl SorryGoal {
    /// The declaration with `proof` (the search's script: one tactic per line, indented two
    /// spaces) in the sorry's place, laid out as the editor's edit will be, and where its other
    /// sorries stand then.
    pub fn spliced(&self, proof: &str) -> Spliced {
        let text = &self.declaration;
        let (range, replacement) =
            source::placed_edit(text, self.sorry.clone(), self.placement, proof);
        let mut edited = text.to_owned();
        edited.replace_range(range.clone(), &replacement);
        let shift = replacement.len() as isize - range.len() as isize;
        let kept_sorries = source::sorry_tokens(text)
            .into_iter()
            .filter(|s| s.start != self.sorry.start)
            .map(|s| {
                let at = if s.start >= range.end {
                    (s.start as isize + shift) as usize
                } else {
                    s.start
                };
                let line = edited[..at].matches('\n').count() as u32 + 1;
                Position {
                    line,
                    column: source::codepoint_column(&edited, at) as u32,
                }
            })
            .collect();
        Spliced {
            text: edited,
            kept_sorries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_sorries_are_found_where_the_edit_leaves_them() {
        let text = "import Mathlib\n/-- doc -/\ntheorem t : p ∧ q ∧ r := by\n  refine ⟨sorry, ?_, ?_⟩\n  · sorry\n  · 𝓝 sorry\n";
        let sorries = source::sorry_tokens(text);
        let declaration = source::declaration_of(text, sorries[1].clone()).unwrap();
        let goal = sorry_goal(text, &declaration);
        assert_eq!(goal.header, "import Mathlib\n");
        assert_eq!(goal.name, "t");
        assert_eq!(&goal.declaration[goal.head..goal.head + 9], "theorem t");
        assert_eq!(goal.at, Position { line: 4, column: 4 });
        let spliced = goal.spliced("\n  intro y\n  simp");
        assert_eq!(
            spliced.text,
            "/-- doc -/\ntheorem t : p ∧ q ∧ r := by\n  refine ⟨sorry, ?_, ?_⟩\n  · intro y\n    simp\n  · 𝓝 sorry"
        );
        assert_eq!(
            spliced.kept_sorries,
            [
                Position {
                    line: 3,
                    column: 10
                },
                Position { line: 6, column: 6 }
            ]
        );
    }

    #[test]
    fn a_sorry_goal_is_plain_data() {
        // No closure crosses the session: the same text gives equal goals, which compare,
        // print and travel between threads as data.
        fn plain<T: Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static>(_: &T) {}
        let text = "theorem t : p := by\n  constructor <;> sorry\n";
        let declaration = source::declaration_of(text, source::sorry_tokens(text)[0].clone());
        let goal = sorry_goal(text, &declaration.unwrap());
        plain(&goal);
        let again = source::declaration_of(text, source::sorry_tokens(text)[0].clone());
        assert_eq!(goal, sorry_goal(text, &again.unwrap()));
        assert_eq!(goal.placement, Placement::TacticArgument);
        assert_eq!(&goal.declaration[goal.sorry.clone()], "sorry");
    }

    #[test]
    fn the_splice_is_the_editors_edit() {
        // The text a job writes is the text its recheck elaborated: both are `proof_edit`'s.
        let text = "import Mathlib\n\ntheorem t : p ∧ q := by\n  constructor\n  case left => sorry\n  all_goals sorry\n";
        for sorry in source::sorry_tokens(text) {
            let declaration = source::declaration_of(text, sorry).unwrap();
            let goal = sorry_goal(text, &declaration);
            for proof in ["\n  rfl", "\n  intro y\n  simp"] {
                let whole = source::with_proof(text, &declaration, proof);
                assert_eq!(
                    format!("{}{}\n", goal.header, goal.spliced(proof).text),
                    whole
                );
            }
        }
    }
}
