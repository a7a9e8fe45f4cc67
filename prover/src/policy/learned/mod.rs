//! A tactic policy that learns from proofs on a CPU: nearest stored proof states by hashed goal features, tactics re-instantiated for the new state's locals, failures counted from Lean's refusals (after Tactician and TacticToe).
//!
//! - [`features`]: what the model sees of a state; tactic abstraction over local names.
//! - [`model`]: [`LearnedModel`]: training, prediction, the versioned model file.
//! - [`LearnedPolicy`]: the model as a search [`Policy`], shared (and updatable online) by
//!   every search of a run. It is always combined with the portfolio (`policy::Policies`), so
//!   it only reorders and adds candidates: under exhaustive limits it proves what the
//!   portfolio proves.

pub mod features;
pub mod model;

use std::sync::{Arc, RwLock};

pub use model::{LearnedModel, ModelError};

use crate::search::{Candidate, Policy, PolicyError, Query};

/// The model as a policy; clones share one model.
#[derive(Debug, Clone, Default)]
pub struct LearnedPolicy {
    model: Arc<RwLock<LearnedModel>>,
}

impl LearnedPolicy {
    /// A policy over `model`.
    pub fn new(model: Arc<RwLock<LearnedModel>>) -> Self {
        LearnedPolicy { model }
    }
}

impl Policy for LearnedPolicy {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        let model = self.model.read().unwrap_or_else(|p| p.into_inner());
        Ok(model.propose(query.state))
    }
}

/// What training rows teach the learned policy, in the rows' order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lessons {
    /// Each SFT row's (state, tactic).
    pub steps: Vec<(String, String)>,
    /// Each DPO row's (state, rejected tactic) that Lean refused; a timeout says the tactic
    /// was slow there, not that it was wrong, and teaches nothing.
    pub refusals: Vec<(String, String)>,
}

impl Lessons {
    /// `model` taught these lessons.
    pub fn teach(&self, model: &mut LearnedModel) {
        model.extend(&self.steps, &self.refusals);
    }
}

/// The lessons of SFT and DPO rows (`iterate`'s `sft.jsonl` and `dpo.jsonl`, `explore`'s steps
/// and preferences): the one conversion from training rows to the model's examples, used by
/// `prover train` and by the retraining between `iterate`'s rounds.
pub fn from_rows(rows: impl IntoIterator<Item = ::datasets::training::TrainingRow>) -> Lessons {
    use ::datasets::training::{RefusalKind, TrainingRow};
    let mut lessons = Lessons::default();
    for row in rows {
        match row {
            TrainingRow::Step { state, tactic } => lessons.steps.push((state, tactic)),
            TrainingRow::Preference {
                state,
                rejected,
                kind: RefusalKind::LeanError,
                ..
            } => lessons.refusals.push((state, rejected)),
            TrainingRow::Preference { .. } => {}
        }
    }
    lessons
}

#[cfg(test)]
mod lessons_tests {
    use ::datasets::training::{RefusalKind, TrainingRow};

    #[test]
    fn steps_and_lean_refusals_teach_and_timeouts_do_not() {
        let preference = |rejected: &str, kind| TrainingRow::Preference {
            state: "s".to_owned(),
            chosen: "c".to_owned(),
            rejected: rejected.to_owned(),
            kind,
        };
        let lessons = super::from_rows([
            TrainingRow::Step {
                state: "s".to_owned(),
                tactic: "simp".to_owned(),
            },
            preference("ring", RefusalKind::LeanError),
            preference("slow", RefusalKind::Timeout),
        ]);
        assert_eq!(lessons.steps, [("s".to_owned(), "simp".to_owned())]);
        assert_eq!(lessons.refusals, [("s".to_owned(), "ring".to_owned())]);
    }
}
