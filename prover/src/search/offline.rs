//! In-memory reference implementations (`OfflineEnv`, `ScriptedPolicy`, `AlwaysAccept`, `bfs_prove`) for tests and docs.
//!
//! # Fixture language
//!
//! An offline world is written as text. Each unindented line is a proof state; the indented
//! lines under it are the tactics that do something on that state:
//!
//! ```text
//! # a comment
//! ⊢ a + 0 = a
//!   -0.1 simp        => done
//!   -1.5 induction a => ⊢ 0 + 0 = 0 ; ⊢ a + 1 + 0 = a + 1
//!   -2   ring        => error: ring failed to prove equality
//!   omega            => env-error: repl died
//! ```
//!
//! - **State line**: not indented. Its goals are separated by ` ; ` (space, semicolon, space).
//!   The first state line is the root. A state may be listed once.
//! - **Tactic line**: indented under a state: `[score] tactic => result`.
//!   - `score` (optional) is a finite number as the first word; it is the score the
//!     [`ScriptedPolicy`] gives the tactic, 0 when left out. With every score 0 the search is
//!     breadth-first. A first word that is not a number belongs to the tactic.
//!   - The tactic ends at the first `=>` with whitespace on both sides, so a tactic cannot
//!     contain ` => ` (results can). A tactic may be listed once per state.
//!   - `result` is `done` (every goal closed), `error: message` (the prover refuses the
//!     tactic), `env-error: message` (the environment itself fails), or the goals of the new
//!     state, separated by ` ; ` like a state line.
//! - Lines whose first non-blank character is `#` are comments; blank lines are ignored.
//!
//! A result state that has no state line of its own is a dead end: every tactic on it is
//! refused. Any tactic not listed for a state is refused too. Whole states are rewritten (there
//! is no notion of "the first goal"); write the goals that remain explicitly.
//!
//! The canonical text of a state is its goals joined with a blank line, as the engine joins the
//! REPL's goals.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use super::env::{Applied, ProofEnv};
use super::error::{CheckError, EnvError, PolicyError};
use super::hash::FastMap;
use super::policy::{Candidate, Policy, Query};
use super::proof::{Proof, ProofChecker, Verdict};

/// A proof state of an offline world: a list of goals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OfflineState {
    goals: Vec<String>,
}

impl OfflineState {
    /// A state with these goals.
    pub fn new<G: Into<String>>(goals: impl IntoIterator<Item = G>) -> Self {
        Self {
            goals: goals.into_iter().map(Into::into).collect(),
        }
    }

    /// Reads goals written as on a fixture line: separated by ` ; `.
    pub fn parse(line: &str) -> Self {
        Self::new(line.trim().split(" ; ").map(str::trim))
    }

    /// The goals, in order.
    pub fn goals(&self) -> &[String] {
        &self.goals
    }

    /// The goals joined with a blank line: the deduplication key.
    pub fn canonical_text(&self) -> String {
        self.goals.join("\n\n")
    }
}

impl fmt::Display for OfflineState {
    /// As on a fixture line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.goals.join(" ; "))
    }
}

/// What a tactic does in an offline world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedResult {
    /// Leads to this state.
    Goals(OfflineState),
    /// Closes every goal.
    Done,
    /// Is refused with this message.
    Error(String),
    /// Makes the environment fail with this message.
    EnvError(String),
}

/// One tactic line of a fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedTactic {
    /// The tactic text, trimmed.
    pub tactic: String,
    /// The score the scripted policy gives it.
    pub score: f64,
    /// What it does.
    pub result: ScriptedResult,
}

/// A fixture that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("fixture line {line}: {message}")]
pub struct FixtureError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// A proof environment that looks tactics up in a table read from a fixture.
#[derive(Debug, Clone)]
pub struct OfflineEnv {
    /// States in fixture order, each with its tactics in fixture order.
    states: Vec<(OfflineState, Vec<ScriptedTactic>)>,
    /// Canonical text → index into `states`.
    index: FastMap<String, usize>,
    calls: u32,
}

impl OfflineEnv {
    /// Reads a world written in the fixture language (see the module docs).
    pub fn from_fixture(fixture: &str) -> Result<Self, FixtureError> {
        let mut env = OfflineEnv {
            states: Vec::new(),
            index: FastMap::default(),
            calls: 0,
        };
        for (number, line) in fixture.lines().enumerate() {
            let error = |message: String| FixtureError {
                line: number + 1,
                message,
            };
            let content = line.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if !line.starts_with(char::is_whitespace) {
                let state = parse_goals(content).map_err(error)?;
                let key = state.canonical_text();
                if env.index.insert(key, env.states.len()).is_some() {
                    return Err(error(format!("state `{state}` is listed twice")));
                }
                env.states.push((state, Vec::new()));
                continue;
            }
            let Some((_, tactics)) = env.states.last_mut() else {
                return Err(error("a tactic line must follow a state line".into()));
            };
            let tactic = parse_tactic_line(content).map_err(error)?;
            if tactics.iter().any(|known| known.tactic == tactic.tactic) {
                return Err(error(format!("tactic `{}` is listed twice", tactic.tactic)));
            }
            tactics.push(tactic);
        }
        if env.states.is_empty() {
            return Err(FixtureError {
                line: 0,
                message: "the fixture lists no state".into(),
            });
        }
        Ok(env)
    }

    /// The first state of the fixture.
    pub fn root(&self) -> OfflineState {
        self.states[0].0.clone()
    }

    /// The tactics listed for `state`, in fixture order (empty for an unlisted state).
    pub fn tactics(&self, state: &OfflineState) -> &[ScriptedTactic] {
        self.index
            .get(&state.canonical_text())
            .map_or(&[], |&i| &self.states[i].1)
    }

    /// Every listed state with its tactics, in fixture order.
    pub fn states(&self) -> impl Iterator<Item = (&OfflineState, &[ScriptedTactic])> {
        self.states
            .iter()
            .map(|(state, tactics)| (state, tactics.as_slice()))
    }

    /// How many times `apply` was called.
    pub fn calls(&self) -> u32 {
        self.calls
    }
}

impl ProofEnv for OfflineEnv {
    type State = OfflineState;

    fn apply(
        &mut self,
        state: &OfflineState,
        tactic: &str,
        _deadline: Duration,
    ) -> Result<Applied<OfflineState>, EnvError> {
        self.calls += 1;
        let tactic = tactic.trim();
        let Some(scripted) = self.tactics(state).iter().find(|t| t.tactic == tactic) else {
            return Ok(Applied::Rejected(format!("unknown tactic `{tactic}`")));
        };
        match &scripted.result {
            ScriptedResult::Goals(next) => Ok(Applied::Goals(next.clone())),
            ScriptedResult::Done => Ok(Applied::Proved),
            ScriptedResult::Error(message) => Ok(Applied::Rejected(message.clone())),
            ScriptedResult::EnvError(message) => Err(EnvError::new(message.clone())),
        }
    }

    fn canonical_text(&self, state: &OfflineState) -> String {
        state.canonical_text()
    }

    fn write_canonical_text(&self, state: &OfflineState, out: &mut String) {
        for (i, goal) in state.goals.iter().enumerate() {
            if i > 0 {
                out.push_str("\n\n");
            }
            out.push_str(goal);
        }
    }
}

/// A policy that proposes fixed candidates per state text.
#[derive(Debug, Clone, Default)]
pub struct ScriptedPolicy {
    candidates: FastMap<String, Vec<Candidate>>,
    failures: FastMap<String, String>,
}

impl ScriptedPolicy {
    /// A policy that proposes nothing anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Proposes, for every state of `env`, its tactics in fixture order with their fixture scores.
    pub fn from_env(env: &OfflineEnv) -> Self {
        let mut policy = Self::new();
        for (state, tactics) in env.states() {
            for tactic in tactics {
                policy.add(state, Candidate::new(tactic.tactic.clone(), tactic.score));
            }
        }
        policy
    }

    /// Also proposes `candidate` (after the others) for `state`; the text is used as given,
    /// so untrimmed or repeated tactics can be tested.
    pub fn add(&mut self, state: &OfflineState, candidate: Candidate) -> &mut Self {
        self.candidates
            .entry(state.canonical_text())
            .or_default()
            .push(candidate);
        self
    }

    /// Makes `propose` fail on `state` with `message`.
    pub fn fail_on(&mut self, state: &OfflineState, message: impl Into<String>) -> &mut Self {
        self.failures.insert(state.canonical_text(), message.into());
        self
    }
}

impl Policy for ScriptedPolicy {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        if let Some(message) = self.failures.get(query.state) {
            return Err(PolicyError::new(message.clone()));
        }
        Ok(self
            .candidates
            .get(query.state)
            .cloned()
            .unwrap_or_default())
    }
}

/// A checker that accepts every proof.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysAccept;

impl ProofChecker for AlwaysAccept {
    fn check(&mut self, _proof: &Proof) -> Result<Verdict, CheckError> {
        Ok(Verdict::Accepted)
    }
}

/// A deliberately plain breadth-first search over the whole fixture table: the oracle the
/// best-first search is tested against. Returns a shortest script that proves `root`, trying
/// every listed tactic and ignoring scores; environment errors count as refusals.
pub fn bfs_prove(env: &OfflineEnv, root: &OfflineState) -> Option<Vec<String>> {
    let mut seen = HashSet::from([root.canonical_text()]);
    let mut queue = VecDeque::from([(root.clone(), Vec::new())]);
    while let Some((state, path)) = queue.pop_front() {
        for scripted in env.tactics(&state) {
            let extended = || [path.clone(), vec![scripted.tactic.clone()]].concat();
            match &scripted.result {
                ScriptedResult::Done => return Some(extended()),
                ScriptedResult::Goals(next) => {
                    if seen.insert(next.canonical_text()) {
                        queue.push_back((next.clone(), extended()));
                    }
                }
                ScriptedResult::Error(_) | ScriptedResult::EnvError(_) => {}
            }
        }
    }
    None
}

fn parse_goals(text: &str) -> Result<OfflineState, String> {
    let state = OfflineState::parse(text);
    if state.goals.iter().any(String::is_empty) {
        return Err(format!("empty goal in `{text}`"));
    }
    Ok(state)
}

/// `[score] tactic => result`, already trimmed.
fn parse_tactic_line(content: &str) -> Result<ScriptedTactic, String> {
    let (score, rest) = split_score(content);
    let Some((tactic, result)) = split_arrow(rest) else {
        return Err(format!("expected `tactic => result` in `{content}`"));
    };
    if tactic.is_empty() {
        return Err(format!("missing tactic in `{content}`"));
    }
    let result = if result == "done" {
        ScriptedResult::Done
    } else if let Some(message) = result.strip_prefix("error:") {
        ScriptedResult::Error(message.trim().to_owned())
    } else if let Some(message) = result.strip_prefix("env-error:") {
        ScriptedResult::EnvError(message.trim().to_owned())
    } else {
        ScriptedResult::Goals(parse_goals(result)?)
    };
    Ok(ScriptedTactic {
        tactic: tactic.to_owned(),
        score,
        result,
    })
}

/// Splits off a leading score. A first word that is not a finite number is part of the tactic,
/// so focusing dots (`. simp`) and the like need no escaping.
fn split_score(content: &str) -> (f64, &str) {
    let (first, rest) = content
        .split_once(char::is_whitespace)
        .unwrap_or((content, ""));
    match first.parse::<f64>() {
        Ok(score) if score.is_finite() => (score, rest.trim_start()),
        _ => (0.0, content),
    }
}

/// Splits at the first `=>` that has whitespace on both sides.
fn split_arrow(text: &str) -> Option<(&str, &str)> {
    text.match_indices("=>").find_map(|(at, arrow)| {
        let before = text[..at].chars().next_back()?;
        let after = text[at + arrow.len()..].chars().next()?;
        (before.is_whitespace() && after.is_whitespace())
            .then(|| (text[..at].trim(), text[at + arrow.len()..].trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_written_in_place_is_the_canonical_text() {
        let env = OfflineEnv::from_fixture("⊢ a\n  t => done\n").unwrap();
        for state in [
            OfflineState::new(["⊢ p"]),
            OfflineState::new(["h : x\n⊢ p", "⊢ q", ""]),
            OfflineState::new(Vec::<String>::new()),
        ] {
            let mut written = String::new();
            env.write_canonical_text(&state, &mut written);
            assert_eq!(written, env.canonical_text(&state));
        }
    }

    #[test]
    fn reads_the_documented_example() {
        let env = OfflineEnv::from_fixture(
            "# a comment\n⊢ a + 0 = a\n  -0.1 simp        => done\n  -1.5 induction a => ⊢ 0 + 0 = 0 ; ⊢ a + 1 + 0 = a + 1\n  -2   ring        => error: ring failed\n  omega => env-error: repl died\n",
        )
        .unwrap();
        let tactics = env.tactics(&env.root());
        let summary: Vec<(&str, f64)> = tactics
            .iter()
            .map(|t| (t.tactic.as_str(), t.score))
            .collect();
        assert_eq!(
            summary,
            [
                ("simp", -0.1),
                ("induction a", -1.5),
                ("ring", -2.0),
                ("omega", 0.0)
            ]
        );
        assert_eq!(
            tactics[1].result,
            ScriptedResult::Goals(OfflineState::new(["⊢ 0 + 0 = 0", "⊢ a + 1 + 0 = a + 1"]))
        );
        assert_eq!(
            tactics[2].result,
            ScriptedResult::Error("ring failed".into())
        );
        assert_eq!(
            tactics[3].result,
            ScriptedResult::EnvError("repl died".into())
        );
    }

    #[test]
    fn a_first_word_that_is_not_a_number_belongs_to_the_tactic() {
        let env = OfflineEnv::from_fixture("⊢ p\n  . simp => done\n  -1 · rfl => done\n").unwrap();
        let summary: Vec<(&str, f64)> = env
            .tactics(&env.root())
            .iter()
            .map(|t| (t.tactic.as_str(), t.score))
            .collect();
        assert_eq!(summary, [(". simp", 0.0), ("· rfl", -1.0)]);
    }

    #[test]
    fn arrow_inside_a_result_belongs_to_the_result() {
        let env =
            OfflineEnv::from_fixture("⊢ f = g\n  funext => ⊢ (fun x => x) y = g y\n").unwrap();
        let state = OfflineState::new(["⊢ (fun x => x) y = g y"]);
        assert_eq!(
            env.tactics(&env.root())[0].result,
            ScriptedResult::Goals(state)
        );
    }

    #[test]
    fn reports_bad_lines_with_their_number() {
        let cases = [
            (
                "  simp => done",
                1,
                "a tactic line must follow a state line",
            ),
            (
                "⊢ p\n  simp done",
                2,
                "expected `tactic => result` in `simp done`",
            ),
            (
                "⊢ p\n  simp => done\n  simp => done",
                3,
                "tactic `simp` is listed twice",
            ),
            ("⊢ p\n⊢ p", 2, "state `⊢ p` is listed twice"),
            ("# nothing", 0, "the fixture lists no state"),
        ];
        for (fixture, line, message) in cases {
            let error = OfflineEnv::from_fixture(fixture).unwrap_err();
            assert_eq!(
                (error.line, error.message.as_str()),
                (line, message),
                "{fixture}"
            );
        }
    }
}
