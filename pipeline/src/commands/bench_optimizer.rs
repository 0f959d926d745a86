//! `pipeline bench optimizer`: CF-MESMO, its ablations, MESMO, NSGA-II and random search
//! on the synthetic multi-fidelity problems and the published ones
//! ([`optimizer::published`]), over several seeds, through the strategies the study
//! runs, scored beside the peers' stored runs (`--baselines`).

use optimizer::problem::MultiFidelityProblem;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use optimizer::benchmark::{self, BenchConfig, Method, TracePoint};

use optimizer::sampling::Sobol;

use crate::race::{check_race_args, selected_methods, write_traces, Race, RaceResults};
use crate::stored_baselines::StoredBaselines;

/// `pipeline bench optimizer` options.
#[derive(Args, Debug)]
pub struct OptimizerBenchArgs {
    /// The problems, comma-separated (branin_currin, crossbar_like, momf_branin_currin,
    /// momf_park, dtlz2_d6_m2, dtlz2_d6_m4, vehicle_safety, car_side_impact); all when
    /// absent.
    #[arg(long)]
    problem: Option<String>,
    /// Seeds per method and problem.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// The model-based methods' budget, as a fraction of NSGA-II's total cost; a method
    /// that has not reached NSGA-II's final hypervolume by then scores `inf`.
    #[arg(long, default_value_t = 0.2)]
    budget_fraction: f64,
    /// The methods to run, comma-separated (e.g. `cf_mesmo,mesmo,nsga2`); all when absent.
    #[arg(long)]
    methods: Option<String>,
    /// The peers' stored runs to score beside the methods (`bench/baseline-traces.parquet`,
    /// BoTorch's and pymoo's, written by `bench/optimizer_baselines.py --store`), on the
    /// seeds below `--seeds` that they hold.
    #[arg(long)]
    baselines: Option<PathBuf>,
    /// Where to write `optimizer-traces.parquet` and one SVG per problem.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

/// Runs the benchmark and prints `cost_ratio_vs_nsga2 <problem> <method>: R` lines and a
/// table per problem and method.
pub fn optimizer(args: &OptimizerBenchArgs) -> Result<()> {
    let names: Vec<&str> = match &args.problem {
        Some(list) => list
            .split(',')
            .map(|p| match benchmark::problem(p.trim()) {
                Some(_) => Ok(p.trim()),
                None => Err(anyhow::anyhow!(
                    "--problem {p}: unknown; the problems are {}",
                    benchmark::PROBLEMS.join(", ")
                )),
            })
            .collect::<Result<_>>()?,
        None => benchmark::PROBLEMS.to_vec(),
    };
    check_race_args(args.seeds, args.budget_fraction)?;
    let methods = selected_methods(args.methods.as_deref())?;
    let stored = args
        .baselines
        .as_deref()
        .map(|path| StoredBaselines::read(path, "--baselines"))
        .transpose()?;
    let config = BenchConfig::default();
    let budget = args.budget_fraction * config.nsga2_cost();
    let mut results = RaceResults::default();
    let mut specs = Vec::new();
    for name in &names {
        let problem = benchmark::problem(name).expect("checked");
        let (max_hv, published) = benchmark::max_hypervolume(problem.as_ref());
        specs.push(problem_spec(
            problem.as_ref(),
            max_hv,
            published,
            &config,
            args.seeds,
        ));
        eprintln!(
            "{name}: reference point {:?}, maximum hypervolume {max_hv:.6} ({})",
            benchmark::reference_point(problem.as_ref()),
            if published {
                "published"
            } else {
                "estimated by NSGA-II on the true functions, above any published figure"
            }
        );
        let race = Race {
            name,
            problem: problem.as_ref(),
            max_hv,
            methods: &methods,
            config: &config,
            seeds: args.seeds,
            budget_fraction: args.budget_fraction,
            stored: stored.as_ref(),
        };
        results.add(&race, &args.out)?;
        write_results(args, &config, budget, &specs, &results.rows)?;
    }
    results.print(&args.out.join("optimizer-traces.parquet"));
    Ok(())
}

/// Writes `problems.json` and `optimizer-traces.parquet` for the problems done so far
/// (after each problem, so an interrupted run keeps what it measured).
fn write_results(
    args: &OptimizerBenchArgs,
    config: &BenchConfig,
    budget: f64,
    specs: &[serde_json::Value],
    rows: &[(String, Method, u64, TracePoint)],
) -> Result<()> {
    let specs = serde_json::json!({
        "nsga2_population": config.nsga2_population,
        "nsga2_generations": config.nsga2_generations,
        "budget": budget,
        "max_evaluations": config.max_evaluations,
        "problems": specs,
    });
    cache::atomic::write_atomic(
        &args.out.join("problems.json"),
        &serde_json::to_vec_pretty(&specs)?,
    )?;
    write_traces(&args.out.join("optimizer-traces.parquet"), rows)
}

/// What the Python baselines (`bench/optimizer_baselines.py`) need of a problem: its
/// reference point and maximum hypervolume; its values at the first 8 Sobol points, at
/// full fidelity and (multi-fidelity problems) at `z = 0.4`, which the script checks its
/// own definition against; each seed's initial design (the points every method but
/// NSGA-II starts from), and the fidelities a multi-fidelity method evaluates them at.
fn problem_spec(
    problem: &dyn MultiFidelityProblem,
    max_hv: f64,
    published: bool,
    config: &BenchConfig,
    seeds: u64,
) -> serde_json::Value {
    let fidelities: &[f64] = if problem.multi_fidelity() {
        &[1.0, 0.4]
    } else {
        &[1.0]
    };
    let probes: Vec<serde_json::Value> = Sobol::new(problem.dim())
        .expect("benchmark dims are small")
        .take(8)
        .flat_map(|x| {
            fidelities
                .iter()
                .map(|&z| serde_json::json!({"y": problem.evaluate(&x, z), "x": x, "z": z}))
                .collect::<Vec<_>>()
        })
        .collect();
    let initial: Vec<Vec<Vec<f64>>> = (0..seeds)
        .map(|seed| {
            benchmark::initial_design(problem.dim(), Method::Mesmo, config, 1.0, seed)
                .into_iter()
                .map(|(x, _)| x)
                .collect()
        })
        .collect();
    // The fidelities CF-MESMO evaluates the initial design at (the same for every seed).
    let lowest = benchmark::fidelity_levels(problem, Method::CfMesmo, config)[0];
    let initial_fidelities: Vec<f64> =
        benchmark::initial_design(problem.dim(), Method::CfMesmo, config, lowest, 0)
            .into_iter()
            .map(|(_, z)| z)
            .collect();
    serde_json::json!({
        "name": problem.name(),
        "dim": problem.dim(),
        "multi_fidelity": problem.multi_fidelity(),
        "reference_point": benchmark::reference_point(problem),
        "max_hypervolume": max_hv,
        "max_hypervolume_published": published,
        "probes": probes,
        "initial_designs": initial,
        "initial_fidelities": initial_fidelities,
    })
}
