//! Lean source text, pure: Lean's lexical skips (comments, strings, character literals) shared with the guard ([`lex`]), the `sorry` tokens of a file, the declaration around one and how a proof goes in its place ([`source`]), and the goal of one `sorry` as plain data ([`sorry`]). Nothing here names the rest of the crate, IO, async or serialization (`tests/tidy.rs`), so every front end (the editor server, `prover prove --file --at`) and the engine's recheck read and splice text the same way.

pub mod lex;
pub mod sorry;
pub mod source;

pub use sorry::{Position, SorryGoal, Spliced, sorry_goal};
pub use source::{Declaration, Placement};
