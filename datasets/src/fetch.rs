//! `prover datasets fetch`: downloads pinned upstream benchmark files, verifies their git blob
//! ids, and writes the project's JSONL form (`name`, `split`, `header`, `formal_statement`, …).
//!
//! Downloads go through `curl`, which every machine with Lean's installer already has; the
//! checksums are the git blob ids of the pinned upstream commits, so a file is accepted only if
//! it is byte for byte the one that commit holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// A benchmark the project can fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// miniF2F as DeepSeek-Prover-V1.5 ships it (Lean v4.9.0-rc1); the de-facto standard.
    Minif2fDeepseek,
    /// miniF2F from yangky11/miniF2F-lean4 for Lean v4.24.0 (the project's pinned toolchain).
    Minif2fYangky11,
    /// ProofNet as DeepSeek-Prover-V1.5 ships it (Lean v4.9.0-rc1).
    ProofnetDeepseek,
}

impl Source {
    /// Resolves `minif2f`/`proofnet` and an optional version name.
    pub fn parse(dataset: &str, version: Option<&str>) -> Result<Source, FetchError> {
        match (dataset, version) {
            // The default matches the toolchain the project pins (lean-toolchain: v4.24.0).
            ("minif2f", Some("deepseek") | Some("v4.9")) => Ok(Source::Minif2fDeepseek),
            ("minif2f", None | Some("yangky11") | Some("v4.24") | Some("v4.24.0")) => {
                Ok(Source::Minif2fYangky11)
            }
            ("proofnet", None | Some("deepseek") | Some("v4.9")) => Ok(Source::ProofnetDeepseek),
            _ => Err(FetchError::Unknown(format!(
                "{dataset}{}; known: minif2f [--version deepseek|yangky11], proofnet [--version deepseek]",
                version
                    .map(|v| format!(" --version {v}"))
                    .unwrap_or_default()
            ))),
        }
    }
}

const DEEPSEEK_COMMIT: &str = "2c4ba9119eef74d0d611f494261b2c5bae98c69a";
const DEEPSEEK_MINIF2F_BLOB: &str = "bf6c8ececb87f2b62702681658e6568694242c31";
const DEEPSEEK_PROOFNET_BLOB: &str = "adda38ed779ccadbe23631130db2dca025d5919c";
const YANGKY11_COMMIT: &str = "5746b7d6c47855ce1294bed87329618ff7f1bc31";
const YANGKY11_MANIFEST: &str = include_str!("yangky11_v4.24.0.sha1");

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not a dataset or version this build knows.
    #[error("unknown dataset {0}")]
    Unknown(String),
    /// The download did not complete.
    #[error("cannot download {url}: {reason} (this step needs the network)")]
    Download {
        /// What was being fetched.
        url: String,
        /// curl's words.
        reason: String,
    },
    /// The bytes are not the pinned upstream file.
    #[error("{what}: git blob id {actual} differs from the pinned {expected}; refusing the file")]
    Checksum {
        /// The file.
        what: String,
        /// The pinned id.
        expected: String,
        /// The id of what arrived.
        actual: String,
    },
    /// The upstream file is not in the expected shape.
    #[error("{0}")]
    Format(String),
    /// Local files.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The git blob id of `content`: sha1 of `blob <len>\0` followed by the bytes.
pub fn git_blob_id(content: &[u8]) -> String {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hasher.digest().to_string()
}

fn curl(url: &str, target: &Path) -> Result<(), FetchError> {
    let output = Command::new("curl")
        .args(["--fail", "--location", "--silent", "--show-error"])
        .args(["--max-time", "600", "--retry", "2", "--output"])
        .arg(target)
        .arg(url)
        .output()
        .map_err(|e| FetchError::Download {
            url: url.to_owned(),
            reason: format!("cannot run curl: {e}"),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(FetchError::Download {
            url: url.to_owned(),
            // curl repeats its message once per retry; the last line says it all.
            reason: String::from_utf8_lossy(&output.stderr)
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("curl failed")
                .trim()
                .to_owned(),
        })
    }
}

fn verified(path: &Path, expected: &str, what: &str) -> Result<Vec<u8>, FetchError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let actual = git_blob_id(&bytes);
    if actual != expected {
        return Err(FetchError::Checksum {
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(bytes)
}

/// What a fetch wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Files written, with their row counts.
    pub files: Vec<(PathBuf, usize)>,
}

/// Downloads `source` into `out_dir` (created if needed) as `valid.jsonl` and `test.jsonl`.
/// Files are written only after every check passed, so a failed fetch leaves nothing half done.
pub fn fetch(source: Source, out_dir: &Path, scratch: &Path) -> Result<Fetched, FetchError> {
    let rows = match source {
        Source::Minif2fDeepseek => deepseek_rows("minif2f", DEEPSEEK_MINIF2F_BLOB, scratch)?,
        Source::ProofnetDeepseek => deepseek_rows("proofnet", DEEPSEEK_PROOFNET_BLOB, scratch)?,
        Source::Minif2fYangky11 => yangky11_rows(scratch)?,
    };
    write_splits(rows, out_dir)
}

fn deepseek_rows(
    name: &str,
    blob: &str,
    scratch: &Path,
) -> Result<BTreeMap<String, Vec<Value>>, FetchError> {
    let url = format!(
        "https://raw.githubusercontent.com/deepseek-ai/DeepSeek-Prover-V1.5/{DEEPSEEK_COMMIT}/datasets/{name}.jsonl"
    );
    let target = scratch.join(format!("{name}.jsonl"));
    curl(&url, &target)?;
    let bytes = verified(&target, blob, &url)?;
    let text =
        String::from_utf8(bytes).map_err(|_| FetchError::Format(format!("{url} is not UTF-8")))?;
    let mut splits: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Value = serde_json::from_str(line)
            .map_err(|e| FetchError::Format(format!("{url} line {}: {e}", index + 1)))?;
        let split = row["split"].as_str().unwrap_or("test").to_owned();
        splits.entry(split).or_default().push(row);
    }
    Ok(splits)
}

fn yangky11_rows(scratch: &Path) -> Result<BTreeMap<String, Vec<Value>>, FetchError> {
    let url =
        format!("https://codeload.github.com/yangky11/miniF2F-lean4/tar.gz/{YANGKY11_COMMIT}");
    let archive = scratch.join("minif2f-lean4.tar.gz");
    curl(&url, &archive)?;
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(scratch)
        .status()
        .map_err(io_error(&archive))?;
    if !status.success() {
        return Err(FetchError::Format(format!(
            "{url}: tar could not unpack it"
        )));
    }
    let root = scratch.join(format!("miniF2F-lean4-{YANGKY11_COMMIT}/MiniF2F"));
    let mut splits: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in YANGKY11_MANIFEST.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.split_whitespace();
        let (Some(split), Some(name), Some(blob)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let folder = if split == "valid" { "Valid" } else { "Test" };
        let path = root.join(folder).join(format!("{name}.lean"));
        let bytes = verified(&path, blob, &format!("MiniF2F/{folder}/{name}.lean"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| FetchError::Format(format!("{} is not UTF-8", path.display())))?;
        let start = text
            .match_indices("theorem ")
            .map(|(i, _)| i)
            .find(|i| *i == 0 || text.as_bytes()[i - 1] == b'\n')
            .ok_or_else(|| FetchError::Format(format!("{} has no theorem", path.display())))?;
        splits.entry(split.to_owned()).or_default().push(json!({
            "name": name,
            "split": split,
            "header": &text[..start],
            "formal_statement": &text[start..],
        }));
    }
    Ok(splits)
}

fn write_splits(
    splits: BTreeMap<String, Vec<Value>>,
    out_dir: &Path,
) -> Result<Fetched, FetchError> {
    std::fs::create_dir_all(out_dir).map_err(io_error(out_dir))?;
    let mut files = Vec::new();
    for (split, rows) in splits {
        let path = out_dir.join(format!("{split}.jsonl"));
        let text: String = rows.iter().map(|row| format!("{row}\n")).collect();
        crate::write_atomic(&path, text.as_bytes()).map_err(io_error(&path))?;
        files.push((path, rows.len()));
    }
    Ok(Fetched { files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_match_git() {
        // `git hash-object` of "hello\n".
        assert_eq!(
            git_blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn the_manifest_matches_the_reference_copies() {
        let Some(root) = crate::test_data::find_or_skip(
            "datasets/minif2f/yangky11_v4.24.0",
            "the_manifest_matches_the_reference_copies",
        ) else {
            return;
        };
        let mut ids = BTreeMap::new();
        for split in ["valid", "test"] {
            let text = std::fs::read_to_string(root.join(format!("{split}.jsonl"))).unwrap();
            for line in text.lines() {
                let row: Value = serde_json::from_str(line).unwrap();
                let content = format!(
                    "{}{}",
                    row["header"].as_str().unwrap(),
                    row["formal_statement"].as_str().unwrap()
                );
                ids.insert(
                    (split.to_owned(), row["name"].as_str().unwrap().to_owned()),
                    git_blob_id(content.as_bytes()),
                );
            }
        }
        let manifest: BTreeMap<(String, String), String> = YANGKY11_MANIFEST
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let p: Vec<&str> = l.split_whitespace().collect();
                ((p[0].to_owned(), p[1].to_owned()), p[2].to_owned())
            })
            .collect();
        assert_eq!(manifest.len(), 488);
        assert_eq!(manifest, ids);
    }

    #[test]
    fn versions_resolve_and_unknown_ones_are_named() {
        assert_eq!(
            Source::parse("minif2f", Some("yangky11")).unwrap(),
            Source::Minif2fYangky11
        );
        assert_eq!(
            Source::parse("proofnet", None).unwrap(),
            Source::ProofnetDeepseek
        );
        let err = Source::parse("putnam", None).unwrap_err().to_string();
        assert!(err.contains("putnam"), "{err}");
    }

    #[test]
    fn a_wrong_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        std::fs::write(&path, b"{}\n").unwrap();
        let err = verified(&path, DEEPSEEK_MINIF2F_BLOB, "x").unwrap_err();
        assert!(matches!(err, FetchError::Checksum { .. }));
    }
}
