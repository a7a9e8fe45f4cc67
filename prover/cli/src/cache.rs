//! `prover cache stats|clear|path`, and the cache summary at the end of `prove` and `eval`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::{CacheArgs, CacheCommand};
use prover::cache::{self, CacheBackend, CacheError, ProofCache, SledBackend};
use prover::settings::{self, SettingsFile};

/// The cache directory from flags, settings and the XDG convention.
fn cache_dir(args: &CacheArgs, settings: &SettingsFile) -> anyhow::Result<PathBuf> {
    Ok(settings::default_cache_dir(&args.overlay(), settings)?)
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
pub(super) fn run(command: CacheCommand, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
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
    Ok(ExitCode::from(crate::exit::SETTLED))
}
