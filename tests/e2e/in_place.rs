//! A sorry proved in place (`prover prove --file --at`, what the editor server runs) against sim-repl (a simulated REPL, not Lean) and sim-openai: what the proof rests on is in its JSON, a documented theorem and a sorry after `case … =>` or `<;>` are proved, a sorry Lean lists once per goal does not count twice, and the sorry proved is the one at the position asked.

use std::path::Path;

use prover_tests::harness::{ProverRun, SimRepl, fixture_world};
use prover_tests::openai_sim::{self, Options, Script, SimServer};
use serde_json::{Value, json};

const CONTEXT: &str = "p q : Prop\nhp : p\nhq : q\n";

/// A model server that proposes, for each goal of the editor world, the tactic that closes it.
fn model() -> SimServer {
    let responses: Vec<(String, &str)> = vec![
        ("n : ℕ\n⊢ n + 0 = n".into(), "exact key n"),
        ("n : ℕ\n⊢ n * 1 = n".into(), "exact magic n"),
        (format!("case left\n{CONTEXT}⊢ p"), "assumption"),
        (format!("case right\n{CONTEXT}⊢ q"), "exact hq"),
        (format!("case right\n{CONTEXT}⊢ p ∧ q"), "exact ⟨hp, hq⟩"),
    ];
    let responses: serde_json::Map<String, Value> = responses
        .into_iter()
        .map(|(state, tactic)| {
            (
                format!("{state}:::"),
                json!([{"text": tactic, "logprobs": [-0.1]}]),
            )
        })
        .collect();
    let script: Script =
        serde_json::from_value(json!({"responses": responses, "default": []})).unwrap();
    openai_sim::serve(script, Options::default()).unwrap()
}

/// `prover prove --file FILE --at` the `sorry` that starts at byte `sorry` of the file's text.
fn prove_at(file: &Path, sorry: usize, server: &SimServer, extra: &[&str]) -> std::process::Output {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text[..sorry].matches('\n').count() + 1;
    let line_start = text[..sorry].rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..sorry].chars().count();
    ProverRun::new("prove")
        .path("--file", file)
        .args(["--at", &format!("{line}:{column}")])
        .args(["--policy", "openai", "--llm-url", &server.base_url()])
        .args(extra)
        .repl(&SimRepl::world(&fixture_world("editor.json")))
        .output()
}

fn json_of(output: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

/// Audit row 2 and item 2: the proof is reported, and applied, but never silently: its JSON
/// names the sorried lemma or the axiom it rests on, and the text output warns.
#[test]
fn a_proof_resting_on_a_sorried_lemma_or_an_axiom_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = model();
    let file = dir.path().join("Rests.lean");
    let text = "import Mathlib\n\ntheorem key (n : ℕ) : n + 0 = n := by sorry\n\naxiom magic (n : ℕ) : n * 1 = n\n\ntheorem uses_key (n : ℕ) : n + 0 = n := by sorry\n\ntheorem uses_magic (n : ℕ) : n * 1 = n := by sorry\n";
    std::fs::write(&file, text).unwrap();
    let of = |name: &str| {
        text.find(name).unwrap() + text[text.find(name).unwrap()..].find("sorry").unwrap()
    };

    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    let on_key = prove_at(
        &file,
        of("uses_key"),
        &server,
        &["--json", "--cache", cache],
    );
    assert_eq!(
        on_key.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&on_key.stderr)
    );
    let result = json_of(&on_key);
    assert_eq!(result["status"], "proved", "{result}");
    assert_eq!(result["proof"], "\n  exact key n");
    assert_eq!(
        result["rests_on"],
        json!({"axioms": ["sorryAx"], "declarations": ["key"]}),
        "{result}"
    );

    // Found again from the cache, the proof says the same.
    let again = json_of(&prove_at(
        &file,
        of("uses_key"),
        &server,
        &["--json", "--cache", cache],
    ));
    assert_eq!(again["from_cache"], true, "{again}");
    assert_eq!(again["rests_on"], result["rests_on"], "{again}");

    let on_magic = prove_at(&file, of("uses_magic"), &server, &[]);
    assert_eq!(on_magic.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&on_magic.stdout),
        "theorem uses_magic (n : ℕ) : n * 1 = n := by exact magic n\n"
    );
    let stderr = String::from_utf8_lossy(&on_magic.stderr);
    assert!(
        stderr.contains("warning: the proof rests on magic (through magic)"),
        "{stderr}"
    );
}

/// Audit rows 3 and 4: a doc comment and an attribute above the declaration travel with it,
/// and a sorry after `case … =>` or `<;>` gets a tactic (not `(by …)`, which does not parse
/// there); `--write` puts the proof in the file.
#[test]
fn a_documented_theorem_with_a_sorry_after_case_or_after_a_combinator_is_proved() {
    let dir = tempfile::tempdir().unwrap();
    let server = model();
    let file = dir.path().join("Documented.lean");
    let declaration = "/-- Both halves. -/\n@[simp]\ntheorem both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  constructor\n  case left => sorry\n  case right => exact hq\n";
    let text = format!("import Mathlib\n\n{declaration}");
    std::fs::write(&file, &text).unwrap();
    let proved = prove_at(&file, text.find("sorry").unwrap(), &server, &["--write"]);
    let stderr = String::from_utf8_lossy(&proved.stderr);
    assert_eq!(proved.status.code(), Some(0), "{stderr}");
    let expected = declaration.replace("left => sorry", "left => assumption");
    assert_eq!(String::from_utf8_lossy(&proved.stdout), expected);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("import Mathlib\n\n{expected}")
    );
    assert!(!stderr.contains("rests on"), "{stderr}");

    let text = "import Mathlib\n\nset_option maxHeartbeats 400000 in\ntheorem both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  constructor <;> sorry\n";
    std::fs::write(&file, text).unwrap();
    let proved = prove_at(&file, text.find("sorry").unwrap(), &server, &["--json"]);
    let result = json_of(&proved);
    assert_eq!(result["status"], "proved", "{result}");
    assert_eq!(result["proof"], "\n  assumption");
    assert_eq!(result.get("rests_on"), None);
}

/// Audit row 6: Lean lists a kept `all_goals sorry` once per goal, and a term sorry after every
/// tactic sorry; the proof of another sorry is accepted all the same, and the sorry searched is
/// the one at the position asked.
#[test]
fn sorries_are_counted_and_found_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let server = model();
    let file = dir.path().join("Counted.lean");
    let text = "import Mathlib\n\ntheorem pairs (p q : Prop) (hp : p) (hq : q) : (p ∧ q) ∧ (p ∧ q) := by\n  constructor\n  · constructor\n    all_goals sorry\n  · sorry\n";
    std::fs::write(&file, text).unwrap();
    let proved = prove_at(&file, text.rfind("sorry").unwrap(), &server, &["--json"]);
    let result = json_of(&proved);
    assert_eq!(result["status"], "proved", "{result}");
    assert_eq!(result["proof"], "\n  exact ⟨hp, hq⟩");
    // The declaration keeps its own sorries: they are not what the proof rests on.
    assert_eq!(result.get("rests_on"), None, "{result}");

    // The REPL lists the tactic sorry (line 4) before the term sorry (line 2).
    let text = "import Mathlib\n\ntheorem both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  have hq' : q := sorry\n  constructor\n  case left => sorry\n  case right => exact hq\n";
    std::fs::write(&file, text).unwrap();
    let proved = prove_at(&file, text.find("sorry").unwrap(), &server, &[]);
    assert_eq!(
        proved.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&proved.stderr)
    );
    assert!(
        String::from_utf8_lossy(&proved.stdout).contains("  have hq' : q := by exact hq\n"),
        "{}",
        String::from_utf8_lossy(&proved.stdout)
    );
}
