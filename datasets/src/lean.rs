//! Lean source text: statements ending in `:= by`, trailing `sorry`, the proof splice, declaration names, whitespace-insensitive statement comparison.
//!
//! These are text operations only; nothing here parses Lean. Where the text decides a
//! verdict (the splice, the name whose axioms are printed), the checker relies on them byte for
//! byte, so they live in one place.

/// Normalizes a statement to end in `:= by`: drops a trailing `sorry` (miniF2F at v4.24.0)
/// and completes a bare `:=` (ProofNet).
pub fn statement_ending_in_by(statement: &str) -> Option<String> {
    let stripped = strip_trailing_sorry(statement);
    let trimmed = stripped.trim_end();
    if trimmed.ends_with(":= by") {
        Some(trimmed.to_owned())
    } else if trimmed.ends_with(":=") {
        Some(format!("{trimmed} by"))
    } else {
        None
    }
}

/// `… := by sorry` → `… := by`, `… := sorry` → `… :=`; other statements unchanged.
pub fn strip_trailing_sorry(statement: &str) -> String {
    let trimmed = statement.trim_end();
    match trimmed.strip_suffix("sorry") {
        Some(rest) if rest.trim_end().ends_with(":= by") || rest.trim_end().ends_with(":=") => {
            rest.trim_end().to_owned()
        }
        _ => statement.to_owned(),
    }
}

/// The statement with `sorry` for its proof: after `:= by` (or `:=`) on the same line, or, when
/// the text already ends in tactics (`… := by\n  intro x`), on a line of its own at the last
/// tactic's indentation, so that the sorry's goal is the state those tactics leave.
pub fn with_sorry(statement: &str) -> String {
    let text = strip_trailing_sorry(statement);
    let text = text.trim_end();
    if text.ends_with("by") || text.ends_with(":=") {
        return format!("{text} sorry");
    }
    let last_line = text.rsplit('\n').next().unwrap_or(text);
    let indent = last_line.len() - last_line.trim_start().len();
    format!("{text}\n{}sorry", &last_line[..indent])
}

/// The statement as compared with a reference: the signature before the final `:=` (a
/// trailing `by` and `sorry` dropped), every run of whitespace, line breaks included, made one
/// space. Whitespace is never deleted: `f x` and `fx` are different statements (with
/// auto-bound implicits `fx` is a fresh variable).
pub fn normalized_statement(statement: &str) -> String {
    let text = strip_trailing_sorry(statement);
    let text = text.trim_end();
    let text = text.strip_suffix("by").map_or(text, str::trim_end);
    let text = text.strip_suffix(":=").unwrap_or(text);
    collapse_whitespace(text)
}

/// A statement without its keyword and name ([`normalized_statement`] of what follows them):
/// what two datasets that name one theorem differently still share, for decontamination.
/// `theorem foo (x : ℕ) : x = x := by sorry` gives `(x : ℕ) : x = x`.
pub fn statement_body(statement: &str) -> String {
    let normalized = normalized_statement(statement);
    let mut rest = normalized.as_str();
    for keyword in ["theorem ", "lemma ", "example"] {
        if let Some(after) = rest.strip_prefix(keyword) {
            rest = after.trim_start();
            if keyword != "example" {
                // The name ends at a space or where a binder or the colon starts.
                let end = rest
                    .find(|c: char| c.is_whitespace() || matches!(c, '(' | '{' | '[' | '⦃' | ':'))
                    .unwrap_or(rest.len());
                rest = rest[end..].trim_start();
            }
            break;
        }
    }
    rest.to_owned()
}

/// Every run of whitespace made one space, the ends trimmed.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The declaration keyword of a statement and the name it declares, if it names one.
///
/// `theorem NAME …`, `lemma NAME …`, `def NAME …`, `abbrev NAME …` (after modifiers such as
/// `noncomputable`) give `Some(NAME)`; `example` gives `None`.
pub fn declaration_name(statement: &str) -> Option<String> {
    let mut words = statement.split_whitespace();
    while let Some(word) = words.next() {
        match word {
            "theorem" | "lemma" | "def" | "abbrev" => {
                return words.next().map(|name| {
                    // A binder may follow the name without a space: `theorem t(a : ℕ)`.
                    name.split(['(', '{', '[', '⦃', ':'])
                        .next()
                        .unwrap_or(name)
                        .to_owned()
                });
            }
            "example" => return None,
            _ => {}
        }
    }
    None
}

/// The namespace a header leaves open (`namespace A` … without its `end`), as a prefix for the
/// names declared after it: `"A.B."`, or empty.
pub fn open_namespace(header: &str) -> String {
    let mut scopes: Vec<Option<String>> = Vec::new();
    for line in header.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("namespace"), Some(name)) => scopes.push(Some(name.to_owned())),
            (Some("section"), _) => scopes.push(None),
            (Some("noncomputable"), Some("section")) => scopes.push(None),
            (Some("end"), _) => {
                scopes.pop();
            }
            _ => {}
        }
    }
    scopes
        .into_iter()
        .flatten()
        .map(|name| format!("{name}."))
        .collect()
}

/// The text of the theorem as checked: the statement byte for byte, then the proof.
pub fn splice(statement: &str, proof: &str) -> String {
    let mut text = statement.to_owned();
    if !proof.starts_with(char::is_whitespace) {
        text.push(' ');
    }
    text.push_str(proof);
    text
}

/// Renders a tactic script as the text after `:= by`: one tactic per line, indented two
/// spaces, continuation lines of multi-line tactics re-indented by the same amount.
pub fn script_to_proof(tactics: &[String]) -> String {
    let mut proof = String::new();
    for tactic in tactics {
        for line in tactic.lines() {
            proof.push_str("\n  ");
            proof.push_str(line);
        }
    }
    proof
}

/// The header of a whole Lean file `code` whose theorem is `statement`: the text before the
/// statement, minus a docstring that belongs to the theorem (None when the statement is absent).
pub fn header_from_lean_code(code: &str, statement: &str) -> Option<String> {
    let start = code.find(statement.trim_end())?;
    let before = &code[..start];
    // Drop a docstring that belongs to the theorem: it is not part of the environment.
    let cut = before
        .match_indices("/--")
        .filter(|(i, _)| *i == 0 || before.as_bytes()[i - 1] == b'\n')
        .map(|(i, _)| i)
        .last()
        .unwrap_or(before.len());
    Some(before[..cut].to_owned())
}

/// Words Lean reads as keywords, never as names: a declaration called one of them is refused.
const KEYWORDS: [&str; 62] = [
    "abbrev",
    "at",
    "attribute",
    "axiom",
    "by",
    "calc",
    "class",
    "def",
    "deriving",
    "do",
    "else",
    "end",
    "example",
    "export",
    "for",
    "forall",
    "from",
    "fun",
    "have",
    "if",
    "import",
    "in",
    "inductive",
    "infix",
    "infixl",
    "infixr",
    "instance",
    "lemma",
    "let",
    "local",
    "macro",
    "match",
    "mutual",
    "namespace",
    "noncomputable",
    "nomatch",
    "nofun",
    "notation",
    "open",
    "opaque",
    "partial",
    "postfix",
    "prefix",
    "private",
    "protected",
    "Prop",
    "return",
    "section",
    "set_option",
    "show",
    "Sort",
    "structure",
    "suffices",
    "syntax",
    "then",
    "theorem",
    "Type",
    "universe",
    "unsafe",
    "variable",
    "where",
    "with",
];

/// Lean's letters: alphabetic characters but `λ`, `Π`, `Σ` (which are notation).
fn is_lean_letter(c: char) -> bool {
    c.is_alphabetic() && !matches!(c, 'λ' | 'Π' | 'Σ')
}

fn is_lean_subscript(c: char) -> bool {
    matches!(c, '\u{2080}'..='\u{209C}' | '\u{1D62}'..='\u{1D6A}' | '\u{2C7C}')
}

fn is_identifier_start(c: char) -> bool {
    is_lean_letter(c) || c == '_'
}

fn is_identifier_rest(c: char) -> bool {
    is_identifier_start(c)
        || c.is_alphanumeric()
        || matches!(c, '\'' | '!' | '?')
        || is_lean_subscript(c)
}

/// Whether `part` is one component of a name Lean reads without `«»`: a letter or `_`, then
/// letters, digits, `_`, `'`, `!`, `?` and subscripts, and not a keyword (nor `_` alone,
/// which is a hole).
pub fn is_atomic_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    let starts = chars.next().is_some_and(is_identifier_start);
    starts && chars.all(is_identifier_rest) && part != "_" && !KEYWORDS.contains(&part)
}

/// Whether `name` is a name Lean accepts after `theorem`: dot-separated components, each
/// [`is_atomic_identifier`] or quoted as `«…»` (the quoted text non-empty, without `»`,
/// line breaks or other control characters).
pub fn is_lean_identifier(name: &str) -> bool {
    let mut rest = name;
    loop {
        let end = if let Some(quoted) = rest.strip_prefix('«') {
            let Some(close) = quoted.find('»') else {
                return false;
            };
            let inner = &quoted[..close];
            if inner.is_empty() || inner.chars().any(char::is_control) {
                return false;
            }
            '«'.len_utf8() + close + '»'.len_utf8()
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            if !is_atomic_identifier(&rest[..end]) {
                return false;
            }
            end
        };
        match rest[end..].strip_prefix('.') {
            None if end == rest.len() => return true,
            Some(next) if !next.is_empty() => rest = next,
            _ => return false,
        }
    }
}

/// A name Lean accepts (one component, [`is_atomic_identifier`]) made from `text`, such as a
/// dataset's name: kept as it is where it already is one; otherwise every character a name
/// cannot hold (`-`, `.`, spaces, line breaks, control characters) becomes `_`, a leading
/// digit gets `t_` before it, a keyword `_` after it, and a short hash of `text` is appended,
/// so two texts never give one name.
pub fn lean_identifier_from(text: &str) -> String {
    if is_atomic_identifier(text) {
        return text.to_owned();
    }
    let mut name: String = text
        .chars()
        .take(100)
        .map(|c| if is_identifier_rest(c) { c } else { '_' })
        .collect();
    if !name.starts_with(is_identifier_start) {
        name.insert_str(0, "t_");
    }
    let hash = sha1_smol::Sha1::from(text).digest().to_string();
    name = format!("{name}_{}", &hash[..8]);
    debug_assert!(is_atomic_identifier(&name));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorry_goes_after_by_or_after_the_last_tactic() {
        assert_eq!(
            with_sorry("theorem t : p := by"),
            "theorem t : p := by sorry"
        );
        assert_eq!(
            with_sorry("theorem t : p := by sorry"),
            "theorem t : p := by sorry"
        );
        assert_eq!(
            with_sorry("theorem t : p ∧ q := by\n  constructor\n  · exact hp"),
            "theorem t : p ∧ q := by\n  constructor\n  · exact hp\n  sorry"
        );
    }

    #[test]
    fn statement_bodies_ignore_the_name_and_the_layout() {
        assert_eq!(
            statement_body("theorem foo (x : ℕ) :\n    x = x := by sorry"),
            "(x : ℕ) : x = x"
        );
        assert_eq!(
            statement_body("lemma bar(x : ℕ) : x = x := by"),
            statement_body("theorem baz  (x : ℕ) : x = x :=")
        );
        assert_eq!(statement_body("example : 1 = 1 := by"), ": 1 = 1");
        assert_ne!(
            statement_body("theorem a (x : ℕ) : x = x"),
            statement_body("theorem a (y : ℕ) : y = y")
        );
    }

    #[test]
    fn the_splice_reindents_multi_line_tactics() {
        let p = script_to_proof(&["intro x".into(), "have h : 0 < 2 := by\n  norm_num".into()]);
        assert_eq!(p, "\n  intro x\n  have h : 0 < 2 := by\n    norm_num");
    }

    #[test]
    fn lean_identifiers_are_recognised_and_made() {
        for good in [
            "foo",
            "h₀",
            "x'",
            "Nat.add_comm",
            "«foo bar»",
            "«a-b».c",
            "_x",
            "α₁",
        ] {
            assert!(is_lean_identifier(good), "{good}");
        }
        for bad in [
            "",
            "amc12a-2019-p21",
            "1abc",
            "a..b",
            "a.",
            ".a",
            "fun",
            "_",
            "a b",
            "«»",
            "«a\nb»",
            "«a",
            "x\naxiom y : False",
            "a\u{1b}[2J",
        ] {
            assert!(!is_lean_identifier(bad), "{bad:?}");
        }
        assert_eq!(lean_identifier_from("mathd_algebra_10"), "mathd_algebra_10");
        let made = lean_identifier_from("amc12a-2019-p21");
        assert!(made.starts_with("amc12a_2019_p21_"), "{made}");
        for text in [
            "amc12a-2019-p21",
            "amc12a_2019-p21",
            "x\naxiom y : False",
            "2019",
            "fun",
            "",
            "a.b",
            "«q»",
        ] {
            let name = lean_identifier_from(text);
            assert!(is_atomic_identifier(&name), "{text:?} gave {name:?}");
            assert!(!name.contains(['\n', '.', ' ']), "{name:?}");
        }
        assert_ne!(lean_identifier_from("a-b"), lean_identifier_from("a_b"));
        assert_ne!(lean_identifier_from("a-b"), lean_identifier_from("a.b"));
    }
}
