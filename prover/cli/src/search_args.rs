//! Flags shared by `prover prove` and `prover eval`: search budgets and the tactic policy.

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use prover::llm::SamplesMode;
use prover::policy::PolicyKind;
use prover::settings::SearchOverlay;

/// `--policy`: the library's [`PolicyKind`] names, each with its help line.
fn policy_kind() -> impl TypedValueParser<Value = PolicyKind> {
    PossibleValuesParser::new([
        PossibleValue::new(PolicyKind::Portfolio.name())
            .help("Lean automation plus goal- and hypothesis-driven tactics; no GPU, no network"),
        PossibleValue::new(PolicyKind::Openai.name())
            .help("An OpenAI-compatible completion server (vLLM, SGLang, llama.cpp, Ollama)"),
        PossibleValue::new(PolicyKind::Combined.name())
            .help("The LLM's candidates plus the portfolio's"),
        PossibleValue::new(PolicyKind::Learned.name())
            .help("A model learned from proofs on the CPU (--learned-model), plus the portfolio"),
    ])
    .try_map(|name| name.parse::<PolicyKind>())
}

/// `--llm-samples-mode`: the library's [`SamplesMode`] names.
fn samples_mode() -> impl TypedValueParser<Value = SamplesMode> {
    PossibleValuesParser::new(
        [SamplesMode::Auto, SamplesMode::N, SamplesMode::Requests].map(|m| m.name()),
    )
    .try_map(|name| name.parse::<SamplesMode>())
}

/// Search and policy flags.
#[derive(Debug, Clone, Args, Default)]
pub struct SearchArgs {
    /// Tactic policy.
    #[arg(long, value_parser = policy_kind())]
    pub policy: Option<PolicyKind>,
    /// Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.
    #[arg(long, value_name = "URL")]
    pub llm_url: Option<String>,
    /// Model name sent to the server.
    #[arg(long, value_name = "NAME")]
    pub llm_model: Option<String>,
    /// Prompt template with `{state}`, or a named template (`bfs-prover`).
    #[arg(long, value_name = "T")]
    pub prompt_template: Option<String>,
    /// Use /v1/chat/completions instead of /v1/completions.
    #[arg(long)]
    pub llm_chat: bool,
    /// Completions sampled per expansion (at least 1) [default: 4].
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// How the samples are asked for: `n` (one request, `n` = samples; vLLM, SGLang),
    /// `requests` (one request per sample; llama-cpp-python and Ollama ignore `n`), or `auto`
    /// (as the preflight's probe finds) [default: auto].
    #[arg(long, value_name = "MODE", value_parser = samples_mode())]
    pub llm_samples_mode: Option<SamplesMode>,
    /// Do not ask the model server for log-probabilities (candidates get rank scores); for a
    /// server that refuses them, e.g. llama-cpp-python started with `--logits_all False`.
    #[arg(long)]
    pub no_logprobs: bool,
    /// Token cap per sampled tactic, 1 to 65536 [default: 256].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Stop string sent to the server (repeatable, at most 4; `--stop ''` sends none)
    /// [default: the prompt template's: `<|endoftext|>` and `:::` for `{state}:::`].
    #[arg(long, value_name = "S")]
    pub stop: Vec<String>,
    /// Sampling temperature, a finite number from 0 to 10 [default: 1.3].
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,
    /// Further attempts after a failed model request (timeouts, HTTP 429/5xx, bad bodies)
    /// [default: 3].
    #[arg(long, value_name = "N")]
    pub llm_retries: Option<u32>,
    /// Seconds one model request may take [default: 60].
    #[arg(long, value_name = "SECS")]
    pub llm_timeout: Option<f64>,
    /// Failed proposals in a row (each after its retries) that make the run stop asking the
    /// model server and probe it instead [default: 3].
    #[arg(long, value_name = "N")]
    pub llm_breaker: Option<u32>,
    /// Seconds `eval` waits for a model server that is down before it stops the run (without
    /// `--llm-fallback`; with it, the portfolio answers meanwhile) [default: 600].
    #[arg(long, value_name = "SECS")]
    pub llm_outage_limit: Option<f64>,
    /// Requests to the model server at once, shared by all searches (at least 1) [default: 16].
    #[arg(long, value_name = "M")]
    pub llm_concurrency: Option<usize>,
    /// Candidates run per expansion (at least 1) [default: 8 for the portfolio, 4 for a model].
    #[arg(long, value_name = "K")]
    pub width: Option<usize>,
    /// Length-normalization exponent α: priority = Σ scores / depth^α [default: 2.0].
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Expansions per theorem (at least 1) [default: no limit].
    #[arg(long, value_name = "N")]
    pub max_expansions: Option<u32>,
    /// Seconds per theorem [default: 600].
    #[arg(long, value_name = "SECS")]
    pub time_limit: Option<f64>,
    /// Seconds one tactic may run before its process is killed [default: 12].
    #[arg(long, value_name = "SECS")]
    pub tactic_timeout: Option<f64>,
    /// Tactics of one expansion run at once on the REPL pool (at least 1). The report is the
    /// same for every value; only the wall time changes [default: the pool's --workers; 1 for
    /// `eval`, which runs theorems side by side instead].
    #[arg(long, value_name = "P")]
    pub search_parallelism: Option<usize>,
    /// Seed forwarded to the model server's sampler. The search itself has no randomness:
    /// ties break by insertion order, so equal inputs give equal reports.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// When the model server still fails after its retries, let the portfolio propose for
    /// that expansion instead of skipping it (with --policy openai).
    #[arg(long)]
    pub llm_fallback: bool,
    /// Let candidates use `native_decide` (its proofs still fail the axiom check).
    #[arg(long)]
    pub allow_native_decide: bool,
    /// The learned policy's starting model (`prover train` writes one) [default: an empty
    /// model, which proposes nothing until it learns].
    #[arg(long, value_name = "FILE")]
    pub learned_model: Option<std::path::PathBuf>,
    /// With --policy learned: learn from each proof the run finds, at once.
    #[arg(long)]
    pub learn_online: bool,
    /// With --policy learned: write the model as the run ends (what it learned online
    /// included).
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<std::path::PathBuf>,
}

impl SearchArgs {
    /// What these flags say, for `settings`.
    pub fn overlay(&self) -> SearchOverlay {
        let SearchArgs {
            policy,
            llm_url,
            llm_model,
            prompt_template,
            llm_chat,
            samples,
            llm_samples_mode,
            no_logprobs,
            max_tokens,
            stop,
            temperature,
            llm_retries,
            llm_timeout,
            llm_breaker,
            llm_outage_limit,
            llm_concurrency,
            width,
            alpha,
            max_expansions,
            time_limit,
            tactic_timeout,
            search_parallelism,
            seed,
            llm_fallback,
            allow_native_decide,
            learned_model,
            learn_online,
            // Where the model goes at the end is the subcommand's business, not a setting.
            save_model: _,
        } = self.clone();
        SearchOverlay {
            policy,
            llm_url,
            llm_model,
            prompt_template,
            llm_chat,
            samples,
            llm_samples_mode,
            no_logprobs,
            max_tokens,
            stop: (!stop.is_empty()).then_some(stop),
            temperature,
            llm_retries,
            llm_timeout,
            llm_breaker,
            llm_outage_limit,
            llm_concurrency,
            width,
            alpha,
            max_expansions,
            time_limit,
            tactic_timeout,
            search_parallelism,
            seed,
            llm_fallback,
            allow_native_decide,
            learned_model,
            learn_online,
        }
    }
}
