//! Found proofs as linear tactic scripts, and the `ProofChecker` trait that must accept one before it is reported.

use std::time::Duration;

use super::env::{Applied, ProofEnv};
use super::error::{CheckError, EnvError};

/// A proof as a linear tactic script from the root state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The tactics, in order; applying them from the root closes every goal.
    pub tactics: Vec<String>,
    /// `states[i]` is the canonical text of the state `tactics[i]` was applied to, so
    /// `states[0]` is the root. Same length as `tactics`. Kept for training pairs (state, tactic).
    pub states: Vec<String>,
}

impl Proof {
    /// Number of tactics.
    pub fn len(&self) -> usize {
        self.tactics.len()
    }

    /// `true` for the empty script (which the search never reports).
    pub fn is_empty(&self) -> bool {
        self.tactics.is_empty()
    }

    /// Re-applies the script from `root` and tells whether it closes every goal.
    ///
    /// Every step but the last must leave goals, and the last must prove. This is a cheap
    /// self-check for environments and tests; the authoritative recheck is a [`ProofChecker`].
    pub fn replay<E: ProofEnv>(
        &self,
        env: &mut E,
        root: E::State,
        deadline: Duration,
    ) -> Result<bool, EnvError> {
        let Some((last, init)) = self.tactics.split_last() else {
            return Ok(false);
        };
        let mut state = root;
        for tactic in init {
            match env.apply(&state, tactic, deadline)? {
                Applied::Goals(next) => state = next,
                Applied::Proved | Applied::Rejected(_) => return Ok(false),
            }
        }
        Ok(matches!(
            env.apply(&state, last, deadline)?,
            Applied::Proved
        ))
    }
}

/// A checker's judgement of a complete proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The proof holds and may be reported.
    Accepted,
    /// The proof does not hold; the text says why (for logs and the hook).
    Rejected(String),
}

/// Independently rechecks a proof before the search reports it.
///
/// The search trusts no single tactic-mode step: the engine implements this with a
/// command-mode Lean recheck and an axiom allow-list. When the verdict is not
/// [`Verdict::Accepted`], the search does not report the proof, marks its last edge as failed
/// and keeps searching. An `Err` is treated the same way and also counted as an infrastructure
/// error. Closures `FnMut(&Proof) -> Result<Verdict, CheckError>` are checkers.
pub trait ProofChecker {
    /// Judges `proof`.
    fn check(&mut self, proof: &Proof) -> Result<Verdict, CheckError>;
}

impl<F: FnMut(&Proof) -> Result<Verdict, CheckError>> ProofChecker for F {
    fn check(&mut self, proof: &Proof) -> Result<Verdict, CheckError> {
        self(proof)
    }
}
