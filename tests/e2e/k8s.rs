//! The Kubernetes template `scripts/k8s/eval-indexed-job.yaml` read as Kubernetes reads it (a
//! `batch/v1` Job, checked field by field against the Job schema's rules for an Indexed Job)
//! and its command checked against `prover eval --help`; no cluster is needed.

use std::collections::BTreeSet;

use prover_tests::harness::{ProverRun, workspace_root};
use serde_norway::Value;

fn field<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(value, |value, key| match key.parse::<usize>() {
            Ok(index) => &value[index],
            Err(_) => &value[key],
        })
}

#[test]
fn the_indexed_job_template_is_a_valid_job_running_one_shard_per_index_on_a_shared_volume() {
    let path = workspace_root().join("scripts/k8s/eval-indexed-job.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let job: Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(field(&job, "apiVersion").as_str(), Some("batch/v1"));
    assert_eq!(field(&job, "kind").as_str(), Some("Job"));
    assert!(field(&job, "metadata.name").as_str().is_some_and(|name| {
        // An RFC 1123 label, as a Job's name must be.
        !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }));

    // Only fields of batch/v1 JobSpec, and the ones an Indexed Job needs.
    let spec = field(&job, "spec");
    let known: BTreeSet<&str> = [
        "activeDeadlineSeconds",
        "backoffLimit",
        "backoffLimitPerIndex",
        "completionMode",
        "completions",
        "managedBy",
        "manualSelector",
        "maxFailedIndexes",
        "parallelism",
        "podFailurePolicy",
        "podReplacementPolicy",
        "selector",
        "successPolicy",
        "suspend",
        "template",
        "ttlSecondsAfterFinished",
    ]
    .into();
    for key in spec.as_mapping().unwrap().keys() {
        let key = key.as_str().unwrap();
        assert!(known.contains(key), "spec.{key} is not a JobSpec field");
    }
    assert_eq!(field(spec, "completionMode").as_str(), Some("Indexed"));
    let completions = field(spec, "completions").as_u64().unwrap();
    let parallelism = field(spec, "parallelism").as_u64().unwrap();
    assert!(completions >= 1 && (1..=completions).contains(&parallelism));
    if let Some(max) = field(spec, "maxFailedIndexes").as_u64() {
        // The API refuses maxFailedIndexes without backoffLimitPerIndex, or above completions.
        assert!(field(spec, "backoffLimitPerIndex").as_u64().is_some());
        assert!(max <= completions);
    }
    let pod = field(spec, "template.spec");
    // A Job's pods may not restart `Always`.
    assert!(matches!(
        field(pod, "restartPolicy").as_str(),
        Some("Never" | "OnFailure")
    ));
    let container = field(pod, "containers.0");
    assert!(field(container, "name").as_str().is_some());
    assert!(field(container, "image").as_str().is_some());

    // The command: `prover eval` of one shard, by its completion index, of `completions`.
    let command: Vec<String> = ["command", "args"]
        .iter()
        .filter_map(|key| field(container, key).as_sequence())
        .flatten()
        .map(|part| part.as_str().unwrap().to_owned())
        .collect();
    let script = command.join(" ");
    let words: Vec<&str> = script.split_whitespace().collect();
    let eval = words.iter().position(|w| *w == "prover").unwrap();
    assert_eq!(words[eval + 1], "eval", "{script}");
    let after = |flag: &str| {
        let at = words.iter().position(|w| *w == flag);
        at.map(|at| words[at + 1])
            .unwrap_or_else(|| panic!("{flag} missing: {script}"))
    };
    assert_eq!(after("--shard"), format!("auto/{completions}"));
    let out = after("--out");
    assert!(
        out.contains("${JOB_COMPLETION_INDEX}"),
        "one output per index: {out}"
    );
    assert!(out.contains(&format!("-of-{completions}")), "{out}");
    let cache = after("--cache");

    // Outputs and cache on a shared volume: a claim mounted read-write.
    let mounts = field(container, "volumeMounts").as_sequence().unwrap();
    let volumes = field(pod, "volumes").as_sequence().unwrap();
    let shared = |path: &str| {
        mounts.iter().any(|mount| {
            let at = field(mount, "mountPath").as_str().unwrap();
            let name = field(mount, "name").as_str().unwrap();
            let writable = !field(mount, "readOnly").as_bool().unwrap_or(false);
            let claimed = volumes.iter().any(|volume| {
                field(volume, "name").as_str() == Some(name)
                    && field(volume, "persistentVolumeClaim.claimName")
                        .as_str()
                        .is_some()
            });
            path.starts_with(&format!("{}/", at.trim_end_matches('/'))) && writable && claimed
        })
    };
    assert!(shared(out), "{out} is on a shared writable volume");
    assert!(shared(cache), "{cache} is on a shared writable volume");

    // Every flag the template passes is one `prover eval` has.
    let help = ProverRun::new("eval").args(["--help"]).output();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in words[eval..].iter().filter(|w| w.starts_with("--")) {
        assert!(help.contains(flag), "{flag} is not a flag of prover eval");
    }
}
