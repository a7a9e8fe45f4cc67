//! The server's table of jobs, by number: what `prover_job` reports and `prover_cancel` stops, shared by every client of one server (an HTTP server's agents see each other's jobs by number, as they share the cache).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use ::datasets::explore::TraceRow;
use prover::CancelToken;
use serde_json::{Value, json};

/// How many finished jobs keep their answers for `prover_job`: the oldest are forgotten first,
/// so a long-lived server holds a bounded table.
const FINISHED_KEPT: usize = 256;

/// How many finished searches keep their trace (every edge tried) for the trace and tree
/// resources: a trace is as large as its search, so fewer are kept than answers.
pub const TRACES_KEPT: usize = 16;

/// Where one job stands.
#[derive(Debug, Clone)]
enum State {
    /// Running: its last progress, and the token that stops it.
    Running {
        expansions: u32,
        best: Option<f64>,
        cancel: CancelToken,
    },
    /// Ended: the tool's answer (`structuredContent`) and whether it was an error.
    Ended { answer: Value, is_error: bool },
}

#[derive(Debug, Clone)]
struct Entry {
    tool: &'static str,
    name: String,
    /// When it started, ISO 8601 in UTC (an MCP task's `createdAt`).
    started_at: String,
    state: State,
}

/// The jobs of one server.
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    inner: Arc<Mutex<Table>>,
}

#[derive(Debug, Default)]
struct Table {
    entries: BTreeMap<u64, Entry>,
    finished: VecDeque<u64>,
    /// The newest finished searches' traces, oldest first.
    traces: VecDeque<(u64, Arc<[TraceRow]>)>,
}

/// Why a job has no trace to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoTrace {
    /// The server knows no such job.
    Unknown,
    /// The job is still running.
    Running,
    /// The job ran no search (a check), or its trace was not kept (an older job, or one
    /// whose search did not end).
    None,
}

impl Jobs {
    fn with<T>(&self, f: impl FnOnce(&mut Table) -> T) -> T {
        // A panic elsewhere never poisons the table for good: its data stays consistent
        // (every change is one insert or one assignment).
        let mut table = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut table)
    }

    /// Records a job that started.
    pub fn started(&self, id: u64, tool: &'static str, name: &str, cancel: CancelToken) {
        self.with(|t| {
            t.entries.insert(
                id,
                Entry {
                    tool,
                    name: name.to_owned(),
                    started_at: now(),
                    state: State::Running {
                        expansions: 0,
                        best: None,
                        cancel,
                    },
                },
            )
        });
    }

    /// Records a job's progress.
    pub fn progress(&self, id: u64, now: u32, score: Option<f64>) {
        self.with(|t| {
            if let Some(Entry {
                state: State::Running {
                    expansions, best, ..
                },
                ..
            }) = t.entries.get_mut(&id)
            {
                *expansions = now;
                *best = score;
            }
        });
    }

    /// Records a job's answer.
    pub fn ended(&self, id: u64, answer: Value, is_error: bool) {
        self.with(|t| {
            if let Some(entry) = t.entries.get_mut(&id) {
                entry.state = State::Ended { answer, is_error };
                t.finished.push_back(id);
            }
            while t.finished.len() > FINISHED_KEPT {
                if let Some(old) = t.finished.pop_front() {
                    t.entries.remove(&old);
                }
            }
        });
    }

    /// Keeps a finished search's trace, forgetting the oldest past [`TRACES_KEPT`].
    pub fn traced(&self, id: u64, rows: Vec<TraceRow>) {
        self.with(|t| {
            t.traces.push_back((id, rows.into()));
            while t.traces.len() > TRACES_KEPT {
                t.traces.pop_front();
            }
        });
    }

    /// A finished search's trace.
    pub fn trace(&self, id: u64) -> Result<Arc<[TraceRow]>, NoTrace> {
        self.with(|t| {
            let entry = t.entries.get(&id).ok_or(NoTrace::Unknown)?;
            if matches!(entry.state, State::Running { .. }) {
                return Err(NoTrace::Running);
            }
            t.traces
                .iter()
                .find(|(traced, _)| *traced == id)
                .map(|(_, rows)| rows.clone())
                .ok_or(NoTrace::None)
        })
    }

    /// Asks a running job to stop; `None` when the server knows no such job.
    pub fn cancel(&self, id: u64) -> Option<Value> {
        self.with(|t| {
            let entry = t.entries.get(&id)?;
            Some(match &entry.state {
                State::Running { cancel, .. } => {
                    cancel.cancel();
                    json!({"job": id, "name": entry.name, "cancelled": true, "state": "cancelling"})
                }
                State::Ended { .. } => {
                    json!({"job": id, "name": entry.name, "cancelled": false, "state": "ended"})
                }
            })
        })
    }

    /// Asks every running job to stop; returns how many were asked.
    pub fn cancel_all(&self) -> usize {
        self.with(|t| {
            t.entries
                .values()
                .filter_map(|entry| match &entry.state {
                    State::Running { cancel, .. } => {
                        cancel.cancel();
                        Some(())
                    }
                    State::Ended { .. } => None,
                })
                .count()
        })
    }

    /// A job's state, and its answer once it ended; `None` when the server knows no such job.
    pub fn status(&self, id: u64) -> Option<(Value, bool)> {
        self.with(|t| {
            let entry = t.entries.get(&id)?;
            Some(match &entry.state {
                State::Running {
                    expansions, best, ..
                } => (
                    json!({"job": id, "tool": entry.tool, "name": entry.name, "state": "running",
                           "started_at": entry.started_at,
                           "expansions": expansions, "best_score": best}),
                    false,
                ),
                State::Ended { answer, is_error } => (
                    json!({"job": id, "tool": entry.tool, "name": entry.name, "state": "ended",
                           "started_at": entry.started_at, "answer": answer}),
                    *is_error,
                ),
            })
        })
    }
}

/// The time now, ISO 8601 in UTC to the second.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_reaches_the_running_job_and_an_ended_job_keeps_its_answer() {
        let jobs = Jobs::default();
        let token = CancelToken::new();
        jobs.started(7, "prover_prove", "t", token.clone());
        jobs.progress(7, 3, Some(-0.5));
        assert_eq!(jobs.status(7).unwrap().0["expansions"], 3);
        assert_eq!(jobs.cancel(7).unwrap()["cancelled"], true);
        assert!(token.is_cancelled());
        jobs.ended(7, json!({"status": "failed"}), false);
        assert_eq!(jobs.cancel(7).unwrap()["cancelled"], false);
        assert_eq!(jobs.status(7).unwrap().0["answer"]["status"], "failed");
        assert!(jobs.status(8).is_none());
    }

    #[test]
    fn a_trace_is_shown_once_its_job_ended_and_only_the_newest_are_kept() {
        let jobs = Jobs::default();
        assert_eq!(jobs.trace(1).unwrap_err(), NoTrace::Unknown);
        jobs.started(1, "prover_prove", "t", CancelToken::new());
        assert_eq!(jobs.trace(1).unwrap_err(), NoTrace::Running);
        jobs.traced(1, Vec::new());
        jobs.ended(1, json!({}), false);
        assert!(jobs.trace(1).unwrap().is_empty());
        for id in 2..(TRACES_KEPT as u64 + 2) {
            jobs.started(id, "prover_prove", "t", CancelToken::new());
            jobs.traced(id, Vec::new());
            jobs.ended(id, json!({}), false);
        }
        assert_eq!(jobs.trace(1).unwrap_err(), NoTrace::None);
        assert!(jobs.trace(TRACES_KEPT as u64 + 1).is_ok());
        jobs.started(100, "prover_check", "t", CancelToken::new());
        jobs.ended(100, json!({}), false);
        assert_eq!(jobs.trace(100).unwrap_err(), NoTrace::None);
    }

    #[test]
    fn only_the_newest_finished_jobs_are_kept() {
        let jobs = Jobs::default();
        for id in 0..(FINISHED_KEPT as u64 + 10) {
            jobs.started(id, "prover_check", "t", CancelToken::new());
            jobs.ended(id, json!({}), false);
        }
        assert!(jobs.status(0).is_none());
        assert!(jobs.status(FINISHED_KEPT as u64 + 9).is_some());
    }
}
