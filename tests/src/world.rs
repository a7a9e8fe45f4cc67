//! Simulated worlds: the theorems, goal texts and tactic transitions that `sim-repl` answers from.
//!
//! A world is a JSON file. It is a *simulation* of what Lean would answer, never Lean itself.
//!
//! ```json
//! {
//!   "theorems": [
//!     {"name": "t1", "statement": "theorem t1 (a b : ℕ) (h : a = b) : b = a", "root": "s0"}
//!   ],
//!   "states": {
//!     "s0": ["a b : ℕ\nh : a = b\n⊢ b = a"],
//!     "s1": ["a : ℕ\n⊢ a = a"]
//!   },
//!   "transitions": [
//!     {"from": "s0", "tactic": "subst h", "outcome": {"goals": "s1"}},
//!     {"from": "s1", "tactic": "rfl", "outcome": "proved"},
//!     {"from": "s0", "tactic": "simp", "outcome": {"error": "simp made no progress"}},
//!     {"from": "s0", "tactic": "exat", "outcome": {"fail": "<input>:1:1: unknown tactic"}},
//!     {"from": "s0", "tactic": "omega", "outcome": {"goals": "s1"}, "fault": "hang"}
//!   ]
//! }
//! ```
//!
//! A state is a list of goal texts (several open goals are several strings); the state `[]` does
//! not need declaring: `"proved"` reaches it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A whole simulated world.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct World {
    /// Allowed `import` module names for a header; `None` accepts any header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports: Option<Vec<String>>,
    /// The theorems this world can state.
    pub theorems: Vec<Theorem>,
    /// State name → the goal texts of that state.
    pub states: BTreeMap<String, Vec<String>>,
    /// Tactic transitions between states.
    #[serde(default)]
    pub transitions: Vec<Transition>,
    /// Constants the imports provide (Mathlib's `Nat.succ_le_of_lt`, …), which `#print axioms`
    /// finds through the header's `open` namespaces as Lean does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub library: Vec<LibraryConstant>,
}

/// A constant of the imported library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryConstant {
    /// Its full name, as Lean prints it.
    pub name: String,
    /// The axioms `#print axioms` lists for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub axioms: Vec<String>,
}

/// A theorem the world knows, as it appears before `:= by`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theorem {
    /// Declaration name as written after the keyword, without universe parameters (`foo`,
    /// `«foo bar»`); the simulator declares a `private` theorem's constant under Lean's mangled
    /// name, `_private.0.NAME`.
    pub name: String,
    /// Statement text from `theorem` up to (not including) `:=`.
    pub statement: String,
    /// Name of the root state in [`World::states`].
    pub root: String,
    /// Axioms `#print axioms` reports for a complete proof (before any `sorryAx`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub axioms: Vec<String>,
}

/// One edge: running `tactic` on state `from`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Source state name.
    pub from: String,
    /// The tactic text, compared after trimming surrounding whitespace.
    pub tactic: String,
    /// What Lean would answer.
    pub outcome: Outcome,
    /// A fault the simulator injects when this transition is taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// Extra simulated latency for this transition, in milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latency_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The answer to a tactic, in the three shapes real Lean uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tactic succeeded and left the named state (its goals may be several).
    Goals(String),
    /// No goals remain and the proof is complete (`proofStatus: "Completed"`).
    Proved,
    /// The tricky failure: a ProofStepResponse with `goals: []`, an error-severity message with
    /// this text, and `proofStatus: "Incomplete: contains sorry"`.
    Error(String),
    /// The error answer `{"message": "Lean error:\n<text>"}`.
    Fail(String),
    /// `goals: []` with no error but an incomplete status, e.g. `contains metavariable(s)`.
    Incomplete(String),
}

/// Faults the simulator injects when a transition is taken (or by command-line flag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Never answer; keep reading nothing.
    Hang,
    /// Print the text on stderr and exit with the code, mid-request.
    Crash {
        /// Text written to stderr before exiting.
        stderr: String,
        /// Exit code.
        code: i32,
    },
    /// Write a non-JSON line and a blank line instead of an answer.
    Garbage,
    /// Close stdout and exit 0 without answering.
    Eof,
    /// Allocate and touch this many MiB (kept until exit), then answer normally.
    GrowMb(u64),
}

/// An error reading a world file.
#[derive(Debug)]
pub struct WorldError(pub String);

impl std::fmt::Display for WorldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WorldError {}

impl World {
    /// Reads and validates a world file.
    pub fn load(path: &Path) -> Result<World, WorldError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| WorldError(format!("cannot read world {}: {e}", path.display())))?;
        let world: World = serde_json::from_str(&text)
            .map_err(|e| WorldError(format!("world {}: {e}", path.display())))?;
        world
            .validate()
            .map_err(|e| WorldError(format!("world {}: {e}", path.display())))?;
        Ok(world)
    }

    /// Writes the world as pretty JSON.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a world always serializes");
        std::fs::write(path, text)
    }

    /// Checks that every state a theorem or transition names exists.
    pub fn validate(&self) -> Result<(), String> {
        for t in &self.theorems {
            if !self.states.contains_key(&t.root) {
                return Err(format!(
                    "theorem {} names unknown root state {}",
                    t.name, t.root
                ));
            }
        }
        for (i, tr) in self.transitions.iter().enumerate() {
            if !self.states.contains_key(&tr.from) {
                return Err(format!(
                    "transition {i} starts at unknown state {}",
                    tr.from
                ));
            }
            if let Outcome::Goals(to) = &tr.outcome
                && !self.states.contains_key(to)
            {
                return Err(format!("transition {i} leads to unknown state {to}"));
            }
        }
        Ok(())
    }

    /// The transition for `tactic` on `state`, if the world has one.
    ///
    /// This scans every transition; [`IndexedWorld`] answers the same question in O(1).
    pub fn transition(&self, state: &str, tactic: &str) -> Option<&Transition> {
        let tactic = tactic.trim();
        self.transitions
            .iter()
            .find(|t| t.from == state && t.tactic.trim() == tactic)
    }
}

/// A validated world with the lookups the simulator needs on every request made O(1).
///
/// Benchmark worlds have 100k+ transitions, so nothing here scans the whole world per request,
/// and building the index allocates nothing per transition (start-up time matters as much).
#[derive(Debug, Clone)]
pub struct IndexedWorld {
    world: World,
    state_ids: HashMap<String, u32>,
    state_names: Vec<String>,
    /// (state id, hash of the trimmed tactic) → the first transition with that key, in world
    /// order; `chain` continues the list for hash collisions and duplicates.
    slots: HashMap<(u32, u64), u32>,
    chain: Vec<u32>,
    /// The first two whitespace-separated tokens of a statement → theorem indices.
    by_head: HashMap<String, Vec<usize>>,
    /// Single-goal states by their goal text (whitespace runs collapsed), built on the first
    /// statement that names no theorem of the world.
    by_goal: std::sync::OnceLock<HashMap<String, StateId>>,
}

/// A state of an [`IndexedWorld`], by number.
pub type StateId = u32;

const NO_TRANSITION: u32 = u32::MAX;

/// FNV-1a: the key only has to spread tactics out, and this is cheap even in debug builds.
fn tactic_hash(tactic: &str) -> u64 {
    datasets::hash::fnv1a_64(tactic.as_bytes())
}

impl IndexedWorld {
    /// Reads a world file and indexes it (validating it once, while indexing).
    pub fn load(path: &Path) -> Result<IndexedWorld, WorldError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| WorldError(format!("cannot read world {}: {e}", path.display())))?;
        let world: World = serde_json::from_str(&text)
            .map_err(|e| WorldError(format!("world {}: {e}", path.display())))?;
        IndexedWorld::new(world).map_err(|e| WorldError(format!("world {}: {e}", path.display())))
    }

    /// Validates `world` (as [`World::validate`] does) and builds its indexes.
    pub fn new(world: World) -> Result<IndexedWorld, WorldError> {
        let state_names: Vec<String> = world.states.keys().cloned().collect();
        let state_ids: HashMap<String, u32> = state_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        for t in &world.theorems {
            if !state_ids.contains_key(&t.root) {
                return Err(WorldError(format!(
                    "theorem {} names unknown root state {}",
                    t.name, t.root
                )));
            }
        }
        let mut slots: HashMap<(u32, u64), u32> = HashMap::with_capacity(world.transitions.len());
        let mut chain = vec![NO_TRANSITION; world.transitions.len()];
        // Pushing at the head while walking backwards leaves every chain in world order, so a
        // lookup finds the first matching transition, like `World::transition`.
        for (i, tr) in world.transitions.iter().enumerate().rev() {
            let Some(&from) = state_ids.get(&tr.from) else {
                return Err(WorldError(format!(
                    "transition {i} starts at unknown state {}",
                    tr.from
                )));
            };
            if let Outcome::Goals(to) = &tr.outcome
                && !state_ids.contains_key(to)
            {
                return Err(WorldError(format!(
                    "transition {i} leads to unknown state {to}"
                )));
            }
            let key = (from, tactic_hash(tr.tactic.trim()));
            if let Some(head) = slots.insert(key, i as u32) {
                chain[i] = head;
            }
        }
        let mut by_head: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in world.theorems.iter().enumerate() {
            by_head
                .entry(statement_head(&t.statement))
                .or_default()
                .push(i);
        }
        Ok(IndexedWorld {
            world,
            state_ids,
            state_names,
            slots,
            chain,
            by_head,
            by_goal: std::sync::OnceLock::new(),
        })
    }

    /// A statement that names no theorem of the world but states one of its states: `theorem
    /// NAME (x y : T) (h : P) : target` whose binders, one hypothesis line each, and target
    /// print as the goal of a single-goal state. That is what elaborating it in Lean gives, so
    /// the world's theorems come in families: every state a proof passes is a theorem too.
    ///
    /// Returns the state, the byte offset in `text` just past the statement (before `:=`), and
    /// the declared name.
    pub fn find_state_statement(&self, text: &str) -> Option<(StateId, usize, String)> {
        let start = text.len() - text.trim_start().len();
        let rest = text[start..].strip_prefix("theorem")?;
        let mut at = start + "theorem".len();
        let name_start = at + (rest.len() - rest.trim_start().len());
        let name_len = text[name_start..]
            .find(|c: char| c.is_whitespace() || c == '(' || c == ':')
            .unwrap_or(text.len() - name_start);
        let name = text[name_start..name_start + name_len].to_owned();
        if name.is_empty() {
            return None;
        }
        at = name_start + name_len;
        let mut lines = Vec::new();
        loop {
            let skipped = text[at..].len() - text[at..].trim_start().len();
            at += skipped;
            if !text[at..].starts_with('(') {
                break;
            }
            let close = at + matching_close(&text[at..])?;
            let inner = &text[at + 1..close];
            let colon = top_level_colon(inner)?;
            lines.push(format!(
                "{} : {}",
                inner[..colon].trim(),
                inner[colon + 1..].trim()
            ));
            at = close + 1;
        }
        let after_colon = text[at..].strip_prefix(':')?;
        let target_start = at + 1 + (after_colon.len() - after_colon.trim_start().len());
        let assign = target_start + text[target_start..].find(":=")?;
        lines.push(format!("⊢ {}", text[target_start..assign].trim()));
        let goal = collapse(&lines.join("\n"));
        let by_goal = self.by_goal.get_or_init(|| {
            self.state_names
                .iter()
                .enumerate()
                .filter_map(|(id, name)| match self.world.states[name].as_slice() {
                    [goal] => Some((collapse(goal), id as StateId)),
                    _ => None,
                })
                .collect()
        });
        let target = text[target_start..assign].trim();
        let state = match by_goal.get(&goal) {
            Some(state) => *state,
            None => self.auto_bound_state(&lines[..lines.len() - 1], target)?,
        };
        let end = start + text[start..assign].trim_end().len();
        Some((state, end, name))
    }

    /// Lean's `autoImplicit` (on by default, and in the REPL whatever the lakefile says): a
    /// name the statement uses but never binds is bound automatically, before the written
    /// binders. So a statement elaborates as the single-goal state whose target is the
    /// statement's, whose hypotheses include every written binder with its type, and whose
    /// other hypotheses are names that occur in the target and are bound nowhere in the
    /// statement (the state gives their types, as Lean's unifier would).
    fn auto_bound_state(&self, binder_lines: &[String], target: &str) -> Option<StateId> {
        let split = |line: &str| -> Vec<(String, String)> {
            let Some(colon) = top_level_colon(line) else {
                return Vec::new();
            };
            let ty = collapse(&line[colon + 1..]);
            line[..colon]
                .split_whitespace()
                .map(|name| (name.to_owned(), ty.clone()))
                .collect()
        };
        let written: Vec<(String, String)> = binder_lines.iter().flat_map(|l| split(l)).collect();
        let used: std::collections::HashSet<&str> = target
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\'' || c == '.'))
            .filter(|word| !word.is_empty())
            .collect();
        let target = collapse(target);
        self.state_names.iter().enumerate().find_map(|(id, name)| {
            let [goal] = self.world.states[name].as_slice() else {
                return None;
            };
            let (hypotheses, goal_target) = goal.rsplit_once("⊢")?;
            if collapse(goal_target) != target {
                return None;
            }
            let shown: Vec<(String, String)> = hypotheses.lines().flat_map(split).collect();
            let extra: Vec<&(String, String)> =
                shown.iter().filter(|h| !written.contains(h)).collect();
            let all_written_shown = written.iter().all(|w| shown.contains(w));
            let extra_are_auto_bound = !extra.is_empty()
                && extra.iter().all(|(name, _)| {
                    used.contains(name.as_str()) && !written.iter().any(|(w, _)| w == name)
                });
            (all_written_shown && extra_are_auto_bound).then_some(id as StateId)
        })
    }

    /// The world this index was built from.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The id of the state called `name`.
    pub fn state_id(&self, name: &str) -> Option<StateId> {
        self.state_ids.get(name).copied()
    }

    /// The name of state `id`.
    pub fn state_name(&self, id: StateId) -> &str {
        &self.state_names[id as usize]
    }

    /// The goal texts of state `id`.
    /// The first state (by id) whose goals are exactly `goals`: what focusing on some goals of a
    /// state (`·`, `case`, `all_goals`) leaves in the simulator, which only knows declared
    /// states.
    pub fn state_with_goals(&self, goals: &[String]) -> Option<StateId> {
        (0..self.state_names.len() as StateId).find(|&id| self.goals(id) == goals)
    }

    /// The first state (by id) with one goal whose conclusion (the text after `⊢ `) is
    /// `conclusion`, up to surrounding blanks: what a `have h : T := by …` block starts from in
    /// the simulator.
    pub fn find_state_concluding(&self, conclusion: &str) -> Option<StateId> {
        let wanted = conclusion.trim();
        (0..self.state_names.len() as StateId).find(|&id| {
            matches!(self.goals(id), [goal] if goal
                .rsplit_once("⊢ ")
                .is_some_and(|(_, c)| c.trim() == wanted))
        })
    }

    pub fn goals(&self, id: StateId) -> &[String] {
        &self.world.states[&self.state_names[id as usize]]
    }

    /// The transition for `tactic` (compared trimmed) on state `id`.
    pub fn transition(&self, id: StateId, tactic: &str) -> Option<&Transition> {
        let tactic = tactic.trim();
        let mut i = *self.slots.get(&(id, tactic_hash(tactic)))?;
        while i != NO_TRANSITION {
            let tr = &self.world.transitions[i as usize];
            // Everything on one chain shares the state; only a hash collision can differ.
            if tr.tactic.trim() == tactic {
                return Some(tr);
            }
            i = self.chain[i as usize];
        }
        None
    }

    /// The theorem whose statement (whitespace runs collapsed) starts `text`, followed by `:=`.
    ///
    /// Returns the theorem index and the byte offset in `text` just past its statement. When
    /// several statements match, the longest wins.
    pub fn find_theorem(&self, text: &str) -> Option<(usize, usize)> {
        let head = statement_head(text);
        let mut best: Option<(usize, usize)> = None;
        for key in [head.as_str(), head.split(' ').next().unwrap_or("")] {
            for &i in self.by_head.get(key).into_iter().flatten() {
                let statement = &self.world.theorems[i].statement;
                let Some(end) = match_ws_prefix(text, statement) else {
                    continue;
                };
                if !text[end..].trim_start().starts_with(":=") {
                    continue;
                }
                if best.is_none_or(|(_, e)| end > e) {
                    best = Some((i, end));
                }
            }
        }
        best
    }
}
/// Every run of whitespace as one space.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The offset of the `)` closing the `(` that `text` starts with (nesting counted over
/// `()[]{}⟨⟩`).
fn matching_close(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' | '⟨' => depth += 1,
            ')' | ']' | '}' | '⟩' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The first ` : ` of a binder outside any bracket.
fn top_level_colon(inner: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in inner.char_indices() {
        match c {
            '(' | '[' | '{' | '⟨' => depth += 1,
            ')' | ']' | '}' | '⟩' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && !inner[i + 1..].starts_with('=') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The first two whitespace-separated tokens, joined by one space.
fn statement_head(text: &str) -> String {
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// If `text` (after leading whitespace) starts with `pattern` when every run of whitespace in
/// either counts as one, the byte offset in `text` just past the match.
pub fn match_ws_prefix(text: &str, pattern: &str) -> Option<usize> {
    let mut pos = text.len() - text.trim_start().len();
    for (k, token) in pattern.split_whitespace().enumerate() {
        if k > 0 {
            let rest = &text[pos..];
            let skipped = rest.len() - rest.trim_start().len();
            if skipped == 0 {
                return None;
            }
            pos += skipped;
        }
        if !text[pos..].starts_with(token) {
            return None;
        }
        pos += token.len();
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> World {
        serde_json::from_str(
            r#"{
              "theorems": [
                {"name": "t1", "statement": "theorem t1 (a b : ℕ) (h : a = b) : b = a", "root": "s0"},
                {"name": "t10", "statement": "theorem t10 : True", "root": "s1"}
              ],
              "states": {"s0": ["a b : ℕ\nh : a = b\n⊢ b = a"], "s1": ["⊢ True"]},
              "transitions": [
                {"from": "s0", "tactic": "subst h", "outcome": {"goals": "s1"}},
                {"from": "s0", "tactic": " subst h ", "outcome": "proved"},
                {"from": "s1", "tactic": "trivial", "outcome": "proved"}
              ]
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn index_agrees_with_linear_lookup() {
        let world = example();
        let ix = IndexedWorld::new(world.clone()).unwrap();
        let s0 = ix.state_id("s0").unwrap();
        let by_index = ix.transition(s0, "  subst h\n").unwrap();
        assert_eq!(by_index, world.transition("s0", "subst h").unwrap());
        assert_eq!(by_index.outcome, Outcome::Goals("s1".into()));
        assert!(ix.transition(s0, "simp").is_none());
        let s1 = ix.state_id("s1").unwrap();
        assert!(ix.transition(s1, "subst h").is_none());
        assert_eq!(
            ix.transition(s1, "trivial").unwrap().outcome,
            Outcome::Proved
        );
        let mut broken = world.clone();
        broken.transitions[0].outcome = Outcome::Goals("nowhere".into());
        assert!(IndexedWorld::new(broken).is_err());
    }

    #[test]
    fn an_unbound_name_of_the_target_is_bound_automatically() {
        let world: World = serde_json::from_str(
            r#"{"theorems": [], "states": {
                 "ab": ["y x : ℝ\nh₀ : x = 2\n⊢ x * y = 2 * y"],
                 "other": ["z x : ℝ\nh₀ : x = 2\n⊢ x * y = 2 * y"]}}"#,
        )
        .unwrap();
        let ix = IndexedWorld::new(world).unwrap();
        let statement = "theorem t (x : ℝ) (h₀ : x = 2) : x * y = 2 * y := by sorry";
        let (state, _, name) = ix.find_state_statement(statement).unwrap();
        assert_eq!((ix.state_name(state), name.as_str()), ("ab", "t"));
        // Binding `y` leaves nothing to bind automatically: no state shows exactly that.
        assert!(
            ix.find_state_statement("theorem t (x y : ℝ) (h₀ : x = 2) : x * y = 2 * y := by")
                .is_none()
        );
        // A written binder the state does not show is no elaboration of it.
        assert!(
            ix.find_state_statement("theorem t (x : ℝ) (h₁ : x = 3) : x * y = 2 * y := by")
                .is_none()
        );
    }

    #[test]
    fn theorems_match_modulo_whitespace() {
        let ix = IndexedWorld::new(example()).unwrap();
        let cmd = "theorem t1 (a b : ℕ)\n    (h : a = b) :  b = a := by\n  simp";
        let (i, end) = ix.find_theorem(cmd).unwrap();
        assert_eq!(i, 0);
        assert!(cmd[end..].starts_with(" := by"));
        assert_eq!(
            ix.find_theorem("theorem t10 : True := trivial").unwrap().0,
            1
        );
        assert!(
            ix.find_theorem("theorem t1 (a b : ℕ) : b = a := rfl")
                .is_none()
        );
        assert!(
            ix.find_theorem("theorem t1 (a b : ℕ) (h : a = b) : b = a ∧ True := by")
                .is_none()
        );
    }
}
