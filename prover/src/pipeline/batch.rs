//! The one bounded-concurrency loop: jobs run a bounded number at once, each in a task of its own, their outcomes handed back in completion order; no job starts after a stop or while the model server is down, and nothing decided after a stop is reported.
//!
//! Every batch in the workspace (`eval`, `check`, the searches and verifications of
//! `pipeline::expert` and `pipeline::explore`) goes through [`run`]; `tests/tidy.rs` refuses a
//! semaphore, `JoinSet` or buffered stream anywhere else.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc};

use ::datasets::shard::Shard;

use super::{PipelineError, Stop};
use crate::engine::{ProveResult, Theorem};
use crate::job::{Goal, Job, Lend};
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
/// Jobs start in their order: one dispatcher hands each job a permit as one frees, so the
/// `concurrency` jobs running at any time are the earliest not yet finished, whatever the
/// runtime's scheduling (a task per job racing for permits started them in any order, and a
/// run's wall time then depended on which order it drew).
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
    let (sender, mut receiver) = mpsc::unbounded_channel::<R>();
    let (dispatch_outage, dispatch_stop, model) = (outage.clone(), stop.clone(), model.cloned());
    tokio::spawn(async move {
        for job in jobs {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            if dispatch_stop.is_set() {
                return;
            }
            if let Some(model) = &model
                && let Err(down) = model.policies().wait_for_model().await
            {
                dispatch_outage
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(down.0);
                return;
            }
            let (sender, running) = (sender.clone(), work(job));
            tokio::spawn(async move {
                let _ = sender.send(running.await);
                drop(permit);
            });
        }
    });
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

/// The items of `items` in `shard` (all of them without one), in their order: the shard filter
/// every sharded run applies to its whole dataset before its batch, so resume keys, progress
/// counts and the batch see only the shard's theorems. `name` gives an item's theorem name;
/// the assignment is [`Shard::assignment`] over every item's name, so `items` must be the
/// whole dataset.
pub fn in_shard<T>(items: Vec<T>, shard: Option<Shard>, name: impl Fn(&T) -> &str) -> Vec<T> {
    let Some(shard) = shard.filter(|shard| !shard.is_all()) else {
        return items;
    };
    let assignment = Shard::assignment(items.iter().map(&name), shard.count);
    let keep: Vec<bool> = items
        .iter()
        .map(|item| assignment.get(name(item)) == Some(&shard.index))
        .collect();
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(item, keep)| keep.then_some(item))
        .collect()
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
                let (result, hook) =
                    prove_with(&prover, Goal::Theorem(theorem.clone()), hook).await;
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

/// Proves `goal` through [`Prover::submit`], `hook` seeing every search event; the hook comes
/// back with the result, or `None` when it panicked (the result then says `error`).
pub async fn prove_with<H>(prover: &Prover, goal: Goal, hook: H) -> (ProveResult, Option<H>)
where
    H: SearchHook + Send + 'static,
{
    let name = goal.name().to_owned();
    let lent = Lend::new(hook);
    let end = prover.submit(Job::Prove(goal), lent.clone()).wait().await;
    (end.prove_result(&name), lent.take())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn jobs_run_a_bounded_number_at_once_and_every_outcome_is_reported() {
        let (_stopper, stop) = Stop::channel();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (counter, peak) = (running.clone(), most.clone());
        let mut reported = Vec::new();
        let end = run(
            (0..40).collect::<Vec<u32>>(),
            3,
            &stop,
            None,
            move |job| {
                let (running, most) = (counter.clone(), peak.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    job * 2
                }
            },
            |outcome| {
                reported.push(outcome);
                Ok::<(), ()>(())
            },
        )
        .await
        .unwrap();
        assert!(end.model_outage.is_none());
        reported.sort_unstable();
        assert_eq!(reported, (0..40).map(|j| j * 2).collect::<Vec<u32>>());
        let most = most.load(Ordering::SeqCst);
        assert!((1..=3).contains(&most), "{most} jobs ran at once");
    }

    /// Jobs start in their order on a multi-threaded runtime: a job starts only once every
    /// job before it has.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn jobs_start_in_their_order() {
        let (_stopper, stop) = Stop::channel();
        let started = Arc::new(Mutex::new(Vec::new()));
        let record = started.clone();
        let _ = run(
            (0..64).collect::<Vec<u32>>(),
            3,
            &stop,
            None,
            move |job| {
                record.lock().unwrap().push(job);
                async move {
                    for _ in 0..job % 4 {
                        tokio::task::yield_now().await;
                    }
                    job
                }
            },
            |_| Ok::<(), ()>(()),
        )
        .await
        .unwrap();
        assert_eq!(*started.lock().unwrap(), (0..64).collect::<Vec<u32>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_starts_or_is_reported_after_a_stop() {
        let (stopper, stop) = Stop::channel();
        let started = Arc::new(AtomicUsize::new(0));
        let (counter, stopped) = (started.clone(), stop.clone());
        let mut stopper = Some(stopper);
        let mut reported = 0;
        let _ = run(
            (0..50).collect::<Vec<u32>>(),
            1,
            &stop,
            None,
            move |job| {
                counter.fetch_add(1, Ordering::SeqCst);
                let stopped = stopped.clone();
                async move {
                    // Every job after the first ends only once the batch is stopped.
                    if job > 0 {
                        stopped.wait().await;
                    }
                    job
                }
            },
            |_outcome| {
                reported += 1;
                // The first outcome stops the batch: nothing after it is reported.
                if let Some(stopper) = stopper.take() {
                    stopper.stop();
                }
                Ok::<(), ()>(())
            },
        )
        .await
        .unwrap();
        assert_eq!(reported, 1);
        // The first job, and the one that held the permit when the stop came; no other.
        assert!(
            started.load(Ordering::SeqCst) <= 2,
            "jobs waiting for a permit start no more after the stop"
        );
    }

    #[tokio::test]
    async fn an_error_from_done_ends_the_batch_with_it() {
        let (_stopper, stop) = Stop::channel();
        let outcome = run(
            vec![1, 2, 3],
            2,
            &stop,
            None,
            |job: u32| async move { job },
            |job| if job == 2 { Err(job) } else { Ok(()) },
        )
        .await;
        assert_eq!(outcome.unwrap_err(), 2);
    }

    #[test]
    fn the_shard_filter_keeps_each_items_share_in_order_and_nothing_twice() {
        let items: Vec<(String, usize)> = (0..10).map(|i| (format!("t{i}"), i)).collect();
        let whole = in_shard(items.clone(), None, |item| item.0.as_str());
        assert_eq!(whole, items);
        assert_eq!(
            in_shard(items.clone(), Some(Shard::ALL), |item| item.0.as_str()),
            items
        );
        let mut union = Vec::new();
        for index in 0..3 {
            let shard = Shard::new(index, 3).unwrap();
            let kept = in_shard(items.clone(), Some(shard), |item| item.0.as_str());
            // In the dataset's order, and balanced: 10 over 3 is 4, 3, 3 in some order.
            assert!(
                kept.windows(2).all(|pair| pair[0].1 < pair[1].1),
                "{kept:?}"
            );
            assert!((3..=4).contains(&kept.len()), "{kept:?}");
            union.extend(kept);
        }
        union.sort_by_key(|item| item.1);
        assert_eq!(union, items);
    }
}
