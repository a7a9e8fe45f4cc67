//! A run's planner (`--planner openai` in `prove`, `eval`, `iterate` and `explore`): opened from its settings with the run, probed at preflight, recorded in the manifest, and each theorem proved through [`super::prove`] with its plan appended to `--plan-log`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ::datasets::AppendLog;
use ::datasets::output::{FileKind, Input, Output, Target};
use ::datasets::plan::PlanRecord;

use super::{NoTap, OpenAiPlanner, PlanConfig, PlanTap, Planned};
use crate::engine::{ProveResult, Theorem};
use crate::pipeline::{RunError, Stop};
use crate::session::Prover;
use crate::settings::{self, PlannerOverlay, SettingsFile};

/// What a run is asked of the planner: plain values from the front end's flags.
#[derive(Debug, Clone, Default)]
pub struct PlannerRun {
    /// The planner's settings (`--planner`, `--planner-url`, …).
    pub overlay: PlannerOverlay,
    /// `--plan-log FILE.jsonl`: one record per planned theorem.
    pub plan_log: Option<PathBuf>,
}

impl PlannerRun {
    /// The `--plan-log` output, for the run's write check.
    pub fn output(&self) -> Option<Output<'_>> {
        self.plan_log.as_deref().map(|path| Output {
            flag: "--plan-log",
            path,
            target: Target::File(FileKind::PlanLog),
        })
    }

    /// The `--planner-prompt` input, for the run's write check.
    pub fn input(&self) -> Option<Input<'_>> {
        self.overlay.planner_prompt.as_deref().map(|path| Input {
            flag: "--planner-prompt",
            path,
        })
    }
}

/// A run's planner, when `--planner` (or `[planner] kind`) is on.
#[derive(Clone)]
pub struct Planning {
    planner: Arc<OpenAiPlanner>,
    config: PlanConfig,
    log: Option<Arc<Mutex<AppendLog>>>,
}

impl std::fmt::Debug for Planning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planning")
            .field("config", &self.config)
            .field("logged", &self.log.is_some())
            .finish_non_exhaustive()
    }
}

impl Planning {
    /// The planner of `run` over `file`, or `None` when it is off; the plan log is opened
    /// (appended to; `fresh` empties it). A plan log without a planner is refused.
    pub fn open(
        run: &PlannerRun,
        file: &SettingsFile,
        fresh: bool,
        inputs: &[&Path],
    ) -> Result<Option<Planning>, RunError> {
        let Some(planner) = settings::planner_settings(&run.overlay, file)? else {
            if run.plan_log.is_some() {
                return Err(RunError::Refused(
                    "--plan-log needs --planner openai".to_owned(),
                ));
            }
            return Ok(None);
        };
        let log = match &run.plan_log {
            Some(path) => {
                let (log, _) = AppendLog::open::<PlanRecord>(path, "plan", fresh, inputs).map_err(
                    |error| RunError::Refused(format!("--plan-log {}: {error}", path.display())),
                )?;
                Some(Arc::new(Mutex::new(log)))
            }
            None => None,
        };
        let opened = OpenAiPlanner::new(&planner)
            .map_err(|error| RunError::Refused(format!("--planner-url: {error}")))?;
        Ok(Some(Planning {
            planner: Arc::new(opened),
            config: planner.plan,
            log,
        }))
    }

    /// Refuses what the planner does not combine with yet: learning online and `--trace`.
    pub fn refuse_extras(&self, learn_online: bool, trace: bool) -> Result<(), RunError> {
        if learn_online || trace {
            return Err(RunError::Refused(
                "--planner does not combine with --learn-online or --trace yet".to_owned(),
            ));
        }
        Ok(())
    }

    /// One small request to the planner's server before any theorem (a preflight): a server
    /// that does not answer is one message naming `--planner-url`, not a failure per theorem.
    pub fn probe(&self, runtime: &tokio::runtime::Handle) -> Result<(), RunError> {
        let client = self.planner.client();
        runtime.block_on(client.probe()).map_err(|error| {
            RunError::Refused(format!(
                "the planner's server at {} did not answer: {error}; check --planner-url (or \
                 [planner] url) and that the server is up",
                client.url()
            ))
        })
    }

    /// What a run's manifest records of the planner: what a resume must keep equal (a resume
    /// under other planner settings would mix two kinds of rows).
    pub fn manifest_record(&self) -> serde_json::Value {
        let llm = self.planner.client().config();
        serde_json::json!({
            "samples": self.config.samples,
            "direct_share": self.config.direct_share,
            "replans": self.config.replans,
            "model": llm.model,
        })
    }

    /// Proves `theorem` through the planner and appends its plan to the log; a record that
    /// cannot be written is a warning, never a lost result.
    pub async fn prove(&self, prover: &Prover, theorem: Theorem, stop: &Stop) -> ProveResult {
        self.plan(prover, theorem, stop, Arc::new(NoTap))
            .await
            .result
    }

    /// [`Planning::prove`], with `tap` watching every search of the plan; the result and the
    /// plan's record (for a run's own training files).
    pub async fn plan(
        &self,
        prover: &Prover,
        theorem: Theorem,
        stop: &Stop,
        tap: Arc<dyn PlanTap>,
    ) -> Planned {
        let planned = super::prove_tapped(
            prover,
            self.planner.as_ref(),
            &self.config,
            theorem,
            stop,
            tap,
        )
        .await;
        if let Some(log) = &self.log {
            let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(error) = log.append(&planned.record) {
                tracing::warn!("cannot write --plan-log: {error}");
            }
        }
        planned
    }
}
