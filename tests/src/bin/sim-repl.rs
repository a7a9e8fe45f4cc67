//! A simulated Lean REPL (NOT Lean): speaks the leanprover-community/repl wire format over a world file.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use prover_tests::permissive::Permissive;
use prover_tests::sim::{Ending, LeanVersion, Replay, Responder, ServeOptions, Server, Sim};
use prover_tests::world::IndexedWorld;

const USAGE: &str = "\
sim-repl: a simulated REPL, not Lean. It speaks the leanprover-community/repl JSON protocol
(stdin requests, stdout answers) over a simulated world, or replays a recorded transcript.

USAGE:
    sim-repl --world FILE [OPTIONS]
    sim-repl --replay TRANSCRIPT_PREFIX [OPTIONS]
    sim-repl --accept-all [OPTIONS]

OPTIONS:
    --world FILE               simulated world (JSON, see prover_tests::world)
    --replay PREFIX            answer PREFIX.in's requests with PREFIX.expected.out's bytes;
                               exit 4 on the first request that differs
    --accept-all               a permissive simulation: every declaration elaborates; models
                               trace/#print messages, axioms, sorry, native_decide, namespaces
                               and `#print axioms` on an env (prover_tests::permissive)
    --lean-version V           the Lean version whose texts and syntax to imitate: 4.24 (the
                               pinned v4.24.0, the default: `declaration uses 'sorry'`, a
                               column-0 tactic block after `by`, `\"endPos\": null` on a parse
                               error at the end of input) or 4.33 (v4.33.0-rc2: backticks, a
                               column-0 line after `by` ends the declaration)
    --latency-ms N             sleep N ms before every answer
    --header-delay-ms N        sleep N ms more before answering a command without an env (an
                               import header, which Lean elaborates in seconds)
    --hang-on-tactic TACTIC    never answer a tactic request whose tactic is exactly TACTIC,
                               and stay alive (a tactic Lean runs forever); repeatable
    --exit-after N             exit 0 after answering N requests
    --grow-mb-per-request N    allocate and touch N MiB per request, never freed
    --log FILE                 append each request received, as compact JSON, one per line
    --crash-on-start           print \"simulated crash on start\" on stderr and exit 3
    -h, --help                 this text
";

struct Args {
    world: Option<PathBuf>,
    replay: Option<PathBuf>,
    accept_all: bool,
    lean_version: LeanVersion,
    crash_on_start: bool,
    serve: ServeOptions,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        world: None,
        replay: None,
        accept_all: false,
        lean_version: LeanVersion::default(),
        crash_on_start: false,
        serve: ServeOptions::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--world" => args.world = Some(value()?.into()),
            "--replay" => args.replay = Some(value()?.into()),
            "--latency-ms" => args.serve.latency_ms = number(value()?)?,
            "--header-delay-ms" => args.serve.header_delay_ms = number(value()?)?,
            "--hang-on-tactic" => args.serve.hang_on_tactics.push(value()?),
            "--exit-after" => args.serve.exit_after = Some(number(value()?)?),
            "--grow-mb-per-request" => args.serve.grow_mb_per_request = number(value()?)?,
            "--log" => args.serve.log = Some(value()?.into()),
            "--crash-on-start" => args.crash_on_start = true,
            "--accept-all" => args.accept_all = true,
            "--lean-version" => args.lean_version = LeanVersion::parse(&value()?)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let sources = [args.world.is_some(), args.replay.is_some(), args.accept_all];
    if sources.iter().filter(|s| **s).count() != 1 && !args.crash_on_start {
        return Err("give exactly one of --world, --replay and --accept-all".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sim-repl: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.crash_on_start {
        eprintln!("simulated crash on start");
        return ExitCode::from(3);
    }
    let mut responder: Box<dyn Responder> = match (&args.world, &args.replay) {
        _ if args.accept_all => Box::new(Permissive::new().with_version(args.lean_version)),
        (Some(path), _) => match IndexedWorld::load(path) {
            Ok(world) => Box::new(Sim::from_index(world).with_version(args.lean_version)),
            Err(e) => {
                eprintln!("sim-repl: {e}");
                return ExitCode::from(2);
            }
        },
        (None, Some(prefix)) => match Replay::load(prefix) {
            Ok(r) => Box::new(r),
            Err(e) => {
                eprintln!("sim-repl: {e}");
                return ExitCode::from(2);
            }
        },
        (None, None) => unreachable!("parse_args requires one of them"),
    };
    let mut server = match Server::new(args.serve) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sim-repl: cannot open log: {e}");
            return ExitCode::from(2);
        }
    };
    let stdin = io::stdin().lock();
    let mut stdout = BufWriter::new(io::stdout().lock());
    match server.run(responder.as_mut(), stdin, &mut stdout) {
        Ok(Ending::Eof) => ExitCode::SUCCESS,
        Ok(Ending::Exit { code, stderr }) => {
            drop(stdout);
            eprint!("{stderr}");
            let _ = io::stderr().flush();
            // Worlds may ask for any i32 exit code; `ExitCode` only carries a u8.
            std::process::exit(code)
        }
        Ok(Ending::Hang) => loop {
            // Keeps the server (and any memory it grew) alive while never answering again.
            std::hint::black_box(&server);
            std::thread::sleep(Duration::from_secs(3600));
        },
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sim-repl: {e}");
            ExitCode::from(1)
        }
    }
}
