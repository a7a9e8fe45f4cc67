//! `prover::llm` against a canned HTTP server in this file: answer shapes, scores, retries,
//! errors, the concurrency limit, and the policies built on the client.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prover::llm::{
    Api, CombinedPolicy, FallbackPolicy, LlmClient, LlmConfig, LlmError, OpenAiPolicy,
    named_template, resolve_template,
};
use prover::search::{Candidate, Policy, PolicyError, Query};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A canned HTTP/1.1 server: std::net, a thread per connection, keep-alive.

/// What the server answers one request with.
struct Canned {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(body: Value) -> Canned {
    Canned {
        status: 200,
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

fn status(status: u16, body: &str) -> Canned {
    Canned {
        status,
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

/// One received request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HashMap<String, String>,
    body: Value,
}

/// Answers request number `i` (from 0, across connections) with `Canned`.
type Handler = dyn Fn(usize, &Seen) -> Canned + Send + Sync;

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    fn start(handler: impl Fn(usize, &Seen) -> Canned + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (s, i, m) = (seen.clone(), in_flight, max_in_flight.clone());
        // The accept thread and connection threads end with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (s, i, m, h) = (s.clone(), i.clone(), m.clone(), handler.clone());
                std::thread::spawn(move || connection(stream, &s, &i, &m, &*h));
            }
        });
        Server {
            addr,
            seen,
            max_in_flight,
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn connection(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    in_flight: &AtomicUsize,
    max_in_flight: &AtomicUsize,
    handler: &Handler,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .map_or(0, |l| l.parse().unwrap());
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Seen {
            path,
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        };
        let index = {
            let mut seen = seen.lock().unwrap();
            seen.push(request.clone());
            seen.len() - 1
        };
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        max_in_flight.fetch_max(now, Ordering::SeqCst);
        let canned = handler(index, &request);
        std::thread::sleep(canned.delay);
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let reply = format!(
            "HTTP/1.1 {} Canned\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            canned.status,
            canned.body.len(),
            canned.body
        );
        // The client may have given up (timeout tests); then the connection just ends.
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Answer bodies in vLLM's shapes

/// A completions answer; `None` log-probabilities give `"logprobs": null`.
fn completions(choices: &[(&str, Option<&[f64]>)]) -> Value {
    let choices: Vec<Value> = choices
        .iter()
        .enumerate()
        .map(|(i, (text, lps))| {
            let logprobs = lps.map(|lps| {
                json!({
                    "tokens": lps.iter().map(|_| "t").collect::<Vec<_>>(),
                    "token_logprobs": lps,
                    "top_logprobs": null,
                    "text_offset": [],
                })
            });
            json!({"index": i, "text": text, "logprobs": logprobs, "finish_reason": "stop"})
        })
        .collect();
    json!({"id": "cmpl-1", "object": "text_completion", "model": "m", "choices": choices,
           "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}})
}

fn chat(choices: &[(&str, Option<&[f64]>)]) -> Value {
    let choices: Vec<Value> = choices
        .iter()
        .enumerate()
        .map(|(i, (text, lps))| {
            let logprobs = lps.map(|lps| {
                json!({"content": lps.iter().map(|l| json!({"token": "t", "logprob": l, "bytes": [116], "top_logprobs": []})).collect::<Vec<_>>()})
            });
            json!({"index": i, "message": {"role": "assistant", "content": text},
                   "logprobs": logprobs, "finish_reason": "stop"})
        })
        .collect();
    json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "choices": choices})
}

/// A configuration for `server` with fast retries and short deadlines.
fn config(server: &Server) -> LlmConfig {
    LlmConfig {
        base_url: server.base_url(),
        model: "test-model".into(),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_millis(500),
        retries: 2,
        backoff: Duration::from_millis(10),
        ..LlmConfig::default()
    }
}

fn client(config: LlmConfig) -> LlmClient {
    LlmClient::new(config).unwrap()
}

fn pairs(candidates: &[Candidate]) -> Vec<(&str, f64)> {
    candidates
        .iter()
        .map(|c| (c.tactic.as_str(), (c.score * 1e9).round() / 1e9))
        .collect()
}

const STATE: &str = "a : ℕ\n⊢ a + 0 = a";

// ---------------------------------------------------------------------------------------------
// Shapes and scores

#[tokio::test]
async fn completions_request_and_token_mean_scores() {
    let server = Server::start(|_, _| {
        ok(completions(&[
            ("simp", Some(&[-0.2, -0.4])),
            (" omega\n", Some(&[-0.1])),
            ("rfl", Some(&[-1.0, -2.0, -3.0])),
        ]))
    });
    let client = client(config(&server));
    let got = client.propose(STATE).await.unwrap();
    assert_eq!(
        pairs(&got),
        vec![("omega", -0.1), ("simp", -0.3), ("rfl", -2.0)]
    );

    // Three choices for n = 4: the client asks once more for the missing one (the same three
    // come back, so it stops there).
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/v1/completions");
    let body = |n: usize| {
        json!({"model": "test-model", "prompt": format!("{STATE}:::"), "n": n,
               "temperature": 1.3, "top_p": 1.0, "max_tokens": 256, "logprobs": 1,
               "stop": ["<|endoftext|>", ":::"]})
    };
    assert_eq!(seen[0].body, body(4));
    assert_eq!(seen[1].body, body(1));
    assert!(!seen[0].headers.contains_key("authorization"));
    let stats = client.stats();
    assert_eq!(
        (
            stats.calls,
            stats.requests,
            stats.retries,
            stats.failures,
            stats.top_ups
        ),
        (1, 2, 0, 0, 1)
    );
    assert_eq!((stats.prompt_tokens, stats.completion_tokens), (14, 10));
    assert_eq!(stats.answered, 2);
}

#[tokio::test]
async fn a_server_that_ignores_n_is_asked_once_per_missing_sample_with_distinct_seeds() {
    // One choice per request whatever `n` says (llama-cpp-python), a different one each time.
    let server = Server::start(|i, _| {
        let texts = ["simp", "ring", "omega", "rfl", "linarith"];
        ok(completions(&[(texts[i % texts.len()], Some(&[-0.5]))]))
    });
    let client = client(LlmConfig {
        seed: Some(7),
        ..config(&server)
    });
    let got = client.propose(STATE).await.unwrap();
    assert_eq!(got.len(), 4, "{got:?}");
    let seen = server.seen();
    assert_eq!(seen.len(), 4, "one with n = 4, then three with n = 1");
    assert_eq!(seen[0].body["n"], 4);
    let mut seeds: Vec<u64> = seen
        .iter()
        .filter_map(|s| s.body["seed"].as_u64())
        .collect();
    seeds.sort_unstable();
    assert_eq!(seeds, [7, 8, 9, 10]);
    assert!(seen[1..].iter().all(|s| s.body["n"] == 1));
}

#[tokio::test]
async fn identical_answers_stop_the_top_ups_within_the_bound() {
    let server = Server::start(|_, _| ok(completions(&[("simp", Some(&[-0.5]))])));
    let client = client(LlmConfig {
        samples_mode: prover::llm::SamplesMode::Requests,
        ..config(&server)
    });
    let got = client.propose(STATE).await.unwrap();
    assert_eq!(pairs(&got), vec![("simp", -0.5)]);
    // Four requests at once (one per sample) bring one text, three more for the missing
    // samples bring nothing new, which ends the proposal.
    assert_eq!(server.seen().len(), 7);
    assert!(server.seen().len() <= 4 * prover::llm::MAX_REQUESTS_PER_SAMPLE);
}

#[tokio::test]
async fn null_token_logprobs_are_skipped() {
    let server = Server::start(|_, _| {
        ok(json!({"choices": [{"index": 0, "text": "linarith",
            "logprobs": {"tokens": ["a", "b", "c"], "token_logprobs": [null, -1.0, -3.0]}}]}))
    });
    let got = client(config(&server)).propose(STATE).await.unwrap();
    assert_eq!(pairs(&got), vec![("linarith", -2.0)]);
}

#[tokio::test]
async fn chat_request_and_content_logprob_scores() {
    let server = Server::start(|_, _| {
        ok(chat(&[
            ("```lean\nnorm_num\n```", Some(&[-0.5, -1.5])),
            ("ring", Some(&[-0.25])),
        ]))
    });
    let client = client(LlmConfig {
        api: Api::Chat,
        samples: 2,
        temperature: 0.7,
        seed: Some(42),
        stop: vec!["\n\n".into()],
        api_key: Some("sk-test".into()),
        ..config(&server)
    });
    let got = client.propose(STATE).await.unwrap();
    assert_eq!(pairs(&got), vec![("ring", -0.25), ("norm_num", -1.0)]);

    let seen = &server.seen()[0];
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(
        seen.body,
        json!({"model": "test-model",
               "messages": [{"role": "user", "content": format!("{STATE}:::")}],
               "n": 2, "temperature": 0.7, "top_p": 1.0, "max_tokens": 256,
               "stop": ["\n\n"], "seed": 42, "logprobs": true, "top_logprobs": 0})
    );
    assert_eq!(seen.headers["authorization"], "Bearer sk-test");
}

#[tokio::test]
async fn without_logprobs_scores_follow_the_server_order() {
    let server = Server::start(|_, _| {
        ok(completions(&[
            ("nlinarith", None),
            ("positivity", None),
            ("norm_num", None),
        ]))
    });
    let client = client(LlmConfig {
        logprobs: false,
        ..config(&server)
    });
    let got = client.propose(STATE).await.unwrap();
    let ln = |x: f64| -(x.ln());
    assert_eq!(
        pairs(&got),
        pairs(&[
            Candidate::new("nlinarith", 0.0),
            Candidate::new("positivity", ln(2.0)),
            Candidate::new("norm_num", ln(3.0)),
        ])
    );
    assert_eq!(server.seen()[0].body.get("logprobs"), None);
}

#[tokio::test]
async fn choices_are_ranked_by_index_not_by_position() {
    let server = Server::start(|_, _| {
        ok(json!({"choices": [
            {"index": 1, "text": "second"},
            {"index": 0, "text": "first"},
        ]}))
    });
    let got = client(config(&server)).propose(STATE).await.unwrap();
    assert_eq!(got[0].tactic, "first");
    assert_eq!(got[1].tactic, "second");
}

#[tokio::test]
async fn duplicates_merge_with_the_best_score_and_blanks_are_dropped() {
    let server = Server::start(|_, _| {
        ok(completions(&[
            ("simp", Some(&[-2.0])),
            ("  simp \n", Some(&[-0.5])),
            ("   \n", Some(&[-0.1])),
            ("omega", Some(&[-1.0])),
        ]))
    });
    let got = client(config(&server)).propose(STATE).await.unwrap();
    assert_eq!(pairs(&got), vec![("simp", -0.5), ("omega", -1.0)]);
}

#[tokio::test]
async fn text_is_cut_at_stop_strings_the_server_ignored() {
    let server = Server::start(|_, _| {
        ok(json!({"choices": [
            {"index": 0, "text": "simp\n\nexact foo",
             "logprobs": {"tokens": ["simp", "\n\n", "exact foo"], "token_logprobs": [-1.0, -2.0, -9.0]}},
            {"index": 1, "text": "ring ###",
             "logprobs": {"tokens": ["ring", " ###"], "token_logprobs": [-0.5, -7.0]}},
        ]}))
    });
    let client = client(LlmConfig {
        stop: vec!["\n\n".into(), "###".into()],
        ..config(&server)
    });
    let got = client.propose(STATE).await.unwrap();
    // Tokens from the cut on are not scored: "\n\n" starts at the cut, so only "simp" counts;
    // " ###" starts before "###", so it is kept with "ring".
    assert_eq!(pairs(&got), vec![("simp", -1.0), ("ring", -3.75)]);
}

#[tokio::test]
async fn no_choices_is_an_empty_proposal() {
    let server = Server::start(|_, _| ok(json!({"choices": []})));
    let got = client(config(&server)).propose(STATE).await.unwrap();
    assert!(got.is_empty());
}

#[tokio::test]
async fn the_prompt_template_wraps_the_state() {
    let server = Server::start(|_, _| ok(completions(&[])));
    let client = client(LlmConfig {
        prompt_template: resolve_template("internlm-step"),
        base_url: format!("{}/", server.base_url()),
        ..config(&server)
    });
    client.propose(STATE).await.unwrap();
    let prompt = server.seen()[0].body["prompt"].as_str().unwrap().to_owned();
    assert!(
        prompt.contains(&format!("STATE_BEFORE: {STATE}\n")),
        "{prompt}"
    );
    assert!(prompt.ends_with("TACTIC: "), "{prompt}");
    assert_eq!(server.seen()[0].path, "/v1/completions");
}

// ---------------------------------------------------------------------------------------------
// Retries and errors

#[tokio::test]
async fn http_500_is_retried_until_success() {
    let server = Server::start(|i, _| {
        if i < 2 {
            status(500, &format!("{{\"error\": \"busy {i}\"}}"))
        } else {
            ok(completions(&[("simp", Some(&[-0.5]))]))
        }
    });
    let client = client(LlmConfig {
        samples: 1,
        ..config(&server)
    });
    let got = client.propose(STATE).await.unwrap();
    assert_eq!(pairs(&got), vec![("simp", -0.5)]);
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.failures), (3, 2, 0));
}

#[tokio::test]
async fn a_500_whose_body_repeats_is_permanent_after_one_retry() {
    // llama-cpp-python without log-probability support (recorded body).
    let refusal = "{\"error\":{\"message\":\"logprobs is not supported for models created with \
                   logits_all=False\",\"type\":\"internal_server_error\",\"param\":null,\"code\":null}}";
    let server = Server::start(move |_, _| status(500, refusal));
    let client = client(LlmConfig {
        samples: 1,
        retries: 5,
        ..config(&server)
    });
    let err = client.propose(STATE).await.unwrap_err();
    assert_eq!(server.seen().len(), 2, "one retry, not five");
    assert!(err.to_string().contains("logits_all=False"), "{err}");
    assert_eq!(err.attempts(), 2);
}

#[tokio::test]
async fn http_429_is_retried_and_reported_after_the_last_attempt() {
    let server = Server::start(|_, _| status(429, "{\"error\": {\"message\": \"slow down\"}}"));
    let client = client(config(&server));
    let err = client.propose(STATE).await.unwrap_err();
    match &err {
        LlmError::Status {
            status,
            body,
            attempts,
        } => {
            assert_eq!((*status, *attempts), (429, 3));
            assert!(body.contains("slow down"), "{body}");
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    assert_eq!(server.seen().len(), 3);
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.failures), (3, 2, 1));
}

#[tokio::test]
async fn http_400_is_not_retried() {
    let server = Server::start(|_, _| {
        status(
            400,
            "{\"error\": {\"message\": \"The model `x` does not exist.\"}}",
        )
    });
    let err = client(config(&server)).propose(STATE).await.unwrap_err();
    assert_eq!(err.attempts(), 1);
    assert!(
        matches!(&err, LlmError::Status { status: 400, body, .. } if body.contains("does not exist")),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 1);
    assert!(err.to_string().contains("HTTP 400"), "{err}");
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let server = Server::start(|i, _| Canned {
        delay: if i == 0 {
            Duration::from_secs(3)
        } else {
            Duration::ZERO
        },
        ..ok(completions(&[("simp", Some(&[-0.5]))]))
    });
    let client = client(LlmConfig {
        request_timeout: Duration::from_millis(300),
        ..config(&server)
    });
    let got = client.propose(STATE).await.unwrap();
    assert_eq!(pairs(&got), vec![("simp", -0.5)]);
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn timeouts_on_every_attempt_are_a_timeout_error() {
    let server = Server::start(|_, _| Canned {
        delay: Duration::from_secs(3),
        ..ok(completions(&[]))
    });
    let client = client(LlmConfig {
        request_timeout: Duration::from_millis(200),
        retries: 1,
        ..config(&server)
    });
    let err = client.propose(STATE).await.unwrap_err();
    assert!(
        matches!(err, LlmError::Timeout { attempts: 2, after } if after == Duration::from_millis(200)),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_json_is_retried_then_reported() {
    let server = Server::start(|i, _| {
        if i == 0 {
            status(200, "{\"choices\": [{\"text\": ")
        } else {
            status(200, "<html>gateway</html>")
        }
    });
    let err = client(config(&server)).propose(STATE).await.unwrap_err();
    match &err {
        LlmError::Malformed { body, attempts, .. } => {
            assert_eq!(*attempts, 3);
            assert!(body.contains("gateway"), "{body}");
        }
        other => panic!("expected a malformed-answer error, got {other:?}"),
    }
}

#[tokio::test]
async fn json_without_choices_is_malformed() {
    let server = Server::start(|_, _| ok(json!({"object": "list", "data": []})));
    let err = client(LlmConfig {
        retries: 0,
        ..config(&server)
    })
    .propose(STATE)
    .await
    .unwrap_err();
    assert!(
        matches!(&err, LlmError::Malformed { reason, attempts: 1, .. } if reason.contains("choices")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_error_body_with_http_200_is_retried_then_reported() {
    let server = Server::start(|i, _| {
        if i == 0 {
            ok(json!({"error": {"message": "out of KV cache", "type": "server_error"}}))
        } else {
            ok(json!({"error": "still broken"}))
        }
    });
    let err = client(config(&server)).propose(STATE).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Server { message, attempts: 3 } if message == "still broken"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_error_body_then_success_recovers() {
    let server = Server::start(|i, _| {
        if i == 0 {
            ok(json!({"error": {"message": "out of KV cache"}}))
        } else {
            ok(completions(&[("decide", Some(&[-0.1]))]))
        }
    });
    let got = client(config(&server)).propose(STATE).await.unwrap();
    assert_eq!(pairs(&got), vec![("decide", -0.1)]);
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_after_retries() {
    // A port that was just free: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client(LlmConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        retries: 1,
        backoff: Duration::from_millis(1),
        ..LlmConfig::default()
    });
    let err = client.propose(STATE).await.unwrap_err();
    assert!(
        matches!(err, LlmError::Transport { attempts: 2, .. }),
        "{err:?}"
    );
    assert_eq!(client.stats().requests, 2);
}

#[test]
fn unusable_urls_are_configuration_errors() {
    let err = LlmClient::new(LlmConfig {
        base_url: "127.0.0.1:8000/v1".into(),
        ..LlmConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, LlmError::Config(_)), "{err:?}");
    let https = LlmClient::new(LlmConfig {
        base_url: "https://api.example.invalid/v1".into(),
        ..LlmConfig::default()
    });
    if cfg!(feature = "https") {
        assert!(https.is_ok());
    } else {
        let err = https.unwrap_err();
        assert!(err.to_string().contains("--features https"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_never_exceed_max_concurrency() {
    let server = Server::start(|_, _| Canned {
        delay: Duration::from_millis(100),
        ..ok(completions(&[("simp", Some(&[-0.5]))]))
    });
    let client = Arc::new(client(LlmConfig {
        max_concurrency: 2,
        samples: 1,
        ..config(&server)
    }));
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.propose(&format!("⊢ goal {i}")).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().len(), 1);
    }
    assert_eq!(server.seen().len(), 6);
    let max = server.max_in_flight.load(Ordering::SeqCst);
    assert!((1..=2).contains(&max), "max in flight {max}");
}

// ---------------------------------------------------------------------------------------------
// Policies

#[test]
fn the_openai_policy_blocks_on_the_runtime_and_maps_errors() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = Server::start(|_, request| {
        if request.body["prompt"].as_str().unwrap().contains("bad") {
            status(400, "{\"error\": {\"message\": \"nope\"}}")
        } else {
            ok(completions(&[("simp", Some(&[-0.5]))]))
        }
    });
    let client = Arc::new(client(config(&server)));
    let mut policy = OpenAiPolicy::new(client.clone(), runtime.handle().clone());
    let got = policy.propose(&Query::root(STATE, 8)).unwrap();
    assert_eq!(pairs(&got), vec![("simp", -0.5)]);
    let err = policy.propose(&Query::root("⊢ bad", 8)).unwrap_err();
    let cause = std::error::Error::source(&err).expect("the LlmError is the source");
    assert!(cause.to_string().contains("nope"), "{cause}");
    assert_eq!(client.stats().failures, 1);
}

/// A policy with a fixed answer.
struct Fixed(Result<Vec<Candidate>, String>);

impl Policy for Fixed {
    fn propose(&mut self, _: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        self.0.clone().map_err(PolicyError::new)
    }
}

fn fixed(candidates: &[(&str, f64)]) -> Fixed {
    Fixed(Ok(candidates
        .iter()
        .map(|(t, s)| Candidate::new(*t, *s))
        .collect()))
}

fn failing(message: &str) -> Fixed {
    Fixed(Err(message.to_owned()))
}

#[test]
fn the_combined_policy_merges_first_then_second() {
    let mut policy = CombinedPolicy::new(
        fixed(&[("simp", -0.9), ("omega", -0.2)]),
        fixed(&[("norm_num", -1.0), ("simp ", -0.1), ("omega", -3.0)]),
    );
    let got = policy.propose(&Query::root(STATE, 4)).unwrap();
    assert_eq!(
        pairs(&got),
        vec![("simp", -0.1), ("omega", -0.2), ("norm_num", -1.0)]
    );
    assert_eq!((policy.first_failures(), policy.second_failures()), (0, 0));
}

#[test]
fn the_combined_policy_survives_one_side_failing() {
    let mut policy = CombinedPolicy::new(failing("server down"), fixed(&[("linarith", -1.0)]));
    assert_eq!(
        pairs(&policy.propose(&Query::root(STATE, 4)).unwrap()),
        vec![("linarith", -1.0)]
    );
    assert_eq!(policy.first_failures(), 1);

    let mut policy = CombinedPolicy::new(fixed(&[("ring", -0.3)]), failing("portfolio broke"));
    assert_eq!(
        pairs(&policy.propose(&Query::root(STATE, 4)).unwrap()),
        vec![("ring", -0.3)]
    );
    assert_eq!(policy.second_failures(), 1);

    let mut policy = CombinedPolicy::new(failing("server down"), failing("portfolio broke"));
    let err = policy.propose(&Query::root(STATE, 4)).unwrap_err();
    assert!(
        err.to_string().contains("server down") && err.to_string().contains("portfolio broke"),
        "{err}"
    );
}

#[test]
fn the_fallback_policy_is_used_only_when_the_primary_fails() {
    let mut policy = FallbackPolicy::new(fixed(&[("simp", -0.5)]), fixed(&[("omega", -1.0)]));
    assert_eq!(
        pairs(&policy.propose(&Query::root(STATE, 4)).unwrap()),
        vec![("simp", -0.5)]
    );
    assert_eq!(policy.fallbacks(), 0);

    let mut policy = FallbackPolicy::new(failing("server down"), fixed(&[("omega", -1.0)]));
    assert_eq!(
        pairs(&policy.propose(&Query::root(STATE, 4)).unwrap()),
        vec![("omega", -1.0)]
    );
    assert_eq!(policy.propose(&Query::root(STATE, 4)).unwrap().len(), 1);
    assert_eq!(policy.fallbacks(), 2);

    let mut policy = FallbackPolicy::new(failing("server down"), failing("also down"));
    assert!(policy.propose(&Query::root(STATE, 4)).is_err());
}

#[test]
fn the_llm_falls_back_to_another_policy_when_its_server_is_down() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = Server::start(|_, _| status(503, "{\"error\": \"loading\"}"));
    let client = Arc::new(client(LlmConfig {
        retries: 1,
        ..config(&server)
    }));
    let llm = OpenAiPolicy::new(client.clone(), runtime.handle().clone());
    let mut policy = FallbackPolicy::new(llm, fixed(&[("norm_num", -1.0)]));
    assert_eq!(
        pairs(&policy.propose(&Query::root(STATE, 4)).unwrap()),
        vec![("norm_num", -1.0)]
    );
    assert_eq!(policy.fallbacks(), 1);
    assert_eq!(client.stats().requests, 2);
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn templates_resolve_by_name_or_stand_for_themselves() {
    assert_eq!(resolve_template("bfs-prover"), "{state}:::");
    assert_eq!(LlmConfig::default().prompt_template, "{state}:::");
    assert_eq!(
        resolve_template("Goal: {state}\nTactic:"),
        "Goal: {state}\nTactic:"
    );
    assert_eq!(named_template("chat-tactic").unwrap().api, Api::Chat);
    for template in prover::llm::TEMPLATES {
        assert!(template.template.contains("{state}"), "{}", template.name);
        assert!(!template.source.is_empty());
    }
    assert_eq!(LlmConfig::default().render_prompt("⊢ True"), "⊢ True:::");
}

#[test]
fn debug_output_never_shows_the_api_key() {
    let config = LlmConfig {
        api_key: Some("sk-secret".into()),
        ..LlmConfig::default()
    };
    let text = format!("{config:?}");
    assert!(!text.contains("sk-secret"), "{text}");
    assert!(text.contains("redacted"), "{text}");
}

#[test]
fn api_names_parse() {
    assert_eq!("chat".parse::<Api>(), Ok(Api::Chat));
    assert_eq!("completions".parse::<Api>(), Ok(Api::Completions));
    assert!("responses".parse::<Api>().is_err());
}

#[test]
fn the_client_is_shareable_and_the_policies_can_move_to_search_threads() {
    fn shareable<T: Send + Sync>() {}
    fn movable<T: Send>() {}
    shareable::<LlmClient>();
    movable::<OpenAiPolicy>();
    movable::<CombinedPolicy<OpenAiPolicy, Fixed>>();
    movable::<FallbackPolicy<OpenAiPolicy, Fixed>>();
}

// ---------------------------------------------------------------------------------------------
// Answers asked ahead of need (`Policy::prefetch`)

/// A server that answers each prompt with one tactic naming it, and fails the requests whose
/// number (from 0) `fails` says.
fn echoing_server(fails: fn(usize) -> bool) -> Server {
    Server::start(move |i, request| {
        if fails(i) {
            return status(500, "{\"error\": \"busy\"}");
        }
        let prompt = request.body["prompt"].as_str().unwrap_or_default();
        let tactic = format!("tactic for {}", prompt.trim_end_matches(":::"));
        ok(completions(&[(tactic.as_str(), Some(&[-0.5]))]))
    })
}

/// One completion per proposal, so one request per state.
fn one_sample(server: &Server) -> LlmConfig {
    LlmConfig {
        samples: 1,
        ..config(server)
    }
}

fn tactics(candidates: &[Candidate]) -> Vec<&str> {
    candidates.iter().map(|c| c.tactic.as_str()).collect()
}

#[test]
fn a_prefetched_model_answer_serves_the_later_proposal_without_a_second_request() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = echoing_server(|_| false);
    let client = Arc::new(client(one_sample(&server)));
    let mut policy = OpenAiPolicy::new(client.clone(), runtime.handle().clone());
    policy.prefetch(&[Query::root("⊢ p", 4), Query::root("⊢ q", 4)]);
    let got = policy.propose(&Query::root("⊢ q", 4)).unwrap();
    assert_eq!(tactics(&got), ["tactic for ⊢ q"]);
    let got = policy.propose(&Query::root("⊢ p", 4)).unwrap();
    assert_eq!(tactics(&got), ["tactic for ⊢ p"]);
    assert_eq!(client.stats().requests, 2, "one request per state");
    let stats = policy.prefetch_stats();
    assert_eq!((stats.started, stats.used), (2, 2), "{stats:?}");
    // Used once: asking again is a new request.
    policy.propose(&Query::root("⊢ q", 4)).unwrap();
    assert_eq!(client.stats().requests, 3);
}

#[test]
fn a_prefetched_answer_pushed_out_by_newer_hints_is_dropped_and_asked_for_again() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = echoing_server(|_| false);
    let client = Arc::new(client(one_sample(&server)));
    let mut policy = OpenAiPolicy::new(client.clone(), runtime.handle().clone());
    policy.prefetch(&[Query::root("⊢ old", 4)]);
    for i in 0..prover::policy::prefetch::ROUNDS_KEPT {
        policy.prefetch(&[Query::root(&format!("⊢ new {i}"), 4)]);
    }
    assert_eq!(policy.prefetch_stats().discarded, 1);
    let got = policy.propose(&Query::root("⊢ old", 4)).unwrap();
    assert_eq!(tactics(&got), ["tactic for ⊢ old"]);
    assert_eq!(
        policy.prefetch_stats().used,
        0,
        "the answer came from a new request"
    );
}

#[test]
fn a_failed_prefetch_does_not_poison_the_proposal_it_was_meant_for() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The first request (the prefetch) fails; the proposal's own request succeeds.
    let server = echoing_server(|i| i == 0);
    let client = Arc::new(client(LlmConfig {
        retries: 0,
        ..one_sample(&server)
    }));
    let mut policy = OpenAiPolicy::new(client.clone(), runtime.handle().clone());
    policy.prefetch(&[Query::root("⊢ p", 4)]);
    let got = policy.propose(&Query::root("⊢ p", 4)).unwrap();
    assert_eq!(tactics(&got), ["tactic for ⊢ p"]);
    let stats = policy.prefetch_stats();
    assert_eq!((stats.used, stats.failed), (0, 1), "{stats:?}");
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn a_new_state_the_environment_announced_serves_the_later_proposal_from_one_request() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = echoing_server(|_| false);
    let client = Arc::new(client(one_sample(&server)));
    let mut policy = OpenAiPolicy::new(client.clone(), runtime.handle().clone());
    let ear = policy
        .state_hints()
        .expect("the model policy listens for new states");
    // Announced from another thread, as the environment's tactic tasks do.
    std::thread::spawn(move || {
        ear.new_state("⊢ child");
        ear.new_state("⊢ child");
    })
    .join()
    .unwrap();
    let got = policy.propose(&Query::root("⊢ child", 4)).unwrap();
    assert_eq!(tactics(&got), ["tactic for ⊢ child"]);
    assert_eq!(client.stats().requests, 1, "announced twice, asked once");
    let stats = policy.prefetch_stats();
    assert_eq!(
        (
            stats.started,
            stats.new_states,
            stats.used,
            stats.new_states_used
        ),
        (1, 1, 1, 1),
        "{stats:?}"
    );
}

#[test]
fn combined_and_fallback_policies_pass_new_states_to_the_model_alone_that_listens() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = echoing_server(|_| false);
    let client = Arc::new(client(one_sample(&server)));
    let fixed = || fixed(&[("simp", -1.0)]);
    assert!(fixed().state_hints().is_none());
    let combined = CombinedPolicy::new(
        fixed(),
        OpenAiPolicy::new(client.clone(), runtime.handle().clone()),
    );
    combined.state_hints().unwrap().new_state("⊢ a");
    assert_eq!(combined.second.prefetch_stats().new_states, 1);
    let fallback = FallbackPolicy::new(
        OpenAiPolicy::new(client.clone(), runtime.handle().clone()),
        fixed(),
    );
    fallback.state_hints().unwrap().new_state("⊢ b");
    assert_eq!(fallback.primary.prefetch_stats().new_states, 1);
}
