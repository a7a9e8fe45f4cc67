//! `prover mcp`: flags to `prover_mcp`, stdio or `--http`, and the exit code.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::SessionArgs;

/// `prover mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Serve streamable HTTP on this address (e.g. 127.0.0.1:8765) instead of stdio: one server
    /// per project, shared by many agents (one REPL pool, one cache, one job table).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// The environment variable holding the bearer token HTTP clients must send
    /// (`Authorization: Bearer …`); no token is asked for when it is unset or empty.
    #[arg(long, value_name = "NAME", default_value = "PROVER_MCP_TOKEN")]
    pub token_env: String,
    /// Serve `--http` on an address other than loopback without a token.
    #[arg(long)]
    pub allow_remote: bool,
    /// Write the log here instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Record every message in and out here (JSON lines; stdio only), for bug reports.
    #[arg(long, value_name = "FILE")]
    pub trace_file: Option<PathBuf>,
    /// Send the client messages recorded in a `--trace-file` to a fresh server, and print its
    /// answers on stdout: a recorded call re-run from the shell.
    #[arg(long, value_name = "TRACE", conflicts_with = "http")]
    pub replay: Option<PathBuf>,
    /// Start the REPLs one search runs its tactics on (the pool's size unless
    /// --search-parallelism says fewer) at once, each elaborating the header that calls without
    /// a `header` use (`import Mathlib`), so an agent's first call does not wait for the import
    /// (seconds to a minute with Mathlib). Each process then holds its memory for the server's
    /// life, as it would after a first call. `[repl] prewarm = true` in prover.toml does the
    /// same.
    #[arg(long)]
    pub prewarm: bool,
    /// Like --prewarm, on this file's text: the header your calls send (a REPL imports a
    /// header's import lines once, and elaborates the rest of each header on that import).
    #[arg(long, value_name = "FILE")]
    pub prewarm_header: Option<PathBuf>,
    /// Search, policy, cache and REPL settings; a call's `budget` and `policy` are laid on top.
    #[command(flatten)]
    pub session: SessionArgs,
    /// The planner of `prover_plan` (which plans whatever `--planner` says); a call's
    /// `samples`, `replans` and `direct_share` are laid on top.
    #[command(flatten)]
    pub planner: super::PlannerArgs,
}

/// Runs `prover mcp`: stdout carries only protocol messages (stdio); exits 0 when the client
/// closed the input (stdio) or a signal stopped the server (HTTP).
pub(super) fn run(
    args: McpArgs,
    settings: prover::settings::SettingsFile,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut overlay = args.session.overlay();
    if args.prewarm {
        overlay.repl.prewarm = Some(true);
    }
    if args.planner.plan_log.is_some() {
        anyhow::bail!("--plan-log is not for prover mcp: prover_plan answers with the plan");
    }
    let planner = args.planner.overlay();
    let prewarm_header = match &args.prewarm_header {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
            format!("cannot read the --prewarm-header file {}", path.display())
        })?),
        None => prover::settings::prewarm(&overlay.repl, &settings)
            .then(|| prover_mcp::tools::DEFAULT_HEADER.to_owned()),
    };
    let served: anyhow::Result<()> = runtime.block_on(async {
        let tools = prover_mcp::open(settings, overlay, planner)?;
        if let Some(header) = &prewarm_header {
            let started = tools.session().prewarm(header, 1);
            tracing::info!("prover mcp: {started} REPL(s) elaborating the header at start-up");
        }
        if let Some(trace) = &args.replay {
            let input = prover_mcp::framing::recorded_input(trace).map_err(anyhow::Error::msg)?;
            prover_mcp::serve_stdio(
                tools,
                std::io::Cursor::new(input),
                tokio::io::stdout(),
                args.trace_file.clone(),
                prover_mcp::AtEof::FinishJobs,
            )
            .await?;
            return Ok(());
        }
        match args.http {
            None => {
                prover_mcp::serve_stdio(
                    tools,
                    tokio::io::stdin(),
                    tokio::io::stdout(),
                    args.trace_file.clone(),
                    prover_mcp::AtEof::CancelJobs,
                )
                .await?;
            }
            Some(addr) => {
                if args.trace_file.is_some() {
                    anyhow::bail!("--trace-file records stdio; with --http use --log-file");
                }
                let token = prover::settings::secret_from_env(&args.token_env);
                let stop = prover_mcp::CancellationToken::new();
                let on_signal = stop.clone();
                tokio::spawn(async move {
                    wait_for_signal().await;
                    prover::session::stop_all_repls();
                    on_signal.cancel();
                });
                let with_token = token.is_some();
                prover_mcp::serve_http(tools, addr, token, args.allow_remote, stop, |bound| {
                    note!(
                        "prover mcp: serving streamable HTTP on http://{bound}/mcp{}",
                        if with_token {
                            " (bearer token required)"
                        } else {
                            ""
                        }
                    );
                })
                .await?;
            }
        }
        Ok(())
    });
    runtime.shutdown_background();
    served.context("prover mcp")?;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT or SIGTERM.
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
