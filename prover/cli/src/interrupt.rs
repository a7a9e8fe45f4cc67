//! Ctrl-C, SIGTERM and SIGHUP: stop cleanly, killing every REPL at once, keeping what was written, and exiting 128 + the signal.
//!
//! The first signal kills every REPL process group (`prover::session::stop_all_repls`, which also starts no more), so
//! nothing keeps gigabytes of Mathlib alive while the run winds down; the subcommand then
//! stops starting work, writes no result decided after the signal (a search cut short is no
//! verdict, and the rerun redoes it), prints its summary and exits 130, 143 or 129. A second
//! signal exits at once.

use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Watches for the stop signals on a runtime; cloned into every task that must notice them.
#[derive(Clone)]
pub(super) struct Interrupt {
    received: watch::Receiver<Option<i32>>,
    stop: prover::pipeline::Stop,
}

impl Interrupt {
    /// Installs the handlers (on `runtime`) and returns the watcher.
    pub(super) fn install(runtime: &tokio::runtime::Handle) -> anyhow::Result<Interrupt> {
        let (sender, received) = watch::channel(None);
        let (stopper, stop) = prover::pipeline::Stop::channel();
        let _guard = runtime.enter();
        let mut streams = Vec::new();
        for (kind, number) in [
            (SignalKind::interrupt(), libc::SIGINT),
            (SignalKind::terminate(), libc::SIGTERM),
            (SignalKind::hangup(), libc::SIGHUP),
        ] {
            let stream = signal(kind)
                .map_err(|e| anyhow::anyhow!("cannot install the signal handlers: {e}"))?;
            streams.push((stream, number));
        }
        runtime.spawn(async move {
            let mut first = true;
            loop {
                let number = next_signal(&mut streams).await;
                if !first {
                    note!("prover: {} again; exiting at once", Interrupt::name(number));
                    std::process::exit(128 + number);
                }
                first = false;
                // Recorded before the REPLs die, so no result their deaths cause is written.
                let _ = sender.send(Some(number));
                stopper.stop();
                let killed = prover::session::stop_all_repls();
                note!(
                    "prover: {} received; stopped {killed} REPL process group(s); keeping the \
                     results written so far (send it again to exit at once)",
                    Interrupt::name(number)
                );
            }
        });
        Ok(Interrupt { received, stop })
    }

    /// The pipeline stop the first signal sets, before any REPL dies, so no result those
    /// deaths cause is reported.
    pub(super) fn stop(&self) -> prover::pipeline::Stop {
        self.stop.clone()
    }

    /// The signal received, if any.
    pub(super) fn signal(&self) -> Option<i32> {
        *self.received.borrow()
    }

    /// The exit code for a run stopped by `signal`: 128 + its number.
    pub(super) fn exit_code(signal: i32) -> ExitCode {
        crate::exit::signal(signal)
    }

    /// The signal's name, for messages.
    pub(super) fn name(signal: i32) -> &'static str {
        match signal {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            libc::SIGHUP => "SIGHUP",
            _ => "a signal",
        }
    }
}

async fn next_signal(streams: &mut [(tokio::signal::unix::Signal, i32)]) -> i32 {
    let [(int, a), (term, b), (hup, c)] = streams else {
        unreachable!("three streams are installed");
    };
    tokio::select! {
        _ = int.recv() => *a,
        _ = term.recv() => *b,
        _ = hup.recv() => *c,
    }
}
