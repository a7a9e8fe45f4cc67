//! The simulated REPL as a real process over raw pipes: framing, answers, ids, faults, flags,
//! byte-exact replay of every recorded transcript, and the random world generator's oracle.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use prover_tests::sim::{SORRY_WARNING_4_24, split_answers, transcript_prefixes};
use prover_tests::world::World;
use prover_tests::worldgen::{WorldSpec, bfs_oracle, dataset_jsonl, generate, proofs_jsonl};
use serde_json::{Value, json};

const SIM: &str = env!("CARGO_BIN_EXE_sim-repl");
const GEN: &str = env!("CARGO_BIN_EXE_sim-world-gen");
/// Generous: only there so that a broken simulator fails the test instead of hanging it.
const LIVE: Duration = Duration::from_secs(20);

/// The recorded transcripts, or `None` after the test's skip line.
fn transcripts_dir(test: &str) -> Option<PathBuf> {
    prover_tests::test_data::find_or_skip("fixtures/repl-transcripts", test)
}

/// What the stdout reader thread saw.
enum Out {
    Answer(String),
    Eof(String),
}

/// A running sim-repl with its stdout split into blank-line-terminated answers by a thread, so a
/// test can wait for an answer with a deadline.
struct Repl {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<Out>,
    stderr: Option<std::process::ChildStderr>,
}

impl Repl {
    fn spawn(args: &[&str]) -> Repl {
        let mut child = Command::new(SIM)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sim-repl starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut block = String::new();
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Out::Eof(block));
                        return;
                    }
                    Ok(_) => {
                        block.push_str(&line);
                        if line == "\n" && tx.send(Out::Answer(std::mem::take(&mut block))).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        Repl {
            stdin: child.stdin.take(),
            stderr: child.stderr.take(),
            child,
            answers: rx,
        }
    }

    fn world(world: &Value, extra: &[&str]) -> (Repl, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("world.json");
        std::fs::write(&path, world.to_string()).unwrap();
        let mut args = vec!["--world", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        (Repl::spawn(&args), dir)
    }

    fn send_raw(&mut self, bytes: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, request: &Value) {
        self.send_raw(&format!("{request}\n\n"));
    }

    fn recv_raw(&mut self) -> String {
        match self.answers.recv_timeout(LIVE) {
            Ok(Out::Answer(a)) => a,
            Ok(Out::Eof(rest)) => panic!("sim-repl closed stdout; trailing output {rest:?}"),
            Err(e) => panic!("no answer from sim-repl: {e}"),
        }
    }

    fn recv(&mut self) -> Value {
        let raw = self.recv_raw();
        assert!(raw.ends_with("}\n\n"), "{raw:?}");
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}: {raw:?}"))
    }

    fn ask(&mut self, request: Value) -> Value {
        self.send(&request);
        self.recv()
    }

    /// Nothing arrives for `within`; the process may still be alive.
    fn assert_silent(&mut self, within: Duration) {
        match self.answers.recv_timeout(within) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Out::Answer(a)) => panic!("unexpected answer {a:?}"),
            Ok(Out::Eof(rest)) => panic!("unexpected end of output {rest:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("reader thread gone"),
        }
    }

    fn expect_eof(&mut self) -> String {
        match self.answers.recv_timeout(LIVE) {
            Ok(Out::Eof(rest)) => rest,
            Ok(Out::Answer(a)) => panic!("unexpected answer {a:?}"),
            Err(e) => panic!("sim-repl did not close stdout: {e}"),
        }
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for exit (within the liveness bound) and returns status and all of stderr.
    fn finish(mut self) -> (ExitStatus, String) {
        self.close_stdin();
        let deadline = Instant::now() + LIVE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "sim-repl did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        self.stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    }

    fn rss_anon_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("RssAnon in /proc/<pid>/status")
    }
}

impl Drop for Repl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn world() -> Value {
    json!({
        "imports": ["Mathlib", "Aesop"],
        "theorems": [
            {"name": "t1", "statement": "theorem t1 (a b : ℕ) (h : a = b) : b = a", "root": "s0",
             "axioms": ["propext"]}
        ],
        "states": {
            "s0": ["a b : ℕ\nh : a = b\n⊢ b = a"],
            "s1": ["a : ℕ\n⊢ a = a"],
            "s2": ["case left\na : ℕ\n⊢ a = a", "case right\na : ℕ\n⊢ 0 = 0"]
        },
        "transitions": [
            {"from": "s0", "tactic": "subst h", "outcome": {"goals": "s1"}},
            {"from": "s0", "tactic": "constructor", "outcome": {"goals": "s2"}},
            {"from": "s1", "tactic": "rfl", "outcome": "proved"},
            {"from": "s0", "tactic": "exact foo", "outcome": {"error": "Unknown identifier `foo`"}},
            {"from": "s0", "tactic": "apply bar", "outcome": {"fail": "Tactic `apply` failed"}},
            {"from": "s0", "tactic": "refine ?_", "outcome": {"incomplete": "Incomplete: contains metavariable(s)"}},
            {"from": "s0", "tactic": "omega", "outcome": "proved", "fault": "hang"},
            {"from": "s0", "tactic": "crash", "outcome": "proved",
             "fault": {"crash": {"stderr": "INTERNAL PANIC: simulated\n", "code": 134}}},
            {"from": "s0", "tactic": "garbage", "outcome": "proved", "fault": "garbage"},
            {"from": "s0", "tactic": "eof", "outcome": "proved", "fault": "eof"},
            {"from": "s0", "tactic": "grow", "outcome": {"goals": "s1"}, "fault": {"grow_mb": 64}},
            {"from": "s0", "tactic": "slow", "outcome": {"goals": "s1"}, "latency_ms": 1}
        ]
    })
}

const STATEMENT: &str = "theorem t1 (a b : ℕ) (h : a = b) : b = a";

/// Opens `t1` at proofState 0 on env 1 (env 0 is the header).
fn open_t1(repl: &mut Repl) {
    assert_eq!(
        repl.ask(json!({"cmd": "import Mathlib\nimport Aesop"})),
        json!({"env": 0})
    );
    let opened = repl.ask(json!({"cmd": format!("{STATEMENT} := by sorry"), "env": 0}));
    assert_eq!(opened["sorries"][0]["proofState"], 0);
}

#[test]
fn framing_joins_lines_and_skips_comment_blocks() {
    let (mut repl, _dir) = Repl::world(&world(), &[]);
    // A request split over lines is joined with no separator, trailing blanks trimmed.
    repl.send_raw("{\"cmd\":   \n  \"import Mathlib\"}\t\n\n");
    assert_eq!(repl.recv_raw(), "{\"env\": 0}\n\n");
    // Comment blocks get no answer at all: the next answer is for the request after them.
    repl.send_raw("# a comment\nstill the comment\n\n-- another\n\n");
    repl.send_raw("{\"cmd\": \"import Aesop\"}\n\n");
    assert_eq!(repl.recv_raw(), "{\"env\": 1}\n\n");
    // The last request needs no blank line when stdin then closes.
    repl.send_raw("{\"cmd\": \"import Mathlib\"}");
    repl.close_stdin();
    assert_eq!(repl.recv_raw(), "{\"env\": 2}\n\n");
    assert_eq!(repl.expect_eof(), "");
    let (status, stderr) = repl.finish();
    assert!(status.success(), "{status:?} {stderr}");
}

#[test]
fn malformed_input_kills_the_process_like_upstream() {
    let (mut repl, _dir) = Repl::world(&world(), &[]);
    repl.send_raw("{\"cmd\": \"import Mathlib\"}\n\n\n");
    assert_eq!(repl.recv(), json!({"env": 0}));
    let (status, stderr) = repl.finish();
    assert_eq!(status.code(), Some(1));
    assert!(stderr.starts_with("uncaught exception: "), "{stderr}");
    assert!(stderr.contains("Could not parse JSON"), "{stderr}");

    let (mut repl, _dir) = Repl::world(&world(), &[]);
    repl.send(&json!({"nothing": "here"}));
    let (status, stderr) = repl.finish();
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("Could not parse as a valid JSON command"),
        "{stderr}"
    );
}

#[test]
fn tactic_answers_have_the_wire_shapes() {
    let (mut repl, _dir) = Repl::world(&world(), &[]);
    repl.send(&json!({"cmd": "import Mathlib"}));
    assert_eq!(repl.recv_raw(), "{\"env\": 0}\n\n");
    repl.send(&json!({"cmd": format!("{STATEMENT} := by sorry"), "env": 0}));
    let opened = repl.recv_raw();
    assert_eq!(
        opened,
        "{\"sorries\":\n [{\"proofState\": 0,\n   \"pos\": {\"line\": 1, \"column\": 47},\n   \"goal\": \"a b : ℕ\\nh : a = b\\n⊢ b = a\",\n   \"endPos\": {\"line\": 1, \"column\": 52}}],\n \"messages\":\n [{\"severity\": \"warning\",\n   \"pos\": {\"line\": 1, \"column\": 8},\n   \"endPos\": {\"line\": 1, \"column\": 10},\n   \"data\": \"declaration uses 'sorry'\"}],\n \"env\": 1}\n\n"
    );
    // Fail, unknown tactic and unknown state allocate nothing.
    assert_eq!(
        repl.ask(json!({"tactic": "apply bar", "proofState": 0})),
        json!({"message": "Lean error:\nTactic `apply` failed"})
    );
    assert_eq!(
        repl.ask(json!({"tactic": "exat 42", "proofState": 0})),
        json!({"message": "Lean error:\n<input>:1:1: unknown tactic"})
    );
    assert_eq!(
        repl.ask(json!({"tactic": "rfl", "proofState": 7})),
        json!({"message": "Unknown proof state."})
    );
    assert_eq!(
        repl.ask(json!({"cmd": "theorem x : True := trivial", "env": 9})),
        json!({"message": "Unknown environment."})
    );
    // Error: goals [] but not a proof.
    assert_eq!(
        repl.ask(json!({"tactic": "exact foo", "proofState": 0})),
        json!({"proofStatus": "Incomplete: contains sorry", "proofState": 1,
               "messages": [{"severity": "error", "pos": {"line": 0, "column": 0},
                             "endPos": {"line": 0, "column": 0},
                             "data": "Unknown identifier `foo`"}],
               "goals": []})
    );
    assert_eq!(
        repl.ask(json!({"tactic": "refine ?_", "proofState": 0})),
        json!({"proofStatus": "Incomplete: contains metavariable(s)", "proofState": 2, "goals": []})
    );
    repl.send(&json!({"tactic": "subst h", "proofState": 0}));
    assert_eq!(
        repl.recv_raw(),
        "{\"proofStatus\": \"Incomplete: open goals remain\",\n \"proofState\": 3,\n \"goals\": [\"a : ℕ\\n⊢ a = a\"]}\n\n"
    );
    let two = repl.ask(json!({"tactic": "constructor", "proofState": 0}));
    assert_eq!(two["goals"].as_array().unwrap().len(), 2);
    assert_eq!(two["proofState"], 4);
    repl.send(&json!({"tactic": "rfl", "proofState": 3}));
    assert_eq!(
        repl.recv_raw(),
        "{\"proofStatus\": \"Completed\", \"proofState\": 5, \"goals\": []}\n\n"
    );
    // Branching: the same state can be stepped again; completed states cannot.
    assert_eq!(
        repl.ask(json!({"tactic": "rfl", "proofState": 3}))["proofState"],
        6
    );
    assert_eq!(
        repl.ask(json!({"tactic": "rfl", "proofState": 5})),
        json!({"message": "Lean error:\nno goals to be proved"})
    );
    // A sorry step reports its hole and allocates it before the step's own id.
    let sorry = repl.ask(json!({"tactic": "sorry", "proofState": 3}));
    assert_eq!(
        sorry["sorries"],
        json!([{"proofState": 7, "goal": "a : ℕ\n⊢ a = a"}])
    );
    assert_eq!(sorry["proofState"], 8);
    assert_eq!(sorry["proofStatus"], "Incomplete: contains sorry");
    assert_eq!(
        repl.ask(json!({"pickleTo": "x.olean", "proofState": 0})),
        json!({"message": "simulated REPL does not support PickleProofState"})
    );
    assert_eq!(
        repl.ask(json!({"path": "test/file.lean"})),
        json!({"message": "simulated REPL does not support File"})
    );
}

#[test]
fn command_mode_rechecks_proofs_with_axioms() {
    let (mut repl, _dir) = Repl::world(&world(), &[]);
    let header = repl.ask(json!({"cmd": "import Mathlib\nimport Mathlb"}));
    assert_eq!(header["env"], 0);
    assert_eq!(
        header["messages"][0]["data"],
        "unknown module prefix 'Mathlb'"
    );
    assert_eq!(
        header["messages"][0]["pos"],
        json!({"line": 2, "column": 0})
    );
    let cmd = format!("{STATEMENT} := by\n  subst h\n  rfl\n#print axioms t1");
    let ok = repl.ask(json!({"cmd": cmd, "env": 0}));
    assert_eq!(
        ok,
        json!({"messages": [{"severity": "info", "pos": {"line": 4, "column": 0},
                             "endPos": {"line": 4, "column": 6},
                             "data": "'t1' depends on axioms: [propext]"}],
               "env": 1})
    );
    let wrong = repl
        .ask(json!({"cmd": format!("{STATEMENT} := by\n  exact foo\n#print axioms t1"), "env": 0}));
    assert_eq!(wrong["messages"][0]["severity"], "error");
    assert_eq!(wrong["messages"][0]["data"], "Unknown identifier `foo`");
    assert_eq!(wrong["messages"][0]["pos"], json!({"line": 2, "column": 2}));
    assert_eq!(
        wrong["messages"][1]["data"],
        "'t1' depends on axioms: [propext, sorryAx]"
    );
    let missing = repl.ask(json!({"cmd": format!("{STATEMENT} := by\n  simp"), "env": 0}));
    assert_eq!(
        missing["messages"][0]["data"],
        "simulated world has no transition for tactic `simp`"
    );
    let open = repl.ask(json!({"cmd": format!("{STATEMENT} := by\n  constructor"), "env": 0}));
    assert_eq!(
        open["messages"][0]["data"],
        "unsolved goals\ncase left\na : ℕ\n⊢ a = a\n\ncase right\na : ℕ\n⊢ 0 = 0"
    );
    let holes =
        repl.ask(json!({"cmd": format!("{STATEMENT} := by\n  subst h\n  sorry"), "env": 0}));
    assert_eq!(holes["sorries"][0]["goal"], "a : ℕ\n⊢ a = a");
    assert_eq!(holes["sorries"][0]["pos"], json!({"line": 3, "column": 2}));
    assert_eq!(holes["messages"][0]["data"], SORRY_WARNING_4_24);
    assert_eq!(holes["env"], 5);
    // Term-mode sorry opens a proof state on the root goal.
    let term = repl.ask(json!({"cmd": format!("{STATEMENT} := sorry"), "env": 0}));
    let ps = term["sorries"][0]["proofState"].clone();
    assert_eq!(ps, 1);
    assert_eq!(
        repl.ask(json!({"tactic": "subst h", "proofState": ps}))["proofState"],
        2
    );
    let unknown = repl.ask(json!({"cmd": "theorem nope : 1 = 1 := by\n  rfl", "env": 0}));
    assert_eq!(
        unknown["messages"][0]["data"],
        "unknown declaration in simulated world"
    );
    assert_eq!(unknown["env"], 7);
}

#[test]
fn hang_fault_stops_answering_but_stays_alive() {
    let (mut repl, _dir) = Repl::world(&world(), &[]);
    open_t1(&mut repl);
    repl.send(&json!({"tactic": "omega", "proofState": 0}));
    repl.assert_silent(Duration::from_millis(300));
    assert!(repl.child.try_wait().unwrap().is_none(), "still running");
}

#[test]
fn crash_fault_exits_with_code_and_stderr() {
    let (mut repl, _dir) = Repl::world(&world(), &[]);
    open_t1(&mut repl);
    repl.send(&json!({"tactic": "crash", "proofState": 0}));
    assert_eq!(repl.expect_eof(), "");
    let (status, stderr) = repl.finish();
    assert_eq!(status.code(), Some(134));
    assert_eq!(stderr, "INTERNAL PANIC: simulated\n");
}

#[test]
fn garbage_fault_writes_non_json_then_carries_on() {
    let (mut repl, _dir) = Repl::world(&world(), &[]);
    open_t1(&mut repl);
    repl.send(&json!({"tactic": "garbage", "proofState": 0}));
    let garbage = repl.recv_raw();
    assert!(garbage.ends_with("\n\n") && serde_json::from_str::<Value>(&garbage).is_err());
    // The garbage allocated no state: the next success is proofState 1.
    assert_eq!(
        repl.ask(json!({"tactic": "subst h", "proofState": 0}))["proofState"],
        1
    );
}

#[test]
fn eof_fault_exits_cleanly_without_answering() {
    let (mut repl, _dir) = Repl::world(&world(), &[]);
    open_t1(&mut repl);
    repl.send(&json!({"tactic": "eof", "proofState": 0}));
    assert_eq!(repl.expect_eof(), "");
    let (status, stderr) = repl.finish();
    assert!(status.success(), "{status:?} {stderr}");
}

#[test]
fn grow_fault_and_flag_raise_resident_memory() {
    let (mut repl, _dir) = Repl::world(&world(), &["--grow-mb-per-request", "16"]);
    open_t1(&mut repl);
    let before = repl.rss_anon_kb();
    let step = repl.ask(json!({"tactic": "grow", "proofState": 0}));
    assert_eq!(step["proofState"], 1);
    let after = repl.rss_anon_kb();
    // 64 MiB from the transition plus 16 from the flag, all touched and kept.
    assert!(
        after >= before + 70 * 1024,
        "RssAnon {before} kB → {after} kB"
    );
    repl.ask(json!({"tactic": "slow", "proofState": 0}));
    let later = repl.rss_anon_kb();
    assert!(
        later >= after + 14 * 1024,
        "RssAnon {after} kB → {later} kB"
    );
}

#[test]
fn exit_after_and_log_flags() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.log");
    let (mut repl, _wdir) = Repl::world(
        &world(),
        &[
            "--exit-after",
            "5",
            "--log",
            log.to_str().unwrap(),
            "--latency-ms",
            "1",
        ],
    );
    open_t1(&mut repl);
    repl.ask(json!({"tactic": "subst h", "proofState": 0}));
    repl.ask(json!({"tactic": "exat", "proofState": 0}));
    repl.ask(json!({"tactic": "rfl", "proofState": 1}));
    // The sixth request is never answered: the process is already gone.
    assert_eq!(repl.expect_eof(), "");
    let (status, _) = repl.finish();
    assert!(status.success());
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines.iter().filter(|v| v.get("tactic").is_some()).count(),
        3
    );
    assert_eq!(lines.iter().filter(|v| v.get("cmd").is_some()).count(), 2);
    assert_eq!(lines[2], json!({"tactic": "subst h", "proofState": 0}));
}

#[test]
fn crash_on_start_and_bad_arguments() {
    let out = Command::new(SIM).arg("--crash-on-start").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "simulated crash on start\n"
    );
    assert!(out.stdout.is_empty());
    let help = Command::new(SIM).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("simulated REPL, not Lean"));
    let bad = Command::new(SIM).arg("--nope").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// Both recorded sets: v4.33.0-rc2 (`repl-transcripts`) and the pinned v4.24.0.
#[test]
fn replay_reproduces_every_recorded_transcript_byte_for_byte() {
    for set in [
        "fixtures/repl-transcripts",
        "fixtures/repl-transcripts-v4.24.0",
    ] {
        let test = "replay_reproduces_every_recorded_transcript_byte_for_byte";
        if let Some(dir) = prover_tests::test_data::find_or_skip(set, test) {
            replay_every_transcript(&dir);
        }
    }
}

fn replay_every_transcript(dir: &std::path::Path) {
    let prefixes = transcript_prefixes(dir);
    assert!(
        prefixes.len() >= 70,
        "found only {} transcripts",
        prefixes.len()
    );
    // Two at a time: the machine has two cores and each process is tiny.
    std::thread::scope(|s| {
        for chunk in prefixes.chunks(prefixes.len().div_ceil(2)) {
            s.spawn(move || {
                for prefix in chunk {
                    let input = std::fs::read(format!("{}.in", prefix.display())).unwrap();
                    let expected =
                        std::fs::read(format!("{}.expected.out", prefix.display())).unwrap();
                    let mut child = Command::new(SIM)
                        .arg("--replay")
                        .arg(prefix)
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap();
                    child.stdin.take().unwrap().write_all(&input).unwrap();
                    let out = child.wait_with_output().unwrap();
                    assert!(
                        out.status.success(),
                        "{}: {:?} {}",
                        prefix.display(),
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    );
                    assert!(
                        out.stdout == expected,
                        "{}: stdout differs:\n{}",
                        prefix.display(),
                        String::from_utf8_lossy(&out.stdout)
                    );
                }
            });
        }
    });
}

#[test]
fn replay_rejects_a_different_or_extra_request() {
    let Some(dir) = transcripts_dir("replay_rejects_a_different_or_extra_request") else {
        return;
    };
    let prefix = dir.join("test/readme");
    let first = split_answers(
        &std::fs::read_to_string(format!("{}.expected.out", prefix.display())).unwrap(),
    )
    .remove(0);
    let mut repl = Repl::spawn(&["--replay", prefix.to_str().unwrap()]);
    repl.send(&json!({"cmd": "def f (x : Unit) : Nat := by sorry"}));
    assert_eq!(repl.recv_raw(), first);
    repl.send(&json!({"tactic": "apply Nat.succ", "proofState": 0}));
    let (status, stderr) = repl.finish();
    assert_eq!(status.code(), Some(4));
    assert!(stderr.contains("replay mismatch at request 1"), "{stderr}");

    let mut repl = Repl::spawn(&["--replay", dir.join("test/import_lean").to_str().unwrap()]);
    repl.send(&json!({"cmd": "import Lean"}));
    assert_eq!(repl.recv(), json!({"env": 0}));
    repl.send(&json!({"cmd": "import Lean"}));
    let (status, stderr) = repl.finish();
    assert_eq!(status.code(), Some(4));
    assert!(stderr.contains("past the end"), "{stderr}");
}

fn small_spec(seed: u64) -> WorldSpec {
    WorldSpec {
        theorems: 12,
        depth: 4,
        branching: 4,
        seed,
        ..WorldSpec::default()
    }
}

#[test]
fn worldgen_is_deterministic_and_the_oracle_is_sound() {
    let a = generate(&small_spec(7));
    assert_eq!(a, generate(&small_spec(7)));
    assert_ne!(a.world, generate(&small_spec(8)).world);
    let proved = a.provable.values().filter(|p| **p).count();
    assert!(proved > 0 && proved < a.provable.len(), "{:?}", a.provable);
    for t in &a.world.theorems {
        let proof = bfs_oracle(&a.world, &t.name);
        assert_eq!(proof, a.shortest_proof[&t.name]);
        assert_eq!(proof.is_some(), a.provable[&t.name]);
        if let Some(p) = &proof {
            assert!(p.len() <= 4, "{}: {p:?}", t.name);
        }
    }

    // Every oracle proof goes through the simulator, step by step and as one checked command.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.json");
    a.world.save(&path).unwrap();
    let mut repl = Repl::spawn(&["--world", path.to_str().unwrap()]);
    let header = prover_tests::worldgen::DEFAULT_HEADER;
    assert_eq!(repl.ask(json!({"cmd": header})), json!({"env": 0}));
    for t in &a.world.theorems {
        let opened = repl.ask(json!({"cmd": format!("{} := by sorry", t.statement), "env": 0}));
        let mut ps = opened["sorries"][0]["proofState"].clone();
        let Some(proof) = &a.shortest_proof[&t.name] else {
            continue;
        };
        let mut last = Value::Null;
        for tactic in proof {
            last = repl.ask(json!({"tactic": tactic, "proofState": ps}));
            ps = last["proofState"].clone();
            assert!(last.get("message").is_none(), "{}: {last}", t.name);
        }
        assert_eq!(last["proofStatus"], "Completed", "{}", t.name);
        assert_eq!(last["goals"], json!([]));
        let check = format!(
            "{} := by{}\n#print axioms {}",
            t.statement,
            datasets::lean::script_to_proof(proof),
            t.name
        );
        let checked = repl.ask(json!({"cmd": check, "env": 0}));
        let messages = checked["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{}: {checked}", t.name);
        assert_eq!(messages[0]["severity"], "info");
        assert!(!messages[0]["data"].as_str().unwrap().contains("sorryAx"));
    }
}

#[test]
fn dataset_rows_round_trip_through_the_simulator() {
    let g = generate(&small_spec(3));
    let rows: Vec<Value> = dataset_jsonl(&g.world, "import Mathlib\n")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), g.world.theorems.len());
    assert!(
        rows[0]["formal_statement"]
            .as_str()
            .unwrap()
            .ends_with(":= by")
    );
    let proofs: BTreeMap<String, Vec<String>> = g
        .shortest_proof
        .iter()
        .filter_map(|(n, p)| Some((n.clone(), p.clone()?)))
        .collect();
    let checks: Vec<Value> = proofs_jsonl(&g.world, "import Mathlib\n", &proofs)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(checks.len(), proofs.len());
    for row in &checks {
        let name = row["name"].as_str().unwrap();
        assert_eq!(row["header"], "import Mathlib\n");
        assert_eq!(
            row["proof"].as_str().unwrap(),
            datasets::lean::script_to_proof(&proofs[name])
        );
    }
}

#[test]
fn world_gen_binary_writes_world_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.json");
    let run = || {
        let status = Command::new(GEN)
            .args([
                "--theorems",
                "5",
                "--depth",
                "3",
                "--branching",
                "3",
                "--seed",
                "42",
            ])
            .args(["--unprovable-rate", "0.4", "--out", out.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success());
        (
            std::fs::read(&out).unwrap(),
            std::fs::read(dir.path().join("w.answers.json")).unwrap(),
        )
    };
    let first = run();
    assert_eq!(first, run(), "same seed, same bytes");
    let world = World::load(&out).unwrap();
    let answers: Value = serde_json::from_slice(&first.1).unwrap();
    assert_eq!(answers["theorems"].as_object().unwrap().len(), 5);
    for t in &world.theorems {
        let a = &answers["theorems"][&t.name];
        assert_eq!(
            a["provable"].as_bool().unwrap(),
            !a["shortest_proof"].is_null()
        );
        let oracle = bfs_oracle(&world, &t.name);
        assert_eq!(serde_json::to_value(oracle).unwrap(), a["shortest_proof"]);
    }
}

#[test]
fn large_worlds_start_and_answer() {
    let g = generate(&WorldSpec {
        theorems: 200,
        depth: 8,
        branching: 8,
        tactic_vocabulary: 64,
        seed: 11,
        ..WorldSpec::default()
    });
    assert!(
        g.world.transitions.len() >= 100_000,
        "{}",
        g.world.transitions.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    g.world.save(&path).unwrap();
    let mut repl = Repl::spawn(&["--world", path.to_str().unwrap()]);
    repl.ask(json!({"cmd": "import Mathlib"}));
    let last = g.world.theorems.last().unwrap();
    let opened = repl.ask(json!({"cmd": format!("{} := by sorry", last.statement), "env": 0}));
    assert_eq!(
        opened["sorries"][0]["goal"],
        g.world.states[&last.root].join("\n")
    );
    // Many lookups against the big index, each answered.
    for _ in 0..200 {
        let a = repl.ask(json!({"tactic": "simp", "proofState": 0}));
        assert!(a.is_object());
    }
}
