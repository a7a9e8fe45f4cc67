//! Cache stores: `SledBackend` on disk (the design's choice) and `MemoryBackend` (the fallback
//! and the test double), behind one small trait.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{CacheKey, SCHEMA_VERSION};

/// Why the cache store failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The directory is held by another process (sled takes an exclusive lock).
    #[error(
        "the cache at {path} is in use by another process (sled holds an exclusive lock); \
         use another --cache DIR or --no-cache"
    )]
    Locked {
        /// The cache directory.
        path: PathBuf,
    },
    /// Anything else the store reported.
    #[error("cache at {path}: {reason}")]
    Store {
        /// The cache directory (empty for memory).
        path: PathBuf,
        /// The store's words.
        reason: String,
    },
}

/// A key-value store for cache records.
pub trait CacheBackend: Send + Sync {
    /// The bytes stored under `key`.
    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError>;
    /// Stores all `entries` at once.
    fn put_batch(&self, entries: &[(CacheKey, Vec<u8>)]) -> Result<(), CacheError>;
    /// Makes everything written so far durable.
    fn flush(&self) -> Result<(), CacheError>;
    /// Entries stored.
    fn len(&self) -> usize;
    /// Whether nothing is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes used on disk (0 in memory).
    fn size_on_disk(&self) -> u64;
    /// Removes every entry.
    fn clear(&self) -> Result<(), CacheError>;
    /// Every entry, in key order (for export: the same store gives the same bytes).
    fn entries(&self) -> Result<Vec<(CacheKey, Vec<u8>)>, CacheError>;
}

/// The in-memory store.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    entries: Mutex<HashMap<CacheKey, Vec<u8>>>,
}

impl CacheBackend for MemoryBackend {
    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.entries.lock().expect("cache lock").get(key).cloned())
    }

    fn put_batch(&self, entries: &[(CacheKey, Vec<u8>)]) -> Result<(), CacheError> {
        let mut map = self.entries.lock().expect("cache lock");
        for (key, value) in entries {
            map.insert(*key, value.clone());
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn len(&self) -> usize {
        self.entries.lock().expect("cache lock").len()
    }

    fn size_on_disk(&self) -> u64 {
        0
    }

    fn clear(&self) -> Result<(), CacheError> {
        self.entries.lock().expect("cache lock").clear();
        Ok(())
    }

    fn entries(&self) -> Result<Vec<(CacheKey, Vec<u8>)>, CacheError> {
        let mut entries: Vec<(CacheKey, Vec<u8>)> = self
            .entries
            .lock()
            .expect("cache lock")
            .iter()
            .map(|(key, value)| (*key, value.clone()))
            .collect();
        entries.sort_by_key(|(key, _)| *key);
        Ok(entries)
    }
}

/// The on-disk store: sled 0.34 in `<dir>/v<schema>-sled0.34/`.
pub struct SledBackend {
    db: sled::Db,
    path: PathBuf,
}

/// sled's default page cache (about 1 GiB) is sized for a database server, not for a process
/// that shares the machine with Lean.
const PAGE_CACHE_BYTES: u64 = 64 << 20;

/// How long a held lock is retried before it is taken for another process's (see
/// [`SledBackend::open`]).
pub(super) const LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl SledBackend {
    /// The directory sled uses under a cache root; the name carries both versions, so a bump
    /// of either starts an empty cache and nothing is migrated.
    pub fn data_dir(root: &Path) -> PathBuf {
        root.join(format!("v{SCHEMA_VERSION}-sled0.34"))
    }

    /// Opens (or creates) the cache under `root`.
    ///
    /// sled releases its directory lock from background threads a moment after the last
    /// handle is dropped, so a store this process has just closed can still read as held.
    /// A held lock is therefore retried for up to [`LOCK_RELEASE_WAIT`] before it is
    /// reported as another process's: reopening right after closing always works, and a
    /// cache truly in use is refused a second later.
    pub fn open(root: &Path) -> Result<SledBackend, CacheError> {
        let started = std::time::Instant::now();
        loop {
            match Self::open_once(root) {
                Err(CacheError::Locked { .. }) if started.elapsed() < LOCK_RELEASE_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(root: &Path) -> Result<SledBackend, CacheError> {
        let path = Self::data_dir(root);
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(PAGE_CACHE_BYTES)
            .open()
            .map_err(|error| match &error {
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    CacheError::Locked { path: path.clone() }
                }
                _ if error.to_string().contains("could not acquire lock") => {
                    CacheError::Locked { path: path.clone() }
                }
                _ => CacheError::Store {
                    path: path.clone(),
                    reason: error.to_string(),
                },
            })?;
        Ok(SledBackend { db, path })
    }

    fn fail(&self, error: sled::Error) -> CacheError {
        CacheError::Store {
            path: self.path.clone(),
            reason: error.to_string(),
        }
    }
}

impl CacheBackend for SledBackend {
    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        self.db
            .get(key.0)
            .map(|found| found.map(|v| v.to_vec()))
            .map_err(|e| self.fail(e))
    }

    fn put_batch(&self, entries: &[(CacheKey, Vec<u8>)]) -> Result<(), CacheError> {
        let mut batch = sled::Batch::default();
        for (key, value) in entries {
            batch.insert(&key.0, value.as_slice());
        }
        self.db.apply_batch(batch).map_err(|e| self.fail(e))
    }

    fn flush(&self) -> Result<(), CacheError> {
        self.db.flush().map(|_| ()).map_err(|e| self.fail(e))
    }

    fn len(&self) -> usize {
        self.db.len()
    }

    fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    fn clear(&self) -> Result<(), CacheError> {
        self.db.clear().map_err(|e| self.fail(e))?;
        self.flush()
    }

    fn entries(&self) -> Result<Vec<(CacheKey, Vec<u8>)>, CacheError> {
        // sled iterates in key order. A key of another length is not one of ours: skipped.
        let mut entries = Vec::new();
        for entry in self.db.iter() {
            let (key, value) = entry.map_err(|e| self.fail(e))?;
            if let Ok(bytes) = <[u8; 21]>::try_from(key.as_ref()) {
                entries.push((CacheKey(bytes), value.to_vec()));
            }
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_keeps_entries_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let key = CacheKey([7; 21]);
        {
            let store = SledBackend::open(dir.path()).unwrap();
            store.put_batch(&[(key, b"value".to_vec())]).unwrap();
            store.flush().unwrap();
            assert_eq!(store.len(), 1);
        }
        // sled releases its lock from background threads after the drop: `open` waits for it.
        let store = SledBackend::open(dir.path()).unwrap();
        assert_eq!(store.get(&key).unwrap().as_deref(), Some(&b"value"[..]));
        store.clear().unwrap();
        assert!(store.is_empty());
    }

    #[test]
    fn a_second_open_in_the_same_process_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SledBackend::open(dir.path()).unwrap();
        match SledBackend::open(dir.path()) {
            Err(CacheError::Locked { path }) => assert!(path.starts_with(dir.path())),
            Err(other) => panic!("expected Locked, got {other}"),
            Ok(_) => panic!("a second open succeeded"),
        }
    }
}
