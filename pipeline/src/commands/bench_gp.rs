//! `pipeline bench gp`: the surrogate's hyperparameter fits against each other and against
//! BoTorch's `SingleTaskGP` on the same data: the held-out predictive log-likelihood of
//! each objective of the published problems (the fidelity an input where the problem has
//! one, as CF-MESMO models it), from a few training points to many.
//!
//! The data sets are written to `gp-heldout-data.json` for `bench/gp_heldout_botorch.py`,
//! which fits BoTorch on them and writes its scores; the committed scores
//! (`bench/gp-heldout-botorch.json`) are read back and printed beside ours where their
//! data's digest matches.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use optimizer::benchmark;
use optimizer::gp::{GpConfig, GpFit, Surrogate};
use optimizer::sampling::latin_hypercube;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The problems of the check.
const PROBLEMS: [&str; 5] = [
    "vehicle_safety",
    "car_side_impact",
    "dtlz2_d6_m2",
    "momf_branin_currin",
    "momf_park",
];

/// Training-set sizes.
const SIZES: [usize; 3] = [10, 20, 40];

/// Held-out points per data set.
const HELD_OUT: usize = 200;

/// `pipeline bench gp` options.
#[derive(Args, Debug)]
pub struct GpBenchArgs {
    /// BoTorch's scores on the same data (`bench/gp_heldout_botorch.py`'s output).
    #[arg(long, default_value = "bench/gp-heldout-botorch.json")]
    botorch: PathBuf,
    /// Where to write `gp-heldout-data.json` (the data sets) and `gp-heldout.json` (ours).
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

/// One data set: one objective of one problem at one training size, its outputs
/// standardised with the training set's mean and standard deviation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DataSet {
    problem: String,
    objective: usize,
    n: usize,
    train_x: Vec<Vec<f64>>,
    train_y: Vec<f64>,
    test_x: Vec<Vec<f64>>,
    test_y: Vec<f64>,
}

impl DataSet {
    /// The data set's name in the tables.
    fn key(&self) -> String {
        format!("{}/{}/{}", self.problem, self.objective, self.n)
    }
}

/// BoTorch's file: the scores by data-set key, and the digest of the data they fitted.
#[derive(Debug, Deserialize)]
struct BotorchScores {
    data_digest: String,
    versions: BTreeMap<String, String>,
    scores: BTreeMap<String, f64>,
}

/// The data sets, deterministic.
fn data_sets() -> Vec<DataSet> {
    let mut sets = Vec::new();
    for (p, name) in PROBLEMS.iter().enumerate() {
        let problem = benchmark::problem(name).expect("a benchmark problem");
        let fidelity = problem.multi_fidelity();
        let dim = problem.dim() + usize::from(fidelity);
        let evaluate = |point: &[f64]| -> Vec<f64> {
            match fidelity {
                true => problem.evaluate(&point[..dim - 1], point[dim - 1]),
                false => problem.evaluate(point, 1.0),
            }
        };
        for &n in &SIZES {
            let mut rng = ChaCha8Rng::seed_from_u64(1000 * p as u64 + n as u64);
            let train_x = latin_hypercube(n, dim, &mut rng);
            let test_x: Vec<Vec<f64>> = (0..HELD_OUT)
                .map(|_| (0..dim).map(|_| rng.random::<f64>()).collect())
                .collect();
            let train: Vec<Vec<f64>> = train_x.iter().map(|x| evaluate(x)).collect();
            let test: Vec<Vec<f64>> = test_x.iter().map(|x| evaluate(x)).collect();
            for objective in 0..problem.num_objectives() {
                let column =
                    |rows: &[Vec<f64>]| -> Vec<f64> { rows.iter().map(|r| r[objective]).collect() };
                let (ys, yt) = (column(&train), column(&test));
                let mean = ys.iter().sum::<f64>() / n as f64;
                let sd = (ys.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0))
                    .sqrt()
                    .max(f64::MIN_POSITIVE);
                let standard = |v: &[f64]| v.iter().map(|y| (y - mean) / sd).collect();
                sets.push(DataSet {
                    problem: name.to_string(),
                    objective,
                    n,
                    train_x: train_x.clone(),
                    train_y: standard(&ys),
                    test_x: test_x.clone(),
                    test_y: standard(&yt),
                });
            }
        }
    }
    sets
}

/// The mean held-out log density of the noisy observations under a fit.
fn held_out_log_likelihood(set: &DataSet, fit: GpFit) -> Result<f64> {
    let config = GpConfig {
        fit,
        ..GpConfig::default()
    };
    let gp = Surrogate::fit(&set.train_x, &set.train_y, &config)
        .with_context(|| format!("fitting {}", set.key()))?;
    let noise = gp.noise_variance();
    let predicted = gp.predict(&set.test_x);
    let total: f64 = predicted
        .iter()
        .zip(&set.test_y)
        .map(|(&(mean, sd), y)| {
            let var = sd * sd + noise;
            -0.5 * ((2.0 * std::f64::consts::PI * var).ln() + (y - mean).powi(2) / var)
        })
        .sum();
    Ok(total / set.test_y.len() as f64)
}

/// Writes the data sets, scores both fits, and prints them beside BoTorch's.
pub fn gp(args: &GpBenchArgs) -> Result<()> {
    let sets = data_sets();
    let data = serde_json::to_vec(&sets)?;
    let digest = blake3::hash(&data).to_hex().to_string();
    std::fs::create_dir_all(&args.out)?;
    cache::atomic::write_atomic(&args.out.join("gp-heldout-data.json"), &data)?;
    let botorch: Option<BotorchScores> = match std::fs::read(&args.botorch) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "--botorch {}: not the scores of bench/gp_heldout_botorch.py",
                args.botorch.display()
            )
        })?),
        Err(_) => None,
    };
    let botorch = botorch.filter(|b| {
        let same = b.data_digest == digest;
        if !same {
            eprintln!(
                "{}: fitted on other data (digest {}, ours {digest}); not compared",
                args.botorch.display(),
                b.data_digest
            );
        }
        same
    });
    if let Some(b) = &botorch {
        let versions: Vec<String> = b.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "BoTorch's scores from {} ({})",
            args.botorch.display(),
            versions.join(", ")
        );
    }
    println!(
        "held-out predictive log-likelihood per point (standardised outputs; higher is better), \
         mean over each problem's objectives; data digest {digest}\n"
    );
    println!("| problem | n | map (ours) | likelihood (egobox) | BoTorch SingleTaskGP |");
    println!("|---|---|---|---|---|");
    let mut ours = BTreeMap::new();
    let mut groups: BTreeMap<(usize, usize), Vec<&DataSet>> = BTreeMap::new();
    for s in &sets {
        let p = PROBLEMS
            .iter()
            .position(|p| *p == s.problem)
            .expect("a problem");
        groups.entry((p, s.n)).or_default().push(s);
    }
    let (mut wins, mut compared) = (0, 0);
    for ((p, n), group) in groups {
        let mut sums = [0.0; 3];
        let mut complete = true;
        for s in &group {
            let map = held_out_log_likelihood(s, GpFit::Map)?;
            let likelihood = held_out_log_likelihood(s, GpFit::Likelihood)?;
            ours.insert(s.key(), (map, likelihood));
            sums[0] += map;
            sums[1] += likelihood;
            match botorch.as_ref().and_then(|b| b.scores.get(&s.key())) {
                Some(v) => sums[2] += v,
                None => complete = false,
            }
        }
        let k = group.len() as f64;
        let theirs = match complete && botorch.is_some() {
            true => {
                compared += 1;
                wins += usize::from(sums[0] >= sums[2]);
                format!("{:.3}", sums[2] / k)
            }
            false => "-".to_string(),
        };
        println!(
            "| {} | {n} | {:.3} | {:.3} | {theirs} |",
            PROBLEMS[p],
            sums[0] / k,
            sums[1] / k
        );
    }
    if compared > 0 {
        println!("\nmap at or above BoTorch on {wins} of {compared} (problem, n) cells");
    }
    cache::atomic::write_atomic(
        &args.out.join("gp-heldout.json"),
        &serde_json::to_vec_pretty(&serde_json::json!({ "data_digest": digest, "scores": ours }))?,
    )?;
    Ok(())
}
