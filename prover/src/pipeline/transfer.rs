//! `prover datasets transfer`: every proof a run found, re-checked in command mode against each
//! other lineage's statement of the same problem (`check`'s rules, through
//! [`Prover::submit`](crate::session::Prover::submit) as `Job::Check`), so a report can say
//! which results carry over between benchmark versions and which only hold for one wording.

use std::collections::BTreeMap;

use ::datasets::lineage::StatementIdentity;
use ::datasets::transfer::{TRANSFER_SCHEMA_VERSION, TransferOutcome, TransferRow};
use ::datasets::{HeaderOrigin, ProofTask, ProveResult, ProveStatus, Status, Theorem};

use crate::job::{Job, JobEnd, JobResult, NoObserver};
use crate::session::Session;

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
pub async fn run(
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
