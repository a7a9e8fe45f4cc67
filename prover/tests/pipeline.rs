//! `pipeline::eval::run`, `pipeline::check::run`, `pipeline::audit::run` and `pipeline::transfer::run` without a command line, against sim-repl's portfolio world (a simulated REPL, not Lean): what a front end's `Progress` hears, in order, and what the run returns and writes.

use prover::pipeline::audit::{AuditEvent, AuditRun};
use prover::pipeline::check::{CheckEvent, CheckRun};
use prover::pipeline::eval::{EvalEvent, EvalRun};
use prover::pipeline::plan::PlannerRun;
use prover::pipeline::transfer::{TransferEvent, TransferRun};
use prover::pipeline::{Progress, RunError, RunEvent, Stop, StopSender};
use prover::settings::{
    CacheOverlay, Overlay, PlannerKind, PlannerOverlay, ReplOverlay, SettingsFile,
};
use prover::{ProveResult, ProveStatus, Theorem};
use prover_tests::harness::{SimRepl, workspace_root};

const HEADER: &str = "import Mathlib\n\nopen BigOperators Real Nat Topology Rat\n\n";

/// Two simulated REPLs on the portfolio world, no cache.
fn overlay() -> Overlay {
    let world = workspace_root().join("tests/fixtures/worlds/eval-portfolio.json");
    Overlay {
        repl: ReplOverlay {
            repl_cmd: Some(SimRepl::world(&world).command_line()),
            workers: Some(2),
            ..ReplOverlay::default()
        },
        cache: CacheOverlay {
            no_cache: true,
            ..CacheOverlay::default()
        },
        ..Overlay::default()
    }
}

fn theorem(name: &str, statement: &str) -> Theorem {
    Theorem {
        name: name.to_owned(),
        header: HEADER.to_owned(),
        formal_statement: format!("{statement} := by sorry"),
    }
}

/// A progress that writes every event down as a word, and a stop nobody sets.
#[derive(Default)]
struct Recorder {
    events: Vec<String>,
    stop: Option<StopSender>,
}

impl Progress for Recorder {
    fn stop_on(&mut self, _runtime: &tokio::runtime::Handle) -> Result<Stop, RunError> {
        let (sender, stop) = Stop::channel();
        self.stop = Some(sender);
        Ok(stop)
    }

    fn event(&mut self, event: RunEvent<'_>) {
        let word = match event {
            RunEvent::Eval(EvalEvent::Decided { result, tally, .. }) => {
                format!(
                    "decided {} {:?} ({} so far)",
                    result.name,
                    result.status,
                    tally.total()
                )
            }
            RunEvent::Eval(EvalEvent::Skipping { decided, .. }) => format!("skipping {decided}"),
            RunEvent::Eval(EvalEvent::Finished(end)) => format!("finished {}", end.tally.total()),
            RunEvent::Check(CheckEvent::Decided { result, .. }) => {
                format!("checked {} {:?}", result.name, result.status)
            }
            RunEvent::Check(CheckEvent::Finished { tally, .. }) => {
                format!("finished {}", tally.total())
            }
            RunEvent::Audit(AuditEvent::Audited {
                row,
                decided,
                total,
            }) => format!("audited {} {decided}/{total}", row.name),
            RunEvent::Audit(AuditEvent::AlreadyAudited { kept, problems, .. }) => {
                format!("already {kept} of {problems}")
            }
            RunEvent::Transfer(TransferEvent::Planned { checks }) => format!("planned {checks}"),
            other => format!("{other:?}"),
        };
        self.events.push(word);
    }
}

fn eval_run(dir: &std::path::Path) -> EvalRun {
    EvalRun {
        dataset: dir.join("dataset.jsonl"),
        out: dir.join("out.jsonl"),
        fresh: false,
        attempts: 1,
        concurrency: Some(1),
        trace: None,
        save_model: None,
        overlay: overlay(),
        planner: Default::default(),
        build: Default::default(),
    }
}

#[test]
fn an_eval_tells_each_row_then_its_summary_and_a_rerun_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    two_problems(dir.path());

    let mut progress = Recorder::default();
    let end = prover::pipeline::eval::run(
        eval_run(dir.path()),
        &SettingsFile::default(),
        &mut progress,
    )
    .unwrap();
    assert_eq!(
        (end.tally.proved, end.tally.failed, end.tally.error),
        (1, 1, 0)
    );
    assert!(!end.stopped);
    // Two rows decided in completion order, each counted as it came, then the summary.
    assert!(
        progress.events[0].ends_with("(1 so far)"),
        "{:?}",
        progress.events
    );
    assert!(
        progress.events[1].ends_with("(2 so far)"),
        "{:?}",
        progress.events
    );
    let mut decided: Vec<String> = progress.events[..2]
        .iter()
        .map(|e| e.split(" (").next().unwrap_or_default().to_owned())
        .collect();
    decided.sort();
    assert_eq!(
        decided,
        ["decided and_intro Proved", "decided unprovable Failed"]
    );
    assert_eq!(progress.events.len(), 3, "{:?}", progress.events);
    assert_eq!(progress.events[2], "finished 2");
    let written = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 2);
    assert!(dir.path().join("out.jsonl.manifest.json").exists());
    drop(end);

    // The same run again decides nothing: both rows stand, and the summary counts them.
    let mut again = Recorder::default();
    let end =
        prover::pipeline::eval::run(eval_run(dir.path()), &SettingsFile::default(), &mut again)
            .unwrap();
    assert_eq!(again.events, ["skipping 2", "finished 0"]);
    assert_eq!(end.earlier.proved, 1);
    assert_eq!(
        end.counted
            .iter()
            .filter(|r| r.status == ProveStatus::Proved)
            .count(),
        1
    );
}

/// The workers the first searches take start with the run, each elaborating the first header
/// in the background while the preflight runs: no search waits for a header of its own.
#[test]
fn an_eval_prewarms_the_workers_its_first_searches_take() {
    let dir = tempfile::tempdir().unwrap();
    two_problems(dir.path());
    let run = EvalRun {
        concurrency: Some(2),
        ..eval_run(dir.path())
    };
    let end = prover::pipeline::eval::run(run, &SettingsFile::default(), &mut Recorder::default())
        .unwrap();
    assert_eq!((end.tally.proved, end.tally.failed), (1, 1));
    let stats = end.pool_stats.expect("the batch ran");
    // Before: the preflight's worker and the second search's each paid the header.
    assert_eq!(
        (stats.spawned, stats.headers_elaborated),
        (2, 0),
        "{stats:?}"
    );
}

#[test]
fn a_missing_dataset_is_refused_naming_it_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut progress = Recorder::default();
    let error = prover::pipeline::eval::run(
        eval_run(dir.path()),
        &SettingsFile::default(),
        &mut progress,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("dataset.jsonl"),
        "the message names the dataset: {error}"
    );
    assert!(progress.events.is_empty(), "{:?}", progress.events);
    assert!(!dir.path().join("out.jsonl").exists());
}

#[test]
fn a_check_writes_its_results_to_the_stream_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let row = serde_json::json!({
        "name": "and_intro",
        "header": HEADER,
        "formal_statement": "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by",
        "proof": "\n  constructor\n  exact hp\n  exact hq",
    });
    std::fs::write(
        dir.path().join("proofs.jsonl"),
        format!("{row}\nnot json\n"),
    )
    .unwrap();
    let request = CheckRun {
        input: dir.path().join("proofs.jsonl"),
        out: None,
        fresh: false,
        header: None,
        reference: None,
        repl: overlay().repl,
        rules: Default::default(),
        shard: None,
        build: Default::default(),
    };
    let results = SharedBuffer::default();
    let mut progress = Recorder::default();
    let end = prover::pipeline::check::run(
        request,
        &SettingsFile::default(),
        Box::new(results.clone()),
        &mut progress,
    )
    .unwrap();
    assert_eq!(
        (end.tally.valid, end.tally.invalid, end.tally.error),
        (1, 0, 1)
    );
    let written = String::from_utf8(results.0.lock().unwrap().clone()).unwrap();
    assert_eq!(written.lines().count(), 2, "{written}");
    assert!(written.contains("\"status\":\"valid\""), "{written}");
    // The malformed row is written first, then the checked one, then the summary.
    assert_eq!(progress.events.len(), 3, "{:?}", progress.events);
    assert!(
        progress.events[0].ends_with("Error"),
        "{:?}",
        progress.events
    );
    assert_eq!(
        progress.events[1..],
        ["checked and_intro Valid", "finished 2"]
    );
}

/// A `Write` whose bytes the test reads after the run.
#[derive(Clone, Default)]
struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The two problems of the portfolio world the eval and audit tests use, written as the
/// directory's `dataset.jsonl`.
fn two_problems(dir: &std::path::Path) -> std::path::PathBuf {
    let rows = [
        theorem(
            "and_intro",
            "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q",
        ),
        theorem("unprovable", "theorem unprovable (x : ℕ) : x < x"),
    ]
    .map(|t| t.to_row() + "\n")
    .concat();
    let path = dir.join("dataset.jsonl");
    std::fs::write(&path, rows).unwrap();
    path
}

fn audit_run(dir: &std::path::Path) -> AuditRun {
    AuditRun {
        dataset: two_problems(dir),
        compare: Vec::new(),
        out: Some(dir.join("flags.jsonl")),
        audit_expansions: 4,
        fresh: false,
        save_model: None,
        overlay: overlay(),
    }
}

#[test]
fn an_audit_tells_each_problem_as_it_writes_it_and_a_rerun_reuses_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut progress = Recorder::default();
    let end = prover::pipeline::audit::run(
        audit_run(dir.path()),
        &SettingsFile::default(),
        &mut progress,
    )
    .unwrap();
    assert!(end.settled(), "{:?}", end.rows);
    assert!(!end.stopped);
    assert_eq!(end.out, dir.path().join("flags.jsonl"));
    // Each problem is told once, counted in completion order.
    assert_eq!(progress.events.len(), 2, "{:?}", progress.events);
    assert!(
        progress.events[0].ends_with(" 1/2"),
        "{:?}",
        progress.events
    );
    assert!(
        progress.events[1].ends_with(" 2/2"),
        "{:?}",
        progress.events
    );
    let mut names: Vec<&str> = end.rows.iter().map(|r| r.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["and_intro", "unprovable"]);
    let written = std::fs::read_to_string(&end.out).unwrap();
    assert_eq!(written.lines().count(), 2, "{written}");
    drop(end);

    // The same audit again audits nothing: the file answers both problems.
    let mut again = Recorder::default();
    let end =
        prover::pipeline::audit::run(audit_run(dir.path()), &SettingsFile::default(), &mut again)
            .unwrap();
    assert_eq!(again.events, ["already 2 of 2"]);
    assert_eq!(end.rows.len(), 2);
    assert_eq!(std::fs::read_to_string(&end.out).unwrap(), written);
}

#[test]
fn a_transfer_of_results_that_name_no_lineage_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.jsonl");
    let row = ProveResult::unsearched(
        "and_intro",
        ProveStatus::Proved,
        0,
        std::time::Instant::now(),
    );
    std::fs::write(
        &results,
        format!("{}\n", serde_json::to_string(&row).unwrap()),
    )
    .unwrap();
    let request = TransferRun {
        results: vec![results.clone()],
        datasets: vec![two_problems(dir.path())],
        out: dir.path().join("transfer.jsonl"),
        save_model: None,
        overlay: overlay(),
    };
    let mut progress = Recorder::default();
    let error = prover::pipeline::transfer::run(request, &SettingsFile::default(), &mut progress)
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("name no lineage"), "{message}");
    assert!(message.contains("results.jsonl"), "{message}");
    assert!(progress.events.is_empty(), "{:?}", progress.events);
    assert!(!dir.path().join("transfer.jsonl").exists());
}

#[test]
fn an_eval_refuses_what_the_planner_does_not_combine_with_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    two_problems(dir.path());
    let planner = PlannerOverlay {
        planner: Some(PlannerKind::Openai),
        planner_url: Some("http://127.0.0.1:9/v1".to_owned()),
        ..PlannerOverlay::default()
    };
    let refusals = [
        (
            EvalRun {
                trace: Some(dir.path().join("trace")),
                planner: PlannerRun {
                    overlay: planner.clone(),
                    plan_log: None,
                },
                ..eval_run(dir.path())
            },
            "--planner does not combine with --learn-online or --trace",
        ),
        (
            EvalRun {
                planner: PlannerRun {
                    overlay: PlannerOverlay::default(),
                    plan_log: Some(dir.path().join("plans.jsonl")),
                },
                ..eval_run(dir.path())
            },
            "--plan-log needs --planner openai",
        ),
    ];
    for (request, expected) in refusals {
        let mut progress = Recorder::default();
        let error = prover::pipeline::eval::run(request, &SettingsFile::default(), &mut progress)
            .unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
        assert!(progress.events.is_empty(), "{:?}", progress.events);
        assert!(!dir.path().join("out.jsonl").exists());
        assert!(!dir.path().join("plans.jsonl").exists());
    }
}
