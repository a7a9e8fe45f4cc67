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

/// The name a statement declares, as written, if it names one.
///
/// `theorem NAME …`, `lemma NAME …`, `def NAME …`, `abbrev NAME …` (after modifiers such as
/// `noncomputable` or `private`) give `Some(NAME)`; `example` gives `None`. The name ends where
/// the identifier ends: universe parameters (`foo.{u}`) and binders written without a space
/// (`t(a : ℕ)`) are not part of it, and a `«…»` component may hold spaces and dots.
pub fn declaration_name(statement: &str) -> Option<String> {
    let (keyword_end, _) = declaration_keyword(statement)?;
    let rest = statement[keyword_end..].trim_start();
    let name = identifier_prefix(rest);
    (!name.is_empty()).then(|| name.to_owned())
}

/// Whether the statement's declaration is `private`: Lean then stores it under a mangled name
/// (`_private.<module>.0.NAME`), which is what `#print axioms` prints for it.
pub fn declares_private(statement: &str) -> bool {
    declaration_keyword(statement).is_some_and(|(_, private)| private)
}

/// The end of the declaration keyword of `statement` (`theorem`, `lemma`, `def`, `abbrev`), and
/// whether a `private` modifier comes before it; `None` for an `example` or no declaration.
fn declaration_keyword(statement: &str) -> Option<(usize, bool)> {
    let mut private = false;
    let mut offset = 0;
    for word in statement.split_inclusive(char::is_whitespace) {
        let start = offset;
        offset += word.len();
        match word.trim_end() {
            "theorem" | "lemma" | "def" | "abbrev" => {
                return Some((start + word.trim_end().len(), private));
            }
            "example" => return None,
            "private" => private = true,
            _ => {}
        }
    }
    None
}

/// Lean's `isIdFirst`: an ASCII letter, `_`, or a letter-like symbol (Greek, Coptic,
/// letter-like and mathematical script blocks, `λ`, `Π` and `Σ` excepted).
fn is_id_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || is_letter_like(c)
}

/// Lean's `isIdRest`: what may follow the first character of an identifier component.
fn is_id_rest(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '\'' | '!' | '?')
        || is_letter_like(c)
        || matches!(c, '\u{2080}'..='\u{2089}' | '\u{2090}'..='\u{209c}' | '\u{1d62}'..='\u{1d6a}')
}

fn is_letter_like(c: char) -> bool {
    matches!(c, '\u{3b1}'..='\u{3c9}' if c != 'λ')
        || matches!(c, '\u{391}'..='\u{3a9}' if c != 'Π' && c != 'Σ')
        || matches!(c, '\u{3ca}'..='\u{3fb}' | '\u{1f00}'..='\u{1ffe}' | '\u{2100}'..='\u{214f}' | '\u{1d49c}'..='\u{1d59f}')
}

/// The identifier `text` starts with: dot-separated components, each plain (`foo'`) or
/// escaped (`«foo bar»`); a `.` not followed by another component (as in `foo.{u}`) ends it.
fn identifier_prefix(text: &str) -> &str {
    let mut end = 0;
    loop {
        let rest = &text[end..];
        let component = if let Some(inner) = rest.strip_prefix('«') {
            inner
                .find('»')
                .map_or(0, |close| '«'.len_utf8() + close + '»'.len_utf8())
        } else if rest.starts_with(is_id_first) {
            rest.find(|c: char| !is_id_rest(c)).unwrap_or(rest.len())
        } else {
            0
        };
        if component == 0 {
            // A dot with no component after it belongs to what follows (`.{u}`).
            return &text[..end.saturating_sub(1)];
        }
        end += component;
        if !text[end..].starts_with('.') {
            return &text[..end];
        }
        end += 1;
    }
}

/// The components of a dotted name as written, `«»` removed: `A.«b c».d` gives `A`, `b c`, `d`.
fn name_components(name: &str) -> Vec<&str> {
    let mut components = Vec::new();
    let mut rest = name;
    while !rest.is_empty() {
        let (component, after) = match rest.strip_prefix('«').and_then(|r| r.split_once('»')) {
            Some((inner, after)) => (inner, after),
            None => rest
                .split_once('.')
                .map_or((rest, ""), |(c, _)| (c, &rest[c.len()..])),
        };
        components.push(component);
        rest = after.strip_prefix('.').unwrap_or(after);
    }
    components
}

/// A dotted name as Lean prints it (`Name.toString`): each component that is not a plain
/// identifier is escaped with `«»`, every other is written bare (`«foo»` prints as `foo`).
pub fn printed_name(name: &str) -> String {
    name_components(name)
        .into_iter()
        .map(|component| {
            let plain =
                component.starts_with(is_id_first) && component.chars().skip(1).all(is_id_rest);
            if plain {
                component.to_owned()
            } else {
                format!("«{component}»")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The full name of the constant a declaration named `name` (as written) declares after
/// `header`, as Lean prints it: `_root_.x` is `x`, anything else is prefixed with the
/// namespace the header leaves open ([`open_namespace`]).
pub fn full_declaration_name(header: &str, name: &str) -> String {
    match name.strip_prefix("_root_.") {
        Some(root) => printed_name(root),
        None => printed_name(&format!("{}{name}", open_namespace(header))),
    }
}

/// The namespace a header leaves open (`namespace A` … without its `end`), as a prefix for the
/// names declared after it: `"A.B."`, or empty.
///
/// As in Lean, `namespace A.B` and `section A.B` open one scope per component and `end B`
/// closes as many scopes as its name has components (a bare `end` closes one), so
/// `namespace A.B` … `end B` leaves `A` open.
pub fn open_namespace(header: &str) -> String {
    let mut scopes: Vec<Option<String>> = Vec::new();
    for line in header.lines() {
        let line = line.trim_start();
        let Some(keyword) = line.split_whitespace().next() else {
            continue;
        };
        let rest = line[keyword.len()..].trim_start();
        let (keyword, rest) = match (keyword, rest.strip_prefix("section")) {
            ("noncomputable", Some(after)) => ("section", after.trim_start()),
            _ => (keyword, rest),
        };
        let name = identifier_prefix(rest);
        let components = name_components(name);
        match keyword {
            "namespace" if !name.is_empty() => scopes.extend(
                components
                    .into_iter()
                    .map(|c| Some(printed_name(&format!("«{c}»")))),
            ),
            "section" => scopes.extend(std::iter::repeat_n(None, components.len().max(1))),
            "end" => {
                scopes.truncate(scopes.len().saturating_sub(components.len().max(1)));
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
    let hash = crate::hash::sha1_hex(text);
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
    fn declared_names_end_where_the_identifier_ends() {
        let name = |s: &str| declaration_name(s);
        assert_eq!(name("theorem t(a : ℕ) : a = a := by").as_deref(), Some("t"));
        assert_eq!(
            name("noncomputable def e {G : Type*} : G ≃* G :=").as_deref(),
            Some("e")
        );
        // Issue 20, audit row 5: universe parameters are not part of the name.
        assert_eq!(
            name("theorem foo.{u} (α : Sort u) (a : α) : a = a := by").as_deref(),
            Some("foo")
        );
        assert_eq!(
            name("theorem A.b.{u, v} : True := by").as_deref(),
            Some("A.b")
        );
        assert_eq!(
            name("theorem «foo bar» : True := by").as_deref(),
            Some("«foo bar»")
        );
        assert_eq!(
            name("theorem A.«b.c».d' : True").as_deref(),
            Some("A.«b.c».d'")
        );
        assert_eq!(name("theorem x₁ : True").as_deref(), Some("x₁"));
        assert_eq!(name("example : True := by"), None);
        assert!(declares_private("private theorem p : True := by"));
        assert!(!declares_private("theorem p : True := by"));
        assert_eq!(name("private theorem p : True").as_deref(), Some("p"));
    }

    #[test]
    fn full_names_follow_lean_scopes_and_printing() {
        assert_eq!(open_namespace("namespace A.B\nend B\n"), "A.");
        assert_eq!(open_namespace("namespace A.B\nend A.B\n"), "");
        assert_eq!(open_namespace("namespace A.B\nsection\nend\n"), "A.B.");
        assert_eq!(open_namespace("namespace A\nsection S.T\nend S.T\n"), "A.");
        assert_eq!(open_namespace("namespace A -- why\nend -- why\n"), "");
        assert_eq!(full_declaration_name("namespace A.B\nend B\n", "t"), "A.t");
        assert_eq!(full_declaration_name("namespace A\n", "_root_.t"), "t");
        assert_eq!(full_declaration_name("", "«foo bar»"), "«foo bar»");
        assert_eq!(full_declaration_name("", "«foo»"), "foo");
        assert_eq!(full_declaration_name("namespace «x y»\n", "z"), "«x y».z");
        assert_eq!(printed_name("A.«b.c».d'"), "A.«b.c».d'");
        assert_eq!(printed_name("«1x»"), "«1x»");
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
