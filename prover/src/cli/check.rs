//! `prover check`: reads proof rows, checks them on a REPL pool, streams one result per row.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use lean_bridge::pool::ReplPool;
use tokio::sync::{Semaphore, mpsc};

use super::CheckArgs;
use super::config::{self, Settings};
use crate::check::{self, CheckConfig, CheckResult, ProofTask, Status};

/// Runs `prover check`.
pub(super) fn run(args: CheckArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let input = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read input {}", args.input.display()))?;
    let default_header = match &args.header {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read header {}", path.display()))?,
        ),
        None => None,
    };
    let reference = match &args.reference {
        Some(path) => Some(read_reference(path)?),
        None => None,
    };
    let pool_config = config::pool_config(&args.repl, settings)?;
    let workers = pool_config.workers;
    let check_config = CheckConfig {
        timeout: config::seconds(
            args.timeout.or(settings.check.timeout).unwrap_or(300.0),
            "--timeout",
        )?,
        retries: args.retries.or(settings.check.retries).unwrap_or(1),
        ..CheckConfig::default()
    };
    let mut out: Box<dyn Write + Send> = match &args.out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create output {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };

    let mut tasks = Vec::new();
    let mut malformed = Vec::new();
    for (index, text) in input.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        match check::parse_task(index + 1, text, default_header.as_deref()) {
            Ok(task) => tasks.push(task),
            Err(error) => {
                tracing::error!("{}: {error}", args.input.display());
                malformed.push(CheckResult::malformed(&error));
            }
        }
    }
    if tasks.is_empty() && malformed.is_empty() {
        bail!("input {} holds no rows", args.input.display());
    }

    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let mut tally = Tally::default();
    for result in &malformed {
        write_result(&mut out, result, &mut tally)?;
    }
    runtime.block_on(async {
        let pool = Arc::new(ReplPool::new(pool_config));
        let permits = Arc::new(Semaphore::new(workers));
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let check_config = Arc::new(check_config);
        let reference = Arc::new(reference);
        for task in tasks {
            let (pool, permits, sender) = (pool.clone(), permits.clone(), sender.clone());
            let (check_config, reference) = (check_config.clone(), reference.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = match statement_mismatch(&task, reference.as_ref().as_ref()) {
                    Some(reason) => CheckResult::unchecked(&task, Status::Invalid, reason),
                    None => check::check_task(&pool, &task, &check_config).await,
                };
                let _ = sender.send(result);
            });
        }
        drop(sender);
        while let Some(result) = receiver.recv().await {
            write_result(&mut out, &result, &mut tally)?;
        }
        pool.shutdown().await;
        anyhow::Ok(())
    })?;

    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "prover check: {} rows: {} valid, {} invalid, {} error in {seconds:.1}s ({:.2} rows/s, {workers} workers)",
        tally.total(),
        tally.valid,
        tally.invalid,
        tally.error,
        tally.total() as f64 / seconds.max(1e-9),
    );
    Ok(if tally.error == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    error: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.valid + self.invalid + self.error
    }
}

fn write_result(
    out: &mut dyn Write,
    result: &CheckResult,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    match result.status {
        Status::Valid => tally.valid += 1,
        Status::Invalid => tally.invalid += 1,
        Status::Error => tally.error += 1,
    }
    let line = serde_json::to_string(result).context("cannot encode a result")?;
    writeln!(out, "{line}").context("cannot write a result")?;
    out.flush().context("cannot write a result")?;
    Ok(())
}

fn normalize_statement(statement: &str) -> String {
    let text: String = check::strip_trailing_sorry(statement)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    text.trim_end_matches(":=by").to_owned()
}

fn read_reference(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read reference {}", path.display()))?;
    let mut statements = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: serde_json::Value = serde_json::from_str(line).with_context(|| {
            format!("reference {} line {}: not JSON", path.display(), index + 1)
        })?;
        let field = |key: &str| {
            row.get(key).and_then(|v| v.as_str()).with_context(|| {
                format!(
                    "reference {} line {}: missing field `{key}`",
                    path.display(),
                    index + 1
                )
            })
        };
        statements.insert(
            field("name")?.to_owned(),
            field("formal_statement")?.to_owned(),
        );
    }
    Ok(statements)
}

fn statement_mismatch(
    task: &ProofTask,
    reference: Option<&HashMap<String, String>>,
) -> Option<String> {
    let reference = reference?;
    match reference.get(&task.name) {
        None => Some(format!("`{}` is not in the reference dataset", task.name)),
        Some(expected)
            if normalize_statement(expected) != normalize_statement(&task.formal_statement) =>
        {
            Some("the statement differs from the reference dataset's".into())
        }
        Some(_) => None,
    }
}
