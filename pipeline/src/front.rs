//! The study's objectives in the forms the optimiser, the hypervolume and the report use.

use cache::ledger::{EvaluationRow, STATUS_OK};
use stages::optimizer::hypervolume::{hypervolume, pareto_front_indices};

use crate::fidelity::is_full_z;

/// A finished full-fidelity row's objectives, all minimised:
/// (-accuracy, area, latency, energy). `None` if any is missing or the row failed.
pub fn minimised(r: &EvaluationRow) -> Option<[f64; 4]> {
    let full = r.status == STATUS_OK && is_full_z(r.fidelity_z);
    let o = [-r.accuracy_mean?, r.area_um2?, r.latency_ns?, r.energy_pj?];
    (full && o.iter().all(|v| v.is_finite())).then_some(o)
}

/// A row's objectives for the surrogates, all maximised: accuracy, and minus the
/// logarithms of area, latency and energy (they span orders of magnitude). Non-finite
/// (so skipped by the step) for a failed row.
pub fn maximised(r: &EvaluationRow) -> Vec<f64> {
    let acc = if r.status == STATUS_OK {
        r.accuracy_mean.unwrap_or(f64::NAN)
    } else {
        f64::NAN
    };
    let neg_log = |v: Option<f64>| v.map_or(f64::NAN, |v| -v.ln());
    vec![
        acc,
        neg_log(r.area_um2),
        neg_log(r.latency_ns),
        neg_log(r.energy_pj),
    ]
}

/// The reference point for the hypervolume, in minimisation form: accuracy 0, and 1.1x
/// the worst area, latency and energy seen at full fidelity.
pub fn reference_point(points: &[[f64; 4]]) -> [f64; 4] {
    let mut r = [0.0; 4];
    for p in points {
        for j in 1..4 {
            r[j] = f64::max(r[j], 1.1 * p[j]);
        }
    }
    r
}

/// The full-fidelity Pareto set of `rows` (indices into it) and its hypervolume.
pub fn pareto(rows: &[EvaluationRow]) -> (Vec<usize>, f64) {
    let (index, points): (Vec<usize>, Vec<[f64; 4]>) = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| minimised(r).map(|o| (i, o)))
        .unzip();
    if points.is_empty() {
        return (Vec::new(), 0.0);
    }
    let reference = reference_point(&points);
    let hv = hypervolume(&points, &reference).unwrap_or(0.0);
    let front = pareto_front_indices(&points)
        .into_iter()
        .map(|i| index[i])
        .collect();
    (front, hv)
}
