//! `Limiter`: an adaptive limit on model requests in flight (additive increase while latency stays flat, decrease on queueing, halving on timeouts and 429s).
//!
//! A single-slot server (llama-cpp-python) queues what it cannot serve, and a request's deadline
//! runs while it waits there; so the client should hold requests in its own queue, where no
//! deadline runs, and send only what the server serves at once. The limit starts from what the
//! preflight's probe found, grows by one after a limit's worth of requests whose latency stayed
//! near the best seen (a batching server absorbs them), shrinks by one when latency shows
//! queueing (three times the best), and halves on a timeout or an HTTP 429.
//!
//! [`Aimd`] is the pure rule (tested with made-up latencies); [`Limiter`] wraps it around a
//! count of requests in flight for async callers.

use std::sync::Mutex;

use tokio::sync::Notify;

/// Latency within this factor of the best seen counts as flat.
const FLAT: f64 = 1.5;
/// Latency beyond this factor of the best seen means requests queue at the server.
const QUEUEING: f64 = 3.0;
/// The best latency seen drifts up by this factor per sample, so one lucky answer does not set
/// the bar for the whole run.
const DRIFT: f64 = 1.01;

/// How one request ended, for the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Outcome {
    /// An answer, after this latency per unit of work (seconds per completion token, or per
    /// request when the server reports no usage).
    Answered(f64),
    /// A timeout or an HTTP 429: the server is overloaded.
    Overloaded,
    /// Anything else: says nothing about load.
    Other,
}

/// The limit rule.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Aimd {
    limit: usize,
    max: usize,
    best: Option<f64>,
    flat_answers: usize,
}

impl Aimd {
    /// Starts at `start` (clamped to 1..=max).
    pub(super) fn new(start: usize, max: usize) -> Aimd {
        let max = max.max(1);
        Aimd {
            limit: start.clamp(1, max),
            max,
            best: None,
            flat_answers: 0,
        }
    }

    /// The current limit.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// Restarts from `start`, keeping the best latency seen.
    pub(super) fn restart(&mut self, start: usize) {
        self.limit = start.clamp(1, self.max);
        self.flat_answers = 0;
    }

    /// Takes one request's outcome into account.
    pub(super) fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Answered(cost) if cost.is_finite() && cost >= 0.0 => {
                let best = match self.best {
                    Some(best) => (best * DRIFT).min(cost),
                    None => cost,
                };
                self.best = Some(best);
                // A zero best (a server faster than the clock) makes every ratio infinite;
                // such a server is never the bottleneck.
                let ratio = if best > 0.0 { cost / best } else { 1.0 };
                if ratio > QUEUEING {
                    self.limit = self.limit.saturating_sub(1).max(1);
                    self.flat_answers = 0;
                } else if ratio <= FLAT {
                    self.flat_answers += 1;
                    if self.flat_answers >= self.limit {
                        self.limit = (self.limit + 1).min(self.max);
                        self.flat_answers = 0;
                    }
                }
            }
            Outcome::Answered(_) | Outcome::Other => {}
            Outcome::Overloaded => {
                self.limit = (self.limit / 2).max(1);
                self.flat_answers = 0;
            }
        }
    }
}

#[derive(Debug)]
struct State {
    rule: Aimd,
    in_flight: usize,
}

/// The adaptive limit, shared by every request of one client.
#[derive(Debug)]
pub(super) struct Limiter {
    state: Mutex<State>,
    freed: Notify,
}

/// One request's place in flight; dropping it frees the place without feedback.
#[derive(Debug)]
pub(super) struct Permit<'a> {
    limiter: &'a Limiter,
    outcome: Option<Outcome>,
}

impl Permit<'_> {
    /// Frees the place, reporting how the request ended.
    pub(super) fn finish(mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.limiter.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if let Some(outcome) = self.outcome {
            state.rule.record(outcome);
        }
        drop(state);
        // Wake every waiter: a grown limit may admit several.
        self.limiter.freed.notify_waiters();
    }
}

impl Limiter {
    /// Starts at `start` requests at once, never more than `max`.
    pub(super) fn new(start: usize, max: usize) -> Limiter {
        Limiter {
            state: Mutex::new(State {
                rule: Aimd::new(start, max),
                in_flight: 0,
            }),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current limit.
    pub(super) fn limit(&self) -> usize {
        self.lock().rule.limit()
    }

    /// Restarts the limit from `start` (what a probe found).
    pub(super) fn restart(&self, start: usize) {
        self.lock().rule.restart(start);
        self.freed.notify_waiters();
    }

    /// Waits for a place under the limit.
    pub(super) async fn acquire(&self) -> Permit<'_> {
        loop {
            // Register before checking, so a place freed in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.lock();
                if state.in_flight < state.rule.limit() {
                    state.in_flight += 1;
                    return Permit {
                        limiter: self,
                        outcome: None,
                    };
                }
            }
            freed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(rule: &mut Aimd, outcomes: &[Outcome]) {
        for outcome in outcomes {
            rule.record(*outcome);
        }
    }

    #[test]
    fn flat_latency_grows_the_limit_one_step_per_limit_of_answers() {
        let mut rule = Aimd::new(1, 4);
        feed(&mut rule, &[Outcome::Answered(1.0)]);
        assert_eq!(rule.limit(), 2);
        feed(&mut rule, &[Outcome::Answered(1.1)]);
        assert_eq!(rule.limit(), 2, "two flat answers are needed at limit 2");
        feed(&mut rule, &[Outcome::Answered(1.2)]);
        assert_eq!(rule.limit(), 3);
        feed(&mut rule, &[Outcome::Answered(1.0); 20]);
        assert_eq!(rule.limit(), 4, "never above the maximum");
    }

    #[test]
    fn queueing_shrinks_the_limit_and_overload_halves_it() {
        let mut rule = Aimd::new(8, 16);
        feed(&mut rule, &[Outcome::Answered(1.0), Outcome::Answered(4.0)]);
        assert_eq!(rule.limit(), 7, "four times the best latency is queueing");
        feed(&mut rule, &[Outcome::Answered(2.0)]);
        assert_eq!(rule.limit(), 7, "between flat and queueing nothing changes");
        feed(&mut rule, &[Outcome::Overloaded]);
        assert_eq!(rule.limit(), 3);
        feed(&mut rule, &[Outcome::Overloaded, Outcome::Overloaded]);
        assert_eq!(rule.limit(), 1, "never below one");
        feed(&mut rule, &[Outcome::Other, Outcome::Answered(f64::NAN)]);
        assert_eq!(rule.limit(), 1);
    }

    #[test]
    fn a_single_slot_server_keeps_the_limit_low() {
        // Service time 1: with k requests in flight at a server that serves one at a time,
        // the last waits k services.
        let mut rule = Aimd::new(1, 16);
        for _ in 0..200 {
            let k = rule.limit();
            for waited in 1..=k {
                rule.record(Outcome::Answered(waited as f64));
            }
        }
        assert!(rule.limit() <= 3, "limit {}", rule.limit());
    }

    #[test]
    fn the_start_is_clamped_and_a_restart_keeps_the_maximum() {
        assert_eq!(Aimd::new(0, 4).limit(), 1);
        assert_eq!(Aimd::new(9, 4).limit(), 4);
        let mut rule = Aimd::new(4, 4);
        rule.restart(1);
        assert_eq!(rule.limit(), 1);
        rule.restart(100);
        assert_eq!(rule.limit(), 4);
    }

    #[test]
    fn permits_wait_for_a_free_place() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let limiter = Limiter::new(1, 4);
            let first = limiter.acquire().await;
            let second = limiter.acquire();
            tokio::pin!(second);
            let polled = futures_poll_once(second.as_mut()).await;
            assert!(
                polled.is_none(),
                "the second waits while the first is in flight"
            );
            // The first answers flat: the limit grows to 2 and the second gets its place.
            first.finish(Outcome::Answered(1.0));
            let second = second.await;
            assert_eq!(limiter.limit(), 2);
            let third = limiter.acquire().await;
            drop((second, third));
        });
    }

    /// Polls `future` once: `Some` if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = future;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(value) => Some(value),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
