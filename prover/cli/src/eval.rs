//! `prover eval`: searches every theorem of a dataset, appending one result per theorem as it is
//! decided, and resumes from what the output already holds.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use ::datasets::output::{FileKind, Input, Output, Target};
use anyhow::bail;

use super::EvalArgs;
use super::interrupt::Interrupt;
use super::preflight;
use super::results_file;
use crate::exit;
use prover::pipeline::eval::{MAX_ATTEMPTS, Resume};
use prover::pipeline::run as manifest;
use prover::session::Session;
use prover::settings::{self, SettingsFile};
use prover::{ProveResult, ProveStatus};

/// Runs `prover eval`.
pub(super) fn run(args: EvalArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let manifest_path = ::datasets::RunManifest::path_for(&args.out);
    let mut inputs = vec![Input {
        flag: "--dataset",
        path: &args.dataset,
    }];
    let mut outputs = vec![
        Output {
            flag: "--out",
            path: &args.out,
            target: Target::File(FileKind::EvalResults),
        },
        Output {
            flag: "the manifest of --out",
            path: &manifest_path,
            target: Target::File(FileKind::Manifest),
        },
    ];
    outputs.extend(super::common::trace_output(args.trace.as_deref()));
    outputs.extend(super::planning::plan_log_output(&args.planner));
    inputs.extend(super::planning::prompt_input(&args.planner));
    super::common::session_files(&args.session, &mut inputs, &mut outputs);
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;
    let input_paths: Vec<&std::path::Path> = inputs.iter().map(|input| input.path).collect();
    let planning =
        super::planning::Planning::open(&args.planner, settings, args.fresh, &input_paths)?;
    if planning.is_some() && (args.session.search.learn_online || args.trace.is_some()) {
        bail!("--planner does not combine with --learn-online or --trace yet");
    }
    // A resume under other planner settings would mix two kinds of rows.
    let planner_record = planning
        .as_ref()
        .map(super::planning::Planning::manifest_record);
    let (bytes, theorems) = manifest::read_dataset(&args.dataset, "dataset")?;
    if args.attempts == 0 || args.attempts > MAX_ATTEMPTS {
        bail!(
            "--attempts must be from 1 to {MAX_ATTEMPTS}, got {}",
            args.attempts
        );
    }
    let several = args.attempts > 1;

    let input = manifest::dataset_input(&args.dataset, &bytes, &theorems);
    let (mut out, earlier) =
        results_file::open::<ProveResult>(&args.out, "eval", args.fresh, &[&args.dataset])?;
    let resume = Resume::plan(&theorems, args.attempts, earlier);
    if !resume.errored.is_empty() {
        note!(
            "prover eval: {} result(s) in {} ended `error` (no verdict); searching them again",
            resume.errored.len(),
            args.out.display()
        );
    }
    let total = resume.total;
    if total > resume.searches.len() {
        note!(
            "prover eval: {} of {total} {} already decided in {}; skipping them (--fresh to redo)",
            total - resume.searches.len(),
            if several { "attempts" } else { "theorems" },
            args.out.display()
        );
    }

    // Nothing is left behind when the run cannot start: a results file this run created is
    // removed again.
    let prepared = (|| {
        let session = Session::open(settings::session_config(&args.session.overlay(), settings)?)?;
        if args.session.search.save_model.is_some()
            && session.policies().spec().kind != prover::policy::PolicyKind::Learned
        {
            bail!("--save-model needs --policy learned");
        }
        let pool_config = session.pool().config().clone();
        let workers = pool_config.workers;
        let concurrency = settings::concurrency(args.concurrency, settings, workers)?;
        let run_manifest = manifest::prepare(
            &args.out,
            super::common::identity(
                "eval",
                {
                    let mut config = manifest::search_config(session.prove_config(), &pool_config);
                    // Rows found under another rule would mix into the file's figures.
                    let reuse = session.prove_config().reuse_verdicts.name();
                    config.insert("reuse_verdicts".to_owned(), serde_json::json!(reuse));
                    if let Some(planner) = &planner_record {
                        config.insert("planner".to_owned(), planner.clone());
                    }
                    config
                },
                {
                    let mut recorded = manifest::repl_record(&pool_config);
                    recorded.insert("concurrency".to_owned(), serde_json::json!(concurrency));
                    recorded
                },
                input,
            ),
            args.fresh,
            resume.had_rows,
        )?;
        anyhow::Ok((session, workers, concurrency, run_manifest))
    })();
    let (session, workers, concurrency, mut run_manifest) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            out.abandon();
            return Err(error);
        }
    };

    let started = Instant::now();
    // The summary covers the whole output file for this dataset, earlier runs included; the
    // progress counter counts this run's theorems.
    let mut earlier_tally = Tally::default();
    let mut counted: Vec<ProveResult> = resume.decided.clone();
    for result in &resume.decided {
        earlier_tally.add(result);
    }
    let mut tally = Tally::default();
    let todo = resume.searches.len();
    let prover = attempt_prover(&session, args.attempts);
    let mut pool_stats = None;
    let interrupt = Interrupt::install(session.handle())?;
    if let Some((first, _)) = resume.searches.first() {
        let ready = preflight::ready(&session, &first.header).and_then(|probe| {
            if let Some(planning) = &planning {
                planning.probe(session.handle())?;
            }
            Ok(probe)
        });
        match ready {
            Ok(probe) => run_manifest.set_model_probe(probe),
            Err(error) => {
                out.abandon();
                return Err(error);
            }
        }
    }
    run_manifest.start()?;
    let extras = Arc::new(super::common::Extras::new(
        args.session.search.learn_online,
        args.trace.as_deref(),
    )?);
    let stop = interrupt.stop();
    let plan_stop = stop.clone();
    let outage = session.handle().block_on(async {
        let searcher = prover.clone();
        let end = prover::pipeline::batch::run(
            resume.searches.clone(),
            concurrency,
            &stop,
            Some(&prover),
            move |(theorem, attempt): (prover::Theorem, u32)| {
                let (prover, extras) = (searcher.clone(), extras.clone());
                let (planning, stop) = (planning.clone(), plan_stop.clone());
                async move {
                    let attempt = several.then_some(attempt);
                    if let Some(planning) = planning {
                        let mut result = planning.prove(&prover, theorem, &stop).await;
                        result.attempt = attempt;
                        return result;
                    }
                    super::common::prove_with_extras(&prover, theorem, &extras, attempt).await
                }
            },
            |mut result: ProveResult| {
                resume.mark(&mut result);
                out.append(&result)?;
                tally.add(&result);
                note!(
                    "[{}/{todo}] {:<7} {}{} ({:.1}s, {} Lean calls{}) | pass rate {:.1}%",
                    tally.total(),
                    status_word(result.status),
                    result.name,
                    result
                        .attempt
                        .map_or(String::new(), |a| format!(" (attempt {a})")),
                    result.seconds,
                    result.lean_calls,
                    fault_note(&result),
                    tally.pass_rate()
                );
                counted.push(result);
                anyhow::Ok(())
            },
        )
        .await?;
        pool_stats = Some(session.pool().stats());
        if interrupt.signal().is_none() {
            session.pool().shutdown().await;
        }
        anyhow::Ok(end.model_outage)
    })?;

    if let Some(path) = &args.session.search.save_model {
        super::common::save_model(&session, path)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let pass = PassAtK::of(&counted, args.attempts);
    print_summary(
        &tally,
        &earlier_tally,
        &Shape {
            theorems: theorems.len(),
            attempts: args.attempts,
            beyond_k: resume.beyond_k,
            from_cache: counted.iter().filter(|r| r.from_cache).count(),
        },
        &pass,
    );
    print_costs(&tally, seconds, workers, concurrency);
    if let Some(stats) = pool_stats {
        note!(
            "  REPL restarts {:>7} ({} timeouts), {} started",
            stats.restarts,
            stats.timeouts,
            stats.spawned
        );
    }
    super::common::print_model_summary(&session);
    run_manifest.finish(&[
        ("proved", tally.proved + earlier_tally.proved),
        ("failed", tally.failed + earlier_tally.failed),
        ("error", tally.error + earlier_tally.error),
    ])?;
    if let Some(signal) = interrupt.signal() {
        super::cache::finish_run(&session);
        note!(
            "prover eval: stopped by {}: {} of {todo} theorems decided and written to {}; rerun \
             the same command to resume",
            Interrupt::name(signal),
            tally.total(),
            args.out.display()
        );
        // Dropping the session does not wait for searches still winding down.
        return Ok(Interrupt::exit_code(signal));
    }
    super::cache::finish_run(&session);
    if args.json {
        let summary = serde_json::json!({
            "theorems": theorems.len(),
            "attempts": args.attempts,
            "decided": tally.total(),
            "proved": tally.proved,
            "failed": tally.failed,
            "error": tally.error,
            "from_cache": tally.from_cache,
            "skipped": total - todo,
            "pass_rate": tally.pass_rate() / 100.0,
            "pass_at_k": pass.value.map(|value| serde_json::json!({
                "k": args.attempts,
                "value": value,
                "attempts": format!("0..{}", args.attempts - 1),
                "rows_beyond_k": resume.beyond_k,
            })),
            "theorems_proved_in_some_attempt": pass.some_attempt,
            "seconds": seconds,
            "lean_calls": tally.lean_calls,
            "lean_timeouts": tally.lean_timeouts,
            "lean_crashes": tally.lean_crashes,
            "policy_errors": tally.policy_errors,
            "model": super::common::model_summary_json(&session),
            "whole_file": {
                "decided": tally.total() + earlier_tally.total(),
                "from_cache": tally.from_cache + earlier_tally.from_cache,
                "proved": tally.proved + earlier_tally.proved,
                "failed": tally.failed + earlier_tally.failed,
                "error": tally.error + earlier_tally.error,
            },
        });
        out!("{summary}")?;
    }
    if let Some(message) = outage {
        bail!(
            "{message} ({} of {todo} theorems not started)",
            todo - tally.total()
        );
    }
    Ok(exit::settled_if(tally.error == 0))
}

/// The prover of the attempts: the session's for one attempt; for several, one that never
/// reports a verdict the cache recorded, so every attempt is a search of its own (Lean's
/// answers are still shared). Every attempt samples the same model client, so attempts differ
/// only where the model samples: with a temperature and no fixed seed.
fn attempt_prover(session: &Session, attempts: u32) -> prover::session::Prover {
    let prover = session.prover();
    if attempts == 1 {
        return prover;
    }
    let spec = session.policies().spec();
    let samples = spec.llm.as_ref().filter(|_| {
        matches!(
            spec.kind,
            prover::policy::PolicyKind::Openai | prover::policy::PolicyKind::Combined
        )
    });
    match samples {
        None => note!(
            "prover eval: warning: --attempts {attempts} with the {} policy, which proposes the \
             same tactics every time: the attempts repeat one search",
            spec.kind.name()
        ),
        Some(llm) if llm.seed.is_some() => note!(
            "prover eval: warning: --attempts {attempts} with a fixed --seed: the model samples \
             the same tactics every time, so the attempts repeat one search"
        ),
        Some(_) => {}
    }
    match prover::pipeline::eval::attempt_config(session.prove_config(), attempts) {
        Some(config) => prover.with_config(config),
        None => prover,
    }
}

/// pass@K of the rows a summary counts (attempts 0..K−1), computed as `prover report` does.
struct PassAtK {
    /// pass@K, when every theorem counted has K attempts decided.
    value: Option<f64>,
    /// pass@1: the mean over theorems of the share of their attempts that proved them.
    at_one: Option<f64>,
    /// Theorems some counted attempt proved.
    some_attempt: usize,
    /// Theorems counted.
    theorems: usize,
}

impl PassAtK {
    fn of(rows: &[ProveResult], k: u32) -> PassAtK {
        let mut proved: std::collections::BTreeMap<&str, bool> = Default::default();
        for row in rows {
            *proved.entry(&row.name).or_default() |= row.status == ProveStatus::Proved;
        }
        let at = |k| prover_report::figures::pass_at(rows, k).map(|p| p.value);
        PassAtK {
            value: at(k),
            at_one: at(1),
            some_attempt: proved.values().filter(|p| **p).count(),
            theorems: proved.len(),
        }
    }
}

/// What a summary counts: the dataset's theorems, the attempts at each, the file's rows of
/// later attempts it leaves out, and the verdicts it counts that came from the cache.
struct Shape {
    theorems: usize,
    attempts: u32,
    beyond_k: usize,
    from_cache: usize,
}

/// ", from the cache, 2 Lean timeouts, 1 REPL crash, 3 model failures": where a verdict came
/// from and the faults a theorem met, if any.
fn fault_note(result: &ProveResult) -> String {
    let plural = |n: u32, one: &str| format!(", {n} {one}{}", if n == 1 { "" } else { "s" });
    let mut note = String::new();
    if result.from_cache {
        note += ", from the cache";
    }
    if result.lean_timeouts > 0 {
        note += &plural(result.lean_timeouts, "Lean timeout");
    }
    if result.lean_crashes > 0 {
        note += &plural(result.lean_crashes, "REPL crash");
    }
    if result.policy_errors > 0 {
        note += &plural(result.policy_errors, "model failure");
    }
    note
}

fn status_word(status: ProveStatus) -> &'static str {
    match status {
        ProveStatus::Proved => "proved",
        ProveStatus::Failed => "failed",
        ProveStatus::Error => "error",
    }
}

#[derive(Default)]
struct Tally {
    proved: usize,
    failed: usize,
    error: usize,
    from_cache: usize,
    lean_calls: u64,
    search_seconds: f64,
    lean_timeouts: u64,
    lean_crashes: u64,
    policy_errors: u64,
}

impl Tally {
    fn add(&mut self, result: &ProveResult) {
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

    fn total(&self) -> usize {
        self.proved + self.failed + self.error
    }

    fn pass_rate(&self) -> f64 {
        100.0 * self.proved as f64 / self.total().max(1) as f64
    }
}

/// The summary's counts on stderr: they cover every attempt of the dataset's theorems the
/// output file decides (earlier runs included) up to `--attempts`; [`print_costs`] follows.
fn print_summary(tally: &Tally, earlier: &Tally, shape: &Shape, pass: &PassAtK) {
    let whole = Tally {
        proved: tally.proved + earlier.proved,
        failed: tally.failed + earlier.failed,
        error: tally.error + earlier.error,
        ..Tally::default()
    };
    let several = shape.attempts > 1;
    let theorems = if several {
        format!("{} × {} attempts", shape.theorems, shape.attempts)
    } else {
        shape.theorems.to_string()
    };
    let decided = if several { "attempts" } else { "theorems" };
    note!();
    if earlier.total() > 0 {
        note!(
            "  theorems     {theorems:>8} ({} {decided} decided: {} this run, {} from earlier runs \
             into this file)",
            whole.total(),
            tally.total(),
            earlier.total()
        );
    } else if whole.total() < shape.theorems * shape.attempts as usize {
        note!(
            "  theorems     {theorems:>8} ({} {decided} decided)",
            whole.total()
        );
    } else {
        note!("  theorems     {theorems:>8}");
    }
    let unit = if several { " attempts" } else { "" };
    note!("  proved       {:>8}{unit}", whole.proved);
    note!("  failed       {:>8}{unit}", whole.failed);
    note!("  error        {:>8}{unit}", whole.error);
    note!(
        "  from cache   {:>8} (verdicts reused from the cache, not searched: --reuse-verdicts)",
        shape.from_cache
    );
    if shape.beyond_k > 0 {
        note!(
            "  (the file also holds {} rows of attempts {} and later, not counted here: prover \
             report --attempts {} counts as this does; without it, it estimates pass@k from them \
             all)",
            shape.beyond_k,
            shape.attempts,
            shape.attempts
        );
    }
    if !several {
        note!("  pass rate    {:>7.1}%", whole.pass_rate());
        return;
    }
    let percent = |value: Option<f64>| {
        value.map_or("     n/a".to_owned(), |v| format!("{:>7.1}%", 100.0 * v))
    };
    note!(
        "  pass@1       {} (mean over theorems of their proving attempts' share)",
        percent(pass.at_one)
    );
    note!(
        "  pass@{:<7} {} ({} of {} theorems proved in some attempt of 0..{}{})",
        shape.attempts,
        percent(pass.value),
        pass.some_attempt,
        pass.theorems,
        shape.attempts - 1,
        if pass.value.is_none() {
            "; not every theorem has its attempts decided yet"
        } else {
            ""
        }
    );
}

/// The summary's times and calls: this run's.
fn print_costs(tally: &Tally, seconds: f64, workers: usize, concurrency: usize) {
    note!("  wall time    {:>7.1}s", seconds);
    note!(
        "  search time  {:>7.1}s (summed over theorems)",
        tally.search_seconds
    );
    note!("  Lean calls   {:>8}", tally.lean_calls);
    note!(
        "  Lean faults  {:>8} ({} timeouts, {} crashes)",
        tally.lean_timeouts + tally.lean_crashes,
        tally.lean_timeouts,
        tally.lean_crashes
    );
    note!(
        "  model faults {:>8} (failed proposals)",
        tally.policy_errors
    );
    note!("  REPLs {workers}, theorems at once {concurrency}");
}
