//! `prover eval --policy openai|combined` end to end: the real binary against sim-repl (not
//! Lean) and the simulated OpenAI-compatible server (no model), over real HTTP on loopback.

use std::path::Path;
use std::process::Output;

use prover_tests::harness::{ProverRun, SimRepl, workspace_root};
use prover_tests::openai_sim::{self, Completion, Faults, Options, Profile, Script};
use serde_json::{Value, json};

const HEADER: &str = prover_tests::harness::MATHLIB_HEADER;

fn fixture(name: &str) -> std::path::PathBuf {
    workspace_root().join("tests/fixtures").join(name)
}

fn eval(dir: &Path, policy: &str, url: Option<&str>) -> (Output, Vec<Value>) {
    let dataset = dir.join("dataset.jsonl");
    std::fs::write(
        &dataset,
        json!({"name": "special_lemma", "header": HEADER, "formal_statement": "theorem special_lemma (a : ℕ) (h : 0 < a) : my_pred a := by sorry"}).to_string(),
    )
    .unwrap();
    let out = dir.join(format!("results-{policy}.jsonl"));
    let mut command = ProverRun::new("eval")
        .args(["--fresh", "--policy", policy, "--tactic-timeout", "2"])
        .path("--dataset", &dataset)
        .path("--out", &out)
        .repl(&SimRepl::world(&fixture("worlds/eval-llm.json")));
    if let Some(url) = url {
        command = command.args([
            "--llm-url",
            url,
            "--llm-model",
            "sim-model",
            "--samples",
            "4",
        ]);
    }
    let output = command.output();
    let results = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (output, results)
}

fn start(faults: Faults) -> openai_sim::SimServer {
    let script = Script::from_path(&fixture("llm-script.json")).unwrap();
    openai_sim::serve(
        script,
        Options {
            faults,
            ..Options::default()
        },
    )
    .unwrap()
}

#[test]
fn the_search_follows_the_servers_tactics_and_scores() {
    let server = start(Faults::default());
    let url = format!("http://{}/v1", server.addr());
    let dir = tempfile::tempdir().unwrap();
    let (output, results) = eval(dir.path(), "openai", Some(&url));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(results[0]["status"], "proved", "{:#}", results[0]);
    // The better-scored tactic of the second state wins over `omega`, which also works.
    assert_eq!(
        results[0]["proof"],
        "\n  unfold my_pred\n  exact Nat.pos_iff_ne_zero.mp h",
        "{:#} {}",
        results[0],
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        results[0]["candidates_rejected"], 1,
        "`sorry` is refused by the guard"
    );
    let requests = server.requests();
    // The first requests are the preflight's, on a trivial state.
    assert_eq!(requests[0]["prompt"], "⊢ True:::");
    let requests: Vec<&Value> = requests
        .iter()
        .filter(|r| r["prompt"] != "⊢ True:::" && r.get("messages").is_none())
        .collect();
    assert!(requests.len() >= 2);
    let prompt = requests[0]["prompt"].as_str().unwrap();
    assert_eq!(
        prompt, "a : ℕ\nh : 0 < a\n⊢ my_pred a:::",
        "BFS-Prover's prompt"
    );
    assert_eq!(requests[0]["n"], 4);
    assert_eq!(requests[0]["model"], "sim-model");
}

#[test]
fn the_portfolio_alone_cannot_prove_what_needs_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let (output, results) = eval(dir.path(), "portfolio", None);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(results[0]["status"], "failed", "{:#}", results[0]);
}

#[test]
fn server_errors_are_retried_and_combined_mode_proves() {
    let server = start(Faults {
        fail_first: Some(2),
        ..Faults::default()
    });
    let url = format!("http://{}/v1", server.addr());
    let dir = tempfile::tempdir().unwrap();
    let (output, results) = eval(dir.path(), "combined", Some(&url));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(results[0]["status"], "proved", "{:#}", results[0]);
    assert!(
        server.requests().len() >= 4,
        "two failed requests, then the retries succeeded"
    );
}

// ---------------------------------------------------------------------------------------------
// Real servers' habits (simulator profiles)

const SPECIAL: &str = "theorem special_lemma (a : ℕ) (h : 0 < a) : my_pred a := by sorry";

/// `prover eval` of `names` (each the world's one theorem) against `url` with `args`.
fn eval_many(dir: &Path, url: &str, names: &[String], args: &[&str]) -> (Output, Vec<Value>) {
    let dataset = dir.join("dataset.jsonl");
    let rows: Vec<String> = names
        .iter()
        .map(|name| {
            json!({"name": name, "header": HEADER, "formal_statement": SPECIAL}).to_string()
        })
        .collect();
    std::fs::write(&dataset, rows.join("\n")).unwrap();
    let out = dir.join("results.jsonl");
    let output = ProverRun::new("eval")
        .args([
            "--fresh",
            "--no-cache",
            "--policy",
            "openai",
            "--tactic-timeout",
            "2",
        ])
        .args(["--llm-url", url, "--llm-model", "sim-model"])
        .args(args)
        .path("--dataset", &dataset)
        .path("--out", &out)
        .repl(&SimRepl::world(&fixture("worlds/eval-llm.json")))
        .output();
    let results = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (output, results)
}

/// `script` with answers for the preflight's trivial state, so the probe sees what the
/// profile does with them.
fn answering_probes(mut script: Script) -> Script {
    script.default = vec![
        Completion::new("trivial", &[-0.1]),
        Completion::new("simp", &[-0.2]),
    ]
    .into();
    script
}

fn serve_profile(script: Script, profile: Profile, delay_ms: u64) -> openai_sim::SimServer {
    openai_sim::serve(
        answering_probes(script),
        Options {
            profile,
            faults: Faults {
                delay_ms,
                ..Faults::default()
            },
            ..Options::default()
        },
    )
    .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A script where the second state's first suggestion fails and only its second proves it.
fn second_suggestion_script() -> Script {
    let mut script = Script::single(
        "⊢ my_pred a",
        vec![Completion::new("unfold my_pred", &[-0.1])],
    );
    script.responses.insert(
        "⊢ a ≠ 0".to_owned(),
        vec![
            Completion::new("positivity", &[-0.1]),
            Completion::new("exact Nat.pos_iff_ne_zero.mp h", &[-0.5]),
        ]
        .into(),
    );
    script
}

#[test]
fn every_profile_serves_the_model_policy() {
    for profile in Profile::ALL {
        let script = Script::from_path(&fixture("llm-script.json")).unwrap();
        let server = serve_profile(script, profile, 0);
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["special_lemma".to_owned()];
        let (output, results) =
            eval_many(dir.path(), &server.base_url(), &names, &["--samples", "4"]);
        let name = profile.name();
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        assert_eq!(results[0]["status"], "proved", "{name}: {:#}", results[0]);
        // With token log-probabilities the better-scored tactic wins; Ollama's completions
        // endpoint gives none, so its candidates keep the server's order.
        if profile != Profile::Ollama {
            assert_eq!(
                results[0]["proof"], "\n  unfold my_pred\n  exact Nat.pos_iff_ne_zero.mp h",
                "{name}"
            );
        }
        assert!(
            stderr(&output).contains("model requests"),
            "{name}: the summary"
        );
        assert!(stderr(&output).contains("honours n: "), "{name}: the probe");
        let honours = !matches!(profile, Profile::LlamaCppPython | Profile::Ollama);
        assert!(
            stderr(&output).contains(&format!(
                "honours n: {}",
                if honours { "yes" } else { "no" }
            )),
            "{name}: {}",
            stderr(&output)
        );
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("results.jsonl.manifest.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            manifest["model_probe"]["honours_n"],
            json!(honours),
            "{name}"
        );
    }
}

#[test]
fn against_llama_cpp_python_four_samples_reach_the_second_suggestion() {
    let server = serve_profile(second_suggestion_script(), Profile::LlamaCppPython, 0);
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["special_lemma".to_owned()];
    let (output, results) = eval_many(dir.path(), &server.base_url(), &names, &["--samples", "4"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(results[0]["status"], "proved", "{:#}", results[0]);
    assert_eq!(
        results[0]["proof"],
        "\n  unfold my_pred\n  exact Nat.pos_iff_ne_zero.mp h"
    );
    let for_second_state: Vec<Value> = server
        .requests()
        .into_iter()
        .filter(|r| r["prompt"].as_str().is_some_and(|p| p.contains("⊢ a ≠ 0")))
        .collect();
    // One choice per request: the first asked n = 4, the rest one each, until the two
    // distinct texts stopped growing.
    assert!(for_second_state.len() >= 2, "{for_second_state:?}");
    assert!(for_second_state.len() <= 4 * 2, "{for_second_state:?}");
    assert!(stderr(&output).contains("asking with one request per sample"));
}

#[test]
fn chat_against_llama_cpp_python_sends_top_logprobs_and_scores_candidates() {
    let script = Script::from_path(&fixture("llm-script.json")).unwrap();
    let server = serve_profile(script, Profile::LlamaCppPython, 0);
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["special_lemma".to_owned()];
    let (output, results) = eval_many(
        dir.path(),
        &server.base_url(),
        &names,
        &["--samples", "4", "--llm-chat"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(results[0]["status"], "proved", "{:#}", results[0]);
    let chat: Vec<Value> = server
        .requests()
        .into_iter()
        .filter(|r| r.get("messages").is_some())
        .collect();
    assert!(!chat.is_empty());
    assert!(
        chat.iter()
            .all(|r| r["logprobs"] == true && r["top_logprobs"] == 0),
        "{chat:?}"
    );
    // Scored, the better tactic wins although the server gave `omega` first; with rank
    // scores (no log-probabilities) `omega` would.
    assert_eq!(
        results[0]["proof"],
        "\n  unfold my_pred\n  exact Nat.pos_iff_ne_zero.mp h"
    );
    assert!(stderr(&output).contains("chat yes"), "{}", stderr(&output));
}

#[test]
fn a_server_answering_every_request_with_the_same_500_costs_one_retry_and_names_the_body() {
    let script = Script::from_path(&fixture("llm-script.json")).unwrap();
    let server = openai_sim::serve(
        answering_probes(script),
        Options {
            same_500: true,
            ..Options::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["special_lemma".to_owned()];
    let (output, results) = eval_many(
        dir.path(),
        &server.base_url(),
        &names,
        &["--llm-retries", "5"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(results.is_empty());
    assert!(
        stderr(&output).contains("simulated permanent failure"),
        "{}",
        stderr(&output)
    );
    // The preflight's request and its one retry (not five), then the probe's same request
    // with and without log-probabilities, each sent once.
    assert_eq!(server.request_count(), 4);
}

#[test]
fn a_server_without_logprobs_is_named_at_preflight_and_no_logprobs_runs() {
    let start = || {
        openai_sim::serve(
            answering_probes(Script::from_path(&fixture("llm-script.json")).unwrap()),
            Options {
                profile: Profile::LlamaCppPython,
                refuse_logprobs: true,
                ..Options::default()
            },
        )
        .unwrap()
    };
    let names = vec!["special_lemma".to_owned()];
    let server = start();
    let dir = tempfile::tempdir().unwrap();
    let (output, _) = eval_many(dir.path(), &server.base_url(), &names, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--no-logprobs"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("logits_all=False"),
        "{}",
        stderr(&output)
    );
    let server = start();
    let dir = tempfile::tempdir().unwrap();
    let (output, results) = eval_many(dir.path(), &server.base_url(), &names, &["--no-logprobs"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(results[0]["status"], "proved");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.get("logprobs").is_none())
    );
}

#[test]
fn a_single_slot_server_with_sixteen_theorems_at_once_sees_no_timeout() {
    // Each answer takes 150 ms and the server serves one at a time, so 16 requests sent at
    // once would keep the last waiting 2.4 s in the server's queue, past the 1 s deadline.
    // One suggestion per state, so each theorem needs two requests.
    let mut script = Script::single(
        "⊢ my_pred a",
        vec![Completion::new("unfold my_pred", &[-0.1])],
    );
    script.responses.insert(
        "⊢ a ≠ 0".to_owned(),
        vec![Completion::new("exact Nat.pos_iff_ne_zero.mp h", &[-0.5])].into(),
    );
    let server = serve_profile(script, Profile::LlamaCppPython, 150);
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..16).map(|i| format!("special_lemma_{i}")).collect();
    let (output, results) = eval_many(
        dir.path(),
        &server.base_url(),
        &names,
        &[
            "--samples",
            "1",
            "--concurrency",
            "16",
            "--llm-timeout",
            "1",
        ],
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(results.len(), 16);
    for result in &results {
        assert_eq!(result["status"], "proved", "{result:#}");
        assert!(result.get("policy_errors").is_none(), "{result:#}");
    }
    assert!(
        err.contains(" retries, 0 timeouts,"),
        "no model request timed out: {err}"
    );
}

#[test]
fn a_server_that_starts_failing_every_request_alike_mid_run_costs_one_retry_each_and_ends_the_run()
{
    // The preflight's probes are answered; every request about the theorem's state gets the
    // same HTTP 500 body, as from a server broken for good.
    let mut script = answering_probes(Script::from_path(&fixture("llm-script.json")).unwrap());
    let json = serde_json::json!({
        "completions": [],
        "status": 500,
        "same_body": true
    });
    script
        .responses
        .insert("⊢ my_pred a".into(), serde_json::from_value(json).unwrap());
    let server = openai_sim::serve(script, Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..6).map(|i| format!("special_lemma_{i}")).collect();
    let (output, _) = eval_many(
        dir.path(),
        &server.base_url(),
        &names,
        &[
            "--llm-retries",
            "5",
            "--llm-outage-limit",
            "1",
            "--concurrency",
            "1",
        ],
    );
    let stderr = stderr(&output);
    // The circuit breaker opens after three failed proposals, and the outage ends the run.
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("simulated permanent HTTP 500"),
        "the message names the body: {stderr}"
    );
    let about_the_state: Vec<Value> = server
        .requests()
        .into_iter()
        .filter(|r| r.to_string().contains("my_pred a"))
        .collect();
    // Three proposals (one theorem at a time), each one request and its one retry, not five.
    assert!(stderr.contains("3 failed proposals"), "{stderr}");
    assert_eq!(about_the_state.len(), 6, "{stderr}");
    assert!(stderr.contains("stopping the run"), "{stderr}");
}
