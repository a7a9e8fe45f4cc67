//! Jobs: the one door through which a front end proves or checks (`Session::submit`), with a handle to cancel and wait, and events every front end renders its own way.
//!
//! A [`Job`] is plain data: prove a [`Goal`] (a theorem, or one sorry of a declaration in
//! place) or check a [`ProofTask`]. [`Session::submit`](crate::session::Session::submit) runs
//! it on the session's blocking threads and returns a [`JobHandle`] at once; the job reports
//! [`JobEvent`]s to an [`Observer`] from its own thread, in this order and no other:
//! `Started`, then for a proof one `Progress` per expansion, then exactly one of `Finished` or
//! `Cancelled`. The CLI draws them as stderr lines, the editor server as `$/progress`, an MCP
//! server as progress notifications.
//!
//! **Cancellation.** [`JobHandle::cancel`] (or a clone of [`JobHandle::cancel_token`], from any
//! task or thread) asks the job to stop. A job cancelled before it started runs nothing; a
//! search stops at its next step with `stop_reason` `cancelled`, which the engine never records
//! as a failure; a check, a handful of commands, is not interrupted once it started. A job whose
//! token was cancelled by the time it ended ends `Cancelled`, whatever it found: a front end
//! applies and records nothing of it. Dropping a handle does not cancel its job.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::check::{CheckResult, ProofTask, Status};
use crate::engine::{ProveResult, ProveStatus};
use crate::search::{SearchEvent, SearchHook};

pub use crate::engine::{Goal, SorryGoal};
pub use crate::search::CancelToken;

/// What a front end asks of a session: plain data.
#[derive(Debug, Clone)]
pub enum Job {
    /// Search for a proof of a goal.
    Prove(Goal),
    /// Check a whole proof by `prover check`'s rules.
    Check(ProofTask),
}

impl Job {
    /// The theorem's, declaration's or row's name.
    pub fn name(&self) -> &str {
        match self {
            Job::Prove(goal) => goal.name(),
            Job::Check(task) => &task.name,
        }
    }
}

/// A job's number: unique in the process, across sessions, in the order jobs were submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {}", self.0)
    }
}

impl JobId {
    fn next() -> JobId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        JobId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// What a finished job decided.
#[derive(Debug, Clone, PartialEq)]
pub enum JobResult {
    /// A proof job's result.
    Prove(ProveResult),
    /// A check job's result.
    Check(CheckResult),
}

/// How a job ended: what [`JobHandle::wait`] returns, and the last event its observer saw.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEnd {
    /// It ran to its end.
    Finished(JobResult),
    /// It was cancelled: with what it had when it stopped (a search's result says `cancelled`),
    /// or `None` when it was cancelled before it started and ran nothing.
    Cancelled(Option<JobResult>),
}

impl JobEnd {
    /// The proof result, when this was a proof job that ran: on cancellation, the result the
    /// search stopped with.
    pub fn into_prove_result(self) -> Option<ProveResult> {
        match self {
            JobEnd::Finished(JobResult::Prove(result))
            | JobEnd::Cancelled(Some(JobResult::Prove(result))) => Some(result),
            _ => None,
        }
    }

    /// The result of a proof job of goal `name`, whatever its end: one cancelled before it
    /// started is a `cancelled` search that ran nothing.
    pub fn prove_result(self, name: &str) -> ProveResult {
        self.into_prove_result().unwrap_or_else(|| ProveResult {
            stop_reason: Some(::datasets::StopCode::Cancelled),
            stop_detail: Some("cancelled".into()),
            ..ProveResult::unsearched(name, ProveStatus::Failed, 0, Instant::now())
        })
    }

    /// Whether the job was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JobEnd::Cancelled(_))
    }
}

/// An observer that lends a proof job's search events to a [`SearchHook`], which
/// [`Lend::take`] gives back once the job has ended (`None` when the hook itself panicked:
/// the job's result then says `error`). Clones share the hook.
pub struct Lend<H>(std::sync::Arc<std::sync::Mutex<Option<H>>>);

impl<H> Clone for Lend<H> {
    fn clone(&self) -> Self {
        Lend(self.0.clone())
    }
}

impl<H: SearchHook + Send + 'static> Lend<H> {
    /// Lends `hook`.
    pub fn new(hook: H) -> Lend<H> {
        Lend(std::sync::Arc::new(std::sync::Mutex::new(Some(hook))))
    }

    /// The hook back; call it after the job has ended, when its observer sees no more events.
    pub fn take(&self) -> Option<H> {
        // A hook that panicked left the lock poisoned and does not come back.
        self.0.lock().ok().and_then(|mut hook| hook.take())
    }
}

impl<H: SearchHook + Send + 'static> Observer for Lend<H> {
    fn on_event(&mut self, _event: &JobEvent) {}

    fn on_search_event(&mut self, event: &SearchEvent<'_>) {
        if let Ok(mut hook) = self.0.lock()
            && let Some(hook) = hook.as_mut()
        {
            hook.on_event(event);
        }
    }
}

/// How far a search has got: what the editor's progress report shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Nodes expanded so far.
    pub expansions: u32,
    /// The best priority a node was expanded at (the score of the most promising state), once
    /// a node was expanded.
    pub best: Option<f64>,
}

/// What a job reports, in order: `Started`, `Progress`…, then `Finished` or `Cancelled`.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    /// The job began to run on a thread of its own.
    Started {
        /// The job's number.
        id: JobId,
        /// The job's name ([`Job::name`]).
        name: String,
    },
    /// A search expanded one more node.
    Progress(Progress),
    /// The job ended with a result (boxed: a result is large, progress events are many).
    Finished(Box<JobResult>),
    /// The job ended cancelled (see [`JobEnd::Cancelled`]).
    Cancelled,
}

/// Sees a job's events, on the job's thread (a blocking thread: an observer may block briefly,
/// never await). Each job has its own observer.
pub trait Observer: Send + 'static {
    /// One event; see [`JobEvent`] for their order.
    fn on_event(&mut self, event: &JobEvent);

    /// Every event of a proof job's search, before the `Progress` it may make: for training
    /// data and traces. Ignored by default.
    fn on_search_event(&mut self, _event: &SearchEvent<'_>) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn on_event(&mut self, _event: &JobEvent) {}
}

impl<F> Observer for F
where
    F: FnMut(&JobEvent) + Send + 'static,
{
    fn on_event(&mut self, event: &JobEvent) {
        self(event)
    }
}

/// A submitted job: its number, a way to cancel it, and its end.
#[derive(Debug)]
pub struct JobHandle {
    id: JobId,
    cancel: CancelToken,
    end: oneshot::Receiver<JobEnd>,
    /// What `wait` says if the end never comes (the runtime stopped under the job): an `error`.
    lost: JobResult,
}

impl JobHandle {
    /// The job's number (the one its `Started` event carries).
    pub fn id(&self) -> JobId {
        self.id
    }

    /// Asks the job to stop (see the module's notes on cancellation).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The job's cancel token, for a table that cancels jobs it no longer holds the handles of.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Waits, from async code, for the job to end.
    pub async fn wait(self) -> JobEnd {
        let lost = self.lost;
        self.end.await.unwrap_or(JobEnd::Finished(lost))
    }

    /// Waits, from synchronous code on any thread, for the job to end. On a thread that runs
    /// async tasks it waits on a thread of its own (blocking this one): prefer
    /// [`JobHandle::wait`] there.
    pub fn wait_blocking(self) -> JobEnd {
        let (end, lost) = (self.end, self.lost);
        let end = if Handle::try_current().is_err() {
            end.blocking_recv().ok()
        } else {
            std::thread::scope(|scope| {
                scope
                    .spawn(|| end.blocking_recv())
                    .join()
                    .ok()
                    .and_then(Result::ok)
            })
        };
        end.unwrap_or(JobEnd::Finished(lost))
    }
}

/// The result of a job that could not end: an `error` saying why, never a verdict.
fn failed(job: &Job, why: &str) -> JobResult {
    match job {
        Job::Prove(goal) => JobResult::Prove(crashed(goal.name(), why)),
        Job::Check(task) => JobResult::Check(check_crashed(task, why)),
    }
}

/// How a job is run, given its goal or task: what the session supplies.
pub(crate) trait Runner: Send + 'static {
    /// Proves `goal`, stopping when `cancel` is cancelled.
    fn prove(&self, goal: &Goal, hook: &mut dyn SearchHook, cancel: &CancelToken) -> ProveResult;
    /// Checks `task`.
    fn check(&self, task: &ProofTask) -> CheckResult;
}

/// Starts `job` on `runtime`'s blocking threads, reporting to `observer`; `cancel` is the
/// handle's token.
pub(crate) fn spawn(
    runtime: &Handle,
    runner: impl Runner,
    job: Job,
    mut observer: impl Observer,
    cancel: CancelToken,
) -> JobHandle {
    let id = JobId::next();
    let (send_end, end) = oneshot::channel();
    let token = cancel.clone();
    let lost = failed(&job, "the job's runtime stopped before it ended");
    runtime.spawn_blocking(move || {
        let name = job.name().to_owned();
        observer.on_event(&JobEvent::Started {
            id,
            name: name.clone(),
        });
        let end = if token.is_cancelled() {
            JobEnd::Cancelled(None)
        } else {
            let ran = std::panic::catch_unwind(AssertUnwindSafe(|| match &job {
                Job::Prove(goal) => {
                    let mut hook = ProgressHook {
                        observer: &mut observer,
                        progress: Progress {
                            expansions: 0,
                            best: None,
                        },
                    };
                    JobResult::Prove(runner.prove(goal, &mut hook, &token))
                }
                Job::Check(task) => JobResult::Check(runner.check(task)),
            }));
            let result = ran.unwrap_or_else(|panic| failed(&job, &panic_text(&panic)));
            if token.is_cancelled() {
                JobEnd::Cancelled(Some(result))
            } else {
                JobEnd::Finished(result)
            }
        };
        observer.on_event(&match &end {
            JobEnd::Finished(result) => JobEvent::Finished(Box::new(result.clone())),
            JobEnd::Cancelled(_) => JobEvent::Cancelled,
        });
        // A waiter that went away wants nothing more.
        let _ = send_end.send(end);
    });
    JobHandle {
        id,
        cancel,
        end,
        lost,
    }
}

/// Passes a search's events to the observer and counts its expansions.
struct ProgressHook<'a, O> {
    observer: &'a mut O,
    progress: Progress,
}

impl<O: Observer> SearchHook for ProgressHook<'_, O> {
    fn on_event(&mut self, event: &SearchEvent<'_>) {
        self.observer.on_search_event(event);
        if let SearchEvent::Selected { priority, .. } = event {
            self.progress.expansions += 1;
            if self.progress.best.is_none_or(|best| *priority > best) {
                self.progress.best = Some(*priority);
            }
            self.observer.on_event(&JobEvent::Progress(self.progress));
        }
    }
}

/// The result for a theorem whose search panicked: an `error`, never a verdict.
pub fn crashed(name: &str, panic: &str) -> ProveResult {
    ProveResult {
        stop_reason: Some(::datasets::StopCode::Infrastructure),
        stop_detail: Some(format!("internal error: {panic}")),
        ..ProveResult::unsearched(name, ProveStatus::Error, 0, Instant::now())
    }
}

/// The result for a row whose check panicked: an `error`, never a verdict.
fn check_crashed(task: &ProofTask, panic: &str) -> CheckResult {
    CheckResult {
        status: Status::Error,
        reasons: vec![format!("internal error: {panic}")],
        ..CheckResult::new(&task.name, task.line)
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the job panicked".to_owned())
}
