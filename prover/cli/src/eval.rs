//! `prover eval`: flags → [`EvalRun`] → `pipeline::eval::run` → exit code, and the eval's lines on stderr (progress, summary) and `--json` on stdout.

use std::process::ExitCode;

use anyhow::bail;

use super::EvalArgs;
use super::interrupt::Interrupt;
use super::progress::StderrProgress;
use crate::exit;
use prover::pipeline::eval::{EvalEnd, EvalEvent, EvalRun, Tally};
use prover::settings::SettingsFile;
use prover::{ProveResult, ProveStatus};

/// Runs `prover eval`.
pub(super) fn run(args: EvalArgs, settings: &SettingsFile) -> anyhow::Result<ExitCode> {
    let request = EvalRun {
        dataset: args.dataset.clone(),
        out: args.out.clone(),
        fresh: args.fresh,
        attempts: args.attempts,
        concurrency: args.concurrency,
        trace: args.trace.clone(),
        save_model: args.session.search.save_model.clone(),
        overlay: args.session.overlay_in_shard(args.shard.as_deref())?,
        planner: args.planner.request(),
        build: super::common::prover_build(),
    };
    let mut progress = StderrProgress::default();
    let end = prover::pipeline::eval::run(request, settings, &mut progress)?;
    super::cache::finish_run(&end.session);
    if let Some(signal) = progress.signal() {
        note!(
            "prover eval: stopped by {}: {} of {} theorems decided and written to {}; rerun \
             the same command to resume",
            Interrupt::name(signal),
            end.tally.total(),
            end.todo,
            args.out.display()
        );
        // Dropping the session does not wait for searches still winding down.
        return Ok(Interrupt::exit_code(signal));
    }
    if args.json {
        out!("{}", summary_json(&end))?;
    }
    if let Some(message) = &end.model_outage {
        bail!(
            "{message} ({} of {} theorems not started)",
            end.todo - end.tally.total(),
            end.todo
        );
    }
    Ok(exit::settled_if(end.tally.error == 0))
}

/// `--json`: the summary as one object.
fn summary_json(end: &EvalEnd) -> serde_json::Value {
    let (tally, earlier) = (&end.tally, &end.earlier);
    let pass = PassAtK::of(&end.counted, end.attempts);
    serde_json::json!({
        "theorems": end.theorems,
        "attempts": end.attempts,
        "decided": tally.total(),
        "proved": tally.proved,
        "failed": tally.failed,
        "error": tally.error,
        "from_cache": tally.from_cache,
        "skipped": end.total - end.todo,
        "pass_rate": tally.pass_rate() / 100.0,
        "pass_at_k": pass.value.map(|value| serde_json::json!({
            "k": end.attempts,
            "value": value,
            "attempts": format!("0..{}", end.attempts - 1),
            "rows_beyond_k": end.beyond_k,
        })),
        "theorems_proved_in_some_attempt": pass.some_attempt,
        "seconds": end.seconds,
        "lean_calls": tally.lean_calls,
        "lean_timeouts": tally.lean_timeouts,
        "lean_crashes": tally.lean_crashes,
        "policy_errors": tally.policy_errors,
        "model": super::common::model_summary_json(&end.session),
        "whole_file": {
            "decided": tally.total() + earlier.total(),
            "from_cache": tally.from_cache + earlier.from_cache,
            "proved": tally.proved + earlier.proved,
            "failed": tally.failed + earlier.failed,
            "error": tally.error + earlier.error,
        },
    })
}

/// An eval's event as stderr lines.
pub(super) fn render(event: &EvalEvent<'_>) {
    match event {
        EvalEvent::Rerunning { errors, out } => note!(
            "prover eval: {errors} result(s) in {} ended `error` (no verdict); searching them again",
            out.display()
        ),
        EvalEvent::Skipping {
            decided,
            total,
            several,
            out,
        } => note!(
            "prover eval: {decided} of {total} {} already decided in {}; skipping them (--fresh to redo)",
            if *several { "attempts" } else { "theorems" },
            out.display()
        ),
        EvalEvent::AttemptsRepeat { attempts, policy } => note!(
            "prover eval: warning: --attempts {attempts} with the {policy} policy, which proposes the \
             same tactics every time: the attempts repeat one search"
        ),
        EvalEvent::AttemptsSeeded { attempts } => note!(
            "prover eval: warning: --attempts {attempts} with a fixed --seed: the model samples \
             the same tactics every time, so the attempts repeat one search"
        ),
        EvalEvent::Decided {
            result,
            tally,
            todo,
        } => note!(
            "[{}/{todo}] {:<7} {}{} ({:.1}s, {} Lean calls{}) | pass rate {:.1}%",
            tally.total(),
            status_word(result.status),
            result.name,
            result
                .attempt
                .map_or(String::new(), |a| format!(" (attempt {a})")),
            result.seconds,
            result.lean_calls,
            fault_note(result),
            tally.pass_rate()
        ),
        EvalEvent::Finished(end) => print_end(end),
        _ => {}
    }
}

/// The summary on stderr, before the manifest is closed.
fn print_end(end: &EvalEnd) {
    let pass = PassAtK::of(&end.counted, end.attempts);
    let shape = Shape {
        theorems: end.theorems,
        attempts: end.attempts,
        beyond_k: end.beyond_k,
        from_cache: end.counted.iter().filter(|r| r.from_cache).count(),
    };
    print_summary(&end.tally, &end.earlier, &shape, &pass);
    print_costs(&end.tally, end.seconds, end.workers, end.concurrency);
    if let Some(stats) = &end.pool_stats {
        note!(
            "  REPL restarts {:>7} ({} timeouts), {} started",
            stats.restarts,
            stats.timeouts,
            stats.spawned
        );
        if stats.replay_requests > 0 {
            note!(
                "  REPL requests {:>6} ({} rebuilding proof states on another process)",
                stats.requests,
                stats.replay_requests
            );
        }
        if stats.respawned > 0 {
            note!(
                "  REPL respawns {:>6} warmed in the background, {} header elaborations waited for",
                stats.respawned,
                stats.headers_elaborated
            );
        }
        if stats.spares_warmed > 0 {
            note!(
                "  warm spares {:>7} used ({} warmed), {} header elaborations waited for",
                stats.spares_used,
                stats.spares_warmed,
                stats.headers_elaborated
            );
        }
    }
    super::common::print_model_summary(&end.session);
}

/// pass@K of the rows a summary counts (attempts 0..K−1), computed as `prover report` does.
struct PassAtK {
    /// pass@K, when every theorem counted has K attempts decided.
    value: Option<f64>,
    /// pass@1: the mean over theorems of the share of their attempts that proved them.
    at_one: Option<f64>,
    /// Theorems some counted attempt proved.
    some_attempt: usize,
    /// Theorems counted.
    theorems: usize,
}

impl PassAtK {
    fn of(rows: &[ProveResult], k: u32) -> PassAtK {
        let mut proved: std::collections::BTreeMap<&str, bool> = Default::default();
        for row in rows {
            *proved.entry(&row.name).or_default() |= row.status == ProveStatus::Proved;
        }
        let at = |k| prover_report::figures::pass_at(rows, k).map(|p| p.value);
        PassAtK {
            value: at(k),
            at_one: at(1),
            some_attempt: proved.values().filter(|p| **p).count(),
            theorems: proved.len(),
        }
    }
}

/// What a summary counts: the dataset's theorems, the attempts at each, the file's rows of
/// later attempts it leaves out, and the verdicts it counts that came from the cache.
struct Shape {
    theorems: usize,
    attempts: u32,
    beyond_k: usize,
    from_cache: usize,
}

/// ", from the cache, 2 Lean timeouts, 1 REPL crash, 3 model failures": where a verdict came
/// from and the faults a theorem met, if any.
fn fault_note(result: &ProveResult) -> String {
    let plural = |n: u32, one: &str| format!(", {n} {one}{}", if n == 1 { "" } else { "s" });
    let mut note = String::new();
    if result.from_cache {
        note += ", from the cache";
    }
    if result.lean_timeouts > 0 {
        note += &plural(result.lean_timeouts, "Lean timeout");
    }
    if result.lean_crashes > 0 {
        note += &plural(result.lean_crashes, "REPL crash");
    }
    if result.policy_errors > 0 {
        note += &plural(result.policy_errors, "model failure");
    }
    note
}

fn status_word(status: ProveStatus) -> &'static str {
    match status {
        ProveStatus::Proved => "proved",
        ProveStatus::Failed => "failed",
        ProveStatus::Error => "error",
    }
}

/// The summary's counts on stderr: they cover every attempt of the dataset's theorems the
/// output file decides (earlier runs included) up to `--attempts`; [`print_costs`] follows.
fn print_summary(tally: &Tally, earlier: &Tally, shape: &Shape, pass: &PassAtK) {
    let whole = Tally {
        proved: tally.proved + earlier.proved,
        failed: tally.failed + earlier.failed,
        error: tally.error + earlier.error,
        ..Tally::default()
    };
    let several = shape.attempts > 1;
    let theorems = if several {
        format!("{} × {} attempts", shape.theorems, shape.attempts)
    } else {
        shape.theorems.to_string()
    };
    let decided = if several { "attempts" } else { "theorems" };
    note!();
    if earlier.total() > 0 {
        note!(
            "  theorems     {theorems:>8} ({} {decided} decided: {} this run, {} from earlier runs \
             into this file)",
            whole.total(),
            tally.total(),
            earlier.total()
        );
    } else if whole.total() < shape.theorems * shape.attempts as usize {
        note!(
            "  theorems     {theorems:>8} ({} {decided} decided)",
            whole.total()
        );
    } else {
        note!("  theorems     {theorems:>8}");
    }
    let unit = if several { " attempts" } else { "" };
    note!("  proved       {:>8}{unit}", whole.proved);
    note!("  failed       {:>8}{unit}", whole.failed);
    note!("  error        {:>8}{unit}", whole.error);
    note!(
        "  from cache   {:>8} (verdicts reused from the cache, not searched: --reuse-verdicts)",
        shape.from_cache
    );
    if shape.beyond_k > 0 {
        note!(
            "  (the file also holds {} rows of attempts {} and later, not counted here: prover \
             report --attempts {} counts as this does; without it, it estimates pass@k from them \
             all)",
            shape.beyond_k,
            shape.attempts,
            shape.attempts
        );
    }
    if !several {
        note!("  pass rate    {:>7.1}%", whole.pass_rate());
        return;
    }
    print_pass_at_k(shape, pass);
}

/// The summary's pass@1 and pass@K lines, for several attempts.
fn print_pass_at_k(shape: &Shape, pass: &PassAtK) {
    let percent = |value: Option<f64>| {
        value.map_or("     n/a".to_owned(), |v| format!("{:>7.1}%", 100.0 * v))
    };
    note!(
        "  pass@1       {} (mean over theorems of their proving attempts' share)",
        percent(pass.at_one)
    );
    note!(
        "  pass@{:<7} {} ({} of {} theorems proved in some attempt of 0..{}{})",
        shape.attempts,
        percent(pass.value),
        pass.some_attempt,
        pass.theorems,
        shape.attempts - 1,
        if pass.value.is_none() {
            "; not every theorem has its attempts decided yet"
        } else {
            ""
        }
    );
}

/// The summary's times and calls: this run's.
fn print_costs(tally: &Tally, seconds: f64, workers: usize, concurrency: usize) {
    note!("  wall time    {:>7.1}s", seconds);
    note!(
        "  search time  {:>7.1}s (summed over theorems)",
        tally.search_seconds
    );
    note!("  Lean calls   {:>8}", tally.lean_calls);
    note!(
        "  Lean faults  {:>8} ({} timeouts, {} crashes)",
        tally.lean_timeouts + tally.lean_crashes,
        tally.lean_timeouts,
        tally.lean_crashes
    );
    note!(
        "  model faults {:>8} (failed proposals)",
        tally.policy_errors
    );
    note!("  REPLs {workers}, theorems at once {concurrency}");
}
