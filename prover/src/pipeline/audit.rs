//! `prover datasets audit`: degenerate statements flagged once per lineage, through the REPL
//! pool and the session's provers.
//!
//! For each problem: the statement is elaborated with `sorry` (`does_not_elaborate` with Lean's
//! first error when it is refused; else the root goal's hypotheses against the binders the
//! statement writes: `auto_bound` with the extra binders); the portfolio searches it with one
//! expansion (`trivial`, with the one-step proof) and searches `False` from its binders within
//! the audit budget (`vacuous`, with the refuting proof); and its statement hash is compared
//! with other lineages' rows of the same problem (`differs_from`). Every search goes through
//! [`Prover::submit`](crate::session::Prover::submit) on the session's cache, and a problem the
//! flags file already answers for the same statement and budget is not audited again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ::datasets::audit::{AuditRow, FLAGS_SCHEMA_VERSION, Flag, FlagKind, flags_text};
use ::datasets::lineage::{Registry, StatementIdentity};
use ::datasets::output::{FileKind, Input, Output, Target};
use ::datasets::{ProveStatus, Theorem};
use lean_bridge::pool::StartReply;

use super::run as manifest;
use super::{PipelineError, Progress, RunError, RunEvent};
use crate::job::{Goal, Job, NoObserver};
use crate::session::{Prover, Session};
use crate::settings::{self, Overlay, SettingsFile};

/// What `prover datasets audit` is asked: plain values from the front end's flags.
#[derive(Debug, Clone)]
pub struct AuditRun {
    /// The dataset to audit.
    pub dataset: PathBuf,
    /// Other lineages' files of the same problems (`--compare`).
    pub compare: Vec<PathBuf>,
    /// The flags file; `None`: next to the dataset (`datasets::audit::flags_path_for`).
    pub out: Option<PathBuf>,
    /// Expansions of the vacuity search.
    pub audit_expansions: u32,
    /// Audit every problem again.
    pub fresh: bool,
    /// `--save-model FILE` (checked as an output, as every session's).
    pub save_model: Option<PathBuf>,
    /// The session's settings from the front end.
    pub overlay: Overlay,
}

/// An audit's events, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuditEvent<'a> {
    /// A line of the flags file that cannot be read: its problem is audited again.
    UnreadFlags {
        /// The flags file.
        out: &'a Path,
        /// The line, from 1.
        line: usize,
        /// Why.
        reason: &'a str,
    },
    /// Problems the flags file already answers (same statements, same budget).
    AlreadyAudited {
        /// How many.
        kept: usize,
        /// The dataset's problems.
        problems: usize,
        /// The flags file.
        out: &'a Path,
    },
    /// One problem audited and the flags file rewritten.
    Audited {
        /// Its row.
        row: &'a AuditRow,
        /// Problems this run audited so far, this one included.
        decided: usize,
        /// Problems this run audits.
        total: usize,
    },
}

/// What an audit decided.
pub struct AuditEnd {
    /// The session it ran on.
    pub session: Session,
    /// The flags file.
    pub out: PathBuf,
    /// Every row of the flags file, kept and new.
    pub rows: Vec<AuditRow>,
    /// The dataset's problems.
    pub problems: usize,
    /// Whether the run was stopped before its end.
    pub stopped: bool,
}

impl std::fmt::Debug for AuditEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditEnd")
            .field("out", &self.out)
            .field("rows", &self.rows.len())
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl AuditEnd {
    /// How many rows carry each flag, by the flag's name.
    pub fn flag_counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for flag in self.rows.iter().flat_map(|row| &row.flags) {
            *counts.entry(flag.flag.as_str()).or_default() += 1;
        }
        counts
    }

    /// Rows with at least one flag.
    pub fn flagged(&self) -> usize {
        self.rows.iter().filter(|r| !r.flags.is_empty()).count()
    }

    /// Rows audited only in part (audited again next time).
    pub fn incomplete(&self) -> usize {
        self.rows.iter().filter(|r| r.incomplete).count()
    }

    /// Whether every problem has a complete row.
    pub fn settled(&self) -> bool {
        self.incomplete() == 0 && self.rows.len() == self.problems
    }
}

/// Runs `prover datasets audit`: every problem of the dataset not already answered by its
/// flags file (same statement, same budget) is audited through the session's REPL pool, and
/// the flags file is rewritten whole after each problem, so nothing decided is lost to an
/// interruption.
pub fn run(
    request: AuditRun,
    settings: &SettingsFile,
    progress: &mut dyn Progress,
) -> Result<AuditEnd, RunError> {
    let out = request
        .out
        .clone()
        .unwrap_or_else(|| ::datasets::audit::flags_path_for(&request.dataset));
    check_outputs(&request, &out)?;
    let (bytes, theorems) = manifest::read_dataset(&request.dataset, "dataset")?;
    let identities =
        ::datasets::lineage::dataset_identities(&String::from_utf8_lossy(&bytes), &theorems);
    let lineages: BTreeSet<&str> = identities
        .values()
        .filter_map(|i| i.lineage.as_deref())
        .collect();
    // Problem ids are compared without case where the registry's name map says so.
    let case_fold = lineages.iter().any(|id| {
        Registry::builtin()
            .get(id)
            .is_ok_and(|lineage| lineage.names.case_fold)
    });
    let others = compared(&request.compare, case_fold)?;
    let session = Session::open(settings::session_config(&request.overlay, settings)?)?;
    let plan = Arc::new(AuditPlan {
        problems: theorems
            .iter()
            .map(|t| (t.clone(), identities[&t.name].clone()))
            .collect(),
        others,
        case_fold,
        budget_expansions: request.audit_expansions,
        statement_deadline: session.prove_config().statement_deadline,
    });
    let earlier = earlier_rows(&out, request.fresh, progress);
    let (todo, kept) = plan.left_to_audit(earlier);
    if !kept.is_empty() {
        progress.event(RunEvent::Audit(AuditEvent::AlreadyAudited {
            kept: kept.len(),
            problems: plan.problems.len(),
            out: &out,
        }));
    }
    let mut rows = kept;
    write_flags(&out, &rows)?;
    let workers = session.pool().config().workers;
    let concurrency = settings::concurrency(None, settings, workers)?;
    let stop = progress.stop_on(session.handle())?;
    let (total, mut decided) = (todo.len(), 0usize);
    session.handle().block_on(audit_all(
        &session,
        plan.clone(),
        todo,
        concurrency,
        &stop,
        |row| {
            decided += 1;
            let event = AuditEvent::Audited {
                row: &row,
                decided,
                total,
            };
            progress.event(RunEvent::Audit(event));
            rows.push(row);
            write_flags(&out, &rows)
        },
    ))?;
    if !stop.is_set() {
        session.handle().block_on(session.pool().shutdown());
    }
    Ok(AuditEnd {
        session,
        out,
        rows,
        problems: plan.problems.len(),
        stopped: stop.is_set(),
    })
}

/// Checks the audit's outputs against its inputs.
fn check_outputs(request: &AuditRun, out: &Path) -> Result<(), RunError> {
    let mut inputs = vec![Input {
        flag: "--dataset",
        path: &request.dataset,
    }];
    inputs.extend(request.compare.iter().map(|path| Input {
        flag: "--compare",
        path,
    }));
    let mut outputs = vec![Output {
        flag: "--out",
        path: out,
        target: Target::File(FileKind::AuditFlags),
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

/// The other lineages' statements of each problem (`--compare`), by problem key.
fn compared(
    paths: &[PathBuf],
    case_fold: bool,
) -> Result<BTreeMap<String, Vec<(String, StatementIdentity)>>, RunError> {
    let mut others: BTreeMap<String, Vec<(String, StatementIdentity)>> = BTreeMap::new();
    for path in paths {
        let (other_bytes, other_theorems) = manifest::read_dataset(path, "--compare")?;
        let other = ::datasets::lineage::dataset_identities(
            &String::from_utf8_lossy(&other_bytes),
            &other_theorems,
        );
        for identity in other.into_values() {
            let source = identity
                .lineage
                .clone()
                .unwrap_or_else(|| path.display().to_string());
            others
                .entry(problem_key(&identity.problem_id, case_fold))
                .or_default()
                .push((source, identity));
        }
    }
    Ok(others)
}

/// The rows the flags file holds (none with `fresh` or without a file); a line that cannot be
/// read is told to `progress` and its problem audited again.
fn earlier_rows(out: &Path, fresh: bool, progress: &mut dyn Progress) -> Vec<AuditRow> {
    if fresh {
        return Vec::new();
    }
    let Ok(text) = std::fs::read_to_string(out) else {
        return Vec::new();
    };
    let (rows, errors) = ::datasets::audit::read_flags(&text);
    for error in errors {
        progress.event(RunEvent::Audit(AuditEvent::UnreadFlags {
            out,
            line: error.line,
            reason: &error.reason,
        }));
    }
    rows
}

/// Rewrites the flags file whole with `rows`.
fn write_flags(out: &Path, rows: &[AuditRow]) -> Result<(), PipelineError> {
    ::datasets::write_atomic(out, flags_text(rows).as_bytes()).map_err(|source| PipelineError::Io {
        path: out.to_owned(),
        source,
    })
}

/// What an audit looks at.
#[derive(Debug, Clone)]
pub struct AuditPlan {
    /// The dataset's theorems, each with its identity.
    pub problems: Vec<(Theorem, StatementIdentity)>,
    /// Other lineages' identities, by their matching key (see [`problem_key`]), with their
    /// lineage or file name.
    pub others: BTreeMap<String, Vec<(String, StatementIdentity)>>,
    /// Whether problem ids are compared without case.
    pub case_fold: bool,
    /// Expansions of the vacuity search.
    pub budget_expansions: u32,
    /// How long elaborating a statement may take.
    pub statement_deadline: Duration,
}

/// The key problems are matched by across lineages.
pub fn problem_key(problem_id: &str, case_fold: bool) -> String {
    if case_fold {
        problem_id.to_lowercase()
    } else {
        problem_id.to_owned()
    }
}

impl AuditPlan {
    /// The problems `earlier` (a flags file's rows) does not answer for the same statement and
    /// budget, and the rows it does answer (kept as they are).
    pub fn left_to_audit(&self, earlier: Vec<AuditRow>) -> (Vec<usize>, Vec<AuditRow>) {
        let by_name: BTreeMap<String, AuditRow> =
            earlier.into_iter().map(|r| (r.name.clone(), r)).collect();
        let mut todo = Vec::new();
        let mut kept = Vec::new();
        for (index, (theorem, identity)) in self.problems.iter().enumerate() {
            match by_name.get(&theorem.name) {
                Some(row)
                    if row.statement_hash == identity.statement_hash
                        && row.budget_expansions == self.budget_expansions
                        && !row.incomplete =>
                {
                    // `differs_from` depends on the files compared now, not then.
                    let mut row = row.clone();
                    row.flags.retain(|f| f.flag != FlagKind::DiffersFrom);
                    row.flags.extend(self.differs_from(identity));
                    row.flags.sort();
                    kept.push(row);
                }
                _ => todo.push(index),
            }
        }
        (todo, kept)
    }

    /// `differs_from` flags of one problem: every other lineage's row of the same problem whose
    /// statement hash differs.
    pub fn differs_from(&self, identity: &StatementIdentity) -> Vec<Flag> {
        let key = problem_key(&identity.problem_id, self.case_fold);
        self.others
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|(_, other)| other.statement_hash != identity.statement_hash)
            .map(|(source, other)| Flag {
                flag: FlagKind::DiffersFrom,
                evidence: format!(
                    "{source}: statement hash {} (this lineage: {})",
                    &other.statement_hash[..12.min(other.statement_hash.len())],
                    &identity.statement_hash[..12.min(identity.statement_hash.len())]
                ),
            })
            .collect()
    }

    /// Audits problem `index` (see the module's description).
    pub async fn audit_one(&self, session_pool: &PoolAndProvers, index: usize) -> AuditRow {
        let (theorem, identity) = &self.problems[index];
        let mut row = AuditRow {
            schema_version: FLAGS_SCHEMA_VERSION,
            name: theorem.name.clone(),
            lineage: identity.lineage.clone(),
            problem_id: identity.problem_id.clone(),
            statement_hash: identity.statement_hash.clone(),
            budget_expansions: self.budget_expansions,
            flags: self.differs_from(identity),
            incomplete: false,
        };
        let statement = ::datasets::lean::with_sorry(&theorem.formal_statement);
        let started = session_pool
            .pool
            .start_proof(&theorem.header, &statement, self.statement_deadline)
            .await;
        match started {
            Ok(StartReply::Started(handle)) => {
                if let (Some(signature), Some(goal)) = (
                    ::datasets::audit::signature(&theorem.formal_statement),
                    handle.goals().first(),
                ) {
                    let extra = ::datasets::audit::auto_bound(signature.binders, goal);
                    if !extra.is_empty() {
                        row.flags.push(Flag {
                            flag: FlagKind::AutoBound,
                            evidence: format!(
                                "bound but not written: {}; Lean's goal:\n{goal}",
                                extra.join(", ")
                            ),
                        });
                    }
                }
            }
            Ok(StartReply::Rejected(messages)) | Ok(StartReply::HeaderRejected(messages)) => {
                let first = messages
                    .iter()
                    .find(|m| m.is_error())
                    .map(|m| m.data.clone())
                    .unwrap_or_else(|| "no proof state for the statement's sorry".to_owned());
                row.flags.push(Flag {
                    flag: FlagKind::DoesNotElaborate,
                    evidence: first,
                });
                row.flags.sort();
                return row;
            }
            Err(error) => {
                tracing::warn!("audit of {}: {error}", theorem.name);
                row.incomplete = true;
                row.flags.sort();
                return row;
            }
        }
        let trivial = prove(&session_pool.trivial, theorem.clone()).await;
        match trivial.status {
            ProveStatus::Proved => row.flags.push(Flag {
                flag: FlagKind::Trivial,
                evidence: trivial.proof.unwrap_or_default(),
            }),
            ProveStatus::Error => row.incomplete |= !statement_refused(&trivial),
            ProveStatus::Failed => {}
        }
        let name = ::datasets::lean::declaration_name(&theorem.formal_statement)
            .unwrap_or_else(|| "audit".to_owned());
        if let Some(refutation) = ::datasets::audit::vacuity_statement(
            &theorem.formal_statement,
            &format!("{name}_audit_vacuous"),
        ) {
            let refuted = prove(
                &session_pool.vacuous,
                Theorem {
                    name: format!("{}_audit_vacuous", theorem.name),
                    header: theorem.header.clone(),
                    formal_statement: refutation.clone(),
                },
            )
            .await;
            match refuted.status {
                ProveStatus::Proved => row.flags.push(Flag {
                    flag: FlagKind::Vacuous,
                    // The proof is the text after `:= by`, so the two make the refuting theorem.
                    evidence: format!("{refutation}{}", refuted.proof.unwrap_or_default()),
                }),
                // A `False` statement Lean refuses is no refutation (and nothing to redo).
                ProveStatus::Error => row.incomplete |= !statement_refused(&refuted),
                ProveStatus::Failed => {}
            }
        }
        row.flags.sort();
        row
    }
}

/// Audits the problems `todo` (indices into the plan's problems) on `session`, at most
/// `concurrency` at once through [`super::batch::run`], handing each row to `done` as it is
/// decided; nothing is started after `stop`.
pub async fn audit_all(
    session: &Session,
    plan: std::sync::Arc<AuditPlan>,
    todo: Vec<usize>,
    concurrency: usize,
    stop: &super::Stop,
    done: impl FnMut(AuditRow) -> Result<(), super::PipelineError>,
) -> Result<(), super::PipelineError> {
    let provers = PoolAndProvers::of(session, plan.budget_expansions);
    // No model server is waited on (the audit runs the portfolio), so the batch's end holds
    // no outage to report.
    let _end = super::batch::run(
        todo,
        concurrency,
        stop,
        None,
        move |index| {
            let (plan, provers) = (plan.clone(), provers.clone());
            async move { plan.audit_one(&provers, index).await }
        },
        done,
    )
    .await?;
    Ok(())
}

/// Whether a search's `error` is Lean refusing the statement (a verdict about it), not an
/// infrastructure failure (which leaves the audit incomplete).
fn statement_refused(result: &::datasets::ProveResult) -> bool {
    matches!(
        result.stop_reason,
        Some(::datasets::StopCode::StatementRejected | ::datasets::StopCode::HeaderRejected)
    )
}

/// The pool and the two provers an audit searches with.
#[derive(Clone)]
pub struct PoolAndProvers {
    pool: std::sync::Arc<lean_bridge::pool::ReplPool>,
    trivial: Prover,
    vacuous: Prover,
}

impl PoolAndProvers {
    /// From a session: one prover limited to one expansion (depth 1), one to `budget`.
    pub fn of(session: &Session, budget: u32) -> PoolAndProvers {
        let prover = session.prover();
        let limited = |expansions: u32| {
            let mut config = prover.config().clone();
            config.search.max_expansions = Some(expansions);
            prover.with_config(config)
        };
        PoolAndProvers {
            pool: session.pool().clone(),
            trivial: limited(1),
            vacuous: limited(budget.max(1)),
        }
    }
}

/// One search of `theorem` through [`Prover::submit`], its result read back.
async fn prove(prover: &Prover, theorem: Theorem) -> ::datasets::ProveResult {
    let name = theorem.name.clone();
    prover
        .submit(Job::Prove(Goal::Theorem(theorem)), NoObserver)
        .wait()
        .await
        .prove_result(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(problem: &str, hash: &str) -> StatementIdentity {
        StatementIdentity {
            lineage: Some("a@1".into()),
            problem_id: problem.into(),
            statement_hash: hash.into(),
            text_hash: String::new(),
        }
    }

    fn theorem(name: &str) -> Theorem {
        Theorem {
            name: name.into(),
            header: String::new(),
            formal_statement: format!("theorem {name} : True := by"),
        }
    }

    #[test]
    fn earlier_rows_answer_only_the_same_statement_and_budget_and_differs_from_is_recomputed() {
        let mut others = BTreeMap::new();
        others.insert(
            "p".to_owned(),
            vec![("b@2".to_owned(), identity("P", &"9".repeat(40)))],
        );
        let plan = AuditPlan {
            problems: vec![
                (theorem("P"), identity("P", &"1".repeat(40))),
                (theorem("q"), identity("q", &"2".repeat(40))),
                (theorem("r"), identity("r", &"3".repeat(40))),
            ],
            others,
            case_fold: true,
            budget_expansions: 8,
            statement_deadline: Duration::from_secs(1),
        };
        let row = |name: &str, hash: &str, budget| AuditRow {
            schema_version: FLAGS_SCHEMA_VERSION,
            name: name.into(),
            lineage: None,
            problem_id: name.into(),
            statement_hash: hash.repeat(40),
            budget_expansions: budget,
            flags: vec![],
            incomplete: false,
        };
        let (todo, kept) =
            plan.left_to_audit(vec![row("P", "1", 8), row("q", "7", 8), row("r", "3", 16)]);
        assert_eq!(todo, [1, 2], "another statement, another budget");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].flags.len(), 1);
        assert_eq!(kept[0].flags[0].flag, FlagKind::DiffersFrom);
        assert!(
            kept[0].flags[0]
                .evidence
                .starts_with("b@2: statement hash 999999999999")
        );
    }
}
