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

/// `header`'s import block and the rest, when the header has both: the block is its leading
/// lines that are blank, `--` comments or `import …` lines, holding at least one import, and
/// the rest is what follows, not blank. `None` otherwise (no import, nothing after the
/// imports, or a first line Lean's header grammar reads otherwise, such as `prelude`, `module`
/// or a block comment): the header is then elaborated as one command, as before.
pub(crate) fn split_imports(header: &str) -> Option<(&str, &str)> {
    let mut end = 0;
    let mut imports = false;
    for line in header.split_inclusive('\n') {
        let text = line.trim();
        if text.starts_with("import ") || text.starts_with("import\t") {
            imports = true;
        } else if !(text.is_empty() || text.starts_with("--")) {
            break;
        }
        end += line.len();
    }
    let (block, rest) = header.split_at(end);
    (imports && !rest.trim().is_empty()).then_some((block, rest))
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
            "/- a block comment -/\nimport Mathlib\nopen Nat\n",
            "module\n\nimport Mathlib\nopen Nat\n",
        ] {
            assert_eq!(split_imports(header), None, "{header:?}");
        }
        // Without a final newline, and with CRLF line ends.
        assert_eq!(
            split_imports("import Mathlib\r\nopen Nat"),
            Some(("import Mathlib\r\n", "open Nat"))
        );
    }
}
