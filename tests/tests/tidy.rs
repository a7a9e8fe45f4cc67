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

/// What a pure module names: nothing of the crate, no IO, no async, no serialization, no Lean
/// process, no network, no store.
const IMPURE: &[&str] = &[
    "crate::",
    "tokio",
    "serde",
    "std::fs",
    "std::process",
    "std::env",
    "std::net",
    "lean_bridge",
    "reqwest",
    "sled",
];

#[test]
fn the_search_core_is_pure() {
    // Nothing of the crate, no IO, no async, no serialization: goals and tactics are opaque
    // values behind `ProofEnv` and `Policy`, time is a `Clock`.
    let found = mentions("prover/src/search", IMPURE);
    assert!(
        found.is_empty(),
        "prover::search must stay pure: {found:#?}"
    );
}

#[test]
fn lean_text_is_pure() {
    // `prover::text` reads and splices Lean source for every front end and the engine alike:
    // nothing of the crate, no IO, no async, no serialization, no Lean process.
    let found = mentions("prover/src/text", IMPURE);
    assert!(found.is_empty(), "prover::text must stay pure: {found:#?}");
}

/// `mentions`, outside the files or folders `allowed` (paths from the workspace root).
fn mentions_outside(dirs: &[&str], needles: &[&str], allowed: &[&str]) -> Vec<String> {
    dirs.iter()
        .flat_map(|dir| mentions(dir, needles))
        .filter(|line| !allowed.iter().any(|a| line.starts_with(a)))
        .collect()
}

#[test]
fn only_the_settings_read_the_environment() {
    let found = mentions_outside(
        &["prover/src", "prover/cli/src", "lean-bridge/src"],
        &[
            "env::var",
            "env::current_dir",
            "env::vars",
            "EnvFilter::from_env",
            "try_from_env",
        ],
        &["prover/src/settings.rs"],
    );
    assert!(
        found.is_empty(),
        "the environment is read by prover::settings only: {found:#?}"
    );
}

#[test]
fn only_the_cli_names_clap() {
    // The library serves other front ends (an editor server, pipelines): flags stay in the
    // binary's package, which turns them into `settings` overlays.
    let found = mentions_outside(
        &["prover/src", "prover/lsp/src", "lean-bridge/src"],
        &["clap"],
        &[],
    );
    assert!(found.is_empty(), "clap belongs to prover-cli: {found:#?}");
    let manifest = std::fs::read_to_string(workspace_root().join("prover/Cargo.toml")).unwrap();
    assert!(
        !manifest.lines().any(|l| l.trim_start().starts_with("clap")),
        "the prover library must not depend on clap"
    );
}

#[test]
fn only_the_editor_server_knows_lsp() {
    let found = mentions_outside(
        &[
            "prover/src",
            "prover/cli/src",
            "lean-bridge/src",
            "datasets/src",
        ],
        &["tower_lsp", "ls_types", "lsp_types"],
        &[],
    );
    assert!(
        found.is_empty(),
        "LSP types belong to prover-lsp: {found:#?}"
    );
}

#[test]
fn only_the_cli_uses_anyhow() {
    let found = mentions_outside(
        &["prover/src", "prover/lsp/src", "lean-bridge/src"],
        &["anyhow"],
        &[],
    );
    assert!(found.is_empty(), "libraries use typed errors: {found:#?}");
}

#[test]
fn each_outside_service_has_one_module() {
    for (needle, home) in [
        ("sled", "prover/src/cache/"),
        ("reqwest", "prover/src/llm/"),
    ] {
        let found = mentions_outside(
            &[
                "prover/src",
                "prover/cli/src",
                "lean-bridge/src",
                "datasets/src",
            ],
            &[needle],
            &[home],
        );
        assert!(found.is_empty(), "only {home} names {needle}: {found:#?}");
    }
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
    // `prover/cli/src/lib.rs` creates the editor server's log and trace files, which are not
    // results: nothing resumes from them.
    let found = mentions_outside(
        &["prover/src", "prover/cli/src", "prover/lsp/src"],
        &["File::create", "OpenOptions"],
        &["prover/cli/src/lib.rs"],
    );
    assert!(
        found.is_empty(),
        "results are written through datasets::AppendLog or write_atomic: {found:#?}"
    );
}

#[test]
fn the_report_is_pure_and_only_its_charts_name_the_plotting_crate() {
    // `prover-report` turns rows into text: the CLI reads the files and writes the output, so
    // the same rows always give the same bytes (no clock, no environment, no file).
    let found = mentions(
        "prover/report/src",
        &[
            "std::fs",
            "std::env",
            "std::time",
            "SystemTime",
            "Instant",
            "HashMap<String",
            "std::process",
            "tokio",
        ],
    );
    assert!(found.is_empty(), "prover-report must stay pure: {found:#?}");
    let found = mentions_outside(
        &[
            "prover/src",
            "prover/cli/src",
            "prover/lsp/src",
            "prover/report/src",
            "datasets/src",
        ],
        &["plotters"],
        &["prover/report/src/charts.rs"],
    );
    assert!(
        found.is_empty(),
        "only prover/report/src/charts.rs draws charts: {found:#?}"
    );
}

#[test]
fn the_batch_loop_exists_once() {
    // `prover::pipeline::batch::run` is the one loop that runs many jobs a bounded number at
    // once (stop, model outage, completion order): a second one would drift from its rules.
    // Every way to bound concurrency in tokio or futures is refused elsewhere: a semaphore, a
    // `JoinSet`, a buffered or concurrent stream. (`lean-bridge`'s pool hands out processes,
    // not jobs, and is not a batch loop.)
    let found = mentions_outside(
        &[
            "prover/src",
            "prover/cli/src",
            "prover/lsp/src",
            "prover/report/src",
            "datasets/src",
        ],
        &[
            "Semaphore",
            "acquire_owned",
            "JoinSet",
            "FuturesUnordered",
            "buffer_unordered",
            "buffered(",
            "for_each_concurrent",
        ],
        &["prover/src/pipeline/batch.rs"],
    );
    assert!(
        found.is_empty(),
        "run batches through prover::pipeline::batch::run: {found:#?}"
    );
}

/// The library's insides a front end must not name: Lean processes, the engine, the checker's
/// rules and the cache. A front end goes through `prover::{session, job, settings, pipeline,
/// text, datasets}` and the types `prover` re-exports at its root.
const BEHIND_THE_FRONT_DOOR: [&str; 4] = ["engine", "check", "cache", "lean_bridge"];

/// The modules of `prover` a front end's own code (`src/`) may name; anything else it takes
/// from `prover`'s root (the re-exported types: `Session`, `ProveResult`, `VerdictReuse`, …).
const FRONT_DOOR: [&str; 6] = ["session", "job", "settings", "pipeline", "text", "datasets"];

/// The modules of `prover` that `code` names outside [`FRONT_DOOR`], with their byte offsets:
/// in a path `prover::module…`, or as the first name of an item of a `use prover::{…}` list.
fn outside_the_front_door(code: &str) -> Vec<(usize, String)> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for (start, _) in code.match_indices("prover::") {
        if code[..start].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let rest = &code[start + "prover::".len()..];
        let items: Vec<&str> = match rest.strip_prefix('{') {
            // The list's items at its top level, nested groups skipped.
            Some(list) => {
                let (mut depth, mut items, mut item_start) = (0, Vec::new(), 0);
                for (offset, c) in list.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            items.push(&list[item_start..offset]);
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            items.push(&list[item_start..offset]);
                            item_start = offset + 1;
                        }
                        _ => {}
                    }
                }
                items
            }
            None => vec![rest],
        };
        for item in items {
            let name: String = item
                .trim_start()
                .chars()
                .take_while(|c| is_ident(*c))
                .collect();
            let is_module = name.starts_with(|c: char| c.is_lowercase());
            if is_module && name != "self" && !FRONT_DOOR.contains(&name.as_str()) {
                found.push((start, name));
            }
        }
    }
    found
}

/// Lines of the front-end crates under `dirs` that name what is behind the front door: a path
/// `lean_bridge::…` or `prover::engine` (`check`, `cache`), or such a module in a
/// `use prover::{…}` list, on one line or several.
fn front_end_mentions(dirs: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = dirs
        .iter()
        .flat_map(|dir| {
            mentions(
                dir,
                &[
                    "lean_bridge",
                    "prover::engine",
                    "prover::check",
                    "prover::cache",
                ],
            )
        })
        .collect();
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&workspace_root().join(dir), &mut files);
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code: String = text
            .lines()
            .map(|line| match line.trim_start().starts_with("//") {
                true => "",
                false => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        for (start, _) in code.match_indices("prover::{") {
            // The list up to its closing brace, nested groups included.
            let mut depth = 0;
            let mut end = code.len();
            for (offset, c) in code[start..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = start + offset;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let list = &code[start..end];
            let named: Vec<&str> = list
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| BEHIND_THE_FRONT_DOOR.contains(word))
                .collect();
            if !named.is_empty() {
                let line = code[..start].matches('\n').count() + 1;
                found.push(format!(
                    "{}:{line}: prover::{{…}} names {named:?}",
                    relative(&file)
                ));
            }
        }
        // Tests and benchmarks may build their fixtures from the library's insides (the
        // portfolio's candidates, for a simulated world); the front end's own code may not.
        let own_code = relative(&file).contains("/src/");
        for (start, module) in outside_the_front_door(&code)
            .into_iter()
            .filter(|_| own_code)
        {
            let line = code[..start].matches('\n').count() + 1;
            found.push(format!(
                "{}:{line}: names prover::{module}, outside the front door",
                relative(&file)
            ));
        }
    }
    found
}

#[test]
fn front_ends_name_only_the_front_door() {
    // The CLI and the editor server drive Lean only through the library's sessions, jobs and
    // pipelines, so a new front end (an MCP server) has one door to learn and the library is
    // free to change what is behind it. Cargo holds the other half: no front end depends on
    // `lean-bridge` (it reaches them through `prover` only).
    let crates = ["prover/cli", "prover/lsp"];
    let found = front_end_mentions(&crates);
    assert!(
        found.is_empty(),
        "front ends name prover::{FRONT_DOOR:?} and the types re-exported at prover's root, \
         never {BEHIND_THE_FRONT_DOOR:?}: {found:#?}"
    );
    for dir in crates {
        let manifest =
            std::fs::read_to_string(workspace_root().join(dir).join("Cargo.toml")).unwrap();
        let mut section = "";
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line;
            }
            let names_bridge =
                line.starts_with("lean-bridge.") || line.starts_with("lean-bridge =");
            assert!(
                !(names_bridge && section == "[dependencies]"),
                "{dir}/Cargo.toml depends on lean-bridge; go through prover"
            );
        }
    }
}
