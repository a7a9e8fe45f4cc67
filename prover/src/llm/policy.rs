//! The model as a search policy: `OpenAiPolicy` (the generic `CombinedPolicy` and
//! `FallbackPolicy` that pair it with the portfolio live in `policy::combine`).

use std::sync::{Arc, Mutex, Weak};

use futures::future::BoxFuture;
use tokio::runtime::Handle;

use crate::policy::prefetch::{PrefetchCache, PrefetchStats};
use crate::search::{Candidate, Policy, PolicyError, ProposalHint, Query, StateHint};

use super::client::LlmClient;
use super::error::LlmError;

/// The model as a search [`Policy`]: every expansion is one [`LlmClient::propose`] call.
///
/// The search is synchronous, so `propose` blocks on `runtime` until the answer (or the last
/// retry) is in. It must run on a thread outside the runtime's async tasks (a plain thread or
/// `spawn_blocking`): `Handle::block_on` panics inside an async context. The `width` hint is
/// ignored: the client samples [`LlmConfig::samples`](super::LlmConfig::samples) completions,
/// and the search keeps the best `width` after filtering.
///
/// [`prefetch`](Policy::prefetch) starts the requests for the hinted states at once (they run
/// while the search's tactics run in Lean), and `propose` answers from them: a request asks
/// for the state's text alone, so the prefetched answer is the one `propose` would have asked
/// for. A prefetch that failed is asked again. [`state_hints`](Policy::state_hints) shares the
/// same answers with the environment, which starts one for a new state as soon as its tactic
/// answers.
#[derive(Debug)]
pub struct OpenAiPolicy {
    /// The shared client (one per model server, shared by every search).
    pub client: Arc<LlmClient>,
    /// The runtime the requests run on.
    pub runtime: Handle,
    /// Answers started ahead of need, by state text; shared with the environment through
    /// [`state_hints`](Policy::state_hints).
    prefetched: Arc<ModelPrefetch>,
}

/// The model requests started ahead of need for one search: by the search's look-ahead, or
/// for a new state an environment announced ([`StateHint`]).
#[derive(Debug)]
struct ModelPrefetch {
    client: Arc<LlmClient>,
    cache: PrefetchCache<Result<Vec<Candidate>, LlmError>>,
    /// The environment told of each answer as it comes in ([`StateHint::tell_proposals`]).
    ear: Arc<Mutex<Option<Weak<dyn ProposalHint>>>>,
}

impl ModelPrefetch {
    /// The request `propose` would send for `state`; its answer, when it is one, also goes to
    /// the environment's ear at once.
    fn ask(
        &self,
    ) -> impl FnMut(&str) -> BoxFuture<'static, Result<Vec<Candidate>, LlmError>> + use<'_> {
        move |state: &str| {
            let (client, state, ear) = (self.client.clone(), state.to_owned(), self.ear.clone());
            Box::pin(async move {
                let answer = client.propose(&state).await;
                if let Ok(candidates) = &answer {
                    let ear = ear.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    if let Some(ear) = ear.and_then(|ear| ear.upgrade()) {
                        ear.proposed(&state, candidates);
                    }
                }
                answer
            })
        }
    }
}

impl StateHint for ModelPrefetch {
    fn new_state(&self, state: &str) {
        self.cache.start_new_state(state, self.ask());
    }

    fn tell_proposals(&self, ear: Weak<dyn ProposalHint>) {
        *self.ear.lock().unwrap_or_else(|p| p.into_inner()) = Some(ear);
    }
}

impl Clone for OpenAiPolicy {
    /// The same client and runtime; prefetched answers stay with the original.
    fn clone(&self) -> Self {
        OpenAiPolicy::new(self.client.clone(), self.runtime.clone())
    }
}

impl OpenAiPolicy {
    /// A policy asking `client`, on `runtime`.
    pub fn new(client: Arc<LlmClient>, runtime: Handle) -> Self {
        Self {
            prefetched: Arc::new(ModelPrefetch {
                client: client.clone(),
                cache: PrefetchCache::new(runtime.clone()),
                ear: Arc::new(Mutex::new(None)),
            }),
            client,
            runtime,
        }
    }

    /// What became of this policy's prefetches.
    pub fn prefetch_stats(&self) -> PrefetchStats {
        self.prefetched.cache.stats()
    }
}

impl Policy for OpenAiPolicy {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        if let Some(answer) = self.prefetched.cache.take(query.state, Result::is_ok) {
            match answer {
                Ok(candidates) => return Ok(candidates),
                Err(error) => {
                    tracing::debug!(%error, "a prefetched model answer failed; asking again");
                }
            }
        }
        self.runtime
            .block_on(self.client.propose(query.state))
            .map_err(|e| PolicyError::with_source("the model server failed", e))
    }

    fn prefetch(&mut self, upcoming: &[Query<'_>]) {
        self.prefetched.cache.start(
            upcoming.iter().map(|query| query.state),
            self.prefetched.ask(),
        );
    }

    fn state_hints(&self) -> Option<Arc<dyn StateHint>> {
        Some(self.prefetched.clone())
    }
}
