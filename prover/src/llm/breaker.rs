//! `CircuitBreaker`: after a run of failed proposals, stop asking a model server that is down, and probe it now and then.
//!
//! Every search shares one client, so one breaker sees the failures of all of them: after
//! `threshold` failed proposals in a row (each already retried), the breaker opens. While it is
//! open, a proposal is refused at once, so a search does not wait through a whole retry cycle
//! per expansion (and a fallback policy answers immediately). Once per probe interval, which
//! doubles up to a cap, one proposal is let through as a probe with no retries; its success
//! closes the breaker, its failure keeps it open.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the breaker says about the next proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: send it, with the usual retries.
    Send,
    /// Open, but a probe is due: send it once, without retries.
    Probe,
    /// Open: do not send it.
    Refuse,
}

/// A snapshot of an open breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    /// Failed proposals in a row so far.
    pub failures: u32,
    /// How long the breaker has been open.
    pub open_for: Duration,
    /// The last error, in words.
    pub last_error: String,
}

/// Shared by every search that asks one model server.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    first_probe: Duration,
    max_probe: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    consecutive: u32,
    last_error: String,
    open_since: Option<Instant>,
    next_probe: Option<Instant>,
    probe_interval: Duration,
}

impl CircuitBreaker {
    /// Opens after `threshold` failures in a row (0 is read as 1); probes first after
    /// `first_probe`, then at doubling intervals up to `max_probe`.
    pub fn new(threshold: u32, first_probe: Duration, max_probe: Duration) -> CircuitBreaker {
        CircuitBreaker {
            threshold: threshold.max(1),
            first_probe,
            max_probe: max_probe.max(first_probe),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether to send the next proposal, and how.
    pub fn admit(&self) -> Admission {
        let mut state = self.lock();
        if state.open_since.is_none() {
            return Admission::Send;
        }
        let now = Instant::now();
        match state.next_probe {
            Some(due) if now < due => Admission::Refuse,
            _ => {
                // One probe per interval: the next caller waits for the next slot.
                state.next_probe = Some(now + state.probe_interval);
                state.probe_interval = (state.probe_interval * 2).min(self.max_probe);
                Admission::Probe
            }
        }
    }

    /// Records how a sent proposal (or probe) ended. Returns `Some(true)` when this opened the
    /// breaker and `Some(false)` when it closed it, so the caller can say so once.
    pub fn record(&self, outcome: Result<(), String>) -> Option<bool> {
        let mut state = self.lock();
        match outcome {
            Ok(()) => {
                state.consecutive = 0;
                let was_open = state.open_since.take().is_some();
                state.next_probe = None;
                was_open.then_some(false)
            }
            Err(error) => {
                state.consecutive = state.consecutive.saturating_add(1);
                state.last_error = error;
                if state.open_since.is_none() && state.consecutive >= self.threshold {
                    let now = Instant::now();
                    state.open_since = Some(now);
                    state.next_probe = Some(now + self.first_probe);
                    state.probe_interval = (self.first_probe * 2).min(self.max_probe);
                    return Some(true);
                }
                None
            }
        }
    }

    /// The outage, while the breaker is open.
    pub fn outage(&self) -> Option<Outage> {
        let state = self.lock();
        state.open_since.map(|since| Outage {
            failures: state.consecutive,
            open_for: since.elapsed(),
            last_error: state.last_error.clone(),
        })
    }

    /// Time until the next probe is due, while open.
    pub fn until_probe(&self) -> Option<Duration> {
        let state = self.lock();
        state.open_since?;
        Some(state.next_probe.map_or(Duration::ZERO, |due| {
            due.saturating_duration_since(Instant::now())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl CircuitBreaker {
        /// Makes the next probe due now, standing in for the passing of time.
        fn make_probe_due(&self) {
            self.lock().next_probe = Some(Instant::now());
        }
    }

    #[test]
    fn opens_after_the_threshold_refuses_then_probes_and_closes() {
        let hour = Duration::from_secs(3600);
        let breaker = CircuitBreaker::new(3, hour, 4 * hour);
        assert_eq!(breaker.admit(), Admission::Send);
        assert_eq!(breaker.record(Err("500".into())), None);
        assert_eq!(breaker.record(Err("500".into())), None);
        assert!(breaker.outage().is_none());
        assert_eq!(breaker.record(Err("500".into())), Some(true));
        let outage = breaker.outage().unwrap();
        assert_eq!((outage.failures, outage.last_error.as_str()), (3, "500"));
        // No probe before its time; then one, and the interval doubles.
        assert_eq!(breaker.admit(), Admission::Refuse);
        assert!(breaker.until_probe().unwrap() > hour - Duration::from_secs(60));
        breaker.make_probe_due();
        assert_eq!(breaker.admit(), Admission::Probe);
        assert_eq!(breaker.admit(), Admission::Refuse);
        assert!(breaker.until_probe().unwrap() > 2 * hour - Duration::from_secs(60));
        assert_eq!(breaker.record(Err("refused".into())), None);
        assert_eq!(breaker.admit(), Admission::Refuse);
        assert_eq!(breaker.record(Ok(())), Some(false));
        assert_eq!(breaker.admit(), Admission::Send);
        assert!(breaker.outage().is_none());
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = CircuitBreaker::new(2, Duration::ZERO, Duration::ZERO);
        breaker.record(Err("x".into()));
        breaker.record(Ok(()));
        assert_eq!(breaker.record(Err("x".into())), None);
        assert!(breaker.outage().is_none());
    }
}
