//! `ReplProcess`: one supervised REPL process: its own process group, a deadline per round trip,
//! a drained stderr, and the first cause of its death recorded so it never answers again.
//!
//! Lean crashes, hangs and leaks are expected (`lean-repl-protocol.md` §12), so every way the
//! conversation can go wrong ends in a killed process group and a recorded [`BridgeError`].

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::error::BridgeError;
use crate::memory;
use crate::protocol::{Request, Response};
use crate::reaper;

/// How much of a process's stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 16 * 1024;
/// How long a process that closed stdout gets to exit, so its exit status can be reported.
const EXIT_GRACE: Duration = Duration::from_secs(1);
/// How long reaping a SIGKILLed group or draining its stderr may take before we stop waiting.
const REAP_GRACE: Duration = Duration::from_secs(2);
/// How much of an offending answer goes into a `Protocol` error.
const SHOWN_LINE_CHARS: usize = 200;

/// How to start and supervise one REPL process. Plain values: nothing here reads the
/// environment or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplConfig {
    /// A shell command line, run as `sh -c <command>`, e.g. `lake env .lake/build/bin/repl`.
    /// Default: `lake env repl`.
    pub command: String,
    /// Working directory of the process (the Lean project). Default: inherited.
    pub working_dir: Option<PathBuf>,
    /// Extra environment variables for the process. Default: none.
    pub env: Vec<(String, String)>,
    /// `RLIMIT_DATA` for the process group, in bytes, inherited by `lake` and the REPL.
    /// It counts the heap and anonymous mappings, not the mapped `.olean` files. Default: none.
    pub memory_limit_bytes: Option<u64>,
    /// Recycle the process after this many answered requests. Default: none.
    pub max_requests: Option<u64>,
    /// Recycle the process when `RssAnon`, summed over its process group, exceeds this.
    /// Default: none.
    pub max_rss_anon_bytes: Option<u64>,
    /// Read `RssAnon` every this many answered requests (0 is read as 1). Default: 10.
    pub memory_check_every: u64,
    /// The largest answer accepted, in bytes; a larger one is a protocol error. Default: 256 MiB.
    pub max_answer_bytes: usize,
}

impl Default for ReplConfig {
    fn default() -> Self {
        ReplConfig {
            command: "lake env repl".into(),
            working_dir: None,
            env: Vec::new(),
            memory_limit_bytes: None,
            max_requests: None,
            max_rss_anon_bytes: None,
            memory_check_every: 10,
            max_answer_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A request that failed, and whether the process may have received it.
///
/// The pool uses `delivered` to tell a process that had already died before we wrote to it
/// (safe to replace and resend) from one that died while working on the request.
#[derive(Debug, Clone)]
pub(crate) struct SendFailure {
    pub(crate) error: BridgeError,
    pub(crate) delivered: bool,
}

impl SendFailure {
    fn before(error: BridgeError) -> Self {
        SendFailure {
            error,
            delivered: false,
        }
    }

    fn during(error: BridgeError) -> Self {
        SendFailure {
            error,
            delivered: true,
        }
    }
}

/// Why a round trip did not produce an answer's bytes.
enum WireFailure {
    Write(io::Error),
    Read(io::Error),
    Eof,
    TooLarge,
    /// The first line of an answer does not open a JSON object: this is no REPL (`yes`, a
    /// shell prompt), and waiting for a blank line could take forever.
    NotAnAnswer(String),
}

/// One REPL process in its own process group. Strictly sequential: `send` takes `&mut self`.
///
/// Dropping it kills the whole process group.
pub struct ReplProcess {
    command: String,
    child: Child,
    pgid: u32,
    reaped: bool,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<VecDeque<u8>>>,
    stderr_task: Option<JoinHandle<()>>,
    exit_cause: OnceLock<BridgeError>,
    /// Set while a request is outstanding; still set afterwards means the caller dropped the
    /// future mid-answer and the stream is out of step.
    in_flight: bool,
    requests: u64,
    max_requests: Option<u64>,
    max_rss_anon_bytes: Option<u64>,
    memory_check_every: u64,
    max_answer_bytes: usize,
    last_rss_anon: Option<u64>,
    over_memory: bool,
}

impl std::fmt::Debug for ReplProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplProcess")
            .field("command", &self.command)
            .field("pgid", &self.pgid)
            .field("requests", &self.requests)
            .field("exit_cause", &self.exit_cause.get())
            .finish_non_exhaustive()
    }
}

impl ReplProcess {
    /// Starts `sh -c <config.command>` in a new process group with piped stdio.
    ///
    /// Must be called inside a tokio runtime. The process prints nothing until it is sent a
    /// request, so a successful spawn says nothing about whether the REPL works.
    pub fn spawn(config: &ReplConfig) -> Result<ReplProcess, BridgeError> {
        let spawn_error = |reason: String| BridgeError::Spawn {
            command: config.command.clone(),
            reason,
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&config.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &config.working_dir {
            cmd.current_dir(dir);
        }
        cmd.envs(config.env.iter().map(|(k, v)| (k, v)));
        if let Some(limit) = config.memory_limit_bytes {
            // SAFETY: the closure runs between fork and exec and only calls getrlimit and
            // setrlimit, which are async-signal-safe; it allocates nothing.
            unsafe {
                cmd.pre_exec(move || memory::set_data_limit(limit));
            }
        }
        let spawned = reaper::spawn_registered(|| {
            let child = cmd.spawn().map_err(|e| spawn_error(e.to_string()))?;
            let pgid = child
                .id()
                .ok_or_else(|| spawn_error("exited before its pid was read".into()))?;
            // Process ids fit in i32 (`pid_max` is at most 2^22).
            Ok(((child, pgid), pgid as i32))
        });
        let (mut child, pgid) = match spawned {
            Some(result) => result?,
            None => return Err(spawn_error("the process is shutting down".into())),
        };
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(spawn_error("stdio pipes missing".into()));
        };
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_task = tokio::spawn(drain_stderr(stderr, Arc::clone(&stderr_tail)));
        tracing::debug!(pgid, command = %config.command, "spawned repl");
        Ok(ReplProcess {
            command: config.command.clone(),
            child,
            pgid,
            reaped: false,
            stdin,
            stdout: BufReader::new(stdout),
            stderr_tail,
            stderr_task: Some(stderr_task),
            exit_cause: OnceLock::new(),
            in_flight: false,
            requests: 0,
            max_requests: config.max_requests,
            max_rss_anon_bytes: config.max_rss_anon_bytes,
            memory_check_every: config.memory_check_every.max(1),
            max_answer_bytes: config.max_answer_bytes,
            last_rss_anon: None,
            over_memory: false,
        })
    }

    /// Sends one request and waits at most `deadline` for its answer.
    ///
    /// Every error kills the process group and is recorded: a process that failed once
    /// returns that first error for every later call, without touching its pipes.
    /// - no answer in time: [`BridgeError::Timeout`];
    /// - stdout closed: [`BridgeError::Exited`] with the exit status and the stderr tail;
    /// - output that is not an answer, or one larger than `max_answer_bytes`:
    ///   [`BridgeError::Protocol`];
    /// - a pipe error other than a closed pipe: [`BridgeError::Io`].
    pub async fn send(
        &mut self,
        request: &Request,
        deadline: Duration,
    ) -> Result<Response, BridgeError> {
        self.send_tracked(request, deadline)
            .await
            .map_err(|f| f.error)
    }

    pub(crate) async fn send_tracked(
        &mut self,
        request: &Request,
        deadline: Duration,
    ) -> Result<Response, SendFailure> {
        if !self.is_alive().await {
            return Err(SendFailure::before(self.recorded_cause()));
        }
        let kind = request.kind();
        let span = tracing::debug_span!("repl_round_trip", pgid = self.pgid, request = kind);
        async {
            let wire = request.to_wire();
            let started = Instant::now();
            self.in_flight = true;
            let outcome = tokio::time::timeout(deadline, self.round_trip(&wire)).await;
            let result = match outcome {
                Err(_elapsed) => {
                    self.kill_and_reap().await;
                    Err(SendFailure::during(self.record(BridgeError::Timeout {
                        after: deadline,
                        request: kind.into(),
                    })))
                }
                Ok(Err(WireFailure::Write(e))) if e.kind() == io::ErrorKind::BrokenPipe => {
                    let exited = self.collect_exit(kind).await;
                    Err(SendFailure::before(self.record(exited)))
                }
                Ok(Err(WireFailure::Write(e))) => {
                    self.kill_and_reap().await;
                    Err(SendFailure::before(
                        self.record(BridgeError::Io(format!("writing {kind}: {e}"))),
                    ))
                }
                Ok(Err(WireFailure::Read(e))) => {
                    self.kill_and_reap().await;
                    Err(SendFailure::during(self.record(BridgeError::Io(format!(
                        "reading answer to {kind}: {e}"
                    )))))
                }
                Ok(Err(WireFailure::Eof)) => {
                    let exited = self.collect_exit(kind).await;
                    Err(SendFailure::during(self.record(exited)))
                }
                Ok(Err(WireFailure::NotAnAnswer(line))) => {
                    self.kill_and_reap().await;
                    Err(SendFailure::during(self.record(BridgeError::Protocol {
                        line: shorten(&line, SHOWN_LINE_CHARS),
                        reason: format!("the answer to {kind} does not start a JSON object"),
                    })))
                }
                Ok(Err(WireFailure::TooLarge)) => {
                    self.kill_and_reap().await;
                    Err(SendFailure::during(self.record(BridgeError::Protocol {
                        line: String::new(),
                        reason: format!("answer to {kind} exceeds {} bytes", self.max_answer_bytes),
                    })))
                }
                Ok(Ok(bytes)) => self.decode(kind, &bytes).await,
            };
            self.in_flight = false;
            match &result {
                Ok(response) => tracing::debug!(
                    answer = response.kind(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "answered"
                ),
                Err(failure) => tracing::debug!(error = %failure.error, "round trip failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn decode(&mut self, kind: &str, bytes: &[u8]) -> Result<Response, SendFailure> {
        let parsed = std::str::from_utf8(bytes)
            .map_err(|e| format!("answer is not UTF-8 ({e})"))
            .and_then(|text| Response::parse(text).map_err(|e| e.reason));
        match parsed {
            Ok(response) => {
                self.requests += 1;
                self.check_memory();
                Ok(response)
            }
            Err(reason) => {
                self.kill_and_reap().await;
                let first = String::from_utf8_lossy(bytes);
                let line = first.lines().next().unwrap_or("");
                Err(SendFailure::during(self.record(BridgeError::Protocol {
                    line: shorten(line, SHOWN_LINE_CHARS),
                    reason: format!("{reason} in answer to {kind}"),
                })))
            }
        }
    }

    /// Writes the request and reads lines up to the first blank line after a non-blank one.
    async fn round_trip(&mut self, wire: &str) -> Result<Vec<u8>, WireFailure> {
        self.stdin
            .write_all(wire.as_bytes())
            .await
            .map_err(WireFailure::Write)?;
        self.stdin.flush().await.map_err(WireFailure::Write)?;
        let cap = self.max_answer_bytes;
        let mut answer = Vec::new();
        loop {
            let start = answer.len();
            // One byte past the cap, so an oversized answer is told apart from EOF.
            let budget = (cap.saturating_sub(start) + 1) as u64;
            let read = (&mut self.stdout)
                .take(budget)
                .read_until(b'\n', &mut answer)
                .await
                .map_err(WireFailure::Read)?;
            if read == 0 {
                return Err(WireFailure::Eof);
            }
            if answer.len() > cap {
                return Err(WireFailure::TooLarge);
            }
            if answer.last() != Some(&b'\n') {
                return Err(WireFailure::Eof);
            }
            if answer[start..].trim_ascii().is_empty() {
                if start == 0 {
                    // A stray blank line before an answer carries nothing; skip it.
                    answer.clear();
                    continue;
                }
                answer.truncate(start);
                return Ok(answer);
            }
            // Every REPL answer is a JSON object, so its first line opens one.
            if start == 0 && !answer.trim_ascii_start().starts_with(b"{") {
                return Err(WireFailure::NotAnAnswer(
                    String::from_utf8_lossy(&answer).trim_end().to_owned(),
                ));
            }
        }
    }

    fn check_memory(&mut self) {
        let Some(max) = self.max_rss_anon_bytes else {
            return;
        };
        if !self.requests.is_multiple_of(self.memory_check_every) {
            return;
        }
        match memory::rss_anon_of_group(self.pgid) {
            Ok(rss) => {
                self.last_rss_anon = Some(rss);
                if rss > max {
                    tracing::debug!(pgid = self.pgid, rss, max, "repl over its memory budget");
                    self.over_memory = true;
                }
            }
            Err(e) => tracing::debug!(pgid = self.pgid, error = %e, "cannot read RssAnon"),
        }
    }

    /// Whether the process can still be sent requests. Finds a process that exited while idle,
    /// or whose previous request was abandoned mid-answer, and records why.
    pub async fn is_alive(&mut self) -> bool {
        if self.exit_cause.get().is_some() {
            return false;
        }
        if self.in_flight {
            self.kill_and_reap().await;
            self.record(BridgeError::Protocol {
                line: String::new(),
                reason: "an earlier request was abandoned before its answer was read".into(),
            });
            return false;
        }
        if self.leader_exited() {
            let exited = self.collect_exit("nothing (it exited while idle)").await;
            self.record(exited);
            return false;
        }
        true
    }

    /// Whether a request was sent and its answer never read, because the caller dropped the
    /// future. The stream is then out of step and the process good only for killing.
    pub fn is_mid_request(&self) -> bool {
        self.in_flight && self.exit_cause.get().is_none()
    }

    /// The first error that ended this process, if any.
    pub fn exit_cause(&self) -> Option<&BridgeError> {
        self.exit_cause.get()
    }

    /// Whether the process should be retired: it served `max_requests`, or its last memory
    /// check found `RssAnon` above `max_rss_anon_bytes`.
    pub fn needs_recycle(&self) -> bool {
        self.over_memory || self.max_requests.is_some_and(|n| self.requests >= n)
    }

    /// Requests answered so far.
    pub fn requests_served(&self) -> u64 {
        self.requests
    }

    /// The process group id (the pid of the `sh -c` leader).
    pub fn pgid(&self) -> u32 {
        self.pgid
    }

    /// `RssAnon` summed over every process of the group, read now.
    pub fn rss_anon_bytes(&self) -> io::Result<u64> {
        memory::rss_anon_of_group(self.pgid)
    }

    /// The value read by the last periodic memory check.
    pub fn last_rss_anon_bytes(&self) -> Option<u64> {
        self.last_rss_anon
    }

    /// The last bytes the process wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        let (a, b) = tail.as_slices();
        let mut bytes = Vec::with_capacity(tail.len());
        bytes.extend_from_slice(a);
        bytes.extend_from_slice(b);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Kills the process group on purpose and waits for it. Later calls to `send` fail with an
    /// `Exited` error saying so.
    pub async fn kill(&mut self) {
        if self.exit_cause.get().is_some() {
            return;
        }
        self.kill_and_reap().await;
        let stderr_tail = self.finish_stderr().await;
        self.record(BridgeError::Exited {
            status: "killed by the client".into(),
            request: "nothing (retired)".into(),
            stderr_tail,
        });
    }

    fn record(&self, error: BridgeError) -> BridgeError {
        let _ = self.exit_cause.set(error);
        self.recorded_cause()
    }

    fn recorded_cause(&self) -> BridgeError {
        self.exit_cause
            .get()
            .cloned()
            .unwrap_or_else(|| BridgeError::Io("repl state lost".into()))
    }

    /// After stdout closed: gives the process a moment to exit so its real status can be
    /// reported, then kills what is left of the group and reaps the leader.
    async fn collect_exit(&mut self, request: &str) -> BridgeError {
        let give_up = Instant::now() + EXIT_GRACE;
        let mut exited = self.leader_exited();
        while !exited && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(5)).await;
            exited = self.leader_exited();
        }
        let status = self.kill_and_reap().await;
        let status = match (exited, status) {
            (true, Some(status)) => status.to_string(),
            (true, None) => "exited, status unknown".into(),
            (false, _) => "closed stdout but kept running; killed".into(),
        };
        let stderr_tail = self.finish_stderr().await;
        BridgeError::Exited {
            status,
            request: request.into(),
            stderr_tail,
        }
    }

    /// Whether the group leader has exited, without reaping it: while it is an unreaped
    /// zombie its pid, and so our process group id, cannot be reused, which keeps `killpg`
    /// aimed at our own processes.
    fn leader_exited(&self) -> bool {
        if self.reaped {
            return true;
        }
        // SAFETY: an all-zero siginfo_t is a valid value; waitid only writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is valid and writable; WNOWAIT leaves the child for tokio to reap.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                self.pgid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: waitid succeeded, so si_pid is initialised (0 when nothing has exited).
        rc == 0 && unsafe { info.si_pid() } != 0
    }

    fn kill_group(&self) {
        if self.reaped || self.pgid == 0 {
            return;
        }
        // Unregistered while the group id is still ours (the leader is unreaped).
        reaper::unregister(self.pgid as i32);
        // SAFETY: plain syscall. The leader is unreaped, so the group id is still ours.
        unsafe {
            libc::killpg(self.pgid as libc::pid_t, libc::SIGKILL);
        }
    }

    /// SIGKILLs the group, then reaps the leader. Returns the leader's status when it was
    /// reaped in time (its own exit status if it had already exited before the kill).
    async fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        self.kill_group();
        if self.reaped {
            return None;
        }
        match tokio::time::timeout(REAP_GRACE, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.reaped = true;
                Some(status)
            }
            Ok(Err(e)) => {
                tracing::debug!(pgid = self.pgid, error = %e, "cannot reap repl");
                None
            }
            Err(_) => {
                tracing::debug!(pgid = self.pgid, "repl not reaped in time after SIGKILL");
                None
            }
        }
    }

    /// Waits briefly for stderr to reach EOF (every writer is dead by now) and returns the tail.
    async fn finish_stderr(&mut self) -> String {
        if let Some(task) = self.stderr_task.take() {
            let _ = tokio::time::timeout(REAP_GRACE, task).await;
        }
        self.stderr_tail()
    }
}

impl Drop for ReplProcess {
    fn drop(&mut self) {
        self.kill_group();
        if let Some(task) = self.stderr_task.take() {
            task.abort();
        }
    }
}

/// Keeps the last `STDERR_TAIL_BYTES` of stderr, reading continuously so that a chatty process
/// never blocks on a full pipe.
async fn drain_stderr(mut stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<u8>>>) {
    let mut chunk = vec![0u8; 4096];
    loop {
        match stderr.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                tail.extend(&chunk[..n]);
                let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
                tail.drain(..excess);
            }
        }
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
