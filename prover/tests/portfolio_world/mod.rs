//! What the session and job tests share: a session on sim-repl's portfolio world (a simulated REPL, not Lean) and two of its theorems.

use prover::engine::Theorem;
use prover::session::SessionConfig;
use prover::settings::{self, Overlay, ReplOverlay, SettingsFile};
use prover_tests::harness::{SimRepl, workspace_root};

pub(crate) const HEADER: &str = "import Mathlib\n\nopen BigOperators Real Nat Topology Rat\n\n";

/// A session on the portfolio world, two simulated REPLs, a cache in `cache_dir` when given.
pub(crate) fn config(cache_dir: Option<&std::path::Path>) -> SessionConfig {
    let mut config = config_with(|sim| sim, 2);
    config.cache_dir = cache_dir.map(std::path::Path::to_path_buf);
    config
}

/// A session on the portfolio world with `workers` simulated REPLs, each run as `sim` makes
/// the simulator's command line (a log, a slow header), and no cache.
#[allow(dead_code)] // Not every test binary that shares this module uses it.
pub(crate) fn config_with(sim: impl FnOnce(SimRepl) -> SimRepl, workers: usize) -> SessionConfig {
    let world = workspace_root().join("tests/fixtures/worlds/eval-portfolio.json");
    let overlay = Overlay {
        repl: ReplOverlay {
            repl_cmd: Some(sim(SimRepl::world(&world)).command_line()),
            workers: Some(workers),
            ..ReplOverlay::default()
        },
        ..Overlay::default()
    };
    let mut config = settings::session_config(&overlay, &SettingsFile::default()).unwrap();
    config.cache_dir = None;
    config
}

fn theorem(name: &str, statement: &str) -> Theorem {
    Theorem {
        name: name.to_owned(),
        header: HEADER.to_owned(),
        formal_statement: format!("{statement} := by"),
    }
}

pub(crate) fn and_intro() -> Theorem {
    theorem(
        "and_intro",
        "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q",
    )
}

pub(crate) fn unprovable() -> Theorem {
    theorem("unprovable", "theorem unprovable (x : ℕ) : x < x")
}
