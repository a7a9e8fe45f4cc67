//! Infrastructure errors that the search's collaborators may return: a broken tool, never a wrong tactic.
//!
//! A tactic that Lean refuses is `Applied::Rejected`, and a proof the checker refuses is
//! `Verdict::Rejected`; both are ordinary data. These types are for the case where the
//! machinery itself failed (a dead REPL, an unreachable model), so the search can count them
//! and give up after too many in a row.

use std::error::Error;

/// The boxed cause that an adapter may attach, so `source()` chains keep working across the trait.
type Cause = Box<dyn Error + Send + Sync + 'static>;

/// A `ProofEnv` could not answer: the environment, not the tactic, is at fault.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EnvError {
    message: String,
    #[source]
    cause: Option<Cause>,
}

/// A `Policy` could not propose tactics, for example because the model server is unreachable.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    message: String,
    #[source]
    cause: Option<Cause>,
}

/// A `ProofChecker` could not reach a verdict, for example because the recheck process died.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CheckError {
    message: String,
    #[source]
    cause: Option<Cause>,
}

// The three types are deliberately separate (the search counts each source on its own), but
// their constructors are identical.
macro_rules! constructors {
    ($ty:ident) => {
        impl $ty {
            /// An error with only a message.
            pub fn new(message: impl Into<String>) -> Self {
                Self {
                    message: message.into(),
                    cause: None,
                }
            }

            /// An error that keeps the underlying cause reachable through `Error::source`.
            pub fn with_source(message: impl Into<String>, cause: impl Into<Cause>) -> Self {
                Self {
                    message: message.into(),
                    cause: Some(cause.into()),
                }
            }

            /// The message without the cause chain.
            pub fn message(&self) -> &str {
                &self.message
            }
        }
    };
}

constructors!(EnvError);
constructors!(PolicyError);
constructors!(CheckError);
