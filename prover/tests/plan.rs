//! The planner (`pipeline::plan`) with a scripted planner against sim-repl's planner world (a simulated REPL, not Lean): a theorem no direct search proves is proved through a skeleton's holes; a changed statement, a skeleton that does not elaborate and a false lemma are refused or given up, with a replan that names the failed goal; a theorem the direct search proves never reaches the planner.

use datasets::plan::{PlanOutcome, SkeletonLabel};
use prover::check::{HeaderOrigin, ProofTask, Status};
use prover::engine::{ProveStatus, StopCode, Theorem};
use prover::job::{Goal, Job, JobEnd, JobResult, NoObserver};
use prover::pipeline::Stop;
use prover::pipeline::plan::{self, PlanConfig, Planned, ScriptedPlanner};
use prover::session::{Session, SessionConfig};
use prover::settings::{self, CacheOverlay, Overlay, ReplOverlay, SearchOverlay, SettingsFile};
use prover_tests::harness::{SimRepl, logged_requests, workspace_root};

/// One flat search of `theorem` on `session`, through the one door.
async fn search(session: &Session, theorem: &Theorem) -> prover::ProveResult {
    let job = Job::Prove(Goal::Theorem(theorem.clone()));
    let handle = session.prover().submit(job, NoObserver);
    handle.wait().await.prove_result(&theorem.name)
}

const HEADER: &str = "import Mathlib\n\n";
const STATEMENT: &str = "theorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by";
const GOOD: &str = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 = x * x := by sorry\n  have h₂ : x * x ≥ 2 * x := by sorry\n  exact h₁ ▸ h₂\n```";
const CHANGED: &str =
    "```lean\ntheorem two_steps (x : ℕ) (h : 1 ≤ x) : x ^ 2 ≥ 2 * x := by\n  sorry\n```";
const NOT_ELABORATING: &str = "Try this:\n```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x = 7 := by sorry\n  exact h₁ ▸ h\n```";
const FALSE_LEMMA: &str = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 = 2 * x := by sorry\n  exact h₁ ▸ le_refl _\n```";

fn config(max_expansions: u32) -> SessionConfig {
    let world = workspace_root().join("tests/fixtures/worlds/planner.json");
    let mut overlay = Overlay {
        repl: ReplOverlay {
            repl_cmd: Some(SimRepl::world(&world).command_line()),
            workers: Some(2),
            ..ReplOverlay::default()
        },
        search: SearchOverlay {
            max_expansions: Some(max_expansions),
            ..SearchOverlay::default()
        },
        // No verdict from an earlier run (or the user's cache) may decide a hole, and the
        // tests run side by side, which one cache directory refuses.
        cache: CacheOverlay {
            no_cache: true,
            ..CacheOverlay::default()
        },
        ..Overlay::default()
    };
    // No proof-state cache: each test sees its own searches (their events included), never
    // an earlier run's verdicts from the user's cache directory.
    overlay.cache.no_cache = true;
    settings::session_config(&overlay, &SettingsFile::default()).unwrap()
}

fn theorem(name: &str, statement: &str) -> Theorem {
    Theorem {
        name: name.to_owned(),
        header: HEADER.to_owned(),
        formal_statement: statement.to_owned(),
    }
}

async fn planned(session: &Session, planner: &ScriptedPlanner, theorem: Theorem) -> Planned {
    let (_stop_sender, stop) = Stop::channel();
    plan::prove(
        &session.prover(),
        planner,
        &PlanConfig::default(),
        theorem,
        &stop,
    )
    .await
}

/// `prover check`'s verdict on the reported proof, through the session's one door.
async fn checked(session: &Session, theorem: &Theorem, proof: &str) -> Status {
    let task = ProofTask {
        line: 0,
        name: theorem.name.clone(),
        header: theorem.header.clone(),
        formal_statement: theorem.formal_statement.clone(),
        proof: proof.to_owned(),
        header_origin: HeaderOrigin::Reference,
    };
    match session.submit(Job::Check(task), NoObserver).wait().await {
        JobEnd::Finished(JobResult::Check(result)) => result.status,
        other => panic!("the check did not finish: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_theorem_no_direct_search_proves_is_proved_through_a_skeletons_holes() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(40)).unwrap();
    let two_steps = theorem("two_steps", STATEMENT);
    // Without the planner, at the whole budget: no tactic reachable from the root proves it.
    let flat = search(&session, &two_steps).await;
    assert_eq!(flat.status, ProveStatus::Failed, "{flat:?}");

    let planner = ScriptedPlanner::new().with(
        "two_steps",
        vec![vec![CHANGED.into(), NOT_ELABORATING.into(), GOOD.into()]],
    );
    let Planned { result, record } = planned(&session, &planner, two_steps.clone()).await;
    assert_eq!(
        result.status,
        ProveStatus::Proved,
        "{result:?}\n{record:#?}"
    );
    assert_eq!(record.outcome, PlanOutcome::Plan);
    let labels: Vec<SkeletonLabel> = record.skeletons.iter().map(|s| s.label).collect();
    assert_eq!(
        labels,
        [
            SkeletonLabel::Refused,
            SkeletonLabel::Refused,
            SkeletonLabel::ClosedAll
        ]
    );
    let reasons: Vec<&str> = record
        .skeletons
        .iter()
        .map(|s| s.reason.as_deref().unwrap_or(""))
        .collect();
    assert!(
        reasons[0].starts_with("the statement was changed"),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("does not elaborate"), "{reasons:?}");
    let holes = &record.skeletons[2].holes;
    assert_eq!(holes.len(), 2);
    assert_eq!(
        holes[1].goal,
        "x : ℕ\nh : 2 ≤ x\nh₁ : x ^ 2 = x * x\n⊢ x * x ≥ 2 * x"
    );
    assert!(holes.iter().all(|hole| hole.search.proved), "{holes:?}");

    // The reported proof has no sorry, is the one recorded, and passes `prover check`.
    let proof = result.proof.clone().unwrap();
    assert!(!proof.contains("sorry"), "{proof}");
    assert_eq!(record.proof.as_deref(), Some(proof.as_str()));
    assert_eq!(checked(&session, &two_steps, &proof).await, Status::Valid);
    // The planner was asked once, for the default number of skeletons.
    assert_eq!(planner.requests().len(), 1);
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_lemma_is_given_up_and_the_replan_names_its_goal() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(40)).unwrap();
    let planner = ScriptedPlanner::new().with(
        "two_steps",
        vec![vec![FALSE_LEMMA.into()], vec![GOOD.into()]],
    );
    let Planned { result, record } =
        planned(&session, &planner, theorem("two_steps", STATEMENT)).await;
    assert_eq!(
        result.status,
        ProveStatus::Proved,
        "{result:?}\n{record:#?}"
    );
    assert_eq!(record.skeletons[0].label, SkeletonLabel::Refuted);
    assert_eq!(record.skeletons[1].round, 1);
    let requests = planner.requests();
    assert_eq!(requests.len(), 2);
    let feedback = requests[1]
        .feedback
        .as_ref()
        .expect("the replan carries feedback");
    assert_eq!(feedback.holes.len(), 1);
    assert_eq!(feedback.holes[0].goal, "x : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = 2 * x");
    assert_eq!(feedback.holes[0].stop_reason, Some(StopCode::Exhausted));
    // Exhausted, not disproved: the replan does not call the lemma false.
    assert!(!feedback.holes[0].negation_proved, "{feedback:#?}");
    // Its search reached no state beyond its own goal; it carries the last errors Lean gave
    // (at most three, each naming its tactic).
    let hole = &feedback.holes[0];
    assert!(hole.frontier.is_empty(), "{hole:#?}");
    assert!((1..=3).contains(&hole.errors.len()), "{hole:#?}");
    assert!(
        hole.errors
            .iter()
            .all(|e| e.ends_with(": <input>:1:1: unknown tactic")),
        "{hole:#?}"
    );
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_says_why_and_a_direct_proof_never_asks_the_planner() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(40)).unwrap();
    let planner = ScriptedPlanner::new()
        .with(
            "two_steps",
            vec![vec![CHANGED.into()], vec![NOT_ELABORATING.into()]],
        )
        .with("direct", vec![vec![GOOD.into()]]);
    let refused = planned(&session, &planner, theorem("two_steps", STATEMENT)).await;
    assert_eq!(refused.result.status, ProveStatus::Failed);
    assert_eq!(refused.result.stop_reason, Some(StopCode::PlanRefused));
    // Two rounds answered, the third got nothing: planning stops there.
    assert_eq!(refused.record.planner_calls, 3, "{:?}", refused.record);
    assert!(refused.result.proof.is_none());

    let direct = planned(
        &session,
        &planner,
        theorem("direct", "theorem direct (x : ℕ) : x + 0 = x := by"),
    )
    .await;
    assert_eq!(direct.result.status, ProveStatus::Proved);
    assert_eq!(direct.record.outcome, PlanOutcome::Direct);
    assert!(
        planner
            .requests()
            .iter()
            .all(|request| request.theorem.name != "direct")
    );

    let silent = ScriptedPlanner::new();
    let unplanned = planned(&session, &silent, theorem("two_steps", STATEMENT)).await;
    assert_eq!(unplanned.result.status, ProveStatus::Error);
    assert_eq!(unplanned.result.stop_reason, Some(StopCode::PlannerFailure));
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_line_is_masked_once_and_the_rest_proves_the_theorem() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(40)).unwrap();
    let with_junk = GOOD.replace(
        "  have h₁ : x ^ 2 = x * x",
        "  have h₀ : x = 7 := by sorry\n  have h₁ : x ^ 2 = x * x",
    );
    let planner = ScriptedPlanner::new().with("two_steps", vec![vec![with_junk]]);
    let Planned { result, record } =
        planned(&session, &planner, theorem("two_steps", STATEMENT)).await;
    assert_eq!(
        result.status,
        ProveStatus::Proved,
        "{result:?}\n{record:#?}"
    );
    let used = &record.skeletons[0];
    assert_eq!(used.label, SkeletonLabel::ClosedAll);
    assert!(!used.text.contains("h₀"), "{}", used.text);
    assert_eq!(used.holes.len(), 2);
    assert!(!result.proof.unwrap().contains("h₀"));
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replan_keeps_its_closed_hole_without_searching_it_again() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(40)).unwrap();
    // Its second hole leads the search down an endless chain: open when its budget runs out.
    let partial = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 = x * x := by sorry\n  have h₂ : x * x ≥ 2 * x + 0 := by sorry\n  nlinarith [h₁, h₂]\n```";
    let planner =
        ScriptedPlanner::new().with("two_steps", vec![vec![partial.into()], vec![GOOD.into()]]);
    let Planned { result, record } =
        planned(&session, &planner, theorem("two_steps", STATEMENT)).await;
    assert_eq!(
        result.status,
        ProveStatus::Proved,
        "{result:?}\n{record:#?}"
    );
    let first = &record.skeletons[0];
    assert_eq!(first.label, SkeletonLabel::Partial, "{first:#?}");
    assert!(first.holes[0].search.proved);
    assert_eq!(
        first.holes[1].search.stop_reason,
        Some(StopCode::ExpansionLimit)
    );
    // The replan was told which hole closed and how, and kept it: it was not searched again.
    let feedback = planner.requests()[1].feedback.clone().unwrap();
    assert!(feedback.holes[0].proof.is_some(), "{feedback:?}");
    assert_eq!(
        feedback.holes[1].stop_reason,
        Some(StopCode::ExpansionLimit)
    );
    // And, of the open hole, the furthest goals of its endless chain (the best 1–3 it took
    // from its frontier, not its own goal) and nothing of the closed one.
    let open = &feedback.holes[1];
    assert!(
        (1..=3).contains(&open.frontier.len()),
        "{:#?}",
        open.frontier
    );
    for goal in &open.frontier {
        assert!(goal.contains("⊢ x * x ≥ 2 * x + 0 + 0"), "{goal}");
        assert_ne!(goal, &open.goal);
    }
    assert!(feedback.holes[0].frontier.is_empty() && feedback.holes[0].errors.is_empty());
    assert_eq!(record.skeletons[0].holes[1].frontier, open.frontier);
    let second = &record.skeletons[1];
    assert_eq!(second.label, SkeletonLabel::ClosedAll);
    assert!(second.holes[0].search.from_cache, "{:?}", second.holes[0]);
    assert_eq!(second.holes[0].search.expansions, 0);
    assert!(!second.holes[1].search.from_cache);
    // Nothing overran the budget: 40 expansions in all.
    assert!(result.expansions <= 40, "{result:?}");
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_planning_leaves_goes_to_the_direct_search_again() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(40)).unwrap();
    // Ten steps: beyond the direct search's 15 % of 40 expansions, within the whole budget.
    let long_way = theorem(
        "long_way",
        "theorem long_way (x : ℕ) : x ≤ x ^ 2 + 10 := by",
    );
    let flat = search(&session, &long_way).await;
    assert_eq!(flat.status, ProveStatus::Proved, "{flat:?}");
    let changed = "```lean\ntheorem long_way (x : ℕ) : x ≤ x ^ 2 := by\n  sorry\n```";
    for planner in [
        ScriptedPlanner::new().with("long_way", vec![vec![changed.into()]]),
        ScriptedPlanner::new(),
    ] {
        let Planned { result, record } = planned(&session, &planner, long_way.clone()).await;
        assert_eq!(
            result.status,
            ProveStatus::Proved,
            "{result:?}\n{record:#?}"
        );
        assert_eq!(record.direct.stop_reason, Some(StopCode::ExpansionLimit));
        assert_eq!(record.outcome, PlanOutcome::Direct);
        assert!(record.fallback.as_ref().is_some_and(|f| f.proved));
        assert_eq!(result.proof, flat.proof);
    }
    session.shutdown().await.unwrap();
}

/// `planned` with a plan configuration of the test's own.
async fn planned_with(
    session: &Session,
    planner: &ScriptedPlanner,
    config: &PlanConfig,
    theorem: Theorem,
) -> Planned {
    let (_stop_sender, stop) = Stop::channel();
    plan::prove(&session.prover(), planner, config, theorem, &stop).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hole_two_skeletons_share_under_another_name_and_place_is_searched_once() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(40)).unwrap();
    // The first skeleton closes the square and leaves its second hole open (an endless
    // chain); the second states the square again, second, on a line of its own, named `sq`.
    let partial = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 = x * x := by sorry\n  have h₂ : x * x ≥ 2 * x + 0 := by sorry\n  nlinarith [h₁, h₂]\n```";
    let renamed = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₂ : x * x ≥ 2 * x := by sorry\n  have sq : x ^ 2 = x * x := by\n    sorry\n  nlinarith [sq, h₂]\n```";
    let planner =
        ScriptedPlanner::new().with("two_steps", vec![vec![partial.into(), renamed.into()]]);
    let Planned { result, record } =
        planned(&session, &planner, theorem("two_steps", STATEMENT)).await;
    assert_eq!(
        result.status,
        ProveStatus::Proved,
        "{result:?}\n{record:#?}"
    );
    let [first, second] = record.skeletons.as_slice() else {
        panic!("{record:#?}");
    };
    assert_eq!(first.label, SkeletonLabel::Partial, "{first:#?}");
    assert_eq!(second.label, SkeletonLabel::ClosedAll, "{second:#?}");
    let square = "x : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = x * x";
    let (closed, reused) = (&first.holes[0], &second.holes[1]);
    assert_eq!(
        (closed.goal.as_str(), reused.goal.as_str()),
        (square, square)
    );
    assert_ne!((closed.line, closed.column), (reused.line, reused.column));
    assert!(
        closed.search.proved && closed.search.expansions > 0,
        "{closed:?}"
    );
    assert!(
        reused.search.proved && reused.search.from_cache,
        "{reused:?}"
    );
    assert_eq!(reused.search.expansions, 0);
    // Searched once: every other hole with the square's goal took the first one's proof.
    let searched = record
        .skeletons
        .iter()
        .flat_map(|s| &s.holes)
        .filter(|h| h.goal == square && !h.search.from_cache)
        .count();
    assert_eq!(searched, 1, "{record:#?}");
    assert!(
        result
            .proof
            .unwrap()
            .contains("have sq : x ^ 2 = x * x := by")
    );
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lemma_whose_negation_the_portfolio_proves_is_refuted_and_its_skeleton_abandoned() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(40)).unwrap();
    // `x ^ 2 < 2 * x` is false for x ≥ 2; its own search runs down an endless chain, so only
    // the proof of its negation can give it up early.
    let false_small = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 < 2 * x := by sorry\n  omega\n```";
    // The replan states it again, its sorry on a line of its own, before the good skeleton.
    let again = false_small.replace(":= by sorry", ":= by\n    sorry");
    let planner = ScriptedPlanner::new().with(
        "two_steps",
        vec![vec![false_small.into()], vec![again, GOOD.into()]],
    );
    let Planned { result, record } =
        planned(&session, &planner, theorem("two_steps", STATEMENT)).await;
    assert_eq!(
        result.status,
        ProveStatus::Proved,
        "{result:?}\n{record:#?}"
    );
    let refuted = &record.skeletons[0];
    assert_eq!(refuted.label, SkeletonLabel::Refuted, "{refuted:#?}");
    let hole = &refuted.holes[0];
    assert!(hole.refuted(), "{hole:#?}");
    let refutation = hole.refutation.as_ref().expect("its negation was searched");
    assert!(refutation.proved, "{hole:#?}");
    assert_ne!(
        hole.search.stop_reason,
        Some(StopCode::Exhausted),
        "{hole:#?}"
    );
    // Stated again, it is refuted again with no search: a proved negation holds at any budget.
    let repeated = &record.skeletons[1];
    assert_eq!(repeated.label, SkeletonLabel::Refuted, "{repeated:#?}");
    assert!(repeated.holes[0].search.from_cache, "{repeated:#?}");
    assert_eq!(repeated.holes[0].search.expansions, 0);
    // In the closed skeleton no negation was proved.
    let closed = &record.skeletons[2];
    assert!(closed.holes.iter().all(|h| !h.refuted()), "{closed:#?}");
    let summary = result.plan.expect("a plan summary");
    assert_eq!(summary.holes_refuted, 2, "{summary:?}");
    let requests = planner.requests();
    assert_eq!(requests.len(), 2);
    // The replan is told the lemma is false, not only that its search stopped.
    let feedback = requests[1]
        .feedback
        .as_ref()
        .expect("the replan's feedback");
    assert!(feedback.holes[0].negation_proved, "{feedback:#?}");
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_a_closed_hole_leaves_goes_to_the_open_one() {
    // 20 expansions, no replan: the direct search reserves 3, the skeleton gets 17. An even
    // split gives each hole 9, and the second needs 10 (a ten-step chain); the square closes
    // in 1, so the second pass gives the chain what is left.
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(20)).unwrap();
    let skeleton = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have h₁ : x ^ 2 = x * x := by sorry\n  have hc : x ≤ x ^ 2 + 10 := by sorry\n  nlinarith [h₁, h₂]\n```";
    let planner = ScriptedPlanner::new().with("two_steps", vec![vec![skeleton.into()]]);
    let config = PlanConfig {
        samples: 1,
        replans: 0,
        ..PlanConfig::default()
    };
    let Planned { result, record } =
        planned_with(&session, &planner, &config, theorem("two_steps", STATEMENT)).await;
    assert_eq!(
        result.status,
        ProveStatus::Proved,
        "{result:?}\n{record:#?}"
    );
    let holes = &record.skeletons[0].holes;
    assert!(holes.iter().all(|h| h.search.proved), "{holes:#?}");
    assert!(holes[1].search.expansions >= 10, "{holes:#?}");
    assert!(result.expansions <= 20, "{result:?}");
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hole_cache_answers_a_later_plans_holes_at_other_places_without_a_search() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("repl.log");
    let world = workspace_root().join("tests/fixtures/worlds/planner.json");
    let overlay = Overlay {
        repl: ReplOverlay {
            repl_cmd: Some(SimRepl::world(&world).log(&log).command_line()),
            workers: Some(2),
            ..ReplOverlay::default()
        },
        search: SearchOverlay {
            max_expansions: Some(40),
            // One tactic at a time and nothing run ahead: with more, the first plan's last
            // tactics can still reach the REPL after its result (they finish in the background
            // and feed the cache), and the count below would not be the later plan's alone.
            search_parallelism: Some(1),
            no_speculation: true,
            ..SearchOverlay::default()
        },
        cache: CacheOverlay {
            cache: Some(dir.path().join("cache")),
            ..CacheOverlay::default()
        },
        ..Overlay::default()
    };
    // A cache of its own: the later plan may find only what the first one recorded.
    let session_config = settings::session_config(&overlay, &SettingsFile::default()).unwrap();
    let session = Session::open_on(&tokio::runtime::Handle::current(), session_config).unwrap();
    let first = ScriptedPlanner::new().with("two_steps", vec![vec![GOOD.into()]]);
    let Planned { result, .. } = planned(&session, &first, theorem("two_steps", STATEMENT)).await;
    assert_eq!(result.status, ProveStatus::Proved, "{result:?}");
    // A later plan (its own run) with the same holes elsewhere: each `sorry` on a line of
    // its own, the first hole under another name.
    let moved = "```lean\ntheorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n  have sq : x ^ 2 = x * x := by\n    sorry\n  have h₂ : x * x ≥ 2 * x := by\n    sorry\n  nlinarith [sq, h₂]\n```";
    let tactics = || {
        logged_requests(&log)
            .iter()
            .filter(|request| request.get("tactic").is_some())
            .count()
    };
    let before = tactics();
    assert!(before > 0, "the first plan's tactics are in the log");
    let later = ScriptedPlanner::new().with("two_steps", vec![vec![moved.into()]]);
    let Planned { result, record } =
        planned(&session, &later, theorem("two_steps", STATEMENT)).await;
    assert_eq!(
        result.status,
        ProveStatus::Proved,
        "{result:?}\n{record:#?}"
    );
    let holes = &record.skeletons[0].holes;
    assert_eq!(holes.len(), 2, "{holes:#?}");
    for hole in holes {
        assert!(hole.search.proved && hole.search.from_cache, "{hole:#?}");
        assert_eq!(hole.search.expansions, 0, "{hole:#?}");
    }
    assert_eq!(
        tactics(),
        before,
        "no tactic reached the REPL for the later plan"
    );
    session.shutdown().await.unwrap();
}
