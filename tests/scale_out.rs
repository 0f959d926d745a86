//! Scale-out tests through the `pipeline` binary: batches of proposals evaluated by
//! worker processes (`--executor local --jobs N`) and by a real Slurm (`--executor
//! slurm`). The Slurm tests need `sbatch` on the PATH and a running cluster
//! (`.ci/slurm-local.sh up` starts a one-node one); without one they are skipped, unless
//! `XBAR_REQUIRE_SLURM=1` (as in CI) makes that a failure.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{ledger, stderr, stdout, tiny_config, Scratch};

/// The Slurm tests share one small cluster; they run one at a time.
static SLURM: Mutex<()> = Mutex::new(());

fn keys(study: &Path) -> Vec<String> {
    ledger(study).into_iter().map(|r| r.eval_key).collect()
}

#[test]
fn parallel_workers_evaluate_distinct_batches_and_a_task_run_twice_leaves_one_row() {
    let s = Scratch::new(&tiny_config());
    let out = s.run(&["run", "--jobs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = ledger(&s.path("study"));
    assert!(rows.len() >= 5, "{rows:?}");
    assert!(rows.iter().all(|r| r.status == "ok"), "{rows:?}");
    let distinct: BTreeSet<&str> = rows.iter().map(|r| r.eval_key.as_str()).collect();
    assert_eq!(distinct.len(), rows.len(), "a batch repeated an evaluation");
    // The CF-MESMO batches were proposed two at a time.
    let proposals = s.path("study/proposals").read_dir().unwrap().count();
    assert!(proposals >= 2, "{proposals}");

    // Any finished task, run again by hand (as a re-submitted array task would be).
    let task = std::fs::read_dir(s.path("study/tasks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find_map(|n| n.strip_suffix(".done.json").map(str::to_string))
        .expect("a finished task");
    let worker = |s: &Scratch| {
        Command::new(env!("CARGO_BIN_EXE_pipeline"))
            .args(["worker", "--task", &task, "--study"])
            .arg(s.path("study"))
            .arg("--cache")
            .arg(s.path("cache"))
            .output()
            .unwrap()
    };
    let again = worker(&s);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("already done"),
        "{}",
        stdout(&again)
    );
    // Its result lost (a worker killed after writing its row): it runs again, from the
    // cache, and rewrites the same row.
    std::fs::remove_file(s.path(&format!("study/tasks/{task}.done.json"))).unwrap();
    let rerun = worker(&s);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert_eq!(ledger(&s.path("study")), rows);

    let missing = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["worker", "--task", "eval-nonesuch", "--study"])
        .arg(s.path("study"))
        .arg("--cache")
        .arg(s.path("cache"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("eval-nonesuch"),
        "{}",
        stderr(&missing)
    );
}

/// Batches replay exactly, fantasies included: a study of two workers killed at several
/// moments (its orphaned workers finishing their tasks meanwhile) ends with the ledger
/// of an uninterrupted one.
#[test]
fn a_parallel_study_killed_at_any_moment_resumes_to_the_uninterrupted_ledger() {
    common::kills_resume_to_the_uninterrupted_ledger(&["run", "--jobs", "2"]);
}

#[test]
fn batches_of_one_reproduce_the_sequential_study() {
    let sequential = Scratch::new(&tiny_config());
    let out = sequential.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let parallel = Scratch::new(&tiny_config());
    let out = parallel.run(&["run", "--jobs", "2", "--batch-size", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        ledger(&parallel.path("study")),
        ledger(&sequential.path("study"))
    );
}

/// Whether Slurm can be used; panics if it must be and cannot.
fn slurm_available() -> bool {
    let ok = Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("XBAR_REQUIRE_SLURM").as_deref() != Ok("1"),
            "XBAR_REQUIRE_SLURM=1 but sinfo fails: start the cluster with .ci/slurm-local.sh up"
        );
        eprintln!("skipped: no Slurm cluster (sinfo fails)");
    }
    ok
}

const SLURM_ARGS: [&str; 6] = [
    "run",
    "--executor",
    "slurm",
    "--max-parallel",
    "2",
    "--poll-s=0.2",
];

/// The batch record of `batch` in a study.
fn record(study: &Path, batch: &str) -> serde_json::Value {
    let bytes = std::fs::read(study.join(format!("slurm/{batch}.json"))).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Waits until the study has submitted its first array; returns its job id.
fn first_submission(study: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(bytes) = std::fs::read(study.join("slurm/b00000.json")) {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            if let Some(id) = v["submissions"][0]["job_id"].as_str() {
                return id.to_string();
            }
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no submission");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_slurm_study_gives_the_ledger_of_two_local_workers() {
    let _one = SLURM.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_available() {
        return;
    }
    let local = Scratch::new(&tiny_config());
    let out = local.run(&["run", "--jobs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let slurm = Scratch::new(&tiny_config());
    let out = slurm.run(&SLURM_ARGS);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("submitted job array"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ledger(&slurm.path("study")), ledger(&local.path("study")));
    // Each batch went to Slurm once: no task needed a retry.
    let first = record(&slurm.path("study"), "b00000");
    assert_eq!(first["submissions"].as_array().unwrap().len(), 1, "{first}");
    // The script the executor submitted is what `slurm-script` prints for a batch.
    let script = std::fs::read_to_string(slurm.path("study/slurm/b00000.sh")).unwrap();
    assert!(script.contains("#SBATCH --job-name=xbar-"), "{script}");
    assert!(script.contains(" worker --study "), "{script}");
    let printed = slurm.run(&["slurm-script", "--partition", "debug"]);
    assert!(printed.status.success(), "{}", stderr(&printed));
    assert!(stdout(&printed).contains("#SBATCH --partition=debug"));
    assert!(stdout(&printed).contains("SLURM_ARRAY_TASK_ID"));
}

/// `scontrol release JOB` (a held array).
fn release(job: &str) {
    let ok = Command::new("scontrol")
        .args(["release", job])
        .status()
        .unwrap();
    assert!(ok.success(), "scontrol release {job}");
}

/// `pipeline run` with `--hold` arrays.
fn held_args() -> Vec<&'static str> {
    SLURM_ARGS
        .iter()
        .copied()
        .chain(["--sbatch-arg=--hold"])
        .collect()
}

/// Starts the study with held arrays, SIGKILLs the coordinator once it has submitted
/// its first array, and returns that array's job id.
fn kill_after_the_first_held_submission(s: &Scratch) -> String {
    let mut coordinator = s
        .cmd(&held_args())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let job = first_submission(&s.path("study"));
    coordinator.kill().unwrap(); // SIGKILL
    coordinator.wait().unwrap();
    wait_for_the_study_lock(&s.path("study"));
    job
}

/// Waits until no process holds the study lock. The kernel drops it once every process
/// sharing the killed coordinator's lock file has exited; a child caught between fork
/// and exec at the kill may hold it a moment longer (a resumed run was refused once).
fn wait_for_the_study_lock(study: &Path) {
    let file = std::fs::File::open(study.join(".lock")).unwrap();
    let start = Instant::now();
    while file.try_lock().is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the study lock outlived its killed coordinator by 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    file.unlock().unwrap();
}

#[test]
fn a_killed_coordinator_reattaches_to_its_running_array() {
    let _one = SLURM.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_available() {
        return;
    }
    let s = Scratch::new(&tiny_config());
    // The first array is still queued (held) at the kill.
    let job = kill_after_the_first_held_submission(&s);
    let resumed = s
        .cmd(&SLURM_ARGS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    release(&job);
    let resumed = resumed.wait_with_output().unwrap();
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains(&format!("waiting for Slurm job {job}")),
        "{}",
        stderr(&resumed)
    );
    let first = record(&s.path("study"), "b00000");
    let submissions = first["submissions"].as_array().unwrap();
    assert_eq!(submissions.len(), 1, "submitted again: {first}");
    assert_eq!(submissions[0]["job_id"], job.as_str());
    let rows = ledger(&s.path("study"));
    assert!(rows.iter().all(|r| r.status == "ok"), "{rows:?}");
    assert_eq!(keys(&s.path("study")).len(), rows.len());
}

#[test]
fn a_coordinator_killed_before_its_array_finished_takes_the_results_it_missed() {
    let _one = SLURM.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_available() {
        return;
    }
    let s = Scratch::new(&tiny_config());
    let job = kill_after_the_first_held_submission(&s);
    // The array runs on without its coordinator; its first result arrives.
    release(&job);
    let start = Instant::now();
    while !std::fs::read_dir(s.path("study/tasks")).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".done.json")
    }) {
        assert!(start.elapsed() < Duration::from_secs(120), "no result");
        std::thread::sleep(Duration::from_millis(50));
    }
    let resumed = s.run(&SLURM_ARGS);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let first = record(&s.path("study"), "b00000");
    assert_eq!(first["submissions"].as_array().unwrap().len(), 1, "{first}");
    let rows = ledger(&s.path("study"));
    assert!(rows.iter().all(|r| r.status == "ok"), "{rows:?}");
}

#[test]
fn a_cancelled_array_task_is_retried() {
    let _one = SLURM.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_available() {
        return;
    }
    let s = Scratch::new(&tiny_config());
    // Arrays are submitted held; the test cancels task 0 of the first, then releases
    // every array it sees.
    let mut coordinator = s
        .cmd(&held_args())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let job = first_submission(&s.path("study"));
    let cancel = Command::new("scancel")
        .arg(format!("{job}_0"))
        .status()
        .unwrap();
    assert!(cancel.success());
    let mut released = BTreeSet::new();
    let start = Instant::now();
    while coordinator.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the study hangs"
        );
        for entry in std::fs::read_dir(s.path("study/slurm")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                for sub in v["submissions"].as_array().unwrap() {
                    let id = sub["job_id"].as_str().unwrap().to_string();
                    if released.insert(id.clone()) {
                        release(&id);
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = coordinator.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resubmitting tasks [0]"),
        "{}",
        stderr(&out)
    );
    let first = record(&s.path("study"), "b00000");
    let submissions = first["submissions"].as_array().unwrap();
    assert_eq!(submissions.len(), 2, "{first}");
    assert_eq!(submissions[1]["indices"], serde_json::json!([0]));
    let rows = ledger(&s.path("study"));
    assert!(rows.iter().all(|r| r.status == "ok"), "{rows:?}");
}
