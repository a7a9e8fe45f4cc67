//! `LlmClient`: one shared HTTP client and adaptive request limit for every search, with retries, enough samples whatever the server does with `n`, and the preflight's probe of what the server can do.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datasets::manifest::ModelProbe;
use futures::future::join_all;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::search::Candidate;

use super::answer::{self, Cleanup, Sample};
use super::breaker::{Admission, CircuitBreaker, Outage};
use super::config::{Api, LlmConfig, SamplesMode};
use super::error::{LlmError, excerpt};
use super::limiter::{Limiter, Outcome};
use super::servers::{ServerStats, Servers};
use super::wire;

/// A proposal sends at most this many times [`LlmConfig::samples`] requests (first ones and
/// top-ups together) to reach its samples: a server that keeps answering with the same text
/// (temperature 0, a tiny model) cannot make one expansion cost without bound.
pub const MAX_REQUESTS_PER_SAMPLE: usize = 2;

/// Requests the probe sends together to see how many the server serves at once.
const PROBE_AT_ONCE: usize = 4;

/// The probe's token cap: a handful of tokens tells what the answers look like.
const PROBE_MAX_TOKENS: u32 = 8;

/// A probe request answered faster than this tells nothing about how many the server serves at
/// once (the clock's and the scheduler's noise dominate); such a server is not the bottleneck.
const PROBE_TIMING_FLOOR: Duration = Duration::from_millis(3);

/// No single wait between retries exceeds this, whatever `backoff` and `Retry-After` say.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Counters of one client since it was built; a snapshot from [`LlmClient::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LlmStats {
    /// `propose` calls.
    pub calls: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries of a failed one.
    pub retries: u64,
    /// `propose` calls that returned an error.
    pub failures: u64,
    /// Requests that got no complete answer within the deadline.
    pub timeouts: u64,
    /// Requests sent beyond a proposal's first ones because the server returned fewer
    /// distinct samples than asked (retries not included).
    pub top_ups: u64,
    /// Requests answered with a success status.
    pub answered: u64,
    /// Milliseconds from sending to the last byte, summed over answered requests.
    pub latency_ms: u64,
    /// Prompt tokens, as far as servers reported `usage`.
    pub prompt_tokens: u64,
    /// Completion tokens, as far as servers reported `usage`.
    pub completion_tokens: u64,
    /// The adaptive request limit now.
    pub concurrency_limit: usize,
}

impl LlmStats {
    /// Mean latency of answered requests, milliseconds (0 when none was answered).
    pub fn mean_latency_ms(&self) -> f64 {
        self.latency_ms as f64 / self.answered.max(1) as f64
    }
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    failures: AtomicU64,
    timeouts: AtomicU64,
    top_ups: AtomicU64,
    answered: AtomicU64,
    latency_ms: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        // Relaxed: the counters are independent tallies; nothing synchronises through them.
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Proposes tactics by sampling an OpenAI-compatible model server.
///
/// Build one per server and share it (`Arc<LlmClient>`) between all searches: it holds the one
/// connection pool and the one adaptive limit on requests in flight (at most
/// [`LlmConfig::max_concurrency`]; see `limiter.rs`), so concurrent searches reach the server
/// together and a batching server can batch them, while a single-slot server gets requests one
/// at a time and the rest wait in the client, where no deadline runs.
///
/// Each request is retried with exponential backoff on connection errors, timeouts, HTTP 429
/// and 5xx, bodies that are not the expected JSON, and `{"error": …}` bodies (some servers
/// answer HTTP 200 with those). Other 4xx answers are final, and so is a 5xx whose body is the
/// same as the previous attempt's (llama-cpp-python answers validation errors, and every
/// request to a server without log-probabilities, with a 500 that repeats). The limit's place
/// is released while waiting to retry.
///
/// A proposal asks for [`LlmConfig::samples`] completions with `n` or with one request per
/// sample ([`SamplesMode`]); when fewer distinct texts come back, it sends further requests
/// (together, with distinct seeds when a seed is set) until it has them, a round brings
/// nothing new, or [`MAX_REQUESTS_PER_SAMPLE`] times `samples` requests were sent.
#[derive(Debug)]
pub struct LlmClient {
    config: LlmConfig,
    http: reqwest::Client,
    /// The servers requests are spread over (one unless several URLs were given).
    servers: Servers,
    limiter: Limiter,
    counters: Counters,
    breaker: CircuitBreaker,
    /// One request per sample instead of `n` (from the mode, or from the probe with `auto`).
    per_sample_requests: AtomicBool,
}

/// One answered request.
struct Answered {
    samples: Vec<Sample>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

/// Tokens one proposal cost, as far as the server reported `usage` (its requests summed,
/// top-ups included; a request without `usage` adds nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens.
    pub completion: u64,
}

/// Why one attempt failed, before the attempt count is known.
enum Failure {
    Status {
        status: StatusCode,
        body: String,
        retry_after: Option<Duration>,
    },
    Timeout,
    Transport(String),
    Malformed {
        reason: String,
        body: String,
    },
    Server(String),
}

impl Failure {
    /// The failure in words, for a log line.
    fn describe(&self) -> String {
        match self {
            Failure::Status { status, .. } => format!("HTTP {}", status.as_u16()),
            Failure::Timeout => "timed out".to_owned(),
            Failure::Transport(message) | Failure::Server(message) => message.clone(),
            Failure::Malformed { reason, .. } => format!("malformed answer: {reason}"),
        }
    }

    fn retryable(&self) -> bool {
        match self {
            Failure::Status { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            Failure::Timeout
            | Failure::Transport(_)
            | Failure::Malformed { .. }
            | Failure::Server(_) => true,
        }
    }

    fn into_error(self, attempts: u32, config: &LlmConfig) -> LlmError {
        match self {
            Failure::Status { status, body, .. } => LlmError::Status {
                status: status.as_u16(),
                body,
                attempts,
            },
            Failure::Timeout => LlmError::Timeout {
                after: config.request_timeout,
                attempts,
            },
            Failure::Transport(message) => LlmError::Transport { message, attempts },
            Failure::Malformed { reason, body } => LlmError::Malformed {
                reason,
                body,
                attempts,
            },
            Failure::Server(message) => LlmError::Server { message, attempts },
        }
    }
}

impl LlmClient {
    /// A client for `config`. Fails only on a configuration that cannot work: a URL that is not
    /// `http://` or `https://`, or `https://` in a build without the `https` feature.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let mut bases = Vec::new();
        for configured in std::iter::once(&config.base_url).chain(&config.replicas) {
            let base = configured.trim_end_matches('/');
            if base.starts_with("https://") {
                if !cfg!(feature = "https") {
                    return Err(LlmError::Config(format!(
                        "{base} needs TLS, and this build has none: rebuild prover with `--features https`"
                    )));
                }
            } else if !base.starts_with("http://") {
                return Err(LlmError::Config(format!(
                    "base URL {configured:?} must start with http:// (or https://)"
                )));
            }
            let endpoint = |api| match api {
                Api::Completions => format!("{base}/completions"),
                Api::Chat => format!("{base}/chat/completions"),
            };
            let other = match config.api {
                Api::Completions => Api::Chat,
                Api::Chat => Api::Completions,
            };
            bases.push((configured.clone(), endpoint(config.api), endpoint(other)));
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // The model server is usually on loopback; an HTTP_PROXY meant for the internet
            // must not reroute (or block) it.
            .no_proxy()
            .build()
            .map_err(|e| LlmError::Config(error_chain(&e)))?;
        Ok(Self {
            limiter: Limiter::new(config.max_concurrency, config.max_concurrency),
            per_sample_requests: AtomicBool::new(config.samples_mode == SamplesMode::Requests),
            servers: Servers::new(bases, config.probe_interval),
            breaker: CircuitBreaker::new(
                config.breaker_failures,
                config.probe_interval,
                Duration::from_secs(60).max(config.probe_interval),
            ),
            config,
            http,
            counters: Counters::default(),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The endpoint of the first server (every request's, with one server).
    pub fn url(&self) -> &str {
        &self.servers.first().url
    }

    /// Requests and failures per server, in the order configured.
    pub fn server_stats(&self) -> Vec<ServerStats> {
        self.servers.stats()
    }

    /// The counters so far.
    pub fn stats(&self) -> LlmStats {
        let c = &self.counters;
        LlmStats {
            calls: c.calls.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            top_ups: c.top_ups.load(Ordering::Relaxed),
            answered: c.answered.load(Ordering::Relaxed),
            latency_ms: c.latency_ms.load(Ordering::Relaxed),
            prompt_tokens: c.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: c.completion_tokens.load(Ordering::Relaxed),
            concurrency_limit: self.limiter.limit(),
        }
    }

    /// Samples [`LlmConfig::samples`] completions for `state_text` (rendered through the prompt
    /// template) and returns them as candidates, best first, duplicates merged.
    ///
    /// Scores are token-mean log-probabilities, or rank scores `-ln(rank + 1)` when the server
    /// gave none; texts are cut at the stop strings and stripped, and empty ones dropped. An
    /// answer with no choices is `Ok(vec![])`.
    ///
    /// Behind a circuit breaker shared by every caller: after
    /// [`LlmConfig::breaker_failures`] failed proposals in a row, proposals fail at once with
    /// [`LlmError::Unavailable`] except for one probe (sent once, without retries) per probe
    /// interval, until one succeeds.
    pub async fn propose(&self, state_text: &str) -> Result<Vec<Candidate>, LlmError> {
        self.propose_counted(state_text)
            .await
            .map(|(candidates, _)| candidates)
    }

    /// [`LlmClient::propose`], with the tokens the proposal cost (a planner counts them per
    /// theorem).
    pub async fn propose_counted(
        &self,
        state_text: &str,
    ) -> Result<(Vec<Candidate>, TokenUsage), LlmError> {
        self.propose_logging(state_text, true).await
    }

    /// One proposal for a trivial state, to see whether the server answers at all (a
    /// preflight); the caller reports a failure, so it is not logged here.
    pub async fn probe(&self) -> Result<(), LlmError> {
        self.propose_logging("⊢ True", false).await.map(|_| ())
    }

    async fn propose_logging(
        &self,
        state_text: &str,
        log_failure: bool,
    ) -> Result<(Vec<Candidate>, TokenUsage), LlmError> {
        Counters::add(&self.counters.calls, 1);
        let retries = match self.breaker.admit() {
            Admission::Send => self.config.retries,
            Admission::Probe => 0,
            Admission::Refuse => {
                Counters::add(&self.counters.failures, 1);
                let outage = self.breaker.outage().unwrap_or(Outage {
                    failures: 0,
                    open_for: Duration::ZERO,
                    last_error: String::new(),
                });
                return Err(LlmError::Unavailable {
                    failures: outage.failures,
                    open_for: outage.open_for,
                    last_error: outage.last_error,
                });
            }
        };
        let result = self.propose_with_retries(state_text, retries).await;
        if let Err(e) = &result {
            Counters::add(&self.counters.failures, 1);
            if log_failure {
                tracing::warn!(error = %e, "model request failed");
            }
        }
        let outcome = result.as_ref().map(|_| ()).map_err(ToString::to_string);
        match self.breaker.record(outcome) {
            Some(true) => tracing::warn!(
                url = %self.url(),
                "the model server failed {} proposals in a row; pausing requests to it and \
                 probing it every few seconds",
                self.config.breaker_failures.max(1)
            ),
            Some(false) => tracing::warn!(url = %self.url(), "the model server answers again"),
            None => {}
        }
        result
    }

    /// The outage, while the circuit breaker is open.
    pub fn outage(&self) -> Option<Outage> {
        self.breaker.outage()
    }

    /// Time until the breaker lets the next probe through, while it is open.
    pub fn until_probe(&self) -> Option<Duration> {
        self.breaker.until_probe()
    }

    async fn propose_with_retries(
        &self,
        state_text: &str,
        retries: u32,
    ) -> Result<(Vec<Candidate>, TokenUsage), LlmError> {
        let c = &self.config;
        let prompt = c.render_prompt(state_text);
        let cleanup = Cleanup {
            stop: &c.stop,
            unwrap_code_fence: c.api == Api::Chat,
        };
        let target = c.samples.max(1);
        let bound = target.saturating_mul(MAX_REQUESTS_PER_SAMPLE);
        let mut per_sample = self.per_sample_requests.load(Ordering::Relaxed);
        let mut samples: Vec<Sample> = Vec::new();
        let mut usage = TokenUsage::default();
        let mut sent = 0usize;
        let mut distinct = 0usize;
        loop {
            let missing = target - distinct;
            // One request per missing sample, or one request asking for all of them.
            let asks: Vec<usize> = if per_sample {
                vec![1; missing.min(bound - sent)]
            } else {
                vec![missing]
            };
            let bodies = asks
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    // Distinct seeds, so a seeded server does not answer every request alike.
                    let seed = c.seed.map(|s| s.wrapping_add((sent + i) as u64));
                    self.body(c.api, &prompt, n, seed, c.logprobs, c.max_tokens)
                })
                .collect::<Result<Vec<_>, _>>()?;
            if sent > 0 {
                Counters::add(&self.counters.top_ups, bodies.len() as u64);
            }
            let results = join_all(bodies.iter().map(|b| self.send_with_retries(b, retries))).await;
            let first_round = sent == 0;
            sent += asks.len();
            let mut first_error = None;
            for (result, &n) in results.into_iter().zip(&asks) {
                match result {
                    Ok(answered) => {
                        usage.prompt += answered.prompt_tokens.unwrap_or(0);
                        usage.completion += answered.completion_tokens.unwrap_or(0);
                        // A server that returns fewer choices than `n` ignores it: top up
                        // with one request per sample.
                        if n > 1 && answered.samples.len() < n {
                            per_sample = true;
                        }
                        samples.extend(answered.samples);
                    }
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
            if let Some(error) = first_error {
                // The proposal fails when nothing of its first round came back; a failed
                // top-up only costs samples.
                if first_round && samples.is_empty() {
                    return Err(error);
                }
                tracing::debug!(%error, "a model request for more samples failed");
            }
            let before = distinct;
            distinct = answer::candidates(samples.clone(), cleanup).len();
            if distinct >= target || distinct == before || sent >= bound {
                break;
            }
        }
        Ok((answer::candidates(samples, cleanup), usage))
    }

    /// One request, retried as the type's docs say, each attempt under the adaptive limit.
    async fn send_with_retries(&self, body: &[u8], retries: u32) -> Result<Answered, LlmError> {
        let mut wait = self.config.backoff;
        let mut attempts = 0;
        // The last 5xx, by the server that answered it.
        let mut last_server_error: Option<(usize, StatusCode, String)> = None;
        loop {
            attempts += 1;
            let (server, outcome) = {
                // The deadline (reqwest's per-request timeout) starts at `send`, after the
                // limit let the request through.
                let permit = self.limiter.acquire().await;
                Counters::add(&self.counters.requests, 1);
                let started = Instant::now();
                let place = self.servers.pick();
                let server = place.index;
                let outcome = self.attempt(&self.servers.all()[server].url, body).await;
                drop(place);
                let elapsed = started.elapsed();
                match &outcome {
                    Ok(_) => self.servers.answered(server),
                    // A refusal of the request itself (HTTP 400) is no fault of the server.
                    Err(failure) if failure.retryable() => {
                        self.servers.failed(server, &failure.describe())
                    }
                    Err(_) => {}
                }
                permit.finish(match &outcome {
                    Ok(answered) => {
                        Counters::add(&self.counters.answered, 1);
                        Counters::add(&self.counters.latency_ms, elapsed.as_millis() as u64);
                        let work = answered.completion_tokens.unwrap_or(1).max(1);
                        Outcome::Answered(elapsed.as_secs_f64() / work as f64)
                    }
                    Err(Failure::Timeout) => {
                        Counters::add(&self.counters.timeouts, 1);
                        Outcome::Overloaded
                    }
                    Err(Failure::Status { status, .. })
                        if *status == StatusCode::TOO_MANY_REQUESTS =>
                    {
                        Outcome::Overloaded
                    }
                    Err(_) => Outcome::Other,
                });
                (server, outcome)
            };
            let failure = match outcome {
                Ok(answered) => return Ok(answered),
                Err(failure) => failure,
            };
            // The same 5xx body twice from the same server for the same request is not a
            // passing fault.
            let repeated = match &failure {
                Failure::Status { status, body, .. } if status.is_server_error() => {
                    let this = (server, *status, body.clone());
                    let repeated = last_server_error.as_ref() == Some(&this);
                    last_server_error = Some(this);
                    repeated
                }
                _ => false,
            };
            if !failure.retryable() || repeated || attempts > retries {
                return Err(failure.into_error(attempts, &self.config));
            }
            let pause = match &failure {
                Failure::Status {
                    retry_after: Some(after),
                    ..
                } => wait.max(*after),
                _ => wait,
            }
            .min(MAX_BACKOFF);
            tracing::debug!(
                attempt = attempts,
                pause_ms = pause.as_millis() as u64,
                error = %failure.into_error(attempts, &self.config),
                "retrying model request"
            );
            Counters::add(&self.counters.retries, 1);
            tokio::time::sleep(pause).await;
            wait = (wait * 2).min(MAX_BACKOFF);
        }
    }

    /// The JSON body of one request, serialised once and reused by every attempt.
    fn body(
        &self,
        api: Api,
        prompt: &str,
        n: usize,
        seed: Option<u64>,
        logprobs: bool,
        max_tokens: u32,
    ) -> Result<Vec<u8>, LlmError> {
        let c = &self.config;
        let body = match api {
            Api::Completions => serde_json::to_vec(&wire::CompletionRequest {
                model: &c.model,
                prompt,
                n,
                temperature: c.temperature,
                top_p: c.top_p,
                max_tokens,
                stop: &c.stop,
                seed,
                logprobs: logprobs.then_some(1),
            }),
            Api::Chat => serde_json::to_vec(&wire::ChatRequest {
                model: &c.model,
                messages: [wire::ChatMessageOut {
                    role: "user",
                    content: prompt,
                }],
                n,
                temperature: c.temperature,
                top_p: c.top_p,
                max_tokens,
                stop: &c.stop,
                seed,
                logprobs: logprobs.then_some(true),
                top_logprobs: logprobs.then_some(0),
            }),
        };
        // Only a non-finite temperature or top-p can fail here (JSON has no NaN).
        body.map_err(|e| LlmError::Config(format!("cannot encode the request: {e}")))
    }

    /// Finds out what the server does with prover's requests (a preflight step, after
    /// [`probe`](Self::probe) found it answering): whether it honours `n`, returns
    /// log-probabilities on each endpoint (and answers without them when it refuses them), and
    /// how many requests it serves at once. The findings set the samples mode (with
    /// [`SamplesMode::Auto`]) and the request limit the run starts with.
    ///
    /// About `4 + PROBE_AT_ONCE` small requests, outside the limit and without retries. Fails
    /// only when the configured endpoint fails with and without log-probabilities.
    pub async fn probe_server(&self) -> Result<ModelProbe, LlmError> {
        let c = &self.config;
        let prompt = c.render_prompt("⊢ True");
        let tokens = PROBE_MAX_TOKENS.min(c.max_tokens);
        let once = |url: &str, body: Vec<u8>| {
            let url = url.to_owned();
            async move {
                Counters::add(&self.counters.requests, 1);
                let started = Instant::now();
                let outcome = self.attempt(&url, &body).await;
                (outcome, started.elapsed())
            }
        };
        // `n` and log-probabilities on the configured endpoint, of the first server that
        // answers (one of several may be down; the balancing leaves it out later).
        let asked = self.body(c.api, &prompt, 2, c.seed, c.logprobs, tokens)?;
        let mut probed = self.servers.first();
        let (mut first, _) = once(&probed.url, asked.clone()).await;
        for server in &self.servers.all()[1..] {
            if first.is_ok() {
                break;
            }
            probed = server;
            first = once(&probed.url, asked.clone()).await.0;
        }
        let (url, other_url) = (probed.url.clone(), probed.other_url.clone());
        let mut logprobs_refused = None;
        let answered = match first {
            Ok(answered) => answered,
            Err(failure) if c.logprobs => {
                let refusal = failure.into_error(1, c);
                let plain = self.body(c.api, &prompt, 2, c.seed, false, tokens)?;
                match once(&url, plain).await.0 {
                    Ok(answered) => {
                        logprobs_refused = Some(refusal.to_string());
                        answered
                    }
                    Err(failure) => return Err(failure.into_error(2, c)),
                }
            }
            Err(failure) => return Err(failure.into_error(1, c)),
        };
        let honours_n = match answered.samples.len() {
            0 => None,
            got => Some(got >= 2),
        };
        let has_logprobs = |a: &Answered| {
            (!a.samples.is_empty()).then(|| a.samples.iter().any(|s| s.tokens.is_some()))
        };
        let here = if c.logprobs && logprobs_refused.is_none() {
            has_logprobs(&answered)
        } else {
            None
        };
        // Log-probabilities on the other endpoint (which may not be served at all).
        let other_api = match c.api {
            Api::Completions => Api::Chat,
            Api::Chat => Api::Completions,
        };
        // Not asked with --no-logprobs: the user said not to ask for them.
        let there = if c.logprobs {
            let other_body = self.body(other_api, &prompt, 1, c.seed, true, tokens)?;
            once(&other_url, other_body)
                .await
                .0
                .ok()
                .and_then(|a| has_logprobs(&a))
        } else {
            None
        };
        let (completions_logprobs, chat_logprobs) = match c.api {
            Api::Completions => (here, there),
            Api::Chat => (there, here),
        };
        // How many at once: one alone, then several together; a server that serves one at a
        // time takes about as many times longer as requests were sent.
        let logprobs = c.logprobs && logprobs_refused.is_none();
        let single = self.body(c.api, &prompt, 1, c.seed, logprobs, tokens)?;
        // The faster of two alone, against several together.
        let (_, first_alone) = once(&url, single.clone()).await;
        let (_, second_alone) = once(&url, single.clone()).await;
        let alone = first_alone.min(second_alone);
        let together = Instant::now();
        join_all((0..PROBE_AT_ONCE).map(|_| once(&url, single.clone()))).await;
        let together = together.elapsed().as_secs_f64();
        let serves_at_once = (alone >= PROBE_TIMING_FLOOR && together > 0.0).then(|| {
            ((PROBE_AT_ONCE as f64 * alone.as_secs_f64() / together).round() as usize)
                .clamp(1, PROBE_AT_ONCE)
        });
        // A server that kept up with all of them (or was too fast to time) may serve more:
        // start at the maximum and let the limit find its level.
        let start = match serves_at_once {
            Some(n) if n < PROBE_AT_ONCE => n.min(c.max_concurrency),
            _ => c.max_concurrency,
        };
        self.limiter.restart(start);
        let per_sample = match c.samples_mode {
            SamplesMode::Auto => honours_n == Some(false),
            SamplesMode::N => false,
            SamplesMode::Requests => true,
        };
        self.per_sample_requests
            .store(per_sample, Ordering::Relaxed);
        Ok(ModelProbe {
            api: match c.api {
                Api::Completions => "completions",
                Api::Chat => "chat",
            }
            .to_owned(),
            honours_n,
            completions_logprobs,
            chat_logprobs,
            logprobs_refused,
            serves_at_once: serves_at_once.map(|n| n as u32),
            probed_at_once: PROBE_AT_ONCE as u32,
            latency_ms: alone.as_millis() as u64,
            samples_mode: if per_sample { "requests" } else { "n" }.to_owned(),
            start_concurrency: start as u32,
        })
    }

    /// One HTTP round trip, judged by status and body.
    async fn attempt(&self, url: &str, body: &[u8]) -> Result<Answered, Failure> {
        let mut request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(transport_failure)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(transport_failure)?;
        if !status.is_success() {
            return Err(Failure::Status {
                status,
                body: excerpt(&bytes),
                retry_after,
            });
        }
        let answer: wire::Answer =
            serde_json::from_slice(&bytes).map_err(|e| Failure::Malformed {
                reason: e.to_string(),
                body: excerpt(&bytes),
            })?;
        if let Some(error) = answer.error {
            let message = error
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
                .or_else(|| error.as_str().map(str::to_owned))
                .unwrap_or_else(|| error.to_string());
            return Err(Failure::Server(message));
        }
        let Some(mut choices) = answer.choices else {
            return Err(Failure::Malformed {
                reason: "no `choices` field".to_owned(),
                body: excerpt(&bytes),
            });
        };
        let (mut prompt_tokens, mut completion_tokens) = (None, None);
        if let Some(usage) = answer.usage {
            prompt_tokens = usage.prompt_tokens;
            Counters::add(
                &self.counters.prompt_tokens,
                usage.prompt_tokens.unwrap_or(0),
            );
            Counters::add(
                &self.counters.completion_tokens,
                usage.completion_tokens.unwrap_or(0),
            );
            completion_tokens = usage.completion_tokens;
        }
        // Rank scores follow the server's order of choices; `index` says what it is.
        choices.sort_by_key(|c| c.index.unwrap_or(u64::MAX));
        Ok(Answered {
            samples: choices.into_iter().map(Sample::from_choice).collect(),
            prompt_tokens,
            completion_tokens,
        })
    }
}

fn transport_failure(e: reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Transport(error_chain(&e))
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare from model servers and ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// `e` and its causes, joined with ": " — reqwest's own message alone says only
/// "error sending request".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
