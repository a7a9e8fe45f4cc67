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
}

/// `[check]` in `prover.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// As `--timeout`, seconds.
    pub timeout: Option<f64>,
    /// As `--retries`.
    pub retries: Option<u32>,
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
    if !(value.is_finite() && value > 0.0) {
        bail!("{what} must be a positive number of seconds, got {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

fn gib_to_bytes(value: f64, what: &str) -> anyhow::Result<Option<u64>> {
    if !(value.is_finite() && value >= 0.0) {
        bail!("{what} must be a non-negative number of GiB, got {value}");
    }
    Ok((value > 0.0).then_some((value * GIB) as u64))
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
    let workers = args.workers.or(s.workers).unwrap_or(2);
    if workers == 0 {
        bail!("--workers must be at least 1");
    }
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
