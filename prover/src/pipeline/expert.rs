//! Expert-iteration rounds: a cheap pass filters the easy conjectures, the search takes the rest, every proof is re-elaborated on a fresh pool, and the verified ones become SFT and DPO rows.
//!
//! Round `r` lives in `DIR/round-<r>/`:
//!
//! | file | written | holds |
//! |---|---|---|
//! | `cheap.jsonl` | appended per conjecture | `RoundRecord`s of the cheap pass |
//! | `search.jsonl` | appended per conjecture | `RoundRecord`s of the full search |
//! | `verify.jsonl` | appended per proof | `CheckResult`s of the re-elaboration |
//! | `results.jsonl` | at the end, whole | one `RoundResult` per conjecture searched |
//! | `proofs.jsonl` | at the end, whole | verified proofs in `prover check`'s input form |
//! | `sft.jsonl`, `dpo.jsonl` | at the end, whole | the training rows |
//! | `plans.jsonl` | at the end, whole | with `--planner openai`: the planner's (statement → skeleton) rows |
//! | `model.bin` | at the end, whole | with `--policy learned`: the model the round searched with |
//! | `manifest.json` | last | the run manifest with the round's counts: the round is complete |
//!
//! A conjecture proved and verified in an earlier round is not searched again; one that was
//! not carries over. Conjectures the cheap pass proves are easy: listed, verified, and kept out
//! of the training rows unless `keep_easy`.
//!
//! With the planner (`--planner openai`), the search stage proves each conjecture through
//! [`super::plan`]: its record in `search.jsonl` carries the plan, and, when a skeleton proved
//! it, each hole's steps and refusals (a [`TrainingTap`] on every search of the plan). A
//! verified proof then gives SFT and DPO rows per hole exactly as a whole theorem's proof
//! does, the hole's goal the first state; every skeleton that elaborated gives a
//! [`PlanRow`] labelled `closed_all`, `partial` or `refuted` (a `closed_all` one only when
//! the proof it gave was verified). The cheap pass never plans.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use ::datasets::plan::PlanRow;
use ::datasets::training::{
    DpoRow, ProofStep, Refusal, RefusalKind, RoundRecord, RoundResult, SftRow, Stage,
    TRAINING_SCHEMA_VERSION,
};
use ::datasets::{AppendLog, CheckResult, HeaderOrigin, ProofRow, ProofTask, RunManifest, Status};
use lean_bridge::pool::PoolConfig;

use super::batch::{Decided, search_all};
use super::collect::{TrainingHook, TrainingTap};
use super::plan::{PlannerRun, Planning};
use super::verify::verify_all;
use super::{PipelineError, Stop};
use crate::check::CheckConfig;
use crate::engine::{ProveStatus, Theorem};
use crate::session::Prover;

/// How the rounds run; plain data from the front end.
#[derive(Debug, Clone)]
pub struct RoundsConfig {
    /// Where the rounds live.
    pub dir: PathBuf,
    /// How many rounds.
    pub rounds: u32,
    /// Conjectures searched at once.
    pub concurrency: usize,
    /// Run the cheap pass (off: every conjecture goes to the search).
    pub cheap_pass: bool,
    /// Give training rows for the conjectures the cheap pass proved too.
    pub keep_easy: bool,
    /// Also make DPO rows of tactics that timed out (labelled `timeout`).
    pub dpo_timeouts: bool,
    /// The prompt of the rows: `{state}` is replaced by the state.
    pub prompt_template: String,
    /// The rules proofs are verified under.
    pub check: CheckConfig,
    /// The REPLs of the verification pool (fresh processes, the session's settings).
    pub pool: PoolConfig,
    /// The run's manifest; each round's `manifest.json` is it with the round's counts.
    pub manifest: RunManifest,
    /// The planner the search stage proves through (`--planner openai`), when on.
    pub planning: Option<Planning>,
}

/// What the front end hears while the rounds run.
pub trait RoundEvents {
    /// A stage decided a conjecture (already on disk).
    fn decided(&mut self, round: u32, record: &RoundRecord);
    /// A proof was re-elaborated (already on disk).
    fn verified(&mut self, round: u32, result: &CheckResult);
    /// A round's files are complete.
    fn finished(&mut self, summary: &RoundSummary);
    /// Between round `round` and the next (never after the last); an `Err` stops the run and
    /// leaves the round's files as they are. Asked again on a rerun until it succeeds.
    fn between_rounds(&mut self, round: u32, dir: &Path) -> Result<(), PipelineError>;
    /// The cheap pass's and the search's provers for `round` (a learned policy retrains here
    /// from the rows of the rounds before it). Asked once per round that still has work.
    fn provers(&mut self, round: u32) -> Result<(Prover, Prover), PipelineError>;
}

/// The counts of one round, as its `manifest.json` records them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundSummary {
    /// The round, from 1.
    pub round: u32,
    /// Conjectures the round started with (those not solved before).
    pub conjectures: usize,
    /// Proved by the cheap pass.
    pub solved_by_cheap: usize,
    /// Proved by the search.
    pub solved_by_search: usize,
    /// Proofs that passed the verification.
    pub verified: usize,
    /// Proofs the verification refused (counted as not solved).
    pub unverified: usize,
    /// Not proved.
    pub failed: usize,
    /// Ended in `error` (infrastructure), to be searched again next round.
    pub errors: usize,
    /// SFT rows written.
    pub sft_rows: usize,
    /// DPO rows written.
    pub dpo_rows: usize,
    /// Lean requests of the cheap pass and the search.
    pub lean_calls: u64,
    /// Planner rows written (`plans.jsonl`); `None` without the planner.
    pub plan_rows: Option<usize>,
    /// Proof steps not made into rows, by reason (`easy`, `unverified`).
    pub dropped: BTreeMap<String, usize>,
}

impl RoundSummary {
    fn counts(&self) -> BTreeMap<String, u64> {
        let count = |n: usize| n as u64;
        let mut counts = BTreeMap::from([
            ("conjectures".to_owned(), count(self.conjectures)),
            ("solved_by_cheap".to_owned(), count(self.solved_by_cheap)),
            ("solved_by_search".to_owned(), count(self.solved_by_search)),
            ("verified".to_owned(), count(self.verified)),
            ("unverified".to_owned(), count(self.unverified)),
            ("failed".to_owned(), count(self.failed)),
            ("error".to_owned(), count(self.errors)),
            ("sft_rows".to_owned(), count(self.sft_rows)),
            ("dpo_rows".to_owned(), count(self.dpo_rows)),
            ("lean_calls".to_owned(), self.lean_calls),
        ]);
        if let Some(rows) = self.plan_rows {
            counts.insert("plan_rows".to_owned(), count(rows));
        }
        for (reason, n) in &self.dropped {
            counts.insert(format!("dropped_steps_{reason}"), count(*n));
        }
        counts
    }

    fn from_counts(round: u32, counts: &BTreeMap<String, u64>) -> RoundSummary {
        let get = |key: &str| {
            usize::try_from(counts.get(key).copied().unwrap_or(0)).unwrap_or(usize::MAX)
        };
        RoundSummary {
            round,
            conjectures: get("conjectures"),
            solved_by_cheap: get("solved_by_cheap"),
            solved_by_search: get("solved_by_search"),
            verified: get("verified"),
            unverified: get("unverified"),
            failed: get("failed"),
            errors: get("error"),
            sft_rows: get("sft_rows"),
            dpo_rows: get("dpo_rows"),
            lean_calls: counts.get("lean_calls").copied().unwrap_or(0),
            plan_rows: counts
                .get("plan_rows")
                .map(|n| usize::try_from(*n).unwrap_or(usize::MAX)),
            dropped: counts
                .iter()
                .filter_map(|(k, v)| {
                    let reason = k.strip_prefix("dropped_steps_")?;
                    Some((reason.to_owned(), usize::try_from(*v).unwrap_or(usize::MAX)))
                })
                .collect(),
        }
    }
}

/// How the rounds ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RoundsOutcome {
    /// Every round is complete.
    Completed(Vec<RoundSummary>),
    /// The stop was set; what was decided is on disk and a rerun resumes.
    Stopped,
}

/// Runs (or resumes) the rounds of `config` over `conjectures`, with the provers
/// [`RoundEvents::provers`] gives for each round.
pub async fn run_rounds(
    conjectures: &[Theorem],
    config: &RoundsConfig,
    stop: &Stop,
    events: &mut dyn RoundEvents,
) -> Result<RoundsOutcome, PipelineError> {
    let mut solved: HashSet<String> = HashSet::new();
    let mut summaries = Vec::new();
    for round in 1..=config.rounds {
        let dir = round_dir(&config.dir, round);
        std::fs::create_dir_all(&dir).map_err(PipelineError::io(&dir))?;
        let summary = match completed_round(&dir, round)? {
            Some(summary) => summary,
            None => {
                let todo: Vec<Theorem> = conjectures
                    .iter()
                    .filter(|t| !solved.contains(&t.name))
                    .cloned()
                    .collect();
                let (cheap, search) = events.provers(round)?;
                let (cheap, search) = (&cheap, &search);
                let Some(summary) = Round {
                    round,
                    dir: &dir,
                    config,
                    stop,
                }
                .run(cheap, search, &todo, events)
                .await?
                else {
                    return Ok(RoundsOutcome::Stopped);
                };
                events.finished(&summary);
                summary
            }
        };
        solved.extend(verified_names(&dir)?);
        summaries.push(summary);
        let marker = dir.join("between-rounds.done");
        if round < config.rounds && !marker.exists() {
            events.between_rounds(round, &dir)?;
            ::datasets::write_atomic(&marker, b"").map_err(PipelineError::io(&marker))?;
        }
    }
    Ok(RoundsOutcome::Completed(summaries))
}

/// `DIR/round-<r>`.
pub fn round_dir(dir: &Path, round: u32) -> PathBuf {
    dir.join(format!("round-{round}"))
}

/// The summary of a round whose `manifest.json` is written, else `None`.
fn completed_round(dir: &Path, round: u32) -> Result<Option<RoundSummary>, PipelineError> {
    let path = dir.join("manifest.json");
    match RunManifest::read(&path) {
        Ok(Some(manifest)) if manifest.finished_unix.is_some() => {
            Ok(Some(RoundSummary::from_counts(round, &manifest.counts)))
        }
        Ok(_) => Ok(None),
        Err(error) => Err(PipelineError::Corrupt {
            path,
            reason: error.to_string(),
        }),
    }
}

/// The conjectures a complete round proved and verified.
fn verified_names(dir: &Path) -> Result<Vec<String>, PipelineError> {
    let path = dir.join("results.jsonl");
    let bytes = std::fs::read(&path).map_err(PipelineError::io(&path))?;
    let mut names = Vec::new();
    for (line, text) in ::datasets::jsonl_lines(&bytes) {
        let corrupt = |reason: String| PipelineError::Corrupt {
            path: path.clone(),
            reason: format!("line {line}: {reason}"),
        };
        let text = text.map_err(|e| corrupt(e.to_string()))?;
        let result: RoundResult = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
        if result.status == ProveStatus::Proved {
            names.push(result.name);
        }
    }
    Ok(names)
}

/// One round in progress.
struct Round<'a> {
    round: u32,
    dir: &'a Path,
    config: &'a RoundsConfig,
    stop: &'a Stop,
}

impl Round<'_> {
    /// The round's stages; `None` when stopped.
    async fn run(
        &self,
        cheap: &Prover,
        search_prover: &Prover,
        todo: &[Theorem],
        events: &mut dyn RoundEvents,
    ) -> Result<Option<RoundSummary>, PipelineError> {
        let cheap_todo = if self.config.cheap_pass {
            todo.to_vec()
        } else {
            Vec::new()
        };
        let cheap_records = self.stage(Stage::Cheap, cheap, cheap_todo, events).await?;
        if self.stop.is_set() {
            return Ok(None);
        }
        let easy: HashSet<&str> = proved(&cheap_records).map(|r| r.name.as_str()).collect();
        let rest: Vec<Theorem> = todo
            .iter()
            .filter(|t| !easy.contains(t.name.as_str()))
            .cloned()
            .collect();
        let search_records = self
            .stage(Stage::Search, search_prover, rest, events)
            .await?;
        if self.stop.is_set() {
            return Ok(None);
        }
        let deciding = deciding_records(&cheap_records, &search_records);
        let verdicts = self.verify(todo, &deciding, events).await?;
        if self.stop.is_set() {
            return Ok(None);
        }
        let summary = self.export(
            search_prover,
            todo,
            &deciding,
            &verdicts,
            &cheap_records,
            &search_records,
        )?;
        Ok(Some(summary))
    }

    /// Searches what `stage`'s log does not hold yet; returns every record of the log.
    async fn stage(
        &self,
        stage: Stage,
        prover: &Prover,
        theorems: Vec<Theorem>,
        events: &mut dyn RoundEvents,
    ) -> Result<Vec<RoundRecord>, PipelineError> {
        let path = self.dir.join(format!("{}.jsonl", stage.name()));
        let (mut log, mut records): (AppendLog, Vec<RoundRecord>) =
            AppendLog::open(&path, "iterate", false, &[])?;
        let done: HashSet<String> = records.iter().map(|r| r.name.clone()).collect();
        let pending: Vec<Theorem> = theorems
            .into_iter()
            .filter(|t| !done.contains(&t.name))
            .collect();
        let round = self.round;
        if let (Stage::Search, Some(planning)) = (stage, &self.config.planning) {
            self.plan_all(planning, prover, pending, |record| {
                log.append(&record)?;
                events.decided(round, &record);
                records.push(record);
                Ok(())
            })
            .await?;
            return Ok(records);
        }
        search_all(
            prover,
            pending,
            self.config.concurrency,
            self.stop,
            |_| TrainingHook::default(),
            |Decided { result, hook, .. }: Decided<TrainingHook>| {
                let record = hook.unwrap_or_default().into_record(stage, &result);
                log.append(&record)?;
                events.decided(round, &record);
                records.push(record);
                Ok(())
            },
        )
        .await?;
        Ok(records)
    }

    /// Proves `theorems` through the planner, the round's conjectures at once as
    /// `search_all` searches them, each plan's searches watched by a [`TrainingTap`]; `done`
    /// gets each stage record.
    async fn plan_all(
        &self,
        planning: &Planning,
        prover: &Prover,
        theorems: Vec<Theorem>,
        mut done: impl FnMut(RoundRecord) -> Result<(), PipelineError>,
    ) -> Result<(), PipelineError> {
        let (searcher, planning) = (prover.clone(), planning.clone());
        let stop = self.stop.clone();
        let end = super::batch::run(
            theorems,
            self.config.concurrency,
            self.stop,
            Some(prover),
            move |theorem: Theorem| {
                let (prover, planning, stop) = (searcher.clone(), planning.clone(), stop.clone());
                async move {
                    let tap = std::sync::Arc::new(TrainingTap::default());
                    let planned = planning.plan(&prover, theorem, &stop, tap.clone()).await;
                    tap.record(Stage::Search, &planned)
                }
            },
            &mut done,
        )
        .await?;
        match end.model_outage {
            Some(message) => Err(PipelineError::ModelOutage(message)),
            None => Ok(()),
        }
    }

    /// Re-elaborates every proof of `deciding` on a fresh pool; returns name → result.
    async fn verify(
        &self,
        todo: &[Theorem],
        deciding: &BTreeMap<String, &RoundRecord>,
        events: &mut dyn RoundEvents,
    ) -> Result<HashMap<String, CheckResult>, PipelineError> {
        let path = self.dir.join("verify.jsonl");
        let (mut log, earlier): (AppendLog, Vec<CheckResult>) =
            AppendLog::open(&path, "iterate", false, &[])?;
        let mut verdicts: HashMap<String, CheckResult> =
            earlier.into_iter().map(|r| (r.name.clone(), r)).collect();
        let tasks: Vec<ProofTask> = todo
            .iter()
            .enumerate()
            .filter(|(_, t)| !verdicts.contains_key(&t.name))
            .filter_map(|(index, theorem)| {
                let record = deciding.get(&theorem.name)?;
                let proof = record
                    .proof
                    .clone()
                    .filter(|_| record.status == ProveStatus::Proved)?;
                Some(ProofTask {
                    line: index + 1,
                    name: theorem.name.clone(),
                    header: theorem.header.clone(),
                    formal_statement: theorem.formal_statement.clone(),
                    proof,
                    header_origin: HeaderOrigin::Row,
                })
            })
            .collect();
        let round = self.round;
        verify_all(
            &self.config.pool,
            &self.config.check,
            tasks,
            self.config.concurrency,
            self.stop,
            &mut log,
            |result| {
                events.verified(round, &result);
                verdicts.insert(result.name.clone(), result);
            },
        )
        .await?;
        Ok(verdicts)
    }

    /// Writes the round's derived files, the manifest last.
    fn export(
        &self,
        search_prover: &Prover,
        todo: &[Theorem],
        deciding: &BTreeMap<String, &RoundRecord>,
        verdicts: &HashMap<String, CheckResult>,
        cheap: &[RoundRecord],
        search: &[RoundRecord],
    ) -> Result<RoundSummary, PipelineError> {
        let round = self.round;
        let mut summary = RoundSummary {
            round,
            conjectures: todo.len(),
            lean_calls: cheap
                .iter()
                .chain(search)
                .map(|r| u64::from(r.lean_calls))
                .sum(),
            ..RoundSummary::default()
        };
        let theorems: HashMap<&str, &Theorem> = todo.iter().map(|t| (t.name.as_str(), t)).collect();
        let (mut results, mut proofs, mut sft, mut dpo, mut plans) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (name, record) in deciding {
            let easy = record.stage == Stage::Cheap && record.status == ProveStatus::Proved;
            let verdict = verdicts.get(name);
            let verified = verdict.is_some_and(|v| v.status == Status::Valid);
            let status = match record.status {
                ProveStatus::Proved if verified => ProveStatus::Proved,
                ProveStatus::Proved => ProveStatus::Failed,
                other => other,
            };
            match (record.status, verified) {
                (ProveStatus::Proved, true) if easy => summary.solved_by_cheap += 1,
                (ProveStatus::Proved, true) => summary.solved_by_search += 1,
                (ProveStatus::Proved, false) => summary.unverified += 1,
                (ProveStatus::Error, _) => summary.errors += 1,
                _ => summary.failed += 1,
            }
            results.push(RoundResult {
                schema_version: TRAINING_SCHEMA_VERSION,
                name: name.clone(),
                round,
                status,
                stage: record.stage,
                proof: record.proof.clone().filter(|_| verified),
                easy,
                unverified: match verdict {
                    Some(v) if !verified => v.reasons.clone(),
                    _ => Vec::new(),
                },
            });
            if let (Some(plan), Some(theorem)) = (&record.plan, theorems.get(name.as_str())) {
                let closed_verified = record.status == ProveStatus::Proved && verified;
                plans.extend(PlanRow::rows_of(
                    plan,
                    round,
                    &theorem.header,
                    closed_verified,
                ));
            }
            if record.status != ProveStatus::Proved {
                continue;
            }
            let steps =
                record.steps.len() + record.holes.iter().map(|h| h.steps.len()).sum::<usize>();
            if !verified {
                *summary.dropped.entry("unverified".into()).or_default() += steps;
                continue;
            }
            let Some(theorem) = theorems.get(name.as_str()) else {
                continue;
            };
            proofs.push(ProofRow {
                name: name.clone(),
                header: theorem.header.clone(),
                formal_statement: theorem.formal_statement.clone(),
                proof: record.proof.clone().unwrap_or_default(),
            });
            if easy && !self.config.keep_easy {
                *summary.dropped.entry("easy".into()).or_default() += steps;
                continue;
            }
            self.training_rows(
                &record.name,
                &record.steps,
                &record.refusals,
                &mut sft,
                &mut dpo,
            );
            for hole in &record.holes {
                self.training_rows(
                    &record.name,
                    &hole.steps,
                    &hole.refusals,
                    &mut sft,
                    &mut dpo,
                );
            }
        }
        summary.verified = summary.solved_by_cheap + summary.solved_by_search;
        summary.sft_rows = sft.len();
        summary.dpo_rows = dpo.len();
        self.write_lines("results.jsonl", results.iter())?;
        self.write_lines("proofs.jsonl", proofs.iter())?;
        self.write_lines("sft.jsonl", sft.iter())?;
        self.write_lines("dpo.jsonl", dpo.iter())?;
        if self.config.planning.is_some() {
            summary.plan_rows = Some(plans.len());
            self.write_lines("plans.jsonl", plans.iter())?;
        }
        let mut manifest = self.config.manifest.clone();
        // The round's own policy: with a learned policy, the model retrained for this round,
        // saved beside it so the round can be searched again with exactly that model.
        manifest.config.insert(
            "policy".to_owned(),
            serde_json::json!(search_prover.config().policy_id),
        );
        if search_prover.policies().spec().kind == crate::policy::PolicyKind::Learned {
            let model = search_prover.policies().learned_model();
            let path = self.dir.join("model.bin");
            model.save(&path).map_err(|e| PipelineError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            manifest.recorded.insert(
                "learned_model".to_owned(),
                serde_json::json!({
                    "file": "model.bin",
                    "sha1": model.content_hash(),
                    "stored_states": model.len(),
                }),
            );
        }
        manifest.counts = summary.counts();
        manifest.finished_unix = Some(manifest.started_unix.max(unix_now()));
        let path = self.dir.join("manifest.json");
        manifest.write(&path).map_err(|e| PipelineError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(summary)
    }

    /// The SFT rows of a verified proof's steps (a whole theorem's, or a hole's), and the DPO
    /// rows of the tactics Lean refused at those steps' states.
    fn training_rows(
        &self,
        name: &str,
        steps: &[ProofStep],
        refusals: &[Refusal],
        sft: &mut Vec<SftRow>,
        dpo: &mut Vec<DpoRow>,
    ) {
        let length = u32::try_from(steps.len()).unwrap_or(u32::MAX);
        for (depth, step) in steps.iter().enumerate() {
            let prompt = self.config.prompt_template.replace("{state}", &step.state);
            sft.push(SftRow {
                schema_version: TRAINING_SCHEMA_VERSION,
                name: name.to_owned(),
                round: self.round,
                state: step.state.clone(),
                tactic: step.tactic.clone(),
                prompt: prompt.clone(),
                completion: step.tactic.clone(),
                depth: u32::try_from(depth).unwrap_or(u32::MAX),
                proof_length: length,
            });
            let mut seen = HashSet::new();
            for refusal in refusals.iter().filter(|r| r.state == step.state) {
                let wanted = match refusal.kind {
                    RefusalKind::LeanError => true,
                    RefusalKind::Timeout => self.config.dpo_timeouts,
                };
                if !wanted || refusal.tactic == step.tactic || !seen.insert(&refusal.tactic) {
                    continue;
                }
                dpo.push(DpoRow {
                    schema_version: TRAINING_SCHEMA_VERSION,
                    name: name.to_owned(),
                    round: self.round,
                    state: step.state.clone(),
                    prompt: prompt.clone(),
                    chosen: step.tactic.clone(),
                    rejected: refusal.tactic.clone(),
                    rejected_error: refusal.error.clone(),
                    rejected_kind: refusal.kind,
                });
            }
        }
    }

    /// Writes `name` whole, one JSON line per item, atomically.
    fn write_lines<T: serde::Serialize>(
        &self,
        name: &str,
        items: impl Iterator<Item = T>,
    ) -> Result<(), PipelineError> {
        let path = self.dir.join(name);
        let mut text = String::new();
        for item in items {
            let line = serde_json::to_string(&item).map_err(|e| PipelineError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            text.push_str(&line);
            text.push('\n');
        }
        ::datasets::write_atomic(&path, text.as_bytes()).map_err(PipelineError::io(&path))
    }
}

/// The records of a stage that proved their conjecture.
fn proved(records: &[RoundRecord]) -> impl Iterator<Item = &RoundRecord> {
    records.iter().filter(|r| r.status == ProveStatus::Proved)
}

/// Per conjecture, the record that decided it: the cheap pass's when it proved it, else the
/// search's (or the cheap pass's, if the search has none). Sorted by name.
fn deciding_records<'a>(
    cheap: &'a [RoundRecord],
    search: &'a [RoundRecord],
) -> BTreeMap<String, &'a RoundRecord> {
    let mut deciding: BTreeMap<String, &RoundRecord> = BTreeMap::new();
    for record in cheap {
        deciding.insert(record.name.clone(), record);
    }
    for record in search {
        let easy = deciding
            .get(&record.name)
            .is_some_and(|r| r.status == ProveStatus::Proved);
        if !easy {
            deciding.insert(record.name.clone(), record);
        }
    }
    deciding
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Default expansions of the cheap pass: BFS-Prover's filter is a small beam, a few nodes.
pub const CHEAP_EXPANSIONS: u32 = 4;
/// Default width of the cheap pass.
pub const CHEAP_WIDTH: usize = 2;

/// What `prover iterate` is asked: plain values from the front end's flags.
#[derive(Debug, Clone)]
pub struct IterateRun {
    /// The conjectures.
    pub conjectures: PathBuf,
    /// Where the rounds live.
    pub dir: PathBuf,
    /// Rounds to run.
    pub rounds: u32,
    /// Expansions of the cheap pass (`None`: [`CHEAP_EXPANSIONS`]); 0 runs none.
    pub cheap_expansions: Option<u32>,
    /// Width of the cheap pass (`None`: [`CHEAP_WIDTH`]).
    pub cheap_width: Option<usize>,
    /// The cheap pass searches with the search's policy instead of the portfolio.
    pub cheap_policy_same: bool,
    /// Training rows for easy conjectures too.
    pub keep_easy: bool,
    /// DPO rows of tactics that timed out too.
    pub dpo_timeouts: bool,
    /// Conjectures at once (`None`: the settings', else the REPL workers).
    pub concurrency: Option<usize>,
    /// `--save-model FILE`.
    pub save_model: Option<PathBuf>,
    /// The session's settings from the front end.
    pub overlay: crate::settings::Overlay,
    /// The front end's build (version, git commit), for the manifest.
    pub build: BTreeMap<String, String>,
    /// The planner's settings and `--plan-log` (off by default).
    pub planner: PlannerRun,
}

/// An iteration's events, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum IterateEvent<'a> {
    /// A round searches with the learned model retrained on the rounds before it.
    Retrained {
        /// The round.
        round: u32,
        /// The model's stored states.
        states: usize,
        /// Its content hash.
        hash: &'a str,
    },
    /// A stage decided a conjecture (already on disk).
    Decided {
        /// The round.
        round: u32,
        /// The record.
        record: &'a RoundRecord,
    },
    /// A proof was re-elaborated (already on disk).
    Verified {
        /// The round.
        round: u32,
        /// Its result.
        result: &'a CheckResult,
    },
    /// A round's files are complete.
    Finished(&'a RoundSummary),
    /// The model retrained on every round was written (`--save-model`).
    ModelSaved {
        /// Its stored states.
        states: usize,
        /// The file.
        path: &'a Path,
    },
}

/// The provers of each round (retraining a learned policy on the rounds before it), and the
/// events forwarded to the front end's progress.
struct Trainer<'p> {
    session: crate::session::Session,
    dir: PathBuf,
    cheap: (crate::policy::PolicySpec, crate::engine::ProveConfig),
    search: (crate::policy::PolicySpec, crate::engine::ProveConfig),
    progress: &'p mut dyn super::Progress,
}

impl Trainer<'_> {
    fn event(&mut self, event: IterateEvent<'_>) {
        self.progress.event(super::RunEvent::Iterate(event));
    }

    /// A prover of `round` with `spec`'s policy, its learned model replaced by `retrained`.
    fn prover(
        &self,
        (spec, prove): &(crate::policy::PolicySpec, crate::engine::ProveConfig),
        retrained: Option<&crate::policy::LearnedSpec>,
    ) -> Result<Prover, PipelineError> {
        let mut spec = spec.clone();
        if let (crate::policy::PolicyKind::Learned, Some(retrained)) = (spec.kind, retrained) {
            // An `Arc` clone: both provers of the round share the one retrained model.
            spec.learned = Some(retrained.clone());
        }
        self.session
            .prover_with(spec, prove.clone())
            .map_err(|e| PipelineError::Stopped(e.to_string()))
    }

    /// The learned model after rounds `1..=through`: the starting model plus every SFT step
    /// and DPO refusal those rounds exported (`policy::learned::from_rows`), in a canonical
    /// order (so a resumed run retrains the same model).
    fn trained_through(
        &self,
        through: u32,
    ) -> Result<crate::policy::learned::LearnedModel, PipelineError> {
        let mut model = self
            .search
            .0
            .learned
            .as_ref()
            .map(|l| crate::policy::learned::LearnedModel::clone(&l.model))
            .unwrap_or_default();
        let mut rows = Vec::new();
        for round in 1..=through {
            let dir = round_dir(&self.dir, round);
            for file in ["sft.jsonl", "dpo.jsonl"] {
                let path = dir.join(file);
                let bytes = std::fs::read(&path).map_err(PipelineError::io(&path))?;
                for (line, text) in ::datasets::jsonl_lines(&bytes) {
                    let row = text
                        .and_then(|t| ::datasets::training::parse_training_row(line, t))
                        .map_err(|e| PipelineError::Corrupt {
                            path: path.clone(),
                            reason: e.to_string(),
                        })?;
                    rows.push(row);
                }
            }
        }
        crate::policy::learned::from_rows(rows).teach(&mut model);
        Ok(model)
    }
}

impl RoundEvents for Trainer<'_> {
    fn provers(&mut self, round: u32) -> Result<(Prover, Prover), PipelineError> {
        let learned = self.search.0.kind == crate::policy::PolicyKind::Learned;
        let retrained = if learned && round > 1 {
            let retrained = crate::policy::LearnedSpec::of(self.trained_through(round - 1)?);
            self.event(IterateEvent::Retrained {
                round,
                states: retrained.model.len(),
                hash: &retrained.hash,
            });
            Some(retrained)
        } else {
            None
        };
        Ok((
            self.prover(&self.cheap, retrained.as_ref())?,
            self.prover(&self.search, retrained.as_ref())?,
        ))
    }

    fn decided(&mut self, round: u32, record: &RoundRecord) {
        self.event(IterateEvent::Decided { round, record });
    }

    fn verified(&mut self, round: u32, result: &CheckResult) {
        self.event(IterateEvent::Verified { round, result });
    }

    fn finished(&mut self, summary: &RoundSummary) {
        self.event(IterateEvent::Finished(summary));
    }

    fn between_rounds(&mut self, round: u32, dir: &Path) -> Result<(), PipelineError> {
        self.progress
            .between_rounds(round, dir)
            .map_err(PipelineError::Stopped)
    }
}

/// An iteration whose rounds ran (or stopped): [`Iteration::finish`] closes it.
pub struct Iteration {
    session: crate::session::Session,
    outcome: Result<RoundsOutcome, PipelineError>,
    manifest: super::run::Manifest,
    trainer: (
        PathBuf,
        crate::policy::PolicySpec,
        crate::engine::ProveConfig,
    ),
    save_model: Option<PathBuf>,
}

impl Iteration {
    /// The session the rounds ran on.
    pub fn session(&self) -> &crate::session::Session {
        &self.session
    }

    /// Stops the REPLs, writes the model retrained on every round (`--save-model`) and closes
    /// the manifest; the summaries of the rounds, or how they stopped.
    pub fn finish(
        self,
        progress: &mut dyn super::Progress,
    ) -> Result<RoundsOutcome, super::RunError> {
        let Iteration {
            session,
            outcome,
            manifest,
            trainer: (dir, spec, prove),
            save_model,
        } = self;
        session.handle().block_on(session.pool().shutdown());
        let summaries = match outcome? {
            RoundsOutcome::Completed(summaries) => summaries,
            RoundsOutcome::Stopped => return Ok(RoundsOutcome::Stopped),
        };
        if let Some(path) = &save_model {
            let trainer = Trainer {
                cheap: (spec.clone(), prove.clone()),
                search: (spec, prove),
                session,
                dir,
                progress,
            };
            let model = trainer.trained_through(summaries.len() as u32)?;
            model.save(path)?;
            trainer
                .progress
                .event(super::RunEvent::Iterate(IterateEvent::ModelSaved {
                    states: model.len(),
                    path,
                }));
        }
        manifest.finish(&[
            ("rounds", summaries.len()),
            (
                "solved",
                summaries.iter().map(|s| s.verified).sum::<usize>(),
            ),
            ("sft_rows", summaries.iter().map(|s| s.sft_rows).sum()),
            ("dpo_rows", summaries.iter().map(|s| s.dpo_rows).sum()),
        ])?;
        Ok(RoundsOutcome::Completed(summaries))
    }
}

/// Runs `prover iterate`: checks the flags and outputs, reads the conjectures, opens the
/// session (its verdicts never reused: the search itself is wanted, for its steps and
/// refusals; cached answers still spare Lean) and the manifest, preflights, and runs the
/// rounds, each with provers retrained on the rounds before it.
pub fn run(
    request: IterateRun,
    settings: &crate::settings::SettingsFile,
    progress: &mut dyn super::Progress,
) -> Result<Iteration, super::RunError> {
    use super::RunError;
    use crate::settings;
    if !(1..=1000).contains(&request.rounds) {
        return Err(RunError::Refused(format!(
            "--rounds must be from 1 to 1000, got {}",
            request.rounds
        )));
    }
    let cheap_width =
        settings::at_once(request.cheap_width.unwrap_or(CHEAP_WIDTH), "--cheap-width")?;
    let cheap_expansions = request.cheap_expansions.unwrap_or(CHEAP_EXPANSIONS);
    let (input, conjectures, planning) = read_conjectures(&request, settings)?;
    let mut config = super::run::side_by_side_session_config(&request.overlay, settings)?;
    config.prove.reuse_verdicts = crate::engine::VerdictReuse::Never;
    let cheap_spec = match request.cheap_policy_same {
        true => config.policy.clone(),
        false => crate::policy::PolicySpec {
            kind: crate::policy::PolicyKind::Portfolio,
            llm: None,
            fallback: false,
            ..config.policy.clone()
        },
    };
    let mut cheap_prove = config.prove.clone();
    cheap_prove.search.expansion_width = cheap_width;
    cheap_prove.search.max_expansions = Some(cheap_expansions.max(1));
    let (prompt_template, check) = super::run::pipeline_settings(&config, settings)?;
    let pool = config.pool.clone();
    let concurrency = settings::concurrency(request.concurrency, settings, pool.workers)?;
    let search = (config.policy.clone(), config.prove.clone());
    if request.save_model.is_some() && search.0.kind != crate::policy::PolicyKind::Learned {
        return Err(RunError::Refused(
            "--save-model needs --policy learned".to_owned(),
        ));
    }
    if request.overlay.search.learn_online {
        return Err(RunError::Refused(
            "prover iterate retrains the learned policy between rounds; --learn-online is for eval"
                .to_owned(),
        ));
    }
    let session = crate::session::Session::open(config)?;
    let cheap = session.prover_with(cheap_spec.clone(), cheap_prove.clone())?;
    std::fs::create_dir_all(&request.dir).map_err(|source| RunError::Io {
        what: format!("cannot create --dir {}", request.dir.display()),
        source,
    })?;
    let mut run_config = super::run::search_config(session.prove_config(), &pool);
    for (key, value) in [
        ("cheap_policy", serde_json::json!(cheap.config().policy_id)),
        ("cheap_width", serde_json::json!(cheap_width)),
        ("cheap_expansions", serde_json::json!(cheap_expansions)),
        ("keep_easy", serde_json::json!(request.keep_easy)),
        ("dpo_timeouts", serde_json::json!(request.dpo_timeouts)),
        ("prompt_template", serde_json::json!(prompt_template)),
        (
            "verify_timeout_ms",
            serde_json::json!(check.timeout.as_millis() as u64),
        ),
    ] {
        run_config.insert(key.to_owned(), value);
    }
    super::merge::record_shard(&mut run_config, request.overlay.shard);
    if let Some(planning) = &planning {
        // A resume under other planner settings would mix two kinds of rounds.
        run_config.insert("planner".to_owned(), planning.manifest_record());
    }
    let identity = super::run::RunIdentity {
        kind: "iterate".to_owned(),
        prover: request.build.clone(),
        config: run_config,
        recorded: super::run::repl_record(&pool),
        input,
    };
    let resuming = request.dir.join("round-1").exists();
    let mut manifest =
        super::run::prepare(&request.dir.join("iterate"), identity, false, resuming)?;
    let stop = progress.stop_on(session.handle())?;
    let probe = super::preflight::ready(&session, &conjectures[0].header, &mut |url, probe| {
        progress.event(super::RunEvent::ModelProbed { url, probe });
    })?;
    manifest.set_model_probe(probe);
    if let Some(planning) = &planning {
        planning.probe(session.handle())?;
    }
    manifest.start()?;
    let rounds = RoundsConfig {
        dir: request.dir.clone(),
        rounds: request.rounds,
        concurrency,
        cheap_pass: cheap_expansions > 0,
        keep_easy: request.keep_easy,
        dpo_timeouts: request.dpo_timeouts,
        prompt_template,
        check,
        pool,
        manifest: manifest.record().clone(),
        planning,
    };
    let mut trainer = Trainer {
        session,
        dir: request.dir.clone(),
        cheap: (cheap_spec, cheap_prove),
        search: search.clone(),
        progress,
    };
    let handle = trainer.session.handle().clone();
    let outcome = handle.block_on(run_rounds(&conjectures, &rounds, &stop, &mut trainer));
    Ok(Iteration {
        session: trainer.session,
        outcome,
        manifest,
        trainer: (request.dir, search.0, search.1),
        save_model: request.save_model,
    })
}

/// Checks the outputs, opens the planner (when on) and reads the conjectures: the whole file's
/// record, for the manifest, and the conjectures of the run's shard (at least one).
fn read_conjectures(
    request: &IterateRun,
    settings: &crate::settings::SettingsFile,
) -> Result<(::datasets::InputRecord, Vec<Theorem>, Option<Planning>), super::RunError> {
    use ::datasets::output::{Input, Output, Target};
    let mut inputs = vec![Input {
        flag: "--conjectures",
        path: &request.conjectures,
    }];
    let mut outputs = vec![Output {
        flag: "--dir",
        path: &request.dir,
        target: Target::Dir,
    }];
    super::run::session_files(
        request.overlay.search.learned_model.as_deref(),
        request.save_model.as_deref(),
        &mut inputs,
        &mut outputs,
    );
    outputs.extend(request.planner.output());
    inputs.extend(request.planner.input());
    let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
    let input_paths: Vec<&Path> = inputs.iter().map(|input| input.path).collect();
    let planning = Planning::open(&request.planner, settings, false, &input_paths)?;
    let (bytes, conjectures) = super::run::read_dataset(&request.conjectures, "conjectures")?;
    let input = super::run::dataset_input(&request.conjectures, &bytes, &conjectures);
    let shard = request.overlay.shard;
    let conjectures = super::batch::in_shard(conjectures, shard, |t| t.name.as_str());
    if conjectures.is_empty() {
        return Err(super::RunError::Refused(format!(
            "conjectures {} holds no rows{}",
            request.conjectures.display(),
            shard.map_or(String::new(), |shard| format!(" in shard {shard}"))
        )));
    }
    if request.dir.exists() && !request.dir.is_dir() {
        return Err(super::RunError::Refused(format!(
            "--dir {} exists and is not a directory",
            request.dir.display()
        )));
    }
    Ok((input, conjectures, planning))
}
