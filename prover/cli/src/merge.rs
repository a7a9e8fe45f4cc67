//! `prover merge OUT SHARDS…`: arguments → [`MergeRun`] → `pipeline::merge::run` → exit code, with what was joined and what is missing named on stderr.

use std::process::ExitCode;

use prover::pipeline::merge::{MergeReport, MergeRun, Merged, RoundsReport};

use super::MergeArgs;
use crate::exit;

/// Runs `prover merge`: exit 0 when the merge holds the whole dataset, 1 when shards or
/// theorems are missing (the output is written all the same), 2 when nothing could be merged.
pub(super) fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let request = MergeRun {
        out: args.out.clone(),
        inputs: args.shards,
    };
    let merged = prover::pipeline::merge::run(request)?;
    match &merged {
        Merged::Results(report) => results(report, &args.out),
        Merged::Rounds(report) => rounds(report, &args.out),
    }
    Ok(ExitCode::from(if merged.complete() {
        exit::SETTLED
    } else {
        exit::UNSETTLED
    }))
}

/// Lines that did not read, and the shards no input holds.
fn gaps(row_errors: &[String], missing_shards: &[impl std::fmt::Display], rerun: &str) {
    for error in row_errors {
        note!("prover merge: warning: a line that does not read was left out: {error}");
    }
    if !missing_shards.is_empty() {
        let shards: Vec<String> = missing_shards.iter().map(ToString::to_string).collect();
        note!("prover merge: missing shards: {}{rerun}", shards.join(", "));
    }
}

/// The merge of `eval` or `check` results files, on stderr.
fn results(report: &MergeReport, out: &std::path::Path) {
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
    let rerun = " (rerun them with --shard and merge again)";
    gaps(&report.row_errors, &report.missing_shards, rerun);
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
        out.display(),
        counts.join(", "),
        report
            .shard_count
            .map_or(String::new(), |n| format!(" from shards of {n}"))
    );
}

/// The merge of `iterate --dir` directories, on stderr.
fn rounds(report: &RoundsReport, out: &std::path::Path) {
    for duplicate in &report.duplicates {
        note!("prover merge: {duplicate} is in several inputs; kept the first's rows");
    }
    for (round, lacking) in &report.incomplete {
        note!(
            "prover merge: round {round} is not complete in {}; not merged",
            lacking.join(", ")
        );
    }
    gaps(&report.row_errors, &report.missing_shards, "");
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
        out.display()
    );
}
