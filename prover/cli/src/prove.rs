//! `prover prove`: flags → [`ProveRun`] → `pipeline::prove::run` → exit code; prints the proof (or why there is none) on stdout.

use std::process::ExitCode;

use super::ProveArgs;
use super::interrupt::Interrupt;
use super::progress::StderrProgress;
use crate::exit;
use prover::pipeline::prove::{Goal, ProveRun, Proving};
use prover::settings::SettingsFile;
use prover::{ProveResult, ProveStatus};

/// Runs `prover prove`: exit 0 when proved, 1 when not.
pub(super) fn run(args: ProveArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let goal = match (&args.statement, &args.file, &args.at) {
        (Some(statement), _, _) => Some(Goal::Statement(statement.clone())),
        (None, Some(file), Some(at)) => Some(Goal::At {
            file: file.clone(),
            at: at.clone(),
        }),
        _ => None,
    };
    let request = ProveRun {
        goal,
        header: args.header.clone(),
        write: args.write,
        trace: args.trace.clone(),
        save_model: args.session.search.save_model.clone(),
        overlay: args.session.overlay(),
        planner: args.planner.request(),
    };
    let mut progress = StderrProgress::default();
    let proving = prover::pipeline::prove::run(request, settings, &mut progress)?;
    let Some(result) = &proving.result else {
        let signal = progress.signal().unwrap_or(libc::SIGINT);
        super::cache::finish_run(&proving.session);
        note!("prover prove: stopped by {}", Interrupt::name(signal));
        return Ok(Interrupt::exit_code(signal));
    };
    super::cache::finish_run(&proving.session);
    super::common::print_model_summary(&proving.session);
    if let Some(path) = &args.session.search.save_model {
        prover::pipeline::extras::save_model(&proving.session, path, &mut progress)?;
    }
    print_result(&args, &proving, result)?;
    print_notes(result);
    Ok(exit::settled_if(result.status == ProveStatus::Proved))
}

/// The result on stdout: the proof (the edited declaration for a sorry, written into the
/// file with `--write`), why there is none, or the whole row with `--json`.
fn print_result(args: &ProveArgs, proving: &Proving, result: &ProveResult) -> anyhow::Result<()> {
    if args.json {
        out!("{}", serde_json::to_string(result)?)?;
        return Ok(());
    }
    match (&result.status, &result.proof) {
        (ProveStatus::Proved, Some(proof)) => {
            out!("{}", proving.proved_text(proof))?;
            if let (Some(goal), Some(file), true) = (&proving.sorry, &args.file, args.write) {
                let edited = proving.proved_text(proof);
                prover::pipeline::prove::write_in_place(
                    file,
                    &goal.header,
                    &proving.statement,
                    &edited,
                )?;
                note!("prover prove: the proof is in {}", file.display());
            }
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
                .or(result.stop_reason.as_ref().map(|code| code.as_str()))
                .unwrap_or("no reason given")
        )?,
    }
    Ok(())
}

/// What the proof rests on, and where the verdict came from, on stderr.
fn print_notes(result: &ProveResult) {
    if let Some(rests_on) = &result.rests_on {
        note!(
            "prover prove: warning: the proof rests on {} beyond Lean's standard axioms",
            rests_on.describe()
        );
    }
    if result.from_cache {
        let original = result
            .original_search
            .map(|c| {
                format!(
                    " by a search of {} expansions, {} Lean calls, {:.1}s",
                    c.expansions, c.lean_calls, c.seconds
                )
            })
            .unwrap_or_default();
        note!(
            "prover prove: {:?} from the cache ({}{original}), {} Lean calls, {:.1}s; \
             --reuse-verdicts never searches again",
            result.status,
            match result.status {
                ProveStatus::Proved => "a recorded proof, rechecked in Lean just now, found",
                _ => "a failure recorded under a budget at least this large, found",
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
}
