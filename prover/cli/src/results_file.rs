//! The results file of `eval` and `check`: `datasets::AppendLog` (locked, validated, resumed), with the CLI's word about a repaired line.

use std::path::Path;

use serde::de::DeserializeOwned;

pub(super) use ::datasets::AppendLog as ResultsFile;

/// Opens `path` as the results file of `subcommand`, with the records it already holds; says
/// on stderr when a line cut short by a crash was dropped.
pub(super) fn open<R: DeserializeOwned>(
    path: &Path,
    subcommand: &str,
    fresh: bool,
    inputs: &[&Path],
) -> anyhow::Result<(ResultsFile, Vec<R>)> {
    let (log, records) = ResultsFile::open(path, subcommand, fresh, inputs)?;
    if log.repaired_bytes > 0 {
        note!(
            "prover {subcommand}: {}: dropping {} byte(s) after the last complete result (an \
             interrupted write); those items run again",
            path.display(),
            log.repaired_bytes
        );
    }
    Ok((log, records))
}
