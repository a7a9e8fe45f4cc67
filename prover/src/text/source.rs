//! Lean source text around a `sorry`: the `sorry` tokens of a file (comments and strings skipped, identifier boundaries kept), the declaration around one, how it sits there (`Placement`), and the edit that puts a proof in its place. Positions are bytes, and codepoint columns as Lean counts them; an editor's units are its front end's business.

use std::ops::Range;

use super::lex;

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
            i = lex::line_comment_end(text, i);
        } else if rest.starts_with("/-") {
            i = lex::block_comment_end(text, i).unwrap_or(text.len());
        } else if rest.starts_with('"') {
            i = lex::string_end(text, i).unwrap_or(text.len());
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
    /// Right after the `=>` of a tactic that takes a tactic block there (`case h => sorry`,
    /// `next => sorry`, `on_goal 2 => sorry`, an alternative `| zero => sorry` of `induction`,
    /// `cases` or a tactic `match`): laid out as after `by`.
    AfterArrow {
        /// Where the `=>` ends.
        arrow_end: usize,
    },
    /// The one tactic a combinator runs (`t <;> sorry`, `all_goals sorry`, `any_goals sorry`,
    /// `try sorry`, `repeat sorry`, `focus sorry`): a one-line script in place, a longer one
    /// as one parenthesized tactic sequence, `(tac₁; tac₂)`.
    TacticArgument,
    /// First on its tactic line, or after a `·`: the first tactic replaces the `sorry`, the
    /// others follow at the `sorry`'s column.
    TacticLine,
    /// A term after `:=` that is the whole value (`:= sorry`, or `:=` then `sorry` alone on
    /// the next line): `by` and the script go in its place, laid out as after `by`.
    AfterAssign {
        /// Where the `:=` ends.
        assign_end: usize,
    },
    /// Inside an expression (`⟨sorry, h⟩`, `fun x => sorry`): `(by tac₁; tac₂)`.
    Term,
}

/// A `sorry` inside a top-level `theorem`, `lemma` or `example`, and how a proof replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// Where the declaration starts, at column 0: its `set_option … in` or `open … in`
    /// prefixes, doc comment and attributes travel with it (Lean refuses them dangling at the
    /// end of the text before it).
    pub start: usize,
    /// Where its modifiers (`private`, `noncomputable`, …) or its keyword start: after the
    /// prefixes, doc comment and attributes.
    pub head: usize,
    /// Where it ends (the next line at column 0 that is not part of it, or the end of the text).
    pub end: usize,
    /// The `sorry`.
    pub sorry: Range<usize>,
    /// Which of the declaration's sorries it is, from 0, in source order.
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
            head: at(self.head),
            end: at(self.end),
            sorry: at(self.sorry.start)..at(self.sorry.end),
            ordinal: self.ordinal,
            placement: match self.placement {
                Placement::AfterBy { by_end } => Placement::AfterBy { by_end: at(by_end) },
                Placement::AfterArrow { arrow_end } => Placement::AfterArrow {
                    arrow_end: at(arrow_end),
                },
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
/// Lean's declaration modifiers after the doc comment and attributes, in any order here.
const MODIFIERS: [&str; 6] = [
    "private",
    "protected",
    "noncomputable",
    "unsafe",
    "partial",
    "nonrec",
];
/// Words that start a command at column 0: a line starting with one is never the continuation
/// of the declaration above it.
const COMMAND_WORDS: [&str; 44] = [
    "theorem",
    "lemma",
    "example",
    "def",
    "abbrev",
    "instance",
    "axiom",
    "opaque",
    "structure",
    "class",
    "inductive",
    "namespace",
    "section",
    "end",
    "open",
    "set_option",
    "variable",
    "universe",
    "import",
    "private",
    "protected",
    "noncomputable",
    "unsafe",
    "partial",
    "nonrec",
    "attribute",
    "macro",
    "macro_rules",
    "syntax",
    "notation",
    "infix",
    "infixl",
    "infixr",
    "prefix",
    "postfix",
    "elab",
    "elab_rules",
    "deriving",
    "mutual",
    "initialize",
    "export",
    "local",
    "scoped",
    "omit",
];

/// The first word of `text` (an identifier-like run) and the text after it.
fn first_word(text: &str) -> (&str, &str) {
    let end = text
        .char_indices()
        .find(|(_, c)| !is_ident_char(*c))
        .map_or(text.len(), |(i, _)| i);
    text.split_at(end)
}

/// The length of the comment `text` starts with (`/-` … `-/`, nested), or of all of `text`
/// when it does not close.
fn block_comment_len(text: &str) -> usize {
    lex::block_comment_end(text, 0).unwrap_or(text.len())
}

/// The length of the `@[…]` that `text` starts with (brackets balanced).
fn attribute_len(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '[' => depth += 1,
            ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The length of a `set_option NAME VALUE in` or `open NAMES in` prefix that `text` starts
/// with (on one line); `None` for a command of its own (no `in`).
fn in_prefix_len(text: &str) -> Option<usize> {
    let (word, _) = first_word(text);
    if word != "set_option" && word != "open" {
        return None;
    }
    let line = &text[..text.find('\n').unwrap_or(text.len())];
    let mut at = 0;
    for piece in line.split(' ') {
        at += piece.len() + 1;
        if piece == "in" {
            return Some(at - 1);
        }
    }
    None
}

fn skip_blanks(text: &str, mut at: usize) -> usize {
    while let Some(c) = text[at..].chars().next() {
        if !c.is_whitespace() {
            break;
        }
        at += c.len_utf8();
    }
    at
}

/// Where the declaration proper starts in `text`: past the blanks, `set_option … in` and
/// `open … in` prefixes, doc comment and attributes that `text` starts with.
fn skip_prefixes(text: &str) -> usize {
    let mut at = skip_blanks(text, 0);
    loop {
        let rest = &text[at..];
        let len = if rest.starts_with("/--") {
            Some(block_comment_len(rest))
        } else if rest.starts_with("@[") {
            attribute_len(rest)
        } else {
            in_prefix_len(rest)
        };
        match len {
            Some(len) => at = skip_blanks(text, at + len),
            None => return at,
        }
    }
}

/// Where the keyword starts in `text` (from a declaration's head): past its modifiers.
fn skip_modifiers(text: &str) -> usize {
    let mut at = 0;
    loop {
        let (word, _) = first_word(&text[at..]);
        if !MODIFIERS.contains(&word) {
            return at;
        }
        at = skip_blanks(text, at + word.len());
    }
}

/// Whether `text` (from a line start) starts a theorem-like declaration: a keyword, maybe after
/// prefixes, a doc comment, attributes and modifiers.
fn starts_declaration(text: &str) -> bool {
    let head = skip_prefixes(text);
    let keyword = head + skip_modifiers(&text[head..]);
    let (word, _) = first_word(&text[keyword..]);
    DECLARATION_KEYWORDS.contains(&word)
}

/// Whether the line `line` (at column 0) starts a command of its own.
fn starts_command(line: &str) -> bool {
    let (word, _) = first_word(line);
    COMMAND_WORDS.contains(&word) || line.starts_with(['#', '@', '/']) || line.starts_with("--")
}

fn ends_with_token(text: &str, token: &str) -> bool {
    text.strip_suffix(token)
        .is_some_and(|before| !before.chars().next_back().is_some_and(is_ident_char))
}

/// Tactics that run the one tactic after them: `all_goals sorry`.
const COMBINATORS: [&str; 7] = [
    "all_goals",
    "any_goals",
    "try",
    "repeat",
    "repeat'",
    "focus",
    "<;>",
];

/// Whether the `=>` ending `before` (the declaration's text up to it, `line` its last line)
/// opens a tactic block: after `case`, `case'`, `next`, `on_goal`, or in an alternative of
/// `induction`, `cases` or a tactic `match`. Otherwise (`fun x =>`, a term `match`) it is a
/// term.
fn arrow_opens_tactics(before: &str, line: &str) -> bool {
    let head = line.trim_start().trim_start_matches('·').trim_start();
    let (word, _) = first_word(head);
    if matches!(word, "case" | "case'" | "next" | "on_goal") {
        return true;
    }
    if !head.starts_with('|') {
        return false;
    }
    // The alternative's opener: the nearest line above ending in `with`.
    let Some(opener) = before
        .lines()
        .rev()
        .skip(1)
        .find(|l| ends_with_token(l.trim_end(), "with"))
    else {
        return false;
    };
    let opener = opener.trim_start().trim_start_matches('·').trim_start();
    match first_word(opener).0 {
        "induction" | "cases" | "induction'" | "cases'" => true,
        // A `match` opening a tactic line of a `by` block is the tactic `match`.
        "match" => before.split_whitespace().any(|w| w == "by"),
        _ => false,
    }
}

/// The declaration around the `sorry` at `sorry`, when it lies in a top-level `theorem`,
/// `lemma` or `example`.
pub fn declaration_of(text: &str, sorry: Range<usize>) -> Option<Declaration> {
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    // The declaration's keyword line is the last line before the sorry at column 0 that starts
    // one; a line at column 0 on the way that starts another command ends the search.
    let mut keyword_line = line_start(sorry.start);
    loop {
        let line = &text[keyword_line..];
        if starts_declaration(line) {
            break;
        }
        let indented = line.starts_with([' ', '\t', '\n']);
        if keyword_line == 0 || (!indented && starts_command(line)) {
            return None;
        }
        keyword_line = line_start(keyword_line - 1);
    }
    let start = prefixes_start(text, keyword_line);
    let end = declaration_end(text, keyword_line);
    if sorry.end > end {
        return None;
    }
    let head = start + skip_prefixes(&text[start..end]);
    let ordinal = sorry_tokens(&text[start..end])
        .iter()
        .position(|s| s.start + start == sorry.start)?;
    let sorry_line = line_start(sorry.start);
    let on_line_before = text[sorry_line..sorry.start].trim_end();
    let token_end = sorry_line + on_line_before.len();
    let alone = on_line_before.trim_start().is_empty();
    let placement = if ends_with_token(on_line_before, "by") {
        Placement::AfterBy { by_end: token_end }
    } else if on_line_before.ends_with(":=") {
        Placement::AfterAssign {
            assign_end: token_end,
        }
    } else if on_line_before.ends_with("=>") {
        if arrow_opens_tactics(&text[start..token_end], on_line_before) {
            Placement::AfterArrow {
                arrow_end: token_end,
            }
        } else {
            Placement::Term
        }
    } else if COMBINATORS.iter().any(|c| {
        if c.starts_with(is_ident_char) {
            ends_with_token(on_line_before, c)
        } else {
            on_line_before.ends_with(c)
        }
    }) {
        Placement::TacticArgument
    } else if alone || on_line_before.ends_with('·') {
        let previous = text[start..sorry_line].trim_end();
        if previous.ends_with(":=") && alone {
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
        head,
        end,
        sorry,
        ordinal,
        placement,
    })
}

/// Where the declaration whose keyword line starts at `keyword_line` really starts: at the
/// first of the lines just above that hold only its doc comment, attributes, `set_option … in`
/// or `open … in` prefixes.
fn prefixes_start(text: &str, keyword_line: usize) -> usize {
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut start = keyword_line;
    loop {
        let before = text[..start].trim_end();
        if before.is_empty() {
            return start;
        }
        let candidate = if before.ends_with("-/") {
            // The doc comment ending here, when it starts a line: `/--` at column 0.
            let mut found = None;
            let mut at = before.len();
            while let Some(i) = text[..at].rfind("/--") {
                let closes_here = i + block_comment_len(&text[i..]) == before.len();
                if closes_here && (i == 0 || text.as_bytes()[i - 1] == b'\n') {
                    found = Some(i);
                    break;
                }
                at = i;
            }
            match found {
                Some(i) => i,
                None => return start,
            }
        } else {
            line_start(before.len())
        };
        // Everything from the candidate to the declaration is prefixes and blanks.
        let is_prefix = !text[candidate..].starts_with([' ', '\t'])
            && candidate + skip_prefixes(&text[candidate..start]) == start;
        if !is_prefix {
            return start;
        }
        start = candidate;
    }
}

/// Where the declaration whose keyword line starts at `from` ends: before the next line that
/// starts at column 0 with something other than a blank. A tactic block whose first tactic sits
/// at column 0 right after a line ending in `by` (which Lean v4.24 accepts) runs on over the
/// column-0 lines that start no command.
fn declaration_end(text: &str, from: usize) -> usize {
    let mut end = text[from..].find('\n').map_or(text.len(), |i| from + i);
    let mut column_zero_block = false;
    while end < text.len() {
        let next = end + 1;
        let line = &text[next..];
        let continues = line.starts_with(' ') || line.starts_with('\n') || {
            let opens = ends_with_token(text[from..end].trim_end(), "by");
            !starts_command(line) && (column_zero_block || opens) && {
                column_zero_block = true;
                true
            }
        };
        if !continues {
            break;
        }
        end = line.find('\n').map_or(text.len(), |i| next + i);
    }
    // Blank lines after it separate it from what follows.
    from + text[from..end].trim_end().len()
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
    placed_edit(
        text,
        declaration.sorry.clone(),
        declaration.placement,
        proof,
    )
}

/// [`proof_edit`] for the `sorry` at `sorry` in `text`, placed as `placement` says: all the
/// edit needs of a [`Declaration`].
pub fn placed_edit(
    text: &str,
    sorry: Range<usize>,
    placement: Placement,
    proof: &str,
) -> (Range<usize>, String) {
    let mut lines = script_lines(proof);
    if lines.is_empty() {
        lines.push("skip");
    }
    let one_line = lines.len() == 1;
    // Whether all tactics are one line each, so they can be chained with `;`.
    let chainable = lines.iter().all(|l| !l.starts_with(' '));
    let rest_of_line = {
        let after = &text[sorry.end..];
        let rest = &after[..after.find('\n').unwrap_or(after.len())];
        let rest = rest.trim();
        !rest.is_empty() && !rest.starts_with("--")
    };
    match placement {
        _ if one_line && placement != Placement::Term => {
            let tactic = lines.first().copied().unwrap_or("skip").trim();
            match placement {
                Placement::AfterAssign { .. } => (sorry, format!("by {tactic}")),
                _ => (sorry, tactic.to_owned()),
            }
        }
        // Text after the `sorry` on its line stays where it is: the script goes in one piece.
        Placement::AfterBy { .. }
        | Placement::AfterArrow { .. }
        | Placement::TacticLine
        | Placement::TacticArgument
            if (rest_of_line || placement == Placement::TacticArgument) && chainable =>
        {
            (sorry, format!("({})", lines.join("; ")))
        }
        Placement::AfterBy { by_end: block_end }
        | Placement::AfterArrow {
            arrow_end: block_end,
        } => {
            let column = line_indent(text, sorry.start) + 2;
            (block_end..sorry.end, laid_out(&lines, column))
        }
        // One tactic sequence in parentheses, its lines at the column after the `(`.
        Placement::TacticArgument => {
            let column = codepoint_column(text, sorry.start) + 1;
            let mut replacement = format!("({}", lines[0]);
            replacement.push_str(&laid_out(&lines[1..], column));
            replacement.push(')');
            (sorry, replacement)
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
    fn codepoint_columns_count_characters_not_bytes() {
        let text = "theorem t (x : ℕ) : 𝓝 x = sorry\n  next";
        let sorry = text.find("sorry").unwrap();
        // `ℕ` and `𝓝` are one codepoint each, however many bytes or UTF-16 units.
        assert_eq!(codepoint_column(text, sorry), 26);
        assert_eq!(codepoint_column(text, text.len()), 6);
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

    /// Audit row 4: a sorry in tactic position in the middle of a line gets a tactic, not
    /// `(by …)`, which would not parse there.
    #[test]
    fn a_sorry_mid_line_in_tactic_position_gets_a_tactic() {
        let one = "\n  rfl";
        let two = "\n  intro y\n  simp";
        let nested = "\n  induction n with\n    | zero => rfl\n    | succ n ih => simp";
        let cases: [(&str, &str, &str, &str); 12] = [
            (
                "theorem t : p ∧ q := by\n  constructor\n  case left => sorry\n  case right => exact hq\n",
                "left",
                one,
                "theorem t : p ∧ q := by\n  constructor\n  case left => rfl\n  case right => exact hq\n",
            ),
            (
                "theorem t : p ∧ q := by\n  constructor\n  case left => sorry\n  case right => exact hq\n",
                "left",
                two,
                "theorem t : p ∧ q := by\n  constructor\n  case left =>\n    intro y\n    simp\n  case right => exact hq\n",
            ),
            (
                "theorem t : p ∧ q := by\n  constructor\n  next => sorry\n  exact hq\n",
                "next",
                two,
                "theorem t : p ∧ q := by\n  constructor\n  next =>\n    intro y\n    simp\n  exact hq\n",
            ),
            (
                "theorem t : p ∧ q := by\n  constructor\n  · case' left => sorry\n  exact hq\n",
                "left",
                one,
                "theorem t : p ∧ q := by\n  constructor\n  · case' left => rfl\n  exact hq\n",
            ),
            (
                "theorem t (n : ℕ) : q n := by\n  induction n with\n  | zero => sorry\n  | succ n ih => simp\n",
                "zero",
                two,
                "theorem t (n : ℕ) : q n := by\n  induction n with\n  | zero =>\n    intro y\n    simp\n  | succ n ih => simp\n",
            ),
            (
                "theorem t : p ∧ q := by\n  constructor <;> sorry\n",
                "<;>",
                one,
                "theorem t : p ∧ q := by\n  constructor <;> rfl\n",
            ),
            (
                "theorem t : p ∧ q := by\n  constructor <;> sorry\n",
                "<;>",
                two,
                "theorem t : p ∧ q := by\n  constructor <;> (intro y; simp)\n",
            ),
            (
                "theorem t : p ∧ q := by\n  constructor\n  all_goals sorry\n",
                "all_goals",
                two,
                "theorem t : p ∧ q := by\n  constructor\n  all_goals (intro y; simp)\n",
            ),
            (
                "theorem t : p ∧ q := by\n  constructor\n  any_goals sorry\n",
                "any_goals",
                nested,
                "theorem t : p ∧ q := by\n  constructor\n  any_goals (induction n with\n               | zero => rfl\n               | succ n ih => simp)\n",
            ),
            (
                "theorem t : p := by\n  try sorry\n",
                "try",
                one,
                "theorem t : p := by\n  try rfl\n",
            ),
            // `=>` of a function or a term `match` is a term.
            (
                "theorem t : ∀ x : ℕ, p x := fun x => sorry\n",
                "fun",
                two,
                "theorem t : ∀ x : ℕ, p x := fun x => (by intro y; simp)\n",
            ),
            (
                "theorem t (n : ℕ) : q n :=\n  match n with\n  | 0 => sorry\n  | k + 1 => h k\n",
                "| 0",
                one,
                "theorem t (n : ℕ) : q n :=\n  match n with\n  | 0 => (by rfl)\n  | k + 1 => h k\n",
            ),
        ];
        for (text, marker, proof, expected) in cases {
            let (placement, edited) = proved(text, marker, proof);
            assert_eq!(edited, expected, "{placement:?} in {text:?}");
        }
        let placement_of = |text: &str, marker: &str| proved(text, marker, one).0;
        assert!(matches!(
            placement_of(
                "example : p := by\n  cases h with\n  | inl h => sorry\n",
                "inl"
            ),
            Placement::AfterArrow { .. }
        ));
        assert!(matches!(
            placement_of(
                "example : p := by\n  match h with\n  | .inl h => sorry\n",
                "inl"
            ),
            Placement::AfterArrow { .. }
        ));
        assert_eq!(
            placement_of("example : p := by\n  on_goal 2 => sorry\n", "on_goal"),
            Placement::AfterArrow { arrow_end: 32 }
        );
    }

    /// Audit row 3: a doc comment, attributes and `… in` prefixes above a declaration belong
    /// to it, so the text before it never ends with them dangling.
    #[test]
    fn doc_comments_attributes_and_in_prefixes_travel_with_the_declaration() {
        let cases = [
            "/-- The doc. -/\ntheorem t : p := by sorry\n",
            "/-- A doc comment\n  over two lines, with a nested /- comment -/. -/\ntheorem t : p := by sorry\n",
            "@[simp]\ntheorem t : p := by sorry\n",
            "/-- doc -/\n@[simp, norm_cast]\nprivate theorem t : p := by sorry\n",
            "set_option maxHeartbeats 400000 in\n/-- doc -/\ntheorem t : p := by sorry\n",
            "open Nat Real in\n@[simp] theorem t : p := by sorry\n",
            "/-- doc -/ @[simp] lemma t : p := by sorry\n",
        ];
        for declaration in cases {
            let text = format!(
                "import Mathlib\n\ntheorem before : q := by\n  simp\n\n{declaration}\ntheorem after : r := rfl\n"
            );
            let sorry = sorry_tokens(&text)[0].clone();
            let found = declaration_of(&text, sorry).unwrap();
            assert_eq!(
                &text[found.start..found.end],
                declaration.trim_end(),
                "in {text:?}"
            );
            let head = &text[found.head..found.end];
            assert!(
                head.starts_with("theorem t")
                    || head.starts_with("private theorem t")
                    || head.starts_with("lemma t"),
                "{head:?}"
            );
            assert!(text[..found.start].ends_with("\n\n"), "{text:?}");
        }
        // A doc comment that ends a line of its own but belongs to nothing (a module doc, a
        // whole `open` command) stays where it is.
        let text = "/-! Module doc. -/\nopen Nat\n\ntheorem t : p := by sorry\n";
        let found = declaration_of(text, sorry_tokens(text)[0].clone()).unwrap();
        assert_eq!(&text[found.start..], "theorem t : p := by sorry\n");
        // The REPL's position counts from the doc comment's line.
        let text = "import Mathlib\n/-- doc -/\ntheorem t : p := by sorry\n";
        let found = declaration_of(text, sorry_tokens(text)[0].clone()).unwrap();
        assert_eq!(found.sorry_position(text), (2, 20));
    }

    /// Audit row 7: Lean v4.24 takes a `sorry` at column 0 right after `by` as the proof, so
    /// the declaration runs on over it (v4.33 refuses it: then Lean says so).
    #[test]
    fn a_column_zero_block_after_by_is_inside_the_declaration() {
        let text = "theorem foo : 1 = 1 := by\nsorry\n\ntheorem bar : 2 = 2 := by\nskip\nsorry\n#check bar\n";
        let sorries = sorry_tokens(text);
        let first = declaration_of(text, sorries[0].clone()).unwrap();
        assert_eq!(
            &text[first.start..first.end],
            "theorem foo : 1 = 1 := by\nsorry"
        );
        assert_eq!(first.placement, Placement::TacticLine);
        assert_eq!(first.sorry_position(text), (2, 0));
        let second = declaration_of(text, sorries[1].clone()).unwrap();
        assert_eq!(
            &text[second.start..second.end],
            "theorem bar : 2 = 2 := by\nskip\nsorry"
        );
        // Not after `by`: a column-0 line is another command, and a sorry there is in none.
        let text = "theorem foo : 1 = 1 := rfl\nsorry\n";
        assert!(declaration_of(text, sorry_tokens(text)[0].clone()).is_none());
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
