//! The command line: one `run` that dispatches each subcommand, and exit codes.
//!
//! Only this crate names `clap`, and only `flags.rs` declares its syntax. Flags become
//! `settings` overlays (`overlay()` on each argument group), which `prover::settings` merges
//! with `prover.toml` into the plain config structs the library takes.

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
pub mod flags;
mod interrupt;
mod iterate;
mod mcp;
mod merge;
mod progress;
mod prove;
mod report;
mod report_lineage;
mod train;
mod tree;

use std::process::ExitCode;

use anyhow::Context as _;

pub use flags::*;

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
    let options = prover_lsp::Options {
        max_frame_bytes: args.max_frame_bytes,
        prewarm: args.prewarm,
    };
    let ended = match &args.trace_file {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create --trace-file {}", path.display()))?;
            let trace = prover_lsp::trace::Trace::new(file);
            let input = prover_lsp::trace::Traced::new(tokio::io::stdin(), trace.clone());
            let output = prover_lsp::trace::Traced::new(tokio::io::stdout(), trace);
            runtime.block_on(prover_lsp::serve_with(
                settings, overlay, options, input, output,
            ))
        }
        None => runtime.block_on(prover_lsp::serve_with(
            settings,
            overlay,
            options,
            tokio::io::stdin(),
            tokio::io::stdout(),
        )),
    };
    runtime.shutdown_background();
    let ended = ended.context("the editor connection broke")?;
    tracing::info!("the editor connection ended: {ended:?}");
    Ok(ExitCode::from(ended.exit_code()))
}

/// Runs a parsed command line. `Ok` carries the exit code: 0 when every item was decided.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let log_file = match &cli.command {
        Command::Lsp(args) => args.log_file.clone(),
        Command::Mcp(args) => args.log_file.clone(),
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
        Command::Mcp(args) => mcp::run(args, settings),
        Command::Datasets(DatasetsCommand::Fetch(args)) => datasets::fetch(args),
        Command::Datasets(DatasetsCommand::List) => datasets::list(),
        Command::Datasets(DatasetsCommand::Audit(args)) => datasets::audit(args, &settings),
        Command::Datasets(DatasetsCommand::Transfer(args)) => datasets::transfer(args, &settings),
        Command::Cache(command) => cache::run(command, &settings),
        Command::Merge(args) => merge::run(args),
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
            .log_internal_errors(false)
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
        // A log line that cannot be written is lost, never a panic: tracing-subscriber reports
        // a failed write with `eprintln!`, which panics when stderr is a closed pipe (an agent
        // that reads only the MCP server's stdout), and the panic became the job's answer.
        .log_internal_errors(false)
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
