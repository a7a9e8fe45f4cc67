//! JSONL files: a line reader that tolerates what editors and other tools write, one append log for every results file, and one atomic writer.
//!
//! - [`jsonl_lines`] and [`parse_object`]: numbered lines, a byte-order mark and CRLF
//!   tolerated, a line that is not UTF-8 or not a JSON object an error of its own ([`RowError`]).
//! - [`AppendLog`]: a results file opened for one run: locked against a second writer
//!   (`flock`), refused when it is an input of the run or not a file of its kind (nothing is
//!   touched), its torn last line cut, each record appended and synced.
//! - [`write_atomic`] (from [`crate::output`]): a whole file replaced at once.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A row that cannot be checked, naming what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RowError {
    /// 1-based line.
    pub line: usize,
    /// The row's name, when it had one.
    pub name: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// The lines of a JSONL file, numbered from 1, with blank lines left out: a UTF-8 byte-order
/// mark before the first line and a `\r` before each newline are tolerated, and a line that is
/// not UTF-8 is an error for that line alone.
pub fn jsonl_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, Result<&str, RowError>)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(index, raw)| {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let text = std::str::from_utf8(raw).map_err(|e| RowError {
                line: index + 1,
                name: None,
                reason: format!("not UTF-8 text (byte {} of the line)", e.valid_up_to() + 1),
            });
            (index + 1, text)
        })
        .filter(|(_, text)| !matches!(text, Ok(t) if t.trim().is_empty()))
}

/// One JSONL row as a JSON object; anything else (an array, a number, broken JSON) is an error
/// naming the line.
pub fn parse_object(
    line: usize,
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, RowError> {
    let fail = |reason: String| RowError {
        line,
        name: None,
        reason,
    };
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(fail(format!(
            "not a JSON object: found {}",
            match other {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            }
        ))),
        Err(e) => Err(fail(format!("not a JSON object: {e}"))),
    }
}

/// Every row of a JSONL file that reads as an `R`, and an error naming the line (and the
/// row's `name`, when it has one) for each line that does not; a row whose `schema_version` is
/// newer than `max_version` is refused rather than read wrongly. Readers that must go on past a
/// bad line (`prover report`, `prover tree`) use this.
pub fn read_rows_versioned<R: DeserializeOwned>(
    bytes: &[u8],
    max_version: u32,
) -> (Vec<R>, Vec<RowError>) {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (line, text) in jsonl_lines(bytes) {
        let parsed = text.and_then(|text| {
            let object = parse_object(line, text)?;
            let name = object
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_owned);
            let fail = |reason: String| RowError {
                line,
                name: name.clone(),
                reason,
            };
            let version = object
                .get("schema_version")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(1);
            if version > u64::from(max_version) {
                return Err(fail(format!(
                    "schema_version {version} is newer than this prover reads ({max_version})"
                )));
            }
            serde_json::from_value(serde_json::Value::Object(object))
                .map_err(|e| fail(e.to_string()))
        });
        match parsed {
            Ok(row) => rows.push(row),
            Err(error) => errors.push(error),
        }
    }
    (rows, errors)
}

/// [`read_rows_versioned`] for records at schema version 1.
pub fn read_rows<R: DeserializeOwned>(bytes: &[u8]) -> (Vec<R>, Vec<RowError>) {
    read_rows_versioned(bytes, 1)
}

/// Why a results file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The path is a directory or another non-file.
    #[error("results {} exist but are not a regular file; pass a file path to --out", .0.display())]
    NotAFile(PathBuf),
    /// The path is one of the run's inputs.
    #[error("--out {} is also an input of this run ({}); refusing to write over it", .path.display(), .input.display())]
    IsAnInput {
        /// The output path.
        path: PathBuf,
        /// The input it equals.
        input: PathBuf,
    },
    /// Another process holds the lock.
    #[error("results {} are being written by another prover process; wait for it to finish or pass another --out", .0.display())]
    Locked(PathBuf),
    /// A complete line is not a record of this kind.
    #[error("--out {} is not a results file of `prover {kind}` (line {line} is not one of its results); refusing to write into it: pass a new file, or delete it", .path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
        /// The subcommand whose results it should hold.
        kind: String,
        /// The first line that is not a record.
        line: usize,
    },
    /// Reading, writing, locking or syncing failed.
    #[error("results {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A record could not be encoded.
    #[error("cannot encode a result: {0}")]
    Encode(#[from] serde_json::Error),
}

/// An open, locked results file, positioned at its end.
#[derive(Debug)]
pub struct AppendLog {
    file: File,
    path: PathBuf,
    /// This run created the file.
    created: bool,
    /// Bytes cut off a torn last line when the file was opened.
    pub repaired_bytes: usize,
}

impl AppendLog {
    /// Opens `path` as the results file of `kind` (`"eval"`, `"check"`) and returns it with
    /// the records it already holds (none with `fresh`, which empties it).
    pub fn open<R: DeserializeOwned>(
        path: &Path,
        kind: &str,
        fresh: bool,
        inputs: &[&Path],
    ) -> Result<(AppendLog, Vec<R>), LogError> {
        let io = |source| LogError::Io {
            path: path.to_owned(),
            source,
        };
        if path.exists() && !path.is_file() {
            return Err(LogError::NotAFile(path.to_owned()));
        }
        if let Some(input) = inputs.iter().find(|input| same_file(path, input)) {
            return Err(LogError::IsAnInput {
                path: path.to_owned(),
                input: input.to_path_buf(),
            });
        }
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(LogError::Locked(path.to_owned())),
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (records, good_len) = read_records::<R>(&bytes).map_err(|line| LogError::Foreign {
            path: path.to_owned(),
            kind: kind.to_owned(),
            line,
        })?;
        let mut log = AppendLog {
            file,
            path: path.to_owned(),
            created,
            repaired_bytes: 0,
        };
        if fresh {
            log.file.set_len(0).map_err(io)?;
            return Ok((log, Vec::new()));
        }
        if good_len < bytes.len() {
            log.repaired_bytes = bytes.len() - good_len;
            log.file.set_len(good_len as u64).map_err(io)?;
        }
        log.file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok((log, records))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as a line and syncs it to disk.
    pub fn append<R: Serialize>(&mut self, record: &R) -> Result<(), LogError> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| LogError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Gives the file up before any record was written: a file this run created is removed
    /// again, so a run that could not start leaves nothing behind.
    pub fn abandon(self) {
        let empty = self.file.metadata().is_ok_and(|m| m.len() == 0);
        if self.created && empty {
            let _ = std::fs::remove_file(&self.path);
        }
    }
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

pub use crate::output::write_atomic;

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
    fn lines_tolerate_a_bom_and_crlf_and_fail_alone_when_not_utf8() {
        let bytes = b"\xEF\xBB\xBF{\"a\": 1}\r\n\n{\"b\": \xFF}\n[1, 2]\n";
        let lines: Vec<(usize, Result<&str, RowError>)> = jsonl_lines(bytes).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].0, 1);
        assert_eq!(lines[0].1.as_ref().unwrap(), &"{\"a\": 1}");
        assert_eq!(lines[1].0, 3);
        assert!(
            lines[1]
                .1
                .as_ref()
                .unwrap_err()
                .reason
                .contains("not UTF-8")
        );
        let array = parse_object(4, lines[2].1.as_ref().unwrap()).unwrap_err();
        assert_eq!(
            array.to_string(),
            "line 4: not a JSON object: found an array"
        );
        assert!(parse_object(1, "{\"a\": 1}").is_ok());
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
        let (_held, _) = AppendLog::open::<Row>(&out, "eval", false, &[]).unwrap();
        let second = AppendLog::open::<Row>(&out, "eval", false, &[]).unwrap_err();
        assert!(matches!(second, LogError::Locked(_)), "{second}");
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "{}\n").unwrap();
        let refused = AppendLog::open::<Row>(&input, "eval", false, &[&input]).unwrap_err();
        assert!(refused.to_string().contains("also an input"), "{refused}");
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "{}\n");
    }
}
