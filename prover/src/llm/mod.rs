//! The tactic policy over an OpenAI-compatible model server (vLLM, llama.cpp's server, …): the
//! only module that speaks HTTP.
//!
//! # Shape
//!
//! - [`LlmConfig`] says where the server is, how to prompt it (`"{state}:::"` for BFS-Prover;
//!   see [`TEMPLATES`]) and how to sample (`n`, temperature, top-p, token cap, stop strings).
//!   Only `settings` reads the environment: it passes the API key in.
//! - [`LlmClient`] is async and shared (`Arc`) by every search of a process: one connection
//!   pool, one semaphore of [`LlmConfig::max_concurrency`] requests in flight so that a batching
//!   server sees the searches' requests together, and [`LlmStats`] counters.
//! - [`OpenAiPolicy`] adapts it to the synchronous [`search::Policy`](crate::search::Policy) by
//!   blocking on a runtime handle; [`CombinedPolicy`] merges it with another policy and
//!   [`FallbackPolicy`] uses another policy only when it fails.
//!
//! # Scores
//!
//! A candidate's score is the mean log-probability of its tokens, as BFS-Prover computes it
//! (`docs/search-algorithm.md` §3): `/v1/completions` is asked for `logprobs: 1` and the mean is
//! taken over `choices[i].logprobs.token_logprobs` (nulls skipped, vLLM's shape);
//! `/v1/chat/completions` is asked for `logprobs: true` and the mean is over
//! `choices[i].logprobs.content[*].logprob`. A server that returns no log-probabilities still
//! returns its samples in order, so they get rank scores `-ln(rank + 1)` instead. Duplicate
//! completions merge, keeping the best score.
//!
//! # Transport
//!
//! The default build speaks plain HTTP only, which is what local model servers offer; the
//! `https` cargo feature adds reqwest's rustls TLS for remote endpoints (it compiles aws-lc-rs,
//! which is why it is not on by default). Proxies from the environment are ignored so that a
//! loopback server is always reached directly. Failures are retried as [`LlmClient`] describes;
//! [`LlmError`] says what failed last and after how many attempts.

mod answer;
mod breaker;
mod client;
mod config;
mod error;
mod limiter;
mod policy;
mod servers;
mod wire;

/// Moved to [`crate::policy`]; re-exported at their old path.
pub use crate::policy::{CombinedPolicy, FallbackPolicy};
pub use breaker::{Admission, CircuitBreaker, Outage};
pub use client::{LlmClient, LlmStats, MAX_REQUESTS_PER_SAMPLE, TokenUsage};
pub use config::{
    Api, DEFAULT_MAX_TOKENS, LlmConfig, NamedTemplate, STATE_PLACEHOLDER, SamplesMode, TEMPLATES,
    default_stop, named_template, resolve_template,
};
pub use datasets::manifest::ModelProbe;
pub use error::LlmError;
pub use policy::OpenAiPolicy;
pub use servers::ServerStats;
