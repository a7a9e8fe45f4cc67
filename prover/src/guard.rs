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
//! 3. A line starting at column 0 with a command keyword (`theorem`, `lemma`, `def`, `example`,
//!    `instance`, `open` without `in`, `namespace`, `end`, `section`, `import`, `macro`,
//!    `syntax`, `elab`, `attribute`, and the other declaration keywords in [`COMMAND_KEYWORDS`]),
//!    or with `@[` or `/--`: spliced into a file, it would end the proof and start a command.
//! 4. A `#` directly followed by a letter: `#eval`, `#exit`, `#print`, … are commands. (This also
//!    refuses Mathlib's `#s` cardinality notation; such a tactic is rare and a cheap loss.)
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

/// Longest tactic text accepted, in characters.
pub const MAX_TACTIC_CHARS: usize = 4096;

/// Keywords that start a command when they begin a line at column 0.
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
    "noncomputable",
    "private",
    "protected",
    "partial",
    "unsafe",
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
    "deriving",
    "local",
    "scoped",
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
    /// A line at column 0 that starts a command.
    #[error("line {line} starts with `{keyword}` at column 0, which would leave the proof")]
    EscapesProof {
        /// The 1-based line number.
        line: usize,
        /// The keyword (or `@[`, `/--`).
        keyword: String,
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
        if tactic.trim().is_empty() {
            return Err(Rejection::Empty);
        }
        let chars = tactic.chars().count();
        if chars > MAX_TACTIC_CHARS {
            return Err(Rejection::TooLong {
                chars,
                limit: MAX_TACTIC_CHARS,
            });
        }
        if let Some(c) = tactic.chars().find(|&c| is_forbidden_char(c)) {
            return Err(Rejection::ControlCharacter { code: u32::from(c) });
        }
        if has_unterminated_comment(tactic) {
            return Err(Rejection::UnterminatedComment);
        }
        for (index, line) in tactic.lines().enumerate() {
            if let Some(keyword) = escaping_keyword(line) {
                return Err(Rejection::EscapesProof {
                    line: index + 1,
                    keyword: keyword.to_owned(),
                });
            }
        }
        if let Some(command) = hash_command(tactic) {
            return Err(Rejection::HashCommand {
                command: command.to_owned(),
            });
        }
        let words = words(tactic);
        for (i, word) in words.iter().enumerate() {
            if word.text == "set_option" {
                check_set_option(tactic, &words[i + 1..])?;
            }
            self.check_word(tactic, word)?;
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
    fn allows(&mut self, tactic: &str) -> bool {
        self.check(tactic).is_ok()
    }
}

/// Control characters other than `\n`, and the bidirectional embedding/override/isolate marks.
fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Lean block comments nest; an unclosed one comments out everything after the tactic.
fn has_unterminated_comment(text: &str) -> bool {
    let mut depth = 0usize;
    let mut rest = text;
    while !rest.is_empty() {
        if rest.starts_with("/-") {
            depth += 1;
            rest = &rest[2..];
        } else if depth > 0 && rest.starts_with("-/") {
            depth -= 1;
            rest = &rest[2..];
        } else {
            let step = rest.chars().next().map_or(1, char::len_utf8);
            rest = &rest[step..];
        }
    }
    depth > 0
}

/// The command keyword a column-0 line starts with, if any.
fn escaping_keyword(line: &str) -> Option<&str> {
    if line.starts_with("@[") {
        return Some("@[");
    }
    if line.starts_with("/--") {
        return Some("/--");
    }
    let first = words(line).into_iter().next()?;
    if first.start != 0 || !COMMAND_KEYWORDS.contains(&first.text) {
        return None;
    }
    // `open Real in simp` scopes a tactic and is fine; a bare `open` is a command.
    if first.text == "open" && words(line).iter().any(|w| w.text == "in") {
        return None;
    }
    Some(first.text)
}

/// The first `#name` in the text.
fn hash_command(text: &str) -> Option<&str> {
    text.match_indices('#').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        rest.chars().next().filter(|c| c.is_alphabetic())?;
        let len = rest
            .char_indices()
            .find(|&(_, c)| !(is_word_char(c) || c == '!'))
            .map_or(rest.len(), |(i, _)| i);
        Some(&text[at..at + 1 + len])
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
            ("have := @[implemented_by foo] 1", "implemented_by"),
            ("exact (extern \"f\")", "extern"),
            ("  axiom bad : False", "axiom"),
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
        ]);
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
        assert!(guard.allows("linarith"));
        assert!(!guard.allows("sorry"));
        assert!(!guard.allows(""));
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
