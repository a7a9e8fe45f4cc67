//! The planner: a direct search first, then skeletons of `have … := by sorry` lines from a [`Planner`], each hole closed by the step search in place, the proofs spliced back and the whole theorem checked by `prover check`'s rules.
//!
//! One theorem goes through [`prove`]:
//!
//! 1. **Direct search** with [`PlanConfig::direct_share`] of the budget; a proof ends it.
//! 2. **Skeletons**: the planner is asked for [`PlanConfig::samples`] skeletons. Each is read
//!    ([`skeleton::parse`]: the ```lean block, the statement equal to the theorem's after
//!    whitespace runs are collapsed, a `by` proof), screened by the guard (its `sorry`s
//!    aside), and sent to Lean as one command on the header's environment: an error refuses
//!    it (with Lean's message); every `sorry` becomes a hole, the goal Lean reports at it; a
//!    skeleton whose one hole is the theorem's own goal made no progress and is refused.
//! 3. **Holes** are proved in place (`Goal::Sorry`, the editor's machinery: the search starts
//!    from the proof state Lean reports at the sorry, and a proof is rechecked in the
//!    skeleton) in parallel through [`batch::run`]; a hole whose search is exhausted with no
//!    infrastructure error is refuted, and its siblings are cancelled.
//! 4. **Assembly**: each hole's proof goes in its sorry's place as the editor places it, and
//!    the whole proof is checked as `prover check` checks one (screening, statement,
//!    elaboration, no sorry, axioms). Only then is the theorem proved, and the reported proof
//!    is exactly the checked text.
//! 5. **Replans** ([`PlanConfig::replans`]): when no skeleton of a round closed, the next
//!    request carries the best skeleton with, per hole, its goal, whether it closed (and how)
//!    and why its search stopped; for an open hole also the 1–3 most promising goals its
//!    search took from its frontier and the last 1–3 errors Lean gave to its tactics (read
//!    from the search's events by an observer on its job; a verdict taken from the cache
//!    ran no search and carries none).
//! 6. **Fallback**: what budget planning left goes to the direct search once more, from the
//!    start, unless its tree was exhausted.
//!
//! **Budget.** Budgets are fractions of the prover's own limits (expansions, Lean calls,
//! time; each scaled, at least one expansion and call). The direct search gets
//! `direct_share`; each skeleton then gets the budget left divided by the skeletons left in
//! its round, split evenly between its holes; what a skeleton does not spend (a refused
//! skeleton spends nothing, a refuted hole stops early and cancels its siblings) stays for
//! the next one and for replans. So a planned theorem never spends more than the budget of an
//! unplanned one. With no limit at all, every search is unlimited, as without the planner.
//!
//! **Reuse.** Within one theorem's plan, a hole whose goal (hypotheses and target, whitespace
//! runs aside) an earlier skeleton closed takes that proof without a search (the final check
//! rechecks it in place), and one an earlier skeleton refuted is refuted again unless it now
//! has a larger budget: so a replan that keeps closed holes verbatim spends nothing on them.
//! Across runs, hole searches use the proof-state cache as any search does (a hole is keyed
//! by its skeleton and position), so rerunning the same skeleton finds its closed holes there.

pub mod openai;
mod planning;
pub mod skeleton;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::datasets::plan::{
    HoleRecord, HoleSearch, PLAN_SCHEMA_VERSION, PlanOutcome, PlanRecord, PlanSeconds, PlanSummary,
    PlannerTokens, SkeletonLabel, SkeletonRecord,
};
use lean_bridge::pool::CommandReply;
use lean_bridge::protocol::Pos;

pub use planning::{PlannerRun, Planning};

use super::{Stop, batch};
use crate::check::{HeaderOrigin, ProofTask, Status};
use crate::engine::{ProveConfig, ProveResult, ProveStatus, StopCode, Theorem};
use crate::goal::{self, HoleKey};
use crate::job::{Goal, Job, JobEnd, JobEvent, JobResult, NoObserver, Observer};
use crate::search::{CancelToken, EdgeOutcome, SearchEvent};
use crate::session::Prover;
use crate::text::{Placement, SorryGoal};

pub use openai::{DEFAULT_SYSTEM_PROMPT, OpenAiPlanner, PlannerSettings};
pub use skeleton::{Refusal, Skeleton};

/// What the planner is asked: a theorem, and after a round that closed nothing, what became of
/// the best skeleton.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    /// The theorem to plan.
    pub theorem: Theorem,
    /// What the last round's best skeleton came to; `None` on the first request.
    pub feedback: Option<Feedback>,
}

/// What a skeleton came to, for a replan.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// The skeleton as proposed.
    pub skeleton: String,
    /// Why it was refused, or why it did not close, in words.
    pub reason: Option<String>,
    /// Its holes, in the REPL's order.
    pub holes: Vec<HoleFeedback>,
}

/// One hole of a skeleton, for a replan.
#[derive(Debug, Clone, PartialEq)]
pub struct HoleFeedback {
    /// The goal Lean reported at its sorry.
    pub goal: String,
    /// Its proof, when it closed: the planner should keep it verbatim.
    pub proof: Option<String>,
    /// Why its search stopped, when it did not close (absent when it never ran).
    pub stop_reason: Option<StopCode>,
    /// Expansions its search made.
    pub expansions: u32,
    /// When open: the most promising open states its search reached (at most three, best
    /// first).
    pub frontier: Vec<String>,
    /// When open: the last errors Lean gave to its tactics (at most three, oldest first).
    pub errors: Vec<String>,
    /// When open: the search of its goal's negation proved it, so the lemma is false.
    pub negation_proved: bool,
}

/// Why the planner gave no skeletons.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlannerError(pub String);

/// A planner's answers: the raw texts (each should hold a ```lean block), best first.
pub type Proposal<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<String>, PlannerError>> + Send + 'a>>;

/// A planner's answers with the tokens they cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proposed {
    /// The raw texts, best first.
    pub answers: Vec<String>,
    /// Tokens the request cost, as the server reported them (0 when it did not).
    pub tokens: PlannerTokens,
}

/// [`Proposed`], when it comes.
pub type CountedProposal<'a> =
    Pin<Box<dyn Future<Output = Result<Proposed, PlannerError>> + Send + 'a>>;

/// Proposes skeletons for a theorem: an OpenAI-compatible model ([`OpenAiPlanner`]), or a
/// script ([`ScriptedPlanner`]) in tests.
pub trait Planner: Send + Sync {
    /// Up to `samples` answers for `request`, best first.
    fn propose<'a>(&'a self, request: &'a PlanRequest, samples: usize) -> Proposal<'a>;

    /// [`Planner::propose`] with the tokens it cost; a planner that counts none reports 0.
    fn propose_counted<'a>(
        &'a self,
        request: &'a PlanRequest,
        samples: usize,
    ) -> CountedProposal<'a> {
        Box::pin(async move {
            let answers = self.propose(request, samples).await?;
            Ok(Proposed {
                answers,
                tokens: PlannerTokens::default(),
            })
        })
    }
}

/// A planner that answers from a script: per theorem name, the answers to its first request,
/// then to its second, and so on (nothing past the script). It keeps every request, so tests
/// can read what a replan carried.
#[derive(Debug, Default)]
pub struct ScriptedPlanner {
    script: HashMap<String, Vec<Vec<String>>>,
    requests: Mutex<Vec<PlanRequest>>,
}

impl ScriptedPlanner {
    /// An empty script: every request gets no answers.
    pub fn new() -> ScriptedPlanner {
        ScriptedPlanner::default()
    }

    /// This script, with `rounds` as the answers for theorem `name`'s requests in turn.
    pub fn with(mut self, name: &str, rounds: Vec<Vec<String>>) -> ScriptedPlanner {
        self.script.insert(name.to_owned(), rounds);
        self
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<PlanRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Planner for ScriptedPlanner {
    fn propose<'a>(&'a self, request: &'a PlanRequest, samples: usize) -> Proposal<'a> {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let round = requests
            .iter()
            .filter(|r| r.theorem.name == request.theorem.name)
            .count();
        requests.push(request.clone());
        let answers = self
            .script
            .get(&request.theorem.name)
            .and_then(|rounds| rounds.get(round))
            .map(|answers| answers.iter().take(samples).cloned().collect())
            .unwrap_or_default();
        Box::pin(std::future::ready(Ok(answers)))
    }
}

/// How much planning to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanConfig {
    /// Skeletons asked for per request (`--planner-samples`).
    pub samples: usize,
    /// The share of the budget the direct search gets (`--planner-direct-share`), from 0 to 1.
    pub direct_share: f64,
    /// Further requests after a round that closed nothing (`--replans`).
    pub replans: u32,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            samples: 4,
            direct_share: 0.15,
            replans: 3,
        }
    }
}

/// A theorem's result, and the record of its planning.
#[derive(Debug, Clone)]
pub struct Planned {
    /// What `eval` writes: proved only when the final check accepted the reported proof.
    pub result: ProveResult,
    /// What `--plan-log` writes.
    pub record: PlanRecord,
}

/// Which of a plan's searches an observer from a [`PlanTap`] watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSearch {
    /// The direct search of the whole theorem, before any planning.
    Direct,
    /// The direct search run again with the budget planning left.
    Fallback,
    /// A hole's search in place (its root is the goal Lean reports at the hole's `sorry`).
    Hole,
}

/// What a caller sees of each search a plan runs (training data, traces): an observer per
/// search, given before the search starts, which sees its events as any job's observer does.
pub trait PlanTap: Send + Sync {
    /// The observer of one search of kind `search`.
    fn observer(&self, search: PlanSearch) -> Box<dyn Observer>;
}

/// A tap that watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTap;

impl PlanTap for NoTap {
    fn observer(&self, _search: PlanSearch) -> Box<dyn Observer> {
        Box::new(NoObserver)
    }
}

/// The plan's own observer of a search, and the caller's tap.
struct Tapped<A>(A, Box<dyn Observer>);

impl<A: Observer> Observer for Tapped<A> {
    fn on_event(&mut self, event: &JobEvent) {
        self.0.on_event(event);
        self.1.on_event(event);
    }

    fn on_search_event(&mut self, event: &SearchEvent<'_>) {
        self.0.on_search_event(event);
        self.1.on_search_event(event);
    }
}

/// One search of `theorem` with `prover`'s settings, through the one door, watched by `tap`.
async fn search_theorem(
    prover: &Prover,
    theorem: &Theorem,
    tap: &dyn PlanTap,
    search: PlanSearch,
) -> ProveResult {
    let job = Job::Prove(Goal::Theorem(theorem.clone()));
    prover
        .submit(job, Tapped(NoObserver, tap.observer(search)))
        .wait()
        .await
        .prove_result(&theorem.name)
}

/// The hole searches of one skeleton, cancelled together once one is refuted: a search that
/// joins after that is cancelled at once.
#[derive(Default)]
struct Siblings(Mutex<(bool, Vec<CancelToken>)>);

impl Siblings {
    fn join(&self, token: CancelToken) {
        let mut siblings = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if siblings.0 {
            token.cancel();
        } else {
            siblings.1.push(token);
        }
    }

    fn cancel_all(&self) {
        let mut siblings = self.0.lock().unwrap_or_else(|p| p.into_inner());
        siblings.0 = true;
        for token in siblings.1.drain(..) {
            token.cancel();
        }
    }
}

/// Proves `theorem` with `prover`'s budget: a direct search, then skeletons from `planner`
/// (see the module's documentation). Nothing is started after `stop` is set. The result
/// carries what planning did ([`PlanSummary`]).
pub async fn prove(
    prover: &Prover,
    planner: &dyn Planner,
    config: &PlanConfig,
    theorem: Theorem,
    stop: &Stop,
) -> Planned {
    prove_tapped(prover, planner, config, theorem, stop, Arc::new(NoTap)).await
}

/// [`prove`], with `tap` given an observer for each search (the direct search, its fallback
/// and every hole's): how `iterate` and `explore` collect training data from a plan.
pub async fn prove_tapped(
    prover: &Prover,
    planner: &dyn Planner,
    config: &PlanConfig,
    theorem: Theorem,
    stop: &Stop,
    tap: Arc<dyn PlanTap>,
) -> Planned {
    let mut seconds = PlanSeconds::default();
    let mut planned = plan_theorem(prover, planner, config, theorem, stop, &mut seconds, tap).await;
    let mut summary = PlanSummary::of(&planned.record);
    summary.lean_seconds = seconds;
    planned.result.plan = Some(Box::new(summary));
    planned
}

async fn plan_theorem(
    prover: &Prover,
    planner: &dyn Planner,
    config: &PlanConfig,
    theorem: Theorem,
    stop: &Stop,
    seconds: &mut PlanSeconds,
    tap: Arc<dyn PlanTap>,
) -> Planned {
    let started = Instant::now();
    let total = prover.config().clone();
    let direct = search_theorem(
        &prover.with_config(scaled(&total, config.direct_share)),
        &theorem,
        tap.as_ref(),
        PlanSearch::Direct,
    )
    .await;
    seconds.direct_search += direct.lean_seconds;
    let mut record = PlanRecord {
        schema_version: PLAN_SCHEMA_VERSION,
        name: theorem.name.clone(),
        statement: theorem.formal_statement.clone(),
        outcome: PlanOutcome::Unproved,
        direct: search_of(&direct),
        planner_calls: 0,
        planner_tokens: PlannerTokens::default(),
        skeletons: Vec::new(),
        planner_error: None,
        fallback: None,
        proof: None,
    };
    // Proved, or the statement itself is refused: no plan helps.
    if direct.status == ProveStatus::Proved {
        record.outcome = PlanOutcome::Direct;
        record.proof = direct.proof.clone();
        return Planned {
            result: direct,
            record,
        };
    }
    if direct.status == ProveStatus::Error || stop.is_set() {
        return Planned {
            result: direct,
            record,
        };
    }
    let mut run = Run {
        prover,
        total,
        theorem: &theorem,
        stop,
        spent: 0.0,
        reserved: spent_fraction(prover.config(), &direct).max(config.direct_share),
        known: HashMap::new(),
        cost: Cost::of(&direct),
        seconds,
        tap,
    };
    let mut feedback = None;
    for round in 0..=config.replans {
        if run.left() <= 0.0 || stop.is_set() {
            break;
        }
        let request = PlanRequest {
            theorem: theorem.clone(),
            feedback: feedback.take(),
        };
        record.planner_calls += 1;
        let answers = match planner.propose_counted(&request, config.samples).await {
            Ok(proposed) => {
                record.planner_tokens.add(proposed.tokens);
                proposed.answers
            }
            Err(error) => {
                tracing::warn!(theorem = %theorem.name, "the planner failed: {error}");
                record.planner_error = Some(error.to_string());
                break;
            }
        };
        if answers.is_empty() {
            if round == 0 {
                record.planner_error = Some("the planner gave no answer".to_owned());
            }
            break;
        }
        let mut best: Option<(usize, Feedback)> = None;
        for (index, answer) in answers.iter().enumerate() {
            if stop.is_set() {
                break;
            }
            // While replans remain, one share is kept for the next round: a skeleton's holes
            // may spend their whole slot once budget moves from closed holes to open ones.
            let kept = usize::from(round < config.replans);
            let slot = run.left() / (answers.len() - index + kept) as f64;
            let (skeleton, proof) = run.try_skeleton(round, answer, slot).await;
            let closed = skeleton
                .holes
                .iter()
                .filter(|hole| hole.search.proved)
                .count();
            // The skeleton that got furthest: not refused, most holes closed; a refused one
            // only when nothing better came.
            let rank = if skeleton.label == SkeletonLabel::Refused {
                0
            } else {
                1 + closed
            };
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, feedback_of(&skeleton)));
            }
            record.skeletons.push(skeleton);
            if let Some(proof) = proof {
                record.outcome = PlanOutcome::Plan;
                record.proof = Some(proof.clone());
                let mut result = run.result(direct, started);
                result.status = ProveStatus::Proved;
                result.proof = Some(proof);
                return Planned { result, record };
            }
        }
        feedback = best.map(|(_, feedback)| feedback);
    }
    // The budget planning left goes to the direct search again, from the start (Lean's
    // answers for its first part come from the cache), unless its tree was exhausted: so a
    // planner whose skeletons fail cheaply loses nothing the direct search would have proved.
    if !stop.is_set() && run.left() > 0.0 && direct.stop_reason != Some(StopCode::Exhausted) {
        let again = search_theorem(
            &prover.with_config(scaled(&run.total, 1.0 - run.spent)),
            &theorem,
            run.tap.as_ref(),
            PlanSearch::Fallback,
        )
        .await;
        run.cost.add(Cost::of(&again));
        run.seconds.direct_search += again.lean_seconds;
        record.fallback = Some(search_of(&again));
        if again.status == ProveStatus::Proved {
            record.outcome = PlanOutcome::Direct;
            record.proof = again.proof.clone();
            let mut result = run.result(direct, started);
            result.status = ProveStatus::Proved;
            result.proof = again.proof;
            return Planned { result, record };
        }
    }
    let (direct_stop, direct_detail) = (direct.stop_reason.clone(), direct.stop_detail.clone());
    let mut result = run.result(direct, started);
    let tried = record.skeletons.len();
    let refused = record
        .skeletons
        .iter()
        .filter(|s| s.label == SkeletonLabel::Refused)
        .count();
    let detail = format!(
        "direct search: {}; {} planner request(s), {tried} skeleton(s): {refused} refused, {} refuted, {} with holes left open",
        direct_words(&record.direct),
        record.planner_calls,
        count(&record, SkeletonLabel::Refuted),
        count(&record, SkeletonLabel::Partial),
    );
    if let (Some(error), 0) = (&record.planner_error, tried) {
        result.status = ProveStatus::Error;
        result.stop_reason = Some(StopCode::PlannerFailure);
        result.stop_detail = Some(format!("{detail}; the planner failed: {error}"));
    } else if tried == 0 {
        // No budget was left for planning, or the run was stopped: the direct search's verdict.
        result.stop_reason = direct_stop;
        result.stop_detail = direct_detail;
    } else {
        result.status = ProveStatus::Failed;
        result.stop_reason = Some(if refused == tried {
            StopCode::PlanRefused
        } else {
            StopCode::PlanUnclosed
        });
        result.stop_detail = Some(detail);
    }
    Planned { result, record }
}

fn count(record: &PlanRecord, label: SkeletonLabel) -> usize {
    record.skeletons.iter().filter(|s| s.label == label).count()
}

fn direct_words(direct: &HoleSearch) -> String {
    match &direct.stop_reason {
        Some(code) => format!("{code} after {} expansions", direct.expansions),
        None => format!("{} expansions", direct.expansions),
    }
}

/// One theorem's planning in progress: the budget left and the cost so far.
struct Run<'a> {
    prover: &'a Prover,
    total: ProveConfig,
    theorem: &'a Theorem,
    stop: &'a Stop,
    /// The fraction of the budget the skeletons spent so far.
    spent: f64,
    /// The fraction of the budget the direct search had: its share, or what it spent when
    /// that was more (a search overruns by at most one tactic).
    reserved: f64,
    /// What the skeletons tried so far found, by goal.
    known: HashMap<String, Known>,
    cost: Cost,
    /// Seconds waiting for Lean, by what asked.
    seconds: &'a mut PlanSeconds,
    /// The caller's observers of each search.
    tap: Arc<dyn PlanTap>,
}

/// What a theorem's searches and Lean requests cost, summed.
#[derive(Debug, Default, Clone, Copy)]
struct Cost {
    expansions: u32,
    lean_calls: u32,
    policy_calls: u32,
    lean_seconds: f64,
    candidates_rejected: u32,
}

impl Cost {
    fn of(result: &ProveResult) -> Cost {
        Cost {
            expansions: result.expansions,
            lean_calls: result.lean_calls,
            policy_calls: result.policy_calls,
            lean_seconds: result.lean_seconds,
            candidates_rejected: result.candidates_rejected,
        }
    }

    fn add(&mut self, other: Cost) {
        self.expansions += other.expansions;
        self.lean_calls += other.lean_calls;
        self.policy_calls += other.policy_calls;
        self.lean_seconds += other.lean_seconds;
        self.candidates_rejected += other.candidates_rejected;
    }
}

impl Run<'_> {
    /// The share of the budget left for planning.
    fn left(&self) -> f64 {
        (1.0 - self.reserved - self.spent).max(0.0)
    }

    /// The theorem's result so far, from the direct search's with the costs summed.
    fn result(&self, direct: ProveResult, started: Instant) -> ProveResult {
        let mut result = direct;
        result.expansions = self.cost.expansions;
        result.lean_calls = self.cost.lean_calls;
        result.policy_calls = self.cost.policy_calls;
        result.lean_seconds = self.cost.lean_seconds;
        result.candidates_rejected = self.cost.candidates_rejected;
        result.seconds = started.elapsed().as_secs_f64();
        result.from_cache = false;
        result.original_search = None;
        result.stop_reason = None;
        result.stop_detail = None;
        result
    }

    /// One skeleton, read, elaborated, its holes searched within `slot` of the budget and its
    /// assembled proof checked: its record, and the checked proof when it closed.
    async fn try_skeleton(
        &mut self,
        round: u32,
        answer: &str,
        slot: f64,
    ) -> (SkeletonRecord, Option<String>) {
        let mut record = SkeletonRecord {
            round,
            text: skeleton::lean_block(answer).unwrap_or(answer).to_owned(),
            label: SkeletonLabel::Refused,
            reason: None,
            holes: Vec::new(),
        };
        let refuse = |mut record: SkeletonRecord, why: String| {
            tracing::info!(theorem = %self.theorem.name, "skeleton refused: {why}");
            record.reason = Some(why);
            (record, None)
        };
        let skeleton = match skeleton::parse(answer, &self.theorem.formal_statement) {
            Ok(skeleton) => skeleton,
            Err(refusal) => return refuse(record, refusal.to_string()),
        };
        if let Err(refusal) = skeleton.screen(&self.total.check.guard) {
            return refuse(record, refusal.to_string());
        }
        let proposed = skeleton.declaration.clone();
        let (skeleton, holes) = match self.holes_of(skeleton).await {
            Ok(found) => found,
            Err(why) => return refuse(record, why),
        };
        if skeleton.declaration != proposed {
            // What was searched and assembled is the skeleton with a refused line masked.
            record.text = skeleton.declaration.clone();
        }
        let results = self.search_holes(&holes, slot).await;
        let mut proofs = Vec::new();
        let mut refuted = false;
        for ((goal, text), searched) in holes.iter().zip(results) {
            let (result, seen) = searched.unzip();
            let search = result.as_ref().map(search_of).unwrap_or_default();
            if let (Some(proof), true) = (&search.proof, search.proved) {
                proofs.push((goal.sorry.clone(), goal.placement, proof.clone()));
            }
            let mut seen = seen.unwrap_or_default();
            let refutation = seen.refutation.take();
            // What a replan is told of an open hole: where its search got, and why it stuck.
            if search.proved {
                seen = Seen::default();
            }
            let hole = HoleRecord {
                line: goal.at.line,
                column: goal.at.column,
                goal: text.clone(),
                search,
                frontier: seen.frontier,
                errors: seen.errors,
                refutation,
            };
            refuted |= hole.refuted();
            record.holes.push(hole);
        }
        if proofs.len() < holes.len() {
            record.label = if refuted {
                SkeletonLabel::Refuted
            } else {
                SkeletonLabel::Partial
            };
            record.reason = Some(format!(
                "{} of {} holes closed{}",
                proofs.len(),
                holes.len(),
                if refuted {
                    "; a hole was refuted (its negation proved, or its search exhausted), so its lemma was given up"
                } else {
                    ""
                }
            ));
            return (record, None);
        }
        match self.final_check(&skeleton, &proofs).await {
            Ok(proof) => {
                record.label = SkeletonLabel::ClosedAll;
                (record, Some(proof))
            }
            Err(why) => {
                record.label = SkeletonLabel::Partial;
                record.reason = Some(why);
                (record, None)
            }
        }
    }

    /// The skeleton sent to Lean as one command: its holes (each sorry's goal as Lean reports
    /// it), or why it is refused. A line Lean refuses (any error but `unsolved goals`, which
    /// says the closing line does not close) is masked once and the rest sent again; the
    /// skeleton that elaborated comes back with its holes.
    async fn holes_of(
        &mut self,
        skeleton: Skeleton,
    ) -> Result<(Skeleton, Vec<(SorryGoal, String)>), String> {
        let mut skeleton = skeleton;
        let mut masked = false;
        let response = loop {
            let asked = Instant::now();
            let reply = self
                .prover
                .pool()
                .command(
                    &self.theorem.header,
                    &skeleton.declaration,
                    self.total.statement_deadline,
                )
                .await;
            self.seconds.skeleton_checks += asked.elapsed().as_secs_f64();
            self.cost.lean_calls += 1;
            let response = match reply {
                Ok(CommandReply::Ran(response)) => response,
                Ok(CommandReply::HeaderRejected(_)) => {
                    return Err("Lean refused the header".into());
                }
                Err(error) => return Err(format!("Lean failed on the skeleton: {error}")),
            };
            let Some(error) = response.messages.iter().find(|m| m.is_error()) else {
                break response;
            };
            let refusal = || {
                Refusal::Elaboration(format!(
                    "line {}: {}",
                    error.pos.line,
                    error.data.lines().next().unwrap_or_default()
                ))
                .to_string()
            };
            let last = error.end_pos.map_or(error.pos.line, |end| end.line);
            let maskable = !masked && !error.data.starts_with("unsolved goals");
            match skeleton.masked(error.pos.line, last).filter(|_| maskable) {
                Some(without) => {
                    tracing::info!(theorem = %self.theorem.name, "masking a refused line of a skeleton: {}", refusal());
                    skeleton = without;
                    masked = true;
                }
                None => return Err(refusal()),
            }
        };
        let mut holes = Vec::new();
        for goal in skeleton.sorry_goals(&self.theorem.name, &self.theorem.header) {
            let at = Pos::from(goal.at);
            let Some(sorry) = response
                .sorries
                .iter()
                .find(|s| s.pos == Some(at) && s.proof_state.is_some())
            else {
                return Err(format!(
                    "Lean reported no goal for the sorry at line {}, column {}",
                    goal.at.line, goal.at.column
                ));
            };
            holes.push((goal, sorry.goal.clone()));
        }
        if let [(_, only)] = holes.as_slice()
            && self.root_goal().await.as_deref() == Some(only.trim())
        {
            return Err(Refusal::NoProgress.to_string());
        }
        Ok((skeleton, holes))
    }

    /// The theorem's own goal, as Lean reports it at `statement sorry`.
    async fn root_goal(&mut self) -> Option<String> {
        let command = format!("{} sorry", self.theorem.formal_statement);
        let asked = Instant::now();
        let reply = self
            .prover
            .pool()
            .command(
                &self.theorem.header,
                &command,
                self.total.statement_deadline,
            )
            .await;
        self.seconds.skeleton_checks += asked.elapsed().as_secs_f64();
        self.cost.lean_calls += 1;
        match reply {
            Ok(CommandReply::Ran(response)) => response
                .sorries
                .first()
                .map(|sorry| sorry.goal.trim().to_owned()),
            _ => None,
        }
    }

    /// Every hole searched in place through [`batch::run`] within `slot` of the budget,
    /// cheapest first, and what each search saw; a hole never started is `None`.
    ///
    /// - Holes with one [`HoleKey`] (hypothesis names aside) are searched once, and a hole an
    ///   earlier skeleton of this plan closed takes that proof (renamed to this hole's names)
    ///   unsearched; one it refuted is refuted again unless it now has a larger share.
    /// - **First pass**: every hole with a small share ([`PROBE_SHARE`] of an even split),
    ///   and beside it the negation of its goal ([`refutation`], with the same share): cheap
    ///   holes close here, which is the cheapness estimate the second pass orders by.
    /// - **Second pass**: what the skeleton's slot has left, split evenly over the holes still
    ///   open (so the budget closed holes did not need goes to the open ones), each searched
    ///   again from the start (Lean's answers for the first part come from the cache).
    /// - A hole is refuted when the portfolio proves its negation or its search is exhausted
    ///   with no infrastructure error; the skeleton's other searches are then cancelled.
    ///
    /// Within a pass the jobs go to the pool negations first, then by goal size (the
    /// canonical goal's length), as many at a time as the pool has processes.
    async fn search_holes(
        &mut self,
        holes: &[(SorryGoal, String)],
        slot: f64,
    ) -> Vec<Option<(ProveResult, Seen)>> {
        let mut results: Vec<Option<(ProveResult, Seen)>> = vec![None; holes.len()];
        if holes.is_empty() {
            return results;
        }
        let keys: Vec<HoleKey> = holes.iter().map(|(_, goal)| hole_key(goal)).collect();
        // One search per key: the first hole with it stands for the others.
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let representatives: Vec<usize> = (0..holes.len())
            .filter(|&index| *first_of.entry(&keys[index].text).or_insert(index) == index)
            .collect();
        let even = slot / representatives.len() as f64;
        let mut open = Vec::new();
        let mut refuted = false;
        for &index in &representatives {
            match self.known.get(&keys[index].text) {
                Some(Known::Closed { key, result }) => {
                    results[index] = Some((carried(result, key, &keys[index]), Seen::default()));
                }
                Some(Known::Refuted {
                    share,
                    result,
                    seen,
                }) if *share >= even => {
                    results[index] = Some((reused(result), seen.clone()));
                    refuted = true;
                }
                _ => open.push(index),
            }
        }
        // Cheapest first by the goal's size, ties in the REPL's order.
        open.sort_by_key(|&index| (keys[index].text.len(), index));
        let mut left = slot;
        let mut shares: HashMap<usize, f64> = HashMap::new();
        let mut first_pass = true;
        while !refuted && !open.is_empty() && !self.stop.is_set() {
            let share = if first_pass && open.len() > 1 {
                even * PROBE_SHARE
            } else {
                left / open.len() as f64
            };
            // A pass that gives no hole more than it had would find nothing new.
            if !first_pass && open.iter().all(|index| shares[index] >= share) {
                break;
            }
            let negations = if first_pass {
                open.iter()
                    .filter_map(|&index| Some((index, refutation(self.theorem, &holes[index].1)?)))
                    .collect()
            } else {
                Vec::new()
            };
            let searched = self
                .search_pass(holes, &open, share, negations, even * PROBE_SHARE)
                .await;
            for (index, mut result, mut seen, negation) in searched {
                left -= spent_fraction(&self.total, &result);
                if let Some(negation) = &negation {
                    left -= spent_fraction(&self.total, negation);
                    seen.refutation = Some(search_of(negation));
                }
                // A second pass restarts the hole's search: what the hole cost, as the plan
                // record shows it, is both passes, and the first pass's negation stays on it.
                if let Some((earlier, earlier_seen)) = &results[index] {
                    result.expansions += earlier.expansions;
                    result.lean_calls += earlier.lean_calls;
                    if seen.refutation.is_none() {
                        seen.refutation = earlier_seen.refutation.clone();
                    }
                }
                shares.insert(index, share);
                results[index] = Some((result, seen));
            }
            open.retain(|&index| {
                let closed = results[index]
                    .as_ref()
                    .is_some_and(|(r, _)| r.status == ProveStatus::Proved);
                let stuck = results[index].as_ref().is_none_or(|(r, seen)| {
                    r.status == ProveStatus::Error || hole_refuted(r, seen)
                });
                !closed && !stuck
            });
            refuted = representatives.iter().any(|&index| {
                results[index]
                    .as_ref()
                    .is_some_and(|(r, seen)| hole_refuted(r, seen))
            });
            first_pass = false;
            left = left.max(0.0);
        }
        for (&index, &share) in &shares {
            let Some((result, seen)) = &results[index] else {
                continue;
            };
            if result.status == ProveStatus::Proved {
                let known = Known::Closed {
                    key: keys[index].clone(),
                    result: result.clone(),
                };
                self.known.insert(keys[index].text.clone(), known);
            } else if hole_refuted(result, seen) {
                // A proved negation refutes the lemma under any budget; an exhausted search
                // only under its own.
                let negated = seen.refutation.as_ref().is_some_and(|r| r.proved);
                let known = Known::Refuted {
                    share: if negated { f64::INFINITY } else { share },
                    result: result.clone(),
                    seen: seen.clone(),
                };
                self.known.insert(keys[index].text.clone(), known);
            }
        }
        // A hole with another's key takes its representative's verdict.
        for index in 0..holes.len() {
            let first = first_of[keys[index].text.as_str()];
            if first != index
                && let Some((result, seen)) = results[first].clone()
            {
                let result = if result.status == ProveStatus::Proved {
                    carried(&result, &keys[first], &keys[index])
                } else {
                    reused(&result)
                };
                results[index] = Some((result, seen));
            }
        }
        results
    }

    /// One pass: the holes `open` searched with `share` of the budget each, and `negations`
    /// (a hole's index and the theorem stating its goal's negation) with `negation_share`, all
    /// through [`batch::run`]; a refuted hole cancels the rest. Each hole that ran comes back
    /// with what its search saw and its negation's search, if that ran.
    async fn search_pass(
        &mut self,
        holes: &[(SorryGoal, String)],
        open: &[usize],
        share: f64,
        negations: Vec<(usize, Theorem)>,
        negation_share: f64,
    ) -> Vec<(usize, ProveResult, Seen, Option<ProveResult>)> {
        let searcher = self.prover.with_config(scaled(&self.total, share));
        let refuter = self.prover.with_config(scaled(&self.total, negation_share));
        let cancel = Arc::new(Siblings::default());
        let jobs: Vec<HoleJob> = negations
            .into_iter()
            .map(|(index, theorem)| HoleJob::Negation(index, theorem))
            .chain(
                open.iter()
                    .map(|&index| HoleJob::Hole(index, holes[index].0.clone())),
            )
            .collect();
        let concurrency = self.prover.pool().config().workers.max(1);
        let (token, tap) = (cancel.clone(), self.tap.clone());
        // By hole: its own search (with what it saw) and its negation's, as they end.
        let mut searched: HashMap<usize, PassEnd> = HashMap::new();
        let outcome = batch::run(
            jobs,
            concurrency,
            self.stop,
            None,
            move |job: HoleJob| {
                let (searcher, refuter) = (searcher.clone(), refuter.clone());
                let token = token.clone();
                // Only a hole's own search feeds the tap: a negation's steps prove another goal.
                let tapped: Box<dyn Observer> = match &job {
                    HoleJob::Hole(..) => tap.observer(PlanSearch::Hole),
                    HoleJob::Negation(..) => Box::new(NoObserver),
                };
                async move {
                    match job {
                        HoleJob::Hole(index, goal) => {
                            let name = goal.name.clone();
                            let watch = HoleWatch::default();
                            let observer = Tapped(watch.clone(), tapped);
                            let handle = searcher.submit(Job::Prove(Goal::Sorry(goal)), observer);
                            token.join(handle.cancel_token());
                            let result = handle.wait().await.prove_result(&name);
                            (index, false, result, watch.seen())
                        }
                        HoleJob::Negation(index, theorem) => {
                            let handle = refuter
                                .submit(Job::Prove(Goal::Theorem(theorem.clone())), NoObserver);
                            token.join(handle.cancel_token());
                            let result = handle.wait().await.prove_result(&theorem.name);
                            (index, true, result, Seen::default())
                        }
                    }
                }
            },
            |(index, negation, result, seen): (usize, bool, ProveResult, Seen)| {
                let proved = result.status == ProveStatus::Proved;
                if (negation && proved) || (!negation && is_refuted(Some(&result))) {
                    cancel.cancel_all();
                }
                let entry = searched.entry(index).or_default();
                if negation {
                    entry.1 = Some(result);
                } else {
                    entry.0 = Some((result, seen));
                }
                Ok::<(), std::convert::Infallible>(())
            },
        )
        .await;
        let _ = outcome;
        let mut out = Vec::new();
        for (index, (hole, negation)) in searched {
            for result in negation.iter().chain(hole.iter().map(|(r, _)| r)) {
                self.spent += spent_fraction(&self.total, result);
                self.cost.add(Cost::of(result));
                self.seconds.hole_searches += result.lean_seconds;
            }
            match hole {
                Some((result, seen)) => out.push((index, result, seen, negation)),
                // The negation was proved before the hole's own search started: the hole is
                // refuted without one.
                None => {
                    if let Some(negation) = negation.filter(|n| n.status == ProveStatus::Proved) {
                        let mut result = ProveResult::unsearched(
                            &holes[index].0.name,
                            ProveStatus::Failed,
                            0,
                            Instant::now(),
                        );
                        result.stop_reason = Some(StopCode::Cancelled);
                        result.stop_detail = Some("its negation was proved".to_owned());
                        out.push((index, result, Seen::default(), Some(negation)));
                    }
                }
            }
        }
        out.sort_by_key(|(index, ..)| *index);
        out
    }

    /// The skeleton with every hole's proof in place, checked by `prover check`'s rules:
    /// the proof (the text after `:= by`) exactly as checked, or why it failed.
    async fn final_check(
        &mut self,
        skeleton: &Skeleton,
        proofs: &[(Range<usize>, Placement, String)],
    ) -> Result<String, String> {
        let whole = skeleton.assembled(proofs);
        let proof = whole[skeleton.proof_start..].to_owned();
        let task = ProofTask {
            line: 0,
            name: self.theorem.name.clone(),
            header: self.theorem.header.clone(),
            formal_statement: self.theorem.formal_statement.clone(),
            proof: proof.clone(),
            // The theorem comes from the dataset being proved, as trusted as its statement.
            header_origin: HeaderOrigin::Reference,
        };
        let asked = Instant::now();
        let end = self
            .prover
            .submit(Job::Check(task), NoObserver)
            .wait()
            .await;
        self.seconds.final_checks += asked.elapsed().as_secs_f64();
        match end {
            JobEnd::Finished(JobResult::Check(checked)) => {
                self.cost.lean_calls += checked.attempts.max(1);
                if checked.status == Status::Valid {
                    Ok(proof)
                } else {
                    Err(format!(
                        "the assembled proof failed the final check: {}",
                        checked.reasons.join("; ")
                    ))
                }
            }
            other => Err(format!("the final check did not run: {other:?}")),
        }
    }
}

/// What an earlier skeleton of the same plan found for a goal.
enum Known {
    /// A proof (checked in that skeleton), for the hole with that key (its names).
    Closed { key: HoleKey, result: ProveResult },
    /// Refuted under this share of the budget (any, when its negation was proved); what its
    /// search saw.
    Refuted {
        share: f64,
        result: ProveResult,
        seen: Seen,
    },
}

/// How many open states and Lean errors of a hole's search a replan is told.
const SEEN_KEPT: usize = 3;

/// How much of one Lean error a replan is told.
const ERROR_CHARS: usize = 200;

/// What a hole's search saw that a replan can use: the most promising open states it took
/// from the frontier (highest priority first, the hole's own goal aside) and the last errors
/// Lean gave to its tactics (oldest first).
#[derive(Debug, Clone, Default, PartialEq)]
struct Seen {
    frontier: Vec<String>,
    errors: Vec<String>,
    /// The search of the hole's negation, when one ran.
    refutation: Option<HoleSearch>,
}

/// A hole search's observer, gathering its [`Seen`] from the search's events.
#[derive(Clone, Default)]
struct HoleWatch(Arc<Mutex<Watched>>);

#[derive(Default)]
struct Watched {
    best: Vec<(f64, String)>,
    errors: VecDeque<String>,
}

impl HoleWatch {
    fn seen(&self) -> Seen {
        let watched = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Seen {
            frontier: watched
                .best
                .iter()
                .map(|(_, state)| state.clone())
                .collect(),
            errors: watched.errors.iter().cloned().collect(),
            refutation: None,
        }
    }
}

impl Watched {
    /// An open state taken from the frontier: kept when it is among the best few (ties by
    /// text, so the same search keeps the same states).
    fn offer(&mut self, priority: f64, state: &str) {
        if let Some(known) = self.best.iter_mut().find(|(_, s)| s == state) {
            known.0 = known.0.max(priority);
        } else {
            self.best.push((priority, state.to_owned()));
        }
        self.best
            .sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        self.best.truncate(SEEN_KEPT);
    }

    /// An error Lean gave to `tactic`: the last few are kept, a repeat of the last once.
    /// Each is its message's first line (after the REPL's `Lean error:` line), cut to
    /// [`ERROR_CHARS`] characters.
    fn refused(&mut self, tactic: &str, message: &str) {
        let message = message.trim_start();
        let body = message.strip_prefix("Lean error:").unwrap_or(message);
        let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let mut first: String = first.trim().chars().take(ERROR_CHARS).collect();
        if first.chars().count() == ERROR_CHARS {
            first.push('…');
        }
        let error = format!("{tactic}: {first}");
        if self.errors.back() == Some(&error) {
            return;
        }
        self.errors.push_back(error);
        if self.errors.len() > SEEN_KEPT {
            self.errors.pop_front();
        }
    }
}

impl Observer for HoleWatch {
    fn on_event(&mut self, _event: &JobEvent) {}

    fn on_search_event(&mut self, event: &SearchEvent<'_>) {
        let mut watched = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            SearchEvent::Selected {
                state,
                depth,
                priority,
                ..
            } if *depth > 0 => watched.offer(*priority, state),
            SearchEvent::Edge(edge) => {
                if let EdgeOutcome::Rejected(message) = edge.outcome {
                    watched.refused(edge.tactic, message);
                }
            }
            _ => {}
        }
    }
}

/// Holes are the same when their goals (hypotheses and target) are, whitespace runs and
/// hypothesis names aside ([`HoleKey`]); a text that is not one goal is its own key.
fn hole_key(goal: &str) -> HoleKey {
    HoleKey::of(goal).unwrap_or_else(|| HoleKey::opaque(goal))
}

/// The share of an even split the first pass gives each hole (and each hole's negation).
const PROBE_SHARE: f64 = 0.25;

/// The name the negation of a hole is stated under: a theorem of its own, whose statement
/// (and so whose cache entries) any hole with the same goal shares.
const REFUTATION_NAME: &str = "prover_hole_refutation";

/// The theorem stating that the hole's goal is false, with its hypotheses as binders:
/// `theorem prover_hole_refutation (x : ℕ) (h : P x) : ¬(T) := by` for a hole `x : ℕ, h : P x
/// ⊢ T`. `None` when the goal cannot be stated as a theorem (an inaccessible name, an elided
/// term, a `let`; see [`goal::statement_from_goal`]).
fn refutation(theorem: &Theorem, goal_text: &str) -> Option<Theorem> {
    let mut goals = goal::parse_goals(goal_text);
    let [goal] = goals.as_mut_slice() else {
        return None;
    };
    goal.case = None;
    goal.target = format!("¬({})", goal.target);
    let statement = goal::statement_from_goal(REFUTATION_NAME, &goal.to_string()).ok()?;
    Some(Theorem {
        name: format!("{}: a hole's negation", theorem.name),
        header: theorem.header.clone(),
        formal_statement: format!("{statement} := by"),
    })
}

/// Whether a hole is refuted: its negation was proved, or its search was exhausted with no
/// infrastructure error.
fn hole_refuted(result: &ProveResult, seen: &Seen) -> bool {
    is_refuted(Some(result)) || seen.refutation.as_ref().is_some_and(|r| r.proved)
}

/// What a pass got for one hole: its own search with what it saw, and its negation's search.
type PassEnd = (Option<(ProveResult, Seen)>, Option<ProveResult>);

/// A job of a pass over a skeleton's holes, by the hole's index.
enum HoleJob {
    /// The hole's own search, in place.
    Hole(usize, SorryGoal),
    /// The search of its negation.
    Negation(usize, Theorem),
}

/// A proof found for the hole `from`, given to the hole `to` with the same key: its text
/// with `to`'s hypothesis names, reused as [`reused`] says (the final check rechecks it).
fn carried(result: &ProveResult, from: &HoleKey, to: &HoleKey) -> ProveResult {
    let mut result = reused(result);
    result.proof = result
        .proof
        .map(|proof| to.from_canonical(&from.to_canonical(&proof)));
    result
}

/// An earlier hole's result, reused: it cost nothing now.
fn reused(result: &ProveResult) -> ProveResult {
    let mut result = result.clone();
    result.from_cache = true;
    result.expansions = 0;
    result.lean_calls = 0;
    result.policy_calls = 0;
    result.lean_seconds = 0.0;
    result.seconds = 0.0;
    result
}

/// A hole's search was exhausted with no infrastructure error: its lemma is given up.
fn is_refuted(result: Option<&ProveResult>) -> bool {
    result.is_some_and(|r| {
        r.status == ProveStatus::Failed && r.stop_reason == Some(StopCode::Exhausted)
    })
}

fn search_of(result: &ProveResult) -> HoleSearch {
    HoleSearch {
        proved: result.status == ProveStatus::Proved,
        proof: result.proof.clone(),
        stop_reason: result.stop_reason.clone(),
        expansions: result.expansions,
        lean_calls: result.lean_calls,
        from_cache: result.from_cache,
    }
}

fn feedback_of(skeleton: &SkeletonRecord) -> Feedback {
    Feedback {
        skeleton: skeleton.text.clone(),
        reason: skeleton.reason.clone(),
        holes: skeleton
            .holes
            .iter()
            .map(|hole| HoleFeedback {
                goal: hole.goal.clone(),
                proof: hole.search.proof.clone().filter(|_| hole.search.proved),
                stop_reason: hole.search.stop_reason.clone(),
                expansions: hole.search.expansions,
                frontier: hole.frontier.clone(),
                errors: hole.errors.clone(),
                negation_proved: !hole.search.proved
                    && hole.refutation.as_ref().is_some_and(|r| r.proved),
            })
            .collect(),
    }
}

/// `config` with each limit scaled by `fraction` (at least one expansion, one Lean call and
/// one millisecond).
pub fn scaled(config: &ProveConfig, fraction: f64) -> ProveConfig {
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mut scaled = config.clone();
    let count = |n: u32| ((f64::from(n) * fraction).ceil() as u32).max(1);
    let search = &mut scaled.search;
    search.max_expansions = search.max_expansions.map(count);
    search.max_env_calls = search.max_env_calls.map(count);
    search.max_time = search
        .max_time
        .map(|t| t.mul_f64(fraction).max(Duration::from_millis(1)));
    scaled
}

/// The fraction of `config`'s budget a search spent: the largest of its shares of each limit
/// (0 when there is none).
pub fn spent_fraction(config: &ProveConfig, result: &ProveResult) -> f64 {
    let search = &config.search;
    let share = |spent: f64, limit: Option<f64>| limit.map_or(0.0, |l| spent / l.max(1e-9));
    share(
        f64::from(result.expansions),
        search.max_expansions.map(f64::from),
    )
    .max(share(
        f64::from(result.lean_calls),
        search.max_env_calls.map(f64::from),
    ))
    .max(share(
        result.seconds,
        search.max_time.map(|t| t.as_secs_f64()),
    ))
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[test]
    fn scaling_keeps_at_least_one_of_each_limit() {
        let mut config = ProveConfig::default();
        config.search.max_expansions = Some(100);
        config.search.max_env_calls = Some(10);
        let scaled = scaled(&config, 0.15);
        assert_eq!(scaled.search.max_expansions, Some(15));
        assert_eq!(scaled.search.max_env_calls, Some(2));
        assert_eq!(
            scaled.search.max_time,
            Some(Duration::from_secs(600).mul_f64(0.15))
        );
        let tiny = super::scaled(&config, 0.0);
        assert_eq!(tiny.search.max_expansions, Some(1));
        assert_eq!(tiny.search.max_time, Some(Duration::from_millis(1)));
    }

    #[test]
    fn a_scripted_planner_answers_round_by_round_and_keeps_the_requests() {
        let theorem = Theorem {
            name: "t".into(),
            header: String::new(),
            formal_statement: "theorem t : p := by".into(),
        };
        let planner =
            ScriptedPlanner::new().with("t", vec![vec!["a".into(), "b".into()], vec!["c".into()]]);
        let request = PlanRequest {
            theorem: theorem.clone(),
            feedback: None,
        };
        let first = planner
            .propose(&request, 1)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(first, ["a"]);
        let second = planner
            .propose(&request, 4)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(second, ["c"]);
        let third = planner
            .propose(&request, 4)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert!(third.is_empty());
        assert_eq!(planner.requests().len(), 3);
    }
}
