//! The report's figures as data, computed from parsed rows alone: counts, pass@k, budgets, budget curves, histograms, the per-theorem table, failure forensics, run diffs and the leaderboard row (`prover report --json` writes exactly these).
//!
//! Everything is sorted and every float is rounded to a fixed number of decimals, so the same
//! rows always give the same figures; no map here iterates in hash order.

use std::collections::{BTreeMap, BTreeSet};

use datasets::explore::{EdgeKind, TraceRow};
use datasets::plan::{PlanOutcome, PlanSeconds, PlanSummary, PlannerTokens};
use datasets::{ProveResult, ProveStatus, RunManifest, StopCode};
use serde::Serialize;

/// One run as the report reads it: its results, its manifest if it has one, and the traces of
/// its theorems if they were written (`--trace DIR`).
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// How the report names the run (the results file as given).
    pub label: String,
    /// Every row of the results file, in file order; a name given more than once is several
    /// attempts at one theorem (pass@k).
    pub results: Vec<ProveResult>,
    /// The run manifest beside the results file.
    pub manifest: Option<RunManifest>,
    /// Theorem name → its trace's edge records.
    pub traces: BTreeMap<String, Vec<TraceRow>>,
    /// `Some(k)` when only attempts 0..k−1 of each theorem were kept (`report --attempts K`,
    /// [`datasets::first_attempts`]).
    pub first_attempts: Option<u32>,
    /// Rows of the file left out by `first_attempts`.
    pub attempts_left_out: u32,
    /// The degenerate-statement flags of the run's lineage (`prover datasets audit`), for the
    /// lineage section's unflagged figures and the leaderboard row.
    pub flags: Vec<datasets::audit::AuditRow>,
    /// Proofs re-checked against other lineages' statements (`prover datasets transfer`).
    pub transfers: Vec<datasets::transfer::TransferRow>,
}

/// Budget units, summed or averaged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Budget {
    /// Expansions.
    pub expansions: f64,
    /// Lean requests.
    pub lean_calls: f64,
    /// Seconds waiting for Lean's answers to tactics.
    pub lean_seconds: f64,
    /// Calls to the policy.
    pub policy_calls: f64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// An unbiased pass@k estimate (Chen et al. 2021) over every theorem, each with at least `k`
/// attempts: from exactly `k` attempts it is the share of theorems some attempt proved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassAtK {
    /// Attempts drawn.
    pub k: u32,
    /// The mean over theorems of 1 - C(n-c, k) / C(n, k), n attempts, c of them proving.
    pub value: f64,
}

/// How many attempts the theorems of a run have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct AttemptCounts {
    /// The fewest any theorem has (the largest k of pass@k).
    pub fewest: u32,
    /// The most any theorem has.
    pub most: u32,
}

/// One histogram bin (or one category).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    /// The bin's label (`1–2`, `exhausted`).
    pub label: String,
    /// Theorems in it.
    pub count: u32,
}

/// One line of the per-theorem table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TheoremRow {
    /// The theorem.
    pub name: String,
    /// `proved` when any attempt proved it, else `failed` when any attempt failed, else `error`.
    pub status: String,
    /// Attempts in the file.
    pub attempts: u32,
    /// Attempts that proved it.
    pub proved_attempts: u32,
    /// The shown attempt (the first proving attempt, else the first) took its verdict from the
    /// cache; its seconds, expansions and Lean calls are then the original search's.
    pub from_cache: bool,
    /// The wall time of the search behind the shown attempt's verdict.
    pub seconds: f64,
    /// Its expansions.
    pub expansions: u32,
    /// Its Lean requests.
    pub lean_calls: u32,
    /// Tactics in its proof, when it has one.
    pub proof_length: Option<u32>,
    /// Why its search stopped, when it found no proof.
    pub stop_reason: Option<StopCode>,
    /// The first error Lean gave in its search (from the trace), or the error that ended it.
    pub first_error: Option<String>,
    /// What the planner did for the attempt shown, when it was planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanSummary>,
}

/// What the planner did over a run: its rows' [`PlanSummary`]s summed (over attempts, as
/// the budget totals are).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlanTotals {
    /// Rows that went through the planner.
    pub planned: u32,
    /// Of those, proved by a direct search (the first, or the fallback).
    pub proved_directly: u32,
    /// Of those, proved through a skeleton.
    pub proved_by_plan: u32,
    /// Requests sent to the planner.
    pub planner_calls: u32,
    /// Requests after a theorem's first.
    pub replans: u32,
    /// Tokens the planner's requests cost, as the server's `usage` reported them.
    pub planner_tokens: PlannerTokens,
    /// Skeletons tried.
    pub skeletons: u32,
    /// Skeletons refused before any hole was searched.
    pub skeletons_refused: u32,
    /// Holes of the skeletons that elaborated.
    pub holes: u32,
    /// Holes closed.
    pub holes_closed: u32,
    /// Holes whose verdict came from the cache or an earlier skeleton.
    pub holes_from_cache: u32,
    /// Holes refuted.
    pub holes_refuted: u32,
    /// Seconds waiting for Lean, by what asked (rounded to milliseconds).
    pub lean_seconds: PlanSeconds,
}

/// The planner's totals over `results`, or `None` when no row was planned (so a report of a
/// run without the planner is what it was).
pub fn plan_totals(results: &[ProveResult]) -> Option<PlanTotals> {
    let mut totals = PlanTotals::default();
    for plan in results.iter().filter_map(|r| r.plan.as_deref()) {
        totals.planned += 1;
        totals.proved_directly += u32::from(plan.outcome == PlanOutcome::Direct);
        totals.proved_by_plan += u32::from(plan.outcome == PlanOutcome::Plan);
        totals.planner_calls += plan.planner_calls;
        totals.replans += plan.replans;
        totals.planner_tokens.add(plan.planner_tokens);
        totals.skeletons += plan.skeletons;
        totals.skeletons_refused += plan.skeletons_refused;
        totals.holes += plan.holes;
        totals.holes_closed += plan.holes_closed;
        totals.holes_from_cache += plan.holes_from_cache;
        totals.holes_refuted += plan.holes_refuted;
        let (sum, one) = (&mut totals.lean_seconds, &plan.lean_seconds);
        sum.direct_search += one.direct_search;
        sum.skeleton_checks += one.skeleton_checks;
        sum.hole_searches += one.hole_searches;
        sum.final_checks += one.final_checks;
    }
    if totals.planned == 0 {
        return None;
    }
    totals.lean_seconds = rounded(totals.lean_seconds);
    Some(totals)
}

/// `seconds` rounded to milliseconds, as every figure is rounded.
fn rounded(seconds: PlanSeconds) -> PlanSeconds {
    PlanSeconds {
        direct_search: round(seconds.direct_search, 3),
        skeleton_checks: round(seconds.skeleton_checks, 3),
        hole_searches: round(seconds.hole_searches, 3),
        final_checks: round(seconds.final_checks, 3),
    }
}

/// A goal the failed searches spent their budget on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotGoal {
    /// The goal, as Lean printed it.
    pub goal: String,
    /// Tactics tried on it, over every failed theorem.
    pub tactics_tried: u32,
    /// Of those, refused (Lean error, timeout, guard).
    pub refused: u32,
    /// The failed theorems whose search reached it.
    pub theorems: Vec<String>,
}

/// A tactic Lean refused in failed searches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingTactic {
    /// The tactic.
    pub tactic: String,
    /// Times refused.
    pub failures: u32,
    /// Times tried.
    pub tries: u32,
    /// The first error it got.
    pub example_error: Option<String>,
}

/// Where failed searches spent their budget (from their traces).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Forensics {
    /// Failed theorems.
    pub failed_theorems: u32,
    /// Of those, the ones with a trace.
    pub traced: u32,
    /// The goals most tactics were tried on, most first.
    pub hot_goals: Vec<HotGoal>,
    /// The tactics refused most often, most first.
    pub failing_tactics: Vec<FailingTactic>,
}

/// The figures of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFigures {
    /// The run's label.
    pub label: String,
    /// Distinct theorems.
    pub theorems: u32,
    /// Rows (attempts).
    pub attempts: u32,
    /// Attempts per theorem.
    pub attempts_per_theorem: AttemptCounts,
    /// `Some(k)` when only attempts 0..k−1 of each theorem are counted (`report --attempts K`).
    pub first_attempts: Option<u32>,
    /// Rows of the file that `first_attempts` left out.
    pub attempts_left_out: u32,
    /// Rows whose verdict came from the cache (`from_cache`), not from a search of this run.
    pub from_cache: u32,
    /// Theorems proved by some attempt.
    pub proved: u32,
    /// Theorems not proved, with some attempt `failed`.
    pub failed: u32,
    /// Theorems whose every attempt ended `error`.
    pub error: u32,
    /// `proved / theorems`.
    pub pass_rate: f64,
    /// pass@k for k = 1, 2, 4, … up to the fewest attempts any theorem had.
    pub pass_at_k: Vec<PassAtK>,
    /// Budget units summed over attempts.
    pub totals: Budget,
    /// Budget units per attempt, on average.
    pub per_theorem: Budget,
    /// Proved theorems against the budget they needed: `(budget, proved within it)` steps,
    /// for expansions, Lean calls and wall time. A verdict from the cache counts what the
    /// search that found it spent ([`ProveResult::search_cost`]), not its recheck.
    pub curves: BTreeMap<String, Vec<(f64, u32)>>,
    /// Histograms: `seconds`, `expansions` (of the search behind each verdict, as the
    /// curves), `stop_reasons`, `proof_lengths`.
    pub histograms: BTreeMap<String, Vec<Bin>>,
    /// The per-theorem table, sorted by name.
    pub table: Vec<TheoremRow>,
    /// Failure forensics.
    pub forensics: Forensics,
    /// The manifest's pins and settings (`prover.*`, `config.*`, `recorded.*`), if any.
    pub pins: BTreeMap<String, String>,
    /// What the planner did, when some row was planned (`--planner openai`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanTotals>,
}

/// What changed from a base run to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDiff {
    /// The base run.
    pub base: String,
    /// The other run.
    pub other: String,
    /// Proved in the base, not in the other.
    pub regressions: Vec<String>,
    /// Proved in the other, not in the base.
    pub newly_solved: Vec<String>,
    /// Theorems in only one of the two.
    pub only_in_one: Vec<String>,
    /// Settings that differ between their manifests (`key: base → other`).
    pub settings: Vec<String>,
}

/// A leaderboard row in the shape of PutnamBench's `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaderboardRow {
    /// Solved counts by benchmark (`lean`).
    #[serde(rename = "num-solved")]
    pub num_solved: BTreeMap<String, u32>,
    /// Theorems attempted.
    pub size: u32,
    /// The budget in one phrase (`pass@1`, with the search limits).
    #[serde(rename = "condensed-compute-budget")]
    pub compute_budget: String,
    /// The limits and the policy, from the manifest.
    pub note: String,
    /// The solved theorems, sorted.
    pub solved: Vec<String>,
    /// The benchmark lineage the run's rows name (a registry id), when they name one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
    /// The Lean toolchain that lineage targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    /// The problems the lineage's audit flagged as degenerate; `num-solved` and `size` count
    /// them (`flagged-counted`), the lineage section's `unflagged` figure does not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flagged: Vec<String>,
    /// Whether `num-solved` and `size` include the flagged problems (always, when any).
    #[serde(rename = "flagged-counted", skip_serializing_if = "Option::is_none")]
    pub flagged_counted: Option<bool>,
}

/// Every figure of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportFigures {
    /// Report format version.
    pub schema_version: u32,
    /// Per run, in the order given.
    pub runs: Vec<RunFigures>,
    /// The first run against each other run.
    pub diffs: Vec<RunDiff>,
    /// Run label → leaderboard row.
    pub leaderboard: BTreeMap<String, LeaderboardRow>,
    /// Per-lineage figures and the transfer matrix, when a run names a lineage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineages: Option<crate::lineage::LineageReport>,
}

/// The version of [`ReportFigures`]' JSON: 2 added `from_cache`, `attempts_per_theorem`,
/// `first_attempts` and `attempts_left_out`; 3 the `lineages` section and the leaderboard
/// row's `lineage`, `toolchain`, `flagged` and `flagged-counted`; 4 the optional `plan` of a
/// run ([`PlanTotals`]) and of a theorem row ([`PlanSummary`]).
pub const REPORT_SCHEMA_VERSION: u32 = 4;

/// The figures of `runs`.
pub fn figures(runs: &[Run]) -> ReportFigures {
    let figures: Vec<RunFigures> = runs.iter().map(run_figures).collect();
    let diffs = runs
        .iter()
        .skip(1)
        .map(|other| diff(&runs[0], other))
        .collect();
    let lineages = crate::lineage::lineage_report(runs);
    let leaderboard = runs
        .iter()
        .zip(&figures)
        .map(|(run, f)| {
            let mut row = leaderboard_row(run, f);
            if let Some(entry) = lineages
                .iter()
                .flat_map(|l| &l.runs)
                .find(|entry| entry.run == run.label)
            {
                row.lineage = Some(entry.lineage.clone());
                row.toolchain = Some(entry.toolchain.clone());
                row.flagged_counted = (!entry.flagged.is_empty()).then_some(true);
                row.flagged = entry.flagged.clone();
            }
            (run.label.clone(), row)
        })
        .collect();
    ReportFigures {
        schema_version: REPORT_SCHEMA_VERSION,
        runs: figures,
        diffs,
        leaderboard,
        lineages,
    }
}

/// Rounds to `decimals` places, so figures print the same everywhere.
pub fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    let rounded = (x * scale).round() / scale;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// Tactics in a proof text: its lines at the smallest indentation (a tactic's continuation
/// lines are indented further), or the `;`-separated parts of a one-line proof.
pub fn proof_length(proof: &str) -> u32 {
    let lines: Vec<&str> = proof.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return 0;
    }
    if lines.len() == 1 {
        return lines[0].split(';').filter(|p| !p.trim().is_empty()).count() as u32;
    }
    let indent = |l: &str| l.len() - l.trim_start().len();
    let least = lines.iter().map(|l| indent(l)).min().unwrap_or(0);
    lines.iter().filter(|l| indent(l) == least).count() as u32
}

/// The attempts of each theorem, by name.
fn attempts_by_name(run: &Run) -> BTreeMap<&str, Vec<&ProveResult>> {
    let mut by_name: BTreeMap<&str, Vec<&ProveResult>> = BTreeMap::new();
    for result in &run.results {
        by_name.entry(&result.name).or_default().push(result);
    }
    by_name
}

fn status_word(status: ProveStatus) -> &'static str {
    match status {
        ProveStatus::Proved => "proved",
        ProveStatus::Failed => "failed",
        ProveStatus::Error => "error",
    }
}

fn best_status(attempts: &[&ProveResult]) -> ProveStatus {
    let has = |s| attempts.iter().any(|r| r.status == s);
    if has(ProveStatus::Proved) {
        ProveStatus::Proved
    } else if has(ProveStatus::Failed) {
        ProveStatus::Failed
    } else {
        ProveStatus::Error
    }
}

/// C(n - c, k) / C(n, k), computed as a product so it never overflows.
fn none_in_k(n: u32, c: u32, k: u32) -> f64 {
    if n - c < k {
        return 0.0;
    }
    (0..k).fold(1.0, |p, i| p * f64::from(n - c - i) / f64::from(n - i))
}

/// pass@k of `results` (rows with the same name are attempts at one theorem), when every
/// theorem has at least `k` attempts: the figure `prover report` shows, which `eval` prints.
pub fn pass_at(results: &[ProveResult], k: u32) -> Option<PassAtK> {
    let mut by_name: BTreeMap<&str, Vec<&ProveResult>> = BTreeMap::new();
    for result in results {
        by_name.entry(&result.name).or_default().push(result);
    }
    let fewest = by_name.values().map(|a| a.len() as u32).min()?;
    (k >= 1 && k <= fewest).then(|| estimate(&by_name, k))
}

fn estimate(by_name: &BTreeMap<&str, Vec<&ProveResult>>, k: u32) -> PassAtK {
    let sum: f64 = by_name
        .values()
        .map(|attempts| {
            let n = attempts.len() as u32;
            let c = attempts
                .iter()
                .filter(|r| r.status == ProveStatus::Proved)
                .count() as u32;
            1.0 - none_in_k(n, c, k)
        })
        .sum();
    PassAtK {
        k,
        value: round(sum / by_name.len() as f64, 6),
    }
}

fn pass_at_k(by_name: &BTreeMap<&str, Vec<&ProveResult>>) -> Vec<PassAtK> {
    let Some(fewest) = by_name.values().map(|a| a.len() as u32).min() else {
        return Vec::new();
    };
    let mut ks = Vec::new();
    let mut k = 1;
    while k <= fewest {
        ks.push(k);
        k *= 2;
    }
    if ks.last() != Some(&fewest) {
        ks.push(fewest);
    }
    ks.into_iter().map(|k| estimate(by_name, k)).collect()
}

fn budget_of(results: &[ProveResult], divide_by: f64) -> Budget {
    let sum =
        |f: &dyn Fn(&ProveResult) -> f64| round(results.iter().map(f).sum::<f64>() / divide_by, 3);
    Budget {
        expansions: sum(&|r| f64::from(r.expansions)),
        lean_calls: sum(&|r| f64::from(r.lean_calls)),
        lean_seconds: sum(&|r| r.lean_seconds),
        policy_calls: sum(&|r| f64::from(r.policy_calls)),
        seconds: sum(&|r| r.seconds),
    }
}

/// The budget curve of one unit: for each proved theorem, in order of the least budget any of
/// its proving attempts needed, `(that budget, theorems proved within it)`.
fn curve(
    by_name: &BTreeMap<&str, Vec<&ProveResult>>,
    unit: impl Fn(&ProveResult) -> f64,
) -> Vec<(f64, u32)> {
    let mut needed: Vec<f64> = by_name
        .values()
        .filter_map(|attempts| {
            attempts
                .iter()
                .filter(|r| r.status == ProveStatus::Proved)
                .map(|r| unit(r))
                .min_by(f64::total_cmp)
        })
        .collect();
    needed.sort_by(f64::total_cmp);
    needed
        .iter()
        .enumerate()
        .map(|(i, x)| (round(*x, 3), i as u32 + 1))
        .collect()
}

/// Bin edges for seconds (log-spaced) and expansions; the last bin is open.
const SECOND_EDGES: [f64; 11] = [
    0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0,
];
const EXPANSION_EDGES: [f64; 11] = [
    0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
];

fn edge_label(x: f64) -> String {
    if x >= 1.0 || x == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Counts of `values` in the bins of `edges` (`[a, b)`, the last `≥ a`).
pub fn histogram(values: &[f64], edges: &[f64], unit: &str) -> Vec<Bin> {
    edges
        .iter()
        .enumerate()
        .map(|(i, low)| {
            let high = edges.get(i + 1);
            let count = values
                .iter()
                .filter(|v| **v >= *low && high.is_none_or(|h| **v < *h))
                .count() as u32;
            let label = match high {
                Some(h) => format!("{}–{}{unit}", edge_label(*low), edge_label(*h)),
                None => format!("≥{}{unit}", edge_label(*low)),
            };
            Bin { label, count }
        })
        .collect()
}

fn categories(values: impl Iterator<Item = String>) -> Vec<Bin> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(label, count)| Bin { label, count })
        .collect()
}

fn first_line(text: &str, limit: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut cut: String = line.chars().take(limit).collect();
    if line.chars().count() > limit || text.trim().lines().count() > 1 {
        cut.push('…');
    }
    cut
}

fn table(run: &Run, by_name: &BTreeMap<&str, Vec<&ProveResult>>) -> Vec<TheoremRow> {
    by_name
        .iter()
        .map(|(name, attempts)| {
            let shown = attempts
                .iter()
                .find(|r| r.status == ProveStatus::Proved)
                .unwrap_or(&attempts[0]);
            let cost = shown.search_cost();
            let from_trace = run.traces.get(*name).and_then(|edges| {
                edges
                    .iter()
                    .find(|e| e.outcome == EdgeKind::LeanError)
                    .and_then(|e| e.error.as_deref())
            });
            let first_error = match (shown.status, from_trace) {
                (ProveStatus::Proved, _) => None,
                (_, Some(error)) => Some(first_line(error, 160)),
                (ProveStatus::Error, None) => {
                    shown.stop_detail.as_deref().map(|d| first_line(d, 160))
                }
                (ProveStatus::Failed, None) => None,
            };
            TheoremRow {
                name: (*name).to_owned(),
                status: status_word(best_status(attempts)).to_owned(),
                attempts: attempts.len() as u32,
                proved_attempts: attempts
                    .iter()
                    .filter(|r| r.status == ProveStatus::Proved)
                    .count() as u32,
                from_cache: shown.from_cache,
                seconds: round(cost.seconds, 3),
                expansions: cost.expansions,
                lean_calls: cost.lean_calls,
                proof_length: shown.proof.as_deref().map(proof_length),
                stop_reason: shown.stop_reason.clone(),
                first_error,
                plan: shown.plan.as_deref().map(|plan| PlanSummary {
                    lean_seconds: rounded(plan.lean_seconds),
                    ..plan.clone()
                }),
            }
        })
        .collect()
}

fn forensics(run: &Run, by_name: &BTreeMap<&str, Vec<&ProveResult>>) -> Forensics {
    let failed: Vec<&str> = by_name
        .iter()
        .filter(|(_, attempts)| best_status(attempts) == ProveStatus::Failed)
        .map(|(name, _)| *name)
        .collect();
    let mut goals: BTreeMap<&str, (u32, u32, BTreeSet<&str>)> = BTreeMap::new();
    let mut tactics: BTreeMap<&str, (u32, u32, Option<&str>)> = BTreeMap::new();
    let mut traced = 0;
    for name in &failed {
        let Some(edges) = run.traces.get(*name) else {
            continue;
        };
        traced += 1;
        for edge in edges {
            let refused = matches!(
                edge.outcome,
                EdgeKind::LeanError | EdgeKind::Timeout | EdgeKind::Filtered
            );
            let goal = goals.entry(&edge.state_before).or_default();
            goal.0 += 1;
            goal.1 += u32::from(refused);
            goal.2.insert(name);
            let tactic = tactics.entry(&edge.tactic).or_default();
            tactic.1 += 1;
            if refused {
                tactic.0 += 1;
                if tactic.2.is_none() {
                    tactic.2 = edge.error.as_deref();
                }
            }
        }
    }
    let mut hot_goals: Vec<HotGoal> = goals
        .into_iter()
        .map(|(goal, (tried, refused, theorems))| HotGoal {
            goal: goal.to_owned(),
            tactics_tried: tried,
            refused,
            theorems: theorems.into_iter().map(str::to_owned).collect(),
        })
        .collect();
    hot_goals.sort_by(|a, b| {
        b.tactics_tried
            .cmp(&a.tactics_tried)
            .then_with(|| a.goal.cmp(&b.goal))
    });
    hot_goals.truncate(10);
    let mut failing_tactics: Vec<FailingTactic> = tactics
        .into_iter()
        .filter(|(_, (failures, _, _))| *failures > 0)
        .map(|(tactic, (failures, tries, error))| FailingTactic {
            tactic: tactic.to_owned(),
            failures,
            tries,
            example_error: error.map(|e| first_line(e, 160)),
        })
        .collect();
    failing_tactics.sort_by(|a, b| {
        b.failures
            .cmp(&a.failures)
            .then_with(|| a.tactic.cmp(&b.tactic))
    });
    failing_tactics.truncate(10);
    Forensics {
        failed_theorems: failed.len() as u32,
        traced,
        hot_goals,
        failing_tactics,
    }
}

/// The manifest's pins and settings, flattened to `section.key → value`.
pub fn pins(manifest: &RunManifest) -> BTreeMap<String, String> {
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut pins = BTreeMap::new();
    pins.insert("kind".to_owned(), manifest.kind.clone());
    for (k, v) in &manifest.prover {
        pins.insert(format!("prover.{k}"), v.clone());
    }
    for (k, v) in &manifest.config {
        pins.insert(format!("config.{k}"), show(v));
    }
    for (k, v) in &manifest.recorded {
        pins.insert(format!("recorded.{k}"), show(v));
    }
    pins.insert("input.sha1".to_owned(), manifest.input.sha1.clone());
    pins
}

fn run_figures(run: &Run) -> RunFigures {
    let by_name = attempts_by_name(run);
    let count = |s| {
        by_name
            .values()
            .filter(|attempts| best_status(attempts) == s)
            .count() as u32
    };
    let theorems = by_name.len() as u32;
    let proved = count(ProveStatus::Proved);
    let mut curves = BTreeMap::new();
    curves.insert(
        "expansions".to_owned(),
        curve(&by_name, |r| f64::from(r.search_cost().expansions)),
    );
    curves.insert(
        "lean_calls".to_owned(),
        curve(&by_name, |r| f64::from(r.search_cost().lean_calls)),
    );
    curves.insert(
        "seconds".to_owned(),
        curve(&by_name, |r| r.search_cost().seconds),
    );
    let mut histograms = BTreeMap::new();
    let seconds: Vec<f64> = run
        .results
        .iter()
        .map(|r| r.search_cost().seconds)
        .collect();
    let expansions: Vec<f64> = run
        .results
        .iter()
        .map(|r| f64::from(r.search_cost().expansions))
        .collect();
    histograms.insert(
        "seconds".to_owned(),
        histogram(&seconds, &SECOND_EDGES, "s"),
    );
    histograms.insert(
        "expansions".to_owned(),
        histogram(&expansions, &EXPANSION_EDGES, ""),
    );
    histograms.insert(
        "stop_reasons".to_owned(),
        categories(run.results.iter().map(|r| {
            r.stop_reason
                .as_ref()
                .map(StopCode::to_string)
                .unwrap_or_else(|| status_word(r.status).to_owned())
        })),
    );
    let mut lengths: BTreeMap<u32, u32> = BTreeMap::new();
    for proof in run.results.iter().filter_map(|r| r.proof.as_deref()) {
        *lengths.entry(proof_length(proof)).or_default() += 1;
    }
    histograms.insert(
        "proof_lengths".to_owned(),
        lengths
            .into_iter()
            .map(|(length, count)| Bin {
                label: length.to_string(),
                count,
            })
            .collect(),
    );
    RunFigures {
        label: run.label.clone(),
        theorems,
        attempts: run.results.len() as u32,
        attempts_per_theorem: AttemptCounts {
            fewest: by_name.values().map(|a| a.len() as u32).min().unwrap_or(0),
            most: by_name.values().map(|a| a.len() as u32).max().unwrap_or(0),
        },
        first_attempts: run.first_attempts,
        attempts_left_out: run.attempts_left_out,
        from_cache: run.results.iter().filter(|r| r.from_cache).count() as u32,
        proved,
        failed: count(ProveStatus::Failed),
        error: count(ProveStatus::Error),
        pass_rate: round(f64::from(proved) / f64::from(theorems.max(1)), 6),
        pass_at_k: pass_at_k(&by_name),
        totals: budget_of(&run.results, 1.0),
        per_theorem: budget_of(&run.results, run.results.len().max(1) as f64),
        curves,
        histograms,
        table: table(run, &by_name),
        forensics: forensics(run, &by_name),
        pins: run.manifest.as_ref().map(pins).unwrap_or_default(),
        plan: plan_totals(&run.results),
    }
}

fn proved_names(run: &Run) -> BTreeSet<&str> {
    run.results
        .iter()
        .filter(|r| r.status == ProveStatus::Proved)
        .map(|r| r.name.as_str())
        .collect()
}

fn diff(base: &Run, other: &Run) -> RunDiff {
    let (a, b) = (proved_names(base), proved_names(other));
    let names =
        |run: &Run| -> BTreeSet<String> { run.results.iter().map(|r| r.name.clone()).collect() };
    let (in_a, in_b) = (names(base), names(other));
    let settings = match (&base.manifest, &other.manifest) {
        (Some(x), Some(y)) => x.config_differences(y),
        (None, None) => Vec::new(),
        _ => vec!["(only one of the two runs has a manifest)".to_owned()],
    };
    RunDiff {
        base: base.label.clone(),
        other: other.label.clone(),
        regressions: a
            .difference(&b)
            .filter(|n| in_b.contains(**n))
            .map(|n| (*n).to_owned())
            .collect(),
        newly_solved: b
            .difference(&a)
            .filter(|n| in_a.contains(**n))
            .map(|n| (*n).to_owned())
            .collect(),
        only_in_one: in_a.symmetric_difference(&in_b).cloned().collect(),
        settings,
    }
}

fn leaderboard_row(run: &Run, figures: &RunFigures) -> LeaderboardRow {
    let k = figures.pass_at_k.last().map_or(1, |p| p.k);
    let config = run.manifest.as_ref().map(|m| &m.config);
    let setting = |key: &str| {
        config
            .and_then(|c| c.get(key))
            .filter(|v| !v.is_null())
            .map(|v| v.to_string().trim_matches('"').to_owned())
    };
    let mut limits = Vec::new();
    for (key, word) in [
        ("max_expansions", "expansions"),
        ("max_env_calls", "Lean calls"),
        ("max_time_ms", "ms"),
        ("width", "wide"),
    ] {
        if let Some(value) = setting(key) {
            limits.push(format!("{value} {word}"));
        }
    }
    let mut note = format!(
        "pass@{k}; {} of {} theorems; {} expansions and {} Lean calls in all",
        figures.proved, figures.theorems, figures.totals.expansions, figures.totals.lean_calls
    );
    if figures.from_cache > 0 {
        note += &format!(
            "; {} verdicts reused from the cache (reuse_verdicts {})",
            figures.from_cache,
            setting("reuse_verdicts").unwrap_or_else(|| "unrecorded".to_owned())
        );
    }
    if let Some(policy) = setting("policy") {
        note += &format!("; policy {policy}");
    }
    if !limits.is_empty() {
        note += &format!("; limits {}", limits.join(", "));
    }
    LeaderboardRow {
        num_solved: [("lean".to_owned(), figures.proved)].into_iter().collect(),
        size: figures.theorems,
        compute_budget: format!("pass@{k}"),
        note,
        solved: proved_names(run).into_iter().map(str::to_owned).collect(),
        lineage: None,
        toolchain: None,
        flagged: Vec::new(),
        flagged_counted: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, status: ProveStatus, expansions: u32) -> ProveResult {
        let mut r: ProveResult = serde_json::from_value(serde_json::json!({
            "name": name, "status": status, "expansions": expansions, "lean_calls": 3,
            "candidates_rejected": 0, "seconds": 0.0,
        }))
        .unwrap();
        r.seconds = f64::from(expansions) / 10.0;
        if status == ProveStatus::Proved {
            r.proof = Some("\n  intro h\n  simp at h\n    <;> omega".into());
        } else {
            r.stop_reason = Some(StopCode::Exhausted);
        }
        r
    }

    #[test]
    fn pass_at_k_is_the_unbiased_estimator() {
        // Two attempts of a, one proving: pass@1 = 1/2, pass@2 = 1; b never: 0.
        let run = Run {
            label: "r".into(),
            results: vec![
                result("a", ProveStatus::Proved, 1),
                result("a", ProveStatus::Failed, 2),
                result("b", ProveStatus::Failed, 2),
                result("b", ProveStatus::Failed, 2),
            ],
            ..Run::default()
        };
        let f = figures(std::slice::from_ref(&run));
        assert_eq!(
            f.runs[0].pass_at_k,
            [PassAtK { k: 1, value: 0.25 }, PassAtK { k: 2, value: 0.5 }]
        );
        assert_eq!((f.runs[0].theorems, f.runs[0].proved), (2, 1));
        assert_eq!(f.leaderboard["r"].solved, ["a"]);
    }

    #[test]
    fn pass_at_k_from_k_attempts_is_the_share_some_attempt_proved() {
        let results = vec![
            result("a", ProveStatus::Failed, 1),
            result("a", ProveStatus::Proved, 1),
            result("b", ProveStatus::Failed, 1),
            result("b", ProveStatus::Failed, 1),
        ];
        assert_eq!(pass_at(&results, 2), Some(PassAtK { k: 2, value: 0.5 }));
        assert_eq!(pass_at(&results, 1), Some(PassAtK { k: 1, value: 0.25 }));
        assert_eq!(pass_at(&results, 3), None, "no theorem has 3 attempts");
        assert_eq!(pass_at(&results[..3], 2), None, "a has 2, b only 1");
    }

    #[test]
    fn a_cached_verdict_counts_the_search_that_found_it() {
        let mut cached = result("a", ProveStatus::Proved, 0);
        cached.from_cache = true;
        cached.lean_calls = 1;
        cached.original_search = Some(datasets::SearchCost {
            expansions: 40,
            lean_calls: 57,
            seconds: 3.5,
        });
        let run = Run {
            label: "r".into(),
            results: vec![cached, result("b", ProveStatus::Proved, 5)],
            ..Run::default()
        };
        let f = &figures(&[run]).runs[0];
        assert_eq!(f.from_cache, 1);
        assert_eq!(f.curves["expansions"], [(5.0, 1), (40.0, 2)]);
        assert_eq!(f.curves["lean_calls"], [(3.0, 1), (57.0, 2)]);
        let row = &f.table[0];
        assert_eq!(
            (row.from_cache, row.expansions, row.lean_calls, row.seconds),
            (true, 40, 57, 3.5)
        );
        assert_eq!(f.totals.lean_calls, 4.0, "what the run itself spent");
    }

    #[test]
    fn proof_lengths_count_tactics_not_lines() {
        assert_eq!(proof_length("\n  intro h\n  simp at h\n    <;> omega"), 2);
        assert_eq!(proof_length(" norm_num; simp"), 2);
        assert_eq!(proof_length(""), 0);
    }

    #[test]
    fn curves_step_through_the_budget_each_proof_needed() {
        let run = Run {
            label: "r".into(),
            results: vec![
                result("a", ProveStatus::Proved, 5),
                result("b", ProveStatus::Proved, 2),
                result("c", ProveStatus::Failed, 9),
            ],
            ..Run::default()
        };
        let f = figures(&[run]);
        assert_eq!(f.runs[0].curves["expansions"], [(2.0, 1), (5.0, 2)]);
        let bins = &f.runs[0].histograms["expansions"];
        assert_eq!(bins.iter().map(|b| b.count).sum::<u32>(), 3);
    }

    #[test]
    fn diffs_name_regressions_and_new_proofs() {
        let base = Run {
            label: "base".into(),
            results: vec![
                result("a", ProveStatus::Proved, 1),
                result("b", ProveStatus::Failed, 1),
            ],
            ..Run::default()
        };
        let other = Run {
            label: "new".into(),
            results: vec![
                result("a", ProveStatus::Failed, 1),
                result("b", ProveStatus::Proved, 1),
                result("c", ProveStatus::Proved, 1),
            ],
            ..Run::default()
        };
        let d = &figures(&[base, other]).diffs[0];
        assert_eq!(d.regressions, ["a"]);
        assert_eq!(d.newly_solved, ["b"]);
        assert_eq!(d.only_in_one, ["c"]);
    }

    #[test]
    fn plan_totals_sum_the_planned_rows_and_are_absent_without_any() {
        let plain = vec![result("a", ProveStatus::Proved, 3)];
        assert_eq!(plan_totals(&plain), None);
        let planned = |name: &str, outcome: PlanOutcome, holes: u32| {
            let mut r = result(name, ProveStatus::Proved, 3);
            r.plan = Some(Box::new(PlanSummary {
                outcome,
                planner_calls: 2,
                replans: 1,
                planner_tokens: PlannerTokens {
                    prompt: 100,
                    completion: 30,
                },
                skeletons: 3,
                skeletons_refused: 1,
                holes,
                holes_closed: holes,
                holes_from_cache: 1,
                holes_refuted: 0,
                lean_seconds: PlanSeconds {
                    direct_search: 0.5,
                    skeleton_checks: 0.25,
                    hole_searches: 1.0,
                    final_checks: 0.0001,
                },
            }));
            r
        };
        let results = vec![
            planned("b", PlanOutcome::Plan, 2),
            planned("c", PlanOutcome::Direct, 0),
            result("d", ProveStatus::Failed, 5),
        ];
        let totals = plan_totals(&results).unwrap();
        assert_eq!(totals.planned, 2);
        assert_eq!((totals.proved_by_plan, totals.proved_directly), (1, 1));
        assert_eq!((totals.planner_calls, totals.replans), (4, 2));
        assert_eq!(
            totals.planner_tokens,
            PlannerTokens {
                prompt: 200,
                completion: 60
            }
        );
        assert_eq!((totals.skeletons, totals.skeletons_refused), (6, 2));
        assert_eq!((totals.holes, totals.holes_closed), (2, 2));
        assert_eq!(totals.holes_from_cache, 2);
        assert_eq!(totals.lean_seconds.hole_searches, 2.0);
        assert_eq!(totals.lean_seconds.final_checks, 0.0);
        let run = Run {
            label: "r".into(),
            results,
            ..Run::default()
        };
        let run_figs = run_figures(&run);
        assert_eq!(run_figs.plan, Some(totals));
        let b = run_figs.table.iter().find(|row| row.name == "b").unwrap();
        assert_eq!(b.plan.as_ref().map(|p| p.holes), Some(2));
        assert!(
            run_figs
                .table
                .iter()
                .find(|row| row.name == "d")
                .unwrap()
                .plan
                .is_none()
        );
        let html = crate::html::report(&figures(&[run]));
        assert!(html.contains("<h2>Planner</h2>"), "{html}");
        assert!(html.contains("<th>planner tokens</th>"), "{html}");
        assert!(html.contains(">260 (200 + 60)</td>"), "{html}");
        assert!(html.contains(">130 (100 + 30)</td>"), "{html}");
        let plain_html = crate::html::report(&figures(&[Run {
            label: "p".into(),
            results: plain,
            ..Run::default()
        }]));
        assert!(!plain_html.contains("Planner"));
    }
}
