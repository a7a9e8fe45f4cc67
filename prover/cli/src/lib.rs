//! The command line: clap syntax, one `run` that dispatches each subcommand, and exit codes.
//!
//! Only this module names `clap`. Flags become `settings` overlays (`overlay()` on each argument
//! group), which `prover::settings` merges with `prover.toml` into the plain config structs the
//! library takes.

/// `eprintln!` that never panics: a closed stderr (`prover eval … 2>&1 | head`) is no reason to
/// crash, and the results file is what matters.
macro_rules! note {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        // Names, goals, tactics and errors come from the data: none reaches the terminal raw.
        let text = format!($($arg)*);
        let _ = writeln!(std::io::stderr().lock(), "{}", $crate::terminal_safe(&text));
    }};
}

/// `println!` that returns the write's `io::Result` instead of panicking: with `?`, a closed
/// stdout (`prover … | head`) ends the run quietly through [`is_broken_pipe`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `text` as it may reach a terminal: every control character but the newline and the tab
/// (ESC, BEL, NUL, VT, CR, backspace, DEL, the C1 controls) and every bidirectional override
/// is written as `\u{..}`, so nothing from a dataset, a goal or an error message can move the
/// cursor, clear the screen, retitle the terminal or reorder what is shown. The newline stays:
/// messages and Lean's errors span lines.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            safe.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            safe.push(c);
        }
    }
    std::borrow::Cow::Owned(safe)
}

mod cache;
mod check;
mod common;
mod datasets;
mod eval;
pub mod exit;
mod explore;
mod interrupt;
mod iterate;
pub mod planner_args;
mod planning;
mod preflight;
mod prove;
mod report;
mod results_file;
pub mod search_args;
mod train;
mod tree;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

/// Command-line syntax, as close to the flags as possible.
#[derive(Debug, Parser)]
#[command(
    name = "prover",
    version,
    about = "Best-first theorem proving for Lean 4 over the leanprover-community/repl",
    after_help = exit::HELP
)]
pub struct Cli {
    /// Settings file; flags win over it. Default: ./prover.toml when present.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify whole proofs (JSONL rows with name, header, formal_statement, proof).
    Check(CheckArgs),
    /// Search for a proof of one theorem.
    Prove(ProveArgs),
    /// Search every theorem of a dataset and write one result per theorem.
    Eval(EvalArgs),
    /// Expert-iteration rounds: filter easy conjectures, search the rest, verify, and write SFT
    /// and DPO training rows per round.
    Iterate(IterateArgs),
    /// Synthetic proof data: trace every edge of a search (past its first proof if asked),
    /// restate proof states as verified theorems, write a Hugging Face dataset with its card.
    Explore(ExploreArgs),
    /// Train the learned policy's model from SFT and DPO rows.
    Train(TrainArgs),
    /// An HTML report of eval results: pass rates and pass@k, budget curves, histograms, a
    /// per-theorem table, the diff between runs, failure forensics, the runs' pins.
    Report(ReportArgs),
    /// A picture of one search tree from its trace (`--trace DIR` of prove, eval, explore).
    Tree(TreeArgs),
    /// The editor tactic server: a language server on stdin/stdout that proves the `sorry`
    /// under the cursor (attach it to `.lean` files next to Lean's own).
    Lsp(LspArgs),
    /// Benchmark datasets.
    #[command(subcommand)]
    Datasets(DatasetsCommand),
    /// The proof-state cache.
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// Where the proof-state cache lives.
#[derive(Debug, Clone, Args, Default)]
pub struct CacheArgs {
    /// Cache directory. Default: $XDG_CACHE_HOME/prover (or ~/.cache/prover).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Neither read nor write the cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl CacheArgs {
    /// What these flags say, for `settings`.
    pub fn overlay(&self) -> prover::settings::CacheOverlay {
        let CacheArgs { cache, no_cache } = self;
        prover::settings::CacheOverlay {
            cache: cache.clone(),
            no_cache: *no_cache,
            // Which verdicts a search reuses is a session's flag (`SessionArgs`).
            reuse_verdicts: None,
        }
    }
}

/// `prover cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Entries, the last run's hit rate, size on disk.
    Stats(CacheArgs),
    /// Remove every entry.
    Clear(CacheArgs),
    /// Print the cache directory.
    Path(CacheArgs),
}

/// `prover datasets …`.
#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// Download a pinned benchmark, verify it, and write valid.jsonl and test.jsonl.
    Fetch(FetchArgs),
}

/// `prover datasets fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// `minif2f` or `proofnet`.
    pub dataset: String,
    /// For miniF2F, `yangky11` (Lean v4.24.0, the project's pinned toolchain; the default) or
    /// `deepseek` (Lean v4.9, the statements most published results use); for ProofNet,
    /// `deepseek`.
    #[arg(long)]
    pub version: Option<String>,
    /// Output directory. Default: datasets/<dataset>-<version>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `prover prove`.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The theorem, ending in `:= by` (or `:= by sorry`).
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub statement: Option<String>,
    /// A Lean file: prove the `sorry` at `--at`, as the editor server would (the text before
    /// its declaration is the header).
    #[arg(long, value_name = "FILE.lean", requires = "at")]
    pub file: Option<PathBuf>,
    /// Where the `sorry` is in `--file`: LINE:COLUMN as Lean's messages count them (lines from
    /// 1, columns in codepoints from 0); any column inside the `sorry` will do.
    #[arg(long, value_name = "LINE:COL", requires = "file")]
    pub at: Option<String>,
    /// With --file: put the proof in the file, in the sorry's place (laid out as the editor
    /// server lays it out), when the file has not changed since the search began.
    #[arg(long, requires = "file")]
    pub write: bool,
    /// Imports and options to elaborate first. Default: `import Mathlib`.
    #[arg(long, value_name = "FILE")]
    pub header: Option<PathBuf>,
    /// Write each theorem's search tree (every edge tried: state, tactic, outcome, Lean's
    /// error, score, depth, time) to DIR/<name>.trace.jsonl, for `prover tree`.
    #[arg(long, value_name = "DIR")]
    pub trace: Option<PathBuf>,
    /// Print the result as one JSON object instead of the proof text.
    #[arg(long)]
    pub json: bool,
    /// Search, policy, cache and REPL settings.
    #[command(flatten)]
    pub session: SessionArgs,
    /// The skeleton planner.
    #[command(flatten)]
    pub planner: planner_args::PlannerArgs,
}

/// `prover eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Dataset JSONL (miniF2F/ProofNet form: name or id, header, formal_statement).
    #[arg(long, value_name = "FILE.jsonl")]
    pub dataset: PathBuf,
    /// Results JSONL, appended as theorems are decided; a rerun skips what it already holds.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: PathBuf,
    /// Theorems searched at once (at least 1) [default: --workers].
    #[arg(long, value_name = "M")]
    pub concurrency: Option<usize>,
    /// Start over: discard what --out already holds.
    #[arg(long)]
    pub fresh: bool,
    /// Search every theorem K times (pass@k): one row per attempt, with its `attempt` number;
    /// no attempt reuses a verdict another recorded (only Lean's answers are shared through the
    /// cache). Attempts differ where the model samples (a temperature, no fixed --seed); the
    /// portfolio and the learned policy propose the same tactics every time.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub attempts: u32,
    /// Write each theorem's search tree (every edge tried: state, tactic, outcome, Lean's
    /// error, score, depth, time) to DIR/<name>.trace.jsonl, for `prover tree`
    /// (DIR/<name>.<attempt>.trace.jsonl with --attempts);
    /// theorems already decided in --out are not searched, so their traces are not rewritten.
    #[arg(long, value_name = "DIR")]
    pub trace: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Search, policy, cache and REPL settings.
    #[command(flatten)]
    pub session: SessionArgs,
    /// The skeleton planner.
    #[command(flatten)]
    pub planner: planner_args::PlannerArgs,
}

/// `prover iterate`.
#[derive(Debug, Args)]
pub struct IterateArgs {
    /// Conjectures JSONL (miniF2F form: name or id, header, formal_statement).
    #[arg(long, value_name = "FILE.jsonl")]
    pub conjectures: std::path::PathBuf,
    /// Where the rounds live (DIR/round-<r>/); a rerun resumes what it holds.
    #[arg(long, value_name = "DIR")]
    pub dir: std::path::PathBuf,
    /// Rounds to run (a rerun with more goes on from the last complete one) [default: 1].
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub rounds: u32,
    /// Expansions of the cheap pass; 0 runs no cheap pass [default: 4].
    #[arg(long, value_name = "K")]
    pub cheap_expansions: Option<u32>,
    /// Expansion width of the cheap pass [default: 2].
    #[arg(long, value_name = "W")]
    pub cheap_width: Option<usize>,
    /// Policy of the cheap pass: the portfolio, or the same as the search [default: portfolio].
    #[arg(long, value_parser = ["portfolio", "same"])]
    pub cheap_policy: Option<String>,
    /// Give training rows for conjectures the cheap pass proves too.
    #[arg(long)]
    pub keep_easy: bool,
    /// Also make DPO rows of sibling tactics that timed out (labelled `timeout`).
    #[arg(long)]
    pub dpo_timeouts: bool,
    /// A shell command run between rounds, with PROVER_ROUND and PROVER_ROUND_DIR set (e.g.
    /// fine-tune on sft.jsonl and restart the model server); its failure stops the run.
    #[arg(long, value_name = "CMD")]
    pub after_round: Option<String>,
    /// Conjectures searched at once (at least 1) [default: --workers].
    #[arg(long, value_name = "M")]
    pub concurrency: Option<usize>,
    /// Search, policy, cache and REPL settings.
    #[command(flatten)]
    pub session: SessionArgs,
}

/// `prover lsp`.
#[derive(Debug, Args)]
pub struct LspArgs {
    /// Write the log here instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Record every message in and out here (JSON lines), for bug reports.
    #[arg(long, value_name = "FILE")]
    pub trace_file: Option<PathBuf>,
    /// The largest message body read from the editor, in bytes; a larger one is answered with
    /// an error and skipped unread.
    #[arg(long, value_name = "BYTES", default_value_t = prover_lsp::framing::DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,
    /// Search, policy, cache and REPL settings. An editor's `initializationOptions` and
    /// `workspace/didChangeConfiguration` settings (prover.toml's keys) are laid on top: a key
    /// the editor sets wins, one it does not set keeps these.
    #[command(flatten)]
    pub session: SessionArgs,
}

/// Runs `prover lsp`: stdout carries only protocol frames; logs go to stderr. Exits 0 after
/// `shutdown` then `exit`, 1 after `exit` without `shutdown` (or an input closed without
/// either), as the LSP specification says, and 2 when the input or output broke, so an editor
/// restarts the server.
fn lsp(args: LspArgs, settings: prover::settings::SettingsFile) -> anyhow::Result<ExitCode> {
    let overlay = args.session.overlay();
    let runtime = tokio::runtime::Runtime::new()?;
    if args.max_frame_bytes == 0 {
        anyhow::bail!("--max-frame-bytes must be at least 1");
    }
    let max = args.max_frame_bytes;
    let ended = match &args.trace_file {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create --trace-file {}", path.display()))?;
            let trace = prover_lsp::trace::Trace::new(file);
            let input = prover_lsp::trace::Traced::new(tokio::io::stdin(), trace.clone());
            let output = prover_lsp::trace::Traced::new(tokio::io::stdout(), trace);
            runtime.block_on(prover_lsp::serve_limited(
                settings, overlay, max, input, output,
            ))
        }
        None => runtime.block_on(prover_lsp::serve_limited(
            settings,
            overlay,
            max,
            tokio::io::stdin(),
            tokio::io::stdout(),
        )),
    };
    runtime.shutdown_background();
    let ended = ended.context("the editor connection broke")?;
    tracing::info!("the editor connection ended: {ended:?}");
    Ok(ExitCode::from(ended.exit_code()))
}

/// `prover train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// SFT or DPO rows (JSONL with `state` and `tactic`, or `state`, `chosen`, `rejected`);
    /// repeatable.
    #[arg(long, value_name = "FILE.jsonl")]
    pub data: Vec<std::path::PathBuf>,
    /// The model file to write.
    #[arg(long, value_name = "MODEL")]
    pub out: std::path::PathBuf,
    /// Start from this model instead of an empty one.
    #[arg(long, value_name = "MODEL")]
    pub from: Option<std::path::PathBuf>,
}

/// `prover report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results JSONL of `prover eval`, one run each (its `.manifest.json` is read when there);
    /// a name given more than once in a file counts as several attempts (pass@k).
    #[arg(required = true, value_name = "RESULTS.jsonl")]
    pub results: Vec<PathBuf>,
    /// The HTML report to write (one self-contained file).
    #[arg(long, value_name = "report.html")]
    pub out: PathBuf,
    /// Also write the report's figures as JSON, with a leaderboard row per run.
    #[arg(long, value_name = "report.json")]
    pub json: Option<PathBuf>,
    /// A `--trace DIR` of the run, for failure forensics and first Lean errors; repeatable,
    /// the i-th goes with the i-th results file.
    #[arg(long, value_name = "DIR")]
    pub trace: Vec<PathBuf>,
    /// Count only attempts 0..K−1 of each theorem (a row without an attempt number is attempt
    /// 0), as `eval --attempts K` does on the same file; pass@k then goes up to pass@K.
    /// Default: every attempt in the file.
    #[arg(long, value_name = "K")]
    pub attempts: Option<u32>,
}

/// `prover tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// A trace file (`DIR/<name>.trace.jsonl`, or any JSONL of trace rows).
    #[arg(value_name = "TRACE")]
    pub trace: PathBuf,
    /// The picture to write: `.html`, `.svg` or `.dot` (Graphviz).
    #[arg(long, value_name = "tree.html|tree.svg|tree.dot")]
    pub out: PathBuf,
    /// The theorem to draw, when the file holds several.
    #[arg(long, value_name = "NAME")]
    pub theorem: Option<String>,
    /// Nodes drawn at most; a larger tree is cut breadth-first (the proof path kept), with a
    /// note.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub max_nodes: usize,
}

/// `prover explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// Dataset JSONL (miniF2F form: name or id, header, formal_statement).
    #[arg(long, value_name = "FILE.jsonl")]
    pub dataset: std::path::PathBuf,
    /// Output directory (the stage logs, data/<level>/<split>.jsonl, README.md, manifest.json);
    /// a rerun resumes what it holds.
    #[arg(long, value_name = "DIR")]
    pub out: std::path::PathBuf,
    /// Keep searching a theorem until this many proofs are found (or its budget ends)
    /// [default: 1].
    #[arg(long, value_name = "K")]
    pub proofs_per_theorem: Option<u32>,
    /// A benchmark JSONL whose statements must not appear in the data; theorems and synthetic
    /// theorems that restate one (same text, same token normal form, same root goal, where a
    /// row's `goal` field or the cache knows it, or a near-duplicate: see --decontamination)
    /// are dropped and counted by rule. Repeatable.
    #[arg(long, value_name = "BENCH.jsonl")]
    pub exclude: Vec<std::path::PathBuf>,
    /// How far `--exclude` goes: `exact` (the same text, name and layout aside), `normal`
    /// (also the same token normal form or root goal), `near` (also near-duplicates: token
    /// bigram overlap over the normal form with at most two numerals changed; drops the most)
    /// [default: near].
    #[arg(long, value_name = "LEVEL", value_parser = ["exact", "normal", "near"])]
    pub decontamination: Option<String>,
    /// The `license:` of the dataset card, a Hugging Face license id (`mit`, `apache-2.0`,
    /// `cc-by-4.0`, …): the input dataset's license usually decides it [default: unknown].
    #[arg(long, value_name = "ID")]
    pub license: Option<String>,
    /// Write each theorem's search tree (every edge tried: state, tactic, outcome, Lean's
    /// error, score, depth, time) to DIR/<name>.trace.jsonl, for `prover tree`.
    #[arg(long, value_name = "DIR")]
    pub trace: Option<PathBuf>,
    /// Theorems searched at once (at least 1) [default: --workers].
    #[arg(long, value_name = "M")]
    pub concurrency: Option<usize>,
    /// Search, policy, cache and REPL settings.
    #[command(flatten)]
    pub session: SessionArgs,
}

/// How to start and supervise REPL processes.
#[derive(Debug, Clone, Args, Default)]
pub struct ReplArgs {
    /// Shell command line that starts a process speaking the leanprover-community/repl protocol
    /// on stdin/stdout. Default: the REPL built by the project's Lake set-up
    /// (`lake env .lake/packages/REPL/.lake/build/bin/repl` in the Lean project).
    #[arg(long, value_name = "CMD")]
    pub repl_cmd: Option<String>,
    /// Directory the REPL runs in. Default: the nearest ancestor holding `lakefile.lean`.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// REPL processes to run at once (at least 1) [default: 2]. Each REPL with Mathlib needs
    /// several GB: more than memory allows (see --repl-memory-estimate) is refused without
    /// --force.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Per-process data-segment limit (RLIMIT_DATA) in GiB; 0 disables it [default: 0].
    #[arg(long, value_name = "GIB")]
    pub repl_memory_limit: Option<f64>,
    /// Recycle a process whose anonymous resident memory exceeds this many GiB; 0 disables it
    /// [default: 0].
    #[arg(long, value_name = "GIB")]
    pub repl_max_rss: Option<f64>,
    /// Recycle a process after this many requests; 0 disables it [default: 0].
    #[arg(long, value_name = "N")]
    pub repl_max_requests: Option<u64>,
    /// GiB one REPL is expected to need, to judge whether --workers fits in memory [default:
    /// 6, a REPL with Mathlib imported].
    #[arg(long, value_name = "GIB")]
    pub repl_memory_estimate: Option<f64>,
    /// Start as many REPLs as --workers says even when they do not fit in memory.
    #[arg(long)]
    pub force: bool,
}

impl ReplArgs {
    /// What these flags say, for `settings`.
    pub fn overlay(&self) -> prover::settings::ReplOverlay {
        let ReplArgs {
            repl_cmd,
            project,
            workers,
            repl_memory_limit,
            repl_max_rss,
            repl_max_requests,
            repl_memory_estimate,
            force,
        } = self.clone();
        prover::settings::ReplOverlay {
            repl_cmd,
            project,
            workers,
            repl_memory_limit,
            repl_max_rss,
            repl_max_requests,
            repl_memory_estimate,
            force,
        }
    }
}

/// `prover check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Input JSONL: one proof per line.
    #[arg(long, value_name = "FILE.jsonl")]
    pub input: PathBuf,
    /// Output JSONL (one result per input row, in completion order). Default: stdout. A rerun
    /// with the same file skips the rows it already decides.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: Option<PathBuf>,
    /// Start over: discard what --out already holds.
    #[arg(long)]
    pub fresh: bool,
    /// Seconds allowed for one proof's elaboration before its process is killed [default: 300].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Further attempts on a fresh process after a timeout or crash [default: 1].
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// Header for rows that have neither `header` nor `lean_code`.
    #[arg(long, value_name = "FILE")]
    pub header: Option<PathBuf>,
    /// Dataset JSONL whose `formal_statement`s the checked statements must equal (by `name`, up
    /// to runs of whitespace); its `header` replaces the rows' (a row's own header must then be
    /// absent or the same).
    #[arg(long, value_name = "FILE.jsonl")]
    pub reference: Option<PathBuf>,
    /// Accept any header a row brings (otherwise only import, open, resource-limit set_option,
    /// namespace, section, end, universe and comments); results record the header as trusted.
    #[arg(long)]
    pub trust_header: bool,
    /// Let proofs use native evaluation (`native_decide`, `decide +native`) and its axioms.
    #[arg(long)]
    pub allow_native_decide: bool,
    /// A shell command that gets the path of the whole checked Lean file as its last argument
    /// and accepts the proof by exiting 0 (e.g. lean4checker or SafeVerify); one more layer.
    #[arg(long, value_name = "CMD")]
    pub external_checker: Option<String>,
    /// REPL settings.
    #[command(flatten)]
    pub repl: ReplArgs,
}

impl CheckArgs {
    /// What the rule flags say, for `settings`.
    pub fn overlay(&self) -> prover::settings::CheckOverlay {
        prover::settings::CheckOverlay {
            timeout: self.timeout,
            retries: self.retries,
            trust_header: self.trust_header,
            allow_native_decide: self.allow_native_decide,
            external_checker: self.external_checker.clone(),
        }
    }
}

/// The flags of every subcommand that opens a session: search and policy, cache, REPLs.
#[derive(Debug, Clone, Args)]
pub struct SessionArgs {
    /// Search and policy settings.
    #[command(flatten)]
    pub search: search_args::SearchArgs,
    /// Cache settings.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Which verdicts recorded in the cache answer a theorem without a search: `matching`,
    /// one found under the same policy, width, α and tactic timeout, within a budget that
    /// covers what it cost (a failure: under a budget at least as large); `any`, a proof found
    /// under any settings (rechecked); `never` (`iterate`, `explore` and `eval --attempts`
    /// never do). Lean's cached answers are used either way [default: matching].
    #[arg(long, value_name = "WHICH", value_parser = verdict_reuse())]
    pub reuse_verdicts: Option<prover::VerdictReuse>,
    /// REPL settings.
    #[command(flatten)]
    pub repl: ReplArgs,
}

/// `--reuse-verdicts`: the library's [`VerdictReuse`](prover::VerdictReuse) names.
fn verdict_reuse() -> impl clap::builder::TypedValueParser<Value = prover::VerdictReuse> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(prover::VerdictReuse::ALL.map(|r| r.name()))
        .try_map(|name| name.parse::<prover::VerdictReuse>())
}

impl SessionArgs {
    /// What these flags say, for `settings`.
    pub fn overlay(&self) -> prover::settings::Overlay {
        let SessionArgs {
            search,
            cache,
            reuse_verdicts,
            repl,
        } = self;
        prover::settings::Overlay {
            repl: repl.overlay(),
            search: search.overlay(),
            cache: prover::settings::CacheOverlay {
                reuse_verdicts: *reuse_verdicts,
                ..cache.overlay()
            },
        }
    }
}

/// Parses the process's command line.
pub fn parse() -> Cli {
    Cli::parse()
}

/// Runs a parsed command line. `Ok` carries the exit code: 0 when every item was decided.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let log_file = match &cli.command {
        Command::Lsp(args) => args.log_file.clone(),
        _ => None,
    };
    init_logging(log_file.as_deref())?;
    let settings = prover::settings::SettingsFile::load(cli.config.as_deref())?;
    match cli.command {
        Command::Check(args) => check::run(args, &settings),
        Command::Prove(args) => prove::run(args, &settings),
        Command::Eval(args) => eval::run(args, &settings),
        Command::Iterate(args) => iterate::run(args, &settings),
        Command::Explore(args) => explore::run(args, &settings),
        Command::Train(args) => train::run(args),
        Command::Report(args) => report::run(args),
        Command::Tree(args) => tree::run(args),
        Command::Lsp(args) => lsp(args, settings),
        Command::Datasets(DatasetsCommand::Fetch(args)) => datasets::fetch(args),
        Command::Cache(command) => cache::run(command, &settings),
    }
}

/// Whether an error is a closed stdout (`prover check | head`), which is not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(log_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(prover::settings::log_filter())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    if let Some(path) = log_file {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create --log-file {}", path.display()))?;
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .try_init();
        return Ok(());
    }
    // Colour only for a person at a terminal, and never with NO_COLOR (no-color.org); a log
    // redirected to a file stays plain text.
    use std::io::IsTerminal as _;
    let colour = std::io::stderr().is_terminal() && prover::settings::colour_allowed();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
    Ok(())
}

#[cfg(test)]
mod terminal_tests {
    use super::terminal_safe;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped_and_lines_kept() {
        assert_eq!(
            terminal_safe("proved a_b\n  next\tline"),
            "proved a_b\n  next\tline"
        );
        assert_eq!(
            terminal_safe("x\u{0}\u{1b}[2J\u{7}\u{b}\r\u{9b}\u{202e}y"),
            "x\\u{0}\\u{1b}[2J\\u{7}\\u{b}\\u{d}\\u{9b}\\u{202e}y"
        );
    }
}
