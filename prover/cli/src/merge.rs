//! `prover merge OUT SHARDS…`: the results files of a sharded `eval` joined into one
//! (`prover::pipeline::merge`), and what is missing named on stderr.

use std::process::ExitCode;

use ::datasets::output::{FileKind, Input, Output, Target};

use super::MergeArgs;
use crate::exit;

/// Runs `prover merge`: exit 0 when the merged file holds the whole dataset, 1 when shards or
/// theorems are missing (the file is written all the same), 2 when nothing could be merged.
pub(super) fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    if args.shards.iter().all(|path| path.is_dir()) {
        return rounds(&args);
    }
    let manifest_path = ::datasets::RunManifest::path_for(&args.out);
    // The merged file is of the inputs' kind (a manifest that does not read is refused, with
    // its name, by the merge itself).
    let of_check = args.shards.first().is_some_and(|first| {
        ::datasets::RunManifest::read(&::datasets::RunManifest::path_for(first))
            .ok()
            .flatten()
            .is_some_and(|manifest| manifest.kind == "check")
    });
    let kind = if of_check {
        FileKind::CheckResults
    } else {
        FileKind::EvalResults
    };
    let inputs: Vec<Input<'_>> = args
        .shards
        .iter()
        .map(|path| Input {
            flag: "a shard's results",
            path,
        })
        .collect();
    let outputs = [
        Output {
            flag: "OUT",
            path: &args.out,
            target: Target::File(kind),
        },
        Output {
            flag: "the manifest of OUT",
            path: &manifest_path,
            target: Target::File(FileKind::Manifest),
        },
    ];
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;
    let report = prover::pipeline::merge::merge_eval_outputs(&args.out, &args.shards)?;
    for error in &report.row_errors {
        note!("prover merge: warning: a line that does not read was left out: {error}");
    }
    for duplicate in &report.duplicates {
        let attempt = if duplicate.attempt > 0 {
            format!(" (attempt {})", duplicate.attempt)
        } else {
            String::new()
        };
        note!(
            "prover merge: {}{attempt} is in {}; kept the row of {}",
            duplicate.name,
            duplicate.files.join(" and "),
            duplicate.kept
        );
    }
    if !report.missing_shards.is_empty() {
        let shards: Vec<String> = report
            .missing_shards
            .iter()
            .map(ToString::to_string)
            .collect();
        note!(
            "prover merge: missing shards: {} (rerun them with --shard and merge again)",
            shards.join(", ")
        );
    }
    if !report.missing_theorems.is_empty() {
        note!(
            "prover merge: {} theorem(s) (or rows) of the input have no result: {}",
            report.missing_theorems.len(),
            report.missing_theorems.join(", ")
        );
    }
    if !report.unknown_theorems.is_empty() {
        note!(
            "prover merge: {} result(s) name theorems the dataset does not hold: {}",
            report.unknown_theorems.len(),
            report.unknown_theorems.join(", ")
        );
    }
    let counts: Vec<String> = report
        .counts
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    note!(
        "prover merge: {} rows written to {} ({}){}",
        report.rows,
        args.out.display(),
        counts.join(", "),
        report
            .shard_count
            .map_or(String::new(), |n| format!(" from shards of {n}"))
    );
    Ok(ExitCode::from(if report.complete() {
        exit::SETTLED
    } else {
        exit::UNSETTLED
    }))
}

/// `prover merge OUT_DIR DIRS…`: the `iterate --dir` directories of a sharded `prover iterate`.
fn rounds(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let inputs: Vec<Input<'_>> = args
        .shards
        .iter()
        .map(|path| Input {
            flag: "a shard's --dir",
            path,
        })
        .collect();
    let outputs = [Output {
        flag: "OUT",
        path: &args.out,
        target: Target::Dir,
    }];
    let _outputs = super::common::check_outputs(&outputs, &inputs)?;
    let report = prover::pipeline::merge::merge_iterate_dirs(&args.out, &args.shards)?;
    for error in &report.row_errors {
        note!("prover merge: warning: a line that does not read was left out: {error}");
    }
    for duplicate in &report.duplicates {
        note!("prover merge: {duplicate} is in several inputs; kept the first's rows");
    }
    for (round, lacking) in &report.incomplete {
        note!(
            "prover merge: round {round} is not complete in {}; not merged",
            lacking.join(", ")
        );
    }
    if !report.missing_shards.is_empty() {
        let shards: Vec<String> = report
            .missing_shards
            .iter()
            .map(ToString::to_string)
            .collect();
        note!("prover merge: missing shards: {}", shards.join(", "));
    }
    if !report.missing_theorems.is_empty() {
        note!(
            "prover merge: {} conjecture(s) have no result in round 1: {}",
            report.missing_theorems.len(),
            report.missing_theorems.join(", ")
        );
    }
    note!(
        "prover merge: {} round(s) written to {}",
        report.rounds,
        args.out.display()
    );
    Ok(ExitCode::from(if report.complete() {
        exit::SETTLED
    } else {
        exit::UNSETTLED
    }))
}
