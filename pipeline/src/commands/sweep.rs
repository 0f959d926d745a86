//! `pipeline sweep`: every design of a full-factorial grid at every fidelity, through the
//! study's graph, cache, ledger, executors and resume (its ledger is an ordinary study
//! ledger), so that `pipeline bench replay` can race the optimisers on it.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use stages::design::Design;

use crate::config::{DesignSpace, Range};
use crate::session::{execute, ExecutionArgs};
use crate::setup::{study_setup, StudyArgs};
use crate::study::Plan;

/// `pipeline sweep` options.
#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    study: StudyArgs,
    /// The grid, one `VARIABLE=V1,V2,...` per variable (cell_bits, xbar_size, freq_hz,
    /// temp_k), e.g. `--grid cell_bits=1,2,4,8 xbar_size=32,64,128`. A variable not named
    /// takes its config grid (cell_bits, xbar_size), or the minimum, middle and maximum of
    /// its range (geometric middle on a log range; the one value of a fixed variable).
    #[arg(long, num_args = 1.., value_name = "VARIABLE=V1,V2,...")]
    grid: Vec<String>,
    /// Start afresh when the config's problem changed (the old study is archived).
    #[arg(long)]
    new_study: bool,
    #[command(flatten)]
    execution: ExecutionArgs,
}

/// The sweep's variables, in the grid's (and the design's) order.
const VARIABLES: [&str; DesignSpace::DIM] = ["cell_bits", "xbar_size", "freq_hz", "temp_k"];

/// `pipeline sweep`. Its study directory defaults to `./studies/<study.name>-sweep`, so
/// that a sweep and a search of the same config keep separate ledgers (they share the
/// store, and so every evaluation they have in common).
pub fn sweep(args: &SweepArgs) -> Result<()> {
    let (cfg, _) = study_setup(&args.study)?;
    let grid = designs(&cfg.design_space, &args.grid)?;
    let mut study = args.study.clone();
    if study.study.is_none() {
        study.study = Some(Path::new("studies").join(format!("{}-sweep", cfg.study.name)));
    }
    eprintln!(
        "sweep: {} designs x the fidelities {}..={} epochs",
        grid.len(),
        cfg.fidelity.min_epochs,
        cfg.fidelity.max_epochs
    );
    execute(
        &study,
        &[],
        args.new_study,
        &args.execution,
        Plan::Sweep(&grid),
    )
}

/// The full-factorial grid `specs` describes over `space`, `cell_bits` varying slowest.
fn designs(space: &DesignSpace, specs: &[String]) -> Result<Vec<Design>> {
    let mut values: [Option<Vec<f64>>; DesignSpace::DIM] = Default::default();
    for spec in specs {
        let (name, list) = spec
            .split_once('=')
            .with_context(|| format!("--grid {spec}: expected VARIABLE=V1,V2,..."))?;
        let Some(i) = VARIABLES.iter().position(|v| *v == name.trim()) else {
            bail!(
                "--grid {spec}: unknown variable {name:?}; the variables are {}",
                VARIABLES.join(", ")
            );
        };
        if values[i].is_some() {
            bail!("--grid {spec}: {name} is given twice");
        }
        let parsed: Vec<f64> = list
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .with_context(|| format!("--grid {spec}: {v:?} is not a number"))
            })
            .collect::<Result<_>>()?;
        for &v in &parsed {
            check_value(space, i, v).with_context(|| format!("--grid {spec}"))?;
        }
        let mut unique = parsed.clone();
        unique.sort_by(f64::total_cmp);
        unique.dedup();
        if unique.len() != parsed.len() {
            bail!("--grid {spec}: a value is repeated");
        }
        values[i] = Some(parsed);
    }
    let [bits, sizes, freqs, temps] = values;
    let bits = bits.unwrap_or_else(|| space.cell_bits.iter().map(|&b| f64::from(b)).collect());
    let sizes = sizes.unwrap_or_else(|| space.xbar_size.iter().map(|&s| f64::from(s)).collect());
    let freqs = freqs.unwrap_or_else(|| three_points(&space.freq_hz));
    let temps = temps.unwrap_or_else(|| three_points(&space.temp_k));
    let mut grid = Vec::new();
    for &b in &bits {
        for &s in &sizes {
            for &f in &freqs {
                for &t in &temps {
                    grid.push(Design {
                        cell_bits: b as u8,
                        xbar_size: s as u32,
                        freq_hz: f,
                        temp_k: t,
                        adc_bits: space.adc_bits,
                        read_voltage: space.read_voltage,
                        g_min: space.g_min,
                        g_max: space.g_max,
                    });
                }
            }
        }
    }
    Ok(grid)
}

/// Whether `v` is a value of variable `i` of `space`: on its grid, or in its range.
fn check_value(space: &DesignSpace, i: usize, v: f64) -> Result<()> {
    let key = VARIABLES[i];
    let on_grid = |grid: Vec<f64>| -> Result<()> {
        if grid.contains(&v) {
            Ok(())
        } else {
            bail!("{v} is not on design_space.{key} {grid:?}")
        }
    };
    match i {
        0 => on_grid(space.cell_bits.iter().map(|&b| f64::from(b)).collect()),
        1 => on_grid(space.xbar_size.iter().map(|&s| f64::from(s)).collect()),
        _ => {
            let range = if i == 2 { space.freq_hz } else { space.temp_k };
            let slack = 1e-9 * range.max.abs();
            if v < range.min - slack || v > range.max + slack {
                bail!(
                    "{v} is outside design_space.{key} [{}, {}]",
                    range.min,
                    range.max
                );
            }
            Ok(())
        }
    }
}

/// The minimum, middle and maximum of `range` (the geometric middle on a log scale), or
/// its one value when it is fixed.
fn three_points(range: &Range) -> Vec<f64> {
    if range.max <= range.min {
        return vec![range.min];
    }
    vec![range.min, range.decode(0.5), range.max]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StudyConfig;

    fn grid(specs: &[&str]) -> Result<Vec<Design>> {
        let space = StudyConfig::default_config().design_space;
        designs(
            &space,
            &specs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn the_grid_is_full_factorial_with_defaults_for_the_unnamed_variables() {
        let g = grid(&[
            "cell_bits=1,2,4,8",
            "xbar_size=32,64,128",
            "freq_hz=1e7,1e8,1e9",
        ])
        .unwrap();
        assert_eq!(g.len(), 4 * 3 * 3 * 3);
        assert_eq!((g[0].cell_bits, g[0].xbar_size, g[0].freq_hz), (1, 32, 1e7));
        assert_eq!(g[0].temp_k, 300.0);
        assert_eq!(
            g[1].temp_k, 350.0,
            "temp_k's range [300, 400] gives 300, 350, 400"
        );
        assert_eq!(g.last().unwrap().cell_bits, 8);
        let default = grid(&[]).unwrap();
        assert_eq!(default.len(), 8 * 3 * 3 * 3);
        assert!(
            (default[3].freq_hz - 1e8).abs() < 1.0,
            "the log range's middle"
        );
    }

    #[test]
    fn bad_grids_name_the_flag_and_the_key() {
        let message = |specs: &[&str]| format!("{:#}", grid(specs).unwrap_err());
        assert!(message(&["cell_bits=9"]).contains("design_space.cell_bits"));
        assert!(message(&["temp_k=200"]).contains("outside design_space.temp_k"));
        assert!(message(&["volts=1"]).contains("unknown variable"));
        assert!(message(&["cell_bits"]).contains("VARIABLE=V1"));
        assert!(message(&["cell_bits=1,x"]).contains("not a number"));
        assert!(message(&["cell_bits=1,1"]).contains("repeated"));
        assert!(message(&["cell_bits=1", "cell_bits=2"]).contains("twice"));
    }
}
