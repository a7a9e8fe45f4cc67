//! `prover eval --policy openai` against a real llama.cpp server (llama-cpp-python's `llama_cpp.server` with a tiny random-weight model), where the Python packages are installed; otherwise one printed `skipped: …` line.
//!
//! Installing them compiles llama.cpp (about 16 minutes on 2 cores), so this test never does:
//! `pip install 'llama-cpp-python[server]' gguf numpy`. The model is written by
//! `tests/tools/tiny_gguf.py` (random weights steered so that samples are single tactic words);
//! the REPL is sim-repl with a world where each of those words proves the theorem, so what is
//! checked is the client against the real server's answers (the probe, samples topped up where
//! `n` is ignored, log-probabilities on both endpoints), ending in a proof.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prover_tests::harness::{ProverRun, SimRepl, print_uncaptured};
use prover_tests::world::{Outcome, Theorem, Transition, World};
use serde_json::json;

/// What `tests/tools/tiny_gguf.py`'s model writes: one of these words, then end of sequence.
const TACTIC_WORDS: [&str; 6] = [
    "simp",
    "ring",
    "omega",
    "linarith",
    "positivity",
    "norm_num",
];

const TEST: &str = "eval_against_a_real_llama_cpp_python_server";

/// Kills the server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_has_llama_cpp() -> bool {
    Command::new("python3")
        .args(["-c", "import llama_cpp, gguf"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits until `GET /v1/models` answers, or the server exits, or two minutes pass.
fn wait_until_up(port: u16, server: &mut Child) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if let Ok(Some(_)) = server.try_wait() {
            return false;
        }
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = stream.write_all(
                b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

#[test]
fn eval_against_a_real_llama_cpp_python_server() {
    if !python_has_llama_cpp() {
        print_uncaptured(&format!(
            "skipped: {TEST}: python3 cannot `import llama_cpp, gguf` (pip install \
             'llama-cpp-python[server]' gguf numpy; it compiles llama.cpp, about 16 minutes on \
             2 cores)"
        ));
        return;
    }
    let tool = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/tiny_gguf.py");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    let wrote = Command::new("python3")
        .arg(&tool)
        .arg(&model)
        .status()
        .unwrap();
    assert!(wrote.success(), "{} failed", tool.display());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("python3")
        .args(["-m", "llama_cpp.server", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg("--model")
        .arg(&model)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until_up(port, &mut child),
        "llama_cpp.server did not come up on port {port}"
    );
    let _server = Server(child);
    let url = format!("http://127.0.0.1:{port}/v1");
    // A world where every tactic word the model writes proves the theorem: what is checked is
    // that real answers become candidates Lean (here sim-repl) is asked about, and a proof.
    let mut world = World::default();
    world
        .states
        .insert("root".into(), vec!["a : Nat\n⊢ a + 0 = a".into()]);
    world.theorems.push(Theorem {
        name: "t".into(),
        statement: "theorem t (a : Nat) : a + 0 = a".into(),
        root: "root".into(),
        axioms: Vec::new(),
    });
    for tactic in TACTIC_WORDS {
        world.transitions.push(Transition {
            from: "root".into(),
            tactic: tactic.into(),
            outcome: Outcome::Proved,
            fault: None,
            latency_ms: 0,
        });
    }
    let world_path = dir.path().join("world.json");
    world.save(&world_path).unwrap();
    let dataset = dir.path().join("dataset.jsonl");
    std::fs::write(
        &dataset,
        json!({"name": "t", "header": "", "formal_statement": "theorem t (a : Nat) : a + 0 = a := by sorry"})
            .to_string(),
    )
    .unwrap();
    for (api, extra) in [("completions", None), ("chat", Some("--llm-chat"))] {
        let out = dir.path().join(format!("results-{api}.jsonl"));
        let mut run = ProverRun::new("eval")
            .args(["--fresh", "--policy", "openai", "--llm-url", &url])
            .args([
                "--llm-model",
                "tiny",
                "--samples",
                "4",
                "--max-expansions",
                "4",
            ])
            .path("--dataset", &dataset)
            .path("--out", &out)
            .repl(&SimRepl::world(&world_path));
        if let Some(flag) = extra {
            run = run.args([flag]);
        }
        let output = run.output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        print_uncaptured(&format!("{TEST} ({api}):\n{stderr}"));
        assert_eq!(output.status.code(), Some(0), "{api}: {stderr}");
        let result: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
        assert_eq!(result["status"], "proved", "{api}: {result}");
        assert!(stderr.contains("honours n: no"), "{api}: {stderr}");
        assert!(stderr.contains("model requests"), "{api}: {stderr}");
    }
}
