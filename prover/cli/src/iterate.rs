//! `prover iterate`: expert-iteration rounds over a conjecture file (`prover::pipeline::expert`), with progress on stderr and the user's command between rounds.

use std::path::Path;
use std::process::ExitCode;

use ::datasets::CheckResult;
use ::datasets::output::{Input, Output, Target};
use ::datasets::training::{RefusalKind, RoundRecord, TrainingRow, parse_training_row};
use anyhow::{Context, bail};
use prover::pipeline::PipelineError;
use prover::pipeline::expert::{
    RoundEvents, RoundSummary, RoundsConfig, RoundsOutcome, round_dir, run_rounds,
};
use prover::policy::learned::LearnedModel;
use prover::policy::{LearnedSpec, PolicyKind, PolicySpec};
use prover::session::{Prover, Session};
use prover::settings::{self, SettingsFile};
use prover::{ProveConfig, ProveStatus};
use serde_json::json;

use super::IterateArgs;
use super::interrupt::Interrupt;
use super::preflight;
use crate::exit;
use prover::pipeline::run as manifest;

/// Default expansions of the cheap pass: BFS-Prover's filter is a small beam, a few nodes.
const CHEAP_EXPANSIONS: u32 = 4;
/// Default width of the cheap pass.
const CHEAP_WIDTH: usize = 2;

/// Runs `prover iterate`.
pub(super) fn run(args: IterateArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    if !(1..=1000).contains(&args.rounds) {
        bail!("--rounds must be from 1 to 1000, got {}", args.rounds);
    }
    let cheap_width = settings::at_once(args.cheap_width.unwrap_or(CHEAP_WIDTH), "--cheap-width")?;
    let cheap_expansions = args.cheap_expansions.unwrap_or(CHEAP_EXPANSIONS);
    let mut inputs = vec![Input {
        flag: "--conjectures",
        path: &args.conjectures,
    }];
    let mut outputs = vec![Output {
        flag: "--dir",
        path: &args.dir,
        target: Target::Dir,
    }];
    super::common::session_files(&args.session, &mut inputs, &mut outputs);
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;
    let (bytes, conjectures) = manifest::read_dataset(&args.conjectures, "conjectures")?;
    let input = manifest::dataset_input(&args.conjectures, &bytes, &conjectures);
    let shard = settings::shard(args.shard.as_deref())?;
    let conjectures = prover::pipeline::batch::in_shard(conjectures, shard, |t| t.name.as_str());
    if conjectures.is_empty() {
        bail!(
            "conjectures {} holds no rows{}",
            args.conjectures.display(),
            shard.map_or(String::new(), |shard| format!(" in shard {shard}"))
        );
    }
    if args.dir.exists() && !args.dir.is_dir() {
        bail!("--dir {} exists and is not a directory", args.dir.display());
    }

    let overlay = settings::Overlay {
        shard,
        ..args.session.overlay()
    };
    let mut config = settings::session_config(&overlay, settings)?;
    // The search itself is wanted, for its steps and refusals; cached answers still spare Lean.
    config.prove.reuse_verdicts = prover::VerdictReuse::Never;
    let cheap_spec = match args.cheap_policy.as_deref() {
        Some("same") => config.policy.clone(),
        _ => PolicySpec {
            kind: PolicyKind::Portfolio,
            llm: None,
            fallback: false,
            ..config.policy.clone()
        },
    };
    let mut cheap_prove = config.prove.clone();
    cheap_prove.search.expansion_width = cheap_width;
    cheap_prove.search.max_expansions = Some(cheap_expansions.max(1));
    let (prompt_template, check) = super::common::pipeline_settings(&config, settings)?;
    let pool = config.pool.clone();
    let concurrency = settings::concurrency(args.concurrency, settings, pool.workers)?;
    let search_spec = config.policy.clone();
    let search_prove = config.prove.clone();
    if args.session.search.save_model.is_some() && search_spec.kind != PolicyKind::Learned {
        bail!("--save-model needs --policy learned");
    }
    if args.session.search.learn_online {
        bail!(
            "prover iterate retrains the learned policy between rounds; --learn-online is for eval"
        );
    }
    let session = Session::open(config)?;
    let cheap = session.prover_with(cheap_spec.clone(), cheap_prove.clone())?;

    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create --dir {}", args.dir.display()))?;
    let mut run_config = manifest::search_config(session.prove_config(), &pool);
    for (key, value) in [
        ("cheap_policy", json!(cheap.config().policy_id)),
        ("cheap_width", json!(cheap_width)),
        ("cheap_expansions", json!(cheap_expansions)),
        ("keep_easy", json!(args.keep_easy)),
        ("dpo_timeouts", json!(args.dpo_timeouts)),
        ("prompt_template", json!(prompt_template)),
        ("verify_timeout_ms", json!(check.timeout.as_millis() as u64)),
    ] {
        run_config.insert(key.to_owned(), value);
    }
    prover::pipeline::merge::record_shard(&mut run_config, shard);
    let resuming = args.dir.join("round-1").exists();
    let mut run_manifest = manifest::prepare(
        &args.dir.join("iterate"),
        super::common::identity("iterate", run_config, manifest::repl_record(&pool), input),
        false,
        resuming,
    )?;

    let interrupt = Interrupt::install(session.handle())?;
    let probe = preflight::ready(&session, &conjectures[0].header)?;
    run_manifest.set_model_probe(probe);
    run_manifest.start()?;

    let rounds = RoundsConfig {
        dir: args.dir.clone(),
        rounds: args.rounds,
        concurrency,
        cheap_pass: cheap_expansions > 0,
        keep_easy: args.keep_easy,
        dpo_timeouts: args.dpo_timeouts,
        prompt_template,
        check,
        pool,
        manifest: run_manifest.record().clone(),
    };
    let stop = interrupt.stop();
    let mut progress = Progress {
        after_round: args.after_round.clone(),
        command_failed: None,
        session: &session,
        dir: args.dir.clone(),
        cheap: (cheap_spec, cheap_prove),
        search: (search_spec, search_prove),
    };
    let outcome =
        session
            .handle()
            .block_on(run_rounds(&conjectures, &rounds, &stop, &mut progress));
    super::cache::finish_run(&session);
    if let Some(signal) = interrupt.signal() {
        note!(
            "prover iterate: stopped by {}; what was decided is in {}; rerun the same command to \
             resume",
            Interrupt::name(signal),
            args.dir.display()
        );
        return Ok(Interrupt::exit_code(signal));
    }
    session.handle().block_on(session.pool().shutdown());
    let summaries = match outcome {
        Ok(RoundsOutcome::Completed(summaries)) => summaries,
        Ok(RoundsOutcome::Stopped) => return Ok(exit::signal(libc::SIGINT)),
        Err(PipelineError::Stopped(message)) => {
            note!("prover iterate: {message}");
            let code = progress.command_failed.unwrap_or(exit::COULD_NOT_RUN);
            return Ok(ExitCode::from(code));
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(path) = &args.session.search.save_model {
        let model = progress
            .trained_through(summaries.len() as u32)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        model.save(path)?;
        note!(
            "prover iterate: learned model with {} stored states written to {}",
            model.len(),
            path.display()
        );
    }
    let last = summaries.last().cloned().unwrap_or_default();
    run_manifest.finish(&[
        ("rounds", summaries.len()),
        (
            "solved",
            summaries.iter().map(|s| s.verified).sum::<usize>(),
        ),
        ("sft_rows", summaries.iter().map(|s| s.sft_rows).sum()),
        ("dpo_rows", summaries.iter().map(|s| s.dpo_rows).sum()),
    ])?;
    Ok(exit::settled_if(last.errors == 0))
}

/// Progress lines on stderr, `--after-round`, and the provers of each round.
struct Progress<'s> {
    after_round: Option<String>,
    /// The exit status of a failed `--after-round` command.
    command_failed: Option<u8>,
    session: &'s Session,
    dir: std::path::PathBuf,
    cheap: (PolicySpec, ProveConfig),
    search: (PolicySpec, ProveConfig),
}

impl Progress<'_> {
    /// The learned model after rounds `1..=through`: the starting model plus every SFT step
    /// and DPO refusal those rounds exported, in a canonical order (so a resumed run retrains
    /// the same model).
    fn trained_through(&self, through: u32) -> Result<LearnedModel, PipelineError> {
        let mut model = self
            .search
            .0
            .learned
            .as_ref()
            .map(|l| LearnedModel::clone(&l.model))
            .unwrap_or_default();
        let (mut steps, mut refusals) = (Vec::new(), Vec::new());
        for round in 1..=through {
            let dir = round_dir(&self.dir, round);
            for file in ["sft.jsonl", "dpo.jsonl"] {
                let path = dir.join(file);
                let bytes = std::fs::read(&path).map_err(|source| PipelineError::Io {
                    path: path.clone(),
                    source,
                })?;
                for (line, text) in ::datasets::jsonl_lines(&bytes) {
                    let row = text
                        .and_then(|t| parse_training_row(line, t))
                        .map_err(|e| PipelineError::Corrupt {
                            path: path.clone(),
                            reason: e.to_string(),
                        })?;
                    match row {
                        TrainingRow::Step { state, tactic } => steps.push((state, tactic)),
                        TrainingRow::Preference {
                            state,
                            rejected,
                            kind: RefusalKind::LeanError,
                            ..
                        } => refusals.push((state, rejected)),
                        TrainingRow::Preference { .. } => {}
                    }
                }
            }
        }
        model.extend(&steps, &refusals);
        Ok(model)
    }

    fn prover(
        &self,
        (spec, prove): &(PolicySpec, ProveConfig),
        retrained: Option<&LearnedSpec>,
    ) -> Result<Prover, PipelineError> {
        let mut spec = spec.clone();
        if let (PolicyKind::Learned, Some(retrained)) = (spec.kind, retrained) {
            // An `Arc` clone: both provers of the round share the one retrained model.
            spec.learned = Some(retrained.clone());
        }
        self.session
            .prover_with(spec, prove.clone())
            .map_err(|e| PipelineError::Stopped(e.to_string()))
    }
}

impl RoundEvents for Progress<'_> {
    fn provers(&mut self, round: u32) -> Result<(Prover, Prover), PipelineError> {
        let retrained = if self.search.0.kind == PolicyKind::Learned && round > 1 {
            let retrained = LearnedSpec::of(self.trained_through(round - 1)?);
            note!(
                "prover iterate: round {round} searches with the learned model retrained on rounds 1-{} ({} stored states, sha1 {})",
                round - 1,
                retrained.model.len(),
                retrained.hash
            );
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
        let status = match record.status {
            ProveStatus::Proved => "proved",
            ProveStatus::Failed => "failed",
            ProveStatus::Error => "error",
        };
        note!(
            "[round {round} {}] {status:<6} {} ({:.1}s, {} Lean calls)",
            record.stage.name(),
            record.name,
            record.seconds,
            record.lean_calls
        );
    }

    fn verified(&mut self, round: u32, result: &CheckResult) {
        if result.status != ::datasets::Status::Valid {
            note!(
                "[round {round} verify] {} refused: {}",
                result.name,
                result.reasons.join("; ")
            );
        }
    }

    fn finished(&mut self, s: &RoundSummary) {
        note!(
            "round {}: {} conjectures, {} easy (cheap pass), {} solved by search, {} failed, {} \
             error, {} unverified; {} SFT rows, {} DPO rows, {} Lean calls",
            s.round,
            s.conjectures,
            s.solved_by_cheap,
            s.solved_by_search,
            s.failed,
            s.errors,
            s.unverified,
            s.sft_rows,
            s.dpo_rows,
            s.lean_calls
        );
    }

    fn between_rounds(&mut self, round: u32, dir: &Path) -> Result<(), PipelineError> {
        let Some(command) = &self.after_round else {
            return Ok(());
        };
        note!("prover iterate: after round {round}: {command}");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("PROVER_ROUND", round.to_string())
            .env("PROVER_ROUND_DIR", dir)
            .stdin(std::process::Stdio::null())
            .status()
            .map_err(|e| PipelineError::Stopped(format!("--after-round cannot start sh: {e}")))?;
        if status.success() {
            return Ok(());
        }
        let code = status.code().map_or(exit::COULD_NOT_RUN, |c| {
            u8::try_from(c).unwrap_or(exit::COULD_NOT_RUN)
        });
        self.command_failed = Some(code);
        Err(PipelineError::Stopped(format!(
            "--after-round `{command}` failed after round {round} ({status}); round {round}'s \
             files are kept in {}; rerun to run the command again and go on",
            dir.display()
        )))
    }
}
