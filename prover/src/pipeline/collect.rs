//! `TrainingHook`: the search hook that keeps a found proof's steps with their scores, and every tactic Lean refused, for SFT and DPO rows.

use std::collections::HashMap;

use ::datasets::training::{
    ProofStep, Refusal, RefusalKind, RoundRecord, Stage, TRAINING_SCHEMA_VERSION,
};

use crate::engine::{ProveResult, ProveStatus, is_timeout_refusal};
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
    /// The stage record of `result`: its proof's steps (when the search found the proof that
    /// was reported) and the refusals at states on that proof's path.
    pub fn into_record(self, stage: Stage, result: &ProveResult) -> RoundRecord {
        let proved = result.status == ProveStatus::Proved;
        let steps: Vec<ProofStep> = match (&self.accepted, proved) {
            (Some(proof), true) => proof
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
            _ => Vec::new(),
        };
        let on_path = |state: &str| steps.iter().any(|step| step.state == state);
        let refusals = self
            .refusals
            .iter()
            .filter(|refusal| on_path(&refusal.state))
            .cloned()
            .collect();
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
        }
    }
}
