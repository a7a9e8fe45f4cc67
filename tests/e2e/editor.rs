//! A real editor against `prover lsp`: headless Neovim (Debian's package, 0.7 or later) runs `tests/editors/nvim_prove.lua` on a file with a `sorry` after `ℕ` and `𝓝`, over sim-repl (a simulated REPL, not Lean) and sim-openai; the buffer ends with a proof that passes `prover check`.

use std::process::Command;

use prover_tests::harness::{
    ProverRun, SimRepl, find_on_path, print_uncaptured, prover_bin, workspace_root,
};
use prover_tests::openai_sim::{self, Options, Script};
use prover_tests::world::{Outcome, Theorem, Transition, World};
use serde_json::{Value, json};

#[test]
fn headless_neovim_replaces_the_sorry_with_a_checked_proof() {
    let Some(nvim) = find_on_path("nvim") else {
        print_uncaptured(
            "skipped: no `nvim` on PATH (.ci/run installs Debian's neovim): headless_neovim_replaces_the_sorry_with_a_checked_proof",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = "x : ℕ\nh : 𝓝 = 𝓝\n⊢ x + 0 = x";
    let next = "x : ℕ\nh : 𝓝 = 𝓝\n⊢ x = x";
    let statement = "theorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x";
    let mut world = World::default();
    world.states.insert("r".into(), vec![root.into()]);
    world.states.insert("n".into(), vec![next.into()]);
    world.theorems.push(Theorem {
        name: "near".into(),
        statement: statement.into(),
        root: "r".into(),
        axioms: Vec::new(),
    });
    for (from, tactic, outcome) in [
        ("r", "gizmo_zero x", Outcome::Goals("n".into())),
        ("n", "gizmo_refl", Outcome::Proved),
    ] {
        world.transitions.push(Transition {
            from: from.into(),
            tactic: tactic.into(),
            outcome,
            fault: None,
            latency_ms: 0,
        });
    }
    let world_path = dir.path().join("world.json");
    world.save(&world_path).unwrap();
    let script = dir.path().join("script.json");
    std::fs::write(
        &script,
        json!({"responses": {
            format!("{root}:::"): [{"text": "gizmo_zero x", "logprobs": [-0.1]}],
            format!("{next}:::"): [{"text": "gizmo_refl", "logprobs": [-0.1]}],
        }, "default": []})
        .to_string(),
    )
    .unwrap();
    let server =
        openai_sim::serve(Script::from_path(&script).unwrap(), Options::default()).unwrap();
    let sim = SimRepl::world(&world_path);
    let file = dir.path().join("Sorry.lean");
    std::fs::write(
        &file,
        format!("import Mathlib\n\n{statement} := by sorry\n"),
    )
    .unwrap();
    let out = dir.path().join("edited.lean");
    let trace = dir.path().join("trace.jsonl");
    let args = [
        "--trace-file".to_owned(),
        trace.display().to_string(),
        "--repl-cmd".to_owned(),
        sim.command_line(),
        "--workers".to_owned(),
        "1".to_owned(),
        "--no-cache".to_owned(),
        "--policy".to_owned(),
        "openai".to_owned(),
        "--llm-url".to_owned(),
        format!("http://{}/v1", server.addr()),
    ];
    let status = Command::new(&nvim)
        .args(["--headless", "--clean", "-c"])
        .arg(format!(
            "luafile {}",
            workspace_root()
                .join("tests/editors/nvim_prove.lua")
                .display()
        ))
        .arg(&file)
        .env("PROVER_BIN", prover_bin())
        .env("PROVER_ARGS", args.join("\n"))
        .env("PROVER_OUT", &out)
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    let error = std::fs::read_to_string(dir.path().join("edited.lean.error")).unwrap_or_default();
    assert!(status.success(), "nvim: {status}: {error}");
    let edited = std::fs::read_to_string(&out).unwrap();
    assert!(!edited.contains("sorry"), "{edited}");
    assert!(
        edited.contains(&format!("{statement} := by\n  gizmo_zero x\n  gizmo_refl")),
        "{edited}"
    );
    // The trace holds both directions: the editor's initialize, the server's edit.
    let trace = prover_tests::harness::read_jsonl(&trace);
    let said = |direction: &str, text: &str| {
        trace
            .iter()
            .any(|r| r["direction"] == direction && r["text"].as_str().unwrap().contains(text))
    };
    assert!(said("in", "\"initialize\"") && said("out", "workspace/applyEdit"));
    let progress = std::fs::read_to_string(dir.path().join("edited.lean.progress")).unwrap();
    assert!(
        progress.starts_with("begin") && progress.ends_with("end"),
        "{progress:?}"
    );

    // What the editor now holds passes `prover check`.
    let proof = &edited[edited.find(":= by").unwrap() + ":= by".len()..];
    let input = dir.path().join("check.jsonl");
    let row = datasets::ProofRow {
        name: "near".into(),
        header: "import Mathlib\n\n".into(),
        formal_statement: format!("{statement} := by"),
        proof: proof.trim_end().to_owned(),
    };
    std::fs::write(&input, row.to_row() + "\n").unwrap();
    let checked = dir.path().join("checked.jsonl");
    let output = ProverRun::new("check")
        .path("--input", &input)
        .path("--out", &checked)
        .repl(&sim)
        .output();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value =
        serde_json::from_str(std::fs::read_to_string(&checked).unwrap().trim()).unwrap();
    assert_eq!(result["status"], "valid", "{result}");
}
