//! Benchmark of one CF-MESMO step at the size the issue sets: 100 observations of the
//! 4-objective crossbar-like problem at mixed fidelities, S = 10 front samples.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stages::optimizer::cf_mesmo::{
    fit_surrogates, propose, propose_from, Observation, StepConfig, StepProblem,
};
use stages::optimizer::sampling::latin_hypercube;
use stages::optimizer::synthetic::{CrossbarLike, MultiFidelityProblem};

fn step_100_observations(c: &mut Criterion) {
    let problem = CrossbarLike::new();
    let levels = [0.2, 0.4, 0.6, 0.8, 1.0];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let observations: Vec<Observation> = latin_hypercube(100, 4, &mut rng)
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            let z = levels[i % levels.len()];
            let y = problem.evaluate(&x, z);
            Observation { x, z, y }
        })
        .collect();
    let dependent = problem.fidelity_dependent();
    let cost = |z: f64| problem.cost(z);
    let step_problem = StepProblem {
        dim: 4,
        fidelity_dependent: &dependent,
        fidelities: &levels,
        cost: &cost,
    };
    let config = StepConfig::default();
    let mut group = c.benchmark_group("cf_mesmo");
    group.sample_size(10);
    group.bench_function("step 100 obs 4 objectives S=10", |b| {
        b.iter(|| propose(&observations, &step_problem, &config, 7).expect("step"))
    });
    group.bench_function("GP fits only", |b| {
        b.iter(|| fit_surrogates(&observations, &step_problem, &config, None).expect("fit"))
    });
    let fitted = fit_surrogates(&observations, &step_problem, &config, None).expect("fit");
    group.bench_function("step after the fits", |b| {
        b.iter(|| propose_from(&fitted, &step_problem, &config, 7).expect("step"))
    });
    // What a step costs when the GP fit node is cached (the same ledger rows fitted
    // before): the GPs conditioned on the stored hyperparameters, then the step.
    let thetas = fitted.thetas();
    group.bench_function("step with cached hyperparameters", |b| {
        b.iter(|| {
            let f =
                fit_surrogates(&observations, &step_problem, &config, Some(&thetas)).expect("fit");
            propose_from(&f, &step_problem, &config, 7).expect("step")
        })
    });
    // The worst case: the information is exhausted, so the front refinement runs after
    // the scoring (about 900 hypervolume improvements in 4 objectives).
    let refining = StepConfig {
        exhausted_gain: f64::INFINITY,
        ..StepConfig::default()
    };
    group.bench_function("step with front refinement", |b| {
        b.iter(|| propose(&observations, &step_problem, &refining, 7).expect("step"))
    });
    group.finish();
}

criterion_group!(benches, step_100_observations);
criterion_main!(benches);
