//! `prover eval`: [`run`] searches every theorem of a dataset (each attempt, with several), appending one result per attempt as it is decided and resuming from what the output holds; and its rules: what a results file already decides (the resume keys: a name and an attempt), which `error` rows are searched again, the attempts left to search, and the prover that searches attempts.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ::datasets::output::{FileKind, Input, Output, Target};
use ::datasets::{AppendLog, ProveResult, ProveStatus, Theorem};
use lean_bridge::pool::PoolStats;

use super::extras::{self, Extras};
use super::plan::{PlannerRun, Planning};
use super::run as manifest;
use super::{Progress, RunError, RunEvent, Stop};
use crate::engine::{ProveConfig, VerdictReuse};
use crate::policy::PolicyKind;
use crate::session::{Prover, Session};
use crate::settings::{self, Overlay, SettingsFile};

use super::TIMELINE;

/// The most attempts at a theorem an eval takes.
pub const MAX_ATTEMPTS: u32 = 1024;

/// One search to run: a theorem and the number of the attempt at it.
pub type Attempt = (Theorem, u32);

/// What an eval's output already holds for a dataset, and what is left to search.
#[derive(Debug)]
pub struct Resume {
    /// Whether the output held any row (a manifest's configuration must then match).
    pub had_rows: bool,
    /// The (name, attempt) keys whose standing row ended `error` (no verdict): searched
    /// again, the new row replacing the old one.
    pub errored: HashSet<(String, u32)>,
    /// The rows of the dataset's theorems that stand and decide an attempt 0..K−1 (no `error`
    /// row): the summary counts them with this run's.
    pub decided: Vec<ProveResult>,
    /// The rows of attempts K and later, left out of the summary.
    pub beyond_k: usize,
    /// The attempts left to search, in dataset order, each theorem's attempts in order.
    pub searches: Vec<Attempt>,
    /// The attempts the dataset asks for: theorems × K.
    pub total: usize,
}

impl Resume {
    /// Plans an eval of `attempts` attempts at each of `theorems` into an output holding
    /// `rows`. A row decides an attempt at a theorem (rows without a number are attempt 0),
    /// unless it ended `error`: an outage or a crash is no verdict, so that attempt is
    /// searched again. An `error` row gives way to its rerun's (`standing_results`).
    pub fn plan(theorems: &[Theorem], attempts: u32, rows: Vec<ProveResult>) -> Resume {
        let key = |r: &ProveResult| (r.name.clone(), r.attempt.unwrap_or(0));
        let had_rows = !rows.is_empty();
        let standing = ::datasets::standing_results(rows);
        let errored: HashSet<(String, u32)> = standing
            .iter()
            .filter(|r| r.status == ProveStatus::Error)
            .map(key)
            .collect();
        // pass@K counts attempts 0..K−1 only; rows of later attempts stay in the file,
        // uncounted.
        let (first, beyond_k) = ::datasets::first_attempts(standing, attempts);
        let first: Vec<ProveResult> = first
            .into_iter()
            .filter(|r| r.status != ProveStatus::Error)
            .collect();
        let done: HashSet<(String, u32)> = first.iter().map(key).collect();
        let names: HashSet<&str> = theorems.iter().map(|t| t.name.as_str()).collect();
        let searches: Vec<Attempt> = theorems
            .iter()
            .flat_map(|t| (0..attempts).map(move |a| (t.clone(), a)))
            .filter(|(t, a)| !done.contains(&(t.name.clone(), *a)))
            .collect();
        let decided = first
            .into_iter()
            .filter(|r| names.contains(r.name.as_str()))
            .collect();
        Resume {
            had_rows,
            errored,
            decided,
            beyond_k,
            searches,
            total: theorems.len() * attempts as usize,
        }
    }

    /// Marks `result` as taking the place of the `error` row of its attempt, if there is one,
    /// for every reader of the file.
    pub fn mark(&self, result: &mut ProveResult) {
        result.replaces_error = self
            .errored
            .contains(&(result.name.clone(), result.attempt.unwrap_or(0)));
    }
}

/// The prove settings of the attempts: for one attempt, `config` itself; for several, one that
/// never reports a verdict the cache recorded, so every attempt is a search of its own (Lean's
/// answers are still shared).
pub fn attempt_config(config: &ProveConfig, attempts: u32) -> Option<ProveConfig> {
    (attempts > 1).then(|| ProveConfig {
        reuse_verdicts: VerdictReuse::Never,
        ..config.clone()
    })
}

/// What `prover eval` is asked: plain values from the front end's flags.
#[derive(Debug, Clone)]
pub struct EvalRun {
    /// The dataset.
    pub dataset: PathBuf,
    /// The results file.
    pub out: PathBuf,
    /// Discard what `out` holds.
    pub fresh: bool,
    /// Attempts at each theorem (pass@k).
    pub attempts: u32,
    /// Theorems searched at once (`None`: the settings', else the REPL workers).
    pub concurrency: Option<usize>,
    /// `--trace DIR`.
    pub trace: Option<PathBuf>,
    /// `--save-model FILE`.
    pub save_model: Option<PathBuf>,
    /// The session's settings from the front end.
    pub overlay: Overlay,
    /// The planner's settings and `--plan-log` (off by default).
    pub planner: PlannerRun,
    /// The front end's build (version, git commit), for the manifest.
    pub build: BTreeMap<String, String>,
}

/// An eval's events, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum EvalEvent<'a> {
    /// Rows of `out` that ended `error` are searched again.
    Rerunning {
        /// How many.
        errors: usize,
        /// The results file.
        out: &'a Path,
    },
    /// Attempts `out` already decides are skipped.
    Skipping {
        /// How many.
        decided: usize,
        /// The attempts the dataset asks for.
        total: usize,
        /// Whether there are several attempts per theorem.
        several: bool,
        /// The results file.
        out: &'a Path,
    },
    /// Several attempts with a policy that proposes the same tactics every time.
    AttemptsRepeat {
        /// The attempts.
        attempts: u32,
        /// The policy's name.
        policy: &'a str,
    },
    /// Several attempts with a model seeded to sample the same tactics every time.
    AttemptsSeeded {
        /// The attempts.
        attempts: u32,
    },
    /// One attempt decided and written.
    Decided {
        /// Its row.
        result: &'a ProveResult,
        /// This run's counts so far, this row included.
        tally: &'a Tally,
        /// The attempts this run searches.
        todo: usize,
    },
    /// Every attempt this run could decide is decided: the summary, before the manifest is
    /// closed.
    Finished(&'a EvalEnd),
}

/// What an eval decided, for its summary.
pub struct EvalEnd {
    /// The session it ran on (its cache and model client counters).
    pub session: Session,
    /// The dataset's theorems.
    pub theorems: usize,
    /// Attempts at each.
    pub attempts: u32,
    /// The attempts the dataset asks for.
    pub total: usize,
    /// The attempts this run searched.
    pub todo: usize,
    /// This run's counts.
    pub tally: Tally,
    /// The counts of rows earlier runs wrote into the file.
    pub earlier: Tally,
    /// Every row counted (attempts 0..K−1), earlier runs' included.
    pub counted: Vec<ProveResult>,
    /// Rows of attempts K and later, not counted.
    pub beyond_k: usize,
    /// Wall-clock seconds of this run.
    pub seconds: f64,
    /// REPL workers.
    pub workers: usize,
    /// Theorems at once.
    pub concurrency: usize,
    /// The REPL pool's counters, when the batch ran.
    pub pool_stats: Option<PoolStats>,
    /// Why theorems were left unstarted because the model server stayed down, if so.
    pub model_outage: Option<String>,
    /// Whether the run was stopped before its end.
    pub stopped: bool,
}

impl std::fmt::Debug for EvalEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalEnd")
            .field("tally", &self.tally)
            .field("earlier", &self.earlier)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

/// An eval's counts.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Attempts proved.
    pub proved: usize,
    /// Attempts failed.
    pub failed: usize,
    /// Attempts that ended `error`.
    pub error: usize,
    /// Verdicts taken from the cache.
    pub from_cache: usize,
    /// Lean calls.
    pub lean_calls: u64,
    /// Search seconds, summed.
    pub search_seconds: f64,
    /// Lean timeouts.
    pub lean_timeouts: u64,
    /// REPL crashes.
    pub lean_crashes: u64,
    /// Failed model proposals.
    pub policy_errors: u64,
}

impl Tally {
    /// Counts one row.
    pub fn add(&mut self, result: &ProveResult) {
        match result.status {
            ProveStatus::Proved => self.proved += 1,
            ProveStatus::Failed => self.failed += 1,
            ProveStatus::Error => self.error += 1,
        }
        self.from_cache += usize::from(result.from_cache);
        self.lean_calls += u64::from(result.lean_calls);
        self.search_seconds += result.seconds;
        self.lean_timeouts += u64::from(result.lean_timeouts);
        self.lean_crashes += u64::from(result.lean_crashes);
        self.policy_errors += u64::from(result.policy_errors);
    }

    /// Rows counted.
    pub fn total(&self) -> usize {
        self.proved + self.failed + self.error
    }

    /// Proved, in percent of the rows counted.
    pub fn pass_rate(&self) -> f64 {
        100.0 * self.proved as f64 / self.total().max(1) as f64
    }
}

/// Runs `prover eval`: checks the outputs, reads the dataset, plans the resume, opens the
/// session and the manifest, preflights, searches every attempt left through
/// [`super::batch::run`] and writes each row as it is decided. Nothing is left behind when
/// the run cannot start: a results file this run created is removed again.
pub fn run(
    request: EvalRun,
    settings: &SettingsFile,
    progress: &mut dyn Progress,
) -> Result<EvalEnd, RunError> {
    let manifest_path = ::datasets::RunManifest::path_for(&request.out);
    let mut inputs = vec![Input {
        flag: "--dataset",
        path: &request.dataset,
    }];
    let mut outputs = vec![
        Output {
            flag: "--out",
            path: &request.out,
            target: Target::File(FileKind::EvalResults),
        },
        Output {
            flag: "the manifest of --out",
            path: &manifest_path,
            target: Target::File(FileKind::Manifest),
        },
    ];
    outputs.extend(manifest::trace_output(request.trace.as_deref()));
    outputs.extend(request.planner.output());
    inputs.extend(request.planner.input());
    manifest::session_files(
        request.overlay.search.learned_model.as_deref(),
        request.save_model.as_deref(),
        &mut inputs,
        &mut outputs,
    );
    let _outputs = ::datasets::check_outputs(&outputs, &inputs)?;
    let input_paths: Vec<&Path> = inputs.iter().map(|input| input.path).collect();
    let planning = Planning::open(&request.planner, settings, request.fresh, &input_paths)?;
    if let Some(planning) = &planning {
        planning.refuse_extras(request.overlay.search.learn_online, request.trace.is_some())?;
    }
    let (bytes, theorems) = manifest::read_dataset(&request.dataset, "dataset")?;
    if request.attempts == 0 || request.attempts > MAX_ATTEMPTS {
        return Err(RunError::Refused(format!(
            "--attempts must be from 1 to {MAX_ATTEMPTS}, got {}",
            request.attempts
        )));
    }
    let input = manifest::dataset_input(&request.dataset, &bytes, &theorems);
    // Identities come from the whole dataset: a shard's rows carry the same lineage, problem
    // and statement hash as an unsharded run's, and its manifest the same lineages.
    let identities = super::identity::Identities::of_dataset(&bytes, &theorems);
    // The manifest records the whole dataset; the shard's theorems are searched and counted.
    let theorems = super::batch::in_shard(theorems, request.overlay.shard, |t| t.name.as_str());
    let (out, earlier) = super::open_results::<ProveResult>(
        &request.out,
        "eval",
        request.fresh,
        &[&request.dataset],
        progress,
    )?;
    // Rows are keyed by (lineage, problem, statement hash, attempt): a file computed for other
    // statements is refused before anything is searched.
    if let Err(mismatch) = identities.check_resume(&earlier) {
        out.abandon();
        return Err(RunError::Refused(format!(
            "{}: {mismatch}",
            request.out.display()
        )));
    }
    let resume = Resume::plan(&theorems, request.attempts, earlier);
    announce_resume(&resume, &request, progress);
    let started = match start(
        &request,
        settings,
        &resume,
        &identities,
        input,
        planning,
        progress,
    ) {
        Ok(started) => started,
        Err(error) => {
            out.abandon();
            return Err(error);
        }
    };
    search(
        request,
        theorems.len(),
        resume,
        &identities,
        started,
        out,
        progress,
    )
}

/// Tells `progress` which rows are searched again and which are skipped.
fn announce_resume(resume: &Resume, request: &EvalRun, progress: &mut dyn Progress) {
    if !resume.errored.is_empty() {
        progress.event(RunEvent::Eval(EvalEvent::Rerunning {
            errors: resume.errored.len(),
            out: &request.out,
        }));
    }
    if resume.total > resume.searches.len() {
        progress.event(RunEvent::Eval(EvalEvent::Skipping {
            decided: resume.total - resume.searches.len(),
            total: resume.total,
            several: request.attempts > 1,
            out: &request.out,
        }));
    }
}

/// A run that may start: its session, manifest, stop, settings and planner.
struct Started {
    session: Session,
    prover: Prover,
    workers: usize,
    concurrency: usize,
    manifest: manifest::Manifest,
    stop: Stop,
    planning: Option<Planning>,
}

/// Opens the session and prepares the manifest, installs the stop, and preflights the first
/// header, the model server and the planner's server.
fn start(
    request: &EvalRun,
    settings: &SettingsFile,
    resume: &Resume,
    identities: &super::identity::Identities,
    input: ::datasets::InputRecord,
    planning: Option<Planning>,
    progress: &mut dyn Progress,
) -> Result<Started, RunError> {
    let config = super::run::side_by_side_session_config(&request.overlay, settings)?;
    let session = Session::open(config)?;
    tracing::debug!(target: TIMELINE, "session open");
    if request.save_model.is_some() && session.policies().spec().kind != PolicyKind::Learned {
        return Err(RunError::Refused(
            "--save-model needs --policy learned".to_owned(),
        ));
    }
    let pool_config = session.pool().config().clone();
    let workers = pool_config.workers;
    let concurrency = settings::concurrency(request.concurrency, settings, workers)?;
    let mut config = manifest::search_config(session.prove_config(), &pool_config);
    // Rows found under another rule would mix into the file's figures.
    let reuse = session.prove_config().reuse_verdicts.name();
    config.insert("reuse_verdicts".to_owned(), serde_json::json!(reuse));
    let lineages = identities.lineages();
    if !lineages.is_empty() {
        config.insert("lineages".to_owned(), serde_json::json!(lineages));
    }
    super::merge::record_shard(&mut config, request.overlay.shard);
    if let Some(planning) = &planning {
        config.insert("planner".to_owned(), planning.manifest_record());
    }
    let mut recorded = manifest::repl_record(&pool_config);
    recorded.insert("concurrency".to_owned(), serde_json::json!(concurrency));
    let identity = manifest::RunIdentity {
        kind: "eval".to_owned(),
        prover: request.build.clone(),
        config,
        recorded,
        input,
    };
    let mut run_manifest =
        manifest::prepare(&request.out, identity, request.fresh, resume.had_rows)?;
    let prover = attempt_prover(&session, request.attempts, progress);
    let stop = progress.stop_on(session.handle())?;
    if let Some((first, _)) = resume.searches.first() {
        // The workers the first searches will take start now, each elaborating the first
        // header in the background while the preflight runs on one of them: the first wave of
        // searches finds them warm instead of each starting a REPL on its own clock.
        let at_once = resume.searches.len().min(concurrency);
        let prewarmed = session.prewarm(&first.header, at_once);
        tracing::debug!(target: TIMELINE, prewarmed, "workers prewarming");
        let probe = super::preflight::ready(&session, &first.header, &mut |url, probe| {
            progress.event(RunEvent::ModelProbed { url, probe });
        })?;
        if let Some(planning) = &planning {
            planning.probe(session.handle())?;
        }
        run_manifest.set_model_probe(probe);
        tracing::debug!(target: TIMELINE, "preflight passed");
    }
    Ok(Started {
        session,
        prover,
        workers,
        concurrency,
        manifest: run_manifest,
        stop,
        planning,
    })
}

/// Searches every attempt left, writes each row, and closes the manifest.
fn search(
    request: EvalRun,
    theorems: usize,
    resume: Resume,
    identities: &super::identity::Identities,
    started: Started,
    mut out: AppendLog,
    progress: &mut dyn Progress,
) -> Result<EvalEnd, RunError> {
    let Started {
        session,
        prover,
        workers,
        concurrency,
        manifest: run_manifest,
        stop,
        planning,
    } = started;
    let clock = Instant::now();
    let mut earlier = Tally::default();
    for result in &resume.decided {
        earlier.add(result);
    }
    let mut counted = resume.decided.clone();
    let mut tally = Tally::default();
    let todo = resume.searches.len();
    run_manifest.start()?;
    let extras = Arc::new(Extras::new(
        request.overlay.search.learn_online,
        request.trace.as_deref(),
    )?);
    let several = request.attempts > 1;
    let mut pool_stats = None;
    let model_outage = session.handle().block_on(async {
        let (searcher, extras_done) = (prover.clone(), extras.clone());
        let plan_stop = stop.clone();
        let end = super::batch::run(
            resume.searches.clone(),
            concurrency,
            &stop,
            Some(&prover),
            move |(theorem, attempt): Attempt| {
                let (prover, extras) = (searcher.clone(), extras.clone());
                let (planning, stop) = (planning.clone(), plan_stop.clone());
                async move {
                    tracing::debug!(target: TIMELINE, theorem = %theorem.name, "search started");
                    let attempt = several.then_some(attempt);
                    if let Some(planning) = planning {
                        let mut result = planning.prove(&prover, theorem, &stop).await;
                        result.attempt = attempt;
                        return extras::Searched {
                            result,
                            unwritten_trace: None,
                        };
                    }
                    extras::prove(&prover, theorem, &extras, attempt).await
                }
            },
            |searched: extras::Searched| {
                let mut result = searched.report(&extras_done, progress);
                resume.mark(&mut result);
                identities.stamp(&mut result);
                out.append(&result)?;
                tracing::debug!(target: TIMELINE, theorem = %result.name, "row written");
                tally.add(&result);
                progress.event(RunEvent::Eval(EvalEvent::Decided {
                    result: &result,
                    tally: &tally,
                    todo,
                }));
                counted.push(result);
                Ok::<(), RunError>(())
            },
        )
        .await?;
        pool_stats = Some(session.pool().stats());
        tracing::debug!(target: TIMELINE, "batch done");
        if !stop.is_set() {
            session.pool().shutdown().await;
            tracing::debug!(target: TIMELINE, "pool shut down");
        }
        Ok::<_, RunError>(end.model_outage)
    })?;
    if let Some(path) = &request.save_model {
        extras::save_model(&session, path, progress)?;
    }
    let end = EvalEnd {
        session,
        theorems,
        attempts: request.attempts,
        total: resume.total,
        todo,
        tally,
        earlier,
        counted,
        beyond_k: resume.beyond_k,
        seconds: clock.elapsed().as_secs_f64(),
        workers,
        concurrency,
        pool_stats,
        model_outage,
        stopped: stop.is_set(),
    };
    progress.event(RunEvent::Eval(EvalEvent::Finished(&end)));
    let (now, before) = (&end.tally, &end.earlier);
    run_manifest.finish(&[
        ("proved", now.proved + before.proved),
        ("failed", now.failed + before.failed),
        ("error", now.error + before.error),
    ])?;
    Ok(end)
}

/// The prover of the attempts: the session's for one attempt; for several, one that never
/// reports a verdict the cache recorded, so every attempt is a search of its own (Lean's
/// answers are still shared). Every attempt samples the same model client, so attempts differ
/// only where the model samples: with a temperature and no fixed seed.
fn attempt_prover(session: &Session, attempts: u32, progress: &mut dyn Progress) -> Prover {
    let prover = session.prover();
    if attempts == 1 {
        return prover;
    }
    let spec = session.policies().spec();
    let samples = spec
        .llm
        .as_ref()
        .filter(|_| matches!(spec.kind, PolicyKind::Openai | PolicyKind::Combined));
    match samples {
        None => progress.event(RunEvent::Eval(EvalEvent::AttemptsRepeat {
            attempts,
            policy: spec.kind.name(),
        })),
        Some(llm) if llm.seed.is_some() => {
            progress.event(RunEvent::Eval(EvalEvent::AttemptsSeeded { attempts }));
        }
        Some(_) => {}
    }
    match attempt_config(session.prove_config(), attempts) {
        Some(config) => prover.with_config(config),
        None => prover,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theorem(name: &str) -> Theorem {
        Theorem {
            name: name.to_owned(),
            header: String::new(),
            formal_statement: format!("theorem {name} : True := by sorry"),
        }
    }

    fn row(name: &str, attempt: Option<u32>, status: ProveStatus) -> ProveResult {
        ProveResult {
            attempt,
            ..ProveResult::unsearched(name, status, 0, std::time::Instant::now())
        }
    }

    #[test]
    fn an_error_row_is_searched_again_and_later_attempts_are_not_counted() {
        let theorems = [theorem("a"), theorem("b")];
        let rows = vec![
            row("a", Some(0), ProveStatus::Proved),
            row("a", Some(1), ProveStatus::Error),
            row("b", Some(5), ProveStatus::Failed),
            row("gone", Some(0), ProveStatus::Failed),
        ];
        let resume = Resume::plan(&theorems, 2, rows);
        assert!(resume.had_rows);
        let left: Vec<(&str, u32)> = resume
            .searches
            .iter()
            .map(|(t, a)| (t.name.as_str(), *a))
            .collect();
        assert_eq!(left, [("a", 1), ("b", 0), ("b", 1)]);
        assert_eq!(resume.beyond_k, 1);
        assert_eq!(resume.total, 4);
        let decided: Vec<&str> = resume.decided.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            decided,
            ["a"],
            "rows of names outside the dataset are not counted"
        );
        let mut rerun = row("a", Some(1), ProveStatus::Failed);
        resume.mark(&mut rerun);
        assert!(rerun.replaces_error);
        let mut other = row("b", Some(0), ProveStatus::Failed);
        resume.mark(&mut other);
        assert!(!other.replaces_error);
    }
}
