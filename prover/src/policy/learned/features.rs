//! What the learned policy sees of a proof state: hashed token features of the goal with local names abstracted, the locals with their roles, and tactics abstracted over those locals.
//!
//! Local names are abstracted so that `h₀ : a = 2` and `hx : y = 5` share features, and a
//! tactic that names locals (`rw [h₀]`, `linarith [h₁, h₂]`, `induction n`) is stored with
//! references to them by role (variable or hypothesis, and the shape of its type) and
//! re-instantiated with the names of the matching locals of a new state. A tactic whose
//! references cannot all be matched is not proposed.

use crate::goal::{self, Head};

/// A local of a state: a variable (`x : ℝ`) or a hypothesis (`h₀ : x + y = 10`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// Its name in this state.
    pub name: String,
    /// Variable or hypothesis.
    pub kind: LocalKind,
    /// Token hashes of its type, locals abstracted, sorted and deduplicated.
    pub shape: Vec<u32>,
}

/// The role of a local.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum LocalKind {
    /// A term of a type (`x : ℝ`, `f : ℕ → ℕ`).
    Variable,
    /// A proof of a proposition (`h : x ≤ 3`).
    Hypothesis,
}

/// A state's features and locals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFeatures {
    /// Feature hashes, sorted and deduplicated.
    pub hashes: Vec<u32>,
    /// The first goal's locals, in order.
    pub locals: Vec<Local>,
}

/// The features of a state's first goal; `None` when the text holds no goal.
pub fn features(state: &str) -> Option<StateFeatures> {
    let goals = goal::parse_goals(state);
    let first = goals.first()?;
    let mut locals = Vec::new();
    for hypothesis in &first.hypotheses {
        let kind = kind_of(&hypothesis.ty, &hypothesis.names);
        for name in &hypothesis.names {
            locals.push(Local {
                name: name.clone(),
                kind,
                shape: Vec::new(),
            });
        }
    }
    let owned: Vec<(String, LocalKind)> = locals.iter().map(|l| (l.name.clone(), l.kind)).collect();
    let names: Vec<(&str, LocalKind)> = owned.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let mut hashes = Vec::new();
    let target = tokens(&first.target, &names);
    for token in &target {
        hashes.push(hash(&["t1", token]));
    }
    for pair in target.windows(2) {
        hashes.push(hash(&["t2", &pair[0], &pair[1]]));
    }
    hashes.push(hash(&["head", &format!("{:?}", goal::head(&first.target))]));
    hashes.push(hash(&["goals", &goals.len().min(4).to_string()]));
    let mut index = 0;
    for hypothesis in &first.hypotheses {
        let kind = kind_of(&hypothesis.ty, &hypothesis.names);
        let ty = tokens(&hypothesis.ty, &names);
        let prefix = match kind {
            LocalKind::Variable => "v",
            LocalKind::Hypothesis => "h",
        };
        for token in &ty {
            hashes.push(hash(&[prefix, token]));
        }
        if kind == LocalKind::Hypothesis {
            for pair in ty.windows(2) {
                hashes.push(hash(&["h2", &pair[0], &pair[1]]));
            }
        }
        let mut shape: Vec<u32> = ty.iter().map(|t| hash(&["s", t])).collect();
        shape.push(hash(&[
            "shead",
            &format!("{:?}", goal::head(&hypothesis.ty)),
        ]));
        shape.sort_unstable();
        shape.dedup();
        for _ in &hypothesis.names {
            locals[index].shape = shape.clone();
            index += 1;
        }
    }
    hashes.sort_unstable();
    hashes.dedup();
    Some(StateFeatures { hashes, locals })
}

/// A hypothesis states a proposition (its type's head is a relation or a connective, or its
/// names are `h…` as Lean's and Mathlib's conventions have them); anything else is a variable.
fn kind_of(ty: &str, names: &[String]) -> LocalKind {
    let head = goal::head(ty);
    let propositional = head.is_comparison()
        || head.is_connective()
        || matches!(
            head,
            Head::Not | Head::Forall | Head::Exists | Head::True | Head::False
        );
    let named_like_a_proof = !names.is_empty() && names.iter().all(|n| n.starts_with('h'));
    let arrow_of_types = head == Head::Implies && !named_like_a_proof;
    if (propositional && !arrow_of_types) || named_like_a_proof {
        LocalKind::Hypothesis
    } else {
        LocalKind::Variable
    }
}

/// The tokens of a term: identifiers and symbols, numerals as `NUM`, locals as `VAR`/`HYP`.
fn tokens(term: &str, locals: &[(&str, LocalKind)]) -> Vec<String> {
    split_tokens(term)
        .into_iter()
        .map(|token| match token {
            Token::Ident(text) => match locals.iter().find(|(name, _)| *name == text) {
                Some((_, LocalKind::Variable)) => "VAR".to_owned(),
                Some((_, LocalKind::Hypothesis)) => "HYP".to_owned(),
                None if text.chars().all(|c| c.is_ascii_digit()) => "NUM".to_owned(),
                None => text.to_owned(),
            },
            Token::Symbol(text) => text.to_owned(),
        })
        .collect()
}

/// One piece of a term or tactic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A name or numeral (letters, digits, `_`, `'`, `!`, `?`, subscripts).
    Ident(&'a str),
    /// Any other non-space character.
    Symbol(&'a str),
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '\'' | '!' | '?') || ('₀'..='₉').contains(&c)
}

fn split_tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if is_ident_char(c) {
            let mut end = start + c.len_utf8();
            while let Some(&(i, next)) = chars.peek() {
                if !is_ident_char(next) {
                    break;
                }
                end = i + next.len_utf8();
                chars.next();
            }
            out.push(Token::Ident(&text[start..end]));
        } else {
            out.push(Token::Symbol(&text[start..start + c.len_utf8()]));
        }
    }
    out
}

/// FNV-1a over the parts, separated: stable across runs and platforms (never Rust's
/// randomized hasher), so a model file means the same everywhere.
pub fn hash(parts: &[&str]) -> u32 {
    ::datasets::hash::fnv1a_32_parts(parts)
}

/// A tactic with the locals it names replaced by references (`⟪0⟫`, `⟪1⟫`, …).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct AbstractTactic {
    /// The text with `⟪i⟫` where reference `i` goes.
    pub template: String,
    /// What each reference was: its role and type shape.
    pub refs: Vec<(LocalKind, Vec<u32>)>,
}

/// `tactic` with every name of `locals` it mentions replaced by a reference.
pub fn abstract_tactic(tactic: &str, locals: &[Local]) -> AbstractTactic {
    let mut template = String::new();
    let mut refs: Vec<(LocalKind, Vec<u32>)> = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    let mut last = 0;
    for (start, end) in ident_spans(tactic) {
        let text = &tactic[start..end];
        let Some(local) = locals.iter().find(|l| l.name == text) else {
            continue;
        };
        template.push_str(&tactic[last..start]);
        let index = match named.iter().position(|n| *n == text) {
            Some(index) => index,
            None => {
                named.push(text);
                refs.push((local.kind, local.shape.clone()));
                refs.len() - 1
            }
        };
        template.push_str(&format!("⟪{index}⟫"));
        last = end;
    }
    template.push_str(&tactic[last..]);
    AbstractTactic { template, refs }
}

/// The tactic for a state with `locals`: each reference takes the unused local of the same
/// role whose type shape is most like the original's (ties to the earlier local); `None` when
/// some reference has no local left to take.
pub fn instantiate(tactic: &AbstractTactic, locals: &[Local]) -> Option<String> {
    let mut chosen: Vec<usize> = Vec::with_capacity(tactic.refs.len());
    for (kind, shape) in &tactic.refs {
        let best = locals
            .iter()
            .enumerate()
            .filter(|(i, l)| l.kind == *kind && !chosen.contains(i) && goal::is_accessible(&l.name))
            .map(|(i, l)| (i, jaccard(shape, &l.shape)))
            .fold(None::<(usize, f64)>, |best, (i, s)| match best {
                Some((_, b)) if b >= s => best,
                _ => Some((i, s)),
            })?;
        chosen.push(best.0);
    }
    let mut text = tactic.template.clone();
    for (index, local) in chosen.iter().enumerate() {
        text = text.replace(&format!("⟪{index}⟫"), &locals[*local].name);
    }
    Some(text)
}

/// Byte spans of the identifiers of a tactic (a `.` ends one, so `h.1` names `h`).
fn ident_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (start, is_ident_char(c)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// |a ∩ b| / |a ∪ b| of two sorted, deduplicated lists (1 for two empty ones).
pub fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_do_not_change_the_features() {
        let a = features("a : ℕ\nh₀ : a = 2\n⊢ a + 1 = 3").unwrap();
        let b = features("y : ℕ\nhx : y = 2\n⊢ y + 1 = 3").unwrap();
        assert_eq!(a.hashes, b.hashes);
        assert_eq!(a.locals[1].kind, LocalKind::Hypothesis);
        assert_eq!(a.locals[0].kind, LocalKind::Variable);
        assert!(features("no goals").is_none());
    }

    #[test]
    fn tactics_move_to_the_matching_locals_of_a_new_state() {
        let old = features("x y : ℝ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ x = 6").unwrap();
        let tactic = abstract_tactic("linarith [h₀, h₁]", &old.locals);
        assert_eq!(tactic.template, "linarith [⟪0⟫, ⟪1⟫]");
        let new = features("a b : ℝ\nhb : a - b = 4\nha : a + b = 8\n⊢ a = 6").unwrap();
        // By shape: `h₀` (a sum) goes to `ha`, `h₁` (a difference) to `hb`.
        assert_eq!(
            instantiate(&tactic, &new.locals).as_deref(),
            Some("linarith [ha, hb]")
        );
        let gizmo = abstract_tactic(
            "gizmo_elim hx",
            &features("n : ℕ\nhx : n ≤ 3\n⊢ n < 4").unwrap().locals,
        );
        assert_eq!(gizmo.template, "gizmo_elim ⟪0⟫");
        assert_eq!(
            instantiate(&gizmo, &features("⊢ True").unwrap().locals),
            None,
            "no hypothesis to name"
        );
        let plain = abstract_tactic("norm_num", &old.locals);
        assert_eq!(instantiate(&plain, &[]).as_deref(), Some("norm_num"));
    }

    #[test]
    fn hashes_are_stable() {
        assert_eq!(hash(&["t1", "x"]), hash(&["t1", "x"]));
        assert_ne!(hash(&["t1", "x"]), hash(&["t1x"]));
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
    }
}
