//! A real editor against `prover lsp`: headless Neovim (Debian's package, 0.7 or later) runs `tests/editors/nvim_prove.lua` on a file with a `sorry` after `ℕ` and `𝓝`, one after `case … =>` in a documented theorem, and one whose proof rests on a sorried lemma, over sim-repl (a simulated REPL, not Lean) and sim-openai; the buffer ends with proofs (the first passes `prover check`) and the editor heard a Warning about the last.

use std::process::Command;

use prover_tests::harness::{
    ProverRun, SimRepl, find_on_path, fixture_world, print_uncaptured, prover_bin, workspace_root,
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
    let left = "case left\np q : Prop\nhp : p\nhq : q\n⊢ p";
    let statement = "theorem near (x : ℕ) (h : 𝓝 = 𝓝) : x + 0 = x";
    // The editor world (a documented theorem proved in a `case`, a lemma left sorried) and
    // `near`, whose sorry sits after `ℕ` and `𝓝`.
    let mut world = World::load(&fixture_world("editor.json")).unwrap();
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
            format!("{left}:::"): [{"text": "assumption", "logprobs": [-0.1]}],
            "n : ℕ\n⊢ n + 0 = n:::": [{"text": "exact key n", "logprobs": [-0.1]}],
        }, "default": []})
        .to_string(),
    )
    .unwrap();
    let server =
        openai_sim::serve(Script::from_path(&script).unwrap(), Options::default()).unwrap();
    let sim = SimRepl::world(&world_path);
    let file = dir.path().join("Sorry.lean");
    let documented = "/-- Both halves, one of them in a `case`. -/\ntheorem both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  constructor\n  case left => sorry\n  case right => exact hq\n";
    std::fs::write(
        &file,
        format!(
            "import Mathlib\n\ntheorem key (n : ℕ) : n + 0 = n := by sorry -- keep: a lemma for later\n\n{statement} := by sorry\n\n{documented}\ntheorem uses_key (n : ℕ) : n + 0 = n := by sorry\n"
        ),
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
    assert_eq!(
        edited.matches("sorry").count(),
        1,
        "only `key`'s is left: {edited}"
    );
    assert!(
        edited.contains(&format!("{statement} := by\n  gizmo_zero x\n  gizmo_refl")),
        "{edited}"
    );
    // The doc comment travelled with its theorem, and the `case` got a tactic.
    assert!(
        edited.contains(&documented.replace("left => sorry", "left => assumption")),
        "{edited}"
    );
    // A proof that rests on the sorried `key` is applied, with a Warning naming it.
    assert!(
        edited.contains("theorem uses_key (n : ℕ) : n + 0 = n := by exact key n"),
        "{edited}"
    );
    let messages = std::fs::read_to_string(dir.path().join("edited.lean.messages")).unwrap();
    assert!(
        messages.contains(
            "2 prover: the proof of this sorry in uses_key rests on sorryAx (through key)"
        ),
        "{messages:?}"
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
    let near = &edited[edited.find(statement).unwrap()..edited.find("/--").unwrap()];
    let proof = &near[near.find(":= by").unwrap() + ":= by".len()..];
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
