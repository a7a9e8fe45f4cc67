//! The simulated REPL engine (a simulation, not Lean): framing, dispatch, answers from a world,
//! fault injection and transcript replay, kept free of process concerns so it can be unit-tested.
//!
//! The wire behaviour follows `shared/docs/lean-repl-protocol.md` (tag `v4.33.0-rc2`): requests
//! are read with upstream's `getLines` rule (§3), dispatched in the order of §4, and every answer
//! is Lean's `Json.pretty` followed by one blank line. Where the pinned v4.24.0 answers
//! differently (`fixtures/repl-transcripts-v4.24.0/SOURCE.md`), [`LeanVersion`] picks which.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::lean_json;
use crate::world::{Fault, IndexedWorld, Outcome, StateId, World, WorldError};

/// The Lean (and REPL) version a simulator imitates where the two recorded transcript sets
/// differ (`../shared/fixtures/repl-transcripts-v4.24.0/SOURCE.md`, issue 20 audit row 7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LeanVersion {
    /// v4.24.0, the version `lakefile.lean` pins: ``declaration uses 'sorry'``, a parse error
    /// at the end of input with `"endPos": null`, and a tactic block may start at column 0 on
    /// the line after `by`.
    #[default]
    V4_24,
    /// v4.33.0-rc2, the version of the protocol document: ``declaration uses `sorry` ``, no
    /// parse error for an empty `by` (only `unsolved goals`), and a column-0 line after `by`
    /// ends the declaration (`unexpected token …; expected command`).
    V4_33,
}

impl LeanVersion {
    /// `4.24` or `4.33` (a `v` prefix and a patch or rc suffix are accepted).
    pub fn parse(text: &str) -> Result<LeanVersion, String> {
        let text = text.trim().trim_start_matches('v');
        if text == "4.24" || text.starts_with("4.24.") {
            Ok(LeanVersion::V4_24)
        } else if text == "4.33" || text.starts_with("4.33.") {
            Ok(LeanVersion::V4_33)
        } else {
            Err(format!(
                "unknown Lean version {text:?}: the simulator knows 4.24 (pinned) and 4.33"
            ))
        }
    }

    /// The warning Lean gives for a declaration with an explicit `sorry`.
    pub fn sorry_warning(self) -> &'static str {
        match self {
            LeanVersion::V4_24 => SORRY_WARNING_4_24,
            LeanVersion::V4_33 => SORRY_WARNING_4_33,
        }
    }
}

/// The sorry warning of Lean before v4.28 (the pinned v4.24.0).
pub const SORRY_WARNING_4_24: &str = "declaration uses 'sorry'";

/// The sorry warning of Lean v4.28 and later.
pub const SORRY_WARNING_4_33: &str = "declaration uses `sorry`";

/// Lean's mangled name of a private constant declared in the REPL, whose main module is
/// anonymous (`mkPrivateName`: `_private` ++ module ++ `0` ++ name) [inferred from Lean's source].
pub fn private_name(name: &str) -> String {
    format!("_private.0.{name}")
}

/// The constants `#print axioms NAME` reports on, in Lean's order of resolution
/// (`ResolveName.resolveGlobalName`): `NAME` under the current namespace and its parents, if
/// any exists; otherwise, for a dotted `NAME`, the exact constant (`_root_.` stripped, or the
/// private constant of that name); otherwise every one of the root `NAME`, the private `NAME`
/// and `N.NAME` for each opened `N`, so that under `open Nat` a bare `t` answers once for
/// `Nat.t` and once for `t`. `exists` says whether a constant (full name, as Lean prints it)
/// is in the environment.
pub fn resolve_constant(
    name: &str,
    namespace: &[String],
    opens: &[String],
    exists: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let id = datasets::lean::printed_name(name);
    // `resolveQualifiedName`: the constant itself, else its private version.
    let found = |candidate: &str| -> Option<String> {
        [candidate.to_owned(), private_name(candidate)]
            .into_iter()
            .find(|c| exists(c))
    };
    // `resolveUsingNamespace`: the innermost namespace that has it wins.
    for depth in (1..=namespace.len()).rev() {
        let prefix = namespace[..depth].join(".");
        if let Some(constant) = found(&format!("{prefix}.{id}")) {
            return vec![constant];
        }
    }
    // `resolveExact`, for dotted names only.
    if id.contains('.')
        && let Some(constant) = found(id.strip_prefix("_root_.").unwrap_or(&id))
    {
        return vec![constant];
    }
    let mut resolved: Vec<String> = opens
        .iter()
        .rev()
        .filter_map(|open| found(&format!("{open}.{id}")))
        .collect();
    resolved.extend(
        [id.clone(), private_name(&id)]
            .into_iter()
            .filter(|c| exists(c)),
    );
    let mut unique = Vec::new();
    for constant in resolved {
        if !unique.contains(&constant) {
            unique.push(constant);
        }
    }
    unique
}

/// The messages of a `#print axioms NAME` command: one info message per constant `NAME`
/// resolves to ([`resolve_constant`]), or the error for an unknown one.
pub fn print_axioms_answers(
    name: &str,
    namespace: &[String],
    opens: &[String],
    axioms_of: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Vec<(&'static str, String)> {
    // `foo.` (what `theorem foo.{u}` cut at the brace gives) is the name `foo` and then a `.`
    // that starts no command.
    if let Some(stem) = name.strip_suffix('.') {
        let mut answers = print_axioms_answers(stem, namespace, opens, axioms_of);
        answers.push(("error", "unexpected token '.'; expected command".to_owned()));
        return answers;
    }
    let resolved = resolve_constant(name, namespace, opens, &|c| axioms_of(c).is_some());
    if resolved.is_empty() {
        return vec![("error", format!("unknown constant '{name}'"))];
    }
    resolved
        .into_iter()
        .map(|constant| {
            let axioms = axioms_of(&constant).unwrap_or_default();
            ("info", axioms_sentence(&constant, &axioms))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Framing

/// Reads requests exactly like upstream's `getLines` loop.
pub struct RequestReader<R> {
    input: R,
}

/// Lean's `Char.isWhitespace`: narrower than Rust's, so `\x0c` is not blank here either.
fn is_lean_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

impl<R: BufRead> RequestReader<R> {
    /// Wraps `input`.
    pub fn new(input: R) -> Self {
        RequestReader { input }
    }

    /// The next query string, as upstream builds it, or `None` at end of input.
    ///
    /// Non-blank lines lose trailing whitespace and are concatenated with no separator; the
    /// terminating blank line is kept as is (upstream returns it as the tail of the query). A
    /// blank line where a request should start therefore yields `"\n"`, which is not JSON and
    /// kills the process, as it does upstream.
    pub fn next_query(&mut self) -> io::Result<Option<String>> {
        let mut query = String::new();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            self.input.read_until(b'\n', &mut buf)?;
            let line = String::from_utf8_lossy(&buf);
            if line.chars().all(is_lean_ws) {
                query.push_str(&line);
                break;
            }
            query.push_str(line.trim_end_matches(is_lean_ws));
        }
        Ok((!query.is_empty()).then_some(query))
    }
}

/// Whether upstream skips this query without answering.
pub fn is_comment(query: &str) -> bool {
    query.starts_with('#') || query.starts_with("--")
}

/// The requests of a recorded `.in` file, framed and with comment blocks dropped.
pub fn split_requests(text: &str) -> Vec<String> {
    let mut reader = RequestReader::new(text.as_bytes());
    let mut out = Vec::new();
    while let Some(q) = reader
        .next_query()
        .expect("reading from memory cannot fail")
    {
        if !is_comment(&q) {
            out.push(q);
        }
    }
    out
}

/// The answers of a recorded `.expected.out`: each block of lines with its terminating blank line.
pub fn split_answers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block = String::new();
    for line in text.split_inclusive('\n') {
        block.push_str(line);
        if line == "\n" {
            out.push(std::mem::take(&mut block));
        }
    }
    if !block.trim().is_empty() {
        out.push(block);
    }
    out
}

/// Every `X` under `dir` (recursively, sorted) for which both `X.in` and `X.expected.out` exist.
pub fn transcript_prefixes(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Some(stem) = path.to_str().and_then(|p| p.strip_suffix(".in"))
                && Path::new(&format!("{stem}.expected.out")).exists()
            {
                out.push(PathBuf::from(stem));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

// ---------------------------------------------------------------------------------------------
// Replies

/// What the simulator does in response to one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Sleep this long first.
    pub delay_ms: u64,
    /// Then allocate and touch this many MiB, kept until exit.
    pub grow_mb: u64,
    /// Then do this.
    pub action: Action,
}

/// The visible part of a [`Reply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Write these bytes (an answer including its blank line) and flush.
    Answer(String),
    /// Write a non-JSON line and a blank line, then carry on.
    Garbage,
    /// Never answer again, but stay alive.
    Hang,
    /// Write `stderr` to stderr and exit with `code` without answering.
    Exit {
        /// Process exit code.
        code: i32,
        /// Text for stderr (may be empty).
        stderr: String,
    },
}

impl Reply {
    fn now(action: Action) -> Reply {
        Reply {
            delay_ms: 0,
            grow_mb: 0,
            action,
        }
    }

    pub(crate) fn answer(value: &Value) -> Reply {
        Reply::now(Action::Answer(render_answer(value)))
    }

    fn fatal(stderr: String) -> Reply {
        Reply::now(Action::Exit { code: 1, stderr })
    }
}

/// An answer as the REPL writes it: `IO.println (toString json)` and then a flushed `"\n"`.
pub fn render_answer(value: &Value) -> String {
    let mut s = lean_json::pretty(value);
    s.push_str("\n\n");
    s
}

/// The garbage line a [`Fault::Garbage`] writes, blank line included.
pub const GARBAGE: &str = "simulated garbage: this line is not JSON\n\n";

/// Answers parsed requests; the [`Server`] does framing, logging and the process-level effects.
pub trait Responder {
    /// The reply to one request that parsed as JSON.
    fn respond(&mut self, request: &Value) -> Reply;
}

/// How an uncaught `IO.userError` thrown by upstream `parse` reaches stderr.
fn uncaught(message: &str) -> String {
    format!(
        "uncaught exception: {}\n",
        lean_json::pretty(&json!({ "message": message }))
    )
}

// ---------------------------------------------------------------------------------------------
// The world simulator

/// A proof state the simulator handed out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PState {
    Open(StateId),
    /// No goals remain (proved, or closed by error recovery or `sorry`).
    Closed,
}

/// A request, after upstream's dispatch (§4 order).
#[derive(Debug)]
enum Request<'a> {
    ProofStep {
        tactic: &'a str,
        proof_state: u64,
    },
    Unsupported(&'static str),
    Command {
        cmd: &'a str,
        env: Option<u64>,
        root_goals: bool,
    },
}

fn dispatch(v: &Value) -> Option<Request<'_>> {
    let obj = v.as_object()?;
    let nat = |k: &str| obj.get(k).and_then(Value::as_u64);
    let string = |k: &str| obj.get(k).and_then(Value::as_str);
    // Lean's derived `FromJson` reads an absent or null optional field as `none` and rejects a
    // present one of the wrong type, which makes the whole structure fail to match.
    let opt_ok = |k: &str, ok: fn(&Value) -> bool| match obj.get(k) {
        None | Some(Value::Null) => true,
        Some(x) => ok(x),
    };
    if let (Some(tactic), Some(proof_state)) = (string("tactic"), nat("proofState")) {
        return Some(Request::ProofStep {
            tactic,
            proof_state,
        });
    }
    if nat("env").is_some() && string("pickleTo").is_some() {
        return Some(Request::Unsupported("PickleEnvironment"));
    }
    if string("unpickleEnvFrom").is_some() {
        return Some(Request::Unsupported("UnpickleEnvironment"));
    }
    if nat("proofState").is_some() && string("pickleTo").is_some() {
        return Some(Request::Unsupported("PickleProofState"));
    }
    if string("unpickleProofStateFrom").is_some() && opt_ok("env", |x| x.is_u64()) {
        return Some(Request::Unsupported("UnpickleProofState"));
    }
    let options_ok = opt_ok("env", |x| x.is_u64())
        && opt_ok("allTactics", Value::is_boolean)
        && opt_ok("rootGoals", Value::is_boolean)
        && opt_ok("infotree", Value::is_string);
    if let Some(cmd) = string("cmd").filter(|_| options_ok) {
        return Some(Request::Command {
            cmd,
            env: nat("env"),
            root_goals: obj.get("rootGoals").and_then(Value::as_bool) == Some(true),
        });
    }
    if string("path").is_some() && options_ok {
        return Some(Request::Unsupported("File"));
    }
    None
}

/// The namespaces an `open` line opens (what follows `open `): the names before any `in`,
/// `hiding`, `renaming` or parenthesis, `scoped` left out.
fn opened_namespaces(rest: &str) -> impl Iterator<Item = String> + '_ {
    rest.split_whitespace()
        .take_while(|w| !matches!(*w, "in" | "hiding" | "renaming") && !w.starts_with('('))
        .filter(|w| *w != "scoped")
        .map(str::to_owned)
}

/// The world simulator: env and proofState counters over an [`IndexedWorld`].
pub struct Sim {
    world: IndexedWorld,
    /// Per env id, what a later command on it sees.
    envs: Vec<SimEnv>,
    states: Vec<PState>,
    version: LeanVersion,
}

/// What one env of the world simulator holds.
#[derive(Debug, Clone, Default)]
struct SimEnv {
    /// The theorems declared in it (full constant name, axioms as `#print axioms` lists them):
    /// a later `#print axioms` command on that env reads them, as Lean reads its environment.
    constants: Vec<(String, Vec<String>)>,
    /// The namespaces its header opened (`open Nat Real`), through which names resolve.
    opens: Vec<String>,
}

/// Effects accumulated while running transitions for one request.
#[derive(Default)]
struct Effects {
    delay_ms: u64,
    grow_mb: u64,
}

impl Effects {
    /// Applies a transition's latency and fault; `Some` when the fault preempts the answer.
    fn take(&mut self, latency_ms: u64, fault: Option<&Fault>) -> Option<Action> {
        self.delay_ms += latency_ms;
        match fault? {
            Fault::GrowMb(n) => {
                self.grow_mb += n;
                None
            }
            Fault::Hang => Some(Action::Hang),
            Fault::Crash { stderr, code } => Some(Action::Exit {
                code: *code,
                stderr: stderr.clone(),
            }),
            Fault::Garbage => Some(Action::Garbage),
            Fault::Eof => Some(Action::Exit {
                code: 0,
                stderr: String::new(),
            }),
        }
    }

    fn reply(self, action: Action) -> Reply {
        Reply {
            delay_ms: self.delay_ms,
            grow_mb: self.grow_mb,
            action,
        }
    }
}

/// Line (1-based) and column (0-based, code points) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..at].chars().count())
}

fn pos_json(text: &str, at: usize) -> Value {
    let (line, column) = line_col(text, at);
    json!({"line": line, "column": column})
}

fn message(text: &str, severity: &str, start: usize, end: usize, data: &str) -> Value {
    json!({
        "severity": severity,
        "pos": pos_json(text, start),
        "endPos": pos_json(text, end),
        "data": data.trim_matches(is_lean_ws),
    })
}

/// Orders axiom names like Lean's `Name.lt`: fewer components first, then component-wise.
fn lean_name_order(a: &str, b: &str) -> std::cmp::Ordering {
    let ca: Vec<&str> = a.split('.').collect();
    let cb: Vec<&str> = b.split('.').collect();
    ca.len().cmp(&cb.len()).then_with(|| ca.cmp(&cb))
}

/// One top-level tactic of a `by` block, with its byte span in the command.
#[derive(Debug, PartialEq)]
struct ScriptTactic {
    text: String,
    start: usize,
    end: usize,
}

/// Splits the text after `by` (starting at byte `from` of `cmd`, ending at `to`) into top-level
/// tactics: lines at the minimal indentation start one, deeper lines continue it.
fn split_script(cmd: &str, from: usize, to: usize) -> Vec<ScriptTactic> {
    let mut out: Vec<ScriptTactic> = Vec::new();
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = from;
    for (k, raw) in cmd[from..to].split_inclusive('\n').enumerate() {
        // A comment at the end of a line is a blank to Lean.
        let line = raw
            .find(" --")
            .map_or(raw, |i| &raw[..i])
            .trim_end_matches(is_lean_ws);
        let start = offset;
        offset += raw.len();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        if k == 0 {
            // Text on the `by` line itself is one tactic of its own.
            let at = start + (line.len() - trimmed.len());
            out.push(ScriptTactic {
                text: trimmed.to_owned(),
                start: at,
                end: start + line.len(),
            });
            continue;
        }
        lines.push((start, line));
    }
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let min = lines.iter().map(|(_, l)| indent(l)).min().unwrap_or(0);
    let mut current: Option<ScriptTactic> = None;
    for (start, line) in lines {
        let end = start + line.len();
        // `| alt => …` lines of `induction … with` / `match` may sit at the tactic's own column
        // and still belong to it.
        let alternative = line.trim_start().starts_with('|');
        if (indent(line) == min && !alternative) || current.is_none() {
            out.extend(current.take());
            current = Some(ScriptTactic {
                text: line[indent(line).min(min)..].trim_start().to_owned(),
                start: start + indent(line),
                end,
            });
        } else if let Some(t) = current.as_mut() {
            t.text.push('\n');
            t.text.push_str(&line[min..]);
            t.end = end;
        }
    }
    out.extend(current);
    out
}

/// Where the first line of a `by` block (the text `cmd[from..to]` after `by`) starts, when
/// nothing follows `by` on its own line and that first line starts at column 0.
fn column_zero_block(cmd: &str, from: usize, to: usize) -> Option<usize> {
    let text = &cmd[from..to];
    let (by_line, rest) = text.split_once('\n')?;
    if !by_line.trim().is_empty() && !by_line.trim_start().starts_with("--") {
        return None;
    }
    let mut offset = from + by_line.len() + 1;
    for line in rest.split_inclusive('\n') {
        if !line.trim().is_empty() {
            return (!line.starts_with(is_lean_ws)).then_some(offset);
        }
        offset += line.len();
    }
    None
}

/// Whether `text` is one name (a `«…»` component may hold spaces).
fn is_one_name(text: &str) -> bool {
    let mut escaped = false;
    text.chars().all(|c| {
        match c {
            '«' => escaped = true,
            '»' => escaped = false,
            _ => {}
        }
        escaped || !c.is_whitespace()
    })
}

/// The names a `have NAME : T …` or `obtain PATTERN : T …` line binds (one for `have`, the
/// pattern's for `obtain`: [`crate::lean_syntax::rcases_pattern`]), and the text after them.
fn binding(source: &str) -> Option<(Vec<String>, &str)> {
    if let Some(rest) = source.strip_prefix("have ") {
        let name = rest.split([' ', ':']).next().filter(|n| !n.is_empty())?;
        return Some((vec![name.to_owned()], &rest[name.len()..]));
    }
    let rest = source.strip_prefix("obtain ")?;
    crate::lean_syntax::rcases_pattern(rest)
}

/// `have NAME : T := by BLOCK` or `obtain PATTERN : T := by BLOCK` spanning
/// `cmd[start..end]`: the names it binds, `T`, and where `BLOCK` starts.
fn have_block(cmd: &str, start: usize, end: usize) -> Option<(Vec<String>, &str, usize)> {
    let text = &cmd[start..end];
    let (names, rest) = binding(text)?;
    let colon = rest.find(" : ")?;
    let assign = rest.find(":= by")?;
    if assign < colon {
        return None;
    }
    let conclusion = &rest[colon + 3..assign];
    let block_from = end - rest.len() + assign + ":= by".len();
    Some((names, conclusion, block_from))
}

/// `have NAME : T := VALUE` or `obtain PATTERN : T := VALUE` on one line, VALUE not a `by`
/// block: the names it binds, `T` and `VALUE`.
fn have_term(source: &str) -> Option<(Vec<String>, &str, &str)> {
    let (names, rest) = binding(source)?;
    let colon = rest.find(" : ")?;
    let assign = rest.find(":=")?;
    let value = rest[assign + 2..].trim();
    (assign > colon && !value.starts_with("by"))
        .then(|| (names, rest[colon + 3..assign].trim(), value))
}

/// What a tactic of a form the simulator knows did.
enum Form {
    /// It ran; the state after it.
    Next(PState),
    /// It failed with this message (at the tactic).
    Failed(String),
    /// A block inside it failed; the error is reported.
    Stopped,
}

/// Outcome of elaborating one declaration in command mode.
#[derive(Default)]
struct Elaborated {
    messages: Vec<Value>,
    /// Tactic sorries, once per goal they ran on, in the order they ran.
    sorries: Vec<Value>,
    /// Term sorries (`exact sorry`, `have h : T := sorry`, `:= sorry`) by state and where
    /// their `sorry` starts: the REPL lists them after every tactic sorry, whatever the source
    /// order, and numbers their proof states in that order.
    term_sorries: Vec<(PState, usize)>,
}

/// What Lean answers to a doc comment, attributes or modifiers with no declaration after them.
pub const DANGLING_MODIFIERS: &str = "unexpected end of input; expected 'abbrev', 'axiom', \
     'builtin_initialize', 'class', 'def', 'example', 'inductive', 'initialize', 'instance', \
     'opaque', 'structure', 'theorem' or 'unsafe'";
/// What Lean answers to `open … in` or `set_option … in` with no command after it.
pub const DANGLING_IN: &str = "unexpected end of input; expected command";

/// Words that start a command of their own at column 0 in the simulator's commands.
const ITEM_WORDS: [&str; 11] = [
    "theorem",
    "lemma",
    "example",
    "axiom",
    "def",
    "private",
    "protected",
    "noncomputable",
    "set_option",
    "open",
    "namespace",
];

/// The modifiers that may come between a declaration's attributes and its keyword.
const MODIFIER_WORDS: [&str; 6] = [
    "private",
    "protected",
    "noncomputable",
    "unsafe",
    "partial",
    "nonrec",
];

/// How far `text` is taken by a declaration's prefixes (blanks, `/-- doc -/`, `@[attr]`,
/// `set_option … in`, `open … in`, modifiers), and whether the last one was an `… in`.
fn declaration_prefix(text: &str) -> (usize, bool) {
    let blanks = |at: usize| at + (text[at..].len() - text[at..].trim_start().len());
    let mut at = blanks(0);
    let mut last_in = false;
    loop {
        let rest = &text[at..];
        let taken = if rest.starts_with("/--") {
            closing_of_comment(rest)
        } else if rest.starts_with("@[") {
            rest.find(']').map(|i| i + 1)
        } else if rest.starts_with("set_option ") || rest.starts_with("open ") {
            let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
            line.strip_suffix(" in")
                .or_else(|| line.find(" in ").map(|i| &line[..i]))
                .map(|l| l.len() + " in".len())
        } else {
            let word = rest.split(|c: char| c.is_whitespace()).next().unwrap_or("");
            MODIFIER_WORDS.contains(&word).then_some(word.len())
        };
        match taken {
            Some(n) => {
                last_in = rest[..n].ends_with(" in");
                at = blanks(at + n);
            }
            None => return (at, last_in),
        }
    }
}

/// Where `text[from..]`'s blanks and comments end: `--` to the end of its line, and nested
/// `/- … -/` blocks, but not doc comments (`/--`, `/-!`), which belong to what follows. A
/// block left open is not skipped (Lean reports it where it starts).
fn blanks_and_comments(text: &str, from: usize) -> usize {
    let mut at = from;
    loop {
        let rest = &text[at..];
        let trimmed = rest.trim_start_matches(is_lean_ws);
        let skipped = rest.len() - trimmed.len();
        let comment = if trimmed.starts_with("--") {
            Some(trimmed.find('\n').map_or(trimmed.len(), |end| end + 1))
        } else if trimmed.starts_with("/-")
            && !trimmed.starts_with("/--")
            && !trimmed.starts_with("/-!")
        {
            closing_of_comment(trimmed)
        } else {
            None
        };
        match comment {
            Some(length) => at += skipped + length,
            None => return at + skipped,
        }
    }
}

/// The length of the (nested) `/- … -/` comment `text` starts with.
fn closing_of_comment(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with("/-") {
            depth += 1;
            i += 2;
        } else if text[i..].starts_with("-/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    None
}

/// Where the command after the one at `from` starts: the next line at column 0 that opens a
/// command (a declaration keyword or modifier, `#…`, a doc comment, attributes), or the end.
fn next_item(cmd: &str, from: usize) -> usize {
    let mut at = cmd[from..].find('\n').map_or(cmd.len(), |i| from + i + 1);
    while at < cmd.len() {
        let line = &cmd[at..];
        let word = line.split(|c: char| c.is_whitespace()).next().unwrap_or("");
        if ITEM_WORDS.contains(&word) || line.starts_with(['#', '@']) || line.starts_with("/--") {
            return at;
        }
        at = line.find('\n').map_or(cmd.len(), |i| at + i + 1);
    }
    cmd.len()
}

/// The identifiers of `text` (for the constants a proof names).
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '\'' | '.')))
        .filter(|w| !w.is_empty())
}

/// What `#print axioms` prints for `name` with these axioms.
pub fn axioms_sentence(name: &str, axioms: &[String]) -> String {
    if axioms.is_empty() {
        format!("'{name}' does not depend on any axioms")
    } else {
        format!("'{name}' depends on axioms: [{}]", axioms.join(", "))
    }
}

impl Sim {
    /// A fresh simulator process state over `world`.
    pub fn new(world: World) -> Result<Sim, WorldError> {
        Ok(Sim::from_index(IndexedWorld::new(world)?))
    }

    /// A fresh simulator process state over an already indexed world.
    pub fn from_index(world: IndexedWorld) -> Sim {
        Sim {
            world,
            envs: Vec::new(),
            states: Vec::new(),
            version: LeanVersion::default(),
        }
    }

    /// The same simulator imitating another Lean version's texts and syntax.
    pub fn with_version(mut self, version: LeanVersion) -> Sim {
        self.version = version;
        self
    }

    /// The indexed world being simulated.
    pub fn world(&self) -> &IndexedWorld {
        &self.world
    }

    fn alloc_state(&mut self, s: PState) -> u64 {
        self.states.push(s);
        (self.states.len() - 1) as u64
    }

    fn alloc_env(&mut self, env: SimEnv) -> u64 {
        self.envs.push(env);
        (self.envs.len() - 1) as u64
    }

    /// What `#print axioms NAME` at `cmd[start..]` answers on `env`: a message per constant
    /// the name resolves to ([`print_axioms_answers`]), among the env's own constants and the
    /// world's library.
    fn print_axioms_messages(
        &self,
        cmd: &str,
        start: usize,
        env: &SimEnv,
        name: &str,
    ) -> Vec<Value> {
        let library = &self.world.world().library;
        let axioms_of = |constant: &str| {
            env.constants
                .iter()
                .rev()
                .find(|(n, _)| n == constant)
                .map(|(_, axioms)| axioms.clone())
                .or_else(|| {
                    library
                        .iter()
                        .find(|c| c.name == constant)
                        .map(|c| c.axioms.clone())
                })
        };
        print_axioms_answers(name, &[], &env.opens, &axioms_of)
            .into_iter()
            .map(|(severity, data)| message(cmd, severity, start, start + "#print".len(), &data))
            .collect()
    }

    /// The answer to a `#print axioms NAME` command of its own on `env`.
    fn print_axioms(&mut self, cmd: &str, env: u64, name: &str) -> Reply {
        let env = self.envs[env as usize].clone();
        let start = cmd.len() - cmd.trim_start().len();
        let messages = self.print_axioms_messages(cmd, start, &env, name);
        let value = json!({
            "env": self.alloc_env(env),
            "messages": messages,
        });
        Reply::answer(&value)
    }

    fn goals_json(&self, s: PState) -> Value {
        match s {
            PState::Open(id) => json!(self.world.goals(id)),
            PState::Closed => json!([]),
        }
    }

    fn sorry_entry(&mut self, s: PState, pos: Option<(&str, usize, usize)>) -> Value {
        let goal = match s {
            PState::Open(id) => self.world.goals(id).join("\n"),
            PState::Closed => String::new(),
        };
        let id = self.alloc_state(s);
        let mut entry = json!({"proofState": id, "goal": goal});
        if let Some((text, start, end)) = pos {
            entry["pos"] = pos_json(text, start);
            entry["endPos"] = pos_json(text, end);
        }
        entry
    }

    fn proof_step(&mut self, proof_state: u64, tactic: &str) -> Reply {
        let Some(&state) = self.states.get(proof_state as usize) else {
            return Reply::answer(&json!({"message": "Unknown proof state."}));
        };
        let PState::Open(id) = state else {
            return Reply::answer(&json!({"message": "Lean error:\nno goals to be proved"}));
        };
        let Some(tr) = self.world.transition(id, tactic) else {
            if tactic.trim() == "sorry" {
                let sorry = self.sorry_entry(state, None);
                let new = self.alloc_state(PState::Closed);
                return Reply::answer(&json!({
                    "sorries": [sorry],
                    "proofStatus": "Incomplete: contains sorry",
                    "proofState": new,
                    "goals": [],
                }));
            }
            return Reply::answer(&json!({"message": "Lean error:\n<input>:1:1: unknown tactic"}));
        };
        let mut fx = Effects::default();
        if let Some(action) = fx.take(tr.latency_ms, tr.fault.as_ref()) {
            return fx.reply(action);
        }
        let outcome = tr.outcome.clone();
        let value = match outcome {
            Outcome::Goals(to) => {
                let to = self
                    .world
                    .state_id(&to)
                    .expect("validated worlds name known states");
                let new = self.alloc_state(PState::Open(to));
                json!({
                    "proofStatus": "Incomplete: open goals remain",
                    "proofState": new,
                    "goals": self.goals_json(PState::Open(to)),
                })
            }
            Outcome::Proved => {
                let new = self.alloc_state(PState::Closed);
                json!({"proofStatus": "Completed", "proofState": new, "goals": []})
            }
            Outcome::Error(text) => {
                let new = self.alloc_state(PState::Closed);
                json!({
                    "proofStatus": "Incomplete: contains sorry",
                    "proofState": new,
                    "messages": [{
                        "severity": "error",
                        "pos": {"line": 0, "column": 0},
                        "endPos": {"line": 0, "column": 0},
                        "data": text.trim_matches(is_lean_ws),
                    }],
                    "goals": [],
                })
            }
            Outcome::Fail(text) => json!({"message": format!("Lean error:\n{text}")}),
            Outcome::Incomplete(status) => {
                let new = self.alloc_state(PState::Closed);
                json!({"proofStatus": status, "proofState": new, "goals": []})
            }
        };
        fx.reply(Action::Answer(render_answer(&value)))
    }

    fn command(&mut self, cmd: &str, env: Option<u64>, root_goals: bool) -> Reply {
        let mut messages = Vec::new();
        let mut body_start = 0;
        let mut opens = Vec::new();
        match env {
            Some(e) if e as usize >= self.envs.len() => {
                return Reply::answer(&json!({"message": "Unknown environment."}));
            }
            Some(e) => {
                if let Some(name) = cmd.trim().strip_prefix("#print axioms ")
                    && is_one_name(name.trim())
                {
                    return self.print_axioms(cmd, e, name.trim());
                }
            }
            None => {
                body_start = self.header(cmd, &mut messages, &mut opens);
            }
        }
        let mut state = env.map_or_else(
            || SimEnv {
                constants: Vec::new(),
                opens,
            },
            |e| self.envs[e as usize].clone(),
        );
        let mut sorries = Vec::new();
        let mut fx = Effects::default();
        if messages.is_empty() && !cmd[body_start..].trim().is_empty() {
            match self.commands(cmd, body_start, root_goals, &mut state, &mut fx) {
                Ok(e) => {
                    messages.extend(e.messages);
                    sorries = e.sorries;
                }
                Err(action) => return fx.reply(action),
            }
        }
        let mut value = Map::new();
        value.insert("env".into(), json!(self.alloc_env(state)));
        if !messages.is_empty() {
            value.insert("messages".into(), Value::Array(messages));
        }
        if !sorries.is_empty() {
            value.insert("sorries".into(), Value::Array(sorries));
        }
        fx.reply(Action::Answer(render_answer(&Value::Object(value))))
    }

    /// Checks the header lines at the start of an env-less command, collecting the namespaces
    /// its `open` lines open; returns where the rest starts. Blanks and comments (`--`, nested
    /// `/- … -/`) may come before and between the lines, as in Lean (a copyright block).
    fn header(&self, cmd: &str, messages: &mut Vec<Value>, opens: &mut Vec<String>) -> usize {
        let mut next = 0;
        loop {
            let offset = blanks_and_comments(cmd, next);
            let raw = cmd[offset..].split_inclusive('\n').next().unwrap_or("");
            let line = raw.trim_end_matches(is_lean_ws);
            // `open … in` and `set_option … in` belong to the command after them.
            let is_header = ["import ", "open ", "set_option "]
                .iter()
                .any(|k| line.starts_with(k))
                && !line.ends_with(" in")
                && !line.contains(" in ");
            if !is_header {
                return offset;
            }
            if let Some(rest) = line.strip_prefix("open ") {
                opens.extend(opened_namespaces(rest));
            }
            if let (Some(rest), Some(allowed)) =
                (line.strip_prefix("import "), &self.world.world().imports)
            {
                for module in rest.split_whitespace().filter(|m| *m != "import") {
                    let known = allowed.iter().any(|a| {
                        module == a
                            || module
                                .strip_prefix(a.as_str())
                                .is_some_and(|r| r.starts_with('.'))
                    });
                    if !known {
                        let prefix = module.split('.').next().unwrap_or(module);
                        messages.push(message(
                            cmd,
                            "error",
                            offset,
                            offset + line.len(),
                            &format!("unknown module prefix '{prefix}'"),
                        ));
                    }
                }
            }
            next = offset + raw.len();
        }
    }

    /// Elaborates the commands of `cmd[from..]` one after another, each seeing the constants the
    /// ones before declared: declarations (with their doc comments, attributes, modifiers and
    /// `… in` prefixes), `axiom NAME : T`, and `#print axioms NAME`. Prefixes with nothing
    /// after them are the parse error Lean gives. `Err` when a fault preempts the answer.
    fn commands(
        &mut self,
        cmd: &str,
        from: usize,
        root_goals: bool,
        env: &mut SimEnv,
        fx: &mut Effects,
    ) -> Result<Elaborated, Action> {
        let mut out = Elaborated::default();
        let mut at = from;
        while !cmd[at..].trim().is_empty() {
            // Comments between commands are whitespace to Lean (a header's lines after its
            // imports may be only that: the pool sends them on the imports' env).
            let after_comments = blanks_and_comments(cmd, at);
            if after_comments != at {
                at = after_comments;
                continue;
            }
            let (prefix, last_in) = declaration_prefix(&cmd[at..]);
            let head = at + prefix;
            if cmd[head..].trim().is_empty() {
                let data = if last_in {
                    DANGLING_IN
                } else {
                    DANGLING_MODIFIERS
                };
                out.messages
                    .push(message(cmd, "error", cmd.len(), cmd.len(), data));
                break;
            }
            let end = next_item(cmd, head);
            let line = cmd[head..end].lines().next().unwrap_or("").trim_end();
            if let Some(name) = line.strip_prefix("#print axioms") {
                let answers = self.print_axioms_messages(cmd, head, env, name.trim());
                out.messages.extend(answers);
            } else if let Some(rest) = line.strip_prefix("axiom ") {
                let name = rest
                    .split(|c: char| c.is_whitespace() || matches!(c, '(' | '{' | '[' | ':'))
                    .next()
                    .unwrap_or("")
                    .to_owned();
                env.constants.push((name.clone(), vec![name]));
            } else if let Some(rest) = line.strip_prefix("open ") {
                // A whole `open` command holds in the commands after it, on this env and the
                // envs made from it, as in Lean (the pool sends a header's lines after its
                // imports as a command on the imports' env).
                env.opens.extend(opened_namespaces(rest));
            } else if line.starts_with("set_option ") {
                // A whole `set_option` command: nothing the simulator models.
            } else {
                let private = cmd[at..head].split_whitespace().any(|w| w == "private");
                let e = self.declaration(cmd, head, end, root_goals, private, env, fx)?;
                out.messages.extend(e.messages);
                out.sorries.extend(e.sorries);
            }
            at = end;
        }
        Ok(out)
    }

    /// The state holding only goal `index` of state `id`, and the state of the others (closed
    /// when there are none): what `·`, `case` and a tactic on the main goal work on. A state
    /// the world does not declare is an error naming the goals.
    fn focus(&self, id: StateId, index: usize) -> Result<(PState, PState), String> {
        let goals = self.world.goals(id);
        if goals.len() == 1 && index == 0 {
            return Ok((PState::Open(id), PState::Closed));
        }
        let goal = goals
            .get(index)
            .ok_or_else(|| format!("no goal {index} to focus on"))?;
        let focused = self.state_of(std::slice::from_ref(goal))?;
        let mut rest = goals.to_vec();
        rest.remove(index);
        Ok((focused, self.state_of(&rest)?))
    }

    /// The state whose goals are `goals`: closed for none.
    fn state_of(&self, goals: &[String]) -> Result<PState, String> {
        if goals.is_empty() {
            return Ok(PState::Closed);
        }
        self.world
            .state_with_goals(goals)
            .map(PState::Open)
            .ok_or_else(|| format!("simulated world has no state with the goals {goals:?}"))
    }

    /// Runs `tactic` on every goal of `id` (`all_goals`, `any_goals`, the right of `<;>`): a
    /// `sorry` gives one sorry entry per goal, all at `sorry_at`, as the REPL lists them; any
    /// other tactic is a world transition from each goal's state. The goals they leave, or the
    /// error (for `any_goals`, only when it fails on every goal).
    #[allow(clippy::too_many_arguments)]
    fn on_each_goal(
        &mut self,
        cmd: &str,
        id: StateId,
        tactic: &str,
        sorry_at: Option<usize>,
        any: bool,
        out: &mut Elaborated,
        fx: &mut Effects,
        used_sorry: &mut bool,
    ) -> Result<Result<PState, String>, Action> {
        let goals = self.world.goals(id).to_vec();
        let mut left = Vec::new();
        let mut failures = Vec::new();
        for (index, goal) in goals.iter().enumerate() {
            let focused = match self.focus(id, index) {
                Ok((PState::Open(focused), _)) => focused,
                Ok((PState::Closed, _)) => continue,
                Err(error) => return Ok(Err(error)),
            };
            if let (Some(at), "sorry") = (sorry_at, tactic) {
                let entry = self.sorry_entry(PState::Open(focused), Some((cmd, at, at + 5)));
                out.sorries.push(entry);
                *used_sorry = true;
                continue;
            }
            let Some(tr) = self.world.transition(focused, tactic) else {
                failures.push(format!(
                    "simulated world has no transition for tactic `{tactic}`"
                ));
                left.push(goal.clone());
                continue;
            };
            if let Some(action) = fx.take(tr.latency_ms, tr.fault.as_ref()) {
                return Err(action);
            }
            match &tr.outcome {
                Outcome::Goals(to) => {
                    let to = self
                        .world
                        .state_id(to)
                        .expect("validated worlds name known states");
                    left.extend(self.world.goals(to).iter().cloned());
                }
                Outcome::Proved => {}
                Outcome::Error(text) | Outcome::Fail(text) => {
                    failures.push(text.clone());
                    left.push(goal.clone());
                }
                Outcome::Incomplete(_) => {
                    failures.push("unsolved goals".into());
                    left.push(goal.clone());
                }
            }
        }
        if let Some(first) = failures.first()
            && (!any || failures.len() == goals.len())
        {
            return Ok(Err(first.clone()));
        }
        Ok(self.state_of(&left))
    }

    /// A tactic the world has no transition for, by its form: `sorry` (a sorry entry for the
    /// main goal, which it closes), `exact sorry` (the same, a term sorry), `all_goals T`,
    /// `any_goals T` and `T₁ <;> T₂` (T on every goal; `sorry` listed once per goal), `· BLOCK`,
    /// `case TAG => BLOCK` and `next => BLOCK` (the block must close the goal it focuses),
    /// `have NAME : T := sorry` (a term sorry) and `have NAME : T := by BLOCK`, whose block runs
    /// from the state with the main goal's hypotheses concluding `T` ([`Sim::hole_state`]) and
    /// moves the main goal to the world's state with `NAME : T` as a further hypothesis
    /// ([`Sim::after_have`]), or leaves it as it was when the world has none; `obtain PATTERN :
    /// T := …` alike, the new hypotheses being the pattern's names.
    fn tactic_form(
        &mut self,
        cmd: &str,
        t: &ScriptTactic,
        id: StateId,
        out: &mut Elaborated,
        fx: &mut Effects,
        used_sorry: &mut bool,
    ) -> Result<Form, Action> {
        let text = t.text.as_str();
        let source = &cmd[t.start..t.end];
        let sorry_at = source.rfind("sorry").map(|i| t.start + i);
        let focused = |sim: &Sim, index: usize| match sim.focus(id, index) {
            Ok(pair) => Ok(pair),
            // A state with several goals the world does not split: the sorry takes them all.
            Err(_) if index == 0 => Ok((PState::Open(id), PState::Closed)),
            Err(error) => Err(error),
        };
        if text == "sorry" || text == "exact sorry" {
            let (main, rest) = match focused(self, 0) {
                Ok(pair) => pair,
                Err(error) => return Ok(Form::Failed(error)),
            };
            let at = sorry_at.unwrap_or(t.start);
            if text == "sorry" {
                let entry = self.sorry_entry(main, Some((cmd, at, at + 5)));
                out.sorries.push(entry);
            } else {
                out.term_sorries.push((main, at));
            }
            *used_sorry = true;
            return Ok(Form::Next(rest));
        }
        let each = |prefix: &str| text.strip_prefix(prefix).map(str::trim);
        if let Some((inner, any)) = each("all_goals ")
            .map(|i| (i, false))
            .or_else(|| each("any_goals ").map(|i| (i, true)))
        {
            return Ok(
                match self.on_each_goal(cmd, id, inner, sorry_at, any, out, fx, used_sorry)? {
                    Ok(next) => Form::Next(next),
                    Err(error) => Form::Failed(error),
                },
            );
        }
        if let Some((first, then)) = text.split_once(" <;> ") {
            let Some(tr) = self.world.transition(id, first) else {
                return Ok(Form::Failed(format!(
                    "simulated world has no transition for tactic `{first}`"
                )));
            };
            if let Some(action) = fx.take(tr.latency_ms, tr.fault.as_ref()) {
                return Err(action);
            }
            return Ok(match tr.outcome.clone() {
                Outcome::Goals(to) => {
                    let to = self
                        .world
                        .state_id(&to)
                        .expect("validated worlds name known states");
                    match self.on_each_goal(
                        cmd,
                        to,
                        then.trim(),
                        sorry_at,
                        false,
                        out,
                        fx,
                        used_sorry,
                    )? {
                        Ok(next) => Form::Next(next),
                        Err(error) => Form::Failed(error),
                    }
                }
                Outcome::Proved => Form::Next(PState::Closed),
                Outcome::Error(text) | Outcome::Fail(text) => Form::Failed(text),
                Outcome::Incomplete(_) => Form::Failed("unsolved goals".into()),
            });
        }
        // `· BLOCK`, `case TAG => BLOCK`, `next => BLOCK`: the focused goal and the block.
        let focus_block = if let Some(block) = source.strip_prefix("· ") {
            Some((0, t.end - block.len()))
        } else if text.starts_with("case ") || text.starts_with("next ") {
            let arrow = source.find("=>").map(|i| t.start + i + 2);
            let tag = text
                .strip_prefix("case ")
                .and_then(|r| r.split_whitespace().next());
            let index = match tag {
                None => Some(0),
                Some(tag) => self
                    .world
                    .goals(id)
                    .iter()
                    .position(|g| g.lines().next() == Some(&format!("case {tag}"))),
            };
            match (index, arrow) {
                (Some(index), Some(arrow)) => Some((index, arrow)),
                (None, _) => {
                    return Ok(Form::Failed(format!(
                        "Case tag `{}` not found.",
                        tag.unwrap_or_default()
                    )));
                }
                (_, None) => None,
            }
        } else {
            None
        };
        if let Some((index, block_from)) = focus_block {
            let (main, rest) = match focused(self, index) {
                Ok(pair) => pair,
                Err(error) => return Ok(Form::Failed(error)),
            };
            let block = (block_from, t.end);
            if !self.run_closing_block(cmd, block, main, out, fx, used_sorry)? {
                return Ok(Form::Stopped);
            }
            return Ok(Form::Next(rest));
        }
        if let Some((names, conclusion, value)) = have_term(source) {
            let Some(inner) = self.hole_state(id, conclusion) else {
                return Ok(Form::Failed(format!(
                    "simulated world has no state concluding `{conclusion}`"
                )));
            };
            if value == "sorry" {
                let at = sorry_at.unwrap_or(t.start);
                out.term_sorries.push((PState::Open(inner), at));
                *used_sorry = true;
                return Ok(Form::Next(PState::Open(self.after_have(
                    id,
                    &names,
                    conclusion,
                    source.starts_with("obtain "),
                ))));
            }
        }
        if let Some((names, conclusion, block_from)) = have_block(cmd, t.start, t.end) {
            let Some(inner) = self.hole_state(id, conclusion) else {
                return Ok(Form::Failed(format!(
                    "simulated world has no state concluding `{conclusion}`"
                )));
            };
            let block = (block_from, t.end);
            if !self.run_closing_block(cmd, block, PState::Open(inner), out, fx, used_sorry)? {
                return Ok(Form::Stopped);
            }
            return Ok(Form::Next(PState::Open(self.after_have(
                id,
                &names,
                conclusion,
                source.starts_with("obtain "),
            ))));
        }
        Ok(Form::Failed(format!(
            "simulated world has no transition for tactic `{text}`"
        )))
    }

    /// The state a `have … : T := by …` block starts from on `id`: the world state whose one
    /// goal has `id`'s hypotheses and concludes `T` (so a hole carries the earlier `have`s, as
    /// in Lean), else the first state concluding `T` ([`IndexedWorld::find_state_concluding`]).
    fn hole_state(&self, id: StateId, conclusion: &str) -> Option<StateId> {
        let in_context = match self.world.goals(id) {
            [goal] => goal.rsplit_once("⊢ ").and_then(|(hypotheses, _)| {
                let wanted = format!("{hypotheses}⊢ {}", conclusion.trim());
                self.world.state_with_goals(&[wanted])
            }),
            _ => None,
        };
        in_context.or_else(|| self.world.find_state_concluding(conclusion))
    }

    /// The state after `have NAME : T …` or `obtain PATTERN : T …` on `id`: the world state
    /// whose one goal is `id`'s with `NAME : T` added as its last hypothesis (for `obtain`,
    /// hypotheses naming exactly the pattern's names, in order, whatever their types: the
    /// world says what destructuring `T` gives), when the world has one (so a closing tactic
    /// can use the new facts, as in Lean), else `id` itself (the hypotheses not modelled).
    fn after_have(&self, id: StateId, names: &[String], conclusion: &str, obtain: bool) -> StateId {
        let [goal] = self.world.goals(id) else {
            return id;
        };
        let Some((hypotheses, target)) = goal.rsplit_once("⊢ ") else {
            return id;
        };
        if let [name] = names {
            let wanted = format!("{hypotheses}{name} : {}\n⊢ {target}", conclusion.trim());
            if let Some(state) = self.world.state_with_goals(&[wanted]) {
                return state;
            }
        }
        if !obtain || names.is_empty() {
            return id;
        }
        let mut candidates = (0..self.world.world().states.len() as StateId).filter(|&other| {
            let [goal] = self.world.goals(other) else {
                return false;
            };
            let Some(added) = goal
                .strip_prefix(hypotheses)
                .and_then(|rest| rest.strip_suffix(target))
                .and_then(|rest| rest.strip_suffix("⊢ "))
            else {
                return false;
            };
            let bound: Vec<&str> = added
                .lines()
                .flat_map(|line| {
                    line.split_once(" : ")
                        .map_or("", |(names, _)| names)
                        .split_whitespace()
                })
                .collect();
            bound == names
        });
        candidates.next().unwrap_or(id)
    }

    /// Runs the tactic block `cmd[from..to]` (the text after a `by`) from `state`: world
    /// transitions, and the forms of [`Sim::tactic_form`]. Returns the state after the block and
    /// whether an error stopped it (the error is in `out`).
    #[allow(clippy::too_many_arguments)]
    fn run_block(
        &mut self,
        cmd: &str,
        from: usize,
        to: usize,
        start: PState,
        out: &mut Elaborated,
        fx: &mut Effects,
        used_sorry: &mut bool,
    ) -> Result<(PState, bool), Action> {
        let tactics = split_script(cmd, from, to);
        let mut state = start;
        for t in &tactics {
            let PState::Open(id) = state else {
                out.messages.push(message(
                    cmd,
                    "error",
                    t.start,
                    t.end,
                    "no goals to be proved",
                ));
                return Ok((state, true));
            };
            let Some(tr) = self.world.transition(id, &t.text) else {
                match self.tactic_form(cmd, t, id, out, fx, used_sorry)? {
                    Form::Next(next) => {
                        state = next;
                        continue;
                    }
                    Form::Stopped => return Ok((state, true)),
                    Form::Failed(text) => {
                        out.messages
                            .push(message(cmd, "error", t.start, t.end, &text));
                        return Ok((state, true));
                    }
                }
            };
            if let Some(action) = fx.take(tr.latency_ms, tr.fault.as_ref()) {
                return Err(action);
            }
            let error = match &tr.outcome {
                Outcome::Goals(to) => {
                    state = PState::Open(
                        self.world
                            .state_id(to)
                            .expect("validated worlds name known states"),
                    );
                    None
                }
                Outcome::Proved => {
                    state = PState::Closed;
                    None
                }
                Outcome::Error(text) | Outcome::Fail(text) => Some(text.clone()),
                Outcome::Incomplete(_) => Some("unsolved goals".to_owned()),
            };
            if let Some(text) = error {
                out.messages
                    .push(message(cmd, "error", t.start, t.end, &text));
                return Ok((state, true));
            }
        }
        Ok((state, false))
    }

    /// Runs the block `cmd[block.0..block.1]` from `start`, which it must close: `false` (with
    /// the error in `out`) when an error stopped it or goals are left.
    fn run_closing_block(
        &mut self,
        cmd: &str,
        block: (usize, usize),
        start: PState,
        out: &mut Elaborated,
        fx: &mut Effects,
        used_sorry: &mut bool,
    ) -> Result<bool, Action> {
        let (from, to) = block;
        let (after, stopped) = self.run_block(cmd, from, to, start, out, fx, used_sorry)?;
        if stopped {
            return Ok(false);
        }
        if let PState::Open(left) = after {
            let goals = self.world.goals(left).join("\n\n");
            out.messages.push(message(
                cmd,
                "error",
                from,
                to,
                &format!("unsolved goals\n{goals}"),
            ));
            return Ok(false);
        }
        Ok(true)
    }

    /// Elaborates the declaration `cmd[from..to]` (from its keyword), adding it to `constants`
    /// with its axioms: the world theorem's, `sorryAx` for a sorry or an error, and those of
    /// every constant its proof names (so `#print axioms` lists them transitively, as Lean
    /// does). `Err` when a fault preempts the answer.
    #[allow(clippy::too_many_arguments)]
    fn declaration(
        &mut self,
        cmd: &str,
        from: usize,
        to: usize,
        root_goals: bool,
        private: bool,
        env: &mut SimEnv,
        fx: &mut Effects,
    ) -> Result<Elaborated, Action> {
        let mut out = Elaborated::default();
        let decl_start = from + (cmd[from..].len() - cmd[from..].trim_start().len());
        // A name Lean's parser refuses is a parse error, whatever the world holds.
        if let Some((at, data)) = crate::lean_syntax::declaration_head_error(&cmd[decl_start..]) {
            out.messages.push(json!({
                "severity": "error",
                "pos": pos_json(cmd, decl_start + at),
                "endPos": null,
                "data": data,
            }));
            return Ok(out);
        }
        let found = self
            .world
            .find_theorem(&cmd[decl_start..to])
            .map(|(ti, end)| (self.world.world().theorems[ti].clone(), end))
            .or_else(|| {
                let (state, end, name) = self.world.find_state_statement(&cmd[decl_start..to])?;
                let theorem = crate::world::Theorem {
                    name,
                    statement: cmd[decl_start..decl_start + end].to_owned(),
                    root: self.world.state_name(state).to_owned(),
                    axioms: Vec::new(),
                };
                Some((theorem, end))
            });
        let Some((theorem, stmt_end)) = found else {
            let line_end = cmd[decl_start..]
                .find('\n')
                .map_or(cmd.len(), |i| decl_start + i);
            out.messages.push(message(
                cmd,
                "error",
                decl_start,
                line_end,
                "unknown declaration in simulated world",
            ));
            return Ok(out);
        };
        let root = PState::Open(
            self.world
                .state_id(&theorem.root)
                .expect("validated worlds name known states"),
        );
        let stmt_end = decl_start + stmt_end;
        let assign = stmt_end + (cmd[stmt_end..].len() - cmd[stmt_end..].trim_start().len());
        let after_assign = assign + ":=".len();
        // The proof ends where the next command starts.
        let body_end = to.max(after_assign);
        let body = &cmd[after_assign..body_end];
        let proof_at = after_assign + (body.len() - body.trim_start().len());
        let proof = cmd[proof_at..body_end].trim_end();
        let mut used_sorry = false;
        let mut had_error = false;
        if root_goals {
            let entry = self.sorry_entry(root, Some((cmd, proof_at, proof_at)));
            out.sorries.push(entry);
        }
        let is_by = proof
            .strip_prefix("by")
            .is_some_and(|r| r.is_empty() || r.starts_with(is_lean_ws));
        if proof == "sorry" {
            out.term_sorries.push((root, proof_at));
            used_sorry = true;
        } else if let Some(token_at) = (is_by && self.version == LeanVersion::V4_33)
            .then(|| column_zero_block(cmd, proof_at + 2, proof_at + proof.len()))
            .flatten()
        {
            // v4.33: a line at column 0 after `by` is no tactic of the block but a command of
            // its own, which does not parse; the block is empty.
            let goals = match root {
                PState::Open(id) => self.world.goals(id).join("\n\n"),
                PState::Closed => String::new(),
            };
            out.messages.push(message(
                cmd,
                "error",
                proof_at,
                proof_at + 2,
                &format!("unsolved goals\n{goals}"),
            ));
            let token = cmd[token_at..]
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("");
            out.messages.push(message(
                cmd,
                "error",
                token_at,
                token_at + token.len(),
                &format!("unexpected token '{token}'; expected command"),
            ));
            had_error = true;
        } else if is_by {
            let script_end = proof_at + proof.len();
            if self.version == LeanVersion::V4_24
                && cmd[proof_at + 2..].trim_matches(is_lean_ws).is_empty()
            {
                // v4.24: a `by` at the end of the input is also a parse error, whose end
                // position Lean does not know (`"endPos": null`).
                let mut error = message(
                    cmd,
                    "error",
                    cmd.len(),
                    cmd.len(),
                    "unexpected end of input; expected '{'",
                );
                error["endPos"] = Value::Null;
                out.messages.push(error);
            }
            let (state, stopped) = self.run_block(
                cmd,
                proof_at + 2,
                script_end,
                root,
                &mut out,
                fx,
                &mut used_sorry,
            )?;
            if let (false, PState::Open(id)) = (stopped, state) {
                let goals = self.world.goals(id).join("\n\n");
                out.messages.push(message(
                    cmd,
                    "error",
                    proof_at,
                    script_end,
                    &format!("unsolved goals\n{goals}"),
                ));
            }
            had_error = stopped || matches!(state, PState::Open(_));
        } else {
            out.messages.push(message(
                cmd,
                "error",
                proof_at,
                proof_at + proof.len(),
                "simulated world only understands `by` blocks and `sorry` as proofs",
            ));
            had_error = true;
        }
        if used_sorry && !had_error {
            // Search after the keyword, so that a name like `h` is not found inside `theorem`.
            let decl = &cmd[decl_start..stmt_end];
            let after_keyword = decl.find(is_lean_ws).unwrap_or(decl.len());
            let name_at = decl[after_keyword..]
                .find(theorem.name.as_str())
                .map_or(decl_start, |i| decl_start + after_keyword + i);
            out.messages.push(message(
                cmd,
                "warning",
                name_at,
                name_at + theorem.name.len(),
                self.version.sorry_warning(),
            ));
        }
        let mut axioms = theorem.axioms.clone();
        if used_sorry || had_error {
            axioms.push("sorryAx".into());
        }
        for name in identifiers(&cmd[after_assign.min(body_end)..body_end]) {
            if let Some((_, theirs)) = env.constants.iter().rev().find(|(n, _)| n == name) {
                axioms.extend(theirs.iter().cloned());
            }
        }
        axioms.sort_by(|a, b| lean_name_order(a, b));
        axioms.dedup();
        // The constant Lean adds: a `private` one under its mangled name.
        let declared = datasets::lean::printed_name(&theorem.name);
        let declared = if private || datasets::lean::declares_private(&theorem.statement) {
            private_name(&declared)
        } else {
            declared
        };
        env.constants.push((declared, axioms));
        // The REPL lists tactic sorries first, then term sorries.
        for (state, at) in std::mem::take(&mut out.term_sorries) {
            let entry = self.sorry_entry(state, Some((cmd, at, at + 5)));
            out.sorries.push(entry);
        }
        Ok(out)
    }
}

impl Responder for Sim {
    fn respond(&mut self, request: &Value) -> Reply {
        match dispatch(request) {
            Some(Request::ProofStep {
                tactic,
                proof_state,
            }) => self.proof_step(proof_state, tactic),
            Some(Request::Command {
                cmd,
                env,
                root_goals,
            }) => self.command(cmd, env, root_goals),
            Some(Request::Unsupported(kind)) => Reply::answer(
                &json!({"message": format!("simulated REPL does not support {kind}")}),
            ),
            None => Reply::fatal(uncaught(&format!(
                "Could not parse as a valid JSON command:\n{request}"
            ))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Replay

/// Answers with recorded bytes as long as the requests equal the recorded ones.
pub struct Replay {
    requests: Vec<Value>,
    answers: Vec<String>,
    next: usize,
}

impl Replay {
    /// Loads `PREFIX.in` and `PREFIX.expected.out`.
    pub fn load(prefix: &Path) -> Result<Replay, String> {
        let read = |suffix: &str| {
            let path = with_suffix(prefix, suffix);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let requests = split_requests(&read(".in")?)
            .iter()
            .enumerate()
            .map(|(k, q)| {
                serde_json::from_str(q)
                    .map_err(|e| format!("recorded request {k} is not JSON: {e}"))
            })
            .collect::<Result<Vec<Value>, String>>()?;
        let answers = split_answers(&read(".expected.out")?);
        Ok(Replay {
            requests,
            answers,
            next: 0,
        })
    }
}

impl Responder for Replay {
    fn respond(&mut self, request: &Value) -> Reply {
        let k = self.next;
        self.next += 1;
        let mismatch = |stderr: String| Reply::now(Action::Exit { code: 4, stderr });
        match (self.requests.get(k), self.answers.get(k)) {
            (Some(expected), Some(answer)) if expected == request => {
                Reply::now(Action::Answer(answer.clone()))
            }
            (Some(expected), _) if expected != request => mismatch(format!(
                "replay mismatch at request {k}: expected {expected}, got {request}\n"
            )),
            _ => mismatch(format!(
                "replay: request {k} is past the end of the recording ({} requests, {} answers): {request}\n",
                self.requests.len(),
                self.answers.len()
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Serving

/// Process-wide knobs from the command line.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Sleep before every answer.
    pub latency_ms: u64,
    /// Exit 0 after answering this many requests.
    pub exit_after: Option<u64>,
    /// Allocate and touch this many MiB on every request.
    pub grow_mb_per_request: u64,
    /// Append the compact JSON of every request here.
    pub log: Option<PathBuf>,
    /// Sleep this much longer before answering a command without an env: an import header,
    /// which the real REPL elaborates in seconds (tens with Mathlib).
    pub header_delay_ms: u64,
    /// Tactics that never answer (the request is logged, then the process hangs, alive): a
    /// tactic the real REPL would run forever, as `decide` on a large proposition can.
    pub hang_on_tactics: Vec<String>,
}

impl ServeOptions {
    /// The delay and the fate this request gets from the process-wide knobs: the header delay
    /// for a command without an env, a hang for a tactic named by `hang_on_tactics`.
    fn for_request(&self, request: &Value) -> (u64, bool) {
        let field = |k: &str| request.get(k).filter(|v| !v.is_null());
        let is_header = field("cmd").is_some() && field("env").is_none();
        let hangs = field("tactic")
            .and_then(Value::as_str)
            .is_some_and(|t| self.hang_on_tactics.iter().any(|h| h == t));
        let delay = self.latency_ms + if is_header { self.header_delay_ms } else { 0 };
        (delay, hangs)
    }
}

/// How [`Server::run`] ended.
#[derive(Debug, PartialEq)]
pub enum Ending {
    /// End of input: exit 0.
    Eof,
    /// Exit with this code after writing `stderr`.
    Exit {
        /// Process exit code.
        code: i32,
        /// Text for stderr.
        stderr: String,
    },
    /// Stop answering but stay alive.
    Hang,
}

/// The request loop: framing, logging, latency, memory growth and exit faults.
pub struct Server {
    opts: ServeOptions,
    log: Option<File>,
    /// Memory grown on purpose; kept so resident size only goes up.
    ballast: Vec<Vec<u8>>,
    answered: u64,
}

impl Server {
    /// Opens the log file, if any.
    pub fn new(opts: ServeOptions) -> io::Result<Server> {
        let log = match &opts.log {
            Some(path) => Some(OpenOptions::new().create(true).append(true).open(path)?),
            None => None,
        };
        Ok(Server {
            opts,
            log,
            ballast: Vec::new(),
            answered: 0,
        })
    }

    fn grow(&mut self, mb: u64) {
        if mb == 0 {
            return;
        }
        let mut block = vec![0u8; (mb as usize) << 20];
        // A zeroed allocation is only reserved address space; writing every page makes the
        // kernel back it, so the resident size really grows.
        for i in (0..block.len()).step_by(4096) {
            block[i] = 1;
        }
        self.ballast.push(std::hint::black_box(block));
    }

    /// Serves queries from `input` until end of input or a fault ends the conversation.
    pub fn run(
        &mut self,
        responder: &mut dyn Responder,
        input: impl BufRead,
        output: &mut impl Write,
    ) -> io::Result<Ending> {
        let mut reader = RequestReader::new(input);
        loop {
            if self.opts.exit_after.is_some_and(|n| self.answered >= n) {
                return Ok(Ending::Exit {
                    code: 0,
                    stderr: String::new(),
                });
            }
            let Some(query) = reader.next_query()? else {
                return Ok(Ending::Eof);
            };
            if is_comment(&query) {
                continue;
            }
            let request: Value = match serde_json::from_str(&query) {
                Ok(v) => v,
                Err(e) => {
                    return Ok(Ending::Exit {
                        code: 1,
                        stderr: uncaught(&format!("Could not parse JSON:\n{e}")),
                    });
                }
            };
            if let Some(log) = self.log.as_mut() {
                log.write_all(format!("{request}\n").as_bytes())?;
                log.flush()?;
            }
            let (delay, hangs) = self.opts.for_request(&request);
            if hangs {
                output.flush()?;
                return Ok(Ending::Hang);
            }
            let reply = responder.respond(&request);
            let delay = delay + reply.delay_ms;
            if delay > 0 {
                std::thread::sleep(Duration::from_millis(delay));
            }
            self.grow(self.opts.grow_mb_per_request + reply.grow_mb);
            match reply.action {
                Action::Answer(text) => output.write_all(text.as_bytes())?,
                Action::Garbage => output.write_all(GARBAGE.as_bytes())?,
                Action::Hang => {
                    output.flush()?;
                    return Ok(Ending::Hang);
                }
                Action::Exit { code, stderr } => {
                    output.flush()?;
                    return Ok(Ending::Exit { code, stderr });
                }
            }
            output.flush()?;
            self.answered += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SORRY_WARNING: &str = SORRY_WARNING_4_24;

    fn world() -> World {
        serde_json::from_str(
            r#"{
              "imports": ["Mathlib", "Aesop"],
              "theorems": [
                {"name": "t1", "statement": "theorem t1 (a b : ℕ) (h : a = b) : b = a", "root": "s0",
                 "axioms": ["propext", "Quot.sound", "Classical.choice"]}
              ],
              "states": {"s0": ["a b : ℕ\nh : a = b\n⊢ b = a"], "s1": ["a : ℕ\n⊢ a = a"]},
              "transitions": [
                {"from": "s0", "tactic": "subst h", "outcome": {"goals": "s1"}},
                {"from": "s1", "tactic": "rfl", "outcome": "proved"},
                {"from": "s0", "tactic": "simp", "outcome": {"error": "simp made no progress"}},
                {"from": "s0", "tactic": "exat", "outcome": {"fail": "<input>:1:1: unknown tactic"}},
                {"from": "s0", "tactic": "grow", "outcome": {"goals": "s1"}, "fault": {"grow_mb": 2},
                 "latency_ms": 5},
                {"from": "s0", "tactic": "omega", "outcome": {"goals": "s1"}, "fault": "hang"}
              ]
            }"#,
        )
        .unwrap()
    }

    fn answer(sim: &mut Sim, req: Value) -> Value {
        match sim.respond(&req).action {
            Action::Answer(text) => {
                assert!(text.ends_with("}\n\n"), "{text:?}");
                serde_json::from_str(&text).unwrap()
            }
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    #[test]
    fn framing_follows_get_lines() {
        let input = "{\"cmd\":\n \"a\"}  \n\n# comment\nblock\n\n{\"x\": 1}";
        let mut r = RequestReader::new(input.as_bytes());
        assert_eq!(r.next_query().unwrap().unwrap(), "{\"cmd\": \"a\"}\n");
        assert_eq!(r.next_query().unwrap().unwrap(), "# commentblock\n");
        assert_eq!(r.next_query().unwrap().unwrap(), "{\"x\": 1}");
        assert_eq!(r.next_query().unwrap(), None);
        let mut blank = RequestReader::new("\n{}\n".as_bytes());
        assert_eq!(blank.next_query().unwrap().unwrap(), "\n");
    }

    #[test]
    fn script_splitting_handles_indentation() {
        let cmd =
            "theorem x := by\n  intro a\n\n  -- why\n  have h : a := by\n    simp\n  exact h\n";
        let from = cmd.find("by").unwrap() + 2;
        let tactics = split_script(cmd, from, cmd.len());
        let texts: Vec<&str> = tactics.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["intro a", "have h : a := by\n  simp", "exact h"]);
        let alts = "by\n  induction x with\n  | zero => simp\n  | succ n ih => omega\n  rfl";
        let texts: Vec<String> = split_script(alts, 2, alts.len())
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(
            texts,
            [
                "induction x with\n| zero => simp\n| succ n ih => omega",
                "rfl"
            ]
        );
        assert_eq!(&cmd[tactics[0].start..tactics[0].end], "intro a");
        let same_line = split_script("t := by simp", 7, 12);
        assert_eq!(same_line[0].text, "simp");
    }

    #[test]
    fn tactic_mode_ids_and_shapes() {
        let mut sim = Sim::new(world()).unwrap();
        let header = answer(&mut sim, json!({"cmd": "import Mathlib\nimport Aesop"}));
        assert_eq!(header, json!({"env": 0}));
        let c = answer(
            &mut sim,
            json!({"cmd": "theorem t1 (a b : ℕ) (h : a = b) : b = a := by sorry", "env": 0}),
        );
        assert_eq!(c["env"], 1);
        assert_eq!(c["sorries"][0]["proofState"], 0);
        assert_eq!(c["sorries"][0]["goal"], "a b : ℕ\nh : a = b\n⊢ b = a");
        assert_eq!(c["sorries"][0]["pos"], json!({"line": 1, "column": 47}));
        assert_eq!(c["messages"][0]["data"], SORRY_WARNING);
        assert_eq!(c["messages"][0]["pos"], json!({"line": 1, "column": 8}));
        let fail = answer(&mut sim, json!({"tactic": "exat", "proofState": 0}));
        assert_eq!(
            fail,
            json!({"message": "Lean error:\n<input>:1:1: unknown tactic"})
        );
        let err = answer(&mut sim, json!({"tactic": "simp", "proofState": 0}));
        assert_eq!(err["proofState"], 1);
        assert_eq!(err["proofStatus"], "Incomplete: contains sorry");
        assert_eq!(err["messages"][0]["severity"], "error");
        let step = answer(&mut sim, json!({"tactic": "subst h", "proofState": 0}));
        assert_eq!(step["proofState"], 2);
        assert_eq!(step["goals"], json!(["a : ℕ\n⊢ a = a"]));
        let done = answer(&mut sim, json!({"tactic": " rfl ", "proofState": 2}));
        assert_eq!(
            done,
            json!({"proofStatus": "Completed", "proofState": 3, "goals": []})
        );
        let after = answer(&mut sim, json!({"tactic": "rfl", "proofState": 3}));
        assert_eq!(
            after,
            json!({"message": "Lean error:\nno goals to be proved"})
        );
        let unknown = answer(&mut sim, json!({"tactic": "rfl", "proofState": 99}));
        assert_eq!(unknown, json!({"message": "Unknown proof state."}));
        let sorry = answer(&mut sim, json!({"tactic": "sorry", "proofState": 2}));
        assert_eq!(sorry["sorries"][0]["proofState"], 4);
        assert_eq!(sorry["proofState"], 5);
    }

    #[test]
    fn command_mode_checks_whole_proofs() {
        let mut sim = Sim::new(world()).unwrap();
        answer(&mut sim, json!({"cmd": "import Mathlib"}));
        let ok = answer(
            &mut sim,
            json!({"cmd": "theorem t1 (a b : ℕ)\n    (h : a = b) : b = a := by\n  subst h\n  rfl\n#print axioms t1", "env": 0}),
        );
        assert_eq!(ok["env"], 1);
        assert_eq!(
            ok["messages"],
            json!([{"severity": "info", "pos": {"line": 5, "column": 0},
                    "endPos": {"line": 5, "column": 6},
                    "data": "'t1' depends on axioms: [propext, Classical.choice, Quot.sound]"}])
        );
        let open = answer(
            &mut sim,
            json!({"cmd": "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  subst h", "env": 0}),
        );
        assert_eq!(
            open["messages"][0]["data"],
            "unsolved goals\na : ℕ\n⊢ a = a"
        );
        let extra = answer(
            &mut sim,
            json!({"cmd": "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  rfl\n  rfl", "env": 0}),
        );
        assert_eq!(extra["messages"][0]["data"], "no goals to be proved");
        assert_eq!(extra["messages"][0]["pos"], json!({"line": 4, "column": 2}));
        let partial = answer(
            &mut sim,
            json!({"cmd": "theorem t1 (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  sorry\n#print axioms t1", "env": 0}),
        );
        assert_eq!(partial["sorries"][0]["goal"], "a : ℕ\n⊢ a = a");
        assert_eq!(partial["messages"][0]["data"], SORRY_WARNING);
        assert_eq!(
            partial["messages"][1]["data"],
            "'t1' depends on axioms: [propext, sorryAx, Classical.choice, Quot.sound]"
        );
        let unknown = answer(
            &mut sim,
            json!({"cmd": "theorem nope : True := trivial", "env": 0}),
        );
        assert_eq!(
            unknown["messages"][0]["data"],
            "unknown declaration in simulated world"
        );
        let bad_import = answer(&mut sim, json!({"cmd": "import Mathlb"}));
        assert_eq!(
            bad_import["messages"][0]["data"],
            "unknown module prefix 'Mathlb'"
        );
        assert_eq!(bad_import["env"], 6);
        let bad_env = answer(&mut sim, json!({"cmd": "x", "env": 7}));
        assert_eq!(bad_env, json!({"message": "Unknown environment."}));
        // A name Lean's parser refuses is refused here too, at the token, as Lean does.
        let misnamed = answer(
            &mut sim,
            json!({"cmd": "theorem t1-x (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  rfl", "env": 0}),
        );
        assert_eq!(
            misnamed["messages"],
            json!([{"severity": "error", "pos": {"line": 1, "column": 10}, "endPos": null,
                    "data": "unexpected token '-'; expected ':'"}])
        );
        let split = answer(
            &mut sim,
            json!({"cmd": "theorem t1\naxiom a : False\n (a b : ℕ) (h : a = b) : b = a := by\n  subst h\n  rfl", "env": 0}),
        );
        assert_eq!(split["messages"][0]["pos"], json!({"line": 2, "column": 0}));
    }

    #[test]
    fn a_statement_of_a_world_state_is_a_theorem_of_the_world() {
        let mut sim = Sim::new(world()).unwrap();
        answer(&mut sim, json!({"cmd": "import Mathlib"}));
        // `s1` is no theorem's root, but its goal is what this statement elaborates to.
        let ok = answer(
            &mut sim,
            json!({"cmd": "theorem t1_s1 (a : ℕ) : a = a := by\n  rfl\n#print axioms t1_s1", "env": 0}),
        );
        assert_eq!(
            ok["messages"],
            json!([{"severity": "info", "pos": {"line": 3, "column": 0},
                    "endPos": {"line": 3, "column": 6},
                    "data": "'t1_s1' does not depend on any axioms"}])
        );
        let wrong = answer(
            &mut sim,
            json!({"cmd": "theorem t1_s1 (a : ℕ) : a = a := by\n  simp", "env": 0}),
        );
        assert_eq!(wrong["messages"][0]["severity"], "error", "{wrong}");
        // A statement of no state is still unknown.
        let unknown = answer(
            &mut sim,
            json!({"cmd": "theorem other (a : ℕ) : a = a + 0 := by\n  rfl", "env": 0}),
        );
        assert_eq!(
            unknown["messages"][0]["data"],
            "unknown declaration in simulated world"
        );
    }

    #[test]
    fn faults_preempt_answers_and_allocate_nothing() {
        let mut sim = Sim::new(world()).unwrap();
        answer(
            &mut sim,
            json!({"cmd": "theorem t1 (a b : ℕ) (h : a = b) : b = a := sorry"}),
        );
        let hang = sim.respond(&json!({"tactic": "omega", "proofState": 0}));
        assert_eq!(hang.action, Action::Hang);
        let grow = sim.respond(&json!({"tactic": "grow", "proofState": 0}));
        assert_eq!((grow.delay_ms, grow.grow_mb), (5, 2));
        let step = answer(&mut sim, json!({"tactic": "subst h", "proofState": 0}));
        assert_eq!(step["proofState"], 2);
    }

    #[test]
    fn dispatch_follows_upstream_order() {
        let mut sim = Sim::new(world()).unwrap();
        let pickle = answer(
            &mut sim,
            json!({"env": 0, "pickleTo": "a.olean", "cmd": "x"}),
        );
        assert_eq!(
            pickle,
            json!({"message": "simulated REPL does not support PickleEnvironment"})
        );
        let Action::Exit { code, stderr } = sim.respond(&json!({"foo": 1})).action else {
            panic!("expected a fatal error");
        };
        assert_eq!(code, 1);
        assert!(stderr.starts_with("uncaught exception: "), "{stderr}");
        assert!(stderr.contains("Could not parse as a valid JSON command"));
        assert!(matches!(
            sim.respond(&json!({"cmd": "x", "env": "0"})).action,
            Action::Exit { code: 1, .. }
        ));
    }

    #[test]
    fn sorry_warning_points_at_the_name() {
        let world: World = serde_json::from_str(
            r#"{"theorems": [{"name": "e", "statement": "theorem e : True", "root": "s"}],
                "states": {"s": ["⊢ True"]}}"#,
        )
        .unwrap();
        let mut sim = Sim::new(world).unwrap();
        let c = answer(&mut sim, json!({"cmd": "theorem e : True := by\n  sorry"}));
        assert_eq!(c["messages"][0]["pos"], json!({"line": 1, "column": 8}));
        assert_eq!(c["messages"][0]["endPos"], json!({"line": 1, "column": 9}));
        assert_eq!(c["sorries"][0]["pos"], json!({"line": 2, "column": 2}));
    }

    /// A world with a root theorem whose name Mathlib also has under `Nat.`, a
    /// universe-polymorphic one, a private one and one with an escaped name.
    fn names_world() -> World {
        serde_json::from_str(
            r#"{
              "theorems": [
                {"name": "succ_le_of_lt", "statement": "theorem succ_le_of_lt (n m : ℕ) (h : n < m) : n + 1 ≤ m",
                 "root": "s", "axioms": ["propext"]},
                {"name": "foo", "statement": "theorem foo.{u} (α : Sort u) (a : α) : a = a", "root": "r"},
                {"name": "p", "statement": "private theorem p (α : Sort u) (a : α) : a = a", "root": "r"},
                {"name": "«foo bar»", "statement": "theorem «foo bar» (α : Sort u) (a : α) : a = a", "root": "r"}
              ],
              "states": {"s": ["n m : ℕ\nh : n < m\n⊢ n + 1 ≤ m"], "r": ["α : Sort u\na : α\n⊢ a = a"]},
              "transitions": [
                {"from": "s", "tactic": "omega", "outcome": "proved"},
                {"from": "r", "tactic": "rfl", "outcome": "proved"}
              ],
              "library": [{"name": "Nat.succ_le_of_lt", "axioms": ["propext", "Quot.sound"]}]
            }"#,
        )
        .unwrap()
    }

    fn messages_of(value: &Value) -> Vec<String> {
        value["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["data"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn block_comments_before_between_and_after_header_lines_are_whitespace() {
        let mut sim = Sim::new(names_world()).unwrap();
        let proof = "theorem succ_le_of_lt (n m : ℕ) (h : n < m) : n + 1 ≤ m := by\n  omega";
        // A copyright block (with a nested comment) before the imports, a block between the
        // header's lines, and one between the header and the declaration, as Lean allows.
        let whole = answer(
            &mut sim,
            json!({"cmd": format!("/- Copyright (c) 2026.\n/- nested -/ still the comment -/\nimport Mathlib\n/- between -/ -- and a line comment\nopen BigOperators Real Nat Topology Rat\n\n/- before the theorem -/\n{proof}\n")}),
        );
        assert_eq!(whole.get("messages"), None, "{whole}");
        let printed = answer(
            &mut sim,
            json!({"cmd": "#print axioms succ_le_of_lt", "env": whole["env"]}),
        );
        assert_eq!(
            messages_of(&printed),
            [
                "'Nat.succ_le_of_lt' depends on axioms: [propext, Quot.sound]",
                "'succ_le_of_lt' depends on axioms: [propext]"
            ],
            "the `open` after the comment holds"
        );
        // On an env: a command that is only a block comment, and one before a declaration (the
        // sim's tactic blocks skip `--` lines only, which is all the bridge sends inside one).
        let imported = answer(&mut sim, json!({"cmd": "import Mathlib\n"}))["env"].clone();
        let commented = answer(
            &mut sim,
            json!({"cmd": "/- only a comment -/\n", "env": imported}),
        );
        assert_eq!(commented.get("messages"), None, "{commented}");
        let env = answer(
            &mut sim,
            json!({"cmd": format!("/- before -/\n{proof}\n"), "env": commented["env"]}),
        );
        assert_eq!(env.get("messages"), None, "{env}");
        // A block left open is not whitespace: Lean stops there.
        let open = answer(
            &mut sim,
            json!({"cmd": "/- never closed\nimport Mathlib\n"}),
        );
        assert!(open.get("messages").is_some(), "{open}");
    }

    #[test]
    fn print_axioms_answers_once_per_constant_a_name_resolves_to() {
        let mut sim = Sim::new(names_world()).unwrap();
        answer(
            &mut sim,
            json!({"cmd": "import Mathlib\nopen BigOperators Real Nat Topology Rat"}),
        );
        let proof = "theorem succ_le_of_lt (n m : ℕ) (h : n < m) : n + 1 ≤ m := by\n  omega";
        answer(&mut sim, json!({"cmd": proof, "env": 0}));
        let bare = answer(
            &mut sim,
            json!({"cmd": "#print axioms succ_le_of_lt", "env": 1}),
        );
        assert_eq!(
            messages_of(&bare),
            [
                "'Nat.succ_le_of_lt' depends on axioms: [propext, Quot.sound]",
                "'succ_le_of_lt' depends on axioms: [propext]"
            ]
        );
        let rooted = answer(
            &mut sim,
            json!({"cmd": "#print axioms _root_.succ_le_of_lt", "env": 1}),
        );
        assert_eq!(
            messages_of(&rooted),
            ["'succ_le_of_lt' depends on axioms: [propext]"]
        );
        let qualified = answer(
            &mut sim,
            json!({"cmd": "#print axioms Nat.succ_le_of_lt", "env": 1}),
        );
        assert_eq!(messages_of(&qualified).len(), 1);
        // Without the `open`, the bare name is the theorem alone.
        answer(&mut sim, json!({"cmd": "import Mathlib"}));
        let env = answer(&mut sim, json!({"cmd": proof, "env": 5}))["env"].clone();
        let alone = answer(
            &mut sim,
            json!({"cmd": "#print axioms succ_le_of_lt", "env": env}),
        );
        assert_eq!(
            messages_of(&alone),
            ["'succ_le_of_lt' depends on axioms: [propext]"]
        );
        // The `open` as a command of its own on the import's env (how the pool sends a header's
        // lines after its imports) holds on the envs made from it, as in Lean.
        let imported = answer(&mut sim, json!({"cmd": "import Mathlib\n"}))["env"].clone();
        let opened = answer(
            &mut sim,
            json!({"cmd": "open BigOperators Real Nat Topology Rat\n", "env": imported}),
        )["env"]
            .clone();
        let env = answer(&mut sim, json!({"cmd": proof, "env": opened}))["env"].clone();
        let split = answer(
            &mut sim,
            json!({"cmd": "#print axioms succ_le_of_lt", "env": env}),
        );
        assert_eq!(messages_of(&split), messages_of(&bare));
        // Comment lines between commands, or a command that is only a comment, are whitespace.
        let commented = answer(
            &mut sim,
            json!({"cmd": "-- a header's comment\n", "env": imported}),
        );
        assert_eq!(commented.get("messages"), None, "{commented}");
        let env = answer(
            &mut sim,
            json!({"cmd": format!("-- before\n{proof}\n-- after\n"), "env": commented["env"]}),
        );
        assert_eq!(env.get("messages"), None, "{env}");
    }

    #[test]
    fn universe_private_and_escaped_names_resolve_as_lean_prints_them() {
        let mut sim = Sim::new(names_world()).unwrap();
        answer(&mut sim, json!({"cmd": "import Mathlib"}));
        let cases = [
            (
                "theorem foo.{u} (α : Sort u) (a : α) : a = a := by\n  rfl",
                "_root_.foo",
                "'foo' does not depend on any axioms",
            ),
            (
                "private theorem p (α : Sort u) (a : α) : a = a := by\n  rfl",
                "_root_.p",
                "'_private.0.p' does not depend on any axioms",
            ),
            (
                "private theorem p (α : Sort u) (a : α) : a = a := by\n  rfl",
                "p",
                "'_private.0.p' does not depend on any axioms",
            ),
            (
                "theorem «foo bar» (α : Sort u) (a : α) : a = a := by\n  rfl",
                "_root_.«foo bar»",
                "'«foo bar»' does not depend on any axioms",
            ),
        ];
        for (theorem, query, printed) in cases {
            let env = answer(&mut sim, json!({"cmd": theorem, "env": 0}))["env"].clone();
            let axioms = answer(
                &mut sim,
                json!({"cmd": format!("#print axioms {query}"), "env": env}),
            );
            assert_eq!(messages_of(&axioms), [printed], "{theorem}");
        }
        let env = answer(&mut sim, json!({"cmd": cases[0].0, "env": 0}))["env"].clone();
        let dotted = answer(&mut sim, json!({"cmd": "#print axioms foo.", "env": env}));
        assert_eq!(
            messages_of(&dotted),
            [
                "'foo' does not depend on any axioms",
                "unexpected token '.'; expected command"
            ]
        );
    }

    #[test]
    fn lean_versions_differ_in_texts_and_column_zero_blocks() {
        let column_zero = "theorem e : True := by\nsorry";
        let empty = "theorem e : True := by";
        let world = || -> World {
            serde_json::from_str(
                r#"{"theorems": [{"name": "e", "statement": "theorem e : True", "root": "s"}],
                    "states": {"s": ["⊢ True"]}}"#,
            )
            .unwrap()
        };
        let mut old = Sim::new(world()).unwrap();
        let accepted = answer(&mut old, json!({"cmd": column_zero}));
        assert_eq!(messages_of(&accepted), [SORRY_WARNING_4_24]);
        assert_eq!(
            accepted["sorries"][0]["pos"],
            json!({"line": 2, "column": 0})
        );
        let unfinished = answer(&mut old, json!({"cmd": empty}));
        assert_eq!(
            unfinished["messages"][0]["data"],
            "unexpected end of input; expected '{'"
        );
        assert_eq!(unfinished["messages"][0]["endPos"], Value::Null);
        assert_eq!(
            unfinished["messages"][0]["pos"],
            json!({"line": 1, "column": 22})
        );
        assert_eq!(unfinished["messages"][1]["data"], "unsolved goals\n⊢ True");

        let mut new = Sim::new(world()).unwrap().with_version(LeanVersion::V4_33);
        let refused = answer(&mut new, json!({"cmd": column_zero}));
        assert_eq!(
            messages_of(&refused),
            [
                "unsolved goals\n⊢ True",
                "unexpected token 'sorry'; expected command"
            ]
        );
        assert_eq!(
            refused["messages"][0]["pos"],
            json!({"line": 1, "column": 20})
        );
        assert_eq!(
            refused["messages"][1]["pos"],
            json!({"line": 2, "column": 0})
        );
        assert!(refused.get("sorries").is_none(), "{refused}");
        let indented = answer(&mut new, json!({"cmd": "theorem e : True := by\n  sorry"}));
        assert_eq!(messages_of(&indented), [SORRY_WARNING_4_33]);
        let unfinished = answer(&mut new, json!({"cmd": empty}));
        assert_eq!(messages_of(&unfinished), ["unsolved goals\n⊢ True"]);
        assert_eq!(LeanVersion::parse("v4.24.0"), Ok(LeanVersion::V4_24));
        assert_eq!(LeanVersion::parse("4.33.0-rc2"), Ok(LeanVersion::V4_33));
        assert!(LeanVersion::parse("4.9").is_err());
    }

    #[test]
    fn axioms_sort_like_lean_names() {
        let mut v = vec!["Quot.sound", "sorryAx", "Classical.choice", "propext"];
        v.sort_by(|a, b| lean_name_order(a, b));
        assert_eq!(v, ["propext", "sorryAx", "Classical.choice", "Quot.sound"]);
    }

    fn editor_world() -> Sim {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/worlds/editor.json");
        Sim::new(World::load(&path).unwrap()).unwrap()
    }

    /// Audit row 2: a proof that closes its goal with an earlier sorried lemma or an `axiom`
    /// carries no sorry warning of its own, and `#print axioms` still lists `sorryAx` or the
    /// axiom, through the lemma.
    #[test]
    fn print_axioms_lists_what_a_proof_rests_on_through_other_declarations() {
        let mut sim = editor_world();
        let header = answer(
            &mut sim,
            json!({"cmd": "import Mathlib\n\ntheorem key (n : ℕ) : n + 0 = n := by sorry\n\naxiom magic (n : ℕ) : n * 1 = n\n"}),
        );
        assert_eq!(header["messages"][0]["data"], SORRY_WARNING);
        assert_eq!(header["messages"].as_array().unwrap().len(), 1);
        let uses_key = answer(
            &mut sim,
            json!({"cmd": "theorem uses_key (n : ℕ) : n + 0 = n := by\n  exact key n", "env": 0}),
        );
        assert_eq!(uses_key.get("messages"), None, "no warning: {uses_key}");
        let uses_magic = answer(
            &mut sim,
            json!({"cmd": "theorem uses_magic (n : ℕ) : n * 1 = n := by\n  exact magic n", "env": 1}),
        );
        assert_eq!(uses_magic.get("messages"), None, "{uses_magic}");
        let printed = |sim: &mut Sim, name: &str, env: u64| {
            answer(
                sim,
                json!({"cmd": format!("#print axioms {name}"), "env": env}),
            )["messages"][0]["data"]
                .clone()
        };
        assert_eq!(
            printed(&mut sim, "key", 0),
            "'key' depends on axioms: [sorryAx]"
        );
        assert_eq!(
            printed(&mut sim, "uses_key", 1),
            "'uses_key' depends on axioms: [sorryAx]"
        );
        assert_eq!(
            printed(&mut sim, "uses_magic", 2),
            "'uses_magic' depends on axioms: [magic]"
        );
        assert_eq!(
            printed(&mut sim, "magic", 0),
            "'magic' depends on axioms: [magic]"
        );
    }

    /// Audit row 3: a doc comment or attributes belong to the declaration after them; with
    /// nothing after them Lean answers a parse error.
    #[test]
    fn a_dangling_doc_comment_or_attribute_is_a_parse_error() {
        let mut sim = editor_world();
        for (dangling, data) in [
            ("/-- Both halves. -/\n", DANGLING_MODIFIERS),
            ("@[simp]\n", DANGLING_MODIFIERS),
            ("/-- doc -/\n@[simp]\nprivate", DANGLING_MODIFIERS),
            ("open Nat in\n", DANGLING_IN),
            ("set_option maxHeartbeats 400000 in\n", DANGLING_IN),
        ] {
            let cmd = format!("import Mathlib\n\n{dangling}");
            let refused = answer(&mut sim, json!({ "cmd": cmd }));
            let messages = refused["messages"].as_array().unwrap();
            assert_eq!(messages.len(), 1, "{refused}");
            assert_eq!(messages[0]["severity"], "error");
            assert_eq!(messages[0]["data"], data);
            assert_eq!(messages[0]["pos"], pos_json(&cmd, cmd.len()));
        }
        answer(&mut sim, json!({"cmd": "import Mathlib"}));
        let env = sim.envs.len() as u64 - 1;
        let documented = answer(
            &mut sim,
            json!({"cmd": "/-- Both halves. -/\n@[simp]\ntheorem both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  constructor\n  case left => assumption\n  case right => exact hq", "env": env}),
        );
        assert_eq!(documented.get("messages"), None, "{documented}");
    }

    /// Audit row 6: the REPL lists a sorry once per goal it ran on, and every tactic sorry
    /// before every term sorry, numbering proof states in that order.
    #[test]
    fn sorries_are_listed_once_per_goal_tactic_sorries_first() {
        let mut sim = editor_world();
        answer(&mut sim, json!({"cmd": "import Mathlib"}));
        let statement = "theorem both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n";
        let goals = |v: &Value| -> Vec<(String, Value)> {
            v["sorries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["goal"]
                            .as_str()
                            .unwrap()
                            .lines()
                            .last()
                            .unwrap()
                            .to_owned(),
                        s["pos"].clone(),
                    )
                })
                .collect()
        };
        for proof in [
            "  constructor\n  all_goals sorry",
            "  constructor <;> sorry",
        ] {
            let v = answer(
                &mut sim,
                json!({"cmd": format!("{statement}{proof}"), "env": 0}),
            );
            let listed = goals(&v);
            assert_eq!(listed.len(), 2, "{v}");
            assert_eq!((listed[0].0.as_str(), listed[1].0.as_str()), ("⊢ p", "⊢ q"));
            assert_eq!(listed[0].1, listed[1].1, "one position: {v}");
            assert_eq!(v["messages"][0]["data"], SORRY_WARNING);
        }
        let mixed = answer(
            &mut sim,
            json!({"cmd": format!("{statement}  have hq' : q := sorry\n  constructor\n  case left => sorry\n  case right => exact hq"), "env": 0}),
        );
        let listed = goals(&mixed);
        assert_eq!(
            listed,
            [
                ("⊢ p".to_owned(), json!({"line": 4, "column": 15})),
                ("⊢ q".to_owned(), json!({"line": 2, "column": 18})),
            ],
            "{mixed}"
        );
        let ids: Vec<u64> = mixed["sorries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["proofState"].as_u64().unwrap())
            .collect();
        assert!(ids[0] < ids[1], "{ids:?}");
        // A case tag that no goal has is Lean's error.
        let missing = answer(
            &mut sim,
            json!({"cmd": format!("{statement}  constructor\n  case middle => sorry"), "env": 0}),
        );
        assert!(
            missing["messages"][0]["data"]
                .as_str()
                .unwrap()
                .starts_with("Case tag `middle` not found"),
            "{missing}"
        );
    }
    /// Issue 22: a skeleton of `have NAME : T := by sorry` lines answers with one sorry per
    /// hole whose goal concludes `T` and carries the earlier `have`s, and the closing tactic
    /// runs from the state with every `have` as a hypothesis, in both Lean flavours.
    #[test]
    fn a_have_skeleton_lists_its_holes_and_closes_with_the_new_facts() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/worlds/planner.json");
        for version in [LeanVersion::V4_24, LeanVersion::V4_33] {
            let mut sim = Sim::new(World::load(&path).unwrap())
                .unwrap()
                .with_version(version);
            answer(&mut sim, json!({"cmd": "import Mathlib"}));
            let statement = "theorem two_steps (x : ℕ) (h : 2 ≤ x) : x ^ 2 ≥ 2 * x := by\n";
            let skeleton = format!(
                "{statement}  have h₁ : x ^ 2 = x * x := by sorry\n  have h₂ : x * x ≥ 2 * x := by\n    sorry\n  exact h₁ ▸ h₂"
            );
            let v = answer(&mut sim, json!({"cmd": skeleton, "env": 0}));
            let sorries = v["sorries"].as_array().unwrap();
            assert_eq!(sorries.len(), 2, "{v}");
            assert_eq!(sorries[0]["goal"], "x : ℕ\nh : 2 ≤ x\n⊢ x ^ 2 = x * x");
            assert_eq!(sorries[0]["pos"], json!({"line": 2, "column": 32}));
            assert_eq!(
                sorries[1]["goal"],
                "x : ℕ\nh : 2 ≤ x\nh₁ : x ^ 2 = x * x\n⊢ x * x ≥ 2 * x"
            );
            assert_eq!(sorries[1]["pos"], json!({"line": 4, "column": 4}));
            let errors: Vec<&Value> = v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["severity"] == "error")
                .collect();
            assert!(errors.is_empty(), "{v}");
            // Without the new facts the closing tactic has nothing to run on.
            let flat = answer(
                &mut sim,
                json!({"cmd": format!("{statement}  exact h₁ ▸ h₂"), "env": 0}),
            );
            assert_eq!(flat["messages"][0]["severity"], "error", "{flat}");
            // A `have` of a fact the world has no state for does not elaborate.
            let bad = answer(
                &mut sim,
                json!({"cmd": format!("{statement}  have h₁ : x = 7 := by sorry\n  sorry"), "env": 0}),
            );
            assert_eq!(bad["messages"][0]["severity"], "error", "{bad}");
        }
    }

    /// Issue 22: `obtain PATTERN : T := by sorry` is a hole like `have`'s (its goal concludes
    /// `T` with the hypotheses so far), and afterwards the pattern's names are hypotheses of
    /// the later holes and of the closing tactic; a term `:= sorry` is listed after the tactic
    /// sorries; the skeleton with its holes proved elaborates with no error and no sorry.
    #[test]
    fn an_obtain_skeleton_destructures_into_the_patterns_names() {
        let context = "n : ℕ\nh : 4 ≤ n\n";
        let with_k = format!("{context}k : ℕ\nhk : n = k + 4\n");
        let world: World = serde_json::from_value(json!({
            "theorems": [{"name": "t", "statement": "theorem t (n : ℕ) (h : 4 ≤ n) : 2 ^ n ≥ n ^ 2", "root": "root"}],
            "states": {
                "root": [format!("{context}⊢ 2 ^ n ≥ n ^ 2")],
                "hole_k": [format!("{context}⊢ ∃ k, n = k + 4")],
                "after_k": [format!("{with_k}⊢ 2 ^ n ≥ n ^ 2")],
                "hole_shifted": [format!("{with_k}⊢ 2 ^ (k + 4) ≥ (k + 4) ^ 2")],
                "after_both": [format!("{with_k}h₂ : 2 ^ (k + 4) ≥ (k + 4) ^ 2\n⊢ 2 ^ n ≥ n ^ 2")],
            },
            "transitions": [
                {"from": "hole_k", "tactic": "exact ⟨n - 4, by omega⟩", "outcome": "proved"},
                {"from": "hole_shifted", "tactic": "nlinarith [sq_nonneg k]", "outcome": "proved"},
                {"from": "after_both", "tactic": "exact hk ▸ h₂", "outcome": "proved"},
            ],
        }))
        .unwrap();
        let statement = "theorem t (n : ℕ) (h : 4 ≤ n) : 2 ^ n ≥ n ^ 2 := by\n";
        let closing = "  have h₂ : 2 ^ (k + 4) ≥ (k + 4) ^ 2 := by\n    sorry\n  exact hk ▸ h₂";
        for version in [LeanVersion::V4_24, LeanVersion::V4_33] {
            let mut sim = Sim::new(world.clone()).unwrap().with_version(version);
            answer(&mut sim, json!({"cmd": "import Mathlib"}));
            let skeleton =
                format!("{statement}  obtain ⟨k, hk⟩ : ∃ k, n = k + 4 := by sorry\n{closing}");
            let v = answer(&mut sim, json!({"cmd": skeleton, "env": 0}));
            assert_eq!(messages_of(&v), [version.sorry_warning()], "{v}");
            let sorries = v["sorries"].as_array().unwrap();
            assert_eq!(sorries.len(), 2, "{v}");
            assert_eq!(sorries[0]["goal"], format!("{context}⊢ ∃ k, n = k + 4"));
            assert_eq!(sorries[0]["pos"], json!({"line": 2, "column": 40}));
            assert_eq!(sorries[0]["endPos"], json!({"line": 2, "column": 45}));
            assert_eq!(
                sorries[1]["goal"],
                format!("{with_k}⊢ 2 ^ (k + 4) ≥ (k + 4) ^ 2")
            );
            assert_eq!(sorries[1]["pos"], json!({"line": 4, "column": 4}));
            // A term sorry comes after every tactic sorry, whatever the source order.
            let term = format!("{statement}  obtain ⟨k, hk⟩ : ∃ k, n = k + 4 := sorry\n{closing}");
            let v = answer(&mut sim, json!({"cmd": term, "env": 0}));
            let goals: Vec<&str> = v["sorries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["goal"].as_str().unwrap())
                .collect();
            assert_eq!(
                goals,
                [
                    format!("{with_k}⊢ 2 ^ (k + 4) ≥ (k + 4) ^ 2"),
                    format!("{context}⊢ ∃ k, n = k + 4")
                ],
                "{v}"
            );
            assert_eq!(v["sorries"][1]["pos"], json!({"line": 2, "column": 37}));
            // Other names than the world's destructuring leave the goal as it was: the closing
            // tactic's `hk` is unknown there.
            let renamed = format!(
                "{statement}  obtain ⟨m, hm⟩ : ∃ k, n = k + 4 := by sorry\n  exact hk ▸ h₂"
            );
            let v = answer(&mut sim, json!({"cmd": renamed, "env": 0}));
            assert_eq!(v["messages"][0]["severity"], "error", "{v}");
            // The holes proved: the whole proof elaborates, with nothing left.
            let proved = format!(
                "{statement}  obtain ⟨k, hk⟩ : ∃ k, n = k + 4 := by\n    exact ⟨n - 4, by omega⟩\n  have h₂ : 2 ^ (k + 4) ≥ (k + 4) ^ 2 := by\n    nlinarith [sq_nonneg k]\n  exact hk ▸ h₂"
            );
            let v = answer(&mut sim, json!({"cmd": proved, "env": 0}));
            assert!(
                v.get("messages").is_none() && v.get("sorries").is_none(),
                "{v}"
            );
        }
    }

    /// A header command waits `--header-delay-ms`, a command on an env does not; a tactic named
    /// by `--hang-on-tactic` is logged and never answered, and nothing after it is read.
    #[test]
    fn header_delay_and_hanging_tactics_are_served_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.log");
        let opts = ServeOptions {
            latency_ms: 2,
            header_delay_ms: 30,
            hang_on_tactics: vec!["decide".into()],
            log: Some(log.clone()),
            ..ServeOptions::default()
        };
        let header = json!({"cmd": "import Mathlib"});
        let on_env =
            json!({"cmd": "theorem t1 (a b : ℕ) (h : a = b) : b = a := by sorry", "env": 0});
        let stuck = json!({"tactic": "decide", "proofState": 0});
        let fine = json!({"tactic": "subst h", "proofState": 0});
        assert_eq!(opts.for_request(&header), (32, false));
        assert_eq!(
            opts.for_request(&json!({"cmd": "import Mathlib", "env": null})),
            (32, false)
        );
        assert_eq!(opts.for_request(&on_env), (2, false));
        assert_eq!(opts.for_request(&stuck), (2, true));
        assert_eq!(opts.for_request(&fine), (2, false));

        let input = format!("{header}\n\n{on_env}\n\n{stuck}\n\n{fine}\n\n");
        let mut server = Server::new(opts).unwrap();
        let mut sim = Sim::new(world()).unwrap();
        let mut output = Vec::new();
        let ending = server.run(&mut sim, input.as_bytes(), &mut output).unwrap();
        assert_eq!(ending, Ending::Hang);
        let text = String::from_utf8(output).unwrap();
        assert_eq!(
            text.matches("\n\n").count(),
            2,
            "two answers, then silence: {text}"
        );
        let logged = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            logged.lines().count(),
            3,
            "the hanging tactic is logged: {logged}"
        );
        assert!(
            logged.lines().last().unwrap().contains("decide"),
            "{logged}"
        );
    }
}
