//! A real Slurm cluster of one node on localhost (Debian's `slurm-wlm` and `munge`, which
//! `.ci/run` installs): `scripts/slurm/eval-array.sbatch` runs `prover eval` as an array of
//! three shards over sim-repl (a simulated REPL, not Lean), then its merge job; the merged
//! results equal an unsharded run's. The test writes the cluster's configuration, starts
//! `munged`, `slurmctld` and `slurmd` in the foreground as its children and stops them at the
//! end. It prints a `skipped:` line where Slurm or munge is not installed or it is not root
//! (`slurmd` runs jobs as their users).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use prover_tests::harness::{
    ProverRun, SimRepl, find_on_path, fixture_world, print_uncaptured, prover_bin, results_by_name,
    workspace_root,
};
use prover_tests::world::World;
use serde_json::{Value, json};

/// The daemons of the cluster, stopped when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<Child>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // slurmd first, so no job step outlives the controller.
        for daemon in self.daemons.iter_mut().rev() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

impl Cluster {
    /// What the daemons logged, for a failure's message.
    fn logs(&self) -> String {
        ["slurmctld.log", "slurmd.log", "munged.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {name}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", &self.conf);
        command
    }

    /// The jobs still queued or running.
    fn queued(&self) -> usize {
        let output = self.command("squeue").args(["-h"]).output().unwrap();
        String::from_utf8_lossy(&output.stdout).lines().count()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn hostname() -> String {
    let output = Command::new("hostname").arg("-s").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Polls `ready` (a bounded number of times, 100 ms apart: a cluster that never comes up
/// fails with its logs, whatever the machine's speed within that bound).
fn wait_for(cluster: &Cluster, what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if ready() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what} never happened\n{}", cluster.logs());
}

fn start_cluster(dir: &Path) -> Cluster {
    let host = hostname();
    let key = dir.join("munge.key");
    let mut bytes = vec![0u8; 1024];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    std::fs::write(&key, bytes).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    for sub in ["state", "spool"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let socket = dir.join("munge.socket");
    let d = dir.display();
    // One node that says it has 8 CPUs and 64 GB whatever the machine has
    // (`config_overrides`), so the script's own #SBATCH requests fit; no cgroups, no
    // accounting; a job whose dependency can never be met is cancelled, not kept waiting.
    let conf = format!(
        "ClusterName=provertest\n\
         SlurmctldHost={host}(127.0.0.1)\n\
         SlurmctldPort={ctld}\n\
         SlurmdPort={slurmd}\n\
         SlurmUser=root\n\
         SlurmdUser=root\n\
         AuthType=auth/munge\n\
         CredType=cred/munge\n\
         AuthInfo=socket={socket}\n\
         StateSaveLocation={d}/state\n\
         SlurmdSpoolDir={d}/spool\n\
         SlurmctldPidFile={d}/slurmctld.pid\n\
         SlurmdPidFile={d}/slurmd.pid\n\
         SlurmctldLogFile={d}/slurmctld.log\n\
         SlurmdLogFile={d}/slurmd.log\n\
         ProctrackType=proctrack/pgid\n\
         TaskPlugin=task/none\n\
         JobAcctGatherType=jobacct_gather/none\n\
         AccountingStorageType=accounting_storage/none\n\
         SelectType=select/cons_tres\n\
         SelectTypeParameters=CR_Core\n\
         SlurmdParameters=config_overrides\n\
         DependencyParameters=kill_invalid_depend\n\
         MpiDefault=none\n\
         ReturnToService=2\n\
         NodeName={host} NodeAddr=127.0.0.1 CPUs=8 RealMemory=64000 State=UNKNOWN\n\
         PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n",
        ctld = free_port(),
        slurmd = free_port(),
        socket = socket.display(),
    );
    let conf_path = dir.join("slurm.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut cluster = Cluster {
        dir: dir.to_owned(),
        conf: conf_path,
        daemons: Vec::new(),
    };
    let quiet = |mut command: Command| {
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut munged = Command::new("munged");
    munged
        .args(["--foreground", "--force"])
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--key-file={}", key.display()))
        .arg(format!("--pid-file={d}/munged.pid"))
        .arg(format!("--log-file={d}/munged.log"))
        .arg(format!("--seed-file={d}/munged.seed"));
    cluster.daemons.push(quiet(munged));
    wait_for(&cluster, "munged's socket", || socket.exists());
    let mut controller = cluster.command("slurmctld");
    controller.args(["-D", "-c", "-i"]);
    cluster.daemons.push(quiet(controller));
    let mut node = cluster.command("slurmd");
    node.args(["-D"]);
    cluster.daemons.push(quiet(node));
    wait_for(&cluster, "the node to be idle", || {
        let output = cluster
            .command("sinfo")
            .args(["-h", "-o", "%t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim() == "idle"
    });
    cluster
}

fn skip_reason() -> Option<String> {
    for program in [
        "sbatch",
        "squeue",
        "sinfo",
        "slurmctld",
        "slurmd",
        "munged",
        "hostname",
    ] {
        let found = find_on_path(program)
            .or_else(|| Some(Path::new("/usr/sbin").join(program)).filter(|p| p.is_file()));
        if found.is_none() {
            return Some(format!(
                "`{program}` is not installed (Debian: apt-get install slurm-wlm munge)"
            ));
        }
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("slurmd must run as root to start jobs, and this test is not".to_owned());
    }
    None
}

fn statuses(path: &Path) -> BTreeMap<String, Value> {
    results_by_name(path)
        .into_iter()
        .map(|(name, row)| (name, row["status"].clone()))
        .collect()
}

#[test]
fn the_sbatch_template_runs_three_shards_and_its_merge_job_on_a_one_node_cluster() {
    if let Some(reason) = skip_reason() {
        print_uncaptured(&format!("skipped: the Slurm cluster test: {reason}"));
        return;
    }
    // Slurm's daemons need paths without odd characters and a directory root owns.
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path());
    let world = fixture_world("eval-portfolio.json");
    let rows: Vec<String> = World::load(&world)
        .unwrap()
        .theorems
        .iter()
        .map(|t| {
            json!({"name": t.name, "header": prover_tests::harness::MATHLIB_HEADER,
                   "formal_statement": format!("{} := by", t.statement)})
            .to_string()
        })
        .collect();
    let dataset = dir.path().join("dataset.jsonl");
    std::fs::write(&dataset, rows.join("\n") + "\n").unwrap();
    let repl = SimRepl::world(&world).command_line();
    let out = dir.path().join("run");

    let script = workspace_root().join("scripts/slurm/eval-array.sbatch");
    let submitted = cluster
        .command("bash")
        .arg(&script)
        .args(["--repl-cmd", &repl, "--tactic-timeout", "5"])
        .env("DATASET", &dataset)
        .env("OUT", &out)
        .env("SHARDS", "3")
        .env("WORKERS", "1")
        .env("PROVER", prover_bin())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&submitted.stdout).into_owned()
        + &String::from_utf8_lossy(&submitted.stderr);
    assert!(submitted.status.success(), "{said}\n{}", cluster.logs());
    assert!(said.contains("merge job"), "{said}");
    wait_for(&cluster, "every job to end", || cluster.queued() == 0);

    let merged = out.join("results.jsonl");
    let task_logs: String = std::fs::read_dir(dir.path())
        .unwrap()
        .chain(std::fs::read_dir(&out).unwrap())
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".log"))
        .map(|entry| {
            format!(
                "--- {}\n{}",
                entry.path().display(),
                std::fs::read_to_string(entry.path()).unwrap_or_default()
            )
        })
        .collect();
    assert!(
        merged.exists(),
        "no merged results\n{task_logs}\n{}",
        cluster.logs()
    );
    for index in 0..3 {
        let shard = out.join(format!("shard-{index}-of-3.jsonl"));
        assert!(shard.exists(), "{task_logs}");
        assert!(out.join(format!("cache/shard-{index}-of-3")).is_dir());
    }

    let whole = dir.path().join("whole.jsonl");
    let output = ProverRun::new("eval")
        .args(["--workers", "1", "--tactic-timeout", "5", "--no-cache"])
        .path("--dataset", &dataset)
        .path("--out", &whole)
        .repl_cmd(&repl)
        .output();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(statuses(&merged), statuses(&whole), "{task_logs}");
    assert_eq!(statuses(&merged).len(), rows.len());
}
