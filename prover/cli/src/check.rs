//! `prover check`: reads proof rows, checks them on a REPL pool, streams one result per row.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};

use super::CheckArgs;
use super::interrupt::Interrupt;
use super::preflight;
use super::results_file;
use crate::exit;
use ::datasets::output::{self, FileKind, Input, Target};
use prover::pipeline::check::{self as check_rows, Reference};
use prover::pipeline::run as manifest;
use prover::session::ReplPool;
use prover::settings::{self, SettingsFile};
use prover::{CheckConfig, CheckResult, CheckStatus as Status};

/// Runs `prover check`.
pub(super) fn run(args: CheckArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let manifest_path = args.out.as_deref().map(::datasets::RunManifest::path_for);
    let inputs: Vec<Input<'_>> = [
        ("--input", Some(&args.input)),
        ("--reference", args.reference.as_ref()),
        ("--header", args.header.as_ref()),
    ]
    .into_iter()
    .filter_map(|(flag, path)| Some(Input { flag, path: path? }))
    .collect();
    let outputs: Vec<output::Output<'_>> = [
        ("--out", args.out.as_deref(), FileKind::CheckResults),
        (
            "the manifest of --out",
            manifest_path.as_deref(),
            FileKind::Manifest,
        ),
    ]
    .into_iter()
    .filter_map(|(flag, path, kind)| {
        Some(output::Output {
            flag,
            path: path?,
            target: Target::File(kind),
        })
    })
    .collect();
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;
    let input = std::fs::read(&args.input)
        .with_context(|| format!("cannot read input {}", args.input.display()))?;
    let default_header = match &args.header {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read header {}", path.display()))?,
        ),
        None => None,
    };
    let reference = match &args.reference {
        Some(path) => Some(read_reference(path)?),
        None => None,
    };
    let pool_config = settings::pool_config(&args.repl.overlay(), settings)?;
    let workers = pool_config.workers;
    let check_config = CheckConfig {
        reference_checked: reference.is_some(),
        ..settings::check_config(&args.overlay(), settings)?
    };
    let mut rows = check_rows::Rows::read(
        &input,
        default_header.as_deref(),
        reference.is_some(),
        |error| tracing::error!("{}: {error}", args.input.display()),
    );
    if rows.is_empty() {
        bail!("input {} holds no rows", args.input.display());
    }
    let input_rows = rows.len();
    let shard = settings::shard(args.shard.as_deref())?;
    rows.keep_shard(shard);
    let total = rows.len();

    // Rows the output already decides (by input line and name) are not checked again.
    let mut tally = Tally::default();
    let mut out = match &args.out {
        Some(path) => {
            let inputs: Vec<&Path> = [
                Some(&args.input),
                args.reference.as_ref(),
                args.header.as_ref(),
            ]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect();
            let (file, earlier) =
                results_file::open::<CheckResult>(path, "check", args.fresh, &inputs)?;
            // The summary covers the whole file's rows for this input, earlier runs included.
            for result in rows.resume(&earlier) {
                tally.earlier(result.status);
            }
            if tally.from_earlier > 0 {
                note!(
                    "prover check: {} of {total} rows already decided in {}; skipping them \
                     (--fresh to redo)",
                    tally.from_earlier,
                    path.display()
                );
            }
            Output::File(file)
        }
        None => Output::Stdout,
    };
    let run_manifest = match &args.out {
        Some(path) => Some(manifest::prepare(
            path,
            super::common::identity(
                "check",
                {
                    let mut config = check_rows::run_config(
                        &check_config,
                        &pool_config,
                        args.reference.as_deref(),
                        args.header.as_deref(),
                    );
                    prover::pipeline::merge::record_shard(&mut config, shard);
                    config
                },
                manifest::repl_record(&pool_config),
                manifest::input_record(&args.input, &input, input_rows),
            ),
            args.fresh,
            tally.from_earlier > 0,
        )?),
        None => None,
    };
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let interrupt = Interrupt::install(runtime.handle())?;
    let pool = Arc::new(ReplPool::new(pool_config));
    // Preflight on the header the first checkable row will really run on.
    let first_header = check_rows::first_header(&rows.tasks, reference.as_ref(), &check_config);
    if let Some(header) = first_header
        && let Err(error) = runtime.block_on(preflight::repl(&pool, &header))
    {
        runtime.block_on(pool.shutdown());
        if let Output::File(file) = out {
            file.abandon();
        }
        return Err(error);
    }
    if let Some(run_manifest) = &run_manifest {
        run_manifest.start()?;
    }
    for result in &rows.malformed {
        out.write(result, &mut tally, total)?;
    }
    let stop = interrupt.stop();
    runtime.block_on(async {
        check_rows::check_all(
            &pool,
            &check_config,
            reference,
            rows.tasks,
            workers,
            &stop,
            |result| out.write(&result, &mut tally, total),
        )
        .await?;
        if interrupt.signal().is_none() {
            pool.shutdown().await;
        }
        anyhow::Ok(())
    })?;

    let seconds = started.elapsed().as_secs_f64();
    let fresh_rows = tally.total() - tally.from_earlier;
    note!(
        "prover check: {} rows: {} valid, {} invalid, {} error in {seconds:.1}s ({:.2} rows/s, {workers} workers){}",
        tally.total(),
        tally.valid,
        tally.invalid,
        tally.error,
        fresh_rows as f64 / seconds.max(1e-9),
        if tally.from_earlier > 0 {
            format!("; {} of them decided by an earlier run", tally.from_earlier)
        } else {
            String::new()
        }
    );
    if let Some(run_manifest) = run_manifest {
        run_manifest.finish(&[
            ("valid", tally.valid),
            ("invalid", tally.invalid),
            ("error", tally.error),
        ])?;
    }
    if let Some(signal) = interrupt.signal() {
        note!(
            "prover check: stopped by {}; the rows above were written",
            Interrupt::name(signal)
        );
        runtime.shutdown_background();
        return Ok(Interrupt::exit_code(signal));
    }
    Ok(exit::settled_if(tally.error == 0))
}

#[derive(Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    error: usize,
    /// Of the above, decided by an earlier run into the same output.
    from_earlier: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.valid + self.invalid + self.error
    }

    fn add(&mut self, status: Status) {
        match status {
            Status::Valid => self.valid += 1,
            Status::Invalid => self.invalid += 1,
            Status::Error => self.error += 1,
        }
    }

    fn earlier(&mut self, status: Status) {
        self.add(status);
        self.from_earlier += 1;
    }
}

/// Where results go: a locked results file, or stdout.
enum Output {
    File(results_file::ResultsFile),
    Stdout,
}

impl Output {
    /// Writes one result, counts it, and prints the progress line on stderr.
    fn write(
        &mut self,
        result: &CheckResult,
        tally: &mut Tally,
        total: usize,
    ) -> anyhow::Result<()> {
        tally.add(result.status);
        match self {
            Output::File(file) => file.append(result)?,
            Output::Stdout => {
                let line = serde_json::to_string(result).context("cannot encode a result")?;
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{line}").context("cannot write a result")?;
                stdout.flush().context("cannot write a result")?;
            }
        }
        note!(
            "[{}/{total}] {:<7} {} line {} ({:.1}s) | {} valid, {} invalid, {} error",
            tally.total(),
            match result.status {
                Status::Valid => "valid",
                Status::Invalid => "invalid",
                Status::Error => "error",
            },
            result.name,
            result.line,
            result.seconds,
            tally.valid,
            tally.invalid,
            tally.error
        );
        Ok(())
    }
}

/// Reads a reference dataset; names it holds more than once with different rows are listed
/// on stderr and kept as ambiguous.
fn read_reference(path: &Path) -> anyhow::Result<Reference> {
    let reference = Reference::read(path)?;
    let names = reference.ambiguous_names();
    if !names.is_empty() {
        tracing::warn!(
            "reference {} gives {} name(s) more than once with different statements; rows \
             with these names are refused: {}",
            path.display(),
            names.len(),
            names.join(", ")
        );
    }
    Ok(reference)
}
