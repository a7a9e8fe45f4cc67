//! `prover prove`: one theorem from a statement, or one `sorry` of a Lean file found as the editor server finds it, searched on a session of its own; the proof can go back into the file in the sorry's place.

use std::path::{Path, PathBuf};

use ::datasets::output::{FileKind, Input, Output, Target};
use ::datasets::{ProveResult, Theorem};

use super::extras::{self, Extras};
use super::plan::{PlannerRun, Planning};
use super::{Progress, RunError, RunEvent};
use crate::session::Session;
use crate::settings::{self, Overlay, SettingsFile};
use crate::text::SorryGoal;

/// The header used when `--header` is not given.
pub const DEFAULT_HEADER: &str = "import Mathlib\n";

/// What to prove.
#[derive(Debug, Clone)]
pub enum Goal {
    /// A theorem's statement, ending in `:= by` (or `:= by sorry`).
    Statement(String),
    /// The `sorry` at `at` (`LINE:COL`, Lean's lines and codepoint columns) in `file`.
    At {
        /// The Lean file.
        file: PathBuf,
        /// Where the sorry is.
        at: String,
    },
}

/// What `prover prove` is asked: plain values from the front end's flags.
#[derive(Debug, Clone)]
pub struct ProveRun {
    /// What to prove; `None` when the flags named neither form.
    pub goal: Option<Goal>,
    /// `--header FILE` for a statement.
    pub header: Option<PathBuf>,
    /// Put the proof into the file (`--write`).
    pub write: bool,
    /// `--trace DIR`.
    pub trace: Option<PathBuf>,
    /// `--save-model FILE`.
    pub save_model: Option<PathBuf>,
    /// The session's settings from the front end.
    pub overlay: Overlay,
    /// The planner's settings and `--plan-log` (off by default).
    pub planner: PlannerRun,
}

/// A proof search that ran, or was stopped.
pub struct Proving {
    /// The session it ran on.
    pub session: Session,
    /// Its result; `None` when stopped.
    pub result: Option<ProveResult>,
    /// The theorem's statement, or for a sorry its declaration as the file held it.
    pub statement: String,
    /// The sorry proved in place, if that was the goal.
    pub sorry: Option<SorryGoal>,
}

impl Proving {
    /// The text a proof makes: the statement followed by the proof, or for a sorry the
    /// declaration with the proof in its place.
    pub fn proved_text(&self, proof: &str) -> String {
        match &self.sorry {
            Some(goal) => goal.spliced(proof).text,
            None => format!("{}{proof}", self.statement),
        }
    }
}

/// Runs `prover prove`: checks the outputs, reads the goal, opens the session, preflights, and
/// searches (with the extras asked for) until the result or the stop.
pub fn run(
    request: ProveRun,
    settings: &SettingsFile,
    progress: &mut dyn Progress,
) -> Result<Proving, RunError> {
    let (theorem, sorry) = read_goal(&request)?;
    if sorry.is_some() && request.overlay.search.learn_online {
        return Err(RunError::Refused(
            "--learn-online proves theorems, not a sorry of a file (--file --at)".to_owned(),
        ));
    }
    let planning = open_planning(&request, settings, sorry.is_some())?;
    let statement = theorem.formal_statement.clone();
    let session = Session::open(settings::session_config(&request.overlay, settings)?)?;
    if request.save_model.is_some()
        && session.policies().spec().kind != crate::policy::PolicyKind::Learned
    {
        return Err(RunError::Refused(
            "--save-model needs --policy learned".to_owned(),
        ));
    }
    let stop = progress.stop_on(session.handle())?;
    // The workers the search runs its tactics on start now, elaborating the header while the
    // preflight and the statement's start run: else the first expansion's P tactics would each
    // start a REPL and elaborate the header after the statement's own (with Mathlib, a second
    // 5–15 s on the clock before the first tactic answers).
    let prewarmed = session.prewarm(&theorem.header, 1);
    tracing::debug!(target: super::TIMELINE, prewarmed, "workers prewarming");
    super::preflight::ready(&session, &theorem.header, &mut |url, probe| {
        progress.event(RunEvent::ModelProbed { url, probe });
    })?;
    if let Some(planning) = &planning {
        planning.probe(session.handle())?;
    }
    let prover = session.prover();
    let extras = Extras::new(
        request.overlay.search.learn_online,
        request.trace.as_deref(),
    )?;
    let (goal, done, plan_stop) = (sorry.clone(), extras.clone(), stop.clone());
    let search = async move {
        let Some(goal) = goal else {
            if let Some(planning) = &planning {
                let result = planning.prove(&prover, theorem, &plan_stop).await;
                return extras::Searched {
                    result,
                    unwritten_trace: None,
                };
            }
            return extras::prove(&prover, theorem, &done, None).await;
        };
        extras::prove_sorry(&prover, goal, &done).await
    };
    let searched = session.handle().block_on(async {
        tokio::select! {
            searched = search => Some(searched),
            () = stop.wait() => None,
        }
    });
    let result = searched.map(|searched| searched.report(&extras, progress));
    if result.is_some() {
        session.handle().block_on(session.pool().shutdown());
    }
    Ok(Proving {
        session,
        result,
        statement,
        sorry,
    })
}

/// The run's planner, when it is on: it plans theorems, not a sorry of a file, and does not
/// combine with learning online or `--trace` yet.
fn open_planning(
    request: &ProveRun,
    settings: &SettingsFile,
    in_place: bool,
) -> Result<Option<Planning>, RunError> {
    let inputs: Vec<&Path> = (request.header.iter())
        .chain(&request.planner.overlay.planner_prompt)
        .map(PathBuf::as_path)
        .collect();
    let Some(planning) = Planning::open(&request.planner, settings, false, &inputs)? else {
        return Ok(None);
    };
    if in_place {
        return Err(RunError::Refused(
            "--planner plans theorems, not a sorry of a file (--file --at)".to_owned(),
        ));
    }
    planning.refuse_extras(request.overlay.search.learn_online, request.trace.is_some())?;
    Ok(Some(planning))
}

/// Checks the outputs (`--write` edits `--file` in place by design: it is checked as an
/// output, the other outputs against it as an input) and reads the goal.
fn read_goal(request: &ProveRun) -> Result<(Theorem, Option<SorryGoal>), RunError> {
    let mut inputs: Vec<Input<'_>> = request
        .header
        .iter()
        .map(|path| Input {
            flag: "--header",
            path,
        })
        .collect();
    let mut outputs: Vec<Output<'_>> = Vec::new();
    match (&request.goal, request.write) {
        (Some(Goal::At { file, .. }), true) => outputs.push(Output {
            flag: "--file (with --write)",
            path: file,
            target: Target::File(FileKind::Unknown),
        }),
        (Some(Goal::At { file, .. }), false) => inputs.push(Input {
            flag: "--file",
            path: file,
        }),
        _ => {}
    }
    outputs.extend(super::run::trace_output(request.trace.as_deref()));
    outputs.extend(request.planner.output());
    inputs.extend(request.planner.input());
    super::run::session_files(
        request.overlay.search.learned_model.as_deref(),
        request.save_model.as_deref(),
        &mut inputs,
        &mut outputs,
    );
    let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
    match &request.goal {
        Some(Goal::Statement(statement)) => Ok((
            theorem_of_statement(statement, request.header.as_deref())?,
            None,
        )),
        Some(Goal::At { file, at }) => {
            let goal = goal_at(file, at)?;
            let theorem = Theorem {
                name: goal.name.clone(),
                header: goal.header.clone(),
                formal_statement: goal.declaration.clone(),
            };
            Ok((theorem, Some(goal)))
        }
        None => Err(RunError::Refused(
            "pass --statement TEXT, or --file FILE.lean --at LINE:COL".to_owned(),
        )),
    }
}

/// The theorem of a statement, with `header` (or `import Mathlib`).
fn theorem_of_statement(statement: &str, header: Option<&Path>) -> Result<Theorem, RunError> {
    let header = match header {
        Some(path) => std::fs::read_to_string(path).map_err(|source| RunError::Io {
            what: format!("cannot read header {}", path.display()),
            source,
        })?,
        None => DEFAULT_HEADER.to_owned(),
    };
    let formal_statement =
        ::datasets::lean::statement_ending_in_by(statement).ok_or_else(|| {
            RunError::Refused(format!(
                "--statement must end in `:= by` (or `:= by sorry`): {statement:?}"
            ))
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
/// still begins with exactly that text; otherwise refuses (the proof was shown already).
pub fn write_in_place(
    file: &Path,
    header: &str,
    declaration: &str,
    edited: &str,
) -> Result<(), RunError> {
    let now = std::fs::read_to_string(file).map_err(|source| RunError::Io {
        what: format!("cannot read --file {} again", file.display()),
        source,
    })?;
    let Some(rest) = now
        .strip_prefix(header)
        .and_then(|r| r.strip_prefix(declaration))
    else {
        return Err(RunError::Refused(format!(
            "--write: {} changed while the proof was searched; it is left as it is (the proof is \
             above)",
            file.display()
        )));
    };
    let text = format!("{header}{edited}{rest}");
    ::datasets::write_atomic(file, text.as_bytes()).map_err(|source| RunError::Io {
        what: format!("cannot write --file {}", file.display()),
        source,
    })
}

/// The goal of the `sorry` at `at` in `file`, as the editor server reads it.
fn goal_at(file: &Path, at: &str) -> Result<SorryGoal, RunError> {
    use crate::text::source as text;
    let source = std::fs::read_to_string(file).map_err(|source| RunError::Io {
        what: format!("cannot read --file {}", file.display()),
        source,
    })?;
    let (line, column) = at
        .split_once(':')
        .and_then(|(l, c)| Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?)))
        .filter(|(l, _)| *l >= 1)
        .ok_or_else(|| {
            RunError::Refused(format!(
                "--at must be LINE:COL (line from 1, column from 0), got {at:?}"
            ))
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
        .ok_or_else(|| RunError::Refused(format!("{}:{at}: no `sorry` there", file.display())))?;
    let declaration = text::declaration_of(&source, sorry).ok_or_else(|| {
        RunError::Refused(format!(
            "{}:{at}: this sorry is not inside a top-level theorem, lemma or example",
            file.display()
        ))
    })?;
    Ok(crate::text::sorry_goal(&source, &declaration))
}
