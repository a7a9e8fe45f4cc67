//! Checking whole proofs: the rules that make a proof `valid`, and running them through a REPL pool.
//!
//! A proof is valid only if it passes every layer, in this order (each result records which):
//! 1. **screening**: the statement is one declaration and the proof text holds no command, no
//!    `sorry`, no native evaluation, no metaprogram ([`TacticGuard`], the guard the search uses);
//! 2. **header**: the header holds only imports, `open`, allowed `set_option`s, scopes,
//!    `universe` and comments ([`header_violation`]), or it came from the reference dataset, or
//!    the user trusted it;
//! 3. **statement**: with a reference dataset, the statement equals the reference's up to runs
//!    of whitespace ([`normalized_statement`]);
//! 4. **elaboration**: the theorem, spliced byte for byte from statement and proof, elaborates
//!    in command mode on the header's environment with no error;
//! 5. **no sorry**: no sorry was reported and no "declaration uses sorry" warning;
//! 6. **axioms**: `#print axioms _root_.FULL_NAME`, sent as a command of its own on the
//!    environment the theorem produced, answers with exactly one message naming exactly that
//!    constant, and its list holds nothing beyond the allowed axioms. Nothing the proof prints
//!    can stand in for that answer, because it is a different answer. The name is written
//!    `_root_.`-qualified and in full because Lean prints one answer per constant a name
//!    resolves to: under the miniF2F header's `open … Nat Real …`, a bare `t` also names
//!    `Nat.t` where Mathlib has one;
//! 7. **external**: an optional external checker command (lean4checker, SafeVerify) accepts the
//!    whole file.
//!
//! An `example` is checked under a fresh theorem name ([`check_command`]), so it gets an axiom
//! check too. Search uses the same rules to recheck every proof it finds before reporting it.

use std::time::{Duration, Instant};

use lean_bridge::pool::{ReplPool, SequenceReply};
use lean_bridge::{BridgeError, CommandResponse, Message, ProofHandle, Severity};

use crate::guard::{COMMAND_KEYWORDS, TacticGuard};

/// The axioms a proof may depend on: Lean's standard ones.
pub const STANDARD_AXIOMS: [&str; 3] = ["propext", "Classical.choice", "Quot.sound"];

pub use ::datasets::{HeaderOrigin, ProofTask, RowError, parse_task};

pub use ::datasets::lean::{
    collapse_whitespace, declaration_name, declares_private, full_declaration_name,
    normalized_statement, open_namespace, script_to_proof, splice, strip_trailing_sorry,
};

/// The options a header may set without `--trust-header`: resource limits, implicit-argument
/// behaviour, pretty-printing and linters. None of them changes what the kernel accepts.
pub const HEADER_OPTIONS: &[&str] = &[
    "maxHeartbeats",
    "maxRecDepth",
    "synthInstance.maxHeartbeats",
    "synthInstance.maxSize",
    "autoImplicit",
    "relaxedAutoImplicit",
];

/// Option prefixes a header may set: `pp.*`, `linter.*`.
pub const HEADER_OPTION_PREFIXES: &[&str] = &["pp.", "linter."];

/// Why a header may not be used without `--trust-header`, naming its 1-based line, if it holds
/// anything beyond `import`, `open`, allowed `set_option`s ([`HEADER_OPTIONS`]), `namespace`,
/// `section`, `end`, `universe` and comments.
///
/// Everything else can change what the statement means or what counts as a proof:
/// `variable (h : False)` with `include h`, `axiom`, `macro_rules` rewriting the statement's
/// notation, `set_option debug.skipKernelTC`, or a `def` the statement mentions.
pub fn header_violation(header: &str) -> Option<String> {
    let code = match crate::guard::blank_comments(header) {
        Ok(code) => code,
        Err((line, why)) => return Some(format!("header line {line}: {why}")),
    };
    for (index, line) in code.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(&first) = words.first() else {
            continue;
        };
        let refuse = |why: &str| {
            Some(format!(
                "header line {}: `{}` {why}; a header may hold only import, open, set_option {}, \
                 namespace, section, end, universe and comments (use --reference DATASET for \
                 the dataset's own header, or --trust-header)",
                index + 1,
                line.trim(),
                HEADER_OPTIONS.join("|"),
            ))
        };
        if line.contains('#') || line.contains("@[") || line.contains('"') {
            return refuse("is not allowed in a header");
        }
        let rest_is_plain = words[1..]
            .iter()
            .all(|w| !COMMAND_KEYWORDS.contains(w) && *w != "in" && *w != "set_option");
        let allowed = match first {
            "import" | "open" | "universe" | "namespace" | "end" => rest_is_plain,
            "section" => rest_is_plain && words.len() <= 2,
            "noncomputable" => words.len() <= 3 && words.get(1) == Some(&"section"),
            "set_option" => {
                words.len() == 3
                    && (HEADER_OPTIONS.contains(&words[1])
                        || HEADER_OPTION_PREFIXES
                            .iter()
                            .any(|p| words[1].starts_with(p)))
                    && words[2]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            _ => false,
        };
        if !allowed {
            return refuse("is not allowed in a header");
        }
    }
    None
}

pub use ::datasets::{CheckResult, Layer, Layers, Status};

/// Settings for checking.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// Wall-clock deadline for one elaboration.
    pub timeout: Duration,
    /// Further attempts after an infrastructure failure.
    pub retries: u32,
    /// Axioms a valid proof may use.
    pub allowed_axioms: Vec<String>,
    /// The text screening; `allow_native_decide` is its only opt-in.
    pub guard: TacticGuard,
    /// Accept any header a row brings (`--trust-header`); results say so.
    pub trust_header: bool,
    /// Whether the statement was compared with a reference dataset before the task got here
    /// (recorded in [`Layers::statement`]).
    pub reference_checked: bool,
    /// A shell command line that gets the path of the whole Lean file as its last argument and
    /// accepts the proof by exiting 0 (lean4checker, SafeVerify).
    pub external_checker: Option<String>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            timeout: Duration::from_secs(300),
            retries: 1,
            allowed_axioms: STANDARD_AXIOMS.iter().map(|s| s.to_string()).collect(),
            guard: TacticGuard::default(),
            trust_header: false,
            reference_checked: false,
            external_checker: None,
        }
    }
}

/// The axiom list in the answer to a `#print axioms _root_.FULL_NAME` command of its own, if
/// that answer is exactly one info message about exactly the constant `full_name` (as Lean
/// prints it, [`full_declaration_name`]).
///
/// Lean prints the resolved constant's own name. A `private` declaration's constant is
/// `_private.<module>.0.FULL_NAME` (the module is the REPL's main module, anonymous there, so
/// `_private.0.FULL_NAME` [inferred from Lean's `mkPrivateName`]); for `private` that mangled
/// form is the one accepted besides the plain name.
///
/// Parses the bracketed list rather than matching the sentence, which changes between Lean
/// versions: `'x' depends on axioms: [propext, Quot.sound]` or `'x' does not depend on any axioms`.
pub fn printed_axioms(
    answer: &CommandResponse,
    full_name: &str,
    private: bool,
) -> Result<Vec<String>, String> {
    let [message] = answer.messages.as_slice() else {
        return Err(format!(
            "`#print axioms {full_name}` answered with {} messages instead of one",
            answer.messages.len()
        ));
    };
    if message.severity != Severity::Info {
        return Err(format!(
            "`#print axioms {full_name}` failed: {}",
            message.data
        ));
    }
    let data = message.data.trim();
    let rest = printed_constant(data)
        .filter(|(printed, _)| {
            *printed == full_name || (private && is_private_form_of(printed, full_name))
        })
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("`#print axioms {full_name}` printed something else: {data}"))?;
    if rest == "does not depend on any axioms" {
        return Ok(Vec::new());
    }
    let list = rest
        .strip_prefix("depends on axioms: [")
        .and_then(|l| l.strip_suffix(']'))
        .ok_or_else(|| format!("`#print axioms {full_name}` printed something else: {data}"))?;
    Ok(list
        .split(',')
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect())
}

/// The quoted constant an axiom sentence begins with (`'x' …` or `` `x` …``) and the text after
/// it.
fn printed_constant(data: &str) -> Option<(&str, &str)> {
    let quote = data.chars().next().filter(|q| matches!(q, '\'' | '`'))?;
    let inner = &data[1..];
    // The sentence goes on after the closing quote and one space; a quote inside the name
    // (`h'`) is followed by something else.
    let close = inner
        .match_indices(quote)
        .find_map(|(at, _)| inner[at + 1..].starts_with(" d").then_some(at))?;
    Some((&inner[..close], &inner[close + 2..]))
}

/// Whether `printed` is Lean's mangled name of a private `full_name`:
/// `_private.<module components>.0.FULL_NAME`.
fn is_private_form_of(printed: &str, full_name: &str) -> bool {
    printed
        .strip_prefix("_private.")
        .and_then(|rest| rest.strip_suffix(full_name))
        .and_then(|module| module.strip_suffix('.'))
        .is_some_and(|module| module == "0" || module.ends_with(".0"))
}

/// The axioms native evaluation adds: `Lean.ofReduceBool`, `Lean.trustCompiler`, and the
/// auxiliary `NAME._native.native_decide.ax_…` ones of recent Lean versions.
pub fn is_native_axiom(axiom: &str) -> bool {
    matches!(
        axiom,
        "Lean.ofReduceBool" | "Lean.ofReduceNat" | "Lean.trustCompiler"
    ) || axiom.contains("._native.")
}

/// Whether `message` is Lean's "declaration uses 'sorry'" warning.
pub fn uses_sorry_warning(message: &Message) -> bool {
    message.severity == Severity::Warning
        && (message.data.contains("declaration uses 'sorry'")
            || message.data.contains("declaration uses `sorry`"))
}

/// What Lean's two answers say about a proof.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub status: Status,
    /// Why it is not valid.
    pub reasons: Vec<String>,
    /// The printed axioms, when the answer was well formed.
    pub axioms: Option<Vec<String>>,
    /// The elaboration, sorry and axiom layers.
    pub elaboration: Layer,
    /// See [`Layers::no_sorry`].
    pub no_sorry: Layer,
    /// See [`Layers::axioms`].
    pub axioms_layer: Layer,
}

/// Judges the answer for the spliced theorem and the answer of its own `#print axioms`.
pub fn judge(
    theorem: &CommandResponse,
    axioms_answer: &CommandResponse,
    full_name: &str,
    private: bool,
    allowed_axioms: &[String],
    allow_native: bool,
) -> Judgement {
    let mut reasons = Vec::new();
    for m in theorem.messages.iter().filter(|m| m.is_error()) {
        reasons.push(format!(
            "error at {}:{}: {}",
            m.pos.line, m.pos.column, m.data
        ));
    }
    let elaboration = if reasons.is_empty() {
        Layer::Passed
    } else {
        Layer::Failed
    };
    let no_sorry = if !theorem.sorries.is_empty() || theorem.messages.iter().any(uses_sorry_warning)
    {
        reasons.push("the proof uses sorry".into());
        Layer::Failed
    } else {
        Layer::Passed
    };
    let (axioms, axioms_layer) = match printed_axioms(axioms_answer, full_name, private) {
        Ok(list) => {
            let bad: Vec<&String> = list
                .iter()
                .filter(|a| !(allowed_axioms.contains(a) || (allow_native && is_native_axiom(a))))
                .collect();
            for axiom in &bad {
                reasons.push(format!("depends on the non-standard axiom {axiom}"));
            }
            let layer = if bad.is_empty() {
                Layer::Passed
            } else {
                Layer::Failed
            };
            (Some(list), layer)
        }
        Err(why) => {
            reasons.push(why);
            (None, Layer::Failed)
        }
    };
    let status = if reasons.is_empty() {
        Status::Valid
    } else {
        Status::Invalid
    };
    Judgement {
        status,
        reasons,
        axioms,
        elaboration,
        no_sorry,
        axioms_layer,
    }
}

/// The commands sent for a task: the spliced theorem, then `#print axioms _root_.FULL_NAME`
/// for it as a command of its own, and the full name of the constant whose axioms are printed.
///
/// The full name is the header's open namespace (Lean's scoping: `namespace A.B` … `end B`
/// leaves `A`) and the declared name without universe parameters, printed as Lean prints names
/// ([`full_declaration_name`]). `_root_.` makes it name exactly that constant: `_root_.x`
/// resolves to `x` alone (or to the private `x` of this module), never to an opened `Nat.x`.
///
/// An `example` has no name, so it is declared as `theorem prover_check_example_<hash>`
/// instead (the only change to the statement's bytes; the name is recorded in
/// [`CheckResult::checked_as`]). A `def` or `abbrev` keeps its name: `#print axioms` works on
/// any constant.
pub fn check_command(task: &ProofTask) -> CheckCommand {
    let (statement, name, renamed) = match declaration_name(&task.formal_statement) {
        Some(name) => (task.formal_statement.clone(), name, false),
        None => {
            let digest =
                ::datasets::hash::sha1_hex(format!("{}\0{}", task.formal_statement, task.proof));
            let name = format!("prover_check_example_{}", &digest[..12]);
            let statement =
                task.formal_statement
                    .replacen("example", &format!("theorem {name}"), 1);
            (statement, name, true)
        }
    };
    let full_name = full_declaration_name(&task.header, &name);
    CheckCommand {
        theorem: splice(&statement, &task.proof),
        print_axioms: format!("#print axioms _root_.{full_name}"),
        renamed: renamed.then(|| full_name.clone()),
        private: declares_private(&statement),
        full_name,
    }
}

/// The two commands [`check_command`] builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckCommand {
    /// The spliced theorem.
    pub theorem: String,
    /// `#print axioms _root_.FULL_NAME`.
    pub print_axioms: String,
    /// The constant's full name (with the header's open namespace), as Lean prints it.
    pub full_name: String,
    /// Whether the declaration is `private` (Lean prints its mangled name).
    pub private: bool,
    /// The fresh name given to an `example`.
    pub renamed: Option<String>,
}

/// The layers decided from text alone, before any Lean: the statement and proof screening and
/// the header policy. `Err` is the reason the task is invalid.
pub fn screen(task: &ProofTask, config: &CheckConfig) -> Result<Layers, (Layers, String)> {
    let mut layers = Layers {
        statement: if config.reference_checked {
            Layer::Passed
        } else {
            Layer::NotConfigured
        },
        ..Layers::default()
    };
    if let Err(refusal) = config.guard.check_statement(&task.formal_statement) {
        layers.screening = Layer::Failed;
        return Err((layers, format!("statement {refusal}")));
    }
    if let Err(refusal) = config.guard.check_proof(&task.proof) {
        layers.screening = Layer::Failed;
        return Err((layers, format!("proof {refusal}")));
    }
    layers.screening = Layer::Passed;
    layers.header = match (task.header_origin, config.trust_header) {
        (HeaderOrigin::Reference, _) => Layer::Passed,
        (HeaderOrigin::Row, true) => Layer::Trusted,
        (HeaderOrigin::Row, false) => match header_violation(&task.header) {
            None => Layer::Passed,
            Some(reason) => {
                layers.header = Layer::Failed;
                return Err((layers, reason));
            }
        },
    };
    Ok(layers)
}

/// Checks one task on the pool, retrying infrastructure failures on a fresh process.
pub async fn check_task(pool: &ReplPool, task: &ProofTask, config: &CheckConfig) -> CheckResult {
    check_task_near(pool, task, config, None).await
}

/// [`check_task`] for a live search's sake (the recheck of a proof it found): on the worker
/// `search`'s last step ran on, when idle ([`ReplPool::command_sequence_near`]). The result
/// is the same.
pub async fn check_task_near(
    pool: &ReplPool,
    task: &ProofTask,
    config: &CheckConfig,
    search: Option<&ProofHandle>,
) -> CheckResult {
    let started = Instant::now();
    let mut result = CheckResult::new(&task.name, task.line);
    match screen(task, config) {
        Ok(layers) => result.layers = layers,
        Err((layers, reason)) => {
            result.status = Status::Invalid;
            result.layers = layers;
            result.reasons = vec![reason];
            return result;
        }
    }
    let command = check_command(task);
    result.checked_as = command.renamed.clone();
    let bodies = [command.theorem.clone(), command.print_axioms.clone()];
    loop {
        result.attempts += 1;
        let reply = match search {
            Some(search) => {
                pool.command_sequence_near(search, &task.header, &bodies, config.timeout)
                    .await
            }
            None => {
                pool.command_sequence(&task.header, &bodies, config.timeout)
                    .await
            }
        };
        match reply {
            Ok(SequenceReply::Ran(answers)) => {
                let [theorem, axioms] = answers.as_slice() else {
                    unreachable!("a sequence of two commands answers twice");
                };
                let judgement = judge(
                    theorem,
                    axioms,
                    &command.full_name,
                    command.private,
                    &config.allowed_axioms,
                    config.guard.allow_native_decide,
                );
                result.status = judgement.status;
                result.reasons = judgement.reasons;
                result.axioms = judgement.axioms;
                result.layers.elaboration = judgement.elaboration;
                result.layers.no_sorry = judgement.no_sorry;
                result.layers.axioms = judgement.axioms_layer;
                result.messages = lean_messages(&theorem.messages);
                break;
            }
            Ok(SequenceReply::HeaderRejected(messages)) => {
                result.status = Status::Error;
                result.reasons = vec!["the header failed to elaborate".into()];
                result.messages = lean_messages(&messages);
                break;
            }
            Err(error) => {
                tracing::warn!(name = %task.name, attempt = result.attempts, "{error}");
                match error {
                    BridgeError::Timeout { .. } => result.timeouts += 1,
                    _ => result.crashes += 1,
                }
                result.reasons.push(describe(&error));
                if result.attempts > config.retries {
                    result.status = Status::Error;
                    break;
                }
            }
        }
    }
    if result.status == Status::Valid {
        result.layers.external = match &config.external_checker {
            None => Layer::NotConfigured,
            Some(command) => {
                let source = format!("{}{}\n", task.header, bodies[0]);
                match external_check(command, &source, config.timeout).await {
                    Ok(()) => Layer::Passed,
                    Err(why) => {
                        result.status = Status::Invalid;
                        result.reasons.push(why);
                        Layer::Failed
                    }
                }
            }
        };
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

/// Runs the external checker on the whole Lean file; `Err` says why it refused.
async fn external_check(command: &str, source: &str, timeout: Duration) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("external checker: no temp dir: {e}"))?;
    let path = dir.path().join("Check.lean");
    std::fs::write(&path, source).map_err(|e| format!("external checker: cannot write: {e}"))?;
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} \"$1\""))
        .arg("sh")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("external checker `{command}` did not start: {e}"))?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| format!("external checker `{command}` gave no verdict within {timeout:?}"))?
        .map_err(|e| format!("external checker `{command}` failed: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr);
    let text = if text.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout)
    } else {
        text
    };
    let tail: String = text
        .trim()
        .chars()
        .rev()
        .take(500)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(format!(
        "external checker `{command}` refused ({}): {tail}",
        output.status
    ))
}

/// Lean's messages as results files keep them.
pub fn lean_messages(messages: &[Message]) -> Vec<::datasets::LeanMessage> {
    use ::datasets::{LeanMessage, MessagePos, MessageSeverity};
    let pos = |p: &lean_bridge::protocol::Pos| MessagePos {
        line: p.line,
        column: p.column,
    };
    messages
        .iter()
        .map(|m| LeanMessage {
            severity: match m.severity {
                Severity::Info => MessageSeverity::Info,
                Severity::Warning => MessageSeverity::Warning,
                Severity::Error => MessageSeverity::Error,
                Severity::Trace => MessageSeverity::Trace,
            },
            pos: pos(&m.pos),
            end_pos: m.end_pos.as_ref().map(pos),
            data: m.data.clone(),
        })
        .collect()
}

fn describe(error: &BridgeError) -> String {
    format!("attempt failed: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lean_bridge::protocol::Pos;

    fn info(data: &str) -> Message {
        Message {
            severity: Severity::Info,
            pos: Pos { line: 1, column: 0 },
            end_pos: None,
            data: data.into(),
        }
    }

    fn answer(messages: Vec<Message>) -> CommandResponse {
        CommandResponse {
            env: 1,
            messages,
            sorries: vec![],
            tactics: vec![],
            infotree: vec![],
        }
    }

    fn standard() -> Vec<String> {
        STANDARD_AXIOMS.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn axioms_are_parsed_from_an_answer_of_their_own() {
        let m = answer(vec![info(
            "'foo' depends on axioms: [propext, Classical.choice, Quot.sound]",
        )]);
        assert_eq!(
            printed_axioms(&m, "foo", false).unwrap(),
            ["propext", "Classical.choice", "Quot.sound"]
        );
        let none = answer(vec![info("'foo' does not depend on any axioms")]);
        assert_eq!(
            printed_axioms(&none, "foo", false).unwrap(),
            Vec::<String>::new()
        );
        // Another constant, two messages, an error, trailing text: never an axiom list.
        assert!(printed_axioms(&m, "bar", false).is_err());
        assert!(printed_axioms(&m, "fo", false).is_err());
        let two = answer(vec![info("'foo' does not depend on any axioms"), info("x")]);
        assert!(printed_axioms(&two, "foo", false).is_err());
        let trailing = answer(vec![info("'foo' does not depend on any axioms, really")]);
        assert!(printed_axioms(&trailing, "foo", false).is_err());
        // A private declaration's constant is printed under its mangled name.
        let private = answer(vec![info("'_private.0.foo' depends on axioms: [propext]")]);
        assert_eq!(printed_axioms(&private, "foo", true).unwrap(), ["propext"]);
        let module = answer(vec![info(
            "'_private.Mod.Sub.0.foo' does not depend on any axioms",
        )]);
        assert!(printed_axioms(&module, "foo", true).unwrap().is_empty());
        assert!(printed_axioms(&private, "foo", false).is_err());
        let other = answer(vec![info("'_private.0.xfoo' depends on axioms: [propext]")]);
        assert!(printed_axioms(&other, "foo", true).is_err());
        // Names with quotes and escapes.
        let primed = answer(vec![info("'h'' does not depend on any axioms")]);
        assert!(printed_axioms(&primed, "h'", false).unwrap().is_empty());
        let escaped = answer(vec![info("'«foo bar»' does not depend on any axioms")]);
        assert!(
            printed_axioms(&escaped, "«foo bar»", false)
                .unwrap()
                .is_empty()
        );
    }

    /// Issue 20, audit row 1: a bare name under `open Nat` also names `Nat.t`, and Lean answers
    /// once per constant; the query names the one constant.
    #[test]
    fn the_axiom_query_names_exactly_one_constant() {
        let task = |header: &str, statement: &str| ProofTask {
            line: 1,
            name: "t".into(),
            header: header.into(),
            formal_statement: statement.into(),
            proof: "\n  rfl".into(),
            header_origin: HeaderOrigin::Row,
        };
        let minif2f = "import Mathlib\nopen BigOperators Real Nat Topology Rat\n";
        let command = check_command(&task(minif2f, "theorem succ_le_of_lt : True := by"));
        assert_eq!(command.print_axioms, "#print axioms _root_.succ_le_of_lt");
        assert_eq!(command.full_name, "succ_le_of_lt");
        let two = answer(vec![
            info("'Nat.succ_le_of_lt' depends on axioms: [propext]"),
            info("'succ_le_of_lt' does not depend on any axioms"),
        ]);
        assert!(printed_axioms(&two, "succ_le_of_lt", false).is_err());
        // Audit row 5: universe parameters, private, `end B` of `namespace A.B`, `«»`.
        let universe = check_command(&task("", "theorem foo.{u} (a : Sort u) : a = a := by"));
        assert_eq!(universe.print_axioms, "#print axioms _root_.foo");
        let private = check_command(&task("", "private theorem p : True := by"));
        assert_eq!((private.full_name.as_str(), private.private), ("p", true));
        let scoped = check_command(&task("namespace A.B\nend B\n", "theorem t : True := by"));
        assert_eq!(scoped.print_axioms, "#print axioms _root_.A.t");
        let spaced = check_command(&task("", "theorem «foo bar» : True := by"));
        assert_eq!(spaced.print_axioms, "#print axioms _root_.«foo bar»");
    }

    #[test]
    fn a_spoofed_axiom_line_in_the_theorem_answer_counts_for_nothing() {
        let theorem = answer(vec![info("'t' does not depend on any axioms")]);
        let axioms = answer(vec![info(
            "'t' depends on axioms: [propext, t._native.native_decide.ax_1_1]",
        )]);
        let judgement = judge(&theorem, &axioms, "t", false, &standard(), false);
        assert_eq!(judgement.status, Status::Invalid);
        assert!(judgement.reasons[0].contains("_native"), "{judgement:?}");
        assert_eq!(
            judge(&theorem, &axioms, "t", false, &standard(), true).status,
            Status::Valid
        );
    }

    #[test]
    fn sorry_and_native_axioms_make_a_proof_invalid() {
        let theorem = answer(vec![]);
        let judgement = judge(
            &theorem,
            &answer(vec![info("'t' depends on axioms: [propext, sorryAx]")]),
            "t",
            false,
            &standard(),
            false,
        );
        assert_eq!(judgement.status, Status::Invalid);
        assert!(judgement.reasons[0].contains("sorryAx"), "{judgement:?}");
        let clean = answer(vec![info("'t' depends on axioms: [propext]")]);
        let judgement = judge(&theorem, &clean, "t", false, &standard(), false);
        assert_eq!(judgement.status, Status::Valid);
        assert_eq!(
            (
                judgement.elaboration,
                judgement.no_sorry,
                judgement.axioms_layer
            ),
            (Layer::Passed, Layer::Passed, Layer::Passed)
        );
    }

    #[test]
    fn both_sorry_warning_spellings_are_caught() {
        for text in ["declaration uses 'sorry'", "declaration uses `sorry`"] {
            let theorem = answer(vec![Message {
                severity: Severity::Warning,
                pos: Pos { line: 1, column: 8 },
                end_pos: None,
                data: text.into(),
            }]);
            let axioms = answer(vec![info("'t' does not depend on any axioms")]);
            let judgement = judge(&theorem, &axioms, "t", false, &[], false);
            assert_eq!(judgement.status, Status::Invalid, "{text}");
            assert_eq!(judgement.no_sorry, Layer::Failed);
        }
    }

    #[test]
    fn rows_name_their_line_and_missing_field() {
        let err =
            parse_task(7, r#"{"name": "x", "header": "", "proof": "simp"}"#, None).unwrap_err();
        assert_eq!(err.to_string(), "line 7: missing field `formal_statement`");
        let err = parse_task(2, "{not json", None).unwrap_err();
        assert!(err.to_string().starts_with("line 2: not a JSON object"));
        let err = parse_task(
            3,
            r#"{"name": "x", "formal_statement": "theorem x : True := by", "proof": " trivial"}"#,
            None,
        )
        .unwrap_err();
        assert!(err.reason.contains("missing field `header`"), "{err}");
    }

    #[test]
    fn header_is_recovered_from_lean_code_without_the_docstring() {
        let row = r#"{"name": "t", "formal_statement": "theorem t : True := by", "proof": "\n  trivial",
            "lean_code": "import Mathlib\n\nopen Real\n\n/-- informal -/\ntheorem t : True := by\n  trivial"}"#;
        let task = parse_task(1, row, None).unwrap();
        assert_eq!(task.header, "import Mathlib\n\nopen Real\n\n");
    }

    #[test]
    fn statements_with_sorry_are_accepted_and_spliced_byte_for_byte() {
        let row = r#"{"name": "t", "header": "", "formal_statement": "theorem t (a : ℕ) :\n  a = a := by sorry", "proof": "\n  rfl"}"#;
        let task = parse_task(1, row, None).unwrap();
        assert_eq!(task.formal_statement, "theorem t (a : ℕ) :\n  a = a := by");
        let command = check_command(&task);
        assert_eq!(command.theorem, "theorem t (a : ℕ) :\n  a = a := by\n  rfl");
        assert_eq!(command.print_axioms, "#print axioms _root_.t");
        assert_eq!(command.renamed, None);
        let term = r#"{"name": "d", "header": "", "formal_statement": "def d : ℕ := sorry", "proof": " 1"}"#;
        let task = parse_task(1, term, None).unwrap();
        assert_eq!(check_command(&task).print_axioms, "#print axioms _root_.d");
    }

    #[test]
    fn examples_get_a_fresh_name_and_namespaces_a_full_one() {
        let task = ProofTask {
            line: 1,
            name: "e".into(),
            header: "import Mathlib\nnamespace Foo\nsection\nend\n".into(),
            formal_statement: "example : 1 + 1 = 2 := by".into(),
            proof: "\n  native_decide".into(),
            header_origin: HeaderOrigin::Row,
        };
        let command = check_command(&task);
        let name = command.renamed.clone().unwrap();
        assert!(name.starts_with("Foo.prover_check_example_"), "{name}");
        assert!(command.theorem.starts_with("theorem prover_check_example_"));
        assert_eq!(command.print_axioms, format!("#print axioms _root_.{name}"));
        assert_eq!(
            declaration_name("theorem t(a : ℕ) : a = a := by").as_deref(),
            Some("t")
        );
        assert_eq!(
            declaration_name("noncomputable def e {G : Type*} : G ≃* G :=").as_deref(),
            Some("e")
        );
    }

    #[test]
    fn statements_compare_up_to_runs_of_whitespace_only() {
        let a = normalized_statement("theorem t (f : ℕ → ℕ) :\n    f x = 1 := by sorry");
        assert_eq!(a, "theorem t (f : ℕ → ℕ) : f x = 1");
        assert_eq!(
            a,
            normalized_statement("theorem t (f : ℕ → ℕ) : f x = 1 := by")
        );
        assert_ne!(
            a,
            normalized_statement("theorem t (f : ℕ → ℕ) : fx = 1 := by")
        );
        // ProofNet's term-mode statements.
        assert_eq!(
            normalized_statement("def d : ℕ :="),
            normalized_statement("def d :\n  ℕ := sorry")
        );
    }

    #[test]
    fn headers_hold_only_allowed_lines() {
        for header in [
            "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n",
            "import Mathlib\n\nopen Fintype Subgroup Set Polynomial Ideal\nopen scoped BigOperators\n\n",
            "import Mathlib\n-- a comment\n/- a block\n comment -/\nnamespace Foo\nsection\nuniverse u\nend\n",
            "",
        ] {
            assert_eq!(header_violation(header), None, "{header:?}");
        }
        for (header, line) in [
            ("import Mathlib\nvariable (h : False)\ninclude h\n", 2),
            ("import Mathlib\naxiom cheat : False\n", 2),
            ("import Mathlib\nmacro_rules | `($a = $b) => `(True)\n", 2),
            ("import Mathlib\nset_option debug.skipKernelTC true\n", 2),
            ("import Mathlib\nset_option maxHeartbeats 0 in\n", 2),
            ("import Mathlib\nopen Real in\n", 2),
            ("import Mathlib\n\nopen Real axiom cheat : False\n", 3),
            (
                "import Mathlib\n#print \"'t' does not depend on any axioms\"\n",
                2,
            ),
            ("import Mathlib\ndef f := 1\n", 2),
            ("import Mathlib\n/- open -/ theorem x : False := sorry\n", 2),
        ] {
            let reason = header_violation(header).unwrap_or_default();
            assert!(
                reason.starts_with(&format!("header line {line}:")),
                "{header:?}: {reason}"
            );
        }
    }

    #[test]
    fn scripts_render_one_tactic_per_indented_line() {
        let script = vec![
            "intro x".to_string(),
            "cases x with\n| inl h => simp\n| inr h => simp".into(),
        ];
        assert_eq!(
            script_to_proof(&script),
            "\n  intro x\n  cases x with\n  | inl h => simp\n  | inr h => simp"
        );
    }
}
