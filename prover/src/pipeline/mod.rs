//! Pipelines: stages that read files, search or check many theorems through a `Session`, and write files, each resumable from what its output already holds.
//!
//! - [`batch`]: the one bounded-concurrency loop (any jobs, a bounded number at once, outcomes
//!   in completion order, nothing decided after a stop reported), and searches through it,
//!   each with a hook of its own.
//! - [`check`]: `prover check`'s rules over many rows: the reference-statement rule, and the
//!   rows checked on one pool through [`batch`].
//! - [`collect`]: the search hook that keeps what training data needs (a proof's steps, the
//!   tactics Lean refused along it).
//! - [`preflight`]: one REPL elaborates the first header before any work, with one clear
//!   message when it cannot.
//! - [`run`]: a run's identity: its manifest, and the records it is made of.
//! - [`verify`]: proofs re-elaborated with `check`'s rules on a fresh pool.
//! - [`eval`]: `prover eval`'s resume keys (name and attempt), `error` rows searched again,
//!   and the settings of repeated attempts.
//! - [`plan`]: the planner: a direct search, then `have` skeletons whose holes the step
//!   search closes in place, assembled and checked.
//! - [`expert`]: expert-iteration rounds: cheap pass, search, verification on a fresh pool,
//!   export of SFT and DPO rows.
//!
//! **Invariant:** every record a stage decides is appended (and synced) to the stage's log
//! before the next is reported, and a rerun skips what the log holds; files derived from the
//! logs are written whole and atomically, sorted, so an interrupted run resumed gives the same
//! bytes as one that was never interrupted.

pub mod batch;
pub mod check;
pub mod collect;
pub mod eval;
pub mod expert;
pub mod explore;
pub mod plan;
pub mod preflight;
pub mod run;
pub mod verify;

use std::path::PathBuf;

use tokio::sync::watch;

/// Why a pipeline could not go on; what it decided before is on disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// A stage log could not be opened or written.
    #[error(transparent)]
    Log(#[from] ::datasets::LogError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds something this pipeline did not write.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The model server stayed down past the outage limit.
    #[error("{0}")]
    ModelOutage(String),
    /// The caller stopped the pipeline (`between_rounds` refused, for instance).
    #[error("{0}")]
    Stopped(String),
}

impl PipelineError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PipelineError {
        let path = path.into();
        move |source| PipelineError::Io { path, source }
    }
}

/// Tells a running pipeline to start nothing more and report nothing decided after it.
pub struct StopSender(watch::Sender<bool>);

impl StopSender {
    /// Stops the pipeline.
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// What a pipeline watches to know it must stop.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// A stop and the sender that sets it.
    pub fn channel() -> (StopSender, Stop) {
        let (sender, receiver) = watch::channel(false);
        (StopSender(sender), Stop(receiver))
    }

    /// Whether the stop was set.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the stop is set (never, if its sender is dropped unset).
    pub async fn wait(&self) {
        let mut receiver = self.0.clone();
        if receiver.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
