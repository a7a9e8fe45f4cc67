//! `prover report` and `prover tree` as pure functions: parsed `datasets` rows (results, run manifests, trace edges) in, self-contained HTML, SVG, DOT and JSON text out.
//!
//! - [`figures`]: every number of a report as data (`prover report --json`);
//! - [`charts`]: the charts, drawn with `plotters` on its SVG backend;
//! - [`html`]: the report page;
//! - [`lineage`]: per-lineage figures (all, unflagged, the intersection of equal statements)
//!   and the cross-lineage transfer matrix;
//! - [`tree`]: pictures of one search tree from its trace.
//!
//! **Invariant:** nothing here reads a file, the clock or the environment, and nothing iterates
//! a hash map into the output: the same rows give the same bytes. The CLI reads the files and
//! writes the output (`prover-cli`'s `report.rs` and `tree.rs`).

pub mod charts;
pub mod figures;
pub mod html;
pub mod lineage;
pub mod plan_tree;
pub mod tree;

pub use figures::{ReportFigures, Run, figures};
pub use tree::{Tree, TreeOptions};

/// The HTML report of `runs`.
pub fn report_html(runs: &[Run]) -> String {
    html::report(&figures(runs))
}

/// The report's figures as pretty JSON (ending in a newline).
pub fn report_json(runs: &[Run]) -> String {
    let mut text = serde_json::to_string_pretty(&figures(runs))
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    text.push('\n');
    text
}
