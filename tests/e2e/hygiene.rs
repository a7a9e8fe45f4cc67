//! Nothing from the data reaches a terminal or a markup file raw (issue 19, item 8): NUL, ESC, BEL and VT in a theorem's name, its goals, a model's tactic and Lean's error go through `eval`, `report` and `tree` (sim-repl, a simulated REPL, and sim-openai, a simulated model server); stderr holds none of them, and every SVG parses as XML.

use std::path::Path;
use std::process::Output;

use prover_tests::harness::{MINIF2F_HEADER, ProverRun, SimRepl, read_jsonl};
use prover_tests::openai_sim::{self, Script};
use serde_json::json;

/// The characters that clear screens, ring bells and make XML invalid.
const HOSTILE: &str = "\u{0}\u{1b}[2J\u{1b}]0;pwned\u{7}\u{b}";

fn raw_controls(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|b| matches!(b, 0 | 0x1b | 0x07 | 0x0b))
        .collect()
}

fn assert_clean_stderr(output: &Output, what: &str) {
    let found = raw_controls(&output.stderr);
    assert!(
        found.is_empty(),
        "{what} printed raw control characters {found:?} on stderr: {:?}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every `<svg>…</svg>` element of `text`, each parsed as an XML document.
fn parse_every_svg(text: &str, what: &str) -> usize {
    let mut count = 0;
    let mut rest = text;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..]
            .find("</svg>")
            .unwrap_or_else(|| panic!("{what}: an <svg> is never closed"))
            + start
            + "</svg>".len();
        let svg = &rest[start..end];
        if let Err(error) = roxmltree::Document::parse(svg) {
            panic!("{what}: SVG {count} is not XML: {error}\n{svg}");
        }
        count += 1;
        rest = &rest[end..];
    }
    count
}

fn run(command: ProverRun, what: &str) -> Output {
    let output = command.output();
    assert_clean_stderr(&output, what);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn control_characters_in_names_goals_tactics_and_errors_reach_no_terminal_and_no_markup() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world.json");
    let world_json = json!({
        "theorems": [{"name": "tidy_ok", "statement": "theorem tidy_ok (x : ℕ) : x + 0 = x",
                      "root": "t0", "axioms": ["propext"]}],
        "states": {
            "t0": [format!("x : ℕ\n⊢ x + 0 = x {HOSTILE}")],
            "t1": [format!("⊢ weird {HOSTILE}")]
        },
        "transitions": [
            {"from": "t0", "tactic": "simp", "outcome": {"fail": format!("simp failed {HOSTILE}")}},
            {"from": "t0", "tactic": "omega", "outcome": {"goals": "t1"}},
            {"from": "t1", "tactic": "rfl", "outcome": "proved"}
        ]
    });
    std::fs::write(&world, world_json.to_string()).unwrap();
    let dataset = dir.path().join("dataset.jsonl");
    let row = json!({"name": format!("tidy{HOSTILE}ok"), "header": MINIF2F_HEADER,
                     "formal_statement": "theorem tidy_ok (x : ℕ) : x + 0 = x := by"});
    std::fs::write(&dataset, format!("{row}\n")).unwrap();
    // The model proposes a tactic full of control characters (the guard refuses it, and the
    // trace keeps it as a refused edge) and the three the world knows.
    let script = dir.path().join("script.json");
    let completions: Vec<serde_json::Value> = [
        format!("simp{HOSTILE}"),
        "simp".into(),
        "omega".into(),
        "rfl".into(),
    ]
    .iter()
    .enumerate()
    .map(|(rank, t)| json!({"text": t, "logprobs": [-0.1 * (rank as f64 + 1.0)]}))
    .collect();
    std::fs::write(
        &script,
        json!({"responses": {}, "default": completions}).to_string(),
    )
    .unwrap();
    let server = openai_sim::serve(
        Script::from_path(&script).unwrap(),
        openai_sim::Options::default(),
    )
    .unwrap();
    let url = format!("http://{}/v1", server.addr());

    let results = dir.path().join("results.jsonl");
    let traces = dir.path().join("traces");
    run(
        ProverRun::new("eval")
            .args(["--policy", "openai", "--samples", "4", "--width", "4"])
            .args(["--llm-url", &url])
            .path("--dataset", &dataset)
            .path("--out", &results)
            .path("--trace", &traces)
            .repl(&SimRepl::world(&world)),
        "eval",
    );
    let rows = read_jsonl(&results);
    assert_eq!(rows[0]["status"], "proved", "{rows:?}");
    let trace = std::fs::read_dir(&traces)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let edges = std::fs::read_to_string(&trace).unwrap();
    for hostile in ["\\u0000", "\\u001b", "\\u0007", "\\u000b"] {
        assert!(
            edges.contains(hostile),
            "the trace keeps the data as it was ({hostile})"
        );
    }

    let page = dir.path().join("report.html");
    run(
        ProverRun::new("report")
            .path("--out", &page)
            .args([results.as_os_str()])
            .path("--trace", &traces),
        "report",
    );
    check_markup(&page, "report");
    for extension in ["svg", "html"] {
        let picture = dir.path().join(format!("tree.{extension}"));
        run(
            ProverRun::new("tree")
                .args([trace.as_os_str()])
                .path("--out", &picture),
            "tree",
        );
        check_markup(&picture, &format!("tree.{extension}"));
    }
    // The report of a name that is nothing but such characters still says what it held.
    let page = std::fs::read_to_string(dir.path().join("tree.svg")).unwrap();
    assert!(page.contains("\\u{1b}"), "the escape is shown, not lost");
}

/// No raw control character in the file, and every SVG in it parses as XML.
fn check_markup(path: &Path, what: &str) {
    let bytes = std::fs::read(path).unwrap();
    let found = raw_controls(&bytes);
    assert!(found.is_empty(), "{what} holds raw {found:?}");
    let text = String::from_utf8(bytes).unwrap();
    let svgs = parse_every_svg(&text, what);
    assert!(svgs > 0, "{what} holds no SVG");
}
