//! The serde shapes of OpenAI-compatible `/v1/completions` and `/v1/chat/completions` (vLLM's
//! dialect); unknown fields are ignored so any compatible server's extras pass through.

use serde::{Deserialize, Serialize};

/// Body of `POST /v1/completions`.
#[derive(Debug, Serialize)]
pub(super) struct CompletionRequest<'a> {
    pub(super) model: &'a str,
    pub(super) prompt: &'a str,
    pub(super) n: usize,
    pub(super) temperature: f64,
    pub(super) top_p: f64,
    pub(super) max_tokens: u32,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(super) stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) seed: Option<u64>,
    /// The number of top alternatives per token; 1 is the smallest value every server accepts,
    /// and the sampled token's own log-probability comes with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) logprobs: Option<u32>,
}

/// Body of `POST /v1/chat/completions`.
#[derive(Debug, Serialize)]
pub(super) struct ChatRequest<'a> {
    pub(super) model: &'a str,
    pub(super) messages: [ChatMessageOut<'a>; 1],
    pub(super) n: usize,
    pub(super) temperature: f64,
    pub(super) top_p: f64,
    pub(super) max_tokens: u32,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(super) stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) logprobs: Option<bool>,
    /// Sent with `logprobs: true`: llama-cpp-python answers `"logprobs": null` without it
    /// (recorded), and 0 asks for the sampled tokens' own values only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) top_logprobs: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(super) struct ChatMessageOut<'a> {
    pub(super) role: &'static str,
    pub(super) content: &'a str,
}

/// The answer of either endpoint; which fields are filled depends on the endpoint.
#[derive(Debug, Deserialize)]
pub(super) struct Answer {
    /// Absent when the server reports an error in the body instead.
    pub(super) choices: Option<Vec<Choice>>,
    /// `{"error": {"message": …}}` or `{"error": "…"}`; `null` counts as absent.
    pub(super) error: Option<serde_json::Value>,
    pub(super) usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Choice {
    pub(super) index: Option<u64>,
    /// Completions.
    pub(super) text: Option<String>,
    /// Chat.
    pub(super) message: Option<ChatMessageIn>,
    pub(super) logprobs: Option<Logprobs>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ChatMessageIn {
    pub(super) content: Option<String>,
}

/// Both shapes in one struct: completions fill `tokens`/`token_logprobs`, chat fills `content`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Logprobs {
    #[serde(default)]
    pub(super) tokens: Option<Vec<String>>,
    /// `null` entries occur (vLLM gives the first prompt token none when echoing).
    #[serde(default)]
    pub(super) token_logprobs: Option<Vec<Option<f64>>>,
    #[serde(default)]
    pub(super) content: Option<Vec<TokenLogprob>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenLogprob {
    pub(super) token: Option<String>,
    pub(super) logprob: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Usage {
    pub(super) prompt_tokens: Option<u64>,
    pub(super) completion_tokens: Option<u64>,
}
