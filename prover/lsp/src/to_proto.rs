//! LSP positions: lines and columns in UTF-16 code units (the protocol's default) or bytes, to and from byte offsets. Everything else about Lean text is the library's (`prover::text`).

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

#[cfg(test)]
mod tests {
    use super::*;
    use prover::text::source::codepoint_column;

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
}
