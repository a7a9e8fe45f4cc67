//! The one place that turns command-line flags plus `prover.toml` into plain config structs.
//!
//! Precedence: flag, then `prover.toml`, then the default. Libraries never read files or the
//! environment themselves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use lean_bridge::pool::PoolConfig;
use lean_bridge::process::ReplConfig;
use serde::Deserialize;

use super::ReplArgs;
use super::search_args::{PolicyKind, SearchArgs};
use crate::engine::ProveConfig;

const GIB: f64 = (1u64 << 30) as f64;

/// The REPL binary the project's Lake set-up builds, relative to the Lean project.
pub const DEFAULT_REPL_CMD: &str = "lake env .lake/packages/REPL/.lake/build/bin/repl";

/// `prover.toml`, as written by the user. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// As `--cache`.
    pub dir: Option<PathBuf>,
    /// `false` as `--no-cache`.
    pub enabled: Option<bool>,
}

/// `[search]` in `prover.toml`.
#[derive(Debug, Default, Deserialize)]
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
}

/// `[llm]` in `prover.toml`.
#[derive(Debug, Default, Deserialize)]
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
#[derive(Debug, Default, Deserialize)]
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
#[derive(Debug, Default, Deserialize)]
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

impl Settings {
    /// Reads `path`, or `./prover.toml` when it exists, or nothing.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("prover.toml");
                if !default.exists() {
                    return Ok(Settings::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read settings file {}", path.display()))?;
        let mut settings: Settings = toml::from_str(&text)
            .with_context(|| format!("invalid settings file {}", path.display()))?;
        settings.source = Some(path);
        Ok(settings)
    }
}

/// Seconds from a flag or setting, validated.
pub fn seconds(value: f64, what: &str) -> anyhow::Result<Duration> {
    // About three years: more is certainly a slip, and `Duration` cannot hold 1e30 seconds.
    const MAX_SECONDS: f64 = 1e8;
    if !(value.is_finite() && value > 0.0) {
        bail!("{what} must be a positive number of seconds, got {value}");
    }
    if value > MAX_SECONDS {
        bail!("{what} must be at most {MAX_SECONDS:e} seconds, got {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// A count that must be at least 1, from a flag or its setting.
pub fn at_least_one<T: PartialEq + Default + std::fmt::Display>(
    value: T,
    what: &str,
) -> anyhow::Result<T> {
    if value == T::default() {
        bail!("{what} must be at least 1, got {value}");
    }
    Ok(value)
}

/// The most of anything run at once (REPLs, theorems, model requests): far beyond any machine,
/// and far below what a semaphore or a slot table can hold.
pub const MAX_AT_ONCE: usize = 4096;

/// A count of things run at once: from 1 to [`MAX_AT_ONCE`].
pub fn at_once(value: usize, what: &str) -> anyhow::Result<usize> {
    if !(1..=MAX_AT_ONCE).contains(&value) {
        bail!("{what} must be from 1 to {MAX_AT_ONCE}, got {value}");
    }
    Ok(value)
}

/// GiB one REPL with Mathlib imported needs, for judging `--workers` (project measurement:
/// 4-6 GiB resident after `import Mathlib` on Lean v4.2x, more while tactics run).
const DEFAULT_REPL_MEMORY_ESTIMATE_GIB: f64 = 6.0;

fn gib_to_bytes(value: f64, what: &str) -> anyhow::Result<Option<u64>> {
    if !(value.is_finite() && value >= 0.0) {
        bail!("{what} must be a non-negative number of GiB, got {value}");
    }
    Ok((value > 0.0).then_some((value * GIB) as u64))
}

/// Refuses more REPLs than the machine's memory holds, unless `--force`.
fn check_memory_for_workers(
    workers: usize,
    args: &ReplArgs,
    settings: &ReplSettings,
) -> anyhow::Result<()> {
    let estimate = args
        .repl_memory_estimate
        .or(settings.memory_estimate_gib)
        .unwrap_or(DEFAULT_REPL_MEMORY_ESTIMATE_GIB);
    if !(estimate.is_finite() && estimate >= 0.0) {
        bail!("--repl-memory-estimate must be a non-negative number of GiB, got {estimate}");
    }
    let Ok(total) = lean_bridge::memory::total_memory_bytes() else {
        return Ok(());
    };
    let total_gib = total as f64 / GIB;
    let needed = workers as f64 * estimate;
    if needed <= total_gib {
        return Ok(());
    }
    if args.force {
        tracing::warn!(
            "--workers {workers} needs about {needed:.0} GiB ({estimate} GiB per REPL) and this \
             machine has {total_gib:.0} GiB; starting them anyway (--force)"
        );
        return Ok(());
    }
    bail!(
        "--workers {workers} needs about {needed:.0} GiB ({estimate} GiB per REPL with Mathlib, \
         --repl-memory-estimate) and this machine has {total_gib:.0} GiB: pass fewer --workers \
         (at most {}), a smaller --repl-memory-estimate if your REPLs are lighter, or --force",
        (total_gib / estimate.max(f64::MIN_POSITIVE)).floor() as u64
    )
}

/// The nearest ancestor of `start` holding `lakefile.lean` (or `lakefile.toml`).
pub fn find_lean_project(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("lakefile.lean").exists() || dir.join("lakefile.toml").exists())
        .map(Path::to_path_buf)
}

/// Builds the pool configuration from flags and settings.
pub fn pool_config(args: &ReplArgs, settings: &Settings) -> anyhow::Result<PoolConfig> {
    let s = &settings.repl;
    let workers = at_once(args.workers.or(s.workers).unwrap_or(2), "--workers")?;
    check_memory_for_workers(workers, args, s)?;
    let command = args.repl_cmd.clone().or_else(|| s.command.clone());
    let project = args.project.clone().or_else(|| s.project.clone());
    let working_dir = match (&command, project) {
        (_, Some(dir)) => Some(dir),
        (Some(_), None) => None,
        (None, None) => {
            let cwd = std::env::current_dir().context("cannot read the current directory")?;
            Some(find_lean_project(&cwd).with_context(|| {
                format!(
                    "no Lean project (lakefile.lean) in {} or above; run the set-up in the prover \
                     checkout, pass --project DIR, or pass --repl-cmd",
                    cwd.display()
                )
            })?)
        }
    };
    let mut repl = ReplConfig {
        command: command.unwrap_or_else(|| DEFAULT_REPL_CMD.to_owned()),
        working_dir,
        ..ReplConfig::default()
    };
    if let Some(limit) = args.repl_memory_limit.or(s.memory_limit_gib) {
        repl.memory_limit_bytes = gib_to_bytes(limit, "--repl-memory-limit")?;
    }
    if let Some(limit) = args.repl_max_rss.or(s.max_rss_gib) {
        repl.max_rss_anon_bytes = gib_to_bytes(limit, "--repl-max-rss")?;
    }
    if let Some(n) = args.repl_max_requests.or(s.max_requests) {
        repl.max_requests = (n > 0).then_some(n);
    }
    Ok(PoolConfig {
        workers,
        repl,
        ..PoolConfig::default()
    })
}

/// Default expansion width with the portfolio policy.
pub const PORTFOLIO_WIDTH: usize = 8;

/// Builds the search and recheck settings from flags and settings.
pub fn prove_config(args: &SearchArgs, settings: &Settings) -> anyhow::Result<ProveConfig> {
    let s = &settings.search;
    let mut config = ProveConfig::default();
    // The portfolio's candidates cost nothing to generate and its priors are coarse, so it
    // gets a wider default than BFS-Prover's four sampled tactics.
    let default_width = match policy_kind(args, settings) {
        PolicyKind::Openai => config.search.expansion_width,
        PolicyKind::Portfolio | PolicyKind::Combined => PORTFOLIO_WIDTH,
    };
    let width = args.width.or(s.width).unwrap_or(default_width);
    if width == 0 {
        bail!("--width must be at least 1");
    }
    config.search.expansion_width = width;
    if let Some(alpha) = args.alpha.or(s.alpha) {
        if !(alpha.is_finite() && (0.0..=100.0).contains(&alpha)) {
            bail!("--alpha must be a number from 0 to 100, got {alpha}");
        }
        config.search.depth_exponent = alpha;
    }
    if let Some(n) = args.max_expansions.or(s.max_expansions) {
        config.search.max_expansions = Some(at_least_one(n, "--max-expansions")?);
    }
    if let Some(secs) = args.time_limit.or(s.time_limit) {
        config.search.max_time = Some(seconds(secs, "--time-limit")?);
    }
    if let Some(secs) = args.tactic_timeout.or(s.tactic_timeout) {
        config.search.tactic_deadline = seconds(secs, "--tactic-timeout")?;
    }
    // The recheck elaborates the whole proof; give it the per-theorem budget, or the default.
    if let Some(limit) = config.search.max_time {
        config.check.timeout = limit.max(config.search.tactic_deadline);
    }
    config.statement_deadline = config.check.timeout;
    // The recheck screens the proof with the same opt-in the search's guard has.
    config.check.guard.allow_native_decide = allow_native_decide(args, settings);
    Ok(config)
}

/// The policy kind from flags and settings; the portfolio by default.
pub fn policy_kind(args: &SearchArgs, settings: &Settings) -> PolicyKind {
    args.policy
        .or(settings.search.policy)
        .unwrap_or(PolicyKind::Portfolio)
}

/// Whether candidates may use `native_decide`.
pub fn allow_native_decide(args: &SearchArgs, settings: &Settings) -> bool {
    args.allow_native_decide || settings.search.allow_native_decide.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_settings_example_parses() {
        let readme = include_str!("../../../README.md");
        let start = readme.find("```toml\n").expect("README has a toml block") + 8;
        let end = start + readme[start..].find("```").unwrap();
        let settings: Settings = toml::from_str(&readme[start..end]).unwrap();
        assert_eq!(settings.search.width, Some(8));
        assert_eq!(settings.llm.fallback, Some(true));
        assert_eq!(settings.cache.enabled, Some(true));
    }

    #[test]
    fn unknown_settings_are_refused_by_name() {
        let err = toml::from_str::<Settings>("[search]\nwidht = 3\n").unwrap_err();
        assert!(err.to_string().contains("widht"), "{err}");
    }

    #[test]
    fn flags_win_over_settings() {
        let settings: Settings = toml::from_str("[search]\nwidth = 3\nalpha = 1.0\n").unwrap();
        let args = SearchArgs {
            width: Some(5),
            ..SearchArgs::default()
        };
        let config = prove_config(&args, &settings).unwrap();
        assert_eq!(config.search.expansion_width, 5);
        assert_eq!(config.search.depth_exponent, 1.0);
        let none = prove_config(&SearchArgs::default(), &Settings::default()).unwrap();
        assert_eq!(none.search.expansion_width, PORTFOLIO_WIDTH);
    }
}
