//! `prover cache stats|clear|path|merge`, and the cache summary at the end of `prove` and `eval`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{CacheArgs, CacheCommand};
use prover::session::{CacheError, CacheStore, Session};
use prover::settings::{self, SettingsFile};

/// The cache directory from flags, settings and the XDG convention.
fn cache_dir(args: &CacheArgs, settings: &SettingsFile) -> anyhow::Result<PathBuf> {
    Ok(settings::default_cache_dir(&args.overlay(), settings)?)
}

/// Stores the run's counters and flushes the cache; a failure here loses nothing decided.
pub(super) fn finish_run(session: &Session) {
    if let Some(cache) = session.cache() {
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

fn open_existing(dir: &std::path::Path) -> anyhow::Result<CacheStore> {
    CacheStore::open(dir).map_err(|error| match error {
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
            let stats = store.stats()?;
            out!("path          {}", stats.data_dir.display())?;
            out!("entries       {}", stats.entries)?;
            out!("size on disk  {} bytes", stats.size_on_disk)?;
            match stats
                .last_run
                .as_ref()
                .and_then(|s| s.hit_rate().map(|r| (s, r)))
            {
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
        CacheCommand::Merge(args) => return merge(&args),
        CacheCommand::Clear(args) => {
            let dir = cache_dir(&args, settings)?;
            let store = open_existing(&dir)?;
            let entries = store.clear()?;
            note!(
                "prover cache: removed {entries} entries from {}",
                dir.display()
            );
        }
    }
    Ok(ExitCode::from(crate::exit::SETTLED))
}

/// `prover cache merge DEST SRC…`: exit 0 when every source agreed with DEST, 1 when some key
/// was answered differently (reported, DEST's answer kept), 2 when a store could not be opened.
fn merge(args: &super::CacheMergeArgs) -> anyhow::Result<ExitCode> {
    let dest = open_existing(&args.dest)?;
    let mut disagreements = 0;
    for source_dir in &args.sources {
        let source = CacheStore::open_existing(source_dir)?;
        let merged = dest.merge_from(&source)?;
        for disagreement in &merged.disagreements {
            note!(
                "prover cache merge: {} disagrees on {} key {}: {}; kept {}'s",
                source_dir.display(),
                disagreement.kind,
                disagreement.key,
                disagreement.detail,
                args.dest.display()
            );
        }
        disagreements += merged.disagreements.len();
        note!(
            "prover cache merge: {}: {} added, {} theorems gained verdicts, {} already held, {} \
             disagreed",
            source_dir.display(),
            merged.added,
            merged.extended,
            merged.same,
            merged.disagreements.len()
        );
    }
    Ok(ExitCode::from(if disagreements == 0 {
        crate::exit::SETTLED
    } else {
        crate::exit::UNSETTLED
    }))
}
