//! A header split where its import block ends, so a process imports once and elaborates each header's own commands on top of that one import.
//!
//! A REPL command without an env imports its modules again every time (`import Mathlib` is
//! seconds to a minute, and each import's environment stays in the process's memory). Headers
//! that share their imports but differ after them are common: the editor's header for a sorry
//! is the whole file before its declaration, so every declaration of a file, and every edit
//! above one, makes a header of its own. The pool elaborates the import block once per process,
//! as an env-less command, and the rest of each header as a command on that env: a command run
//! on an env continues its command state (declarations, `open`, `set_option`, an open
//! `namespace`), as one command holding both would (recorded in the REPL transcripts: `open X`
//! and `set_option` in one command hold in the next command on its env).

/// `header`'s import block and the rest: the block runs through the end of the line of the
/// header's last `import`, where only whitespace, `--` comments and `/- … -/` comments (nested
/// as Lean nests them) come before or between the imports; the rest is everything after it,
/// or `""` when that is only whitespace (nothing to elaborate on the imports). Ending the block at the last import (blank lines and comments after it go
/// to the rest) makes the headers of one file, and a file's header and the same imports typed
/// alone, share one block. `None` when the header has no import, a comment left open, or
/// starts with something Lean's header grammar reads otherwise (`prelude`, `module`, a doc
/// comment): such a header is elaborated as one command, as before.
pub fn split_imports(header: &str) -> Option<(&str, &str)> {
    let bytes = header.as_bytes();
    let mut at = 0;
    let mut block_end = None;
    loop {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let here = &header[at..];
        if here.starts_with("--") || starts_word(here, "import") {
            at += here.find('\n').map_or(here.len(), |end| end + 1);
            if starts_word(here, "import") {
                block_end = Some(at);
            }
        } else if here.starts_with("/-") && !here.starts_with("/--") && !here.starts_with("/-!") {
            at += block_comment_len(here)?;
        } else {
            break;
        }
    }
    let (block, rest) = header.split_at(block_end?);
    Some((block, if rest.trim().is_empty() { "" } else { rest }))
}

/// Whether `text` starts with the keyword `word` followed by whitespace.
fn starts_word(text: &str, word: &str) -> bool {
    text.strip_prefix(word)
        .and_then(|after| after.chars().next())
        .is_some_and(char::is_whitespace)
}

/// The length of the block comment `text` starts with, nested comments included; `None` when
/// it is never closed.
fn block_comment_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut at) = (0usize, 0);
    while at + 1 < bytes.len() {
        match (bytes[at], bytes[at + 1]) {
            (b'/', b'-') => {
                depth += 1;
                at += 2;
            }
            (b'-', b'/') => {
                depth -= 1;
                at += 2;
                if depth == 0 {
                    return Some(at);
                }
            }
            _ => at += 1,
        }
    }
    None
}

/// How many lines the import block spans: a message about the rest, which Lean numbers from
/// the rest's first line, is that many lines further down in the whole header.
pub(crate) fn lines_before_rest(block: &str) -> u32 {
    u32::try_from(block.matches('\n').count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_block_ends_with_the_line_of_the_last_import() {
        let header = "import Mathlib\nimport Aesop\n\n-- the options\nset_option maxHeartbeats 400000\n\nopen Nat\n";
        let (block, rest) = split_imports(header).expect("imports and more");
        assert_eq!(block, "import Mathlib\nimport Aesop\n");
        assert_eq!(
            rest,
            "\n-- the options\nset_option maxHeartbeats 400000\n\nopen Nat\n"
        );
        assert_eq!(lines_before_rest(block), 2);
        // The headers of two declarations of one file, and the imports alone, share a block.
        let file = "import Mathlib\n\ntheorem a : 1 = 1 := rfl\n\ntheorem b : 2 = 2 := rfl\n";
        let before_a = &file[..file.find("theorem a").unwrap()];
        let before_b = &file[..file.find("theorem b").unwrap()];
        assert_eq!(split_imports(before_a), Some(("import Mathlib\n", "")));
        assert_eq!(
            split_imports(before_b),
            Some(("import Mathlib\n", "\ntheorem a : 1 = 1 := rfl\n\n"))
        );
        assert_eq!(
            split_imports("import Mathlib\n"),
            Some(("import Mathlib\n", ""))
        );
        assert_eq!(
            split_imports("import Mathlib"),
            Some(("import Mathlib", ""))
        );
        // A copyright block (nested comments included) before the imports and a comment
        // between them are part of the block; a comment after the last import is not.
        let header = "/-\nCopyright (c) 2026. /- nested -/ All rights reserved.\n-/\nimport Mathlib\n/- between -/\nimport Aesop -- trailing\n/- after -/ open Nat\n";
        let (block, rest) = split_imports(header).expect("a block after the copyright");
        assert_eq!(rest, "/- after -/ open Nat\n");
        assert_eq!(lines_before_rest(block), 6);
        // Line ends as Windows writes them.
        assert_eq!(
            split_imports("import Mathlib\r\nopen Nat"),
            Some(("import Mathlib\r\n", "open Nat"))
        );
    }

    #[test]
    fn a_header_with_no_import_a_comment_left_open_or_an_unusual_start_is_not_split() {
        for header in [
            "",
            "open Nat\n",
            "-- only a comment\n",
            "def x := 1\nimport Mathlib\n",
            "prelude\nimport Init.Core\ndef x := 1\n",
            "/-- a doc comment -/\nimport Mathlib\nopen Nat\n",
            "/-! # A module doc -/\nimport Mathlib\nopen Nat\n",
            "/- never closed\nimport Mathlib\nopen Nat\n",
            "module\n\nimport Mathlib\nopen Nat\n",
            "importMathlib\nopen Nat\n",
        ] {
            assert_eq!(split_imports(header), None, "{header:?}");
        }
    }
}
