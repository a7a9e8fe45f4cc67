//! `prover prove`: one theorem from the command line; prints the proof or why there is none.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use lean_bridge::pool::ReplPool;

use super::ProveArgs;
use super::config::{self, Settings};
use super::interrupt::Interrupt;
use super::policy::PolicyFactory;
use super::preflight;
use crate::datasets;
use crate::engine::{Engine, ProveStatus, Theorem};

/// The header used when `--header` is not given.
const DEFAULT_HEADER: &str = "import Mathlib\n";

/// Runs `prover prove`: exit 0 when proved, 1 when not.
pub(super) fn run(args: ProveArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let header = match &args.header {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read header {}", path.display()))?,
        None => DEFAULT_HEADER.to_owned(),
    };
    let formal_statement =
        datasets::statement_ending_in_by(&args.statement).with_context(|| {
            format!(
                "--statement must end in `:= by` (or `:= by sorry`): {:?}",
                args.statement
            )
        })?;
    let name =
        crate::check::declaration_name(&formal_statement).unwrap_or_else(|| "example".into());
    let theorem = Theorem {
        name,
        header,
        formal_statement,
    };
    let pool_config = config::pool_config(&args.repl, settings)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let factory = PolicyFactory::new(&args.search, settings, runtime.handle())?;
    let mut prove_config = config::prove_config(&args.search, settings)?;
    prove_config.policy_id = factory.id();
    let cache = super::cache::open_for_run(&args.cache, settings, &pool_config)?;
    let engine = Engine {
        pool: Arc::new(ReplPool::new(pool_config)),
        runtime: runtime.handle().clone(),
        cache: cache.clone(),
    };
    let interrupt = Interrupt::install(&runtime)?;
    let ready = runtime.block_on(async {
        preflight::repl(&engine.pool, &theorem.header).await?;
        preflight::model(&factory).await
    });
    if let Err(error) = ready {
        runtime.block_on(engine.pool.shutdown());
        return Err(error);
    }
    let result = {
        let engine = engine.clone();
        let interrupt = interrupt.clone();
        runtime.block_on(async move {
            let search = tokio::task::spawn_blocking(move || {
                factory.prove(&engine, &theorem, &prove_config)
            });
            tokio::select! {
                result = search => Some(result),
                () = interrupt.wait() => None,
            }
        })
    };
    let Some(result) = result else {
        let signal = interrupt.signal().unwrap_or(libc::SIGINT);
        super::cache::finish_run(cache.as_ref());
        note!("prover prove: stopped by {}", Interrupt::name(signal));
        runtime.shutdown_background();
        return Ok(Interrupt::exit_code(signal));
    };
    let result = result.context("the search thread panicked")?;
    runtime.block_on(engine.pool.shutdown());
    super::cache::finish_run(cache.as_ref());

    if args.json {
        out!("{}", serde_json::to_string(&result)?)?;
    } else {
        match (&result.status, &result.proof) {
            (ProveStatus::Proved, Some(proof)) => {
                out!("{}{proof}", theorem_text(&args.statement))?;
            }
            _ => out!(
                "{}: {}",
                match result.status {
                    ProveStatus::Error => "error",
                    _ => "not proved",
                },
                result
                    .stop_detail
                    .as_deref()
                    .or(result.stop_reason.as_deref())
                    .unwrap_or("no reason given")
            )?,
        }
    }
    if result.from_cache {
        note!(
            "prover prove: {:?} from the cache ({}), {} Lean calls, {:.1}s; --no-cache or a \
             larger budget searches again",
            result.status,
            match result.status {
                ProveStatus::Proved => "a recorded proof, rechecked in Lean just now",
                _ => "a failure recorded under a budget at least this large",
            },
            result.lean_calls,
            result.seconds
        );
    } else {
        note!(
            "prover prove: {:?} after {} expansions, {} Lean calls, {:.1}s",
            result.status,
            result.expansions,
            result.lean_calls,
            result.seconds
        );
    }
    Ok(match result.status {
        ProveStatus::Proved => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

fn theorem_text(statement: &str) -> String {
    datasets::statement_ending_in_by(statement).unwrap_or_else(|| statement.to_owned())
}
