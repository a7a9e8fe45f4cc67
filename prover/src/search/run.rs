//! `Search` and its main loop: check limits → select → expand → back up, each step a method.

use std::collections::VecDeque;
use std::error::Error;
use std::ops::ControlFlow;
use std::time::Duration;

use super::config::SearchConfig;
use super::env::{Applied, ProofEnv, Tactics};
use super::error::EnvError;
use super::frontier::{Frontier, Open};
use super::hook::{EdgeEvent, EdgeOutcome, NoHook, SearchEvent, SearchHook};
use super::limits::{CancelToken, Clock, InstantClock};
use super::policy::{
    AllowAll, Candidate, CandidateFilter, FirstPath, Policy, Query, prepare_candidates,
};
use super::proof::{Proof, ProofChecker, Verdict};
use super::report::{FaultSource, Outcome, SearchReport, SearchStats, StopReason};
use super::tree::{EdgeId, Expansion, Graph, Landing, NodeId, Status, state_tag};

/// A configured best-first search; [`run`](Search::run) it once per attempt.
///
/// ```
/// use prover::search::offline::{AlwaysAccept, OfflineEnv, ScriptedPolicy};
/// use prover::search::{Search, SearchConfig};
///
/// let fixture = "\
/// ⊢ p ∧ q
///   -0.2 constructor => ⊢ p ; ⊢ q
///   -0.9 simp        => error: simp made no progress
/// ⊢ p ; ⊢ q
///   -0.1 exact hp    => ⊢ q
/// ⊢ q
///   -0.1 exact hq    => done
/// ";
/// let mut env = OfflineEnv::from_fixture(fixture).unwrap();
/// let mut policy = ScriptedPolicy::from_env(&env);
/// let root = env.root();
/// let report = Search::new(SearchConfig::default()).run(&mut env, &mut policy, &mut AlwaysAccept, root);
/// assert_eq!(report.proof().unwrap().tactics, ["constructor", "exact hp", "exact hq"]);
/// ```
#[derive(Debug)]
pub struct Search<H = NoHook, F = AllowAll, C = InstantClock> {
    config: SearchConfig,
    hook: H,
    filter: F,
    clock: C,
    cancel: CancelToken,
}

impl Search {
    /// A search with no hook, no filter and the real clock.
    pub fn new(config: SearchConfig) -> Self {
        Search {
            config,
            hook: NoHook,
            filter: AllowAll,
            clock: InstantClock::new(),
            cancel: CancelToken::new(),
        }
    }
}

impl<H: SearchHook, F: CandidateFilter, C: Clock> Search<H, F, C> {
    /// Sends every event to `hook`.
    pub fn with_hook<H2: SearchHook>(self, hook: H2) -> Search<H2, F, C> {
        let Search {
            config,
            filter,
            clock,
            cancel,
            ..
        } = self;
        Search {
            config,
            hook,
            filter,
            clock,
            cancel,
        }
    }

    /// Runs only the candidates `filter` allows.
    pub fn with_filter<F2: CandidateFilter>(self, filter: F2) -> Search<H, F2, C> {
        let Search {
            config,
            hook,
            clock,
            cancel,
            ..
        } = self;
        Search {
            config,
            hook,
            filter,
            clock,
            cancel,
        }
    }

    /// Measures time (the time limit and edge durations) on `clock`.
    pub fn with_clock<C2: Clock>(self, clock: C2) -> Search<H, F, C2> {
        let Search {
            config,
            hook,
            filter,
            cancel,
            ..
        } = self;
        Search {
            config,
            hook,
            filter,
            clock,
            cancel,
        }
    }

    /// Stops when `token` is cancelled. A search has its own token otherwise.
    pub fn with_cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// A clone of the token that cancels this search. Once cancelled, every later run of this
    /// `Search` stops immediately too.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    /// The hook, for example to take out what it collected.
    pub fn hook_mut(&mut self) -> &mut H {
        &mut self.hook
    }

    /// Searches for a proof of `root`.
    ///
    /// Never fails: running out of budget, exhausting the space and broken infrastructure are
    /// all [`StopReason`]s in the report. A proof is reported only after `checker` accepts it.
    pub fn run<E, P, K>(
        &mut self,
        env: &mut E,
        policy: &mut P,
        checker: &mut K,
        root: E::State,
    ) -> SearchReport
    where
        E: ProofEnv,
        P: Policy + ?Sized,
        K: ProofChecker,
    {
        let root_text = env.canonical_text(&root);
        let mut frontier = Frontier::default();
        frontier.push(Open {
            node: NodeId::ROOT,
            priority: 0.0,
            path_score: 0.0,
            depth: 0,
        });
        Attempt {
            config: &self.config,
            hook: &mut self.hook,
            filter: &mut self.filter,
            clock: &self.clock,
            cancel: &self.cancel,
            env,
            policy,
            checker,
            graph: Graph::new(root, root_text),
            found: Vec::new(),
            frontier,
            stats: SearchStats::default(),
            streaks: ErrorStreaks::default(),
            started: self.clock.now(),
            batch_texts: String::new(),
            batch_bounds: Vec::new(),
            priorities: Priorities::default(),
            answers: Vec::new(),
        }
        .run()
    }
}

/// One run of the search: everything that lives only as long as the attempt.
struct Attempt<'a, E: ProofEnv, P: ?Sized, K, H, F, C> {
    config: &'a SearchConfig,
    hook: &'a mut H,
    filter: &'a mut F,
    clock: &'a C,
    cancel: &'a CancelToken,
    env: &'a mut E,
    policy: &'a mut P,
    checker: &'a mut K,
    graph: Graph<E::State>,
    /// Accepted proofs so far, in the order found.
    found: Vec<Proof>,
    frontier: Frontier,
    stats: SearchStats,
    streaks: ErrorStreaks,
    started: Duration,
    /// Where the environment writes the texts of one batch's states, one after another, reused
    /// so that a tactic allocates nothing here; the graph copies a text only when it is new.
    batch_texts: String,
    /// Each of those texts' end in `batch_texts` and its index tag.
    batch_bounds: Vec<(usize, u32)>,
    priorities: Priorities,
    /// One expansion's answers and their durations, between the environment's batch and
    /// their recording; reused from one expansion to the next.
    answers: Vec<TimedAnswer<E::State>>,
}

/// One tactic's answer from [`ProofEnv::apply_all`] and how long the search waited for it.
type TimedAnswer<S> = (Result<Applied<S>, EnvError>, Duration);

/// The result of expanding one node.
struct Expanded {
    /// The node, as it was popped.
    open: Open,
    /// The edge that closed every goal, if the expansion stopped at one.
    proved: Option<EdgeId>,
}

impl<E, P, K, H, F, C> Attempt<'_, E, P, K, H, F, C>
where
    E: ProofEnv,
    P: Policy + ?Sized,
    K: ProofChecker,
    H: SearchHook,
    F: CandidateFilter,
    C: Clock,
{
    fn run(mut self) -> SearchReport {
        let wanted = self.config.proofs_wanted.max(1) as usize;
        let outcome = loop {
            if let Some(reason) = self.stop_reason() {
                break self.ended(reason);
            }
            let Some(open) = self.select() else {
                let reason = self.exhausted();
                break self.ended(reason);
            };
            let expanded = self.expand(open);
            if let Some(proof) = self.back_up(expanded) {
                self.found.push(proof);
                if self.found.len() >= wanted {
                    break Outcome::Proved(self.found[0].clone());
                }
            }
        };
        self.finish(outcome)
    }

    /// The outcome when the search stops for `reason`: the first proof found, if any.
    fn ended(&self, reason: StopReason) -> Outcome {
        match self.found.first() {
            Some(first) => Outcome::Proved(first.clone()),
            None => Outcome::Failed(reason),
        }
    }

    /// Whether to stop before selecting another node.
    fn stop_reason(&self) -> Option<StopReason> {
        if self.graph.root_status() == Status::Failed {
            return Some(self.exhausted());
        }
        if let Some(limit) = self.config.max_expansions
            && self.stats.expansions >= limit
        {
            return Some(StopReason::ExpansionLimit(limit));
        }
        self.interruption()
    }

    /// Why the tree ran out of work: exhausted, unless a collaborator failed along the way.
    fn exhausted(&self) -> StopReason {
        let faults = [
            (
                FaultSource::Policy,
                self.stats.policy_errors,
                &self.streaks.policy,
            ),
            (
                FaultSource::Environment,
                self.stats.env_errors,
                &self.streaks.env,
            ),
            (
                FaultSource::Checker,
                self.stats.check_errors,
                &self.streaks.check,
            ),
        ];
        match faults.into_iter().find(|(_, failures, _)| *failures > 0) {
            Some((source, failures, streak)) => StopReason::Incomplete {
                source,
                failures,
                last_error: streak.last_error.clone(),
            },
            None => StopReason::Exhausted,
        }
    }

    /// The stop conditions that are also checked between two tactics of one expansion.
    fn interruption(&self) -> Option<StopReason> {
        interruption_of(
            self.config,
            self.clock,
            self.cancel,
            self.started,
            self.stats.env_calls,
            || self.streaks.failure(self.config.max_consecutive_errors),
        )
    }

    /// Pops the open node with the highest priority.
    fn select(&mut self) -> Option<Open> {
        loop {
            // The node about to pop is read right after; its misses overlap the pop's own.
            if let Some(next) = self.frontier.peek_node() {
                self.graph.warm_node(next);
            }
            let Some(open) = self.frontier.pop() else {
                break;
            };
            let Open {
                node: id,
                priority,
                depth,
                ..
            } = open;
            let node = self.graph.node(id);
            // Entries are never removed from the heap; skip any that can no longer be expanded.
            // A proved node is expanded on only while more proofs are wanted (before the first
            // proof, no node is proved).
            if node.status == Status::Failed || node.expansion.is_over() {
                continue;
            }
            self.stats.expansions += 1;
            tracing::debug!(node = id.index(), depth, priority, "expanding");
            self.hook.on_event(&SearchEvent::Selected {
                node: id,
                state: self.graph.text(id),
                depth,
                priority,
            });
            return Some(open);
        }
        None
    }

    /// Runs the node's best tactics, in order, stopping at the first that closes every goal or
    /// when a budget runs out; the rest stay pending.
    ///
    /// The tactics go to the environment as one batch ([`ProofEnv::apply_all`]), whose answers
    /// are collected and then recorded in order. Between two answers the batch stops exactly
    /// where running them one by one would have stopped: at a proof, or when
    /// [`interruption`](Self::interruption) would say so after recording the answers so far
    /// (the same checks, in the same order, reading the clock as often).
    fn expand(&mut self, open: Open) -> Expanded {
        let node = open.node;
        if matches!(self.graph.node(node).expansion, Expansion::NotStarted) {
            self.env
                .about_to_expand(self.graph.state(node), self.config.tactic_deadline);
            self.propose(node, open.depth);
            if self
                .graph
                .pending_tactics(node)
                .is_some_and(|tactics| !tactics.is_empty())
            {
                self.hint_upcoming();
            }
        }
        let timed = self.hook.wants_durations();
        let mut answers = std::mem::take(&mut self.answers);
        let mut proved = None;
        while self.interruption().is_none() {
            let Some(tactics) = self.graph.pending_tactics(node) else {
                break;
            };
            if tactics.is_empty() {
                // Marks the expansion finished, as taking its last tactic would have.
                self.graph.next_candidate(node);
                break;
            }
            let total = tactics.len();
            let mut env_calls = self.stats.env_calls;
            let mut env_streak = self.streaks.env.count;
            let mut stopped = false;
            let mut before = if timed {
                self.clock.now()
            } else {
                Duration::ZERO
            };
            let (clock, cancel, config, started, streaks) = (
                self.clock,
                self.cancel,
                self.config,
                self.started,
                &self.streaks,
            );
            self.env.apply_all(
                self.graph.state(node),
                Tactics::new(tactics),
                config.tactic_deadline,
                &mut |answer| {
                    if stopped || answers.len() >= total {
                        // An environment that answers past a `Break` or past the last tactic
                        // breaks its contract; what it computed is not used.
                        return ControlFlow::Break(());
                    }
                    let duration = if timed {
                        clock.now().saturating_sub(before)
                    } else {
                        Duration::ZERO
                    };
                    env_calls += 1;
                    env_streak = match answer {
                        Err(_) => env_streak.saturating_add(1),
                        Ok(_) => 0,
                    };
                    let closed = matches!(answer, Ok(Applied::Proved));
                    answers.push((answer, duration));
                    if closed {
                        stopped = true;
                        return ControlFlow::Break(());
                    }
                    if answers.len() == total {
                        return ControlFlow::Continue(());
                    }
                    // Only whether to stop matters here: the reason is found again after
                    // the answers are recorded, by `stop_reason`.
                    let streak_failed = || {
                        streaks
                            .fails(env_streak, config.max_consecutive_errors)
                            .then(String::new)
                    };
                    if interruption_of(config, clock, cancel, started, env_calls, streak_failed)
                        .is_some()
                    {
                        stopped = true;
                        return ControlFlow::Break(());
                    }
                    if timed {
                        before = clock.now();
                    }
                    ControlFlow::Continue(())
                },
            );
            let got = answers.len();
            // The states' texts first, all of them, so that their lookups in the graph's
            // index can be started together (`warm_up`).
            let mut texts = std::mem::take(&mut self.batch_texts);
            let mut bounds = std::mem::take(&mut self.batch_bounds);
            texts.clear();
            bounds.clear();
            for (answer, _) in &answers {
                if let Ok(Applied::Goals(state)) = answer {
                    let start = texts.len();
                    self.env.write_canonical_text(state, &mut texts);
                    bounds.push((texts.len(), state_tag(&texts[start..])));
                }
            }
            self.graph.warm_up(bounds.iter().map(|&(_, tag)| tag));
            let mut states = bounds.iter();
            let mut start = 0;
            for (answer, duration) in answers.drain(..) {
                let Some(candidate) = self.graph.next_candidate(node) else {
                    break;
                };
                let text = match answer {
                    Ok(Applied::Goals(_)) => states.next().map(|&(end, tag)| {
                        let text = &texts[start..end];
                        start = end;
                        (text, tag)
                    }),
                    _ => None,
                };
                if let Some(edge) = self.record(&open, &candidate, answer, text, duration) {
                    proved = Some(edge);
                    break;
                }
            }
            self.batch_texts = texts;
            self.batch_bounds = bounds;
            answers.clear();
            // A batch that stopped between two tactics already read the clock for the check
            // `interruption` would repeat; an environment that answered nothing made no progress.
            if proved.is_some() || stopped || got == 0 {
                break;
            }
        }
        self.answers = answers;
        Expanded { open, proved }
    }

    /// Asks the policy for the node's candidates and keeps the ones worth running.
    fn propose(&mut self, id: NodeId, depth: u32) {
        self.stats.policy_calls += 1;
        let width = self.config.expansion_width;
        let text = self.graph.text(id);
        let query = Query {
            state: text,
            depth,
            path: FirstPath::in_graph(self.graph.first_path(id), depth),
            width,
        };
        let proposals = match self.policy.propose(&query) {
            Ok(proposals) => proposals,
            Err(error) => {
                let error = error_chain(&error);
                self.stats.policy_errors += 1;
                self.hook.on_event(&SearchEvent::PolicyFailed {
                    node: id,
                    state: text,
                    error: &error,
                });
                self.streaks.policy.failed(error);
                self.graph.abandon(id);
                return;
            }
        };
        self.streaks.policy.succeeded();
        self.stats.candidates_proposed += count(proposals.len());
        let prepared = prepare_candidates(proposals, self.filter, width);
        for refused in &prepared.rejected {
            self.hook.on_event(&SearchEvent::Filtered {
                node: id,
                state: text,
                candidate: &refused.candidate,
                reason: &refused.reason,
            });
        }
        self.stats.candidates_rejected += count(prepared.rejected.len());
        self.stats.duplicate_tactics += prepared.duplicates;
        self.stats.candidates_beyond_width += prepared.beyond_width;
        self.graph
            .start_expansion(id, VecDeque::from(prepared.selected));
    }

    /// Tells the environment, then the policy, which states are likely to be expanded next,
    /// while this expansion's tactics are about to run: the best
    /// [`SearchConfig::policy_lookahead`] states of the frontier not yet proposed for. Only a
    /// hint; the frontier is left as it was.
    fn hint_upcoming(&mut self) {
        let lookahead = self.config.policy_lookahead;
        if lookahead == 0 {
            return;
        }
        let graph = &self.graph;
        // Entries of expanded or failed nodes stay in the heap until popped; look past a few.
        let upcoming = self.frontier.peek_best(lookahead, 4 * lookahead, |id| {
            let node = graph.node(id);
            node.status != Status::Failed && matches!(node.expansion, Expansion::NotStarted)
        });
        let states: Vec<&E::State> = upcoming.iter().map(|open| graph.state(open.node)).collect();
        self.env.upcoming(&states);
        let width = self.config.expansion_width;
        let queries: Vec<Query<'_>> = upcoming
            .into_iter()
            .map(
                |Open {
                     node: id, depth, ..
                 }| {
                    Query {
                        state: graph.text(id),
                        depth,
                        path: FirstPath::in_graph(graph.first_path(id), depth),
                        width,
                    }
                },
            )
            .collect();
        if !queries.is_empty() {
            self.policy.prefetch(&queries);
        }
    }

    /// Records one tactic's answer as an edge. Returns the edge if it closed every goal.
    fn record(
        &mut self,
        open: &Open,
        candidate: &Candidate,
        applied: Result<Applied<E::State>, EnvError>,
        text: Option<(&str, u32)>,
        duration: Duration,
    ) -> Option<EdgeId> {
        self.stats.env_calls += 1;
        let parent = open.node;
        let tactic = candidate.tactic.as_str();
        let mut proved = None;
        let message: String;
        let outcome = match applied {
            Ok(Applied::Goals(state)) => {
                self.streaks.env.succeeded();
                let (text, tag) = text.expect("every state of the batch has its text");
                match self.add_state(open, candidate, state, text, tag) {
                    Landing::New(node) => EdgeOutcome::NewState {
                        node,
                        state: self.graph.text(node),
                    },
                    Landing::Known(node) => EdgeOutcome::KnownState {
                        node,
                        state: self.graph.text(node),
                    },
                }
            }
            Ok(Applied::Proved) => {
                self.streaks.env.succeeded();
                proved = Some(self.graph.add_proved_edge(parent, tactic));
                EdgeOutcome::Proved
            }
            Ok(Applied::Rejected(refusal)) => {
                self.streaks.env.succeeded();
                self.stats.tactics_refused += 1;
                self.graph.add_failed_edge(parent, tactic);
                message = refusal;
                EdgeOutcome::Rejected(&message)
            }
            Err(error) => {
                self.stats.env_errors += 1;
                self.graph.add_failed_edge(parent, tactic);
                message = error_chain(&error);
                self.streaks.env.failed(message.clone());
                EdgeOutcome::EnvError(&message)
            }
        };
        self.hook.on_event(&SearchEvent::Edge(EdgeEvent {
            parent,
            state: self.graph.text(parent),
            depth: open.depth,
            tactic,
            score: candidate.score,
            outcome,
            duration,
        }));
        proved
    }

    /// Adds the edge to a state a tactic produced; queues the state if it is new.
    fn add_state(
        &mut self,
        parent: &Open,
        candidate: &Candidate,
        state: E::State,
        text: &str,
        tag: u32,
    ) -> Landing {
        let landing =
            self.graph
                .add_tagged_state_edge(parent.node, &candidate.tactic, state, text, tag);
        match landing {
            Landing::New(id) => {
                let path_score = parent.path_score + candidate.score;
                let depth = parent.depth + 1;
                let priority = self.priorities.of(self.config, path_score, depth);
                self.frontier.push(Open {
                    node: id,
                    priority,
                    path_score,
                    depth,
                });
                self.stats.max_depth = self.stats.max_depth.max(depth);
            }
            // First path wins: the known node keeps its score and is not queued again.
            Landing::Known(_) => self.stats.duplicate_states += 1,
        }
        landing
    }

    /// Rechecks a found proof and propagates statuses. Returns the proof if it was accepted.
    fn back_up(&mut self, expanded: Expanded) -> Option<Proof> {
        if let Some(edge) = expanded.proved {
            let proof = self.graph.proof_ending_with(edge);
            if self.recheck(&proof) {
                self.graph.mark_proved(edge);
                // Its remaining tactics may prove it again, when more proofs are wanted.
                if self.graph.node(expanded.open.node).expansion == Expansion::Pending {
                    self.requeue(expanded.open);
                }
                return Some(proof);
            }
            self.graph.fail_edge(edge);
            if self.graph.node(expanded.open.node).expansion == Expansion::Pending {
                // Its remaining tactics were skipped only because this proof looked finished.
                self.requeue(expanded.open);
                return None;
            }
        }
        self.stats.failed_states += count(self.graph.settle_failure(expanded.open.node));
        None
    }

    /// Queues a node whose expansion stopped at a proof again, with its first priority.
    fn requeue(&mut self, open: Open) {
        let priority = self.priorities.of(self.config, open.path_score, open.depth);
        self.frontier.push(Open { priority, ..open });
    }

    /// Asks the checker; `true` only for an accepted proof.
    fn recheck(&mut self, proof: &Proof) -> bool {
        let verdict = self.checker.check(proof);
        let accepted = matches!(verdict, Ok(Verdict::Accepted));
        match &verdict {
            Ok(verdict) => {
                self.streaks.check.succeeded();
                self.hook.on_event(&SearchEvent::Rechecked {
                    proof,
                    verdict: Ok(verdict),
                });
            }
            Err(error) => {
                let error = error_chain(error);
                self.stats.check_errors += 1;
                self.hook.on_event(&SearchEvent::Rechecked {
                    proof,
                    verdict: Err(&error),
                });
                self.streaks.check.failed(error);
            }
        }
        if !accepted {
            self.stats.proofs_rejected += 1;
        }
        accepted
    }

    fn finish(self, outcome: Outcome) -> SearchReport {
        SearchReport {
            outcome,
            proofs: self.found,
            stats: SearchStats {
                states: count(self.graph.node_count()),
                ..self.stats
            },
            elapsed: self.clock.now().saturating_sub(self.started),
        }
    }
}

/// `SearchConfig::priority` with `depth^α` computed once per depth: the same division of the same
/// numbers, without a `powf` call per new state.
#[derive(Debug, Default)]
struct Priorities {
    /// `depth^α` by depth, from 1.
    depth_powers: Vec<f64>,
}

impl Priorities {
    fn of(&mut self, config: &SearchConfig, path_score: f64, depth: u32) -> f64 {
        if depth == 0 {
            return config.priority(path_score, depth);
        }
        let index = depth as usize - 1;
        while self.depth_powers.len() <= index {
            let next = self.depth_powers.len() as u32 + 1;
            self.depth_powers
                .push(f64::from(next).powf(config.depth_exponent));
        }
        path_score / self.depth_powers[index]
    }
}

/// The stop conditions checked between two tactics, in this order (the clock is read only when
/// the earlier ones did not stop, and only under a time limit): cancellation, a source failing
/// too often in a row (`streak_failure`), the time limit, the environment-call limit.
fn interruption_of(
    config: &SearchConfig,
    clock: &impl Clock,
    cancel: &CancelToken,
    started: Duration,
    env_calls: u32,
    streak_failure: impl FnOnce() -> Option<String>,
) -> Option<StopReason> {
    if cancel.is_cancelled() {
        return Some(StopReason::Cancelled);
    }
    if let Some(message) = streak_failure() {
        return Some(StopReason::EnvFailure(message));
    }
    if let Some(limit) = config.max_time
        && clock.now().saturating_sub(started) >= limit
    {
        return Some(StopReason::TimeLimit(limit));
    }
    if let Some(limit) = config.max_env_calls
        && env_calls >= limit
    {
        return Some(StopReason::EnvCallLimit(limit));
    }
    None
}

/// Consecutive infrastructure failures per source; a success of that source resets its count.
#[derive(Debug, Default)]
struct ErrorStreaks {
    env: Streak,
    policy: Streak,
    check: Streak,
}

#[derive(Debug, Default)]
struct Streak {
    count: u32,
    last_error: String,
}

impl Streak {
    fn failed(&mut self, error: String) {
        self.count = self.count.saturating_add(1);
        self.last_error = error;
    }

    fn succeeded(&mut self) {
        self.count = 0;
    }
}

impl ErrorStreaks {
    /// Whether some source failed `limit` times in a row, the environment's streak standing
    /// at `env_count` (a batch's answers are counted before they are recorded).
    fn fails(&self, env_count: u32, limit: u32) -> bool {
        let limit = limit.max(1);
        env_count >= limit || self.policy.count >= limit || self.check.count >= limit
    }

    /// A description of the first source that failed `limit` times in a row, if any.
    fn failure(&self, limit: u32) -> Option<String> {
        // Checked before every tactic: the common answer needs no array and no search.
        if !self.fails(self.env.count, limit) {
            return None;
        }
        let limit = limit.max(1);
        [
            ("environment", &self.env),
            ("policy", &self.policy),
            ("checker", &self.check),
        ]
        .into_iter()
        .find(|(_, streak)| streak.count >= limit)
        .map(|(source, streak)| {
            format!(
                "{source} failed {} times in a row; last error: {}",
                streak.count, streak.last_error
            )
        })
    }
}

/// The error's message followed by its causes, `: `-separated.
fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// A length as a counter value; counters saturate rather than wrap.
fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memoised_priorities_are_the_configured_ones_bit_for_bit() {
        for depth_exponent in [0.0, 0.5, 1.0, 2.0, 2.7] {
            let config = SearchConfig {
                depth_exponent,
                ..SearchConfig::default()
            };
            let mut priorities = Priorities::default();
            // Depths out of order, so the table grows in steps and is read back too.
            for depth in [3, 0, 1, 50, 2, 3, 4000, 7] {
                for path_score in [0.0, -0.01, -1.37, -123.456] {
                    assert_eq!(
                        priorities.of(&config, path_score, depth).to_bits(),
                        config.priority(path_score, depth).to_bits(),
                        "α {depth_exponent}, depth {depth}, score {path_score}"
                    );
                }
            }
        }
    }
}
