//! The planner over an OpenAI-compatible chat endpoint: the same client as the tactic policy (retries, the adaptive request limit, the circuit breaker), a system prompt shipped with the crate (`planner_prompt.md`, overridable by a file), and a request that shows the theorem and, on a replan, what the last skeleton came to.

use std::fmt::Write as _;
use std::sync::Arc;

use ::datasets::plan::PlannerTokens;

use super::{
    CountedProposal, Feedback, PlanConfig, PlanRequest, Planner, PlannerError, Proposal, Proposed,
};
use crate::llm::{LlmClient, LlmConfig};

/// The default system prompt: the skeleton's form and the typing rules that make skeletons
/// elaborate (`prover/src/pipeline/plan/planner_prompt.md`; `--planner-prompt FILE` replaces
/// it).
pub const DEFAULT_SYSTEM_PROMPT: &str = include_str!("planner_prompt.md");

/// Everything `--planner openai` needs: the model client's settings and the plan's.
#[derive(Debug, Clone)]
pub struct PlannerSettings {
    /// The chat endpoint, model, sampling, timeouts, retries and breaker. Its prompt template
    /// is `{state}`: the whole request is the one user message.
    pub llm: LlmConfig,
    /// The system prompt's text.
    pub system_prompt: String,
    /// How much planning to do.
    pub plan: PlanConfig,
}

/// [`Planner`] over an OpenAI-compatible chat endpoint.
#[derive(Debug)]
pub struct OpenAiPlanner {
    client: Arc<LlmClient>,
    system_prompt: String,
}

impl OpenAiPlanner {
    /// A planner on `settings`' endpoint; fails only on a configuration that cannot work (a
    /// URL that is not `http://`).
    pub fn new(settings: &PlannerSettings) -> Result<OpenAiPlanner, crate::llm::LlmError> {
        Ok(OpenAiPlanner {
            client: Arc::new(LlmClient::new(settings.llm.clone())?),
            system_prompt: settings.system_prompt.clone(),
        })
    }

    /// The model client, for its counters and preflight probe.
    pub fn client(&self) -> &LlmClient {
        &self.client
    }
}

impl Planner for OpenAiPlanner {
    fn propose<'a>(&'a self, request: &'a PlanRequest, samples: usize) -> Proposal<'a> {
        Box::pin(async move {
            self.propose_counted(request, samples)
                .await
                .map(|proposed| proposed.answers)
        })
    }

    fn propose_counted<'a>(
        &'a self,
        request: &'a PlanRequest,
        _samples: usize,
    ) -> CountedProposal<'a> {
        // The client asks for its configured number of samples (`--planner-samples`).
        Box::pin(async move {
            let prompt = render(&self.system_prompt, request);
            let (candidates, usage) = self
                .client
                .propose_counted(&prompt)
                .await
                .map_err(|error| PlannerError(error.to_string()))?;
            Ok(Proposed {
                answers: candidates.into_iter().map(|c| c.tactic).collect(),
                tokens: PlannerTokens {
                    prompt: usage.prompt,
                    completion: usage.completion,
                },
            })
        })
    }
}

/// The one message sent for `request`: the system prompt, the theorem (header and statement),
/// and on a replan the last skeleton with each hole's fate.
pub fn render(system_prompt: &str, request: &PlanRequest) -> String {
    let theorem = &request.theorem;
    let mut text = String::new();
    text.push_str(system_prompt.trim_end());
    text.push_str("\n\nTheorem (its header first):\n```lean\n");
    text.push_str(theorem.header.trim_end());
    text.push_str("\n\n");
    text.push_str(theorem.formal_statement.trim_end());
    text.push_str(" sorry\n```\n");
    if let Some(feedback) = &request.feedback {
        render_feedback(&mut text, feedback);
    }
    text.push_str("\nWrite the skeleton.\n");
    text
}

fn render_feedback(text: &mut String, feedback: &Feedback) {
    text.push_str("\nAn earlier skeleton did not prove it:\n```lean\n");
    text.push_str(feedback.skeleton.trim_end());
    text.push_str("\n```\n");
    if let Some(reason) = &feedback.reason {
        let _ = writeln!(text, "Outcome: {reason}.");
    }
    for (index, hole) in feedback.holes.iter().enumerate() {
        let goal = hole.goal.trim();
        match (&hole.proof, &hole.stop_reason) {
            (None, _) if hole.negation_proved => {
                // The strongest feedback there is: no budget would have closed this hole.
                let _ = writeln!(
                    text,
                    "Hole {}: FALSE, its negation `¬({})` was proved: the lemma is false; drop or \
                     restate it; its goal:\n{goal}",
                    index + 1,
                    conclusion(goal)
                );
            }
            (Some(proof), _) => {
                let _ = writeln!(
                    text,
                    "Hole {}: closed (keep it verbatim) by `{}`; its goal:\n{goal}",
                    index + 1,
                    proof.trim()
                );
            }
            (None, Some(reason)) if hole.frontier.is_empty() && hole.errors.is_empty() => {
                let _ = writeln!(
                    text,
                    "Hole {}: OPEN, the prover's search stopped ({reason}) after {} expansions; its goal:\n{goal}",
                    index + 1,
                    hole.expansions
                );
            }
            (None, Some(reason)) => {
                let _ = writeln!(
                    text,
                    "Hole {}: OPEN, the prover's search stopped ({reason}) after {} expansions.",
                    index + 1,
                    hole.expansions
                );
                render_seen(text, hole);
                let _ = writeln!(text, "Hole {}, its goal:\n{goal}", index + 1);
            }
            (None, None) => {
                let _ = writeln!(
                    text,
                    "Hole {}: not searched (another hole failed first); its goal:\n{goal}",
                    index + 1
                );
            }
        }
    }
    text.push_str("Keep the closed holes; split or restate the open ones.\n");
}

/// A goal's conclusion: the text after its last `⊢` (the whole goal when it has none).
fn conclusion(goal: &str) -> &str {
    goal.rsplit_once('⊢')
        .map_or(goal, |(_, target)| target)
        .trim()
}

/// An open hole's most promising open states and the last errors Lean gave in its search.
fn render_seen(text: &mut String, hole: &super::HoleFeedback) {
    if !hole.frontier.is_empty() {
        text.push_str("The most promising goals its search left open:\n");
        for state in &hole.frontier {
            let _ = writeln!(text, "```\n{}\n```", state.trim());
        }
    }
    if !hole.errors.is_empty() {
        text.push_str("The last errors Lean gave to its tactics:\n");
        for error in &hole.errors {
            let _ = writeln!(text, "- {}", error.trim());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::HoleFeedback;
    use super::*;
    use crate::engine::{StopCode, Theorem};

    #[test]
    fn a_replan_request_names_each_holes_goal_and_fate() {
        let request = PlanRequest {
            theorem: Theorem {
                name: "t".into(),
                header: "import Mathlib\n".into(),
                formal_statement: "theorem t (n : ℕ) : P n := by".into(),
            },
            feedback: Some(Feedback {
                skeleton: "theorem t (n : ℕ) : P n := by\n  have h : Q n := by sorry\n  exact f h"
                    .into(),
                reason: Some("0 of 1 holes closed".into()),
                holes: vec![HoleFeedback {
                    goal: "n : ℕ\n⊢ Q n".into(),
                    proof: None,
                    stop_reason: Some(StopCode::Exhausted),
                    expansions: 3,
                    frontier: Vec::new(),
                    errors: Vec::new(),
                    negation_proved: false,
                }],
            }),
        };
        let text = render(DEFAULT_SYSTEM_PROMPT, &request);
        assert!(text.starts_with("You are a Lean 4"));
        assert!(!text.contains("negation"), "{text}");
        assert!(text.contains("import Mathlib\n\ntheorem t (n : ℕ) : P n := by sorry"));
        assert!(text.contains("Hole 1: OPEN"), "{text}");
        assert!(text.contains("(exhausted) after 3 expansions; its goal:\nn : ℕ\n⊢ Q n"));
        let first = render(
            DEFAULT_SYSTEM_PROMPT,
            &PlanRequest {
                feedback: None,
                ..request
            },
        );
        assert!(!first.contains("did not prove it"));
    }

    #[test]
    fn an_open_holes_frontier_goals_and_lean_errors_are_in_the_replan_request() {
        let hole = HoleFeedback {
            goal: "n : ℕ\n⊢ Q n".into(),
            proof: None,
            stop_reason: Some(StopCode::ExpansionLimit),
            expansions: 7,
            frontier: vec!["n : ℕ\n⊢ R n".into(), "n : ℕ\n⊢ S n".into()],
            errors: vec!["simp: simp made no progress".into()],
            negation_proved: false,
        };
        let request = PlanRequest {
            theorem: Theorem {
                name: "t".into(),
                header: String::new(),
                formal_statement: "theorem t (n : ℕ) : P n := by".into(),
            },
            feedback: Some(Feedback {
                skeleton: "theorem t (n : ℕ) : P n := by\n  have h : Q n := by sorry\n  exact f h"
                    .into(),
                reason: None,
                holes: vec![hole],
            }),
        };
        let text = render(DEFAULT_SYSTEM_PROMPT, &request);
        assert!(
            text.contains("(expansion_limit) after 7 expansions.\nThe most promising goals its search left open:\n```\nn : ℕ\n⊢ R n\n```\n```\nn : ℕ\n⊢ S n\n```\nThe last errors Lean gave to its tactics:\n- simp: simp made no progress\nHole 1, its goal:\nn : ℕ\n⊢ Q n\nKeep the closed holes"),
            "{text}"
        );
    }

    #[test]
    fn a_replan_request_says_when_a_holes_negation_was_proved() {
        let hole = |negation_proved: bool| HoleFeedback {
            goal: "x : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = 2 * x".into(),
            proof: None,
            stop_reason: Some(StopCode::Cancelled),
            expansions: 2,
            frontier: vec!["x : ℕ\nh : 2 ≤ x\n⊢ x * x = 2 * x".into()],
            errors: Vec::new(),
            negation_proved,
        };
        let request = |negation_proved: bool| {
            PlanRequest {
            theorem: Theorem {
                name: "t".into(),
                header: String::new(),
                formal_statement: "theorem t (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by".into(),
            },
            feedback: Some(Feedback {
                skeleton: "theorem t (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 = 2 * x := by sorry\n  omega".into(),
                reason: Some("a hole is false".into()),
                holes: vec![hole(negation_proved)],
            }),
        }
        };
        let text = render(DEFAULT_SYSTEM_PROMPT, &request(true));
        assert!(
            text.contains("Hole 1: FALSE, its negation `¬(x ^ 2 = 2 * x)` was proved: the lemma is false; drop or restate it; its goal:\nx : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = 2 * x\nKeep the closed holes"),
            "{text}"
        );
        // A false lemma's frontier is no lead: only the refutation is shown.
        assert!(!text.contains("most promising"), "{text}");
        let open = render(DEFAULT_SYSTEM_PROMPT, &request(false));
        assert!(!open.contains("negation"), "{open}");
        assert!(open.contains("Hole 1: OPEN"), "{open}");
    }
}
