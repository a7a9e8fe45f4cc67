//! The search goal of one `sorry`: its declaration, which sorry it is in Lean's positions, and how a proof goes in its place; shared by the server and `prover prove --file --at`.

use std::sync::Arc;

use prover::engine::{Pos, SorryGoal, Spliced};

use crate::text::{self, Declaration};

/// The goal of the declaration's `sorry` in `text`: the search starts from the proof state Lean
/// reports there, and a proof is accepted when the declaration with the proof in its place
/// (laid out as the edit will be) elaborates on the text before it, Lean reporting no sorry but
/// at the declaration's other sorries.
pub fn sorry_goal(text: &str, declaration: &Declaration) -> SorryGoal {
    let declaration_text = text[declaration.start..declaration.end].to_owned();
    let (line, column) = declaration.sorry_position(text);
    let relative = declaration.shifted(-(declaration.start as isize));
    let head = declaration.head - declaration.start;
    let name = datasets::lean::declaration_name(&declaration_text[head..])
        .unwrap_or_else(|| "example".to_owned());
    let spliced_from = declaration_text.clone();
    SorryGoal {
        name,
        header: text[..declaration.start].to_owned(),
        declaration: declaration_text,
        head,
        at: Pos { line, column },
        splice: Arc::new(move |proof: &str| spliced(&spliced_from, &relative, proof)),
    }
}

/// The declaration `text` (which starts where `declaration` does) with `proof` in its sorry's
/// place, and where its other sorries stand then.
fn spliced(text: &str, declaration: &Declaration, proof: &str) -> Spliced {
    let (range, replacement) = text::proof_edit(text, declaration, proof);
    let mut edited = text.to_owned();
    edited.replace_range(range.clone(), &replacement);
    let shift = replacement.len() as isize - range.len() as isize;
    let kept_sorries = text::sorry_tokens(text)
        .into_iter()
        .filter(|s| s.start != declaration.sorry.start)
        .map(|s| {
            let at = if s.start >= range.end {
                (s.start as isize + shift) as usize
            } else {
                s.start
            };
            let line = edited[..at].matches('\n').count() as u32 + 1;
            Pos {
                line,
                column: text::codepoint_column(&edited, at) as u32,
            }
        })
        .collect();
    Spliced {
        text: edited,
        kept_sorries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_sorries_are_found_where_the_edit_leaves_them() {
        let text = "import Mathlib\n/-- doc -/\ntheorem t : p ∧ q ∧ r := by\n  refine ⟨sorry, ?_, ?_⟩\n  · sorry\n  · 𝓝 sorry\n";
        let sorries = text::sorry_tokens(text);
        let declaration = text::declaration_of(text, sorries[1].clone()).unwrap();
        let goal = sorry_goal(text, &declaration);
        assert_eq!(goal.header, "import Mathlib\n");
        assert_eq!(goal.name, "t");
        assert_eq!(&goal.declaration[goal.head..goal.head + 9], "theorem t");
        assert_eq!(goal.at, Pos { line: 4, column: 4 });
        let spliced = (goal.splice)("\n  intro y\n  simp");
        assert_eq!(
            spliced.text,
            "/-- doc -/\ntheorem t : p ∧ q ∧ r := by\n  refine ⟨sorry, ?_, ?_⟩\n  · intro y\n    simp\n  · 𝓝 sorry"
        );
        assert_eq!(
            spliced.kept_sorries,
            [
                Pos {
                    line: 3,
                    column: 10
                },
                Pos { line: 6, column: 6 }
            ]
        );
    }
}
