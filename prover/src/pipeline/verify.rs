//! `verify_all`: proofs re-elaborated with `check`'s rules on a fresh pool, a bounded number at once, each result appended to a log as it is decided.

use std::sync::Arc;

use ::datasets::{AppendLog, CheckResult, ProofTask};
use lean_bridge::pool::{PoolConfig, ReplPool};
use tokio::sync::{Semaphore, mpsc};

use super::{PipelineError, Stop};
use crate::check::{self, CheckConfig};

/// Checks `tasks` on fresh REPLs started from `pool` (nothing a search left in a process's
/// state can vouch for a proof), `concurrency` at a time; appends each result to `log`, then
/// calls `verified` with it. Stops starting and reporting when `stop` is set.
pub async fn verify_all(
    pool: &PoolConfig,
    config: &CheckConfig,
    tasks: Vec<ProofTask>,
    concurrency: usize,
    stop: &Stop,
    log: &mut AppendLog,
    mut verified: impl FnMut(CheckResult),
) -> Result<(), PipelineError> {
    if tasks.is_empty() {
        return Ok(());
    }
    let pool = Arc::new(ReplPool::new(pool.clone()));
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let config = Arc::new(config.clone());
    let (sender, mut receiver) = mpsc::unbounded_channel::<CheckResult>();
    for task in tasks {
        let (pool, permits, sender) = (pool.clone(), permits.clone(), sender.clone());
        let (config, stop) = (config.clone(), stop.clone());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            if stop.is_set() {
                return;
            }
            let _ = sender.send(check::check_task(&pool, &task, &config).await);
        });
    }
    drop(sender);
    let outcome = loop {
        let result = tokio::select! {
            result = receiver.recv() => result,
            () = stop.wait() => None,
        };
        match result {
            Some(result) if !stop.is_set() => {
                if let Err(error) = log.append(&result) {
                    break Err(error.into());
                }
                verified(result);
            }
            _ => break Ok(()),
        }
    };
    if !stop.is_set() {
        pool.shutdown().await;
    }
    outcome
}
