//! Where tests find reference data that is not in the repository (recorded REPL transcripts, benchmark files, real proofs), or why they skip.
//!
//! One rule for every crate of the workspace (this file is included by path where a crate
//! cannot depend on `prover-tests`): look in `../shared` beside the checkout (the developers'
//! machines and CI), then in the directory `$PROVER_TEST_DATA` names, then in
//! `.lake/test-data/` (what `scripts/setup.sh` fetches). A fresh clone has none of them, and
//! its tests print one `skipped: …` line each instead of failing.
//! `PROVER_HIDE_SHARED=1` leaves `../shared` out, so the suite can be run as a fresh clone
//! would run it.

// Included by `#[path]` into test code of crates that each use part of it, where `pub` items
// of a private module are expected.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// The workspace root: every crate that includes this file sits one level below it.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates sit in the workspace")
        .to_path_buf()
}

/// The places looked in, in order.
pub fn roots() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut roots = Vec::new();
    if std::env::var_os("PROVER_HIDE_SHARED").is_none_or(|v| v.is_empty() || v == "0") {
        roots.push(root.join("../shared"));
    }
    if let Some(dir) = std::env::var_os("PROVER_TEST_DATA").filter(|d| !d.is_empty()) {
        roots.push(PathBuf::from(dir));
    }
    roots.push(root.join(".lake/test-data"));
    roots
}

/// `relative` (a file or a directory, e.g. `fixtures/repl-transcripts`) in the first of
/// `roots` that holds it.
pub fn find_in(roots: &[PathBuf], relative: &str) -> Option<PathBuf> {
    roots
        .iter()
        .map(|root| root.join(relative))
        .find(|path| path.exists())
}

/// `relative` in the first of [`roots`] that holds it.
pub fn find(relative: &str) -> Option<PathBuf> {
    find_in(&roots(), relative)
}

/// `relative` for the test named `test`, or `None` after printing its skip line (past the
/// test harness's capture, so it shows in a normal `cargo test` run).
pub fn find_or_skip(relative: &str, test: &str) -> Option<PathBuf> {
    let found = find(relative);
    if found.is_none() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: {relative} is not in ../shared, $PROVER_TEST_DATA or .lake/test-data \
             (run scripts/setup.sh to fetch it): {test}"
        );
    }
    found
}
