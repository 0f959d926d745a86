//! End-to-end tests of `pipeline sweep` and `pipeline bench replay` through the CLI.

mod common;

use std::process::Command;

use common::{kills_resume_to_the_uninterrupted_ledger, ledger, stderr, stdout, Scratch};

/// 2 x 1 x 2 x 1 designs; the tiny config's fidelities are 1 and 2 epochs.
const GRID: [&str; 5] = [
    "--grid",
    "cell_bits=2,8",
    "xbar_size=32",
    "freq_hz=1e7,1e9",
    "temp_k=300",
];

fn sweep_args() -> Vec<&'static str> {
    std::iter::once("sweep").chain(GRID).collect()
}

fn replay(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["bench", "replay"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_sweep_evaluates_its_grid_at_every_fidelity_and_the_replay_races_on_it() {
    let s = Scratch::new(&common::tiny_config());
    let out = s.run(&sweep_args());
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = ledger(&s.path("study"));
    assert_eq!(rows.len(), 8, "4 designs x 2 fidelities");
    assert!(rows
        .iter()
        .all(|r| r.strategy == "sweep" && r.status == "ok"));
    let at = |epochs: i32| rows.iter().filter(|r| r.fidelity_epochs == epochs).count();
    assert_eq!((at(1), at(2)), (4, 4));
    // The lower fidelity first, so that each evaluation continues the one below.
    assert!(rows[..4].iter().all(|r| r.fidelity_epochs == 1));

    let again = s.run(&sweep_args());
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("0 computed now"),
        "{}",
        stdout(&again)
    );

    let table = s.path("study");
    let results = s.path("replay");
    let out = replay(&[
        "--table",
        table.to_str().unwrap(),
        "--seeds",
        "2",
        "--out",
        results.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for method in ["cf_mesmo", "mesmo", "nsga2", "random"] {
        assert!(
            text.contains(&format!("cost_ratio_vs_nsga2 study {method}: ")),
            "{text}"
        );
    }
    assert!(text.contains("| study | nsga2 |"), "{text}");
    assert!(results.join("replay-traces.parquet").is_file());
    assert!(results.join("optimizer-study.svg").is_file());
}

/// The shipped table (a sweep of the default problem, compiled in) replays with no flag.
#[test]
fn the_shipped_table_replays_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = replay(&[
        "--seeds",
        "2",
        "--methods",
        "cf_mesmo,nsga2,random",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        stderr(&out).contains("sweep-default: 108 designs x 4 fidelities"),
        "{}",
        stderr(&out)
    );
    for method in ["cf_mesmo", "nsga2", "random"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("cost_ratio_vs_nsga2 sweep-default {method}: ")))
            .unwrap_or_else(|| panic!("no {method} line in {text}"));
        let ratio: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(ratio > 0.0, "{line}");
    }
    assert!(dir.path().join("replay-traces.parquet").is_file());
}

#[test]
fn a_sweep_killed_at_any_moment_resumes_to_the_uninterrupted_ledger() {
    kills_resume_to_the_uninterrupted_ledger(&sweep_args());
}

#[test]
fn bad_sweeps_and_tables_are_refused_with_the_flag_named() {
    let s = Scratch::new(&common::tiny_config());
    let out = s.run(&["sweep", "--grid", "cell_bits=9"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--grid cell_bits=9"),
        "{}",
        stderr(&out)
    );
    assert!(!s.path("study").exists(), "nothing is written");

    let missing = s.path("no-such-study");
    let out = replay(&["--table", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--table"), "{}", stderr(&out));

    // A sweep with a row missing is not a table.
    assert!(s
        .run(&[
            "sweep",
            "--grid",
            "cell_bits=2,8",
            "xbar_size=32",
            "freq_hz=1e7",
            "temp_k=300"
        ])
        .status
        .success());
    let part = common::first_ledger_part(&s.path("study"));
    std::fs::remove_file(part).unwrap();
    let table = s.path("study");
    let out = replay(&["--table", table.to_str().unwrap(), "--seeds", "1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a full grid"), "{}", stderr(&out));
}
