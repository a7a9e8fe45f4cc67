//! `pipeline::eval::run` and `pipeline::check::run` without a command line, against sim-repl's portfolio world (a simulated REPL, not Lean): what a front end's `Progress` hears, in order, and what the run returns and writes.

use prover::pipeline::check::{CheckEvent, CheckRun};
use prover::pipeline::eval::{EvalEvent, EvalRun};
use prover::pipeline::{Progress, RunError, RunEvent, Stop, StopSender};
use prover::settings::{CacheOverlay, Overlay, ReplOverlay, SettingsFile};
use prover::{ProveStatus, Theorem};
use prover_tests::harness::{sim_repl_bin, workspace_root};

const HEADER: &str = "import Mathlib\n\nopen BigOperators Real Nat Topology Rat\n\n";

/// Two simulated REPLs on the portfolio world, no cache.
fn overlay() -> Overlay {
    let world = workspace_root().join("tests/fixtures/worlds/eval-portfolio.json");
    Overlay {
        repl: ReplOverlay {
            repl_cmd: Some(format!(
                "{} --world {}",
                sim_repl_bin().display(),
                world.display()
            )),
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
    let rows = [
        theorem(
            "and_intro",
            "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q",
        ),
        theorem("unprovable", "theorem unprovable (x : ℕ) : x < x"),
    ]
    .map(|t| t.to_row() + "\n")
    .concat();
    std::fs::write(dir.path().join("dataset.jsonl"), rows).unwrap();

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
