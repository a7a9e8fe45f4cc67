//! The README's "Try it without Lean" walkthrough, run as it is written: a newcomer who copies it gets what it promises.

use std::path::Path;
use std::process::Command;

use prover_tests::harness::{find_on_path, prover_bin, sim_repl_bin, workspace_root};

/// The fenced `sh` blocks of a Markdown section, in order.
fn sh_blocks_of_section(markdown: &str, heading: &str) -> Vec<String> {
    let start = markdown
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?} section"));
    let rest = &markdown[start + heading.len()..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```sh" {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            blocks.push(body.join("\n") + "\n");
        }
    }
    blocks
}

/// A directory of links named as the README's commands are, to the binaries this build made.
fn bin_dir(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, path) in [
        ("prover", prover_bin().to_path_buf()),
        ("sim-repl", sim_repl_bin().to_path_buf()),
        ("sim-openai", env!("CARGO_BIN_EXE_sim-openai").into()),
        ("sim-world-gen", env!("CARGO_BIN_EXE_sim-world-gen").into()),
    ] {
        std::os::unix::fs::symlink(path, bin.join(name)).unwrap();
    }
    bin
}

#[test]
fn the_try_it_without_lean_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let blocks = sh_blocks_of_section(&readme, "## Try it without Lean");
    assert_eq!(blocks.len(), 2, "a build block and a walkthrough block");
    // The first block builds and sets PATH; the test has built the same binaries already.
    assert!(blocks[0].contains("cargo build --release"), "{}", blocks[0]);
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("try");
    std::fs::create_dir_all(&work).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir(dir.path()).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", &blocks[1]])
        .current_dir(&work)
        .env("PATH", path)
        .env("REPO", workspace_root())
        .env("XDG_CACHE_HOME", dir.path().join("xdg-cache"))
        .env_remove("PROVER_LOG");
    if find_on_path("nvim").is_none() {
        println!(
            "note: no `nvim` on PATH, so the walkthrough's Neovim step is not run here (.ci/run installs it)"
        );
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    // What the walkthrough promises.
    assert!(
        stdout.contains("theorem gen_1_0"),
        "prove prints the proof:\n{stdout}"
    );
    let sorry = std::fs::read_to_string(work.join("Sorry.lean")).unwrap();
    assert!(!sorry.contains("sorry"), "the sorry was replaced:\n{sorry}");
    for file in [
        "results.jsonl",
        "report.html",
        "report.json",
        "tree.svg",
        "rounds/round-2/manifest.json",
        "rounds/round-1/sft.jsonl",
        "synthetic/README.md",
    ] {
        assert!(work.join(file).is_file(), "{file} was written\n{stderr}");
    }
    let proved = std::fs::read_to_string(work.join("results.jsonl"))
        .unwrap()
        .lines()
        .filter(|line| line.contains(r#""status":"proved""#))
        .count();
    assert_eq!(proved, 9, "the 9 provable theorems of the world are proved");
    if find_on_path("nvim").is_some() {
        let edited = std::fs::read_to_string(work.join("edited.lean")).unwrap();
        assert!(!edited.contains("sorry"), "{edited}");
    }
}
