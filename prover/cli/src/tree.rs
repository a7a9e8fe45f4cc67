//! `prover tree`: reads one theorem's trace and writes its search tree as HTML, SVG or Graphviz DOT (by the output's extension), or, given a plan log, the theorem's plan (skeletons, holes, each hole's search); the pictures come from `prover-report`.

use std::process::ExitCode;

use ::datasets::output::{FileKind, Input, Output, Target};
use anyhow::{Context, bail};
use prover_report::{TreeOptions, tree};

use super::TreeArgs;
use crate::exit;

/// Runs `prover tree`: exit 0 once the picture is written, 2 when the trace is missing, empty,
/// or holds several theorems and `--theorem` names none of them.
pub(super) fn run(args: TreeArgs) -> anyhow::Result<ExitCode> {
    let kind = output_kind(&args.out)?;
    let _outputs = super::common::check_outputs(
        &[Output {
            flag: "--out",
            path: &args.out,
            target: Target::File(kind),
        }],
        &[Input {
            flag: "the trace",
            path: &args.trace,
        }],
    )?;
    let bytes = std::fs::read(&args.trace)
        .with_context(|| format!("cannot read trace {}", args.trace.display()))?;
    if is_plan_log(&bytes) {
        return draw_plan(&args, kind, &bytes);
    }
    let (mut rows, errors) = ::datasets::explore::read_trace(&bytes);
    for error in &errors {
        note!(
            "prover tree: warning: {}:{}: {}; line skipped",
            args.trace.display(),
            error.line,
            error.reason
        );
    }
    let names = rows.iter().map(|r| r.name.as_str());
    let chosen = chosen_theorem(&args, names, ("trace", "edge record", "edge"))?;
    rows.retain(|r| r.name == chosen);
    let drawn = tree::build(
        &rows,
        &TreeOptions {
            max_nodes: args.max_nodes,
        },
    );
    write_drawn(&args.out, kind, &drawn)?;
    note!(
        "prover tree: {chosen}: {} nodes, {} edges written to {}{}",
        drawn.nodes.len(),
        drawn.edges.len(),
        args.out.display(),
        drawn
            .note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    Ok(ExitCode::from(exit::SETTLED))
}

/// Whether the file's first row is a plan record (`--plan-log`): it has the direct search
/// and the planner's calls. (The first line is read whole: a record outgrows `sniff`'s head.)
fn is_plan_log(bytes: &[u8]) -> bool {
    ::datasets::jsonl_lines(bytes)
        .next()
        .and_then(|(_, line)| line.ok())
        .and_then(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .is_some_and(|row| row.get("planner_calls").is_some() && row.get("direct").is_some())
}

/// `prover tree` on a plan log: the chosen theorem's last record, drawn as its plan.
fn draw_plan(args: &TreeArgs, kind: FileKind, bytes: &[u8]) -> anyhow::Result<ExitCode> {
    use ::datasets::plan::{PLAN_SCHEMA_VERSION, PlanRecord};
    let (records, errors) =
        ::datasets::jsonl::read_rows_versioned::<PlanRecord>(bytes, PLAN_SCHEMA_VERSION);
    for error in &errors {
        note!(
            "prover tree: warning: {}:{}: {}; line skipped",
            args.trace.display(),
            error.line,
            error.reason
        );
    }
    let names = records.iter().map(|r| r.name.as_str());
    let chosen = chosen_theorem(args, names, ("plan log", "plan record", "plan"))?;
    // A rerun appends a theorem's record again: the last one is its latest plan.
    let Some(record) = records.iter().rev().find(|r| r.name == chosen) else {
        bail!(
            "plan log {} holds no plan of `{chosen}`",
            args.trace.display()
        );
    };
    let drawn = prover_report::plan_tree::build(record);
    write_drawn(&args.out, kind, &drawn)?;
    note!(
        "prover tree: the plan of {chosen}: {} skeletons, {} nodes written to {}",
        record.skeletons.len(),
        drawn.nodes.len(),
        args.out.display()
    );
    Ok(ExitCode::from(exit::SETTLED))
}

/// The theorem to draw: `--theorem`, or the file's only one. `what` names the file, a
/// record and an item of it in the messages (`trace`, `edge record`, `edge`).
fn chosen_theorem<'a>(
    args: &TreeArgs,
    names: impl Iterator<Item = &'a str>,
    (file, record, item): (&str, &str, &str),
) -> anyhow::Result<String> {
    let mut names: Vec<&str> = names.collect();
    names.sort_unstable();
    names.dedup();
    let path = args.trace.display();
    Ok(match (&args.theorem, names.as_slice()) {
        (_, []) => bail!("{file} {path} holds no {record}"),
        (Some(name), _) if names.contains(&name.as_str()) => name.clone(),
        (Some(name), _) => bail!(
            "{file} {path} holds no {item} of `{name}` (it has {})",
            names.len()
        ),
        (None, [one]) => (*one).to_owned(),
        (None, many) => bail!(
            "{file} {path} holds {} theorems (`{}`, …); pick one with --theorem",
            many.len(),
            many[0]
        ),
    })
}

/// The picture's format, from `--out`'s extension.
fn output_kind(out: &std::path::Path) -> anyhow::Result<FileKind> {
    let extension = out
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    Ok(match extension.as_str() {
        "html" | "htm" => FileKind::Html,
        "svg" => FileKind::Svg,
        "dot" | "gv" => FileKind::Dot,
        other => bail!(
            "--out {}: the extension says the format: .html, .svg or .dot (got {other:?})",
            out.display()
        ),
    })
}

/// Renders `drawn` in the format `--out`'s extension names and writes it atomically.
fn write_drawn(out: &std::path::Path, kind: FileKind, drawn: &tree::Tree) -> anyhow::Result<()> {
    let text = match kind {
        FileKind::Html => tree::html(drawn),
        FileKind::Svg => tree::svg(drawn),
        _ => tree::dot(drawn),
    };
    ::datasets::write_atomic(out, text.as_bytes())
        .with_context(|| format!("cannot write --out {}", out.display()))
}
