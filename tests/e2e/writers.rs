//! The one write rule (issue 19, item 2) for every writer of the real `prover` binary: an output that is an input, that holds an input where the run writes, that is a file of another kind, that cannot be written or that another run holds is refused before any work (exit 2, every file byte-identical, a message naming the paths); a disk that fills at the last write fails the run and leaves nothing partial.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prover_tests::harness::{MINIF2F_HEADER, ProverRun, print_uncaptured, workspace_root};
use serde_json::json;

/// Every file under `dir` (relative path → bytes): what "untouched" is compared on.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.insert(path.strip_prefix(dir).unwrap().join(""), Vec::new());
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

/// The files every case starts from: a dataset, eval results with their manifest and traces,
/// check results, proofs, SFT rows, a model, a page and a Lean file, and a rounds directory
/// and an exploration holding inputs.
fn workspace(dir: &Path) {
    let fixture = workspace_root().join("tests/fixtures/report");
    for name in [
        "minif2f-baseline.jsonl",
        "minif2f-baseline.jsonl.manifest.json",
    ] {
        std::fs::copy(
            fixture.join(name),
            dir.join(name.replace("minif2f-baseline", "results")),
        )
        .unwrap();
    }
    std::fs::create_dir(dir.join("traces")).unwrap();
    std::fs::copy(
        fixture.join("traces/mathd_algebra_10.trace.jsonl"),
        dir.join("traces/a.trace.jsonl"),
    )
    .unwrap();
    let theorem = json!({"name": "t", "header": MINIF2F_HEADER,
                         "formal_statement": "theorem t : True := by"});
    std::fs::write(dir.join("dataset.jsonl"), format!("{theorem}\n")).unwrap();
    let proof = json!({"name": "t", "header": MINIF2F_HEADER,
                       "formal_statement": "theorem t : True := by", "proof": "\n  trivial"});
    std::fs::write(dir.join("proofs.jsonl"), format!("{proof}\n")).unwrap();
    let checked = json!({"schema_version": 1, "name": "t", "line": 1, "status": "valid",
                         "reasons": [], "messages": [], "layers": {}, "attempts": 1, "seconds": 0.1});
    std::fs::write(dir.join("check.jsonl"), format!("{checked}\n")).unwrap();
    let sft = json!({"name": "t", "round": 1, "state": "⊢ True", "tactic": "trivial",
                     "prompt": "⊢ True:::", "completion": "trivial", "depth": 0, "proof_length": 1});
    std::fs::write(dir.join("sft.jsonl"), format!("{sft}\n")).unwrap();
    std::fs::write(dir.join("page.html"), "<!DOCTYPE html>\n<html></html>\n").unwrap();
    std::fs::copy(dir.join("results.jsonl"), dir.join("picture.svg")).unwrap();
    std::fs::write(
        dir.join("a.lean"),
        "import Mathlib\ntheorem t : True := by\n  sorry\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("rounds/round-1")).unwrap();
    std::fs::write(
        dir.join("rounds/round-1/proofs.jsonl"),
        format!("{theorem}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("ex/data/proofs")).unwrap();
    std::fs::write(
        dir.join("ex/data/proofs/train.jsonl"),
        format!("{theorem}\n"),
    )
    .unwrap();
}

/// A REPL that is never started: every case is refused before any work.
const NO_REPL: &[&str] = &["--repl-cmd", "/bin/false"];

#[test]
fn every_writer_refuses_its_inputs_foreign_files_and_unwritable_paths_before_any_work() {
    // (what, arguments relative to the workspace, words the message holds)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "report over its results",
            &["report", "results.jsonl", "--out", "results.jsonl"],
            &["also an input", "results results.jsonl"],
        ),
        (
            "report over a manifest",
            &[
                "report",
                "results.jsonl",
                "--out",
                "results.jsonl.manifest.json",
            ],
            &["also an input", "manifest"],
        ),
        (
            "report --json over its results",
            &[
                "report",
                "results.jsonl",
                "--out",
                "r.html",
                "--json",
                "results.jsonl",
            ],
            &["--json results.jsonl", "also an input"],
        ),
        (
            "report over a trace in its --trace",
            &[
                "report",
                "results.jsonl",
                "--trace",
                "traces",
                "--out",
                "traces/a.trace.jsonl",
            ],
            &["--out traces/a.trace.jsonl", "a search trace"],
        ),
        (
            "report --json over a dataset",
            &[
                "report",
                "results.jsonl",
                "--out",
                "r.html",
                "--json",
                "dataset.jsonl",
            ],
            &["a dataset of theorems"],
        ),
        (
            "report --out and --json one file",
            &[
                "report",
                "results.jsonl",
                "--out",
                "r.html",
                "--json",
                "r.html",
            ],
            &["the same file"],
        ),
        (
            "tree over its trace",
            &["tree", "traces/a.trace.jsonl", "--out", "picture.svg"],
            &["--out picture.svg", "results file of `prover eval`"],
        ),
        (
            "train over its data",
            &["train", "--data", "sft.jsonl", "--out", "sft.jsonl"],
            &["--out sft.jsonl", "--data sft.jsonl"],
        ),
        (
            "train over results",
            &["train", "--data", "sft.jsonl", "--out", "results.jsonl"],
            &["results file of `prover eval`"],
        ),
        (
            "train over a page",
            &["train", "--data", "sft.jsonl", "--out", "page.html"],
            &["an HTML page"],
        ),
        (
            "eval over check results",
            &["eval", "--dataset", "dataset.jsonl", "--out", "check.jsonl"],
            &["--out check.jsonl", "`prover check`"],
        ),
        (
            "eval --save-model over its dataset",
            &[
                "eval",
                "--dataset",
                "dataset.jsonl",
                "--out",
                "new.jsonl",
                "--policy",
                "learned",
                "--save-model",
                "dataset.jsonl",
            ],
            &["--save-model dataset.jsonl", "--dataset dataset.jsonl"],
        ),
        (
            "eval --save-model over results",
            &[
                "eval",
                "--dataset",
                "dataset.jsonl",
                "--out",
                "new.jsonl",
                "--policy",
                "learned",
                "--save-model",
                "results.jsonl",
            ],
            &["--save-model results.jsonl", "results file"],
        ),
        (
            "eval --save-model where nothing can be written",
            &[
                "eval",
                "--dataset",
                "dataset.jsonl",
                "--out",
                "new.jsonl",
                "--policy",
                "learned",
                "--save-model",
                "missing/dir/m.bin",
            ],
            &["--save-model missing/dir/m.bin", "cannot be written"],
        ),
        (
            "eval --trace onto a file",
            &[
                "eval",
                "--dataset",
                "dataset.jsonl",
                "--out",
                "new.jsonl",
                "--trace",
                "page.html",
            ],
            &["--trace page.html", "not a directory"],
        ),
        (
            "check over its input",
            &["check", "--input", "proofs.jsonl", "--out", "proofs.jsonl"],
            &["--out proofs.jsonl", "--input proofs.jsonl"],
        ),
        (
            "check over eval results",
            &["check", "--input", "proofs.jsonl", "--out", "results.jsonl"],
            &["results file of `prover eval`"],
        ),
        (
            "iterate into the directory of its conjectures",
            &[
                "iterate",
                "--conjectures",
                "rounds/round-1/proofs.jsonl",
                "--dir",
                "rounds",
            ],
            &["--conjectures rounds/round-1/proofs.jsonl", "--dir rounds"],
        ),
        (
            "iterate --save-model over its conjectures",
            &[
                "iterate",
                "--conjectures",
                "dataset.jsonl",
                "--dir",
                "new-rounds",
                "--policy",
                "learned",
                "--save-model",
                "dataset.jsonl",
            ],
            &["--save-model dataset.jsonl", "--conjectures"],
        ),
        (
            "explore into the directory of its dataset",
            &[
                "explore",
                "--dataset",
                "ex/data/proofs/train.jsonl",
                "--out",
                "ex",
            ],
            &["--dataset ex/data/proofs/train.jsonl", "--out ex"],
        ),
        (
            "explore into its --exclude's directory",
            &[
                "explore",
                "--dataset",
                "dataset.jsonl",
                "--exclude",
                "rounds/round-1/proofs.jsonl",
                "--out",
                "rounds",
            ],
            &["--exclude", "--out rounds"],
        ),
        (
            "prove --save-model over results",
            &[
                "prove",
                "--statement",
                "theorem t : True := by",
                "--policy",
                "learned",
                "--save-model",
                "results.jsonl",
            ],
            &["--save-model results.jsonl"],
        ),
        (
            "prove --write and --save-model one file",
            &[
                "prove",
                "--file",
                "a.lean",
                "--at",
                "3:2",
                "--write",
                "--policy",
                "learned",
                "--save-model",
                "a.lean",
            ],
            &["the same file", "a.lean"],
        ),
        (
            "prove --trace holding its header",
            &[
                "prove",
                "--statement",
                "theorem t : True := by",
                "--header",
                "traces/a.trace.jsonl",
                "--trace",
                "traces",
            ],
            &["--header traces/a.trace.jsonl", "--trace traces"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let before = snapshot(dir.path());
    for (what, args, words) in cases {
        let mut run = ProverRun::new(args[0]).args(&args[1..]);
        if !matches!(args[0], "report" | "tree" | "train") {
            run = run.args(NO_REPL);
        }
        let mut command = run.into_command();
        command.current_dir(dir.path());
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
        for word in *words {
            assert!(stderr.contains(word), "{what}: no {word:?} in {stderr}");
        }
        assert!(
            snapshot(dir.path()) == before,
            "{what}: a file changed or appeared: {stderr}"
        );
    }
}

#[test]
fn a_second_run_into_a_directory_another_run_holds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    // The lock a running `iterate` or `explore` holds on its directory.
    let rounds = std::fs::File::open(dir.path().join("rounds")).unwrap();
    rounds.lock().unwrap();
    let before = snapshot(dir.path());
    for subcommand in [
        &[
            "iterate",
            "--conjectures",
            "dataset.jsonl",
            "--dir",
            "rounds",
        ][..],
        &["explore", "--dataset", "dataset.jsonl", "--out", "rounds"],
    ] {
        let mut command = ProverRun::new(subcommand[0])
            .args(&subcommand[1..])
            .args(NO_REPL)
            .into_command();
        command.current_dir(dir.path());
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("another prover process"), "{stderr}");
        assert!(snapshot(dir.path()) == before, "{stderr}");
    }
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    fn mount(size: &str) -> Result<TinyDisk, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("`mount -t tmpfs` failed ({status}); it needs root"));
        }
        Ok(TinyDisk { dir })
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_disk_that_fills_at_the_last_write_fails_the_run_and_leaves_nothing_partial() {
    let test = "a_disk_that_fills_at_the_last_write_fails_the_run_and_leaves_nothing_partial";
    let disk = match TinyDisk::mount("12k") {
        Ok(disk) => disk,
        Err(why) => {
            print_uncaptured(&format!("skipped: {why}: {test}"));
            return;
        }
    };
    let fixture = workspace_root().join("tests/fixtures/report");
    // The report's page is larger than the disk: its one write fails.
    let output = ProverRun::new("report")
        .args([
            fixture.join("minif2f-baseline.jsonl"),
            fixture.join("minif2f-wider.jsonl"),
        ])
        .path("--out", &disk.dir.path().join("report.html"))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("report.html"), "{stderr}");
    let left: Vec<PathBuf> = std::fs::read_dir(disk.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
