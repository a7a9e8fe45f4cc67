//! `prover prove`: one theorem from the command line; prints the proof or why there is none.

use std::process::ExitCode;

use ::datasets::output::{FileKind, Input, Output, Target};
use anyhow::{Context, bail};

use super::ProveArgs;
use super::interrupt::Interrupt;
use super::preflight;
use crate::exit;
use prover::datasets;
use prover::session::Session;
use prover::settings::{self, SettingsFile};
use prover::{ProveStatus, Theorem};

/// The header used when `--header` is not given.
const DEFAULT_HEADER: &str = "import Mathlib\n";

/// Runs `prover prove`: exit 0 when proved, 1 when not.
pub(super) fn run(args: ProveArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    // `--write` edits `--file` in place by design: it is checked as an output (writable, and
    // no other output of the run), the other outputs against it as an input.
    let mut inputs: Vec<Input<'_>> = args
        .header
        .iter()
        .map(|path| Input {
            flag: "--header",
            path,
        })
        .collect();
    let mut outputs: Vec<Output<'_>> = Vec::new();
    match (&args.file, args.write) {
        (Some(path), true) => outputs.push(Output {
            flag: "--file (with --write)",
            path,
            target: Target::File(FileKind::Unknown),
        }),
        (Some(path), false) => inputs.push(Input {
            flag: "--file",
            path,
        }),
        (None, _) => {}
    }
    outputs.extend(super::common::trace_output(args.trace.as_deref()));
    outputs.extend(super::planning::plan_log_output(&args.planner));
    inputs.extend(super::planning::prompt_input(&args.planner));
    super::common::session_files(&args.session, &mut inputs, &mut outputs);
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;
    let input_paths: Vec<&std::path::Path> = inputs.iter().map(|input| input.path).collect();
    let planning = super::planning::Planning::open(&args.planner, settings, false, &input_paths)?;
    let (theorem, sorry) = match (&args.statement, &args.file, &args.at) {
        (Some(statement), _, _) => (
            theorem_of_statement(statement, args.header.as_deref())?,
            None,
        ),
        (None, Some(file), Some(at)) => {
            let goal = goal_at(file, at)?;
            let theorem = Theorem {
                name: goal.name.clone(),
                header: goal.header.clone(),
                formal_statement: goal.declaration.clone(),
            };
            (theorem, Some(goal))
        }
        _ => bail!("pass --statement TEXT, or --file FILE.lean --at LINE:COL"),
    };
    if sorry.is_some() && args.session.search.learn_online {
        bail!("--learn-online proves theorems, not a sorry of a file (--file --at)");
    }
    if planning.is_some() && sorry.is_some() {
        bail!("--planner plans theorems, not a sorry of a file (--file --at)");
    }
    if planning.is_some() && (args.session.search.learn_online || args.trace.is_some()) {
        bail!("--planner does not combine with --learn-online or --trace yet");
    }
    let statement = theorem.formal_statement.clone();
    // What the proof is printed after: the statement, or for a sorry the edited declaration.
    let splice = sorry.clone();
    let config = settings::session_config(&args.session.overlay(), settings)?;
    let session = Session::open(config)?;
    if args.session.search.save_model.is_some()
        && session.policies().spec().kind != prover::policy::PolicyKind::Learned
    {
        anyhow::bail!("--save-model needs --policy learned");
    }
    let interrupt = Interrupt::install(session.handle())?;
    preflight::ready(&session, &theorem.header)?;
    if let Some(planning) = &planning {
        planning.probe(session.handle())?;
    }
    let prover = session.prover();
    let extras =
        super::common::Extras::new(args.session.search.learn_online, args.trace.as_deref())?;
    let (_stop_sender, stop) = prover::pipeline::Stop::channel();
    let search = async move {
        let Some(goal) = sorry else {
            if let Some(planning) = &planning {
                return planning.prove(&prover, theorem, &stop).await;
            }
            return super::common::prove_with_extras(&prover, theorem, &extras, None).await;
        };
        let trace = extras
            .trace
            .is_some()
            .then(prover::pipeline::explore::TraceHook::default);
        let cancel = prover::search::CancelToken::new();
        let (result, hook) = prover.prove_sorry_cancellable(goal, trace, cancel).await;
        if let (Some(dir), Some(Some(hook))) = (&extras.trace, hook) {
            super::common::write_trace(dir, &result.name, &hook.into_record(&result).edges);
        }
        result
    };
    let result = session.handle().block_on(async {
        tokio::select! {
            result = search => Some(result),
            () = interrupt.wait() => None,
        }
    });
    let Some(result) = result else {
        let signal = interrupt.signal().unwrap_or(libc::SIGINT);
        super::cache::finish_run(&session);
        note!("prover prove: stopped by {}", Interrupt::name(signal));
        return Ok(Interrupt::exit_code(signal));
    };
    session.handle().block_on(session.pool().shutdown());
    super::cache::finish_run(&session);
    super::common::print_model_summary(&session);
    if let Some(path) = &args.session.search.save_model {
        super::common::save_model(&session, path)?;
    }

    if args.json {
        out!("{}", serde_json::to_string(&result)?)?;
    } else {
        match (&result.status, &result.proof) {
            (ProveStatus::Proved, Some(proof)) => match (&splice, &args.file) {
                (Some(goal), Some(file)) => {
                    let edited = goal.spliced(proof).text;
                    out!("{edited}")?;
                    if args.write {
                        write_in_place(file, &goal.header, &statement, &edited)?;
                    }
                }
                _ => out!("{}{proof}", statement)?,
            },
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
    }
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
    Ok(exit::settled_if(result.status == ProveStatus::Proved))
}

/// The theorem of `--statement`, with `--header` (or `import Mathlib`).
fn theorem_of_statement(
    statement: &str,
    header: Option<&std::path::Path>,
) -> anyhow::Result<Theorem> {
    let header = match header {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read header {}", path.display()))?,
        None => DEFAULT_HEADER.to_owned(),
    };
    let formal_statement = datasets::statement_ending_in_by(statement).with_context(|| {
        format!("--statement must end in `:= by` (or `:= by sorry`): {statement:?}")
    })?;
    let name =
        ::datasets::lean::declaration_name(&formal_statement).unwrap_or_else(|| "example".into());
    Ok(Theorem {
        name,
        header,
        formal_statement,
    })
}

/// Replaces `declaration` (after `header`) by `edited` in `file`, atomically, when the file
/// still begins with exactly that text; otherwise refuses (the proof is on stdout already).
fn write_in_place(
    file: &std::path::Path,
    header: &str,
    declaration: &str,
    edited: &str,
) -> anyhow::Result<()> {
    let now = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read --file {} again", file.display()))?;
    let Some(rest) = now
        .strip_prefix(header)
        .and_then(|r| r.strip_prefix(declaration))
    else {
        bail!(
            "--write: {} changed while the proof was searched; it is left as it is (the proof is \
             above)",
            file.display()
        );
    };
    let text = format!("{header}{edited}{rest}");
    ::datasets::write_atomic(file, text.as_bytes())
        .with_context(|| format!("cannot write --file {}", file.display()))?;
    note!("prover prove: the proof is in {}", file.display());
    Ok(())
}

/// The goal of the `sorry` at `at` in `file`, as the editor server reads it.
fn goal_at(file: &std::path::Path, at: &str) -> anyhow::Result<prover::SorryGoal> {
    use prover::text::source as text;
    let source = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read --file {}", file.display()))?;
    let (line, column) = at
        .split_once(':')
        .and_then(|(l, c)| Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?)))
        .filter(|(l, _)| *l >= 1)
        .with_context(|| {
            format!("--at must be LINE:COL (line from 1, column from 0), got {at:?}")
        })?;
    let line_start: usize = source
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let line_text = source[line_start..].lines().next().unwrap_or_default();
    let offset = line_start
        + line_text
            .char_indices()
            .nth(column)
            .map_or(line_text.len(), |(i, _)| i);
    let sorry = text::sorry_tokens(&source)
        .into_iter()
        .find(|s| s.start <= offset && offset <= s.end)
        .with_context(|| format!("{}:{at}: no `sorry` there", file.display()))?;
    let declaration = text::declaration_of(&source, sorry).with_context(|| {
        format!(
            "{}:{at}: this sorry is not inside a top-level theorem, lemma or example",
            file.display()
        )
    })?;
    Ok(prover::text::sorry_goal(&source, &declaration))
}
