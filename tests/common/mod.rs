//! Helpers shared by the end-to-end test files: scratch studies run through the binary.

#![allow(dead_code)] // Each test file uses its own subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A scratch study: a config file, a study dir and a store, all in one temp dir.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(config: &str) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("study.toml"), config).unwrap();
        Scratch { dir }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pipeline"));
        c.args(args)
            .arg("--config")
            .arg(self.path("study.toml"))
            .arg("--study")
            .arg(self.path("study"));
        // The ledger-only commands take no store.
        if !matches!(
            args.first(),
            Some(&"status") | Some(&"export") | Some(&"query")
        ) {
            c.arg("--cache").arg(self.path("cache"));
        }
        c.current_dir(self.dir.path())
            .env_remove("XBAR_CONFIG")
            .env_remove("XBAR_STUDY")
            .env_remove("XBAR_CACHE");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// `pipeline cache verify` on this scratch store.
    pub fn verify(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_pipeline"))
            .args(["cache", "verify", "--cache"])
            .arg(self.path("cache"))
            .output()
            .unwrap()
    }

    /// Every file under the store and study, with its contents, for "nothing changed" checks.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
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

/// The first ledger part of `study` (in directory order).
pub fn first_ledger_part(study: &Path) -> PathBuf {
    std::fs::read_dir(study.join("evaluations"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The embedded default shrunk so that a whole study (baseline, 4 initial designs, a few
/// CF-MESMO steps, the final full-fidelity evaluations) takes seconds.
pub fn tiny_config() -> String {
    let default = include_str!("../../configs/default.toml");
    let cfg = default
        .replace("train_subset = 2000", "train_subset = 256")
        .replace("test_subset = 500", "test_subset = 64")
        .replace("max_epochs = 4", "max_epochs = 2")
        .replace("\nepochs = 25", "\nepochs = 8")
        .replace("designs = 6", "designs = 3")
        .replace("full_fidelity = 2", "full_fidelity = 1")
        .replace("controls = [\"noise_free\"]", "controls = []");
    let training = cfg.find("[training]").expect("a [training] section");
    let end = cfg[training..]
        .find("\n\n[")
        .map_or(cfg.len(), |i| training + i);
    format!(
        "{}[training]\nbaseline_epochs = 1\nbatch_size = 64\neval_draws = 2{}",
        &cfg[..training],
        &cfg[end..]
    )
}

/// The (cached, computed) counts of `stage` in a run's summary.
pub fn counts(out: &str, stage: &str) -> (usize, usize) {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(stage))
        .unwrap_or_else(|| panic!("no {stage} line in {out}"));
    let n: Vec<usize> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1])
}

/// The ledger's rows without their timing columns, in decision order.
pub fn ledger(study: &Path) -> Vec<pipeline::record::EvaluationRow> {
    let (mut rows, _) = pipeline::results::study_rows(study).unwrap();
    for r in &mut rows {
        r.cost_s = 0.0;
        r.started_at_ms = 0;
        r.finished_at_ms = 0;
    }
    rows.sort_by_key(|r| r.iteration);
    rows
}

/// Runs the tiny study with `args` whole, and again killed (SIGKILL) at several moments
/// and resumed; asserts both ledgers are the same and the store is never corrupted.
pub fn kills_resume_to_the_uninterrupted_ledger(args: &[&str]) {
    let whole = Scratch::new(&tiny_config());
    assert!(whole.run(args).status.success());
    let expected = ledger(&whole.path("study"));

    let s = Scratch::new(&tiny_config());
    for delay_ms in [100, 900, 1800, 2700, 3600, 4500] {
        let mut child = s
            .cmd(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        if s.path("cache").exists() {
            let verify = s.verify();
            let out = stdout(&verify);
            assert!(
                out.contains(" 0 corrupted"),
                "after a kill at {delay_ms} ms: {out}"
            );
        }
    }
    let resumed = s.run(args);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(ledger(&s.path("study")), expected);
}

/// The tiny study's ledger as text, a line per row in decision order, without the
/// columns that vary from run to run (cost, timestamps, host).
pub fn ledger_text(study: &Path) -> String {
    ledger(study)
        .iter()
        .map(|r| {
            let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.9e}"));
            format!(
                "{} {} {} {} {} b={} xbar={} f={:e} T={} adc={} v={} e={} z={:.9} \
                 acc={}/{}/{} area={} lat={} energy={} {} {:?} code={} seed={}",
                r.eval_key,
                r.study,
                r.iteration,
                r.strategy,
                r.model,
                r.recorded.cell_bits,
                r.recorded.xbar_size,
                r.recorded.freq_hz,
                r.recorded.temp_k,
                r.recorded.adc_bits,
                r.recorded.read_voltage,
                r.fidelity_epochs,
                r.fidelity_z,
                opt(r.accuracy_mean),
                opt(r.accuracy_std),
                opt(r.accuracy_clean),
                opt(r.area_um2),
                opt(r.latency_ns),
                opt(r.energy_pj),
                r.status,
                r.error,
                r.code_version,
                r.seed,
            )
        })
        .map(|line| line + "\n")
        .collect()
}

/// The committed ledger of the tiny study (see `the_tiny_study_s_ledger_is_the_committed_one`).
pub fn tiny_ledger_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tiny_study_ledger.txt")
}

/// Asserts that the study's ledger is the tiny study's committed one.
pub fn assert_tiny_ledger(study: &Path) {
    let expected = std::fs::read_to_string(tiny_ledger_fixture()).unwrap();
    assert_eq!(
        ledger_text(study),
        expected,
        "not the uninterrupted tiny study's ledger"
    );
}
