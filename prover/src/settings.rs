//! Settings: the `prover.toml` schema, overlays from a front end, and the one merge into the plain config structs the library runs on.
//!
//! A front end (the CLI's flags, an editor's `initializationOptions`) fills an [`Overlay`]
//! with what its user said; [`SettingsFile`] is what `prover.toml` says; the functions here
//! merge the two with one precedence (overlay, then file, then default) and check every value,
//! so that a slip is refused with the flag's name before anything starts.
//!
//! **Invariant:** this module is the only reader of `prover.toml` and of the process
//! environment (`OPENAI_API_KEY` or the variable `[llm] api_key_env` names, `XDG_CACHE_HOME`,
//! `HOME`, the current directory, `PROVER_LOG`, `NO_COLOR`, and for `--shard auto` Slurm's
//! `SLURM_ARRAY_TASK_ID`/`SLURM_ARRAY_TASK_COUNT` and Kubernetes' `JOB_COMPLETION_INDEX`); it
//! names no clap or LSP type.
//! Error messages name the CLI flag (`--width`), which is also the overlay's field name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lean_bridge::pool::PoolConfig;
use lean_bridge::process::ReplConfig;
use serde::Deserialize;

use crate::check::CheckConfig;
use crate::engine::{ProveConfig, VerdictReuse};
use crate::llm::{Api, LlmConfig};
use crate::policy::learned::LearnedModel;
use crate::policy::{LearnedSpec, PolicySpec};

/// The values of `--policy` and `--llm-samples-mode`, named here for front ends, which set
/// them through their overlays.
pub use crate::llm::SamplesMode;
pub use crate::policy::PolicyKind;
use crate::portfolio::PortfolioConfig;
use crate::session::{CacheFallback, SessionConfig};
use ::datasets::shard::Shard;

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

/// The most states a search hints to its policy ahead of need (`--policy-lookahead`): each hint
/// may start a model request that is never used.
pub const MAX_POLICY_LOOKAHEAD: usize = 64;

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
    /// `[planner]`.
    #[serde(default)]
    pub planner: PlannerFileSettings,
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
    /// As `--cache-shared-fallback`: `"error"` or `"memory"`.
    pub shared_fallback: Option<CacheFallback>,
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
    /// As `--search-parallelism`.
    pub parallelism: Option<usize>,
    /// As `--policy-lookahead`.
    pub policy_lookahead: Option<usize>,
    /// `false` as `--no-speculation`.
    pub speculation: Option<bool>,
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
    /// As `--llm-url`: one URL, or a list of servers of the same model to spread requests over.
    pub url: Option<LlmUrls>,
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

/// `[llm] url`: one server, or several of the same model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum LlmUrls {
    /// `url = "http://…/v1"`.
    One(String),
    /// `url = ["http://…:8000/v1", "http://…:8001/v1"]`.
    Several(Vec<String>),
}

impl LlmUrls {
    /// Every URL, in order.
    pub fn all(&self) -> Vec<String> {
        match self {
            LlmUrls::One(url) => vec![url.clone()],
            LlmUrls::Several(urls) => urls.clone(),
        }
    }
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
    /// As `--repl-spares`.
    pub spares: Option<usize>,
    /// As `--prewarm` of `prover lsp` and `prover mcp`: import before the first job or call.
    pub prewarm: Option<bool>,
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
/// An editor's settings are not an overlay of their own: they are `prover.toml` keys
/// ([`EditorSettings`]), laid over the command line's overlay and the file by
/// [`EditorSettings::over`].
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// REPL processes.
    pub repl: ReplOverlay,
    /// Search and policy.
    pub search: SearchOverlay,
    /// The proof-state cache.
    pub cache: CacheOverlay,
    /// `--shard I/N` (or `auto`, resolved by [`shard`]): the run's share of its dataset, which
    /// also gets a cache directory of its own.
    pub shard: Option<Shard>,
}

/// How to start and supervise REPL processes (`--repl-cmd`, `--workers`, …).
#[derive(Debug, Clone, Default)]
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
    /// `--repl-spares`: warm spare REPLs beside the workers.
    pub repl_spares: Option<usize>,
    /// `--prewarm` of `prover lsp` and `prover mcp` (`Some(true)` when given).
    pub prewarm: Option<bool>,
    /// `--force`: start as many REPLs as asked even when they do not fit in memory.
    pub force: bool,
}

/// Search budgets and the tactic policy (`--width`, `--policy`, `--llm-url`, …).
#[derive(Debug, Clone, Default)]
pub struct SearchOverlay {
    /// `--policy`.
    pub policy: Option<PolicyKind>,
    /// `--llm-url` (the first one given).
    pub llm_url: Option<String>,
    /// `--llm-url` given again: further servers of the same model.
    pub llm_more_urls: Vec<String>,
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
    /// `--search-parallelism`.
    pub search_parallelism: Option<usize>,
    /// `--policy-lookahead`.
    pub policy_lookahead: Option<usize>,
    /// `--no-speculation`.
    pub no_speculation: bool,
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
#[derive(Debug, Clone, Default)]
pub struct CacheOverlay {
    /// `--cache`.
    pub cache: Option<PathBuf>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--reuse-verdicts`.
    pub reuse_verdicts: Option<VerdictReuse>,
    /// `--cache-shared-fallback`.
    pub shared_fallback: Option<CacheFallback>,
}

/// `prover check`'s rules (`--timeout`, `--trust-header`, …).
#[derive(Debug, Clone, Default)]
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
// Editor settings

/// An editor's settings (`initializationOptions`, `workspace/didChangeConfiguration`): the
/// `prover.toml` keys, as JSON (`{"repl": {"command": "…"}, "search": {"policy": "learned"}}`),
/// read leniently: a key `prover.toml` does not have is dropped and named in `unknown`
/// (`search.widht`), so the editor can warn about it instead of refusing to start.
#[derive(Debug, Clone, Default)]
pub struct EditorSettings {
    /// The keys that were understood.
    pub settings: SettingsFile,
    /// The keys that were not, as `section.key` (or `section` for an unknown section).
    pub unknown: Vec<String>,
}

impl EditorSettings {
    /// Reads an editor's settings object; `null` is no settings. A known key with a value of
    /// the wrong type is refused, naming the key.
    pub fn from_json(value: &serde_json::Value) -> Result<EditorSettings> {
        use serde_json::Value;
        let sections = match value {
            Value::Null => return Ok(EditorSettings::default()),
            Value::Object(map) => map,
            other => {
                invalid!("editor settings must be a JSON object of prover.toml keys, got {other}")
            }
        };
        let mut unknown = Vec::new();
        let mut settings = SettingsFile::default();
        for (name, section) in sections {
            match name.as_str() {
                "repl" => settings.repl = editor_section(name, section, &mut unknown)?,
                "check" => settings.check = editor_section(name, section, &mut unknown)?,
                "search" => settings.search = editor_section(name, section, &mut unknown)?,
                "llm" => settings.llm = editor_section(name, section, &mut unknown)?,
                "cache" => settings.cache = editor_section(name, section, &mut unknown)?,
                "planner" => settings.planner = editor_section(name, section, &mut unknown)?,
                _ => unknown.push(name.clone()),
            }
        }
        Ok(EditorSettings { settings, unknown })
    }

    /// The settings a session runs on when the editor said this on top of `overlay` (the
    /// command line) and `file` (`prover.toml`): a key the editor sets wins over the flag and
    /// the file; a key it does not set leaves both as they were (so `{}` changes nothing).
    pub fn over(&self, overlay: &Overlay, file: &SettingsFile) -> (Overlay, SettingsFile) {
        let editor = &self.settings;
        let mut overlay = overlay.clone();
        // A key the editor sets clears its flag, so the merge falls through to the file layer,
        // which now holds the editor's value.
        let repl = &editor.repl;
        clear(&mut overlay.repl.repl_cmd, &repl.command);
        clear(&mut overlay.repl.project, &repl.project);
        clear(&mut overlay.repl.workers, &repl.workers);
        clear(&mut overlay.repl.repl_memory_limit, &repl.memory_limit_gib);
        clear(&mut overlay.repl.repl_max_rss, &repl.max_rss_gib);
        clear(&mut overlay.repl.repl_max_requests, &repl.max_requests);
        clear(
            &mut overlay.repl.repl_memory_estimate,
            &repl.memory_estimate_gib,
        );
        clear(&mut overlay.repl.repl_spares, &repl.spares);
        clear(&mut overlay.repl.prewarm, &repl.prewarm);
        let search = &editor.search;
        let o = &mut overlay.search;
        clear(&mut o.policy, &search.policy);
        clear(&mut o.width, &search.width);
        clear(&mut o.alpha, &search.alpha);
        clear(&mut o.max_expansions, &search.max_expansions);
        clear(&mut o.time_limit, &search.time_limit);
        clear(&mut o.tactic_timeout, &search.tactic_timeout);
        clear(&mut o.search_parallelism, &search.parallelism);
        clear(&mut o.policy_lookahead, &search.policy_lookahead);
        clear_flag(&mut o.no_speculation, &search.speculation);
        clear(&mut o.learned_model, &search.learned_model);
        clear_flag(&mut o.allow_native_decide, &search.allow_native_decide);
        let llm = &editor.llm;
        clear(&mut o.llm_url, &llm.url);
        if llm.url.is_some() {
            o.llm_more_urls.clear();
        }
        clear(&mut o.llm_model, &llm.model);
        clear(&mut o.prompt_template, &llm.prompt_template);
        clear_flag(&mut o.llm_chat, &llm.chat);
        clear(&mut o.samples, &llm.samples);
        clear(&mut o.llm_samples_mode, &llm.samples_mode);
        clear_flag(&mut o.no_logprobs, &llm.logprobs);
        clear(&mut o.max_tokens, &llm.max_tokens);
        clear(&mut o.stop, &llm.stop);
        clear(&mut o.temperature, &llm.temperature);
        clear(&mut o.llm_concurrency, &llm.concurrency);
        clear(&mut o.llm_retries, &llm.retries);
        clear(&mut o.llm_timeout, &llm.timeout);
        clear(&mut o.llm_breaker, &llm.breaker);
        clear(&mut o.llm_outage_limit, &llm.outage_limit);
        clear_flag(&mut o.llm_fallback, &llm.fallback);
        clear(&mut overlay.cache.cache, &editor.cache.dir);
        clear_flag(&mut overlay.cache.no_cache, &editor.cache.enabled);
        clear(
            &mut overlay.cache.reuse_verdicts,
            &editor.cache.reuse_verdicts,
        );
        clear(
            &mut overlay.cache.shared_fallback,
            &editor.cache.shared_fallback,
        );
        (overlay, file.overlaid_by(editor))
    }
}

/// Unsets a flag's value where the editor set the key.
fn clear<T, U>(flag: &mut Option<T>, editor: &Option<U>) {
    if editor.is_some() {
        *flag = None;
    }
}

/// Unsets a switch (`--no-cache`, `--llm-chat`) where the editor set its key either way.
fn clear_flag<U>(flag: &mut bool, editor: &Option<U>) {
    if editor.is_some() {
        *flag = false;
    }
}

/// One section of an editor's settings: its known keys, each checked on its own so that a
/// wrong value is refused naming `section.key`; unknown keys are collected.
fn editor_section<T: serde::de::DeserializeOwned + Default>(
    name: &str,
    section: &serde_json::Value,
    unknown: &mut Vec<String>,
) -> Result<T> {
    let serde_json::Value::Object(entries) = section else {
        invalid!("editor settings: `{name}` must be an object of [{name}] keys, got {section}");
    };
    let known = field_names::<T>();
    let mut kept = serde_json::Map::new();
    for (key, value) in entries {
        if !known.contains(&key.as_str()) {
            unknown.push(format!("{name}.{key}"));
            continue;
        }
        let one =
            serde_json::Value::Object(serde_json::Map::from_iter([(key.clone(), value.clone())]));
        if let Err(error) = serde_json::from_value::<T>(one) {
            invalid!("editor settings: {name}.{key}: {error}");
        }
        kept.insert(key.clone(), value.clone());
    }
    serde_json::from_value(serde_json::Value::Object(kept))
        .map_err(|error| SettingsError::Invalid(format!("editor settings: [{name}]: {error}")))
}

/// The keys a settings struct accepts: the list serde's derive hands to `deserialize_struct`
/// (the same list `deny_unknown_fields` checks), so it can never drift from the schema.
fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(Captured(Some(fields))) => fields,
        _ => &[],
    }
}

/// A deserializer that only records the field list of the struct asked of it.
struct FieldNames;

/// [`FieldNames`]' answer, carried as its error.
#[derive(Debug)]
struct Captured(Option<&'static [&'static str]>);

impl std::fmt::Display for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names only")
    }
}

impl std::error::Error for Captured {}

impl serde::de::Error for Captured {
    fn custom<M: std::fmt::Display>(_: M) -> Captured {
        Captured(None)
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames {
    type Error = Captured;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        _: V,
    ) -> std::result::Result<V::Value, Captured> {
        Err(Captured(None))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Captured> {
        Err(Captured(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

impl SettingsFile {
    /// These settings with every key `top` sets taken from `top`.
    pub fn overlaid_by(&self, top: &SettingsFile) -> SettingsFile {
        fn pick<T: Clone>(top: &Option<T>, below: &Option<T>) -> Option<T> {
            top.clone().or_else(|| below.clone())
        }
        let (b, t) = (self, top);
        let ReplSettings {
            command,
            project,
            workers,
            memory_limit_gib,
            max_rss_gib,
            max_requests,
            memory_estimate_gib,
            spares,
            prewarm,
        } = &t.repl;
        let repl = ReplSettings {
            command: pick(command, &b.repl.command),
            project: pick(project, &b.repl.project),
            workers: pick(workers, &b.repl.workers),
            memory_limit_gib: pick(memory_limit_gib, &b.repl.memory_limit_gib),
            max_rss_gib: pick(max_rss_gib, &b.repl.max_rss_gib),
            max_requests: pick(max_requests, &b.repl.max_requests),
            memory_estimate_gib: pick(memory_estimate_gib, &b.repl.memory_estimate_gib),
            spares: pick(spares, &b.repl.spares),
            prewarm: pick(prewarm, &b.repl.prewarm),
        };
        let CheckSettings {
            timeout,
            retries,
            trust_header,
            allow_native_decide,
            external_checker,
        } = &t.check;
        let check = CheckSettings {
            timeout: pick(timeout, &b.check.timeout),
            retries: pick(retries, &b.check.retries),
            trust_header: pick(trust_header, &b.check.trust_header),
            allow_native_decide: pick(allow_native_decide, &b.check.allow_native_decide),
            external_checker: pick(external_checker, &b.check.external_checker),
        };
        let SearchSettings {
            policy,
            width,
            alpha,
            max_expansions,
            time_limit,
            tactic_timeout,
            parallelism,
            policy_lookahead,
            speculation,
            concurrency,
            allow_native_decide,
            learned_model,
        } = &t.search;
        let search = SearchSettings {
            policy: pick(policy, &b.search.policy),
            width: pick(width, &b.search.width),
            alpha: pick(alpha, &b.search.alpha),
            max_expansions: pick(max_expansions, &b.search.max_expansions),
            time_limit: pick(time_limit, &b.search.time_limit),
            tactic_timeout: pick(tactic_timeout, &b.search.tactic_timeout),
            parallelism: pick(parallelism, &b.search.parallelism),
            policy_lookahead: pick(policy_lookahead, &b.search.policy_lookahead),
            speculation: pick(speculation, &b.search.speculation),
            concurrency: pick(concurrency, &b.search.concurrency),
            allow_native_decide: pick(allow_native_decide, &b.search.allow_native_decide),
            learned_model: pick(learned_model, &b.search.learned_model),
        };
        let LlmSettings {
            url,
            model,
            prompt_template,
            chat,
            samples,
            samples_mode,
            logprobs,
            max_tokens,
            stop,
            temperature,
            concurrency,
            retries,
            timeout,
            breaker,
            outage_limit,
            fallback,
            api_key_env,
        } = &t.llm;
        let l = &b.llm;
        let llm = LlmSettings {
            url: pick(url, &l.url),
            model: pick(model, &l.model),
            prompt_template: pick(prompt_template, &l.prompt_template),
            chat: pick(chat, &l.chat),
            samples: pick(samples, &l.samples),
            samples_mode: pick(samples_mode, &l.samples_mode),
            logprobs: pick(logprobs, &l.logprobs),
            max_tokens: pick(max_tokens, &l.max_tokens),
            stop: pick(stop, &l.stop),
            temperature: pick(temperature, &l.temperature),
            concurrency: pick(concurrency, &l.concurrency),
            retries: pick(retries, &l.retries),
            timeout: pick(timeout, &l.timeout),
            breaker: pick(breaker, &l.breaker),
            outage_limit: pick(outage_limit, &l.outage_limit),
            fallback: pick(fallback, &l.fallback),
            api_key_env: pick(api_key_env, &l.api_key_env),
        };
        let CacheSettings {
            dir,
            enabled,
            reuse_verdicts,
            shared_fallback,
        } = &t.cache;
        let cache = CacheSettings {
            dir: pick(dir, &b.cache.dir),
            enabled: pick(enabled, &b.cache.enabled),
            reuse_verdicts: pick(reuse_verdicts, &b.cache.reuse_verdicts),
            shared_fallback: pick(shared_fallback, &b.cache.shared_fallback),
        };
        SettingsFile {
            source: b.source.clone(),
            repl,
            check,
            search,
            llm,
            cache,
            planner: t.planner.overlaid_on(&b.planner),
        }
    }
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

/// The REPL pool: processes, their command and directory, memory limits, warm spares. Refuses
/// more REPLs (workers and spares) than the machine's memory holds unless `force`.
pub fn pool_config(overlay: &ReplOverlay, file: &SettingsFile) -> Result<PoolConfig> {
    let s = &file.repl;
    let workers = at_once(overlay.workers.or(s.workers).unwrap_or(2), "--workers")?;
    // No spares by default: each is a whole REPL (with Mathlib, gigabytes) that --workers did
    // not ask for, so a user who sized --workers to the machine gets exactly that many.
    let spares = overlay.repl_spares.or(s.spares).unwrap_or(0);
    if spares > MAX_AT_ONCE {
        invalid!("--repl-spares must be from 0 to {MAX_AT_ONCE}, got {spares}");
    }
    check_memory_for_workers(workers, spares, overlay, s)?;
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
        spares,
        ..PoolConfig::default()
    })
}

fn check_memory_for_workers(
    workers: usize,
    spares: usize,
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
    let needed = (workers + spares) as f64 * estimate;
    if needed <= total_gib {
        return Ok(());
    }
    let asked = if spares == 0 {
        format!("--workers {workers}")
    } else {
        format!("--workers {workers} with --repl-spares {spares}")
    };
    if overlay.force {
        tracing::warn!(
            "{asked} needs about {needed:.0} GiB ({estimate} GiB per REPL) and this machine has \
             {total_gib:.0} GiB; starting them anyway (--force)"
        );
        return Ok(());
    }
    invalid!(
        "{asked} needs about {needed:.0} GiB ({estimate} GiB per REPL with Mathlib, \
         --repl-memory-estimate) and this machine has {total_gib:.0} GiB: pass fewer --workers \
         or --repl-spares (at most {} REPLs in all), a smaller --repl-memory-estimate if your \
         REPLs are lighter, or --force",
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
    if let Some(p) = overlay.search_parallelism.or(s.parallelism) {
        config.search_parallelism = Some(at_least_one(p, "--search-parallelism")?);
    }
    if let Some(k) = overlay.policy_lookahead.or(s.policy_lookahead) {
        if k > MAX_POLICY_LOOKAHEAD {
            invalid!("--policy-lookahead must be at most {MAX_POLICY_LOOKAHEAD}, got {k}");
        }
        config.policy_lookahead = Some(k);
    }
    config.speculate = !overlay.no_speculation && s.speculation.unwrap_or(true);
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
    let urls: Vec<String> = match &overlay.llm_url {
        Some(first) => std::iter::once(first.clone())
            .chain(overlay.llm_more_urls.iter().cloned())
            .collect(),
        None => file.llm.url.as_ref().map(LlmUrls::all).unwrap_or_default(),
    };
    let url = urls.first().cloned();
    let mut checked = llm_config(overlay, file, url.clone().unwrap_or_default())?;
    checked.replicas = urls.iter().skip(1).cloned().collect();
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
        cache_dir: cache_dir(&overlay.cache, file)?.map(|dir| shard_cache_dir(&dir, overlay.shard)),
        cache_fallback: overlay
            .cache
            .shared_fallback
            .or(file.cache.shared_fallback)
            .unwrap_or_default(),
    })
}

/// Whether `prover lsp` and `prover mcp` start their REPLs importing before the first job or
/// call: `--prewarm`, else `[repl] prewarm`, else not (each such process holds its memory, a
/// few GB with Mathlib, for the server's life).
pub fn prewarm(overlay: &ReplOverlay, file: &SettingsFile) -> bool {
    overlay.prewarm.or(file.repl.prewarm).unwrap_or(false)
}

/// The cache directory of a shard: `DIR/shard-I-of-N` under the cache root `DIR`, so shards on
/// one shared file system never hold one directory between them (`prover cache merge` joins
/// them afterwards); the root itself for the whole dataset.
pub fn shard_cache_dir(root: &Path, shard: Option<Shard>) -> PathBuf {
    match shard {
        Some(shard) if !shard.is_all() => root.join(shard.dir_name()),
        _ => root.to_owned(),
    }
}

/// `--shard`: `I/N` as given, or `auto` (`auto/N`) from the job runner's environment: the
/// index is Slurm's `SLURM_ARRAY_TASK_ID` (an array `--array=0-7`, ids from 0 as shard
/// indices are) or Kubernetes' `JOB_COMPLETION_INDEX` of an Indexed Job; the count is `N`
/// when given, else Slurm's `SLURM_ARRAY_TASK_COUNT` (so resubmitting some shards as a smaller
/// array needs `auto/N`); an Indexed Job's `completions` is in no variable, so it needs
/// `auto/N`. `None` without the flag.
pub fn shard(flag: Option<&str>) -> Result<Option<Shard>> {
    shard_from(flag, &|name| std::env::var(name).ok())
}

/// [`shard`] over any environment (tests pass a map).
pub fn shard_from(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Shard>> {
    let Some(flag) = flag.map(str::trim) else {
        return Ok(None);
    };
    let refuse =
        |message: String| Err(SettingsError::Invalid(format!("--shard {flag}: {message}")));
    let given_count = match flag.strip_prefix("auto") {
        None => {
            return flag
                .parse::<Shard>()
                .map(Some)
                .map_err(|e| SettingsError::Invalid(format!("--shard: {e}")));
        }
        Some("") => None,
        Some(rest) => match rest.strip_prefix('/').map(|n| n.trim().parse::<u32>()) {
            Some(Ok(count)) if count > 0 => Some(count),
            _ => return refuse("expected `auto` or `auto/N` with N at least 1".to_owned()),
        },
    };
    let number = |name: &str| -> Result<Option<u32>> {
        match env(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(value) => value.trim().parse::<u32>().map(Some).map_err(|_| {
                SettingsError::Invalid(format!(
                    "--shard {flag}: {name}={value:?} is not a whole number"
                ))
            }),
        }
    };
    let (index, count, source) = if let Some(index) = number("SLURM_ARRAY_TASK_ID")? {
        // The given count wins over the array's size: a resubmission of the missing shards
        // (`--array=3,5`) is an array of two tasks, still of shards of N.
        let count = match (given_count, number("SLURM_ARRAY_TASK_COUNT")?) {
            (Some(count), _) | (None, Some(count)) => count,
            (None, None) => {
                return refuse("SLURM_ARRAY_TASK_COUNT is not set; pass --shard auto/N".to_owned());
            }
        };
        (index, count, "SLURM_ARRAY_TASK_ID")
    } else if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let Some(count) = given_count else {
            return refuse(
                "JOB_COMPLETION_INDEX is set but the Job's completions are not: pass --shard \
                 auto/N with N = the Job's `completions`"
                    .to_owned(),
            );
        };
        (index, count, "JOB_COMPLETION_INDEX")
    } else {
        return refuse(
            "neither SLURM_ARRAY_TASK_ID (a Slurm array task) nor JOB_COMPLETION_INDEX (a \
             Kubernetes Indexed Job) is set; pass --shard I/N"
                .to_owned(),
        );
    };
    Shard::new(index, count)
        .map(Some)
        .map_err(|e| SettingsError::Invalid(format!("--shard {flag} (from {source}): {e}")))
}

/// The log filter: `PROVER_LOG` (an `EnvFilter` directive), else `warn`.
pub fn log_filter() -> String {
    std::env::var("PROVER_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "warn".to_owned())
}

/// A secret a front end was told to read from the environment variable `name` (the MCP
/// server's bearer token, `--token-env`): `None` when unset or empty.
pub fn secret_from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether log lines may be coloured: never with `NO_COLOR` (no-color.org); the caller also
/// asks whether stderr is a terminal.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

// ---------------------------------------------------------------------------------------------
// The planner

/// `[planner]` in `prover.toml` (or an editor's `planner` settings): the skeleton planner of
/// `prove`, `eval`, `iterate` and the editor server (`--planner`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannerFileSettings {
    /// As `--planner`: `"off"` or `"openai"`.
    pub kind: Option<PlannerKind>,
    /// As `--planner-url` (default: `[llm] url`, else the tactic model's default).
    pub url: Option<String>,
    /// As `--planner-model` (default: `[llm] model`).
    pub model: Option<String>,
    /// Name of the environment variable holding the planner's API key (default
    /// `PLANNER_API_KEY`, then the tactic model's variable).
    pub api_key_env: Option<String>,
    /// As `--planner-timeout`, seconds per request.
    pub timeout: Option<f64>,
    /// Further attempts after a failed request.
    pub retries: Option<u32>,
    /// As `--planner-samples`.
    pub samples: Option<usize>,
    /// As `--planner-direct-share`, from 0 to 1.
    pub direct_share: Option<f64>,
    /// As `--replans`.
    pub replans: Option<u32>,
    /// Token cap per skeleton.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// As `--planner-prompt`: a file whose text replaces the default system prompt.
    pub system_prompt_file: Option<PathBuf>,
}

impl PlannerFileSettings {
    /// These settings, with every key `self` leaves unset taken from `below`.
    fn overlaid_on(&self, below: &PlannerFileSettings) -> PlannerFileSettings {
        fn pick<T: Clone>(top: &Option<T>, below: &Option<T>) -> Option<T> {
            top.clone().or_else(|| below.clone())
        }
        let PlannerFileSettings {
            kind,
            url,
            model,
            api_key_env,
            timeout,
            retries,
            samples,
            direct_share,
            replans,
            max_tokens,
            temperature,
            system_prompt_file,
        } = self;
        PlannerFileSettings {
            kind: pick(kind, &below.kind),
            url: pick(url, &below.url),
            model: pick(model, &below.model),
            api_key_env: pick(api_key_env, &below.api_key_env),
            timeout: pick(timeout, &below.timeout),
            retries: pick(retries, &below.retries),
            samples: pick(samples, &below.samples),
            direct_share: pick(direct_share, &below.direct_share),
            replans: pick(replans, &below.replans),
            max_tokens: pick(max_tokens, &below.max_tokens),
            temperature: pick(temperature, &below.temperature),
            system_prompt_file: pick(system_prompt_file, &below.system_prompt_file),
        }
    }
}

/// Whether `prove` and `eval` plan (`--planner`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlannerKind {
    /// One flat search per theorem, as without the planner.
    #[default]
    Off,
    /// Skeletons from an OpenAI-compatible chat endpoint.
    Openai,
}

impl PlannerKind {
    /// The name users write.
    pub fn name(self) -> &'static str {
        match self {
            PlannerKind::Off => "off",
            PlannerKind::Openai => "openai",
        }
    }
}

impl std::str::FromStr for PlannerKind {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "off" => Ok(PlannerKind::Off),
            "openai" => Ok(PlannerKind::Openai),
            other => Err(format!(
                "unknown --planner `{other}`; expected off or openai"
            )),
        }
    }
}

/// The planner flags (`--planner`, `--planner-url`, …), each named after its flag.
#[derive(Debug, Clone, Default)]
pub struct PlannerOverlay {
    /// `--planner`.
    pub planner: Option<PlannerKind>,
    /// `--planner-url`.
    pub planner_url: Option<String>,
    /// `--planner-model`.
    pub planner_model: Option<String>,
    /// `--planner-samples`.
    pub planner_samples: Option<usize>,
    /// `--planner-direct-share`.
    pub planner_direct_share: Option<f64>,
    /// `--replans`.
    pub replans: Option<u32>,
    /// `--planner-timeout`, seconds.
    pub planner_timeout: Option<f64>,
    /// `--planner-prompt`.
    pub planner_prompt: Option<PathBuf>,
}

/// The planner's settings from the flags, `[planner]` (and `[llm]` for the endpoint's
/// defaults), every value checked; `None` when the planner is off. Reads the system prompt
/// file and the API key.
pub fn planner_settings(
    overlay: &PlannerOverlay,
    file: &SettingsFile,
) -> Result<Option<crate::pipeline::plan::PlannerSettings>> {
    let s = &file.planner;
    if overlay.planner.or(s.kind).unwrap_or_default() == PlannerKind::Off {
        return Ok(None);
    }
    let defaults = LlmConfig::default();
    let mut llm = LlmConfig {
        base_url: overlay
            .planner_url
            .clone()
            .or_else(|| s.url.clone())
            // With several tactic servers, the planner asks the first.
            .or_else(|| {
                file.llm
                    .url
                    .as_ref()
                    .and_then(|urls| urls.all().into_iter().next())
            })
            .unwrap_or(defaults.base_url),
        model: overlay
            .planner_model
            .clone()
            .or_else(|| s.model.clone())
            .or_else(|| file.llm.model.clone())
            .unwrap_or(defaults.model),
        api: Api::Chat,
        prompt_template: crate::llm::STATE_PLACEHOLDER.to_owned(),
        samples_mode: SamplesMode::Auto,
        temperature: 0.7,
        max_tokens: 2048,
        stop: Vec::new(),
        logprobs: false,
        request_timeout: Duration::from_secs(300),
        max_concurrency: 4,
        ..defaults
    };
    let samples = overlay.planner_samples.or(s.samples).unwrap_or(4);
    let samples = at_least_one(samples, "--planner-samples")?;
    if samples > 64 {
        invalid!("--planner-samples must be at most 64, got {samples}");
    }
    llm.samples = samples;
    let direct_share = overlay
        .planner_direct_share
        .or(s.direct_share)
        .unwrap_or(0.15);
    if !(direct_share.is_finite() && (0.0..1.0).contains(&direct_share)) {
        invalid!(
            "--planner-direct-share must be a fraction from 0 to below 1 (0.15 is 15 %), got {direct_share}"
        );
    }
    let replans = overlay.replans.or(s.replans).unwrap_or(3);
    if replans > 100 {
        invalid!("--replans must be at most 100, got {replans}");
    }
    if let Some(secs) = overlay.planner_timeout.or(s.timeout) {
        llm.request_timeout = seconds(secs, "--planner-timeout")?;
    }
    if let Some(n) = s.retries {
        llm.retries = n;
    }
    if let Some(n) = s.max_tokens {
        if !(1..=65_536).contains(&n) {
            invalid!("[planner] max_tokens must be from 1 to 65536, got {n}");
        }
        llm.max_tokens = n;
    }
    if let Some(t) = s.temperature {
        if !(t.is_finite() && (0.0..=10.0).contains(&t)) {
            invalid!("[planner] temperature must be a number from 0 to 10, got {t}");
        }
        llm.temperature = t;
    }
    let key_vars = [
        s.api_key_env
            .clone()
            .unwrap_or_else(|| "PLANNER_API_KEY".to_owned()),
        file.llm
            .api_key_env
            .clone()
            .unwrap_or_else(|| "OPENAI_API_KEY".to_owned()),
    ];
    llm.api_key = key_vars
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|k| !k.is_empty()));
    let system_prompt = match overlay
        .planner_prompt
        .clone()
        .or_else(|| s.system_prompt_file.clone())
    {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => text,
            Ok(_) => invalid!("--planner-prompt {}: the file is empty", path.display()),
            Err(error) => invalid!("--planner-prompt {}: {error}", path.display()),
        },
        None => crate::pipeline::plan::DEFAULT_SYSTEM_PROMPT.to_owned(),
    };
    Ok(Some(crate::pipeline::plan::PlannerSettings {
        llm,
        system_prompt,
        plan: crate::pipeline::plan::PlanConfig {
            samples,
            direct_share,
            replans,
        },
    }))
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
    fn the_readme_settings_example_names_every_key() {
        let readme = include_str!("../../README.md");
        let section = readme.find("## Settings").unwrap();
        let start = section + readme[section..].find("```toml\n").unwrap();
        let block = &readme[start..start + readme[start..].find("\n```\n").unwrap()];
        let sections = [
            ("repl", field_names::<ReplSettings>()),
            ("check", field_names::<CheckSettings>()),
            ("search", field_names::<SearchSettings>()),
            ("llm", field_names::<LlmSettings>()),
            ("cache", field_names::<CacheSettings>()),
            ("planner", field_names::<PlannerFileSettings>()),
        ];
        assert_eq!(sections.len(), field_names::<SettingsFile>().len());
        for (name, keys) in sections {
            let header = format!("[{name}]\n");
            let at = block.find(&header).unwrap_or_else(|| panic!("no [{name}]"));
            let body = &block[at + header.len()..];
            let body = &body[..body.find("\n[").unwrap_or(body.len())];
            for key in keys {
                assert!(
                    body.lines()
                        .any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} ="))),
                    "the README's [{name}] does not show `{key}`"
                );
            }
        }
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
    fn editor_settings_are_prover_toml_keys_laid_over_the_flags_and_the_file() {
        let flags = Overlay {
            repl: ReplOverlay {
                repl_cmd: Some("sim".into()),
                workers: Some(1),
                ..ReplOverlay::default()
            },
            search: SearchOverlay {
                width: Some(5),
                ..SearchOverlay::default()
            },
            cache: CacheOverlay {
                no_cache: true,
                ..CacheOverlay::default()
            },
            shard: None,
        };
        let file = SettingsFile::parse("[search]\nalpha = 1.0\nwidth = 3\n").unwrap();
        // `{}` and `null` change nothing.
        for nothing in [serde_json::json!({}), serde_json::Value::Null] {
            let editor = EditorSettings::from_json(&nothing).unwrap();
            assert!(editor.unknown.is_empty());
            let (overlay, merged) = editor.over(&flags, &file);
            let config = session_config(&overlay, &merged).unwrap();
            assert_eq!(config.pool.repl.command, "sim", "the flag stays");
            assert_eq!(config.pool.workers, 1);
            assert_eq!(
                config.prove.search.expansion_width, 5,
                "the flag over the file"
            );
            assert_eq!(
                config.prove.search.depth_exponent, 1.0,
                "the file where no flag"
            );
            assert!(config.cache_dir.is_none());
        }
        // A key the editor sets wins over the flag and the file, switches included; the
        // unknown ones are named, not refused.
        let editor = EditorSettings::from_json(&serde_json::json!({
            "search": {"width": 2, "policy": "combined", "widht": 9},
            "llm": {"url": "http://127.0.0.1:8000/v1"},
            "cache": {"enabled": true, "dir": "/tmp/prover-editor-cache"},
            "colour": "blue",
        }))
        .unwrap();
        assert_eq!(editor.unknown, ["colour", "search.widht"]);
        let (overlay, merged) = editor.over(&flags, &file);
        let config = session_config(&overlay, &merged).unwrap();
        assert_eq!(config.prove.search.expansion_width, 2);
        assert_eq!(config.policy.kind, PolicyKind::Combined);
        assert_eq!(
            config.cache_dir.as_deref(),
            Some(Path::new("/tmp/prover-editor-cache")),
            "`enabled = true` undoes --no-cache"
        );
        assert_eq!(config.pool.repl.command, "sim");
        let off =
            EditorSettings::from_json(&serde_json::json!({"cache": {"enabled": false}})).unwrap();
        let (overlay, merged) = off.over(&Overlay::default(), &SettingsFile::default());
        assert!(cache_dir(&overlay.cache, &merged).unwrap().is_none());
        // A known key with a value of the wrong type, or a section that is no object, is
        // refused naming it.
        for (bad, named) in [
            (
                serde_json::json!({"repl": {"workers": "two"}}),
                "repl.workers",
            ),
            (serde_json::json!({"search": 3}), "`search`"),
            (serde_json::json!([1]), "JSON object"),
        ] {
            let error = EditorSettings::from_json(&bad).unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn an_editors_planner_section_is_read_and_laid_over_the_file() {
        let file = SettingsFile::parse("[planner]\nsamples = 2\nreplans = 1\n").unwrap();
        let editor = EditorSettings::from_json(&serde_json::json!({
            "planner": {"kind": "openai", "url": "http://127.0.0.1:9/v1", "samples": 3, "sampels": 1},
        }))
        .unwrap();
        assert_eq!(editor.unknown, ["planner.sampels"]);
        let (_, merged) = editor.over(&Overlay::default(), &file);
        let planner = planner_settings(&PlannerOverlay::default(), &merged)
            .unwrap()
            .expect("the editor turned the planner on");
        assert_eq!(planner.plan.samples, 3, "the editor's key over the file's");
        assert_eq!(
            planner.plan.replans, 1,
            "the file's where the editor sets none"
        );
        let wrong = EditorSettings::from_json(&serde_json::json!({"planner": {"kind": "yes"}}));
        assert!(
            wrong.unwrap_err().to_string().contains("planner.kind"),
            "a wrong value is refused naming its key"
        );
    }

    #[test]
    fn prewarm_comes_from_the_editor_then_the_flag_then_the_file_and_defaults_to_off() {
        let flag = |prewarm: Option<bool>| ReplOverlay {
            prewarm,
            ..ReplOverlay::default()
        };
        let on = SettingsFile::parse("[repl]\nprewarm = true\n").unwrap();
        assert!(!prewarm(&flag(None), &SettingsFile::default()));
        assert!(prewarm(&flag(None), &on));
        assert!(prewarm(&flag(Some(true)), &SettingsFile::default()));
        // An editor's `false` wins over the command line's `--prewarm`.
        let editor =
            EditorSettings::from_json(&serde_json::json!({"repl": {"prewarm": false}})).unwrap();
        let flags = Overlay {
            repl: flag(Some(true)),
            ..Overlay::default()
        };
        let (overlay, merged) = editor.over(&flags, &on);
        assert!(!prewarm(&overlay.repl, &merged));
        let error = SettingsFile::parse("[repl]\nprewarm = \"yes\"\n").unwrap_err();
        assert!(error.to_string().contains("prewarm"), "{error}");
    }

    #[test]
    fn spares_come_from_the_flag_then_the_file_and_default_to_none() {
        let sim = |spares: Option<usize>| ReplOverlay {
            repl_cmd: Some("sim".into()),
            repl_memory_estimate: Some(0.0),
            repl_spares: spares,
            ..ReplOverlay::default()
        };
        let none = pool_config(&sim(None), &SettingsFile::default()).unwrap();
        assert_eq!(none.spares, 0);
        let file = SettingsFile::parse("[repl]\nspares = 2\n").unwrap();
        assert_eq!(pool_config(&sim(None), &file).unwrap().spares, 2);
        assert_eq!(pool_config(&sim(Some(1)), &file).unwrap().spares, 1);
        assert_eq!(pool_config(&sim(Some(0)), &file).unwrap().spares, 0);
        let error = pool_config(&sim(Some(MAX_AT_ONCE + 1)), &file).unwrap_err();
        assert!(error.to_string().contains("--repl-spares"), "{error}");
    }

    #[test]
    fn spares_count_against_memory_like_workers() {
        let Ok(total) = lean_bridge::memory::total_memory_bytes() else {
            return;
        };
        // Each REPL is estimated at a third of the machine: two workers fit, a spare more not.
        let third = total as f64 / GIB / 3.0 * 1.01;
        let overlay = |spares| ReplOverlay {
            repl_cmd: Some("sim".into()),
            workers: Some(2),
            repl_memory_estimate: Some(third),
            repl_spares: Some(spares),
            ..ReplOverlay::default()
        };
        assert!(pool_config(&overlay(0), &SettingsFile::default()).is_ok());
        let error = pool_config(&overlay(1), &SettingsFile::default()).unwrap_err();
        assert!(error.to_string().contains("--repl-spares 1"), "{error}");
        let forced = ReplOverlay {
            force: true,
            ..overlay(1)
        };
        assert_eq!(
            pool_config(&forced, &SettingsFile::default())
                .unwrap()
                .spares,
            1
        );
    }

    #[test]
    fn every_settings_section_lists_its_keys() {
        assert_eq!(
            field_names::<SettingsFile>(),
            ["repl", "check", "search", "llm", "cache", "planner"]
        );
        assert!(field_names::<LlmSettings>().contains(&"api_key_env"));
        assert_eq!(
            field_names::<CacheSettings>(),
            ["dir", "enabled", "reuse_verdicts", "shared_fallback"]
        );
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

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn a_shard_is_given_or_read_from_slurm_or_kubernetes() {
        let none = env_of(&[]);
        assert_eq!(shard_from(None, &none).unwrap(), None);
        assert_eq!(
            shard_from(Some("2/5"), &none).unwrap(),
            Some(Shard::new(2, 5).unwrap())
        );
        let slurm = env_of(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(
            shard_from(Some("auto"), &slurm).unwrap(),
            Some(Shard::new(2, 3).unwrap())
        );
        // A resubmission of shards 2 and 5 of 8 is an array of two tasks.
        let resubmitted = env_of(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ]);
        assert_eq!(
            shard_from(Some("auto/8"), &resubmitted).unwrap(),
            Some(Shard::new(5, 8).unwrap())
        );
        let error = shard_from(Some("auto"), &resubmitted)
            .unwrap_err()
            .to_string();
        assert!(error.contains("SLURM_ARRAY_TASK_ID"), "{error}");
        let no_count = env_of(&[("SLURM_ARRAY_TASK_ID", "1")]);
        let error = shard_from(Some("auto"), &no_count).unwrap_err().to_string();
        assert!(error.contains("SLURM_ARRAY_TASK_COUNT"), "{error}");
        let kubernetes = env_of(&[("JOB_COMPLETION_INDEX", "6")]);
        assert_eq!(
            shard_from(Some("auto/7"), &kubernetes).unwrap(),
            Some(Shard::new(6, 7).unwrap())
        );
        let error = shard_from(Some("auto"), &kubernetes)
            .unwrap_err()
            .to_string();
        assert!(error.contains("auto/N"), "{error}");
        let error = shard_from(Some("auto/6"), &kubernetes)
            .unwrap_err()
            .to_string();
        assert!(error.contains("JOB_COMPLETION_INDEX"), "{error}");
        let error = shard_from(Some("auto"), &none).unwrap_err().to_string();
        assert!(error.contains("--shard I/N"), "{error}");
        for bad in ["3/3", "x", "auto/0", "auto/x"] {
            let error = shard_from(Some(bad), &none).unwrap_err().to_string();
            assert!(error.contains("--shard"), "{bad}: {error}");
        }
        let garbage = env_of(&[("SLURM_ARRAY_TASK_ID", "one")]);
        let error = shard_from(Some("auto"), &garbage).unwrap_err().to_string();
        assert!(error.contains("SLURM_ARRAY_TASK_ID=\"one\""), "{error}");
    }

    #[test]
    fn a_shard_gets_a_cache_directory_of_its_own_and_the_held_cache_rule_is_read() {
        let overlay = Overlay {
            cache: CacheOverlay {
                cache: Some(PathBuf::from("/shared/cache")),
                ..CacheOverlay::default()
            },
            shard: Some(Shard::new(1, 4).unwrap()),
            ..Overlay::default()
        };
        let config = session_config(&overlay, &SettingsFile::default()).unwrap();
        assert_eq!(
            config.cache_dir.as_deref(),
            Some(Path::new("/shared/cache/shard-1-of-4"))
        );
        assert_eq!(config.cache_fallback, CacheFallback::Error);
        let whole = Overlay {
            shard: Some(Shard::ALL),
            ..overlay.clone()
        };
        let config = session_config(&whole, &SettingsFile::default()).unwrap();
        assert_eq!(
            config.cache_dir.as_deref(),
            Some(Path::new("/shared/cache"))
        );
        let file = SettingsFile::parse("[cache]\nshared_fallback = \"memory\"\n").unwrap();
        let config = session_config(&overlay, &file).unwrap();
        assert_eq!(config.cache_fallback, CacheFallback::Memory);
        assert!(SettingsFile::parse("[cache]\nshared_fallback = \"disk\"\n").is_err());
    }

    #[test]
    fn search_parallelism_comes_from_the_flag_then_the_file_and_is_at_least_one() {
        let file = SettingsFile::parse("[search]\nparallelism = 3\n").unwrap();
        let config = prove_config(&SearchOverlay::default(), &file).unwrap();
        assert_eq!(config.search_parallelism, Some(3));
        let flag = SearchOverlay {
            search_parallelism: Some(5),
            ..SearchOverlay::default()
        };
        assert_eq!(
            prove_config(&flag, &file).unwrap().search_parallelism,
            Some(5)
        );
        let unset = prove_config(&SearchOverlay::default(), &SettingsFile::default()).unwrap();
        assert_eq!(
            unset.search_parallelism, None,
            "the engine picks the pool's size"
        );
        let zero = SearchOverlay {
            search_parallelism: Some(0),
            ..SearchOverlay::default()
        };
        let error = prove_config(&zero, &file).unwrap_err().to_string();
        assert!(error.contains("--search-parallelism"), "{error}");
    }

    #[test]
    fn policy_lookahead_comes_from_the_flag_then_the_file_and_is_bounded() {
        let file = SettingsFile::parse("[search]\npolicy_lookahead = 0\n").unwrap();
        let config = prove_config(&SearchOverlay::default(), &file).unwrap();
        assert_eq!(config.policy_lookahead, Some(0));
        let flag = SearchOverlay {
            policy_lookahead: Some(2),
            ..SearchOverlay::default()
        };
        assert_eq!(
            prove_config(&flag, &file).unwrap().policy_lookahead,
            Some(2)
        );
        let unset = prove_config(&SearchOverlay::default(), &SettingsFile::default()).unwrap();
        assert_eq!(unset.policy_lookahead, None, "the run's kind picks it");
        let huge = SearchOverlay {
            policy_lookahead: Some(MAX_POLICY_LOOKAHEAD + 1),
            ..SearchOverlay::default()
        };
        let error = prove_config(&huge, &file).unwrap_err().to_string();
        assert!(error.contains("--policy-lookahead"), "{error}");
    }

    #[test]
    fn speculation_is_on_unless_the_flag_or_the_file_turns_it_off() {
        let unset = prove_config(&SearchOverlay::default(), &SettingsFile::default()).unwrap();
        assert!(unset.speculate, "on by default");
        let off = SettingsFile::parse("[search]\nspeculation = false\n").unwrap();
        assert!(
            !prove_config(&SearchOverlay::default(), &off)
                .unwrap()
                .speculate
        );
        let on = SettingsFile::parse("[search]\nspeculation = true\n").unwrap();
        let flag = SearchOverlay {
            no_speculation: true,
            ..SearchOverlay::default()
        };
        assert!(
            !prove_config(&flag, &on).unwrap().speculate,
            "the flag wins"
        );
    }

    #[test]
    fn the_planner_is_off_by_default_and_its_flags_win_over_its_section() {
        let none = planner_settings(&PlannerOverlay::default(), &SettingsFile::default()).unwrap();
        assert!(none.is_none());
        let file = SettingsFile::parse(
            "[llm]\nurl = \"http://127.0.0.1:9/v1\"\n[planner]\nkind = \"openai\"\nsamples = 2\nreplans = 1\n",
        )
        .unwrap();
        let on = planner_settings(&PlannerOverlay::default(), &file)
            .unwrap()
            .unwrap();
        assert_eq!(on.llm.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(on.llm.api, Api::Chat);
        // Several tactic servers: the planner asks the first.
        let several = SettingsFile::parse(
            "[llm]\nurl = [\"http://127.0.0.1:7/v1\", \"http://127.0.0.1:8/v1\"]\n[planner]\nkind = \"openai\"\n",
        )
        .unwrap();
        let first = planner_settings(&PlannerOverlay::default(), &several)
            .unwrap()
            .unwrap();
        assert_eq!(first.llm.base_url, "http://127.0.0.1:7/v1");
        assert_eq!(
            (on.plan.samples, on.llm.samples, on.plan.replans),
            (2, 2, 1)
        );
        assert_eq!(on.plan.direct_share, 0.15);
        assert_eq!(
            on.system_prompt,
            crate::pipeline::plan::DEFAULT_SYSTEM_PROMPT
        );
        let flags = PlannerOverlay {
            planner: Some(PlannerKind::Off),
            ..PlannerOverlay::default()
        };
        assert!(planner_settings(&flags, &file).unwrap().is_none());
        let share = PlannerOverlay {
            planner_direct_share: Some(15.0),
            ..PlannerOverlay::default()
        };
        let error = planner_settings(&share, &file).unwrap_err().to_string();
        assert!(error.contains("--planner-direct-share"), "{error}");
        let prompt = PlannerOverlay {
            planner_prompt: Some(PathBuf::from("/nonexistent/prompt.md")),
            ..PlannerOverlay::default()
        };
        let error = planner_settings(&prompt, &file).unwrap_err().to_string();
        assert!(
            error.contains("--planner-prompt /nonexistent/prompt.md"),
            "{error}"
        );
    }
}
