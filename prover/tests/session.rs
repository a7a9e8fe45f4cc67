//! `Session` end to end against sim-repl (a simulated REPL, not Lean): proving from a tokio task, from synchronous code, and from a runtime thread, which used to panic.

use prover::engine::{ProveResult, ProveStatus, StopCode, Theorem};
use prover::job::{Goal, Job, NoObserver};
use prover::session::{Prover, Session};
use prover_tests::harness::{count_command, logged_requests};

mod portfolio_world;

use portfolio_world::{HEADER, and_intro, config, config_with, unprovable};

/// Proves `theorem` through the one door, from async code.
async fn prove(prover: &Prover, theorem: Theorem) -> ProveResult {
    let name = theorem.name.clone();
    let job = Job::Prove(Goal::Theorem(theorem));
    prover
        .submit(job, NoObserver)
        .wait()
        .await
        .prove_result(&name)
}

/// Proves `theorem` through the one door, from synchronous code.
fn prove_blocking(prover: &Prover, theorem: Theorem) -> ProveResult {
    let name = theorem.name.clone();
    let job = Job::Prove(Goal::Theorem(theorem));
    prover
        .submit(job, NoObserver)
        .wait_blocking()
        .prove_result(&name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_proves_from_inside_tokio_tasks() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(None)).unwrap();
    let prover = session.prover();
    let task = tokio::spawn(async move { prove(&prover, and_intro()).await });
    let proved = task.await.unwrap();
    assert_eq!(proved.status, ProveStatus::Proved, "{proved:?}");
    assert!(
        proved
            .proof
            .as_deref()
            .is_some_and(|p| !p.trim().is_empty())
    );

    // The synchronous call, made on a runtime thread, runs the search on a thread of its own
    // instead of panicking in `block_on`.
    let prover = session.prover();
    let sync_in_task = tokio::spawn(async move { prove_blocking(&prover, unprovable()) });
    let failed = sync_in_task.await.unwrap();
    assert_eq!(failed.status, ProveStatus::Failed, "{failed:?}");
    assert_eq!(failed.stop_reason, Some(StopCode::Exhausted));

    session.shutdown().await.unwrap();
    // Dropped inside the async context: no runtime of its own to stop, so nothing panics.
    drop(session);
}

#[test]
fn a_session_proves_from_synchronous_code_and_shuts_down() {
    let session = Session::open(config(None)).unwrap();
    let result = prove_blocking(&session.prover(), and_intro());
    assert_eq!(result.status, ProveStatus::Proved, "{result:?}");
    assert!(
        session.prove_config().policy_id.contains("portfolio"),
        "the policy identity is filled in: {:?}",
        session.prove_config().policy_id
    );
    assert!(
        session.pool().stats().spawned >= 1,
        "the simulated REPLs ran"
    );
    session.shutdown_blocking().unwrap();
    // Dropping its own runtime from synchronous code, after the shutdown.
    drop(session);
}

#[test]
fn a_session_with_its_own_runtime_can_be_dropped_inside_another_runtime() {
    let session = Session::open(config(None)).unwrap();
    let outer = tokio::runtime::Runtime::new().unwrap();
    outer.block_on(async move {
        let result = prove(&session.prover(), and_intro()).await;
        assert_eq!(result.status, ProveStatus::Proved, "{result:?}");
        session.shutdown().await.unwrap();
        // A runtime dropped in an async context panics; the session stops its own in the
        // background instead.
        drop(session);
    });
}

/// A search on a cold pool starts its other REPLs while the statement starts on one (the
/// editor's or the MCP server's first request): every header elaboration is under way before
/// the statement is sent, instead of the first expansion's tactics each starting a REPL and
/// elaborating the header after the statement's own.
#[test]
fn a_search_on_a_cold_pool_elaborates_the_header_on_its_repls_while_the_statement_starts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    // The header takes a while, so the statement waits for one elaboration at least.
    let config = config_with(|sim| sim.log(&log).arg("--header-delay-ms").arg("300"), 3);
    let session = Session::open(config).unwrap();
    let proved = prove_blocking(&session.prover(), and_intro());
    assert_eq!(proved.status, ProveStatus::Proved, "{proved:?}");
    session.shutdown_blocking().unwrap();
    let requests = logged_requests(&log);
    let statement = requests
        .iter()
        .position(|r| {
            r["cmd"]
                .as_str()
                .is_some_and(|c| c.contains("theorem and_intro"))
        })
        .expect("the statement was sent");
    // The header's import: its one command without an env (the lines after the imports run
    // on that env).
    let (imports, _) = HEADER.split_at("import Mathlib\n".len());
    let headers_before = count_command(&requests[..statement], imports, false);
    assert_eq!(
        headers_before, 3,
        "all three REPLs elaborate the header before the statement is sent: {requests:?}"
    );
}
