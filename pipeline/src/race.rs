//! Races of search strategies on multi-fidelity problems: per seed, NSGA-II first (its cost
//! is the unit), then every method within a budget; their traces, summaries and tables.
//! `pipeline bench optimizer` runs them on the synthetic and published problems,
//! `pipeline bench replay` on a sweep's table.

use optimizer::problem::MultiFidelityProblem;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Result};
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use optimizer::benchmark::{
    self, cost_to_reach, hypervolume_at, median, BenchConfig, Method, TracePoint,
};

use crate::plot::{line_chart, Series};
use crate::stored_baselines::StoredBaselines;

/// The supplementary criterion: within this relative distance of NSGA-II's final
/// hypervolume. Near the optimum, hypervolumes measured against a reference point beyond
/// the worst designs differ in the fifth digit, so the strict criterion can hinge on a
/// difference of no practical weight; both are printed.
const NEAR: f64 = 1e-3;

/// The shares of the problem's maximum hypervolume whose cost is compared with
/// NSGA-II's: a target that does not depend on NSGA-II's own budget.
const SHARES: [f64; 4] = [0.80, 0.90, 0.95, 0.99];

/// What one method reached on one problem, per seed.
#[derive(Default)]
struct MethodScores {
    /// Cost to reach NSGA-II's final hypervolume, as a fraction of NSGA-II's cost.
    ratio: Vec<f64>,
    /// The same within 0.1 % of it.
    near: Vec<f64>,
    /// log10 of (maximum hypervolume - hypervolume) at the model-based budget.
    log_regret: Vec<f64>,
    /// The same for the front of the evaluations and the recommended set (our methods'
    /// final phase evaluates theirs within the budget, so for them it is `log_regret`).
    recommended_regret: Vec<f64>,
    /// Share of the cost spent at full fidelity.
    full_share: Vec<f64>,
    /// Per share of [`SHARES`], per seed: the cost to reach that share of the maximum
    /// hypervolume over NSGA-II's cost to reach it on the same seed (`inf` where the
    /// method does not reach it; `NaN` where neither does; 0 where only it does).
    share_ratio: [Vec<f64>; 4],
    /// Per share, the seeds on which the method reaches it.
    share_reached: [usize; 4],
}

/// What one seed's NSGA-II run sets for every method on that seed.
struct Unit {
    /// NSGA-II's final hypervolume.
    target: f64,
    /// NSGA-II's cost, the unit of the ratios.
    nsga_cost: f64,
    /// The model-based methods' budget.
    budget: f64,
    /// The problem's maximum hypervolume.
    max_hv: f64,
    /// NSGA-II's cost to reach each of [`SHARES`] of the maximum hypervolume.
    nsga_share_costs: [Option<f64>; 4],
}

/// The cost at which `trace` first reaches each of [`SHARES`] of `max_hv`.
fn share_costs(trace: &[TracePoint], max_hv: f64) -> [Option<f64>; 4] {
    SHARES.map(|share| cost_to_reach(trace, share * max_hv))
}

/// log10 of the gap to the maximum hypervolume (`-inf` at it).
fn log_regret(max_hv: f64, hypervolume: f64) -> f64 {
    (max_hv - hypervolume).max(0.0).log10()
}

impl MethodScores {
    /// Scores one seed's `trace` against that seed's NSGA-II `unit`; `recommended` is the
    /// hypervolume with the recommended set where the method recommends more than it
    /// evaluated within the budget.
    fn add(&mut self, trace: &[TracePoint], recommended: Option<f64>, unit: &Unit) {
        let ratio_at =
            |t: f64| cost_to_reach(trace, t).map_or(f64::INFINITY, |c| c / unit.nsga_cost);
        self.ratio.push(ratio_at(unit.target));
        self.near.push(ratio_at(unit.target * (1.0 - NEAR)));
        let at_budget = hypervolume_at(trace, unit.budget);
        self.log_regret.push(log_regret(unit.max_hv, at_budget));
        self.recommended_regret.push(log_regret(
            unit.max_hv,
            recommended.map_or(at_budget, |r| r.max(at_budget)),
        ));
        // Folded from +0 (an empty f64 sum is -0, printed "-0 %").
        let spent = trace.iter().fold(0.0, |a, t| a + t.cost);
        let full = trace
            .iter()
            .filter(|t| t.z >= 1.0)
            .fold(0.0, |a, t| a + t.cost);
        self.full_share.push(full / spent);
        for (k, (ours, theirs)) in share_costs(trace, unit.max_hv)
            .into_iter()
            .zip(unit.nsga_share_costs)
            .enumerate()
        {
            self.share_reached[k] += usize::from(ours.is_some());
            self.share_ratio[k].push(match (ours, theirs) {
                (Some(a), Some(b)) => a / b,
                (Some(_), None) => 0.0,
                (None, Some(_)) => f64::INFINITY,
                (None, None) => f64::NAN,
            });
        }
    }
}

/// Refuses a seed count or budget fraction that is not positive.
pub(crate) fn check_race_args(seeds: u64, budget_fraction: f64) -> Result<()> {
    if seeds == 0 || budget_fraction.is_nan() || budget_fraction <= 0.0 {
        bail!("--seeds and --budget-fraction must be positive");
    }
    Ok(())
}

/// The methods raced on one problem, over seeds `0..seeds`.
pub(crate) struct Race<'a> {
    /// The problem's name in the traces and tables.
    pub name: &'a str,
    /// The problem.
    pub problem: &'a dyn MultiFidelityProblem,
    /// Its maximum hypervolume, against which regrets are measured.
    pub max_hv: f64,
    /// The methods.
    pub methods: &'a [Method],
    /// The benchmark's settings.
    pub config: &'a BenchConfig,
    /// Seeds per method.
    pub seeds: u64,
    /// The model-based methods' budget, as a fraction of NSGA-II's cost.
    pub budget_fraction: f64,
    /// The peers' stored runs scored beside the methods, where there are any.
    pub stored: Option<&'a StoredBaselines>,
}

/// What the races so far measured: every trace point, the per-method summary lines and
/// the table.
pub(crate) struct RaceResults {
    /// (problem, method, seed, point), in the order run.
    pub rows: Vec<(String, Method, u64, TracePoint)>,
    summary: Vec<String>,
    table: Vec<String>,
    /// The table of the costs to reach shares of the maximum hypervolume.
    share_table: Vec<String>,
}

impl Default for RaceResults {
    fn default() -> Self {
        RaceResults {
            rows: Vec::new(),
            summary: Vec::new(),
            table: vec![
                "| problem | method | cost to NSGA-II's final HV (median, x NSGA-II's cost) \
                 | within 0.1 % | log10 HV regret at the budget, median [q1, q3] | with the \
                 recommended set | cost at full fidelity | seeds |"
                    .to_string(),
                "|---|---|---|---|---|---|---|---|".to_string(),
            ],
            share_table: vec![
                format!(
                    "| problem | method |{}",
                    SHARES
                        .iter()
                        .map(|s| format!(
                            " cost to {:.0} % of the max HV, x NSGA-II's (seeds) |",
                            100.0 * s
                        ))
                        .collect::<String>()
                ),
                format!("|---|---|{}", "---|".repeat(SHARES.len())),
            ],
        }
    }
}

impl RaceResults {
    /// Runs `race`: per seed, NSGA-II first (its cost, what it spent on that seed, is the
    /// unit of the ratios; its final hypervolume the target), then each method, the
    /// model-based ones within `budget_fraction` of NSGA-II's cost, random search within
    /// all of it. Writes `optimizer-<name>.svg` under `out`.
    pub fn add(&mut self, race: &Race, out: &Path) -> Result<()> {
        let name = race.name;
        let problem = race.problem;
        let config = race.config;
        let stored = |seed| race.stored.map_or(&[][..], |s| s.runs(name, seed));
        let mut scores: Vec<(String, MethodScores)> = race
            .methods
            .iter()
            .map(|m| m.to_string())
            .chain(
                race.stored
                    .map_or(Vec::new(), |s| s.methods(name, race.seeds)),
            )
            .map(|m| (m, MethodScores::default()))
            .collect();
        let mut series = Vec::new();
        for seed in 0..race.seeds {
            let nsga = benchmark::run(problem, Method::Nsga2, config, seed, config.nsga2_cost())?;
            let last = nsga.last();
            let nsga_cost = last.map_or(0.0, |t| t.cumulative_cost);
            let unit = Unit {
                target: last.map_or(0.0, |t| t.hypervolume),
                nsga_cost,
                budget: race.budget_fraction * nsga_cost,
                max_hv: race.max_hv,
                nsga_share_costs: share_costs(&nsga, race.max_hv),
            };
            for (i, (label, score)) in scores.iter_mut().enumerate() {
                let ours = race.methods.iter().find(|m| m.as_str() == label).copied();
                let (trace, recommended) = match ours {
                    Some(Method::Nsga2) => (nsga.clone(), None),
                    Some(Method::Random) => (
                        benchmark::run(problem, Method::Random, config, seed, nsga_cost)?,
                        None,
                    ),
                    Some(method) => (
                        benchmark::run(problem, method, config, seed, unit.budget)?,
                        None,
                    ),
                    None => match stored(seed).iter().find(|r| &r.method == label) {
                        Some(run) => (run.trace.clone(), run.recommended_hypervolume),
                        None => continue,
                    },
                };
                score.add(&trace, recommended, &unit);
                eprintln!(
                    "{name} seed {seed} {label}{}: {} evaluations, ratio {:.4} (within 0.1 %: \
                     {:.4}), log10 regret {:.3}, {:.0} % of the cost at full fidelity",
                    if ours.is_some() { "" } else { " (stored)" },
                    trace.len(),
                    score.ratio.last().expect("added"),
                    score.near.last().expect("added"),
                    score.log_regret.last().expect("added"),
                    100.0 * score.full_share.last().expect("added")
                );
                series.push(Series {
                    label: label.clone(),
                    colour: i,
                    points: trace
                        .iter()
                        .map(|t| (t.cumulative_cost, t.hypervolume))
                        .collect(),
                });
                if let Some(method) = ours {
                    self.rows.extend(
                        trace
                            .into_iter()
                            .map(|t| (name.to_string(), method, seed, t)),
                    );
                }
            }
        }
        std::fs::create_dir_all(out)?;
        line_chart(
            &out.join(format!("optimizer-{name}.svg")),
            &format!("{name}: hypervolume of the full-fidelity front"),
            "cumulative cost (full-fidelity evaluations)",
            "hypervolume",
            &series,
        )?;
        for (method, score) in scores {
            self.summary.push(format!(
                "cost_ratio_vs_nsga2 {name} {method}: {}",
                median(&score.ratio)
            ));
            self.summary.push(format!(
                "cost_ratio_vs_nsga2_within_0.1pct {name} {method}: {}",
                median(&score.near)
            ));
            let seeds = score.log_regret.len();
            let (q1, q2, q3) = quartiles(&score.log_regret);
            let (r1, r2, r3) = quartiles(&score.recommended_regret);
            self.table.push(format!(
                "| {name} | {method} | {:.3} | {:.3} | {q2:.3} [{q1:.3}, {q3:.3}] | \
                 {r2:.3} [{r1:.3}, {r3:.3}] | {:.0} % | {seeds} |",
                median(&score.ratio),
                median(&score.near),
                100.0 * median(&score.full_share)
            ));
            let cells: String = SHARES
                .iter()
                .enumerate()
                .map(|(k, share)| {
                    // Seeds on which neither reaches the share do not compare.
                    let compared: Vec<f64> = score.share_ratio[k]
                        .iter()
                        .copied()
                        .filter(|r| !r.is_nan())
                        .collect();
                    let m = median(&compared);
                    self.summary.push(format!(
                        "cost_ratio_to_{:.0}pct_of_max_hv {name} {method}: {m} ({} of {} seeds reach it)",
                        100.0 * share,
                        score.share_reached[k],
                        seeds
                    ));
                    format!(" {m:.3} ({}/{seeds}) |", score.share_reached[k])
                })
                .collect();
            self.share_table
                .push(format!("| {name} | {method} |{cells}"));
        }
        Ok(())
    }

    /// Prints where the traces are, the summary lines and the table.
    pub fn print(&self, traces: &Path) {
        println!("traces: {} (plots beside it)", traces.display());
        for line in self.summary.iter().chain(&self.table) {
            println!("{line}");
        }
        println!(
            "\ncost to reach a share of the problem's maximum hypervolume, as a fraction of \
             NSGA-II's cost to reach it on the same seed (median over the seeds where either \
             reaches it; inf: not within the method's budget), and the seeds on which the \
             method reaches it:"
        );
        for line in &self.share_table {
            println!("{line}");
        }
    }
}

/// Writes the trace points `rows` to the Parquet file `path`, atomically.
pub(crate) fn write_traces(path: &Path, rows: &[(String, Method, u64, TracePoint)]) -> Result<()> {
    let (schema, batch) = traces_table(rows)?;
    cache::table::write_parquet_atomic(path, &schema, &[batch])
}

/// The methods `--methods` names (comma-separated), or all of them.
pub(crate) fn selected_methods(list: Option<&str>) -> Result<Vec<Method>> {
    let Some(list) = list else {
        return Ok(Method::ALL.to_vec());
    };
    list.split(',')
        .map(|name| {
            Method::ALL
                .into_iter()
                .find(|m| m.as_str() == name.trim())
                .ok_or_else(|| {
                    let all: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
                    anyhow::anyhow!(
                        "--methods: unknown method {name:?}; the methods are {}",
                        all.join(", ")
                    )
                })
        })
        .collect()
}

/// The first quartile, the median and the third quartile (linear interpolation).
fn quartiles(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if v.is_empty() {
            return f64::NAN;
        }
        let pos = q * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        // A regret of -inf (the maximum reached) bounds the interpolation, not NaN.
        match (v[lo], v[hi]) {
            (a, b) if a == b || lo == hi => a,
            (f64::NEG_INFINITY, _) => f64::NEG_INFINITY,
            (_, f64::INFINITY) => f64::INFINITY,
            (a, b) => a + (b - a) * (pos - lo as f64),
        }
    };
    (at(0.25), at(0.5), at(0.75))
}

fn traces_table(rows: &[(String, Method, u64, TracePoint)]) -> Result<(Arc<Schema>, RecordBatch)> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("problem", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("seed", DataType::UInt64, false),
        Field::new("evaluation", DataType::UInt64, false),
        Field::new("fidelity_z", DataType::Float64, false),
        Field::new("cost", DataType::Float64, false),
        Field::new("cumulative_cost", DataType::Float64, false),
        Field::new("hypervolume", DataType::Float64, false),
    ]));
    let f = |get: fn(&TracePoint) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| get(&r.3)),
        ))
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.1.as_str()),
            )),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(UInt64Array::from_iter_values(
                rows.iter().map(|r| r.3.evaluation as u64),
            )),
            f(|t| t.z),
            f(|t| t.cost),
            f(|t| t.cumulative_cost),
            f(|t| t.hypervolume),
        ],
    )?;
    Ok((schema, batch))
}

#[cfg(test)]
mod tests {
    use super::quartiles;

    #[test]
    fn quartiles_interpolate_and_keep_an_infinite_regret() {
        assert_eq!(quartiles(&[3.0, 1.0, 2.0, 4.0, 5.0]), (2.0, 3.0, 4.0));
        assert_eq!(quartiles(&[1.0, 2.0]), (1.25, 1.5, 1.75));
        let (q1, q2, q3) = quartiles(&[-4.155, f64::NEG_INFINITY, -4.603]);
        assert_eq!((q1, q2), (f64::NEG_INFINITY, -4.603));
        assert!((q3 - (-4.603 + 0.5 * (4.603 - 4.155))).abs() < 1e-12);
        assert!(quartiles(&[]).0.is_nan());
    }
}
