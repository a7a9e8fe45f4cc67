//! The gate between untrusted tactic text (a model's output) and Lean, which would execute it.
//!
//! A language model's tactic is input from outside: Lean runs whatever it is given, and some
//! text proves nothing (`sorry`), trusts compiled code instead of the kernel (`native_decide`),
//! runs arbitrary programs (`run_tac`, `#eval`), or leaves the proof block altogether when the
//! proof is spliced into a file for the final check (a line at column 0 starting `theorem`).
//! [`TacticGuard::check`] refuses such text before it reaches a REPL and names the reason;
//! as a [`CandidateFilter`] it plugs into the search, which counts what it drops.
//!
//! # Rules, in the order they are checked
//!
//! 1. Empty (or all-whitespace) text, text over [`MAX_TACTIC_CHARS`] characters, and text with a
//!    control character other than a newline (tabs and carriage returns included: Lean rejects
//!    tabs anyway) or a bidirectional-override character (which can make text read differently
//!    from how it parses).
//! 2. An unterminated `/-` block comment, which would swallow the rest of a spliced proof.
//! 3. A command keyword (`theorem`, `lemma`, `def`, `example`, `instance`, `open` without `in`,
//!    `namespace`, `end`, `section`, `import`, `macro`, `syntax`, `elab`, `attribute`, and the
//!    other declaration keywords in [`COMMAND_KEYWORDS`]) anywhere in code, at any column, or a
//!    line starting with `@[`, or a doc comment `/--` or `/-!`: Lean ends a tactic block at the
//!    first token that cannot continue it, and a command keyword there starts a new command,
//!    indented or not, even mid-line. Code here is the text outside comments and string
//!    literals ([`code_spans`]); the keywords are reserved tokens in Lean, so no identifier
//!    can be spelled like them, and an English comment that says "theorem" costs nothing.
//!    Raw string literals (`r"…"`) are refused outright, since their escaping differs.
//! 4. A `#` directly followed by a letter in code: `#eval`, `#exit`, `#print`, … are commands.
//!    (This also refuses Mathlib's `#s` cardinality notation; such a tactic is rare and a cheap
//!    loss.)
//! 5. `set_option` anywhere, unless it is `set_option maxHeartbeats N in` or
//!    `set_option maxRecDepth N in` with a numeral `N`.
//! 6. A forbidden *word*: `sorry`, `admit`, `sorryAx`, `stop` (a macro for `repeat sorry`);
//!    `native_decide`, `native` (as in `decide +native`), `bv_decide`, `ofReduceBool`,
//!    `ofReduceNat`, `reduceBool`, `reduceNat`, `trustCompiler` unless
//!    [`TacticGuard::allow_native_decide`]; `run_tac`, `run_cmd`, `run_elab`, `run_meta`,
//!    `by_elab`, `eval%`; `unsafe`, `implemented_by`, `extern`, `axiom`, `skipKernelTC`;
//!    and the library searches `exact?` and `apply?` (`apply?` admits the goal with `sorry`
//!    when it finds no complete proof, and both are too slow for a search step).
//!
//! [`TacticGuard::check_proof`] applies the same rules to a whole proof (the text after
//! `:= by` in a `prover check` row), with a larger size limit, and names the line of each
//! refusal; [`TacticGuard::check_statement`] screens a statement the same way after its
//! declaration keyword.
//!
//! # Words, not substrings
//!
//! BFS-Prover-V2 filters with substring tests, which also drop `hsorry` or a lemma called
//! `not_admitted`. This guard matches whole words instead: a word is a maximal run of letters,
//! digits, `_`, `'` and sub/superscripts, so `hsorry`, `sorry_free` and `admit₁` are other
//! identifiers and pass. That is safe because Lean resolves names whole: `simp [sorry_free]`
//! refers to a lemma `sorry_free` (an unknown one fails to elaborate) and cannot reach `sorry`.
//! Everything else counts as a boundary, conservatively: `.` (so `Lean.sorry` and
//! `debug.skipKernelTC` are caught), `!` and `?` (so `sorry!` is caught), `«»`
//! (so `«sorry»` is caught). Comments and string literals are not exempt: `-- sorry` is refused
//! too, since a guard that parsed comments could be fooled by a parser mismatch.
//!
//! `?_` and `_` holes are legitimate (`refine ⟨?_, ?_⟩`, `exact foo _ h`) and pass. BFS-Prover's
//! extra rules against `rcases … ?_` and `simpa … _` guard against a REPL quirk, not against
//! unsound text, and are left to the search's configuration.

use crate::search::CandidateFilter;
use crate::text::lex::{block_comment_end, char_literal_len, line_comment_end, string_end};

/// Longest tactic text accepted, in characters.
pub const MAX_TACTIC_CHARS: usize = 4096;

/// Longest whole proof [`TacticGuard::check_proof`] accepts, in characters (the real
/// DeepSeek-Prover-V2 miniF2F proofs reach 46k).
pub const MAX_PROOF_CHARS: usize = 1 << 20;

/// Declaration keywords a checked statement may start with.
pub const DECLARATION_KEYWORDS: &[&str] = &["theorem", "lemma", "example", "def", "abbrev"];

/// Modifiers that may stand before a statement's declaration keyword.
const DECLARATION_MODIFIERS: &[&str] = &["private", "protected", "noncomputable", "nonrec"];

/// Keywords that start a command wherever they stand in code. Modifiers (`private`,
/// `noncomputable`, `local`, `scoped`, …) are not listed: a command they start still needs one
/// of these, and `unsafe` is refused as a word anyway.
pub const COMMAND_KEYWORDS: &[&str] = &[
    "theorem",
    "lemma",
    "def",
    "example",
    "instance",
    "open",
    "namespace",
    "end",
    "section",
    "import",
    "macro",
    "macro_rules",
    "syntax",
    "elab",
    "elab_rules",
    "attribute",
    "abbrev",
    "axiom",
    "structure",
    "class",
    "inductive",
    "variable",
    "universe",
    "opaque",
    "mutual",
    "notation",
    "infix",
    "infixl",
    "infixr",
    "prefix",
    "postfix",
    "declare_syntax_cat",
    "initialize",
    "builtin_initialize",
    "export",
    "omit",
    "include",
    "add_decl_doc",
    "alias",
    "irreducible_def",
];

/// The options `set_option … in` may change inside a proof: resource limits only.
const ALLOWED_OPTIONS: &[&str] = &["maxHeartbeats", "maxRecDepth"];

/// Words that close a goal without a proof.
const PROOF_HOLES: &[&str] = &["sorry", "admit", "sorryAx", "stop"];

/// Words that make Lean trust compiled code instead of checking in the kernel.
const NATIVE: &[&str] = &[
    "native_decide",
    "native",
    "bv_decide",
    "ofReduceBool",
    "ofReduceNat",
    "reduceBool",
    "reduceNat",
    "trustCompiler",
];

/// Words that run arbitrary metaprograms.
const METAPROGRAMS: &[&str] = &["run_tac", "run_cmd", "run_elab", "run_meta", "by_elab"];

/// Words that declare code or facts the kernel does not check.
const UNCHECKED: &[&str] = &[
    "unsafe",
    "implemented_by",
    "extern",
    "axiom",
    "skipKernelTC",
];

/// Library-search tactics, which are refused when written with their `?`.
const LIBRARY_SEARCH: &[&str] = &["exact", "apply"];

/// Why a tactic was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Nothing but whitespace.
    #[error("the tactic is empty")]
    Empty,
    /// Longer than [`MAX_TACTIC_CHARS`].
    #[error("the tactic is {chars} characters long, more than {limit}")]
    TooLong {
        /// Its length in characters.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// A control character other than a newline, or a bidirectional override.
    #[error("the tactic contains the control character U+{code:04X}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
    },
    /// A `/-` comment without its `-/`.
    #[error("the tactic opens a `/-` comment it never closes")]
    UnterminatedComment,
    /// A command keyword in code, which would end the proof and start a command.
    #[error("`{keyword}` on line {line} would end the proof and start a command")]
    EscapesProof {
        /// The 1-based line number.
        line: usize,
        /// The keyword (or `@[`, `/--`).
        keyword: String,
    },
    /// A string literal without its closing quote.
    #[error("the text opens a string literal it never closes")]
    UnterminatedString,
    /// A raw string literal, whose escaping the guard does not follow.
    #[error("raw string literals (`r\"…\"`) are not allowed")]
    RawString,
    /// A statement that is not one declaration of a kind `prover check` handles.
    #[error("the statement must be one `theorem`, `lemma`, `example`, `def` or `abbrev`; {found}")]
    NotADeclaration {
        /// What was found instead.
        found: String,
    },
    /// A `#` command such as `#eval`.
    #[error("`{command}` is a command, not a tactic")]
    HashCommand {
        /// The command as written, `#` included.
        command: String,
    },
    /// `set_option` other than a resource limit scoped with `in`.
    #[error(
        "`set_option {option}` is not allowed; only `set_option maxHeartbeats N in` and \
         `set_option maxRecDepth N in` are"
    )]
    SetOption {
        /// The option name as written (possibly empty).
        option: String,
    },
    /// `sorry`, `admit` and friends.
    #[error("`{word}` closes a goal without proving it")]
    ProofHole {
        /// The word found.
        word: String,
    },
    /// `native_decide` and friends, while they are not allowed.
    #[error("`{word}` trusts compiled code instead of the kernel")]
    NativeEvaluation {
        /// The word found.
        word: String,
    },
    /// `run_tac` and friends.
    #[error("`{word}` runs an arbitrary metaprogram")]
    Metaprogram {
        /// The word found.
        word: String,
    },
    /// `unsafe`, `axiom`, `extern`, … .
    #[error("`{word}` escapes the kernel's checking")]
    Unchecked {
        /// The word found.
        word: String,
    },
    /// `exact?`, `apply?`.
    #[error("`{word}` is a library search, too slow for a search step and able to admit the goal")]
    LibrarySearch {
        /// The tactic found, `?` included.
        word: String,
    },
}

/// Refuses tactic text that could prove something unsoundly or escape the proof.
///
/// The default refuses native evaluation too, because a proof that uses it fails the final
/// axiom check anyway.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TacticGuard {
    /// Let `native_decide`, `decide +native`, `bv_decide` and the axioms behind them through.
    pub allow_native_decide: bool,
}

impl TacticGuard {
    /// A guard that refuses native evaluation.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Ok` if `tactic` may run, otherwise the first rule it breaks.
    pub fn check(&self, tactic: &str) -> Result<(), Rejection> {
        self.screen_text(tactic, MAX_TACTIC_CHARS)
            .map_err(|(_, r)| r)
    }

    /// `Ok` if a whole proof (the text after `:= by`) may be spliced after its statement,
    /// otherwise the first rule it breaks and the 1-based line (of the proof text) it is on.
    pub fn check_proof(&self, proof: &str) -> Result<(), LineRejection> {
        self.screen_text(proof, MAX_PROOF_CHARS)
            .map_err(|(at, rejection)| LineRejection {
                line: line_of(proof, at),
                rejection,
            })
    }

    /// `Ok` if `statement` is one declaration (`theorem`, `lemma`, `example`, `def`, `abbrev`,
    /// after an optional doc comment and modifiers) whose signature holds no further command
    /// and nothing the proof rules refuse.
    pub fn check_statement(&self, statement: &str) -> Result<(), LineRejection> {
        let fail = |at: usize, rejection: Rejection| LineRejection {
            line: line_of(statement, at),
            rejection,
        };
        let body_start = leading_doc_comment_end(statement);
        let body = &statement[body_start..];
        let spans = code_spans(body).map_err(|(at, r)| fail(body_start + at, r))?;
        let mut code_words = spans.iter().flat_map(|span| {
            words(&body[span.clone()])
                .into_iter()
                .map(move |w| (span.start + w.start, w.text))
        });
        let keyword = loop {
            match code_words.next() {
                Some((_, w)) if DECLARATION_MODIFIERS.contains(&w) => continue,
                Some((at, w)) if DECLARATION_KEYWORDS.contains(&w) => break (at, w),
                Some((at, w)) => {
                    return Err(fail(
                        body_start + at,
                        Rejection::NotADeclaration {
                            found: format!("found `{w}`"),
                        },
                    ));
                }
                None => {
                    return Err(fail(
                        0,
                        Rejection::NotADeclaration {
                            found: "found no declaration keyword".into(),
                        },
                    ));
                }
            }
        };
        let after = keyword.0 + keyword.1.len();
        self.screen_from(body, after, MAX_PROOF_CHARS)
            .map_err(|(at, r)| fail(body_start + at, r))
    }

    /// All rules over `text`; the error carries the byte offset it was found at.
    fn screen_text(&self, text: &str, limit: usize) -> Result<(), (usize, Rejection)> {
        if text.trim().is_empty() {
            return Err((0, Rejection::Empty));
        }
        self.screen_from(text, 0, limit)
    }

    /// The rules over `text`, with command keywords looked for only from byte `from` on.
    fn screen_from(&self, text: &str, from: usize, limit: usize) -> Result<(), (usize, Rejection)> {
        let chars = text.chars().count();
        if chars > limit {
            return Err((0, Rejection::TooLong { chars, limit }));
        }
        if let Some((at, c)) = text.char_indices().find(|&(_, c)| is_forbidden_char(c)) {
            return Err((at, Rejection::ControlCharacter { code: u32::from(c) }));
        }
        let spans = code_spans(text)?;
        for span in &spans {
            let start = span.start.max(from);
            if start >= span.end {
                continue;
            }
            if let Some(at) = escaping_keyword(text, start..span.end) {
                return Err(at);
            }
            if let Some((at, command)) = hash_command(&text[start..span.end]) {
                return Err((
                    start + at,
                    Rejection::HashCommand {
                        command: command.to_owned(),
                    },
                ));
            }
        }
        let words = words(text);
        for (i, word) in words.iter().enumerate() {
            if word.text == "set_option" {
                check_set_option(text, &words[i + 1..]).map_err(|r| (word.start, r))?;
            }
            self.check_word(text, word).map_err(|r| (word.start, r))?;
        }
        Ok(())
    }

    fn check_word(&self, tactic: &str, word: &Word<'_>) -> Result<(), Rejection> {
        let text = word.text;
        let owned = || text.to_owned();
        let next = tactic[word.end..].chars().next();
        if PROOF_HOLES.contains(&text) {
            return Err(Rejection::ProofHole { word: owned() });
        }
        if NATIVE.contains(&text) && !self.allow_native_decide {
            return Err(Rejection::NativeEvaluation { word: owned() });
        }
        if METAPROGRAMS.contains(&text) {
            return Err(Rejection::Metaprogram { word: owned() });
        }
        if text == "eval" && next == Some('%') {
            return Err(Rejection::Metaprogram {
                word: "eval%".to_owned(),
            });
        }
        if UNCHECKED.contains(&text) {
            return Err(Rejection::Unchecked { word: owned() });
        }
        if LIBRARY_SEARCH.contains(&text) && next == Some('?') {
            return Err(Rejection::LibrarySearch {
                word: format!("{text}?"),
            });
        }
        Ok(())
    }
}

impl CandidateFilter for TacticGuard {
    fn screen(&mut self, tactic: &str) -> Result<(), String> {
        self.check(tactic)
            .map_err(|rejection| rejection.to_string())
    }
}

/// Control characters other than `\n`, and the bidirectional embedding/override/isolate marks.
fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A refusal of a whole proof or statement, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {rejection}")]
pub struct LineRejection {
    /// 1-based line of the screened text.
    pub line: usize,
    /// The rule broken.
    pub rejection: Rejection,
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Where a leading `/-- … -/` doc comment (after whitespace) ends, or 0 when there is none.
fn leading_doc_comment_end(text: &str) -> usize {
    let start = text.len() - text.trim_start().len();
    if !text[start..].starts_with("/--") {
        return 0;
    }
    block_comment_end(text, start).unwrap_or(0)
}

/// The byte ranges of `text` that are code: outside comments, string literals and character
/// literals. Guillemet identifiers (`«…»`) are code, and nothing inside them opens a comment,
/// as in Lean. A doc comment (`/--`, `/-!`) is refused: it belongs to a command.
fn code_spans(text: &str) -> Result<Vec<std::ops::Range<usize>>, (usize, Rejection)> {
    let mut spans = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut previous: Option<char> = None;
    while i < text.len() {
        let rest = &text[i..];
        let skip_to = if rest.starts_with("--") {
            Some(line_comment_end(text, i))
        } else if rest.starts_with("/-") {
            if rest.starts_with("/--") || rest.starts_with("/-!") {
                let keyword = rest[..3].to_owned();
                return Err((
                    i,
                    Rejection::EscapesProof {
                        line: line_of(text, i),
                        keyword,
                    },
                ));
            }
            Some(block_comment_end(text, i).ok_or((i, Rejection::UnterminatedComment))?)
        } else if rest.starts_with('"') {
            if is_raw_string_prefix(&text[..i]) {
                return Err((i, Rejection::RawString));
            }
            Some(string_end(text, i).ok_or((i, Rejection::UnterminatedString))?)
        } else if rest.starts_with('\'') && !previous.is_some_and(is_word_char) {
            char_literal_len(text, i).map(|len| i + len)
        } else if rest.starts_with('«') {
            // Code, but read through to the closing guillemet so nothing inside opens a comment.
            let close = rest
                .find('»')
                .map_or(text.len(), |n| i + n + '»'.len_utf8());
            previous = Some('»');
            i = close;
            continue;
        } else {
            None
        };
        match skip_to {
            Some(end) => {
                spans.push(start..i);
                start = end;
                i = end;
                previous = None;
            }
            None => {
                let c = rest.chars().next().expect("i is inside the text");
                previous = Some(c);
                i += c.len_utf8();
            }
        }
    }
    spans.push(start..text.len());
    spans.retain(|s| !s.is_empty());
    Ok(spans)
}

/// `text` with every comment replaced by spaces (line breaks kept, so lines keep their
/// numbers); string literals stay. `Err` names the 1-based line of an unterminated comment or
/// string, or of a doc comment.
pub fn blank_comments(text: &str) -> Result<String, (usize, Rejection)> {
    let spans = code_spans(text).map_err(|(at, r)| (line_of(text, at), r))?;
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans
        .iter()
        .chain(std::iter::once(&(text.len()..text.len())))
    {
        let gap = &text[at..span.start];
        if gap.starts_with('"') || gap.starts_with('\'') {
            out.push_str(gap);
        } else {
            out.extend(gap.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        }
        out.push_str(&text[span.clone()]);
        at = span.end;
    }
    Ok(out)
}

/// Whether the text before a `"` ends in a raw-string prefix: `r` or `r#…#` starting a word.
fn is_raw_string_prefix(before: &str) -> bool {
    let hashes = before.trim_end_matches('#');
    hashes
        .strip_suffix('r')
        .is_some_and(|b| !b.chars().next_back().is_some_and(is_word_char))
}

/// The first command keyword (or `@[`) in the code `text[span]`, with its offset.
fn escaping_keyword(text: &str, span: std::ops::Range<usize>) -> Option<(usize, Rejection)> {
    let code = &text[span.clone()];
    let escape = |at: usize, keyword: &str| {
        let at = span.start + at;
        Some((
            at,
            Rejection::EscapesProof {
                line: line_of(text, at),
                keyword: keyword.to_owned(),
            },
        ))
    };
    if let Some(at) = code.find("@[") {
        return escape(at, "@[");
    }
    let words = words(code);
    for (k, word) in words.iter().enumerate() {
        if !COMMAND_KEYWORDS.contains(&word.text) {
            continue;
        }
        // `open Real in simp` scopes a tactic and is fine; a bare `open` is a command.
        if word.text == "open" {
            let line_end = code[word.end..]
                .find('\n')
                .map_or(code.len(), |n| word.end + n);
            if words[k + 1..]
                .iter()
                .take_while(|w| w.start < line_end)
                .any(|w| w.text == "in")
            {
                continue;
            }
        }
        return escape(word.start, word.text);
    }
    None
}

/// The first `#name` in the text, with its offset.
fn hash_command(text: &str) -> Option<(usize, &str)> {
    text.match_indices('#').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        rest.chars().next().filter(|c| c.is_alphabetic())?;
        let len = rest
            .char_indices()
            .find(|&(_, c)| !(is_word_char(c) || c == '!'))
            .map_or(rest.len(), |(i, _)| i);
        Some((at, &text[at..at + 1 + len]))
    })
}

/// Checks what follows a `set_option`: `NAME N in` with an allowed name and a numeral.
fn check_set_option(text: &str, after: &[Word<'_>]) -> Result<(), Rejection> {
    if after.is_empty() {
        return Err(Rejection::SetOption {
            option: String::new(),
        });
    }
    // The option name is dotted (`debug.skipKernelTC`), which the word splitter cuts at dots:
    // consecutive words joined by a single `.` are its components.
    let mut name_end = 1;
    while name_end < after.len() && &text[after[name_end - 1].end..after[name_end].start] == "." {
        name_end += 1;
    }
    let option: Vec<&str> = after[..name_end].iter().map(|w| w.text).collect();
    let option = option.join(".");
    let allowed = ALLOWED_OPTIONS.contains(&option.as_str())
        && after
            .get(name_end)
            .is_some_and(|w| w.text.chars().all(|c| c.is_ascii_digit()))
        && after.get(name_end + 1).is_some_and(|w| w.text == "in");
    if allowed {
        Ok(())
    } else {
        Err(Rejection::SetOption { option })
    }
}

/// A word of the tactic text and its byte range.
#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

/// Characters that continue an identifier-like word: letters, digits, `_`, `'`, sub- and
/// superscripts. `.`, `!`, `?` and guillemets are boundaries on purpose (see the module docs).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '_' | '\'')
        || matches!(c, '\u{2080}'..='\u{209C}' | '\u{1D62}'..='\u{1D6A}' | '\u{2C7C}')
        || matches!(c, '⁰' | '¹' | '²' | '³' | '⁴'..='⁹' | '✝')
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push(Word {
                    text: &text[s..i],
                    start: s,
                    end: i,
                });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(Word {
            text: &text[s..],
            start: s,
            end: text.len(),
        });
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(tactic: &str) -> Result<(), Rejection> {
        TacticGuard::default().check(tactic)
    }

    fn accepted(tactics: &[&str]) {
        for tactic in tactics {
            assert_eq!(check(tactic), Ok(()), "{tactic:?}");
        }
    }

    #[test]
    fn ordinary_tactics_pass() {
        accepted(&[
            "norm_num",
            "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b), h₀]",
            "intro x hx",
            "obtain ⟨k, hk⟩ := h",
            "refine ⟨?_, ?_⟩",
            "exact foo _ h",
            "apply mul_pos <;> assumption",
            "rcases h with ⟨x, rfl⟩ | h",
            "simp only [Finset.sum_range_succ] at h ⊢",
            "constructor\n· linarith\n· nlinarith [h₀]",
            "have h₂ : x = 6 := by\n  linarith\nexact h₂",
            "calc a = b := by ring\n  _ = c := h",
            "field_simp [hx.ne']",
            "exact ⟨fun h => h.1, fun h => ⟨h, trivial⟩⟩",
            "decide",
            "simp [#[1, 2].size]",
            "open Real in norm_num [sqrt_eq_iff]",
            "-- a comment\nnorm_num",
            "/- block -/ simp",
            "norm_num [Nat.Prime] at *",
        ]);
    }

    #[test]
    fn empty_long_and_control_text_is_refused() {
        assert_eq!(check(""), Err(Rejection::Empty));
        assert_eq!(check("  \n "), Err(Rejection::Empty));
        let long = "simp ".repeat(1000);
        assert!(matches!(
            check(&long),
            Err(Rejection::TooLong { chars: 5000, .. })
        ));
        assert_eq!(check(&"a".repeat(MAX_TACTIC_CHARS)), Ok(()));
        assert_eq!(
            check("simp\tat h"),
            Err(Rejection::ControlCharacter { code: 9 })
        );
        assert_eq!(
            check("simp\r\nring"),
            Err(Rejection::ControlCharacter { code: 13 })
        );
        assert_eq!(
            check("simp\u{0}"),
            Err(Rejection::ControlCharacter { code: 0 })
        );
        assert_eq!(
            check("simp \u{202E}yrros"),
            Err(Rejection::ControlCharacter { code: 0x202E })
        );
        // Non-ASCII text is ordinary: Lean goals are full of it.
        accepted(&[
            "simp [h₀, h₁] at h₂ ⊢",
            "exact ⟨by norm_num, by positivity⟩",
        ]);
    }

    #[test]
    fn proof_holes_are_refused_as_words() {
        for (tactic, word) in [
            ("sorry", "sorry"),
            ("exact sorry", "sorry"),
            ("constructor\n· sorry\n· simp", "sorry"),
            ("admit", "admit"),
            ("exact sorryAx _ false", "sorryAx"),
            ("stop simp", "stop"),
            ("exact Lean.sorry", "sorry"),
            ("exact «sorry»", "sorry"),
            ("sorry!", "sorry"),
            ("simp -- sorry", "sorry"),
            ("(sorry)", "sorry"),
        ] {
            assert_eq!(
                check(tactic),
                Err(Rejection::ProofHole { word: word.into() }),
                "{tactic:?}"
            );
        }
    }

    #[test]
    fn identifiers_that_merely_contain_a_word_pass() {
        // Decision: whole words only. `sorry_free` is a different (unknown) lemma name; Lean
        // cannot reach `sorry` through it. V2's substring rule would refuse all of these.
        accepted(&[
            "simp [sorry_free]",
            "exact hsorry",
            "exact admitted_lemma h",
            "exact admit₁",
            "apply native_decide_lemma",
            "exact h.unsafe_free'",
            "exact h_axiom",
            "exact stopping_time_pos",
            "simp [hstop]",
        ]);
    }

    #[test]
    fn native_evaluation_is_refused_unless_allowed() {
        for (tactic, word) in [
            ("native_decide", "native_decide"),
            ("decide +native", "native"),
            ("decide (config := { native := true })", "native"),
            ("bv_decide", "bv_decide"),
            ("exact Lean.ofReduceBool _ _ rfl", "ofReduceBool"),
        ] {
            assert_eq!(
                check(tactic),
                Err(Rejection::NativeEvaluation { word: word.into() }),
                "{tactic:?}"
            );
            let allowing = TacticGuard {
                allow_native_decide: true,
            };
            assert_eq!(allowing.check(tactic), Ok(()), "{tactic:?}");
        }
        accepted(&["decide", "decide +kernel"]);
    }

    #[test]
    fn metaprograms_and_unchecked_code_are_refused() {
        for tactic in [
            "run_tac Lean.Elab.admitGoal",
            "run_cmd foo",
            "run_elab foo",
            "run_meta foo",
            "exact by_elab pure (mkConst ``True.intro)",
            "exact eval% 2 + 2",
        ] {
            assert!(
                matches!(check(tactic), Err(Rejection::Metaprogram { .. })),
                "{tactic:?}"
            );
        }
        for (tactic, word) in [
            ("exact unsafe foo", "unsafe"),
            ("have := implemented_by foo", "implemented_by"),
            ("exact (extern \"f\")", "extern"),
            ("exact debug.skipKernelTC", "skipKernelTC"),
        ] {
            assert_eq!(
                check(tactic),
                Err(Rejection::Unchecked { word: word.into() }),
                "{tactic:?}"
            );
        }
    }

    #[test]
    fn hash_commands_are_refused() {
        for (tactic, command) in [
            ("#eval IO.println 1", "#eval"),
            ("simp\n#exit", "#exit"),
            ("  #print axioms foo", "#print"),
            ("norm_num #check_failure x", "#check_failure"),
            ("#eval! 1", "#eval!"),
        ] {
            assert_eq!(
                check(tactic),
                Err(Rejection::HashCommand {
                    command: command.into()
                }),
                "{tactic:?}"
            );
        }
    }

    #[test]
    fn only_resource_limits_may_be_set() {
        accepted(&[
            "set_option maxHeartbeats 400000 in nlinarith [sq_nonneg (a - b)]",
            "set_option maxRecDepth 10000 in\n  decide",
            "· set_option maxHeartbeats 0 in simp",
        ]);
        for (tactic, option) in [
            ("set_option pp.all true in simp", "pp.all"),
            ("set_option maxHeartbeats 400000", "maxHeartbeats"),
            ("set_option maxHeartbeats n in simp", "maxHeartbeats"),
            (
                "set_option debug.skipKernelTC true in decide",
                "debug.skipKernelTC",
            ),
            ("set_option", ""),
            (
                "simp\nset_option trace.Meta.synthInstance true in simp",
                "trace.Meta.synthInstance",
            ),
        ] {
            assert_eq!(
                check(tactic),
                Err(Rejection::SetOption {
                    option: option.into()
                }),
                "{tactic:?}"
            );
        }
    }

    #[test]
    fn commands_at_column_zero_are_refused() {
        for (tactic, line, keyword) in [
            ("simp\ntheorem bad : False := by simp", 2, "theorem"),
            ("lemma x : True := trivial", 1, "lemma"),
            ("norm_num\nend", 2, "end"),
            ("simp\nimport Mathlib", 2, "import"),
            ("simp\nopen Lean", 2, "open"),
            ("simp\nmacro \"x\" : tactic => `(tactic| simp)", 2, "macro"),
            ("simp\nattribute [simp] foo", 2, "attribute"),
            ("simp\n@[simp] theorem t : True := trivial", 2, "@["),
            ("simp\nexample : True := trivial", 2, "example"),
            ("simp\ninstance : Foo := ⟨⟩", 2, "instance"),
            ("simp\nnamespace Foo", 2, "namespace"),
            ("simp\nsection", 2, "section"),
            ("simp\nsyntax \"x\" : tactic", 2, "syntax"),
            ("simp\nelab \"x\" : tactic => pure ()", 2, "elab"),
            ("simp\ndef f := 1", 2, "def"),
            // Indented or mid-line: Lean ends the tactic block there just the same.
            ("  simp\n  theorem bad : False := sorry", 2, "theorem"),
            ("exact h theorem bad : False := sorry", 1, "theorem"),
            ("  axiom bad : False", 1, "axiom"),
            (
                "simp\n    macro_rules | `(tactic| rfl) => `(tactic| sorry)",
                2,
                "macro_rules",
            ),
            ("norm_num\n  elab \"x\" : tactic => pure ()", 2, "elab"),
            ("simp\n  notation \"x\" => 1", 2, "notation"),
            ("simp\n  attribute [simp] foo", 2, "attribute"),
            ("simp\n  instance : Foo := ⟨⟩", 2, "instance"),
            ("have := @[implemented_by foo] 1", 1, "@["),
            ("simp\n/-- doc -/", 2, "/--"),
            ("exact «x--» theorem bad : False := sorry", 1, "theorem"),
        ] {
            assert_eq!(
                check(tactic),
                Err(Rejection::EscapesProof {
                    line,
                    keyword: keyword.into()
                }),
                "{tactic:?}"
            );
        }
        // Indented, or a different word that starts the same way: a tactic, not a command.
        accepted(&[
            "have h : True := by\n  exact trivial",
            "simp\n  end_lemma",
            "exact definitional_eq",
            "simp [theorem_name]",
            "open Nat in\nsimp",
            "open scoped BigOperators in\n  simp",
            // English in comments and strings is not code.
            "-- the theorem follows by example\nsimp",
            "simp /- an instance of the lemma, see section 2 -/",
            "exact foo \"theorem\" '\"' h",
        ]);
    }

    #[test]
    fn whole_proofs_name_the_line_of_a_refusal() {
        let guard = TacticGuard::new();
        let refusal = guard
            .check_proof("\n  intro x\n  trace \"hi\"\n  simp\n  #print \"x\"")
            .unwrap_err();
        assert_eq!(refusal.line, 5);
        assert_eq!(
            refusal.rejection,
            Rejection::HashCommand {
                command: "#print".into()
            }
        );
        assert_eq!(
            guard
                .check_proof("\n  set_option debug.skipKernelTC true in\n  decide")
                .unwrap_err()
                .line,
            2
        );
        for proof in [
            "\n  run_tac Lean.Elab.admitGoal",
            "\n  run_cmd foo",
            "\n  simp\n  #exit",
            "\n  native_decide",
            "\n  exact r\"x\"",
            "\n  exact \"open",
        ] {
            assert!(guard.check_proof(proof).is_err(), "{proof:?}");
        }
        // `trace` messages cannot impersonate the axiom report (it runs as its own command).
        assert_eq!(
            guard.check_proof("\n  trace \"'t' does not depend on any axioms\"\n  simp"),
            Ok(())
        );
        // Long proofs are fine where tactics are not.
        let long = format!("\n  {}", "simp\n  ".repeat(2000));
        assert_eq!(guard.check_proof(&long), Ok(()));
    }

    #[test]
    fn statements_are_one_declaration() {
        let guard = TacticGuard::new();
        for statement in [
            "theorem t (a : ℕ) : a = a := by",
            "lemma t : True :=",
            "example : 1 + 1 = 2 := by",
            "noncomputable def e {G : Type*} [Group G] : G ≃* G :=",
            "/-- informal -/\ntheorem t : True := by",
            "theorem t (f : ℕ → ℕ) (h : ∀ n, f n = n) : f 2 = 2 := by",
        ] {
            assert_eq!(guard.check_statement(statement), Ok(()), "{statement:?}");
        }
        for (statement, line) in [
            ("axiom cheat : False\ntheorem t : 1 = 2 := by", 1),
            ("theorem t : True := by\ntheorem u : False := by", 2),
            ("theorem t : (sorry : Prop) := by", 1),
            ("#print axioms t\ntheorem t : True := by", 1),
            ("instance : Foo := by", 1),
            (
                "set_option debug.skipKernelTC true in\ntheorem t : True := by",
                1,
            ),
        ] {
            let refusal = guard.check_statement(statement).unwrap_err();
            assert_eq!(refusal.line, line, "{statement:?}: {refusal}");
        }
    }

    #[test]
    fn unterminated_comments_are_refused() {
        assert_eq!(check("simp /- rest"), Err(Rejection::UnterminatedComment));
        assert_eq!(
            check("simp /- a /- b -/"),
            Err(Rejection::UnterminatedComment)
        );
        accepted(&["simp /- a /- b -/ -/ ring"]);
    }

    #[test]
    fn library_search_is_refused() {
        assert_eq!(
            check("apply?"),
            Err(Rejection::LibrarySearch {
                word: "apply?".into()
            })
        );
        assert!(check("exact?").is_err());
        accepted(&["exact h", "apply h", "simp?"]);
    }

    #[test]
    fn the_filter_agrees_with_check() {
        let mut guard = TacticGuard::new();
        assert_eq!(guard.screen("linarith"), Ok(()));
        assert!(guard.screen("sorry").is_err());
        assert!(guard.screen("").is_err());
        let message = check("sorry").unwrap_err().to_string();
        assert_eq!(message, "`sorry` closes a goal without proving it");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            let _ = check(&text);
        }
    }
}
