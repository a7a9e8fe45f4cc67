//! `prover report`: reads results files (with their manifests and, if given, trace directories) and writes the HTML report and its figures as JSON; the figures and pages come from `prover-report`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use ::datasets::output::{FileKind, Input, Output, Target};
use anyhow::{Context, bail};
use prover_report::Run;

use super::ReportArgs;
use crate::exit;

/// Runs `prover report`: exit 0 once the report is written (malformed lines are warned about
/// and skipped), 2 when an input is missing or holds no result.
pub(super) fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    if args.trace.len() > args.results.len() {
        bail!(
            "{} --trace directories for {} results files: the i-th --trace goes with the i-th file",
            args.trace.len(),
            args.results.len()
        );
    }
    if args.attempts == Some(0) {
        bail!("--attempts must be at least 1");
    }
    let _outputs = check_files(&args)?;
    let mut runs = read_runs(&args)?;
    for (run, label) in runs.iter_mut().zip(run_labels(&args.results)) {
        run.label = label;
    }
    super::report_lineage::attach(&mut runs, &args.flags, &args.transfer)?;
    let html = prover_report::report_html(&runs);
    ::datasets::write_atomic(&args.out, html.as_bytes())
        .with_context(|| format!("cannot write --out {}", args.out.display()))?;
    if let Some(json) = &args.json {
        ::datasets::write_atomic(json, prover_report::report_json(&runs).as_bytes())
            .with_context(|| format!("cannot write --json {}", json.display()))?;
    }
    let theorems: usize = runs
        .iter()
        .map(|r| {
            let mut names: Vec<&str> = r.results.iter().map(|x| x.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            names.len()
        })
        .sum();
    note!(
        "prover report: {} run(s), {theorems} theorem(s) written to {}",
        runs.len(),
        args.out.display()
    );
    Ok(ExitCode::from(exit::SETTLED))
}

/// The one write rule over the results files, their manifests, the traces and the outputs.
fn check_files(args: &ReportArgs) -> anyhow::Result<::datasets::output::OutputGuard> {
    let manifests: Vec<std::path::PathBuf> = args
        .results
        .iter()
        .map(|path| ::datasets::RunManifest::path_for(path))
        .collect();
    let inputs: Vec<Input<'_>> = args
        .results
        .iter()
        .map(|path| Input {
            flag: "results",
            path,
        })
        .chain(manifests.iter().map(|path| Input {
            flag: "the manifest of results",
            path,
        }))
        .chain(args.trace.iter().map(|path| Input {
            flag: "--trace",
            path,
        }))
        .chain(args.flags.iter().map(|path| Input {
            flag: "--flags",
            path,
        }))
        .chain(args.transfer.iter().map(|path| Input {
            flag: "--transfer",
            path,
        }))
        .collect();
    let outputs: Vec<Output<'_>> = std::iter::once(Output {
        flag: "--out",
        path: &args.out,
        target: Target::File(FileKind::Html),
    })
    .chain(args.json.as_deref().map(|path| Output {
        flag: "--json",
        path,
        target: Target::File(FileKind::ReportJson),
    }))
    .collect();
    super::common::check_outputs(&outputs, &inputs)
}

/// Each results file as a run, cut to `--attempts`, with its traces.
fn read_runs(args: &ReportArgs) -> anyhow::Result<Vec<Run>> {
    let mut runs = Vec::new();
    for (i, path) in args.results.iter().enumerate() {
        let mut run = read_run(path)?;
        if let Some(k) = args.attempts {
            let (kept, left_out) = ::datasets::first_attempts(std::mem::take(&mut run.results), k);
            if kept.is_empty() {
                bail!(
                    "results {} holds no row of attempts 0..{}",
                    path.display(),
                    k - 1
                );
            }
            run.results = kept;
            run.first_attempts = Some(k);
            run.attempts_left_out = left_out as u32;
        }
        if let Some(dir) = args.trace.get(i) {
            run.traces = read_trace_dir(dir)?;
        }
        runs.push(run);
    }
    Ok(runs)
}

/// Each run's label: the shortest tail of its path (the file name, then with its directories)
/// that tells it from the others, so the report reads the same wherever the files lie.
fn run_labels(paths: &[std::path::PathBuf]) -> Vec<String> {
    let parts: Vec<Vec<String>> = paths
        .iter()
        .map(|p| {
            p.components()
                .rev()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .collect();
    let tail = |i: usize, depth: usize| {
        let mut kept: Vec<&str> = parts[i].iter().take(depth).map(String::as_str).collect();
        kept.reverse();
        kept.join("/")
    };
    (0..paths.len())
        .map(|i| {
            let longest = parts[i].len().max(1);
            (1..=longest)
                .map(|depth| tail(i, depth))
                .find(|label| {
                    (0..paths.len())
                        .all(|j| j == i || tail(j, label.matches('/').count() + 1) != *label)
                })
                .unwrap_or_else(|| paths[i].display().to_string())
        })
        .collect()
}

/// One results file and the manifest beside it; malformed lines are warned about (`file:line`)
/// and skipped, a file with no result at all is refused.
fn read_run(path: &Path) -> anyhow::Result<Run> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read results {}", path.display()))?;
    let (results, errors) = ::datasets::read_prove_results(&bytes);
    // An `error` row a rerun searched again gives way to the new row.
    let results = ::datasets::standing_results(results);
    for error in &errors {
        note!(
            "prover report: warning: {}:{}: {}; line skipped",
            path.display(),
            error.line,
            error.reason
        );
    }
    if results.is_empty() {
        bail!(
            "results {} holds no eval result{}",
            path.display(),
            if errors.is_empty() {
                String::new()
            } else {
                format!(" ({} malformed lines)", errors.len())
            }
        );
    }
    let manifest_path = ::datasets::RunManifest::path_for(path);
    let manifest = match ::datasets::RunManifest::read(&manifest_path) {
        Ok(manifest) => manifest,
        Err(error) => {
            note!("prover report: warning: {error}; reporting without it");
            None
        }
    };
    Ok(Run {
        label: path.display().to_string(),
        results,
        manifest,
        ..Run::default()
    })
}

/// Every `*.trace.jsonl` of a `--trace DIR`, grouped by theorem name.
fn read_trace_dir(
    dir: &Path,
) -> anyhow::Result<BTreeMap<String, Vec<::datasets::explore::TraceRow>>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read --trace {}", dir.display()))?;
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".trace.jsonl"))
        .collect();
    files.sort();
    let mut traces: BTreeMap<String, Vec<::datasets::explore::TraceRow>> = BTreeMap::new();
    for file in files {
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let (rows, errors) = ::datasets::explore::read_trace(&bytes);
        for error in &errors {
            note!(
                "prover report: warning: {}:{}: {}; line skipped",
                file.display(),
                error.line,
                error.reason
            );
        }
        for row in rows {
            traces.entry(row.name.clone()).or_default().push(row);
        }
    }
    Ok(traces)
}

#[cfg(test)]
mod tests {
    use super::run_labels;
    use std::path::PathBuf;

    #[test]
    fn runs_are_labelled_by_the_shortest_tail_that_tells_them_apart() {
        let paths: Vec<PathBuf> = ["/a/x/results.jsonl", "/a/y/results.jsonl", "/b/other.jsonl"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(
            run_labels(&paths),
            ["x/results.jsonl", "y/results.jsonl", "other.jsonl"]
        );
        let same = vec![PathBuf::from("r.jsonl"), PathBuf::from("r.jsonl")];
        assert_eq!(run_labels(&same), ["r.jsonl", "r.jsonl"]);
    }
}
