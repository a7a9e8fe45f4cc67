//! Synthetic proof data: every theorem searched (past its first proof, as asked), every edge traced, every state on a found proof restated as a theorem and verified, all exported in a Hugging Face layout with a dataset card.
//!
//! `OUT/` holds `search.jsonl` and `verify.jsonl` (the stage logs, appended per theorem and per
//! synthetic theorem, so a rerun resumes), then, written whole and sorted:
//! `data/<level>/<split>.jsonl` for the levels `traces`, `proofs`, `steps`, `preferences`,
//! `synthetic` and the splits of [`datasets::explore::SPLITS`] (by a stable hash of the source
//! theorem's name, never by step), `README.md` (the dataset card) and `manifest.json`.
//!
//! Theorems that restate one of the excluded benchmarks' statements are dropped before any
//! search ([`ExclusionIndex`]: by text, by token normal form, by a root goal known from the
//! benchmark's `goal` field or the cache, or as a near-duplicate, as far as its level goes), those whose root goal, once the search printed it,
//! is a benchmark's are left out of the export, and so are synthetic theorems that would
//! restate one; the card counts each rule.
//!
//! With the planner (`--planner openai`), each theorem is proved through [`super::plan`]: its
//! record keeps the plan, the traces are its whole-theorem searches' (the direct search and
//! its fallback), and a theorem a skeleton proved has the checked whole proof as its one
//! `proofs` row, each hole's proof as `steps` rows (rooted at the hole's goal) with the tactics
//! Lean refused on its path as `preferences`, as `iterate` makes them; every skeleton that
//! elaborated is a (statement → skeleton) [`PlanRow`] in the `plans` level. Without the
//! planner every file is written as before.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ::datasets::decontamination::{ExclusionIndex, Level, Rule};
use ::datasets::explore::{
    EXPLORE_SCHEMA_VERSION, EdgeKind, ExploreRecord, FoundProof, ProofLevelRow, SPLITS,
    SyntheticRow, TraceRow, split_of,
};
use ::datasets::lean::{lean_identifier_from, script_to_proof, statement_body};
use ::datasets::normal_form::statement_normal_form;
use ::datasets::plan::{PlanOutcome, PlanRow};
use ::datasets::training::{
    DpoRow, HoleSteps, RefusalKind, SftRow, Stage, TRAINING_SCHEMA_VERSION,
};
use ::datasets::{AppendLog, CheckResult, HeaderOrigin, ProofTask, RunManifest, Status};
use lean_bridge::pool::PoolConfig;

use super::batch::{Decided, search_all};
use super::collect::TrainingTap;
use super::plan::{PlanSearch, PlanTap, Planned, PlannerRun, Planning};
use super::verify::verify_all;
use super::{PipelineError, Stop};
use crate::check::CheckConfig;
use crate::engine::{ProveResult, ProveStatus, Theorem, is_timeout_refusal};
use crate::goal::statement_from_goal;
use crate::job::{JobEvent, Lend, Observer};
use crate::search::{EdgeOutcome, NodeId, SearchEvent, SearchHook, Verdict};
use crate::session::Prover;

/// How an exploration runs; plain data from the front end.
#[derive(Debug, Clone)]
pub struct ExploreConfig {
    /// The output directory.
    pub out: PathBuf,
    /// Theorems searched (and synthetic theorems checked) at once.
    pub concurrency: usize,
    /// The prompt of the step and preference rows: `{state}` is replaced by the state.
    pub prompt_template: String,
    /// The rules synthetic theorems are verified under.
    pub check: CheckConfig,
    /// The REPLs of the verification pool.
    pub pool: PoolConfig,
    /// The excluded benchmarks' statements and root goals.
    pub excluded: ExclusionIndex,
    /// The excluded benchmark files as the card names them (file names, never absolute paths).
    pub excluded_files: Vec<String>,
    /// Root goals of the explored theorems known before their search (from the cache), by
    /// name, for the root-goal rule.
    pub known_roots: HashMap<String, String>,
    /// The `license:` of the dataset card (a Hugging Face license id).
    pub license: String,
    /// The run's manifest; `manifest.json` is it with the counts.
    pub manifest: RunManifest,
    /// The planner each theorem is proved through (`--planner openai`), when on.
    pub planning: Option<Planning>,
}

/// What the front end hears while the exploration runs.
pub trait ExploreEvents {
    /// A theorem's search ended (already on disk).
    fn searched(&mut self, record: &ExploreRecord);
    /// A synthetic theorem was checked (already on disk).
    fn verified(&mut self, result: &CheckResult);
}

/// The counts of an exploration, as `manifest.json` and the card record them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExploreSummary {
    /// Counts by name, in a stable order.
    pub counts: BTreeMap<String, u64>,
}

impl ExploreSummary {
    fn add(&mut self, key: &str, n: usize) {
        *self.counts.entry(key.to_owned()).or_default() += n as u64;
    }

    /// Counts one theorem (`prefix` empty) or synthetic theorem (`prefix` `synthetic_`) dropped
    /// as a benchmark's, in the total and under its rule.
    fn exclude(&mut self, rule: Rule, prefix: &str) {
        self.add(&format!("{prefix}excluded_as_benchmark_duplicates"), 1);
        self.add(&format!("{prefix}excluded_by_{}", rule.name()), 1);
    }

    /// One count (0 when absent).
    pub fn get(&self, key: &str) -> u64 {
        self.counts.get(key).copied().unwrap_or(0)
    }
}

/// Runs (or resumes) an exploration of `theorems`; `None` when stopped.
pub async fn run_explore(
    prover: &Prover,
    theorems: &[Theorem],
    config: &ExploreConfig,
    stop: &Stop,
    events: &mut dyn ExploreEvents,
) -> Result<Option<ExploreSummary>, PipelineError> {
    std::fs::create_dir_all(&config.out).map_err(PipelineError::io(&config.out))?;
    let mut summary = ExploreSummary::default();
    summary.add("excluded_as_benchmark_duplicates", 0);
    summary.add("synthetic_excluded_as_benchmark_duplicates", 0);
    let mut kept: Vec<&Theorem> = Vec::new();
    for theorem in theorems {
        let root = config.known_roots.get(&theorem.name).map(String::as_str);
        match config.excluded.find(&theorem.formal_statement, root) {
            Some(found) => summary.exclude(found.rule, ""),
            None => kept.push(theorem),
        }
    }

    let path = config.out.join("search.jsonl");
    let (mut log, mut records): (AppendLog, Vec<ExploreRecord>) =
        AppendLog::open(&path, "explore", false, &[])?;
    let done: HashSet<String> = records.iter().map(|r| r.name.clone()).collect();
    let pending: Vec<Theorem> = kept
        .iter()
        .filter(|t| !done.contains(&t.name))
        .map(|t| (*t).clone())
        .collect();
    let mut searched = |record: ExploreRecord| -> Result<(), PipelineError> {
        log.append(&record)?;
        events.searched(&record);
        records.push(record);
        Ok(())
    };
    match &config.planning {
        Some(planning) => {
            plan_all(
                planning,
                prover,
                pending,
                config.concurrency,
                stop,
                &mut searched,
            )
            .await?;
        }
        None => {
            search_all(
                prover,
                pending,
                config.concurrency,
                stop,
                |_| TraceHook::default(),
                |Decided { result, hook, .. }: Decided<TraceHook>| {
                    searched(hook.unwrap_or_default().into_record(&result))
                },
            )
            .await?;
        }
    }
    if stop.is_set() {
        return Ok(None);
    }
    records.sort_by(|a, b| a.name.cmp(&b.name));
    // A root goal Lean printed during the search that is a benchmark's: the theorem is one.
    records.retain(|record| {
        let root = record.edges.iter().find(|e| e.depth == 0);
        match root.and_then(|e| config.excluded.find_goal(&e.state_before)) {
            Some(found) => {
                summary.exclude(found.rule, "");
                false
            }
            None => true,
        }
    });
    summary.add("theorems", records.len());
    let by_name: HashMap<&str, &Theorem> = kept.iter().map(|t| (t.name.as_str(), *t)).collect();

    let candidates = synthetic_candidates(&records, &by_name, &config.excluded, &mut summary);
    let path = config.out.join("verify.jsonl");
    let (mut log, earlier): (AppendLog, Vec<CheckResult>) =
        AppendLog::open(&path, "explore", false, &[])?;
    let mut verdicts: HashMap<String, CheckResult> =
        earlier.into_iter().map(|r| (r.name.clone(), r)).collect();
    let tasks: Vec<ProofTask> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| !verdicts.contains_key(&c.name))
        .map(|(index, c)| ProofTask {
            line: index + 1,
            name: c.name.clone(),
            header: c.header.clone(),
            formal_statement: c.formal_statement.clone(),
            proof: c.proof.clone(),
            header_origin: HeaderOrigin::Row,
        })
        .collect();
    verify_all(
        &config.pool,
        &config.check,
        tasks,
        config.concurrency,
        stop,
        &mut log,
        |result| {
            events.verified(&result);
            verdicts.insert(result.name.clone(), result);
        },
    )
    .await?;
    if stop.is_set() {
        return Ok(None);
    }
    export(
        &records,
        &by_name,
        &candidates,
        &verdicts,
        config,
        &mut summary,
    )?;
    Ok(Some(summary))
}

/// Proves `theorems` through the planner, as many at once as `search_all` searches them, each
/// plan's searches watched by an [`ExploreTap`]; `done` gets each record.
async fn plan_all(
    planning: &Planning,
    prover: &Prover,
    theorems: Vec<Theorem>,
    concurrency: usize,
    stop: &Stop,
    done: &mut dyn FnMut(ExploreRecord) -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let (searcher, planning) = (prover.clone(), planning.clone());
    let stopping = stop.clone();
    let end = super::batch::run(
        theorems,
        concurrency,
        stop,
        Some(prover),
        move |theorem: Theorem| {
            let (prover, planning, stop) = (searcher.clone(), planning.clone(), stopping.clone());
            async move {
                let tap = std::sync::Arc::new(ExploreTap::default());
                let planned = planning.plan(&prover, theorem, &stop, tap.clone()).await;
                tap.record(&planned)
            }
        },
        done,
    )
    .await?;
    match end.model_outage {
        Some(message) => Err(PipelineError::ModelOutage(message)),
        None => Ok(()),
    }
}

/// Both of a search's observers: the training tap's (each hole's proof path) and the trace's.
struct Both(Box<dyn Observer>, Box<dyn Observer>);

impl Observer for Both {
    fn on_event(&mut self, event: &JobEvent) {
        self.0.on_event(event);
        self.1.on_event(event);
    }

    fn on_search_event(&mut self, event: &SearchEvent<'_>) {
        self.0.on_search_event(event);
        self.1.on_search_event(event);
    }
}

/// A [`PlanTap`] for one planned theorem: a [`TrainingTap`] for its holes' proof paths (as
/// `iterate` keeps them) and a [`TraceHook`] per search for its edges and proofs.
#[derive(Default)]
struct ExploreTap {
    training: TrainingTap,
    traces: std::sync::Mutex<Vec<(PlanSearch, Lend<TraceHook>)>>,
}

impl PlanTap for ExploreTap {
    fn observer(&self, search: PlanSearch) -> Box<dyn Observer> {
        let lent = Lend::new(TraceHook::default());
        self.traces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((search, lent.clone()));
        Box::new(Both(self.training.observer(search), Box::new(lent)))
    }
}

impl ExploreTap {
    /// The record of `planned` (every search of the plan has ended): the edges and proofs of
    /// the whole theorem's searches (the direct search, then its fallback); for a proof
    /// through a skeleton, that proof and each hole's steps instead of search proofs; the plan.
    fn record(&self, planned: &Planned) -> ExploreRecord {
        let round = self.training.record(Stage::Search, planned);
        let searches = std::mem::take(&mut *self.traces.lock().unwrap_or_else(|p| p.into_inner()));
        let mut whole = TraceHook::default();
        for (search, lent) in searches {
            if search == PlanSearch::Hole {
                continue;
            }
            let Some(hook) = lent.take() else { continue };
            whole.edges.extend(hook.edges);
            for proof in hook.proofs {
                if !whole.proofs.contains(&proof) {
                    whole.proofs.push(proof);
                }
            }
        }
        let through_skeleton = planned.record.outcome == PlanOutcome::Plan;
        if through_skeleton {
            whole.proofs.clear();
        }
        let mut record = whole.into_record(&planned.result);
        if through_skeleton && planned.result.status == ProveStatus::Proved {
            record.proof = planned.result.proof.clone();
            record.holes = round.holes;
        }
        record.plan = round.plan;
        record
    }
}

/// Collects every edge and every accepted proof of one search.
#[derive(Debug, Default)]
pub struct TraceHook {
    depths: HashMap<NodeId, u32>,
    edges: Vec<TraceRow>,
    proofs: Vec<FoundProof>,
}

impl SearchHook for TraceHook {
    fn on_event(&mut self, event: &SearchEvent<'_>) {
        let row = |state: &str, tactic: &str, outcome, score: f64, depth| TraceRow {
            schema_version: EXPLORE_SCHEMA_VERSION,
            name: String::new(),
            state_before: state.to_owned(),
            tactic: tactic.to_owned(),
            outcome,
            state_after: None,
            error: None,
            score: score.is_finite().then_some(score),
            depth,
            seconds: 0.0,
            on_proof: false,
        };
        match event {
            SearchEvent::Selected { node, depth, .. } => {
                self.depths.insert(*node, *depth);
            }
            SearchEvent::Filtered {
                node,
                state,
                candidate,
                reason,
            } => {
                let depth = self.depths.get(node).copied().unwrap_or(0);
                let mut filtered = row(
                    state,
                    &candidate.tactic,
                    EdgeKind::Filtered,
                    candidate.score,
                    depth,
                );
                filtered.error = Some((*reason).to_owned());
                self.edges.push(filtered);
            }
            SearchEvent::Edge(edge) => {
                let (kind, after, error) = match edge.outcome {
                    EdgeOutcome::NewState { state, .. } | EdgeOutcome::KnownState { state, .. } => {
                        (EdgeKind::Goals, Some(state), None)
                    }
                    EdgeOutcome::Proved => (EdgeKind::Proved, None, None),
                    EdgeOutcome::Rejected(message) if is_timeout_refusal(message) => {
                        (EdgeKind::Timeout, None, Some(message))
                    }
                    EdgeOutcome::Rejected(message) => (EdgeKind::LeanError, None, Some(message)),
                    // Not Lean's answer about the tactic: nothing to learn from.
                    EdgeOutcome::EnvError(_) => return,
                };
                let mut traced = row(edge.state, edge.tactic, kind, edge.score, edge.depth);
                traced.state_after = after.map(str::to_owned);
                traced.error = error.map(str::to_owned);
                traced.seconds = edge.duration.as_secs_f64();
                self.edges.push(traced);
            }
            SearchEvent::Rechecked {
                proof,
                verdict: Ok(Verdict::Accepted),
            } => {
                let found = FoundProof {
                    tactics: proof.tactics.clone(),
                    states: proof.states.clone(),
                };
                if !self.proofs.contains(&found) {
                    self.proofs.push(found);
                }
            }
            SearchEvent::Rechecked { .. } | SearchEvent::PolicyFailed { .. } => {}
        }
    }
}

impl TraceHook {
    /// The log record of `result`: the proofs, and every edge marked when it is a proof step.
    pub fn into_record(self, result: &ProveResult) -> ExploreRecord {
        let steps: HashSet<(&str, &str)> = self
            .proofs
            .iter()
            .flat_map(|p| p.states.iter().zip(&p.tactics))
            .map(|(s, t)| (s.as_str(), t.as_str()))
            .collect();
        let edges = self
            .edges
            .iter()
            .map(|edge| TraceRow {
                name: result.name.clone(),
                on_proof: edge.outcome != EdgeKind::Filtered
                    && steps.contains(&(edge.state_before.as_str(), edge.tactic.as_str())),
                ..edge.clone()
            })
            .collect();
        let proofs = if result.status == ProveStatus::Proved {
            self.proofs
        } else {
            Vec::new()
        };
        ExploreRecord {
            schema_version: EXPLORE_SCHEMA_VERSION,
            name: result.name.clone(),
            status: result.status,
            stop_reason: result.stop_reason.clone(),
            lean_calls: result.lean_calls,
            seconds: result.seconds,
            proofs,
            edges,
            proof: None,
            plan: None,
            holes: Vec::new(),
        }
    }
}

/// The synthetic theorems of the found proofs, deduplicated by statement, in a stable order:
/// each state after the first step of a proof, restated with the rest of the proof.
fn synthetic_candidates(
    records: &[ExploreRecord],
    theorems: &HashMap<&str, &Theorem>,
    excluded: &ExclusionIndex,
    summary: &mut ExploreSummary,
) -> Vec<SyntheticRow> {
    let mut seen: HashSet<String> = normal_forms_of(theorems);
    let mut candidates = Vec::new();
    for record in records {
        let Some(theorem) = theorems.get(record.name.as_str()) else {
            continue;
        };
        for proof in &record.proofs {
            for depth in 1..proof.states.len() {
                let statement = match statement_from_goal("synthetic", &proof.states[depth]) {
                    Ok(statement) => statement,
                    Err(reason) => {
                        summary.add(&format!("synthetic_skipped_{}", reason.name()), 1);
                        continue;
                    }
                };
                if let Some(found) = excluded.find(&statement, Some(&proof.states[depth])) {
                    summary.exclude(found.rule, "synthetic_");
                    continue;
                }
                if !seen.insert(statement_normal_form(&statement)) {
                    summary.add("synthetic_duplicates", 1);
                    continue;
                }
                let body = statement_body(&statement);
                let hash = sha1_smol::Sha1::from(&body).digest().to_string();
                // A dataset's name need not be a Lean name (`amc12a-2019-p21`): the synthetic
                // theorem's is one, whatever the source's.
                let name = format!("{}__{}", lean_identifier_from(&record.name), &hash[..8]);
                let statement = format!("theorem {name} {body} := by");
                candidates.push(SyntheticRow {
                    schema_version: EXPLORE_SCHEMA_VERSION,
                    name,
                    source: record.name.clone(),
                    depth: u32::try_from(depth).unwrap_or(u32::MAX),
                    header: theorem.header.clone(),
                    formal_statement: statement,
                    proof: script_to_proof(&proof.tactics[depth..]),
                });
            }
        }
    }
    summary.add("synthetic_candidates", candidates.len());
    candidates
}

/// The normal forms of the explored theorems themselves: a state that restates one is no new
/// theorem.
fn normal_forms_of(theorems: &HashMap<&str, &Theorem>) -> HashSet<String> {
    theorems
        .values()
        .map(|t| statement_normal_form(&t.formal_statement))
        .collect()
}

/// Rows of one level, by split.
type Levels = BTreeMap<&'static str, BTreeMap<&'static str, Vec<String>>>;

fn push_row<T: serde::Serialize>(levels: &mut Levels, level: &'static str, source: &str, row: &T) {
    let line = serde_json::to_string(row).unwrap_or_default();
    levels
        .entry(level)
        .or_default()
        .entry(split_of(source))
        .or_default()
        .push(line);
}

/// Writes `data/`, the card and the manifest.
fn export(
    records: &[ExploreRecord],
    theorems: &HashMap<&str, &Theorem>,
    candidates: &[SyntheticRow],
    verdicts: &HashMap<String, CheckResult>,
    config: &ExploreConfig,
    summary: &mut ExploreSummary,
) -> Result<(), PipelineError> {
    let mut names = vec!["traces", "proofs", "steps", "preferences", "synthetic"];
    if config.planning.is_some() {
        names.push("plans");
        summary.add("plan_rows", 0);
        summary.add("proofs_through_skeletons", 0);
    }
    let mut levels: Levels = BTreeMap::new();
    for record in records {
        match record.status {
            ProveStatus::Proved => summary.add("proved", 1),
            ProveStatus::Failed => summary.add("failed", 1),
            ProveStatus::Error => summary.add("error", 1),
        }
        summary.add("lean_calls", record.lean_calls as usize);
        for edge in &record.edges {
            push_row(&mut levels, "traces", &record.name, edge);
        }
        summary.add("trace_rows", record.edges.len());
        let Some(theorem) = theorems.get(record.name.as_str()) else {
            continue;
        };
        if let Some(plan) = &record.plan {
            let proved = record.status == ProveStatus::Proved;
            for row in PlanRow::rows_of(plan, 0, &theorem.header, proved) {
                summary.add("plan_rows", 1);
                push_row(&mut levels, "plans", &record.name, &row);
            }
        }
        if let Some(proof) = &record.proof {
            skeleton_rows(record, theorem, proof, config, summary, &mut levels);
        }
        for (index, proof) in record.proofs.iter().enumerate() {
            summary.add("proofs", 1);
            let length = u32::try_from(proof.tactics.len()).unwrap_or(u32::MAX);
            push_row(
                &mut levels,
                "proofs",
                &record.name,
                &ProofLevelRow {
                    schema_version: EXPLORE_SCHEMA_VERSION,
                    name: record.name.clone(),
                    proof_index: u32::try_from(index).unwrap_or(u32::MAX),
                    header: theorem.header.clone(),
                    formal_statement: theorem.formal_statement.clone(),
                    proof: script_to_proof(&proof.tactics),
                    proof_length: length,
                },
            );
            for (depth, (state, tactic)) in proof.states.iter().zip(&proof.tactics).enumerate() {
                let prompt = config.prompt_template.replace("{state}", state);
                summary.add("steps", 1);
                push_row(
                    &mut levels,
                    "steps",
                    &record.name,
                    &SftRow {
                        schema_version: TRAINING_SCHEMA_VERSION,
                        name: record.name.clone(),
                        round: 0,
                        state: state.clone(),
                        tactic: tactic.clone(),
                        prompt: prompt.clone(),
                        completion: tactic.clone(),
                        depth: u32::try_from(depth).unwrap_or(u32::MAX),
                        proof_length: length,
                    },
                );
                if index > 0 {
                    // Preferences come once per state: from the first proof through it.
                    continue;
                }
                for edge in record.edges.iter().filter(|e| {
                    e.state_before == *state
                        && e.outcome == EdgeKind::LeanError
                        && e.tactic != *tactic
                }) {
                    summary.add("preferences", 1);
                    push_row(
                        &mut levels,
                        "preferences",
                        &record.name,
                        &DpoRow {
                            schema_version: TRAINING_SCHEMA_VERSION,
                            name: record.name.clone(),
                            round: 0,
                            state: state.clone(),
                            prompt: prompt.clone(),
                            chosen: tactic.clone(),
                            rejected: edge.tactic.clone(),
                            rejected_error: edge.error.clone().unwrap_or_default(),
                            rejected_kind: RefusalKind::LeanError,
                        },
                    );
                }
            }
        }
    }
    for candidate in candidates {
        match verdicts.get(&candidate.name).map(|v| v.status) {
            Some(Status::Valid) => {
                summary.add("synthetic_verified", 1);
                push_row(&mut levels, "synthetic", &candidate.source, candidate);
            }
            _ => summary.add("synthetic_refused", 1),
        }
    }
    for level in names.iter().copied() {
        for split in SPLITS {
            let dir = config.out.join("data").join(level);
            std::fs::create_dir_all(&dir).map_err(PipelineError::io(&dir))?;
            let path = dir.join(format!("{split}.jsonl"));
            let mut text = String::new();
            for line in levels
                .get(level)
                .and_then(|splits| splits.get(split))
                .into_iter()
                .flatten()
            {
                text.push_str(line);
                text.push('\n');
            }
            ::datasets::write_atomic(&path, text.as_bytes()).map_err(PipelineError::io(&path))?;
        }
    }
    let card = dataset_card(config, summary, &levels, &names);
    let path = config.out.join("README.md");
    ::datasets::write_atomic(&path, card.as_bytes()).map_err(PipelineError::io(&path))?;
    let mut manifest = config.manifest.clone();
    manifest.counts = summary.counts.clone();
    manifest.finished_unix = Some(
        manifest.started_unix.max(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        ),
    );
    let path = config.out.join("manifest.json");
    manifest.write(&path).map_err(|e| PipelineError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })
}

/// The rows of a proof through a skeleton: the checked whole proof (a `proofs` row, its
/// length the proof's non-blank lines), and per hole of the skeleton, its proof's steps
/// (`steps`, `depth` and `proof_length` within the hole's proof) and, at each step's state, the
/// tactics Lean refused there (`preferences`), as `iterate` makes them.
fn skeleton_rows(
    record: &ExploreRecord,
    theorem: &Theorem,
    proof: &str,
    config: &ExploreConfig,
    summary: &mut ExploreSummary,
    levels: &mut Levels,
) {
    summary.add("proofs", 1);
    summary.add("proofs_through_skeletons", 1);
    let lines = proof.lines().filter(|line| !line.trim().is_empty()).count();
    push_row(
        levels,
        "proofs",
        &record.name,
        &ProofLevelRow {
            schema_version: EXPLORE_SCHEMA_VERSION,
            name: record.name.clone(),
            proof_index: 0,
            header: theorem.header.clone(),
            formal_statement: theorem.formal_statement.clone(),
            proof: proof.to_owned(),
            proof_length: u32::try_from(lines).unwrap_or(u32::MAX),
        },
    );
    for HoleSteps {
        steps, refusals, ..
    } in &record.holes
    {
        let length = u32::try_from(steps.len()).unwrap_or(u32::MAX);
        for (depth, step) in steps.iter().enumerate() {
            let prompt = config.prompt_template.replace("{state}", &step.state);
            summary.add("steps", 1);
            push_row(
                levels,
                "steps",
                &record.name,
                &SftRow {
                    schema_version: TRAINING_SCHEMA_VERSION,
                    name: record.name.clone(),
                    round: 0,
                    state: step.state.clone(),
                    tactic: step.tactic.clone(),
                    prompt: prompt.clone(),
                    completion: step.tactic.clone(),
                    depth: u32::try_from(depth).unwrap_or(u32::MAX),
                    proof_length: length,
                },
            );
            for refusal in refusals.iter().filter(|r| {
                r.state == step.state && r.kind == RefusalKind::LeanError && r.tactic != step.tactic
            }) {
                summary.add("preferences", 1);
                push_row(
                    levels,
                    "preferences",
                    &record.name,
                    &DpoRow {
                        schema_version: TRAINING_SCHEMA_VERSION,
                        name: record.name.clone(),
                        round: 0,
                        state: step.state.clone(),
                        prompt: prompt.clone(),
                        chosen: step.tactic.clone(),
                        rejected: refusal.tactic.clone(),
                        rejected_error: refusal.error.clone(),
                        rejected_kind: RefusalKind::LeanError,
                    },
                );
            }
        }
    }
}

/// The fields of each level, for the card.
const FEATURES: [(&str, &str); 6] = [
    (
        "traces",
        "`name`, `state_before`, `tactic`, `outcome` (`goals`, `proved`, `lean_error`, `timeout`, `filtered`), `state_after` or `error`, `score`, `depth`, `seconds`, `on_proof`",
    ),
    (
        "proofs",
        "`name`, `proof_index`, `header`, `formal_statement`, `proof`, `proof_length`",
    ),
    (
        "steps",
        "`name`, `state`, `tactic`, `prompt`, `completion`, `depth`, `proof_length` (`round` is 0)",
    ),
    (
        "preferences",
        "`name`, `state`, `prompt`, `chosen` (the proof's step), `rejected` (a tactic Lean refused there), `rejected_error`, `rejected_kind` (`round` is 0)",
    ),
    (
        "synthetic",
        "`name`, `source`, `depth`, `header`, `formal_statement`, `proof`: a state of a found proof as a theorem, verified with `prover check`'s rules",
    ),
    (
        "plans",
        "`name`, `round` (0), `request` (0, then one more per replan), `header`, `statement`, `skeleton` (a proof skeleton of `have … := by sorry` lines the planner proposed and Lean elaborated), `label` (`closed_all`, `partial`, `refuted`), `holes`, `holes_closed`",
    ),
];

/// The Hub's size category for a dataset whose largest config has `rows` rows.
fn size_category(rows: usize) -> &'static str {
    match rows {
        0..1_000 => "n<1K",
        1_000..10_000 => "1K<n<10K",
        10_000..100_000 => "10K<n<100K",
        100_000..1_000_000 => "100K<n<1M",
        1_000_000..10_000_000 => "1M<n<10M",
        _ => "10M<n<100M",
    }
}

/// The file name of `path` as a card may show it: never a directory above it.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The dataset card: the Hub's YAML header (license, task, tags, size, and a `configs` block
/// listing every split that has rows, since the `datasets` library refuses a split with no
/// data), the features of each file, where the data came from and the counts. No times and no
/// absolute paths, so the same run gives the same bytes wherever it ran.
fn dataset_card(
    config: &ExploreConfig,
    summary: &ExploreSummary,
    levels: &Levels,
    names: &[&str],
) -> String {
    let rows = |level: &str, split: &str| {
        levels
            .get(level)
            .and_then(|s| s.get(split))
            .map_or(0, Vec::len)
    };
    let largest = names
        .iter()
        .map(|level| SPLITS.iter().map(|split| rows(level, split)).sum::<usize>())
        .max()
        .unwrap_or(0);
    let mut card = String::from("---\n");
    let _ = writeln!(card, "license: {}", config.license);
    card.push_str("pretty_name: Synthetic Lean 4 proof data from prover explore\n");
    card.push_str("task_categories:\n- text-generation\n");
    card.push_str("tags:\n- lean4\n- theorem-proving\n- formal-mathematics\n- synthetic\n");
    let _ = writeln!(card, "size_categories:\n- {}", size_category(largest));
    card.push_str("configs:\n");
    for level in names {
        let splits: Vec<&str> = SPLITS
            .iter()
            .copied()
            .filter(|split| rows(level, split) > 0)
            .collect();
        if splits.is_empty() {
            continue;
        }
        let _ = writeln!(card, "- config_name: {level}\n  data_files:");
        for split in splits {
            let _ = writeln!(
                card,
                "  - split: {split}\n    path: data/{level}/{split}.jsonl"
            );
        }
    }
    card.push_str("---\n\n# Synthetic proof data from `prover explore`\n\n");
    card.push_str(
        "Best-first proof search over Lean 4 (leanprover-community/repl). Splits are by a stable \
         hash of the source theorem's name (train 90 %, validation 5 %, test 5 %), never by \
         step, so a theorem's steps, proofs and synthetic theorems share one split. A split \
         with no rows is not listed in the `configs` block (its file is empty), and neither is a \
         config with no rows at all.\n\n",
    );
    card.push_str(
        "## Files\n\n| config | rows (train / validation / test) | fields |\n|---|---|---|\n",
    );
    for (level, fields) in FEATURES.iter().filter(|(level, _)| names.contains(level)) {
        let _ = writeln!(
            card,
            "| `{level}` | {} / {} / {} | {fields} |",
            rows(level, "train"),
            rows(level, "validation"),
            rows(level, "test")
        );
    }
    card.push_str("\nEvery row carries `schema_version`.\n\n");
    if config.planning.is_some() {
        card.push_str(
            "## Planner\n\nEach theorem was proved through a planner (`--planner openai`, its \
             settings under Provenance): a direct search with a share of the budget, then proof \
             skeletons from a model whose holes were closed by search. A theorem a skeleton \
             proved has the whole proof that passed the final check as its one `proofs` row \
             (`proof_length` its non-blank lines); its `steps` and `preferences` rows are each \
             hole's proof, rooted at the hole's goal; its `traces` are the whole theorem's \
             searches only. `plans` holds one (statement → skeleton) row per skeleton that \
             elaborated, labelled by what its holes' searches found.\n\n",
        );
    }
    card.push_str("## Provenance\n\n");
    let manifest = &config.manifest;
    for (key, value) in &manifest.prover {
        let _ = writeln!(card, "- prover {key}: `{value}`");
    }
    let _ = writeln!(
        card,
        "- input: `{}` (SHA-1 `{}`, {} rows)",
        file_name(&manifest.input.path),
        manifest.input.sha1,
        manifest.input.rows
    );
    let _ = writeln!(card, "- license: `{}`", config.license);
    for (key, value) in &manifest.config {
        let _ = writeln!(card, "- {key}: `{value}`");
    }
    card.push_str("\n## Counts\n\n");
    for (key, value) in &summary.counts {
        let _ = writeln!(card, "- {key}: {value}");
    }
    card.push_str("\n## Decontamination\n\n");
    if config.excluded_files.is_empty() {
        card.push_str("No benchmark was excluded (`--exclude`): check for overlap before training on this data for a benchmark.\n");
    } else {
        let by_rule = |prefix: &str| {
            Rule::ALL
                .iter()
                .map(|rule| {
                    let key = format!("{prefix}excluded_by_{}", rule.name());
                    format!("{} by {}", summary.get(&key), rule.name().replace('_', " "))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            card,
            "Excluded benchmarks: {} ({} statements).\n\n\
             - {} theorems dropped as benchmark statements ({});\n\
             - {} synthetic theorems dropped as benchmark statements ({}).\n\n\
             Rules, tried in this order: **text**, the statement's text with the name aside and \
             whitespace runs collapsed; **normal form**, the statement read as Lean tokens \
             (comments, docstrings, attributes, modifiers, the name and bound names aside; \
             redundant parentheses, binder grouping, `λ`/`fun`, `>`/`<`, `∑ x in`/`∑ x ∈` and \
             notations such as `π`, `√`, `|x|`, `n !` unified; numbers, operators, casts and \
             binder types kept); **root goal**, the goal Lean printed for the statement (from a \
             benchmark row's `goal` field, the cache, or the theorem's own search) equal to a \
             benchmark's statement or root goal in that normal form; **near** (at the `near` \
             level only), a near-duplicate of a benchmark statement or root goal: token bigrams \
             of the normal form (casts, ascriptions and bound names aside) contained at least \
             {:.0} % either way, weighted by inverse document frequency over the benchmarks, with \
             at most {} numerals changed (so one hypothesis changed by a number, added or \
             dropped is caught, and problems of one template with other numbers are not). \
             Level: **{}** (`--decontamination`; `exact` applies the text rule only, `normal` \
             the first three). A theorem caught by its root goal only after its search is left \
             out of every file.",
            config
                .excluded_files
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", "),
            config.excluded.rows(),
            summary.get("excluded_as_benchmark_duplicates"),
            by_rule(""),
            summary.get("synthetic_excluded_as_benchmark_duplicates"),
            by_rule("synthetic_"),
            ::datasets::near_duplicate::MIN_CONTAINMENT * 100.0,
            ::datasets::near_duplicate::MAX_NUMERAL_CHANGES,
            config.excluded.level(),
        );
    }
    card
}

/// What `prover explore` is asked: plain values from the front end's flags.
#[derive(Debug, Clone)]
pub struct ExploreRun {
    /// The dataset.
    pub dataset: PathBuf,
    /// The output directory.
    pub out: PathBuf,
    /// Proofs wanted per theorem (`None`: 1).
    pub proofs_per_theorem: Option<u32>,
    /// Benchmarks whose statements must not appear in the data.
    pub exclude: Vec<PathBuf>,
    /// How far `exclude` goes (`None`: the default level).
    pub decontamination: Option<String>,
    /// The card's license id (`None`: `unknown`).
    pub license: Option<String>,
    /// `--trace DIR`.
    pub trace: Option<PathBuf>,
    /// Theorems at once (`None`: the settings', else the REPL workers).
    pub concurrency: Option<usize>,
    /// The session's settings from the front end.
    pub overlay: crate::settings::Overlay,
    /// Whether the front end asked to save a learned model, which exploring does not do.
    pub save_model: bool,
    /// The front end's build (version, git commit), for the manifest.
    pub build: BTreeMap<String, String>,
    /// The planner's settings and `--plan-log` (off by default).
    pub planner: PlannerRun,
}

/// An exploration's events, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExploreEvent<'a> {
    /// A theorem's search ended (already on disk).
    Searched(&'a ExploreRecord),
    /// A synthetic theorem was checked (already on disk).
    Verified(&'a CheckResult),
    /// The exploration is complete, before the manifest is closed.
    Finished {
        /// Its counts.
        summary: &'a ExploreSummary,
        /// Where the data is.
        data: &'a Path,
    },
}

/// The events of [`run_explore`] for the front end's progress, and each theorem's trace
/// under `--trace DIR`.
struct Forward<'p> {
    trace: Option<PathBuf>,
    progress: &'p mut dyn super::Progress,
}

impl ExploreEvents for Forward<'_> {
    fn searched(&mut self, record: &ExploreRecord) {
        self.progress
            .event(super::RunEvent::Explore(ExploreEvent::Searched(record)));
        if let Some(dir) = &self.trace
            && let Err(error) = ::datasets::explore::write_trace(dir, &record.name, &record.edges)
        {
            self.progress.event(super::RunEvent::TraceUnwritten {
                name: &record.name,
                dir,
                error: &error,
            });
        }
    }

    fn verified(&mut self, result: &CheckResult) {
        self.progress
            .event(super::RunEvent::Explore(ExploreEvent::Verified(result)));
    }
}

/// An exploration that ran (or stopped): [`Exploration::finish`] closes it.
pub struct Exploration {
    session: crate::session::Session,
    outcome: Result<Option<ExploreSummary>, PipelineError>,
    manifest: super::run::Manifest,
    out: PathBuf,
}

impl Exploration {
    /// The session it ran on.
    pub fn session(&self) -> &crate::session::Session {
        &self.session
    }

    /// Stops the REPLs, reports the counts and closes the manifest; `None` when stopped.
    pub fn finish(
        self,
        progress: &mut dyn super::Progress,
    ) -> Result<Option<ExploreSummary>, super::RunError> {
        let session = &self.session;
        session.handle().block_on(session.pool().shutdown());
        let Some(summary) = self.outcome? else {
            return Ok(None);
        };
        progress.event(super::RunEvent::Explore(ExploreEvent::Finished {
            summary: &summary,
            data: &self.out.join("data"),
        }));
        let counts: Vec<(&str, usize)> = summary
            .counts
            .iter()
            .map(|(k, v)| (k.as_str(), usize::try_from(*v).unwrap_or(usize::MAX)))
            .collect();
        self.manifest.finish(&counts)?;
        Ok(Some(summary))
    }
}

/// The benchmarks `--exclude` names, indexed at `level`, and the card's names of their files.
struct Exclusions {
    index: ExclusionIndex,
    files: Vec<String>,
    benchmarks: Vec<Theorem>,
}

/// Reads the `--exclude` benchmarks into an index at `level`.
fn read_exclusions(paths: &[PathBuf], level: Level) -> Result<Exclusions, super::RunError> {
    let mut index = ExclusionIndex::new(level);
    let mut files: Vec<String> = Vec::new();
    let mut benchmarks = Vec::new();
    for path in paths {
        let (bytes, benchmark) = super::run::read_dataset(path, "--exclude")?;
        let goals = ::datasets::decontamination::root_goals(&bytes);
        for theorem in &benchmark {
            let goal = goals.get(&theorem.name).map(String::as_str);
            index.add(&theorem.name, &theorem.formal_statement, goal);
        }
        // The card and the manifest name an input by its file name and content, never by
        // where it lay on this machine.
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let sha1 = sha1_smol::Sha1::from(&bytes).digest().to_string();
        files.push(format!(
            "{name} (SHA-1 {}, {} rows)",
            &sha1[..12],
            benchmark.len()
        ));
        benchmarks.extend(benchmark);
    }
    files.sort();
    Ok(Exclusions {
        index,
        files,
        benchmarks,
    })
}

/// What an exploration reads before it starts: proofs wanted per theorem, the card's
/// license, the decontamination level, the whole dataset's record (for the manifest) and the
/// theorems of the run's shard, the benchmarks, the planner when on.
type ExploreInputs = (
    u32,
    String,
    Level,
    ::datasets::InputRecord,
    Vec<Theorem>,
    Exclusions,
    Option<Planning>,
);

/// Checks the flags, outputs and license, opens the planner (when on), reads the dataset and
/// the benchmarks.
fn read_inputs(
    request: &ExploreRun,
    settings: &crate::settings::SettingsFile,
) -> Result<ExploreInputs, super::RunError> {
    use super::RunError;
    use ::datasets::output::{Input, Output, Target};
    let proofs_wanted = request.proofs_per_theorem.unwrap_or(1);
    if !(1..=1000).contains(&proofs_wanted) {
        return Err(RunError::Refused(format!(
            "--proofs-per-theorem must be from 1 to 1000, got {proofs_wanted}"
        )));
    }
    let inputs: Vec<Input<'_>> = std::iter::once(Input {
        flag: "--dataset",
        path: &request.dataset,
    })
    .chain(request.exclude.iter().map(|path| Input {
        flag: "--exclude",
        path,
    }))
    .chain(request.planner.input())
    .collect();
    let outputs: Vec<Output<'_>> = std::iter::once(Output {
        flag: "--out",
        path: &request.out,
        target: Target::Dir,
    })
    .chain(super::run::trace_output(request.trace.as_deref()))
    .chain(request.planner.output())
    .collect();
    if request.overlay.search.learn_online || request.save_model {
        return Err(RunError::Refused(
            "--learn-online and --save-model work with `prover eval` and `prover iterate`"
                .to_owned(),
        ));
    }
    let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
    let input_paths: Vec<&Path> = inputs.iter().map(|input| input.path).collect();
    let planning = Planning::open(&request.planner, settings, false, &input_paths)?;
    if let Some(planning) = &planning {
        planning.refuse_extras(false, request.trace.is_some())?;
    }
    let (bytes, theorems) = super::run::read_dataset(&request.dataset, "dataset")?;
    let mut input = super::run::dataset_input(&request.dataset, &bytes, &theorems);
    if let Some(name) = request.dataset.file_name() {
        input.path = name.to_string_lossy().into_owned();
    }
    let shard = request.overlay.shard;
    let theorems = super::batch::in_shard(theorems, shard, |t| t.name.as_str());
    if theorems.is_empty() {
        return Err(RunError::Refused(format!(
            "dataset {} holds no rows{}",
            request.dataset.display(),
            shard.map_or(String::new(), |shard| format!(" in shard {shard}"))
        )));
    }
    let license = request
        .license
        .clone()
        .unwrap_or_else(|| "unknown".to_owned());
    let valid_license = license.starts_with(|c: char| c.is_ascii_alphanumeric())
        && license
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '+'));
    if !valid_license {
        return Err(RunError::Refused(format!(
            "--license must be a Hugging Face license id such as mit, apache-2.0 or cc-by-4.0 \
             (lower-case letters, digits, `-`, `.`, `+`), got {license:?}"
        )));
    }
    let level: Level = request
        .decontamination
        .as_deref()
        .unwrap_or(Level::default().name())
        .parse()
        .map_err(|e: ::datasets::decontamination::UnknownLevel| RunError::Refused(e.to_string()))?;
    let exclusions = read_exclusions(&request.exclude, level)?;
    if request.out.exists() && !request.out.is_dir() {
        return Err(RunError::Refused(format!(
            "--out {} exists and is not a directory",
            request.out.display()
        )));
    }
    Ok((
        proofs_wanted,
        license,
        level,
        input,
        theorems,
        exclusions,
        planning,
    ))
}

/// Root goals Lean printed before, under this Lean, for the benchmarks (into the exclusion
/// index) and the theorems (returned by name).
fn known_roots(
    session: &crate::session::Session,
    theorems: &[Theorem],
    exclusions: &mut Exclusions,
) -> HashMap<String, String> {
    let mut known = HashMap::new();
    if let Some(cache) = session.cache() {
        let root = |t: &Theorem| {
            let statement = ::datasets::lean::with_sorry(&t.formal_statement);
            cache
                .root(&t.header, &statement)
                .filter(|goals| goals.len() == 1)
                .map(|goals| goals.concat())
        };
        for theorem in &exclusions.benchmarks {
            if let Some(goal) = root(theorem) {
                exclusions.index.add_goal(&theorem.name, &goal);
            }
        }
        for theorem in theorems {
            if let Some(goal) = root(theorem) {
                known.insert(theorem.name.clone(), goal);
            }
        }
    }
    known
}

/// Runs `prover explore`: checks and reads its inputs, opens the session (its verdicts never
/// reused, past the first proof when asked), the output directory and the manifest,
/// preflights, and explores through [`run_explore`].
pub fn run(
    request: ExploreRun,
    settings: &crate::settings::SettingsFile,
    progress: &mut dyn super::Progress,
) -> Result<Exploration, super::RunError> {
    use crate::settings;
    use serde_json::json;
    let (proofs_wanted, license, level, input, theorems, mut exclusions, planning) =
        read_inputs(&request, settings)?;
    let mut config = super::run::side_by_side_session_config(&request.overlay, settings)?;
    config.prove.reuse_verdicts = crate::engine::VerdictReuse::Never;
    config.prove.search.proofs_wanted = proofs_wanted;
    let (prompt_template, check) = super::run::pipeline_settings(&config, settings)?;
    let pool = config.pool.clone();
    let concurrency = settings::concurrency(request.concurrency, settings, pool.workers)?;
    let session = crate::session::Session::open(config)?;
    std::fs::create_dir_all(&request.out).map_err(|source| super::RunError::Io {
        what: format!("cannot create --out {}", request.out.display()),
        source,
    })?;
    let trace = super::extras::Extras::new(false, request.trace.as_deref())?.trace;
    let mut run_config = super::run::search_config(session.prove_config(), &pool);
    let known_roots = known_roots(&session, &theorems, &mut exclusions);
    for (key, value) in [
        ("proofs_per_theorem", json!(proofs_wanted)),
        ("prompt_template", json!(prompt_template)),
        ("exclude", json!(exclusions.files)),
        ("decontamination", json!(level.name())),
        ("verify_timeout_ms", json!(check.timeout.as_millis() as u64)),
    ] {
        run_config.insert(key.to_owned(), value);
    }
    super::merge::record_shard(&mut run_config, request.overlay.shard);
    if let Some(planning) = &planning {
        // A resume under other planner settings would mix two kinds of records.
        run_config.insert("planner".to_owned(), planning.manifest_record());
    }
    let identity = super::run::RunIdentity {
        kind: "explore".to_owned(),
        prover: request.build.clone(),
        config: run_config,
        recorded: super::run::repl_record(&pool),
        input,
    };
    let resuming = request.out.join("search.jsonl").exists();
    let mut manifest =
        super::run::prepare(&request.out.join("explore"), identity, false, resuming)?;
    let stop = progress.stop_on(session.handle())?;
    let probe = super::preflight::ready(&session, &theorems[0].header, &mut |url, probe| {
        progress.event(super::RunEvent::ModelProbed { url, probe });
    })?;
    manifest.set_model_probe(probe);
    if let Some(planning) = &planning {
        planning.probe(session.handle())?;
    }
    manifest.start()?;
    let explore = ExploreConfig {
        out: request.out.clone(),
        concurrency,
        prompt_template,
        check,
        pool,
        excluded: exclusions.index,
        excluded_files: exclusions.files,
        known_roots,
        license,
        manifest: manifest.record().clone(),
        planning,
    };
    let prover = session.prover();
    let mut forward = Forward { trace, progress };
    let outcome = session.handle().block_on(run_explore(
        &prover,
        &theorems,
        &explore,
        &stop,
        &mut forward,
    ));
    Ok(Exploration {
        session,
        outcome,
        manifest,
        out: request.out,
    })
}
