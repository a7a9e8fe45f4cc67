//! `ReplProcess` against tiny shell scripts standing in for the REPL, so framing, deadlines,
//! group kills, exit reporting and limits are tested without Lean or the simulator.

use std::path::Path;
use std::time::{Duration, Instant};

use lean_bridge::{BridgeError, CommandRequest, ReplConfig, ReplProcess, Request, Response};

const DEADLINE: Duration = Duration::from_secs(10);

fn config(script: &str) -> ReplConfig {
    ReplConfig {
        command: script.to_owned(),
        ..ReplConfig::default()
    }
}

fn cmd(text: &str) -> Request {
    Request::Command(CommandRequest {
        cmd: text.to_owned(),
        ..Default::default()
    })
}

/// Answers every request with `{"env": n}`, n counting from 0, pretty-printed over two lines
/// as the REPL does. Blank lines separate requests and are skipped.
const COUNTER: &str = r#"n=0
while IFS= read -r line; do
  [ -z "$line" ] && continue
  printf '{"env":\n %d}\n\n' "$n"
  n=$((n+1))
done"#;

fn env_of(response: Response) -> u64 {
    match response {
        Response::Command(c) => c.env,
        other => panic!("expected a command answer, got {other:?}"),
    }
}

#[tokio::test]
async fn answers_are_read_up_to_the_blank_line_in_order() {
    let mut repl = ReplProcess::spawn(&config(COUNTER)).unwrap();
    for expected in 0..5 {
        let response = repl.send(&cmd("example : True := trivial"), DEADLINE).await;
        assert_eq!(env_of(response.unwrap()), expected);
    }
    assert_eq!(repl.requests_served(), 5);
    assert!(repl.is_alive().await);
    assert!(repl.exit_cause().is_none());
}

#[tokio::test]
async fn a_request_with_newlines_is_one_line_on_the_wire() {
    // The script answers with the number of lines it read before the blank line.
    let script = r#"n=0
while IFS= read -r line; do
  if [ -z "$line" ]; then printf '{"env": %d}\n\n' "$n"; n=0; else n=$((n+1)); fi
done"#;
    let mut repl = ReplProcess::spawn(&config(script)).unwrap();
    let response = repl
        .send(&cmd("theorem t : True := by\n  trivial\n\n"), DEADLINE)
        .await;
    assert_eq!(env_of(response.unwrap()), 1);
}

#[tokio::test]
async fn a_silent_process_times_out_and_its_whole_group_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    // A background grandchild in the same group, like the REPL under `lake env`.
    let script = format!(
        "sleep 1000 & echo $! > {}; while read -r line; do :; done",
        pid_file.display()
    );
    let mut repl = ReplProcess::spawn(&config(&script)).unwrap();
    let started = Instant::now();
    let error = repl
        .send(&cmd("x"), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BridgeError::Timeout { after, request }
            if *after == Duration::from_millis(500) && request == "command"),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(!repl.is_alive().await);
    let grandchild: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        eventually_gone(grandchild).await,
        "grandchild {grandchild} survived"
    );
}

/// Whether `pid` is gone or a zombie within a few seconds.
async fn eventually_gone(pid: u32) -> bool {
    for _ in 0..200 {
        match std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z') =>
            {
                return true;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    false
}

#[tokio::test]
async fn exit_mid_request_reports_status_and_stderr_and_sticks() {
    let script = "read -r line; echo 'PANIC: out of cheese' >&2; exit 3";
    let mut repl = ReplProcess::spawn(&config(script)).unwrap();
    let error = repl.send(&cmd("x"), DEADLINE).await.unwrap_err();
    match &error {
        BridgeError::Exited {
            status,
            request,
            stderr_tail,
        } => {
            assert!(status.contains('3'), "{status}");
            assert_eq!(request, "command");
            assert!(stderr_tail.contains("out of cheese"), "{stderr_tail}");
        }
        other => panic!("expected Exited, got {other:?}"),
    }
    assert!(error.to_string().contains("out of cheese"));
    // The first cause is returned again, without touching the dead process.
    let again = repl.send(&cmd("y"), DEADLINE).await.unwrap_err();
    assert_eq!(again.to_string(), error.to_string());
    assert_eq!(repl.exit_cause().unwrap().to_string(), error.to_string());
}

#[tokio::test]
async fn garbage_is_a_protocol_error_and_kills_the_process() {
    let script = "read -r line; printf 'this is not json\\n\\n'; while read -r l; do :; done";
    let mut repl = ReplProcess::spawn(&config(script)).unwrap();
    let error = repl.send(&cmd("x"), DEADLINE).await.unwrap_err();
    assert!(
        matches!(&error, BridgeError::Protocol { line, .. } if line == "this is not json"),
        "{error:?}"
    );
    assert!(error.kills_process());
    assert!(!repl.is_alive().await);
}

#[tokio::test]
async fn json_of_no_known_shape_is_a_protocol_error() {
    let script = "read -r line; printf '{\"hello\": 1}\\n\\n'; while read -r l; do :; done";
    let mut repl = ReplProcess::spawn(&config(script)).unwrap();
    let error = repl.send(&cmd("x"), DEADLINE).await.unwrap_err();
    assert!(matches!(error, BridgeError::Protocol { .. }), "{error:?}");
}

#[tokio::test]
async fn stdout_closed_without_answer_is_exited() {
    let script = "read -r line; exit 0";
    let mut repl = ReplProcess::spawn(&config(script)).unwrap();
    let error = repl.send(&cmd("x"), DEADLINE).await.unwrap_err();
    assert!(
        matches!(&error, BridgeError::Exited { status, .. } if status.contains('0')),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_process_that_exits_while_idle_is_noticed_before_sending() {
    let script = "exit 7";
    let mut repl = ReplProcess::spawn(&config(script)).unwrap();
    let mut alive = true;
    for _ in 0..200 {
        alive = repl.is_alive().await;
        if !alive {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!alive);
    let error = repl.send(&cmd("x"), DEADLINE).await.unwrap_err();
    assert!(
        matches!(&error, BridgeError::Exited { status, request, .. }
            if status.contains('7') && request.contains("idle")),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_oversized_answer_is_refused() {
    let script = "read -r line; printf '{\"env\": 0, \"pad\": \"%0300d\"}\\n\\n' 0; while read -r l; do :; done";
    let mut repl = ReplProcess::spawn(&ReplConfig {
        max_answer_bytes: 100,
        ..config(script)
    })
    .unwrap();
    let error = repl.send(&cmd("x"), DEADLINE).await.unwrap_err();
    assert!(
        matches!(&error, BridgeError::Protocol { reason, .. } if reason.contains("100 bytes")),
        "{error:?}"
    );
}

#[tokio::test]
async fn chatty_stderr_never_blocks_and_only_the_tail_is_kept() {
    // About 1 MiB on stderr before each answer: far more than a pipe buffer holds.
    let script = r#"while IFS= read -r line; do
  [ -z "$line" ] && continue
  i=0; while [ $i -lt 64 ]; do head -c 16384 /dev/zero | tr '\0' 'e' >&2; i=$((i+1)); done
  echo 'LAST WORDS' >&2
  printf '{"env": 0}\n\n'
done"#;
    let mut repl = ReplProcess::spawn(&config(script)).unwrap();
    for _ in 0..2 {
        let response = repl.send(&cmd("x"), DEADLINE).await;
        assert_eq!(env_of(response.unwrap()), 0);
    }
    // The drain task may lag the answer slightly.
    let mut tail = String::new();
    for _ in 0..100 {
        tail = repl.stderr_tail();
        if tail.contains("LAST WORDS") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(tail.contains("LAST WORDS"));
    assert!(tail.len() <= 16 * 1024, "{}", tail.len());
}

#[tokio::test]
async fn the_data_limit_environment_and_working_dir_reach_the_process() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("marker"), "42").unwrap();
    // Answers with the soft RLIMIT_DATA in KiB, then FOO, then the marker file's content.
    let script = r#"read -r l; printf '{"env": %s}\n\n' "$(ulimit -d)"
read -r l; read -r l; printf '{"env": %s}\n\n' "$FOO"
read -r l; read -r l; printf '{"env": %s}\n\n' "$(cat marker)"
while read -r l; do :; done"#;
    let mut repl = ReplProcess::spawn(&ReplConfig {
        memory_limit_bytes: Some(512 * 1024 * 1024),
        env: vec![("FOO".into(), "17".into())],
        working_dir: Some(dir.path().to_owned()),
        ..config(script)
    })
    .unwrap();
    assert_eq!(
        env_of(repl.send(&cmd("x"), DEADLINE).await.unwrap()),
        512 * 1024
    );
    assert_eq!(env_of(repl.send(&cmd("x"), DEADLINE).await.unwrap()), 17);
    assert_eq!(env_of(repl.send(&cmd("x"), DEADLINE).await.unwrap()), 42);
}

#[tokio::test]
async fn a_missing_working_dir_is_a_spawn_error() {
    let error = ReplProcess::spawn(&ReplConfig {
        working_dir: Some("/nonexistent/lean/project".into()),
        ..config(COUNTER)
    })
    .unwrap_err();
    assert!(matches!(error, BridgeError::Spawn { .. }), "{error:?}");
}

#[tokio::test]
async fn recycling_is_due_after_max_requests() {
    let mut repl = ReplProcess::spawn(&ReplConfig {
        max_requests: Some(3),
        ..config(COUNTER)
    })
    .unwrap();
    for _ in 0..2 {
        repl.send(&cmd("x"), DEADLINE).await.unwrap();
        assert!(!repl.needs_recycle());
    }
    repl.send(&cmd("x"), DEADLINE).await.unwrap();
    assert!(repl.needs_recycle());
}

#[tokio::test]
async fn recycling_is_due_above_the_rss_threshold() {
    let mut repl = ReplProcess::spawn(&ReplConfig {
        // Any live shell uses more than one byte of anonymous memory.
        max_rss_anon_bytes: Some(1),
        memory_check_every: 2,
        ..config(COUNTER)
    })
    .unwrap();
    assert!(repl.rss_anon_bytes().unwrap() > 0);
    repl.send(&cmd("x"), DEADLINE).await.unwrap();
    assert!(!repl.needs_recycle(), "checked only every second request");
    repl.send(&cmd("x"), DEADLINE).await.unwrap();
    assert!(repl.needs_recycle());
    assert!(repl.last_rss_anon_bytes().unwrap() > 1);
}

#[tokio::test]
async fn an_abandoned_request_poisons_the_process() {
    let script = "read -r line; sleep 1000";
    let mut repl = ReplProcess::spawn(&config(script)).unwrap();
    // The caller gives up on its own (a cancelled search), before the deadline.
    let abandoned =
        tokio::time::timeout(Duration::from_millis(200), repl.send(&cmd("x"), DEADLINE)).await;
    assert!(abandoned.is_err());
    let error = repl.send(&cmd("y"), DEADLINE).await.unwrap_err();
    assert!(
        matches!(&error, BridgeError::Protocol { reason, .. } if reason.contains("abandoned")),
        "{error:?}"
    );
}

#[tokio::test]
async fn kill_ends_the_process_on_purpose() {
    let mut repl = ReplProcess::spawn(&config(COUNTER)).unwrap();
    repl.send(&cmd("x"), DEADLINE).await.unwrap();
    repl.kill().await;
    assert!(!repl.is_alive().await);
    let error = repl.send(&cmd("x"), DEADLINE).await.unwrap_err();
    assert!(matches!(error, BridgeError::Exited { .. }), "{error:?}");
}
