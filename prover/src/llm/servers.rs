//! Several model servers behind one client (`--llm-url` given more than once): each request goes
//! to the server with the fewest requests outstanding, and a server whose request failed is left
//! out for a back-off period that doubles while it keeps failing, so the others carry the load
//! (vLLM's data-parallel pattern without Ray: one server per GPU, the balancing in the client).
//!
//! With one server nothing changes: every request goes to it, as before.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A server's back-off after a failure never exceeds this.
const MAX_SERVER_BACKOFF: Duration = Duration::from_secs(60);

/// One server: its endpoints and its counters.
#[derive(Debug)]
pub(super) struct Server {
    /// The API root as configured.
    pub(super) base: String,
    /// The endpoint of the configured API.
    pub(super) url: String,
    /// The other endpoint, which the probe also asks.
    pub(super) other_url: String,
    outstanding: AtomicUsize,
    requests: AtomicU64,
    failures: AtomicU64,
    /// `(failures in a row, left out until)`.
    backoff: Mutex<(u32, Option<Instant>)>,
}

/// What one server did, for the run's closing note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStats {
    /// The API root as configured.
    pub url: String,
    /// Requests sent to it, retries included.
    pub requests: u64,
    /// Requests that failed (an HTTP error, a timeout, a broken connection or body).
    pub failures: u64,
}

/// A request in flight on one server; dropping it (however the request ended) counts it done.
pub(super) struct InFlight<'a> {
    pub(super) index: usize,
    server: &'a Server,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.server.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Every server of one client.
#[derive(Debug)]
pub(super) struct Servers {
    servers: Vec<Server>,
    /// The first back-off after a failure; it doubles while the server keeps failing.
    backoff: Duration,
}

impl Servers {
    /// The servers at `bases` (at least one), each with its endpoint of the configured API and
    /// the other.
    pub(super) fn new(bases: Vec<(String, String, String)>, backoff: Duration) -> Servers {
        Servers {
            servers: bases
                .into_iter()
                .map(|(base, url, other_url)| Server {
                    base,
                    url,
                    other_url,
                    outstanding: AtomicUsize::new(0),
                    requests: AtomicU64::new(0),
                    failures: AtomicU64::new(0),
                    backoff: Mutex::new((0, None)),
                })
                .collect(),
            backoff,
        }
    }

    /// The first server (the probe's, and the name the client logs under).
    pub(super) fn first(&self) -> &Server {
        &self.servers[0]
    }

    /// Every server, in the order configured.
    pub(super) fn all(&self) -> &[Server] {
        &self.servers
    }

    /// Takes a place on the server with the fewest requests outstanding among those not backed
    /// off (ties: the one sent the fewest requests, then the first); when every server is
    /// backed off, the one whose back-off ends first.
    pub(super) fn pick(&self) -> InFlight<'_> {
        let now = Instant::now();
        let until = |server: &Server| server.backoff.lock().unwrap_or_else(|p| p.into_inner()).1;
        let load = |server: &Server| {
            (
                server.outstanding.load(Ordering::Relaxed),
                server.requests.load(Ordering::Relaxed),
            )
        };
        let available = self
            .servers
            .iter()
            .enumerate()
            .filter(|(_, server)| until(server).is_none_or(|until| until <= now))
            .min_by_key(|(index, server)| (load(server), *index))
            .map(|(index, _)| index);
        let index = available.unwrap_or_else(|| {
            self.servers
                .iter()
                .enumerate()
                .min_by_key(|(index, server)| (until(server), *index))
                .map_or(0, |(index, _)| index)
        });
        let server = &self.servers[index];
        server.outstanding.fetch_add(1, Ordering::Relaxed);
        server.requests.fetch_add(1, Ordering::Relaxed);
        InFlight { index, server }
    }

    /// The server answered: it is in again at once.
    pub(super) fn answered(&self, index: usize) {
        *self.servers[index]
            .backoff
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = (0, None);
    }

    /// The server failed a request: it is left out for the back-off, doubled for each failure
    /// in a row. Logged when it is one of several (with one there is nowhere else to go).
    pub(super) fn failed(&self, index: usize, error: &str) {
        let server = &self.servers[index];
        server.failures.fetch_add(1, Ordering::Relaxed);
        let mut backoff = server.backoff.lock().unwrap_or_else(|p| p.into_inner());
        let streak = backoff.0.saturating_add(1);
        let pause = self
            .backoff
            .saturating_mul(1 << (streak - 1).min(16))
            .min(MAX_SERVER_BACKOFF);
        *backoff = (streak, Some(Instant::now() + pause));
        if self.servers.len() > 1 {
            tracing::warn!(
                url = %server.base,
                pause_ms = pause.as_millis() as u64,
                error,
                "a model server failed; the others carry its load while it is left out"
            );
        }
    }

    /// Requests and failures per server.
    pub(super) fn stats(&self) -> Vec<ServerStats> {
        self.servers
            .iter()
            .map(|server| ServerStats {
                url: server.base.clone(),
                requests: server.requests.load(Ordering::Relaxed),
                failures: server.failures.load(Ordering::Relaxed),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Servers {
        Servers::new(
            ["a", "b", "c"]
                .map(|name| (name.to_owned(), format!("{name}/x"), format!("{name}/y")))
                .to_vec(),
            Duration::from_secs(30),
        )
    }

    #[test]
    fn requests_go_to_the_least_outstanding_server() {
        let servers = three();
        let first = servers.pick();
        let second = servers.pick();
        let third = servers.pick();
        assert_eq!([first.index, second.index, third.index], [0, 1, 2]);
        drop(second);
        // b has nothing outstanding now.
        assert_eq!(servers.pick().index, 1);
    }

    #[test]
    fn a_failed_server_is_left_out_until_its_back_off_ends_and_in_again_when_it_answers() {
        let servers = three();
        servers.failed(0, "HTTP 500");
        let picks: Vec<usize> = (0..6).map(|_| servers.pick().index).collect();
        assert!(!picks.contains(&0), "{picks:?}");
        assert!(picks.contains(&1) && picks.contains(&2), "{picks:?}");
        // Every server backed off: the one whose back-off ends first still gets the request.
        servers.failed(1, "HTTP 500");
        servers.failed(1, "HTTP 500");
        servers.failed(2, "HTTP 500");
        servers.failed(2, "HTTP 500");
        servers.failed(2, "HTTP 500");
        assert_eq!(servers.pick().index, 0);
        servers.answered(2);
        assert_eq!(servers.pick().index, 2);
        let stats = servers.stats();
        assert_eq!(
            stats.iter().map(|s| s.failures).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(stats.iter().map(|s| s.requests).sum::<u64>(), 8);
    }
}
