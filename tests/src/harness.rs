//! End-to-end harness: builds the real `prover` binary once and finds `lake` for gated tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The workspace root (where `Cargo.toml`, `lakefile.lean` and `lean-project/` live).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The shared read-only reference folder beside the checkout (`../shared`).
pub fn shared_dir() -> PathBuf {
    workspace_root().join("../shared")
}

/// The path of the `prover` binary, built on first use with the same profile as the tests.
///
/// `CARGO_BIN_EXE_*` only names binaries of the package under test, and `prover` lives in
/// another package, so it is built through cargo (escargot), once per test process.
pub fn prover_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let build = escargot::CargoBuild::new()
            .manifest_path(workspace_root().join("Cargo.toml"))
            .package("prover")
            .bin("prover")
            .current_release()
            .current_target()
            .run()
            .expect("cargo builds the prover binary");
        build.path().to_path_buf()
    })
}

/// `lake` on `PATH`, if a Lean toolchain is installed.
pub fn find_lake() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("lake"))
        .find(|candidate| candidate.is_file())
}

/// Returns `lake` for a test that needs real Lean, or prints the skip line and returns `None`.
pub fn lean_or_skip(test: &str) -> Option<PathBuf> {
    match find_lake() {
        Some(lake) => Some(lake),
        None => {
            print_uncaptured(&format!(
                "skipped: no Lean toolchain (`lake` not on PATH): {test}"
            ));
            None
        }
    }
}

/// Writes a line straight to the process's stderr, past the test harness's output capture, so
/// skip lines show in a normal `cargo test` run.
pub fn print_uncaptured(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// A `Command` for the `prover` binary with a cache directory of its own, so no test reads
/// another test's (or the user's) cache unless it passes `--cache` itself.
pub fn prover_command() -> std::process::Command {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = workspace_root().join("target/test-caches").join(format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut command = std::process::Command::new(prover_bin());
    command.env("XDG_CACHE_HOME", dir);
    command
}
