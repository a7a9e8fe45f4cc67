//! Property tests of `prover::search` on random small offline worlds: an oracle (`bfs_prove`) and metamorphic relations.
//!
//! Set `CI` to turn shrinking off, so a failure on CI reports quickly and the raw case is kept.

use std::fmt::Write as _;
use std::time::Duration;

use proptest::prelude::*;
use std::sync::{Arc, RwLock};

use prover::engine::{Launch, apply_in_order};
use prover::policy::CombinedPolicy;
use prover::policy::learned::{LearnedModel, LearnedPolicy};
use prover::search::offline::{AlwaysAccept, OfflineEnv, OfflineState, ScriptedPolicy, bfs_prove};
use prover::search::{
    Applied, Candidate, EnvError, ManualClock, Outcome, Policy, PolicyError, ProofEnv, Query,
    Search, SearchConfig, SearchEvent, SearchReport, Tactics,
};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// A random world: state `i` is listed with its tactics; state `states.len()` is an unlisted
/// dead end.
#[derive(Debug, Clone)]
struct World {
    states: Vec<Vec<Tactic>>,
}

#[derive(Debug, Clone)]
struct Tactic {
    /// Unique within its state and stable under removal, so worlds can be compared.
    name: String,
    score: f64,
    effect: Effect,
}

#[derive(Debug, Clone, Copy)]
enum Effect {
    Goto(usize),
    Done,
    Refused,
    EnvError,
}

impl World {
    /// The world in the fixture language.
    fn fixture(&self) -> String {
        let dead_end = self.states.len();
        let mut text = String::new();
        for (index, tactics) in self.states.iter().enumerate() {
            writeln!(text, "{}", state_line(index, dead_end)).unwrap();
            for tactic in tactics {
                let result = match tactic.effect {
                    Effect::Goto(target) => state_line(target, dead_end),
                    Effect::Done => "done".to_owned(),
                    Effect::Refused => "error: no".to_owned(),
                    Effect::EnvError => "env-error: boom".to_owned(),
                };
                // `{:?}` prints the shortest text that parses back to the same f64.
                writeln!(text, "  {:?} {} => {result}", tactic.score, tactic.name).unwrap();
            }
        }
        text
    }

    /// The same world with new scores (cycled over every tactic) and each state's tactics in
    /// reverse order, so both the scores and the ties between them change.
    fn rescored(&self, scores: &[f64]) -> World {
        let mut next_score = scores.iter().copied().cycle();
        let states = self
            .states
            .iter()
            .map(|tactics| {
                let mut tactics = tactics.clone();
                tactics.reverse();
                for tactic in &mut tactics {
                    tactic.score = next_score.next().unwrap_or(0.0);
                }
                tactics
            })
            .collect();
        World { states }
    }

    /// The same world without the tactics whose `keep` flag (cycled) is false.
    fn without_some_tactics(&self, keep: &[bool]) -> World {
        let mut next_flag = keep.iter().copied().cycle();
        let states = self
            .states
            .iter()
            .map(|tactics| {
                tactics
                    .iter()
                    .filter(|_| next_flag.next().unwrap_or(true))
                    .cloned()
                    .collect()
            })
            .collect();
        World { states }
    }
}

/// Odd states have two goals, to exercise multi-goal texts.
fn state_line(index: usize, dead_end: usize) -> String {
    if index == dead_end {
        "⊢ dead".to_owned()
    } else if index % 2 == 1 {
        format!("⊢ s{index} ; ⊢ s{index}'")
    } else {
        format!("⊢ s{index}")
    }
}

fn score() -> impl Strategy<Value = f64> {
    // Few distinct values, so priorities tie often and tie-breaking is exercised.
    prop_oneof![Just(0.0), Just(-1.0), Just(-0.5), -5.0..0.0]
}

fn world() -> impl Strategy<Value = World> {
    (1usize..=8).prop_flat_map(|state_count| {
        let effect = prop_oneof![
            10 => (0..=state_count).prop_map(Effect::Goto),
            2 => Just(Effect::Done),
            2 => Just(Effect::Refused),
            1 => Just(Effect::EnvError),
        ];
        let tactics = prop::collection::vec((score(), effect), 1..=3).prop_map(|tactics| {
            let named = tactics.into_iter().enumerate();
            named
                .map(|(i, (score, effect))| Tactic {
                    name: format!("t{i}"),
                    score,
                    effect,
                })
                .collect::<Vec<_>>()
        });
        prop::collection::vec(tactics, state_count).prop_map(|states| World { states })
    })
}

/// Any configuration, limits included.
fn config() -> impl Strategy<Value = SearchConfig> {
    let width = prop_oneof![1usize..=4, Just(usize::MAX)];
    let expansions = prop::option::of(1u32..20);
    let env_calls = prop::option::of(1u32..30);
    (0.0..3.0f64, width, expansions, env_calls, 1u32..4).prop_map(
        |(alpha, width, expansions, env_calls, errors)| SearchConfig {
            depth_exponent: alpha,
            expansion_width: width,
            max_expansions: expansions,
            max_env_calls: env_calls,
            max_consecutive_errors: errors,
            ..SearchConfig::default()
        },
    )
}

fn exhaustive(alpha: f64) -> SearchConfig {
    SearchConfig {
        depth_exponent: alpha,
        ..SearchConfig::exhaustive()
    }
}

/// An environment that runs an expansion's tactics as a batch, as a pool of REPL processes
/// would: in chunks of `chunk`, each computed last tactic first and all of it before any answer
/// is handed over (so work after a proof or a budget is done and thrown away), the answers then
/// handed over in the tactics' order.
struct BatchedEnv {
    inner: OfflineEnv,
    chunk: usize,
    /// Tactics run, answers thrown away included.
    computed: u32,
}

impl ProofEnv for BatchedEnv {
    type State = OfflineState;

    fn apply(
        &mut self,
        state: &OfflineState,
        tactic: &str,
        deadline: Duration,
    ) -> Result<Applied<OfflineState>, EnvError> {
        self.computed += 1;
        self.inner.apply(state, tactic, deadline)
    }

    fn canonical_text(&self, state: &OfflineState) -> String {
        self.inner.canonical_text(state)
    }

    fn apply_all(
        &mut self,
        state: &OfflineState,
        tactics: Tactics<'_>,
        deadline: Duration,
        answer: &mut dyn FnMut(Result<Applied<OfflineState>, EnvError>) -> ControlFlow<()>,
    ) {
        let mut start = 0;
        while start < tactics.len() {
            let end = start.saturating_add(self.chunk).min(tactics.len());
            let mut computed: Vec<_> = (start..end)
                .rev()
                .map(|index| {
                    let tactic = tactics.get(index).expect("index below the length");
                    self.apply(state, tactic, deadline)
                })
                .collect();
            computed.reverse();
            for result in computed {
                if answer(result).is_break() {
                    return;
                }
            }
            start = end;
        }
    }
}

/// Runs the search on `world` and returns the report and every event, as debug text.
fn run(world: &World, config: SearchConfig) -> (SearchReport, Vec<String>) {
    let mut env = OfflineEnv::from_fixture(&world.fixture()).expect("generated fixture parses");
    run_in(&mut env, world, config)
}

/// [`run`] through a [`BatchedEnv`] that computes `chunk` tactics at a time; also returns how
/// many tactics it ran.
fn run_batched(
    world: &World,
    config: SearchConfig,
    chunk: usize,
) -> (SearchReport, Vec<String>, u32) {
    let inner = OfflineEnv::from_fixture(&world.fixture()).expect("generated fixture parses");
    let mut env = BatchedEnv {
        inner,
        chunk,
        computed: 0,
    };
    let (report, events) = run_in(&mut env, world, config);
    (report, events, env.computed)
}

/// An environment that runs an expansion's tactics through the engine's parallel adapter
/// (`prover::engine::apply_in_order`, what `LeanEnv` uses over the REPL pool): up to
/// `parallelism` at once, each answer handed over by a task on a two-thread runtime after a
/// scrambled number of yields, so tasks finish out of order.
struct ParallelEnv {
    inner: OfflineEnv,
    parallelism: usize,
    runtime: tokio::runtime::Runtime,
    /// Yields before the `i`th tactic's task answers, cycled.
    scramble: Vec<u8>,
}

impl ProofEnv for ParallelEnv {
    type State = OfflineState;

    fn apply(
        &mut self,
        state: &OfflineState,
        tactic: &str,
        deadline: Duration,
    ) -> Result<Applied<OfflineState>, EnvError> {
        self.inner.apply(state, tactic, deadline)
    }

    fn canonical_text(&self, state: &OfflineState) -> String {
        self.inner.canonical_text(state)
    }

    fn apply_all(
        &mut self,
        state: &OfflineState,
        tactics: Tactics<'_>,
        deadline: Duration,
        answer: &mut dyn FnMut(Result<Applied<OfflineState>, EnvError>) -> ControlFlow<()>,
    ) {
        let runtime = self.runtime.handle().clone();
        let (inner, scramble) = (&mut self.inner, &self.scramble);
        let launch = |index: usize| {
            let tactic = tactics.get(index).expect("index below the length");
            let result = inner.apply(state, tactic, deadline);
            let yields = scramble[index % scramble.len()];
            Launch::Running(runtime.spawn(async move {
                for _ in 0..yields {
                    tokio::task::yield_now().await;
                }
                result
            }))
        };
        apply_in_order(
            &runtime,
            self.parallelism,
            tactics.len(),
            launch,
            |result| answer(result.expect("no task panics")),
        );
    }
}

/// A policy that answers every hinted query at once, when the search hints it
/// ([`Policy::prefetch`]), and serves the later `propose` from that answer, as the model
/// policy does with its requests. It checks that the hinted query is the one proposed later.
struct AnsweringAhead {
    inner: ScriptedPolicy,
    /// By state: the hinted query (state, depth, path, width) and the answer computed then.
    ahead: HashMap<String, (String, Result<Vec<Candidate>, PolicyError>)>,
    /// Proposals answered from a hint.
    served: u32,
}

impl Policy for AnsweringAhead {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        match self.ahead.remove(query.state) {
            Some((hinted, answer)) => {
                assert_eq!(hinted, format!("{query:?}"), "the hint was another query");
                self.served += 1;
                answer
            }
            None => self.inner.propose(query),
        }
    }

    fn prefetch(&mut self, upcoming: &[Query<'_>]) {
        for query in upcoming {
            let answer = self.inner.propose(query);
            self.ahead
                .insert(query.state.to_owned(), (format!("{query:?}"), answer));
        }
    }
}

/// [`run`] through a [`ParallelEnv`].
fn run_parallel(
    world: &World,
    config: SearchConfig,
    parallelism: usize,
    scramble: Vec<u8>,
) -> (SearchReport, Vec<String>) {
    let inner = OfflineEnv::from_fixture(&world.fixture()).expect("generated fixture parses");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a runtime");
    let mut env = ParallelEnv {
        inner,
        parallelism,
        runtime,
        scramble,
    };
    run_in(&mut env, world, config)
}

fn run_in<E: ProofEnv<State = OfflineState>>(
    env: &mut E,
    world: &World,
    config: SearchConfig,
) -> (SearchReport, Vec<String>) {
    let offline = OfflineEnv::from_fixture(&world.fixture()).expect("generated fixture parses");
    let mut policy = ScriptedPolicy::from_env(&offline);
    run_with_policy(env, &offline, &mut policy, config)
}

fn run_with_policy<E: ProofEnv<State = OfflineState>>(
    env: &mut E,
    offline: &OfflineEnv,
    policy: &mut impl Policy,
    config: SearchConfig,
) -> (SearchReport, Vec<String>) {
    let root = offline.root();
    let mut events = Vec::new();
    let hook = |event: &SearchEvent<'_>| events.push(format!("{event:?}"));
    let report = Search::new(config)
        .with_clock(ManualClock::new())
        .with_hook(hook)
        .run(env, policy, &mut AlwaysAccept, root);
    (report, events)
}

/// [`run_parallel`] with a policy answering the search's look-ahead hints ahead of need
/// ([`AnsweringAhead`]); also returns how many proposals a hint answered.
fn run_parallel_ahead(
    world: &World,
    config: SearchConfig,
    parallelism: usize,
    scramble: Vec<u8>,
) -> (SearchReport, Vec<String>, u32) {
    let offline = OfflineEnv::from_fixture(&world.fixture()).expect("generated fixture parses");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a runtime");
    let mut env = ParallelEnv {
        inner: OfflineEnv::from_fixture(&world.fixture()).expect("generated fixture parses"),
        parallelism,
        runtime,
        scramble,
    };
    let mut policy = AnsweringAhead {
        inner: ScriptedPolicy::from_env(&offline),
        ahead: HashMap::new(),
        served: 0,
    };
    let (report, events) = run_with_policy(&mut env, &offline, &mut policy, config);
    (report, events, policy.served)
}

fn proves(world: &World, config: SearchConfig) -> bool {
    matches!(run(world, config).0.outcome, Outcome::Proved(_))
}

fn proptest_config() -> ProptestConfig {
    let mut config = ProptestConfig::with_cases(256);
    if std::env::var_os("CI").is_some() {
        config.max_shrink_iters = 0;
    }
    config
}

proptest! {
    #![proptest_config(proptest_config())]

    /// (1) With exhaustive limits, best-first proves exactly what the breadth-first oracle
    /// proves; its proof replays, and is no shorter than the oracle's shortest one.
    #[test]
    fn best_first_proves_exactly_when_bfs_does(world in world(), alpha in 0.0..3.0f64) {
        let mut env = OfflineEnv::from_fixture(&world.fixture()).unwrap();
        let root = env.root();
        let oracle = bfs_prove(&env, &root);
        let (report, _) = run(&world, exhaustive(alpha));
        match (&report.outcome, &oracle) {
            (Outcome::Proved(proof), Some(shortest)) => {
                prop_assert!(proof.len() >= shortest.len());
                prop_assert_eq!(proof.replay(&mut env, root, Duration::from_secs(1)).ok(), Some(true));
            }
            // A tactic that failed as infrastructure leaves the tree unexplored: then the
            // search may not claim exhaustion (the oracle treats the edge as failed).
            (Outcome::Failed(reason), None) if report.stats.env_errors > 0 => {
                let incomplete = matches!(
                    reason,
                    prover::search::StopReason::Incomplete {
                        source: prover::search::FaultSource::Environment,
                        ..
                    }
                );
                prop_assert!(incomplete, "{reason:?}");
            }
            (Outcome::Failed(reason), None) => {
                prop_assert_eq!(reason, &prover::search::StopReason::Exhausted);
            }
            (outcome, oracle) => {
                prop_assert!(false, "search: {outcome:?}, oracle: {oracle:?}\n{}", world.fixture());
            }
        }
    }

    /// (2) The same inputs give the same report and the same events, whatever the limits.
    #[test]
    fn same_inputs_give_the_same_report(world in world(), config in config()) {
        let first = run(&world, config.clone());
        let second = run(&world, config);
        prop_assert_eq!(first, second);
    }

    /// (2b) An environment that batches an expansion's tactics, computing them out of order
    /// and ahead of need, gives the same report and the same events as one that runs them one
    /// by one, whatever the limits and however many proofs are wanted; the search takes no more
    /// answers than the one-by-one run computed.
    #[test]
    fn a_batched_env_gives_the_same_report(
        world in world(),
        config in config(),
        wanted in 1u32..4,
        chunk in prop_oneof![1usize..=3, Just(usize::MAX)],
    ) {
        let config = SearchConfig { proofs_wanted: wanted, ..config };
        let (report, events) = run(&world, config.clone());
        let (batched, batched_events, computed) = run_batched(&world, config, chunk);
        prop_assert!(computed >= batched.stats.env_calls);
        prop_assert_eq!(&report, &batched);
        prop_assert_eq!(events, batched_events);
        if chunk == 1 {
            prop_assert_eq!(computed, report.stats.env_calls, "one at a time wastes nothing");
        }
    }

    /// (2c) Parallel expansion through the engine's adapter: for every parallelism P, with or
    /// without policy look-ahead (a policy answering the hinted states ahead of need), the same
    /// report and the same events as one tactic at a time with no look-ahead, whatever the
    /// limits and however the tasks finish; with exhaustive limits, every P proves exactly
    /// what the breadth-first oracle proves.
    #[test]
    fn parallel_expansion_gives_the_same_report_for_every_parallelism(
        world in world(),
        config in config(),
        wanted in 1u32..3,
        parallelism in 1usize..=8,
        lookahead in 0usize..4,
        scramble in prop::collection::vec(0u8..8, 1..8),
        alpha in 0.0..3.0f64,
    ) {
        let config = SearchConfig { proofs_wanted: wanted, ..config };
        let one_by_one = run(&world, config.clone());
        let parallel = run_parallel(&world, config.clone(), parallelism, scramble.clone());
        prop_assert_eq!(&one_by_one, &parallel);
        let ahead = SearchConfig { policy_lookahead: lookahead, ..config };
        let (report, events, served) =
            run_parallel_ahead(&world, ahead, parallelism, scramble.clone());
        prop_assert_eq!(&one_by_one, &(report, events));
        if lookahead == 0 {
            prop_assert_eq!(served, 0, "no look-ahead, no hint");
        }
        let env = OfflineEnv::from_fixture(&world.fixture()).unwrap();
        let oracle = bfs_prove(&env, &env.root()).is_some();
        let (report, _) = run_parallel(&world, exhaustive(alpha), parallelism, scramble);
        let proved = matches!(report.outcome, Outcome::Proved(_));
        if report.stats.env_errors == 0 {
            prop_assert_eq!(proved, oracle, "{}", world.fixture());
        } else {
            // The oracle treats an edge that failed as infrastructure as failed; the search
            // may still find a proof elsewhere, never one the oracle cannot.
            prop_assert!(!proved || oracle, "{}", world.fixture());
        }
    }

    /// (3) Changing and reordering the policy's scores never changes provability under
    /// exhaustive limits.
    #[test]
    fn rescoring_never_changes_provability(
        world in world(),
        scores in prop::collection::vec(score(), 1..8),
        alpha in 0.0..3.0f64,
    ) {
        prop_assert_eq!(
            proves(&world, exhaustive(alpha)),
            proves(&world.rescored(&scores), exhaustive(alpha)),
        );
    }

    /// (4) Removing tactics never makes an unprovable goal provable.
    #[test]
    fn removing_tactics_never_makes_a_goal_provable(
        world in world(),
        keep in prop::collection::vec(any::<bool>(), 1..8),
        alpha in 0.0..3.0f64,
    ) {
        let reduced = world.without_some_tactics(&keep);
        if proves(&reduced, exhaustive(alpha)) {
            prop_assert!(proves(&world, exhaustive(alpha)), "{}", world.fixture());
        }
    }

    /// (5) The learned policy, combined with the base policy as `--policy learned` combines
    /// it with the portfolio, only reorders and adds: under exhaustive limits it proves
    /// exactly what the base policy proves, whatever it was trained on.
    #[test]
    fn a_learned_model_never_changes_provability_under_exhaustive_limits(
        world in world(),
        training in prop::collection::vec((0usize..9, 0usize..4), 0..12),
        alpha in 0.0..3.0f64,
    ) {
        let dead_end = world.states.len();
        let steps: Vec<(String, String)> = training
            .iter()
            .map(|&(state, tactic)| (state_line(state.min(dead_end), dead_end), format!("t{tactic}")))
            .collect();
        let model = LearnedModel::train(&steps, &steps[..steps.len() / 2]);
        let mut env = OfflineEnv::from_fixture(&world.fixture()).unwrap();
        let root = env.root();
        let mut combined = CombinedPolicy::new(
            LearnedPolicy::new(Arc::new(RwLock::new(model))),
            ScriptedPolicy::from_env(&env),
        );
        let report = Search::new(exhaustive(alpha))
            .with_clock(ManualClock::new())
            .run(&mut env, &mut combined, &mut AlwaysAccept, root);
        prop_assert_eq!(
            matches!(report.outcome, Outcome::Proved(_)),
            proves(&world, exhaustive(alpha)),
            "{}", world.fixture()
        );
    }
}
