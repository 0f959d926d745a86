//! The report stage: `<study>/report/index.html` (self-contained: inline SVG, no network),
//! `summary.md` and `pareto.csv`, written at the end of `pipeline run` and by
//! `pipeline report [--compare DIR ...]`.
//!
//! It shows the full-fidelity Pareto front (scatter matrix and parallel coordinates), the
//! hypervolume against cumulative cost (one curve per compared study, with the cost each
//! needs to reach the best baseline strategy's final hypervolume), accuracy against
//! fidelity, the clean-versus-noisy gap, ReSNA's gain over the noise-unaware baseline on
//! the Pareto designs (the baseline checkpoint evaluated under each design's noise, through
//! the cached `noisy_eval` node), the Pareto table, the per-layer PPA of the most accurate
//! Pareto design, and the study's config, seed, code version and cache hits.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::record::{EvaluationRow, STATUS_OK};
use anyhow::{bail, Context, Result};
use arrow::array::{Array, StringArray};
use stages::design::Design;
use stages::optimizer::hypervolume::hypervolume;
use stages::ppa;

use crate::config::StudyConfig;
use crate::dag::{self, EvalSummary, LoadedData};
use crate::front;
use crate::plot::{
    bar_chart_svg, line_chart_svg, parallel_coordinates_svg, scatter_svg, ScatterPoint, Series,
};
use crate::record::objectives::OBJECTIVES;
use crate::runner::Runner;

/// A study's ledger for the report.
struct StudyRows {
    name: String,
    strategy: String,
    rows: Vec<EvaluationRow>,
}

/// Reads a study's rows in decision order; corrupted parts are skipped with a warning
/// naming the file.
fn read_rows(study: &Path) -> Result<Vec<EvaluationRow>> {
    let (mut rows, _) = crate::setup::read_ledger(study)?;
    if rows.is_empty() {
        bail!(
            "the ledger in {} has no readable evaluation",
            study.display()
        );
    }
    rows.sort_by_key(|r| r.iteration);
    Ok(rows)
}

/// The study's name and search strategy, from its rows and `study.json`.
fn describe(study: &Path, rows: Vec<EvaluationRow>) -> StudyRows {
    let config: Option<StudyConfig> = std::fs::read(study.join("study.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| serde_json::from_value(v["config"].clone()).ok());
    StudyRows {
        name: rows[0].study.clone(),
        strategy: config.map_or_else(
            || "unknown".to_string(),
            |c| c.study.strategy.as_str().to_string(),
        ),
        rows,
    }
}

/// The config a study was run with (its `study.json`).
pub fn study_config(study: &Path) -> Result<StudyConfig> {
    let path = study.join("study.json");
    let bytes = std::fs::read(&path)
        .with_context(|| format!("no study at {}: run `pipeline run` first", study.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is corrupted", path.display()))?;
    serde_json::from_value(v["config"].clone())
        .with_context(|| format!("{} holds no readable config", path.display()))
}

/// The first 12 characters of an evaluation key (all of a shorter one: a ledger
/// written by another tool may hold anything).
fn short_key(key: &str) -> &str {
    key.char_indices().nth(12).map_or(key, |(i, _)| &key[..i])
}

/// The budget cost of a row in epochs (a 0-epoch evaluation counts one).
fn epochs_cost(r: &EvaluationRow) -> f64 {
    f64::from(r.fidelity_epochs.max(1))
}

/// (cumulative cost, hypervolume) after each evaluation, against `reference`.
fn hv_trace(rows: &[EvaluationRow], reference: &[f64]) -> Vec<(f64, f64)> {
    let mut points: Vec<Vec<f64>> = Vec::new();
    let mut cost = 0.0;
    rows.iter()
        .map(|r| {
            cost += epochs_cost(r);
            if let Some(p) = front::minimised(r, OBJECTIVES) {
                points.push(p);
            }
            let hv = if points.is_empty() {
                0.0
            } else {
                hypervolume(&points, reference).unwrap_or(0.0)
            };
            (cost, hv)
        })
        .collect()
}

fn design_of(cfg: &StudyConfig, r: &EvaluationRow) -> Design {
    Design {
        cell_bits: r.cell_bits as u8,
        xbar_size: r.xbar_size as u32,
        freq_hz: r.freq_hz,
        temp_k: r.temp_k,
        adc_bits: r.adc_bits as u8,
        read_voltage: r.read_voltage,
        g_min: cfg.design_space.g_min,
        g_max: cfg.design_space.g_max,
    }
}

fn label(r: &EvaluationRow) -> String {
    format!(
        "{}b/{}x{}/{:.3e}Hz/{:.1}K",
        r.cell_bits, r.xbar_size, r.xbar_size, r.freq_hz, r.temp_k
    )
}

/// The unique Pareto rows of `rows`, most accurate first.
fn pareto_rows(rows: &[EvaluationRow]) -> Vec<&EvaluationRow> {
    let (idx, _) = front::pareto(rows, OBJECTIVES);
    let mut out: Vec<&EvaluationRow> = Vec::new();
    for i in idx {
        if !out.iter().any(|r| r.eval_key == rows[i].eval_key) {
            out.push(&rows[i]);
        }
    }
    out.sort_by(|a, b| {
        b.accuracy_mean
            .partial_cmp(&a.accuracy_mean)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

/// Per stage: (cached, computed) node runs over all of the study's runs.
fn cache_hits(study: &Path) -> BTreeMap<String, (usize, usize)> {
    let mut out = BTreeMap::new();
    let Ok(parts) = cache::ledger::part_files(&study.join("runs")) else {
        return out;
    };
    for part in parts {
        let Ok(batches) = cache::table::read_parquet(&part) else {
            continue;
        };
        for b in batches {
            let col = |n: &str| {
                b.column_by_name(n)
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
            };
            let (Some(stage), Some(outcome)) = (col("stage"), col("outcome")) else {
                continue;
            };
            for i in 0..b.num_rows() {
                let e = out.entry(stage.value(i).to_string()).or_insert((0, 0));
                if outcome.value(i) == "cached" {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
    }
    out
}

/// The noise-unaware accuracy of each Pareto design: the baseline checkpoint under the
/// design's noise (cached `noisy_eval` nodes).
fn noise_unaware_accuracy(
    cfg: &StudyConfig,
    data: &LoadedData,
    runner: &mut Runner,
    designs: &[Design],
) -> Result<Vec<f64>> {
    let hidden = indicatif::ProgressBar::hidden();
    let baseline = dag::baseline_node(cfg, data, runner, &hidden)?;
    designs
        .iter()
        .map(|d| {
            let characterisation = dag::crossbar_node(cfg, d, runner)?;
            let eval = dag::eval_node(
                cfg,
                d,
                (data, &baseline, &characterisation),
                runner,
                &hidden,
            )?;
            let s: EvalSummary = serde_json::from_slice(&eval.read(dag::SUMMARY)?)?;
            Ok(s.accuracy_mean)
        })
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes the report of `study` (compared with the studies in `compare`) and returns its
/// directory.
pub fn write_report(
    cfg: &StudyConfig,
    study: &Path,
    runner: &mut Runner,
    compare: &[PathBuf],
) -> Result<PathBuf> {
    let main = describe(study, read_rows(study)?);
    let mut all = vec![main];
    for other in compare {
        all.push(describe(other, read_rows(other)?));
    }
    let rows = &all[0].rows;
    let pareto = pareto_rows(rows);
    let full: Vec<&EvaluationRow> = rows
        .iter()
        .filter(|r| front::minimised(r, OBJECTIVES).is_some())
        .collect();
    let is_pareto = |r: &EvaluationRow| pareto.iter().any(|p| p.eval_key == r.eval_key);
    let mut html = String::new();
    let mut md = String::new();
    let out_dir = study.join("report");
    std::fs::create_dir_all(&out_dir)?;

    // The front: scatter matrix of the objectives.
    let objectives = OBJECTIVES;
    let mut matrix = String::new();
    for i in 0..objectives.len() {
        for j in (i + 1)..objectives.len() {
            let pts: Vec<ScatterPoint> = full
                .iter()
                .map(|r| ScatterPoint {
                    x: objectives[j].display(r),
                    y: objectives[i].display(r),
                    highlight: is_pareto(r),
                })
                .collect();
            let title = format!("{} vs {}", objectives[i].label(), objectives[j].label());
            matrix.push_str(&scatter_svg(
                &title,
                &objectives[j].label(),
                &objectives[i].label(),
                &pts,
                (440, 330),
            )?);
        }
    }
    let (_, hv) = front::pareto(rows, OBJECTIVES);
    let cost: f64 = rows.iter().map(epochs_cost).sum();
    let cost_s: f64 = rows.iter().map(|r| r.cost_s).sum();
    let failed = rows.iter().filter(|r| r.status != STATUS_OK).count();
    writeln!(
        html,
        "<h1>xbar-opt study {}</h1><p>{} evaluations ({} at full fidelity, {failed} failed), \
         {cost:.0} epochs of budget, {cost_s:.1} s of measured compute; full-fidelity \
         hypervolume {hv:.4e} (minimised objectives -accuracy, area, latency, energy; \
         reference: accuracy 0 and 1.1x the worst of the others).</p>",
        html_escape(&all[0].name),
        rows.len(),
        full.len()
    )?;
    writeln!(
        md,
        "# xbar-opt study {}\n\n{} evaluations ({} at full fidelity, {failed} failed), \
         {cost:.0} epochs of budget, {cost_s:.1} s measured; hypervolume {hv:.4e}.\n",
        all[0].name,
        rows.len(),
        full.len()
    )?;
    writeln!(
        html,
        "<h2>Pareto front</h2><p>Every full-fidelity evaluation; the Pareto designs in \
         red.</p><div class=\"grid\">{matrix}</div>"
    )?;

    // Parallel coordinates.
    let axes: Vec<String> = ["cell bits", "crossbar size", "log10 freq (Hz)", "temp (K)"]
        .into_iter()
        .map(String::from)
        .chain(OBJECTIVES.iter().map(|ob| ob.axis_label()))
        .collect();
    let axes: Vec<&str> = axes.iter().map(String::as_str).collect();
    let lines: Vec<(Vec<f64>, bool)> = full
        .iter()
        .map(|r| {
            let design = [
                f64::from(r.cell_bits),
                f64::from(r.xbar_size),
                r.freq_hz.log10(),
                r.temp_k,
            ];
            let values = design
                .into_iter()
                .chain(OBJECTIVES.iter().map(|ob| ob.axis_value(r)))
                .collect();
            (values, is_pareto(r))
        })
        .collect();
    writeln!(
        html,
        "<h2>Designs and objectives</h2>{}",
        parallel_coordinates_svg(
            "parallel coordinates (full fidelity; Pareto in red)",
            &axes,
            &lines
        )?
    )?;

    // Hypervolume against cost, one curve per study.
    let union: Vec<Vec<f64>> = all
        .iter()
        .flat_map(|s| {
            s.rows
                .iter()
                .filter_map(|r| front::minimised(r, OBJECTIVES))
        })
        .collect();
    let reference = front::reference_point(&union, OBJECTIVES);
    let traces: Vec<(String, Vec<(f64, f64)>)> = all
        .iter()
        .map(|s| {
            (
                format!("{} ({})", s.name, s.strategy),
                hv_trace(&s.rows, &reference),
            )
        })
        .collect();
    let series: Vec<Series> = traces
        .iter()
        .enumerate()
        .map(|(i, (name, t))| Series {
            label: name.clone(),
            colour: i,
            points: t.clone(),
        })
        .collect();
    writeln!(
        html,
        "<h2>Hypervolume against cost</h2>{}",
        line_chart_svg(
            "hypervolume of the full-fidelity front",
            "cumulative cost (training epochs)",
            "hypervolume",
            &series
        )?
    )?;
    let target = all
        .iter()
        .zip(&traces)
        .filter(|(s, _)| s.strategy != "cf_mesmo")
        .filter_map(|(_, (_, t))| t.last().map(|p| p.1))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    if let Some(target) = target {
        writeln!(html, "<p>Cost to reach the best baseline strategy's final hypervolume ({target:.4e}):</p><ul>")?;
        writeln!(
            md,
            "## Cost to reach the best baseline's final hypervolume ({target:.4e})\n"
        )?;
        for (name, t) in &traces {
            let reached = t
                .iter()
                .find(|p| p.1 >= target * (1.0 - 1e-12))
                .map(|p| p.0);
            let text = reached.map_or("not reached".to_string(), |c| format!("{c:.0} epochs"));
            writeln!(html, "<li>{}: {text}</li>", html_escape(name))?;
            writeln!(md, "- {name}: {text}")?;
        }
        writeln!(html, "</ul>")?;
        writeln!(md)?;
    }

    // Accuracy against fidelity, and the clean-versus-noisy gap.
    let mut by_design: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == STATUS_OK) {
        if let Some(a) = r.accuracy_mean {
            by_design
                .entry(label(r))
                .or_default()
                .push((f64::from(r.fidelity_epochs), 100.0 * a));
        }
    }
    let fidelity: Vec<Series> = by_design
        .into_values()
        .enumerate()
        .map(|(i, mut points)| {
            points.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            points.dedup();
            Series {
                label: String::new(),
                colour: i,
                points,
            }
        })
        .collect();
    let gap: Vec<ScatterPoint> = rows
        .iter()
        .filter_map(|r| {
            Some(ScatterPoint {
                x: 100.0 * r.accuracy_clean?,
                y: 100.0 * r.accuracy_mean?,
                highlight: is_pareto(r),
            })
        })
        .collect();
    writeln!(
        html,
        "<h2>Accuracy and fidelity</h2><div class=\"grid\">{}{}</div>",
        line_chart_svg(
            "noisy accuracy against fidelity, one line per design",
            "fidelity (ReSNA epochs)",
            "accuracy under noise (%)",
            &fidelity
        )?,
        scatter_svg(
            "clean (quantised) vs noisy accuracy",
            "clean accuracy (%)",
            "accuracy under noise (%)",
            &gap,
            (900, 520)
        )?
    )?;

    // ReSNA's gain over the noise-unaware baseline on the Pareto designs.
    // The data set node, once: its key fingerprints the input files.
    let (object, meta) = dag::dataset_node(cfg, runner)?;
    let data = LoadedData::new(object, meta);
    let designs: Vec<Design> = pareto.iter().map(|r| design_of(cfg, r)).collect();
    if cfg.training.strategy.fine_tunes() && !designs.is_empty() {
        let unaware = noise_unaware_accuracy(cfg, &data, runner, &designs)?;
        writeln!(
            html,
            "<h2>{} against the noise-unaware baseline</h2><table><tr><th>design</th>\
             <th>{} accuracy (%)</th><th>noise-unaware (%)</th><th>gain (points)</th></tr>",
            cfg.training.strategy.as_str(),
            cfg.training.strategy.as_str()
        )?;
        writeln!(md, "## {} against the noise-unaware baseline\n\n| design | accuracy (%) | noise-unaware (%) | gain |\n|---|---|---|---|", cfg.training.strategy.as_str())?;
        for (r, u) in pareto.iter().zip(&unaware) {
            let a = 100.0 * r.accuracy_mean.unwrap_or(f64::NAN);
            let gain = a - 100.0 * u;
            writeln!(
                html,
                "<tr><td>{}</td><td>{a:.2}</td><td>{:.2}</td><td>{gain:+.2}</td></tr>",
                label(r),
                100.0 * u
            )?;
            writeln!(
                md,
                "| {} | {a:.2} | {:.2} | {gain:+.2} |",
                label(r),
                100.0 * u
            )?;
        }
        writeln!(html, "</table>")?;
        writeln!(md)?;
    }

    // The Pareto table.
    let header = "<tr><th>eval_key</th><th>cell bits</th><th>crossbar</th><th>freq (Hz)</th>\
                  <th>temp (K)</th><th>ADC bits</th><th>read V</th><th>epochs</th>\
                  <th>accuracy (%)</th><th>+- std</th><th>clean (%)</th><th>area (mm^2)</th>\
                  <th>latency (us)</th><th>energy (uJ)</th></tr>";
    writeln!(
        html,
        "<h2>Pareto designs ({})</h2><table>{header}",
        pareto.len()
    )?;
    writeln!(md, "## Pareto designs ({})\n\n| eval_key | design | epochs | accuracy (%) | area (mm^2) | latency (us) | energy (uJ) |\n|---|---|---|---|---|---|---|", pareto.len())?;
    let mut csv = String::from(
        "eval_key,cell_bits,xbar_size,freq_hz,temp_k,adc_bits,read_voltage,fidelity_epochs,\
         accuracy_mean,accuracy_std,accuracy_clean,area_um2,latency_ns,energy_pj\n",
    );
    for r in &pareto {
        let f = |v: Option<f64>, k: f64| v.map_or(f64::NAN, |v| v * k);
        writeln!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{:.4e}</td><td>{:.1}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td>\
             <td>{:.4}</td><td>{:.3}</td><td>{:.4}</td></tr>",
            short_key(&r.eval_key),
            r.cell_bits,
            r.xbar_size,
            r.freq_hz,
            r.temp_k,
            r.adc_bits,
            r.read_voltage,
            r.fidelity_epochs,
            f(r.accuracy_mean, 100.0),
            f(r.accuracy_std, 100.0),
            f(r.accuracy_clean, 100.0),
            f(r.area_um2, 1e-6),
            f(r.latency_ns, 1e-3),
            f(r.energy_pj, 1e-6)
        )?;
        writeln!(
            md,
            "| `{}` | {} | {} | {:.2} | {:.4} | {:.3} | {:.4} |",
            short_key(&r.eval_key),
            label(r),
            r.fidelity_epochs,
            f(r.accuracy_mean, 100.0),
            f(r.area_um2, 1e-6),
            f(r.latency_ns, 1e-3),
            f(r.energy_pj, 1e-6)
        )?;
        writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.eval_key,
            r.cell_bits,
            r.xbar_size,
            r.freq_hz,
            r.temp_k,
            r.adc_bits,
            r.read_voltage,
            r.fidelity_epochs,
            f(r.accuracy_mean, 1.0),
            f(r.accuracy_std, 1.0),
            f(r.accuracy_clean, 1.0),
            f(r.area_um2, 1.0),
            f(r.latency_ns, 1.0),
            f(r.energy_pj, 1.0)
        )?;
    }
    writeln!(html, "</table>")?;
    writeln!(md)?;

    // Per-layer PPA of the most accurate Pareto design.
    if let (Some(r), Some(d)) = (pareto.first(), designs.first()) {
        let meta = &data.meta;
        let report = ppa::estimate(cfg.model.name, meta.height, meta.classes.len(), d, &cfg.ppa)?;
        writeln!(
            html,
            "<h2>Per-layer PPA of {} ({})</h2><table><tr><th>layer</th><th>tiles</th>\
             <th>area (um^2)</th><th>latency (ns)</th><th>energy (pJ)</th></tr>",
            label(r),
            cfg.model.name
        )?;
        for l in &report.layers {
            writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.1}</td><td>{:.1}</td></tr>",
                l.name, l.tiles, l.area_um2, l.latency_ns, l.energy_pj
            )?;
        }
        writeln!(html, "</table>")?;
        let bars: Vec<(String, f64)> = report
            .layers
            .iter()
            .map(|l| (l.name.clone(), l.energy_pj))
            .collect();
        writeln!(
            html,
            "{}",
            bar_chart_svg("dynamic energy per layer", "energy (pJ)", &bars)?
        )?;
    }

    // Provenance.
    let hits = cache_hits(study);
    writeln!(html, "<h2>Provenance</h2><p>seed {}, training code version {}, stage outputs over all runs of this study:</p><table><tr><th>stage</th><th>cached</th><th>computed</th></tr>", cfg.study.seed, stages::training::CODE_VERSION)?;
    writeln!(md, "## Provenance\n\nseed {}, training code version {}.\n\n| stage | cached | computed |\n|---|---|---|", cfg.study.seed, stages::training::CODE_VERSION)?;
    for (stage, (c, n)) in &hits {
        writeln!(html, "<tr><td>{stage}</td><td>{c}</td><td>{n}</td></tr>")?;
        writeln!(md, "| {stage} | {c} | {n} |")?;
    }
    let toml = toml::to_string(cfg).unwrap_or_default();
    writeln!(
        html,
        "</table><h3>Config</h3><pre>{}</pre>",
        html_escape(&toml)
    )?;
    writeln!(md, "\n## Config\n\n```toml\n{toml}```")?;

    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>xbar-opt: {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:1400px}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;\
         padding:3px 8px;text-align:right}}.grid{{display:flex;flex-wrap:wrap;gap:8px}}\
         pre{{background:#f4f4f4;padding:1em}}</style></head><body>{html}</body></html>",
        html_escape(&all[0].name)
    );
    cache::atomic::write_atomic(&out_dir.join("index.html"), page.as_bytes())?;
    cache::atomic::write_atomic(&out_dir.join("summary.md"), md.as_bytes())?;
    cache::atomic::write_atomic(&out_dir.join("pareto.csv"), csv.as_bytes())?;
    Ok(out_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_never_panic() {
        assert_eq!(short_key("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_key("abc"), "abc");
        assert_eq!(short_key("ééééééééééééé"), "éééééééééééé");
        assert_eq!(short_key(""), "");
    }
}
