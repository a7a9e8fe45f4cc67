//! Pipelines: stages that read files, search or check many theorems through a `Session`, and write files, each resumable from what its output already holds.
//!
//! - [`audit`]: degenerate statements flagged through the REPL pool (`prover datasets audit`).
//! - [`batch`]: the one bounded-concurrency loop (any jobs, a bounded number at once, outcomes
//!   in completion order, nothing decided after a stop reported), and searches through it,
//!   each with a hook of its own.
//! - [`check`]: `prover check`'s rules over many rows: the reference-statement rule, and the
//!   rows checked on one pool through [`batch`].
//! - [`collect`]: the search hook that keeps what training data needs (a proof's steps, the
//!   tactics Lean refused along it).
//! - [`preflight`]: one REPL elaborates the first header before any work, with one clear
//!   message when it cannot.
//! - [`transfer`]: proofs re-checked against other lineages' statements of their problems.
//! - [`run`]: a run's identity: its manifest, and the records it is made of.
//! - [`verify`]: proofs re-elaborated with `check`'s rules on a fresh pool.
//! - [`identity`]: which statement each row of a results file is about (lineage, problem id,
//!   statement hash), stamped on each result and checked against the dataset on resume.
//! - [`eval`]: `prover eval`'s resume keys (name and attempt), `error` rows searched again,
//!   and the settings of repeated attempts.
//! - [`merge`]: `prover merge`: the results of a sharded `eval` joined into one file, with the
//!   manifests checked, conflicts refused and missing shards and theorems named.
//! - [`plan`]: the planner: a direct search, then `have` skeletons whose holes the step
//!   search closes in place, assembled and checked.
//! - [`expert`]: expert-iteration rounds: cheap pass, search, verification on a fresh pool,
//!   export of SFT and DPO rows.
//! - [`extras`]: what a search does besides proving: learning online and writing its trace.
//! - [`prove`]: one statement, or one `sorry` of a file, searched on a session of its own.
//! - [`train`]: a learned model from SFT and DPO rows.
//!
//! A front end runs a whole subcommand through one function here (`eval::run`, …): it hands
//! over plain settings and a [`Progress`], which hears every [`RunEvent`] and renders it its
//! own way (the CLI: stderr lines), and gets back what the run decided, or a [`RunError`]
//! whose `Display` is the whole message for the user.
//!
//! **Invariant:** every record a stage decides is appended (and synced) to the stage's log
//! before the next is reported, and a rerun skips what the log holds; files derived from the
//! logs are written whole and atomically, sorted, so an interrupted run resumed gives the same
//! bytes as one that was never interrupted.

pub mod audit;
pub mod batch;
pub mod check;
pub mod collect;
pub mod eval;
pub mod expert;
pub mod explore;
pub mod extras;
pub mod identity;
pub mod merge;
pub mod plan;
pub mod preflight;
pub mod prove;
pub mod run;
pub mod train;
pub mod transfer;
pub mod verify;

/// The log target of a run's milestones (`PROVER_LOG=prover::timeline=debug`): for `eval`,
/// session open, workers prewarming, preflight passed, each search's start and row, the
/// batch's end and the pool's shutdown; for `prove`, workers prewarming. Each is a timestamped
/// line; the eval bench reads them to say where the wall time beyond the searches goes.
pub const TIMELINE: &str = "prover::timeline";

use std::path::{Path, PathBuf};

use ::datasets::manifest::ModelProbe;
use tokio::sync::watch;

/// Why a run could not start or go on; its `Display` (with its sources) is the whole message
/// for the user, and what the run decided before is on disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// An output the run may not write (`datasets::output::check_outputs`).
    #[error(transparent)]
    Output(#[from] ::datasets::output::WriteRefusal),
    /// An input that cannot be read.
    #[error(transparent)]
    Dataset(#[from] run::DatasetError),
    /// A results file that cannot be opened or written.
    #[error(transparent)]
    Log(#[from] ::datasets::LogError),
    /// A setting out of range.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The session could not open.
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    /// The run's manifest refused the run or could not be written.
    #[error(transparent)]
    Manifest(#[from] run::ManifestError),
    /// The REPL or the model server failed the preflight.
    #[error(transparent)]
    Preflight(#[from] preflight::PreflightError),
    /// A stage of the pipeline failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The learned model could not be written.
    #[error(transparent)]
    Model(#[from] crate::policy::learned::ModelError),
    /// `prover merge` found its inputs unalike or in conflict, or could not write.
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    /// A flag or an input the run refuses; the message names it.
    #[error("{0}")]
    Refused(String),
    /// A file or directory the run could not make, with what it was for.
    #[error("{what}")]
    Io {
        /// What could not be done, naming the flag and the path.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// The front end's progress failed (a closed output, for instance).
    #[error(transparent)]
    Progress(Box<dyn std::error::Error + Send + Sync>),
}

/// What a run tells its front end as it goes, in order; the front end renders each its own way.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunEvent<'a> {
    /// The results file ended in a torn line (an interrupted write), dropped: those items
    /// run again.
    Repaired {
        /// The subcommand writing the file.
        subcommand: &'a str,
        /// The file.
        path: &'a Path,
        /// The bytes dropped.
        bytes: usize,
    },
    /// The model server's probe, before it is judged.
    ModelProbed {
        /// The server.
        url: &'a str,
        /// What it found.
        probe: &'a ModelProbe,
    },
    /// A search's trace could not be written; the result stands.
    TraceUnwritten {
        /// The theorem (and attempt) the trace is of.
        name: &'a str,
        /// The `--trace` directory.
        dir: &'a Path,
        /// Why.
        error: &'a std::io::Error,
    },
    /// The learned model was written (`--save-model`).
    ModelSaved {
        /// Its stored states.
        states: usize,
        /// The file.
        path: &'a Path,
    },
    /// An eval's event.
    Eval(eval::EvalEvent<'a>),
    /// A check's event.
    Check(check::CheckEvent<'a>),
    /// An iteration's event.
    Iterate(expert::IterateEvent<'a>),
    /// An exploration's event.
    Explore(explore::ExploreEvent<'a>),
    /// An audit's event.
    Audit(audit::AuditEvent<'a>),
    /// A transfer's event.
    Transfer(transfer::TransferEvent<'a>),
}

/// A run's front end: how it stops, and what it is told.
pub trait Progress {
    /// The stop this run watches, asked for once the session's runtime runs (a command line
    /// ties it to signals there).
    fn stop_on(&mut self, runtime: &tokio::runtime::Handle) -> Result<Stop, RunError>;
    /// One event of the run.
    fn event(&mut self, event: RunEvent<'_>);
    /// Between `iterate`'s round `round` (its files in `dir`) and the next: an `Err` stops the
    /// run with its message, the round's files kept. Nothing to do by default.
    fn between_rounds(&mut self, round: u32, dir: &Path) -> Result<(), String> {
        let _ = (round, dir);
        Ok(())
    }
}

/// Opens a results file (`datasets::AppendLog`), telling `progress` of a torn line dropped.
pub fn open_results<R: serde::de::DeserializeOwned>(
    path: &Path,
    subcommand: &str,
    fresh: bool,
    inputs: &[&Path],
    progress: &mut dyn Progress,
) -> Result<(::datasets::AppendLog, Vec<R>), RunError> {
    let (log, records) = ::datasets::AppendLog::open(path, subcommand, fresh, inputs)?;
    if log.repaired_bytes > 0 {
        progress.event(RunEvent::Repaired {
            subcommand,
            path,
            bytes: log.repaired_bytes,
        });
    }
    Ok((log, records))
}

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
