//! The Pareto set, the hypervolume and the surrogates' inputs of a study's rows, over
//! a list of objectives ([`crate::record::objectives::OBJECTIVES`] for a study).

use crate::record::{EvaluationRow, STATUS_OK};
use optimizer::hypervolume::{hypervolume, pareto_front_indices};

use crate::fidelity::is_full_z;
use crate::record::objectives::Objective;

/// A finished full-fidelity row's objectives, all minimised. `None` if any is missing
/// or not finite, or the row failed or is below full fidelity.
pub fn minimised(r: &EvaluationRow, objectives: &[Objective]) -> Option<Vec<f64>> {
    if r.status != STATUS_OK || !is_full_z(r.fidelity_z) {
        return None;
    }
    let o: Option<Vec<f64>> = objectives.iter().map(|ob| ob.minimised(r)).collect();
    o.filter(|o| o.iter().all(|v| v.is_finite()))
}

/// A row's objectives for the surrogates, all maximised (logarithms where the
/// objective says). Non-finite (so skipped by the step) where missing; the
/// fidelity-dependent ones are non-finite for a failed row too.
pub fn maximised(r: &EvaluationRow, objectives: &[Objective]) -> Vec<f64> {
    objectives
        .iter()
        .map(|ob| {
            if ob.fidelity_dependent && r.status != STATUS_OK {
                f64::NAN
            } else {
                ob.surrogate(r)
            }
        })
        .collect()
}

/// The reference point for the hypervolume, in minimisation form: each objective's
/// natural worst value where it has one, else 1.1x the worst value among `points`
/// (floored at 0).
pub fn reference_point(points: &[Vec<f64>], objectives: &[Objective]) -> Vec<f64> {
    objectives
        .iter()
        .enumerate()
        .map(|(j, ob)| {
            ob.reference
                .unwrap_or_else(|| points.iter().fold(0.0, |r, p| f64::max(r, 1.1 * p[j])))
        })
        .collect()
}

/// The full-fidelity Pareto set of a study's rows and its hypervolume.
#[derive(Debug, Clone, PartialEq)]
pub struct Front {
    /// The Pareto rows' indices into the rows.
    pub indices: Vec<usize>,
    /// The hypervolume against `reference`, in the product of the objectives' stored
    /// units (µm^2 ns pJ for the study's).
    pub hypervolume: f64,
    /// The reference point, minimised form ([`reference_point`]).
    pub reference: Vec<f64>,
    /// The hypervolume as a share of the box between the ideal point (each objective's
    /// best full-fidelity value) and the reference point: 1 only where one design is
    /// best at everything; comparable across studies and units.
    pub share: f64,
}

/// The full-fidelity Pareto set of `rows` and its hypervolume.
pub fn pareto(rows: &[EvaluationRow], objectives: &[Objective]) -> Front {
    let (index, points): (Vec<usize>, Vec<Vec<f64>>) = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| minimised(r, objectives).map(|o| (i, o)))
        .unzip();
    let reference = reference_point(&points, objectives);
    if points.is_empty() {
        return Front {
            indices: Vec::new(),
            hypervolume: 0.0,
            reference,
            share: 0.0,
        };
    }
    let hv = hypervolume(&points, &reference).unwrap_or(0.0);
    let ideal = (0..reference.len()).map(|j| points.iter().fold(f64::INFINITY, |m, p| m.min(p[j])));
    let box_volume: f64 = ideal.zip(&reference).map(|(lo, hi)| hi - lo).product();
    let indices = pareto_front_indices(&points)
        .into_iter()
        .map(|i| index[i])
        .collect();
    Front {
        indices,
        hypervolume: hv,
        reference,
        share: if box_volume > 0.0 {
            hv / box_volume
        } else {
            0.0
        },
    }
}

/// The Pareto rows as a table of their designs and objectives in display units, one
/// line per evaluation key (the text `pipeline run` and `pipeline status` print).
pub fn table(rows: &[EvaluationRow], front: &Front, objectives: &[Objective]) -> String {
    let heads: String = objectives
        .iter()
        .map(|ob| format!(" {:>14}", ob.label()))
        .collect();
    let mut out = format!("  {:<32}{heads}\n", "design");
    let mut seen = std::collections::BTreeSet::new();
    for &i in &front.indices {
        let r = &rows[i];
        if !seen.insert(&r.eval_key) {
            continue;
        }
        let values: String = objectives
            .iter()
            .map(|ob| format!(" {:>14}", ob.display_text(r)))
            .collect();
        out.push_str(&format!("  {:<32}{values}\n", r.label()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::objectives::OBJECTIVES;
    use stages::design::Design;

    /// A finished full-fidelity row with these objectives.
    fn row(accuracy: f64, area: f64, latency: f64, energy: f64) -> EvaluationRow {
        EvaluationRow {
            eval_key: format!("{accuracy}-{area}"),
            study: "s".into(),
            iteration: 0,
            strategy: "initial".into(),
            model: "cnn_small".into(),
            recorded: Design {
                freq_hz: 1e8,
                temp_k: 300.0,
                read_voltage: 0.2,
                ..Design::noisiest_corner(8, 128).recorded()
            },
            fidelity_epochs: 4,
            fidelity_z: 1.0,
            accuracy_mean: Some(accuracy),
            accuracy_std: Some(0.0),
            accuracy_clean: Some(accuracy),
            area_um2: Some(area),
            latency_ns: Some(latency),
            energy_pj: Some(energy),
            cost_s: 1.0,
            status: STATUS_OK.into(),
            error: None,
            started_at_ms: 0,
            finished_at_ms: 0,
            host: "h".into(),
            code_version: "1".into(),
            seed: 0,
        }
    }

    #[test]
    fn the_front_and_reference_follow_the_study_objectives() {
        // b is dominated by a (less accurate, larger, as slow, as costly); c trades
        // accuracy for area.
        let rows = [
            row(0.5, 100.0, 10.0, 5.0),
            row(0.4, 200.0, 10.0, 5.0),
            row(0.3, 50.0, 10.0, 5.0),
        ];
        let front = pareto(&rows, OBJECTIVES);
        assert_eq!(front.indices, vec![0, 2]);
        assert!(front.hypervolume > 0.0);
        // The box from the ideal (0.5, 50, 10, 5) to the reference (0, 220, 11, 5.5);
        // the front covers 0.5 x 120 x 1 x 0.5 + 0.3 x 50 x 1 x 0.5 of it.
        let box_volume = 0.5 * (220.00000000000003 - 50.0) * 1.0 * 0.5;
        let covered = 0.5 * (220.00000000000003 - 100.0) * 0.5 + 0.3 * 50.0 * 0.5;
        assert!(
            (front.share - covered / box_volume).abs() < 1e-12,
            "{}",
            front.share
        );
        let text = table(&rows, &front, OBJECTIVES);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains("accuracy (%)") && text.contains("50.00"),
            "{text}"
        );
        let points: Vec<Vec<f64>> = rows
            .iter()
            .filter_map(|r| minimised(r, OBJECTIVES))
            .collect();
        assert_eq!(points[0], vec![-0.5, 100.0, 10.0, 5.0]);
        assert_eq!(
            reference_point(&points, OBJECTIVES),
            vec![0.0, 220.00000000000003, 11.0, 5.5]
        );
        let mut low = rows[0].clone();
        low.fidelity_z = 0.5;
        assert_eq!(minimised(&low, OBJECTIVES), None, "below full fidelity");
        assert_eq!(maximised(&rows[0], OBJECTIVES)[1], -(100.0f64.ln()));
    }

    #[test]
    fn a_fifth_objective_changes_the_front_without_touching_it() {
        // The clean accuracy as a fifth, maximised objective: b, dominated over the
        // study's four by a, has the best clean accuracy, so it joins the front.
        let clean = crate::record::objectives::Objective {
            name: "accuracy_clean",
            column: "accuracy_clean",
            title: "clean accuracy",
            value: |r| r.accuracy_clean,
            ..OBJECTIVES[0]
        };
        let five: Vec<_> = OBJECTIVES.iter().copied().chain([clean]).collect();
        let mut rows = vec![
            row(0.5, 100.0, 10.0, 5.0),
            row(0.4, 200.0, 10.0, 5.0),
            row(0.3, 50.0, 10.0, 5.0),
        ];
        rows[1].accuracy_clean = Some(0.9);
        assert_eq!(pareto(&rows, OBJECTIVES).indices, vec![0, 2]);
        assert_eq!(pareto(&rows, &five).indices, vec![0, 1, 2]);
        assert_eq!(
            pareto(&rows, &OBJECTIVES[..1]).indices,
            vec![0],
            "accuracy alone"
        );
        let points: Vec<Vec<f64>> = rows.iter().filter_map(|r| minimised(r, &five)).collect();
        assert_eq!(points[1], vec![-0.4, 200.0, 10.0, 5.0, -0.9]);
        assert_eq!(reference_point(&points, &five)[4], 0.0);
        let mut failed = rows[1].clone();
        failed.status = "failed".into();
        let y = maximised(&failed, &five);
        assert!(y[0].is_nan() && y[4].is_nan() && y[1].is_finite());
    }
}
