//! The authors' CF-MESMO, pinned: its decisions on the Branin-Currin problem from the
//! benchmarks' initial design, against a committed trace, so that a change to code the
//! methods share (the GP, the samplers, the candidate pool, the loop) cannot move the
//! paper's method silently. A deliberate change re-blesses the trace:
//! `XBAR_BLESS=1 cargo test -p optimizer --test authors_cf_mesmo`.

use optimizer::benchmark::{fidelity_levels, initial_design, BenchConfig, Method};
use optimizer::nsga2::Nsga2Config;
use optimizer::problem::{MultiFidelityProblem, Observation, StepProblem};
use optimizer::strategy::{drive, Evaluations, Forgetful, Proposal, StepMemory, StrategySpec};
use optimizer::synthetic::BraninCurrin;

/// The evaluations after the initial design's 8 that the trace pins.
const STEPS: usize = 6;
const SEED: u64 = 7;
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cf_mesmo_authors_branin_currin.json"
);

/// Evaluates on the problem and records every (design, fidelity) decided.
struct Recorder<'p> {
    problem: &'p dyn MultiFidelityProblem,
    decisions: Vec<(Vec<f64>, f64)>,
    limit: usize,
}

impl Evaluations for Recorder<'_> {
    fn next_batch(&mut self) -> usize {
        usize::from(self.decisions.len() < self.limit)
    }

    fn memory(&mut self) -> Box<dyn StepMemory + '_> {
        Box::new(Forgetful)
    }

    fn evaluate(&mut self, proposals: Vec<Proposal>) -> anyhow::Result<Vec<Observation>> {
        Ok(proposals
            .into_iter()
            .map(|p| {
                self.decisions.push((p.x.clone(), p.z));
                Observation {
                    y: self.problem.evaluate(&p.x, p.z),
                    x: p.x,
                    z: p.z,
                }
            })
            .collect())
    }

    fn evaluate_final(&mut self, _designs: Vec<Vec<f64>>) -> anyhow::Result<()> {
        Ok(())
    }
}

#[test]
fn the_authors_cf_mesmo_decides_as_committed() {
    let problem = BraninCurrin::new();
    let config = BenchConfig::default();
    let method = Method::CfMesmoAuthors;
    let fidelities = fidelity_levels(&problem, method, &config);
    let kinds = problem.objective_kinds();
    let levels = problem.levels();
    let cost = |from: f64, z: f64| problem.expected_cost(from, z);
    let initial = initial_design(problem.dim(), method, &config, fidelities[0], SEED);
    let limit = initial.len() + STEPS;
    let mut strategy = StrategySpec {
        kind: method.kind(),
        problem: StepProblem {
            dim: problem.dim(),
            objectives: &kinds,
            levels: &levels,
            fidelities: &fidelities,
            cost: &cost,
            known: None,
            reference: None,
            allowance: None,
        },
        step: method.step_config(&config.step),
        nsga2: Nsga2Config::default(),
        failure: vec![f64::MIN / 4.0; kinds.len()],
        initial,
        seed: SEED,
    }
    .build();
    let mut recorder = Recorder {
        problem: &problem,
        decisions: Vec::new(),
        limit,
    };
    drive(&mut *strategy, &mut recorder, 0).unwrap();
    let decisions = recorder.decisions;
    assert_eq!(decisions.len(), limit);
    if std::env::var_os("XBAR_BLESS").is_some() {
        std::fs::write(FIXTURE, serde_json::to_string_pretty(&decisions).unwrap()).unwrap();
    }
    let text = std::fs::read_to_string(FIXTURE).expect("the committed trace");
    let pinned: Vec<(Vec<f64>, f64)> = serde_json::from_str(&text).unwrap();
    assert_eq!(pinned.len(), decisions.len());
    for (i, ((x, z), (px, pz))) in decisions.iter().zip(&pinned).enumerate() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
        assert!(
            close(*z, *pz) && x.iter().zip(px).all(|(a, b)| close(*a, *b)),
            "decision {i}: ({x:?}, {z}) where the authors' method decided ({px:?}, {pz})"
        );
    }
}
