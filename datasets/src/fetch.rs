//! `prover datasets fetch`: downloads a registry lineage's pinned upstream files ([`crate::lineage`]),
//! verifies their git blob ids, and writes the project's JSONL form (`name`, `split`, `header`,
//! `formal_statement`, the row's statement identity, …).
//!
//! Downloads go through `curl`, which every machine with Lean's installer already has; the
//! checksums are the git blob ids of the pinned upstream commits, so a file is accepted only if
//! it is byte for byte the one that commit holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::lineage::{Format, Lineage, Registry};

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

#[cfg(test)]
const DEEPSEEK_MINIF2F_BLOB: &str = "bf6c8ececb87f2b62702681658e6568694242c31";
#[cfg(test)]
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

impl Source {
    /// The registry lineage this older spelling names.
    pub fn lineage_id(self) -> &'static str {
        match self {
            Source::Minif2fDeepseek => "minif2f/deepseek-v1.5@2c4ba91",
            Source::Minif2fYangky11 => "minif2f/yangky11@5746b7d",
            Source::ProofnetDeepseek => "proofnet/deepseek@2c4ba91",
        }
    }
}

/// Downloads `source` into `out_dir` (created if needed) as one file per split: the lineage
/// [`Source::lineage_id`] names, through [`fetch_lineage`].
pub fn fetch(source: Source, out_dir: &Path, scratch: &Path) -> Result<Fetched, FetchError> {
    let lineage = Registry::builtin()
        .get(source.lineage_id())
        .map_err(|e| FetchError::Unknown(e.to_string()))?;
    fetch_lineage(lineage, out_dir, scratch)
}

/// Downloads a registry lineage into `out_dir` (created if needed) as `<split>.jsonl` per
/// canonical split, each row with `lineage`, `problem_id`, `split` (canonical),
/// `upstream_split`, `statement_hash` and `text_hash` besides its upstream fields. Every file
/// is checked against its pinned git blob id, and files are written only after every check
/// passed, so a failed fetch leaves nothing half done.
pub fn fetch_lineage(
    lineage: &Lineage,
    out_dir: &Path,
    scratch: &Path,
) -> Result<Fetched, FetchError> {
    if !lineage.fetchable() {
        return Err(FetchError::Unknown(format!(
            "{} is listed but not fetchable: {}",
            lineage.id, lineage.note
        )));
    }
    let mut rows = Vec::new();
    for file in &lineage.files {
        match (&file.blob, &file.manifest) {
            (Some(blob), _) => {
                let url = lineage.raw_url(&file.path);
                let target = scratch.join("upstream.jsonl");
                curl(&url, &target)?;
                let bytes = verified(&target, blob, &url)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| FetchError::Format(format!("{url} is not UTF-8")))?;
                rows.extend(upstream_rows(lineage.format, &text, &url)?);
            }
            (None, Some(manifest)) => {
                rows.extend(tree_rows(lineage, &file.path, manifest, scratch)?);
            }
            (None, None) => {
                return Err(FetchError::Format(format!(
                    "{}: file {} has no pin",
                    lineage.id, file.path
                )));
            }
        }
    }
    write_splits(lineage_splits(lineage, rows), out_dir)
}

/// The rows by canonical split, each with the lineage's identity fields added.
fn lineage_splits(lineage: &Lineage, rows: Vec<Value>) -> BTreeMap<String, Vec<Value>> {
    let mut splits: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for mut row in rows {
        let upstream_split = row["split"].as_str().map(str::to_owned);
        let split = lineage.canonical_split(upstream_split.as_deref());
        let name = row["name"].as_str().unwrap_or_default().to_owned();
        let statement = row["formal_statement"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let object = row.as_object_mut().expect("rows are objects");
        object.insert("lineage".into(), json!(lineage.id));
        object.insert("problem_id".into(), json!(lineage.problem_id(&name)));
        object.insert("split".into(), json!(split));
        if let Some(upstream) = upstream_split {
            object.insert("upstream_split".into(), json!(upstream));
        }
        let for_hash = crate::lean::statement_ending_in_by(&statement).unwrap_or(statement);
        object.insert(
            "statement_hash".into(),
            json!(crate::lineage::statement_hash(&for_hash)),
        );
        object.insert(
            "text_hash".into(),
            json!(crate::lineage::text_hash(&for_hash)),
        );
        splits.entry(split).or_default().push(row);
    }
    splits
}

/// The rows of one upstream JSONL file, as `name`, `split` (upstream label, when it has one),
/// `header`, `formal_statement` and the file's other fields.
fn upstream_rows(format: Format, text: &str, url: &str) -> Result<Vec<Value>, FetchError> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |what: String| FetchError::Format(format!("{url} line {}: {what}", index + 1));
        let mut row: Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let field = |row: &Value, key: &str| -> Result<String, FetchError> {
            row[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| at(format!("no string field `{key}`")))
        };
        if !row.is_object() {
            return Err(at("not a JSON object".into()));
        }
        match format {
            Format::DeepseekJsonl => {}
            Format::GoedelJsonl => {
                // The header and a docstring are inside `formal_statement`: the statement
                // starts at its `theorem` line.
                let whole = field(&row, "formal_statement")?;
                let (header, statement) = split_at_theorem(&whole)
                    .ok_or_else(|| at("`formal_statement` has no `theorem` line".into()))?;
                row["header"] = json!(header);
                row["formal_statement"] = json!(statement);
            }
            Format::ProofnetSharpJsonl => {
                let id = field(&row, "id")?;
                row["name"] = json!(id);
                row["header"] = json!(field(&row, "lean4_src_header")?);
                row["formal_statement"] = json!(field(&row, "lean4_formalization")?);
            }
            Format::ProofnetVerifiedJsonl => {
                let mut header = field(&row, "header")?;
                let helper = row["helper"].as_str().unwrap_or_default().to_owned();
                if !helper.trim().is_empty() {
                    header = format!("{}\n\n{}\n\n", header.trim_end(), helper.trim_end());
                }
                row["header"] = json!(header);
                row["formal_statement"] = json!(field(&row, "formal_stmt")?);
            }
            Format::LeanTree | Format::None => {
                return Err(at(format!("{format:?} is not a JSONL format")));
            }
        }
        field(&row, "name")?;
        field(&row, "header")?;
        field(&row, "formal_statement")?;
        rows.push(row);
    }
    Ok(rows)
}

/// A Lean file split before its theorem (and the theorem's docstring, which Lean refuses
/// dangling at the end of a header): (header, statement).
fn split_at_theorem(text: &str) -> Option<(String, String)> {
    let start = text
        .match_indices("theorem ")
        .map(|(i, _)| i)
        .find(|i| *i == 0 || text.as_bytes()[i - 1] == b'\n')?;
    let mut cut = start;
    let before = text[..start].trim_end();
    if before.ends_with("-/")
        && let Some(open) = before.rfind("/--")
        && (open == 0 || text.as_bytes()[open - 1] == b'\n')
    {
        cut = open;
    }
    Some((text[..cut].to_owned(), text[cut..].to_owned()))
}

/// The rows of a tree of one `.lean` file per problem: the tarball at the pinned commit, each
/// file checked against the manifest's blob id.
fn tree_rows(
    lineage: &Lineage,
    folder: &str,
    manifest: &str,
    scratch: &Path,
) -> Result<Vec<Value>, FetchError> {
    let manifest = crate::lineage::manifest_text(manifest)
        .ok_or_else(|| FetchError::Format(format!("no manifest {manifest} in this build")))?;
    let url = lineage.tarball_url();
    let archive = scratch.join("upstream.tar.gz");
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
    let repo_name = lineage.repo.rsplit('/').next().unwrap_or(&lineage.repo);
    let root = scratch
        .join(format!("{repo_name}-{}", lineage.commit))
        .join(folder);
    read_tree(&root, folder, manifest)
}

/// The rows of an unpacked tree at `root` (the repository's `folder`), each file checked
/// against the manifest's blob id: `Valid/` and `Test/` folders give the upstream split, one
/// flat folder none.
fn read_tree(root: &Path, folder: &str, manifest: &str) -> Result<Vec<Value>, FetchError> {
    let has_split_folders = root.join("Valid").is_dir() || root.join("Test").is_dir();
    let mut rows = Vec::new();
    for line in manifest.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.split_whitespace();
        let (Some(split), Some(name), Some(blob)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (relative, upstream_split) = if has_split_folders {
            let folder = if split == "valid" { "Valid" } else { "Test" };
            (format!("{folder}/{name}.lean"), Some(folder))
        } else {
            (format!("{name}.lean"), None)
        };
        let path = root.join(&relative);
        let bytes = verified(&path, blob, &format!("{folder}/{relative}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| FetchError::Format(format!("{} is not UTF-8", path.display())))?;
        let (header, statement) = split_at_theorem(&text)
            .ok_or_else(|| FetchError::Format(format!("{} has no theorem", path.display())))?;
        let mut row = json!({
            "name": name,
            "header": header,
            "formal_statement": statement,
        });
        if let Some(label) = upstream_split {
            row["split"] = json!(label);
        }
        rows.push(row);
    }
    Ok(rows)
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
    fn each_upstream_format_reads_into_rows() {
        let goedel = r#"{"name":"p","split":"test","formal_statement":"import Mathlib\n\n/-- doc -/\ntheorem p : True := by\n"}"#;
        let rows = upstream_rows(Format::GoedelJsonl, goedel, "u").unwrap();
        assert_eq!(rows[0]["header"], "import Mathlib\n\n");
        assert_eq!(
            rows[0]["formal_statement"],
            "/-- doc -/\ntheorem p : True := by\n"
        );
        let sharp = r#"{"id":"Artin|e_1","lean4_src_header":"import Mathlib\n","lean4_formalization":"theorem e_1 : True :="}"#;
        let rows = upstream_rows(Format::ProofnetSharpJsonl, sharp, "u").unwrap();
        assert_eq!(rows[0]["name"], "Artin|e_1");
        assert_eq!(rows[0]["formal_statement"], "theorem e_1 : True :=");
        let verified = r#"{"name":"Artin_e_1","header":"import Mathlib\n","helper":"def f := 1","formal_stmt":"theorem Artin_e_1 : f = 1 :="}"#;
        let rows = upstream_rows(Format::ProofnetVerifiedJsonl, verified, "u").unwrap();
        assert_eq!(rows[0]["header"], "import Mathlib\n\ndef f := 1\n\n");
        let err = upstream_rows(Format::DeepseekJsonl, "{\"name\":\"x\"}\n", "the-url")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the-url line 1") && err.contains("header"),
            "{err}"
        );
    }

    #[test]
    fn trees_read_with_their_split_folders_and_rows_get_their_identity() {
        let dir = tempfile::tempdir().unwrap();
        let write = |relative: &str, text: &str| {
            let path = dir.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            git_blob_id(text.as_bytes())
        };
        let doc = "import Mathlib\n\nabbrev s : ℕ := sorry\n/--\nThe doc.\n-/\ntheorem p (n : ℕ) :\n  n = n :=\nsorry\n";
        let plain =
            "import Mathlib\n\ntheorem numbertheory_notEquiv2i2jasqbsqdiv8 : True := by sorry\n";
        let manifest = format!(
            "# comment\nvalid p {}\ntest numbertheory_notEquiv2i2jasqbsqdiv8 {}\n",
            write("Valid/p.lean", doc),
            write("Test/numbertheory_notEquiv2i2jasqbsqdiv8.lean", plain)
        );
        let rows = read_tree(dir.path(), "MiniF2F", &manifest).unwrap();
        assert_eq!(
            rows[0]["header"],
            "import Mathlib\n\nabbrev s : ℕ := sorry\n"
        );
        assert_eq!(
            rows[0]["formal_statement"],
            "/--\nThe doc.\n-/\ntheorem p (n : ℕ) :\n  n = n :=\nsorry\n",
            "a docstring goes with its theorem, never dangling at the end of a header"
        );
        let yangky11 = Registry::builtin().get("minif2f/yangky11").unwrap();
        let splits = lineage_splits(yangky11, rows);
        let test = &splits["test"][0];
        assert_eq!(test["lineage"], "minif2f/yangky11@5746b7d");
        assert_eq!(test["problem_id"], "numbertheory_notequiv2i2jasqbsqdiv8");
        assert_eq!(test["upstream_split"], "Test");
        assert_eq!(
            test["statement_hash"],
            crate::lineage::statement_hash("theorem x : True := by")
        );
        assert_eq!(splits["valid"][0]["name"], "p");

        // A changed file is refused, naming it.
        write("Valid/p.lean", "theorem p : False := by sorry\n");
        let err = read_tree(dir.path(), "MiniF2F", &manifest)
            .unwrap_err()
            .to_string();
        assert!(err.contains("MiniF2F/Valid/p.lean"), "{err}");
    }

    #[test]
    fn unverified_lineages_are_not_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let v2s = Registry::builtin().get("minif2f/v2s").unwrap();
        let err = fetch_lineage(v2s, dir.path(), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not fetchable"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
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
