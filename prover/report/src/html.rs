//! The HTML of `prover report`: one self-contained page (inline CSS, inline SVG charts, one small inline script that sorts tables), with no fetch of anything, so it opens from `file://`.
//!
//! The script only sorts; the page reads the same without it. When it has run without
//! throwing it sets `data-ready="1"` on `<body>`, which the headless-browser test checks.

use std::fmt::Write as _;

use crate::charts::{self, Series};
use crate::figures::{Bin, ReportFigures, RunFigures};

/// Text made of characters XML allows: every character XML 1.0 forbids (NUL, ESC, BEL, VT and
/// the other C0 controls but tab, newline and carriage return; U+FFFE, U+FFFF), and the DEL
/// and C1 controls HTML calls parse errors, are written as `\u{..}` text, which shows what the
/// data held without making the document invalid. Markup is left alone: this is for text a
/// library escapes itself (the charts' labels); [`escape`] is for text written into markup.
pub fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if !text.chars().any(forbidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if forbidden(c) {
            let _ = write!(safe, "\\u{{{:x}}}", u32::from(c));
        } else {
            safe.push(c);
        }
    }
    std::borrow::Cow::Owned(safe)
}

/// Text made safe for HTML and XML (element content and attribute values): [`xml_safe`], with
/// the markup characters escaped.
pub fn escape(text: &str) -> String {
    let text = xml_safe(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&#39;",
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1240px}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#f2f2f2}table.sortable th{cursor:pointer}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.proved{color:#1a7f1a}.failed{color:#b35900}.error{color:#c00}pre{margin:0;white-space:pre-wrap;max-width:60em}\
.charts{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0}.scroll{overflow:auto;max-height:80vh;border:1px solid #ddd}\
.note{color:#a00}.cached{color:#555;font-style:italic}footer{margin-top:2em;font-size:.8em;color:#555}code{font-size:.95em}";

/// Sorts a `table.sortable` by the clicked column (numbers by value when the cell has
/// `data-v`), then marks the page ready.
const SCRIPT: &str = "(function(){\
document.querySelectorAll('table.sortable').forEach(function(t){\
t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){\
var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';\
rows.sort(function(x,y){var a=x.cells[i],c=y.cells[i];var p=a.dataset.v,q=c.dataset.v;\
var r=(p!==undefined&&q!==undefined)?(parseFloat(p)-parseFloat(q)):a.textContent.localeCompare(c.textContent);return asc?r:-r;});\
rows.forEach(function(r){b.appendChild(r);});});});});\
document.body.dataset.ready='1';})();";

/// A whole page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

fn num(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn headline(runs: &[RunFigures]) -> String {
    let mut s = String::from(
        "<h2>Runs</h2><table><thead><tr><th>run</th><th>theorems</th><th>attempts</th><th>proved</th><th>failed</th><th>error</th><th>pass rate</th><th>pass@k</th><th>from the cache</th></tr></thead><tbody>",
    );
    for run in runs {
        let pass_at_k: Vec<String> = run
            .pass_at_k
            .iter()
            .map(|p| format!("pass@{} {}", p.k, percent(p.value)))
            .collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num proved\">{}</td><td class=\"num failed\">{}</td><td class=\"num error\">{}</td><td class=\"num\">{}</td><td>{}{}</td><td class=\"num from-cache\">{}</td></tr>",
            escape(&run.label),
            run.theorems,
            run.attempts,
            run.proved,
            run.failed,
            run.error,
            percent(run.pass_rate),
            pass_at_k.join(", "),
            escape(&attempts_note(run)),
            run.from_cache
        );
    }
    s += "</tbody></table>";
    if runs.iter().any(|r| r.from_cache > 0) {
        s += "<p>Verdicts from the cache were found by a search of an earlier run (<code>--reuse-verdicts</code>): the theorem table marks them, and the curves and the table count what that search spent; the budget below is what these runs spent.</p>";
    }
    s += "<h3>Budget</h3><table><thead><tr><th>run</th><th></th><th>expansions</th><th>Lean calls</th><th>Lean seconds</th><th>policy calls</th><th>wall seconds</th></tr></thead><tbody>";
    for run in runs {
        for (what, b) in [("total", &run.totals), ("per theorem", &run.per_theorem)] {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{what}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&run.label),
                num(b.expansions),
                num(b.lean_calls),
                num(b.lean_seconds),
                num(b.policy_calls),
                num(b.seconds)
            );
        }
    }
    s += "</tbody></table>";
    s
}

/// Which attempts the pass@k figures come from: " (unbiased estimate from 5 attempts per
/// theorem; attempts 0..1 only, 30 rows of the file left out)".
fn attempts_note(run: &RunFigures) -> String {
    let counts = run.attempts_per_theorem;
    if counts.most <= 1 && run.first_attempts.is_none() {
        return String::new();
    }
    let per_theorem = if counts.fewest == counts.most {
        counts.most.to_string()
    } else {
        format!("{}–{}", counts.fewest, counts.most)
    };
    let mut note = format!(" (unbiased estimate from {per_theorem} attempts per theorem");
    if let Some(k) = run.first_attempts {
        let _ = write!(
            note,
            "; attempts 0..{} only, {} rows of the file left out",
            k.saturating_sub(1),
            run.attempts_left_out
        );
    }
    note.push(')');
    note
}

/// The budget curve of `unit` for every run.
fn curve_chart(runs: &[RunFigures], unit: &str, title: &str, x_desc: &str) -> String {
    let floor = if unit == "seconds" { 0.01 } else { 1.0 };
    let largest = runs
        .iter()
        .flat_map(|r| r.curves.get(unit).into_iter().flatten())
        .map(|p| p.0)
        .fold(floor * 10.0, f64::max);
    let x_max = largest * 1.5;
    let y_max = runs.iter().map(|r| r.theorems).max().unwrap_or(1);
    let series: Vec<Series> = runs
        .iter()
        .map(|r| Series {
            name: r.label.clone(),
            points: charts::steps(
                r.curves.get(unit).map_or(&[][..], Vec::as_slice),
                floor,
                x_max,
            ),
        })
        .collect();
    charts::log_line_chart(
        title,
        x_desc,
        "theorems proved",
        (floor, x_max),
        f64::from(y_max),
        &series,
    )
}

/// A grouped bar chart of one histogram over every run (the categories are the union).
fn histogram_chart(runs: &[RunFigures], key: &str, title: &str, x_desc: &str) -> String {
    let mut categories: Vec<String> = Vec::new();
    for run in runs {
        for bin in run.histograms.get(key).into_iter().flatten() {
            if !categories.contains(&bin.label) {
                categories.push(bin.label.clone());
            }
        }
    }
    if key == "proof_lengths" {
        categories.sort_by_key(|c| c.parse::<u32>().unwrap_or(u32::MAX));
    } else if key == "stop_reasons" {
        categories.sort();
    }
    let series: Vec<Series> = runs
        .iter()
        .map(|run| {
            let bins: &[Bin] = run.histograms.get(key).map_or(&[][..], Vec::as_slice);
            Series {
                name: run.label.clone(),
                points: categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let count = bins.iter().find(|b| &b.label == c).map_or(0, |b| b.count);
                        (i as f64, f64::from(count))
                    })
                    .collect(),
            }
        })
        .collect();
    charts::bar_chart(title, x_desc, &categories, &series)
}

fn charts_section(runs: &[RunFigures]) -> String {
    let mut s = String::from("<h2>Budget curves</h2><div class=\"charts\">");
    for (unit, title, x) in [
        ("expansions", "Proved vs expansions", "expansions (log)"),
        ("lean_calls", "Proved vs Lean calls", "Lean calls (log)"),
        ("seconds", "Proved vs wall time", "seconds (log)"),
    ] {
        let _ = write!(
            s,
            "<figure class=\"chart\" id=\"curve-{unit}\">{}</figure>",
            curve_chart(runs, unit, title, x)
        );
    }
    s += "</div><h2>Distributions</h2><div class=\"charts\">";
    for (key, title, x) in [
        ("seconds", "Time per theorem", "seconds"),
        ("expansions", "Expansions per theorem", "expansions"),
        ("stop_reasons", "Stop reasons", "stop reason (proved: none)"),
        ("proof_lengths", "Proof lengths", "tactics"),
    ] {
        let _ = write!(
            s,
            "<figure class=\"chart\" id=\"hist-{key}\">{}</figure>",
            histogram_chart(runs, key, title, x)
        );
    }
    s += "</div>";
    s
}

fn cell_num(x: f64) -> String {
    format!("<td class=\"num\" data-v=\"{}\">{}</td>", num(x), num(x))
}

fn theorem_table(runs: &[RunFigures]) -> String {
    let mut s = String::from(
        "<h2>Theorems</h2><p>Click a column to sort.</p><table class=\"sortable\" id=\"theorems\"><thead><tr>",
    );
    let several = runs.len() > 1;
    if several {
        s += "<th>run</th>";
    }
    s += "<th>theorem</th><th>status</th><th>attempts</th><th>seconds</th><th>expansions</th><th>Lean calls</th><th>proof length</th><th>stop reason</th><th>first Lean error</th></tr></thead><tbody>";
    for run in runs {
        for row in &run.table {
            s += "<tr>";
            if several {
                let _ = write!(s, "<td>{}</td>", escape(&run.label));
            }
            let cached = if row.from_cache {
                " <span class=\"cached\" title=\"from the cache: found by an earlier run's search, whose cost is shown\">(cached)</span>"
            } else {
                ""
            };
            let _ = write!(
                s,
                "<td>{}</td><td class=\"{}\">{}{cached}</td><td class=\"num\" data-v=\"{}\">{}/{}</td>{}{}{}",
                escape(&row.name),
                row.status,
                row.status,
                row.proved_attempts,
                row.proved_attempts,
                row.attempts,
                cell_num(row.seconds),
                cell_num(f64::from(row.expansions)),
                cell_num(f64::from(row.lean_calls)),
            );
            match row.proof_length {
                Some(n) => s += &cell_num(f64::from(n)),
                None => s += "<td class=\"num\" data-v=\"-1\"></td>",
            }
            let _ = write!(
                s,
                "<td>{}</td><td><code>{}</code></td></tr>",
                escape(row.stop_reason.as_ref().map_or("", |code| code.as_str())),
                escape(row.first_error.as_deref().unwrap_or(""))
            );
        }
    }
    s += "</tbody></table>";
    s
}

/// The planner's totals per run, then a row per planned theorem; nothing when no run planned.
fn plan_section(runs: &[RunFigures]) -> String {
    if runs.iter().all(|run| run.plan.is_none()) {
        return String::new();
    }
    let mut s = String::from(
        "<h2>Planner</h2><table><thead><tr><th>run</th><th>planned</th><th>proved directly</th><th>proved by a plan</th><th>planner calls</th><th>replans</th><th>planner tokens</th><th>skeletons (refused)</th><th>holes</th><th>closed</th><th>from the cache</th><th>refuted</th><th>Lean s: direct</th><th>skeleton checks</th><th>hole searches</th><th>final checks</th></tr></thead><tbody>",
    );
    for run in runs {
        let Some(t) = &run.plan else { continue };
        let seconds = &t.lean_seconds;
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}<td class=\"num\">{} ({})</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}{}{}</tr>",
            escape(&run.label),
            t.planned,
            t.proved_directly,
            t.proved_by_plan,
            t.planner_calls,
            t.replans,
            tokens_cell(&t.planner_tokens),
            t.skeletons,
            t.skeletons_refused,
            t.holes,
            t.holes_closed,
            t.holes_from_cache,
            t.holes_refuted,
            cell_num(seconds.direct_search),
            cell_num(seconds.skeleton_checks),
            cell_num(seconds.hole_searches),
            cell_num(seconds.final_checks),
        );
    }
    s += "</tbody></table><table class=\"sortable\" id=\"plans\"><thead><tr>";
    let several = runs.len() > 1;
    if several {
        s += "<th>run</th>";
    }
    s += "<th>theorem</th><th>outcome</th><th>planner calls</th><th>planner tokens</th><th>skeletons (refused)</th><th>holes</th><th>closed</th><th>from the cache</th><th>refuted</th><th>Lean s: direct</th><th>skeleton checks</th><th>hole searches</th><th>final checks</th></tr></thead><tbody>";
    for run in runs {
        for row in &run.table {
            let Some(plan) = &row.plan else { continue };
            s += "<tr>";
            if several {
                let _ = write!(s, "<td>{}</td>", escape(&run.label));
            }
            let outcome = match plan.outcome {
                datasets::plan::PlanOutcome::Direct => "direct",
                datasets::plan::PlanOutcome::Plan => "plan",
                datasets::plan::PlanOutcome::Unproved => "unproved",
            };
            let seconds = &plan.lean_seconds;
            let _ = write!(
                s,
                "<td>{}</td><td>{outcome}</td>{}{}<td class=\"num\" data-v=\"{}\">{} ({})</td>{}{}{}{}{}{}{}{}</tr>",
                escape(&row.name),
                cell_num(f64::from(plan.planner_calls)),
                tokens_cell(&plan.planner_tokens),
                plan.skeletons,
                plan.skeletons,
                plan.skeletons_refused,
                cell_num(f64::from(plan.holes)),
                cell_num(f64::from(plan.holes_closed)),
                cell_num(f64::from(plan.holes_from_cache)),
                cell_num(f64::from(plan.holes_refuted)),
                cell_num(seconds.direct_search),
                cell_num(seconds.skeleton_checks),
                cell_num(seconds.hole_searches),
                cell_num(seconds.final_checks),
            );
        }
    }
    s += "</tbody></table>";
    s
}

/// The planner's tokens: the total, then prompt + completion; sorted by the total.
fn tokens_cell(tokens: &datasets::plan::PlannerTokens) -> String {
    format!(
        "<td class=\"num\" data-v=\"{}\">{} ({} + {})</td>",
        tokens.total(),
        tokens.total(),
        tokens.prompt,
        tokens.completion
    )
}

fn forensics_section(runs: &[RunFigures]) -> String {
    let mut s = String::from("<h2>Failure forensics</h2>");
    for run in runs {
        let f = &run.forensics;
        let _ = write!(
            s,
            "<h3>{}</h3><p>{} failed theorems, {} with a trace.</p>",
            escape(&run.label),
            f.failed_theorems,
            f.traced
        );
        if f.failed_theorems > 0 && f.traced == 0 {
            s += "<p>No traces: run with <code>--trace DIR</code> and pass <code>--trace DIR</code> to <code>prover report</code> to see where failed searches spent their budget.</p>";
            continue;
        }
        if !f.hot_goals.is_empty() {
            s += "<table><thead><tr><th>most expanded goal</th><th>tactics tried</th><th>refused</th><th>theorems</th></tr></thead><tbody>";
            for goal in &f.hot_goals {
                let _ = write!(
                    s,
                    "<tr><td><pre>{}</pre></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    escape(&goal.goal),
                    goal.tactics_tried,
                    goal.refused,
                    escape(&goal.theorems.join(", "))
                );
            }
            s += "</tbody></table>";
        }
        if !f.failing_tactics.is_empty() {
            s += "<table><thead><tr><th>tactic refused most often</th><th>refused</th><th>tried</th><th>first error</th></tr></thead><tbody>";
            for t in &f.failing_tactics {
                let _ = write!(
                    s,
                    "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
                    escape(&t.tactic),
                    t.failures,
                    t.tries,
                    escape(t.example_error.as_deref().unwrap_or(""))
                );
            }
            s += "</tbody></table>";
        }
    }
    s
}

/// Per-lineage figures and the transfer matrix: which figures compare, and on what.
fn lineage_section(figures: &ReportFigures) -> String {
    let Some(lineages) = &figures.lineages else {
        return String::new();
    };
    let mut s = String::from(
        "<h2>Lineages</h2><p>Figures on different benchmark lineages compare only on the \
         intersection: the problems whose statement hash is equal in every lineage here \
         (",
    );
    let _ = write!(
        s,
        "{} problems).</p><table><thead><tr><th>Run</th><th>Lineage</th><th>Toolchain</th>\
         <th>All</th><th>Unflagged</th><th>Intersection</th><th>Flagged</th></tr></thead><tbody>",
        lineages.intersection_size
    );
    for run in &lineages.runs {
        let _ = write!(
            s,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&run.run),
            escape(&run.lineage),
            escape(&run.toolchain),
            run.all.describe(),
            run.unflagged.describe(),
            run.intersection.describe(),
            escape(&run.flagged.join(", "))
        );
    }
    s += "</tbody></table>";
    if !lineages.transfers.is_empty() {
        s += "<h3>Transfer matrix</h3><p>Each proof found on one lineage, re-checked against \
              the other lineage's statement of the same problem.</p><table><thead><tr>\
              <th>From</th><th>To</th><th>Proofs</th><th>Transfer</th><th>Do not</th>\
              <th>Error</th><th>Statement differs</th><th>Transfer although different</th>\
              </tr></thead><tbody>";
        for cell in &lineages.transfers {
            let _ = write!(
                s,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&cell.from),
                escape(&cell.to),
                cell.proofs,
                cell.transfers,
                cell.does_not,
                cell.errors,
                cell.statement_differs,
                cell.transfers_although_different
            );
        }
        s += "</tbody></table>";
    }
    s
}

fn diff_section(figures: &ReportFigures) -> String {
    if figures.diffs.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2>Differences</h2>");
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names
                .iter()
                .map(|n| format!("<code>{}</code>", escape(n)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    for d in &figures.diffs {
        let _ = write!(
            s,
            "<h3>{} → {}</h3><p><b>Regressions</b> (solved → unsolved, {}): {}</p><p><b>Newly solved</b> ({}): {}</p>",
            escape(&d.base),
            escape(&d.other),
            d.regressions.len(),
            list(&d.regressions),
            d.newly_solved.len(),
            list(&d.newly_solved)
        );
        if !d.only_in_one.is_empty() {
            let _ = write!(s, "<p>In only one of the two: {}</p>", list(&d.only_in_one));
        }
        if d.settings.is_empty() {
            s += "<p>Same settings.</p>";
        } else {
            s += "<p><b>Settings that differ</b>:</p><ul>";
            for line in &d.settings {
                let _ = write!(s, "<li><code>{}</code></li>", escape(line));
            }
            s += "</ul>";
        }
    }
    s
}

fn footer(runs: &[RunFigures]) -> String {
    let mut s = String::from("<footer><h2>Pins</h2>");
    for run in runs {
        let _ = write!(s, "<h3>{}</h3>", escape(&run.label));
        if run.pins.is_empty() {
            s += "<p>No run manifest beside this results file.</p>";
            continue;
        }
        s += "<table><tbody>";
        for (k, v) in &run.pins {
            let _ = write!(
                s,
                "<tr><td>{}</td><td><code>{}</code></td></tr>",
                escape(k),
                escape(v)
            );
        }
        s += "</tbody></table>";
    }
    s += "<p>Made by <code>prover report</code>.</p></footer>";
    s
}

/// The report page of `figures`.
pub fn report(figures: &ReportFigures) -> String {
    let runs = &figures.runs;
    let mut body = String::from("<h1>Evaluation report</h1>");
    let labels: Vec<String> = runs.iter().map(|r| escape(&r.label)).collect();
    let _ = write!(body, "<p>Runs: {}.</p>", labels.join(", "));
    body += &headline(runs);
    body += &charts_section(runs);
    body += &diff_section(figures);
    body += &lineage_section(figures);
    body += &theorem_table(runs);
    body += &plan_section(runs);
    body += &forensics_section(runs);
    body += &footer(runs);
    page("Evaluation report", &body)
}

#[cfg(test)]
mod tests {
    use super::{escape, xml_safe};

    #[test]
    fn characters_xml_forbids_are_shown_as_text_and_markup_is_escaped() {
        assert_eq!(xml_safe("a\tb\nc"), "a\tb\nc");
        assert_eq!(
            xml_safe("x\u{0}\u{1b}[2J\u{7}\u{b}\u{7f}\u{85}\u{fffe}y"),
            "x\\u{0}\\u{1b}[2J\\u{7}\\u{b}\\u{7f}\\u{85}\\u{fffe}y"
        );
        assert_eq!(
            escape("<a href=\"x\">\u{0}&"),
            "&lt;a href=&quot;x&quot;&gt;\\u{0}&amp;"
        );
    }
}
