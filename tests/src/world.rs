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

use std::collections::BTreeMap;
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
}

/// A theorem the world knows, as it appears before `:= by`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theorem {
    /// Declaration name, as `#print axioms` would print it.
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
                return Err(format!("theorem {} names unknown root state {}", t.name, t.root));
            }
        }
        for (i, tr) in self.transitions.iter().enumerate() {
            if !self.states.contains_key(&tr.from) {
                return Err(format!("transition {i} starts at unknown state {}", tr.from));
            }
            if let Outcome::Goals(to) = &tr.outcome {
                if !self.states.contains_key(to) {
                    return Err(format!("transition {i} leads to unknown state {to}"));
                }
            }
        }
        Ok(())
    }

    /// The transition for `tactic` on `state`, if the world has one.
    pub fn transition(&self, state: &str, tactic: &str) -> Option<&Transition> {
        let tactic = tactic.trim();
        self.transitions
            .iter()
            .find(|t| t.from == state && t.tactic.trim() == tactic)
    }
}
