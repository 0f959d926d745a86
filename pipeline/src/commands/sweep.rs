//! `pipeline sweep`: every design of a full-factorial grid at every fidelity, through the
//! study's graph, cache, ledger, executors and resume (its ledger is an ordinary study
//! ledger), so that `pipeline bench replay` can race the optimisers on it.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use stages::design::{Design, DesignSpace, Variable};

use crate::session::{execute, ExecutionArgs};
use crate::setup::{study_setup, StudyArgs};
use crate::study::Plan;

/// `pipeline sweep` options.
#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    study: StudyArgs,
    /// The grid, one `VARIABLE=V1,V2,...` per variable (cell_bits, xbar_size, freq_hz,
    /// temp_k, adc_bits), e.g. `--grid cell_bits=1,2,4,8 xbar_size=32,64,128`. A variable
    /// not named takes its config grid, or the minimum, middle and maximum of its range
    /// (geometric middle on a log range), or its one value when it is fixed.
    #[arg(long, num_args = 1.., value_name = "VARIABLE=V1,V2,...")]
    grid: Vec<String>,
    /// Start afresh when the config's problem changed (the old study is archived).
    #[arg(long)]
    new_study: bool,
    #[command(flatten)]
    execution: ExecutionArgs,
}

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

/// The full-factorial grid `specs` describes over `space`, the variables nested in
/// [`Variable::ALL`]'s order (`cell_bits` slowest).
fn designs(space: &DesignSpace, specs: &[String]) -> Result<Vec<Design>> {
    let mut values: Vec<(Variable, Option<Vec<f64>>)> =
        Variable::ALL.iter().map(|&v| (v, None)).collect();
    for spec in specs {
        let (name, list) = spec
            .split_once('=')
            .with_context(|| format!("--grid {spec}: expected VARIABLE=V1,V2,..."))?;
        let Some(variable) = Variable::from_name(name.trim()) else {
            let names: Vec<&str> = Variable::ALL.iter().map(|v| v.name()).collect();
            bail!(
                "--grid {spec}: unknown variable {name:?}; the variables are {}",
                names.join(", ")
            );
        };
        let slot = &mut values[Variable::ALL
            .iter()
            .position(|&v| v == variable)
            .expect("listed")]
        .1;
        if slot.is_some() {
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
        let axis = space.axis(variable);
        if let Some(v) = parsed.iter().find(|&&v| !axis.contains(v)) {
            bail!(
                "--grid {spec}: {v} is not a value of design_space.{} {}",
                variable.name(),
                axis.describe()
            );
        }
        let mut unique = parsed.clone();
        unique.sort_by(f64::total_cmp);
        unique.dedup();
        if unique.len() != parsed.len() {
            bail!("--grid {spec}: a value is repeated");
        }
        *slot = Some(parsed);
    }
    Ok(space.product(
        values
            .into_iter()
            .map(|(v, given)| (v, given.unwrap_or_else(|| space.axis(v).sweep_values())))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StudyConfig;

    fn grid(specs: &[&str]) -> Result<Vec<Design>> {
        let space = StudyConfig::default_config().into_inner().design_space;
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
    fn a_searched_adc_resolution_joins_the_grid() {
        let mut space = StudyConfig::default_config().into_inner().design_space;
        space.adc_bits = stages::design::Choice::Grid(vec![4, 6]);
        let specs = ["cell_bits=2", "xbar_size=64", "freq_hz=1e8", "temp_k=300"];
        let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        let g = designs(&space, &specs).unwrap();
        assert_eq!(g.iter().map(|d| d.adc_bits).collect::<Vec<_>>(), vec![4, 6]);
        let narrowed = [specs, vec!["adc_bits=6".to_string()]].concat();
        assert_eq!(designs(&space, &narrowed).unwrap().len(), 1);
    }

    #[test]
    fn bad_grids_name_the_flag_and_the_key() {
        let message = |specs: &[&str]| format!("{:#}", grid(specs).unwrap_err());
        assert!(message(&["cell_bits=9"]).contains("design_space.cell_bits"));
        assert!(message(&["temp_k=200"]).contains("not a value of design_space.temp_k"));
        assert!(message(&["adc_bits=6"]).contains("design_space.adc_bits 5 (fixed)"));
        assert!(message(&["volts=1"]).contains("unknown variable"));
        assert!(message(&["cell_bits"]).contains("VARIABLE=V1"));
        assert!(message(&["cell_bits=1,x"]).contains("not a number"));
        assert!(message(&["cell_bits=1,1"]).contains("repeated"));
        assert!(message(&["cell_bits=1", "cell_bits=2"]).contains("twice"));
    }
}
