//! Settings: the `prover.toml` schema, overlays from a front end, and the one merge into the plain config structs the library runs on.
//!
//! A front end (the CLI's flags, an editor's `initializationOptions`) fills an [`Overlay`]
//! with what its user said; [`SettingsFile`] is what `prover.toml` says; the functions here
//! merge the two with one precedence (overlay, then file, then default) and check every value,
//! so that a slip is refused with the flag's name before anything starts.
//!
//! **Invariant:** this module is the only reader of `prover.toml` and of the process
//! environment (`OPENAI_API_KEY` or the variable `[llm] api_key_env` names, `XDG_CACHE_HOME`,
//! `HOME`, the current directory, `PROVER_LOG`, `NO_COLOR`); it names no clap or LSP type.
//! Error messages name the CLI flag (`--width`), which is also the overlay's field name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lean_bridge::pool::PoolConfig;
use lean_bridge::process::ReplConfig;
use serde::Deserialize;

use crate::check::CheckConfig;
use crate::engine::{ProveConfig, VerdictReuse};
use crate::llm::{Api, LlmConfig, SamplesMode};
use crate::policy::learned::LearnedModel;
use crate::policy::{LearnedSpec, PolicyKind, PolicySpec};
use crate::portfolio::PortfolioConfig;
use crate::session::SessionConfig;

/// A setting that cannot be used, or a settings file that cannot be read; the message names
/// the flag or the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A value out of range or missing; the message names the flag.
    #[error("{0}")]
    Invalid(String),
    /// The settings file could not be read.
    #[error("cannot read settings file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The settings file is not valid TOML of this schema.
    #[error("invalid settings file {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        source: Box<toml::de::Error>,
    },
}

/// `Err(SettingsError::Invalid(format!(…)))`.
macro_rules! invalid {
    ($($arg:tt)*) => {
        return Err(SettingsError::Invalid(format!($($arg)*)))
    };
}

type Result<T> = std::result::Result<T, SettingsError>;

const GIB: f64 = (1u64 << 30) as f64;

/// The REPL binary the project's Lake set-up builds, relative to the Lean project.
pub const DEFAULT_REPL_CMD: &str = "lake env .lake/packages/REPL/.lake/build/bin/repl";

/// Default expansion width with the portfolio policy.
pub const PORTFOLIO_WIDTH: usize = 8;

/// The most of anything run at once (REPLs, theorems, model requests): far beyond any machine,
/// and far below what a semaphore or a slot table can hold.
pub const MAX_AT_ONCE: usize = 4096;

/// GiB one REPL with Mathlib imported needs, for judging `--workers` (project measurement:
/// 4-6 GiB resident after `import Mathlib` on Lean v4.2x, more while tactics run).
const DEFAULT_REPL_MEMORY_ESTIMATE_GIB: f64 = 6.0;

// ---------------------------------------------------------------------------------------------
// prover.toml

/// `prover.toml`, as written by the user. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// Where the settings came from, for error messages.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// `[repl]`.
    #[serde(default)]
    pub repl: ReplSettings,
    /// `[check]`.
    #[serde(default)]
    pub check: CheckSettings,
    /// `[search]`.
    #[serde(default)]
    pub search: SearchSettings,
    /// `[llm]`.
    #[serde(default)]
    pub llm: LlmSettings,
    /// `[cache]`.
    #[serde(default)]
    pub cache: CacheSettings,
}

/// `[cache]` in `prover.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// As `--cache`.
    pub dir: Option<PathBuf>,
    /// `false` as `--no-cache`.
    pub enabled: Option<bool>,
    /// As `--reuse-verdicts`: `"matching"`, `"any"` or `"never"`.
    pub reuse_verdicts: Option<VerdictReuse>,
}

/// `[search]` in `prover.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// As `--policy`.
    pub policy: Option<PolicyKind>,
    /// As `--width`.
    pub width: Option<usize>,
    /// As `--alpha`.
    pub alpha: Option<f64>,
    /// As `--max-expansions`.
    pub max_expansions: Option<u32>,
    /// As `--time-limit`, seconds.
    pub time_limit: Option<f64>,
    /// As `--tactic-timeout`, seconds.
    pub tactic_timeout: Option<f64>,
    /// As `--concurrency` of `prover eval`.
    pub concurrency: Option<usize>,
    /// As `--allow-native-decide`.
    pub allow_native_decide: Option<bool>,
    /// As `--learned-model`.
    pub learned_model: Option<PathBuf>,
}

/// `[llm]` in `prover.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// As `--llm-url`.
    pub url: Option<String>,
    /// As `--llm-model`.
    pub model: Option<String>,
    /// As `--prompt-template`.
    pub prompt_template: Option<String>,
    /// As `--llm-chat`.
    pub chat: Option<bool>,
    /// As `--samples`.
    pub samples: Option<usize>,
    /// As `--llm-samples-mode`: `"auto"`, `"n"` or `"requests"`.
    pub samples_mode: Option<SamplesMode>,
    /// `false` as `--no-logprobs`.
    pub logprobs: Option<bool>,
    /// As `--max-tokens`.
    pub max_tokens: Option<u32>,
    /// As `--stop` (every string; `[]` sends none).
    pub stop: Option<Vec<String>>,
    /// As `--temperature`.
    pub temperature: Option<f64>,
    /// As `--llm-concurrency`.
    pub concurrency: Option<usize>,
    /// As `--llm-retries`.
    pub retries: Option<u32>,
    /// As `--llm-timeout`, seconds.
    pub timeout: Option<f64>,
    /// As `--llm-breaker`.
    pub breaker: Option<u32>,
    /// As `--llm-outage-limit`, seconds.
    pub outage_limit: Option<f64>,
    /// As `--llm-fallback`.
    pub fallback: Option<bool>,
    /// Name of the environment variable holding the API key (default `OPENAI_API_KEY`).
    pub api_key_env: Option<String>,
}

/// `[repl]` in `prover.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplSettings {
    /// As `--repl-cmd`.
    pub command: Option<String>,
    /// As `--project`.
    pub project: Option<PathBuf>,
    /// As `--workers`.
    pub workers: Option<usize>,
    /// As `--repl-memory-limit`, GiB.
    pub memory_limit_gib: Option<f64>,
    /// As `--repl-max-rss`, GiB.
    pub max_rss_gib: Option<f64>,
    /// As `--repl-max-requests`.
    pub max_requests: Option<u64>,
    /// As `--repl-memory-estimate`, GiB.
    pub memory_estimate_gib: Option<f64>,
}

/// `[check]` in `prover.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// As `--timeout`, seconds.
    pub timeout: Option<f64>,
    /// As `--retries`.
    pub retries: Option<u32>,
    /// As `--trust-header`.
    pub trust_header: Option<bool>,
    /// As `--allow-native-decide`.
    pub allow_native_decide: Option<bool>,
    /// As `--external-checker`.
    pub external_checker: Option<String>,
}

impl SettingsFile {
    /// Reads `path`, or `./prover.toml` when it exists, or nothing.
    pub fn load(path: Option<&Path>) -> Result<SettingsFile> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("prover.toml");
                if !default.exists() {
                    return Ok(SettingsFile::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| SettingsError::Read {
            path: path.clone(),
            source,
        })?;
        let mut settings = SettingsFile::parse(&text).map_err(|source| SettingsError::Parse {
            path: path.clone(),
            source: Box::new(source),
        })?;
        settings.source = Some(path);
        Ok(settings)
    }

    /// Parses settings text.
    pub fn parse(text: &str) -> std::result::Result<SettingsFile, toml::de::Error> {
        toml::from_str(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Overlays

/// What a front end's user said, on top of `prover.toml`. `None` (or `false`) leaves the file's
/// value or the default; every field is named after its CLI flag (`--repl-cmd` is `repl_cmd`).
///
/// An editor passes its options as JSON (`initializationOptions`), read with serde:
/// `{"repl": {"workers": 1}, "search": {"policy": "openai", "llm_url": "…"}}`; an unknown
/// field is refused by name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Overlay {
    /// REPL processes.
    pub repl: ReplOverlay,
    /// Search and policy.
    pub search: SearchOverlay,
    /// The proof-state cache.
    pub cache: CacheOverlay,
}

/// How to start and supervise REPL processes (`--repl-cmd`, `--workers`, …).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplOverlay {
    /// `--repl-cmd`.
    pub repl_cmd: Option<String>,
    /// `--project`.
    pub project: Option<PathBuf>,
    /// `--workers`.
    pub workers: Option<usize>,
    /// `--repl-memory-limit`, GiB.
    pub repl_memory_limit: Option<f64>,
    /// `--repl-max-rss`, GiB.
    pub repl_max_rss: Option<f64>,
    /// `--repl-max-requests`.
    pub repl_max_requests: Option<u64>,
    /// `--repl-memory-estimate`, GiB.
    pub repl_memory_estimate: Option<f64>,
    /// `--force`: start as many REPLs as asked even when they do not fit in memory.
    pub force: bool,
}

/// Search budgets and the tactic policy (`--width`, `--policy`, `--llm-url`, …).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchOverlay {
    /// `--policy`.
    pub policy: Option<PolicyKind>,
    /// `--llm-url`.
    pub llm_url: Option<String>,
    /// `--llm-model`.
    pub llm_model: Option<String>,
    /// `--prompt-template`.
    pub prompt_template: Option<String>,
    /// `--llm-chat`.
    pub llm_chat: bool,
    /// `--samples`.
    pub samples: Option<usize>,
    /// `--llm-samples-mode`.
    pub llm_samples_mode: Option<SamplesMode>,
    /// `--no-logprobs`.
    pub no_logprobs: bool,
    /// `--max-tokens`.
    pub max_tokens: Option<u32>,
    /// `--stop` (repeatable; an empty string alone sends none).
    pub stop: Option<Vec<String>>,
    /// `--temperature`.
    pub temperature: Option<f64>,
    /// `--llm-retries`.
    pub llm_retries: Option<u32>,
    /// `--llm-timeout`, seconds.
    pub llm_timeout: Option<f64>,
    /// `--llm-breaker`.
    pub llm_breaker: Option<u32>,
    /// `--llm-outage-limit`, seconds.
    pub llm_outage_limit: Option<f64>,
    /// `--llm-concurrency`.
    pub llm_concurrency: Option<usize>,
    /// `--width`.
    pub width: Option<usize>,
    /// `--alpha`.
    pub alpha: Option<f64>,
    /// `--max-expansions`.
    pub max_expansions: Option<u32>,
    /// `--time-limit`, seconds.
    pub time_limit: Option<f64>,
    /// `--tactic-timeout`, seconds.
    pub tactic_timeout: Option<f64>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--llm-fallback`.
    pub llm_fallback: bool,
    /// `--allow-native-decide`.
    pub allow_native_decide: bool,
    /// `--learned-model`: the learned policy's starting model.
    pub learned_model: Option<PathBuf>,
    /// `--learn-online`: the learned policy learns from each proof the run finds.
    pub learn_online: bool,
}

/// Where the proof-state cache lives (`--cache`, `--no-cache`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheOverlay {
    /// `--cache`.
    pub cache: Option<PathBuf>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--reuse-verdicts`.
    pub reuse_verdicts: Option<VerdictReuse>,
}

/// `prover check`'s rules (`--timeout`, `--trust-header`, …).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckOverlay {
    /// `--timeout`, seconds.
    pub timeout: Option<f64>,
    /// `--retries`.
    pub retries: Option<u32>,
    /// `--trust-header`.
    pub trust_header: bool,
    /// `--allow-native-decide`.
    pub allow_native_decide: bool,
    /// `--external-checker`.
    pub external_checker: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Values

/// Seconds from a flag or setting, validated.
pub fn seconds(value: f64, what: &str) -> Result<Duration> {
    // About three years: more is certainly a slip, and `Duration` cannot hold 1e30 seconds.
    const MAX_SECONDS: f64 = 1e8;
    if !(value.is_finite() && value > 0.0) {
        invalid!("{what} must be a positive number of seconds, got {value}");
    }
    if value > MAX_SECONDS {
        invalid!("{what} must be at most {MAX_SECONDS:e} seconds, got {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// A count that must be at least 1, from a flag or its setting.
pub fn at_least_one<T: PartialEq + Default + std::fmt::Display>(value: T, what: &str) -> Result<T> {
    if value == T::default() {
        invalid!("{what} must be at least 1, got {value}");
    }
    Ok(value)
}

/// A count of things run at once: from 1 to [`MAX_AT_ONCE`].
pub fn at_once(value: usize, what: &str) -> Result<usize> {
    if !(1..=MAX_AT_ONCE).contains(&value) {
        invalid!("{what} must be from 1 to {MAX_AT_ONCE}, got {value}");
    }
    Ok(value)
}

fn gib_to_bytes(value: f64, what: &str) -> Result<Option<u64>> {
    if !(value.is_finite() && value >= 0.0) {
        invalid!("{what} must be a non-negative number of GiB, got {value}");
    }
    Ok((value > 0.0).then_some((value * GIB) as u64))
}

// ---------------------------------------------------------------------------------------------
// Merges

/// The nearest ancestor of `start` holding `lakefile.lean` (or `lakefile.toml`).
pub fn find_lean_project(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("lakefile.lean").exists() || dir.join("lakefile.toml").exists())
        .map(Path::to_path_buf)
}

/// The REPL pool: processes, their command and directory, memory limits. Refuses more REPLs
/// than the machine's memory holds unless `force`.
pub fn pool_config(overlay: &ReplOverlay, file: &SettingsFile) -> Result<PoolConfig> {
    let s = &file.repl;
    let workers = at_once(overlay.workers.or(s.workers).unwrap_or(2), "--workers")?;
    check_memory_for_workers(workers, overlay, s)?;
    let command = overlay.repl_cmd.clone().or_else(|| s.command.clone());
    let project = overlay.project.clone().or_else(|| s.project.clone());
    let working_dir = match (&command, project) {
        (_, Some(dir)) => Some(dir),
        (Some(_), None) => None,
        (None, None) => {
            let cwd = std::env::current_dir().map_err(|error| {
                SettingsError::Invalid(format!("cannot read the current directory: {error}"))
            })?;
            match find_lean_project(&cwd) {
                Some(dir) => Some(dir),
                None => invalid!(
                    "no Lean project (lakefile.lean) in {} or above; run the set-up in the prover \
                     checkout, pass --project DIR, or pass --repl-cmd",
                    cwd.display()
                ),
            }
        }
    };
    let mut repl = ReplConfig {
        command: command.unwrap_or_else(|| DEFAULT_REPL_CMD.to_owned()),
        working_dir,
        ..ReplConfig::default()
    };
    if let Some(limit) = overlay.repl_memory_limit.or(s.memory_limit_gib) {
        repl.memory_limit_bytes = gib_to_bytes(limit, "--repl-memory-limit")?;
    }
    if let Some(limit) = overlay.repl_max_rss.or(s.max_rss_gib) {
        repl.max_rss_anon_bytes = gib_to_bytes(limit, "--repl-max-rss")?;
    }
    if let Some(n) = overlay.repl_max_requests.or(s.max_requests) {
        repl.max_requests = (n > 0).then_some(n);
    }
    Ok(PoolConfig {
        workers,
        repl,
        ..PoolConfig::default()
    })
}

fn check_memory_for_workers(
    workers: usize,
    overlay: &ReplOverlay,
    settings: &ReplSettings,
) -> Result<()> {
    let estimate = overlay
        .repl_memory_estimate
        .or(settings.memory_estimate_gib)
        .unwrap_or(DEFAULT_REPL_MEMORY_ESTIMATE_GIB);
    if !(estimate.is_finite() && estimate >= 0.0) {
        invalid!("--repl-memory-estimate must be a non-negative number of GiB, got {estimate}");
    }
    let Ok(total) = lean_bridge::memory::total_memory_bytes() else {
        return Ok(());
    };
    let total_gib = total as f64 / GIB;
    let needed = workers as f64 * estimate;
    if needed <= total_gib {
        return Ok(());
    }
    if overlay.force {
        tracing::warn!(
            "--workers {workers} needs about {needed:.0} GiB ({estimate} GiB per REPL) and this \
             machine has {total_gib:.0} GiB; starting them anyway (--force)"
        );
        return Ok(());
    }
    invalid!(
        "--workers {workers} needs about {needed:.0} GiB ({estimate} GiB per REPL with Mathlib, \
         --repl-memory-estimate) and this machine has {total_gib:.0} GiB: pass fewer --workers \
         (at most {}), a smaller --repl-memory-estimate if your REPLs are lighter, or --force",
        (total_gib / estimate.max(f64::MIN_POSITIVE)).floor() as u64
    )
}

/// The search and recheck settings. The policy identity is left empty: [`session`] fills it
/// from the [`PolicySpec`].
///
/// [`session`]: crate::session
pub fn prove_config(overlay: &SearchOverlay, file: &SettingsFile) -> Result<ProveConfig> {
    let s = &file.search;
    let mut config = ProveConfig::default();
    // The portfolio's candidates cost nothing to generate and its priors are coarse, so it
    // gets a wider default than BFS-Prover's four sampled tactics.
    let default_width = match policy_kind(overlay, file) {
        PolicyKind::Openai => config.search.expansion_width,
        PolicyKind::Portfolio | PolicyKind::Combined | PolicyKind::Learned => PORTFOLIO_WIDTH,
    };
    let width = overlay.width.or(s.width).unwrap_or(default_width);
    if width == 0 {
        invalid!("--width must be at least 1");
    }
    config.search.expansion_width = width;
    if let Some(alpha) = overlay.alpha.or(s.alpha) {
        if !(alpha.is_finite() && (0.0..=100.0).contains(&alpha)) {
            invalid!("--alpha must be a number from 0 to 100, got {alpha}");
        }
        config.search.depth_exponent = alpha;
    }
    if let Some(n) = overlay.max_expansions.or(s.max_expansions) {
        config.search.max_expansions = Some(at_least_one(n, "--max-expansions")?);
    }
    if let Some(secs) = overlay.time_limit.or(s.time_limit) {
        config.search.max_time = Some(seconds(secs, "--time-limit")?);
    }
    if let Some(secs) = overlay.tactic_timeout.or(s.tactic_timeout) {
        config.search.tactic_deadline = seconds(secs, "--tactic-timeout")?;
    }
    // The recheck elaborates the whole proof; give it the per-theorem budget, or the default.
    if let Some(limit) = config.search.max_time {
        config.check.timeout = limit.max(config.search.tactic_deadline);
    }
    config.statement_deadline = config.check.timeout;
    // The recheck screens the proof with the same opt-in the search's guard has.
    config.check.guard.allow_native_decide = allow_native_decide(overlay, file);
    Ok(config)
}

/// Theorems searched at once by a batch (`--concurrency`), `workers` by default.
pub fn concurrency(overlay: Option<usize>, file: &SettingsFile, workers: usize) -> Result<usize> {
    match overlay.or(file.search.concurrency) {
        Some(n) => at_once(n, "--concurrency"),
        None => Ok(workers),
    }
}

/// The policy kind; the portfolio by default.
pub fn policy_kind(overlay: &SearchOverlay, file: &SettingsFile) -> PolicyKind {
    overlay
        .policy
        .or(file.search.policy)
        .unwrap_or(PolicyKind::Portfolio)
}

/// Whether candidates may use `native_decide`.
pub fn allow_native_decide(overlay: &SearchOverlay, file: &SettingsFile) -> bool {
    overlay.allow_native_decide || file.search.allow_native_decide.unwrap_or(false)
}

/// The policy and everything that changes its proposals. Model flags are checked even when no
/// model is asked for, so a slip is seen at once.
pub fn policy_spec(overlay: &SearchOverlay, file: &SettingsFile) -> Result<PolicySpec> {
    let kind = policy_kind(overlay, file);
    let url = overlay.llm_url.clone().or_else(|| file.llm.url.clone());
    let checked = llm_config(overlay, file, url.clone().unwrap_or_default())?;
    let llm = match kind {
        PolicyKind::Portfolio | PolicyKind::Learned => None,
        PolicyKind::Openai | PolicyKind::Combined => {
            if url.is_none() {
                invalid!(
                    "--policy openai and --policy combined need --llm-url (or [llm] url in \
                     prover.toml)"
                );
            }
            Some(checked)
        }
    };
    let allow_native_decide = allow_native_decide(overlay, file);
    Ok(PolicySpec {
        kind,
        portfolio: PortfolioConfig {
            allow_native_decide,
            ..PortfolioConfig::default()
        },
        llm,
        fallback: overlay.llm_fallback || file.llm.fallback.unwrap_or(false),
        allow_native_decide,
        learned: learned_spec(overlay, file, kind)?,
    })
}

/// The learned policy's starting model: the file `--learned-model` names (refused, naming it,
/// when it cannot be read), or an empty one.
fn learned_spec(
    overlay: &SearchOverlay,
    file: &SettingsFile,
    kind: PolicyKind,
) -> Result<Option<LearnedSpec>> {
    let path = overlay
        .learned_model
        .clone()
        .or_else(|| file.search.learned_model.clone());
    if kind != PolicyKind::Learned {
        if path.is_some() || overlay.learn_online {
            invalid!("--learned-model and --learn-online need --policy learned");
        }
        return Ok(None);
    }
    let model = match &path {
        Some(path) => {
            LearnedModel::load(path).map_err(|e| SettingsError::Invalid(e.to_string()))?
        }
        None => LearnedModel::new(),
    };
    let mut spec = LearnedSpec::of(model);
    if overlay.learn_online {
        // A run that learns as it goes meets a different model at each theorem: its recorded
        // failures hold for this run only.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        spec.online = Some(format!("{}-{now}", std::process::id()));
    }
    Ok(Some(spec))
}

/// How long a batch waits for a model server that is down before it stops (`--llm-outage-limit`).
pub fn outage_limit(overlay: &SearchOverlay, file: &SettingsFile) -> Result<Duration> {
    seconds(
        overlay
            .llm_outage_limit
            .or(file.llm.outage_limit)
            .unwrap_or(600.0),
        "--llm-outage-limit",
    )
}

/// The model client's settings from the overlay and `[llm]`, every value checked; the API key
/// from the environment.
fn llm_config(overlay: &SearchOverlay, file: &SettingsFile, base_url: String) -> Result<LlmConfig> {
    let s = &file.llm;
    let mut config = LlmConfig {
        base_url,
        ..LlmConfig::default()
    };
    if let Some(model) = overlay.llm_model.clone().or_else(|| s.model.clone()) {
        config.model = model;
    }
    if let Some(template) = overlay
        .prompt_template
        .clone()
        .or_else(|| s.prompt_template.clone())
    {
        config.prompt_template = crate::llm::resolve_template(&template);
    }
    if overlay.llm_chat || s.chat.unwrap_or(false) {
        config.api = Api::Chat;
    }
    if let Some(n) = overlay.samples.or(s.samples) {
        config.samples = at_least_one(n, "--samples")?;
        if n > 1024 {
            invalid!("--samples must be at most 1024, got {n}");
        }
    }
    config.stop = crate::llm::default_stop(&config.prompt_template);
    if let Some(stop) = overlay.stop.clone().or_else(|| s.stop.clone()) {
        if stop.len() > 4 {
            // The OpenAI API takes at most four (vLLM more; llama-cpp-python any number).
            invalid!("--stop may be given at most 4 times, got {}", stop.len());
        }
        config.stop = stop.into_iter().filter(|s| !s.is_empty()).collect();
    }
    if let Some(n) = overlay.max_tokens.or(s.max_tokens) {
        if !(1..=65_536).contains(&n) {
            invalid!("--max-tokens must be from 1 to 65536, got {n}");
        }
        config.max_tokens = n;
    }
    if let Some(mode) = overlay.llm_samples_mode.or(s.samples_mode) {
        config.samples_mode = mode;
    }
    if overlay.no_logprobs || s.logprobs == Some(false) {
        config.logprobs = false;
    }
    if let Some(t) = overlay.temperature.or(s.temperature) {
        if !(t.is_finite() && (0.0..=10.0).contains(&t)) {
            invalid!("--temperature must be a number from 0 to 10, got {t}");
        }
        config.temperature = t;
    }
    if let Some(n) = overlay.llm_retries.or(s.retries) {
        config.retries = n;
    }
    if let Some(secs) = overlay.llm_timeout.or(s.timeout) {
        config.request_timeout = seconds(secs, "--llm-timeout")?;
    }
    if let Some(n) = overlay.llm_breaker.or(s.breaker) {
        if n == 0 {
            invalid!("--llm-breaker must be at least 1");
        }
        config.breaker_failures = n;
    }
    if let Some(m) = overlay.llm_concurrency.or(s.concurrency) {
        config.max_concurrency = at_once(m, "--llm-concurrency")?;
    }
    config.seed = overlay.seed;
    let key_var = s.api_key_env.as_deref().unwrap_or("OPENAI_API_KEY");
    config.api_key = std::env::var(key_var).ok().filter(|k| !k.is_empty());
    Ok(config)
}

/// `prover check`'s rules from the overlay and `[check]`; `reference_checked` is the caller's.
pub fn check_config(overlay: &CheckOverlay, file: &SettingsFile) -> Result<CheckConfig> {
    let s = &file.check;
    let mut config = CheckConfig {
        timeout: seconds(overlay.timeout.or(s.timeout).unwrap_or(300.0), "--timeout")?,
        retries: overlay.retries.or(s.retries).unwrap_or(1),
        trust_header: overlay.trust_header || s.trust_header.unwrap_or(false),
        external_checker: overlay
            .external_checker
            .clone()
            .or_else(|| s.external_checker.clone()),
        ..CheckConfig::default()
    };
    config.guard.allow_native_decide =
        overlay.allow_native_decide || s.allow_native_decide.unwrap_or(false);
    Ok(config)
}

/// The proof-state cache directory, or `None` when the cache is off: the overlay, `[cache]`,
/// then `$XDG_CACHE_HOME/prover`, then `~/.cache/prover`.
pub fn cache_dir(overlay: &CacheOverlay, file: &SettingsFile) -> Result<Option<PathBuf>> {
    if overlay.no_cache || !file.cache.enabled.unwrap_or(true) {
        return Ok(None);
    }
    default_cache_dir(overlay, file).map(Some)
}

/// Which recorded verdicts answer a theorem without a search: the overlay, `[cache]`, then
/// only those found for the same question.
pub fn reuse_verdicts(overlay: &CacheOverlay, file: &SettingsFile) -> VerdictReuse {
    overlay
        .reuse_verdicts
        .or(file.cache.reuse_verdicts)
        .unwrap_or_default()
}

/// The cache directory, whether or not the cache is on (for `prover cache path|stats|clear`).
pub fn default_cache_dir(overlay: &CacheOverlay, file: &SettingsFile) -> Result<PathBuf> {
    if let Some(dir) = overlay.cache.clone().or_else(|| file.cache.dir.clone()) {
        return Ok(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("prover"));
    }
    match std::env::var_os("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache/prover")),
        None => invalid!(
            "cannot place the cache: neither XDG_CACHE_HOME nor HOME is set; pass --cache DIR"
        ),
    }
}

/// Everything a [`Session`](crate::session::Session) opens with.
pub fn session_config(overlay: &Overlay, file: &SettingsFile) -> Result<SessionConfig> {
    let mut prove = prove_config(&overlay.search, file)?;
    prove.reuse_verdicts = reuse_verdicts(&overlay.cache, file);
    Ok(SessionConfig {
        pool: pool_config(&overlay.repl, file)?,
        policy: policy_spec(&overlay.search, file)?,
        prove,
        outage_limit: outage_limit(&overlay.search, file)?,
        cache_dir: cache_dir(&overlay.cache, file)?,
    })
}

/// The log filter: `PROVER_LOG` (an `EnvFilter` directive), else `warn`.
pub fn log_filter() -> String {
    std::env::var("PROVER_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "warn".to_owned())
}

/// Whether log lines may be coloured: never with `NO_COLOR` (no-color.org); the caller also
/// asks whether stderr is a terminal.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_settings_example_parses() {
        let readme = include_str!("../../README.md");
        let section = readme
            .find("## Settings")
            .expect("README has a Settings section");
        let start = section
            + readme[section..]
                .find("```toml\n")
                .expect("the Settings section has a toml block")
            + 8;
        let end = start + readme[start..].find("```").unwrap();
        let settings = SettingsFile::parse(&readme[start..end]).unwrap();
        assert_eq!(settings.search.width, Some(8));
        assert_eq!(settings.llm.fallback, Some(true));
        assert_eq!(settings.cache.enabled, Some(true));
    }

    #[test]
    fn verdict_reuse_comes_from_the_flag_then_the_file_then_matching() {
        let file = SettingsFile::parse("[cache]\nreuse_verdicts = \"any\"\n").unwrap();
        let session = |overlay: &Overlay, file: &SettingsFile| {
            let overlay = Overlay {
                repl: ReplOverlay {
                    repl_cmd: Some("sim".into()),
                    workers: Some(1),
                    ..ReplOverlay::default()
                },
                ..overlay.clone()
            };
            session_config(&overlay, file).unwrap().prove.reuse_verdicts
        };
        assert_eq!(session(&Overlay::default(), &file), VerdictReuse::Any);
        let never = Overlay {
            cache: CacheOverlay {
                reuse_verdicts: Some(VerdictReuse::Never),
                ..CacheOverlay::default()
            },
            ..Overlay::default()
        };
        assert_eq!(session(&never, &file), VerdictReuse::Never);
        assert_eq!(
            session(&Overlay::default(), &SettingsFile::default()),
            VerdictReuse::Matching
        );
        let error = SettingsFile::parse("[cache]\nreuse_verdicts = \"some\"\n").unwrap_err();
        assert!(error.to_string().contains("matching"), "{error}");
    }

    #[test]
    fn unknown_settings_are_refused_by_name() {
        let err = SettingsFile::parse("[search]\nwidht = 3\n").unwrap_err();
        assert!(err.to_string().contains("widht"), "{err}");
    }

    #[test]
    fn the_overlay_wins_over_the_file() {
        let file = SettingsFile::parse("[search]\nwidth = 3\nalpha = 1.0\n").unwrap();
        let overlay = SearchOverlay {
            width: Some(5),
            ..SearchOverlay::default()
        };
        let config = prove_config(&overlay, &file).unwrap();
        assert_eq!(config.search.expansion_width, 5);
        assert_eq!(config.search.depth_exponent, 1.0);
        let none = prove_config(&SearchOverlay::default(), &SettingsFile::default()).unwrap();
        assert_eq!(none.search.expansion_width, PORTFOLIO_WIDTH);
    }

    #[test]
    fn an_editor_fills_the_overlay_from_json_options() {
        let options = serde_json::json!({
            "repl": {"workers": 1, "repl_cmd": "sim"},
            "search": {"policy": "combined", "llm_url": "http://127.0.0.1:8000/v1", "width": 3},
            "cache": {"no_cache": true},
        });
        let overlay: Overlay = serde_json::from_value(options).unwrap();
        assert_eq!(overlay.repl.workers, Some(1));
        assert_eq!(overlay.search.policy, Some(PolicyKind::Combined));
        assert!(overlay.cache.no_cache);
        let config = session_config(&overlay, &SettingsFile::default()).unwrap();
        assert_eq!(config.prove.search.expansion_width, 3);
        assert!(config.cache_dir.is_none());
        assert_eq!(config.prove.reuse_verdicts, VerdictReuse::Matching);
        let typo = serde_json::json!({"search": {"widht": 3}});
        let error = serde_json::from_value::<Overlay>(typo)
            .unwrap_err()
            .to_string();
        assert!(error.contains("widht"), "{error}");
    }

    #[test]
    fn generation_settings_default_by_template_and_are_checked() {
        let file = SettingsFile::default();
        let config = llm_config(&SearchOverlay::default(), &file, String::new()).unwrap();
        assert_eq!(config.stop, ["<|endoftext|>", ":::"], "BFS-Prover's");
        assert_eq!(config.max_tokens, crate::llm::DEFAULT_MAX_TOKENS);
        assert!(config.logprobs);
        let chat = SearchOverlay {
            prompt_template: Some("chat-tactic".into()),
            ..SearchOverlay::default()
        };
        assert!(
            llm_config(&chat, &file, String::new())
                .unwrap()
                .stop
                .is_empty()
        );
        let file = SettingsFile::parse(
            "[llm]\nmax_tokens = 64\nstop = [\"\\n\"]\nsamples_mode = \"requests\"\nlogprobs = false\n",
        )
        .unwrap();
        let config = llm_config(&SearchOverlay::default(), &file, String::new()).unwrap();
        assert_eq!(
            (
                config.max_tokens,
                config.stop.clone(),
                config.samples_mode,
                config.logprobs
            ),
            (64, vec!["\n".to_owned()], SamplesMode::Requests, false)
        );
        let none = SearchOverlay {
            stop: Some(vec![String::new()]),
            ..SearchOverlay::default()
        };
        assert!(
            llm_config(&none, &file, String::new())
                .unwrap()
                .stop
                .is_empty()
        );
        for (overlay, flag) in [
            (
                SearchOverlay {
                    max_tokens: Some(0),
                    ..SearchOverlay::default()
                },
                "--max-tokens",
            ),
            (
                SearchOverlay {
                    stop: Some(vec!["a".into(); 5]),
                    ..SearchOverlay::default()
                },
                "--stop",
            ),
        ] {
            let error = llm_config(&overlay, &file, String::new()).unwrap_err();
            assert!(error.to_string().contains(flag), "{error}");
        }
        let error = SettingsFile::parse("[llm]\nsamples_mode = \"some\"\n").unwrap_err();
        assert!(error.to_string().contains("samples_mode"), "{error}");
    }

    #[test]
    fn a_bad_value_is_refused_naming_its_flag() {
        let file = SettingsFile::default();
        let zero = SearchOverlay {
            width: Some(0),
            ..SearchOverlay::default()
        };
        let error = prove_config(&zero, &file).unwrap_err().to_string();
        assert!(error.contains("--width"), "{error}");
        let no_url = SearchOverlay {
            policy: Some(PolicyKind::Openai),
            ..SearchOverlay::default()
        };
        let error = policy_spec(&no_url, &file).unwrap_err().to_string();
        assert!(error.contains("--llm-url"), "{error}");
        let hot = SearchOverlay {
            temperature: Some(f64::NAN),
            ..SearchOverlay::default()
        };
        assert!(
            policy_spec(&hot, &file).is_err(),
            "checked without a model too"
        );
    }
}
