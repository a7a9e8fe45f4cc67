//! `LlmConfig`: how to reach an OpenAI-compatible model server and how to sample tactics from it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Which OpenAI-compatible endpoint to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// `POST {base_url}/completions` with a raw `prompt`. BFS-Prover is a completion model
    /// trained on `"{state}:::"` prompts, so this is the default.
    #[default]
    Completions,
    /// `POST {base_url}/chat/completions` with the rendered prompt as the single user message.
    Chat,
}

impl FromStr for Api {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "completions" => Ok(Api::Completions),
            "chat" => Ok(Api::Chat),
            other => Err(format!(
                "unknown API {other:?}: expected \"completions\" or \"chat\""
            )),
        }
    }
}

/// How [`LlmConfig::samples`] candidates are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplesMode {
    /// As the preflight's probe found: `n` where the server honours it, else one request per
    /// sample. Without a probe, `n`.
    #[default]
    Auto,
    /// One request with `n` = samples (vLLM, SGLang).
    N,
    /// `samples` requests with `n` = 1, sent together (llama-cpp-python and Ollama ignore `n`).
    Requests,
}

impl SamplesMode {
    /// The name users write (`--llm-samples-mode requests`).
    pub fn name(self) -> &'static str {
        match self {
            SamplesMode::Auto => "auto",
            SamplesMode::N => "n",
            SamplesMode::Requests => "requests",
        }
    }
}

impl FromStr for SamplesMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(SamplesMode::Auto),
            "n" => Ok(SamplesMode::N),
            "requests" => Ok(SamplesMode::Requests),
            other => Err(format!(
                "unknown samples mode {other:?}: expected \"auto\", \"n\" or \"requests\""
            )),
        }
    }
}

/// Token cap per completion by default: one tactic is rarely above 100 tokens (a long
/// `nlinarith [...]` hint list is about 150), so 256 leaves room without letting a model that
/// does not stop run for thousands of tokens (8.5 s at 2048 tokens even for the tiny recorded
/// model).
pub const DEFAULT_MAX_TOKENS: u32 = 256;

/// The placeholder a prompt template must contain; it is replaced by the state text.
pub const STATE_PLACEHOLDER: &str = "{state}";

/// A prompt template with a name and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedTemplate {
    /// The name accepted by [`named_template`].
    pub name: &'static str,
    /// The template; [`STATE_PLACEHOLDER`] is replaced by the goals joined with `"\n\n"`.
    pub template: &'static str,
    /// The API it is meant for.
    pub api: Api,
    /// Where the format comes from, or "project choice".
    pub source: &'static str,
    /// The stop strings sent with it unless `--stop` says otherwise: what its models end a
    /// tactic with, besides their end-of-sequence token.
    pub stop: &'static [&'static str],
}

/// The prompt templates the project knows by name.
pub const TEMPLATES: &[NamedTemplate] = &[
    NamedTemplate {
        name: "bfs-prover",
        template: "{state}:::",
        api: Api::Completions,
        source: "BFS-Prover V1 model card (huggingface.co/ByteDance-Seed/BFS-Prover-V1-7B): \
                 \"The model expects Lean4 tactic states in the format `{state}:::`\"; \
                 the V2 code sends the same",
        // The models end a tactic with Qwen2.5's end-of-text token; a model that runs on
        // starts a new `state:::`, so the separator stops it too.
        stop: &["<|endoftext|>", ":::"],
    },
    NamedTemplate {
        name: "internlm-step",
        template: "---\nNAME: \n\n---\nPROOF_BEFORE: \n\n---\nSTATE_BEFORE: {state}\n\n---\nTACTIC: ",
        api: Api::Completions,
        source: "InternLM2.5-StepProver model card (huggingface.co/internlm/internlm2_5-step-prover); \
                 NAME and PROOF_BEFORE are left empty because a policy sees only the state \
                 (project adaptation)",
        // The format's next section starts with `---`.
        stop: &["\n---", "<|im_end|>"],
    },
    NamedTemplate {
        name: "chat-tactic",
        template: "Here is a Lean 4 proof state:\n\n{state}\n\nReply with exactly one Lean 4 \
                   tactic that makes progress on the first goal. Reply with the tactic only: \
                   no explanation and no code fence.",
        api: Api::Chat,
        source: "project choice, for instruction-tuned chat models (DeepSeek-style chat \
                 endpoints); replies wrapped in a code fence are unwrapped anyway",
        // A chat model ends its reply with its own end-of-turn token, which the server stops at.
        stop: &[],
    },
];

/// The template called `name` (see [`TEMPLATES`]), if there is one.
pub fn named_template(name: &str) -> Option<&'static NamedTemplate> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// The default stop strings for `template` (a rendered template): those of the named template
/// it is, else none.
pub fn default_stop(template: &str) -> Vec<String> {
    TEMPLATES
        .iter()
        .find(|t| t.template == template)
        .map(|t| t.stop.iter().map(|s| (*s).to_owned()).collect())
        .unwrap_or_default()
}

/// The template called `name_or_template` if one is, else the argument itself as a template.
///
/// A literal template is not checked for [`STATE_PLACEHOLDER`]: a prompt without the state is
/// useless but not an error.
pub fn resolve_template(name_or_template: &str) -> String {
    named_template(name_or_template)
        .map_or(name_or_template, |t| t.template)
        .to_owned()
}

/// Everything `LlmClient` needs: the endpoint, the sampling parameters and the retry policy.
///
/// The defaults drive a BFS-Prover model served by vLLM on this machine, with the released
/// BFS-Prover-V2 run's sampling values (`docs/search-algorithm.md` §4, "use the released-run
/// column when driving a BFS-Prover model"):
///
/// | field | default | why |
/// |---|---|---|
/// | `base_url` | `http://127.0.0.1:8000/v1` | `vllm serve`'s default port, on loopback |
/// | `model` | `ByteDance-Seed/BFS-Prover-V2-7B` | the V2 README's 7B model; vLLM serves a model under its Hugging Face id unless told otherwise |
/// | `api` | completions | BFS-Prover is prompted with raw text, not chat messages |
/// | `prompt_template` | `{state}:::` | §5, from the V1 model card and the V2 code |
/// | `samples` | 4 | the released run's `n_sampling_search` (code default 16) |
/// | `samples_mode` | auto | `n` where the server honours it (vLLM, SGLang), one request per sample where it does not (llama-cpp-python, Ollama), as the preflight's probe finds |
/// | `temperature` | 1.3 | the released run's `sampling_temperature` (code default 0.7) |
/// | `top_p` | 1.0 | V2 code and run |
/// | `max_tokens` | 256 | [`DEFAULT_MAX_TOKENS`]: one tactic, not V2's 2048, which lets a model that does not stop hold a single-slot server for seconds |
/// | `stop` | the template's | [`NamedTemplate::stop`]: `<\|endoftext\|>` and `:::` for `{state}:::` (V2 sets none and relies on the end-of-sequence token) |
/// | `seed` | none | a fixed seed makes every expansion of a state sample the same tactics, which defeats pass@k |
/// | `logprobs` | on | scores are token-mean log-probabilities (§3); chat requests carry `top_logprobs: 0` with it |
/// | `request_timeout` | 60 s | V2's `vllm_timeout` |
/// | `connect_timeout` | 5 s | project choice: loopback connects at once, so a slow connect means a wrong address, better retried soon |
/// | `retries` | 3 | project choice: rides out a server restart of a few seconds without hiding a dead one for long |
/// | `backoff` | 500 ms, doubling | project choice: 0.5 + 1 + 2 s of waiting across the default retries |
/// | `max_concurrency` | 16 | project choice: the most requests in flight for vLLM to batch across the searches of one process; the adaptive limit starts from what the probe found and stays at or below it |
/// | `api_key` | none | local servers need none; `settings` reads it from the environment; nothing else does |
/// | `breaker_failures` | 3 | project choice: three proposals that each failed their retries mean the server is down, not flaky |
/// | `probe_interval` | 2 s, doubling to 60 s | project choice: a restarted server is noticed within seconds, a dead one costs one request a minute |
#[derive(Clone, PartialEq)]
pub struct LlmConfig {
    /// The API root including the version, e.g. `http://127.0.0.1:8000/v1`; the client appends
    /// `/completions` or `/chat/completions`. `https://` needs the `https` cargo feature.
    pub base_url: String,
    /// Further servers of the same model (`--llm-url` given again), e.g. one vLLM per GPU:
    /// requests are spread over all of them by least outstanding requests, and one that fails
    /// is left out for a back-off while the others carry the load (`servers.rs`).
    pub replicas: Vec<String>,
    /// The `model` field of every request.
    pub model: String,
    /// Completions or chat.
    pub api: Api,
    /// The prompt, with [`STATE_PLACEHOLDER`] replaced by the state text. For chat, the whole
    /// rendered text is the single user message.
    pub prompt_template: String,
    /// Completions sampled per expansion (`n`).
    pub samples: usize,
    /// How the samples are asked for.
    pub samples_mode: SamplesMode,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus-sampling mass.
    pub top_p: f64,
    /// Token cap per completion.
    pub max_tokens: u32,
    /// Stop strings sent to the server; the client also cuts at them in case it ignored them.
    pub stop: Vec<String>,
    /// Sent as `seed` when set, for servers whose sampler takes one (vLLM does), so runs can be
    /// repeated.
    pub seed: Option<u64>,
    /// Ask for token log-probabilities; without them candidates get rank-based scores.
    pub logprobs: bool,
    /// Whole-request deadline, connect to last body byte, per attempt; it starts when the request
    /// is sent, never while it waits for the client's concurrency limit.
    pub request_timeout: Duration,
    /// Deadline to establish a connection, per attempt.
    pub connect_timeout: Duration,
    /// Further attempts after a retryable failure (so at most `retries + 1` attempts).
    pub retries: u32,
    /// Wait before the first retry; each later wait doubles (capped at 30 s).
    pub backoff: Duration,
    /// The most requests in flight at once from one client, across every search sharing it; the
    /// adaptive limit moves between 1 and this.
    pub max_concurrency: usize,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// Failed proposals in a row (across every search) that open the circuit breaker.
    pub breaker_failures: u32,
    /// Wait before the first probe of an open breaker; later waits double up to 60 s.
    pub probe_interval: Duration,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8000/v1".to_owned(),
            replicas: Vec::new(),
            model: "ByteDance-Seed/BFS-Prover-V2-7B".to_owned(),
            api: Api::Completions,
            prompt_template: "{state}:::".to_owned(),
            samples: 4,
            samples_mode: SamplesMode::Auto,
            temperature: 1.3,
            top_p: 1.0,
            max_tokens: DEFAULT_MAX_TOKENS,
            stop: default_stop("{state}:::"),
            seed: None,
            logprobs: true,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_concurrency: 16,
            api_key: None,
            breaker_failures: 3,
            probe_interval: Duration::from_secs(2),
        }
    }
}

impl LlmConfig {
    /// The prompt for `state_text`: the template with every [`STATE_PLACEHOLDER`] replaced.
    pub fn render_prompt(&self, state_text: &str) -> String {
        self.prompt_template.replace(STATE_PLACEHOLDER, state_text)
    }
}

// Hand-written so a logged configuration never shows the API key.
impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("replicas", &self.replicas)
            .field("model", &self.model)
            .field("api", &self.api)
            .field("prompt_template", &self.prompt_template)
            .field("samples", &self.samples)
            .field("samples_mode", &self.samples_mode)
            .field("temperature", &self.temperature)
            .field("top_p", &self.top_p)
            .field("max_tokens", &self.max_tokens)
            .field("stop", &self.stop)
            .field("seed", &self.seed)
            .field("logprobs", &self.logprobs)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("max_concurrency", &self.max_concurrency)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}
