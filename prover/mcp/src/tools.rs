//! The tools, without MCP: each call's arguments as plain types, what it asks of the shared `Session` (`Job::Prove` for a statement or a sorry in place, `Job::Check`), the deadline every call has, and the answer as JSON with whether it is an error (an infrastructure failure, never an empty success).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prover::job::{JobEnd, JobEvent, JobResult, Lend, Observer};
use prover::pipeline::explore::TraceHook;
use prover::pipeline::plan::{OpenAiPlanner, PlanConfig};
use prover::settings::{EditorSettings, Overlay, PlannerKind, PlannerOverlay, SettingsFile};
use prover::text::source::{self as text, Declaration};
use prover::{CancelToken, SearchEvent};
use prover::{CheckStatus, Goal, Job, ProofTask, ProveStatus, Prover, Session, SorryGoal, Theorem};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::jobs::{Jobs, NoTrace, TRACES_KEPT};
use crate::to_proto;

/// The header used when a call gives a statement without one.
pub const DEFAULT_HEADER: &str = "import Mathlib\n";

/// How much longer than its budgets a call may run before the server gives up on it: the
/// REPL's start and a recheck take time of their own.
const DEADLINE_GRACE: Duration = Duration::from_secs(30);

/// How many of the search's most promising open states a failed proof reports.
const BEST_GOALS: usize = 3;

/// A search's budget: the `[search]` keys of `prover.toml`, for this call only.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// At most this many expansions (`--max-expansions`).
    pub max_expansions: Option<u32>,
    /// At most this many seconds of search (`--time-limit`).
    pub time_limit_s: Option<f64>,
    /// At most this many seconds per tactic (`--tactic-timeout`).
    pub tactic_timeout_s: Option<f64>,
}

/// `prover_prove`'s arguments: a statement (with its header), a sorry of a file by position,
/// or the one sorry of a theorem of a file.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProveArgs {
    /// A theorem ending in `:= by` (or `:= by sorry`).
    pub statement: Option<String>,
    /// Imports and options before the statement; `import Mathlib` when absent.
    pub header: Option<String>,
    /// A `.lean` file holding the sorry to prove in place.
    pub file: Option<PathBuf>,
    /// The sorry's line in `file`, from 1.
    pub line: Option<u32>,
    /// The sorry's column in `file`, in characters from 0.
    pub column: Option<u32>,
    /// A theorem of `file` with exactly one sorry, proved in place.
    pub theorem: Option<String>,
    /// This call's budget, over the server's settings.
    #[serde(default)]
    pub budget: Budget,
    /// The tactic policy: `portfolio`, `openai`, `combined` or `learned`.
    pub policy: Option<String>,
    /// `false`: answer at once with the job's number, for `prover_job` and `prover_cancel`.
    pub wait: Option<bool>,
}

/// `prover_plan`'s arguments: a theorem, its budget, and the planner's settings for this call
/// (the rest from `[planner]` in `prover.toml` and the server's `--planner-*` flags).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanArgs {
    /// A theorem ending in `:= by` (or `:= by sorry`).
    pub statement: String,
    /// Imports and options before the statement; `import Mathlib` when absent.
    pub header: Option<String>,
    /// The whole budget: the direct search's share, the skeletons' holes and the fallback.
    #[serde(default)]
    pub budget: Budget,
    /// The tactic policy of every search: `portfolio`, `openai`, `combined` or `learned`.
    pub policy: Option<String>,
    /// Skeletons asked for per planner request, 1 to 64 (`--planner-samples`).
    pub samples: Option<usize>,
    /// Further planner requests after a round that closed nothing (`--replans`).
    pub replans: Option<u32>,
    /// The direct search's share of the budget, from 0 to below 1 (`--planner-direct-share`).
    pub direct_share: Option<f64>,
}

/// `prover_fill_sorries`'s arguments.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FillArgs {
    /// The `.lean` file.
    pub file: PathBuf,
    /// Only the sorries of this declaration; every theorem's otherwise.
    pub theorem: Option<String>,
    /// Write the proved edits into the file, when it is unchanged since it was read.
    #[serde(default)]
    pub write: bool,
    /// Each sorry's budget.
    #[serde(default)]
    pub budget: Budget,
    /// The tactic policy.
    pub policy: Option<String>,
}

/// `prover_check`'s arguments: a statement and its proof, or a theorem of a file.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckArgs {
    /// The theorem, ending in `:= by` or `:=`.
    pub statement: Option<String>,
    /// The text after `:= by` (tactics) or `:=` (a term).
    pub proof: Option<String>,
    /// Imports and options; `import Mathlib` when absent.
    pub header: Option<String>,
    /// A `.lean` file holding the theorem.
    pub file: Option<PathBuf>,
    /// The theorem of `file` to check.
    pub theorem: Option<String>,
    /// A reference dataset (JSON lines with `name`, `formal_statement` and an optional
    /// `header`, as `prover check --reference` reads it): the statement must be its row's (up
    /// to whitespace runs) and runs on its header; a theorem it does not name is `invalid`.
    pub reference: Option<PathBuf>,
    /// The reference row to compare with; the theorem's own name when absent.
    pub name: Option<String>,
}

/// `prover_try`'s arguments: a proof state (a statement, a sorry of a file by position, or the
/// one sorry of a theorem of a file) and the tactics to try on it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TryArgs {
    /// A theorem ending in `:= by`: the state is its goal.
    pub statement: Option<String>,
    /// Imports and options before the statement; `import Mathlib` when absent.
    pub header: Option<String>,
    /// A `.lean` file: the state is a sorry's.
    pub file: Option<PathBuf>,
    /// The sorry's line in `file`, from 1.
    pub line: Option<u32>,
    /// The sorry's column in `file`, in characters from 0.
    pub column: Option<u32>,
    /// A theorem of `file` with exactly one sorry.
    pub theorem: Option<String>,
    /// The tactics, each tried on the state (not one after another).
    pub tactics: Vec<String>,
    /// At most this many seconds per tactic (`--tactic-timeout`).
    pub tactic_timeout_s: Option<f64>,
}

/// `prover_goal`'s arguments: a proof state, as for `prover_try`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalArgs {
    /// A theorem ending in `:= by`: its goal.
    pub statement: Option<String>,
    /// Imports and options before the statement; `import Mathlib` when absent.
    pub header: Option<String>,
    /// A `.lean` file: a sorry's goal.
    pub file: Option<PathBuf>,
    /// The sorry's line in `file`, from 1.
    pub line: Option<u32>,
    /// The sorry's column in `file`, in characters from 0.
    pub column: Option<u32>,
    /// A theorem of `file` with exactly one sorry.
    pub theorem: Option<String>,
}

/// The most tactics one `prover_try` call takes.
const MAX_TACTICS: usize = 64;

/// `prover_job`'s and `prover_cancel`'s argument.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobArgs {
    /// The job's number, from a tool's answer.
    pub id: u64,
}

/// A tool's answer: its JSON (`structuredContent`) and whether it is an error (`isError`).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The JSON.
    pub value: Value,
    /// An infrastructure failure, a deadline, or a request that cannot be served.
    pub is_error: bool,
}

impl Answer {
    fn ok(value: Value) -> Answer {
        Answer {
            value,
            is_error: false,
        }
    }

    /// An error answer whose `error` says why.
    pub fn error(why: impl std::fmt::Display) -> Answer {
        Answer {
            value: json!({"status": "error", "error": why.to_string()}),
            is_error: true,
        }
    }
}

/// What every tool call shares: the session, its settings, the job table, the Lean identity.
pub struct Tools {
    session: Session,
    file: SettingsFile,
    overlay: Overlay,
    planner: PlannerOverlay,
    jobs: Jobs,
    lean: Value,
}

/// A job's progress (its number, its expansions, its best score), for whoever called: the MCP
/// layer turns it into notifications.
pub type ProgressSink = Arc<dyn Fn(u64, u32, Option<f64>) + Send + Sync>;

impl Tools {
    /// Tools over an open session, on the settings it was opened with.
    pub fn new(
        session: Session,
        file: SettingsFile,
        overlay: Overlay,
        planner: PlannerOverlay,
        lean: String,
    ) -> Tools {
        Tools {
            session,
            file,
            overlay,
            planner,
            jobs: Jobs::default(),
            lean: lean_identity(&lean),
        }
    }

    /// The session (to shut it down).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The prover for one call: the session's, with this call's budget and policy laid over
    /// the server's settings as `prover.toml` keys (the editor's rule: a key set here wins).
    fn prover_for(&self, budget: &Budget, policy: Option<&str>) -> Result<Prover, String> {
        let mut search = serde_json::Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                search.insert(key.to_owned(), value);
            }
        };
        put("max_expansions", budget.max_expansions.map(Value::from));
        put("time_limit", budget.time_limit_s.map(Value::from));
        put("tactic_timeout", budget.tactic_timeout_s.map(Value::from));
        put("policy", policy.map(Value::from));
        let keys = EditorSettings::from_json(&json!({ "search": search }))
            .map_err(|e| format!("budget: {e}"))?;
        let (overlay, file) = keys.over(&self.overlay, &self.file);
        let config = prover::settings::prove_config(&overlay.search, &file)
            .map_err(|e| format!("budget: {e}"))?;
        match policy {
            None => Ok(self.session.prover().with_config(config)),
            Some(_) => {
                let spec = prover::settings::policy_spec(&overlay.search, &file)
                    .map_err(|e| format!("policy: {e}"))?;
                self.session
                    .prover_with(spec, config)
                    .map_err(|e| format!("policy: {e}"))
            }
        }
    }

    /// `prover_prove`.
    pub async fn prove(
        self: &Arc<Self>,
        args: ProveArgs,
        progress: ProgressSink,
        cancelled: impl Future<Output = ()> + Send + 'static,
    ) -> Answer {
        let (goal, site) = match prove_goal(&args) {
            Ok(goal) => goal,
            Err(why) => return Answer::error(why),
        };
        let prover = match self.prover_for(&args.budget, args.policy.as_deref()) {
            Ok(prover) => prover,
            Err(why) => return Answer::error(why),
        };
        let run = self.start_prove(prover, goal, site, progress);
        if args.wait == Some(false) {
            let id = run.id;
            let tools = self.clone();
            tokio::spawn(async move { tools.finish(run, std::future::pending()).await });
            return Answer::ok(json!({"job": id, "state": "running"}));
        }
        self.finish(run, cancelled).await
    }

    /// Submits one proof job, recorded in the job table.
    fn start_prove(
        &self,
        prover: Prover,
        goal: Goal,
        site: Site,
        progress: ProgressSink,
    ) -> Running {
        let deadline = call_deadline(prover.config());
        let best = Arc::new(Mutex::new(BestGoals::default()));
        let trace = Lend::new(TraceHook::default());
        let observer = ProveObserver {
            jobs: self.jobs.clone(),
            id: None,
            progress,
            best: best.clone(),
            trace: trace.clone(),
        };
        let name = goal.name().to_owned();
        let handle = prover.submit(Job::Prove(goal.clone()), observer);
        let id = handle.id().0;
        self.jobs
            .started(id, "prover_prove", &name, handle.cancel_token());
        Running {
            id,
            cancel: handle.cancel_token(),
            end: Box::pin(handle.wait()),
            deadline,
            goal,
            site,
            best,
            trace,
            prover,
        }
    }

    /// Waits for a proof job (or its deadline, or the caller's cancellation), renders its
    /// answer and records it in the job table.
    async fn finish(
        &self,
        run: Running,
        cancelled: impl Future<Output = ()> + Send + 'static,
    ) -> Answer {
        let Running {
            id,
            cancel,
            end,
            deadline,
            goal,
            site,
            best,
            trace,
            prover,
        } = run;
        let mut end = end;
        let answer = tokio::select! {
            end = &mut end => self.render_prove(id, end, (&goal, &site), (&best, &trace), &prover).await,
            () = tokio::time::sleep(deadline) => {
                cancel.cancel();
                deadline_answer(id, deadline)
            }
            () = cancelled => {
                // The search stops at its next step; its answer (`cancelled`, with what it
                // spent) goes to the job table, for `prover_job`.
                cancel.cancel();
                match tokio::time::timeout(DEADLINE_GRACE, &mut end).await {
                    Ok(end) => self.render_prove(id, end, (&goal, &site), (&best, &trace), &prover).await,
                    Err(_) => deadline_answer(id, DEADLINE_GRACE),
                }
            }
        };
        self.jobs.ended(id, answer.value.clone(), answer.is_error);
        answer
    }

    async fn render_prove(
        &self,
        id: u64,
        end: JobEnd,
        (goal, site): (&Goal, &Site),
        (best, trace): (&Mutex<BestGoals>, &Lend<TraceHook>),
        prover: &Prover,
    ) -> Answer {
        let cancelled = end.is_cancelled();
        let Some(result) = end.into_prove_result() else {
            return Answer {
                value: json!({"job": id, "status": "failed", "stop_reason": "cancelled",
                              "stop_detail": "cancelled before it started"}),
                is_error: false,
            };
        };
        // The search ended: its edges are the job's trace (the hook comes back unless it
        // panicked, and then the result says `error`).
        if let Some(hook) = trace.take() {
            self.jobs.traced(id, hook.into_record(&result).edges);
        }
        // A theorem's proof is checked again by `prover check`'s rules, for the layers and
        // axioms it rests on; a sorry's was rechecked in place, and says what it rests on.
        let checked = match (goal, &result.status, &result.proof) {
            (Goal::Theorem(theorem), ProveStatus::Proved, Some(proof)) => {
                let task = ProofTask {
                    line: 1,
                    name: theorem.name.clone(),
                    header: theorem.header.clone(),
                    formal_statement: theorem.formal_statement.clone(),
                    proof: proof.clone(),
                    header_origin: ::datasets::HeaderOrigin::Row,
                };
                match prover
                    .submit(Job::Check(task), |_: &JobEvent| {})
                    .wait()
                    .await
                {
                    JobEnd::Finished(JobResult::Check(check)) => Some(check),
                    _ => None,
                }
            }
            _ => None,
        };
        let best = best.lock().unwrap_or_else(PoisonError::into_inner).top();
        let mut value = to_proto::prove_answer(&result, goal, checked.as_ref(), &best);
        value["job"] = json!(id);
        value["lean"] = self.lean.clone();
        site.describe(&mut value);
        if cancelled {
            value["cancelled"] = json!(true);
        }
        // A proof whose recheck by `prover check`'s rules failed is not reported as proved.
        let is_error = result.status == ProveStatus::Error;
        if let Some(check) = &checked
            && check.status != CheckStatus::Valid
        {
            value["status"] = json!(if check.status == CheckStatus::Error {
                "error"
            } else {
                "failed"
            });
            value["stop_detail"] = json!(format!(
                "the proof found did not pass `prover check`: {}",
                check.reasons.join("; ")
            ));
            return Answer {
                value,
                is_error: check.status == CheckStatus::Error,
            };
        }
        Answer { value, is_error }
    }

    /// `prover_plan`: the planner on the shared session (`pipeline::plan::prove`), its answer
    /// the result with the skeletons it tried and the holes each closed.
    pub async fn plan(
        &self,
        args: PlanArgs,
        cancelled: impl Future<Output = ()> + Send + 'static,
    ) -> Answer {
        let state = ProveArgs {
            statement: Some(args.statement.clone()),
            header: args.header.clone(),
            ..ProveArgs::default()
        };
        let theorem = match prove_goal(&state) {
            Ok((Goal::Theorem(theorem), _)) => theorem,
            Ok(_) => return Answer::error("prover_plan proves a statement"),
            Err(why) => return Answer::error(why),
        };
        let prover = match self.prover_for(&args.budget, args.policy.as_deref()) {
            Ok(prover) => prover,
            Err(why) => return Answer::error(why),
        };
        // The tool plans whatever `--planner` says; a call's settings win over the server's.
        let mut overlay = self.planner.clone();
        overlay.planner = Some(PlannerKind::Openai);
        overlay.planner_samples = args.samples.or(overlay.planner_samples);
        overlay.replans = args.replans.or(overlay.replans);
        overlay.planner_direct_share = args.direct_share.or(overlay.planner_direct_share);
        let settings = match prover::settings::planner_settings(&overlay, &self.file) {
            Ok(Some(settings)) => settings,
            Ok(None) => return Answer::error("planner: the planner is off"),
            Err(e) => return Answer::error(format!("planner: {e}")),
        };
        let planner = match OpenAiPlanner::new(&settings) {
            Ok(planner) => planner,
            Err(e) => return Answer::error(format!("planner: {e}")),
        };
        let deadline = plan_deadline(
            prover.config(),
            &settings.plan,
            settings.llm.request_timeout,
        );
        let (stopper, stop) = prover::pipeline::Stop::channel();
        let config = settings.plan;
        let planning =
            prover::pipeline::plan::prove(&prover, &planner, &config, theorem.clone(), &stop);
        tokio::pin!(planning);
        let mut was_cancelled = false;
        let planned = tokio::select! {
            planned = &mut planning => Ok(planned),
            () = tokio::time::sleep(deadline) => Err(deadline),
            () = cancelled => {
                // Nothing more starts; the searches running end within their budgets.
                was_cancelled = true;
                stopper.stop();
                match tokio::time::timeout(DEADLINE_GRACE, &mut planning).await {
                    Ok(planned) => Ok(planned),
                    Err(_) => Err(DEADLINE_GRACE),
                }
            }
        };
        stopper.stop();
        let planned = match planned {
            Ok(planned) => planned,
            Err(deadline) => return deadline_answer_without_job(deadline),
        };
        let checked = match (&planned.result.status, &planned.result.proof) {
            (ProveStatus::Proved, Some(proof)) => self.recheck(&prover, &theorem, proof).await,
            _ => None,
        };
        let goal = Goal::Theorem(theorem);
        let mut value = to_proto::plan_answer(&planned, &goal, checked.as_ref());
        value["lean"] = self.lean.clone();
        if was_cancelled {
            value["cancelled"] = json!(true);
        }
        Answer {
            value,
            is_error: planned.result.status == ProveStatus::Error,
        }
    }

    /// A theorem's proof checked again by `prover check`'s rules, for its layers and axioms.
    async fn recheck(
        &self,
        prover: &Prover,
        theorem: &Theorem,
        proof: &str,
    ) -> Option<prover::CheckResult> {
        let task = ProofTask {
            line: 1,
            name: theorem.name.clone(),
            header: theorem.header.clone(),
            formal_statement: theorem.formal_statement.clone(),
            proof: proof.to_owned(),
            header_origin: ::datasets::HeaderOrigin::Row,
        };
        match prover
            .submit(Job::Check(task), |_: &JobEvent| {})
            .wait()
            .await
        {
            JobEnd::Finished(JobResult::Check(check)) => Some(check),
            _ => None,
        }
    }

    /// `prover_fill_sorries`.
    pub async fn fill_sorries(
        self: &Arc<Self>,
        args: FillArgs,
        progress: ProgressSink,
        cancelled: impl Future<Output = ()> + Send + 'static,
    ) -> Answer {
        let source = match read_source(&args.file) {
            Ok(source) => source,
            Err(why) => return Answer::error(why),
        };
        let hash = ::datasets::hash::sha1_hex(source.as_bytes());
        let mut sites = Vec::new();
        for sorry in text::sorry_tokens(&source) {
            let Some(declaration) = text::declaration_of(&source, sorry) else {
                continue;
            };
            let goal = prover::text::sorry_goal(&source, &declaration);
            if args.theorem.as_ref().is_none_or(|t| *t == goal.name) {
                sites.push((declaration, goal));
            }
        }
        if sites.is_empty() {
            return Answer::error(match &args.theorem {
                Some(theorem) => format!(
                    "{}: no sorry inside a theorem named {theorem}",
                    args.file.display()
                ),
                None => format!(
                    "{}: no sorry inside a top-level theorem, lemma or example",
                    args.file.display()
                ),
            });
        }
        let prover = match self.prover_for(&args.budget, args.policy.as_deref()) {
            Ok(prover) => prover,
            Err(why) => return Answer::error(why),
        };
        // Every sorry is its own job, all submitted at once: the pool runs as many as it has
        // REPLs, and the rest wait their turn.
        let runs: Vec<Running> = sites
            .iter()
            .map(|(declaration, goal)| {
                let site = Site::in_file(&args.file, &hash, &source, declaration);
                self.start_prove(
                    prover.clone(),
                    Goal::Sorry(goal.clone()),
                    site,
                    progress.clone(),
                )
            })
            .collect();
        let cancel_all: Vec<CancelToken> = runs.iter().map(|r| r.cancel.clone()).collect();
        let all = futures_join(runs.into_iter().map(|run| {
            let tools = self.clone();
            async move { tools.finish(run, std::future::pending()).await }
        }));
        let answers = tokio::select! {
            answers = all => answers,
            () = cancelled => {
                cancel_all.iter().for_each(CancelToken::cancel);
                return Answer::error("the client cancelled the call; its jobs were cancelled");
            }
        };
        let mut edits = Vec::new();
        let mut results = Vec::new();
        for ((declaration, goal), answer) in sites.iter().zip(&answers) {
            if answer.value["status"] == "proved"
                && let Some(edit) = answer.value.get("edit")
            {
                edits.push((declaration.clone(), goal.clone(), edit.clone()));
            }
            results.push(answer.value.clone());
        }
        let proved = edits.len();
        let mut value = json!({
            "file": args.file,
            "sha1": hash,
            "sorries": results.len(),
            "proved": proved,
            "results": results,
            "edits": edits.iter().map(|(_, _, e)| e.clone()).collect::<Vec<_>>(),
            "lean": self.lean,
        });
        if args.write {
            value["written"] = json!(write_edits(&args.file, &source, &hash, &answers, &sites));
        }
        let any_error = answers.iter().any(|a| a.is_error);
        Answer {
            value,
            is_error: any_error && proved == 0,
        }
    }

    /// `prover_check`.
    pub async fn check(&self, args: CheckArgs) -> Answer {
        let (mut task, site) = match check_task(&args) {
            Ok(task) => task,
            Err(why) => return Answer::error(why),
        };
        if let Some(name) = &args.name {
            task.name = name.clone();
        }
        if let Some(path) = &args.reference {
            // `prover check`'s reference rule: a statement that is not the reference's is
            // invalid without reaching Lean; one that is runs on the reference's header.
            let reference = match prover::pipeline::check::Reference::read(path) {
                Ok(reference) => reference,
                Err(why) => return Answer::error(why),
            };
            if let Err(reason) = reference.apply(&mut task) {
                let check = prover::CheckResult::unchecked(&task, CheckStatus::Invalid, reason);
                let mut value = to_proto::check_answer(&check);
                value["lean"] = self.lean.clone();
                site.describe(&mut value);
                return Answer::ok(value);
            }
        }
        // The statement layer says whether a reference vouched for the statement.
        let mut config = self.session.prove_config().clone();
        config.check.reference_checked = args.reference.is_some();
        let handle = self
            .session
            .prover()
            .with_config(config)
            .submit(Job::Check(task.clone()), |_: &JobEvent| {});
        let id = handle.id().0;
        self.jobs
            .started(id, "prover_check", &task.name, handle.cancel_token());
        let deadline = check_deadline(self.session.prove_config());
        let answer = tokio::select! {
            end = handle.wait() => match end {
                JobEnd::Finished(JobResult::Check(check)) => {
                    let mut value = to_proto::check_answer(&check);
                    value["job"] = json!(id);
                    value["lean"] = self.lean.clone();
                    site.describe(&mut value);
                    Answer { value, is_error: check.status == CheckStatus::Error }
                }
                other => Answer::error(format!("the check ended without a verdict: {other:?}")),
            },
            () = tokio::time::sleep(deadline) => deadline_answer(id, deadline),
        };
        self.jobs.ended(id, answer.value.clone(), answer.is_error);
        answer
    }

    /// `prover_try`.
    pub async fn try_tactics(&self, args: TryArgs) -> Answer {
        if args.tactics.is_empty() || args.tactics.len() > MAX_TACTICS {
            return Answer::error(format!(
                "give from 1 to {MAX_TACTICS} tactics, got {}",
                args.tactics.len()
            ));
        }
        let state = ProveArgs {
            statement: args.statement,
            header: args.header,
            file: args.file,
            line: args.line,
            column: args.column,
            theorem: args.theorem,
            ..ProveArgs::default()
        };
        let budget = Budget {
            tactic_timeout_s: args.tactic_timeout_s,
            ..Budget::default()
        };
        self.probe(&state, &budget, args.tactics).await
    }

    /// `prover_goal`.
    pub async fn goal(&self, args: GoalArgs) -> Answer {
        let state = ProveArgs {
            statement: args.statement,
            header: args.header,
            file: args.file,
            line: args.line,
            column: args.column,
            theorem: args.theorem,
            ..ProveArgs::default()
        };
        self.probe(&state, &Budget::default(), Vec::new()).await
    }

    /// The goals of a state and what each tactic does there, within a deadline.
    async fn probe(&self, state: &ProveArgs, budget: &Budget, tactics: Vec<String>) -> Answer {
        let (goal, site) = match prove_goal(state) {
            Ok(goal) => goal,
            Err(why) => return Answer::error(why),
        };
        let prover = match self.prover_for(budget, None) {
            Ok(prover) => prover,
            Err(why) => return Answer::error(why),
        };
        let config = prover.config();
        let deadline = config.statement_deadline
            + config.search.tactic_deadline * (tactics.len() as u32 + 1)
            + DEADLINE_GRACE;
        let probed = tokio::time::timeout(deadline, prover.probe(goal, tactics)).await;
        let mut answer = match probed {
            Err(_) => return deadline_answer_without_job(deadline),
            Ok(Err(result)) => {
                let mut answer = Answer::error(
                    result
                        .stop_detail
                        .clone()
                        .unwrap_or_else(|| "the state could not be reached".into()),
                );
                answer.value["stop_reason"] =
                    serde_json::to_value(&result.stop_reason).unwrap_or(Value::Null);
                answer.value["lean"] = self.lean.clone();
                return answer;
            }
            Ok(Ok(probe)) => {
                let value = to_proto::probe_answer(&probe);
                let is_error = probe
                    .tried
                    .iter()
                    .any(|(_, tried)| matches!(tried, prover::Tried::Failed(_)));
                Answer { value, is_error }
            }
        };
        answer.value["lean"] = self.lean.clone();
        site.describe(&mut answer.value);
        answer
    }

    /// `prover_job`.
    pub fn job(&self, args: &JobArgs) -> Answer {
        match self.jobs.status(args.id) {
            Some((value, is_error)) => Answer { value, is_error },
            None => Answer::error(format!("no job {} on this server", args.id)),
        }
    }

    /// A job's state and answer, and whether its answer is an error; `None` for a job the
    /// server does not know.
    pub fn job_status(&self, id: u64) -> Option<(Value, bool)> {
        self.jobs.status(id)
    }

    /// Asks every running job to stop (the client left); returns how many were asked.
    pub fn cancel_all(&self) -> usize {
        self.jobs.cancel_all()
    }

    /// A job's state and answer, for its resource; `None` for a job the server does not know.
    pub fn job_resource(&self, id: u64) -> Option<Value> {
        self.jobs.status(id).map(|(value, _)| value)
    }

    /// A finished search's trace: every edge it tried, in the `traces` record format.
    pub fn job_trace(&self, id: u64) -> Result<Arc<[::datasets::explore::TraceRow]>, String> {
        self.jobs.trace(id).map_err(|why| match why {
            NoTrace::Unknown => format!("no job {id} on this server"),
            NoTrace::Running => format!("job {id} is still running; its trace comes when it ends"),
            NoTrace::None => format!(
                "job {id} has no trace: it ran no search, its search did not end, or it is older \
                 than the last {TRACES_KEPT} searches"
            ),
        })
    }

    /// `prover_cancel`.
    pub fn cancel(&self, args: &JobArgs) -> Answer {
        match self.jobs.cancel(args.id) {
            Some(value) => Answer::ok(value),
            None => Answer::error(format!("no job {} on this server", args.id)),
        }
    }
}

/// The Lean identity as JSON, from the session's `key=value` lines (a value may run over
/// several lines: the manifest's text): the REPL command, the toolchain, and for the manifest
/// its SHA-1 and the Mathlib revision it pins (`mathlib`), not its whole text.
fn lean_identity(lean: &str) -> Value {
    const KEYS: [&str; 3] = ["repl", "lean-toolchain", "lake-manifest.json"];
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lean.lines() {
        match line.split_once('=') {
            Some((key, value)) if KEYS.contains(&key) => {
                fields.push((key.to_owned(), value.to_owned()));
            }
            _ => {
                if let Some((_, value)) = fields.last_mut() {
                    value.push('\n');
                    value.push_str(line);
                }
            }
        }
    }
    let mut identity = serde_json::Map::new();
    for (key, value) in fields {
        if key == "lake-manifest.json" {
            identity.insert(
                "lake-manifest.json".into(),
                json!(format!(
                    "sha1:{}",
                    ::datasets::hash::sha1_hex(value.as_bytes())
                )),
            );
            let manifest: Value = serde_json::from_str(&value).unwrap_or(Value::Null);
            let mathlib = manifest["packages"].as_array().and_then(|packages| {
                packages
                    .iter()
                    .find(|p| {
                        p["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case("mathlib"))
                    })
                    .and_then(|p| p["rev"].as_str())
            });
            if let Some(rev) = mathlib {
                identity.insert("mathlib".into(), json!(rev));
            }
        } else {
            identity.insert(key, Value::String(value));
        }
    }
    Value::Object(identity)
}

/// Awaits every future, in order (the jobs themselves run in parallel on the session).
async fn futures_join<F: Future<Output = Answer> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<Answer> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(
            handle
                .await
                .unwrap_or_else(|e| Answer::error(format!("a job's task failed: {e}"))),
        );
    }
    answers
}

/// A proof job in flight.
struct Running {
    id: u64,
    cancel: CancelToken,
    end: std::pin::Pin<Box<dyn Future<Output = JobEnd> + Send>>,
    deadline: Duration,
    goal: Goal,
    site: Site,
    best: Arc<Mutex<BestGoals>>,
    trace: Lend<TraceHook>,
    prover: Prover,
}

/// The longest a proof call may take: the statement's elaboration, the search's time limit
/// and the recheck, plus [`DEADLINE_GRACE`].
fn call_deadline(config: &prover::ProveConfig) -> Duration {
    let search = config.search.max_time.unwrap_or(Duration::from_secs(600));
    config.statement_deadline + search + config.check.timeout + DEADLINE_GRACE
}

/// The longest a planned proof may take: its whole search budget (the direct share, the holes,
/// the fallback), every planner request within its timeout, and a final check per skeleton
/// that closed, plus [`DEADLINE_GRACE`].
fn plan_deadline(config: &prover::ProveConfig, plan: &PlanConfig, request: Duration) -> Duration {
    let requests = plan.replans + 1;
    call_deadline(config)
        + request * requests
        + config.check.timeout * (plan.samples as u32 * requests)
}

/// The longest a check may take: its attempts, each within the check's timeout.
fn check_deadline(config: &prover::ProveConfig) -> Duration {
    config.check.timeout * (config.check.retries + 2) + DEADLINE_GRACE
}

fn deadline_answer_without_job(deadline: Duration) -> Answer {
    let mut answer = Answer::error(format!(
        "the call passed its deadline of {:.0} s",
        deadline.as_secs_f64()
    ));
    answer.value["stop_reason"] = json!("deadline");
    answer
}

fn deadline_answer(id: u64, deadline: Duration) -> Answer {
    let mut answer = Answer::error(format!(
        "the call passed its deadline of {:.0} s; the job was cancelled",
        deadline.as_secs_f64()
    ));
    answer.value["job"] = json!(id);
    answer.value["stop_reason"] = json!("deadline");
    answer
}

/// Where a proof goes: a statement's theorem, or a sorry of a file.
#[derive(Debug, Clone)]
pub enum Site {
    /// A statement given in the call.
    Statement,
    /// A sorry of a file, read with this hash.
    Sorry {
        file: PathBuf,
        sha1: String,
        /// The declaration's start in the file, in bytes.
        start: usize,
        /// The file's text when it was read.
        source: Arc<str>,
    },
    /// A theorem of a file, checked.
    File { file: PathBuf, sha1: String },
}

impl Site {
    fn in_file(file: &Path, sha1: &str, source: &str, declaration: &Declaration) -> Site {
        Site::Sorry {
            file: file.to_owned(),
            sha1: sha1.to_owned(),
            start: declaration.start,
            source: Arc::from(source),
        }
    }

    /// Adds the file, its hash and the edit to an answer.
    fn describe(&self, value: &mut Value) {
        match self {
            Site::Statement => {}
            Site::File { file, sha1 } => {
                value["file"] = json!(file);
                value["sha1"] = json!(sha1);
            }
            Site::Sorry {
                file,
                sha1,
                start,
                source,
            } => {
                value["file"] = json!(file);
                value["sha1"] = json!(sha1);
                if let Some(edit) = value.get("edit_in_declaration").cloned() {
                    value["edit"] = to_proto::file_edit(source, *start, &edit);
                }
                if let Some(map) = value.as_object_mut() {
                    map.remove("edit_in_declaration");
                }
            }
        }
    }
}

/// The goal of a `prover_prove` call.
fn prove_goal(args: &ProveArgs) -> Result<(Goal, Site), String> {
    match (&args.statement, &args.file) {
        (Some(statement), None) => {
            if args.line.is_some() || args.column.is_some() || args.theorem.is_some() {
                return Err(
                    "give `statement` alone, or `file` with `line` and `column` or `theorem`"
                        .into(),
                );
            }
            let formal_statement =
                ::datasets::lean::statement_ending_in_by(statement).ok_or_else(|| {
                    format!("statement must end in `:= by` (or `:= by sorry`): {statement:?}")
                })?;
            let name = ::datasets::lean::declaration_name(&formal_statement)
                .unwrap_or_else(|| "example".into());
            let header = args.header.clone().unwrap_or_else(|| DEFAULT_HEADER.into());
            Ok((
                Goal::Theorem(Theorem {
                    name,
                    header,
                    formal_statement,
                }),
                Site::Statement,
            ))
        }
        (None, Some(file)) => {
            if args.header.is_some() {
                return Err("`header` goes with `statement`; a file's header is the text before its declaration".into());
            }
            let source = read_source(file)?;
            let hash = ::datasets::hash::sha1_hex(source.as_bytes());
            let (declaration, goal) = match (args.line, args.column, &args.theorem) {
                (Some(line), Some(column), None) => sorry_at(file, &source, line, column)?,
                (None, None, Some(theorem)) => only_sorry_of(file, &source, theorem)?,
                _ => {
                    return Err(
                        "with `file`, give `line` and `column` of a sorry, or `theorem`".into(),
                    );
                }
            };
            let site = Site::in_file(file, &hash, &source, &declaration);
            Ok((Goal::Sorry(goal), site))
        }
        (Some(_), Some(_)) => Err("give `statement` or `file`, not both".into()),
        (None, None) => {
            Err("give `statement`, or `file` with `line` and `column` or `theorem`".into())
        }
    }
}

fn read_source(file: &Path) -> Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| format!("cannot read file {}: {e}", file.display()))
}

/// The sorry at `line` (from 1) and `column` (characters from 0) of `source`.
fn sorry_at(
    file: &Path,
    source: &str,
    line: u32,
    column: u32,
) -> Result<(Declaration, SorryGoal), String> {
    let at = format!("{}:{line}:{column}", file.display());
    if line == 0 {
        return Err(format!("{at}: lines count from 1"));
    }
    let line_start: usize = source
        .split_inclusive('\n')
        .take(line as usize - 1)
        .map(str::len)
        .sum();
    let line_text = source[line_start..].lines().next().unwrap_or_default();
    let offset = line_start
        + line_text
            .char_indices()
            .nth(column as usize)
            .map_or(line_text.len(), |(i, _)| i);
    let sorry = text::sorry_tokens(source)
        .into_iter()
        .find(|s| s.start <= offset && offset <= s.end)
        .ok_or_else(|| format!("{at}: no `sorry` there"))?;
    let declaration = text::declaration_of(source, sorry).ok_or_else(|| {
        format!("{at}: this sorry is not inside a top-level theorem, lemma or example")
    })?;
    let goal = prover::text::sorry_goal(source, &declaration);
    Ok((declaration, goal))
}

/// The one sorry of the theorem named `theorem` in `source`.
fn only_sorry_of(
    file: &Path,
    source: &str,
    theorem: &str,
) -> Result<(Declaration, SorryGoal), String> {
    let mut found: Vec<(Declaration, SorryGoal)> = text::sorry_tokens(source)
        .into_iter()
        .filter_map(|sorry| text::declaration_of(source, sorry))
        .map(|declaration| {
            let goal = prover::text::sorry_goal(source, &declaration);
            (declaration, goal)
        })
        .filter(|(_, goal)| goal.name == theorem)
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "{}: no sorry inside a theorem named {theorem}",
            file.display()
        )),
        n => Err(format!(
            "{}: {theorem} has {n} sorries; give `line` and `column` of one, or call prover_fill_sorries",
            file.display()
        )),
    }
}

/// The check task of a `prover_check` call.
fn check_task(args: &CheckArgs) -> Result<(ProofTask, Site), String> {
    match (&args.statement, &args.proof, &args.file, &args.theorem) {
        (Some(statement), Some(proof), None, None) => {
            let formal_statement = ::datasets::lean::strip_trailing_sorry(statement);
            let name = ::datasets::lean::declaration_name(&formal_statement)
                .unwrap_or_else(|| "example".into());
            Ok((
                ProofTask {
                    line: 1,
                    name,
                    header: args.header.clone().unwrap_or_else(|| DEFAULT_HEADER.into()),
                    formal_statement,
                    proof: proof.clone(),
                    header_origin: ::datasets::HeaderOrigin::Row,
                },
                Site::Statement,
            ))
        }
        (None, None, Some(file), Some(theorem)) => {
            if args.header.is_some() {
                return Err("`header` goes with `statement`; a file's header is the text before its theorem".into());
            }
            let source = read_source(file)?;
            let sha1 = ::datasets::hash::sha1_hex(source.as_bytes());
            let (header, statement, proof) =
                to_proto::split_theorem(&source, theorem).ok_or_else(|| {
                    format!(
                        "{}: no theorem or lemma named {theorem} with a `:=` proof",
                        file.display()
                    )
                })?;
            Ok((
                ProofTask {
                    line: 1,
                    name: theorem.clone(),
                    header,
                    formal_statement: statement,
                    proof,
                    header_origin: ::datasets::HeaderOrigin::Row,
                },
                Site::File {
                    file: file.clone(),
                    sha1,
                },
            ))
        }
        _ => Err("give `statement` and `proof` (and `header`), or `file` and `theorem`".into()),
    }
}

/// Writes the proved edits into `file` when its bytes are still those it was read with;
/// says what it did.
fn write_edits(
    file: &Path,
    source: &str,
    hash: &str,
    answers: &[Answer],
    sites: &[(Declaration, SorryGoal)],
) -> Value {
    let now = match std::fs::read(file) {
        Ok(now) => now,
        Err(e) => {
            return json!({"written": false, "reason": format!("cannot read the file again: {e}")});
        }
    };
    if ::datasets::hash::sha1_hex(&now) != hash {
        return json!({"written": false,
                      "reason": "the file changed since it was read; nothing was written (the edits are in the answer)"});
    }
    // Edits go in from the last to the first, so each one's offsets still hold.
    let mut placed: Vec<(std::ops::Range<usize>, String)> = sites
        .iter()
        .zip(answers)
        .filter(|(_, answer)| answer.value["status"] == "proved")
        .filter_map(|((declaration, _), answer)| {
            let proof = answer.value["script"].as_str()?;
            Some(text::proof_edit(source, declaration, proof))
        })
        .collect();
    placed.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut text = source.to_owned();
    for (range, replacement) in &placed {
        text.replace_range(range.clone(), replacement);
    }
    match ::datasets::write_atomic(file, text.as_bytes()) {
        Ok(()) => json!({"written": true, "edits": placed.len(),
                         "sha1": ::datasets::hash::sha1_hex(text.as_bytes())}),
        Err(e) => json!({"written": false, "reason": format!("cannot write the file: {e}")}),
    }
}

/// The search's most promising open states, by the priority they were expanded at.
#[derive(Debug, Default)]
struct BestGoals {
    seen: Vec<(f64, u32, String)>,
}

impl BestGoals {
    fn offer(&mut self, priority: f64, depth: u32, state: &str) {
        if self.seen.iter().any(|(_, _, s)| s == state) {
            return;
        }
        self.seen.push((priority, depth, state.to_owned()));
        // Deeper first (more of the proof done), then by the policy's priority.
        self.seen
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.total_cmp(&a.0)));
        self.seen.truncate(BEST_GOALS);
    }

    fn top(&self) -> Vec<Value> {
        self.seen
            .iter()
            .map(|(priority, depth, state)| json!({"goals": state, "depth": depth, "score": priority}))
            .collect()
    }
}

/// A proof job's observer: progress to the job table and the caller, open states to the
/// best-goals list.
struct ProveObserver {
    jobs: Jobs,
    id: Option<u64>,
    progress: ProgressSink,
    best: Arc<Mutex<BestGoals>>,
    /// Every edge of the search, for the job's trace and tree resources.
    trace: Lend<TraceHook>,
}

impl Observer for ProveObserver {
    fn on_event(&mut self, event: &JobEvent) {
        match event {
            JobEvent::Started { id, .. } => self.id = Some(id.0),
            JobEvent::Progress(progress) => {
                if let Some(id) = self.id {
                    self.jobs.progress(id, progress.expansions, progress.best);
                    (self.progress)(id, progress.expansions, progress.best);
                }
            }
            JobEvent::Finished(_) | JobEvent::Cancelled => {}
        }
    }

    fn on_search_event(&mut self, event: &SearchEvent<'_>) {
        self.trace.on_search_event(event);
        if let SearchEvent::Selected {
            state,
            depth,
            priority,
            ..
        } = event
        {
            self.best
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .offer(*priority, *depth, state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lean_identity_names_the_mathlib_revision_and_hashes_the_whole_manifest() {
        let manifest = "{\"version\": 7,\n \"packages\":\n [{\"name\": \"mathlib\",\n   \"rev\": \"abc123\"},\n  {\"name\": \"batteries\", \"rev\": \"def\"}]}";
        let lean = format!(
            "repl=lake env repl\nlean-toolchain=leanprover/lean4:v4.24.0\nlake-manifest.json={manifest}"
        );
        let identity = lean_identity(&lean);
        assert_eq!(identity["repl"], "lake env repl");
        assert_eq!(identity["lean-toolchain"], "leanprover/lean4:v4.24.0");
        assert_eq!(identity["mathlib"], "abc123");
        assert_eq!(
            identity["lake-manifest.json"],
            format!("sha1:{}", ::datasets::hash::sha1_hex(manifest.as_bytes()))
        );
        // A REPL command with `=` in it stays whole; no manifest, no revision.
        let identity = lean_identity("repl=env A=1 repl");
        assert_eq!(identity, json!({"repl": "env A=1 repl"}));
    }
}
