//! End-to-end tests through the `pipeline` binary: real runs on small configs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{counts, ledger, stderr, stdout, tiny_config, Scratch};

#[test]
fn a_complete_study_runs_and_a_second_run_does_no_work() {
    let s = Scratch::new(&tiny_config());
    let first = s.run(&["run"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let out = stdout(&first);
    assert_eq!(counts(&out, "dataset_prep"), (0, 1), "{out}");
    assert_eq!(counts(&out, "baseline_train"), (0, 1), "{out}");
    assert!(counts(&out, "resna_train").1 >= 4, "{out}");
    assert!(
        out.contains("full-fidelity Pareto set of cnn_small"),
        "{out}"
    );
    assert!(
        out.contains(&format!("cache:     {}", s.path("cache").display())),
        "{out}"
    );
    let rows = ledger(&s.path("study"));
    assert!(rows.len() >= 5, "{rows:?}");
    assert_eq!(rows[0].strategy, "initial");
    assert!(rows.iter().any(|r| r.strategy == "cf_mesmo"));
    assert!(rows.iter().all(|r| r.status == "ok"));
    assert!(
        rows.iter().any(|r| r.fidelity_epochs == 1) && rows.iter().any(|r| r.fidelity_epochs == 2)
    );
    for r in &rows {
        let acc = r.accuracy_mean.unwrap();
        assert!((0.0..=1.0).contains(&acc) && r.area_um2.unwrap() > 0.0);
    }
    assert!(s.path("study/metrics").read_dir().unwrap().count() >= rows.len());
    assert!(s.path("study/proposals").read_dir().unwrap().count() >= 1);

    let before = s.snapshot();
    let second = s.run(&["run"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let out = stdout(&second);
    assert!(out.contains("0 computed now"), "{out}");
    for stage in ["dataset_prep", "baseline_train", "crossbar", "ppa"] {
        assert_eq!(counts(&out, stage).1, 0, "{out}");
    }
    // Only the run record and the report are new: no stage output or ledger row changed.
    let strip = |v: Vec<(PathBuf, Vec<u8>)>| -> Vec<(PathBuf, blake3::Hash)> {
        v.into_iter()
            .filter(|(p, _)| {
                !p.starts_with(s.path("study/runs")) && !p.starts_with(s.path("study/report"))
            })
            .map(|(p, b)| (p, blake3::hash(&b)))
            .collect()
    };
    assert_eq!(strip(before), strip(s.snapshot()));
    // --recompute forces one stage only.
    let third = s.run(&["run", "--recompute", "crossbar"]);
    let out = stdout(&third);
    assert!(counts(&out, "crossbar").1 >= 1, "{out}");
    assert_eq!(counts(&out, "dataset_prep"), (1, 0), "{out}");

    let status = s.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["evaluations"].as_u64().unwrap() as usize, rows.len());
    assert!(!v["pareto"].as_array().unwrap().is_empty());
    assert!(v["hypervolume"].as_f64().unwrap() > 0.0);
    // Where the evaluations went: every row at exactly one fidelity.
    let shares = v["by_fidelity"].as_array().unwrap();
    let counted: u64 = shares
        .iter()
        .map(|f| f["evaluations"].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, rows.len(), "{shares:?}");
    assert!(shares
        .iter()
        .all(|f| f["steps"].as_u64() <= f["evaluations"].as_u64()));
}

#[test]
fn a_study_killed_at_any_moment_resumes_to_the_uninterrupted_ledger() {
    common::kills_resume_to_the_uninterrupted_ledger(&["run"]);
}

#[test]
fn sigint_stops_cleanly_and_says_how_to_resume() {
    let s = Scratch::new(&tiny_config());
    let child = s
        .cmd(&["run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        return; // It finished before the signal arrived.
    }
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("run the same command again"),
        "{}",
        stderr(&out)
    );
    let resumed = s.run(&["run"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
}

#[test]
fn overlapping_studies_share_their_evaluations() {
    let s = Scratch::new(&tiny_config());
    assert!(s.run(&["run"]).status.success());
    // The same problem with another strategy, in another study dir, on the same store.
    std::fs::write(
        s.path("mesmo.toml"),
        tiny_config().replace("strategy = \"cf_mesmo\"", "strategy = \"mesmo\""),
    )
    .unwrap();
    let other = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["run", "--config"])
        .arg(s.path("mesmo.toml"))
        .arg("--study")
        .arg(s.path("other"))
        .arg("--cache")
        .arg(s.path("cache"))
        .output()
        .unwrap();
    assert!(other.status.success(), "{}", stderr(&other));
    let out = stdout(&other);
    assert_eq!(counts(&out, "dataset_prep"), (1, 0), "{out}");
    assert_eq!(counts(&out, "baseline_train"), (1, 0), "{out}");
    // The initial full-fidelity design is shared.
    let reused: usize = out
        .split(" reused from the cache")
        .next()
        .and_then(|h| h.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(reused >= 1, "{out}");
    // A larger budget reuses everything the first study did.
    std::fs::write(
        s.path("study.toml"),
        tiny_config().replace("epochs = 8", "epochs = 12"),
    )
    .unwrap();
    let bigger = s.run(&["run"]);
    let out = stdout(&bigger);
    assert!(bigger.status.success(), "{}", stderr(&bigger));
    assert!(!out.contains(" 0 already in the ledger"), "{out}");
}

#[test]
fn the_baseline_strategies_run_at_full_fidelity() {
    for strategy in ["nsga2", "random", "mesmo"] {
        // Budget beyond the initial design's 8 full-fidelity epochs.
        let cfg = tiny_config()
            .replace(
                "strategy = \"cf_mesmo\"",
                &format!("strategy = \"{strategy}\""),
            )
            .replace("epochs = 8", "epochs = 12");
        let s = Scratch::new(&cfg);
        let out = s.run(&["run"]);
        assert!(out.status.success(), "{strategy}: {}", stderr(&out));
        let rows = ledger(&s.path("study"));
        assert!(rows.len() >= 3, "{strategy}: {rows:?}");
        assert!(
            rows.iter().all(|r| r.fidelity_epochs == 2),
            "{strategy}: full fidelity only"
        );
        assert!(rows.iter().any(|r| r.strategy == strategy), "{strategy}");
    }
}

#[test]
fn a_searched_adc_resolution_reaches_the_optimiser_the_ledger_and_the_report() {
    let cfg = tiny_config().replace("adc_bits = 5\n", "adc_bits = [4, 6]\n");
    assert_ne!(cfg, tiny_config());
    let s = Scratch::new(&cfg);
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = ledger(&s.path("study"));
    let adc: std::collections::BTreeSet<u8> = rows.iter().map(|r| r.recorded.adc_bits).collect();
    assert_eq!(adc, [4, 6].into(), "the initial design spans the grid");
    // The optimiser searched a fifth dimension.
    let mut steps = 0;
    for entry in s.path("study/proposals").read_dir().unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        let step: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(step["x"].as_array().unwrap().len(), 5, "{step}");
        steps += 1;
    }
    assert!(steps >= 1);
    // The report plots the ADC resolution where the full-fidelity designs vary in it.
    let full: std::collections::BTreeSet<u8> = rows
        .iter()
        .filter(|r| r.fidelity_epochs == 2)
        .map(|r| r.recorded.adc_bits)
        .collect();
    // (The Pareto table heads a column with every variable, searched or not.)
    let html = std::fs::read_to_string(s.path("study/report/index.html")).unwrap();
    let plotted = html.replace("<th>ADC bits</th>", "").contains("ADC bits");
    assert_eq!(plotted, full.len() > 1, "{full:?}");
}

#[test]
fn a_failed_evaluation_is_recorded_and_the_study_goes_on() {
    // A learning rate that makes every fine-tuning loss diverge.
    let cfg = tiny_config()
        .replace("strategy = \"cf_mesmo\"", "strategy = \"random\"")
        .replace("eval_draws = 2", "eval_draws = 2\nfinetune_lr = 1.0e30");
    let s = Scratch::new(&cfg);
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = ledger(&s.path("study"));
    assert!(rows.len() >= 3, "the study went on: {rows:?}");
    for r in &rows {
        assert_eq!(r.status, "failed");
        assert!(
            r.error.as_deref().unwrap().contains("loss became"),
            "{:?}",
            r.error
        );
        assert!(r.accuracy_mean.is_none() && r.area_um2.is_some());
    }
    // A failed row counts as done...
    let again = s.run(&["run"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("0 computed now"),
        "{}",
        stdout(&again)
    );
    // ...unless --retry-failed asks for its design again.
    let retried = s.run(&["run", "--retry-failed"]);
    assert!(retried.status.success(), "{}", stderr(&retried));
    let out = stdout(&retried);
    assert!(
        out.contains(&format!("{} computed now", rows.len())) && out.contains(" 0 already in"),
        "{out}"
    );
    assert_eq!(
        ledger(&s.path("study")).len(),
        rows.len(),
        "rows replaced, not added"
    );
}

/// Runs the analysis script on a study; `None` when python3 with polars is missing
/// (allowed only where `XBAR_REQUIRE_POLARS` is unset).
fn analyse(study: &Path) -> Option<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../notebooks/analyse.py");
    let out = Command::new("python3").arg(script).arg(study).output();
    match out {
        Ok(o) if o.status.success() => {
            let text = stdout(&o);
            let line = text.lines().find(|l| l.starts_with("{\"pareto\"")).unwrap();
            assert!(text.contains("the report's Pareto set matches"), "{text}");
            Some(serde_json::from_str(line).unwrap())
        }
        other => {
            let polars = Command::new("python3")
                .args(["-c", "import polars"])
                .status();
            let has_polars = polars.is_ok_and(|s| s.success());
            assert!(
                !has_polars && std::env::var("XBAR_REQUIRE_POLARS").is_err(),
                "the analysis script failed: {other:?}"
            );
            eprintln!("python3 with polars not available; skipped the analysis script");
            None
        }
    }
}

#[test]
fn the_ledger_reads_back_in_polars_and_the_notebook_agrees_with_the_report() {
    let s = Scratch::new(&tiny_config());
    let run = s.run(&["run"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report = s.path("study/report");
    for f in ["index.html", "summary.md", "pareto.csv"] {
        assert!(report.join(f).is_file(), "{f}");
    }
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(html.matches("<svg").count() >= 10, "every plot is inline");
    assert!(
        !html.contains("http://")
            || html.matches("http://").count() == html.matches("xmlns").count()
    );
    for section in [
        "Pareto front",
        "Hypervolume against cost",
        "Accuracy and fidelity",
        "against its controls",
        "Pareto designs",
        "Per-layer PPA",
        "Provenance",
    ] {
        assert!(html.contains(section), "{section}");
    }
    // The report's Pareto table is the ledger's full-fidelity Pareto set.
    let rows = ledger(&s.path("study"));
    let full: Vec<(String, Vec<f64>)> = rows
        .iter()
        .filter(|r| r.status == "ok" && (r.fidelity_z - 1.0).abs() < 1e-9)
        .map(|r| {
            (
                r.eval_key.clone(),
                vec![
                    -r.accuracy_mean.unwrap(),
                    r.area_um2.unwrap(),
                    r.latency_ns.unwrap(),
                    r.energy_pj.unwrap(),
                ],
            )
        })
        .collect();
    let points: Vec<Vec<f64>> = full.iter().map(|f| f.1.clone()).collect();
    let mut expected: Vec<String> = optimizer::hypervolume::pareto_front_indices(&points)
        .into_iter()
        .map(|i| full[i].0.clone())
        .collect();
    expected.sort();
    expected.dedup();
    let csv = std::fs::read_to_string(report.join("pareto.csv")).unwrap();
    let mut reported: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    reported.sort();
    assert_eq!(reported, expected);

    // The analysis script (the notebook's twin) reads the ledger with Polars and agrees.
    if let Some(v) = analyse(&s.path("study")) {
        let keys: Vec<String> = v["pareto"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        assert_eq!(keys, expected);
        let status = s.run(&["status", "--json"]);
        let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        let (a, b) = (
            v["hypervolume"].as_f64().unwrap(),
            st["hypervolume"].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{a} vs {b}");
    }

    // Exports of the three tables.
    for what in ["evaluations", "metrics", "pareto"] {
        for ext in ["parquet", "csv"] {
            let out = s.path(&format!("{what}.{ext}"));
            let o = s.run(&["export", "--what", what, "--out", out.to_str().unwrap()]);
            assert!(o.status.success(), "{}", stderr(&o));
            assert!(out.is_file());
        }
    }
    let csv = std::fs::read_to_string(s.path("pareto.csv")).unwrap();
    assert_eq!(csv.lines().count(), expected.len() + 1);

    // A corrupted part is skipped with a warning naming it; the report still comes out.
    let part = common::first_ledger_part(&s.path("study"));
    std::fs::write(&part, b"garbage").unwrap();
    let o = s.run(&["report"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(part.file_name().unwrap().to_str().unwrap()),
        "{}",
        stderr(&o)
    );
    // No ledger: a clear message.
    let empty = Scratch::new(&tiny_config());
    let o = empty.run(&["report"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("pipeline run"), "{}", stderr(&o));
}

#[test]
fn the_notebook_holds_the_script_s_cells() {
    let script = include_str!("../notebooks/analyse.py");
    let notebook: serde_json::Value =
        serde_json::from_str(include_str!("../notebooks/analyse.ipynb")).unwrap();
    let code: Vec<String> = notebook["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cell_type"] == "code")
        .map(|c| {
            c["source"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect()
        })
        .collect();
    let cells: Vec<String> = script
        .split("# %%")
        .skip(1)
        .filter(|c| !c.starts_with(" [markdown]"))
        .map(|c| c.trim_matches('\n').to_string())
        .collect();
    assert_eq!(code, cells);
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
    assert_eq!(
        counts(&stdout(&out), "dataset_prep"),
        (0, 1),
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
    // Nothing stored before was lost or changed: the data set is checked before
    // `--new-study` archives anything.
    assert!(
        !s.path("study/archive").exists(),
        "archived before the check"
    );
    let after = s.snapshot();
    for (path, bytes) in &before {
        assert!(
            after.iter().any(|(p, b)| p == path && b == bytes),
            "{} changed",
            path.display()
        );
    }
}

#[test]
fn a_first_run_with_bad_data_does_not_fix_the_study_s_problem() {
    let s = Scratch::new(&tiny_config());
    std::fs::write(s.path("fake.parquet"), "not parquet at all").unwrap();
    let bad = tiny_config().replace(
        "format = \"embedded\"",
        &format!(
            "format = \"hf_parquet\"\ntrain = {:?}\ntest = {:?}",
            s.path("fake.parquet"),
            s.path("fake.parquet")
        ),
    );
    std::fs::write(s.path("study.toml"), bad).unwrap();
    let out = s.run(&["run"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("fake.parquet"), "{}", stderr(&out));
    assert!(
        !s.path("study/study.json").exists(),
        "the problem was fixed"
    );
    // With the data fixed, the same study runs, no --new-study needed.
    std::fs::write(s.path("study.toml"), tiny_config()).unwrap();
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
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
    // The whole state of the old study moved into one archive directory.
    let archives: Vec<PathBuf> = std::fs::read_dir(s.path("study/archive"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    for entry in [
        "study.json",
        "evaluations",
        "metrics",
        "runs",
        "proposals",
        "tasks",
    ] {
        assert!(archives[0].join(entry).exists(), "{entry} archived");
    }
    assert!(ledger(&s.path("study")).iter().all(|r| r.seed == 43));
    // The budget is not part of the problem.
    std::fs::write(
        s.path("study.toml"),
        tiny_config()
            .replace("seed = 42", "seed = 43")
            .replace("epochs = 8", "epochs = 9"),
    )
    .unwrap();
    assert!(s.run(&["run"]).status.success());

    // A kill in the middle of an archive (the ledger moved, study.json not yet): the next
    // run completes the archive before it looks at the study.
    let partial = s.path("study/archive/99.partial");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::rename(s.path("study/evaluations"), partial.join("evaluations")).unwrap();
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("completed the interrupted archive"),
        "{}",
        stderr(&out)
    );
    let done = s.path("study/archive/99");
    assert!(!partial.exists() && done.join("evaluations").is_dir());
    assert!(done.join("study.json").is_file() && done.join("metrics").is_dir());
    assert!(!ledger(&s.path("study")).is_empty(), "a fresh study ran");
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
        .replace("train_subset = 256\n", "")
        .replace("test_subset = 64\n", "");
    std::fs::write(s.path("study.toml"), cfg).unwrap();
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("dataset: 20 train + 10 test images, 32x32, 10 classes"),
        "{}",
        stdout(&out)
    );
    assert!(!ledger(&s.path("study")).is_empty());
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
    assert!(v["evaluations"].as_u64().unwrap() >= 5);
    assert!(v["cost_s"].as_f64().unwrap() > 0.0);
    assert!(v.get("hypervolume").is_some() && v.get("reference_point").is_some());

    for out in ["all.csv", "all.parquet"] {
        let o = s.run(&["export", "--out", s.path(out).to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(s.path(out).exists());
    }
    let bad = s.run(&["export", "--out", "x.xlsx"]);
    assert!(!bad.status.success() && stderr(&bad).contains(".parquet or .csv"));
    for what in ["metrics", "pareto"] {
        let out = s.path(&format!("{what}.csv"));
        let o = s.run(&["export", "--what", what, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let lines = std::fs::read_to_string(&out).unwrap().lines().count();
        assert!(lines >= 2, "{what}: a header and rows");
    }

    // Polars SQL over the study's tables, and over the exported file.
    let count = |args: &[&str]| -> u64 {
        let out = s.path("count.csv");
        let mut all = args.to_vec();
        all.extend(["--out", out.to_str().unwrap()]);
        let o = s.run(&all);
        assert!(o.status.success(), "{all:?}: {}", stderr(&o));
        let text = std::fs::read_to_string(&out).unwrap();
        text.lines().nth(1).unwrap().trim().parse().unwrap()
    };
    let evaluations = v["evaluations"].as_u64().unwrap();
    assert_eq!(
        count(&["query", "select count(*) as n from evaluations"]),
        evaluations
    );
    assert!(count(&["query", "select count(*) as n from proposals"]) >= 1);
    assert!(count(&["query", "select count(*) as n from metrics"]) > evaluations);
    let exported = s.path("all.parquet");
    let o = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["query", "select count(*) as n from evaluations", "--table"])
        .arg(&exported)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&evaluations.to_string()),
        "{}",
        stdout(&o)
    );
    let grouped = s.run(&[
        "query",
        "select cell_bits, avg(accuracy_mean) as accuracy from evaluations group by cell_bits \
         order by cell_bits",
    ]);
    assert!(grouped.status.success(), "{}", stderr(&grouped));
    assert!(
        stdout(&grouped).contains("accuracy"),
        "{}",
        stdout(&grouped)
    );
    let bad = s.run(&["query", "select nope from evaluations"]);
    assert!(!bad.status.success() && stderr(&bad).contains("the query"));
    let bad = s.run(&["query", "select 1", "--out", "x.xlsx"]);
    assert!(!bad.status.success() && stderr(&bad).contains("--out"));

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
    // The breakdowns by component and layer travel in the JSON; the clock is the
    // sensing limit (1 GHz saturates).
    let components = [
        "arrays",
        "adc",
        "accumulation",
        "buffers",
        "interconnect",
        "other",
    ];
    for b in ["area", "latency", "energy"] {
        let total: f64 = components.iter().map(|c| v[b][c].as_f64().unwrap()).sum();
        assert!(total > 0.0, "{b}");
    }
    assert_eq!(v["model"], "neurosim");
    assert!(v["layers"][0]["energy"]["adc"].as_f64().unwrap() > 0.0);
    let limit = v["max_freq_hz"].as_f64().unwrap();
    assert!((1e9 / v["clock_ns"].as_f64().unwrap() - limit).abs() < 1e-3 * limit);
    let analytic = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["ppa", "--ppa-model", "analytic", "--json"])
        .output()
        .unwrap();
    assert!(analytic.status.success(), "{}", stderr(&analytic));
    let a: serde_json::Value = serde_json::from_slice(&analytic.stdout).unwrap();
    assert_eq!(a["model"], "analytic");
    for (args, key) in [
        (vec!["--model", "resnet21"], "resnet21"),
        (vec!["--xbar-size", "100"], "xbar_size"),
        (vec!["--freq-hz", "0"], "freq_hz"),
        (vec!["--adc-bits", "17"], "adc_bits"),
        (vec!["--xbar-size", "2147483648"], "xbar_size"),
        (vec!["--freq-hz", "1e9", "--clock", "refuse"], "freq_hz"),
        (vec!["--temp-k", "450"], "temp_k"),
        (vec!["--tech-node-nm", "14"], "tech_node_nm"),
        (vec!["--ppa-model", "nope"], "--ppa-model"),
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

#[test]
fn noise_and_strategies_commands() {
    let s = Scratch::new(&tiny_config());
    // The design of every call, unless `extra` sets a flag itself.
    let noise = |extra: &[&str]| {
        let mut args = vec!["noise", "--json"];
        for (flag, value) in [
            ("--cell-bits", "4"),
            ("--xbar-size", "64"),
            ("--freq-hz", "1e9"),
            ("--temp-k", "400"),
        ] {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        args.extend_from_slice(extra);
        s.run(&args)
    };
    let o = noise(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["weights"], "seeded initialisation");
    assert_eq!(v["noise_model"], "pytorx");
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4, "cnn_small has three convs and an FC layer");
    for l in layers {
        assert!(l["relative_noise"].as_f64().unwrap() > 0.0);
        assert!(l["voltage_mean_v"].as_f64().unwrap() > 0.0);
        // 4-bit pairs: levels 0..=8.
        assert_eq!(l["sigma_per_level_s"].as_array().unwrap().len(), 9);
    }
    let physical = noise(&["--model", "physical"]);
    let p: serde_json::Value = serde_json::from_slice(&physical.stdout).unwrap();
    let v_read = p["layers"][0]["voltage_mean_v"].as_f64().unwrap();
    assert!((v_read - 0.2).abs() < 1e-12, "{v_read}");
    for (args, key) in [
        (vec!["--cell-bits", "9"], "cell_bits"),
        (vec!["--model", "quantum"], "quantum"),
        (vec!["--images", "0"], "--images"),
        (vec!["--adc-bits", "1"], "adc_bits"),
    ] {
        let o = noise(&args);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains(key), "{args:?}: {}", stderr(&o));
    }

    // The robustness table at one corner, through the cached graph.
    let table = s.path("table");
    let run = || {
        s.run(&[
            "strategies",
            "--corner",
            "8,1e9,400,128",
            "--out",
            table.to_str().unwrap(),
        ])
    };
    let first = run();
    assert!(first.status.success(), "{}", stderr(&first));
    let md = std::fs::read_to_string(s.path("table.md")).unwrap();
    for row in [
        "noise_unaware",
        "| noise_free |",
        "gaussian",
        "programming_only",
        "resna |",
        "resna + FC vote",
    ] {
        assert!(md.contains(row), "{row} missing from\n{md}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("table.json")).unwrap()).unwrap();
    // Every row, the noise-free control among them, with the settings it ran at.
    assert_eq!(json["corners"][0]["cells"].as_array().unwrap().len(), 6);
    assert!(json["settings"].as_str().unwrap().contains("noise draws"));
    // Every node is cached: the second run computes nothing and prints the same table.
    let second = run();
    assert!(second.status.success());
    assert_eq!(std::fs::read_to_string(s.path("table.md")).unwrap(), md);
    // The noise command now finds the study's baseline.
    let o = noise(&[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["weights"].as_str().unwrap().starts_with("baseline "),
        "{v}"
    );
    let bad = s.run(&["strategies", "--corner", "8,1e9,400"]);
    assert!(!bad.status.success() && stderr(&bad).contains("--corner"));
}

/// The tiny study's ledger, up to its timing and host columns, is the one committed in
/// `tests/fixtures/tiny_study_ledger.txt` (written before the graph refactor): a change
/// of a key, of a design chosen or of a value fails here. A change meant to change the
/// output bumps its stage's code version and rewrites the file with
/// `XBAR_BLESS=1 cargo test -p pipeline --test e2e the_tiny_study_s_ledger`.
#[test]
fn the_tiny_study_s_ledger_is_the_committed_one() {
    let fixture = common::tiny_ledger_fixture();
    let s = Scratch::new(&tiny_config());
    let out = s.run(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = common::ledger_text(&s.path("study"));
    if std::env::var_os("XBAR_BLESS").is_some() {
        std::fs::create_dir_all(fixture.parent().unwrap()).unwrap();
        std::fs::write(&fixture, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&fixture).unwrap();
    assert_eq!(text, expected, "the tiny study's ledger changed");
}

#[test]
fn slurm_script_refuses_what_an_sbatch_line_cannot_carry() {
    let s = Scratch::new(&tiny_config());
    let out = s.run(&["slurm-script", "--partition", "debug\n#SBATCH --wrap=rm"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert!(
        errors.len() == 1 && errors[0].contains("--partition"),
        "{err}"
    );
    let spaced = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["slurm-script", "--study"])
        .arg(s.path("a study"))
        .output()
        .unwrap();
    assert!(!spaced.status.success());
    assert!(
        stderr(&spaced).contains("the study directory"),
        "{}",
        stderr(&spaced)
    );
    let ok = s.run(&["slurm-script", "--partition", "gpu-a100,debug"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("#SBATCH --partition=gpu-a100,debug"));
}

#[test]
fn bench_train_refuses_a_pytorx_folder_without_pytorx() {
    let s = Scratch::new(&tiny_config());
    let bench = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pipeline"))
            .args(["bench", "train", "--steps", "1"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(!bench(&["--pytorx"]).status.success());
    let out = bench(&["--pytorx", s.path("nowhere").to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--pytorx") && err.contains("nowhere"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    assert!(
        stdout(&out).is_empty(),
        "timed before checking: {}",
        stdout(&out)
    );
}

#[test]
fn the_report_reads_only_what_is_stored() {
    let cfg = tiny_config().replace("controls = []", "controls = [\"noise_free\", \"gaussian\"]");
    let s = Scratch::new(&cfg);
    assert!(s.run(&["run"]).status.success());
    let store = |v: Vec<(PathBuf, Vec<u8>)>| -> Vec<PathBuf> {
        v.into_iter()
            .map(|(p, _)| p)
            .filter(|p| p.starts_with(s.path("cache")))
            .collect()
    };
    let before = store(s.snapshot());
    let out = s.run(&["report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(store(s.snapshot()), before, "the report computed nothing");
    let html = std::fs::read_to_string(s.path("study/report/index.html")).unwrap();
    assert!(html.contains("against its controls"), "stored by run");
    // The controls, paired over the noise draws: the noise-free fine-tuning too.
    let md = std::fs::read_to_string(s.path("study/report/summary.md")).unwrap();
    assert!(
        md.contains("gain over the same fine-tuning without noise beyond two standard errors")
            && md.contains(" +- "),
        "{md}"
    );
    // Every draw behind the table, for a reader to recompute the paired gains.
    let csv = std::fs::read_to_string(s.path("study/report/controls.csv")).unwrap();
    assert!(
        csv.starts_with("eval_key,design,evaluation,draw,accuracy\n"),
        "{csv}"
    );
    for evaluation in [",resna,", ",noise_unaware,", ",noise_free,", ",gaussian,"] {
        assert!(csv.contains(evaluation), "{evaluation}: {csv}");
    }
    // Against a store without the study's nodes it computes nothing either.
    let empty = s.path("empty-cache");
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["report", "--study"])
        .arg(s.path("study"))
        .arg("--cache")
        .arg(&empty)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("computes nothing") && stderr(&out).contains("--cache"),
        "{}",
        stderr(&out)
    );
    let objects = std::fs::read_dir(empty.join("objects")).map_or(0, |d| d.count());
    assert_eq!(objects, 0);
    // Without --cache (and with a default store elsewhere) the study's own store is
    // found: `pipeline run` recorded it.
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["report", "--study"])
        .arg(s.path("study"))
        .env_remove("XBAR_CACHE")
        .env_remove("XBAR_CONFIG")
        .env("XDG_CACHE_HOME", s.path("elsewhere"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let status = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["status", "--study"])
        .arg(s.path("study"))
        .output()
        .unwrap();
    let text = stdout(&status);
    assert!(
        text.contains("% of the box") && text.contains("accuracy (%)"),
        "{text}"
    );
    assert!(!text.contains('{'), "a table, not JSON lines: {text}");
    // The controls in the status too, read from the study's store.
    assert!(
        text.contains("against noise_free:") && text.contains("against gaussian:"),
        "{text}"
    );
    let out = s.run(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let designs = json["controls"]["designs"].as_array().expect("controls");
    assert_eq!(designs.len(), json["pareto"].as_array().unwrap().len());
    for d in designs {
        for control in ["noise_unaware", "noise_free", "gaussian"] {
            let c = &d["controls"][control];
            let (ours, theirs) = (
                d["accuracy"].as_f64().unwrap(),
                c["accuracy"].as_f64().unwrap(),
            );
            assert!(
                (c["gain"].as_f64().unwrap() - (ours - theirs)).abs() < 1e-9,
                "{d}"
            );
            assert!(c["standard_error"].as_f64().is_some(), "{d}");
        }
    }
    let tally = &json["controls"]["tally"]["noise_free"];
    assert_eq!(
        tally["designs"].as_u64().unwrap() as usize,
        designs.len(),
        "{tally}"
    );
}

#[test]
fn the_strategies_table_pairs_every_gain_and_renders_again_from_its_figures() {
    let s = Scratch::new(&tiny_config());
    let out = s.run(&["strategies", "--strategy", "resna+nope"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--strategy resna+nope") && err.contains("noise_free"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    let table = s.path("table");
    let out = s.run(&[
        "strategies",
        "--corner",
        "2,5e8,350,64",
        "--strategy",
        "noise_free,resna",
        "--out",
        table.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = std::fs::read_to_string(table.with_extension("md")).unwrap();
    // The reference row always runs; the rows asked for follow; the rest do not.
    for row in ["| noise_unaware |", "| noise_free |", "| resna |"] {
        assert!(md.contains(row), "{row}: {md}");
    }
    assert!(!md.contains("| gaussian |"), "{md}");
    assert!(
        md.contains("| noise_free (the same fine-tuning without noise) | "),
        "{md}"
    );
    let gains = md.matches(" +- ").count();
    assert!(
        gains >= 5,
        "three accuracies and two paired gains at least: {md}"
    );
    // The figures render the same table again without running anything.
    let out = s.run(&[
        "strategies",
        "--from",
        table.with_extension("json").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&md), "{}", stdout(&out));
}

/// `bench optimizer --baselines` scores a peer's stored runs beside its own methods, on
/// the seeds they hold (here a copy of NSGA-II's trace under another name, made by
/// `pipeline query`); a file that is not a Parquet table is refused, naming the flag.
#[test]
fn bench_optimizer_scores_a_peer_s_stored_runs() {
    let s = Scratch::new(&tiny_config());
    let pipeline = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pipeline"))
            .args(args)
            .output()
            .unwrap()
    };
    let bench = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "bench",
            "optimizer",
            "--problem",
            "momf_park",
            "--seeds",
            "2",
            "--methods",
            "nsga2",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        pipeline(&args)
    };
    let first = s.path("first");
    assert!(bench(first.to_str().unwrap(), &[]).status.success());
    let stored = s.path("stored.parquet");
    let copy = pipeline(&[
        "query",
        "--table",
        first.join("optimizer-traces.parquet").to_str().unwrap(),
        "select problem, 'peer' as method, seed, evaluation, fidelity_z, cost, \
         cumulative_cost, hypervolume from evaluations where seed = 1",
        "--out",
        stored.to_str().unwrap(),
    ]);
    assert!(copy.status.success(), "{}", stderr(&copy));
    let second = s.path("second");
    let out = bench(
        second.to_str().unwrap(),
        &["--baselines", stored.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let row = |method: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("| momf_park | {method} | ")))
            .unwrap_or_else(|| panic!("no {method} row in {text}"));
        line.split('|').map(|c| c.trim().to_string()).collect()
    };
    // The peer holds seed 1 only; its regret is NSGA-II's on that seed, both at the
    // budget and with its (evaluated) recommendation.
    let (ours, peer) = (row("nsga2"), row("peer"));
    assert_eq!(ours[8], "2");
    assert_eq!(peer[8], "1");
    assert_eq!(peer[5], peer[6]);
    assert!(stderr(&out).contains("momf_park seed 1 peer (stored)"));
    assert!(!stderr(&out).contains("seed 0 peer"));
    std::fs::write(s.path("bad.parquet"), "not parquet").unwrap();
    let bad = bench(
        s.path("third").to_str().unwrap(),
        &["--baselines", s.path("bad.parquet").to_str().unwrap()],
    );
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--baselines"), "{}", stderr(&bad));
    assert!(!s.path("third").exists());
}
