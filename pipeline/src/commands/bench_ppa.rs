//! `pipeline bench ppa`: the PPA models side by side with DNN+NeuroSim V1.3's own runs
//! (`bench/neurosim-reference.json`, compiled in), and the time of one estimate.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use stages::ppa::neurosim::reference::{self, Run};
use stages::ppa::PpaReport;

/// Options of `pipeline bench ppa`.
#[derive(Args, Debug)]
pub struct PpaBenchArgs {
    /// Estimates timed per setting (the time of one is the median over settings of the
    /// mean of these).
    #[arg(long, default_value_t = 20)]
    repeats: u32,
}

/// The ratio columns of one model against NeuroSim.
fn ratios(r: &PpaReport, run: &Run) -> [f64; 3] {
    [
        r.area_um2 / run.area_um2,
        r.latency_ns / run.latency_ns,
        r.energy_pj / run.energy_pj,
    ]
}

fn median(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    }
}

/// Prints the side-by-side table, the worst deviations, the rank correlations and the
/// time of one estimate.
pub fn ppa(args: &PpaBenchArgs) -> Result<()> {
    let runs = reference::runs();
    println!(
        "| setting | NeuroSim area mm^2 / latency ms / energy uJ | neurosim | ratio | analytic | ratio |"
    );
    println!("|---|---|---|---|---|---|");
    let mut ours = Vec::new();
    let mut analytic = Vec::new();
    let mut times = (Vec::new(), Vec::new());
    for run in &runs {
        let t0 = Instant::now();
        for _ in 0..args.repeats {
            std::hint::black_box(reference::estimate(run));
        }
        times
            .0
            .push(t0.elapsed().as_secs_f64() / f64::from(args.repeats));
        let t0 = Instant::now();
        for _ in 0..args.repeats {
            std::hint::black_box(reference::estimate_analytic(run));
        }
        times
            .1
            .push(t0.elapsed().as_secs_f64() / f64::from(args.repeats));
        let (n, a) = (reference::estimate(run), reference::estimate_analytic(run));
        let triple = |area: f64, lat: f64, en: f64| {
            format!("{:.2} / {:.3} / {:.2}", area * 1e-6, lat * 1e-6, en * 1e-6)
        };
        let fmt = |r: [f64; 3]| format!("{:.3} / {:.3} / {:.3}", r[0], r[1], r[2]);
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            run.name,
            triple(run.area_um2, run.latency_ns, run.energy_pj),
            triple(n.area_um2, n.latency_ns, n.energy_pj),
            fmt(ratios(&n, run)),
            triple(a.area_um2, a.latency_ns, a.energy_pj),
            fmt(ratios(&a, run)),
        );
        ours.push(n);
        analytic.push(a);
    }
    println!();
    let names = ["area", "latency", "energy"];
    for (label, reports) in [("neurosim", &ours), ("analytic", &analytic)] {
        let mut parts = Vec::new();
        for (k, name) in names.iter().enumerate() {
            let model: Vec<f64> = reports
                .iter()
                .zip(&runs)
                .map(|(r, run)| ratios(r, run)[k])
                .collect();
            let worst = model.iter().map(|x| (x - 1.0).abs()).fold(0.0, f64::max);
            let theirs: Vec<f64> = runs
                .iter()
                .map(|r| [r.area_um2, r.latency_ns, r.energy_pj][k])
                .collect();
            let mine: Vec<f64> = reports
                .iter()
                .map(|r| [r.area_um2, r.latency_ns, r.energy_pj][k])
                .collect();
            parts.push(format!(
                "{name}: worst |ratio - 1| {:.3}, Spearman {:.4}",
                worst,
                reference::spearman(&theirs, &mine)
            ));
        }
        println!("{label} over {} settings: {}", runs.len(), parts.join("; "));
    }
    println!(
        "one estimate (median over the settings of the mean of {}): neurosim {:.1} us, \
         analytic {:.1} us",
        args.repeats,
        median(times.0) * 1e6,
        median(times.1) * 1e6
    );
    Ok(())
}
