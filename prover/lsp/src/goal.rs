//! The search goal of one `sorry`: its declaration, which sorry it is in Lean's positions, and how a proof goes in its place; shared by the server and `prover prove --file --at`.

use std::sync::Arc;

use prover::engine::{Pos, SorryGoal};

use crate::text::{self, Declaration};

/// The goal of the declaration's `sorry` in `text`: the search starts from the proof state Lean
/// reports there, and a proof is accepted when the declaration with the proof in its place
/// (laid out as the edit will be) elaborates on the text before it.
pub fn sorry_goal(text: &str, declaration: &Declaration) -> SorryGoal {
    let declaration_text = text[declaration.start..declaration.end].to_owned();
    let (line, column) = declaration.sorry_position(text);
    let relative = declaration.shifted(-(declaration.start as isize));
    let other_sorries = text::sorry_tokens(&declaration_text)
        .len()
        .saturating_sub(1);
    let name =
        datasets::lean::declaration_name(&declaration_text).unwrap_or_else(|| "example".to_owned());
    let spliced_from = declaration_text.clone();
    SorryGoal {
        name,
        header: text[..declaration.start].to_owned(),
        declaration: declaration_text,
        at: Pos { line, column },
        other_sorries,
        splice: Arc::new(move |proof: &str| text::with_proof(&spliced_from, &relative, proof)),
    }
}
