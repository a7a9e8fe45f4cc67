//! Reading Lean goal text as the REPL prints it: goals, hypotheses, targets, and the term shapes a tactic policy keys on.
//!
//! The REPL hands goals over as pretty-printed text, never as terms, so anything that wants to
//! react to the *shape* of a goal (the [`crate::portfolio`] policy, prompt builders, logs) has to
//! read that text back. This module does that, approximately and without ever failing:
//!
//! - [`parse_goals`] splits a state (goals separated by blank lines, as the search's canonical
//!   state text has them) into [`Goal`]s: an optional `case` tag, hypothesis lines
//!   (`x y : ℕ` is one [`Hypothesis`] with two names) and the `⊢` target. Continuation lines,
//!   which Lean indents when it wraps a long hypothesis or target, are joined with one space.
//! - [`head`], [`split_binary`], [`intro_binders`] and [`exists_binders`] look at a term's
//!   outermost structure with a small precedence scanner (Lean's precedences for `↔ → ∨ ∧`,
//!   relations, `+ - * / ^`), aware of brackets, `|x|`, and binders that extend to the end of
//!   the term (`∀`, `∃`, `fun`) or only over a product-level body (`∑`, `∏`).
//! - [`Goal`] methods answer the portfolio's questions: which hypotheses are `∃`/`∧`/`∨`, which
//!   are `x = e` with a variable side, which ℕ/ℤ variables have numeric bounds.
//!
//! This is a heuristic reader of *pretty-printed* text, not a Lean parser: notation it does not
//! know is treated as an opaque operand, and a misread only costs a proposed tactic that Lean then
//! rejects. Every function is total: any input, however malformed, yields some answer without a
//! panic (the tests include random strings).

use std::collections::BTreeSet;
use std::fmt;

/// One goal: `case tag`, hypotheses, `⊢ target`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Goal {
    /// The tag of a `case tag` first line, if the goal has one.
    pub case: Option<String>,
    /// The hypothesis lines, in order.
    pub hypotheses: Vec<Hypothesis>,
    /// The text after `⊢`, continuation lines joined with single spaces.
    pub target: String,
}

/// One hypothesis line: `x y z : ℕ` has three names and one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hypothesis {
    /// The names before the colon. Names containing `✝` are inaccessible (see [`is_accessible`]).
    /// Empty only when the line had no ` : ` at all, which real goals never show.
    pub names: Vec<String>,
    /// The text after the colon, continuation lines joined with single spaces. For a `let`
    /// variable this keeps the value too (`ℕ := 5`), because Lean prints it on the same line.
    pub ty: String,
}

/// The outermost connective or relation of a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Head {
    /// `∀ x, P` (also `Π`).
    Forall,
    /// `∃ x, P`, `∃! x, P`.
    Exists,
    /// `P → Q`; also a function type `ℕ → ℝ`, which the text alone cannot tell apart.
    Implies,
    /// `P ↔ Q`.
    Iff,
    /// `P ∧ Q`.
    And,
    /// `P ∨ Q`.
    Or,
    /// `¬P`.
    Not,
    /// `a = b`.
    Eq,
    /// `a ≠ b`.
    Ne,
    /// `a < b`.
    Lt,
    /// `a ≤ b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a ≥ b`.
    Ge,
    /// `a ∣ b`.
    Dvd,
    /// `a ∈ s`.
    Mem,
    /// `a ∉ s`.
    NotMem,
    /// `s ⊆ t`, `s ⊂ t`.
    Subset,
    /// `a ≡ b [MOD n]` and friends.
    ModEq,
    /// `True`.
    True,
    /// `False`.
    False,
    /// Anything else: an application (`Nat.Prime p`), arithmetic, a type, unknown notation.
    Other,
}

impl Head {
    /// `=`, `≠`, `<`, `≤`, `>`, `≥`: the targets arithmetic deciders (`linarith`, …) speak about.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Head::Eq | Head::Ne | Head::Lt | Head::Le | Head::Gt | Head::Ge
        )
    }

    /// `<`, `≤`, `>`, `≥`.
    pub fn is_inequality(self) -> bool {
        matches!(self, Head::Lt | Head::Le | Head::Gt | Head::Ge)
    }

    /// The connectives of propositional logic, where `tauto` is at home.
    pub fn is_connective(self) -> bool {
        matches!(
            self,
            Head::Implies | Head::Iff | Head::And | Head::Or | Head::Not | Head::True | Head::False
        )
    }
}

/// A variable or hypothesis that `intro` would introduce from a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binder {
    /// The bound name, when the binder has one; `None` for an implication's premise, a `_`
    /// binder or an anonymous instance `[Fintype α]`.
    pub name: Option<String>,
    /// The binder's type when printed (`(x : ℝ)` → `ℝ`; a premise `P → …` → `P`).
    pub ty: Option<String>,
    /// `true` for a proof (a premise, or the `x > 0` part of `∀ x > 0,`), `false` for a variable.
    pub is_hypothesis: bool,
    /// For the hypothesis part of a binder predicate (`∀ x ∈ S,`), the variable it constrains,
    /// so a caller can name the proof `hx`.
    pub about: Option<String>,
}

/// A numeric bound on a variable found among the hypotheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The hypothesis that states it.
    pub hypothesis: String,
    /// The bounding term as printed (`10` in `x < 10`).
    pub value: String,
    /// Whether the bound is a closed numeral expression, which `interval_cases` needs.
    pub is_numeral: bool,
}

/// Where the bounds of one integer variable come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VarBounds {
    /// Hypotheses `c ≤ x`, `c < x`, `x ≥ c`, `x > c`.
    pub lower: Vec<Bound>,
    /// Hypotheses `x ≤ c`, `x < c`, `c ≥ x`, `c > x`.
    pub upper: Vec<Bound>,
    /// Hypotheses `x ∈ Finset.Icc a b` (and `Ico`, `Ioc`, `Ioo`, `range`, `Set.…`), which bound
    /// `x` on both sides once unfolded; `interval_cases` itself does not read them.
    pub membership: Vec<Membership>,
    /// Conjunctions such as `10 ≤ m ∧ m ≤ 99` that contain a bound once split.
    pub in_conjunction: Vec<String>,
}

/// A hypothesis `x ∈ Finset.Icc a b` and the lemma that unfolds it to inequalities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The hypothesis name.
    pub hypothesis: String,
    /// `Finset.mem_Icc`, `Set.mem_Ico`, `Finset.mem_range`, …
    pub lemma: String,
}

/// The two number types `interval_cases`, `omega` and `induction` care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntType {
    /// `ℕ` / `Nat`.
    Nat,
    /// `ℤ` / `Int`.
    Int,
}

// ---------------------------------------------------------------------------------------------
// Goals

/// Splits a proof state's text into goals.
///
/// Goals are normally separated by blank lines, but a line at column 0 after a goal's target
/// also starts a new goal, so goals printed back to back are read too. A block without a `⊢`
/// line (`no goals`, stray text) yields no goal. Never panics.
pub fn parse_goals(state_text: &str) -> Vec<Goal> {
    let mut goals = Vec::new();
    let mut current = GoalBuilder::default();
    let mut entry: Option<String> = None;
    for line in state_text.lines() {
        if line.trim().is_empty() {
            current.take_entry(&mut entry);
            // A blank line ends a goal only once it has its target: a blank line inside a
            // hypothesis (a string literal, say) must not cut the goal in two.
            if current.target.is_some() {
                goals.extend(current.finish());
            }
            continue;
        }
        let indented = line.starts_with(char::is_whitespace);
        match entry.as_mut() {
            Some(text) if indented => {
                text.push(' ');
                text.push_str(line.trim());
            }
            _ => {
                current.take_entry(&mut entry);
                if current.target.is_some() {
                    goals.extend(current.finish());
                }
                entry = Some(line.trim().to_owned());
            }
        }
    }
    current.take_entry(&mut entry);
    goals.extend(current.finish());
    goals
}

/// Collects one goal's logical lines.
#[derive(Default)]
struct GoalBuilder {
    case: Option<String>,
    hypotheses: Vec<Hypothesis>,
    target: Option<String>,
}

impl GoalBuilder {
    fn take_entry(&mut self, entry: &mut Option<String>) {
        let Some(text) = entry.take() else { return };
        if let Some(rest) = text.strip_prefix('⊢') {
            self.target = Some(rest.trim().to_owned());
        } else if let Some(tag) = text.strip_prefix("case ").filter(|_| {
            // `case` is a keyword, so no hypothesis is called that; only the first line counts.
            self.case.is_none() && self.hypotheses.is_empty()
        }) {
            self.case = Some(tag.trim().to_owned());
        } else {
            self.hypotheses.push(parse_hypothesis(&text));
        }
    }

    fn finish(&mut self) -> Option<Goal> {
        let builder = std::mem::take(self);
        Some(Goal {
            case: builder.case,
            hypotheses: builder.hypotheses,
            target: builder.target?,
        })
    }
}

/// `x y : ℕ` → names `[x, y]`, type `ℕ`; a line without ` : ` keeps its text as the type.
fn parse_hypothesis(text: &str) -> Hypothesis {
    // Names never contain a colon, so the first ` :` followed by a space (or the end, for a
    // `h :` whose type Lean wrapped onto the next line) separates names from the type.
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find(" :") {
        let colon = search_from + offset;
        let after = &text[colon + 2..];
        if after.is_empty() || after.starts_with(' ') {
            let names: Vec<String> = text[..colon]
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            if !names.is_empty() {
                return Hypothesis {
                    names,
                    ty: after.trim().to_owned(),
                };
            }
        }
        search_from = colon + 2;
    }
    Hypothesis {
        names: Vec::new(),
        ty: text.trim().to_owned(),
    }
}

impl fmt::Display for Goal {
    /// Prints the goal in the REPL's layout, one line per hypothesis and wrapped lines joined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(case) = &self.case {
            writeln!(f, "case {case}")?;
        }
        for hypothesis in &self.hypotheses {
            if hypothesis.names.is_empty() {
                writeln!(f, "{}", hypothesis.ty)?;
            } else {
                writeln!(f, "{} : {}", hypothesis.names.join(" "), hypothesis.ty)?;
            }
        }
        write!(f, "⊢ {}", self.target)
    }
}

/// Why a proof state cannot be restated as a theorem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotAStatement {
    /// No goal, or more than one: a theorem states one.
    NotOneGoal,
    /// A hypothesis name is inaccessible (`x✝`), so no binder can be written for it.
    Inaccessible,
    /// The printer elided a term (`⋯`), so the text is not the term.
    Elided,
    /// A `let` hypothesis (`x : ℕ := 5`) or a hypothesis line without a type.
    NotABinder,
}

impl NotAStatement {
    /// The reason's name in counts and messages.
    pub fn name(self) -> &'static str {
        match self {
            NotAStatement::NotOneGoal => "not_one_goal",
            NotAStatement::Inaccessible => "inaccessible_name",
            NotAStatement::Elided => "elided_term",
            NotAStatement::NotABinder => "not_a_binder",
        }
    }
}

/// The theorem a one-goal state states: each hypothesis line `x y : T` a binder `(x y : T)`,
/// the target its conclusion; `theorem NAME (x y : T) … : target`, without `:= by`.
///
/// Elaborating the statement gives back the state's goal (up to the `case` tag, which is
/// dropped). States Lean printed in a way that cannot be read back as terms are refused.
pub fn statement_from_goal(name: &str, state_text: &str) -> Result<String, NotAStatement> {
    let goals = parse_goals(state_text);
    let [goal] = goals.as_slice() else {
        return Err(NotAStatement::NotOneGoal);
    };
    if state_text.contains('⋯') {
        return Err(NotAStatement::Elided);
    }
    let mut statement = format!("theorem {name}");
    for hypothesis in &goal.hypotheses {
        if hypothesis.names.is_empty() || hypothesis.ty.contains(":=") {
            return Err(NotAStatement::NotABinder);
        }
        if !hypothesis.names.iter().all(|n| is_accessible(n)) {
            return Err(NotAStatement::Inaccessible);
        }
        statement.push_str(&format!(
            " ({} : {})",
            hypothesis.names.join(" "),
            hypothesis.ty
        ));
    }
    statement.push_str(&format!(" : {}", goal.target));
    Ok(statement)
}

/// Whether a hypothesis name can be written in a tactic: `x✝`, `inst✝¹` cannot.
pub fn is_accessible(name: &str) -> bool {
    !name.contains('✝') && is_identifier(name)
}

/// Whether `name` is a plain Lean identifier, allowing the inaccessible suffix `✝`, `✝¹`, ….
///
/// Dotted names and `«quoted»` names are not hypothesis names in printed goals, so they are not
/// accepted here.
pub fn is_identifier(name: &str) -> bool {
    let base = match name.find('✝') {
        Some(dagger) => {
            let suffix = &name[dagger + '✝'.len_utf8()..];
            if !suffix.chars().all(is_superscript_digit) {
                return false;
            }
            &name[..dagger]
        }
        None => name,
    };
    let mut chars = base.chars();
    match chars.next() {
        Some(first) if is_id_start(first) => chars.all(is_id_rest),
        _ => false,
    }
}

fn is_superscript_digit(c: char) -> bool {
    matches!(c, '⁰' | '¹' | '²' | '³' | '⁴'..='⁹')
}

/// Lean's `isLetterLike` plus ASCII letters: Greek except `λ Π Σ`, letterlike symbols (`ℕ`),
/// and other alphabetic characters.
fn is_letter(c: char) -> bool {
    c.is_alphabetic() && !matches!(c, 'λ' | 'Π' | 'Σ')
}

/// Lean's subscript letters and digits (`h₀`, `xᵢ`).
fn is_subscript(c: char) -> bool {
    matches!(c, '\u{2080}'..='\u{209C}' | '\u{1D62}'..='\u{1D6A}' | '\u{2C7C}')
}

fn is_id_start(c: char) -> bool {
    is_letter(c) || c == '_'
}

fn is_id_rest(c: char) -> bool {
    is_letter(c) || c.is_alphanumeric() || matches!(c, '_' | '\'' | '!' | '?') || is_subscript(c)
}

// ---------------------------------------------------------------------------------------------
// Lexing terms

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Num,
    Open,
    Close,
    Op,
}

/// One token of a term, with its byte range in the text it came from.
#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    kind: Kind,
    text: &'a str,
    start: usize,
    end: usize,
}

/// Multi-character operators, longest first; every other symbol is a one-character operator.
const MULTI_OPS: &[&str] = &[
    "<->", "|>.", "∃!", "⁻¹", ":=", "=>", "->", "<=", ">=", "!=", "==", "/\\", "\\/", "++", "::",
    "|>", "<|", "×ˢ",
];

fn is_open(c: char) -> bool {
    matches!(c, '(' | '[' | '{' | '⟨' | '⦃' | '⌊' | '⌈' | '⟦')
}

fn is_close(c: char) -> bool {
    matches!(c, ')' | ']' | '}' | '⟩' | '⦄' | '⌋' | '⌉' | '⟧')
}

fn lex(text: &str) -> Vec<Tok<'_>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let kind;
        let mut end = start + c.len_utf8();
        chars.next();
        if c == '«' {
            // A quoted identifier runs to the closing guillemet (or the end of the text).
            kind = Kind::Ident;
            for (i, d) in chars.by_ref() {
                end = i + d.len_utf8();
                if d == '»' {
                    break;
                }
            }
        } else if is_id_start(c) {
            kind = Kind::Ident;
            while let Some(&(i, d)) = chars.peek() {
                let dotted = d == '.'
                    && text[i + 1..]
                        .chars()
                        .next()
                        .is_some_and(|n| is_id_start(n) || n == '«');
                if is_id_rest(d) || d == '✝' || is_superscript_digit(d) || dotted {
                    end = i + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
        } else if c.is_ascii_digit() {
            kind = Kind::Num;
            while let Some(&(i, d)) = chars.peek() {
                let decimal = d == '.'
                    && text[i + 1..]
                        .chars()
                        .next()
                        .is_some_and(|n| n.is_ascii_digit());
                if d.is_ascii_digit() || decimal {
                    end = i + 1;
                    chars.next();
                } else {
                    break;
                }
            }
        } else if is_open(c) {
            kind = Kind::Open;
        } else if is_close(c) {
            kind = Kind::Close;
        } else {
            kind = Kind::Op;
            if let Some(op) = MULTI_OPS.iter().find(|op| text[start..].starts_with(**op)) {
                end = start + op.len();
                while chars.peek().is_some_and(|&(i, _)| i < end) {
                    chars.next();
                }
            }
        }
        tokens.push(Tok {
            kind,
            text: &text[start..end],
            start,
            end,
        });
    }
    tokens
}

// ---------------------------------------------------------------------------------------------
// Scanning terms

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assoc {
    Left,
    Right,
}

/// Lean 4 / Mathlib precedence of a binary operator token.
fn binary_prec(op: &str) -> Option<(u32, Assoc)> {
    Some(match op {
        "<|" | "$" => (10, Assoc::Right),
        "|>" => (10, Assoc::Left),
        "↔" | "<->" => (20, Assoc::Right),
        "→" | "->" => (25, Assoc::Right),
        "∨" | "\\/" => (30, Assoc::Right),
        "∧" | "/\\" => (35, Assoc::Right),
        "=" | "≠" | "!=" | "==" | "<" | ">" | "≤" | "<=" | "≥" | ">=" | "∈" | "∉" | "⊆" | "⊂"
        | "⊇" | "⊃" | "∣" | "≡" | "≍" => (50, Assoc::Right),
        "+" | "-" | "∪" | "++" => (65, Assoc::Left),
        "::" => (67, Assoc::Right),
        "*" | "/" | "%" | "∩" | "\\" => (70, Assoc::Left),
        "•" => (73, Assoc::Right),
        "^" => (75, Assoc::Right),
        "×ˢ" => (82, Assoc::Right),
        "∘" => (90, Assoc::Right),
        _ => return None,
    })
}

/// Constructs whose body extends as far right as possible (`∀ x, …`, `fun x => …`, `if …`).
fn extends_to_end(tok: &Tok<'_>) -> bool {
    match tok.kind {
        Kind::Op => matches!(tok.text, "∀" | "∃" | "∃!" | "∄" | "λ" | "Π" | "Σ" | "∫"),
        Kind::Ident => matches!(
            tok.text,
            "fun" | "let" | "have" | "show" | "if" | "match" | "by" | "do" | "calc"
        ),
        _ => false,
    }
}

/// Big operators: `∑ x ∈ s, body` where the body is parsed at precedence 67, so
/// `∑ k ∈ s, f k = 5` is `(∑ k ∈ s, f k) = 5`.
fn is_big_operator(tok: &Tok<'_>) -> bool {
    tok.kind == Kind::Op && matches!(tok.text, "∑" | "∏" | "⋃" | "⋂" | "⨆" | "⨅")
}

/// Precedence of big-operator bodies in Mathlib.
const BIG_OPERATOR_BODY_PREC: u32 = 67;

/// Whether a token ends an operand, so a following `-` is binary and a following `|` closes.
fn ends_operand(tok: &Tok<'_>) -> bool {
    match tok.kind {
        Kind::Ident | Kind::Num | Kind::Close => true,
        Kind::Open => false,
        Kind::Op => matches!(tok.text, "!" | "⁻¹" | "'" | "ᶜ" | "ᵀ" | "†"),
    }
}

/// A binary operator found at the top level of a term.
#[derive(Debug, Clone, Copy)]
struct TopOp {
    index: usize,
    prec: u32,
    assoc: Assoc,
}

/// The binary operators at bracket depth 0 that are not inside a binder's body.
///
/// Brackets nest; `|` and `‖` open when an operand is expected and close a pending one
/// otherwise; a `∀`/`∃`/`fun`-like token hides everything after it; a `∑`/`∏` hides its binder
/// and then only operators that bind at least as tightly as its body.
fn top_level_ops(tokens: &[Tok<'_>]) -> Vec<TopOp> {
    let mut ops = Vec::new();
    let mut stack: Vec<&str> = Vec::new();
    // Some(threshold) while inside big-operator bodies: operators binding tighter are theirs.
    let mut body_threshold: Option<u32> = None;
    // While skipping a big operator's binder (up to its depth-0 comma).
    let mut in_big_binder = false;
    let mut previous: Option<&Tok<'_>> = None;
    for (index, tok) in tokens.iter().enumerate() {
        let operand_expected = !previous.is_some_and(ends_operand);
        let depth_before = stack.len();
        match tok.kind {
            Kind::Open => stack.push(tok.text),
            Kind::Close => {
                stack.pop();
            }
            Kind::Op if matches!(tok.text, "|" | "‖") => {
                if operand_expected {
                    stack.push(tok.text);
                } else if stack.last() == Some(&tok.text) {
                    stack.pop();
                }
            }
            _ => {}
        }
        let at_top = depth_before == 0 && stack.is_empty();
        if at_top {
            if in_big_binder {
                if tok.kind == Kind::Op && tok.text == "," {
                    in_big_binder = false;
                    body_threshold = Some(BIG_OPERATOR_BODY_PREC);
                }
            } else if extends_to_end(tok) {
                break;
            } else if is_big_operator(tok) {
                in_big_binder = true;
            } else if tok.kind == Kind::Op
                && let Some((prec, assoc)) = binary_prec(tok.text)
                && !(tok.text == "-" && operand_expected)
            {
                match body_threshold {
                    Some(threshold) if prec >= threshold => {}
                    _ => {
                        body_threshold = None;
                        ops.push(TopOp { index, prec, assoc });
                    }
                }
            }
        }
        // Closing `|` ends an operand; an opening one does not, which `ends_operand` cannot see.
        previous = Some(tok);
        if tok.kind == Kind::Op && matches!(tok.text, "|" | "‖") && stack.len() > depth_before {
            previous = None;
        }
    }
    ops
}

/// The operator a term splits at: the loosest-binding one, rightmost among equals for
/// left-associative operators and leftmost otherwise.
fn main_op(ops: &[TopOp]) -> Option<TopOp> {
    let lowest = ops.iter().map(|op| op.prec).min()?;
    let mut candidates = ops.iter().filter(|op| op.prec == lowest);
    let first = *candidates.next()?;
    Some(match first.assoc {
        Assoc::Left => candidates.next_back().copied().unwrap_or(first),
        Assoc::Right => first,
    })
}

/// Removes parentheses that wrap the whole term: `((a = b))` → `a = b`.
pub fn strip_parens(term: &str) -> &str {
    let mut term = term.trim();
    loop {
        let Some(inner) = term.strip_prefix('(').and_then(|t| t.strip_suffix(')')) else {
            return term;
        };
        // The outer pair must match each other, as in `(a) + (b)` they do not.
        let tokens = lex(term);
        let mut depth = 0usize;
        for (i, tok) in tokens.iter().enumerate() {
            match tok.kind {
                Kind::Open => depth += 1,
                Kind::Close => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth == 0 && i + 1 < tokens.len() {
                return term;
            }
        }
        term = inner.trim();
    }
}

/// A term split at its outermost binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binary<'a> {
    /// What the operator is.
    pub head: Head,
    /// The operator as printed (`≤`, `→`, `+`, …).
    pub op: &'a str,
    /// The text left of the operator, trimmed.
    pub lhs: &'a str,
    /// The text right of the operator, trimmed.
    pub rhs: &'a str,
}

/// Splits `term` at its outermost binary operator, if it has one (`a + b = c` splits at `=`).
///
/// A term headed by `¬` splits only at an operator looser than `¬` (`¬P ∧ Q`), a quantifier
/// at the front never splits (`∀ x, a = b` has no top-level operator).
pub fn split_binary(term: &str) -> Option<Binary<'_>> {
    let term = strip_parens(term);
    let tokens = lex(term);
    let ops = top_level_ops(&tokens);
    let op = main_op(&ops)?;
    if tokens.first().is_some_and(|t| t.text == "¬") && op.prec >= 40 {
        return None;
    }
    let tok = tokens[op.index];
    Some(Binary {
        head: op_head(tok.text),
        op: tok.text,
        lhs: term[..tok.start].trim(),
        rhs: term[tok.end..].trim(),
    })
}

fn op_head(op: &str) -> Head {
    match op {
        "↔" | "<->" => Head::Iff,
        "→" | "->" => Head::Implies,
        "∨" | "\\/" => Head::Or,
        "∧" | "/\\" => Head::And,
        "=" | "==" => Head::Eq,
        "≠" | "!=" => Head::Ne,
        "<" => Head::Lt,
        ">" => Head::Gt,
        "≤" | "<=" => Head::Le,
        "≥" | ">=" => Head::Ge,
        "∣" => Head::Dvd,
        "∈" => Head::Mem,
        "∉" => Head::NotMem,
        "⊆" | "⊂" | "⊇" | "⊃" => Head::Subset,
        "≡" => Head::ModEq,
        _ => Head::Other,
    }
}

/// The outermost connective or relation of a term (a target or a hypothesis type).
pub fn head(term: &str) -> Head {
    if let Some(binary) = split_binary(term) {
        return binary.head;
    }
    let term = strip_parens(term);
    let tokens = lex(term);
    let Some(first) = tokens.first() else {
        return Head::Other;
    };
    match (first.kind, first.text) {
        (Kind::Op, "∀" | "Π") => Head::Forall,
        (Kind::Op, "∃" | "∃!") => Head::Exists,
        (Kind::Op, "¬") => Head::Not,
        (Kind::Ident, "True") if tokens.len() == 1 => Head::True,
        (Kind::Ident, "False") if tokens.len() == 1 => Head::False,
        _ => Head::Other,
    }
}

/// The parts of a right-nested chain of one connective: `a ∧ b ∧ c` → `[a, b, c]`.
///
/// A term without that head is a chain of one.
pub fn chain(term: &str, connective: Head) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = strip_parens(term);
    // Bounded, so a pathological input cannot make this loop long.
    for _ in 0..64 {
        match split_binary(rest) {
            Some(binary) if binary.head == connective => {
                parts.push(strip_parens(binary.lhs));
                rest = binary.rhs;
            }
            _ => break,
        }
    }
    parts.push(strip_parens(rest));
    parts
}

/// The identifiers a term mentions, first components only (`x.cos` → `x`), excluding keywords.
///
/// Bound variables are included: telling them apart needs scoping this reader does not do, and a
/// spurious name only makes a hypothesis look relevant.
pub fn identifiers(term: &str) -> BTreeSet<&str> {
    let tokens = lex(term);
    let mut names = BTreeSet::new();
    for (i, tok) in tokens.iter().enumerate() {
        if tok.kind != Kind::Ident || tok.text.starts_with('«') {
            continue;
        }
        // `(2 * x).sin`: the `sin` after a `.` is a field, not a variable.
        if i > 0 && tokens[i - 1].text == "." && tokens[i - 1].end == tok.start {
            continue;
        }
        let name = tok.text.split('.').next().unwrap_or(tok.text);
        if !is_keyword(name) {
            names.insert(name);
        }
    }
    names
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "fun"
            | "let"
            | "have"
            | "show"
            | "from"
            | "if"
            | "then"
            | "else"
            | "match"
            | "with"
            | "by"
            | "do"
            | "at"
            | "in"
            | "calc"
    )
}

/// Whether a term is a closed numeral expression: numbers and arithmetic only (`10`, `2 ^ 3 - 1`).
pub fn is_numeral(term: &str) -> bool {
    let tokens = lex(term);
    tokens.iter().any(|t| t.kind == Kind::Num)
        && tokens.iter().all(|t| match t.kind {
            Kind::Num => true,
            Kind::Open | Kind::Close => matches!(t.text, "(" | ")"),
            Kind::Op => matches!(t.text, "+" | "-" | "*" | "/" | "^" | "%"),
            Kind::Ident => false,
        })
}

/// Whether `needle` occurs in `haystack` as a whole run of tokens (so `x` does not occur in `xy`).
pub fn mentions(haystack: &str, needle: &str) -> bool {
    let needle_tokens = lex(needle);
    if needle_tokens.is_empty() {
        return false;
    }
    let hay = lex(haystack);
    hay.windows(needle_tokens.len())
        .any(|w| w.iter().zip(&needle_tokens).all(|(a, b)| a.text == b.text))
}

// ---------------------------------------------------------------------------------------------
// Binders

/// Upper bound on binders read from one term, so odd input stays cheap.
const MAX_BINDERS: usize = 32;

/// What `intro` would introduce from `target`: leading `∀` binders, implication premises, and
/// the binders of nested `∀`s in the conclusion, in order.
///
/// `∀ (x : ℝ) (y : ℝ), P` gives `x`, `y`; `∀ x y, P` gives `x`, `y`; `∀ x ∈ S, P` gives `x`
/// and a hypothesis about `x`; `P → Q → R` gives two anonymous hypotheses. Binders it cannot
/// read (patterns `⟨a, b⟩`) end the list there. A target ending in `¬P` does not contribute the
/// premise `P`: whether to `intro` it is a separate choice.
pub fn intro_binders(target: &str) -> Vec<Binder> {
    let mut binders = Vec::new();
    let mut rest = strip_parens(target);
    while binders.len() < MAX_BINDERS {
        let tokens = lex(rest);
        let Some(first) = tokens.first() else { break };
        if first.kind == Kind::Op && matches!(first.text, "∀" | "Π") {
            let Some((group, body)) = quantifier_parts(rest, &tokens) else {
                break;
            };
            let Some(mut parsed) = parse_binder_group(group) else {
                break;
            };
            binders.append(&mut parsed);
            rest = strip_parens(body);
        } else if let Some(binary) = split_binary(rest).filter(|b| b.head == Head::Implies) {
            binders.push(Binder {
                name: None,
                ty: Some(strip_parens(binary.lhs).to_owned()),
                is_hypothesis: true,
                about: None,
            });
            rest = strip_parens(binary.rhs);
        } else {
            break;
        }
    }
    binders.truncate(MAX_BINDERS);
    binders
}

/// `∃ x y, P` → binders `x`, `y` and the body `P`; `∃ x > 0, P` → `x`, a hypothesis, `P`.
///
/// `None` when the term is not an `∃` (an `∃!` is not read either: its body is not what it
/// looks like) or its binders are not readable.
pub fn exists_binders(term: &str) -> Option<(Vec<Binder>, &str)> {
    let term = strip_parens(term);
    let tokens = lex(term);
    let first = tokens.first()?;
    if first.kind != Kind::Op || first.text != "∃" {
        return None;
    }
    let (group, body) = quantifier_parts(term, &tokens)?;
    let binders = parse_binder_group(group)?;
    Some((binders, strip_parens(body)))
}

/// For a term starting with a quantifier token: the binder text and the body after the first
/// depth-0 comma.
fn quantifier_parts<'a>(term: &'a str, tokens: &[Tok<'a>]) -> Option<(&'a str, &'a str)> {
    let mut depth = 0usize;
    for tok in tokens.iter().skip(1) {
        match tok.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth = depth.saturating_sub(1),
            Kind::Op if depth == 0 && tok.text == "," => {
                let group = term[tokens[0].end..tok.start].trim();
                return Some((group, term[tok.end..].trim()));
            }
            _ => {}
        }
    }
    None
}

/// Reads the binder part of `∀ … ,` / `∃ … ,`: bracketed groups, bare names with an optional
/// `: T`, or one name with a binder predicate (`x > 0`, `x ∈ S`).
fn parse_binder_group(group: &str) -> Option<Vec<Binder>> {
    let tokens = lex(group);
    if tokens.is_empty() {
        return None;
    }
    let mut binders = Vec::new();
    let mut i = 0;
    while i < tokens.len() && binders.len() < MAX_BINDERS {
        let tok = tokens[i];
        match tok.kind {
            Kind::Open if matches!(tok.text, "(" | "{" | "⦃" | "[") => {
                let close = matching_close(&tokens, i)?;
                let inner = group[tok.end..tokens[close].start].trim();
                binders.extend(parse_bracketed_binder(inner, tok.text == "[")?);
                i = close + 1;
            }
            Kind::Ident => {
                let mut names = Vec::new();
                while i < tokens.len() && tokens[i].kind == Kind::Ident {
                    names.push(tokens[i].text);
                    i += 1;
                }
                let Some(next) = tokens.get(i) else {
                    binders.extend(names.iter().map(|n| variable(n, None)));
                    break;
                };
                if next.text == ":" {
                    let ty = group[next.end..].trim();
                    binders.extend(names.iter().map(|n| variable(n, Some(ty))));
                    break;
                }
                if next.kind == Kind::Op && binary_prec(next.text).is_some_and(|(p, _)| p == 50) {
                    // `∀ x > 0,` / `∀ x ∈ S,`: each name, then a proof of the predicate about it.
                    let predicate = group[next.end..].trim();
                    for name in names {
                        binders.push(variable(name, None));
                        binders.push(Binder {
                            name: None,
                            ty: Some(format!("{name} {} {predicate}", next.text)),
                            is_hypothesis: true,
                            about: binder_name(name).map(str::to_owned),
                        });
                    }
                    break;
                }
                binders.extend(names.iter().map(|n| variable(n, None)));
            }
            _ => return None,
        }
    }
    Some(binders)
}

/// `x y : T` inside `(…)`/`{…}`/`⦃…⦄`, or `inst : C` / `C` inside `[…]`.
fn parse_bracketed_binder(inner: &str, instance: bool) -> Option<Vec<Binder>> {
    let tokens = lex(inner);
    let colon = tokens.iter().position(|t| t.text == ":");
    match colon {
        Some(colon) => {
            let ty = inner[tokens[colon].end..].trim();
            let names = &tokens[..colon];
            if names.is_empty() || names.iter().any(|t| t.kind != Kind::Ident) {
                return None;
            }
            Some(
                names
                    .iter()
                    .map(|n| {
                        let mut binder = variable(n.text, Some(ty));
                        binder.is_hypothesis = instance;
                        binder
                    })
                    .collect(),
            )
        }
        None if instance => Some(vec![Binder {
            name: None,
            ty: Some(inner.to_owned()),
            is_hypothesis: true,
            about: None,
        }]),
        None => None,
    }
}

fn variable(name: &str, ty: Option<&str>) -> Binder {
    Binder {
        name: binder_name(name).map(str::to_owned),
        ty: ty.map(str::to_owned),
        is_hypothesis: false,
        about: None,
    }
}

/// `_` binds nothing nameable.
fn binder_name(name: &str) -> Option<&str> {
    (name != "_").then_some(name)
}

fn matching_close(tokens: &[Tok<'_>], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, tok) in tokens.iter().enumerate().skip(open) {
        match tok.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Hypotheses

/// Predicates whose applications are propositions (`Nat.Prime p`, `p.Prime`, `IsLeast S u`).
const PREDICATES: &[&str] = &[
    "Prime",
    "Even",
    "Odd",
    "IsLeast",
    "IsGreatest",
    "IsLUB",
    "IsGLB",
    "Injective",
    "Surjective",
    "Bijective",
    "Continuous",
    "ContinuousOn",
    "Differentiable",
    "DifferentiableAt",
    "Monotone",
    "StrictMono",
    "Antitone",
    "StrictAnti",
    "MonotoneOn",
    "StrictMonoOn",
    "Coprime",
    "Squarefree",
    "IsSquare",
    "Irrational",
    "Tendsto",
    "Nonempty",
    "Finite",
    "Infinite",
    "IsUnit",
    "IsCoprime",
];

/// Whether a hypothesis type reads as a proposition (`x < 10`, `∀ x, f x = 1`, `p.Prime`) rather
/// than a variable's type (`ℝ`, `ℕ → ℝ`, `Finset ℕ`).
pub fn is_proposition(ty: &str) -> bool {
    is_proposition_at(ty, 0)
}

fn is_proposition_at(ty: &str, depth: u32) -> bool {
    match head(ty) {
        Head::Other => {
            let tokens = lex(strip_parens(ty));
            tokens.iter().take(2).any(|t| {
                t.kind == Kind::Ident
                    && PREDICATES.contains(&t.text.rsplit('.').next().unwrap_or(t.text))
            })
        }
        // `ℕ → ℝ` is a function type; `x > 0 → y > 0` an implication.
        Head::Implies => {
            depth < 8
                && split_binary(ty).is_some_and(|b| {
                    is_proposition_at(b.lhs, depth + 1) || is_proposition_at(b.rhs, depth + 1)
                })
        }
        _ => true,
    }
}

/// The number type named by a variable's type, if it is `ℕ`/`Nat` or `ℤ`/`Int`.
pub fn int_type(ty: &str) -> Option<IntType> {
    match strip_parens(ty) {
        "ℕ" | "Nat" => Some(IntType::Nat),
        "ℤ" | "Int" => Some(IntType::Int),
        _ => None,
    }
}

/// Whether a variable's type is a field or ring where `omega` is useless (`ℝ`, `ℚ`, `ℂ`).
pub fn is_field_type(ty: &str) -> bool {
    matches!(
        strip_parens(ty),
        "ℝ" | "ℚ" | "ℂ" | "Real" | "Rat" | "Complex" | "NNReal" | "ℝ≥0"
    )
}

/// The unfolding lemma for `x ∈ Finset.Icc a b` and its relatives, by the set's head symbol.
fn membership_lemma(set: &str) -> Option<String> {
    let tokens = lex(set);
    let first = tokens.first().filter(|t| t.kind == Kind::Ident)?;
    let (namespace, name) = match first.text.rsplit_once('.') {
        Some((ns, name)) => (ns, name),
        // `open Finset` is not in the miniF2F header, so a bare `Icc` is most likely `Set.Icc`.
        None => ("Set", first.text),
    };
    if !matches!(namespace, "Finset" | "Set" | "List" | "Multiset") {
        return None;
    }
    matches!(name, "Icc" | "Ico" | "Ioc" | "Ioo" | "range")
        .then(|| format!("{namespace}.mem_{name}"))
}

impl Goal {
    /// Every name bound by a hypothesis line, accessible or not.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.hypotheses
            .iter()
            .flat_map(|h| h.names.iter().map(String::as_str))
    }

    /// The hypothesis line that binds `name`.
    pub fn find(&self, name: &str) -> Option<&Hypothesis> {
        self.hypotheses
            .iter()
            .find(|h| h.names.iter().any(|n| n == name))
    }

    /// Whether a hypothesis of type `ty` is a proof rather than a variable: its type reads as a
    /// proposition ([`is_proposition`]), or applies a local `P : Prop` / `P : ℕ → Prop`.
    pub fn is_fact(&self, ty: &str) -> bool {
        if is_proposition(ty) {
            return true;
        }
        let tokens = lex(strip_parens(ty));
        let Some(first) = tokens.first().filter(|t| t.kind == Kind::Ident) else {
            return false;
        };
        self.find(first.text).is_some_and(|h| {
            let sort = h.ty.trim();
            sort == "Prop" || sort.ends_with("→ Prop")
        })
    }

    /// Variables: `(name, type)` for every name whose type is not a proposition.
    pub fn variables(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.hypotheses
            .iter()
            .filter(|h| !self.is_fact(&h.ty))
            .flat_map(|h| h.names.iter().map(move |n| (n.as_str(), h.ty.as_str())))
    }

    /// Facts: `(name, type)` for every accessible name whose type is a proposition.
    pub fn facts(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.hypotheses
            .iter()
            .filter(|h| self.is_fact(&h.ty))
            .flat_map(|h| h.names.iter().map(move |n| (n.as_str(), h.ty.as_str())))
            .filter(|(name, _)| is_accessible(name))
    }

    /// The variables the target mentions.
    pub fn target_variables(&self) -> BTreeSet<&str> {
        let mentioned = identifiers(&self.target);
        self.variables()
            .map(|(name, _)| name)
            .filter(|name| mentioned.contains(name))
            .collect()
    }

    /// The variables connected to the target: those it mentions, then those mentioned by a fact
    /// that mentions one already found, and so on. `f` in `h₁ : ∀ x, f x = a * x` is relevant to
    /// a target about `a`, and so is every fact about `f`.
    pub fn relevant_variables(&self) -> BTreeSet<&str> {
        let variables: BTreeSet<&str> = self.variables().map(|(name, _)| name).collect();
        let facts: Vec<BTreeSet<&str>> = self
            .facts()
            .map(|(_, ty)| {
                identifiers(ty)
                    .into_iter()
                    .filter(|id| variables.contains(id))
                    .collect()
            })
            .collect();
        let mut relevant = self.target_variables();
        let mut used = vec![false; facts.len()];
        // Each pass adds at least one fact or stops, so this ends after at most `facts.len()`.
        loop {
            let mut grew = false;
            for (fact, used) in facts.iter().zip(used.iter_mut()) {
                if !*used && fact.iter().any(|v| relevant.contains(v)) {
                    *used = true;
                    relevant.extend(fact.iter().copied());
                    grew = true;
                }
            }
            if !grew {
                return relevant;
            }
        }
    }

    /// Facts that mention a relevant variable ([`Goal::relevant_variables`]), in hypothesis
    /// order; all facts when the target mentions no variable, as in `⊢ False`.
    pub fn relevant_facts(&self) -> Vec<(&str, &str)> {
        let relevant = self.relevant_variables();
        self.facts()
            .filter(|(_, ty)| {
                relevant.is_empty() || identifiers(ty).iter().any(|id| relevant.contains(id))
            })
            .collect()
    }

    /// Facts headed by `∃` or `∧`: what `obtain ⟨…⟩ := h` takes apart.
    pub fn destructurable(&self) -> Vec<(&str, &str)> {
        self.facts()
            .filter(|(_, ty)| matches!(head(ty), Head::Exists | Head::And))
            .collect()
    }

    /// Facts headed by `∨`: what `rcases h with h | h` splits on.
    pub fn disjunctions(&self) -> Vec<(&str, &str)> {
        self.facts()
            .filter(|(_, ty)| head(ty) == Head::Or)
            .collect()
    }

    /// Facts `x = e` or `e = x` where `x` is a variable not occurring in `e`: what `subst`
    /// eliminates. Returns `(hypothesis, variable, other side)`.
    pub fn variable_equations(&self) -> Vec<(&str, &str, &str)> {
        let variables: BTreeSet<&str> = self
            .variables()
            .map(|(name, _)| name)
            .filter(|name| is_accessible(name))
            .collect();
        let mut found = Vec::new();
        for (name, ty) in self.facts() {
            let Some(eq) = split_binary(ty).filter(|b| b.head == Head::Eq) else {
                continue;
            };
            for (side, other) in [(eq.lhs, eq.rhs), (eq.rhs, eq.lhs)] {
                let side = strip_parens(side);
                if variables.contains(side) && !identifiers(other).contains(side) {
                    found.push((name, side, other));
                    break;
                }
            }
        }
        found
    }

    /// Facts `a ≠ b`: `field_simp` wants the nonzero ones. Returns `(hypothesis, lhs, rhs)`.
    pub fn disequalities(&self) -> Vec<(&str, &str, &str)> {
        self.facts()
            .filter_map(|(name, ty)| {
                let ne = split_binary(ty).filter(|b| b.head == Head::Ne)?;
                Some((name, ne.lhs, ne.rhs))
            })
            .collect()
    }

    /// The accessible `ℕ` and `ℤ` variables, in order.
    pub fn int_variables(&self) -> Vec<(&str, IntType)> {
        self.variables()
            .filter(|(name, _)| is_accessible(name))
            .filter_map(|(name, ty)| Some((name, int_type(ty)?)))
            .collect()
    }

    /// Where bounds on `var` come from, for `interval_cases`.
    pub fn bounds(&self, var: &str) -> VarBounds {
        let mut bounds = VarBounds::default();
        for (name, ty) in self.facts() {
            match head(ty) {
                Head::And => {
                    let parts = chain(ty, Head::And);
                    if parts.iter().any(|part| bound_in(part, var).is_some()) {
                        bounds.in_conjunction.push(name.to_owned());
                    }
                }
                Head::Mem => {
                    if let Some(mem) = split_binary(ty)
                        && strip_parens(mem.lhs) == var
                        && let Some(lemma) = membership_lemma(mem.rhs)
                    {
                        bounds.membership.push(Membership {
                            hypothesis: name.to_owned(),
                            lemma,
                        });
                    }
                }
                _ => {
                    if let Some((is_upper, value)) = bound_in(ty, var) {
                        let bound = Bound {
                            hypothesis: name.to_owned(),
                            value: value.to_owned(),
                            is_numeral: is_numeral(value),
                        };
                        if is_upper {
                            bounds.upper.push(bound);
                        } else {
                            bounds.lower.push(bound);
                        }
                    }
                }
            }
        }
        bounds
    }
}

/// If `ty` is an inequality with `var` alone on one side: `(is_upper_bound, other side)`.
fn bound_in<'a>(ty: &'a str, var: &str) -> Option<(bool, &'a str)> {
    let rel = split_binary(ty).filter(|b| b.head.is_inequality())?;
    // `x < c` and `x ≤ c` bound x from above, as do `c > x` and `c ≥ x`.
    let var_on_small_side = matches!(rel.head, Head::Lt | Head::Le);
    if strip_parens(rel.lhs) == var {
        Some((var_on_small_side, rel.rhs))
    } else if strip_parens(rel.rhs) == var {
        Some((!var_on_small_side, rel.lhs))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Holes as keys

/// A one-goal state as a key that two skeletons share when their holes state the same thing:
/// the hypotheses (in order) and the target, whitespace runs collapsed, the `case` tag dropped,
/// and every hypothesis name replaced by its place among the names (`⦃0⦄`, `⦃1⦄`, …, in
/// order of first appearance), in the hypotheses' types and the target as in the name
/// column. So `h₁ : x = 1 ⊢ P` and `k : x = 1 ⊢ P` are one hole, and a proof found for one is
/// carried to the other by renaming ([`HoleKey::to_canonical`], then
/// [`HoleKey::from_canonical`] with the other's names). The renaming reads identifiers as
/// tokens (a name after a `.` is a field or a namespace's, never renamed); it is a heuristic,
/// and whoever reuses a renamed proof rechecks it in Lean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoleKey {
    /// The canonical text: equal for holes that differ only in hypothesis names and layout.
    pub text: String,
    /// The state's hypothesis names, each once, in order of first appearance.
    names: Vec<String>,
}

/// How a canonical name opens and closes: brackets no identifier or placeholder-free text
/// written by a tactic uses around a number.
const CANONICAL_OPEN: char = '⦃';
const CANONICAL_CLOSE: char = '⦄';

impl HoleKey {
    /// The key of a state with exactly one goal (`None` for no goal or several).
    pub fn of(state_text: &str) -> Option<HoleKey> {
        let goals = parse_goals(state_text);
        let [goal] = goals.as_slice() else {
            return None;
        };
        let mut names: Vec<String> = Vec::new();
        for name in goal.hypotheses.iter().flat_map(|h| &h.names) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        let mut key = HoleKey {
            text: String::new(),
            names,
        };
        let collapse = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut lines = Vec::new();
        for hypothesis in &goal.hypotheses {
            let names: Vec<String> = hypothesis
                .names
                .iter()
                .map(|name| key.to_canonical(name))
                .collect();
            lines.push(format!(
                "{} : {}",
                names.join(" "),
                key.to_canonical(&collapse(&hypothesis.ty))
            ));
        }
        lines.push(format!("⊢ {}", key.to_canonical(&collapse(&goal.target))));
        key.text = lines.join("\n");
        Some(key)
    }

    /// A key for a text that is not one goal: itself, whitespace runs collapsed, no names.
    pub fn opaque(text: &str) -> HoleKey {
        HoleKey {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            names: Vec::new(),
        }
    }

    /// `text` (a tactic script, a hypothesis type, a target) with this state's hypothesis
    /// names written canonically.
    pub fn to_canonical(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut after_dot = false;
        while let Some(first) = rest.chars().next() {
            if first == '«' {
                // A quoted name is copied whole: it is never a hypothesis name in printed goals.
                let end = rest.find('»').map_or(rest.len(), |i| i + '»'.len_utf8());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
                after_dot = false;
                continue;
            }
            if is_id_start(first) {
                let end = rest
                    .char_indices()
                    .find(|&(_, c)| !(is_id_rest(c) || c == '✝' || is_superscript_digit(c)))
                    .map_or(rest.len(), |(i, _)| i);
                let word = &rest[..end];
                match self.names.iter().position(|name| name == word) {
                    Some(index) if !after_dot => {
                        out.push(CANONICAL_OPEN);
                        out.push_str(&index.to_string());
                        out.push(CANONICAL_CLOSE);
                    }
                    _ => out.push_str(word),
                }
                rest = &rest[end..];
                after_dot = false;
                continue;
            }
            out.push(first);
            after_dot = first == '.';
            rest = &rest[first.len_utf8()..];
        }
        out
    }

    /// `text` written canonically (by a key equal to this one) with this state's names back.
    /// A placeholder naming no hypothesis of this state is left as it is (the recheck then
    /// refuses the proof).
    pub fn from_canonical(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find(CANONICAL_OPEN) {
            out.push_str(&rest[..open]);
            let inner = &rest[open + CANONICAL_OPEN.len_utf8()..];
            let digits = inner
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(inner.len());
            let name = inner[..digits]
                .parse::<usize>()
                .ok()
                .and_then(|index| self.names.get(index))
                .filter(|_| inner[digits..].starts_with(CANONICAL_CLOSE));
            match name {
                Some(name) => {
                    out.push_str(name);
                    rest = &inner[digits + CANONICAL_CLOSE.len_utf8()..];
                }
                None => {
                    out.push(CANONICAL_OPEN);
                    rest = inner;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_state_restates_as_a_theorem_when_it_can_be_read_back() {
        let state = "x y : ℝ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ x = 6";
        assert_eq!(
            statement_from_goal("t_s1", state),
            Ok("theorem t_s1 (x y : ℝ) (h₀ : x + y = 10) (h₁ : x - y = 2) : x = 6".to_owned())
        );
        assert_eq!(
            statement_from_goal("c", "case left\np : Prop\nhp : p\n⊢ p"),
            Ok("theorem c (p : Prop) (hp : p) : p".to_owned())
        );
        assert_eq!(
            statement_from_goal("t", "⊢ True"),
            Ok("theorem t : True".to_owned())
        );
        for (state, reason) in [
            ("⊢ p\n\n⊢ q", NotAStatement::NotOneGoal),
            ("no goals", NotAStatement::NotOneGoal),
            ("x✝ : ℕ\n⊢ 0 ≤ x✝", NotAStatement::Inaccessible),
            ("f : ℕ → ℕ\n⊢ f ⋯ = 0", NotAStatement::Elided),
            ("n : ℕ := 5\n⊢ n = 5", NotAStatement::NotABinder),
        ] {
            assert_eq!(statement_from_goal("t", state), Err(reason), "{state:?}");
        }
    }

    use super::*;

    #[test]
    fn holes_that_differ_in_hypothesis_names_and_layout_share_a_key_and_proofs_carry_over() {
        let first = HoleKey::of("x : ℕ\nh : 2 ≤ x\nh₁ : x ^ 2 = x * x\n⊢ x * x ≥ 2 * x").unwrap();
        let second =
            HoleKey::of("y : ℕ\nhy : 2 ≤ y\nsq :   y ^ 2 = y * y\n⊢ y * y ≥\n    2 * y").unwrap();
        assert_eq!(first.text, second.text);
        assert_eq!(
            first.text,
            "⦃0⦄ : ℕ\n⦃1⦄ : 2 ≤ ⦃0⦄\n⦃2⦄ : ⦃0⦄ ^ 2 = ⦃0⦄ * ⦃0⦄\n⊢ ⦃0⦄ * ⦃0⦄ ≥ 2 * ⦃0⦄"
        );
        let proof = "nlinarith [h₁, h, x.succ_pos, Nat.le_of_lt_succ h]";
        let canonical = first.to_canonical(proof);
        assert_eq!(
            second.from_canonical(&canonical),
            "nlinarith [sq, hy, y.succ_pos, Nat.le_of_lt_succ hy]"
        );
        // Another target, other types, or another order of hypotheses: another hole.
        for other in [
            "x : ℕ\nh : 2 ≤ x\nh₁ : x ^ 2 = x * x\n⊢ x * x > 2 * x",
            "x : ℤ\nh : 2 ≤ x\nh₁ : x ^ 2 = x * x\n⊢ x * x ≥ 2 * x",
            "h₁ : x ^ 2 = x * x\nx : ℕ\nh : 2 ≤ x\n⊢ x * x ≥ 2 * x",
        ] {
            assert_ne!(HoleKey::of(other).unwrap().text, first.text, "{other}");
        }
        assert_eq!(HoleKey::of("⊢ p\n\n⊢ q"), None, "two goals are no hole");
        // A placeholder naming no hypothesis here is left as it was.
        assert_eq!(
            HoleKey::of("⊢ p").unwrap().from_canonical("exact ⦃3⦄"),
            "exact ⦃3⦄"
        );
    }

    fn goal(text: &str) -> Goal {
        let goals = parse_goals(text);
        assert_eq!(goals.len(), 1, "{text:?} → {goals:?}");
        goals.into_iter().next().unwrap()
    }

    #[test]
    fn parses_hypotheses_and_target() {
        let g = goal("x y : ℝ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ x = 6");
        assert_eq!(g.case, None);
        assert_eq!(g.hypotheses.len(), 3);
        assert_eq!(g.hypotheses[0].names, ["x", "y"]);
        assert_eq!(g.hypotheses[0].ty, "ℝ");
        assert_eq!(g.hypotheses[1].names, ["h₀"]);
        assert_eq!(g.hypotheses[1].ty, "x + y = 10");
        assert_eq!(g.target, "x = 6");
    }

    #[test]
    fn parses_case_tags_and_several_goals() {
        let goals = parse_goals(
            "case zero\n⊢ 0 + 1 > 0\n\ncase succ\nx : Nat\nhx : x + 1 > x\n⊢ x + 1 + 1 > x + 1",
        );
        assert_eq!(goals.len(), 2);
        assert_eq!(goals[0].case.as_deref(), Some("zero"));
        assert!(goals[0].hypotheses.is_empty());
        assert_eq!(goals[1].case.as_deref(), Some("succ"));
        assert_eq!(goals[1].find("hx").unwrap().ty, "x + 1 > x");
        assert_eq!(goals[1].target, "x + 1 + 1 > x + 1");
    }

    #[test]
    fn goals_without_blank_lines_between_them_still_split() {
        let goals = parse_goals("x : ℕ\n⊢ x = x\ny : ℕ\n⊢ y = y");
        assert_eq!(goals.len(), 2);
        assert_eq!(goals[1].hypotheses[0].names, ["y"]);
    }

    #[test]
    fn joins_continuation_lines() {
        let g = goal("a b c : ℝ\n⊢ a * b ≤\n    9 * √2 / 32 * (a ^ 2 + b ^ 2 + c ^ 2) ^ 2");
        assert_eq!(
            g.target,
            "a * b ≤ 9 * √2 / 32 * (a ^ 2 + b ^ 2 + c ^ 2) ^ 2"
        );
        let g = goal("h :\n  a = b\n⊢ True");
        assert_eq!(g.hypotheses[0].names, ["h"]);
        assert_eq!(g.hypotheses[0].ty, "a = b");
    }

    #[test]
    fn no_goals_and_garbage_yield_nothing() {
        assert!(parse_goals("").is_empty());
        assert!(parse_goals("no goals").is_empty());
        assert!(parse_goals("\n\n\n").is_empty());
        assert_eq!(parse_goals("⊢ ◾")[0].target, "◾");
    }

    #[test]
    fn display_round_trips_the_layout() {
        let text = "case succ\nn✝ : ℕ\na✝ : n✝ = n✝\n⊢ n✝ + 1 = n✝ + 1";
        assert_eq!(goal(text).to_string(), text);
    }

    #[test]
    fn identifiers_and_accessibility() {
        for name in [
            "x",
            "h₀",
            "h'",
            "inst✝",
            "inst✝¹",
            "x_1",
            "hx₁₂",
            "σ",
            "α",
            "n!",
            "_x",
        ] {
            assert!(is_identifier(name), "{name}");
        }
        for name in ["", "1x", "x y", "✝", "h✝a", "λ", "a.b", "(x)"] {
            assert!(!is_identifier(name), "{name}");
        }
        assert!(is_accessible("h₀"));
        assert!(!is_accessible("inst✝"));
        assert!(!is_accessible("a✝²"));
    }

    #[test]
    fn heads() {
        let cases = [
            ("∀ (x : ℝ), f x = 2", Head::Forall),
            ("∀ x > 0, ∀ y > 0, f (x * y) = f x / y", Head::Forall),
            ("∃ n, f (f n) ≠ n + 1987", Head::Exists),
            ("p ∧ q → q ∧ p", Head::Implies),
            ("a = -6 ∧ b = 10", Head::And),
            ("x < 0 ∨ 2 * x > 2", Head::Or),
            ("n ∈ S ↔ 0 < n ∧ 14 * n % 100 = 46", Head::Iff),
            ("¬7 ∣ 2 ^ n + 1", Head::Not),
            ("¬x < 0", Head::Not),
            ("¬p ∧ q", Head::And),
            ("¬∃ x, x = 1", Head::Not),
            ("x ≠ 0", Head::Ne),
            ("|x| > 1", Head::Gt),
            ("|a - b| = 5", Head::Eq),
            ("3 ∣ n ^ 3 + 2 * n", Head::Dvd),
            ("π / 4 ≤ x ∧ x ≤ 7 * π / 4", Head::And),
            (
                "(∑ k ∈ Finset.Icc 1 12, z ^ k ^ 2) * ∑ k ∈ Finset.Icc 1 12, 1 / z ^ k ^ 2 = 36",
                Head::Eq,
            ),
            (
                "∑ k ∈ Finset.range n, (2 * k + 3) = (n + 1) ^ 2 - 1",
                Head::Eq,
            ),
            ("30 * x ≡ 42 [MOD 47]", Head::ModEq),
            ("x ∈ Finset.Icc 1 10", Head::Mem),
            ("(a = b)", Head::Eq),
            ("True", Head::True),
            ("False", Head::False),
            ("IsLeast {x | 30 * x ≡ 42 [MOD 47]} 39", Head::Other),
            ("(a + b + (a - b + (a + b))).Prime", Head::Other),
            ("ℕ → ℝ", Head::Implies),
            ("-x = 5", Head::Eq),
            ("fun x => x = 1", Head::Other),
            ("x ∉ S", Head::NotMem),
            ("", Head::Other),
        ];
        for (term, expected) in cases {
            assert_eq!(head(term), expected, "{term}");
        }
    }

    #[test]
    fn splits_at_the_loosest_operator() {
        let b = split_binary("x + y + x * y = 80").unwrap();
        assert_eq!((b.lhs, b.op, b.rhs), ("x + y + x * y", "=", "80"));
        let b = split_binary("a - b - c").unwrap();
        assert_eq!((b.lhs, b.rhs), ("a - b", "c"));
        let b = split_binary("p → q → r").unwrap();
        assert_eq!((b.lhs, b.rhs), ("p", "q → r"));
        let b = split_binary("f (x + 3) = 3 * x ^ 2").unwrap();
        assert_eq!(b.lhs, "f (x + 3)");
        assert!(split_binary("∀ x, x = x").is_none());
        assert!(split_binary("¬a = b").is_none());
        assert_eq!(
            chain("a ∧ (b ∨ c) ∧ d", Head::And),
            ["a", "b ∨ c", "d"].to_vec()
        );
    }

    #[test]
    fn intro_binders_read_the_common_forms() {
        let names = |t: &str| -> Vec<(Option<String>, bool)> {
            intro_binders(t)
                .into_iter()
                .map(|b| (b.name, b.is_hypothesis))
                .collect()
        };
        let v = |n: &str| (Some(n.to_owned()), false);
        let h = (None, true);
        assert_eq!(names("∀ (x : ℝ) (y : ℝ), x + y = y + x"), [v("x"), v("y")]);
        assert_eq!(names("∀ x y, x + y = y + x"), [v("x"), v("y")]);
        assert_eq!(names("∀ x : ℝ, x = x"), [v("x")]);
        assert_eq!(names("∀ x ∈ S, x > 0"), [v("x"), h.clone()]);
        assert_eq!(
            names("∀ x > 0, ∀ y > 0, f (x * y) = f x / y"),
            [v("x"), h.clone(), v("y"), h.clone()]
        );
        assert_eq!(names("p ∧ q → q ∧ p"), std::slice::from_ref(&h));
        assert_eq!(
            names("∀ (n : ℕ), 0 < n → n ∣ 6 → n ≤ 6"),
            [v("n"), h.clone(), h.clone()]
        );
        assert_eq!(names("∀ {α : Type} [inst : Fintype α], True").len(), 2);
        assert!(names("x = 1").is_empty());
        assert!(names("¬p").is_empty());
        assert!(names("∀ ⟨a, b⟩, a = b").is_empty());
        let hx = &intro_binders("∀ x ∈ S, x > 0")[1];
        assert_eq!(hx.about.as_deref(), Some("x"));
        assert_eq!(hx.ty.as_deref(), Some("x ∈ S"));
    }

    #[test]
    fn exists_binders_read_names_and_body() {
        let (binders, body) = exists_binders("∃ k, n = 2 * k").unwrap();
        assert_eq!(binders[0].name.as_deref(), Some("k"));
        assert_eq!(body, "n = 2 * k");
        let (binders, body) = exists_binders("∃ x > 0, f x = 0").unwrap();
        assert_eq!(binders.len(), 2);
        assert!(binders[1].is_hypothesis);
        assert_eq!(body, "f x = 0");
        assert!(exists_binders("∃! x, x = 0").is_none());
        assert!(exists_binders("x = 0").is_none());
    }

    #[test]
    fn propositions_and_variables() {
        for ty in [
            "x < 10",
            "∀ (x : ℝ), f x = 1",
            "a.Prime",
            "Nat.Prime p",
            "IsLeast S u",
            "x > 0 → y > 0",
            "¬7 ∣ a",
            "False",
        ] {
            assert!(is_proposition(ty), "{ty}");
        }
        for ty in [
            "ℝ",
            "ℕ → ℝ",
            "Finset ℕ",
            "Set ℕ",
            "ℝ ≃ ℝ",
            "Prop",
            "ℕ → ℕ → ℚ",
        ] {
            assert!(!is_proposition(ty), "{ty}");
        }
    }

    #[test]
    fn hypothesis_queries() {
        let g = goal(
            "n m : ℕ\nx : ℤ\nq e : ℂ\nh : ∃ k, n = 2 * k\nh₁ : 10 ≤ m ∧ m ≤ 99\nh₂ : n < 398\n\
             h₃ : q = 9 - 4 * Complex.I\nh₄ : 2 ≤ x\nh₅ : x < 7\nh₆ : e ≠ 0\nh₇ : m ∈ Finset.Icc 1 10\n\
             h₈ : n = 1 ∨ n = 2\n⊢ q - e = 12",
        );
        fn names<'a>(v: Vec<(&'a str, &str)>) -> Vec<&'a str> {
            v.into_iter().map(|(n, _)| n).collect()
        }
        assert_eq!(names(g.destructurable()), ["h", "h₁"]);
        assert_eq!(names(g.disjunctions()), ["h₈"]);
        assert_eq!(g.variable_equations(), [("h₃", "q", "9 - 4 * Complex.I")]);
        assert_eq!(g.disequalities(), [("h₆", "e", "0")]);
        assert_eq!(
            g.int_variables(),
            [
                ("n", IntType::Nat),
                ("m", IntType::Nat),
                ("x", IntType::Int)
            ]
        );
        let n = g.bounds("n");
        assert_eq!(n.upper[0].hypothesis, "h₂");
        assert!(n.upper[0].is_numeral && n.lower.is_empty());
        let x = g.bounds("x");
        assert_eq!((x.lower.len(), x.upper.len()), (1, 1));
        let m = g.bounds("m");
        assert_eq!(m.in_conjunction, ["h₁"]);
        assert_eq!(m.membership[0].lemma, "Finset.mem_Icc");
        assert_eq!(
            g.target_variables().into_iter().collect::<Vec<_>>(),
            ["e", "q"]
        );
        assert_eq!(names(g.relevant_facts()), ["h₃", "h₆"]);
    }

    #[test]
    fn numerals_and_mentions() {
        assert!(is_numeral("10"));
        assert!(is_numeral("2 ^ 3 - 1"));
        assert!(!is_numeral("n + 1"));
        assert!(!is_numeral(""));
        assert!(mentions("f (x + y) = 3", "x + y"));
        assert!(!mentions("xy = 3", "x"));
        assert!(!mentions("x = 3", ""));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        // Every entry point is total: arbitrary text never panics.
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,120}") {
            exercise(&text);
        }

        // Text built from the symbols goals are made of reaches the deeper code paths.
        #[test]
        fn never_panics_on_goal_like_text(
            text in "([a-z₀✝¹ ]{0,4}(:|⊢|∀|∃|∃!|¬|∑|,|\\(|\\)|⟨|⟩|\\||‖|∈|=|<|≤|→|∧|∨|-| |\n|\n  |case |«|»|fun|\\.|0|1){1,3}){0,30}"
        ) {
            exercise(&text);
        }
    }

    fn exercise(text: &str) {
        let goals = parse_goals(text);
        for g in &goals {
            let _ = g.to_string();
            let _ = g.relevant_facts();
            let _ = g.destructurable();
            let _ = g.variable_equations();
            for (var, _) in g.int_variables() {
                let _ = g.bounds(var);
            }
        }
        let _ = head(text);
        let _ = split_binary(text);
        let _ = intro_binders(text);
        let _ = exists_binders(text);
        let _ = chain(text, Head::And);
        let _ = identifiers(text);
        let _ = is_proposition(text);
        let _ = is_identifier(text);
        let _ = is_numeral(text);
        let _ = mentions(text, text);
        let _ = strip_parens(text);
    }
}
