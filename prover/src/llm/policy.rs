//! The model as a search policy: `OpenAiPolicy` (the generic `CombinedPolicy` and
//! `FallbackPolicy` that pair it with the portfolio live in `policy::combine`).

use std::sync::Arc;

use tokio::runtime::Handle;

use crate::search::{Candidate, Policy, PolicyError, Query};

use super::client::LlmClient;

/// The model as a search [`Policy`]: every expansion is one [`LlmClient::propose`] call.
///
/// The search is synchronous, so `propose` blocks on `runtime` until the answer (or the last
/// retry) is in. It must run on a thread outside the runtime's async tasks (a plain thread or
/// `spawn_blocking`): `Handle::block_on` panics inside an async context. The `width` hint is
/// ignored: the client samples [`LlmConfig::samples`](super::LlmConfig::samples) completions,
/// and the search keeps the best `width` after filtering.
#[derive(Debug, Clone)]
pub struct OpenAiPolicy {
    /// The shared client (one per model server, shared by every search).
    pub client: Arc<LlmClient>,
    /// The runtime the requests run on.
    pub runtime: Handle,
}

impl OpenAiPolicy {
    /// A policy asking `client`, on `runtime`.
    pub fn new(client: Arc<LlmClient>, runtime: Handle) -> Self {
        Self { client, runtime }
    }
}

impl Policy for OpenAiPolicy {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        self.runtime
            .block_on(self.client.propose(query.state))
            .map_err(|e| PolicyError::with_source("the model server failed", e))
    }
}
