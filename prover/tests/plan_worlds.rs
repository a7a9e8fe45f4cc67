//! The planner over generated worlds (sim-repl, a simulated REPL, not Lean, with a simulated model server proposing the world's vocabulary): at equal total budget, nothing a search without the planner proves is lost when the planner's skeletons fail (refused, or no answer at all).

use std::collections::BTreeSet;

use prover::engine::{ProveStatus, StopCode, Theorem};
use prover::job::{Goal, Job, NoObserver};
use prover::pipeline::Stop;
use prover::pipeline::plan::{self, PlanConfig, ScriptedPlanner};
use prover::policy::PolicyKind;
use prover::session::Session;
use prover::settings::{self, Overlay, ReplOverlay, SearchOverlay, SettingsFile};
use prover_tests::harness::{SimRepl, vocabulary_server};
use prover_tests::worldgen::{self, WorldSpec};

const VOCABULARY: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_the_direct_search_proves_is_lost_when_skeletons_fail() {
    let mut saved_by_the_fallback = 0;
    for seed in [3, 4, 5] {
        let dir = tempfile::tempdir().unwrap();
        let generated = worldgen::generate(&WorldSpec {
            theorems: 8,
            depth: 4,
            branching: 3,
            seed,
            tactic_vocabulary: VOCABULARY,
            ..WorldSpec::default()
        });
        let world = dir.path().join("world.json");
        generated.world.save(&world).unwrap();
        let server = vocabulary_server(VOCABULARY, dir.path());
        let overlay = Overlay {
            repl: ReplOverlay {
                repl_cmd: Some(SimRepl::world(&world).command_line()),
                workers: Some(2),
                ..ReplOverlay::default()
            },
            search: SearchOverlay {
                policy: Some(PolicyKind::Openai),
                llm_url: Some(format!("http://{}/v1", server.addr())),
                samples: Some(8),
                width: Some(VOCABULARY),
                // Small enough that some proofs need more than the direct search's share.
                max_expansions: Some(12),
                ..SearchOverlay::default()
            },
            // No verdict from an earlier run (or the user's cache) may decide a theorem.
            cache: settings::CacheOverlay {
                no_cache: true,
                ..Default::default()
            },
            ..Overlay::default()
        };
        let config = settings::session_config(&overlay, &SettingsFile::default()).unwrap();
        let session = Session::open_on(&tokio::runtime::Handle::current(), config).unwrap();
        let theorems: Vec<Theorem> = generated
            .world
            .theorems
            .iter()
            .map(|t| Theorem {
                name: t.name.clone(),
                header: worldgen::DEFAULT_HEADER.to_owned(),
                formal_statement: format!("{} := by", t.statement),
            })
            .collect();
        let (_stop_sender, stop) = Stop::channel();
        let mut proved_off = BTreeSet::new();
        for theorem in &theorems {
            let job = Job::Prove(Goal::Theorem(theorem.clone()));
            let handle = session.prover().submit(job, NoObserver);
            let result = handle.wait().await.prove_result(&theorem.name);
            if result.status == ProveStatus::Proved {
                proved_off.insert(theorem.name.clone());
            }
        }
        // Skeletons that change the statement (refused, spending no search), then a planner
        // that answers nothing.
        let refusing = theorems.iter().fold(ScriptedPlanner::new(), |planner, t| {
            let changed = format!(
                "```lean\n{} ∧ True := by\n  sorry\n```",
                &t.formal_statement[..t.formal_statement.len() - " := by".len()]
            );
            planner.with(&t.name, vec![vec![changed]])
        });
        for planner in [refusing, ScriptedPlanner::new()] {
            let mut proved_on = BTreeSet::new();
            for theorem in &theorems {
                let planned = plan::prove(
                    &session.prover(),
                    &planner,
                    &PlanConfig::default(),
                    theorem.clone(),
                    &stop,
                )
                .await;
                if planned.result.status == ProveStatus::Proved {
                    proved_on.insert(theorem.name.clone());
                    if planned.record.direct.stop_reason == Some(StopCode::ExpansionLimit) {
                        saved_by_the_fallback += 1;
                    }
                }
            }
            let lost: Vec<_> = proved_off.difference(&proved_on).collect();
            assert!(lost.is_empty(), "seed {seed}: lost {lost:?}");
        }
        session.shutdown().await.unwrap();
    }
    // The property is not vacuous: some proofs needed more than the direct search's share.
    assert!(saved_by_the_fallback > 0);
}
