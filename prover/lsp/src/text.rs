//! Lean source text for the editor server: positions in three units (bytes, UTF-16 code units, codepoints), the `sorry` tokens of a file (comments and strings skipped, identifier boundaries kept), and the declaration around one.

use std::ops::Range;

/// How LSP positions count columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-16 code units: the LSP default.
    Utf16,
    /// Bytes, when the client offers `utf-8`.
    Utf8,
}

/// The byte offset of a (line, column) position, or `None` past the end of the text. A column
/// past the end of its line means the line's end, as LSP says.
pub fn offset_of(text: &str, line: u32, column: u32, encoding: Encoding) -> Option<usize> {
    let mut start = 0;
    for _ in 0..line {
        start += text[start..].find('\n')? + 1;
    }
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut units = 0u32;
    for (i, c) in text[start..end].char_indices() {
        if units >= column {
            return Some(start + i);
        }
        units += match encoding {
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf8 => c.len_utf8() as u32,
        };
    }
    Some(end)
}

/// The (line, column) of a byte offset.
pub fn position_of(text: &str, offset: usize, encoding: Encoding) -> (u32, u32) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = match encoding {
        Encoding::Utf16 => before[line_start..]
            .chars()
            .map(|c| c.len_utf16() as u32)
            .sum(),
        Encoding::Utf8 => (offset - line_start) as u32,
    };
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The codepoint column of a byte offset: what Lean compares tactic columns in.
pub fn codepoint_column(text: &str, offset: usize) -> usize {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..offset].chars().count()
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '\'' | '!' | '?' | '.') || ('₀'..='₉').contains(&c)
}

/// The byte ranges of every `sorry` token of `text`: not in a `--` or (nested) `/- -/`
/// comment, not in a string or character literal, and not part of a longer name
/// (`sorry_lemma`, `my.sorry`).
pub fn sorry_tokens(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("--") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/-") {
            let mut depth = 0usize;
            let mut j = i;
            while j < bytes.len() {
                if text[j..].starts_with("/-") {
                    depth += 1;
                    j += 2;
                } else if text[j..].starts_with("-/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += text[j..].chars().next().map_or(1, char::len_utf8);
                }
            }
            i = j;
        } else if rest.starts_with('"') {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            i = (j + 1).min(bytes.len());
            while !text.is_char_boundary(i) {
                i += 1;
            }
        } else if rest.starts_with("sorry")
            && !text[..i].chars().next_back().is_some_and(is_ident_char)
            && !text[i + 5..].chars().next().is_some_and(is_ident_char)
        {
            found.push(i..i + 5);
            i += 5;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    found
}

/// How the `sorry` sits in its declaration, which decides how a proof replaces it (the
/// editor-server design's §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Right after `by` on the same line (`:= by sorry`, `have h : p := by sorry`): a one-line
    /// script replaces the `sorry`; a longer one starts after `by`, one tactic per line at the
    /// line's indentation plus two.
    AfterBy {
        /// Where the `by` ends.
        by_end: usize,
    },
    /// First on its tactic line, or after a `·`: the first tactic replaces the `sorry`, the
    /// others follow at the `sorry`'s column.
    TacticLine,
    /// A term after `:=` that is the whole value (`:= sorry`, or `:=` then `sorry` alone on
    /// the next line): `by` and the script go in its place, laid out as after `by`.
    AfterAssign {
        /// Where the `:=` ends.
        assign_end: usize,
    },
    /// Inside an expression (`⟨sorry, h⟩`): `(by tac₁; tac₂)`.
    Term,
}

/// A `sorry` inside a top-level `theorem`, `lemma` or `example`, and how a proof replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// Where the declaration starts (its first keyword, at column 0).
    pub start: usize,
    /// Where it ends (the next line at column 0, or the end of the text).
    pub end: usize,
    /// The `sorry`.
    pub sorry: Range<usize>,
    /// Which of the declaration's sorries it is, from 0.
    pub ordinal: usize,
    /// How a proof replaces it.
    pub placement: Placement,
}

impl Declaration {
    /// The same declaration `delta` bytes further on (after an edit before it).
    pub fn shifted(&self, delta: isize) -> Declaration {
        let at = |offset: usize| (offset as isize + delta) as usize;
        Declaration {
            start: at(self.start),
            end: at(self.end),
            sorry: at(self.sorry.start)..at(self.sorry.end),
            ordinal: self.ordinal,
            placement: match self.placement {
                Placement::AfterBy { by_end } => Placement::AfterBy { by_end: at(by_end) },
                Placement::AfterAssign { assign_end } => Placement::AfterAssign {
                    assign_end: at(assign_end),
                },
                other => other,
            },
        }
    }

    /// The REPL's position of the `sorry` in the declaration's own text: line from 1,
    /// column in codepoints (the declaration starts at column 0).
    pub fn sorry_position(&self, text: &str) -> (u32, u32) {
        let before = &text[self.start..self.sorry.start];
        let line = before.matches('\n').count() as u32 + 1;
        (line, codepoint_column(text, self.sorry.start) as u32)
    }
}

const DECLARATION_KEYWORDS: [&str; 3] = ["theorem", "lemma", "example"];
const MODIFIERS: [&str; 4] = ["private", "protected", "noncomputable", "nonrec"];

/// Whether `line` starts a theorem-like declaration: a keyword, maybe after modifiers.
fn starts_declaration(line: &str) -> bool {
    let mut words = line.split([' ', '\t']).filter(|w| !w.is_empty());
    loop {
        match words.next() {
            Some(w) if MODIFIERS.contains(&w) => continue,
            Some(w) => {
                return DECLARATION_KEYWORDS.iter().any(|k| {
                    w == *k || (w.starts_with(k) && !w[k.len()..].starts_with(is_ident_char))
                });
            }
            None => return false,
        }
    }
}

fn ends_with_token(text: &str, token: &str) -> bool {
    text.strip_suffix(token)
        .is_some_and(|before| !before.chars().next_back().is_some_and(is_ident_char))
}

/// The declaration around the `sorry` at `sorry`, when it lies in a top-level `theorem`,
/// `lemma` or `example`.
pub fn declaration_of(text: &str, sorry: Range<usize>) -> Option<Declaration> {
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    // The declaration starts at the last line before the sorry that begins with a keyword at
    // column 0; any other line at column 0 on the way is another command.
    let mut start = line_start(sorry.start);
    loop {
        let line = &text[start..];
        if starts_declaration(line) {
            break;
        }
        if start == 0 || !line.starts_with([' ', '\t', '\n']) {
            return None;
        }
        start = line_start(start - 1);
    }
    let end = declaration_end(text, sorry.end);
    let ordinal = sorry_tokens(&text[start..end])
        .iter()
        .position(|s| s.start + start == sorry.start)?;
    let sorry_line = line_start(sorry.start);
    let on_line_before = text[sorry_line..sorry.start].trim_end();
    let placement = if ends_with_token(on_line_before, "by") {
        Placement::AfterBy {
            by_end: sorry_line + on_line_before.len(),
        }
    } else if ends_with_token(on_line_before, ":=") {
        Placement::AfterAssign {
            assign_end: sorry_line + on_line_before.len(),
        }
    } else if on_line_before.trim_start().is_empty() || on_line_before.trim_start() == "·" {
        let previous = text[start..sorry_line].trim_end();
        if previous.ends_with(":=") && on_line_before.trim_start().is_empty() {
            Placement::AfterAssign {
                assign_end: start + previous.len(),
            }
        } else {
            Placement::TacticLine
        }
    } else {
        Placement::Term
    };
    Some(Declaration {
        start,
        end,
        sorry,
        ordinal,
        placement,
    })
}

/// Where a declaration containing `from` ends: before the next line that starts at column 0
/// with something other than a blank.
fn declaration_end(text: &str, from: usize) -> usize {
    let mut end = text[from..].find('\n').map_or(text.len(), |i| from + i);
    while end < text.len() {
        let next = end + 1;
        let line = &text[next..];
        if !(line.starts_with(' ') || line.starts_with('\n')) {
            break;
        }
        end = line.find('\n').map_or(text.len(), |i| next + i);
    }
    end
}

/// The codepoint indentation of the line holding `offset`.
fn line_indent(text: &str, offset: usize) -> usize {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..].chars().take_while(|c| *c == ' ').count()
}

/// The search's script (one tactic per line indented two spaces, deeper lines continuing the
/// tactic above) as lines relative to the script's own column.
fn script_lines(proof: &str) -> Vec<&str> {
    proof
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect()
}

/// The lines joined on new lines, each indented by `column` spaces.
fn laid_out(lines: &[&str], column: usize) -> String {
    let indent = " ".repeat(column);
    lines
        .iter()
        .map(|l| format!("\n{indent}{l}"))
        .collect::<String>()
}

/// The edit that puts `proof` (the search's script) in place of the `sorry`: the replaced
/// range and its text, indented with spaces counted in codepoints (Lean compares tactic
/// columns in codepoints).
pub fn proof_edit(text: &str, declaration: &Declaration, proof: &str) -> (Range<usize>, String) {
    let mut lines = script_lines(proof);
    if lines.is_empty() {
        lines.push("skip");
    }
    let sorry = declaration.sorry.clone();
    let one_line = lines.len() == 1;
    // Whether all tactics are one line each, so they can be chained with `;`.
    let chainable = lines.iter().all(|l| !l.starts_with(' '));
    let rest_of_line = {
        let after = &text[sorry.end..];
        let rest = &after[..after.find('\n').unwrap_or(after.len())];
        let rest = rest.trim();
        !rest.is_empty() && !rest.starts_with("--")
    };
    match declaration.placement {
        _ if one_line && declaration.placement != Placement::Term => {
            let tactic = lines.first().copied().unwrap_or("skip").trim();
            match declaration.placement {
                Placement::AfterAssign { .. } => (sorry, format!("by {tactic}")),
                _ => (sorry, tactic.to_owned()),
            }
        }
        // Text after the `sorry` on its line stays where it is: the script goes in one piece.
        Placement::AfterBy { .. } | Placement::TacticLine if rest_of_line && chainable => {
            (sorry, format!("({})", lines.join("; ")))
        }
        Placement::AfterBy { by_end } => {
            let column = line_indent(text, sorry.start) + 2;
            (by_end..sorry.end, laid_out(&lines, column))
        }
        Placement::TacticLine => {
            let column = codepoint_column(text, sorry.start);
            let mut replacement = lines[0].to_owned();
            replacement.push_str(&laid_out(&lines[1..], column));
            (sorry, replacement)
        }
        Placement::AfterAssign { assign_end } => {
            let column = line_indent(text, assign_end) + 2;
            (
                assign_end..sorry.end,
                format!(" by{}", laid_out(&lines, column)),
            )
        }
        Placement::Term if chainable => (sorry, format!("(by {})", lines.join("; "))),
        Placement::Term => {
            let column = line_indent(text, sorry.start) + 4;
            (sorry, format!("(by{})", laid_out(&lines, column)))
        }
    }
}

/// `text` with `proof` in place of the declaration's `sorry`, as [`proof_edit`] puts it.
pub fn with_proof(text: &str, declaration: &Declaration, proof: &str) -> String {
    let (range, replacement) = proof_edit(text, declaration, proof);
    let mut edited = text.to_owned();
    edited.replace_range(range, &replacement);
    edited
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_convert_in_every_unit() {
        let text = "theorem t (x : ℕ) : 𝓝 x = sorry\n  next";
        let sorry = text.find("sorry").unwrap();
        // `ℕ` is one UTF-16 unit, `𝓝` two; both one codepoint.
        let (line, column) = position_of(text, sorry, Encoding::Utf16);
        assert_eq!((line, column), (0, 27));
        assert_eq!(offset_of(text, line, column, Encoding::Utf16), Some(sorry));
        assert_eq!(codepoint_column(text, sorry), 26);
        let (_, bytes) = position_of(text, sorry, Encoding::Utf8);
        assert_eq!(offset_of(text, 0, bytes, Encoding::Utf8), Some(sorry));
        assert_eq!(offset_of(text, 1, 99, Encoding::Utf16), Some(text.len()));
        assert_eq!(offset_of(text, 5, 0, Encoding::Utf16), None);
    }

    #[test]
    fn sorry_tokens_skip_comments_strings_and_longer_names() {
        let text = "-- sorry\n/- sorry /- nested sorry -/ sorry -/\ndef s := \"sorry\"\nexample : p := sorry_lemma\ntheorem t : p := by sorry";
        let found = sorry_tokens(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].clone()], "sorry");
        assert_eq!(found[0].start, text.rfind("sorry").unwrap());
    }

    /// The text with the proof in place of its first `sorry` after `marker`.
    fn proved(text: &str, marker: &str, proof: &str) -> (Placement, String) {
        let from = text.find(marker).unwrap();
        let sorry = sorry_tokens(text)
            .into_iter()
            .find(|s| s.start >= from)
            .unwrap();
        let declaration = declaration_of(text, sorry).unwrap();
        (declaration.placement, with_proof(text, &declaration, proof))
    }

    #[test]
    fn edits_follow_the_placement_rules() {
        let one = "\n  rfl";
        let two = "\n  intro y\n  simp";
        let nested = "\n  induction n with\n    | zero => rfl\n    | succ n ih => simp";
        let cases: [(&str, &str, &str, &str); 12] = [
            // `by sorry`: a one-line script in place, a longer one after `by`.
            (
                "theorem t (x : ℕ) : x = x := by sorry\n",
                "by",
                one,
                "theorem t (x : ℕ) : x = x := by rfl\n",
            ),
            (
                "theorem t (x : ℕ) : x = x := by sorry\n",
                "by",
                two,
                "theorem t (x : ℕ) : x = x := by\n  intro y\n  simp\n",
            ),
            // A nested `have … := by sorry`: its line's indentation plus two.
            (
                "theorem t : p := by\n  have h : q := by sorry\n  exact h\n",
                "have",
                two,
                "theorem t : p := by\n  have h : q := by\n    intro y\n    simp\n  exact h\n",
            ),
            // A tactic line of its own, before other tactics: the sorry's column.
            (
                "theorem t : p := by\n  constructor\n  sorry\n  exact hq\n",
                "constructor",
                two,
                "theorem t : p := by\n  constructor\n  intro y\n  simp\n  exact hq\n",
            ),
            // After `·`: continuation lines at the sorry's column (after `· `).
            (
                "theorem t : p ∧ q := by\n  constructor\n  · sorry\n  · exact hq\n",
                "·",
                two,
                "theorem t : p ∧ q := by\n  constructor\n  · intro y\n    simp\n  · exact hq\n",
            ),
            // Codepoint columns: `𝓝` is two UTF-16 units but one column.
            (
                "theorem t : p := by\n  · 𝓝 sorry\n",
                "𝓝",
                one,
                "theorem t : p := by\n  · 𝓝 (by rfl)\n",
            ),
            // Deeper structure keeps its relative indentation.
            (
                "theorem t : p := by\n  sorry\n",
                "by",
                nested,
                "theorem t : p := by\n  induction n with\n    | zero => rfl\n    | succ n ih => simp\n",
            ),
            // `:= sorry`: `by` and the layout.
            (
                "theorem u : p := sorry\n",
                "u",
                one,
                "theorem u : p := by rfl\n",
            ),
            (
                "theorem u : p :=\n  sorry\n",
                "u",
                two,
                "theorem u : p := by\n  intro y\n  simp\n",
            ),
            // Inside an expression: `(by tac₁; tac₂)`.
            (
                "theorem w : p ∧ q := ⟨sorry, hq⟩\n",
                "w",
                two,
                "theorem w : p ∧ q := ⟨(by intro y; simp), hq⟩\n",
            ),
            (
                "example : p ∧ q := by\n  exact ⟨sorry, hq⟩\n",
                "exact",
                nested,
                "example : p ∧ q := by\n  exact ⟨(by\n      induction n with\n        | zero => rfl\n        | succ n ih => simp), hq⟩\n",
            ),
            // Text after the sorry on its line stays: the script in one piece.
            (
                "theorem t : p := by\n  sorry <;> simp\n",
                "by",
                two,
                "theorem t : p := by\n  (intro y; simp) <;> simp\n",
            ),
        ];
        for (text, marker, proof, expected) in cases {
            let (placement, edited) = proved(text, marker, proof);
            assert_eq!(edited, expected, "{placement:?} in {text:?}");
        }
        let (placement, _) = proved("theorem t : p := by\n  · sorry\n", "·", one);
        assert_eq!(placement, Placement::TacticLine);
        let (placement, _) = proved("theorem u : p :=\n  sorry\n", "u", one);
        assert!(matches!(placement, Placement::AfterAssign { .. }));
    }

    #[test]
    fn a_sorry_outside_a_theorem_or_past_its_end_has_no_declaration() {
        let text = "def f : ℕ := sorry\n\ntheorem t : p := by\n  simp\n\n#check sorry\n";
        let sorries = sorry_tokens(text);
        assert_eq!(sorries.len(), 2);
        assert!(declaration_of(text, sorries[0].clone()).is_none());
        assert!(declaration_of(text, sorries[1].clone()).is_none());
        let two = "theorem t : p ∧ q := by\n  constructor\n  · sorry\n  · sorry\n";
        let sorries = sorry_tokens(two);
        let second = declaration_of(two, sorries[1].clone()).unwrap();
        assert_eq!(second.ordinal, 1);
        assert_eq!(second.sorry_position(two), (4, 4));
        assert_eq!(&two[second.start..second.end], two.trim_end());
    }
}
