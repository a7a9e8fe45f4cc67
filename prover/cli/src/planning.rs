//! `--planner openai` in `prove` and `eval`: the planner opened from its settings, each theorem proved through `pipeline::plan`, and each plan appended to `--plan-log`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use prover::ProveResult;
use prover::Theorem;
use prover::pipeline::Stop;
use prover::pipeline::plan::{self, OpenAiPlanner, PlanConfig};
use prover::session::Prover;
use prover::settings::{self, SettingsFile};

use ::datasets::AppendLog;
use ::datasets::output::{FileKind, Input, Output, Target};
use ::datasets::plan::PlanRecord;

use super::planner_args::PlannerArgs;

/// The `--plan-log` output.
pub(super) fn plan_log_output(args: &PlannerArgs) -> Option<Output<'_>> {
    args.plan_log.as_deref().map(|path| Output {
        flag: "--plan-log",
        path,
        target: Target::File(FileKind::PlanLog),
    })
}

/// The `--planner-prompt` input.
pub(super) fn prompt_input(args: &PlannerArgs) -> Option<Input<'_>> {
    args.planner_prompt.as_deref().map(|path| Input {
        flag: "--planner-prompt",
        path,
    })
}

/// A run's planner, when `--planner` (or `[planner] kind`) is on.
#[derive(Clone)]
pub(super) struct Planning {
    planner: Arc<OpenAiPlanner>,
    config: PlanConfig,
    log: Option<Arc<Mutex<AppendLog>>>,
}

impl Planning {
    /// The planner of `args` over `file`, or `None` when it is off; the plan log is opened
    /// (appended to; `fresh` empties it).
    pub(super) fn open(
        args: &PlannerArgs,
        file: &SettingsFile,
        fresh: bool,
        inputs: &[&Path],
    ) -> anyhow::Result<Option<Planning>> {
        let Some(planner) = settings::planner_settings(&args.overlay(), file)? else {
            if args.plan_log.is_some() {
                anyhow::bail!("--plan-log needs --planner openai");
            }
            return Ok(None);
        };
        let log = match &args.plan_log {
            Some(path) => {
                let (log, _) = AppendLog::open::<PlanRecord>(path, "plan", fresh, inputs)
                    .with_context(|| format!("--plan-log {}", path.display()))?;
                Some(Arc::new(Mutex::new(log)))
            }
            None => None,
        };
        Ok(Some(Planning {
            planner: Arc::new(OpenAiPlanner::new(&planner).context("--planner-url")?),
            config: planner.plan,
            log,
        }))
    }

    /// One small request to the planner's server before any theorem (a preflight): a server
    /// that does not answer is one message naming `--planner-url`, not a failure per theorem.
    pub(super) fn probe(&self, runtime: &tokio::runtime::Handle) -> anyhow::Result<()> {
        let client = self.planner.client();
        runtime.block_on(client.probe()).map_err(|error| {
            anyhow::anyhow!(
                "the planner's server at {} did not answer: {error}; check --planner-url (or [planner] url) and that the server is up",
                client.url()
            )
        })
    }

    /// What a run's manifest records of the planner: what a resume must keep equal.
    pub(super) fn manifest_record(&self) -> serde_json::Value {
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
    pub(super) async fn prove(
        &self,
        prover: &Prover,
        theorem: Theorem,
        stop: &Stop,
    ) -> ProveResult {
        let planned = plan::prove(prover, self.planner.as_ref(), &self.config, theorem, stop).await;
        if let Some(log) = &self.log {
            let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(error) = log.append(&planned.record) {
                note!("prover: cannot write --plan-log: {error}");
            }
        }
        planned.result
    }
}
