//! A simulated OpenAI-compatible model server (no model behind it): scripted completions over
//! plain HTTP/1.1 on loopback, with fault injection, for prover's LLM policy tests.
//!
//! It answers `POST /v1/completions` and `POST /v1/chat/completions` in vLLM's shapes from a
//! [`Script`], plus `GET /v1/models` and `GET /health`. It runs in-process ([`serve`], a thread
//! per connection) or as the `sim-openai` binary.
//!
//! # Script (JSON)
//!
//! ```json
//! {
//!   "match": "contains",
//!   "responses": {
//!     "⊢ a + 0 = a": [
//!       { "text": "simp", "logprobs": [-0.1, -0.3] },
//!       { "text": "omega", "logprobs": [-0.5], "tokens": ["omega"] }
//!     ],
//!     "⊢ flaky": { "completions": [{ "text": "rfl" }], "fail_first": 2, "delay_ms": 50 }
//!   },
//!   "default": [],
//!   "omit_logprobs": false,
//!   "ignore_stop": false
//! }
//! ```
//!
//! - **Matching.** The prompt is the completions request's `prompt`, or the chat request's
//!   last message content. With `"match": "contains"` (the default) an entry applies when the
//!   prompt contains its key, so the key is the state text whatever the template adds; when
//!   several keys match, the longest wins. With `"match": "exact"` the key must equal the prompt.
//!   Prompts matching nothing get `default` (no choices unless set).
//! - **Completions.** An entry is a list of completions, or an object with `completions` and
//!   per-entry faults. The answer holds the first `n` completions (fewer if fewer are
//!   scripted), in order. `logprobs` gives one value per token; `tokens` the token texts
//!   (default: the text split into that many pieces). A completion without `logprobs` has
//!   `"logprobs": null`, as does every completion when the request did not ask for them
//!   (`logprobs` a number for completions, `true` for chat) or `omit_logprobs` is set.
//! - **Stop strings.** The request's `stop` cuts the text (and drops the tokens that start
//!   after the cut) as vLLM does, unless `ignore_stop` is set, to imitate servers that ignore it.
//! - **Faults** ([`Faults`]), globally in [`Options`] or per entry: `status` (answer with that
//!   HTTP status and an error body), `malformed` (HTTP 200, invalid JSON), `error_body` (HTTP
//!   200, `{"error": {"message": …}}`), each on every request or, with `fail_first: N`, on the
//!   first N only (`fail_first` alone means HTTP 500), or, with `fail_after: N`, on all but the
//!   first N; `delay_ms` before every answer; [`SimServer::recover`] ends them all. Global
//!   faults count all model requests; entry faults count the requests matching that entry.
//! - **Profiles** ([`Profile`], [`Options::profile`]) imitate real servers: llama-cpp-python as
//!   recorded (one choice whatever `n` says, chat log-probabilities only with `top_logprobs`,
//!   validation errors as HTTP 500, one request at a time, the stop token left in the
//!   log-probabilities), and vLLM, SGLang and Ollama as their documentation describes them.
//!   [`Options::refuse_logprobs`] and [`Options::same_500`] imitate a server started without
//!   log-probabilities and one that fails every request alike.
//! - **Log.** With [`Options::log`], every model request body is appended to the file as one
//!   line of compact JSON; [`SimServer::requests`] gives the same in memory.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// The `model` reported by `GET /v1/models` and by answers to requests that name none.
pub const SIM_MODEL: &str = "sim-model";

/// The `error.message` of an `error_body` fault.
pub const SIMULATED_ERROR: &str = "simulated server error";

/// How an entry's key is compared with the prompt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    /// The prompt contains the key (the longest matching key wins).
    #[default]
    Contains,
    /// The prompt equals the key.
    Exact,
}

/// One scripted completion.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The completion text.
    pub text: String,
    /// One log-probability per token; absent for a choice without log-probabilities.
    #[serde(default)]
    pub logprobs: Option<Vec<f64>>,
    /// The token texts; default: `text` split into `logprobs.len()` pieces.
    #[serde(default)]
    pub tokens: Option<Vec<String>>,
}

impl Completion {
    /// A completion with log-probabilities.
    pub fn new(text: &str, logprobs: &[f64]) -> Self {
        Self {
            text: text.to_owned(),
            logprobs: Some(logprobs.to_vec()),
            tokens: None,
        }
    }
}

/// Injected failures. Which one applies: `status`, else `malformed`, else `error_body`, else
/// HTTP 500 if only `fail_first` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Apply the fault to the first N requests only (all requests when absent).
    #[serde(default)]
    pub fail_first: Option<u64>,
    /// Answer the first N requests normally and apply the fault from then on (a server that
    /// goes down mid-run).
    #[serde(default)]
    pub fail_after: Option<u64>,
    /// Sleep this long before every answer, faulty or not.
    #[serde(default)]
    pub delay_ms: u64,
    /// HTTP 200 with a body that is not JSON.
    #[serde(default)]
    pub malformed: bool,
    /// HTTP 200 with `{"error": {"message": SIMULATED_ERROR}}`.
    #[serde(default)]
    pub error_body: bool,
    /// Answer with this HTTP status and an OpenAI-style error body.
    #[serde(default)]
    pub status: Option<u16>,
    /// With `status`: the same error body every time (a permanent failure, as a server that
    /// refuses every request alike), not one numbered by the request (a passing fault).
    #[serde(default)]
    pub same_body: bool,
}

/// What a faulty request gets instead of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Status(u16),
    Malformed,
    ErrorBody,
}

impl Faults {
    fn kind(&self) -> Option<Fault> {
        if let Some(status) = self.status {
            Some(Fault::Status(status))
        } else if self.malformed {
            Some(Fault::Malformed)
        } else if self.error_body {
            Some(Fault::ErrorBody)
        } else {
            self.fail_first.map(|_| Fault::Status(500))
        }
    }

    /// The fault for the request that `seen` earlier requests preceded, if any.
    fn fault_for(&self, seen: u64) -> Option<Fault> {
        self.kind()
            .filter(|_| self.fail_first.is_none_or(|n| seen < n))
            .filter(|_| self.fail_after.is_none_or(|n| seen >= n))
    }
}

/// A script entry: completions and their own faults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "EntryRepr")]
pub struct Entry {
    /// Returned in order, the first `n` of them.
    pub completions: Vec<Completion>,
    /// Faults counted over the requests matching this entry.
    pub faults: Faults,
    /// Never return log-probabilities for this entry.
    pub omit_logprobs: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EntryRepr {
    List(Vec<Completion>),
    Full {
        #[serde(default)]
        completions: Vec<Completion>,
        #[serde(default)]
        omit_logprobs: bool,
        #[serde(flatten)]
        faults: Faults,
    },
}

impl From<EntryRepr> for Entry {
    fn from(repr: EntryRepr) -> Self {
        match repr {
            EntryRepr::List(completions) => Entry {
                completions,
                ..Entry::default()
            },
            EntryRepr::Full {
                completions,
                omit_logprobs,
                faults,
            } => Entry {
                completions,
                faults,
                omit_logprobs,
            },
        }
    }
}

impl From<Vec<Completion>> for Entry {
    fn from(completions: Vec<Completion>) -> Self {
        Entry {
            completions,
            ..Entry::default()
        }
    }
}

/// What the server answers (see the module docs for the JSON form).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// How keys are compared with prompts.
    #[serde(default, rename = "match")]
    pub match_mode: MatchMode,
    /// State text (or exact prompt) → entry.
    #[serde(default)]
    pub responses: BTreeMap<String, Entry>,
    /// The entry for prompts that match no key.
    #[serde(default)]
    pub default: Entry,
    /// Never return log-probabilities.
    #[serde(default)]
    pub omit_logprobs: bool,
    /// Do not apply the requests' `stop` strings.
    #[serde(default)]
    pub ignore_stop: bool,
}

impl Script {
    /// Reads a script file.
    pub fn from_path(path: &Path) -> Result<Script, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A script answering every prompt containing `state` with `completions`.
    pub fn single(state: &str, completions: Vec<Completion>) -> Script {
        let mut script = Script::default();
        script
            .responses
            .insert(state.to_owned(), completions.into());
        script
    }

    /// The key and entry for `prompt` (`None` key: the default entry).
    fn lookup(&self, prompt: &str) -> (Option<&str>, &Entry) {
        let found = match self.match_mode {
            MatchMode::Exact => self.responses.get_key_value(prompt),
            // `max_by_key` keeps the last maximum; iterate in reverse so that among equally
            // long keys the first in key order wins.
            MatchMode::Contains => self
                .responses
                .iter()
                .rev()
                .filter(|(key, _)| prompt.contains(key.as_str()))
                .max_by_key(|(key, _)| key.len()),
        };
        match found {
            Some((key, entry)) => (Some(key.as_str()), entry),
            None => (None, &self.default),
        }
    }
}

/// Which real server's habits the simulator imitates (`--profile`).
///
/// | profile | `n` | log-probabilities | bad requests | requests at once | stop token |
/// |---|---|---|---|---|---|
/// | `default` | honoured | completions with `logprobs`, chat with `logprobs: true` | 400 | any | dropped |
/// | `llama-cpp-python` | ignored: one choice (the seed's, or the next in turn) | completions as recorded; chat only with `top_logprobs` (`null` otherwise, recorded) | **500** `internal_server_error` (recorded body shape) | **one** (the rest queue) | **left in** the tokens (recorded) |
/// | `vllm` | honoured | as `default` (vLLM's docs: chat `logprobs: true` alone returns `content`) | 400 | any (batches) | dropped |
/// | `sglang` | honoured | as `default` | 400 | any (batches) | dropped |
/// | `ollama` | ignored (not among the OpenAI endpoint's documented fields) | chat only; completions `null` | 400 | any | dropped |
///
/// llama-cpp-python's column comes from its recorded answers (`../shared/fixtures/openai-servers/`);
/// the others from each server's documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// The simulator's own behaviour (vLLM-like), which the older tests were written against.
    #[default]
    Default,
    /// llama-cpp-python 0.3.36's `llama_cpp.server`.
    LlamaCppPython,
    /// vLLM's OpenAI-compatible server.
    Vllm,
    /// SGLang's OpenAI-compatible server.
    Sglang,
    /// Ollama's OpenAI-compatible endpoint.
    Ollama,
}

impl Profile {
    /// Every profile, for tests that run against each.
    pub const ALL: [Profile; 5] = [
        Profile::Default,
        Profile::LlamaCppPython,
        Profile::Vllm,
        Profile::Sglang,
        Profile::Ollama,
    ];

    /// The `--profile` name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::LlamaCppPython => "llama-cpp-python",
            Profile::Vllm => "vllm",
            Profile::Sglang => "sglang",
            Profile::Ollama => "ollama",
        }
    }

    /// The profile called `name`.
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    fn ignores_n(self) -> bool {
        matches!(self, Profile::LlamaCppPython | Profile::Ollama)
    }

    fn single_slot(self) -> bool {
        self == Profile::LlamaCppPython
    }
}

/// llama-cpp-python's answer to any request for log-probabilities when it was started with
/// `--logits_all False` (recorded).
pub const LOGPROBS_REFUSED: &str =
    "logprobs is not supported for models created with logits_all=False";

/// Server-wide settings besides the script.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Whose habits to imitate.
    pub profile: Profile,
    /// Answer every request that asks for log-probabilities with llama-cpp-python's HTTP 500
    /// [`LOGPROBS_REFUSED`] (a server started without them); the same request without them
    /// is answered.
    pub refuse_logprobs: bool,
    /// Answer every model request with the same HTTP 500 body, whatever it asks.
    pub same_500: bool,
    /// Faults counted over every model request.
    pub faults: Faults,
    /// Never return log-probabilities.
    pub omit_logprobs: bool,
    /// Append every model request body here, one compact JSON line each.
    pub log: Option<PathBuf>,
}

/// State shared by the connection threads.
struct Shared {
    script: Script,
    options: Options,
    shutdown: AtomicBool,
    /// Model requests so far (the global fault counter).
    model_requests: AtomicU64,
    /// Model requests per entry key (`None`: default entry), for entry faults.
    entry_requests: Mutex<HashMap<Option<String>, u64>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Set by [`SimServer::recover`]: faults no longer apply.
    recovered: AtomicBool,
    /// The single slot of a single-slot profile: held while a request is answered.
    slot: Mutex<()>,
    log: Mutex<Option<File>>,
    requests: Mutex<Vec<Value>>,
}

/// A running simulated server; dropping it stops accepting connections.
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// Starts a simulated server on `127.0.0.1:0` (threads, no async runtime needed).
pub fn serve(script: Script, options: Options) -> io::Result<SimServer> {
    let log = match &options.log {
        Some(path) => Some(OpenOptions::new().create(true).append(true).open(path)?),
        None => None,
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        script,
        options,
        shutdown: AtomicBool::new(false),
        model_requests: AtomicU64::new(0),
        entry_requests: Mutex::new(HashMap::new()),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
        recovered: AtomicBool::new(false),
        slot: Mutex::new(()),
        log: Mutex::new(log),
        requests: Mutex::new(Vec::new()),
    });
    let accept_shared = Arc::clone(&shared);
    let acceptor = std::thread::Builder::new()
        .name("sim-openai-accept".into())
        .spawn(move || accept_loop(listener, accept_shared))?;
    Ok(SimServer {
        addr,
        shared,
        acceptor: Some(acceptor),
    })
}

impl SimServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, the form `LlmConfig::base_url` takes.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Model requests received so far (completions and chat, faulty or not).
    pub fn request_count(&self) -> u64 {
        self.shared.model_requests.load(Ordering::SeqCst)
    }

    /// The bodies of the model requests so far, in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The most model requests that were being answered at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Ends every configured fault: from now on the server answers as a healthy one would, on
    /// the same address (a model server that came back after an outage).
    pub fn recover(&self) {
        self.shared.recovered.store(true, Ordering::SeqCst);
    }

    /// Blocks for as long as the server runs (the binary's main thread).
    pub fn wait(mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking `accept` so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(&shared);
        // Connection threads are detached: they notice shutdown within one poll interval.
        let _ = std::thread::Builder::new()
            .name("sim-openai-conn".into())
            .spawn(move || {
                let _ = handle_connection(stream, &shared);
            });
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1

/// How often an idle connection checks for shutdown.
const POLL: Duration = Duration::from_millis(100);
/// Header section limit; model requests have a handful of short headers.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Body limit, far above any prompt.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One parsed request.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    keep_alive: bool,
    body: Vec<u8>,
}

/// One answer.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        let kind = if status >= 500 {
            "server_error"
        } else {
            "invalid_request_error"
        };
        Reply::json(
            status,
            &json!({"error": {"message": message, "type": kind, "code": status}}),
        )
    }
}

/// Answers requests on one connection until the client closes it, asks to, or sends garbage.
fn handle_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader, shared)? {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(reply) => {
                write_reply(&mut writer, &reply, false)?;
                return Ok(());
            }
        };
        let reply = answer(&request, shared);
        write_reply(&mut writer, &reply, request.keep_alive)?;
        if !request.keep_alive {
            return Ok(());
        }
    }
}

/// The next request; `Ok(None)` at a clean end of the connection or on shutdown;
/// `Err(reply)` for a request that cannot be parsed (answered, then the connection closes).
fn read_request(
    reader: &mut BufReader<TcpStream>,
    shared: &Shared,
) -> io::Result<Result<Option<Request>, Reply>> {
    let mut head = Vec::new();
    let mut line = Vec::new();
    loop {
        // On a timeout `read_until` keeps what it read in `line`, so the retry continues it.
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => {
                return Ok(if head.is_empty() && line.is_empty() {
                    Ok(None)
                } else {
                    Err(Reply::error(
                        400,
                        "connection closed inside the request head",
                    ))
                });
            }
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {
                if shared.shutdown.load(Ordering::SeqCst) {
                    return Ok(Ok(None));
                }
                continue;
            }
            Err(e) => return Err(e),
        }
        if !line.ends_with(b"\n") {
            // The peer closed mid-line; the next read reports the end.
            continue;
        }
        if line == b"\r\n" || line == b"\n" {
            if head.is_empty() {
                // Blank lines before a request line are tolerated (RFC 9112 §2.2).
                line.clear();
                continue;
            }
            break;
        }
        head.append(&mut line);
        if head.len() > MAX_HEADER_BYTES {
            return Ok(Err(Reply::error(431, "request head too large")));
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(Err(Reply::error(400, "bad request line")));
    };
    let mut content_length = 0usize;
    let mut connection = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => match value.parse() {
                Ok(n) if n <= MAX_BODY_BYTES => content_length = n,
                _ => return Ok(Err(Reply::error(400, "bad Content-Length"))),
            },
            "transfer-encoding" => {
                return Ok(Err(Reply::error(
                    501,
                    "the simulated server reads Content-Length bodies only",
                )));
            }
            "connection" => connection = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    // HTTP/1.1 keeps the connection open unless told otherwise; HTTP/1.0 closes unless asked.
    let keep_alive = match connection.as_deref() {
        Some(c) if c.contains("close") => false,
        Some(c) if c.contains("keep-alive") => true,
        _ => version == "HTTP/1.1",
    };
    let mut body = vec![0; content_length];
    let mut filled = 0;
    while filled < content_length {
        match reader.read(&mut body[filled..]) {
            Ok(0) => return Ok(Err(Reply::error(400, "connection closed inside the body"))),
            Ok(n) => filled += n,
            Err(e) if is_timeout(&e) && !shared.shutdown.load(Ordering::SeqCst) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Ok(Some(Request {
        method: method.to_owned(),
        path: target.split('?').next().unwrap_or_default().to_owned(),
        keep_alive,
        body,
    })))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn write_reply(out: &mut TcpStream, reply: &Reply, keep_alive: bool) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        reply.status,
        reason(reply.status),
        reply.content_type,
        reply.body.len(),
        if keep_alive { "keep-alive" } else { "close" },
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&reply.body);
    out.write_all(&bytes)?;
    out.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------------------------
// The OpenAI-compatible endpoints

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Completions,
    Chat,
}

fn answer(request: &Request, shared: &Shared) -> Reply {
    let endpoint = match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/v1/completions") => Endpoint::Completions,
        ("POST", "/v1/chat/completions") => Endpoint::Chat,
        ("GET", "/v1/models") => {
            return Reply::json(
                200,
                &json!({"object": "list", "data": [{"id": SIM_MODEL, "object": "model", "owned_by": "sim-openai"}]}),
            );
        }
        ("GET", "/health") => {
            return Reply {
                status: 200,
                content_type: "text/plain",
                body: Vec::new(),
            };
        }
        (_, "/v1/completions" | "/v1/chat/completions" | "/v1/models" | "/health") => {
            return Reply::error(405, "method not allowed");
        }
        (_, path) => return Reply::error(404, &format!("no route for {path}")),
    };
    // A single-slot server answers one request at a time; the others wait in its queue.
    let _slot = shared
        .options
        .profile
        .single_slot()
        .then(|| shared.slot.lock().unwrap_or_else(|p| p.into_inner()));
    shared.in_flight.fetch_add(1, Ordering::SeqCst);
    let now = shared.in_flight.load(Ordering::SeqCst);
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let reply = model_answer(endpoint, &request.body, shared);
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    reply
}

fn model_answer(endpoint: Endpoint, raw: &[u8], shared: &Shared) -> Reply {
    let seen = shared.model_requests.fetch_add(1, Ordering::SeqCst);
    let body: Value = match serde_json::from_slice(raw) {
        Ok(body) => body,
        Err(e) => {
            record(
                shared,
                Value::String(String::from_utf8_lossy(raw).into_owned()),
            );
            return Reply::error(400, &format!("request body is not JSON: {e}"));
        }
    };
    record(shared, body.clone());
    let prompt = match prompt_of(endpoint, &body) {
        Ok(prompt) => prompt,
        Err(message) => return Reply::error(400, &message),
    };
    let profile = shared.options.profile;
    let n = match body.get("n") {
        None | Some(Value::Null) => 1,
        Some(n) => match n.as_u64() {
            Some(n) if n >= 1 => n as usize,
            _ => return validation_error(profile, "n", "Input should be greater than 0"),
        },
    };
    if let Some(top_p) = body.get("top_p").and_then(Value::as_f64)
        && !(top_p > 0.0 && top_p <= 1.0)
    {
        return validation_error(profile, "top_p", "Input should be less than or equal to 1");
    }
    // llama-cpp-python and Ollama answer one choice whatever `n` says.
    let n = if profile.ignores_n() { 1 } else { n };
    let asks_logprobs = match endpoint {
        Endpoint::Completions => body.get("logprobs").is_some_and(|l| !l.is_null()),
        Endpoint::Chat => body.get("logprobs").and_then(Value::as_bool) == Some(true),
    };
    if !shared.recovered.load(Ordering::SeqCst) {
        if shared.options.same_500 {
            return Reply::json(500, &llama_cpp_error("simulated permanent failure"));
        }
        if shared.options.refuse_logprobs && asks_logprobs {
            return Reply::json(500, &llama_cpp_error(LOGPROBS_REFUSED));
        }
    }
    let script = &shared.script;
    let (key, entry) = script.lookup(&prompt);
    let seen_by_entry = {
        let mut counts = shared.entry_requests.lock().unwrap();
        let count = counts.entry(key.map(str::to_owned)).or_insert(0);
        *count += 1;
        *count - 1
    };
    let delay = shared.options.faults.delay_ms + entry.faults.delay_ms;
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
    let fault = if shared.recovered.load(Ordering::SeqCst) {
        None
    } else {
        let global = &shared.options.faults;
        global
            .fault_for(seen)
            .map(|f| (f, global.same_body))
            .or_else(|| {
                entry
                    .faults
                    .fault_for(seen_by_entry)
                    .map(|f| (f, entry.faults.same_body))
            })
    };
    match fault {
        Some((Fault::Status(status), true)) => {
            return Reply::error(status, &format!("simulated permanent HTTP {status}"));
        }
        Some((Fault::Status(status), false)) => {
            // Numbered, so that a passing fault does not look like a permanent one.
            return Reply::error(status, &format!("simulated HTTP {status} (request {seen})"));
        }
        Some((Fault::Malformed, _)) => {
            return Reply {
                status: 200,
                content_type: "application/json",
                body: b"{\"choices\": [{\"text\": \"simp\", ".to_vec(),
            };
        }
        Some((Fault::ErrorBody, _)) => {
            return Reply::json(
                200,
                &json!({"error": {"message": SIMULATED_ERROR, "type": "server_error"}}),
            );
        }
        None => {}
    }
    let profile_gives_logprobs = match (profile, endpoint) {
        // Recorded: `"logprobs": null` unless `top_logprobs` is given (0 is enough).
        (Profile::LlamaCppPython, Endpoint::Chat) => {
            body.get("top_logprobs").is_some_and(Value::is_u64)
        }
        (Profile::Ollama, Endpoint::Completions) => false,
        _ => true,
    };
    let want_logprobs = asks_logprobs
        && profile_gives_logprobs
        && !(script.omit_logprobs || shared.options.omit_logprobs || entry.omit_logprobs);
    let stop = if script.ignore_stop {
        Vec::new()
    } else {
        stop_strings(&body)
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(SIM_MODEL);
    let mut completion_tokens = 0;
    // A server that ignores `n` samples one completion: the seed's, or the next in turn.
    let skip = if profile.ignores_n() && !entry.completions.is_empty() {
        let turn = match body.get("seed").and_then(Value::as_u64) {
            Some(seed) => seed as usize,
            None => seen_by_entry as usize,
        };
        turn % entry.completions.len()
    } else {
        0
    };
    let stop_left_in = profile == Profile::LlamaCppPython;
    let choices: Vec<Value> = entry
        .completions
        .iter()
        .skip(skip)
        .take(n)
        .enumerate()
        .map(|(index, completion)| {
            let (text, tokens) = shape(completion, &stop, stop_left_in);
            // A completion scripted as plain text counts its words, as `prompt_tokens` does.
            completion_tokens += tokens
                .as_ref()
                .map_or_else(|| text.split_whitespace().count(), Vec::len);
            choice(endpoint, index, &text, tokens.filter(|_| want_logprobs))
        })
        .collect();
    let prompt_tokens = prompt.split_whitespace().count();
    let (id, object) = match endpoint {
        Endpoint::Completions => (format!("cmpl-sim-{seen}"), "text_completion"),
        Endpoint::Chat => (format!("chatcmpl-sim-{seen}"), "chat.completion"),
    };
    Reply::json(
        200,
        &json!({
            "id": id,
            "object": object,
            "created": 0,
            "model": model,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }),
    )
}

/// Logs one request body, to memory and to the log file.
fn record(shared: &Shared, body: Value) {
    if let Some(file) = shared.log.lock().unwrap().as_mut() {
        // A log write failure must not change the answer; the test reading the log will see it.
        let _ = writeln!(file, "{body}").and_then(|()| file.flush());
    }
    shared.requests.lock().unwrap().push(body);
}

/// The completions `prompt` (a string, or the first of a list), or the chat request's last
/// message content (a string, or the text parts of a content list).
fn prompt_of(endpoint: Endpoint, body: &Value) -> Result<String, String> {
    match endpoint {
        Endpoint::Completions => match body.get("prompt") {
            Some(Value::String(p)) => Ok(p.clone()),
            Some(Value::Array(ps)) => match ps.first() {
                Some(Value::String(p)) => Ok(p.clone()),
                _ => Err("prompt must be a string or a list of strings".into()),
            },
            _ => Err("prompt is required".into()),
        },
        Endpoint::Chat => {
            let Some(last) = body
                .get("messages")
                .and_then(Value::as_array)
                .and_then(|m| m.last())
            else {
                return Err("messages must be a non-empty list".into());
            };
            match last.get("content") {
                Some(Value::String(c)) => Ok(c.clone()),
                Some(Value::Array(parts)) => Ok(parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("")),
                _ => Err("message content is required".into()),
            }
        }
    }
}

fn stop_strings(body: &Value) -> Vec<String> {
    match body.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(v)) => v
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A validation error as `profile` answers it: llama-cpp-python with HTTP 500 and its recorded
/// body shape, the others with HTTP 400.
fn validation_error(profile: Profile, field: &str, message: &str) -> Reply {
    if profile == Profile::LlamaCppPython {
        let text = format!(
            "1 validation error:\n  {{'loc': ('body', '{field}'), 'msg': '{message}'}}\n\n  \
             POST /v1/completions"
        );
        Reply::json(500, &llama_cpp_error(&text))
    } else {
        Reply::error(400, &format!("{field}: {message}"))
    }
}

/// llama-cpp-python's error body (recorded shape).
fn llama_cpp_error(message: &str) -> Value {
    json!({"error": {"message": message, "type": "internal_server_error", "param": null, "code": null}})
}

/// The text after stop strings, and its `(token, log-probability)` list if it has one; with
/// `stop_left_in` the token of the stop string stays at the end of the list (llama-cpp-python,
/// recorded), with the last log-probability scripted for it.
fn shape(
    completion: &Completion,
    stop: &[String],
    stop_left_in: bool,
) -> (String, Option<Vec<(String, f64)>>) {
    let text = &completion.text;
    let tokens = completion.logprobs.as_ref().map(|values| {
        let texts = match &completion.tokens {
            Some(t) if t.len() == values.len() => t.clone(),
            _ => split_evenly(text, values.len()),
        };
        texts
            .into_iter()
            .zip(values.iter().copied())
            .collect::<Vec<_>>()
    });
    let cut = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min();
    let Some(cut) = cut else {
        return (text.clone(), tokens);
    };
    // Like vLLM: the text ends before the stop string; tokens that began before it stay.
    let tokens = tokens.map(|tokens| {
        let mut start = 0;
        let last = tokens.last().map_or(-1.0, |(_, v)| *v);
        let mut kept: Vec<(String, f64)> = tokens
            .into_iter()
            .take_while(|(t, _)| {
                let keep = start < cut;
                start += t.len();
                keep
            })
            .collect();
        if stop_left_in {
            let hit = stop
                .iter()
                .filter(|s| !s.is_empty() && text[cut..].starts_with(s.as_str()))
                .max_by_key(|s| s.len());
            if let Some(hit) = hit {
                kept.push((hit.clone(), last));
            }
        }
        kept
    });
    (text[..cut].to_owned(), tokens)
}

/// `text` in `pieces` consecutive parts of nearly equal length in characters (the last ones
/// empty when there are more pieces than characters).
fn split_evenly(text: &str, pieces: usize) -> Vec<String> {
    if pieces == 0 {
        return Vec::new();
    }
    let chars: Vec<char> = text.chars().collect();
    let per = chars.len().div_ceil(pieces).max(1);
    (0..pieces)
        .map(|i| chars.iter().skip(i * per).take(per).collect::<String>())
        .collect()
}

fn choice(
    endpoint: Endpoint,
    index: usize,
    text: &str,
    tokens: Option<Vec<(String, f64)>>,
) -> Value {
    match endpoint {
        Endpoint::Completions => {
            let logprobs = tokens.map(|tokens| {
                let mut offset = 0;
                let text_offset: Vec<usize> = tokens
                    .iter()
                    .map(|(t, _)| {
                        let at = offset;
                        offset += t.len();
                        at
                    })
                    .collect();
                json!({
                    "tokens": tokens.iter().map(|(t, _)| t).collect::<Vec<_>>(),
                    "token_logprobs": tokens.iter().map(|(_, l)| l).collect::<Vec<_>>(),
                    "top_logprobs": tokens.iter().map(|(t, l)| json!({ t: l })).collect::<Vec<_>>(),
                    "text_offset": text_offset,
                })
            });
            json!({"index": index, "text": text, "logprobs": logprobs, "finish_reason": "stop"})
        }
        Endpoint::Chat => {
            let logprobs = tokens.map(|tokens| {
                let content: Vec<Value> = tokens
                    .iter()
                    .map(|(t, l)| {
                        json!({"token": t, "logprob": l, "bytes": t.as_bytes(), "top_logprobs": []})
                    })
                    .collect();
                json!({ "content": content })
            });
            json!({
                "index": index,
                "message": {"role": "assistant", "content": text},
                "logprobs": logprobs,
                "finish_reason": "stop",
            })
        }
    }
}
