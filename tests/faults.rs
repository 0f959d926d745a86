//! Infrastructure faults, through the `pipeline` binary: a killed worker, a stopped or
//! killed coordinator, a full disk, a worker left over from an older problem. None is
//! ever recorded as a property of a design; each study resumes to the ledger of an
//! uninterrupted run.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_tiny_ledger, ledger, stderr, tiny_config, Scratch};

/// The pids of `parent`'s live children that are `pipeline worker` processes.
fn workers_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
        let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let is_worker = cmdline.split(|b| *b == 0).any(|arg| arg == b"worker");
        if rest[1] == parent.to_string() && rest[0] != "Z" && is_worker {
            out.push(pid);
        }
    }
    out
}

/// Whether `pid` runs (a zombie does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
}

/// The first worker of the coordinator `child`, once it has run for `after`.
fn a_worker(child: &Child, after: Duration) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(&pid) = workers_of(child.id()).first() {
            std::thread::sleep(after);
            if alive(pid) {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no worker started");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// Waits up to `limit` for `pid` to stop; whether it did.
fn stops_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn no_failed_row(study: &Path) {
    let rows = ledger(study);
    assert!(rows.iter().all(|r| r.status == "ok"), "{rows:?}");
}

/// `pipeline run` with `args` on the scratch study, its first worker SIGKILLed.
fn run_killing_a_worker(s: &Scratch, args: &[&str]) -> std::process::Output {
    let child = s
        .cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    signal(a_worker(&child, Duration::ZERO), "-KILL");
    child.wait_with_output().unwrap()
}

#[test]
fn a_killed_worker_is_retried_and_never_recorded_as_a_failed_design() {
    let s = Scratch::new(&tiny_config());
    let out = run_killing_a_worker(&s, &["run", "--retries", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ended without a result"),
        "{}",
        stderr(&out)
    );
    assert_tiny_ledger(&s.path("study"));
}

#[test]
fn a_worker_that_keeps_dying_stops_the_study_with_nothing_recorded() {
    let s = Scratch::new(&tiny_config());
    let out = run_killing_a_worker(&s, &["run", "--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("infrastructure fault") && err.contains("nothing was recorded"),
        "{err}"
    );
    no_failed_row(&s.path("study"));
    let resumed = s.run(&["run"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_tiny_ledger(&s.path("study"));
}

/// A study whose workers train long enough to be caught in the middle: the tiny study
/// on 8x the training images.
fn slow_config() -> String {
    tiny_config().replace("train_subset = 256", "train_subset = 2048")
}

#[test]
fn sigterm_stops_the_coordinator_and_its_workers_and_the_study_resumes() {
    let s = Scratch::new(&slow_config());
    let child = s
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let worker = a_worker(&child, Duration::from_millis(200));
    signal(child.id(), "-TERM");
    assert!(
        stops_within(worker, Duration::from_secs(5)),
        "the worker stopped"
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    no_failed_row(&s.path("study"));
    let resumed = s.run(&["run"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    no_failed_row(&s.path("study"));
}

#[test]
fn a_worker_stops_when_its_coordinator_is_killed() {
    let s = Scratch::new(&slow_config());
    let mut child = s
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let worker = a_worker(&child, Duration::from_millis(200));
    child.kill().unwrap(); // SIGKILL: no handler runs in the coordinator.
    child.wait().unwrap();
    assert!(
        stops_within(worker, Duration::from_secs(5)),
        "the orphan stopped"
    );
    no_failed_row(&s.path("study"));
    let resumed = s.run(&["run"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
}

#[test]
fn a_leftover_worker_of_an_older_problem_writes_nothing() {
    let s = Scratch::new(&tiny_config());
    assert!(s.run(&["run"]).status.success());
    let task = std::fs::read_dir(s.path("study/tasks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".done.json")
        })
        .expect("a task file");
    let spec = std::fs::read(&task).unwrap();
    let id = task.file_stem().unwrap().to_string_lossy().into_owned();
    std::fs::write(
        s.path("study.toml"),
        tiny_config().replace("seed = 42", "seed = 43"),
    )
    .unwrap();
    assert!(s.run(&["run", "--new-study"]).status.success());
    let before = s.snapshot();
    // The old task, run now against the new study.
    std::fs::write(s.path("study/tasks").join(format!("{id}.json")), &spec).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["worker", "--task", &id, "--study"])
        .arg(s.path("study"))
        .arg("--cache")
        .arg(s.path("cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("now holds another problem"),
        "{}",
        stderr(&out)
    );
    // A task file whose config is invalid (a temperature range up to 1e12 K) is refused
    // with a line naming the key, before anything stored changes.
    let mut bad: serde_json::Value = serde_json::from_slice(&spec).unwrap();
    bad["config"]["design_space"]["temp_k"]["max"] = serde_json::json!(1e12);
    let bad_id = format!("{id}-bad");
    bad["id"] = serde_json::json!(bad_id);
    std::fs::write(
        s.path("study/tasks").join(format!("{bad_id}.json")),
        serde_json::to_vec(&bad).unwrap(),
    )
    .unwrap();
    let before_bad = s.snapshot();
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["worker", "--task", &bad_id, "--study"])
        .arg(s.path("study"))
        .arg("--cache")
        .arg(s.path("cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("design_space.temp_k"),
        "{}",
        stderr(&out)
    );
    let after_bad: Vec<_> = s
        .snapshot()
        .into_iter()
        .filter(|(p, _)| !p.ends_with(format!("{bad_id}.json")))
        .collect();
    let before_bad: Vec<_> = before_bad
        .into_iter()
        .filter(|(p, _)| !p.ends_with(format!("{bad_id}.json")))
        .collect();
    assert_eq!(after_bad, before_bad, "nothing stored changed");
    std::fs::remove_file(s.path("study/tasks").join(format!("{bad_id}.json"))).unwrap();
    let rows = ledger(&s.path("study"));
    assert!(rows.iter().all(|r| r.seed == 43), "no old-problem row");
    let ledger_of = |v: Vec<(std::path::PathBuf, Vec<u8>)>| -> Vec<_> {
        v.into_iter()
            .filter(|(p, _)| p.starts_with(s.path("study/evaluations")))
            .collect()
    };
    assert_eq!(ledger_of(before), ledger_of(s.snapshot()));
}

/// Mounts a tmpfs at `dir` (root only); false where this machine does not allow it.
fn mount_tmpfs(dir: &Path, kib: u64) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Unmounts `dir` when dropped.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_study_and_records_nothing() {
    let s = Scratch::new(&tiny_config());
    assert!(s.run(&["run"]).status.success());
    let done = ledger(&s.path("study"));
    // The same store on a file system with 64 KiB to spare: the next checkpoint (about
    // 280 KiB) cannot be written.
    let full = s.path("full");
    if !mount_tmpfs(&full, 64 * 1024) {
        eprintln!("skipped: no tmpfs can be mounted here (needs root)");
        return;
    }
    let _mounted = Mounted(&full);
    let copied = Command::new("cp")
        .args(["-a"])
        .arg(s.path("cache"))
        .arg(full.join("cache"))
        .status()
        .unwrap();
    assert!(copied.success());
    let used = String::from_utf8(
        Command::new("du")
            .args(["-sk"])
            .arg(&full)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let used: u64 = used.split_whitespace().next().unwrap().parse().unwrap();
    let remount = Command::new("mount")
        .args(["-o", &format!("remount,size={}k", used + 64)])
        .arg(&full)
        .status()
        .unwrap();
    assert!(remount.success());
    std::fs::write(
        s.path("study.toml"),
        tiny_config().replace("epochs = 8", "epochs = 12"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["run", "--retries", "1", "--config"])
        .arg(s.path("study.toml"))
        .arg("--study")
        .arg(s.path("study"))
        .arg("--cache")
        .arg(full.join("cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("infrastructure fault"),
        "{}",
        stderr(&out)
    );
    let after = ledger(&s.path("study"));
    assert_eq!(after, done, "nothing was recorded");
    // With room again the study goes on.
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(ledger(&s.path("study")).len() > done.len());
    no_failed_row(&s.path("study"));
}
