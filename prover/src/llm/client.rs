//! `LlmClient`: one shared HTTP client and concurrency limit for every search, with retries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::breaker::{Admission, CircuitBreaker, Outage};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::sync::Semaphore;

use crate::search::Candidate;

use super::answer::{self, Cleanup, Sample};
use super::config::{Api, LlmConfig};
use super::error::{LlmError, excerpt};
use super::wire;

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
    /// Prompt tokens, as far as servers reported `usage`.
    pub prompt_tokens: u64,
    /// Completion tokens, as far as servers reported `usage`.
    pub completion_tokens: u64,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    failures: AtomicU64,
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
/// connection pool and the one semaphore that caps requests in flight at
/// [`LlmConfig::max_concurrency`], so concurrent searches reach the server together and it can
/// batch them.
///
/// Each [`propose`](Self::propose) is retried with exponential backoff on connection errors,
/// timeouts, HTTP 429 and 5xx, bodies that are not the expected JSON, and `{"error": …}` bodies
/// (some servers answer HTTP 200 with those). Other 4xx answers are final. The semaphore is
/// released while waiting to retry.
#[derive(Debug)]
pub struct LlmClient {
    config: LlmConfig,
    http: reqwest::Client,
    url: String,
    permits: Semaphore,
    counters: Counters,
    breaker: CircuitBreaker,
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
        let base = config.base_url.trim_end_matches('/');
        if base.starts_with("https://") {
            if !cfg!(feature = "https") {
                return Err(LlmError::Config(format!(
                    "{base} needs TLS, and this build has none: rebuild prover with `--features https`"
                )));
            }
        } else if !base.starts_with("http://") {
            return Err(LlmError::Config(format!(
                "base URL {:?} must start with http:// (or https://)",
                config.base_url
            )));
        }
        let url = match config.api {
            Api::Completions => format!("{base}/completions"),
            Api::Chat => format!("{base}/chat/completions"),
        };
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // The model server is usually on loopback; an HTTP_PROXY meant for the internet
            // must not reroute (or block) it.
            .no_proxy()
            .build()
            .map_err(|e| LlmError::Config(error_chain(&e)))?;
        Ok(Self {
            permits: Semaphore::new(config.max_concurrency.max(1)),
            breaker: CircuitBreaker::new(
                config.breaker_failures,
                config.probe_interval,
                Duration::from_secs(60).max(config.probe_interval),
            ),
            config,
            http,
            url,
            counters: Counters::default(),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The endpoint every request goes to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The counters so far.
    pub fn stats(&self) -> LlmStats {
        let c = &self.counters;
        LlmStats {
            calls: c.calls.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            prompt_tokens: c.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: c.completion_tokens.load(Ordering::Relaxed),
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
    ) -> Result<Vec<Candidate>, LlmError> {
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
                url = %self.url,
                "the model server failed {} proposals in a row; pausing requests to it and \
                 probing it every few seconds",
                self.config.breaker_failures.max(1)
            ),
            Some(false) => tracing::warn!(url = %self.url, "the model server answers again"),
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
    ) -> Result<Vec<Candidate>, LlmError> {
        let prompt = self.config.render_prompt(state_text);
        let body = self.request_body(&prompt)?;
        let mut wait = self.config.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let outcome = {
                // Closed never happens: the semaphore lives as long as the client.
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|e| LlmError::Config(e.to_string()))?;
                Counters::add(&self.counters.requests, 1);
                self.attempt(&body).await
            };
            let failure = match outcome {
                Ok(samples) => {
                    let cleanup = Cleanup {
                        stop: &self.config.stop,
                        unwrap_code_fence: self.config.api == Api::Chat,
                    };
                    return Ok(answer::candidates(samples, cleanup));
                }
                Err(failure) => failure,
            };
            if !failure.retryable() || attempts > retries {
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

    /// The JSON body, serialised once and reused by every attempt.
    fn request_body(&self, prompt: &str) -> Result<Vec<u8>, LlmError> {
        let c = &self.config;
        let body = match c.api {
            Api::Completions => serde_json::to_vec(&wire::CompletionRequest {
                model: &c.model,
                prompt,
                n: c.samples,
                temperature: c.temperature,
                top_p: c.top_p,
                max_tokens: c.max_tokens,
                stop: &c.stop,
                seed: c.seed,
                logprobs: c.logprobs.then_some(1),
            }),
            Api::Chat => serde_json::to_vec(&wire::ChatRequest {
                model: &c.model,
                messages: [wire::ChatMessageOut {
                    role: "user",
                    content: prompt,
                }],
                n: c.samples,
                temperature: c.temperature,
                top_p: c.top_p,
                max_tokens: c.max_tokens,
                stop: &c.stop,
                seed: c.seed,
                logprobs: c.logprobs.then_some(true),
            }),
        };
        // Only a non-finite temperature or top-p can fail here (JSON has no NaN).
        body.map_err(|e| LlmError::Config(format!("cannot encode the request: {e}")))
    }

    /// One HTTP round trip, judged by status and body.
    async fn attempt(&self, body: &[u8]) -> Result<Vec<Sample>, Failure> {
        let mut request = self
            .http
            .post(&self.url)
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
        if let Some(usage) = answer.usage {
            Counters::add(
                &self.counters.prompt_tokens,
                usage.prompt_tokens.unwrap_or(0),
            );
            Counters::add(
                &self.counters.completion_tokens,
                usage.completion_tokens.unwrap_or(0),
            );
        }
        // Rank scores follow the server's order of choices; `index` says what it is.
        choices.sort_by_key(|c| c.index.unwrap_or(u64::MAX));
        Ok(choices.into_iter().map(Sample::from_choice).collect())
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
