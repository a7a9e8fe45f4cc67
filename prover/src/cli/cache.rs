//! `prover cache stats|clear|path`, and opening the cache for `prove` and `eval`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use lean_bridge::pool::PoolConfig;

use super::config::Settings;
use super::{CacheArgs, CacheCommand};
use crate::cache::{self, CacheBackend, CacheError, MemoryBackend, ProofCache, SledBackend};

/// The cache directory from flags, settings and the XDG convention.
pub(super) fn cache_dir(args: &CacheArgs, settings: &Settings) -> anyhow::Result<PathBuf> {
    if let Some(dir) = args.cache.clone().or_else(|| settings.cache.dir.clone()) {
        return Ok(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("prover"));
    }
    let home = std::env::var_os("HOME").context(
        "cannot place the cache: neither XDG_CACHE_HOME nor HOME is set; pass --cache DIR",
    )?;
    Ok(PathBuf::from(home).join(".cache/prover"))
}

/// Whether the cache is on.
pub(super) fn enabled(args: &CacheArgs, settings: &Settings) -> bool {
    !args.no_cache && settings.cache.enabled.unwrap_or(true)
}

/// Names the Lean toolchain and REPL behind `pool`: the launch command and the Lean project's
/// `lean-toolchain` and `lake-manifest.json`. Answers from another identity are never reused.
pub(super) fn identity(pool: &PoolConfig) -> String {
    let mut identity = format!("repl={}", pool.repl.command);
    if let Some(dir) = &pool.repl.working_dir {
        for file in ["lean-toolchain", "lake-manifest.json"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
                identity.push_str(&format!("\n{file}={}", text.trim()));
            }
        }
    }
    identity
}

/// Opens the cache for a run. A held lock or a broken store is not fatal: the run goes on with
/// an in-memory cache, and says so.
pub(super) fn open_for_run(
    args: &CacheArgs,
    settings: &Settings,
    pool: &PoolConfig,
) -> anyhow::Result<Option<Arc<ProofCache>>> {
    if !enabled(args, settings) {
        return Ok(None);
    }
    let dir = cache_dir(args, settings)?;
    let backend: Arc<dyn CacheBackend> = match SledBackend::open(&dir) {
        Ok(store) => Arc::new(store),
        Err(error) => {
            note!("prover: {error}; this run uses an in-memory cache instead");
            Arc::new(MemoryBackend::default())
        }
    };
    Ok(Some(Arc::new(ProofCache::new(backend, identity(pool)))))
}

/// Stores the run's counters and flushes the cache; a failure here loses nothing decided.
pub(super) fn finish_run(cache: Option<&Arc<ProofCache>>) {
    if let Some(cache) = cache {
        let stats = cache.run_stats();
        if let Some(rate) = stats.hit_rate() {
            note!(
                "  cache        {:>7.1}% hits ({} of {} lookups)",
                100.0 * rate,
                stats.hits,
                stats.hits + stats.misses
            );
        }
        if let Err(error) = cache.finish_run() {
            note!("prover: cannot flush the cache: {error}");
        }
    }
}

fn open_existing(dir: &Path) -> anyhow::Result<SledBackend> {
    SledBackend::open(dir).map_err(|error| match error {
        CacheError::Locked { .. } => anyhow::anyhow!("{error}"),
        other => anyhow::anyhow!("{other}"),
    })
}

/// Runs `prover cache …`.
pub(super) fn run(command: CacheCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    match command {
        CacheCommand::Path(args) => {
            out!("{}", cache_dir(&args, settings)?.display())?;
        }
        CacheCommand::Stats(args) => {
            let dir = cache_dir(&args, settings)?;
            let store = open_existing(&dir)?;
            let last = cache::last_run(&store)?;
            out!("path          {}", SledBackend::data_dir(&dir).display())?;
            // One entry holds the last run's counters, not a Lean answer.
            let entries = store.len().saturating_sub(usize::from(last.is_some()));
            out!("entries       {entries}")?;
            out!("size on disk  {} bytes", store.size_on_disk())?;
            match last.as_ref().and_then(|s| s.hit_rate().map(|r| (s, r))) {
                Some((stats, rate)) => out!(
                    "last run      {:.1}% hits ({} hits, {} misses, {} writes)",
                    100.0 * rate,
                    stats.hits,
                    stats.misses,
                    stats.writes
                )?,
                None => out!("last run      none recorded")?,
            }
        }
        CacheCommand::Clear(args) => {
            let dir = cache_dir(&args, settings)?;
            let store = open_existing(&dir)?;
            let entries = store.len();
            store.clear()?;
            note!(
                "prover cache: removed {entries} entries from {}",
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
