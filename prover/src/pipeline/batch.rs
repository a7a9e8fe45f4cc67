//! The one bounded-concurrency loop: jobs run a bounded number at once, each in a task of its own, their outcomes handed back in completion order; no job starts after a stop or while the model server is down, and nothing decided after a stop is reported.
//!
//! Every batch in the workspace (`eval`, `check`, the searches and verifications of
//! `pipeline::expert` and `pipeline::explore`) goes through [`run`]; `tests/tidy.rs` refuses a
//! semaphore, `JoinSet` or buffered stream anywhere else.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc};

use super::{PipelineError, Stop};
use crate::engine::{ProveResult, Theorem};
use crate::search::SearchHook;
use crate::session::Prover;

/// How a batch ended, when no `done` call failed.
#[derive(Debug, Default)]
#[must_use]
pub struct BatchEnd {
    /// Why jobs were left unstarted because the model server stayed down past the outage
    /// limit, if they were.
    pub model_outage: Option<String>,
}

/// Runs `work` on every job, `concurrency` at a time (at least one), each on a task of its
/// own, and calls `done` on the caller's task with each outcome, in completion order.
///
/// No job starts after `stop` is set. With `model`, no job starts while that prover's model
/// server is down: a job waits for it (`Policies::wait_for_model`), up to the outage limit;
/// past it no job starts any more and the outage is returned in [`BatchEnd::model_outage`]
/// once the jobs already running are reported. Nothing decided after `stop` is set reaches
/// `done` (a job cut short by a stop is no verdict). An `Err` from `done` ends the batch with
/// it.
pub async fn run<J, R, W, Fut, D, E>(
    jobs: Vec<J>,
    concurrency: usize,
    stop: &Stop,
    model: Option<&Prover>,
    work: W,
    mut done: D,
) -> Result<BatchEnd, E>
where
    J: Send + 'static,
    R: Send + 'static,
    W: Fn(J) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    D: FnMut(R) -> Result<(), E>,
{
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let outage: Arc<Mutex<Option<String>>> = Arc::default();
    let work = Arc::new(work);
    let (sender, mut receiver) = mpsc::unbounded_channel::<R>();
    for job in jobs {
        let (permits, sender, work) = (permits.clone(), sender.clone(), work.clone());
        let (outage, stop, model) = (outage.clone(), stop.clone(), model.cloned());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            if stop.is_set() || outage.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                return;
            }
            if let Some(model) = model
                && let Err(down) = model.policies().wait_for_model().await
            {
                outage
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(down.0);
                return;
            }
            let _ = sender.send(work(job).await);
        });
    }
    drop(sender);
    loop {
        let outcome = tokio::select! {
            biased;
            () = stop.wait() => None,
            outcome = receiver.recv() => outcome,
        };
        match outcome {
            Some(outcome) if !stop.is_set() => done(outcome)?,
            _ => break,
        }
    }
    let model_outage = outage.lock().unwrap_or_else(|p| p.into_inner()).take();
    Ok(BatchEnd { model_outage })
}

/// One theorem's search, as it ended.
pub struct Decided<H> {
    /// The theorem.
    pub theorem: Theorem,
    /// The result.
    pub result: ProveResult,
    /// The hook the search filled, or `None` when the search panicked.
    pub hook: Option<H>,
}

/// Searches `theorems` through [`run`], each with the hook `make_hook` gives it, waiting for
/// the prover's model server, and calls `done` for each in completion order; the outage limit
/// reached is [`PipelineError::ModelOutage`].
pub async fn search_all<H, F, D>(
    prover: &Prover,
    theorems: Vec<Theorem>,
    concurrency: usize,
    stop: &Stop,
    make_hook: F,
    done: D,
) -> Result<(), PipelineError>
where
    H: SearchHook + Send + 'static,
    F: Fn(&Theorem) -> H,
    D: FnMut(Decided<H>) -> Result<(), PipelineError>,
{
    let jobs: Vec<(Theorem, H)> = theorems
        .into_iter()
        .map(|theorem| {
            let hook = make_hook(&theorem);
            (theorem, hook)
        })
        .collect();
    let searcher = prover.clone();
    let end = run(
        jobs,
        concurrency,
        stop,
        Some(prover),
        move |(theorem, hook): (Theorem, H)| {
            let prover = searcher.clone();
            async move {
                let (result, hook) = prover.prove_async_with(theorem.clone(), hook).await;
                Decided {
                    theorem,
                    result,
                    hook,
                }
            }
        },
        done,
    )
    .await?;
    match end.model_outage {
        Some(message) => Err(PipelineError::ModelOutage(message)),
        None => Ok(()),
    }
}
