//! The simulated OpenAI-compatible server on its own, over raw HTTP/1.1: answer shapes, `n`,
//! matching, faults, keep-alive, the request log, and the `sim-openai` binary.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prover_tests::openai_sim::{
    Completion, Entry, Faults, MatchMode, Options, SIMULATED_ERROR, Script, SimServer, serve,
};
use serde_json::{Value, json};

/// One HTTP/1.1 connection to the server.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Conn {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, method: &str, path: &str, body: &[u8], extra: &str) -> Response {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).unwrap();
        self.writer.write_all(body).unwrap();
        self.read_response()
    }

    fn post(&mut self, path: &str, body: &Value) -> Response {
        self.send("POST", path, body.to_string().as_bytes(), "")
    }

    fn read_response(&mut self) -> Response {
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("no status line: {status_line:?}"))
            .parse()
            .unwrap();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
        }
        let length: usize = headers["content-length"].parse().unwrap();
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        Response {
            status,
            headers,
            body: String::from_utf8(body).unwrap(),
        }
    }

    /// True when the server has closed the connection.
    fn closed(&mut self) -> bool {
        let mut byte = [0];
        matches!(self.reader.read(&mut byte), Ok(0))
    }
}

fn post(server: &SimServer, path: &str, body: &Value) -> Response {
    Conn::open(server.addr()).post(path, body)
}

const STATE: &str = "a : ℕ\n⊢ a + 0 = a";

fn script() -> Script {
    Script::single(
        STATE,
        vec![
            Completion::new("simp", &[-0.1, -0.3]),
            Completion {
                text: "omega".into(),
                logprobs: Some(vec![-0.5]),
                tokens: Some(vec!["omega".into()]),
            },
            Completion::new("rfl", &[-2.0]),
        ],
    )
}

fn completion_request(n: u64) -> Value {
    json!({"model": "m", "prompt": format!("{STATE}:::"), "n": n, "temperature": 1.3, "logprobs": 1})
}

fn chat_request(n: u64) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": format!("{STATE}:::")}],
           "n": n, "logprobs": true})
}

fn texts(answer: &Value) -> Vec<String> {
    answer["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.get("text")
                .or_else(|| c["message"].get("content"))
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[test]
fn completions_answers_in_vllm_shape_with_up_to_n_choices() {
    let server = serve(script(), Options::default()).unwrap();
    let response = post(&server, "/v1/completions", &completion_request(2));
    assert_eq!(response.status, 200);
    assert_eq!(response.headers["content-type"], "application/json");
    let answer = response.json();
    assert_eq!(answer["object"], "text_completion");
    assert_eq!(answer["model"], "m");
    assert_eq!(texts(&answer), ["simp", "omega"]);
    let first = &answer["choices"][0];
    assert_eq!(first["index"], 0);
    assert_eq!(first["finish_reason"], "stop");
    assert_eq!(first["logprobs"]["token_logprobs"], json!([-0.1, -0.3]));
    // Without token texts, the text is split into one piece per log-probability.
    assert_eq!(first["logprobs"]["tokens"], json!(["si", "mp"]));
    assert_eq!(first["logprobs"]["text_offset"], json!([0, 2]));
    assert_eq!(answer["choices"][1]["logprobs"]["tokens"], json!(["omega"]));
    assert_eq!(answer["usage"]["completion_tokens"], 3);

    let more = post(&server, "/v1/completions", &completion_request(10)).json();
    assert_eq!(texts(&more), ["simp", "omega", "rfl"]);
    let one = post(&server, "/v1/completions", &json!({"prompt": STATE})).json();
    assert_eq!(texts(&one), ["simp"]);
    // No `logprobs` in the request: none in the answer, as with OpenAI and vLLM.
    assert_eq!(one["choices"][0]["logprobs"], Value::Null);
}

#[test]
fn chat_answers_in_openai_shape() {
    let server = serve(script(), Options::default()).unwrap();
    let answer = post(&server, "/v1/chat/completions", &chat_request(2)).json();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(texts(&answer), ["simp", "omega"]);
    let first = &answer["choices"][0];
    assert_eq!(first["message"]["role"], "assistant");
    assert_eq!(
        first["logprobs"]["content"],
        json!([
            {"token": "si", "logprob": -0.1, "bytes": [115, 105], "top_logprobs": []},
            {"token": "mp", "logprob": -0.3, "bytes": [109, 112], "top_logprobs": []},
        ])
    );
    let without = post(
        &server,
        "/v1/chat/completions",
        &json!({"messages": [{"role": "user", "content": STATE}], "logprobs": false}),
    )
    .json();
    assert_eq!(without["choices"][0]["logprobs"], Value::Null);
}

#[test]
fn logprobs_can_be_omitted_by_script_entry_or_option() {
    let mut by_script = script();
    by_script.omit_logprobs = true;
    let by_option = Options {
        omit_logprobs: true,
        ..Options::default()
    };
    let mut by_entry = script();
    by_entry.responses.get_mut(STATE).unwrap().omit_logprobs = true;
    for server in [
        serve(by_script, Options::default()).unwrap(),
        serve(script(), by_option).unwrap(),
        serve(by_entry, Options::default()).unwrap(),
    ] {
        let answer = post(&server, "/v1/completions", &completion_request(3)).json();
        assert_eq!(texts(&answer).len(), 3);
        assert!(
            answer["choices"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["logprobs"].is_null()),
            "{answer}"
        );
    }
}

#[test]
fn stop_strings_are_applied_unless_the_script_ignores_them() {
    let make = |ignore_stop| Script {
        ignore_stop,
        ..Script::single(
            STATE,
            vec![Completion {
                text: "simp\n\nring".into(),
                logprobs: Some(vec![-1.0, -2.0, -3.0]),
                tokens: Some(vec!["simp".into(), "\n\n".into(), "ring".into()]),
            }],
        )
    };
    let request = json!({"prompt": STATE, "stop": ["\n\n"], "logprobs": 1});
    let applied = post(
        &serve(make(false), Options::default()).unwrap(),
        "/v1/completions",
        &request,
    )
    .json();
    assert_eq!(texts(&applied), ["simp"]);
    assert_eq!(
        applied["choices"][0]["logprobs"]["token_logprobs"],
        json!([-1.0])
    );
    let ignored = post(
        &serve(make(true), Options::default()).unwrap(),
        "/v1/completions",
        &request,
    )
    .json();
    assert_eq!(texts(&ignored), ["simp\n\nring"]);
}

// ---------------------------------------------------------------------------------------------
// Matching

#[test]
fn prompts_match_by_containment_longest_key_first_else_the_default() {
    let mut script = Script::default();
    script
        .responses
        .insert("⊢ a".into(), vec![Completion::new("short", &[-1.0])].into());
    script.responses.insert(
        "⊢ a + 0".into(),
        vec![Completion::new("long", &[-1.0])].into(),
    );
    script.default = vec![Completion::new("fallback", &[-5.0])].into();
    let server = serve(script, Options::default()).unwrap();
    let ask =
        |prompt: &str| texts(&post(&server, "/v1/completions", &json!({"prompt": prompt})).json());
    assert_eq!(ask("x\n⊢ a + 0 = a:::"), ["long"]);
    assert_eq!(ask("⊢ a = a:::"), ["short"]);
    assert_eq!(ask("⊢ b:::"), ["fallback"]);
}

#[test]
fn exact_matching_needs_the_whole_prompt() {
    let mut script = script();
    script.match_mode = MatchMode::Exact;
    let entry = script.responses.remove(STATE).unwrap();
    script.responses.insert(format!("{STATE}:::"), entry);
    let server = serve(script, Options::default()).unwrap();
    let hit = post(
        &server,
        "/v1/completions",
        &json!({"prompt": format!("{STATE}:::")}),
    );
    assert_eq!(texts(&hit.json()), ["simp"]);
    let miss = post(
        &server,
        "/v1/completions",
        &json!({"prompt": format!("x {STATE}:::")}),
    );
    assert_eq!(texts(&miss.json()), Vec::<String>::new());
}

#[test]
fn scripts_parse_from_json_in_both_entry_forms() {
    let script: Script = serde_json::from_value(json!({
        "match": "exact",
        "responses": {
            "plain": [{"text": "simp", "logprobs": [-0.5]}],
            "faulty": {"completions": [{"text": "rfl"}], "fail_first": 2, "status": 429,
                       "delay_ms": 5, "omit_logprobs": true},
        },
        "default": [{"text": "norm_num"}],
        "ignore_stop": true,
    }))
    .unwrap();
    assert_eq!(script.match_mode, MatchMode::Exact);
    assert_eq!(
        script.responses["plain"],
        Entry::from(vec![Completion::new("simp", &[-0.5])])
    );
    let faulty = &script.responses["faulty"];
    assert_eq!(
        faulty.faults,
        Faults {
            fail_first: Some(2),
            delay_ms: 5,
            status: Some(429),
            ..Faults::default()
        }
    );
    assert!(faulty.omit_logprobs);
    assert_eq!(script.default.completions[0].text, "norm_num");
    assert!(serde_json::from_value::<Script>(json!({"responses": {}, "typo": 1})).is_err());
}

// ---------------------------------------------------------------------------------------------
// Faults

#[test]
fn fail_first_answers_500_then_recovers() {
    let options = Options {
        faults: Faults {
            fail_first: Some(2),
            ..Faults::default()
        },
        ..Options::default()
    };
    let server = serve(script(), options).unwrap();
    let statuses: Vec<u16> = (0..4)
        .map(|_| post(&server, "/v1/completions", &completion_request(1)).status)
        .collect();
    assert_eq!(statuses, [500, 500, 200, 200]);
    let failed = post(&server, "/v1/completions", &completion_request(1));
    assert!(failed.json()["choices"].is_array());
    assert_eq!(server.request_count(), 5);
}

#[test]
fn status_malformed_and_error_body_faults() {
    let with = |faults: Faults| {
        serve(
            script(),
            Options {
                faults,
                ..Options::default()
            },
        )
        .unwrap()
    };
    let server = with(Faults {
        status: Some(429),
        ..Faults::default()
    });
    let response = post(&server, "/v1/completions", &completion_request(1));
    assert_eq!(response.status, 429);
    assert!(response.json()["error"]["message"].is_string());

    let server = with(Faults {
        malformed: true,
        ..Faults::default()
    });
    let response = post(&server, "/v1/completions", &completion_request(1));
    assert_eq!(response.status, 200);
    assert!(serde_json::from_str::<Value>(&response.body).is_err());

    let server = with(Faults {
        error_body: true,
        fail_first: Some(1),
        ..Faults::default()
    });
    let response = post(&server, "/v1/chat/completions", &chat_request(1));
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["error"]["message"], SIMULATED_ERROR);
    let response = post(&server, "/v1/chat/completions", &chat_request(1));
    assert_eq!(texts(&response.json()), ["simp"]);
}

#[test]
fn entry_faults_count_that_entrys_requests_only() {
    let mut script = script();
    script.responses.insert(
        "⊢ flaky".into(),
        Entry {
            completions: vec![Completion::new("decide", &[-0.2])],
            faults: Faults {
                fail_first: Some(1),
                status: Some(503),
                ..Faults::default()
            },
            omit_logprobs: false,
        },
    );
    let server = serve(script, Options::default()).unwrap();
    let ask = |prompt: &str| post(&server, "/v1/completions", &json!({"prompt": prompt})).status;
    assert_eq!(ask(STATE), 200);
    assert_eq!(ask("⊢ flaky:::"), 503);
    assert_eq!(ask("⊢ flaky:::"), 200);
    assert_eq!(ask(STATE), 200);
}

#[test]
fn delays_hold_the_answer_back() {
    let options = Options {
        faults: Faults {
            delay_ms: 150,
            ..Faults::default()
        },
        ..Options::default()
    };
    let server = serve(script(), options).unwrap();
    let start = Instant::now();
    assert_eq!(
        post(&server, "/v1/completions", &completion_request(1)).status,
        200
    );
    assert!(start.elapsed() >= Duration::from_millis(150));
}

// ---------------------------------------------------------------------------------------------
// HTTP

#[test]
fn connections_are_kept_alive_until_the_client_closes() {
    let server = serve(script(), Options::default()).unwrap();
    let mut conn = Conn::open(server.addr());
    for _ in 0..3 {
        let response = conn.post("/v1/completions", &completion_request(1));
        assert_eq!(response.status, 200);
        assert_eq!(response.headers["connection"], "keep-alive");
    }
    let body = completion_request(1).to_string();
    let last = conn.send(
        "POST",
        "/v1/completions",
        body.as_bytes(),
        "Connection: close\r\n",
    );
    assert_eq!(last.status, 200);
    assert_eq!(last.headers["connection"], "close");
    assert!(conn.closed());
    assert_eq!(server.request_count(), 4);
}

#[test]
fn bad_requests_get_openai_style_errors() {
    let server = serve(script(), Options::default()).unwrap();
    let mut conn = Conn::open(server.addr());
    let not_json = conn.send("POST", "/v1/completions", b"{not json", "");
    assert_eq!(not_json.status, 400);
    assert!(not_json.json()["error"]["message"].is_string());
    assert_eq!(
        conn.post("/v1/completions", &json!({"prompt": STATE, "n": 0}))
            .status,
        400
    );
    assert_eq!(conn.post("/v1/completions", &json!({"n": 1})).status, 400);
    assert_eq!(
        conn.post("/v1/chat/completions", &json!({"messages": []}))
            .status,
        400
    );
    assert_eq!(conn.post("/v1/embeddings", &json!({})).status, 404);
    assert_eq!(conn.send("GET", "/v1/completions", b"", "").status, 405);
    let models = conn.send("GET", "/v1/models", b"", "").json();
    assert_eq!(models["data"][0]["object"], "model");
    assert_eq!(conn.send("GET", "/health", b"", "").status, 200);
}

#[test]
fn requests_are_logged_to_memory_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let server = serve(
        script(),
        Options {
            log: Some(log.clone()),
            ..Options::default()
        },
    )
    .unwrap();
    post(&server, "/v1/completions", &completion_request(3));
    post(&server, "/v1/chat/completions", &chat_request(1));
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, [completion_request(3), chat_request(1)]);
    assert_eq!(server.requests(), lines);
    assert_eq!(lines[0]["n"], 3);
    assert_eq!(lines[0]["temperature"], 1.3);
}

// ---------------------------------------------------------------------------------------------
// The binary

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_binary(args: &[&str]) -> (Running, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-openai"))
        .args(args)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    (running, addr)
}

#[test]
fn the_binary_serves_a_script_file_with_faults_and_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let script_path = dir.path().join("script.json");
    std::fs::write(
        &script_path,
        json!({"responses": {STATE: [{"text": "simp", "logprobs": [-0.5]}]}}).to_string(),
    )
    .unwrap();
    let log = dir.path().join("log.jsonl");
    let (_child, addr) = start_binary(&[
        "--script",
        script_path.to_str().unwrap(),
        "--fail-first",
        "1",
        "--status",
        "429",
        "--log",
        log.to_str().unwrap(),
    ]);
    let mut conn = Conn::open(addr);
    assert_eq!(
        conn.post("/v1/completions", &completion_request(2)).status,
        429
    );
    let answer = conn.post("/v1/completions", &completion_request(2)).json();
    assert_eq!(texts(&answer), ["simp"]);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 2);
}

#[test]
fn the_binary_answers_unknown_prompts_with_default_tactics() {
    let (_child, addr) = start_binary(&["--default", "norm_num", "--default", "simp"]);
    let answer = Conn::open(addr)
        .post(
            "/v1/completions",
            &json!({"prompt": "⊢ anything:::", "n": 4, "logprobs": 1}),
        )
        .json();
    assert_eq!(texts(&answer), ["norm_num", "simp"]);
    assert!(answer["choices"][0]["logprobs"].is_null());
}

#[test]
fn the_binary_rejects_unknown_flags() {
    let output = Command::new(env!("CARGO_BIN_EXE_sim-openai"))
        .arg("--frobnicate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--frobnicate"));
}
