//! Run manifests: `<out>.manifest.json` beside every results file, recording how the results were made, and guarding a resume against mixing two configurations.
//!
//! `config` holds everything that must be equal for two runs to write into one results file
//! (the policy and its identity, every search or check setting, the Lean pins); the rest is a
//! record (prover build, the REPL command and workers, input hash and per-row statement
//! hashes, host, times, counts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::jsonl::write_atomic;

/// The version of the manifest written now.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// How one results file was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// [`MANIFEST_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The subcommand: `eval`, `check`.
    pub kind: String,
    /// The prover build: version and git commit.
    pub prover: BTreeMap<String, String>,
    /// What must be equal to resume into the same results file.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Settings recorded to reproduce the run that may differ between runs into one file
    /// because they do not change results: the REPL command line, workers, concurrency. The
    /// last run's.
    #[serde(default)]
    pub recorded: BTreeMap<String, serde_json::Value>,
    /// The input: path, SHA-1 of its bytes, rows, and per-row statement hashes.
    pub input: InputRecord,
    /// The machine: cores, memory, operating system.
    pub host: BTreeMap<String, serde_json::Value>,
    /// When the first run into this file started, seconds since the Unix epoch.
    pub started_unix: u64,
    /// When the last run into it ended, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_unix: Option<u64>,
    /// How many runs wrote into the file (resumes included).
    pub runs: u32,
    /// Results by status over the whole file.
    pub counts: BTreeMap<String, u64>,
    /// What the preflight's probe found out about the model server, for model policies (the
    /// last run's). Absent in manifests written before it existed; an optional field, so the
    /// schema version stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_probe: Option<ModelProbe>,
}

/// What a model server does with the requests prover sends, as one small request per endpoint
/// found out before the first theorem.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelProbe {
    /// The endpoint prover uses: `completions` or `chat`.
    pub api: String,
    /// More than one choice came back for `n` = 2 (vLLM, SGLang); llama-cpp-python and Ollama
    /// return one. `None` when no choice came back at all, which tells nothing.
    pub honours_n: Option<bool>,
    /// `/v1/completions` returned token log-probabilities; `None` when the endpoint failed.
    pub completions_logprobs: Option<bool>,
    /// `/v1/chat/completions` returned token log-probabilities (asked with `top_logprobs: 0`);
    /// `None` when the endpoint failed.
    pub chat_logprobs: Option<bool>,
    /// The server refused requests asking for log-probabilities and answered the same request
    /// without them: its error, else `None`.
    pub logprobs_refused: Option<String>,
    /// Requests it seemed to serve at once, of [`ModelProbe::probed_at_once`] sent together
    /// (timed, so a rough figure: 1 for a single slot, the number sent for a batching server).
    /// `None` when one request took too little time to tell.
    pub serves_at_once: Option<u32>,
    /// Requests sent together to find `serves_at_once`.
    pub probed_at_once: u32,
    /// Latency of one small request, milliseconds.
    pub latency_ms: u64,
    /// How prover asks for several samples on this server: `n` or `requests`.
    pub samples_mode: String,
    /// The request limit the run starts with.
    pub start_concurrency: u32,
}

/// The input a run read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// As given on the command line.
    pub path: String,
    /// SHA-1 of the file's bytes.
    pub sha1: String,
    /// Rows read.
    pub rows: usize,
    /// Name → SHA-1 of the normalized statement, for benchmark inputs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statement_sha1: BTreeMap<String, String>,
    /// The benchmark lineages the rows name (`lineage::Registry` ids), for benchmark inputs
    /// fetched from the registry.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub lineages: std::collections::BTreeSet<String>,
    /// Name → SHA-1 of the statement's normal form (`lineage::statement_hash`), the key results
    /// are compared by across lineages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statement_hashes: BTreeMap<String, String>,
}

/// Why a manifest cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Reading failed.
    #[error("cannot read manifest {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a manifest.
    #[error("manifest {} is not a run manifest: {source}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
}

impl RunManifest {
    /// `results.jsonl` → `results.jsonl.manifest.json`.
    pub fn path_for(results: &Path) -> PathBuf {
        let mut name = results.as_os_str().to_owned();
        name.push(".manifest.json");
        PathBuf::from(name)
    }

    /// The manifest at `path`, if there is one.
    pub fn read(path: &Path) -> Result<Option<RunManifest>, ManifestError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ManifestError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| ManifestError::Malformed {
                path: path.to_owned(),
                source,
            })
    }

    /// Writes the manifest to `path` at once (pretty JSON, keys in order).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }

    /// The settings that differ from `other`'s, as `key: this → other` lines; empty when the
    /// two configurations are the same.
    pub fn config_differences(&self, other: &RunManifest) -> Vec<String> {
        let mut keys: Vec<&String> = self.config.keys().chain(other.config.keys()).collect();
        keys.sort();
        keys.dedup();
        let show =
            |v: Option<&serde_json::Value>| v.map_or("(absent)".to_owned(), ToString::to_string);
        let mut differences: Vec<String> = keys
            .into_iter()
            .filter(|k| self.config.get(*k) != other.config.get(*k))
            .map(|k| {
                format!(
                    "{k}: {} → {}",
                    show(self.config.get(k)),
                    show(other.config.get(k))
                )
            })
            .collect();
        if self.kind != other.kind {
            differences.insert(0, format!("kind: {} → {}", self.kind, other.kind));
        }
        differences
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(width: u64) -> RunManifest {
        RunManifest {
            schema_version: MANIFEST_SCHEMA_VERSION,
            kind: "eval".into(),
            prover: BTreeMap::new(),
            config: [
                ("policy".to_owned(), serde_json::json!("portfolio")),
                ("width".to_owned(), serde_json::json!(width)),
            ]
            .into_iter()
            .collect(),
            recorded: BTreeMap::new(),
            input: InputRecord::default(),
            host: BTreeMap::new(),
            started_unix: 0,
            finished_unix: None,
            runs: 1,
            counts: BTreeMap::new(),
            model_probe: None,
        }
    }

    #[test]
    fn differences_name_each_setting_and_round_trips_are_exact() {
        assert!(manifest(8).config_differences(&manifest(8)).is_empty());
        assert_eq!(
            manifest(8).config_differences(&manifest(4)),
            ["width: 8 → 4"]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = RunManifest::path_for(&dir.path().join("r.jsonl"));
        assert!(path.ends_with("r.jsonl.manifest.json"));
        assert_eq!(RunManifest::read(&path).unwrap(), None);
        manifest(8).write(&path).unwrap();
        assert_eq!(RunManifest::read(&path).unwrap(), Some(manifest(8)));
    }

    #[test]
    fn a_model_probe_round_trips_and_old_manifests_read_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let mut with_probe = manifest(4);
        with_probe.model_probe = Some(ModelProbe {
            api: "completions".into(),
            serves_at_once: Some(1),
            ..ModelProbe::default()
        });
        with_probe.write(&path).unwrap();
        assert_eq!(RunManifest::read(&path).unwrap(), Some(with_probe));
        manifest(4).write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("model_probe"), "{text}");
        assert_eq!(RunManifest::read(&path).unwrap().unwrap().model_probe, None);
    }
}
