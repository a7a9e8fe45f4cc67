//! `prover datasets transfer`: every proof a run found, re-checked in command mode against each
//! other lineage's statement of the same problem (`check`'s rules, through
//! [`Prover::submit`](crate::session::Prover::submit) as `Job::Check`), so a report can say
//! which results carry over between benchmark versions and which only hold for one wording.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ::datasets::lineage::StatementIdentity;
use ::datasets::transfer::{TRANSFER_SCHEMA_VERSION, TransferOutcome, TransferRow};
use ::datasets::{HeaderOrigin, ProofTask, ProveResult, ProveStatus, Status, Theorem};

use ::datasets::lineage::Registry;
use ::datasets::output::{FileKind, Input, Output, Target};

use super::run as manifest;
use super::{Progress, RunError, RunEvent};
use crate::job::{Job, JobEnd, JobResult, NoObserver};
use crate::session::Session;
use crate::settings::{self, Overlay, SettingsFile};

/// What `prover datasets transfer` is asked: plain values from the front end's flags.
#[derive(Debug, Clone)]
pub struct TransferRun {
    /// Results files of `prover eval` on registry datasets.
    pub results: Vec<PathBuf>,
    /// The lineages' datasets whose statements the proofs are checked against.
    pub datasets: Vec<PathBuf>,
    /// The transfer file to write.
    pub out: PathBuf,
    /// `--save-model FILE` (checked as an output, as every session's).
    pub save_model: Option<PathBuf>,
    /// The session's settings from the front end.
    pub overlay: Overlay,
}

/// A transfer's events, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransferEvent<'a> {
    /// A line of a results file that cannot be read, skipped.
    SkippedLine {
        /// The results file.
        path: &'a Path,
        /// The line, from 1.
        line: usize,
        /// Why.
        reason: &'a str,
    },
    /// The checks planned, before the session opens.
    Planned {
        /// How many.
        checks: usize,
    },
}

/// What a transfer decided.
pub struct TransferEnd {
    /// The session it ran on.
    pub session: Session,
    /// Every row written to `--out`.
    pub rows: Vec<TransferRow>,
    /// Whether the run was stopped before its end.
    pub stopped: bool,
}

impl std::fmt::Debug for TransferEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferEnd")
            .field("rows", &self.rows.len())
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl TransferEnd {
    /// Per pair of lineages (from, to), the proofs that transfer, do not, and ended in error.
    pub fn pairs(&self) -> BTreeMap<(&str, &str), [usize; 3]> {
        let mut pairs: BTreeMap<(&str, &str), [usize; 3]> = BTreeMap::new();
        for row in &self.rows {
            let counts = pairs
                .entry((row.from_lineage.as_str(), row.to_lineage.as_str()))
                .or_default();
            counts[match row.transfer {
                TransferOutcome::Transfers => 0,
                TransferOutcome::DoesNot => 1,
                TransferOutcome::Error => 2,
            }] += 1;
        }
        pairs
    }
}

/// Runs `prover datasets transfer`: every proof of the results files re-checked against each
/// other lineage's statement of its problem, written (sorted) to `--out` once all are decided.
pub fn run(
    request: TransferRun,
    settings: &SettingsFile,
    progress: &mut dyn Progress,
) -> Result<TransferEnd, RunError> {
    check_outputs(&request)?;
    let results = read_results(&request.results, progress)?;
    let (targets, case_fold) = read_targets(&request.datasets)?;
    let tasks = plan(&results, &targets, case_fold);
    progress.event(RunEvent::Transfer(TransferEvent::Planned {
        checks: tasks.len(),
    }));
    let session = Session::open(settings::session_config(&request.overlay, settings)?)?;
    let workers = session.pool().config().workers;
    let concurrency = settings::concurrency(None, settings, workers)?;
    let stop = progress.stop_on(session.handle())?;
    let mut rows: Vec<TransferRow> = Vec::new();
    session
        .handle()
        .block_on(check_all(&session, tasks, concurrency, &stop, |row| {
            rows.push(row);
            Ok(())
        }))?;
    if !stop.is_set() {
        session.handle().block_on(session.pool().shutdown());
    }
    ::datasets::write_atomic(
        &request.out,
        ::datasets::transfer::transfers_text(&rows).as_bytes(),
    )
    .map_err(|source| RunError::Io {
        what: format!("cannot write --out {}", request.out.display()),
        source,
    })?;
    Ok(TransferEnd {
        session,
        rows,
        stopped: stop.is_set(),
    })
}

/// Checks the transfer's outputs against its inputs.
fn check_outputs(request: &TransferRun) -> Result<(), RunError> {
    let mut inputs: Vec<Input<'_>> = (request.results.iter())
        .map(|path| Input {
            flag: "results",
            path,
        })
        .chain(request.datasets.iter().map(|path| Input {
            flag: "--dataset",
            path,
        }))
        .collect();
    let mut outputs = vec![Output {
        flag: "--out",
        path: &request.out,
        target: Target::File(FileKind::TransferRows),
    }];
    manifest::session_files(
        request.overlay.search.learned_model.as_deref(),
        request.save_model.as_deref(),
        &mut inputs,
        &mut outputs,
    );
    let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
    Ok(())
}

/// The rows of every results file (a line that cannot be read is skipped and told to
/// `progress`); a file whose rows name no lineage is refused.
fn read_results(
    paths: &[PathBuf],
    progress: &mut dyn Progress,
) -> Result<Vec<ProveResult>, RunError> {
    let mut results = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|source| RunError::Io {
            what: format!("cannot read results {}", path.display()),
            source,
        })?;
        let (rows, errors) = ::datasets::read_prove_results(&bytes);
        for error in errors {
            progress.event(RunEvent::Transfer(TransferEvent::SkippedLine {
                path,
                line: error.line,
                reason: &error.reason,
            }));
        }
        if !rows.iter().any(|r| r.lineage.is_some()) {
            return Err(RunError::Refused(format!(
                "results {} name no lineage: its rows were computed on a dataset that names \
                 none (fetch it with `prover datasets fetch`)",
                path.display()
            )));
        }
        results.extend(rows);
    }
    Ok(results)
}

/// Each lineage's statements of its problems, by lineage.
type Targets = BTreeMap<String, Vec<(Theorem, StatementIdentity)>>;

/// The statements of the `--dataset` files, each row naming its lineage, and whether any
/// lineage compares problem ids without case.
fn read_targets(paths: &[PathBuf]) -> Result<(Targets, bool), RunError> {
    let mut targets = Targets::new();
    let mut case_fold = false;
    for path in paths {
        let (bytes, theorems) = manifest::read_dataset(path, "--dataset")?;
        let identities =
            ::datasets::lineage::dataset_identities(&String::from_utf8_lossy(&bytes), &theorems);
        for theorem in theorems {
            let identity = identities[&theorem.name].clone();
            let Some(lineage) = identity.lineage.clone() else {
                return Err(RunError::Refused(format!(
                    "--dataset {}: row {} names no lineage",
                    path.display(),
                    theorem.name
                )));
            };
            case_fold |= Registry::builtin()
                .get(&lineage)
                .is_ok_and(|l| l.names.case_fold);
            targets
                .entry(lineage)
                .or_default()
                .push((theorem, identity));
        }
    }
    Ok((targets, case_fold))
}

/// One proof to re-check against one other lineage's statement.
#[derive(Debug, Clone)]
pub struct TransferTask {
    /// The lineage the proof was found for.
    pub from_lineage: String,
    /// The lineage of the statement it is checked against.
    pub to_lineage: String,
    /// The canonical problem id.
    pub problem_id: String,
    /// Whether the statements' hashes differ.
    pub statement_differs: bool,
    /// The check: the target lineage's header and statement with the proof.
    pub task: ProofTask,
}

/// The key problems are matched by: the problem id, case-folded when asked.
fn key(problem_id: &str, case_fold: bool) -> String {
    super::audit::problem_key(problem_id, case_fold)
}

/// The re-checks of `results` (rows of runs, each naming its lineage) against `targets` (each
/// lineage's theorems with their identities): every proved row (the first per lineage and
/// problem) against every other lineage's statement of its problem, in a stable order.
pub fn plan(
    results: &[ProveResult],
    targets: &BTreeMap<String, Vec<(Theorem, StatementIdentity)>>,
    case_fold: bool,
) -> Vec<TransferTask> {
    // (lineage, problem) → (the statement hash the proof was found for, the proof).
    let mut proofs: BTreeMap<(String, String), (Option<String>, String)> = BTreeMap::new();
    for row in ::datasets::standing_results(results.to_vec()) {
        if row.status != ProveStatus::Proved {
            continue;
        }
        let (Some(lineage), Some(problem), Some(proof)) = (row.lineage, row.problem_id, row.proof)
        else {
            continue;
        };
        proofs
            .entry((lineage, key(&problem, case_fold)))
            .or_insert((row.statement_hash, proof));
    }
    let mut tasks = Vec::new();
    for ((from, problem_key), (hash, proof)) in proofs {
        for (to, theorems) in targets {
            if *to == from {
                continue;
            }
            for (theorem, identity) in theorems {
                if key(&identity.problem_id, case_fold) != problem_key {
                    continue;
                }
                tasks.push(TransferTask {
                    from_lineage: from.clone(),
                    to_lineage: to.clone(),
                    problem_id: identity.problem_id.clone(),
                    statement_differs: hash.as_deref() != Some(identity.statement_hash.as_str()),
                    task: ProofTask {
                        line: 0,
                        name: theorem.name.clone(),
                        header: theorem.header.clone(),
                        formal_statement: theorem.formal_statement.clone(),
                        proof: proof.clone(),
                        header_origin: HeaderOrigin::Reference,
                    },
                });
            }
        }
    }
    tasks
}

/// Runs the re-checks on `session`, at most `concurrency` at once through
/// [`super::batch::run`], handing each row to `done` as it is decided.
pub async fn check_all(
    session: &Session,
    tasks: Vec<TransferTask>,
    concurrency: usize,
    stop: &super::Stop,
    done: impl FnMut(TransferRow) -> Result<(), super::PipelineError>,
) -> Result<(), super::PipelineError> {
    let prover = session.prover();
    // No model server is waited on (checks propose nothing), so the batch's end holds no outage.
    let _end = super::batch::run(
        tasks,
        concurrency,
        stop,
        None,
        move |task: TransferTask| {
            let prover = prover.clone();
            async move {
                let end = prover
                    .submit(Job::Check(task.task.clone()), NoObserver)
                    .wait()
                    .await;
                let (transfer, detail) = match end {
                    JobEnd::Finished(JobResult::Check(result)) => match result.status {
                        Status::Valid => (TransferOutcome::Transfers, String::new()),
                        Status::Invalid => (
                            TransferOutcome::DoesNot,
                            result.reasons.first().cloned().unwrap_or_default(),
                        ),
                        Status::Error => (
                            TransferOutcome::Error,
                            result.reasons.first().cloned().unwrap_or_default(),
                        ),
                    },
                    _ => (
                        TransferOutcome::Error,
                        "the check did not finish".to_owned(),
                    ),
                };
                TransferRow {
                    schema_version: TRANSFER_SCHEMA_VERSION,
                    from_lineage: task.from_lineage,
                    to_lineage: task.to_lineage,
                    problem_id: task.problem_id,
                    name: task.task.name,
                    statement_differs: task.statement_differs,
                    transfer,
                    detail,
                }
            }
        },
        done,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(lineage: &str, problem: &str, statement: &str) -> StatementIdentity {
        StatementIdentity {
            lineage: Some(lineage.into()),
            problem_id: problem.into(),
            statement_hash: ::datasets::lineage::statement_hash(statement),
            text_hash: String::new(),
        }
    }

    #[test]
    fn each_proof_is_planned_against_every_other_lineages_statement_of_its_problem() {
        let statement_a = "theorem p (n : ℕ) : n + 0 = n := by";
        let statement_b = "theorem P (n : ℕ) : 0 + n = n := by";
        let proved = |lineage: &str, name: &str, statement: &str, proof: &str| ProveResult {
            proof: Some(proof.into()),
            lineage: Some(lineage.into()),
            problem_id: Some(name.into()),
            statement_hash: Some(::datasets::lineage::statement_hash(statement)),
            ..ProveResult::unsearched(name, ProveStatus::Proved, 0, std::time::Instant::now())
        };
        let results = vec![
            proved("a", "p", statement_a, "\n  simp"),
            proved("a", "p", statement_a, "\n  omega"),
            ProveResult {
                lineage: Some("a".into()),
                problem_id: Some("q".into()),
                ..ProveResult::unsearched("q", ProveStatus::Failed, 0, std::time::Instant::now())
            },
        ];
        let theorem = |name: &str, statement: &str| Theorem {
            name: name.into(),
            header: "import Mathlib\n".into(),
            formal_statement: statement.into(),
        };
        let mut targets = BTreeMap::new();
        targets.insert(
            "a".to_owned(),
            vec![(theorem("p", statement_a), identity("a", "p", statement_a))],
        );
        targets.insert(
            "b".to_owned(),
            vec![
                (theorem("P", statement_b), identity("b", "P", statement_b)),
                (theorem("q", statement_b), identity("b", "q", statement_b)),
            ],
        );
        let tasks = plan(&results, &targets, true);
        assert_eq!(
            tasks.len(),
            1,
            "one proof per problem, never against its own lineage"
        );
        let task = &tasks[0];
        assert_eq!(
            (task.from_lineage.as_str(), task.to_lineage.as_str()),
            ("a", "b")
        );
        assert!(task.statement_differs);
        assert_eq!(task.task.proof, "\n  simp");
        assert_eq!(task.task.formal_statement, statement_b);
        assert!(
            plan(&results, &targets, false).is_empty(),
            "`p` is not `P` without case folding"
        );
    }
}
