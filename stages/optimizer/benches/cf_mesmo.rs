//! Benchmark of one CF-MESMO step at the sizes the issues set: 100 and 1,000 observations
//! of the 4-objective crossbar-like problem at mixed fidelities, S = 10 front samples,
//! with the front-conditioned gain, MESMO's and our hypervolume gain.

use criterion::{criterion_group, criterion_main, Criterion};
use optimizer::cf_mesmo::{fit_surrogates, propose, propose_from, Gain, StepConfig};
use optimizer::problem::{
    KnownObjectives, MultiFidelityProblem, ObjectiveKind, Observation, StepProblem,
};
use optimizer::sampling::latin_hypercube;
use optimizer::synthetic::CrossbarLike;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const LEVELS: [f64; 5] = [0.2, 0.4, 0.6, 0.8, 1.0];

/// `n` space-filling observations of the crossbar-like problem, the fidelities in turn.
fn observations(problem: &CrossbarLike, n: usize) -> Vec<Observation> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    latin_hypercube(n, 4, &mut rng)
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            let z = LEVELS[i % LEVELS.len()];
            let y = problem.evaluate(&x, z);
            Observation { x, z, y }
        })
        .collect()
}

/// The crossbar-like problem's step: accuracy modelled, PPA known, five fidelities.
fn step_problem<'a>(
    kinds: &'a [ObjectiveKind],
    known: KnownObjectives<'a>,
    cost: &'a (dyn Fn(f64, f64) -> f64 + Sync),
) -> StepProblem<'a> {
    StepProblem {
        dim: 4,
        objectives: kinds,
        levels: &[],
        fidelities: &LEVELS,
        cost,
        known: Some(known),
        reference: None,
        allowance: None,
    }
}

fn step_100_observations(c: &mut Criterion) {
    let problem = CrossbarLike::new();
    let observations = observations(&problem, 100);
    let kinds = problem.objective_kinds();
    let known = |x: &[f64]| problem.evaluate(x, 1.0)[1..].to_vec();
    let cost = |_: f64, z: f64| problem.cost(z);
    let step_problem = step_problem(&kinds, &known, &cost);
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
    let kernels = fitted.kernels();
    group.bench_function("step with cached hyperparameters", |b| {
        b.iter(|| {
            let f =
                fit_surrogates(&observations, &step_problem, &config, Some(&kernels)).expect("fit");
            propose_from(&f, &step_problem, &config, 7).expect("step")
        })
    });
    // The worst case: every objective modelled by a GP (the authors' setting), so the
    // front-conditioned gain splits a four-objective front into boxes.
    let modelled = StepConfig {
        known_objectives: false,
        ..StepConfig::default()
    };
    group.bench_function("step with 4 modelled objectives", |b| {
        b.iter(|| propose(&observations, &step_problem, &modelled, 7).expect("step"))
    });
    let mesmo = StepConfig {
        known_objectives: false,
        gain: Gain::Mesmo,
        ..StepConfig::default()
    };
    group.bench_function("step with 4 modelled objectives, MESMO gain", |b| {
        b.iter(|| propose(&observations, &step_problem, &mesmo, 7).expect("step"))
    });
    let hypervolume = StepConfig {
        gain: Gain::Hypervolume,
        ..StepConfig::default()
    };
    group.bench_function("step with the hypervolume gain", |b| {
        b.iter(|| propose(&observations, &step_problem, &hypervolume, 7).expect("step"))
    });
    let hypervolume_modelled = StepConfig {
        known_objectives: false,
        ..hypervolume.clone()
    };
    group.bench_function("step with 4 modelled objectives, hypervolume gain", |b| {
        b.iter(|| propose(&observations, &step_problem, &hypervolume_modelled, 7).expect("step"))
    });
    group.finish();
}

/// A Slurm study with many workers reaches a thousand evaluations: one step there, the
/// GPs fitted and the step taken, with the front-conditioned and the hypervolume gain, and
/// with every objective modelled.
fn step_1000_observations(c: &mut Criterion) {
    let problem = CrossbarLike::new();
    let observations = observations(&problem, 1000);
    let kinds = problem.objective_kinds();
    let known = |x: &[f64]| problem.evaluate(x, 1.0)[1..].to_vec();
    let cost = |_: f64, z: f64| problem.cost(z);
    let step_problem = step_problem(&kinds, &known, &cost);
    let mut group = c.benchmark_group("cf_mesmo 1000 observations");
    group.sample_size(10);
    for gain in [Gain::ParetoFront, Gain::Hypervolume] {
        let config = StepConfig {
            gain,
            ..StepConfig::default()
        };
        group.bench_function(format!("step 1000 obs 4 objectives, {gain:?} gain"), |b| {
            b.iter(|| propose(&observations, &step_problem, &config, 7).expect("step"))
        });
    }
    // The worst case the issue sizes: every objective modelled, the hypervolume gain.
    let modelled = StepConfig {
        known_objectives: false,
        ..StepConfig::default()
    };
    group.bench_function(
        "step 1000 obs 4 modelled objectives, Hypervolume gain",
        |b| b.iter(|| propose(&observations, &step_problem, &modelled, 7).expect("step")),
    );
    group.finish();
}

criterion_group!(benches, step_100_observations, step_1000_observations);
criterion_main!(benches);
