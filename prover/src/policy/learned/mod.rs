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
