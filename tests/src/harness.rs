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

/// A file or directory of the reference data outside the repository (see
/// [`crate::test_data`]), or `None` after printing the test's `skipped: …` line.
pub fn shared_file_or_skip(relative: &str, test: &str) -> Option<PathBuf> {
    crate::test_data::find_or_skip(relative, test)
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
            .package("prover-cli")
            .bin("prover")
            .current_release()
            // No `--target`: the binary lands in target/<profile>/, where `cargo test` has
            // already built it, instead of a second build tree of every dependency.
            .run()
            .expect("cargo builds the prover binary");
        build.path().to_path_buf()
    })
}

/// The path of the `sim-repl` simulator, for tests outside this package (which get no
/// `CARGO_BIN_EXE_sim-repl`): built through cargo once per test process, as [`prover_bin`].
pub fn sim_repl_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let build = escargot::CargoBuild::new()
            .manifest_path(workspace_root().join("Cargo.toml"))
            .package("prover-tests")
            .bin("sim-repl")
            .current_release()
            .run()
            .expect("cargo builds the sim-repl simulator");
        build.path().to_path_buf()
    })
}

/// The program `name` on `PATH`, if installed.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `lake` on `PATH`, if a Lean toolchain is installed.
pub fn find_lake() -> Option<PathBuf> {
    find_on_path("lake")
}

/// Returns `lake` for a test that needs real Lean, or prints the skip line and returns `None`.
///
/// Real Lean means the set-up has run: `lake` is found (on `PATH` or in `~/.elan/bin`) *and*
/// the pinned REPL is built in this checkout. A machine with elan but no set-up skips too,
/// instead of failing.
pub fn lean_or_skip(test: &str) -> Option<PathBuf> {
    let repl = workspace_root().join(".lake/packages/REPL/.lake/build/bin/repl");
    let lake = find_lake().or_else(|| {
        let home = std::env::var_os("HOME")?;
        let lake = PathBuf::from(home).join(".elan/bin/lake");
        lake.is_file().then_some(lake)
    });
    match lake {
        Some(lake) if repl.is_file() => Some(lake),
        Some(_) => {
            print_uncaptured(&format!(
                "skipped: Lean is installed but the REPL is not built at {} (run scripts/setup.sh): {test}",
                repl.display()
            ));
            None
        }
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

/// The header miniF2F rows carry (the yangky11 and DeepSeek files alike).
pub const MINIF2F_HEADER: &str = "import Mathlib\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n\n";

/// The smallest header: Mathlib alone.
pub const MATHLIB_HEADER: &str = "import Mathlib\n";

/// A hand-written world of `tests/fixtures/worlds/`.
pub fn fixture_world(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/worlds").join(name)
}

/// The shell command line that starts `sim-repl` (the simulated REPL, not Lean), built flag by
/// flag: the one place tests spell its options.
#[derive(Debug, Clone)]
pub struct SimRepl {
    args: Vec<String>,
}

/// The environment variable that picks the Lean version every [`SimRepl`] imitates
/// (`sim-repl --lean-version`): `4.24` (the pinned version, the simulator's default) or `4.33`.
/// CI runs the Lean-facing end-to-end tests once more with `4.33`.
pub const SIM_LEAN_VERSION_VAR: &str = "PROVER_SIM_LEAN_VERSION";

/// The Lean version [`SIM_LEAN_VERSION_VAR`] asks for, if set and not empty.
pub fn sim_lean_version() -> Option<String> {
    std::env::var(SIM_LEAN_VERSION_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// The Lean version the simulators of this test run imitate.
pub fn sim_flavour() -> crate::sim::LeanVersion {
    match sim_lean_version() {
        Some(v) => crate::sim::LeanVersion::parse(&v)
            .unwrap_or_else(|e| panic!("{SIM_LEAN_VERSION_VAR}: {e}")),
        None => crate::sim::LeanVersion::default(),
    }
}

/// The requests a sim-repl `--log` file holds so far, in order (none while it does not exist).
pub fn logged_requests(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("sim-repl logs JSON lines"))
        .collect()
}

/// How many of `requests` run the command `cmd`: on an env when `on_env`, else without one
/// (a header's import).
pub fn count_command(requests: &[serde_json::Value], cmd: &str, on_env: bool) -> usize {
    requests
        .iter()
        .filter(|r| r["cmd"] == cmd && r.get("env").is_some() == on_env)
        .count()
}

impl SimRepl {
    /// `sim-repl --world WORLD` (and `--lean-version` from [`SIM_LEAN_VERSION_VAR`]).
    pub fn world(world: &Path) -> SimRepl {
        SimRepl::flavoured(vec!["--world".into(), world.display().to_string()])
    }

    /// `sim-repl --accept-all`: the permissive simulator that elaborates every declaration
    /// (and `--lean-version` from [`SIM_LEAN_VERSION_VAR`]).
    pub fn accept_all() -> SimRepl {
        SimRepl::flavoured(vec!["--accept-all".into()])
    }

    fn flavoured(mut args: Vec<String>) -> SimRepl {
        if let Some(version) = sim_lean_version() {
            args.extend(["--lean-version".into(), version]);
        }
        SimRepl { args }
    }

    /// `--log FILE`: every request, one line each ([`logged_requests`] reads them back).
    pub fn log(self, file: &Path) -> SimRepl {
        self.arg("--log").arg(&file.display().to_string())
    }

    /// `--latency-ms MS` per request.
    pub fn latency_ms(self, ms: u64) -> SimRepl {
        self.arg("--latency-ms").arg(&ms.to_string())
    }

    /// Any other flag or value, as written.
    pub fn arg(mut self, arg: &str) -> SimRepl {
        self.args.push(arg.to_owned());
        self
    }

    /// The command line, for `--repl-cmd`.
    pub fn command_line(&self) -> String {
        std::iter::once(sim_repl_bin().display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One `prover` invocation, built as ripgrep's test utilities build theirs: the subcommand, the
/// REPL it runs, then whatever the test adds. Every invocation gets a cache directory of its
/// own ([`prover_command`]).
pub struct ProverRun {
    command: std::process::Command,
}

impl ProverRun {
    /// `prover SUBCOMMAND`.
    pub fn new(subcommand: &str) -> ProverRun {
        let mut command = prover_command();
        command.arg(subcommand);
        ProverRun { command }
    }

    /// `--repl-cmd` running the simulator.
    pub fn repl(self, sim: &SimRepl) -> ProverRun {
        self.repl_cmd(&sim.command_line())
    }

    /// `--repl-cmd CMD`, for anything that is not the simulator.
    pub fn repl_cmd(self, command: &str) -> ProverRun {
        self.args(["--repl-cmd", command])
    }

    /// `FLAG PATH`, e.g. `--dataset FILE`.
    pub fn path(mut self, flag: &str, path: &Path) -> ProverRun {
        self.command.arg(flag).arg(path);
        self
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> ProverRun
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    /// An environment variable for the run.
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> ProverRun {
        self.command.env(key, value);
        self
    }

    /// Runs it to the end and returns what it printed.
    pub fn output(mut self) -> std::process::Output {
        self.command.output().expect("the prover binary starts")
    }

    /// The command, to spawn and signal.
    pub fn into_command(self) -> std::process::Command {
        self.command
    }
}

/// A generated world written out for a run: the world file, its miniF2F-style dataset, and
/// which theorems the breadth-first oracle can prove.
pub struct GeneratedFiles {
    /// The world, for `sim-repl --world`.
    pub world: PathBuf,
    /// One dataset row per theorem, for `prover eval --dataset`.
    pub dataset: PathBuf,
    /// Theorem name → provable.
    pub provable: std::collections::BTreeMap<String, bool>,
}

/// Generates the world of `spec` and writes it and its dataset into `dir`.
pub fn write_generated_world(spec: &crate::worldgen::WorldSpec, dir: &Path) -> GeneratedFiles {
    use crate::worldgen;
    let generated = worldgen::generate(spec);
    let world = dir.join("world.json");
    generated.world.save(&world).expect("the world is written");
    let dataset = dir.join("dataset.jsonl");
    std::fs::write(
        &dataset,
        worldgen::dataset_jsonl(&generated.world, worldgen::DEFAULT_HEADER),
    )
    .expect("the dataset is written");
    GeneratedFiles {
        world,
        dataset,
        provable: generated.provable,
    }
}

/// A simulated model server that proposes the first `vocabulary_size` tactics of generated
/// worlds for every state, with distinct scores, so provability depends on the search alone.
pub fn vocabulary_server(vocabulary_size: usize, dir: &Path) -> crate::openai_sim::SimServer {
    vocabulary_server_with(vocabulary_size, dir, crate::openai_sim::Options::default())
}

/// [`vocabulary_server`] with server options (faults, delays).
pub fn vocabulary_server_with(
    vocabulary_size: usize,
    dir: &Path,
    options: crate::openai_sim::Options,
) -> crate::openai_sim::SimServer {
    use crate::openai_sim::{self, Script};
    let completions: Vec<serde_json::Value> = crate::worldgen::vocabulary(vocabulary_size)
        .iter()
        .enumerate()
        .map(|(rank, t)| serde_json::json!({"text": t, "logprobs": [-0.1 * (rank as f64 + 1.0)]}))
        .collect();
    let path = dir.join("vocabulary-script.json");
    let script = serde_json::json!({"responses": {}, "default": completions});
    std::fs::write(&path, script.to_string()).expect("the script is written");
    openai_sim::serve(
        Script::from_path(&path).expect("the script parses"),
        options,
    )
    .expect("the simulated server starts")
}

/// Every row of a JSONL file a test's run wrote, in order; panics naming the file.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// A results JSONL file (`prover eval` output) as a map from `name` to the row.
pub fn results_by_name(path: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    results_by_name_without(path, &[])
}

/// [`results_by_name`] with `fields` removed from every row: what two runs must agree on when
/// those fields (wall times, say) may differ.
pub fn results_by_name_without(
    path: &Path,
    fields: &[&str],
) -> std::collections::BTreeMap<String, serde_json::Value> {
    read_jsonl(path)
        .into_iter()
        .map(|mut row| {
            if let Some(object) = row.as_object_mut() {
                for field in fields {
                    object.remove(*field);
                }
            }
            (
                row["name"]
                    .as_str()
                    .expect("a result has a name")
                    .to_owned(),
                row,
            )
        })
        .collect()
}
