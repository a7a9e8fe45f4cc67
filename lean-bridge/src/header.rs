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

/// `header`'s import block and the rest, when the header has both: the block is what comes
/// before the first line that starts with anything but whitespace, a `--` comment, a `/- … -/`
/// comment (nested as Lean nests them) or an `import …` line, and holds at least one import;
/// the rest starts at the beginning of that line and is not blank. `None` otherwise (no
/// import, nothing after the imports, a comment left open, a first command that shares a line
/// with a comment's end, or a start Lean's header grammar reads otherwise, such as `prelude`,
/// `module` or a doc comment): the header is then elaborated as one command, as before.
pub fn split_imports(header: &str) -> Option<(&str, &str)> {
    let bytes = header.as_bytes();
    let mut at = 0;
    let mut imports = false;
    loop {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let here = &header[at..];
        if here.starts_with("--") || starts_word(here, "import") {
            imports |= starts_word(here, "import");
            at += here.find('\n').map_or(here.len(), |end| end + 1);
        } else if here.starts_with("/-") && !here.starts_with("/--") && !here.starts_with("/-!") {
            at += block_comment_len(here)?;
        } else {
            break;
        }
    }
    // The rest starts at the beginning of its line, so its messages move by whole lines.
    let line_start = header[..at].rfind('\n').map_or(0, |newline| newline + 1);
    if !header[line_start..at].trim().is_empty() {
        return None;
    }
    let (block, rest) = header.split_at(line_start);
    (imports && !rest.trim().is_empty()).then_some((block, rest))
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
    fn the_import_block_ends_at_the_first_line_that_is_not_an_import_a_comment_or_blank() {
        let header = "import Mathlib\nimport Aesop\n\n-- the options\nset_option maxHeartbeats 400000\n\nopen Nat\n";
        let (block, rest) = split_imports(header).expect("imports and more");
        assert_eq!(block, "import Mathlib\nimport Aesop\n\n-- the options\n");
        assert_eq!(rest, "set_option maxHeartbeats 400000\n\nopen Nat\n");
        assert_eq!(lines_before_rest(block), 4);
        // A file before its declaration: the earlier declarations are the rest.
        let (block, rest) =
            split_imports("import Mathlib\n\ntheorem a : 1 = 1 := rfl\n\n").unwrap();
        assert_eq!(
            (block, rest),
            ("import Mathlib\n\n", "theorem a : 1 = 1 := rfl\n\n")
        );
    }

    #[test]
    fn a_header_of_imports_only_or_with_no_import_or_an_unusual_start_is_not_split() {
        for header in [
            "",
            "import Mathlib\n",
            "import Mathlib\n\n  \n-- nothing else\n",
            "open Nat\n",
            "def x := 1\nimport Mathlib\n",
            "prelude\nimport Init.Core\ndef x := 1\n",
            "/-- a doc comment -/\nimport Mathlib\nopen Nat\n",
            "/-! # A module doc -/\nimport Mathlib\nopen Nat\n",
            "/- never closed\nimport Mathlib\nopen Nat\n",
            "import Mathlib\n/- a comment -/ open Nat\n",
            "module\n\nimport Mathlib\nopen Nat\n",
            "importMathlib\nopen Nat\n",
        ] {
            assert_eq!(split_imports(header), None, "{header:?}");
        }
        // A copyright block (nested comments included) before the imports, and a comment
        // between them, are part of the block.
        let header = "/-\nCopyright (c) 2026. /- nested -/ All rights reserved.\n-/\nimport Mathlib\n/- between -/\nimport Aesop -- trailing\n\nopen Nat\n";
        let (block, rest) = split_imports(header).expect("a block after the copyright");
        assert_eq!(rest, "open Nat\n");
        assert_eq!(lines_before_rest(block), 7);
        // Without a final newline, and with CRLF line ends.
        assert_eq!(
            split_imports("import Mathlib\r\nopen Nat"),
            Some(("import Mathlib\r\n", "open Nat"))
        );
    }
}
