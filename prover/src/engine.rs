//! The engine: the pure search driven over Lean through a shared `ReplPool`, with every proof
//! rechecked in command mode before it is reported.
//!
//! A search is synchronous and runs on a blocking thread; it reaches the async pool through a
//! runtime handle. Many searches share one pool, and a state may be rebuilt on any process.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lean_bridge::pool::{ApplyReply, ReplPool, SequenceReply, StartReply};
use lean_bridge::proof::ProofHandle;
use lean_bridge::protocol::CommandResponse;
use lean_bridge::{BridgeError, Message};
use tokio::runtime::Handle;

use crate::cache::{Budget, ProofCache, Spent, TheoremRecord, TransitionRecord};
use crate::check::{self, CheckConfig, ProofTask, Status};
use crate::goal::HoleKey;
use crate::search::{
    Applied, CancelToken, CandidateFilter, CheckError, EnvError, FaultSource, Outcome, Policy,
    Proof, ProofChecker, ProofEnv, Search, SearchConfig, SearchHook, SearchStats, StateHint,
    StopReason, Tactics, Verdict,
};
use speculation::{Claim, Speculation, SpeculationStats};

pub use ::datasets::{ProveResult, ProveStatus, RestsOn, StopCode, Theorem};
/// A position as the REPL reports it: line from 1, column in codepoints from 0.
pub use lean_bridge::protocol::Pos;

pub use crate::policy::DynPolicy;

pub mod speculation;

/// `ProofEnv` over a shared pool, consulting the cache first. Timeouts count as a rejected
/// tactic (Lean gave no answer in time) and are not cached; crashes and protocol failures are
/// environment errors.
pub struct LeanEnv {
    pool: Arc<ReplPool>,
    runtime: Handle,
    cache: Option<Arc<ProofCache>>,
    /// The theorem being searched, for warnings.
    theorem: String,
    /// Tactics actually sent to Lean (cache hits excluded).
    pub lean_calls: u32,
    /// Time spent waiting for those answers.
    pub lean_time: Duration,
    /// Infrastructure failures met so far.
    pub faults: LeanFaults,
    /// Tactic applications in flight at once within one expansion (`--search-parallelism`).
    parallelism: usize,
    /// Where new states are announced to the policy as their tactics answer, if it listens.
    new_states: Option<NewStateHints>,
    /// The tactics of the states likely expanded next, run ahead of need
    /// ([`with_speculation`](Self::with_speculation)).
    speculation: Option<Arc<Speculation>>,
}

/// The policy's ear for new states ([`Policy::state_hints`]) and how many children of one
/// expansion it hears of: the first `bound` to open, so the model round trip for the node
/// likely expanded next overlaps the expansion's remaining tactics.
#[derive(Clone)]
struct NewStateHints {
    ear: Arc<dyn StateHint>,
    bound: usize,
    /// Children of the current expansion announced (or passed over) so far.
    seen: Arc<AtomicUsize>,
}

impl NewStateHints {
    /// Tells the policy of the state `applied` opened, while fewer than `bound` were.
    fn announce(&self, applied: &Applied<ProofHandle>) {
        if let Applied::Goals(state) = applied
            && self.seen.fetch_add(1, Ordering::Relaxed) < self.bound
        {
            self.ear.new_state(&state_text(state));
        }
    }
}

/// Lean requests that failed as infrastructure, counted per theorem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeanFaults {
    /// Requests that hit their deadline.
    pub timeouts: u32,
    /// Requests whose process crashed or broke the protocol.
    pub crashes: u32,
}

impl LeanFaults {
    /// Counts `error`, and warns about it on stderr (rate-limited across the whole run).
    fn count(&mut self, theorem: &str, error: &BridgeError) {
        match error {
            BridgeError::Timeout { .. } => self.timeouts += 1,
            _ => self.crashes += 1,
        }
        INFRASTRUCTURE_WARNINGS.warn(theorem, &error.to_string());
    }

    fn add(&mut self, other: LeanFaults) {
        self.timeouts += other.timeouts;
        self.crashes += other.crashes;
    }
}

/// At most one infrastructure warning per interval on stderr, with the count of those held
/// back: a REPL that crashes on every tactic must be visible without flooding the terminal.
struct WarningLimiter {
    state: std::sync::Mutex<(Option<Instant>, u64)>,
    interval: Duration,
}

static INFRASTRUCTURE_WARNINGS: WarningLimiter = WarningLimiter {
    state: std::sync::Mutex::new((None, 0)),
    interval: Duration::from_secs(5),
};

impl WarningLimiter {
    fn warn(&self, theorem: &str, detail: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let due = state.0.is_none_or(|last| last.elapsed() >= self.interval);
        if !due {
            state.1 += 1;
            return;
        }
        let held_back = std::mem::take(&mut state.1);
        state.0 = Some(Instant::now());
        drop(state);
        if held_back > 0 {
            tracing::warn!(
                "Lean infrastructure failure on {theorem}: {detail} ({held_back} more since the last warning)"
            );
        } else {
            tracing::warn!("Lean infrastructure failure on {theorem}: {detail}");
        }
    }
}

impl LeanEnv {
    /// An environment over `pool` for the theorem named `theorem`, driven from a blocking
    /// thread through `runtime`.
    pub fn new(
        theorem: &str,
        pool: Arc<ReplPool>,
        runtime: Handle,
        cache: Option<Arc<ProofCache>>,
    ) -> LeanEnv {
        LeanEnv {
            theorem: theorem.to_owned(),
            pool,
            runtime,
            cache,
            lean_calls: 0,
            lean_time: Duration::ZERO,
            faults: LeanFaults::default(),
            parallelism: 1,
            new_states: None,
            speculation: None,
        }
    }

    /// Announces up to `bound` new states per expansion to `ear` as soon as their tactics
    /// answer (the first to open; none with a bound of 0 or no ear).
    pub fn with_state_hints(mut self, ear: Option<Arc<dyn StateHint>>, bound: usize) -> LeanEnv {
        self.new_states = ear.filter(|_| bound > 0).map(|ear| NewStateHints {
            ear,
            bound,
            seen: Arc::new(AtomicUsize::new(0)),
        });
        self
    }

    /// Runs the tactics of the states the search will probably expand next ahead of need, on
    /// idle workers, as soon as the policy's answers for them are in ([`speculation`]):
    /// the first `width` of each, each with `deadline`. Only with a parallelism above 1 (the
    /// bound on this search's tactic applications in flight, real and speculative together)
    /// and a policy that tells its answers ahead of need (a look-ahead above 0, set by
    /// [`with_state_hints`](Self::with_state_hints) first); otherwise it does nothing. The
    /// search's report does not depend on it.
    pub fn with_speculation(mut self, width: usize, deadline: Duration) -> LeanEnv {
        let Some(hints) = self.new_states.as_ref().filter(|_| self.parallelism > 1) else {
            return self;
        };
        let speculation = Speculation::new(
            self.pool.clone(),
            self.runtime.clone(),
            self.cache.clone(),
            (self.parallelism, width, deadline),
            Some((hints.ear.clone(), hints.bound)),
        );
        let weak = Arc::downgrade(&speculation);
        let ear: std::sync::Weak<dyn crate::search::ProposalHint> = weak;
        hints.ear.tell_proposals(ear);
        self.speculation = Some(speculation);
        self
    }

    /// What became of the speculation ([`with_speculation`](Self::with_speculation)), if any.
    pub fn speculation_stats(&self) -> Option<SpeculationStats> {
        self.speculation
            .as_ref()
            .map(|speculation| speculation.stats())
    }

    /// Runs up to `parallelism` tactics of one expansion at once on the pool (1: one after
    /// another, as `apply` does). The search's report does not depend on it: the answers are
    /// handed over in the tactics' order ([`apply_in_order`]).
    pub fn with_parallelism(mut self, parallelism: usize) -> LeanEnv {
        self.parallelism = parallelism.max(1);
        self
    }
}

impl Drop for LeanEnv {
    /// The search is over: its policy may still tell answers in, but nothing more runs ahead.
    fn drop(&mut self) {
        if let Some(speculation) = &self.speculation {
            speculation.close();
        }
    }
}

/// The answer `cache` holds for `tactic` on `state`, if any. The child is only a path until a
/// tactic runs on it; the pool replays it then.
fn cached(
    cache: Option<&ProofCache>,
    state: &ProofHandle,
    goals: &str,
    tactic: &str,
) -> Option<Applied<ProofHandle>> {
    let record = cache?.transition(state.header(), goals, tactic)?;
    Some(match record {
        TransitionRecord::Goals(next) => Applied::Goals(state.child(tactic, next)),
        TransitionRecord::Proved => Applied::Proved,
        TransitionRecord::Rejected(reason) => Applied::Rejected(reason),
    })
}

/// Lean's reply to one tactic as the search's answer, recorded in the cache when it is one
/// (a timeout is not: a larger deadline might let the tactic finish). Infrastructure failures
/// stay `BridgeError`s, for [`conclude`] to count.
fn settle(
    reply: Result<ApplyReply, BridgeError>,
    state: &ProofHandle,
    goals: &str,
    tactic: &str,
    cache: Option<&ProofCache>,
) -> Result<Applied<ProofHandle>, BridgeError> {
    let (applied, record) = match reply? {
        ApplyReply::Open(next) => {
            let record = TransitionRecord::Goals(next.goals().to_vec());
            (Applied::Goals(next), record)
        }
        ApplyReply::Proved(_) => (Applied::Proved, TransitionRecord::Proved),
        ApplyReply::Failed(reason) => {
            let record = TransitionRecord::Rejected(reason.clone());
            (Applied::Rejected(reason), record)
        }
    };
    if let Some(cache) = cache {
        cache.record_transition(state.header(), goals, tactic, &record);
    }
    Ok(applied)
}

/// A settled answer as the search takes it: a timeout is a rejected tactic (Lean gave no answer
/// in time), any other infrastructure failure an environment error; both are counted.
fn conclude(
    faults: &mut LeanFaults,
    theorem: &str,
    outcome: Result<Applied<ProofHandle>, BridgeError>,
) -> Result<Applied<ProofHandle>, EnvError> {
    match outcome {
        Ok(applied) => Ok(applied),
        Err(error @ BridgeError::Timeout { after, .. }) => {
            faults.count(theorem, &error);
            Ok(Applied::Rejected(format!(
                "{TIMEOUT_REFUSAL} {after:?}; the tactic was abandoned"
            )))
        }
        Err(error) => {
            faults.count(theorem, &error);
            Err(EnvError::new(error.to_string()))
        }
    }
}

/// One launched step of [`apply_in_order`]: an answer known at once (a cache hit) or a task
/// running on the runtime.
pub enum Launch<T> {
    /// Known without waiting.
    Ready(T),
    /// Running; its answer is awaited in turn.
    Running(tokio::task::JoinHandle<T>),
}

/// Runs `count` steps with up to `parallelism` of them launched at once and hands each answer to
/// `deliver` in the steps' order, until `deliver` says [`ControlFlow::Break`] or the steps run
/// out: the concurrency of [`LeanEnv`]'s `apply_all`, kept apart so it is tested on its own
/// (`prover/tests/parallel_expansion.rs`).
///
/// Step `i + parallelism` is launched only once step `i` was delivered, so no more than
/// `parallelism` are ever in flight and which steps ran never depends on timing except through
/// a `Break`. Steps still running after a `Break` are left to finish on the runtime (a REPL
/// request dropped halfway would leave its process out of step); their answers are dropped. A
/// step whose task panicked is delivered as `Err` with the panic's description.
pub fn apply_in_order<T: Send + 'static>(
    runtime: &Handle,
    parallelism: usize,
    count: usize,
    mut launch: impl FnMut(usize) -> Launch<T>,
    mut deliver: impl FnMut(Result<T, String>) -> ControlFlow<()>,
) {
    let mut window: VecDeque<Launch<T>> = VecDeque::new();
    let mut next = 0;
    loop {
        while window.len() < parallelism.max(1) && next < count {
            window.push_back(launch(next));
            next += 1;
        }
        let Some(front) = window.pop_front() else {
            return;
        };
        let answer = match front {
            Launch::Ready(answer) => Ok(answer),
            Launch::Running(task) => runtime
                .block_on(task)
                .map_err(|error| format!("a tactic's task failed: {error}")),
        };
        if deliver(answer).is_break() {
            return;
        }
    }
}

/// How the refusal of a tactic that timed out begins: a timeout is a rejected edge to the
/// search, and training data tells it from a Lean error by this.
pub const TIMEOUT_REFUSAL: &str = "no answer within";

/// Whether a refusal message is a timeout's ([`TIMEOUT_REFUSAL`]).
pub fn is_timeout_refusal(message: &str) -> bool {
    message.starts_with(TIMEOUT_REFUSAL)
}

/// A state's canonical text: its goals, separated by blank lines, as Lean printed them.
pub fn state_text(state: &ProofHandle) -> String {
    state.goals().join("\n\n")
}

impl ProofEnv for LeanEnv {
    type State = ProofHandle;

    fn apply(
        &mut self,
        state: &ProofHandle,
        tactic: &str,
        deadline: Duration,
    ) -> Result<Applied<ProofHandle>, EnvError> {
        let goals = state_text(state);
        if let Some(applied) = cached(self.cache.as_deref(), state, &goals, tactic) {
            return Ok(applied);
        }
        self.lean_calls += 1;
        let asked = Instant::now();
        let reply = self
            .runtime
            .block_on(self.pool.apply(state, tactic, deadline));
        self.lean_time += asked.elapsed();
        let outcome = settle(reply, state, &goals, tactic, self.cache.as_deref());
        if let (Some(hints), Ok(applied)) = (&self.new_states, &outcome) {
            hints.announce(applied);
        }
        conclude(&mut self.faults, &self.theorem, outcome)
    }

    fn canonical_text(&self, state: &ProofHandle) -> String {
        state_text(state)
    }

    /// With a parallelism above 1, the pool rebuilds the chosen state on idle processes that
    /// lack it while the policy is asked ([`ReplPool::preload`]), so the expansion's tactics,
    /// run side by side, need not each replay its path first. With speculation, on as many
    /// workers as it has tactics not already run ahead, and on workers as they come free too,
    /// running nothing else ahead meanwhile ([`Speculation::about_to_expand`]).
    fn about_to_expand(&mut self, state: &ProofHandle, deadline: Duration) {
        if self.parallelism <= 1 {
            return;
        }
        if let Some(speculation) = &self.speculation {
            speculation.about_to_expand(state);
            return;
        }
        let _runtime = self.runtime.enter();
        let replays = self.pool.preload(state, self.parallelism, deadline).len();
        if replays > 0 {
            tracing::trace!(replays, depth = state.depth(), "preloading the next state");
        }
    }

    /// The states the search will probably expand next: their tactics run ahead of need once
    /// the policy's answers for them are in ([`with_speculation`](Self::with_speculation)).
    fn upcoming(&mut self, states: &[&ProofHandle]) {
        if let Some(speculation) = &self.speculation {
            for state in states {
                speculation.know_state(state, true);
            }
        }
    }

    /// With a parallelism above 1, the tactics run side by side on the pool's processes (each
    /// request replays the state on whichever process takes it unless it was preloaded there),
    /// answered in their order. New states go to the policy's ear as their tactics answer.
    fn apply_all(
        &mut self,
        state: &ProofHandle,
        tactics: Tactics<'_>,
        deadline: Duration,
        answer: &mut dyn FnMut(Result<Applied<ProofHandle>, EnvError>) -> ControlFlow<()>,
    ) {
        if let Some(hints) = &self.new_states {
            hints.seen.store(0, Ordering::Relaxed);
        }
        if self.parallelism <= 1 || (tactics.len() <= 1 && self.speculation.is_none()) {
            for tactic in tactics.iter() {
                if answer(self.apply(state, tactic, deadline)).is_break() {
                    return;
                }
            }
            return;
        }
        let goals: Arc<str> = state_text(state).into();
        let asked = Instant::now();
        let runtime = self.runtime.clone();
        let speculation = self.speculation.clone();
        if let Some(speculation) = &speculation {
            speculation.begin(state, tactics.len());
        }
        let mut launched = 0;
        let launch = |index: usize| {
            let tactic = tactics.get(index).unwrap_or_default();
            if let Some(applied) = cached(self.cache.as_deref(), state, &goals, tactic) {
                if let Some(hints) = &self.new_states {
                    hints.announce(&applied);
                }
                if let Some(speculation) = &speculation {
                    speculation.skip();
                }
                return Launch::Ready(Ok(applied));
            }
            launched += 1;
            let claim = speculation
                .as_ref()
                .map(|speculation| speculation.claim(state, tactic));
            let (pool, cache, state, goals, tactic, hints) = (
                self.pool.clone(),
                self.cache.clone(),
                state.clone(),
                goals.clone(),
                tactic.to_owned(),
                self.new_states.clone(),
            );
            Launch::Running(runtime.spawn(async move {
                let reply = match claim {
                    Some(Claim::Ahead(task)) => match task.await {
                        Ok(reply) => reply,
                        // The run ahead died (its task panicked): run the tactic now.
                        Err(_) => pool.apply(&state, &tactic, deadline).await,
                    },
                    Some(Claim::Run(slot)) => {
                        let reply = pool.apply(&state, &tactic, deadline).await;
                        drop(slot);
                        reply
                    }
                    None => pool.apply(&state, &tactic, deadline).await,
                };
                let outcome = settle(reply, &state, &goals, &tactic, cache.as_deref());
                // At once, not when the answer's turn comes: the model's round trip for this
                // child overlaps the expansion's other tactics.
                if let (Some(hints), Ok(applied)) = (&hints, &outcome) {
                    hints.announce(applied);
                }
                outcome
            }))
        };
        let (faults, theorem) = (&mut self.faults, &self.theorem);
        apply_in_order(
            &runtime,
            self.parallelism,
            tactics.len(),
            launch,
            |outcome| {
                let applied = match outcome {
                    Ok(outcome) => conclude(faults, theorem, outcome),
                    Err(panicked) => Err(EnvError::new(panicked)),
                };
                // A child's handle, in the search's order: the first to reach its text is the
                // one the search keeps, and the one it will ask about.
                if let (Some(speculation), Ok(Applied::Goals(child))) = (&speculation, &applied) {
                    speculation.know_state(child, false);
                }
                answer(applied)
            },
        );
        if let Some(speculation) = &speculation {
            speculation.end();
        }
        self.lean_calls += launched;
        self.lean_time += asked.elapsed();
    }
}

/// What one search proves.
#[derive(Debug, Clone)]
pub enum Goal {
    /// A theorem's statement; a proof must pass `prover check`'s rules.
    Theorem(Theorem),
    /// One sorry of a declaration, proved in place ([`SorryGoal`]); the result's proof is the
    /// script that goes in the sorry's place.
    Sorry(SorryGoal),
}

impl Goal {
    /// The theorem's or the declaration's name.
    pub fn name(&self) -> &str {
        match self {
            Goal::Theorem(theorem) => &theorem.name,
            Goal::Sorry(sorry) => &sorry.name,
        }
    }
}

/// One `sorry` of a whole declaration, proved in place, as plain data; the recheck splices the
/// proof in with [`crate::text`] (see [`SorryGoal::spliced`]).
pub use crate::text::{SorryGoal, Spliced};

/// The REPL's position of a [`crate::text::Position`].
impl From<crate::text::Position> for Pos {
    fn from(position: crate::text::Position) -> Pos {
        Pos {
            line: position.line,
            column: position.column,
        }
    }
}

/// The statement the cache and the pool know a sorry's root by: the declaration, and which of
/// its sorries.
fn cache_statement(goal: &SorryGoal) -> String {
    format!(
        "{}\n-- prover: the sorry at {}:{}",
        goal.declaration, goal.at.line, goal.at.column
    )
}

/// How a found proof is rechecked before it is reported.
#[derive(Clone)]
enum Recheck {
    /// `prover check`'s rules, on the theorem's statement with the proof.
    Rules(CheckConfig),
    /// The declaration with the proof in the sorry's place elaborates cleanly.
    InPlace(SorryGoal, CheckConfig),
}

/// `ProofChecker` that rechecks the whole proof in command mode on fresh text: `prover check`'s
/// rules for a theorem, the spliced declaration for a sorry.
pub struct LeanChecker {
    pool: Arc<ReplPool>,
    runtime: Handle,
    theorem: Theorem,
    recheck: Recheck,
    /// The root of the search whose proofs this rechecks, if one runs: a recheck goes to the
    /// worker that search last used, leaving the other searches theirs.
    search: Option<ProofHandle>,
    /// Rechecks sent to Lean.
    pub calls: u32,
    /// The proof text of the first accepted proof: the one the search reports.
    pub accepted: Option<String>,
    /// What that proof rests on beyond the allowed axioms (a sorry in place only).
    pub rests_on: Option<RestsOn>,
    /// Recheck attempts that failed as infrastructure.
    pub faults: LeanFaults,
}

impl ProofChecker for LeanChecker {
    fn check(&mut self, proof: &Proof) -> Result<Verdict, CheckError> {
        let text = check::script_to_proof(&proof.tactics);
        let config = match &self.recheck {
            Recheck::Rules(config) => config.clone(),
            Recheck::InPlace(goal, config) => {
                let goal = goal.clone();
                let config = config.clone();
                return self.check_in_place(&goal, &config, text);
            }
        };
        let task = ProofTask {
            line: 0,
            name: self.theorem.name.clone(),
            header: self.theorem.header.clone(),
            formal_statement: self.theorem.formal_statement.clone(),
            proof: text.clone(),
            // The theorem comes from the dataset being proved, as trusted as its statement.
            header_origin: check::HeaderOrigin::Reference,
        };
        self.calls += 1;
        let result = self.runtime.block_on(check::check_task_near(
            &self.pool,
            &task,
            &config,
            self.search.as_ref(),
        ));
        self.faults.add(LeanFaults {
            timeouts: result.timeouts,
            crashes: result.crashes,
        });
        match result.status {
            Status::Valid => {
                self.accepted.get_or_insert(text);
                Ok(Verdict::Accepted)
            }
            Status::Invalid => Ok(Verdict::Rejected(result.reasons.join("; "))),
            Status::Error => Err(CheckError::new(result.reasons.join("; "))),
        }
    }
}

impl LeanChecker {
    /// The spliced declaration, elaborated on the header, then `#print axioms` of it and of
    /// the declarations of the file the proof names, each a command of its own on the
    /// environment the one before produced. Accepted with no error and no sorry reported
    /// anywhere but at the sorries the declaration keeps (and no sorry warning when it keeps
    /// none); what it rests on beyond the allowed axioms is recorded with it.
    fn check_in_place(
        &mut self,
        goal: &SorryGoal,
        config: &CheckConfig,
        proof: String,
    ) -> Result<Verdict, CheckError> {
        if let Err(reason) = config.guard.check_proof(&proof) {
            return Ok(Verdict::Rejected(reason.to_string()));
        }
        let spliced = goal.spliced(&proof);
        let commands = InPlaceCommands::new(goal, &spliced.text, &proof);
        let mut last_error = String::new();
        for _ in 0..=config.retries {
            self.calls += 1;
            let reply = self.runtime.block_on(async {
                match &self.search {
                    Some(search) => {
                        self.pool
                            .command_sequence_near(
                                search,
                                &goal.header,
                                &commands.bodies,
                                config.timeout,
                            )
                            .await
                    }
                    None => {
                        self.pool
                            .command_sequence(&goal.header, &commands.bodies, config.timeout)
                            .await
                    }
                }
            });
            let answers = match reply {
                Ok(SequenceReply::Ran(answers)) => answers,
                Ok(SequenceReply::HeaderRejected(messages)) => {
                    return Ok(Verdict::Rejected(format!(
                        "the text before the declaration does not elaborate: {}",
                        first_error(&messages)
                    )));
                }
                Err(error) => {
                    self.faults.count(&goal.name, &error);
                    last_error = error.to_string();
                    continue;
                }
            };
            return Ok(
                match commands.judge(&spliced, &answers, &config.allowed_axioms) {
                    Ok(rests_on) => {
                        if self.accepted.is_none() {
                            self.accepted = Some(proof);
                            self.rests_on = rests_on;
                        }
                        Verdict::Accepted
                    }
                    Err(reason) => Verdict::Rejected(reason),
                },
            );
        }
        Err(CheckError::new(last_error))
    }
}

/// The commands of an in-place recheck: the edited declaration as it will be written; for an
/// `example`, the same under a fresh theorem name (`#print axioms` needs a name, as in
/// `check`); `#print axioms` of it; `#print axioms` of each declaration of the file the proof
/// names.
struct InPlaceCommands {
    bodies: Vec<String>,
    /// The name the edited declaration's axioms are printed under.
    full_name: String,
    /// Whether it is `private` (Lean prints its mangled name).
    private: bool,
    renamed: bool,
    /// Names the proof uses that the text before the declaration declares.
    named: Vec<String>,
}

/// How many declarations of the file named by a proof get a `#print axioms` of their own.
const MAX_NAMED_DECLARATIONS: usize = 8;

impl InPlaceCommands {
    fn new(goal: &SorryGoal, edited: &str, proof: &str) -> InPlaceCommands {
        let head = goal.head.min(edited.len());
        let command = check::check_command(&ProofTask {
            line: 0,
            name: goal.name.clone(),
            header: goal.header.clone(),
            formal_statement: edited[head..].to_owned(),
            proof: String::new(),
            header_origin: check::HeaderOrigin::Reference,
        });
        let mut bodies = vec![edited.to_owned()];
        let renamed = command.renamed.is_some();
        if renamed {
            // `check_command` splices an empty proof after a space.
            let theorem = command
                .theorem
                .strip_suffix(' ')
                .unwrap_or(&command.theorem);
            bodies.push(format!("{}{theorem}", &edited[..head]));
        }
        bodies.push(command.print_axioms.clone());
        let named = names_used(&goal.header, proof);
        bodies.extend(named.iter().map(|name| format!("#print axioms {name}")));
        InPlaceCommands {
            bodies,
            full_name: command.full_name,
            private: command.private,
            renamed,
            named,
        }
    }

    /// `Ok` with what the proof rests on beyond `allowed` (`None`: nothing), or why the proof
    /// is refused.
    fn judge(
        &self,
        spliced: &Spliced,
        answers: &[CommandResponse],
        allowed: &[String],
    ) -> Result<Option<RestsOn>, String> {
        let mut answers = answers.iter();
        let declaration = answers.next().ok_or("no answer for the declaration")?;
        if declaration.has_errors() {
            return Err(first_error(&declaration.messages));
        }
        // Lean lists a sorry once per goal it ran on, all at the sorry's position: what counts
        // is where, not how many.
        let stray = declaration.sorries.iter().any(|s| {
            s.pos.is_none_or(|pos| {
                !spliced
                    .kept_sorries
                    .iter()
                    .any(|&kept| Pos::from(kept) == pos)
            })
        });
        let warned = declaration.messages.iter().any(check::uses_sorry_warning);
        if stray || (spliced.kept_sorries.is_empty() && warned) {
            return Err("the declaration still uses sorry where the proof went".into());
        }
        if self.renamed {
            let renamed = answers.next().ok_or("no answer for the renamed example")?;
            if renamed.has_errors() {
                return Err(format!(
                    "its axioms cannot be read: as `theorem {}` it does not elaborate: {}",
                    self.full_name,
                    first_error(&renamed.messages)
                ));
            }
        }
        let printed = answers.next().ok_or("no answer for `#print axioms`")?;
        let keeps_sorries = !spliced.kept_sorries.is_empty();
        let mut axioms: Vec<String> =
            check::printed_axioms(printed, &self.full_name, self.private)?
                .into_iter()
                // The declaration's own sorries account for `sorryAx`; the named declarations
                // below still show a sorry the proof brings.
                .filter(|a| !(allowed.contains(a) || (keeps_sorries && a == "sorryAx")))
                .collect();
        let mut declarations = Vec::new();
        for (name, answer) in self.named.iter().zip(answers) {
            let Some(theirs) = named_axioms(answer) else {
                continue;
            };
            let beyond: Vec<String> = theirs
                .into_iter()
                .filter(|a| !allowed.contains(a))
                .collect();
            if !beyond.is_empty() {
                declarations.push(name.clone());
                for axiom in beyond {
                    if !axioms.contains(&axiom) {
                        axioms.push(axiom);
                    }
                }
            }
        }
        Ok(
            (!axioms.is_empty() || !declarations.is_empty()).then_some(RestsOn {
                axioms,
                declarations,
            }),
        )
    }
}

/// The axioms in an answer to `#print axioms NAME` for whichever constant NAME resolved to, when
/// the answer is one info message about one constant.
fn named_axioms(answer: &CommandResponse) -> Option<Vec<String>> {
    let [message] = answer.messages.as_slice() else {
        return None;
    };
    let data = message.data.trim();
    let quote = data.chars().next().filter(|c| matches!(c, '\'' | '`'))?;
    let name = &data[1..1 + data[1..].find(quote)?];
    // The name is the one the answer printed, so no other form of it needs accepting.
    check::printed_axioms(answer, name, false).ok()
}

/// The names `proof` uses that `header` declares (a `theorem`, `lemma`, `def`, `abbrev`,
/// `axiom`, `opaque` or `instance` of the file), as the proof spells them, first use first.
fn names_used(header: &str, proof: &str) -> Vec<String> {
    let is_name_char = |c: char| {
        c.is_alphanumeric() || matches!(c, '_' | '\'' | '.' | '!' | '?') || ('₀'..='₉').contains(&c)
    };
    let mut declared = Vec::new();
    let mut words = header.split_whitespace();
    while let Some(word) = words.next() {
        if matches!(
            word,
            "theorem" | "lemma" | "def" | "abbrev" | "axiom" | "opaque" | "instance"
        ) && let Some(name) = words.next()
        {
            let name = name
                .split(['(', '{', '[', '⦃', ':'])
                .next()
                .unwrap_or(name)
                .trim_start_matches("_root_.");
            if !name.is_empty() {
                declared.push(name.to_owned());
            }
        }
    }
    let mut named: Vec<String> = Vec::new();
    for word in proof.split(|c: char| !is_name_char(c)) {
        let word = word.trim_matches('.');
        let declares = |d: &String| {
            d == word || d.ends_with(&format!(".{word}")) || word.ends_with(&format!(".{d}"))
        };
        if !word.is_empty() && declared.iter().any(declares) && !named.iter().any(|n| n == word) {
            named.push(word.to_owned());
        }
    }
    named.truncate(MAX_NAMED_DECLARATIONS);
    named
}

/// Where a search starts: the command sent to Lean, which of its sorries, and the statement
/// the cache knows the theorem by.
struct Start<'a> {
    command: &'a str,
    at: Option<Pos>,
    key: &'a str,
}

/// Everything one search needs besides the theorem.
#[derive(Debug, Clone)]
pub struct ProveConfig {
    /// The search's settings.
    pub search: SearchConfig,
    /// Settings of the final recheck.
    pub check: CheckConfig,
    /// Deadline for elaborating the statement (the root state).
    pub statement_deadline: Duration,
    /// Names the policy and its settings, so a recorded failure is reused only under the same.
    pub policy_id: String,
    /// Which verdicts the cache records may answer a theorem without a search
    /// (`--reuse-verdicts`). The cached transitions spare Lean every answer it gave before
    /// whatever this says.
    pub reuse_verdicts: VerdictReuse,
    /// Tactics of one expansion run at once on the pool (`--search-parallelism`); `None`: the
    /// pool's size. It changes the wall time only, never the report.
    pub search_parallelism: Option<usize>,
    /// How many of the next best states the policy is asked about ahead of need, while an
    /// expansion's tactics run (`--policy-lookahead`, [`SearchConfig::policy_lookahead`]);
    /// `None`: [`DEFAULT_POLICY_LOOKAHEAD`]. It changes the wall time and the model requests
    /// made, never the report.
    pub policy_lookahead: Option<usize>,
    /// Whether the tactics of the states likely expanded next run ahead of need on idle
    /// workers (`--no-speculation` turns it off; [`LeanEnv::with_speculation`]): only with a
    /// parallelism above 1 and a look-ahead above 0. It changes the wall time and the Lean
    /// requests made, never the report.
    pub speculate: bool,
}

/// The look-ahead of a search that runs alone (`prove`, the editor and MCP servers), where a
/// person waits for one theorem and a model request that turns out unused costs little. Runs
/// that search theorems side by side default to 0 (`pipeline::run::side_by_side_session_config`):
/// there an unused request takes the model server from another theorem.
pub const DEFAULT_POLICY_LOOKAHEAD: usize = 4;

/// Which recorded verdicts answer a theorem without searching it (`--reuse-verdicts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictReuse {
    /// Only a verdict found for the same question: the same policy, width, α and per-tactic
    /// deadline, and a budget that covers what the proof cost (or, for a failure, no larger
    /// than the one it was recorded under). A run's figures are then those of a run without
    /// the cache.
    #[default]
    Matching,
    /// A recorded proof under any settings (still rechecked in Lean), a recorded failure
    /// within its budget: the behaviour before verdicts recorded their cost; figures may then
    /// credit a small budget or another policy with a proof a larger search found.
    Any,
    /// None: every theorem is searched (for the search's own steps and refusals, as training
    /// data, or for timing); Lean's cached answers are still used.
    Never,
}

impl VerdictReuse {
    /// Every value, in the order help texts list them.
    pub const ALL: [VerdictReuse; 3] = [
        VerdictReuse::Matching,
        VerdictReuse::Any,
        VerdictReuse::Never,
    ];

    /// The name users write (`--reuse-verdicts any`, `reuse_verdicts = "any"`).
    pub fn name(self) -> &'static str {
        match self {
            VerdictReuse::Matching => "matching",
            VerdictReuse::Any => "any",
            VerdictReuse::Never => "never",
        }
    }

    /// Whether `record` may answer a search under `budget`.
    fn allows(self, record: &TheoremRecord, budget: &Budget) -> bool {
        match self {
            VerdictReuse::Matching => record.answers(budget),
            VerdictReuse::Any => match record.verdict {
                crate::cache::Verdict::Proved { .. } => true,
                crate::cache::Verdict::Failed { .. } => budget.within(&record.budget),
            },
            VerdictReuse::Never => false,
        }
    }
}

impl std::fmt::Display for VerdictReuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for VerdictReuse {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        VerdictReuse::ALL
            .into_iter()
            .find(|reuse| reuse.name() == text)
            .ok_or_else(|| {
                format!("unknown --reuse-verdicts `{text}`; expected matching, any or never")
            })
    }
}

impl ProveConfig {
    /// Tactics of one expansion run at once on a pool of `workers`: `search_parallelism`,
    /// else the pool's size.
    pub fn parallelism(&self, workers: usize) -> usize {
        self.search_parallelism.unwrap_or(workers)
    }

    /// The budget this configuration searches under: the identity that decides whether a
    /// recorded failure may be reused.
    ///
    /// Built by destructuring `SearchConfig` whole, so a new search setting does not compile
    /// until it is either part of the budget or said not to change what a search can find.
    pub fn budget(&self) -> Budget {
        let SearchConfig {
            depth_exponent,
            expansion_width,
            max_expansions,
            max_time,
            max_env_calls,
            tactic_deadline,
            // Only decides when broken infrastructure ends a search, and such a search is
            // never recorded as a failure.
            max_consecutive_errors: _,
            // Searching past the first proof changes neither whether one is found nor which.
            proofs_wanted: _,
            // A hint to the policy about what comes next; the search's answers are the same.
            policy_lookahead: _,
        } = &self.search;
        Budget {
            policy: self.policy_id.clone(),
            width: *expansion_width,
            alpha: *depth_exponent,
            max_expansions: *max_expansions,
            max_time_ms: max_time.map(Budget::millis),
            max_env_calls: *max_env_calls,
            tactic_deadline_ms: Budget::millis(*tactic_deadline),
        }
    }
}

impl Default for ProveConfig {
    fn default() -> Self {
        ProveConfig {
            search: SearchConfig::default(),
            check: CheckConfig::default(),
            statement_deadline: Duration::from_secs(300),
            policy_id: String::new(),
            reuse_verdicts: VerdictReuse::default(),
            search_parallelism: None,
            policy_lookahead: None,
            speculate: true,
        }
    }
}

/// The stable code of a stop reason, for results files.
pub fn stop_code(reason: &StopReason) -> StopCode {
    match reason {
        StopReason::Exhausted => StopCode::Exhausted,
        StopReason::ExpansionLimit(_) => StopCode::ExpansionLimit,
        StopReason::TimeLimit(_) => StopCode::TimeLimit,
        StopReason::EnvCallLimit(_) => StopCode::LeanCallLimit,
        StopReason::Cancelled => StopCode::Cancelled,
        StopReason::EnvFailure(_) => StopCode::Infrastructure,
        StopReason::Incomplete { source, .. } => match source {
            FaultSource::Policy => StopCode::PolicyFailure,
            FaultSource::Environment => StopCode::LeanFailure,
            FaultSource::Checker => StopCode::CheckerFailure,
        },
    }
}

fn error_result(
    theorem: &Theorem,
    code: StopCode,
    detail: String,
    lean_calls: u32,
    started: Instant,
) -> ProveResult {
    ProveResult {
        stop_reason: Some(code),
        stop_detail: Some(detail),
        ..ProveResult::unsearched(&theorem.name, ProveStatus::Error, lean_calls, started)
    }
}

fn first_error(messages: &[Message]) -> String {
    messages
        .iter()
        .find(|m| m.is_error())
        .or(messages.first())
        .map(|m| m.data.clone())
        .unwrap_or_else(|| "no proof state came back".into())
}

/// What every search shares: the REPL pool, the runtime that drives it, and the cache.
#[derive(Clone)]
pub struct Engine {
    /// The REPL processes.
    pub pool: Arc<ReplPool>,
    /// Drives the pool from the searches' blocking threads.
    pub runtime: Handle,
    /// What Lean already answered, if caching is on.
    pub cache: Option<Arc<ProofCache>>,
}

impl Engine {
    /// Proves one goal: a theorem, or a sorry in place. Call from a blocking thread (never
    /// inside an async task): the search blocks on the pool through the runtime.
    ///
    /// With a cache, a verdict recorded for the same question ([`VerdictReuse`]) is reported
    /// again (a proof only after its recheck passes), and every known transition is reused.
    pub fn prove<P, F, H>(
        &self,
        goal: &Goal,
        config: &ProveConfig,
        policy: &mut P,
        filter: F,
        hook: H,
        cancel: &CancelToken,
    ) -> ProveResult
    where
        P: Policy,
        F: CandidateFilter,
        H: SearchHook,
    {
        match goal {
            Goal::Theorem(theorem) => {
                let statement = ::datasets::lean::with_sorry(&theorem.formal_statement);
                let start = Start {
                    command: &statement,
                    at: None,
                    key: &statement,
                };
                let recheck = Recheck::Rules(config.check.clone());
                self.search(
                    theorem, start, recheck, config, policy, filter, hook, cancel,
                )
            }
            Goal::Sorry(sorry) => {
                let theorem = Theorem {
                    name: sorry.name.clone(),
                    header: sorry.header.clone(),
                    formal_statement: sorry.declaration.clone(),
                };
                let key = cache_statement(sorry);
                let start = Start {
                    command: &sorry.declaration,
                    at: Some(sorry.at.into()),
                    key: &key,
                };
                let recheck = Recheck::InPlace(sorry.clone(), config.check.clone());
                self.search(
                    &theorem, start, recheck, config, policy, filter, hook, cancel,
                )
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn search<P, F, H>(
        &self,
        theorem: &Theorem,
        start: Start<'_>,
        recheck: Recheck,
        config: &ProveConfig,
        policy: &mut P,
        filter: F,
        hook: H,
        cancel: &CancelToken,
    ) -> ProveResult
    where
        P: Policy,
        F: CandidateFilter,
        H: SearchHook,
    {
        let started = Instant::now();
        let statement = start.key;
        if let Some(result) = self.known_outcome(theorem, statement, &recheck, config, started) {
            return result;
        }
        let parallelism = config.parallelism(self.pool.config().workers);
        if parallelism > 1 {
            // The REPLs the expansions will run tactics on start now, elaborating the header
            // while the statement starts on one of them: else, on a cold pool (the editor's or
            // the MCP server's first request), the first expansion's tactics would each start a
            // REPL and elaborate the header only after the statement's own. Slots that have a
            // process are left alone.
            let _runtime = self.runtime.enter();
            self.pool.prewarm(&theorem.header, parallelism);
        }
        let (root, mut lean_calls) = match self.root_state(theorem, &start, config, started) {
            Ok(root) => root,
            Err(result) => return *result,
        };
        // A sorry is also a hole: a lemma whose verdict another declaration, skeleton or run
        // with the same goal (hypothesis names aside) may have recorded.
        let hole = match (&recheck, root.goals()) {
            (Recheck::InPlace(..), [goal]) => HoleKey::of(goal),
            _ => None,
        };
        if let Some(hole) = &hole
            && let Some(mut result) = self.known_hole(theorem, hole, &recheck, config, started)
        {
            result.lean_calls += lean_calls;
            return result;
        }
        let env = LeanEnv::new(
            &theorem.name,
            self.pool.clone(),
            self.runtime.clone(),
            self.cache.clone(),
        )
        .with_parallelism(parallelism);
        let lookahead = config.policy_lookahead.unwrap_or(DEFAULT_POLICY_LOOKAHEAD);
        // The look-ahead also bounds the children of an expansion announced to the policy as
        // soon as their tactics answer: the same knob, pipelined policy calls.
        let mut env = env.with_state_hints(policy.state_hints(), lookahead);
        if config.speculate {
            env =
                env.with_speculation(config.search.expansion_width, config.search.tactic_deadline);
        }
        let mut checker = self.checker(theorem, recheck);
        checker.search = Some(root.clone());
        // Until the search ends, the pool keeps the worker it uses for it (and its recheck).
        let live = self.pool.live_search(&root);
        let search = SearchConfig {
            policy_lookahead: lookahead,
            ..config.search.clone()
        };
        let report = Search::new(search)
            .with_cancel_token(cancel.clone())
            .with_filter(filter)
            .with_hook(hook)
            .run(&mut env, policy, &mut checker, root);
        drop(live);
        if let Some(speculation) = env.speculation_stats() {
            tracing::debug!(
                theorem = %theorem.name,
                speculated = speculation.speculated,
                used = speculation.used,
                dropped = speculation.dropped(),
                peak_in_flight = speculation.peak_in_flight,
                announced = speculation.announced,
                limit = env.parallelism,
                "tactics run ahead of need"
            );
        }
        let stats: &SearchStats = &report.stats;
        lean_calls += env.lean_calls + checker.calls;
        let (status, proof, stop_reason, stop_detail) = match &report.outcome {
            Outcome::Proved(_) => (ProveStatus::Proved, checker.accepted.clone(), None, None),
            // A budget spent while the model was failing is no verdict either: the proposals
            // it withheld were never tried.
            Outcome::Failed(reason) if reason.is_verdict() && stats.policy_errors > 0 => (
                ProveStatus::Error,
                None,
                Some(StopCode::PolicyFailure),
                Some(format!(
                    "{reason}, but the policy failed {} time(s) during the search",
                    stats.policy_errors
                )),
            ),
            Outcome::Failed(reason) => {
                let status = match reason {
                    StopReason::EnvFailure(_) | StopReason::Incomplete { .. } => ProveStatus::Error,
                    _ => ProveStatus::Failed,
                };
                let code = stop_code(reason);
                (status, None, Some(code), Some(reason.to_string()))
            }
        };
        let spent = Spent {
            cost: ::datasets::SearchCost {
                expansions: stats.expansions,
                lean_calls,
                seconds: started.elapsed().as_secs_f64(),
            },
            tactic_runs: stats.env_calls,
        };
        // A search that met any infrastructure failure says nothing reusable about the theorem.
        if stats.infrastructure_errors() == 0 || report.proof().is_some() {
            self.remember(
                theorem,
                statement,
                hole.as_ref(),
                config,
                &report.outcome,
                proof.as_deref(),
                spent,
            );
        }
        let mut faults = env.faults;
        faults.add(checker.faults);
        let rests_on = checker.rests_on.clone().filter(|_| proof.is_some());
        ProveResult {
            schema_version: ::datasets::RESULTS_SCHEMA_VERSION,
            name: theorem.name.clone(),
            status,
            proof,
            stop_reason,
            stop_detail,
            expansions: stats.expansions,
            lean_calls,
            candidates_rejected: stats.candidates_rejected,
            policy_errors: stats.policy_errors,
            llm_fallbacks: 0,
            lean_timeouts: faults.timeouts,
            lean_crashes: faults.crashes,
            from_cache: false,
            original_search: None,
            policy_calls: stats.policy_calls,
            lean_seconds: env.lean_time.as_secs_f64(),
            attempt: None,
            replaces_error: false,
            rests_on,
            lineage: None,
            problem_id: None,
            statement_hash: None,
            plan: None,
            seconds: spent.cost.seconds,
        }
    }

    /// The root state and the Lean calls it took: from the cache when known, else by
    /// elaborating the statement. A statement or header Lean rejects ends the theorem as `error`.
    fn root_state(
        &self,
        theorem: &Theorem,
        start: &Start<'_>,
        config: &ProveConfig,
        started: Instant,
    ) -> Result<(ProofHandle, u32), Box<ProveResult>> {
        let header = &theorem.header;
        if let Some(goals) = self.cache.as_ref().and_then(|c| c.root(header, start.key)) {
            let root = ProofHandle::root_at(header, start.command, start.at, goals);
            return Ok((root, 0));
        }
        let reply = self.runtime.block_on(self.pool.start_proof_at(
            header,
            start.command,
            start.at,
            config.statement_deadline,
        ));
        let (code, reason) = match reply {
            Ok(StartReply::Started(root)) => {
                if let Some(cache) = &self.cache {
                    cache.record_root(header, start.key, root.goals());
                }
                return Ok((root, 1));
            }
            Ok(StartReply::Rejected(messages)) => (
                StopCode::StatementRejected,
                format!(
                    "the statement does not elaborate: {}",
                    first_error(&messages)
                ),
            ),
            Ok(StartReply::HeaderRejected(messages)) => (
                StopCode::HeaderRejected,
                format!("the header does not elaborate: {}", first_error(&messages)),
            ),
            Err(error) => {
                let mut faults = LeanFaults::default();
                faults.count(&theorem.name, &error);
                return Err(Box::new(ProveResult {
                    lean_timeouts: faults.timeouts,
                    lean_crashes: faults.crashes,
                    ..error_result(
                        theorem,
                        StopCode::Infrastructure,
                        error.to_string(),
                        1,
                        started,
                    )
                }));
            }
        };
        Err(Box::new(error_result(theorem, code, reason, 1, started)))
    }

    fn checker(&self, theorem: &Theorem, recheck: Recheck) -> LeanChecker {
        LeanChecker {
            pool: self.pool.clone(),
            runtime: self.runtime.clone(),
            theorem: theorem.clone(),
            recheck,
            search: None,
            calls: 0,
            accepted: None,
            rests_on: None,
            faults: LeanFaults::default(),
        }
    }

    /// A result the cache already decides ([`VerdictReuse`]): the newest record that answers
    /// this search, a proof only once its recheck passes again. The result says it came from
    /// the cache and carries what the search that decided it cost.
    fn known_outcome(
        &self,
        theorem: &Theorem,
        statement: &str,
        recheck: &Recheck,
        config: &ProveConfig,
        started: Instant,
    ) -> Option<ProveResult> {
        let records = self.cache.as_ref()?.theorem(&theorem.header, statement);
        self.known_from(records, |tactic| tactic, theorem, recheck, config, started)
    }

    /// A result a hole's records decide, as [`Engine::known_outcome`] does for a theorem: a
    /// proof's tactics are given this goal's hypothesis names before the recheck in this
    /// declaration.
    fn known_hole(
        &self,
        theorem: &Theorem,
        hole: &HoleKey,
        recheck: &Recheck,
        config: &ProveConfig,
        started: Instant,
    ) -> Option<ProveResult> {
        let records = self.cache.as_ref()?.hole(&theorem.header, &hole.text);
        let renamed = |tactic: String| hole.from_canonical(&tactic);
        self.known_from(records, renamed, theorem, recheck, config, started)
    }

    /// The newest of `records` that answers this search ([`VerdictReuse`]); a proof (its
    /// tactics through `tactic_here`) only once it passes the recheck.
    fn known_from(
        &self,
        mut records: Vec<crate::cache::TheoremRecord>,
        tactic_here: impl Fn(String) -> String,
        theorem: &Theorem,
        recheck: &Recheck,
        config: &ProveConfig,
        started: Instant,
    ) -> Option<ProveResult> {
        if config.reuse_verdicts == VerdictReuse::Never {
            return None;
        }
        let budget = config.budget();
        if config.reuse_verdicts == VerdictReuse::Any {
            // Any proof answers before a failure, as when a theorem kept one record.
            records.sort_by_key(|record| !record.is_proof());
        }
        let mut lean_calls = 0;
        let mut rechecked = false;
        for record in records {
            if !config.reuse_verdicts.allows(&record, &budget) {
                continue;
            }
            let original_search = Some(record.spent.cost);
            match record.verdict {
                crate::cache::Verdict::Proved { tactics, .. } => {
                    // One recheck per search: a proof that fails it says the others would too
                    // (the same statement and rules), or that Lean is failing.
                    if rechecked {
                        continue;
                    }
                    rechecked = true;
                    // Proofs are never reported unchecked, even from the cache.
                    let mut checker = self.checker(theorem, recheck.clone());
                    let verdict = checker.check(&Proof {
                        tactics: tactics.into_iter().map(&tactic_here).collect(),
                        states: Vec::new(),
                    });
                    lean_calls += checker.calls;
                    if let Ok(Verdict::Accepted) = verdict {
                        return Some(ProveResult {
                            proof: checker.accepted,
                            // A proof in place says what it rests on, from the cache too.
                            rests_on: checker.rests_on,
                            from_cache: true,
                            original_search,
                            ..ProveResult::unsearched(
                                &theorem.name,
                                ProveStatus::Proved,
                                lean_calls,
                                started,
                            )
                        });
                    }
                    tracing::warn!(name = %theorem.name, "a cached proof failed its recheck; searching again");
                }
                crate::cache::Verdict::Failed {
                    stop_reason,
                    stop_detail,
                } => {
                    return Some(ProveResult {
                        stop_reason: Some(stop_reason),
                        stop_detail: Some(stop_detail),
                        from_cache: true,
                        original_search,
                        ..ProveResult::unsearched(
                            &theorem.name,
                            ProveStatus::Failed,
                            lean_calls,
                            started,
                        )
                    });
                }
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn remember(
        &self,
        theorem: &Theorem,
        statement: &str,
        hole: Option<&HoleKey>,
        config: &ProveConfig,
        outcome: &Outcome,
        proof: Option<&str>,
        spent: Spent,
    ) {
        let Some(cache) = &self.cache else {
            return;
        };
        let verdict = match (outcome, proof) {
            (Outcome::Proved(found), Some(proof)) => crate::cache::Verdict::Proved {
                proof: proof.to_owned(),
                tactics: found.tactics.clone(),
            },
            // Infrastructure failures and cancellations say nothing about the theorem.
            (Outcome::Failed(reason), _) if !reason.is_verdict() => return,
            (Outcome::Failed(reason), _) => crate::cache::Verdict::Failed {
                stop_reason: stop_code(reason),
                stop_detail: reason.to_string(),
            },
            (Outcome::Proved(_), None) => return,
        };
        let record = TheoremRecord {
            verdict,
            budget: config.budget(),
            spent,
        };
        if let Some(hole) = hole {
            let mut canonical = record.clone();
            if let crate::cache::Verdict::Proved { proof, tactics } = &mut canonical.verdict {
                *proof = hole.to_canonical(proof);
                for tactic in tactics {
                    *tactic = hole.to_canonical(tactic);
                }
            }
            cache.record_hole(&theorem.header, &hole.text, canonical);
        }
        cache.record_theorem(&theorem.header, statement, record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_search_setting_and_the_policy_change_the_identity_of_recorded_failures() {
        let base = ProveConfig {
            policy_id: "portfolio(v1)".into(),
            ..ProveConfig::default()
        };
        assert_eq!(
            base.budget(),
            base.clone().budget(),
            "the same settings, the same identity"
        );
        type Change = Box<dyn Fn(&mut ProveConfig)>;
        let changes: Vec<(&str, Change)> = vec![
            ("policy", Box::new(|c| c.policy_id.push('!'))),
            ("width", Box::new(|c| c.search.expansion_width += 1)),
            ("alpha", Box::new(|c| c.search.depth_exponent += 0.5)),
            (
                "max_expansions",
                Box::new(|c| c.search.max_expansions = Some(7)),
            ),
            (
                "max_time",
                Box::new(|c| c.search.max_time = Some(Duration::from_secs(1))),
            ),
            (
                "max_env_calls",
                Box::new(|c| c.search.max_env_calls = Some(9)),
            ),
            (
                "tactic_deadline",
                Box::new(|c| c.search.tactic_deadline += Duration::from_secs(1)),
            ),
        ];
        for (what, change) in changes {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(
                changed.budget(),
                base.budget(),
                "{what} must be part of the identity"
            );
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("a runtime")
    }

    #[test]
    fn apply_in_order_keeps_at_most_p_in_flight_answers_in_order_and_stops_at_a_break() {
        let runtime = runtime();
        for parallelism in 1..=4 {
            let mut launched = 0;
            let mut delivered = Vec::new();
            let handle = runtime.handle().clone();
            apply_in_order(
                &handle,
                parallelism,
                10,
                |index| {
                    launched += 1;
                    if index % 3 == 0 {
                        Launch::Ready(index)
                    } else {
                        Launch::Running(handle.spawn(async move {
                            // Later steps finish first.
                            for _ in 0..(10 - index) {
                                tokio::task::yield_now().await;
                            }
                            index
                        }))
                    }
                },
                |answer| {
                    delivered.push(answer.expect("no panic"));
                    if delivered.len() == 2 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            );
            assert_eq!(delivered, [0, 1]);
            // P before the first answer, one more after it; none after the break.
            assert_eq!(launched, parallelism + 1, "parallelism {parallelism}");
        }
    }

    #[test]
    fn a_step_whose_task_panicked_is_an_error_in_its_place() {
        let runtime = runtime();
        let handle = runtime.handle().clone();
        let mut answers = Vec::new();
        apply_in_order(
            &handle,
            3,
            3,
            |index| {
                Launch::Running(handle.spawn(async move {
                    assert_ne!(index, 1, "step 1 panics");
                    index
                }))
            },
            |answer| {
                answers.push(answer.map_err(|error| error.contains("panic")));
                ControlFlow::Continue(())
            },
        );
        assert_eq!(answers, [Ok(0), Err(true), Ok(2)]);
    }
}

/// What one tactic did on a goal's root state ([`Engine::probe`]): what an agent trying
/// tactics by hand is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Tried {
    /// It closed every goal.
    Proved,
    /// It left these goals.
    Goals(Vec<String>),
    /// Lean refused it (its message), or it ran out of time.
    Rejected(String),
    /// The REPL crashed or broke the protocol running it.
    Failed(String),
}

/// The goals at a goal's root and what each tactic tried there did.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The root state's goals, as Lean printed them.
    pub goals: Vec<String>,
    /// Each tactic, in the order given, with what it did.
    pub tried: Vec<(String, Tried)>,
    /// Requests sent to Lean (cached answers cost none).
    pub lean_calls: u32,
}

impl Engine {
    /// The root state of `goal` and what each of `tactics` does on it, each on the root (not
    /// one after another), through the pool and the cache. `Err` is an `error` result when the
    /// statement, the header or the REPL failed. Call from a blocking thread.
    pub fn probe(
        &self,
        goal: &Goal,
        tactics: &[String],
        config: &ProveConfig,
    ) -> Result<Probe, Box<ProveResult>> {
        let started = Instant::now();
        let (theorem, statement, key, at) = match goal {
            Goal::Theorem(theorem) => {
                let statement = ::datasets::lean::with_sorry(&theorem.formal_statement);
                (theorem.clone(), statement.clone(), statement, None)
            }
            Goal::Sorry(sorry) => (
                Theorem {
                    name: sorry.name.clone(),
                    header: sorry.header.clone(),
                    formal_statement: sorry.declaration.clone(),
                },
                sorry.declaration.clone(),
                cache_statement(sorry),
                Some(sorry.at.into()),
            ),
        };
        let start = Start {
            command: &statement,
            at,
            key: &key,
        };
        let (root, root_calls) = self.root_state(&theorem, &start, config, started)?;
        let mut env = LeanEnv::new(
            &theorem.name,
            self.pool.clone(),
            self.runtime.clone(),
            self.cache.clone(),
        );
        let tried = tactics
            .iter()
            .map(|tactic| {
                let outcome = match env.apply(&root, tactic, config.search.tactic_deadline) {
                    Ok(Applied::Proved) => Tried::Proved,
                    Ok(Applied::Goals(next)) => Tried::Goals(next.goals().to_vec()),
                    Ok(Applied::Rejected(message)) => Tried::Rejected(message),
                    Err(error) => Tried::Failed(error.to_string()),
                };
                (tactic.clone(), outcome)
            })
            .collect();
        Ok(Probe {
            goals: root.goals().to_vec(),
            tried,
            lean_calls: root_calls + env.lean_calls,
        })
    }
}
