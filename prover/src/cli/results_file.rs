//! Results files that `eval` and `check` append to: locked against a second writer, never mistaken for another file, resumed after a crash.
//!
//! Opening one refuses, before any work starts and without touching the file:
//! - a path that is one of the run's inputs (the dataset, the proofs, a reference);
//! - a file that exists but is not a results file of this subcommand (some complete line does
//!   not read as one of its records): a dataset, a `check` output given to `eval`, a notes file;
//! - a file another `prover` holds (an advisory lock, `flock`, for as long as the run lasts).
//!
//! A last line without its newline (a write cut short by a crash) is cut off so the file stays
//! one JSON object per line; `--fresh` empties the file instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An open, locked results file, positioned at its end.
pub(super) struct ResultsFile {
    file: File,
    path: PathBuf,
    /// This run created the file.
    created: bool,
}

/// Opens `path` for `subcommand` (`"eval"`, `"check"`), and returns it with the records it
/// already holds (none with `fresh`).
pub(super) fn open<R: DeserializeOwned>(
    path: &Path,
    subcommand: &str,
    fresh: bool,
    inputs: &[&Path],
) -> anyhow::Result<(ResultsFile, Vec<R>)> {
    if path.exists() && !path.is_file() {
        bail!(
            "results {} exist but are not a regular file; pass a file path to --out",
            path.display()
        );
    }
    for input in inputs {
        if same_file(path, input) {
            bail!(
                "--out {} is also an input of this run ({}); refusing to write over it",
                path.display(),
                input.display()
            );
        }
    }
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open results {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => bail!(
            "results {} are being written by another prover process; wait for it to finish or \
             pass another --out",
            path.display()
        ),
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock results {}", path.display()));
        }
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read results {}", path.display()))?;
    let (records, good_len) = read_records::<R>(&bytes).map_err(|line| {
        anyhow::anyhow!(
            "--out {} is not a results file of `prover {subcommand}` (line {line} is not one of \
             its results); refusing to write into it: pass a new file, or delete it",
            path.display()
        )
    })?;
    if fresh {
        file.set_len(0)
            .with_context(|| format!("cannot truncate results {}", path.display()))?;
        return Ok((
            ResultsFile {
                file,
                path: path.to_owned(),
                created,
            },
            Vec::new(),
        ));
    }
    if good_len < bytes.len() {
        note!(
            "prover {subcommand}: {}: dropping {} byte(s) after the last complete result (an \
             interrupted write); those items run again",
            path.display(),
            bytes.len() - good_len
        );
        file.set_len(good_len as u64)
            .with_context(|| format!("cannot repair results {}", path.display()))?;
    }
    file.seek(SeekFrom::End(0))?;
    Ok((
        ResultsFile {
            file,
            path: path.to_owned(),
            created,
        },
        records,
    ))
}

/// The records of a results file and the length of its good prefix; `Err(line)` names the
/// first complete line that is not a record. Only a last line without its newline may be torn.
fn read_records<R: DeserializeOwned>(bytes: &[u8]) -> Result<(Vec<R>, usize), usize> {
    let mut records = Vec::new();
    let mut good_len = 0;
    for (index, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let complete = line.ends_with(b"\n");
        match serde_json::from_slice::<R>(line) {
            Ok(record) if complete => {
                records.push(record);
                good_len += line.len();
            }
            _ if !complete => break,
            _ if line.iter().all(u8::is_ascii_whitespace) => good_len += line.len(),
            _ => return Err(index + 1),
        }
    }
    Ok((records, good_len))
}

/// Whether two paths name the same file (the same device and inode when both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

impl ResultsFile {
    /// Gives the file up before any result was written: a file this run created is removed
    /// again, so a run that could not start leaves nothing behind.
    pub(super) fn abandon(self) {
        let empty = self.file.metadata().is_ok_and(|m| m.len() == 0);
        if self.created && empty {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Appends one record as a line and syncs it to disk.
    pub(super) fn append<R: Serialize>(&mut self, record: &R) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(record).context("cannot encode a result")?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("cannot write results to {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Row {
        name: String,
        status: String,
    }

    #[test]
    fn a_torn_last_line_is_cut_and_a_foreign_line_refuses_the_file() {
        let good = b"{\"name\":\"a\",\"status\":\"x\"}\n{\"name\":\"b\",\"status\":\"y\"}\n";
        let (rows, len) = read_records::<Row>(good).unwrap();
        assert_eq!((rows.len(), len), (2, good.len()));
        let torn = [&good[..], b"{\"name\":\"c\",\"sta"].concat();
        let (rows, len) = read_records::<Row>(&torn).unwrap();
        assert_eq!((rows.len(), len), (2, good.len()));
        // A dataset row is a complete line that is no result: refused, naming the line.
        let dataset = [&good[..], b"{\"name\":\"t\",\"formal_statement\":\"x\"}\n"].concat();
        assert_eq!(read_records::<Row>(&dataset).unwrap_err(), 3);
        assert_eq!(read_records::<Row>(b"hello\nworld\n").unwrap_err(), 1);
        assert_eq!(read_records::<Row>(b"").unwrap(), (vec![], 0));
    }

    #[test]
    fn a_second_writer_and_an_input_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let (_held, _) = open::<Row>(&out, "eval", false, &[]).unwrap();
        let second = open::<Row>(&out, "eval", false, &[]).err().unwrap();
        assert!(
            second.to_string().contains("another prover process"),
            "{second}"
        );
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "{}\n").unwrap();
        let refused = open::<Row>(&input, "eval", false, &[&input]).err().unwrap();
        assert!(refused.to_string().contains("also an input"), "{refused}");
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "{}\n");
    }
}
