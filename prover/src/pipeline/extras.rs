//! What a searching run does around each search besides proving: learning online (`--learn-online`) and writing the search tree (`--trace DIR`), through a pair of optional hooks.

use std::path::{Path, PathBuf};

use ::datasets::training::{RefusalKind, Stage};
use ::datasets::{ProveResult, ProveStatus, Theorem};

use super::batch::prove_with;
use super::collect::TrainingHook;
use super::explore::TraceHook;
use super::{Progress, RunError, RunEvent};
use crate::job::{Goal, Job, NoObserver};
use crate::session::Prover;

/// The extras a run asked for.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Teach the learned model each proof found.
    pub learn_online: bool,
    /// Write each theorem's edge records to `DIR/<sanitized name>.trace.jsonl`.
    pub trace: Option<PathBuf>,
}

impl Extras {
    /// The extras of a session's flags and `--trace`; the trace directory is created here, so
    /// a directory that cannot be made is refused before any search.
    pub fn new(learn_online: bool, trace: Option<&Path>) -> Result<Extras, RunError> {
        if let Some(dir) = trace {
            std::fs::create_dir_all(dir).map_err(|source| RunError::Io {
                what: format!("cannot create --trace {}", dir.display()),
                source,
            })?;
        }
        Ok(Extras {
            learn_online,
            trace: trace.map(Path::to_owned),
        })
    }
}

/// A search's result, and its trace if it could not be written (the result stands).
#[derive(Debug)]
pub struct Searched {
    /// The result.
    pub result: ProveResult,
    /// The trace's name and why it could not be written under `--trace`.
    pub unwritten_trace: Option<(String, std::io::Error)>,
}

impl Searched {
    /// The result, after telling `progress` of a trace that could not be written under `dir`.
    pub fn report(self, extras: &Extras, progress: &mut dyn Progress) -> ProveResult {
        if let (Some((name, error)), Some(dir)) = (&self.unwritten_trace, &extras.trace) {
            progress.event(RunEvent::TraceUnwritten { name, dir, error });
        }
        self.result
    }
}

/// Proves `theorem` with the extras asked for: teaches the learned model what the search found
/// (the proof's steps and the tactics Lean refused along it) and writes the search's trace.
///
/// `attempt` numbers the row (and names its trace `<name>.<attempt>`) when a theorem is
/// searched several times.
pub async fn prove(
    prover: &Prover,
    theorem: Theorem,
    extras: &Extras,
    attempt: Option<u32>,
) -> Searched {
    let mut searched = prove_once(prover, theorem, extras, attempt).await;
    searched.result.attempt = attempt;
    searched
}

async fn prove_once(
    prover: &Prover,
    theorem: Theorem,
    extras: &Extras,
    attempt: Option<u32>,
) -> Searched {
    let plain = |result| Searched {
        result,
        unwritten_trace: None,
    };
    if !extras.learn_online && extras.trace.is_none() {
        let name = theorem.name.clone();
        let job = Job::Prove(Goal::Theorem(theorem));
        return plain(
            prover
                .submit(job, NoObserver)
                .wait()
                .await
                .prove_result(&name),
        );
    }
    let hooks = (
        extras.learn_online.then(TrainingHook::default),
        extras.trace.is_some().then(TraceHook::default),
    );
    let (result, hooks) = prove_with(prover, Goal::Theorem(theorem), hooks).await;
    let Some((training, trace)) = hooks else {
        return plain(result);
    };
    if let Some(hook) = training
        && result.status == ProveStatus::Proved
    {
        learn(prover, hook, &result);
    }
    let mut unwritten_trace = None;
    if let (Some(dir), Some(hook)) = (&extras.trace, trace) {
        let name = match attempt {
            Some(attempt) => format!("{}.{attempt}", result.name),
            None => result.name.clone(),
        };
        if let Err(error) =
            ::datasets::explore::write_trace(dir, &name, &hook.into_record(&result).edges)
        {
            unwritten_trace = Some((name, error));
        }
    }
    Searched {
        result,
        unwritten_trace,
    }
}

/// Teaches the learned model a proof's steps and the tactics Lean refused along its path.
fn learn(prover: &Prover, hook: TrainingHook, result: &ProveResult) {
    let record = hook.into_record(Stage::Search, result);
    let steps: Vec<(String, String)> = record
        .steps
        .into_iter()
        .map(|s| (s.state, s.tactic))
        .collect();
    let refusals: Vec<(String, String)> = record
        .refusals
        .into_iter()
        .filter(|r| r.kind == RefusalKind::LeanError)
        .map(|r| (r.state, r.tactic))
        .collect();
    prover.policies().learn(&steps, &refusals);
}

/// Writes the learned model as it stands (`--save-model`), telling `progress`.
pub fn save_model(
    session: &crate::session::Session,
    path: &Path,
    progress: &mut dyn Progress,
) -> Result<(), RunError> {
    if session.policies().spec().kind != crate::policy::PolicyKind::Learned {
        return Err(RunError::Refused(
            "--save-model needs --policy learned".to_owned(),
        ));
    }
    let model = session.policies().learned_model();
    model.save(path)?;
    progress.event(RunEvent::ModelSaved {
        states: model.len(),
        path,
    });
    Ok(())
}

/// Proves one `sorry` of a declaration in place (`prove --file --at`), writing its trace when
/// asked (learning online proves theorems only).
pub async fn prove_sorry(
    prover: &Prover,
    goal: crate::text::SorryGoal,
    extras: &Extras,
) -> Searched {
    let trace = extras.trace.is_some().then(TraceHook::default);
    let (result, hook) = prove_with(prover, Goal::Sorry(goal), trace).await;
    let mut unwritten_trace = None;
    if let (Some(dir), Some(Some(hook))) = (&extras.trace, hook)
        && let Err(error) =
            ::datasets::explore::write_trace(dir, &result.name, &hook.into_record(&result).edges)
    {
        unwritten_trace = Some((result.name.clone(), error));
    }
    Searched {
        result,
        unwritten_trace,
    }
}
