//! Command-line syntax: every subcommand's clap structs and the flags they share, as close to
//! the flags as possible; `overlay()` on each argument group turns them into `settings` overlays.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

use prover::pipeline::plan::PlannerRun;
use prover::settings::{PlannerKind, PlannerOverlay, PolicyKind, SamplesMode, SearchOverlay};

use crate::exit;

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
    /// A Model Context Protocol server for agents: budgeted proof search, checking and sorry
    /// filling (stdio by default, `--http ADDR` for streamable HTTP shared by many agents).
    Mcp(crate::mcp::McpArgs),
    /// Benchmark datasets.
    #[command(subcommand)]
    Datasets(DatasetsCommand),
    /// The proof-state cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Join the results files of a sharded `eval` (`--shard I/N`) into one, with its manifest,
    /// or the round directories of a sharded `iterate`.
    Merge(MergeArgs),
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
    /// When another process holds the cache directory: `error` (stop, saying what to do) or
    /// `memory` (go on with an in-memory cache) [default: error].
    #[arg(long, value_name = "WHAT", value_parser = cache_fallback())]
    pub cache_shared_fallback: Option<prover::session::CacheFallback>,
}

/// `--cache-shared-fallback`: the library's [`CacheFallback`](prover::session::CacheFallback)
/// names.
fn cache_fallback() -> impl clap::builder::TypedValueParser<Value = prover::session::CacheFallback>
{
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(
        prover::session::CacheFallback::ALL.map(|value| value.name()),
    )
    .try_map(|name| name.parse::<prover::session::CacheFallback>())
}

impl CacheArgs {
    /// What these flags say, for `settings`.
    pub fn overlay(&self) -> prover::settings::CacheOverlay {
        let CacheArgs {
            cache,
            no_cache,
            cache_shared_fallback,
        } = self;
        prover::settings::CacheOverlay {
            cache: cache.clone(),
            no_cache: *no_cache,
            // Which verdicts a search reuses is a session's flag (`SessionArgs`).
            reuse_verdicts: None,
            shared_fallback: *cache_shared_fallback,
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
    /// Merge cache directories into DEST (the shards' caches into one): keys DEST lacks are
    /// copied, and a key answered differently is reported and left as DEST has it.
    Merge(CacheMergeArgs),
}

/// `prover cache merge`.
#[derive(Debug, Args)]
pub struct CacheMergeArgs {
    /// The cache directory to merge into (created when missing).
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,
    /// Cache directories to merge from (each left as it was).
    #[arg(value_name = "SRC", required = true)]
    pub sources: Vec<PathBuf>,
}

/// `prover merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The merged results file (its manifest is written beside it), or the merged
    /// directory of rounds when the inputs are `iterate --dir` directories.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// The shards' results files of `prover eval --shard I/N` (each with its manifest; a
    /// merged file may be among them), the `--out` files of `prover check --shard`, or the
    /// `--dir` directories of `prover iterate --shard`.
    #[arg(value_name = "SHARD", required = true)]
    pub shards: Vec<PathBuf>,
}

/// `prover datasets …`.
#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// Download a pinned benchmark lineage, verify it, and write one file per canonical split.
    Fetch(FetchArgs),
    /// Print the lineage registry: ids, pinned sources, toolchains, split and name maps.
    List,
    /// Flag a dataset's degenerate statements through the REPL pool (auto_bound, vacuous,
    /// trivial, does_not_elaborate, differs_from), into a flags file next to the dataset.
    Audit(Box<AuditArgs>),
    /// Re-check every proof of eval results against each other lineage's statement of the same
    /// problem (command mode), for `prover report --transfer`.
    Transfer(Box<TransferArgs>),
}

/// `prover datasets fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// A lineage id from `prover datasets list` (`minif2f/deepseek-v1.5@2c4ba91`, or without
    /// `@commit`), or the older `minif2f`/`proofnet` with `--version`.
    pub dataset: String,
    /// For miniF2F, `yangky11` (Lean v4.24.0, the project's pinned toolchain; the default) or
    /// `deepseek` (Lean v4.9, the statements most published results use); for ProofNet,
    /// `deepseek`.
    #[arg(long)]
    pub version: Option<String>,
    /// Output directory. Default: datasets/<dataset>-<version> (for a lineage id:
    /// datasets/<family>-<variant>-<commit>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `prover datasets audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The dataset file to audit (its rows' `lineage` field, written by `fetch`, names the
    /// lineage; a file without one is audited as it is).
    #[arg(long, value_name = "FILE.jsonl")]
    pub dataset: PathBuf,
    /// Other lineages' files of the same problems: a problem whose statement hash differs is
    /// flagged `differs_from` them.
    #[arg(long = "compare", value_name = "FILE.jsonl")]
    pub compare: Vec<PathBuf>,
    /// The flags file. Default: the dataset's path with `.flags.jsonl` for `.jsonl`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Expansions for the vacuity and triviality searches.
    #[arg(long, default_value_t = 8)]
    pub audit_expansions: u32,
    /// Audit every problem again, ignoring what the flags file holds.
    #[arg(long)]
    pub fresh: bool,
    #[command(flatten)]
    pub session: SessionArgs,
}

/// `prover datasets transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Results JSONL of `prover eval` on datasets fetched from the registry (their rows name
    /// their lineage).
    #[arg(required = true, value_name = "RESULTS.jsonl")]
    pub results: Vec<PathBuf>,
    /// The lineages' datasets whose statements the proofs are re-checked against; repeatable.
    #[arg(long = "dataset", required = true, value_name = "FILE.jsonl")]
    pub datasets: Vec<PathBuf>,
    /// The transfer file to write.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: PathBuf,
    #[command(flatten)]
    pub session: SessionArgs,
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
    pub planner: PlannerArgs,
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
    /// Run one shard of the dataset: I/N (from 0; each theorem in exactly one of N shards,
    /// balanced to within one), or `auto` (`auto/N`) from Slurm's SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT or Kubernetes' JOB_COMPLETION_INDEX; the cache goes to
    /// CACHE/shard-I-of-N. Join the shards' outputs with `prover merge`.
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// Search, policy, cache and REPL settings.
    #[command(flatten)]
    pub session: SessionArgs,
    /// The skeleton planner.
    #[command(flatten)]
    pub planner: PlannerArgs,
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
    /// Run one shard of the dataset: I/N (from 0; each theorem in exactly one of N shards,
    /// balanced to within one), or `auto` (`auto/N`) from Slurm's SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT or Kubernetes' JOB_COMPLETION_INDEX; the cache goes to
    /// CACHE/shard-I-of-N. Join the shards' outputs with `prover merge`.
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// Search, policy, cache and REPL settings.
    #[command(flatten)]
    pub session: SessionArgs,
    /// The skeleton planner (the search stage proves through it; its skeletons become
    /// round-N/plans.jsonl, its holes' proofs SFT and DPO rows).
    #[command(flatten)]
    pub planner: PlannerArgs,
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
    /// When a Lean file opens, start the REPLs one job runs on (the pool's size unless
    /// --search-parallelism says fewer), each importing the file's imports in the background,
    /// so the first proof does not wait for the import (seconds to a minute with Mathlib). Each
    /// process then holds its memory for the server's life, as after a first job.
    /// `[repl] prewarm = true` in prover.toml or the editor's settings does the same.
    #[arg(long)]
    pub prewarm: bool,
    /// Search, policy, cache and REPL settings. An editor's `initializationOptions` and
    /// `workspace/didChangeConfiguration` settings (prover.toml's keys) are laid on top: a key
    /// the editor sets wins, one it does not set keeps these.
    #[command(flatten)]
    pub session: SessionArgs,
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
    /// A flags file of `prover datasets audit`; repeatable. A run's lineage section leaves the
    /// problems it flags degenerate out of the unflagged figure.
    #[arg(long = "flags", value_name = "FLAGS.jsonl")]
    pub flags: Vec<PathBuf>,
    /// A transfer file of `prover datasets transfer`, for the transfer matrix; repeatable.
    #[arg(long = "transfer", value_name = "TRANSFER.jsonl")]
    pub transfer: Vec<PathBuf>,
}

/// `prover tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// A trace file (`DIR/<name>.trace.jsonl`, or any JSONL of trace rows), or a plan log
    /// (`--plan-log`), whose theorem is drawn as its plan: skeletons, holes, their searches.
    #[arg(value_name = "TRACE|PLAN_LOG")]
    pub trace: PathBuf,
    /// The picture to write: `.html`, `.svg` or `.dot` (Graphviz).
    #[arg(long, value_name = "tree.html|tree.svg|tree.dot")]
    pub out: PathBuf,
    /// The theorem to draw, when the file holds several (a plan log's last record of it).
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
    /// Run one shard of the dataset: I/N (from 0; each theorem in exactly one of N shards,
    /// balanced to within one), or `auto` (`auto/N`) from Slurm's SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT or Kubernetes' JOB_COMPLETION_INDEX; the cache goes to
    /// CACHE/shard-I-of-N. Join the shards' outputs with `prover merge`.
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// Search, policy, cache and REPL settings.
    #[command(flatten)]
    pub session: SessionArgs,
    /// The planner (off by default): each theorem proved through skeletons, and the data
    /// gains a `plans` level.
    #[command(flatten)]
    pub planner: PlannerArgs,
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
    /// Warm spare REPLs kept beside the workers with the import header already elaborated: a
    /// REPL killed at a tactic's deadline (or crashed, or recycled) is replaced by one at once
    /// instead of elaborating the header again (5-15 s with Mathlib), and the spare is warmed
    /// again in the background. Each is a whole REPL in memory: the pool runs at most --workers
    /// plus --repl-spares REPLs [default: 0].
    #[arg(long, value_name = "N")]
    pub repl_spares: Option<usize>,
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
            repl_spares,
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
            repl_spares,
            // A flag of `prover lsp` and `prover mcp` only, which set it themselves.
            prewarm: None,
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
    /// Check one shard of the input's rows, by name: I/N or `auto` (as `eval --shard`).
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
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
    pub search: SearchArgs,
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
            // A subcommand's `--shard`: `overlay_in_shard`.
            shard: None,
        }
    }

    /// [`overlay`](Self::overlay) with a subcommand's `--shard` resolved (`auto` from the job
    /// runner's environment, by `settings::shard`).
    pub fn overlay_in_shard(
        &self,
        shard: Option<&str>,
    ) -> Result<prover::settings::Overlay, prover::settings::SettingsError> {
        Ok(prover::settings::Overlay {
            shard: prover::settings::shard(shard)?,
            ..self.overlay()
        })
    }
}

/// Parses the process's command line.
pub fn parse() -> Cli {
    Cli::parse()
}

/// `--policy`: the library's [`PolicyKind`] names, each with its help line.
fn policy_kind() -> impl TypedValueParser<Value = PolicyKind> {
    PossibleValuesParser::new([
        PossibleValue::new(PolicyKind::Portfolio.name())
            .help("Lean automation plus goal- and hypothesis-driven tactics; no GPU, no network"),
        PossibleValue::new(PolicyKind::Openai.name())
            .help("An OpenAI-compatible completion server (vLLM, SGLang, llama.cpp, Ollama)"),
        PossibleValue::new(PolicyKind::Combined.name())
            .help("The LLM's candidates plus the portfolio's"),
        PossibleValue::new(PolicyKind::Learned.name())
            .help("A model learned from proofs on the CPU (--learned-model), plus the portfolio"),
    ])
    .try_map(|name| name.parse::<PolicyKind>())
}

/// `--llm-samples-mode`: the library's [`SamplesMode`] names.
fn samples_mode() -> impl TypedValueParser<Value = SamplesMode> {
    PossibleValuesParser::new(
        [SamplesMode::Auto, SamplesMode::N, SamplesMode::Requests].map(|m| m.name()),
    )
    .try_map(|name| name.parse::<SamplesMode>())
}

/// Search and policy flags.
#[derive(Debug, Clone, Args, Default)]
pub struct SearchArgs {
    /// Tactic policy.
    #[arg(long, value_parser = policy_kind())]
    pub policy: Option<PolicyKind>,
    /// Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1; repeatable:
    /// several servers of the same model share the requests (least outstanding first), and
    /// one that fails is left out for a while.
    #[arg(long, value_name = "URL")]
    pub llm_url: Vec<String>,
    /// Model name sent to the server.
    #[arg(long, value_name = "NAME")]
    pub llm_model: Option<String>,
    /// Prompt template with `{state}`, or a named template (`bfs-prover`).
    #[arg(long, value_name = "T")]
    pub prompt_template: Option<String>,
    /// Use /v1/chat/completions instead of /v1/completions.
    #[arg(long)]
    pub llm_chat: bool,
    /// Completions sampled per expansion (at least 1) [default: 4].
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// How the samples are asked for: `n` (one request, `n` = samples; vLLM, SGLang),
    /// `requests` (one request per sample; llama-cpp-python and Ollama ignore `n`), or `auto`
    /// (as the preflight's probe finds) [default: auto].
    #[arg(long, value_name = "MODE", value_parser = samples_mode())]
    pub llm_samples_mode: Option<SamplesMode>,
    /// Do not ask the model server for log-probabilities (candidates get rank scores); for a
    /// server that refuses them, e.g. llama-cpp-python started with `--logits_all False`.
    #[arg(long)]
    pub no_logprobs: bool,
    /// Token cap per sampled tactic, 1 to 65536 [default: 256].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Stop string sent to the server (repeatable, at most 4; `--stop ''` sends none)
    /// [default: the prompt template's: `<|endoftext|>` and `:::` for `{state}:::`].
    #[arg(long, value_name = "S")]
    pub stop: Vec<String>,
    /// Sampling temperature, a finite number from 0 to 10 [default: 1.3].
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,
    /// Further attempts after a failed model request (timeouts, HTTP 429/5xx, bad bodies)
    /// [default: 3].
    #[arg(long, value_name = "N")]
    pub llm_retries: Option<u32>,
    /// Seconds one model request may take [default: 60].
    #[arg(long, value_name = "SECS")]
    pub llm_timeout: Option<f64>,
    /// Failed proposals in a row (each after its retries) that make the run stop asking the
    /// model server and probe it instead [default: 3].
    #[arg(long, value_name = "N")]
    pub llm_breaker: Option<u32>,
    /// Seconds `eval` waits for a model server that is down before it stops the run (without
    /// `--llm-fallback`; with it, the portfolio answers meanwhile) [default: 600].
    #[arg(long, value_name = "SECS")]
    pub llm_outage_limit: Option<f64>,
    /// Requests to the model server at once, shared by all searches (at least 1) [default: 16].
    #[arg(long, value_name = "M")]
    pub llm_concurrency: Option<usize>,
    /// Candidates run per expansion (at least 1) [default: 8 for the portfolio, 4 for a model].
    #[arg(long, value_name = "K")]
    pub width: Option<usize>,
    /// Length-normalization exponent α: priority = Σ scores / depth^α [default: 2.0].
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Expansions per theorem (at least 1) [default: no limit].
    #[arg(long, value_name = "N")]
    pub max_expansions: Option<u32>,
    /// Seconds per theorem [default: 600].
    #[arg(long, value_name = "SECS")]
    pub time_limit: Option<f64>,
    /// Seconds one tactic may run before its process is killed [default: 12].
    #[arg(long, value_name = "SECS")]
    pub tactic_timeout: Option<f64>,
    /// Tactics of one expansion run at once on the REPL pool (at least 1). The report is the
    /// same for every value; only the wall time changes [default: the pool's --workers; 1 for
    /// `eval`, `iterate` and `explore`, which run theorems side by side instead].
    #[arg(long, value_name = "P")]
    pub search_parallelism: Option<usize>,
    /// While an expansion's tactics run in Lean, ask the policy (a model server) about this
    /// many of the next best states ahead of need, so its round trips overlap Lean's. The
    /// report is the same for every value; some of those requests go unused [default: 4; 0 for
    /// `eval`, `iterate` and `explore`, which share the model among theorems].
    #[arg(long, value_name = "K")]
    pub policy_lookahead: Option<usize>,
    /// Do not run the tactics of the states likely expanded next ahead of need on idle REPLs
    /// (speculative expansion; on by default, and only at work with a --search-parallelism
    /// above 1 and a --policy-lookahead above 0). The report is the same either way; some of
    /// those requests go unused.
    #[arg(long)]
    pub no_speculation: bool,
    /// Seed forwarded to the model server's sampler. The search itself has no randomness:
    /// ties break by insertion order, so equal inputs give equal reports.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// When the model server still fails after its retries, let the portfolio propose for
    /// that expansion instead of skipping it (with --policy openai).
    #[arg(long)]
    pub llm_fallback: bool,
    /// Let candidates use `native_decide` (its proofs still fail the axiom check).
    #[arg(long)]
    pub allow_native_decide: bool,
    /// The learned policy's starting model (`prover train` writes one) [default: an empty
    /// model, which proposes nothing until it learns].
    #[arg(long, value_name = "FILE")]
    pub learned_model: Option<std::path::PathBuf>,
    /// With --policy learned: learn from each proof the run finds, at once.
    #[arg(long)]
    pub learn_online: bool,
    /// With --policy learned: write the model as the run ends (what it learned online
    /// included).
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<std::path::PathBuf>,
}

impl SearchArgs {
    /// What these flags say, for `settings`.
    pub fn overlay(&self) -> SearchOverlay {
        let SearchArgs {
            policy,
            llm_url,
            llm_model,
            prompt_template,
            llm_chat,
            samples,
            llm_samples_mode,
            no_logprobs,
            max_tokens,
            stop,
            temperature,
            llm_retries,
            llm_timeout,
            llm_breaker,
            llm_outage_limit,
            llm_concurrency,
            width,
            alpha,
            max_expansions,
            time_limit,
            tactic_timeout,
            search_parallelism,
            policy_lookahead,
            no_speculation,
            seed,
            llm_fallback,
            allow_native_decide,
            learned_model,
            learn_online,
            // Where the model goes at the end is the subcommand's business, not a setting.
            save_model: _,
        } = self.clone();
        SearchOverlay {
            policy,
            llm_url: llm_url.first().cloned(),
            llm_more_urls: llm_url.iter().skip(1).cloned().collect(),
            llm_model,
            prompt_template,
            llm_chat,
            samples,
            llm_samples_mode,
            no_logprobs,
            max_tokens,
            stop: (!stop.is_empty()).then_some(stop),
            temperature,
            llm_retries,
            llm_timeout,
            llm_breaker,
            llm_outage_limit,
            llm_concurrency,
            width,
            alpha,
            max_expansions,
            time_limit,
            tactic_timeout,
            search_parallelism,
            policy_lookahead,
            no_speculation,
            seed,
            llm_fallback,
            allow_native_decide,
            learned_model,
            learn_online,
        }
    }
}

/// `--planner`: the library's [`PlannerKind`] names, each with its help line.
fn planner_kind() -> impl TypedValueParser<Value = PlannerKind> {
    PossibleValuesParser::new([
        PossibleValue::new(PlannerKind::Off.name()).help("One flat search per theorem"),
        PossibleValue::new(PlannerKind::Openai.name()).help(
            "A direct search, then `have` skeletons from an OpenAI-compatible chat endpoint whose holes the search closes",
        ),
    ])
    .try_map(|name| name.parse::<PlannerKind>())
}

/// The planner's flags.
#[derive(Debug, Clone, Args, Default)]
pub struct PlannerArgs {
    /// Plan proofs: after a direct search with a share of the budget, ask a model for proof
    /// skeletons (`have … := by sorry` lines) and close their holes by search [default: off].
    #[arg(long, value_parser = planner_kind())]
    pub planner: Option<PlannerKind>,
    /// Base URL of the planner's OpenAI-compatible server [default: --llm-url's setting].
    #[arg(long, value_name = "URL")]
    pub planner_url: Option<String>,
    /// Model name sent to the planner's server [default: the tactic model's].
    #[arg(long, value_name = "NAME")]
    pub planner_model: Option<String>,
    /// Skeletons asked for per planner request (1 to 64) [default: 4].
    #[arg(long, value_name = "K")]
    pub planner_samples: Option<usize>,
    /// Share of each theorem's budget the direct search gets before any planning, a fraction
    /// from 0 to below 1 [default: 0.15].
    #[arg(long, value_name = "F")]
    pub planner_direct_share: Option<f64>,
    /// Further planner requests, each carrying what became of the best skeleton so far, when
    /// no skeleton closed [default: 3].
    #[arg(long, value_name = "R")]
    pub replans: Option<u32>,
    /// Seconds one planner request may take [default: 300].
    #[arg(long, value_name = "SECS")]
    pub planner_timeout: Option<f64>,
    /// A file whose text replaces the planner's default system prompt.
    #[arg(long, value_name = "FILE")]
    pub planner_prompt: Option<PathBuf>,
    /// Append one record per planned theorem (its skeletons, their holes and each hole's
    /// search) to this JSONL file.
    #[arg(long, value_name = "FILE.jsonl")]
    pub plan_log: Option<PathBuf>,
}

impl PlannerArgs {
    /// The planner part of a `prove`, `eval`, `iterate` or `explore` request.
    pub fn request(&self) -> PlannerRun {
        PlannerRun {
            overlay: self.overlay(),
            plan_log: self.plan_log.clone(),
        }
    }

    /// The settings overlay of these flags.
    pub fn overlay(&self) -> PlannerOverlay {
        let PlannerArgs {
            planner,
            planner_url,
            planner_model,
            planner_samples,
            planner_direct_share,
            replans,
            planner_timeout,
            planner_prompt,
            plan_log: _,
        } = self;
        PlannerOverlay {
            planner: *planner,
            planner_url: planner_url.clone(),
            planner_model: planner_model.clone(),
            planner_samples: *planner_samples,
            planner_direct_share: *planner_direct_share,
            replans: *replans,
            planner_timeout: *planner_timeout,
            planner_prompt: planner_prompt.clone(),
        }
    }
}
