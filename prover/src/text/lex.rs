//! Lean's lexical skips, the one copy every reader of source text uses (the guard's code spans, the `sorry` scanner, the declaration reader): where a line comment, a nested block comment, a string literal or a character literal that opens at a given byte ends.

/// The byte where the `--` comment opening at `open` ends: its line's `\n` (kept out), or the
/// end of the text.
pub fn line_comment_end(text: &str, open: usize) -> usize {
    text[open..].find('\n').map_or(text.len(), |n| open + n)
}

/// The byte just past the `-/` that closes the block comment opening at `open` (`/-`; comments
/// nest, as in Lean), or `None` when it never closes.
pub fn block_comment_end(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("/-") {
            depth += 1;
            i += 2;
        } else if rest.starts_with("-/") {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    None
}

/// The byte just past the `"` that closes the string literal whose opening quote is at `open`
/// (a `\` escapes the character after it), or `None` when it never closes.
pub fn string_end(text: &str, open: usize) -> Option<usize> {
    let mut chars = text[open + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return Some(open + 1 + i + 1),
            _ => {}
        }
    }
    None
}

/// The length of a character literal (`'a'`, `'\n'`) starting at `open`, if one does.
pub fn char_literal_len(text: &str, open: usize) -> Option<usize> {
    let mut chars = text[open + 1..].chars();
    let first = chars.next()?;
    let mut len = 1 + first.len_utf8();
    if first == '\\' {
        len += chars.next()?.len_utf8();
    }
    (chars.next()? == '\'').then_some(len + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_nest_and_may_not_close() {
        let text = "a /- b /- c -/ d -/ e";
        assert_eq!(block_comment_end(text, 2), Some(text.len() - 2));
        assert_eq!(block_comment_end("/- 𝓝 /- -/", 0), None);
        assert_eq!(block_comment_end("/-/ x -/", 0), Some(8));
        assert_eq!(line_comment_end("x -- y\nz", 2), 6);
        assert_eq!(line_comment_end("x -- y", 2), 6);
    }

    #[test]
    fn strings_and_characters_end_after_their_quote() {
        let text = r#"s "a \" é\\" t"#;
        assert_eq!(string_end(text, 2), Some(text.len() - 2));
        assert_eq!(string_end(r#""open \"#, 0), None);
        assert_eq!(string_end("\"\\", 0), None);
        assert_eq!(char_literal_len("'a' x", 0), Some(3));
        assert_eq!(char_literal_len("'\\n'", 0), Some(4));
        assert_eq!(char_literal_len("'ℕ'", 0), Some(2 + 'ℕ'.len_utf8()));
        assert_eq!(char_literal_len("h' x", 1), None);
    }
}
