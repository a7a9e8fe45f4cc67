//! Seeded random worlds for the simulated REPL, with a breadth-first oracle for what they prove.
//!
//! Worlds must be reproducible forever from their seed, so the generator uses its own splitmix64
//! instead of a `rand` crate whose streams may change between versions.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use datasets::lean::script_to_proof;

use crate::world::{Fault, Outcome, Theorem, Transition, World};

/// The header generated worlds accept: miniF2F's, whose imports are the world's `imports`.
pub const DEFAULT_HEADER: &str = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n\n";

/// The shape of a random world.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldSpec {
    /// Number of theorems.
    pub theorems: usize,
    /// Length of the intended proof of each provable theorem.
    pub depth: usize,
    /// Tactics with a transition out of every state (capped by the vocabulary).
    pub branching: usize,
    /// Chance that an off-path tactic leads into a state no tactic sequence can prove.
    pub dead_end_rate: f64,
    /// Chance that an off-path tactic leads back to an existing state (cycles allowed).
    pub repeat_rate: f64,
    /// Chance that a theorem has no proof at all.
    pub unprovable_rate: f64,
    /// The seed; the same spec always gives the same world.
    pub seed: u64,
    /// Number of distinct tactic texts to draw from.
    pub tactic_vocabulary: usize,
    /// Every n-th theorem (the 0th, the n-th, …; 0: none) is easy: a one-step proof whose
    /// tactic is the vocabulary's first, the one a vocabulary server scores best. Theorems of
    /// several difficulties, for the cheap pass of expert iteration.
    pub one_step_every: usize,
    /// Chance that a theorem needs two lemmas: no tactic sequence proves it directly, but a
    /// skeleton of two `have`s elaborates, each hole is provable, and the closing tactic
    /// uses both ([`GeneratedWorld::two_lemma`]). 0 (the default) draws nothing, so such
    /// worlds are what they were before the option.
    pub two_lemma_rate: f64,
}

impl Default for WorldSpec {
    fn default() -> Self {
        WorldSpec {
            theorems: 8,
            depth: 3,
            branching: 4,
            dead_end_rate: 0.2,
            repeat_rate: 0.15,
            unprovable_rate: 0.25,
            seed: 0,
            tactic_vocabulary: 32,
            one_step_every: 0,
            two_lemma_rate: 0.0,
        }
    }
}

/// A generated world and the oracle's answers about it.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedWorld {
    /// The world.
    pub world: World,
    /// Theorem name → whether some tactic sequence proves it.
    pub provable: BTreeMap<String, bool>,
    /// Theorem name → a shortest proof ([`bfs_oracle`]), if any.
    pub shortest_proof: BTreeMap<String, Option<Vec<String>>>,
    /// The theorems that need two lemmas, by name (none unless
    /// [`WorldSpec::two_lemma_rate`] is set).
    pub two_lemma: BTreeMap<String, TwoLemma>,
    /// What a simulated planner answers, by theorem name ([`planner_script`]); a theorem
    /// without an entry gets [`NO_PLAN`].
    pub plans: BTreeMap<String, PlannerAnswers>,
}

/// A theorem only a skeleton proves.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoLemma {
    /// The skeleton that proves it, once each hole is proved: the statement, two `have … :=
    /// by sorry` lines and a closing tactic that uses both.
    pub skeleton: String,
    /// Whether the simulated planner ever proposes it ([`PlannerAnswers`]): a planner that
    /// only writes bad skeletons for a theorem leaves it unproved.
    pub planned: bool,
}

/// What the simulated planner answers for one theorem: its first request's answers, and the
/// answers to a replan request holding a text (the goal of a refuted hole, as the request
/// shows it).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerAnswers {
    /// The answers to the first request, best first.
    pub first: Vec<String>,
    /// A text only a replan request holds, and the answers to it.
    pub replan: Option<(String, Vec<String>)>,
}

impl PlannerAnswers {
    fn first(first: Vec<String>) -> PlannerAnswers {
        PlannerAnswers {
            first,
            replan: None,
        }
    }
}

/// What the simulated planner answers to a request its script has no entry for: no ```lean
/// block, so the skeleton is refused.
pub const NO_PLAN: &str = "I do not see a plan for this theorem.";

/// splitmix64 (Steele, Lea, Flood 2014): tiny, seedable and fixed forever.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose stream depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`); the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }
}

/// Tactic texts that look like what a prover would try; two span several lines on purpose, so
/// that splicing them into a `by` block gets exercised.
const REALISTIC_TACTICS: &[&str] = &[
    "simp",
    "norm_num",
    "omega",
    "linarith",
    "nlinarith [sq_nonneg x]",
    "ring",
    "ring_nf",
    "positivity",
    "decide",
    "aesop",
    "intro x",
    "intro h",
    "constructor",
    "rfl",
    "exact h₀",
    "simp at h₀",
    "field_simp",
    "rw [h₀]",
    "subst h₀",
    "use 1",
    "norm_num at h₀ ⊢",
    "simp_all",
    "linarith [h₀]",
    "nlinarith",
    "have h₁ : 0 < 2 := by\n  norm_num",
    "constructor <;> omega",
    "induction x with\n  | zero => simp\n  | succ n ih => omega",
    "interval_cases x <;> simp_all",
];

/// The vocabulary of `size` tactics: the realistic ones first, then `tac0`, `tac1`, ….
pub fn vocabulary(size: usize) -> Vec<String> {
    let mut v: Vec<String> = REALISTIC_TACTICS
        .iter()
        .take(size)
        .map(|s| (*s).to_owned())
        .collect();
    let extra = size.saturating_sub(v.len());
    v.extend((0..extra).map(|k| format!("tac{k}")));
    v
}

const ERRORS: &[&str] = &[
    "linarith failed to find a contradiction",
    "omega could not prove the goal:\na possible counterexample may satisfy the constraints\n  x ≥ 0",
    "unsolved goals\n⊢ False",
    "Unknown identifier `h₃`",
    "Type mismatch\n  h₀\nhas type\n  x + y = 7 : Prop\nbut is expected to have type\n  False : Prop",
    "ring failed, ring_nf subsidiary goal",
];

const FAILS: &[&str] = &[
    "<input>:1:1: unknown tactic",
    "simp made no progress",
    "`decide` failed to reduce the proposition to `true`",
    "Tactic `apply` failed: could not unify the conclusion",
    "norm_num failed to simplify",
];

const AXIOM_SETS: &[&[&str]] = &[
    &["propext", "Classical.choice", "Quot.sound"],
    &["propext", "Quot.sound"],
    &["propext"],
    &[],
];

/// Lean-style subscript digits, for hypothesis names like `h₁₂`.
fn subscript(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|c| char::from_u32(0x2080 + c.to_digit(10).unwrap_or(0)).unwrap_or('₀'))
        .collect()
}

/// The goal-text family a theorem's states are drawn from.
struct Family {
    vars: &'static str,
    hyps: Vec<String>,
    /// Target template; `{c}` is replaced by a per-state number, which keeps goals distinct.
    target: String,
    /// A fact about the variables used for hypotheses that later states gain.
    var: &'static str,
}

fn family(rng: &mut SplitMix64) -> Family {
    let a = 2 + rng.below(40);
    let b = 2 + rng.below(9);
    match rng.below(6) {
        0 => Family {
            vars: "x y : ℕ",
            hyps: vec![format!("h₀ : x + y = {a}")],
            target: format!("x * {b} < {{c}}"),
            var: "x",
        },
        1 => Family {
            vars: "a b : ℝ",
            hyps: vec!["h₀ : 0 < a".into(), format!("h₁ : a * b = {a}")],
            target: "b ≤ {c}".into(),
            var: "b",
        },
        2 => Family {
            vars: "n : ℕ",
            hyps: vec![format!("h₀ : n % {b} = {}", a % b)],
            target: format!("(n + {a}) % {b} ≠ {{c}}"),
            var: "n",
        },
        3 => Family {
            vars: "f : ℕ → ℕ",
            hyps: vec![format!("h₀ : ∀ (x : ℕ), f x = {b} * x + {a}")],
            target: format!("f {b} ≤ {{c}}"),
            var: "f 0",
        },
        4 => Family {
            vars: "x : ℤ",
            hyps: vec![format!("h₀ : {b} * x + {a} = 0")],
            target: "x ≠ {c}".into(),
            var: "x",
        },
        _ => Family {
            vars: "s : Finset ℕ",
            hyps: vec![format!("h₀ : s = Finset.range {a}")],
            target: "∑ k ∈ s, k ≤ {c}".into(),
            var: "s.card",
        },
    }
}

/// One state under construction.
struct GenState {
    name: String,
    depth: usize,
    dead: bool,
    main: bool,
}

struct Builder<'a> {
    spec: &'a WorldSpec,
    rng: SplitMix64,
    vocab: Vec<String>,
    world: World,
    serial: usize,
    seen_goals: HashSet<String>,
    two_lemma: BTreeMap<String, TwoLemma>,
    plans: BTreeMap<String, PlannerAnswers>,
}

impl Builder<'_> {
    /// A fresh goal text for a state of theorem `fam` at `depth`, distinct from all others.
    fn goal(&mut self, fam: &Family, depth: usize) -> Vec<String> {
        loop {
            self.serial += 1;
            let c = 10 + self.serial;
            let mut lines = vec![fam.vars.to_owned()];
            lines.extend(fam.hyps.iter().cloned());
            for d in 0..depth {
                let k = fam.hyps.len() + d;
                let bound = 1 + (self.serial * 7 + d * 3) % 50;
                lines.push(format!("h{} : {} ≤ {bound}", subscript(k), fam.var));
            }
            let body = lines.join("\n");
            let target = fam.target.replace("{c}", &c.to_string());
            let mut goals = vec![format!("{body}\n⊢ {target}")];
            if depth > 0 && self.rng.chance(0.1) {
                goals = vec![
                    format!("case left\n{body}\n⊢ {target}"),
                    format!("case right\n{body}\n⊢ 0 < {c}"),
                ];
            }
            if goals.iter().all(|g| !self.seen_goals.contains(g)) {
                self.seen_goals.extend(goals.iter().cloned());
                return goals;
            }
        }
    }

    fn failure(&mut self) -> Outcome {
        match self.rng.below(7) {
            0..=2 => Outcome::Error(ERRORS[self.rng.below(ERRORS.len())].into()),
            3..=5 => Outcome::Fail(FAILS[self.rng.below(FAILS.len())].into()),
            _ => Outcome::Incomplete("Incomplete: contains metavariable(s)".into()),
        }
    }

    fn theorem(&mut self, i: usize) {
        let spec = self.spec;
        // Drawn only when asked for, so worlds without two-lemma theorems stay as they were.
        let two_lemma = spec.two_lemma_rate > 0.0 && self.rng.chance(spec.two_lemma_rate);
        let provable = !self.rng.chance(spec.unprovable_rate);
        let fam = family(&mut self.rng);
        let easy = spec.one_step_every > 0 && i.is_multiple_of(spec.one_step_every);
        let depth = if easy { 1 } else { spec.depth.max(1) };
        let prefix = format!("g{i}");
        let (root, dead) = self.tree(&prefix, &fam, None, depth, provable && !two_lemma, easy);
        let root_goal = self.world.states[&root][0].clone();
        let name = format!("gen_{}_{i}", spec.seed);
        let (hyp_lines, target) = root_goal
            .rsplit_once("\n⊢ ")
            .expect("generated goals have a turnstile");
        let mut binders = String::new();
        for h in hyp_lines.lines() {
            binders.push_str(&format!(" ({h})"));
        }
        let axioms = AXIOM_SETS[self.rng.below(AXIOM_SETS.len())];
        let statement = format!("theorem {name}{binders} : {target}");
        if two_lemma {
            let (needed, plan) = self.two_lemmas(&prefix, &fam, &statement, hyp_lines, target);
            self.two_lemma.insert(name.clone(), needed);
            self.plans.insert(name.clone(), plan);
        } else if spec.two_lemma_rate > 0.0 {
            // A planner asked about a theorem that needs no plan proposes nothing useful: a
            // skeleton whose only hole is the theorem's own goal (refused, at no search), or a
            // useless lemma (a state of the theorem's tree with no proof) before a `sorry` for
            // the goal itself, whose holes are searched until the lemma's is refuted.
            let conclusion = dead.first().and_then(|state| {
                let goals = &self.world.states[state];
                goals[0].rsplit_once("⊢ ").map(|(_, c)| c.to_owned())
            });
            let answer = match (self.rng.below(3), conclusion) {
                (0, _) => Some(format!("```lean\n{statement} := by\n  sorry\n```")),
                (1, Some(conclusion)) => Some(format!(
                    "```lean\n{statement} := by\n  have h_aux : {conclusion} := by sorry\n  sorry\n```"
                )),
                _ => None,
            };
            if let Some(answer) = answer {
                self.plans
                    .insert(name.clone(), PlannerAnswers::first(vec![answer]));
            }
        }
        self.world.theorems.push(Theorem {
            statement,
            name,
            root,
            axioms: axioms.iter().map(|s| (*s).to_owned()).collect(),
        });
    }

    /// The lemmas of a theorem whose root (`context ⊢ target`) has no proof: two holes
    /// `context ⊢ T₁` and `context, h₁ : T₁ ⊢ T₂`, each the root of a provable tree half as
    /// deep as a theorem's, the states after each `have` (a closing tactic that proves the
    /// goal from both facts and fails from the first alone), and a false lemma (a hole whose
    /// tree has no proof) with the state after it. Returns the theorem's skeleton and what
    /// the simulated planner answers: the good skeleton at once, after a changed statement,
    /// after a false lemma (on the replan request naming the false lemma's goal), or never
    /// (a skeleton using one lemma only, which does not elaborate).
    fn two_lemmas(
        &mut self,
        prefix: &str,
        fam: &Family,
        statement: &str,
        context: &str,
        target: &str,
    ) -> (TwoLemma, PlannerAnswers) {
        let k = fam.hyps.len();
        let (h1, h2) = (
            format!("h{}", subscript(k)),
            format!("h{}", subscript(k + 1)),
        );
        let number = |b: &mut Self| {
            b.serial += 1;
            10 + b.serial
        };
        let first = format!("{} ≤ {}", fam.var, number(self));
        let second = format!("{} < {} + {}", fam.var, number(self), fam.var);
        let wrong = format!("{} = {}", fam.var, number(self));
        let closing = format!("linarith [{h1}, {h2}]");
        let lemma_depth = self.spec.depth.div_ceil(2).max(1);
        let declare = |b: &mut Self, name: String, goal: String| {
            b.seen_goals.insert(goal.clone());
            b.world.states.insert(name.clone(), vec![goal]);
            name
        };
        let hole_first = Some(vec![format!("{context}\n⊢ {first}")]);
        self.tree(
            &format!("{prefix}a"),
            fam,
            hole_first,
            lemma_depth,
            true,
            false,
        );
        let with_first = format!("{context}\n{h1} : {first}");
        let hole_second = Some(vec![format!("{with_first}\n⊢ {second}")]);
        self.tree(
            &format!("{prefix}b"),
            fam,
            hole_second,
            lemma_depth,
            true,
            false,
        );
        let hole_wrong = Some(vec![format!("{context}\n⊢ {wrong}")]);
        self.tree(&format!("{prefix}f"), fam, hole_wrong, 1, false, false);
        let after_first = declare(
            self,
            format!("{prefix}_after_first"),
            format!("{with_first}\n⊢ {target}"),
        );
        let after_both = declare(
            self,
            format!("{prefix}_after_both"),
            format!("{with_first}\n{h2} : {second}\n⊢ {target}"),
        );
        let after_wrong = declare(
            self,
            format!("{prefix}_after_wrong"),
            format!("{context}\n{h1} : {wrong}\n⊢ {target}"),
        );
        for (from, tactic, outcome) in [
            (after_both, closing.clone(), Outcome::Proved),
            (
                after_first,
                closing.clone(),
                Outcome::Error("linarith failed to find a contradiction".into()),
            ),
            (after_wrong, format!("linarith [{h1}]"), Outcome::Proved),
        ] {
            self.world.transitions.push(Transition {
                from,
                tactic,
                outcome,
                fault: None,
                latency_ms: 0,
            });
        }
        // The second hole on the `by` line or on a line of its own: both are placed back.
        let second_hole = if self.rng.chance(0.5) {
            " sorry".to_owned()
        } else {
            "\n    sorry".to_owned()
        };
        let skeleton = format!(
            "{statement} := by\n  have {h1} : {first} := by sorry\n  have {h2} : {second} := by{second_hole}\n  {closing}"
        );
        let fenced = |text: &str| format!("```lean\n{text}\n```");
        let good = fenced(&skeleton);
        let (answers, planned) = match self.rng.below(20) {
            0..6 => (PlannerAnswers::first(vec![good]), true),
            6..10 => {
                let changed = fenced(&format!("{statement} ∧ True := by\n  sorry"));
                (PlannerAnswers::first(vec![changed, good]), true)
            }
            10..17 => {
                let false_lemma = fenced(&format!(
                    "{statement} := by\n  have {h1} : {wrong} := by sorry\n  linarith [{h1}]"
                ));
                // What only the replan request holds: the refuted hole's goal, as the
                // request's last hole shows it.
                let refuted = format!(
                    "its goal:\n{context}\n⊢ {wrong}\nKeep the closed holes; split or restate the open ones.\n"
                );
                let answers = PlannerAnswers {
                    first: vec![false_lemma],
                    replan: Some((refuted, vec![good])),
                };
                (answers, true)
            }
            _ => {
                let one_lemma = fenced(&format!(
                    "{statement} := by\n  have {h1} : {first} := by sorry\n  {closing}"
                ));
                (PlannerAnswers::first(vec![one_lemma]), false)
            }
        };
        (TwoLemma { skeleton, planned }, answers)
    }

    /// The states and transitions of one proof tree: a main path of `depth` states from a root
    /// whose goals are `root` (or a fresh goal of `fam`), ending in a proof when `provable`,
    /// with off-path branches; states are named `{prefix}_{k}`. Returns the root's name and
    /// the names of the single-goal states no tactic sequence proves.
    fn tree(
        &mut self,
        prefix: &str,
        fam: &Family,
        root: Option<Vec<String>>,
        depth: usize,
        provable: bool,
        easy: bool,
    ) -> (String, Vec<String>) {
        let spec = self.spec;
        let branching = spec.branching.min(self.vocab.len()).max(1);
        // Off-path states are capped so worlds grow linearly in depth × branching, not
        // exponentially.
        let side_budget = depth * branching;
        let mut states: Vec<GenState> = Vec::new();
        let mut root = root;
        let mut add_state =
            |b: &mut Self, states: &mut Vec<GenState>, depth: usize, dead: bool, main: bool| {
                let name = format!("{prefix}_{}", states.len());
                let goals = match root.take() {
                    Some(goals) => goals,
                    None => b.goal(fam, depth),
                };
                b.world.states.insert(name.clone(), goals);
                states.push(GenState {
                    name,
                    depth,
                    dead,
                    main,
                });
                states.len() - 1
            };
        for d in 0..depth {
            add_state(self, &mut states, d, false, true);
        }
        let mut next = 0;
        while next < states.len() {
            let (depth_here, dead, main) =
                (states[next].depth, states[next].dead, states[next].main);
            let from = states[next].name.clone();
            let mut picks: Vec<usize> = (0..self.vocab.len()).collect();
            for k in 0..branching {
                let j = k + self.rng.below(picks.len() - k);
                picks.swap(k, j);
            }
            let designated = main.then(|| self.rng.below(branching));
            if let (true, Some(slot)) = (easy, designated)
                && let Some(first) = picks.iter().position(|&pick| pick == 0)
            {
                picks.swap(first, slot);
            }
            for (k, &pick) in picks.iter().take(branching).enumerate() {
                let tactic = self.vocab[pick].clone();
                let outcome = if Some(k) == designated {
                    if depth_here + 1 < depth {
                        Outcome::Goals(states[next + 1].name.clone())
                    } else if provable {
                        Outcome::Proved
                    } else {
                        // The last step of an unprovable theorem fails in a way that looks close.
                        Outcome::Error("linarith failed to find a contradiction".into())
                    }
                } else {
                    let side_left = states.len() < depth + side_budget;
                    let r = self.rng.next_f64();
                    if r < spec.dead_end_rate && side_left {
                        let s = add_state(self, &mut states, depth_here + 1, true, false);
                        Outcome::Goals(states[s].name.clone())
                    } else if r < spec.dead_end_rate + spec.repeat_rate {
                        // A dead state may only lead to dead states, or it would not be dead.
                        let pool: Vec<usize> = (0..states.len())
                            .filter(|&s| !dead || states[s].dead)
                            .collect();
                        if pool.is_empty() {
                            self.failure()
                        } else {
                            Outcome::Goals(states[pool[self.rng.below(pool.len())]].name.clone())
                        }
                    } else if side_left && depth_here < depth && self.rng.chance(0.5) {
                        let s = add_state(self, &mut states, depth_here + 1, dead, false);
                        Outcome::Goals(states[s].name.clone())
                    } else {
                        self.failure()
                    }
                };
                self.world.transitions.push(Transition {
                    from: from.clone(),
                    tactic,
                    outcome,
                    fault: None,
                    latency_ms: 0,
                });
            }
            next += 1;
        }
        let dead = states
            .iter()
            .filter(|state| state.dead && self.world.states[&state.name].len() == 1)
            .map(|state| state.name.clone())
            .collect();
        (states.swap_remove(0).name, dead)
    }
}

/// Generates the world `spec` describes and asks the oracle about every theorem.
pub fn generate(spec: &WorldSpec) -> GeneratedWorld {
    let mut b = Builder {
        spec,
        rng: SplitMix64::new(spec.seed),
        vocab: vocabulary(spec.tactic_vocabulary.max(1)),
        world: World {
            imports: Some(vec!["Mathlib".into(), "Aesop".into()]),
            ..World::default()
        },
        serial: 0,
        seen_goals: HashSet::new(),
        two_lemma: BTreeMap::new(),
        plans: BTreeMap::new(),
    };
    for i in 0..spec.theorems {
        b.theorem(i);
    }
    let (world, two_lemma, plans) = (b.world, b.two_lemma, b.plans);
    let graph = Graph::new(&world);
    let mut provable = BTreeMap::new();
    let mut shortest_proof = BTreeMap::new();
    for t in &world.theorems {
        let proof = graph.bfs(&t.root);
        provable.insert(t.name.clone(), proof.is_some());
        shortest_proof.insert(t.name.clone(), proof);
    }
    GeneratedWorld {
        world,
        provable,
        shortest_proof,
        two_lemma,
        plans,
    }
}

/// A sim-openai script ([`crate::openai_sim::Script`], `"match": "contains"`) answering
/// planning requests for `generated`'s theorems: a theorem's first request holds its
/// statement followed by `sorry` (the key of its first answers), a replan request also the
/// refuted hole's goal (a longer key, which wins); anything else gets [`NO_PLAN`].
pub fn planner_script(generated: &GeneratedWorld) -> serde_json::Value {
    let mut responses = serde_json::Map::new();
    let texts = |answers: &[String]| -> serde_json::Value {
        answers
            .iter()
            .map(|text| serde_json::json!({"text": text}))
            .collect()
    };
    for theorem in &generated.world.theorems {
        let Some(answers) = generated.plans.get(&theorem.name) else {
            continue;
        };
        let key = format!("{} := by sorry", theorem.statement);
        if let Some((replan, _)) = &answers.replan {
            assert!(
                replan.len() > key.len(),
                "the replan key of {} must outrank its first key",
                theorem.name
            );
        }
        responses.insert(key, texts(&answers.first));
        if let Some((replan, answers)) = &answers.replan {
            responses.insert(replan.clone(), texts(answers));
        }
    }
    serde_json::json!({
        "match": "contains",
        "responses": responses,
        "default": [{"text": NO_PLAN}],
    })
}

/// The usable edges of a world, by source state, in world order.
struct Graph<'w> {
    edges: HashMap<&'w str, Vec<&'w Transition>>,
}

impl<'w> Graph<'w> {
    fn new(world: &'w World) -> Self {
        let mut edges: HashMap<&str, Vec<&Transition>> = HashMap::new();
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        for t in &world.transitions {
            // The simulator answers the first transition for a (state, tactic) pair, and never
            // answers through these faults, so neither shadowed nor unanswerable edges count.
            if !seen.insert((t.from.as_str(), t.tactic.trim())) {
                continue;
            }
            if matches!(
                t.fault,
                Some(Fault::Hang | Fault::Crash { .. } | Fault::Garbage | Fault::Eof)
            ) {
                continue;
            }
            edges.entry(t.from.as_str()).or_default().push(t);
        }
        Graph { edges }
    }

    fn bfs(&self, root: &'w str) -> Option<Vec<String>> {
        let mut parent: HashMap<&str, Option<(&str, &str)>> = HashMap::new();
        parent.insert(root, None);
        let mut queue = VecDeque::from([root]);
        fn path_to<'a>(
            parent: &HashMap<&'a str, Option<(&'a str, &'a str)>>,
            mut s: &'a str,
        ) -> Vec<String> {
            let mut path = Vec::new();
            while let Some(Some((p, tac))) = parent.get(s) {
                path.push(tac.trim().to_owned());
                s = p;
            }
            path.reverse();
            path
        }
        while let Some(s) = queue.pop_front() {
            for t in self.edges.get(s).into_iter().flatten() {
                match &t.outcome {
                    Outcome::Proved => {
                        let mut path = path_to(&parent, s);
                        path.push(t.tactic.trim().to_owned());
                        return Some(path);
                    }
                    Outcome::Goals(to) if !parent.contains_key(to.as_str()) => {
                        parent.insert(to.as_str(), Some((s, t.tactic.as_str())));
                        queue.push_back(to.as_str());
                    }
                    _ => {}
                }
            }
        }
        None
    }
}

/// A shortest tactic sequence proving `theorem` (by name) in `world`, by breadth-first search
/// over the transition graph; `None` if it is unprovable or unknown.
pub fn bfs_oracle(world: &World, theorem: &str) -> Option<Vec<String>> {
    let t = world.theorems.iter().find(|t| t.name == theorem)?;
    Graph::new(world).bfs(&t.root)
}

/// One dataset row of `t`, with the newline; a check row when `proof` is given.
fn row(t: &Theorem, header: &str, proof: Option<String>) -> String {
    let formal_statement = format!("{} := by", t.statement);
    let mut line = match proof {
        None => datasets::Theorem {
            name: t.name.clone(),
            header: header.to_owned(),
            formal_statement,
        }
        .to_row(),
        Some(proof) => datasets::ProofRow {
            name: t.name.clone(),
            header: header.to_owned(),
            formal_statement,
            proof,
        }
        .to_row(),
    };
    line.push('\n');
    line
}

/// miniF2F-style rows `{"name", "header", "formal_statement"}` for every theorem of `world`,
/// one JSON object a line; `formal_statement` ends in `:= by`.
pub fn dataset_jsonl(world: &World, header: &str) -> String {
    world
        .theorems
        .iter()
        .map(|t| row(t, header, None))
        .collect()
}

/// Check-style rows `{"name", "header", "formal_statement", "proof"}` for the theorems that have
/// an entry in `proofs`; `proof` is [`script_to_proof`] of the tactics, so
/// `formal_statement + proof` is the whole declaration.
pub fn proofs_jsonl(world: &World, header: &str, proofs: &BTreeMap<String, Vec<String>>) -> String {
    world
        .theorems
        .iter()
        .filter_map(|t| {
            let tactics = proofs.get(&t.name)?;
            Some(row(t, header, Some(script_to_proof(tactics))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_stream() {
        // First outputs of splitmix64 seeded with 1234567 (the reference implementation's
        // published test vector).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        assert_eq!(r.next_u64(), 9817491932198370423);
    }

    #[test]
    fn goals_are_distinct_and_statements_match_roots() {
        let g = generate(&WorldSpec {
            theorems: 30,
            depth: 4,
            ..WorldSpec::default()
        });
        let mut seen = HashSet::new();
        for goals in g.world.states.values() {
            for goal in goals {
                assert!(seen.insert(goal.clone()), "duplicate goal {goal}");
            }
        }
        g.world.validate().unwrap();
        for t in &g.world.theorems {
            let root = &g.world.states[&t.root][0];
            let target = root.rsplit_once("⊢ ").unwrap().1;
            assert!(
                t.statement.ends_with(&format!(" : {target}")),
                "{}",
                t.statement
            );
        }
    }

    #[test]
    fn every_nth_theorem_is_easy_and_proved_by_the_first_tactic() {
        let spec = WorldSpec {
            theorems: 9,
            one_step_every: 3,
            unprovable_rate: 0.0,
            seed: 5,
            ..WorldSpec::default()
        };
        let generated = generate(&spec);
        let first = vocabulary(spec.tactic_vocabulary)[0].clone();
        for (i, theorem) in generated.world.theorems.iter().enumerate() {
            let proof = bfs_oracle(&generated.world, &theorem.name).expect("provable");
            if i % 3 == 0 {
                assert_eq!(proof, std::slice::from_ref(&first), "{}", theorem.name);
            } else {
                assert!(proof.len() > 1, "{}: {proof:?}", theorem.name);
            }
        }
    }

    /// A world asked for no two-lemma theorems is the world the generator made before the
    /// option existed (fingerprints taken then), so seeded tests keep their worlds.
    #[test]
    fn worlds_without_two_lemma_theorems_are_as_they_were() {
        let specs = [
            WorldSpec::default(),
            WorldSpec {
                theorems: 20,
                depth: 4,
                one_step_every: 3,
                seed: 11,
                ..WorldSpec::default()
            },
        ];
        let fingerprints: Vec<String> = specs
            .iter()
            .map(|spec| {
                let generated = generate(spec);
                assert!(generated.two_lemma.is_empty() && generated.plans.is_empty());
                let text = serde_json::to_string(&generated.world).unwrap();
                format!("{:x}", datasets::hash::fnv1a_64(text.as_bytes()))
            })
            .collect();
        assert_eq!(fingerprints, ["8dd403b32b2c4d81", "d7ab10a7b51889c2"]);
    }

    /// The state whose one goal is `goal`.
    fn state_named_by_goal<'w>(world: &'w World, goal: &str) -> &'w str {
        world
            .states
            .iter()
            .find(|(_, goals)| goals.as_slice() == [goal])
            .map(|(name, _)| name.as_str())
            .unwrap_or_else(|| panic!("no state for {goal}"))
    }

    /// Issue 22: a two-lemma theorem has no direct proof, its skeleton elaborates in the
    /// simulator with two holes (the second carrying the first lemma), each hole is provable,
    /// the proofs spliced in prove the theorem, and the closing tactic needs both lemmas.
    #[test]
    fn two_lemma_theorems_are_proved_through_their_skeleton_only() {
        use crate::sim::{Action, Responder, Sim};
        let generated = generate(&WorldSpec {
            theorems: 16,
            depth: 4,
            two_lemma_rate: 0.5,
            tactic_vocabulary: 8,
            seed: u64::MAX,
            ..WorldSpec::default()
        });
        let world = &generated.world;
        world.validate().unwrap();
        assert!(
            (3..16).contains(&generated.two_lemma.len()),
            "{:?}",
            generated.two_lemma.keys()
        );
        assert!(generated.two_lemma.values().any(|t| t.planned));
        assert!(generated.two_lemma.values().any(|t| !t.planned));
        assert!(generated.plans.values().any(|p| p.replan.is_some()));
        assert!(
            generated.provable.values().any(|p| *p),
            "ordinary theorems remain"
        );
        let script = planner_script(&generated);
        let mut sim = Sim::new(world.clone()).unwrap();
        let header = serde_json::json!({"cmd": DEFAULT_HEADER.trim_end()});
        assert!(matches!(sim.respond(&header).action, Action::Answer(_)));
        let mut ask = |cmd: String| match sim
            .respond(&serde_json::json!({"cmd": cmd, "env": 0}))
            .action
        {
            Action::Answer(text) => serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            other => panic!("expected an answer, got {other:?}"),
        };
        for (name, needed) in &generated.two_lemma {
            assert!(!generated.provable[name], "{name}");
            let theorem = world.theorems.iter().find(|t| &t.name == name).unwrap();
            assert!(needed.skeleton.starts_with(&theorem.statement));
            let answer = ask(needed.skeleton.clone());
            let sorries = answer["sorries"]
                .as_array()
                .unwrap_or_else(|| panic!("{}\n{answer}", needed.skeleton));
            assert_eq!(sorries.len(), 2, "{answer}");
            assert!(
                answer["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|m| m["severity"] != "error"),
                "{answer}"
            );
            let proofs: Vec<Vec<String>> = sorries
                .iter()
                .map(|sorry| {
                    let goal = sorry["goal"].as_str().unwrap();
                    let state = state_named_by_goal(world, goal);
                    Graph::new(world).bfs(state).expect("each hole is provable")
                })
                .collect();
            let second_goal = sorries[1]["goal"].as_str().unwrap();
            let first_lemma = needed.skeleton.lines().nth(1).unwrap();
            let first_fact = first_lemma.trim().strip_prefix("have ").unwrap();
            let first_fact = &first_fact[..first_fact.find(" := ").unwrap()];
            assert!(
                second_goal.contains(&format!("\n{first_fact}\n")),
                "{second_goal}"
            );
            // The holes' proofs in place of the sorries: the theorem is proved.
            let mut holes = proofs.iter();
            let mut whole = String::new();
            for line in needed.skeleton.lines() {
                let hole = line.trim() == "sorry" || line.ends_with(" := by sorry");
                if !hole {
                    whole.push_str(line);
                    whole.push('\n');
                    continue;
                }
                if let Some(opening) = line.strip_suffix(" sorry") {
                    whole.push_str(opening);
                    whole.push('\n');
                }
                for tactic in holes.next().unwrap() {
                    whole.push_str(&format!("    {tactic}\n"));
                }
            }
            let answer = ask(whole.clone());
            assert!(
                answer.get("messages").is_none() && answer.get("sorries").is_none(),
                "{whole}\n{answer}"
            );
            // The closing tactic needs the second lemma too.
            let without_second: Vec<&str> = needed
                .skeleton
                .lines()
                .filter(|line| !line.contains("have h") || line == &first_lemma)
                .filter(|line| line.trim() != "sorry")
                .collect();
            let answer = ask(without_second.join("\n"));
            assert!(
                answer["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["severity"] == "error"),
                "{answer}"
            );
            // A replan follows a false lemma: its hole has no proof.
            let answers = &generated.plans[name];
            if let Some((key, _)) = &answers.replan {
                let goal = key.strip_prefix("its goal:\n").unwrap();
                let goal = &goal[..goal.find("\nKeep").unwrap()];
                let state = state_named_by_goal(world, goal);
                assert_eq!(Graph::new(world).bfs(state), None, "{goal}");
            }
            assert_eq!(
                needed.planned,
                answers
                    .first
                    .iter()
                    .chain(answers.replan.iter().flat_map(|(_, a)| a))
                    .any(|a| a.contains(&needed.skeleton))
            );
        }
        assert_eq!(script["default"][0]["text"], NO_PLAN);
        // The useless lemmas proposed for theorems that need no plan have no proof.
        let mut useless = 0;
        for (name, answers) in &generated.plans {
            let Some(line) = answers.first[0].lines().find(|l| l.contains("have h_aux")) else {
                continue;
            };
            assert!(!generated.two_lemma.contains_key(name));
            let conclusion = line
                .split(" : ")
                .nth(1)
                .unwrap()
                .trim_end_matches(" := by sorry");
            let state = world
                .states
                .iter()
                .find(|(_, goals)| {
                    goals.len() == 1 && goals[0].ends_with(&format!("⊢ {conclusion}"))
                })
                .map(|(name, _)| name.as_str())
                .unwrap();
            assert_eq!(Graph::new(world).bfs(state), None, "{line}");
            useless += 1;
        }
        assert!(useless > 0);
    }
}
