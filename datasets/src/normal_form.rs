//! A normal form of Lean statements and goals, built from Lean tokens, for decontamination: two statements that differ only in layout, comments, attributes, the declaration's name, bound names, redundant parentheses or purely notational variants get the same form; statements that differ in anything Lean elaborates differently do not.
//!
//! The form is a fully parenthesized tree of the statement's type, read with Lean 4's and
//! Mathlib's precedences (`a + b * c` and `a + (b * c)` are one tree; `(a + b) * c` is
//! another; `∑ k ∈ s, a + k` is `(∑ k ∈ s, a) + k`, as Lean reads it). A signature's binders
//! become `∀` binders of its type, one name each, and every bound name becomes its depth,
//! so `(x y : ℝ) (h₀ : 0 < x) : …` and `(a : ℝ) (b : ℝ) (h : 0 < a) : …` agree; a binder no
//! later text mentions is an implication. What is unified, beyond layout and names:
//!
//! - `λ`/`fun`, `↦`/`=>`, `->`/`→`, `<->`/`↔`, `/\`/`∧`, `\/`/`∨`, `>=`/`≥`, `<=`/`≤`,
//!   `{{`/`⦃`, `«x»`/`x`;
//! - `a > b` is `b < a` and `a ≥ b` is `b ≤ a` (Lean defines them so);
//! - binder predicates: `∀ x > 0, P` is `∀ x, 0 < x → P`, `∃ x ∈ s, P` is `∃ x, x ∈ s ∧ P`;
//! - `∑ x in s, f` (older Mathlib) is `∑ x ∈ s, f`, and likewise `∏`;
//! - notations and the constants they stand for: `π`/`Real.pi`, `√x`/`Real.sqrt x`,
//!   `|x|`/`abs x`, `‖x‖`/`norm x`, `n !`/`Nat.factorial n`, `f <| x`/`f x`.
//!
//! What is never unified: numbers, operators, casts and ascriptions (`(2 : ℝ)` and `2`,
//! `↑n` and `n`), binder types, generalized field notation (`s.card` and `Finset.card s`:
//! telling them apart needs types), namespaces (`Real.sqrt` and `Nat.sqrt`), `≠` and `¬ =`.
//! A part the reader does not understand (an `if`, a `match`, a set-builder) keeps its
//! parentheses and its tokens, so it is compared as text, never guessed at.

use std::fmt::Write as _;

/// The normal form of a statement (`theorem NAME binders : type := …`, or `lemma`,
/// `example`, with docstrings, attributes and modifiers), as a string to compare; statements
/// that are not theorem-shaped are compared by their tokens (comments and layout aside).
pub fn statement_normal_form(statement: &str) -> String {
    let tokens = tokenize(statement);
    match signature(&tokens) {
        Some((binders, conclusion)) => match parse_signature(binders, conclusion) {
            Ok(term) => format!("T{}", print(&term)),
            Err(()) => lexical(binders, conclusion),
        },
        None => format!("L{}", join(&tokens)),
    }
}

/// The normal form of a goal as Lean prints it (`x y : ℝ`, `h₀ : 0 < x`, `⊢ x = y`), in the
/// same space as [`statement_normal_form`]: a goal and a statement whose binders and type it
/// shows agree. `None` for anything but one goal of named hypotheses (a `let` value, two
/// goals, no `⊢`).
pub fn goal_normal_form(goal: &str) -> Option<String> {
    let mut entries: Vec<String> = Vec::new();
    for line in goal.lines() {
        if line.trim().is_empty() {
            continue;
        }
        match entries.last_mut() {
            Some(entry) if line.starts_with(char::is_whitespace) => {
                entry.push(' ');
                entry.push_str(line.trim());
            }
            _ => entries.push(line.trim().to_owned()),
        }
    }
    let mut hypotheses: Vec<(Vec<String>, Vec<Token>)> = Vec::new();
    let mut target = None;
    for entry in &entries {
        if entry.starts_with("case ") || entry == "case" {
            continue;
        }
        if let Some(rest) = entry.strip_prefix('⊢') {
            if target.is_some() {
                return None;
            }
            target = Some(tokenize(rest));
            continue;
        }
        if target.is_some() {
            return None;
        }
        let (names, ty) = entry.split_once(" : ")?;
        let names: Vec<String> = names.split_whitespace().map(str::to_owned).collect();
        let ty = tokenize(ty);
        if names.is_empty() || ty.iter().any(|t| t.text == ":=") {
            return None;
        }
        hypotheses.push((names, ty));
    }
    let target = target?;
    let mut term = parse_or_opaque(&target);
    for (names, ty) in hypotheses.iter().rev() {
        let ty = parse_or_opaque(ty);
        for name in names.iter().rev() {
            term = Term::Bind {
                kind: "∀",
                name: name.clone(),
                ty: Some(Box::new(ty.clone())),
                domain: None,
                body: Box::new(term),
            };
        }
    }
    Some(format!("T{}", print(&term)))
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Num,
    Str,
    Sym,
    /// `.name` right after a closing bracket: generalized field notation on a term.
    Field,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    kind: Kind,
    text: String,
}

impl Token {
    fn is(&self, text: &str) -> bool {
        self.kind != Kind::Str && self.text == text
    }
}

/// Symbols of more than one character, longest first where one is a prefix of another.
const SYMBOLS: [&str; 38] = [
    "...", "<->", "⁻¹'", "|>.", ":=", "=>", "->", "<-", "<=", ">=", "!=", "==", "/\\", "\\/", "⁻¹",
    "''", "..", "::", "++", "×ˢ", "⌋₊", "⌉₊", "∃!", "{{", "}}", "||", "&&", "<|", "|>", "^^", "≠",
    "≤", "≥", "∀ᶠ", "∃ᶠ", "@[", "%[", "<;>",
];

/// Lean's letters: alphabetic characters but `λ`, `Π`, `Σ`.
fn is_letter(c: char) -> bool {
    c.is_alphabetic() && !matches!(c, 'λ' | 'Π' | 'Σ')
}

fn is_subscript(c: char) -> bool {
    matches!(c, '\u{2080}'..='\u{209C}' | '\u{1D62}'..='\u{1D6A}' | '\u{2C7C}')
}

fn is_id_start(c: char) -> bool {
    is_letter(c) || c == '_'
}

fn is_id_rest(c: char) -> bool {
    is_letter(c)
        || c.is_alphanumeric()
        || matches!(c, '_' | '\'' | '!' | '?' | '✝')
        || is_subscript(c)
        || matches!(c, '⁰' | '¹' | '²' | '³' | '⁴'..='⁹')
}

/// Lean tokens of `text`: comments and docstrings dropped, `«x»` read as `x` where `x` is a
/// plain name, and the purely lexical variants made one.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if at(i, "--") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/-") {
            let mut depth = 0;
            while i < chars.len() {
                if at(i, "/-") {
                    depth += 1;
                    i += 2;
                } else if at(i, "-/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            tokens.push(Token {
                kind: Kind::Str,
                text: chars[start..i].iter().collect(),
            });
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            tokens.push(Token {
                kind: Kind::Str,
                text: chars[i..i + 3].iter().collect(),
            });
            i += 3;
        } else if is_id_start(c) || c == '«' {
            let (name, end) = identifier(&chars, i);
            i = end;
            tokens.push(Token {
                kind: Kind::Ident,
                text: name,
            });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            tokens.push(Token {
                kind: Kind::Num,
                text: chars[start..i].iter().collect(),
            });
        } else if c == '.'
            && tokens.last().is_some_and(|t| {
                matches!(t.text.as_str(), ")" | "⟩" | "]" | "}" | "|" | "‖")
                    && !chars[i - 1].is_whitespace()
            })
            && chars
                .get(i + 1)
                .is_some_and(|&n| is_id_start(n) || n.is_ascii_digit())
        {
            let (name, end) = identifier(&chars, i + 1);
            i = end;
            tokens.push(Token {
                kind: Kind::Field,
                text: name,
            });
        } else {
            let symbol = SYMBOLS
                .iter()
                .find(|s| at(i, s))
                .map_or_else(|| c.to_string(), |s| (*s).to_owned());
            i += symbol.chars().count();
            tokens.push(Token {
                kind: Kind::Sym,
                text: synonym(&symbol).to_owned(),
            });
        }
    }
    for token in &mut tokens {
        if token.kind == Kind::Ident && token.text == "Real.pi" {
            token.text = "π".into();
        }
    }
    tokens
}

/// The one spelling of a symbol with several.
fn synonym(symbol: &str) -> &str {
    match symbol {
        "λ" => "fun",
        "↦" => "=>",
        "->" => "→",
        "<->" => "↔",
        "/\\" => "∧",
        "\\/" => "∨",
        ">=" => "≥",
        "<=" => "≤",
        "{{" => "⦃",
        "}}" => "⦄",
        other => other,
    }
}

/// A (possibly dotted) identifier from `start`, `«»` quoting removed where the part is a
/// plain name; the end index.
fn identifier(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    let mut name = String::new();
    loop {
        if chars.get(i) == Some(&'«') {
            let close = chars[i..].iter().position(|&c| c == '»').map(|p| i + p);
            let Some(close) = close else {
                name.extend(&chars[i..]);
                return (name, chars.len());
            };
            let part: String = chars[i + 1..close].iter().collect();
            if crate::lean::is_atomic_identifier(&part) {
                name.push_str(&part);
            } else {
                name.push('«');
                name.push_str(&part);
                name.push('»');
            }
            i = close + 1;
        } else if chars.get(i).is_some_and(|&c| is_id_start(c)) {
            while chars.get(i).is_some_and(|&c| is_id_rest(c)) {
                name.push(chars[i]);
                i += 1;
            }
        } else if chars.get(i).is_some_and(char::is_ascii_digit) && name.ends_with('.') {
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                name.push(chars[i]);
                i += 1;
            }
        } else {
            return (name, i);
        }
        let dotted = chars.get(i) == Some(&'.')
            && chars
                .get(i + 1)
                .is_some_and(|&c| is_id_start(c) || c == '«' || c.is_ascii_digit());
        if !dotted {
            return (name, i);
        }
        name.push('.');
        i += 1;
    }
}

fn join(tokens: &[Token]) -> String {
    let mut text = String::new();
    for (i, token) in tokens.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        if token.kind == Kind::Field {
            text.push('.');
        }
        text.push_str(&token.text);
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The declaration around the statement

/// The binders and the type of a theorem-shaped statement: docstrings (already gone with the
/// comments), attributes, modifiers, the keyword, the name (with its universes) and
/// everything from the first top-level `:=` on are dropped.
fn signature(tokens: &[Token]) -> Option<(&[Token], &[Token])> {
    let mut i = 0;
    loop {
        let token = tokens.get(i)?;
        if token.is("@[") {
            i = matching(tokens, i)? + 1;
        } else if matches!(
            token.text.as_str(),
            "private" | "protected" | "noncomputable" | "nonrec" | "partial" | "unsafe"
        ) && token.kind == Kind::Ident
        {
            i += 1;
        } else {
            break;
        }
    }
    let keyword = tokens.get(i)?;
    i += 1;
    match keyword.text.as_str() {
        "theorem" | "lemma" => {
            tokens.get(i).filter(|t| t.kind == Kind::Ident)?;
            i += 1;
            if tokens.get(i).is_some_and(|t| t.is("."))
                && tokens.get(i + 1).is_some_and(|t| t.is("{"))
            {
                i = matching(tokens, i + 1)? + 1;
            }
        }
        "example" => {}
        _ => return None,
    }
    let rest = &tokens[i..];
    let end = top_level(rest, ":=").unwrap_or(rest.len());
    let rest = &rest[..end];
    let colon = top_level(rest, ":")?;
    Some((&rest[..colon], &rest[colon + 1..]))
}

/// The index of the first `text` outside every bracket.
fn top_level(tokens: &[Token], text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        if token.kind == Kind::Sym {
            if is_open(&token.text) {
                depth += 1;
            } else if is_close(&token.text) {
                depth = depth.saturating_sub(1);
            }
        }
        if depth == 0 && token.is(text) {
            return Some(i);
        }
    }
    None
}

fn is_open(text: &str) -> bool {
    matches!(text, "(" | "[" | "{" | "⟨" | "⦃" | "⌊" | "⌈" | "@[" | "%[")
}

fn is_close(text: &str) -> bool {
    matches!(text, ")" | "]" | "}" | "⟩" | "⦄" | "⌋" | "⌉" | "⌋₊" | "⌉₊")
}

/// The index of the bracket closing the one at `open`.
fn matching(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        if token.kind != Kind::Sym {
            continue;
        }
        if is_open(&token.text) {
            depth += 1;
        } else if is_close(&token.text) {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The token form of a statement the tree reader could not take apart.
fn lexical(binders: &[Token], conclusion: &[Token]) -> String {
    format!("L{} : {}", join(binders), join(conclusion))
}

// ---------------------------------------------------------------------------------------------
// Terms

#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// A name, a number, a string or a constant symbol.
    Atom(String),
    /// A head applied to arguments (never nested in its head).
    App(Vec<Term>),
    /// An operator or a bracket form, by its canonical name.
    Op(&'static str, Vec<Term>),
    /// `.name` on a term.
    Field(String, Box<Term>),
    /// One bound name: `∀`, `∃`, `∃!`, `fun`, `∑`, `∏`.
    Bind {
        kind: &'static str,
        name: String,
        ty: Option<Box<Term>>,
        /// `∈ s` of a big operator, with its relation.
        domain: Option<(&'static str, Box<Term>)>,
        body: Box<Term>,
    },
    /// Tokens kept as they are, brackets included.
    Opaque(Vec<Token>),
}

const MAX: u32 = 1024;

/// Infix operators: (precedence, associativity, canonical name). `L`eft, `R`ight, `N`one.
fn infix(token: &Token) -> Option<(u32, char, &'static str)> {
    if token.kind != Kind::Sym {
        return None;
    }
    Some(match token.text.as_str() {
        "<|" => (10, 'R', "<|"),
        "↔" => (20, 'N', "↔"),
        "→" => (25, 'R', "→"),
        "∨" => (30, 'R', "∨"),
        "∧" => (35, 'R', "∧"),
        "×" => (35, 'R', "×"),
        "=" => (50, 'N', "="),
        "≠" => (50, 'N', "≠"),
        "<" => (50, 'N', "<"),
        ">" => (50, 'N', ">"),
        "≤" => (50, 'N', "≤"),
        "≥" => (50, 'N', "≥"),
        "∈" => (50, 'N', "∈"),
        "∉" => (50, 'N', "∉"),
        "∣" => (50, 'N', "∣"),
        "⊆" => (50, 'N', "⊆"),
        "⊂" => (50, 'N', "⊂"),
        "⊇" => (50, 'N', "⊇"),
        "⊃" => (50, 'N', "⊃"),
        "≡" => (50, 'N', "≡"),
        "==" => (50, 'N', "=="),
        "≈" => (50, 'N', "≈"),
        "+" => (65, 'L', "+"),
        "-" => (65, 'L', "-"),
        "∪" => (65, 'L', "∪"),
        "++" => (65, 'L', "++"),
        "::" => (67, 'R', "::"),
        "⊔" => (68, 'L', "⊔"),
        "⊓" => (69, 'L', "⊓"),
        "*" => (70, 'L', "*"),
        "/" => (70, 'L', "/"),
        "%" => (70, 'L', "%"),
        "∩" => (70, 'L', "∩"),
        "\\" => (70, 'L', "\\"),
        "•" => (73, 'R', "•"),
        "^" => (75, 'R', "^"),
        "⁻¹'" => (80, 'L', "⁻¹'"),
        "''" => (80, 'L', "''"),
        "×ˢ" => (82, 'R', "×ˢ"),
        "∘" => (90, 'R', "∘"),
        _ => return None,
    })
}

/// Words that end a term (or start one the reader does not take apart).
fn is_keyword(text: &str) -> bool {
    matches!(
        text,
        "fun"
            | "if"
            | "then"
            | "else"
            | "let"
            | "have"
            | "show"
            | "from"
            | "by"
            | "at"
            | "with"
            | "match"
            | "do"
            | "in"
            | "calc"
            | "using"
    )
}

/// A binary operator node, with `>` and `≥` (and `⊇`, `⊃`) turned around as Lean defines
/// them and `f <| x` an application.
fn binary(name: &'static str, lhs: Term, rhs: Term) -> Term {
    match name {
        ">" => Term::Op("<", vec![rhs, lhs]),
        "≥" => Term::Op("≤", vec![rhs, lhs]),
        "⊇" => Term::Op("⊆", vec![rhs, lhs]),
        "⊃" => Term::Op("⊂", vec![rhs, lhs]),
        "<|" => apply(lhs, vec![rhs]),
        _ => Term::Op(name, vec![lhs, rhs]),
    }
}

/// `head args`, flattened: `(f a) b` is `f a b`.
fn apply(head: Term, args: Vec<Term>) -> Term {
    match head {
        Term::App(mut items) => {
            items.extend(args);
            Term::App(items)
        }
        head => {
            let mut items = vec![head];
            items.extend(args);
            Term::App(items)
        }
    }
}

fn atom(text: &str) -> Term {
    Term::Atom(text.to_owned())
}

/// A term from all of `tokens`, or the tokens kept as they are.
fn parse_or_opaque(tokens: &[Token]) -> Term {
    parse_all(tokens).unwrap_or_else(|()| Term::Opaque(tokens.to_vec()))
}

fn parse_all(tokens: &[Token]) -> Result<Term, ()> {
    let mut parser = Parser { tokens, at: 0 };
    let term = parser.expr(0)?;
    if parser.at == tokens.len() {
        Ok(term)
    } else {
        Err(())
    }
}

/// A signature's binders around its type.
fn parse_signature(binders: &[Token], conclusion: &[Token]) -> Result<Term, ()> {
    let mut parser = Parser {
        tokens: binders,
        at: 0,
    };
    let mut names = Vec::new();
    while parser.at < binders.len() {
        names.extend(parser.binder_group(true)?);
    }
    let body = parse_or_opaque(conclusion);
    Ok(bind_all("∀", names, body))
}

/// One name of a binder group: its name, its type, and a binder predicate (`> 0`).
type Bound = (String, Option<Term>, Option<(&'static str, Term)>);

/// `kind` binders around `body`, innermost last; binder predicates become hypotheses.
fn bind_all(kind: &'static str, names: Vec<Bound>, mut body: Term) -> Term {
    for (name, ty, predicate) in names.into_iter().rev() {
        let mut domain = None;
        if let Some((relation, bound)) = predicate {
            if matches!(kind, "∑" | "∏") {
                domain = Some((relation, Box::new(bound)));
            } else {
                let condition = binary(relation, Term::Atom(name.clone()), bound);
                body = match kind {
                    "∃" | "∃!" => Term::Op("∧", vec![condition, body]),
                    _ => Term::Op("→", vec![condition, body]),
                };
            }
        }
        body = Term::Bind {
            kind,
            name,
            ty: ty.map(Box::new),
            domain,
            body: Box::new(body),
        };
    }
    body
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_is(&self, text: &str) -> bool {
        self.peek().is_some_and(|t| t.is(text))
    }

    fn expect(&mut self, text: &str) -> Result<(), ()> {
        if self.peek_is(text) {
            self.at += 1;
            Ok(())
        } else {
            Err(())
        }
    }

    /// A term whose operators bind at least as tightly as `min`.
    fn expr(&mut self, min: u32) -> Result<Term, ()> {
        let (mut lhs, mut lhs_prec) = self.leading()?;
        while let Some((prec, assoc, name)) = self.peek().and_then(infix) {
            let needed = if assoc == 'L' { prec } else { prec + 1 };
            if prec < min || lhs_prec < needed {
                break;
            }
            self.at += 1;
            let rhs = self.expr(if assoc == 'R' { prec } else { prec + 1 })?;
            lhs = binary(name, lhs, rhs);
            lhs_prec = prec;
        }
        Ok(lhs)
    }

    /// A term that starts here, with the precedence of its result.
    fn leading(&mut self) -> Result<(Term, u32), ()> {
        let token = self.peek().ok_or(())?.clone();
        let text = token.text.as_str();
        if token.kind == Kind::Sym || token.kind == Kind::Ident {
            match text {
                "-" => {
                    self.at += 1;
                    let arg = self.expr(75)?;
                    return Ok((Term::Op("neg", vec![arg]), 75));
                }
                "¬" => {
                    self.at += 1;
                    let arg = self.expr(40)?;
                    return Ok((Term::Op("¬", vec![arg]), MAX));
                }
                "√" => {
                    self.at += 1;
                    let arg = self.expr(100)?;
                    return Ok((Term::App(vec![atom("Real.sqrt"), arg]), 100));
                }
                "∀" | "∃" | "∃!" | "fun" => {
                    self.at += 1;
                    let kind = match text {
                        "∀" => "∀",
                        "∃" => "∃",
                        "∃!" => "∃!",
                        _ => "fun",
                    };
                    let names = self.binders(kind)?;
                    self.expect(if kind == "fun" { "=>" } else { "," })?;
                    let body = self.expr(0)?;
                    return Ok((bind_all(kind, names, body), MAX - 1));
                }
                "∑" | "∏" => {
                    self.at += 1;
                    let kind = if text == "∑" { "∑" } else { "∏" };
                    let names = self.binders(kind)?;
                    self.expect(",")?;
                    let body = self.expr(67)?;
                    return Ok((bind_all(kind, names, body), 67));
                }
                _ => {}
            }
        }
        let head = self.argument()?;
        let mut args = Vec::new();
        while self.starts_argument() {
            args.push(self.argument()?);
        }
        if args.is_empty() {
            Ok((head, MAX))
        } else {
            Ok((apply(head, args), MAX))
        }
    }

    fn starts_argument(&self) -> bool {
        let Some(token) = self.peek() else {
            return false;
        };
        match token.kind {
            Kind::Ident => !is_keyword(&token.text),
            Kind::Num | Kind::Str => true,
            Kind::Field => false,
            Kind::Sym => matches!(
                token.text.as_str(),
                "(" | "[" | "{" | "⟨" | "⌊" | "⌈" | "↑" | "·" | "@" | "∅" | "⊤" | "⊥" | "‖"
            ),
        }
    }

    /// An argument: an atom or a bracket, with the postfixes that bind tighter than
    /// application (`.f`, `!`, `⁻¹`).
    fn argument(&mut self) -> Result<Term, ()> {
        let token = self.peek().ok_or(())?.clone();
        self.at += 1;
        let mut term = match (token.kind, token.text.as_str()) {
            (Kind::Ident, word) if is_keyword(word) => return Err(()),
            (Kind::Ident | Kind::Num | Kind::Str, _) => Term::Atom(token.text.clone()),
            (Kind::Field, _) => return Err(()),
            (Kind::Sym, "·" | "∅" | "⊤" | "⊥") => Term::Atom(token.text.clone()),
            (Kind::Sym, "@") => {
                let name = self.peek().filter(|t| t.kind == Kind::Ident).ok_or(())?;
                let text = format!("@{}", name.text);
                self.at += 1;
                Term::Atom(text)
            }
            (Kind::Sym, "↑") => Term::Op("↑", vec![self.argument()?]),
            (Kind::Sym, "|") => {
                let close = self.tokens[self.at..]
                    .iter()
                    .position(|t| t.is("|"))
                    .map(|p| self.at + p)
                    .ok_or(())?;
                let inner = parse_all(&self.tokens[self.at..close])?;
                self.at = close + 1;
                Term::App(vec![atom("abs"), inner])
            }
            (Kind::Sym, "‖") => {
                let close = self.tokens[self.at..]
                    .iter()
                    .position(|t| t.is("‖"))
                    .map(|p| self.at + p)
                    .ok_or(())?;
                let inner = parse_all(&self.tokens[self.at..close])?;
                self.at = close + 1;
                Term::App(vec![atom("norm"), inner])
            }
            (Kind::Sym, open) if is_open(open) => {
                let start = self.at - 1;
                let close = matching(self.tokens, start).ok_or(())?;
                self.at = close + 1;
                let whole = &self.tokens[start..=close];
                group(whole).unwrap_or_else(|()| Term::Opaque(whole.to_vec()))
            }
            _ => return Err(()),
        };
        loop {
            match self.peek() {
                Some(t) if t.kind == Kind::Field => {
                    term = Term::Field(t.text.clone(), Box::new(term));
                }
                Some(t) if t.is("!") => term = Term::App(vec![atom("Nat.factorial"), term]),
                Some(t) if t.is("⁻¹") => term = Term::Op("⁻¹", vec![term]),
                _ => break,
            }
            self.at += 1;
        }
        Ok(term)
    }

    /// The binders after `∀`, `∃`, `fun`, `∑`: names, bracket groups, a type for bare names
    /// and a binder predicate (`x > 0`, `x ∈ s`, `x in s`).
    fn binders(&mut self, kind: &'static str) -> Result<Vec<Bound>, ()> {
        let mut names: Vec<Bound> = Vec::new();
        let mut bare: Vec<String> = Vec::new();
        loop {
            let Some(token) = self.peek() else {
                return Err(());
            };
            if token.kind == Kind::Ident && !is_keyword(&token.text) {
                bare.push(token.text.clone());
                self.at += 1;
            } else if token.kind == Kind::Sym
                && matches!(token.text.as_str(), "(" | "{" | "⦃" | "[")
            {
                if !bare.is_empty() {
                    names.extend(bare.drain(..).map(|n| (n, None, None)));
                }
                names.extend(self.binder_group(false)?);
            } else {
                break;
            }
        }
        if bare.is_empty() {
            return if names.is_empty() { Err(()) } else { Ok(names) };
        }
        let mut ty = None;
        if self.peek_is(":") {
            self.at += 1;
            ty = Some(self.expr(0)?);
        }
        let relation = self.peek().and_then(|t| match t.text.as_str() {
            "∈" | "in" => Some("∈"),
            "∉" => Some("∉"),
            ">" => Some(">"),
            "<" => Some("<"),
            "≥" => Some("≥"),
            "≤" => Some("≤"),
            "≠" => Some("≠"),
            "⊆" => Some("⊆"),
            "⊂" => Some("⊂"),
            "∣" => Some("∣"),
            _ => None,
        });
        let mut predicate = None;
        if let Some(relation) = relation {
            if kind == "fun" {
                return Err(());
            }
            self.at += 1;
            predicate = Some((relation, self.expr(51)?));
        }
        // `∃ x y > 0, P` puts the predicate on every name, as Lean does.
        for name in bare {
            names.push((name, ty.clone(), predicate.clone()));
        }
        Ok(names)
    }

    /// One bracketed binder group (`(x y : T)`, `{x}`, `[Fintype α]`, `[inst : Fintype α]`);
    /// at the top of a signature a bare name is a group too.
    fn binder_group(&mut self, signature: bool) -> Result<Vec<Bound>, ()> {
        let token = self.peek().ok_or(())?.clone();
        if signature && token.kind == Kind::Ident && !is_keyword(&token.text) {
            self.at += 1;
            return Ok(vec![(token.text, None, None)]);
        }
        if token.kind != Kind::Sym || !matches!(token.text.as_str(), "(" | "{" | "⦃" | "[") {
            return Err(());
        }
        let close = matching(self.tokens, self.at).ok_or(())?;
        let inner = &self.tokens[self.at + 1..close];
        self.at = close + 1;
        let colon = top_level(inner, ":");
        if token.text == "[" && colon.is_none() {
            return Ok(vec![("_".into(), Some(parse_or_opaque(inner)), None)]);
        }
        let (names, ty) = match colon {
            Some(colon) => (&inner[..colon], Some(parse_or_opaque(&inner[colon + 1..]))),
            None => (inner, None),
        };
        if names.is_empty() || names.iter().any(|t| t.kind != Kind::Ident) {
            return Err(());
        }
        if ty.as_ref().is_some_and(|t| match t {
            Term::Opaque(tokens) => tokens.iter().any(|t| t.is(":=")),
            _ => false,
        }) {
            return Err(());
        }
        Ok(names
            .iter()
            .map(|n| (n.text.clone(), ty.clone(), None))
            .collect())
    }
}

/// A bracket and what it holds (`whole` includes both brackets).
fn group(whole: &[Token]) -> Result<Term, ()> {
    let open = whole[0].text.as_str();
    let close = whole[whole.len() - 1].text.as_str();
    let inner = &whole[1..whole.len() - 1];
    let mut parser = Parser {
        tokens: inner,
        at: 0,
    };
    let items = |parser: &mut Parser<'_>| -> Result<Vec<Term>, ()> {
        let mut items = Vec::new();
        if parser.tokens.is_empty() {
            return Ok(items);
        }
        loop {
            items.push(parser.expr(0)?);
            if parser.at == parser.tokens.len() {
                return Ok(items);
            }
            parser.expect(",")?;
        }
    };
    match open {
        "(" => {
            if inner.is_empty() {
                return Ok(atom("()"));
            }
            let first = parser.expr(0)?;
            let term = if parser.at == inner.len() {
                first
            } else if parser.peek_is(":") {
                parser.at += 1;
                let ty = parser.expr(0)?;
                if parser.at != inner.len() {
                    return Err(());
                }
                Term::Op(":", vec![first, ty])
            } else if parser.peek_is(",") {
                parser.at += 1;
                let mut all = vec![first];
                all.extend(items(&mut parser)?);
                Term::Op("tuple", all)
            } else {
                return Err(());
            };
            // `(· + 1)` is a function whose extent these parentheses decide.
            let cdot = inner
                .iter()
                .enumerate()
                .any(|(i, t)| t.is("·") && depth_at(inner, i) == 0);
            Ok(if cdot {
                Term::Op("·fun", vec![term])
            } else {
                term
            })
        }
        "[" => Ok(Term::Op("list", items(&mut parser)?)),
        "⟨" => Ok(Term::Op("⟨⟩", items(&mut parser)?)),
        "{" => {
            if top_level(inner, "|").is_some() || top_level(inner, ":").is_some() {
                return Err(());
            }
            Ok(Term::Op("{}", items(&mut parser)?))
        }
        "⌊" | "⌈" => {
            let term = parse_all(inner)?;
            Ok(match (open, close) {
                ("⌊", "⌋") => Term::Op("⌊⌋", vec![term]),
                ("⌊", "⌋₊") => Term::Op("⌊⌋₊", vec![term]),
                ("⌈", "⌉") => Term::Op("⌈⌉", vec![term]),
                ("⌈", "⌉₊") => Term::Op("⌈⌉₊", vec![term]),
                _ => return Err(()),
            })
        }
        _ => Err(()),
    }
}

/// The bracket depth of `tokens[index]`.
fn depth_at(tokens: &[Token], index: usize) -> usize {
    let mut depth = 0usize;
    for token in &tokens[..index] {
        if token.kind == Kind::Sym {
            if is_open(&token.text) {
                depth += 1;
            } else if is_close(&token.text) {
                depth = depth.saturating_sub(1);
            }
        }
    }
    depth
}

// ---------------------------------------------------------------------------------------------
// Printing, with bound names replaced by their depth

fn print(term: &Term) -> String {
    let mut out = String::new();
    let mut scope = Vec::new();
    write_term(term, &mut scope, &mut out);
    out
}

/// The name `text` stands for in `scope`: a bound name (or the head of a dotted name such as
/// `a.num`) becomes `#depth`.
fn resolve(text: &str, scope: &[String]) -> String {
    let (head, rest) = match text.find('.') {
        Some(dot) if dot > 0 => (&text[..dot], &text[dot..]),
        _ => (text, ""),
    };
    match scope.iter().rposition(|n| n == head) {
        Some(depth) => format!("#{depth}{rest}"),
        None => text.to_owned(),
    }
}

fn write_term(term: &Term, scope: &mut Vec<String>, out: &mut String) {
    match term {
        Term::Atom(text) => out.push_str(&resolve(text, scope)),
        Term::App(items) => {
            out.push_str("(@");
            for item in items {
                out.push(' ');
                write_term(item, scope, out);
            }
            out.push(')');
        }
        Term::Op(name, items) => {
            let _ = write!(out, "({name}");
            for item in items {
                out.push(' ');
                write_term(item, scope, out);
            }
            out.push(')');
        }
        Term::Field(name, of) => {
            out.push_str("(.");
            out.push_str(name);
            out.push(' ');
            write_term(of, scope, out);
            out.push(')');
        }
        Term::Bind {
            kind,
            name,
            ty,
            domain,
            body,
        } => {
            let write_ty = |scope: &mut Vec<String>, out: &mut String| match ty {
                Some(ty) => write_term(ty, scope, out),
                None => out.push('_'),
            };
            if *kind == "∀" && domain.is_none() && (name == "_" || !mentions(body, name)) {
                // A hypothesis: its name is never used, so it is an implication.
                out.push_str("(→ ");
                write_ty(scope, out);
                out.push(' ');
                write_term(body, scope, out);
                out.push(')');
                return;
            }
            let _ = write!(out, "({kind} #{} ", scope.len());
            write_ty(scope, out);
            if let Some((relation, domain)) = domain {
                let _ = write!(out, " {relation} ");
                write_term(domain, scope, out);
            }
            out.push(' ');
            scope.push(name.clone());
            write_term(body, scope, out);
            scope.pop();
            out.push(')');
        }
        Term::Opaque(tokens) => {
            out.push('{');
            for (i, token) in tokens.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                match token.kind {
                    Kind::Ident => out.push_str(&resolve(&token.text, scope)),
                    Kind::Field => {
                        out.push('.');
                        out.push_str(&token.text);
                    }
                    _ => out.push_str(&token.text),
                }
            }
            out.push('}');
        }
    }
}

/// Whether `name` occurs in `term` (shadowed or not: a conservative answer).
fn mentions(term: &Term, name: &str) -> bool {
    let names = |text: &str| {
        let head = text.split('.').next().unwrap_or(text);
        head == name
    };
    match term {
        Term::Atom(text) => names(text),
        Term::App(items) | Term::Op(_, items) => items.iter().any(|t| mentions(t, name)),
        Term::Field(_, of) => mentions(of, name),
        Term::Bind {
            ty, domain, body, ..
        } => {
            ty.as_deref().is_some_and(|t| mentions(t, name))
                || domain.as_ref().is_some_and(|(_, d)| mentions(d, name))
                || mentions(body, name)
        }
        Term::Opaque(tokens) => tokens
            .iter()
            .any(|t| t.kind == Kind::Ident && names(&t.text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) {
        assert_eq!(
            statement_normal_form(a),
            statement_normal_form(b),
            "\n{a}\n{b}"
        );
    }

    fn differ(a: &str, b: &str) {
        assert_ne!(
            statement_normal_form(a),
            statement_normal_form(b),
            "\n{a}\n{b}"
        );
    }

    #[test]
    fn layout_names_comments_attributes_and_modifiers_do_not_matter() {
        let plain = "theorem t (x : ℕ) (h : 0 < x) : x ^ 3 ≠ 0 := by";
        same(
            plain,
            "theorem other  (x:ℕ)\n  (h:0<x) :\n    x^3 ≠ 0 := by sorry",
        );
        same(
            plain,
            "/-- A docstring. -/\n@[simp] private theorem «t» (x : ℕ) -- a comment\n (h : 0 < x) : x ^ 3 ≠ 0 :=",
        );
        same(plain, "lemma u (y : ℕ) (h₀ : 0 < y) : y^3 ≠ 0 := by");
        same(plain, "example (x : ℕ) (h : 0 < x) : x ^ 3 ≠ 0 := by");
        same(plain, "theorem t.{u} (x : ℕ) (h : 0 < x) : x ^ 3 ≠ 0 := by");
    }

    #[test]
    fn binders_parentheses_and_notations_are_unified() {
        same(
            "theorem t (p q:Prop) (hp : p) : p ∨ q := by",
            "theorem t (p : Prop) (q : Prop) (hp : p) : p \\/ q := by",
        );
        same(
            "theorem t (a b : ℕ) : (a * b) % 5 = (2 * a) := by",
            "theorem t (a b : ℕ) : a * b % 5 = 2 * a := by",
        );
        same(
            "theorem t : (fun x => x + 1) = λ y ↦ (y + 1) := by",
            "theorem t : (fun (z) => z + 1) = (fun w => w + 1) := by",
        );
        same(
            "theorem t (f : ℕ → ℕ) : ∀ x > 0, f x ≥ x := by",
            "theorem t (f : ℕ → ℕ) : ∀ x, 0 < x → x ≤ f x := by",
        );
        same(
            "theorem t (x : ℕ) (h₀ : x > 0) : x ≥ 1 := by",
            "theorem t (x : ℕ) : 0 < x → 1 ≤ x := by",
        );
        same(
            "theorem t : (∑ k in Finset.range 10, (k + 1) ^ 2) % 10 = 5 := by",
            "theorem t : (∑ x ∈ Finset.range 10, ((x + 1)^2)) % 10 = 5 := by sorry",
        );
        same(
            "theorem t : Real.cos (Real.pi / 7) = Real.sqrt 2 := by",
            "theorem t : Real.cos (π / 7) = √2 := by",
        );
        same(
            "theorem t (a b : ℝ) : a * b + abs (a - b) ≤ 1 := by",
            "theorem t (a b : ℝ) : a * b + |a - b| ≤ 1 := by",
        );
        same(
            "theorem t (n : ℕ) : 12 ∣ 4 ^ (n + 1) + 20 := by",
            "theorem t (n : ℕ) : 12∣4^(n+1) + 20 := by",
        );
        same(
            "theorem t (n : ℕ) : n ! < n ^ (n - 1) := by",
            "theorem t (n : ℕ) : (n)! < n^(n - 1) := by",
        );
        same(
            "theorem t : Nat.factorial 8 = 40320 := by",
            "theorem t : 8 ! = 40320 := by",
        );
        same(
            "theorem t : ¬∀ a b : ℤ, (∃ i j, a = 2 * i ∧ b = 2 * j) ↔ ∃ k, a ^ 2 + b ^ 2 = 8 * k := by",
            "theorem t : ¬ (∀ a b : ℤ, (∃ i j, a = 2*i ∧ b=2*j) ↔ (∃ k, a^2 + b^2 = 8*k)) := by",
        );
        same(
            "theorem t (f : ℝ → ℝ) (h₀ : ∀ (x) (_ : x ≠ -2), f x = 1 / (x + 2)) : f (f 1) = 3 / 7 := by",
            "theorem t (f : ℝ → ℝ) (h₀ : ∀ x, x ≠ -2 -> f x = 1 / (x + 2)) : f (f 1) = 3/7 := by",
        );
        same(
            "theorem t : ∀ x : ℝ, x ^ 2 ≥ 0 := by",
            "theorem t (y : ℝ) : 0 ≤ y ^ 2 := by",
        );
    }

    #[test]
    fn near_identical_but_different_statements_stay_different() {
        differ(
            "theorem t (x : ℝ) : x ^ 2 ≥ 0 := by",
            "theorem t (x : ℝ) : x ^ 3 ≥ 0 := by",
        );
        differ(
            "theorem t (x : ℝ) : x^2 ≥ 0 := by",
            "theorem t (x : ℕ) : x^2 ≥ 0 := by",
        );
        differ(
            "theorem t (x : ℝ) (h : 0 < x) : 0 < x ^ 3 := by",
            "theorem t (x : ℝ) : 0 < x ^ 3 := by",
        );
        differ(
            "theorem t (x : ℝ) (h : 0 < x) : 0 < x ^ 3 := by",
            "theorem t (x : ℝ) (h : 0 ≤ x) : 0 < x ^ 3 := by",
        );
        differ(
            "theorem t (a b c : ℕ) : (a + b) * c = 0 := by",
            "theorem t (a b c : ℕ) : a + b * c = 0 := by",
        );
        differ(
            "theorem t (a b c : ℕ) : a - (b - c) = 0 := by",
            "theorem t (a b c : ℕ) : a - b - c = 0 := by",
        );
        differ(
            "theorem t (a b c : ℕ) : (a ^ b) ^ c = 0 := by",
            "theorem t (a b c : ℕ) : a ^ b ^ c = 0 := by",
        );
        differ(
            "theorem t (a d : ℝ) : (∑ k in Finset.range 5, a + k * d) = 70 := by",
            "theorem t (a d : ℝ) : ∑ k ∈ Finset.range 5, (a + k * d) = 70 := by",
        );
        differ(
            "theorem t (x : ℝ) : -x ^ 2 ≤ 0 := by",
            "theorem t (x : ℝ) : (-x) ^ 2 ≤ 0 := by",
        );
        differ(
            "theorem t (x : ℕ) : (x : ℝ) = 2 := by",
            "theorem t (x : ℕ) : x = 2 := by",
        );
        differ(
            "theorem t : Real.sqrt 2 = 2 := by",
            "theorem t : Nat.sqrt 2 = 2 := by",
        );
        differ(
            "theorem t (x y : ℝ) (h : x < y) : x ≤ y := by",
            "theorem t (x y : ℝ) (h : y < x) : x ≤ y := by",
        );
        differ(
            "theorem t (f : ℕ → ℕ) (x : ℕ) : f x = x := by",
            "theorem t (f : ℕ → ℕ) : ∀ x, f x = x := by",
        );
        differ(
            "theorem t : (1000000 : ℝ) ^ ((1 : ℝ) / 3) = 100 := by",
            "theorem t : (1000000 : ℝ) ^ (1 / 3) = 100 := by",
        );
    }

    #[test]
    fn goals_meet_the_statements_they_print() {
        let goal = "b h v : ℝ\nh₀ : 0 < b ∧ 0 < h ∧ 0 < v\nh₁ : v = 1 / 3 * (b * h)\n⊢ v = 65";
        let statement = "theorem t (b h v : ℝ) (h₀ : 0 < b ∧ 0 < h ∧ 0 < v)\n    (h₁ : v = 1 / 3 * (b * h)) : v = 65 := by";
        assert_eq!(
            goal_normal_form(goal).as_deref(),
            Some(statement_normal_form(statement).as_str())
        );
        let long = "f : ℕ → ℕ\nh : ∀ (x : ℕ),\n    f x = x\n⊢ f 0 = 0";
        assert_eq!(
            goal_normal_form(long).as_deref(),
            Some(
                statement_normal_form("theorem t (f : ℕ → ℕ) (h : ∀ x : ℕ, f x = x) : f 0 = 0 :=")
                    .as_str()
            )
        );
        assert_eq!(goal_normal_form("x : ℕ := 3\n⊢ x = 3"), None);
        assert_eq!(goal_normal_form("⊢ p\n\n⊢ q"), None);
        assert_eq!(goal_normal_form("x : ℕ"), None);
    }

    #[test]
    fn what_the_reader_does_not_take_apart_is_compared_as_tokens() {
        same(
            "theorem t (x : ℕ) : (if x = 0 then 1 else x) > 0 := by",
            "theorem t (x : ℕ) : (if x = 0 then 1 else x)  >  0 := by",
        );
        differ(
            "theorem t (x : ℕ) : (if x = 0 then 1 else x) > 0 := by",
            "theorem t (x : ℕ) : (if x = 0 then 2 else x) > 0 := by",
        );
        differ("def f : ℕ := 1", "def f : ℕ := 2");
        same("def f : ℕ := 1", "def  f : ℕ := 1 -- one");
    }
}
