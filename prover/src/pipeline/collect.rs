//! `TrainingHook`: the search hook that keeps a found proof's steps with their scores, and every tactic Lean refused, for SFT and DPO rows; `TrainingTap`: one per search of a planned theorem.

use std::collections::HashMap;

use std::sync::Mutex;

use ::datasets::plan::{PlanOutcome, SkeletonLabel};
use ::datasets::training::{
    HoleSteps, ProofStep, Refusal, RefusalKind, RoundRecord, Stage, TRAINING_SCHEMA_VERSION,
};

use super::plan::{PlanSearch, PlanTap, Planned};
use crate::engine::{ProveResult, ProveStatus, is_timeout_refusal};
use crate::job::{Lend, Observer};
use crate::search::{EdgeOutcome, Proof, SearchEvent, SearchHook, Verdict};

/// Collects what one search offers as training data. The search reports only a proof the
/// checker accepted, and this hook keeps exactly that one (the last accepted).
#[derive(Debug, Default)]
pub struct TrainingHook {
    /// (state, tactic) → the policy's score, for every tactic that ran.
    scores: HashMap<(String, String), f64>,
    /// Every tactic Lean refused, in the order the search tried them.
    refusals: Vec<Refusal>,
    accepted: Option<Proof>,
}

impl SearchHook for TrainingHook {
    fn on_event(&mut self, event: &SearchEvent<'_>) {
        match event {
            SearchEvent::Edge(edge) => {
                self.scores
                    .entry((edge.state.to_owned(), edge.tactic.to_owned()))
                    .or_insert(edge.score);
                if let EdgeOutcome::Rejected(message) = edge.outcome {
                    self.refusals.push(Refusal {
                        state: edge.state.to_owned(),
                        tactic: edge.tactic.to_owned(),
                        error: message.to_owned(),
                        kind: if is_timeout_refusal(message) {
                            RefusalKind::Timeout
                        } else {
                            RefusalKind::LeanError
                        },
                    });
                }
            }
            SearchEvent::Rechecked {
                proof,
                verdict: Ok(Verdict::Accepted),
            } => self.accepted = Some((*proof).clone()),
            _ => {}
        }
    }
}

impl TrainingHook {
    /// The accepted proof's steps, root first, and the refusals at states on its path; empty
    /// when the search accepted no proof.
    fn proof_path(&self) -> (Vec<ProofStep>, Vec<Refusal>) {
        let steps: Vec<ProofStep> = match &self.accepted {
            Some(proof) => proof
                .states
                .iter()
                .zip(&proof.tactics)
                .map(|(state, tactic)| ProofStep {
                    state: state.clone(),
                    tactic: tactic.clone(),
                    score: self
                        .scores
                        .get(&(state.clone(), tactic.clone()))
                        .copied()
                        .filter(|s| s.is_finite()),
                })
                .collect(),
            None => Vec::new(),
        };
        let on_path = |state: &str| steps.iter().any(|step| step.state == state);
        let refusals = self
            .refusals
            .iter()
            .filter(|refusal| on_path(&refusal.state))
            .cloned()
            .collect();
        (steps, refusals)
    }

    /// The stage record of `result`: its proof's steps (when the search found the proof that
    /// was reported) and the refusals at states on that proof's path.
    pub fn into_record(self, stage: Stage, result: &ProveResult) -> RoundRecord {
        let proved = result.status == ProveStatus::Proved;
        let (steps, refusals) = if proved {
            self.proof_path()
        } else {
            (Vec::new(), Vec::new())
        };
        RoundRecord {
            schema_version: TRAINING_SCHEMA_VERSION,
            name: result.name.clone(),
            stage,
            status: result.status,
            proof: result.proof.clone(),
            stop_reason: result.stop_reason.clone(),
            lean_calls: result.lean_calls,
            seconds: result.seconds,
            steps,
            refusals,
            plan: None,
            holes: Vec::new(),
        }
    }
}

/// A [`PlanTap`] that gives each search of one theorem's plan a [`TrainingHook`]: the stage
/// record of a planned theorem, with its plan and, when a skeleton proved it, each hole's
/// steps and refusals.
#[derive(Default)]
pub struct TrainingTap {
    searches: Mutex<Vec<(PlanSearch, Lend<TrainingHook>)>>,
}

impl PlanTap for TrainingTap {
    fn observer(&self, search: PlanSearch) -> Box<dyn Observer> {
        let lent = Lend::new(TrainingHook::default());
        self.searches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((search, lent.clone()));
        Box::new(lent)
    }
}

impl TrainingTap {
    /// The stage record of `planned` (every search of the plan has ended). A theorem a direct
    /// search proved has that search's steps, as without the planner. One a skeleton proved
    /// has no steps of its own (its proof is no search path) but, per hole of that skeleton
    /// (the one that passed the final check), the steps of the hole search whose accepted
    /// proof starts at the hole's goal; a hole whose proof came from no search here (a verdict
    /// from the cache) has none.
    ///
    /// It takes the hooks out through a shared reference: a clone of the tap may outlive the
    /// plan for a moment in a task that is ending, and each hook is free once its search has
    /// ended (which the plan waited for).
    pub fn record(&self, stage: Stage, planned: &Planned) -> RoundRecord {
        let searches =
            std::mem::take(&mut *self.searches.lock().unwrap_or_else(|p| p.into_inner()));
        let mut hooks = searches
            .into_iter()
            .filter_map(|(search, lent)| Some((search, lent.take()?)));
        let record = &planned.record;
        let mut round = match record.outcome {
            PlanOutcome::Direct => {
                let wanted = if record.fallback.as_ref().is_some_and(|f| f.proved) {
                    PlanSearch::Fallback
                } else {
                    PlanSearch::Direct
                };
                hooks
                    .by_ref()
                    .filter(|(search, _)| *search == wanted)
                    .last()
                    .map(|(_, hook)| hook)
                    .unwrap_or_default()
                    .into_record(stage, &planned.result)
            }
            PlanOutcome::Plan | PlanOutcome::Unproved => {
                TrainingHook::default().into_record(stage, &planned.result)
            }
        };
        if record.outcome == PlanOutcome::Plan
            && let Some(closed) = record
                .skeletons
                .iter()
                .rev()
                .find(|s| s.label == SkeletonLabel::ClosedAll)
        {
            let paths: Vec<(Vec<ProofStep>, Vec<Refusal>)> = hooks
                .filter(|(search, _)| *search == PlanSearch::Hole)
                .map(|(_, hook)| hook.proof_path())
                .filter(|(steps, _)| !steps.is_empty())
                .collect();
            for hole in &closed.holes {
                let key = words(&hole.goal);
                let Some((steps, refusals)) = paths
                    .iter()
                    .rev()
                    .find(|(steps, _)| words(&steps[0].state) == key)
                else {
                    continue;
                };
                round.holes.push(HoleSteps {
                    goal: hole.goal.clone(),
                    steps: steps.clone(),
                    refusals: refusals.clone(),
                });
            }
        }
        round.plan = Some(Box::new(record.clone()));
        round
    }
}

/// A goal's words, whitespace runs aside: how a hole's goal is matched with a search's root.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}
