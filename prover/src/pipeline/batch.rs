//! `search_all`: many theorems through one `Prover`, a bounded number at once, each with a hook of its own, results handed back in completion order.

use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc};

use super::{PipelineError, Stop};
use crate::engine::{ProveResult, Theorem};
use crate::search::SearchHook;
use crate::session::Prover;

/// One theorem's search, as it ended.
pub struct Decided<H> {
    /// The theorem.
    pub theorem: Theorem,
    /// The result.
    pub result: ProveResult,
    /// The hook the search filled, or `None` when the search panicked.
    pub hook: Option<H>,
}

/// Searches `theorems`, `concurrency` at a time, each with the hook `make_hook` gives it, and
/// calls `done` on the caller's task for each, in completion order.
///
/// No theorem starts after `stop` is set or while the model server is down (it waits, up to
/// the outage limit, then starts no more and returns [`PipelineError::ModelOutage`]); nothing
/// decided after `stop` is set reaches `done`. An `Err` from `done` ends the batch with it.
pub async fn search_all<H, F, D>(
    prover: &Prover,
    theorems: Vec<Theorem>,
    concurrency: usize,
    stop: &Stop,
    make_hook: F,
    mut done: D,
) -> Result<(), PipelineError>
where
    H: SearchHook + Send + 'static,
    F: Fn(&Theorem) -> H,
    D: FnMut(Decided<H>) -> Result<(), PipelineError>,
{
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let outage: Arc<Mutex<Option<String>>> = Arc::default();
    let (sender, mut receiver) = mpsc::unbounded_channel::<Decided<H>>();
    for theorem in theorems {
        let hook = make_hook(&theorem);
        let (prover, permits, sender) = (prover.clone(), permits.clone(), sender.clone());
        let (outage, stop) = (outage.clone(), stop.clone());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            if stop.is_set() || outage.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                return;
            }
            if let Err(down) = prover.policies().wait_for_model().await {
                outage
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(down.0);
                return;
            }
            let (result, hook) = prover.prove_async_with(theorem.clone(), hook).await;
            let _ = sender.send(Decided {
                theorem,
                result,
                hook,
            });
        });
    }
    drop(sender);
    loop {
        let decided = tokio::select! {
            decided = receiver.recv() => decided,
            () = stop.wait() => None,
        };
        match decided {
            Some(decided) if !stop.is_set() => done(decided)?,
            _ => break,
        }
    }
    if let Some(message) = outage.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(PipelineError::ModelOutage(message));
    }
    Ok(())
}
