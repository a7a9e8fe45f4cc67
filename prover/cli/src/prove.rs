//! `prover prove`: one theorem from the command line; prints the proof or why there is none.

use std::process::ExitCode;

use anyhow::Context;

use super::ProveArgs;
use super::interrupt::Interrupt;
use super::preflight;
use crate::exit;
use prover::datasets;
use prover::engine::{ProveStatus, Theorem};
use prover::session::Session;
use prover::settings::{self, SettingsFile};

/// The header used when `--header` is not given.
const DEFAULT_HEADER: &str = "import Mathlib\n";

/// Runs `prover prove`: exit 0 when proved, 1 when not.
pub(super) fn run(args: ProveArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
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
        prover::check::declaration_name(&formal_statement).unwrap_or_else(|| "example".into());
    let theorem = Theorem {
        name,
        header,
        formal_statement,
    };
    let config = settings::session_config(&args.session.overlay(), settings)?;
    let session = Session::open(config)?;
    if args.session.search.save_model.is_some()
        && session.policies().spec().kind != prover::policy::PolicyKind::Learned
    {
        anyhow::bail!("--save-model needs --policy learned");
    }
    let interrupt = Interrupt::install(session.handle())?;
    preflight::ready(&session, &theorem.header)?;
    let prover = session.prover();
    let learn_online = args.session.search.learn_online;
    let search = async move {
        if learn_online {
            super::eval::prove_and_learn(&prover, theorem).await
        } else {
            prover.prove_async(theorem).await
        }
    };
    let result = session.handle().block_on(async {
        tokio::select! {
            result = search => Some(result),
            () = interrupt.wait() => None,
        }
    });
    let Some(result) = result else {
        let signal = interrupt.signal().unwrap_or(libc::SIGINT);
        super::cache::finish_run(session.cache());
        note!("prover prove: stopped by {}", Interrupt::name(signal));
        return Ok(Interrupt::exit_code(signal));
    };
    session.handle().block_on(session.pool().shutdown());
    super::cache::finish_run(session.cache());
    if let Some(path) = &args.session.search.save_model {
        super::eval::save_model(&session, path)?;
    }

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
    Ok(exit::settled_if(result.status == ProveStatus::Proved))
}

fn theorem_text(statement: &str) -> String {
    datasets::statement_ending_in_by(statement).unwrap_or_else(|| statement.to_owned())
}
