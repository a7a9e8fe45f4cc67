//! A simulated OpenAI-compatible model server (NOT a model): scripted completions on 127.0.0.1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use prover_tests::openai_sim::{self, Completion, Options, Script};

const USAGE: &str = "\
sim-openai: a simulated OpenAI-compatible model server, not a model. It answers
POST /v1/completions and /v1/chat/completions (vLLM's shapes) from a script, on
http://127.0.0.1:PORT (a free port); the first stdout line is `listening on http://127.0.0.1:PORT`.
It runs until killed.

USAGE:
    sim-openai [--script FILE] [OPTIONS]

OPTIONS:
    --profile NAME      imitate a real server: default (vLLM-like), llama-cpp-python (n ignored,
                        chat log-probabilities only with top_logprobs, validation errors as
                        HTTP 500, one request at a time, the stop token left in the
                        log-probabilities; as recorded), vllm, sglang, ollama (n ignored, no
                        completions log-probabilities); see prover_tests::openai_sim::Profile
    --refuse-logprobs   answer every request asking for log-probabilities with llama-cpp-python's
                        HTTP 500 (logprobs is not supported ...) (a server started with
                        --logits_all False)
    --same-500          answer every model request with the same HTTP 500 body
    --script FILE       JSON script: {\"match\": \"contains\"|\"exact\", \"responses\": {STATE:
                        [{\"text\": T, \"logprobs\": [..]}, ..] | {\"completions\": [..], FAULTS}},
                        \"default\": [..], \"omit_logprobs\": B, \"ignore_stop\": B}
                        (see prover_tests::openai_sim); default: an empty script
    --default TACTIC    answer prompts that match no entry with TACTIC (repeatable, in order;
                        no log-probabilities, so clients use rank scores)
    --fail-first N      apply the fault to the first N requests only (HTTP 500 if no other fault)
    --status CODE       fault: answer with HTTP CODE and an OpenAI-style error body
    --malformed         fault: HTTP 200 with a body that is not JSON
    --error-body        fault: HTTP 200 with {\"error\": {\"message\": ...}}
    --delay-ms N        sleep N ms before every answer
    --omit-logprobs     never return log-probabilities
    --log FILE          append every model request body, as compact JSON, one per line
    -h, --help          this text

A fault flag without --fail-first applies to every request.
";

fn parse_args() -> Result<(Script, Options), String> {
    let mut script_path: Option<PathBuf> = None;
    let mut defaults = Vec::new();
    let mut options = Options::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--script" => script_path = Some(value()?.into()),
            "--profile" => {
                let name = value()?;
                options.profile = openai_sim::Profile::from_name(&name)
                    .ok_or(format!("--profile {name}: unknown; see --help"))?;
            }
            "--refuse-logprobs" => options.refuse_logprobs = true,
            "--same-500" => options.same_500 = true,
            "--default" => defaults.push(Completion {
                text: value()?,
                ..Completion::default()
            }),
            "--fail-first" => options.faults.fail_first = Some(number(value()?)?),
            "--status" => {
                let v = value()?;
                let code = v
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (100..=599).contains(c))
                    .ok_or(format!("--status {v}: not an HTTP status"))?;
                options.faults.status = Some(code);
            }
            "--malformed" => options.faults.malformed = true,
            "--error-body" => options.faults.error_body = true,
            "--delay-ms" => options.faults.delay_ms = number(value()?)?,
            "--omit-logprobs" => options.omit_logprobs = true,
            "--log" => options.log = Some(value()?.into()),
            other => return Err(format!("unknown argument {other:?}; see --help")),
        }
    }
    let mut script = match script_path {
        Some(path) => Script::from_path(&path)?,
        None => Script::default(),
    };
    if !defaults.is_empty() {
        script.default.completions = defaults;
    }
    Ok((script, options))
}

fn main() -> ExitCode {
    let (script, options) = match parse_args() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("sim-openai: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match openai_sim::serve(script, options) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("sim-openai: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    // The one line on stdout: tests read the port from it.
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "listening on http://{}", server.addr())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(1);
    }
    server.wait();
    ExitCode::SUCCESS
}
