//! Repository-wide checks run as an ordinary test: file docs, no ignored tests, module boundaries.

use std::path::{Path, PathBuf};

use prover_tests::harness::workspace_root;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn workspace_rust_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["prover", "lean-bridge", "datasets", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 10, "found only {} files", files.len());
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    let missing: Vec<String> = workspace_rust_files()
        .into_iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap().starts_with("//!"))
        .map(|p| relative(&p))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line: {missing:#?}"
    );
}

#[test]
fn no_test_is_ignored_or_expected_to_panic() {
    let ignore = ["#[", "ignore"].concat();
    let should_panic = ["#[", "should_panic"].concat();
    let offenders: Vec<String> = workspace_rust_files()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.contains(&ignore) || text.contains(&should_panic)
        })
        .map(|p| relative(&p))
        .collect();
    assert!(
        offenders.is_empty(),
        "gate slow tests with a printed skip line instead: {offenders:#?}"
    );
}

/// Lines of code (not comments) under `dir` that mention any of `needles`.
fn mentions(dir: &str, needles: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&workspace_root().join(dir), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if needles.iter().any(|n| code.contains(n)) {
                found.push(format!("{}:{}: {}", relative(&file), i + 1, code));
            }
        }
    }
    found
}

#[test]
fn the_search_core_is_pure() {
    let found = mentions(
        "prover/src/search",
        &[
            "tokio",
            "std::fs",
            "std::process",
            "lean_bridge",
            "std::env",
            "crate::cli",
            "crate::check",
            "reqwest",
            "sled",
        ],
    );
    assert!(
        found.is_empty(),
        "prover::search must stay pure: {found:#?}"
    );
}

#[test]
fn only_the_cli_reads_flags_or_the_environment() {
    let mut found = Vec::new();
    for dir in ["prover/src", "lean-bridge/src"] {
        found.extend(
            mentions(dir, &["clap::", "std::env::var", "env::var("])
                .into_iter()
                .filter(|l| !l.starts_with("prover/src/cli/")),
        );
    }
    assert!(
        found.is_empty(),
        "flags and environment belong to prover::cli: {found:#?}"
    );
}

#[test]
fn only_the_cli_and_pipelines_use_anyhow() {
    let found: Vec<String> = mentions("prover/src", &["anyhow"])
        .into_iter()
        .chain(mentions("lean-bridge/src", &["anyhow"]))
        .filter(|l| !l.starts_with("prover/src/cli/") && !l.starts_with("prover/src/main.rs"))
        .collect();
    assert!(found.is_empty(), "libraries use typed errors: {found:#?}");
}

#[test]
fn the_formats_crate_depends_on_nothing_of_the_workspace() {
    // `datasets` holds every on-disk format; Lean, async and the agent stay out of it, so
    // any tool (a report, a merge, a trainer) can read the files without them.
    let manifest = std::fs::read_to_string(workspace_root().join("datasets/Cargo.toml")).unwrap();
    for crate_name in ["lean-bridge", "prover", "tokio", "prover-tests"] {
        let dependency = manifest.lines().any(|l| {
            l.trim_start().starts_with(&format!("{crate_name}."))
                || l.trim_start().starts_with(&format!("{crate_name} ="))
        });
        assert!(!dependency, "datasets must not depend on {crate_name}");
    }
    let found = mentions(
        "datasets/src",
        &[
            "lean_bridge",
            "tokio",
            "prover::",
            "anyhow",
            "std::env::var",
        ],
    );
    assert!(found.is_empty(), "datasets names another crate: {found:#?}");
}

#[test]
fn results_files_are_opened_through_the_append_log_only() {
    // One way to write results: `datasets::AppendLog` (lock, validation, resume).
    let found: Vec<String> = mentions("prover/src", &["File::create", "OpenOptions"])
        .into_iter()
        .collect();
    assert!(
        found.is_empty(),
        "results are written through datasets::AppendLog or write_atomic: {found:#?}"
    );
}
