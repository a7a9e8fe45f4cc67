//! `StderrProgress`: a run's events (`prover::pipeline::RunEvent`) as the lines the command line prints on stderr, and its stop tied to SIGINT, SIGTERM and SIGHUP.

use ::datasets::manifest::ModelProbe;
use prover::pipeline::{Progress, RunError, RunEvent, Stop};

use super::interrupt::Interrupt;

/// The command line's progress: every event a line (or a summary) on stderr.
#[derive(Default)]
pub(super) struct StderrProgress {
    interrupt: Option<Interrupt>,
}

impl StderrProgress {
    /// The signal that stopped the run, if one did.
    pub(super) fn signal(&self) -> Option<i32> {
        self.interrupt.as_ref().and_then(Interrupt::signal)
    }
}

impl Progress for StderrProgress {
    fn stop_on(&mut self, runtime: &tokio::runtime::Handle) -> Result<Stop, RunError> {
        let interrupt =
            Interrupt::install(runtime).map_err(|error| RunError::Progress(error.into()))?;
        let stop = interrupt.stop();
        self.interrupt = Some(interrupt);
        Ok(stop)
    }

    fn event(&mut self, event: RunEvent<'_>) {
        match event {
            RunEvent::Repaired {
                subcommand,
                path,
                bytes,
            } => note!(
                "prover {subcommand}: {}: dropping {bytes} byte(s) after the last complete result \
                 (an interrupted write); those items run again",
                path.display()
            ),
            RunEvent::ModelProbed { url, probe } => render_probe(url, probe),
            RunEvent::TraceUnwritten { name, dir, error } => note!(
                "prover: warning: cannot write the trace of {name} under {}: {error}",
                dir.display()
            ),
            RunEvent::ModelSaved { states, path } => note!(
                "prover: learned model with {states} stored states written to {}",
                path.display()
            ),
            RunEvent::Eval(event) => super::eval::render(&event),
            RunEvent::Check(event) => super::check::render(&event),
            RunEvent::Iterate(event) => super::iterate::render(&event),
            RunEvent::Explore(event) => super::explore::render(&event),
            RunEvent::Audit(event) => super::datasets::render_audit(&event),
            RunEvent::Transfer(event) => super::datasets::render_transfer(&event),
            _ => {}
        }
    }
}

/// What the model server's probe found, as one line.
fn render_probe(url: &str, probe: &ModelProbe) {
    let yes_no = |found: Option<bool>| match found {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown (no answer, or the endpoint failed)",
    };
    note!(
        "prover: model server {url}: honours n: {}; log-probabilities: completions {}, chat {}; \
         serves {} ({} ms alone); asking with {}, starting at {} requests at once",
        yes_no(probe.honours_n),
        yes_no(probe.completions_logprobs),
        yes_no(probe.chat_logprobs),
        probe.serves_at_once.map_or_else(
            || "too fast to time".to_owned(),
            |n| format!("about {n} of {} requests at once", probe.probed_at_once)
        ),
        probe.latency_ms,
        if probe.samples_mode == "n" {
            "n"
        } else {
            "one request per sample"
        },
        probe.start_concurrency,
    );
}
