//! The registry of live REPL process groups, and a reaper process that kills them when this process dies, however it dies.
//!
//! Each REPL runs in a process group of its own (so one `killpg` takes down `lake env`, the
//! REPL and anything they started), which also means no signal aimed at `prover` reaches them:
//! a `kill -9` of `prover` would leave them running, each with gigabytes of Mathlib, until
//! someone killed them by hand. Two mechanisms close that gap:
//! - [`shut_down`] kills every registered group at once and starts no more; the CLI calls it on SIGINT, SIGTERM
//!   and SIGHUP, before it writes its summary.
//! - A reaper: a tiny `sh` started on the first REPL, in a process group of its own and deaf
//!   to SIGINT, SIGHUP and SIGTERM, reads `+PGID` and `-PGID` lines on its stdin. When this
//!   process dies, for any reason including SIGKILL, the kernel closes the pipe; the reaper
//!   reads end-of-file and SIGKILLs every group still registered.
//!
//! A group is unregistered (from both) before its leader is reaped, so a recycled process
//! group id never reaches `killpg`.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// The reaper's program: collect group ids until end of input, then kill what is left.
/// (`kill -KILL -PGID`, without `--`: dash's `kill` refuses `--`.)
const REAPER_SCRIPT: &str = r#"trap '' INT HUP TERM
groups=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups${line#+} " ;;
    -*) id=${line#-}
        case $groups in *" $id "*) groups="${groups%% $id *} ${groups#* $id }" ;; esac ;;
  esac
done
for id in $groups; do kill -KILL "-$id" 2>/dev/null; done
"#;

struct Registry {
    live: BTreeSet<i32>,
    reaper: Option<(Child, ChildStdin)>,
    reaper_failed: bool,
    /// After [`shut_down`]: no new group may start.
    closed: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: BTreeSet::new(),
    reaper: None,
    reaper_failed: false,
    closed: false,
});

fn lock() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    fn tell_reaper(&mut self, line: &str) {
        if self.reaper.is_none() && !self.reaper_failed {
            match start_reaper() {
                Ok(reaper) => self.reaper = Some(reaper),
                Err(e) => {
                    self.reaper_failed = true;
                    tracing::warn!(
                        "cannot start the REPL reaper ({e}); REPLs outlive a killed prover"
                    );
                }
            }
        }
        if let Some((_, stdin)) = self.reaper.as_mut()
            && writeln!(stdin, "{line}")
                .and_then(|()| stdin.flush())
                .is_err()
        {
            tracing::debug!("the REPL reaper is gone");
            self.reaper = None;
        }
    }
}

fn start_reaper() -> std::io::Result<(Child, ChildStdin)> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(REAPER_SCRIPT)
        .stdin(Stdio::piped())
        // Holding our stdout or stderr open would keep whoever reads them waiting for it.
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Out of the terminal's foreground group: a Ctrl-C must not take it down with us.
        .process_group(0)
        .spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
    Ok((child, stdin))
}

/// Starts a process group with `spawn` (which returns the group id it started) and registers
/// it, under one lock: [`shut_down`] can never run between the two, so no group escapes it.
/// After `shut_down`, nothing is started and `None` comes back.
pub fn spawn_registered<T, E>(spawn: impl FnOnce() -> Result<(T, i32), E>) -> Option<Result<T, E>> {
    let mut registry = lock();
    if registry.closed {
        return None;
    }
    Some(spawn().map(|(started, pgid)| {
        registry.live.insert(pgid);
        registry.tell_reaper(&format!("+{pgid}"));
        started
    }))
}

/// Unregisters a group that is being killed or has ended; call before its leader is reaped.
pub fn unregister(pgid: i32) {
    let mut registry = lock();
    if registry.live.remove(&pgid) {
        registry.tell_reaper(&format!("-{pgid}"));
    }
}

/// SIGKILLs every registered group, and refuses to start any more: the process is stopping.
/// Returns how many groups there were.
pub fn shut_down() -> usize {
    let mut registry = lock();
    registry.closed = true;
    let groups: Vec<i32> = std::mem::take(&mut registry.live).into_iter().collect();
    for &pgid in &groups {
        // SAFETY: plain syscall on a group we started and whose leader we have not reaped.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
        registry.tell_reaper(&format!("-{pgid}"));
    }
    groups.len()
}

/// The registered groups, for tests.
pub fn live_groups() -> Vec<i32> {
    lock().live.iter().copied().collect()
}
