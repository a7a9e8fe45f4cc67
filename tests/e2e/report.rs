//! `prover report` and `prover tree` end to end: the same bytes run to run, HTML that parses with one SVG per chart and every theorem named, bad input reported and skipped or refused, the report of a real `eval --trace` run of a generated world (sim-repl, not Lean), and both pages rendered in headless Chromium (skipped where it is absent).
//!
//! `PROVER_UPDATE_SCREENSHOTS=1` makes the Chromium test write the README's screenshots
//! (`docs/report.png`, `docs/tree.png`).

use std::path::{Path, PathBuf};
use std::process::Output;

use prover_tests::harness::{
    ProverRun, SimRepl, find_on_path, read_jsonl, vocabulary_server, workspace_root,
    write_generated_world,
};
use prover_tests::worldgen::WorldSpec;
use scraper::{Html, Selector};

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/report").join(name)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn report(results: &[&Path], traces: &[&Path], out: &Path, json: Option<&Path>) -> Output {
    let mut run = ProverRun::new("report").path("--out", out);
    for path in results {
        run = run.args([path.as_os_str()]);
    }
    for dir in traces {
        run = run.path("--trace", dir);
    }
    if let Some(json) = json {
        run = run.path("--json", json);
    }
    run.output()
}

/// `prover report RESULTS --json` in `dir`: the figures of one results file.
pub(crate) fn figures_of(results: &Path, dir: &Path) -> serde_json::Value {
    let json = dir.join("report.json");
    let output = report(&[results], &[], &dir.join("report.html"), Some(&json));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

/// The names of a results file's rows that parse.
fn names_in(results: &Path) -> Vec<String> {
    std::fs::read_to_string(results)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["status"].is_string() && v["expansions"].is_u64())
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

fn select<'a>(html: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    html.select(&Selector::parse(css).unwrap()).collect()
}

/// The checks every report must pass: it parses, has one SVG per chart, and names every
/// theorem of its inputs in the per-theorem table.
fn check_report_page(text: &str, inputs: &[&Path]) {
    let html = Html::parse_document(text);
    assert!(
        html.errors.is_empty(),
        "HTML parse errors: {:?}",
        html.errors
    );
    let charts = select(&html, "figure.chart");
    assert_eq!(charts.len(), 7, "3 budget curves and 4 histograms");
    for chart in &charts {
        assert_eq!(
            chart.select(&Selector::parse("svg").unwrap()).count(),
            1,
            "one <svg> in {:?}",
            chart.value().attr("id")
        );
    }
    let table: String = select(&html, "table#theorems td")
        .iter()
        .map(|td| td.text().collect::<String>() + "\n")
        .collect();
    for input in inputs {
        for name in names_in(input) {
            assert!(
                table.lines().any(|l| l == name),
                "{name} is not in the table"
            );
        }
    }
    assert!(
        select(&html, "script[src], link[href], img[src]").is_empty(),
        "the page fetches nothing"
    );
}

#[test]
fn a_report_is_the_same_bytes_run_to_run_parses_and_names_every_theorem() {
    let dir = tempfile::tempdir().unwrap();
    let (baseline, wider) = (
        fixture("minif2f-baseline.jsonl"),
        fixture("minif2f-wider.jsonl"),
    );
    let traces = fixture("traces");
    let mut pages = Vec::new();
    for run in 0..2 {
        let out = dir.path().join(format!("report-{run}.html"));
        let json = dir.path().join(format!("report-{run}.json"));
        let output = report(&[&baseline, &wider], &[&traces], &out, Some(&json));
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        // The malformed line is named with its file and line, and skipped.
        assert!(
            stderr(&output).contains("minif2f-baseline.jsonl:5:"),
            "{}",
            stderr(&output)
        );
        pages.push((std::fs::read(&out).unwrap(), std::fs::read(&json).unwrap()));
    }
    assert!(pages[0] == pages[1], "two runs wrote different bytes");
    let text = String::from_utf8(pages[0].0.clone()).unwrap();
    check_report_page(&text, &[&baseline, &wider]);
    assert!(
        !text.contains("mathd_algebra_107"),
        "the malformed row is skipped"
    );
    // The diff, the settings that differ, the pins and the forensics are there.
    for needle in [
        "Regressions",
        "Newly solved",
        "width: 8 → 16",
        "leanprover/lean4:v4.24.0",
        "linarith failed to find a contradiction",
        "simp made no progress",
        "pass@2",
    ] {
        assert!(text.contains(needle), "the report lacks {needle:?}");
    }

    let figures: serde_json::Value = serde_json::from_slice(&pages[0].1).unwrap();
    let base = &figures["runs"][0];
    assert_eq!(base["theorems"], 7);
    assert_eq!(base["proved"], 3);
    assert_eq!(base["error"], 1);
    let wide = &figures["runs"][1];
    assert_eq!(wide["attempts"], 14);
    // mathd_algebra_10 2/2, mathd_algebra_48 1/2, numbertheory_5 1/2, imo 0/2, amc 0/2,
    // aime 1/2, induction 1/2: pass@1 = (1 + 4 × 0.5) / 7, pass@2 = 5/7.
    assert_eq!(wide["pass_at_k"][0]["value"], 0.428571);
    assert_eq!(wide["pass_at_k"][1]["value"], 0.714286);
    let diff = &figures["diffs"][0];
    assert_eq!(
        diff["newly_solved"],
        serde_json::json!(["induction_12dvd4expnp1", "mathd_numbertheory_5"])
    );
    assert_eq!(diff["regressions"], serde_json::json!([]));
    // Runs are labelled by their file names, wherever the files lie.
    let row = &figures["leaderboard"]["minif2f-baseline.jsonl"];
    assert_eq!(row["num-solved"]["lean"], 3);
    assert_eq!(
        row["solved"],
        serde_json::json!(["aime_1983_p1", "mathd_algebra_10", "mathd_algebra_48"])
    );
    let hot = &base["forensics"]["failing_tactics"][0];
    assert_eq!(hot["tactic"], "nlinarith [sq_nonneg (a - 6)]");
    assert_eq!(hot["failures"], 3);
}

#[test]
fn missing_or_empty_input_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let missing = dir.path().join("missing.jsonl");
    let output = report(&[&missing], &[], &out, None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("missing.jsonl"),
        "{}",
        stderr(&output)
    );
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n{\"not\": \"a result\"}\n").unwrap();
    let output = report(&[&empty], &[], &out, None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("empty.jsonl:2:"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("holds no eval result"),
        "{}",
        stderr(&output)
    );
    assert!(!out.exists(), "nothing is written");
    let output = ProverRun::new("tree")
        .path("--out", &out)
        .args([empty.as_os_str()])
        .output();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

/// A generated world with dead ends, repeated states and unprovable theorems.
fn generated_world(dir: &Path) -> (prover_tests::harness::GeneratedFiles, usize) {
    let spec = WorldSpec {
        theorems: 6,
        depth: 3,
        branching: 3,
        dead_end_rate: 0.3,
        repeat_rate: 0.3,
        unprovable_rate: 0.3,
        seed: 7,
        tactic_vocabulary: 5,
        ..WorldSpec::default()
    };
    (write_generated_world(&spec, dir), spec.tactic_vocabulary)
}

/// `prover eval --trace DIR/traces` of `files` into `DIR/results.jsonl`, with the simulated
/// model server at `url` proposing the world's vocabulary.
fn traced_eval(
    dir: &Path,
    files: &prover_tests::harness::GeneratedFiles,
    url: &str,
) -> (PathBuf, PathBuf) {
    let out = dir.join("results.jsonl");
    let traces = dir.join("traces");
    let output = ProverRun::new("eval")
        .args(["--workers", "2", "--width", "32", "--max-expansions", "200"])
        .args(["--policy", "openai", "--samples", "32", "--llm-url", url])
        .path("--dataset", &files.dataset)
        .path("--out", &out)
        .path("--trace", &traces)
        .repl(&SimRepl::world(&files.world))
        .output();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    (out, traces)
}

#[test]
fn the_report_of_a_traced_eval_names_every_theorem_and_every_trace_draws() {
    let dir = tempfile::tempdir().unwrap();
    let (files, vocabulary) = generated_world(dir.path());
    let server = vocabulary_server(vocabulary, dir.path());
    let url = format!("http://{}/v1", server.addr());
    let (results, traces) = traced_eval(dir.path(), &files, &url);
    let rows = read_jsonl(&results);
    let mut trace_files: Vec<PathBuf> = std::fs::read_dir(&traces)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    trace_files.sort();
    assert_eq!(trace_files.len(), rows.len(), "one trace per theorem");
    let out = dir.path().join("report.html");
    let output = report(&[&results], &[&traces], &out, None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    check_report_page(&std::fs::read_to_string(&out).unwrap(), &[&results]);
    for file in &trace_files {
        // Every edge of the trace is one the search tried: each tree is drawn in all three
        // formats, and every tactic of the trace appears in the DOT text.
        let edges = read_jsonl(file);
        for extension in ["html", "svg", "dot"] {
            let picture = dir.path().join(format!("tree.{extension}"));
            let output = ProverRun::new("tree")
                .args([file.as_os_str()])
                .path("--out", &picture)
                .output();
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
            let text = std::fs::read_to_string(&picture).unwrap();
            if extension == "dot" {
                for edge in &edges {
                    let tactic = edge["tactic"].as_str().unwrap();
                    assert!(
                        text.contains(tactic),
                        "{tactic} missing from {}",
                        file.display()
                    );
                }
            } else {
                let parsed = Html::parse_document(&text);
                assert!(parsed.errors.is_empty() || extension == "svg");
                assert!(text.contains("<svg"));
            }
        }
    }
    // A second eval into the same results file decides nothing new and rewrites no trace.
    let before: Vec<std::time::SystemTime> = trace_files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
        .collect();
    let _ = traced_eval(dir.path(), &files, &url);
    let after: Vec<std::time::SystemTime> = trace_files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
        .collect();
    assert_eq!(before, after, "resumed theorems' traces are not rewritten");
}

fn chromium() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed);
    }
    find_on_path("chromium").or_else(|| find_on_path("chromium-browser"))
}

/// Renders `page` in headless Chromium: its screenshot's pixels and its DOM after scripts.
/// Renders `page`: its screenshot's pixels, the DOM after its scripts ran, and every line the
/// page wrote to its console (Chromium logs them, with uncaught exceptions, as `CONSOLE`).
fn render(chromium: &Path, page: &Path, png: &Path, size: &str) -> (Vec<u8>, String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let base = |command: &mut std::process::Command| {
        command.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ]);
        command.arg(format!("--user-data-dir={}", profile.path().display()));
        command.arg(format!("--window-size={size}"));
    };
    let url = format!("file://{}", page.display());
    let mut shot = std::process::Command::new(chromium);
    base(&mut shot);
    let output = shot
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(png.is_file(), "no screenshot: {}", stderr(&output));
    let mut dom = std::process::Command::new(chromium);
    base(&mut dom);
    let output = dom
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(&url)
        .output()
        .unwrap();
    let console: Vec<String> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(info.buffer_size());
    (
        pixels,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        console,
    )
}

fn distinct_colours(pixels: &[u8]) -> usize {
    let mut colours: Vec<&[u8]> = pixels.chunks(4).collect();
    colours.sort_unstable();
    colours.dedup();
    colours.len()
}

#[test]
fn the_report_and_a_tree_render_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        prover_tests::harness::print_uncaptured(
            "skipped: no chromium on PATH (the_report_and_a_tree_render_in_headless_chromium; \
             .ci/run installs Debian's chromium)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let output = report(
        &[
            &fixture("minif2f-baseline.jsonl"),
            &fixture("minif2f-wider.jsonl"),
        ],
        &[&fixture("traces")],
        &page,
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The tree of a real search: the largest proved one of a traced eval of a generated world.
    let (files, vocabulary) = generated_world(dir.path());
    let server = vocabulary_server(vocabulary, dir.path());
    let url = format!("http://{}/v1", server.addr());
    let (_, traces) = traced_eval(dir.path(), &files, &url);
    let proved = std::fs::read_dir(&traces)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|path| (read_jsonl(&path), path))
        .filter(|(edges, _)| edges.iter().any(|e| e["on_proof"] == true))
        .max_by_key(|(edges, path)| (edges.len(), std::cmp::Reverse(path.clone())))
        .map(|(_, path)| path)
        .expect("a traced eval proves some theorem");
    let tree = dir.path().join("tree.html");
    let output = ProverRun::new("tree")
        .args([proved.as_os_str()])
        .path("--out", &tree)
        .output();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for (page, name, size) in [(&page, "report", "1280,2000"), (&tree, "tree", "900,640")] {
        let png = dir.path().join(format!("{name}.png"));
        let (pixels, dom, console) = render(&chromium, page, &png, size);
        assert_eq!(
            console,
            Vec::<String>::new(),
            "{name}: the console is not empty"
        );
        assert!(
            distinct_colours(&pixels) > 8,
            "{name}: the screenshot is blank"
        );
        // The page's script ran to its end without throwing.
        assert!(
            dom.contains("data-ready=\"1\""),
            "{name}: the page's script did not finish: {}",
            &dom[..dom.len().min(400)]
        );
        if std::env::var_os("PROVER_UPDATE_SCREENSHOTS").is_some() {
            std::fs::copy(&png, workspace_root().join(format!("docs/{name}.png"))).unwrap();
        }
    }
}
