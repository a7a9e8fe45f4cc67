//! The built-in tactic policy: a fixed, goal-aware portfolio of Mathlib tactics with hand-set priors, for search without a model.
//!
//! [`Portfolio`] needs no GPU and no network, and it is deterministic: the same state text always
//! gives the same candidates in the same order. It reads the state's **first** goal (the one
//! tactics act on) with [`crate::goal`] and proposes up to [`PortfolioConfig::max_candidates`]
//! tactics, each with a log-probability-like prior (≤ 0, higher first). The search keeps the best
//! `width` of them, so the priors decide what runs when the width is small.
//!
//! # Ordering rationale
//!
//! The priors encode three beliefs, from experience with miniF2F-style competition algebra and
//! number theory:
//!
//! 1. **Closing at once beats progressing.** An exact hypothesis match (`exact h`, −0.05),
//!    `trivial` on `True` and the cheap deciders that finish most easy miniF2F goals come first:
//!    `norm_num` (−0.30), `linarith` (−0.45 on `= < ≤ > ≥ False` goals), `simp` (−0.55),
//!    `omega` (−0.60 unless every variable is real), `positivity` (−0.70 on sign goals),
//!    `ring` (−0.75 on equations without facts, since it ignores hypotheses), `nlinarith`
//!    (−0.80 on inequalities), `decide` (−0.90 on closed goals), `tauto` (−0.50 when every
//!    variable is a `Prop`). Where the goal's shape or number type makes a tactic unlikely, its
//!    prior drops instead of the tactic disappearing, so a generous width still tries it.
//! 2. **Structural steps that cannot lose information come early too.** `intro` on `∀`/`→`
//!    (−0.10) and `obtain ⟨…⟩ := h` on `∃`/`∧` hypotheses (−0.20/−0.30) always succeed and make
//!    the deciders stronger (`linarith` does not look inside `∧`); `constructor` on `∧`/`↔`
//!    (−0.25), `intro h` on `¬`/`≠` (−0.35). Their children are new states that later
//!    expansions close.
//! 3. **Hypothesis-aware variants and case splits follow**, then broad automation. Hint lists
//!    name the facts connected to the target through shared variables, at most
//!    [`PortfolioConfig::max_hypothesis_terms`]: `norm_num [h₀]` (−0.75), `linarith [h₀, h₁]`
//!    (−0.85), `nlinarith [sq_nonneg (a - b), …, h₀]` (−0.95), `simp [h₀]` (−1.00). Then
//!    `subst h` (−0.50), `interval_cases x` (−0.60 when numeric bounds exist), `rcases h with
//!    h | h` (−0.70), `rw [h]` (−0.85), `left`/`right` (−0.90/−0.95), `induction n` (−1.40, only
//!    for an `n` no fact mentions), and `simp_all`, `norm_num at *`, `aesop` and the rest down
//!    to about −2.4.
//!
//! Left out on purpose: `exact?`/`apply?` (slow, and `apply?` can admit the goal), `use` (a
//! witness cannot be read off the text), `native_decide` unless
//! [`PortfolioConfig::allow_native_decide`] (its proofs fail the axiom check), and structured
//! `induction … with` blocks: plain `induction n` leaves `case zero`/`case succ` goals that later
//! expansions work on one by one.

use std::collections::{BTreeSet, HashMap};

use crate::goal::{self, Goal, Head, IntType};
use crate::search::{Candidate, Policy, PolicyError, Query};

/// What the portfolio proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioConfig {
    /// Propose `native_decide` on closed goals. Off by default: the checker rejects proofs that
    /// depend on `Lean.ofReduceBool`.
    pub allow_native_decide: bool,
    /// The most hypotheses named in one hint list (`linarith [h₀, h₁, …]`).
    pub max_hypothesis_terms: usize,
    /// The most candidates returned per state.
    pub max_candidates: usize,
}

impl Default for PortfolioConfig {
    fn default() -> Self {
        Self {
            allow_native_decide: false,
            max_hypothesis_terms: 6,
            max_candidates: 32,
        }
    }
}

/// The fixed tactic portfolio, a [`Policy`] for any state type (it reads only the state text).
#[derive(Debug, Clone, Default)]
pub struct Portfolio {
    config: PortfolioConfig,
}

impl Portfolio {
    /// A portfolio with the given configuration.
    pub fn new(config: PortfolioConfig) -> Self {
        Self { config }
    }

    /// The configuration in use.
    pub fn config(&self) -> &PortfolioConfig {
        &self.config
    }

    /// The candidates for a state, best first, at most `max_candidates`, without duplicates.
    pub fn candidates(&self, state_text: &str) -> Vec<Candidate> {
        let mut proposals = Proposals::default();
        match goal::parse_goals(state_text).first() {
            Some(goal) => self.propose_for(goal, &mut proposals),
            None => generic(&mut proposals),
        }
        proposals.finish(self.config.max_candidates)
    }

    fn propose_for(&self, goal: &Goal, out: &mut Proposals) {
        let cx = Context::new(goal);
        self.closing(&cx, out);
        structural(&cx, out);
        self.hypothesis_aware(&cx, out);
    }

    /// Deciders and general automation, with priors adjusted to the goal's shape.
    fn closing(&self, cx: &Context<'_>, out: &mut Proposals) {
        let head = cx.head;
        let arithmetic = head.is_comparison() || head == Head::False;
        let linear = arithmetic && head != Head::Ne;

        if let Some(name) = cx.matching_fact() {
            out.add(format!("exact {name}"), -0.05);
        }
        if head == Head::True {
            out.add("trivial", -0.05);
        }
        out.add("norm_num", -0.30);
        if linear {
            out.add("linarith", -0.45);
        }
        out.add("simp", -0.55);
        out.add("omega", if cx.only_fields { -2.2 } else { -0.60 });
        if cx.is_sign_goal() {
            out.add("positivity", -0.70);
        }
        if head == Head::Eq {
            // `ring` ignores hypotheses: strong on identities, hopeless on `x = 26` from facts.
            out.add("ring", if cx.has_facts { -1.30 } else { -0.75 });
        }
        if linear {
            out.add(
                "nlinarith",
                if head.is_inequality() { -0.80 } else { -1.20 },
            );
        }
        if cx.has_facts {
            out.add("simp_all", -1.00);
            out.add("norm_num at *", -1.25);
        }
        out.add("ring_nf", if head == Head::Eq { -1.00 } else { -1.40 });
        let divides = goal::mentions(&cx.goal.target, "/");
        out.add("field_simp", if divides { -1.10 } else { -2.00 });
        out.add("decide", if cx.closed { -0.90 } else { -2.10 });
        if self.config.allow_native_decide && cx.closed {
            out.add("native_decide", -1.50);
        }
        out.add("aesop", -1.70);
        let tauto = if cx.pure_logic {
            -0.50
        } else if head.is_connective() {
            -1.50
        } else {
            -2.20
        };
        out.add("tauto", tauto);
        if head != Head::True {
            out.add("trivial", -2.30);
        }
        out.add(
            "rfl",
            if matches!(head, Head::Eq | Head::Iff) && cx.closed {
                -0.95
            } else if matches!(head, Head::Eq | Head::Iff) {
                -1.60
            } else {
                -2.40
            },
        );
        out.add(
            "contradiction",
            if head == Head::False { -0.90 } else { -2.40 },
        );
        if cx.has_facts && cx.matching_fact().is_none() {
            out.add("assumption", -2.00);
        }
    }

    /// Hint lists, destructuring, substitution, case splits and induction.
    fn hypothesis_aware(&self, cx: &Context<'_>, out: &mut Proposals) {
        let goal = cx.goal;
        let head = cx.head;
        let cap = self.config.max_hypothesis_terms;
        let mut taken = cx.taken.clone();

        for (name, ty) in goal.destructurable().into_iter().take(4) {
            let pattern = destructuring_pattern(name, ty, &mut taken);
            if pattern.len() >= 2 {
                let prior = if goal::head(ty) == Head::Exists {
                    -0.20
                } else {
                    -0.30
                };
                out.add(format!("obtain ⟨{}⟩ := {name}", pattern.join(", ")), prior);
            }
        }
        for (name, _) in goal.disjunctions().into_iter().take(2) {
            out.add(format!("rcases {name} with {name} | {name}"), -0.70);
        }
        for (name, _, _) in goal.variable_equations().into_iter().take(3) {
            out.add(format!("subst {name}"), -0.50);
        }
        let mut rewrites = 0;
        for (name, ty) in goal.facts() {
            if rewrites >= 4 {
                break;
            }
            let Some(eq) =
                goal::split_binary(ty).filter(|b| matches!(b.head, Head::Eq | Head::Iff))
            else {
                continue;
            };
            if eq.lhs != eq.rhs && goal::mentions(&goal.target, eq.lhs) {
                out.add(format!("rw [{name}]"), -0.85);
                rewrites += 1;
            } else if !goal::is_numeral(eq.rhs) && goal::mentions(&goal.target, eq.rhs) {
                out.add(format!("rw [← {name}]"), -1.20);
                rewrites += 1;
            }
        }

        let relevant = goal.relevant_facts();
        let simp_facts: Vec<&str> = relevant
            .iter()
            .filter(|(_, ty)| !matches!(goal::head(ty), Head::Exists | Head::Or))
            .map(|(name, _)| *name)
            .take(cap)
            .collect();
        if !simp_facts.is_empty() {
            let list = simp_facts.join(", ");
            out.add(format!("norm_num [{list}]"), -0.75);
            out.add(format!("simp [{list}]"), -1.00);
        }
        let comparisons: Vec<&str> = relevant
            .iter()
            .filter(|(_, ty)| {
                let h = goal::head(ty);
                h.is_comparison() && h != Head::Ne
            })
            .map(|(name, _)| *name)
            .take(cap)
            .collect();
        let linear = (head.is_comparison() && head != Head::Ne) || head == Head::False;
        if linear && !comparisons.is_empty() {
            out.add(format!("linarith [{}]", comparisons.join(", ")), -0.85);
        }
        if linear {
            let mut hints = square_hints(cx);
            hints.extend(comparisons.iter().map(|h| (*h).to_owned()));
            if !hints.is_empty() {
                let prior = if head.is_inequality() { -0.95 } else { -1.30 };
                out.add(format!("nlinarith [{}]", hints.join(", ")), prior);
            }
        }
        if goal::mentions(&goal.target, "/") {
            let nonzero: Vec<&str> = goal
                .disequalities()
                .into_iter()
                .filter(|(_, lhs, rhs)| *rhs == "0" || *lhs == "0")
                .map(|(name, _, _)| name)
                .take(cap)
                .collect();
            if !nonzero.is_empty() {
                out.add(format!("field_simp [{}]", nonzero.join(", ")), -0.90);
            }
        }

        let mentioned = cx.mentioned_anywhere();
        let mut splits = 0;
        for (var, ty) in goal.int_variables() {
            if !mentioned.contains(var) {
                continue;
            }
            let bounds = goal.bounds(var);
            let upper = bounds.upper.iter().any(|b| b.is_numeral);
            let lower = bounds.lower.iter().any(|b| b.is_numeral) || ty == IntType::Nat;
            if upper && lower && splits < 2 {
                out.add(format!("interval_cases {var}"), -0.60);
                splits += 1;
            }
            for membership in bounds.membership.iter().take(1) {
                out.add(
                    format!(
                        "simp only [{}] at {}",
                        membership.lemma, membership.hypothesis
                    ),
                    -0.50,
                );
            }
        }
        // Induction suits a target about `n` alone (sums, divisibility for all `n`); when facts
        // pin `n` down, the induction hypothesis rarely applies and other steps do better.
        let in_facts: BTreeSet<&str> = goal
            .facts()
            .flat_map(|(_, ty)| goal::identifiers(ty))
            .collect();
        if let Some((var, _)) = goal.int_variables().into_iter().find(|(var, ty)| {
            *ty == IntType::Nat && cx.target_vars.contains(var) && !in_facts.contains(var)
        }) {
            out.add(format!("induction {var}"), -1.40);
        }
        let target = &goal.target;
        if target.contains('∑') && target.contains("Finset.range") {
            out.add("simp [Finset.sum_range_succ]", -1.20);
        }
        if target.contains('∏') && target.contains("Finset.range") {
            out.add("simp [Finset.prod_range_succ]", -1.20);
        }
    }
}

impl Policy for Portfolio {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        // Deterministic and cheap, so there is no reason to cut to `width` here: the search does.
        Ok(self.candidates(query.state))
    }
}

/// Steps that follow the target's shape: `intro`, `constructor`, `left`/`right`, `push_neg`.
fn structural(cx: &Context<'_>, out: &mut Proposals) {
    let head = cx.head;
    let binders = goal::intro_binders(&cx.goal.target);
    if !binders.is_empty() {
        let mut taken = cx.taken.clone();
        let mut names: Vec<String> = Vec::new();
        // The names given to variables, so `∀ x ∈ S` can name its proof after `x`'s new name.
        let mut renamed: HashMap<&str, String> = HashMap::new();
        for binder in &binders {
            let name = if binder.is_hypothesis {
                let base = binder
                    .about
                    .as_deref()
                    .map(|x| format!("h{}", renamed.get(x).map_or(x, String::as_str)))
                    .filter(|n| goal::is_accessible(n))
                    .unwrap_or_else(|| "h".to_owned());
                fresh(&base, &mut taken)
            } else {
                let base = binder
                    .name
                    .as_deref()
                    .filter(|n| goal::is_accessible(n))
                    .unwrap_or("x");
                let name = fresh(base, &mut taken);
                if let Some(original) = binder.name.as_deref() {
                    renamed.insert(original, name.clone());
                }
                name
            };
            names.push(name);
        }
        out.add(format!("intro {}", names.join(" ")), -0.10);
    } else if matches!(head, Head::Not | Head::Ne) {
        let mut taken = cx.taken.clone();
        let h = fresh("h", &mut taken);
        out.add(format!("intro {h}"), -0.35);
        out.add(format!("by_contra {h}"), -1.60);
    }
    match head {
        Head::And => {
            out.add("constructor", -0.25);
            let parts = goal::chain(&cx.goal.target, Head::And).len();
            let holes = vec!["?_"; parts.clamp(2, 8)].join(", ");
            out.add(
                format!("refine ⟨{holes}⟩"),
                if parts >= 3 { -0.60 } else { -1.30 },
            );
        }
        Head::Iff => out.add("constructor", -0.30),
        Head::Or => {
            out.add("left", -0.90);
            out.add("right", -0.95);
        }
        _ => {}
    }
    if goal::mentions(&cx.goal.target, "¬") {
        out.add("push_neg", if head == Head::Not { -1.00 } else { -1.50 });
    }
}

/// What to propose when the state text holds no readable goal: the general closers.
fn generic(out: &mut Proposals) {
    for (tactic, prior) in [
        ("norm_num", -0.30),
        ("simp", -0.55),
        ("omega", -0.60),
        ("linarith", -0.70),
        ("decide", -1.50),
        ("aesop", -1.70),
        ("rfl", -2.00),
        ("trivial", -2.30),
    ] {
        out.add(tactic, prior);
    }
}

/// Facts about the first goal that several rules share.
struct Context<'a> {
    goal: &'a Goal,
    head: Head,
    /// Every name in the context, so new names avoid them.
    taken: BTreeSet<String>,
    /// Variables the target mentions.
    target_vars: BTreeSet<&'a str>,
    has_facts: bool,
    /// No hypotheses and no binders: a closed computation like `2004 % 12 = 0`.
    closed: bool,
    /// Every variable is real, rational or complex, so `omega` has nothing to work on.
    only_fields: bool,
    /// Every variable is a `Prop`: a pure logic puzzle, which `tauto` decides.
    pure_logic: bool,
}

impl<'a> Context<'a> {
    fn new(goal: &'a Goal) -> Self {
        let head = goal::head(&goal.target);
        let variables: Vec<(&str, &str)> = goal.variables().collect();
        let has_facts = goal.facts().next().is_some();
        let closed = goal.hypotheses.is_empty()
            && goal::intro_binders(&goal.target).is_empty()
            && head != Head::Exists;
        let only_fields = !variables.is_empty()
            && variables
                .iter()
                .all(|(_, ty)| goal::is_field_type(ty) || goal::int_type(ty).is_none())
            && variables.iter().any(|(_, ty)| goal::is_field_type(ty));
        let pure_logic =
            !variables.is_empty() && variables.iter().all(|(_, ty)| ty.trim() == "Prop");
        Self {
            goal,
            head,
            taken: goal.names().map(str::to_owned).collect(),
            target_vars: goal.target_variables(),
            has_facts,
            closed,
            only_fields,
            pure_logic,
        }
    }

    /// A fact whose type is the target, up to spacing and outer parentheses.
    fn matching_fact(&self) -> Option<&'a str> {
        let target = normalize(&self.goal.target);
        self.goal
            .facts()
            .find(|(_, ty)| normalize(ty) == target)
            .map(|(name, _)| name)
    }

    /// `0 < e`, `0 ≤ e`, `e > 0`, `e ≥ 0`, `e ≠ 0`: what `positivity` proves.
    fn is_sign_goal(&self) -> bool {
        let Some(rel) = goal::split_binary(&self.goal.target) else {
            return false;
        };
        match rel.head {
            Head::Lt | Head::Le => rel.lhs == "0",
            Head::Gt | Head::Ge | Head::Ne => rel.rhs == "0",
            _ => false,
        }
    }

    /// Variables mentioned by the target or by any fact.
    fn mentioned_anywhere(&self) -> BTreeSet<&'a str> {
        let mut names = goal::identifiers(&self.goal.target);
        for (_, ty) in self.goal.facts() {
            names.extend(goal::identifiers(ty));
        }
        names
    }
}

/// `sq_nonneg (a - b)` and `sq_nonneg (a + b)` for pairs of the first three relevant ℝ/ℚ/ℤ
/// variables (ℕ subtraction truncates, so squares of differences say little there).
fn square_hints(cx: &Context<'_>) -> Vec<String> {
    let relevant = cx.goal.relevant_variables();
    let vars: Vec<&str> = cx
        .goal
        .variables()
        .filter(|(name, ty)| {
            relevant.contains(name)
                && goal::is_accessible(name)
                && goal::int_type(ty) != Some(IntType::Nat)
                && (goal::is_field_type(ty) || goal::int_type(ty).is_some())
        })
        .map(|(name, _)| name)
        .take(3)
        .collect();
    let mut hints = Vec::new();
    for op in ["-", "+"] {
        for (i, a) in vars.iter().enumerate() {
            for b in &vars[i + 1..] {
                hints.push(format!("sq_nonneg ({a} {op} {b})"));
            }
        }
    }
    hints.truncate(6);
    hints
}

/// The `⟨…⟩` components for taking apart an `∃`/`∧` hypothesis named `name`.
///
/// `∃ k, n = 2 * k` → `k, hk`; `a ∧ b ∧ c` → `h_1, h_2, h_3`; `∃ x > 0, P ∧ Q` → `x, hx_1, hx_2,
/// hx_3` (the binder predicate, then the body's conjuncts). New names avoid `taken`, which grows.
fn destructuring_pattern(name: &str, ty: &str, taken: &mut BTreeSet<String>) -> Vec<String> {
    let mut components = Vec::new();
    let mut base = name.to_owned();
    let mut body = ty;
    if let Some((binders, inner)) = goal::exists_binders(ty) {
        let mut proofs = 0;
        for binder in &binders {
            if binder.is_hypothesis {
                proofs += 1;
                components.push(None);
            } else {
                let var = binder
                    .name
                    .as_deref()
                    .filter(|n| goal::is_accessible(n))
                    .unwrap_or("x");
                let var = fresh(var, taken);
                base = format!("h{var}");
                components.push(Some(var));
            }
        }
        // Proofs from binder predicates share the body's naming scheme below.
        body = inner;
        let conjuncts = goal::chain(body, Head::And).len().min(8);
        let total = proofs + conjuncts;
        let mut proof_names = numbered(&base, total, taken).into_iter();
        let mut named: Vec<String> = components
            .into_iter()
            .map(|c| c.unwrap_or_else(|| proof_names.next().unwrap_or_default()))
            .collect();
        named.extend(proof_names);
        return named;
    }
    let conjuncts = goal::chain(body, Head::And).len().min(8);
    numbered(&base, conjuncts, taken)
}

/// `count` fresh names from `base`: just `base` for one (`hk`), `base_1`, `base_2`, … otherwise.
fn numbered(base: &str, count: usize, taken: &mut BTreeSet<String>) -> Vec<String> {
    if count == 1 {
        return vec![fresh(base, taken)];
    }
    (1..=count)
        .map(|i| fresh(&format!("{base}_{i}"), taken))
        .collect()
}

/// `base` if no hypothesis has that name yet, else `base_1`, `base_2`, …; records the result.
fn fresh(base: &str, taken: &mut BTreeSet<String>) -> String {
    let mut name = base.to_owned();
    let mut n = 1;
    while taken.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// Spacing and outer parentheses do not matter when comparing a hypothesis with the target.
fn normalize(term: &str) -> String {
    goal::strip_parens(term)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Candidates collected so far: one per tactic text, keeping the best prior.
#[derive(Default)]
struct Proposals {
    list: Vec<Candidate>,
    index: HashMap<String, usize>,
}

impl Proposals {
    fn add(&mut self, tactic: impl Into<String>, prior: f64) {
        let tactic = tactic.into();
        match self.index.get(&tactic) {
            Some(&i) => {
                let existing = &mut self.list[i];
                existing.score = existing.score.max(prior);
            }
            None => {
                self.index.insert(tactic.clone(), self.list.len());
                self.list.push(Candidate::new(tactic, prior));
            }
        }
    }

    /// Best first; the stable sort keeps insertion order among equal priors.
    fn finish(mut self, max: usize) -> Vec<Candidate> {
        self.list.sort_by(|a, b| b.score.total_cmp(&a.score));
        self.list.truncate(max);
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::TacticGuard;
    use crate::search::CandidateFilter;

    fn tactics(state: &str) -> Vec<String> {
        Portfolio::default()
            .candidates(state)
            .into_iter()
            .map(|c| c.tactic)
            .collect()
    }

    fn assert_has(state: &str, expected: &[&str]) {
        let got = tactics(state);
        for tactic in expected {
            assert!(
                got.iter().any(|t| t == tactic),
                "{tactic:?} missing for {state:?}; got {got:#?}"
            );
        }
    }

    fn assert_lacks(state: &str, unexpected: &[&str]) {
        let got = tactics(state);
        for tactic in unexpected {
            assert!(
                !got.iter().any(|t| t == tactic),
                "{tactic:?} present for {state:?}"
            );
        }
    }

    #[test]
    fn linear_system_gets_linarith_with_its_hypotheses() {
        assert_has(
            "x y : ℝ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ x = 6",
            &[
                "linarith [h₀, h₁]",
                "linarith",
                "norm_num [h₀, h₁]",
                "nlinarith [sq_nonneg (x - y), sq_nonneg (x + y), h₀, h₁]",
            ],
        );
    }

    #[test]
    fn forall_targets_get_intro() {
        assert_has("⊢ ∀ (x : ℝ), x ^ 2 ≥ 0", &["intro x"]);
        assert_has("⊢ ∀ x y : ℝ, x + y = y + x", &["intro x y"]);
        // From miniF2F valid (mathd_algebra_…-style): binder predicates name their proofs.
        assert_has(
            "f : ℝ → ℝ\n⊢ ∀ x > 0, ∀ y > 0, f (x * y) = f x / y",
            &["intro x hx y hy"],
        );
        // Implications get fresh `h` names that avoid the context.
        assert_has("p q : Prop\nh : p\n⊢ p ∧ q → q ∧ p", &["intro h_1"]);
        // A bound name that clashes with a hypothesis is renamed, and so is its proof.
        assert_has("x : ℝ\n⊢ ∀ x ∈ S, x = x", &["intro x_1 hx_1"]);
    }

    #[test]
    fn existential_hypotheses_are_destructured() {
        assert_has(
            "n : ℕ\nh : ∃ k, n = 2 * k\n⊢ Even n",
            &["obtain ⟨k, hk⟩ := h"],
        );
        // From miniF2F valid amc12a_2008_p8.
        assert_has(
            "x y : ℝ\nh₀ : 0 < x ∧ 0 < y\nh₁ : y ^ 3 = 1\nh₂ : 6 * x ^ 2 = 2 * (6 * y ^ 2)\n⊢ x ^ 3 = 2 * √2",
            &["obtain ⟨h₀_1, h₀_2⟩ := h₀"],
        );
        assert_has(
            "f : ℕ → ℕ\nh : ∃ x > 0, f x = 0 ∧ f 1 = 1\n⊢ False",
            &["obtain ⟨x, hx_1, hx_2, hx_3⟩ := h"],
        );
    }

    #[test]
    fn bounded_integers_get_interval_cases() {
        // From miniF2F valid mathd_numbertheory_33.
        assert_has(
            "n : ℕ\nh₀ : n < 398\nh₁ : n * 7 % 398 = 1\n⊢ n = 57",
            &["interval_cases n", "omega"],
        );
        assert_lacks(
            "n : ℕ\nh₀ : n < 398\nh₁ : n * 7 % 398 = 1\n⊢ n = 57",
            &["induction n"],
        );
        // ℤ needs both bounds (amc12a_2015_p10 has only symbolic ones).
        assert_lacks(
            "x y : ℤ\nh₀ : 0 < y\nh₁ : y < x\nh₂ : x + y + x * y = 80\n⊢ x = 26",
            &["interval_cases x", "interval_cases y"],
        );
        assert_has(
            "x : ℤ\nh₀ : 2 ≤ x\nh₁ : x < 7\n⊢ x ^ 2 < 50",
            &["interval_cases x"],
        );
        // Conjunction bounds are split first (mathd_numbertheory_780), memberships unfolded.
        assert_has(
            "m x : ℤ\nh₀ : 0 ≤ x\nh₁ : 10 ≤ m ∧ m ≤ 99\nh₂ : 6 * x % m = 1\nh₃ : (x - 6 ^ 2) % m = 0\n⊢ m = 43",
            &["obtain ⟨h₁_1, h₁_2⟩ := h₁"],
        );
        assert_has(
            "n : ℕ\nh : n ∈ Finset.Icc 1 10\n⊢ n ^ 2 ≤ 100",
            &["simp only [Finset.mem_Icc] at h"],
        );
    }

    #[test]
    fn shapes_get_their_structural_steps() {
        assert_has(
            "a b : ℝ\nh₀ : a = -6\n⊢ a = -6 ∧ b = b",
            &["constructor", "refine ⟨?_, ?_⟩"],
        );
        assert_has("⊢ p ∧ q ∧ r", &["refine ⟨?_, ?_, ?_⟩"]);
        assert_has("a : ℤ\n⊢ a ^ 2 % 4 = 0 ∨ a ^ 2 % 4 = 1", &["left", "right"]);
        assert_has(
            "n : ℕ\n⊢ ¬7 ∣ 2 ^ n + 1",
            &["intro h", "by_contra h", "push_neg"],
        );
        assert_has("x : ℝ\nh : x ≠ 0\n⊢ x ≠ 1", &["intro h_1"]);
        assert_has("⊢ True", &["trivial"]);
    }

    #[test]
    fn hypotheses_are_used_by_name() {
        // `exact h` when a hypothesis is the target; it comes first.
        let got = tactics("x : Nat\nh1 : x = 2\n⊢ x = 2");
        assert_eq!(got[0], "exact h1");
        assert_has("x : Nat\nh1 : x = 2\n⊢ x = 2", &["subst h1", "rw [h1]"]);
        // mathd_algebra_48: variables defined by equations.
        assert_has(
            "q e : ℂ\nh₀ : q = 9 - 4 * Complex.I\nh₁ : e = -3 - 4 * Complex.I\n⊢ q - e = 12",
            &["subst h₀", "rw [h₀]", "norm_num [h₀, h₁]"],
        );
        // amc12a_2009_p9-style function definitions feed simp and norm_num.
        assert_has(
            "a b c : ℝ\nf : ℝ → ℝ\nh₀ : ∀ (x : ℝ), f (x + 3) = 3 * x ^ 2 + 7 * x + 4\nh₁ : ∀ (x : ℝ), f x = a * x ^ 2 + b * x + c\n⊢ a + b + c = 2",
            &["norm_num [h₀, h₁]", "simp [h₀, h₁]"],
        );
        assert_has(
            "x y : ℝ\nhx : x ≠ 0\n⊢ y / x * x = y",
            &["field_simp [hx]", "field_simp"],
        );
        assert_has(
            "n : ℕ\nh : n = 1 ∨ n = 2\n⊢ n < 3",
            &["rcases h with h | h"],
        );
    }

    #[test]
    fn closed_goals_rank_decide_and_norm_num_high() {
        let got = tactics("⊢ 2004 % 12 = 0");
        assert_eq!(got[0], "norm_num");
        let decide = got.iter().position(|t| t == "decide").unwrap();
        assert!(decide < 10, "{got:?}");
        assert!(!got.iter().any(|t| t == "native_decide"));
        let allowing = Portfolio::new(PortfolioConfig {
            allow_native_decide: true,
            ..PortfolioConfig::default()
        });
        assert!(
            allowing
                .candidates("⊢ 2004 % 12 = 0")
                .iter()
                .any(|c| c.tactic == "native_decide")
        );
    }

    #[test]
    fn sum_goals_get_range_lemmas_and_induction() {
        assert_has("n : ℕ\n⊢ 3 ∣ n ^ 3 + 2 * n", &["induction n"]);
        // A pure logic puzzle (from the REPL transcripts) puts `tauto` near the top.
        let got = tactics("p q : Prop\n⊢ p ∧ q → q ∧ p");
        assert!(
            got.iter().position(|t| t == "tauto").unwrap() < 4,
            "{got:?}"
        );
        assert_has(
            "n : ℕ\n⊢ ∑ k ∈ Finset.range n, (2 * k + 3) = (n + 1) ^ 2 - 1",
            &["induction n", "simp [Finset.sum_range_succ]"],
        );
    }

    #[test]
    fn only_the_first_goal_counts() {
        let got = tactics("case left\np q : Prop\nhp : p\n⊢ p\n\ncase right\np q : Prop\n⊢ q ∨ p");
        assert_eq!(got[0], "exact hp");
        assert!(!got.iter().any(|t| t == "left"));
    }

    #[test]
    fn output_is_sorted_bounded_unique_deterministic_and_guard_clean() {
        let states = [
            "x y : ℝ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ x = 6",
            "a b c : ℝ\n⊢ a * b * (a ^ 2 - b ^ 2) + b * c * (b ^ 2 - c ^ 2) + c * a * (c ^ 2 - a ^ 2) ≤\n    9 * √2 / 32 * (a ^ 2 + b ^ 2 + c ^ 2) ^ 2",
            "u v : ℕ\nS : Set ℕ\nh₀ : ∀ (n : ℕ), n ∈ S ↔ 0 < n ∧ 14 * n % 100 = 46\nh₁ : IsLeast S u\nh₂ : IsLeast (S \\ {u}) v\n⊢ (↑u + ↑v) / 2 = 64",
            "",
            "no goals",
            "garbage ⊢",
        ];
        let mut guard = TacticGuard::default();
        for state in states {
            let first = Portfolio::default().candidates(state);
            assert!(!first.is_empty(), "{state:?}");
            assert!(first.len() <= 32);
            assert!(first.windows(2).all(|w| w[0].score >= w[1].score));
            assert!(first.iter().all(|c| c.score <= 0.0));
            let unique: BTreeSet<&str> = first.iter().map(|c| c.tactic.as_str()).collect();
            assert_eq!(unique.len(), first.len());
            for c in &first {
                assert_eq!(guard.screen(&c.tactic), Ok(()), "{:?} refused", c.tactic);
                assert!(!c.tactic.contains('\n'));
            }
            let mut policy = Portfolio::default();
            let again = policy.propose(&Query::root(state, 4)).unwrap();
            assert_eq!(first, again);
        }
        let small = Portfolio::new(PortfolioConfig {
            max_candidates: 3,
            ..PortfolioConfig::default()
        });
        assert_eq!(small.candidates("x : ℝ\n⊢ x = x").len(), 3);
    }

    #[test]
    fn hint_lists_are_capped() {
        let state = "x : ℝ\nh₀ : x > 0\nh₁ : x > 1\nh₂ : x > 2\nh₃ : x > 3\n⊢ x > 4";
        let policy = Portfolio::new(PortfolioConfig {
            max_hypothesis_terms: 2,
            ..PortfolioConfig::default()
        });
        let got: Vec<String> = policy
            .candidates(state)
            .into_iter()
            .map(|c| c.tactic)
            .collect();
        assert!(got.contains(&"linarith [h₀, h₁]".to_owned()), "{got:?}");
    }
}
