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

/// The top-level declaration around a `sorry`, when it is the declaration's whole proof
/// (`… := by sorry` or `… := sorry`, the `sorry` on the same line or the next), or the last
/// tactic of its proof, alone on its line at the proof's indentation (two more than the
/// declaration's), after other tactics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// Where the declaration starts (its keyword, at column 0).
    pub start: usize,
    /// Where it ends (the next top-level command, or the end of the text).
    pub end: usize,
    /// The statement up to and including `:= by` (or `:=`, then `by` is added).
    pub statement: String,
    /// The `sorry`.
    pub sorry: Range<usize>,
    /// Where the edit starts: just after `by` (or after `:=` in term position).
    pub edit_start: usize,
    /// `:= sorry`: the edit must add `by`.
    pub term_position: bool,
    /// The `sorry` is the last tactic of the proof, on a line of its own after other tactics:
    /// `statement` is the declaration up to it, and the proof goes at its column.
    pub last_tactic: bool,
}

const DECLARATION_KEYWORDS: [&str; 3] = ["theorem ", "lemma ", "example"];

/// The declaration whose whole proof is the `sorry` at `sorry`, if it is one.
pub fn declaration_of(text: &str, sorry: Range<usize>) -> Option<Declaration> {
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    // The declaration starts at the last line before the sorry that begins with a keyword.
    let mut start = line_start(sorry.start);
    loop {
        let line = &text[start..];
        if DECLARATION_KEYWORDS.iter().any(|k| line.starts_with(k)) {
            break;
        }
        if start == 0 {
            return None;
        }
        start = line_start(start - 1);
    }
    let before = text[start..sorry.start].trim_end();
    let sorry_line = line_start(sorry.start);
    let alone = text[sorry_line..sorry.start].chars().all(|c| c == ' ');
    let rest_of_declaration_blank = {
        let after = &text[sorry.end..];
        let line_end = after.find('\n').unwrap_or(after.len());
        after[..line_end].trim().is_empty()
            && after[line_end..]
                .split('\n')
                .skip(1)
                .take_while(|l| l.starts_with(' ') || l.is_empty())
                .all(|l| l.trim().is_empty())
    };
    let tactic_column = codepoint_column(text, start) + 2;
    if alone
        && rest_of_declaration_blank
        && codepoint_column(text, sorry.start) == tactic_column
        && !before.ends_with("by")
        && !before.ends_with(":=")
        && before.contains(":= by")
    {
        let statement = text[start..sorry_line].trim_end().to_owned();
        return Some(Declaration {
            start,
            end: declaration_end(text, sorry.end),
            statement,
            edit_start: sorry.start,
            sorry,
            term_position: false,
            last_tactic: true,
        });
    }
    let (edit_start, term_position) = if let Some(stripped) = before.strip_suffix("by") {
        let assign = stripped.trim_end();
        if !assign.ends_with(":=") {
            return None;
        }
        (start + before.len(), false)
    } else if before.ends_with(":=") {
        (start + before.len(), true)
    } else {
        return None;
    };
    let statement = if term_position {
        format!("{} by", &text[start..edit_start])
    } else {
        text[start..edit_start].to_owned()
    };
    Some(Declaration {
        start,
        end: declaration_end(text, sorry.end),
        statement,
        sorry,
        edit_start,
        term_position,
        last_tactic: false,
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

/// The edit that puts `proof` (the text after `:= by`, one tactic per line indented two
/// spaces, as the search reports it) in place of the `sorry`: the replaced range and its text.
/// A one-line proof replaces `sorry` in place; a longer one puts one tactic per line, indented
/// with spaces to the declaration's indentation plus two, counted in codepoints.
pub fn proof_edit(text: &str, declaration: &Declaration, proof: &str) -> (Range<usize>, String) {
    let tactics: Vec<&str> = proof.lines().filter(|l| !l.trim().is_empty()).collect();
    let base = codepoint_column(text, declaration.start);
    if declaration.last_tactic {
        // The first tactic takes the `sorry`'s place; the others follow at its column.
        let indent = format!("\n{}", " ".repeat(base + 2));
        let joined: Vec<&str> = tactics
            .iter()
            .map(|t| t.strip_prefix("  ").unwrap_or(t))
            .collect();
        return (declaration.sorry.clone(), joined.join(&indent));
    }
    let one_line = tactics.len() == 1 && !declaration.term_position;
    if one_line {
        return (declaration.sorry.clone(), tactics[0].trim().to_owned());
    }
    let indent = " ".repeat(base + 2);
    let mut replacement = String::from(if declaration.term_position { " by" } else { "" });
    for tactic in &tactics {
        // The search's layout indents by two; keep any deeper indentation relative to it.
        let relative = tactic.strip_prefix("  ").unwrap_or(tactic);
        replacement.push('\n');
        replacement.push_str(&indent);
        replacement.push_str(relative);
    }
    (declaration.edit_start..declaration.sorry.end, replacement)
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

    #[test]
    fn edits_follow_the_placement_rules() {
        let text = "import Mathlib\n\ntheorem t (x : ℕ) : x = x := by sorry\n";
        let sorry = sorry_tokens(text)[0].clone();
        let declaration = declaration_of(text, sorry.clone()).unwrap();
        assert_eq!(declaration.statement, "theorem t (x : ℕ) : x = x := by");
        assert_eq!(
            proof_edit(text, &declaration, "\n  rfl"),
            (sorry.clone(), "rfl".to_owned())
        );
        let (range, edit) = proof_edit(text, &declaration, "\n  intro y\n  simp");
        assert_eq!(&text[range.clone()], " sorry");
        assert_eq!(edit, "\n  intro y\n  simp");
        let term = "theorem u : p :=\n  sorry\n";
        let sorry = sorry_tokens(term)[0].clone();
        let declaration = declaration_of(term, sorry).unwrap();
        assert!(declaration.term_position);
        assert_eq!(declaration.statement, "theorem u : p := by");
        let (range, edit) = proof_edit(term, &declaration, "\n  exact h");
        assert_eq!(&term[range], "\n  sorry");
        assert_eq!(edit, " by\n  exact h");
        let later =
            "theorem v : p := by\n  simp\n  sorry\n\ntheorem w : q := by\n  simp\n    sorry\n";
        let sorries = sorry_tokens(later);
        let last = declaration_of(later, sorries[0].clone()).unwrap();
        assert!(last.last_tactic);
        assert_eq!(last.statement, "theorem v : p := by\n  simp");
        let (range, edit) = proof_edit(later, &last, "\n  omega\n  rfl");
        assert_eq!(&later[range], "sorry");
        assert_eq!(edit, "omega\n  rfl");
        assert!(
            declaration_of(later, sorries[1].clone()).is_none(),
            "a sorry deeper than the proof's tactic column is not offered yet"
        );
    }
}
