//! Jobs through `Session::submit` against sim-repl (a simulated REPL, not Lean): events in order, cancellation through the handle from another task, many submitters at once, a check job.

use std::sync::{Arc, Mutex};

use prover::check::{HeaderOrigin, ProofTask, Status};
use prover::engine::{ProveStatus, StopCode, Theorem};
use prover::job::{Goal, Job, JobEnd, JobEvent, JobResult, NoObserver, Observer};
use prover::session::Session;

mod portfolio_world;

use portfolio_world::{HEADER, and_intro, config, unprovable};

fn prove(theorem: Theorem) -> Job {
    Job::Prove(Goal::Theorem(theorem))
}

/// An observer that records every event.
fn recorder() -> (Arc<Mutex<Vec<JobEvent>>>, impl Observer) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, move |event: &JobEvent| {
        sink.lock().unwrap().push(event.clone())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_events_arrive_in_order_and_end_with_what_wait_returns() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(None)).unwrap();
    let (events, observer) = recorder();
    let handle = session.submit(prove(and_intro()), observer);
    let id = handle.id();
    let end = handle.wait().await;
    let JobEnd::Finished(JobResult::Prove(result)) = &end else {
        panic!("the job did not finish with a proof result: {end:?}");
    };
    assert_eq!(result.status, ProveStatus::Proved, "{result:?}");

    let events = events.lock().unwrap().clone();
    assert_eq!(
        events.first(),
        Some(&JobEvent::Started {
            id,
            name: "and_intro".to_owned()
        })
    );
    assert_eq!(
        events.last(),
        Some(&JobEvent::Finished(Box::new(JobResult::Prove(
            result.clone()
        ))))
    );
    let progress: Vec<_> = events[1..events.len() - 1]
        .iter()
        .map(|event| match event {
            JobEvent::Progress(progress) => *progress,
            other => panic!("only progress between start and end, got {other:?}"),
        })
        .collect();
    // One progress event per expansion, counted from one, as the search counted them.
    assert!(!progress.is_empty(), "the search expanded nodes");
    for (n, progress) in progress.iter().enumerate() {
        assert_eq!(progress.expansions as usize, n + 1, "{progress:?}");
        assert!(progress.best.is_some(), "{progress:?}");
    }
    assert_eq!(progress.len() as u32, result.expansions, "{result:?}");
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cancelled_through_its_handle_from_another_task_ends_cancelled_and_runs_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let session = Session::open_on(
        &tokio::runtime::Handle::current(),
        config(Some(cache.path())),
    )
    .unwrap();
    // The observer holds the job at its start until the other task has cancelled it.
    let (started, mut told_started) = tokio::sync::mpsc::unbounded_channel();
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let (events, mut record) = recorder();
    let observer = move |event: &JobEvent| {
        record.on_event(event);
        if matches!(event, JobEvent::Started { .. }) {
            let _ = started.send(());
            let _ = wait_for_go.recv();
        }
    };
    let handle = session.submit(prove(and_intro()), observer);
    let canceller = tokio::spawn(async move {
        told_started.recv().await;
        handle.cancel();
        go.send(()).unwrap();
        handle.wait().await
    });
    let end = canceller.await.unwrap();
    assert_eq!(end, JobEnd::Cancelled(None));
    let events = events.lock().unwrap().clone();
    assert!(
        matches!(events[..], [JobEvent::Started { .. }, JobEvent::Cancelled]),
        "{events:?}"
    );
    assert_eq!(session.pool().stats().spawned, 0, "nothing reached Lean");
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_cancelled_while_it_runs_ends_cancelled_and_records_no_verdict() {
    let cache = tempfile::tempdir().unwrap();
    let session = Session::open_on(
        &tokio::runtime::Handle::current(),
        config(Some(cache.path())),
    )
    .unwrap();
    // The observer tells the test at the first expansion and waits until it was cancelled.
    let (expanded, mut told_expanded) = tokio::sync::mpsc::unbounded_channel();
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let (events, mut record) = recorder();
    let observer = move |event: &JobEvent| {
        record.on_event(event);
        if matches!(event, JobEvent::Progress(p) if p.expansions == 1) {
            let _ = expanded.send(());
            let _ = wait_for_go.recv();
        }
    };
    let handle = session.submit(prove(unprovable()), observer);
    let canceller = tokio::spawn(async move {
        told_expanded.recv().await;
        handle.cancel();
        go.send(()).unwrap();
        handle.wait().await
    });
    let end = canceller.await.unwrap();
    let JobEnd::Cancelled(Some(JobResult::Prove(stopped))) = &end else {
        panic!("the search ran and was cancelled: {end:?}");
    };
    assert_eq!(
        stopped.stop_reason,
        Some(StopCode::Cancelled),
        "{stopped:?}"
    );
    assert_eq!(events.lock().unwrap().last(), Some(&JobEvent::Cancelled));

    // The cancelled search recorded no failure: the next job searches again and decides it.
    let end = session.submit(prove(unprovable()), NoObserver).wait().await;
    let again = end.into_prove_result().unwrap();
    assert_eq!(again.status, ProveStatus::Failed, "{again:?}");
    assert_eq!(again.stop_reason, Some(StopCode::Exhausted), "{again:?}");
    assert!(!again.from_cache, "{again:?}");
    // And that verdict is recorded, so the same question is answered from the cache.
    let end = session.submit(prove(unprovable()), NoObserver).wait().await;
    let cached = end.into_prove_result().unwrap();
    assert!(cached.from_cache, "{cached:?}");
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_submit_at_once() {
    let session =
        Arc::new(Session::open_on(&tokio::runtime::Handle::current(), config(None)).unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let session = session.clone();
            tokio::spawn(async move {
                let theorem = if n % 2 == 0 {
                    and_intro()
                } else {
                    unprovable()
                };
                let handle = session.submit(prove(theorem), NoObserver);
                let id = handle.id();
                (n, id, handle.wait().await)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        let (n, id, end) = task.await.unwrap();
        let result = end.into_prove_result().unwrap();
        let expected = if n % 2 == 0 {
            ProveStatus::Proved
        } else {
            ProveStatus::Failed
        };
        assert_eq!(result.status, expected, "{result:?}");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "every job has its own number");
    session.shutdown().await.unwrap();
}

#[test]
fn a_check_job_checks_a_proof_and_waits_from_synchronous_code() {
    let session = Session::open(config(None)).unwrap();
    let end = session
        .submit(prove(and_intro()), NoObserver)
        .wait_blocking();
    let proved = end.into_prove_result().unwrap();
    let proof = proved.proof.clone().expect("and_intro is proved");
    let task = |proof: &str| ProofTask {
        line: 1,
        name: "and_intro".to_owned(),
        header: HEADER.to_owned(),
        formal_statement: and_intro().formal_statement,
        proof: proof.to_owned(),
        header_origin: HeaderOrigin::Reference,
    };
    let (events, observer) = recorder();
    let end = session
        .submit(Job::Check(task(&proof)), observer)
        .wait_blocking();
    let JobEnd::Finished(JobResult::Check(checked)) = &end else {
        panic!("a check result: {end:?}");
    };
    assert_eq!(checked.status, Status::Valid, "{checked:?}");
    let events = events.lock().unwrap().clone();
    assert!(
        matches!(
            &events[..],
            [JobEvent::Started { .. }, JobEvent::Finished(_)]
        ),
        "a check reports no progress: {events:?}"
    );

    let end = session
        .submit(Job::Check(task("  sorry")), NoObserver)
        .wait_blocking();
    let JobEnd::Finished(JobResult::Check(refused)) = end else {
        panic!("a check result");
    };
    assert_eq!(refused.status, Status::Invalid, "{refused:?}");
    session.shutdown_blocking().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_panics_ends_with_an_error_result_and_the_session_goes_on() {
    let session = Session::open_on(&tokio::runtime::Handle::current(), config(None)).unwrap();
    let (events, mut record) = recorder();
    let observer = move |event: &JobEvent| {
        record.on_event(event);
        if matches!(event, JobEvent::Progress(_)) {
            panic!("an observer that fails");
        }
    };
    let end = session.submit(prove(and_intro()), observer).wait().await;
    let result = end.into_prove_result().unwrap();
    assert_eq!(result.status, ProveStatus::Error, "{result:?}");
    assert!(
        result
            .stop_detail
            .as_deref()
            .is_some_and(|d| d.contains("an observer that fails")),
        "{result:?}"
    );
    assert!(
        matches!(events.lock().unwrap().last(), Some(JobEvent::Finished(_))),
        "the observer still hears the end"
    );
    let end = session.submit(prove(and_intro()), NoObserver).wait().await;
    let again = end.into_prove_result().unwrap();
    assert_eq!(again.status, ProveStatus::Proved, "{again:?}");
    session.shutdown().await.unwrap();
}
