//! End-to-end tests through the `pipeline` binary: real runs on small configs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A scratch study: a config file, a study dir and a store, all in one temp dir.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new(config: &str) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("study.toml"), config).unwrap();
        Scratch { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pipeline"));
        c.args(args)
            .arg("--config")
            .arg(self.path("study.toml"))
            .arg("--study")
            .arg(self.path("study"))
            .arg("--cache")
            .arg(self.path("cache"))
            .current_dir(self.dir.path())
            .env_remove("XBAR_CONFIG")
            .env_remove("XBAR_STUDY")
            .env_remove("XBAR_CACHE");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// `pipeline cache verify` on this scratch store.
    fn verify(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_pipeline"))
            .args(["cache", "verify", "--cache"])
            .arg(self.path("cache"))
            .output()
            .unwrap()
    }

    /// Every file under the store and study, with its contents, for "nothing changed" checks.
    fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.file_name().unwrap() != ".lock" {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path("cache"), &mut out);
        walk(&self.path("study"), &mut out);
        out.sort();
        out
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The embedded default with a small subset and few designs, so a run takes about a second.
fn tiny_config() -> String {
    let default = include_str!("../configs/default.toml");
    default
        .replace("train_subset = 2000", "train_subset = 300")
        .replace("test_subset = 500", "test_subset = 100")
        .replace("designs = 6", "designs = 3")
}

#[test]
fn a_second_run_does_no_work() {
    let s = Scratch::new(&tiny_config());
    let first = s.run(&["run"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let out = stdout(&first);
    assert!(
        out.contains("dataset_prep     0 cached    1 computed"),
        "{out}"
    );
    assert!(
        out.contains("crossbar         0 cached    3 computed"),
        "{out}"
    );
    assert!(
        out.contains(&format!("cache:     {}", s.path("cache").display())),
        "{out}"
    );
    let before = s.snapshot();
    let second = s.run(&["run"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let out = stdout(&second);
    for stage in ["dataset_prep", "crossbar", "ppa"] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(stage))
            .unwrap();
        assert!(line.contains(" 0 computed  (nothing to do)"), "{line}");
    }
    // Only the run record is new: no stage output changed.
    let after: Vec<_> = s
        .snapshot()
        .into_iter()
        .filter(|(p, _)| !p.starts_with(s.path("study/runs")))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.starts_with(s.path("study/runs")))
        .collect();
    assert_eq!(before, after);
    // --recompute forces one stage only.
    let third = s.run(&["run", "--recompute", "crossbar"]);
    let out = stdout(&third);
    assert!(
        out.contains("crossbar         0 cached    3 computed"),
        "{out}"
    );
    assert!(
        out.contains("dataset_prep     1 cached    0 computed"),
        "{out}"
    );
}

#[test]
fn a_run_killed_at_any_moment_resumes_and_leaves_a_consistent_store() {
    // The full embedded set (no subset) makes the dataset stage take long enough to be hit.
    let config = include_str!("../configs/default.toml")
        .replace("train_subset = 2000\n", "")
        .replace("test_subset = 500\n", "");
    let s = Scratch::new(&config);
    for delay_ms in [50, 300, 700, 1200, 2000] {
        let mut child = s
            .cmd(&["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        let verify = s.verify();
        let out = stdout(&verify);
        assert!(
            verify.status.success() || !s.path("cache").exists(),
            "{out}{}",
            stderr(&verify)
        );
        if s.path("cache").exists() {
            assert!(
                out.contains(" 0 corrupted"),
                "after a kill at {delay_ms} ms: {out}"
            );
        }
    }
    let resumed = s.run(&["run"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let again = s.run(&["run"]);
    let out = stdout(&again);
    assert!(
        out.contains("ppa              6 cached    0 computed"),
        "{out}"
    );
    let verify = stdout(&s.verify());
    assert!(verify.contains(" 0 corrupted"), "{verify}");
}

#[test]
fn a_busy_study_is_refused() {
    let s = Scratch::new(&tiny_config());
    let _held = cache::StudyLock::acquire(&s.path("study")).unwrap();
    let out = s.run(&["run"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is busy"), "{}", stderr(&out));
}

#[test]
fn a_corrupted_object_is_recomputed_with_a_warning() {
    let s = Scratch::new(&tiny_config());
    assert!(s.run(&["run"]).status.success());
    // Damage the data set tensors of the stored dataset object.
    let mut damaged = None;
    for (path, _) in s.snapshot() {
        if path.file_name().unwrap() == "dataset.safetensors" {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.truncate(bytes.len() / 2);
            std::fs::write(&path, bytes).unwrap();
            damaged = Some(path);
        }
    }
    assert!(damaged.is_some());
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("corrupted"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("dataset_prep     0 cached    1 computed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let s = Scratch::new(&tiny_config());
    assert!(s.run(&["run"]).status.success());
    let before = s.snapshot();
    let cases = [
        ("designs = 3", "designs = 3\nsurprise = 1", "surprise"),
        (
            "cell_bits = [1, 2, 3, 4, 5, 6, 7, 8]",
            "cell_bits = [0, 4]",
            "cell_bits",
        ),
        (
            "cell_bits = [1, 2, 3, 4, 5, 6, 7, 8]",
            "cell_bits = [9]",
            "cell_bits",
        ),
        (
            "freq_hz = { min = 1.0e7",
            "freq_hz = { min = -5.0",
            "freq_hz",
        ),
        ("temp_k = { min = 300.0", "temp_k = { min = -3.0", "temp_k"),
        ("min_epochs = 1", "min_epochs = 5", "min_epochs"),
        (
            "format = \"embedded\"",
            "format = \"hf_parquet\"\ntrain = \"nope.parquet\"\ntest = \"nope.parquet\"",
            "nope.parquet",
        ),
    ];
    for (from, to, key) in cases {
        let bad = Scratch::new(&tiny_config().replacen(from, to, 1));
        std::fs::copy(bad.path("study.toml"), s.path("study.toml")).unwrap();
        let out = s.run(&["run"]);
        assert!(!out.status.success(), "{to}");
        let err = stderr(&out);
        assert!(err.contains(key), "{to}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    }
    // A data file that is not Parquet: found at run time, by the dataset stage.
    std::fs::write(s.path("fake.parquet"), "not parquet at all").unwrap();
    let cfg = tiny_config().replace(
        "format = \"embedded\"",
        &format!(
            "format = \"hf_parquet\"\ntrain = {:?}\ntest = {:?}",
            s.path("fake.parquet"),
            s.path("fake.parquet")
        ),
    );
    std::fs::write(s.path("study.toml"), cfg).unwrap();
    let out = s.run(&["run", "--new-study"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("fake.parquet"), "{}", stderr(&out));
    // Nothing stored before was lost or changed (the failed run archived nothing it could not restore).
    let after = s.snapshot();
    for (path, bytes) in &before {
        if path.starts_with(s.path("cache")) {
            assert!(
                after.iter().any(|(p, b)| p == path && b == bytes),
                "{} changed",
                path.display()
            );
        }
    }
}

#[test]
fn a_changed_problem_is_refused_unless_new_study() {
    let s = Scratch::new(&tiny_config());
    assert!(s.run(&["run"]).status.success());
    std::fs::write(
        s.path("study.toml"),
        tiny_config().replace("seed = 42", "seed = 43"),
    )
    .unwrap();
    let out = s.run(&["run"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--new-study"), "{}", stderr(&out));
    let out = s.run(&["run", "--new-study"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(s.path("study/archive").is_dir());
    // The budget is not part of the problem.
    std::fs::write(
        s.path("study.toml"),
        tiny_config()
            .replace("seed = 42", "seed = 43")
            .replace("epochs = 40", "epochs = 80"),
    )
    .unwrap();
    assert!(s.run(&["run"]).status.success());
}

#[test]
fn cifar10_binary_data_runs_through_the_cli() {
    let s = Scratch::new("");
    let data = s.path("cifar");
    std::fs::create_dir_all(&data).unwrap();
    let records = |n: u8| -> Vec<u8> {
        (0..n)
            .flat_map(|i| {
                let mut r = vec![i % 10];
                r.extend((0..3072u32).map(|j| (j as u8).wrapping_mul(i + 1)));
                r
            })
            .collect()
    };
    std::fs::write(data.join("data_batch_1.bin"), records(20)).unwrap();
    std::fs::write(data.join("test_batch.bin"), records(10)).unwrap();
    let cfg = tiny_config()
        .replace(
            "format = \"embedded\"",
            &format!("format = \"cifar10_binary\"\ndir = {data:?}"),
        )
        .replace("train_subset = 300\n", "")
        .replace("test_subset = 100\n", "");
    std::fs::write(s.path("study.toml"), cfg).unwrap();
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("dataset: 20 train + 10 test images, 32x32, 10 classes"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn init_status_export_and_ppa_commands() {
    let s = Scratch::new(&tiny_config());
    let init = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["init", s.path("mine.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(init.status.success());
    assert_eq!(
        std::fs::read_to_string(s.path("mine.toml")).unwrap(),
        include_str!("../configs/default.toml")
    );
    let again = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["init", s.path("mine.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success() && stderr(&again).contains("--force"));

    let missing = s.run(&["status"]);
    assert!(
        !missing.status.success() && stderr(&missing).contains("no study"),
        "{}",
        stderr(&missing)
    );
    assert!(s.run(&["run"]).status.success());
    let status = s.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["evaluations"], 0);
    assert_eq!(v["cost_s"], 0.0);
    assert!(v["pareto"].as_array().unwrap().is_empty());
    assert!(v.get("hypervolume").is_some() && v.get("reference_point").is_some());

    for out in ["all.csv", "all.parquet"] {
        let o = s.run(&["export", "--out", s.path(out).to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(s.path(out).exists());
    }
    let bad = s.run(&["export", "--out", "x.xlsx"]);
    assert!(!bad.status.success() && stderr(&bad).contains(".parquet or .csv"));

    let ppa = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args([
            "ppa",
            "--model",
            "resnet20",
            "--cell-bits",
            "4",
            "--xbar-size",
            "64",
            "--freq-hz",
            "1e9",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(ppa.status.success(), "{}", stderr(&ppa));
    let v: serde_json::Value = serde_json::from_slice(&ppa.stdout).unwrap();
    for k in ["area_um2", "latency_ns", "energy_pj"] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}");
    }
    for (args, key) in [
        (vec!["--model", "resnet21"], "resnet21"),
        (vec!["--xbar-size", "100"], "xbar_size"),
        (vec!["--freq-hz", "0"], "freq_hz"),
        (vec!["--adc-bits", "13"], "adc_bits"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_pipeline"))
            .arg("ppa")
            .args(&args)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains(key), "{args:?}: {}", stderr(&o));
    }
}
