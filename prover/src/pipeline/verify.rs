//! `verify_all`: proofs re-elaborated with `check`'s rules on a fresh pool, through the one batch loop, each result appended to a log as it is decided.

use std::sync::Arc;

use ::datasets::{AppendLog, CheckResult, ProofTask};
use lean_bridge::pool::{PoolConfig, ReplPool};

use super::{PipelineError, Stop, batch};
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
    let config = Arc::new(config.clone());
    let checker = pool.clone();
    let outcome = batch::run(
        tasks,
        concurrency,
        stop,
        None,
        move |task: ProofTask| {
            let (pool, config) = (checker.clone(), config.clone());
            async move { check::check_task(&pool, &task, &config).await }
        },
        |result: CheckResult| {
            log.append(&result)?;
            verified(result);
            Ok::<(), PipelineError>(())
        },
    )
    .await
    .map(|_no_model| ());
    if !stop.is_set() {
        pool.shutdown().await;
    }
    outcome
}
