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

use anyhow::{bail, Result};
use cache::ledger::Row;
use optimizer::hypervolume::hypervolume;
use stages::ppa::{Breakdown, PpaReport};

use crate::config::StudyConfig;
use crate::controls::{self, DesignControls, Tally};
use crate::dag::Graph;
use crate::front;
use crate::plot::{
    bar_chart_svg, error_bar_svg, line_chart_svg, parallel_coordinates_svg, scatter_svg, Estimate,
    ScatterPoint, Series,
};
use crate::record::objectives::OBJECTIVES;
use crate::record::{by_fidelity, EvaluationRow, STATUS_OK};
use crate::results::{self, Table};
use crate::runner::if_stored;
use stages::design::Variable;
use stages::training::params::NoiseStrategy;

/// A study's ledger for the report.
struct StudyRows {
    name: String,
    strategy: String,
    rows: Vec<EvaluationRow>,
}

/// The rows of each of `studies`, each in decision order, read in one scan of their
/// ledgers; corrupted parts are skipped with a warning naming the file.
fn read_rows(studies: &[PathBuf]) -> Result<Vec<Vec<EvaluationRow>>> {
    for study in studies {
        crate::setup::require_study(study)?;
    }
    let read = results::read_studies(Table::Evaluations, studies)?;
    let index = read.frame.column(results::SOURCE)?.u32()?.clone();
    let mut out: Vec<Vec<EvaluationRow>> = vec![Vec::new(); studies.len()];
    for (row, i) in results::evaluation_rows(&read.frame)?
        .into_iter()
        .zip(index.iter())
    {
        out[i.unwrap_or_default() as usize].push(row);
    }
    for (rows, study) in out.iter_mut().zip(studies) {
        if rows.is_empty() {
            bail!(
                "the ledger in {} has no readable evaluation",
                study.display()
            );
        }
        rows.sort_by_key(|r| r.iteration);
    }
    Ok(out)
}

/// The study's name and search strategy, from its rows and `study.json`.
fn describe(study: &Path, rows: Vec<EvaluationRow>) -> StudyRows {
    let config: Option<StudyConfig> = std::fs::read(study.join(crate::config::STUDY_SNAPSHOT))
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

/// The first 12 characters of an evaluation key (all of a shorter one: a ledger
/// written by another tool may hold anything).
fn short_key(key: &str) -> &str {
    key.char_indices().nth(12).map_or(key, |(i, _)| &key[..i])
}

/// (cumulative cost, hypervolume) after each evaluation, against `reference`.
fn hv_trace(rows: &[EvaluationRow], reference: &[f64]) -> Vec<(f64, f64)> {
    let mut points: Vec<Vec<f64>> = Vec::new();
    let mut cost = 0.0;
    rows.iter()
        .map(|r| {
            cost += r.epochs_charged();
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

/// The unique Pareto rows of `rows`, most accurate first.
fn pareto_rows(rows: &[EvaluationRow]) -> Vec<&EvaluationRow> {
    let mut out: Vec<&EvaluationRow> = Vec::new();
    for i in front::pareto(rows, OBJECTIVES).indices {
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
    let Ok(read) = results::read(Table::Runs, study) else {
        return out;
    };
    let columns = |n: &str| read.frame.column(n).and_then(|c| c.str()).cloned();
    let (Ok(stages), Ok(outcomes)) = (columns("stage"), columns("outcome")) else {
        return out;
    };
    for (stage, outcome) in stages.iter().zip(outcomes.iter()) {
        let e = out
            .entry(stage.unwrap_or_default().to_string())
            .or_insert((0, 0));
        if outcome == Some("cached") {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The report's text so far: the HTML body and the Markdown summary.
#[derive(Default)]
struct Page {
    html: String,
    md: String,
}

impl Page {
    /// One table row of `cells`, in both forms.
    fn row(&mut self, cells: &[String]) -> Result<()> {
        let html: String = cells.iter().map(|c| format!("<td>{c}</td>")).collect();
        writeln!(self.html, "<tr>{html}</tr>")?;
        writeln!(self.md, "| {} |", cells.join(" | "))?;
        Ok(())
    }
}

/// What every section reads: the studies (the reported one first), and the reported
/// study's full-fidelity rows and Pareto rows.
struct Studies<'r> {
    all: &'r [StudyRows],
    rows: &'r [EvaluationRow],
    full: Vec<&'r EvaluationRow>,
    pareto: Vec<&'r EvaluationRow>,
}

impl<'r> Studies<'r> {
    fn new(all: &'r [StudyRows]) -> Studies<'r> {
        let rows = &all[0].rows;
        Studies {
            all,
            rows,
            full: rows
                .iter()
                .filter(|r| front::minimised(r, OBJECTIVES).is_some())
                .collect(),
            pareto: pareto_rows(rows),
        }
    }

    fn is_pareto(&self, r: &EvaluationRow) -> bool {
        self.pareto.iter().any(|p| p.eval_key == r.eval_key)
    }
}

/// Computes (or finds in the store) what the report of `study` reads besides the ledger:
/// the controls of each Pareto design (`controls`: the noise-unaware evaluation and
/// those of `[report] controls`) and its PPA. `pipeline run` calls it under the study
/// lock, so that the report itself only reads.
pub fn compute_inputs(graph: &mut Graph, study: &Path) -> Result<()> {
    let cfg = graph.cfg();
    let rows = read_rows(&[study.to_path_buf()])?.remove(0);
    let pareto = pareto_rows(&rows);
    if controls::apply(cfg) {
        for r in &pareto {
            controls::compute(graph, r)?;
        }
    }
    for r in &pareto {
        graph.ppa(&r.design(&cfg.design_space))?;
    }
    Ok(())
}

/// Writes the report of `study` (compared with the studies in `compare`) and returns its
/// directory. It reads only what is stored: the ledgers and, through the graph, the
/// cached noise-unaware evaluations and PPA of the Pareto designs (see
/// [`compute_inputs`]); a section whose nodes are not stored says so.
pub fn write_report(graph: &mut Graph, study: &Path, compare: &[PathBuf]) -> Result<PathBuf> {
    graph.runner_mut().set_read_only();
    let cfg = graph.cfg();
    let studies: Vec<PathBuf> = std::iter::once(study.to_path_buf())
        .chain(compare.iter().cloned())
        .collect();
    let all: Vec<StudyRows> = studies
        .iter()
        .zip(read_rows(&studies)?)
        .map(|(dir, rows)| describe(dir, rows))
        .collect();
    let s = Studies::new(&all);
    let mut page = Page::default();
    summary_section(&s, &mut page)?;
    front_section(&s, &mut page)?;
    parallel_coordinates_section(&s, &mut page)?;
    hypervolume_section(&s, &mut page)?;
    fidelity_section(&s, &mut page)?;
    let mut draws_csv = None;
    if controls::apply(cfg) && !s.pareto.is_empty() {
        let stored: Option<Vec<DesignControls>> = s
            .pareto
            .iter()
            .map(|r| controls::stored(graph, r))
            .collect::<Result<Option<Vec<DesignControls>>>>()?;
        match stored {
            Some(stored) => {
                controls_section(cfg, &s.pareto, &stored, &mut page)?;
                draws_csv = Some(controls_csv(cfg, &s.pareto, &stored));
            }
            None => not_stored_section("the noise-unaware baseline", &mut page)?,
        }
    }
    pareto_section(&s, &mut page)?;
    if !s.pareto.is_empty() {
        let reports: Option<Vec<PpaReport>> = s
            .pareto
            .iter()
            .map(|r| if_stored(graph.ppa(&r.design(&cfg.design_space))))
            .collect::<Result<Option<Vec<PpaReport>>>>()?;
        match reports {
            Some(reports) => {
                components_section(&s.pareto, &reports, &mut page)?;
                layers_section(cfg, s.pareto[0], &reports[0], &mut page)?;
            }
            None => not_stored_section("PPA of the Pareto designs", &mut page)?,
        }
    }
    provenance_section(cfg, &cache_hits(study), &mut page)?;

    let out_dir = study.join("report");
    std::fs::create_dir_all(&out_dir)?;
    let html = html_page(&all[0].name, &page.html);
    cache::atomic::write_atomic(&out_dir.join("index.html"), html.as_bytes())?;
    cache::atomic::write_atomic(&out_dir.join("summary.md"), page.md.as_bytes())?;
    cache::atomic::write_atomic(&out_dir.join("pareto.csv"), &pareto_csv(&s.pareto)?)?;
    if let Some(csv) = draws_csv {
        cache::atomic::write_atomic(&out_dir.join("controls.csv"), csv.as_bytes())?;
    }
    Ok(out_dir)
}

/// A section whose stored inputs are missing: it says so instead of computing them.
fn not_stored_section(title: &str, page: &mut Page) -> Result<()> {
    writeln!(
        page.html,
        "<h2>{title}</h2><p>Not in the store: the report computes nothing, and \
         <code>pipeline run</code> computes it.</p>"
    )?;
    writeln!(
        page.md,
        "## {title}\n\nNot in the store (`pipeline run` computes it).\n"
    )?;
    Ok(())
}

/// The title and the study's counts, budget and hypervolume.
fn summary_section(s: &Studies, page: &mut Page) -> Result<()> {
    let rows = s.rows;
    let front = front::pareto(rows, OBJECTIVES);
    let (hv, share) = (front.hypervolume, 100.0 * front.share);
    let cost: f64 = rows.iter().map(EvaluationRow::epochs_charged).sum();
    let cost_s: f64 = rows.iter().map(|r| r.cost_s).sum();
    let failed = rows.iter().filter(|r| r.status != STATUS_OK).count();
    let minimised: Vec<String> = OBJECTIVES
        .iter()
        .map(|ob| match ob.direction {
            crate::record::objectives::Direction::Maximise => format!("-{}", ob.title),
            crate::record::objectives::Direction::Minimise => ob.title.to_string(),
        })
        .collect();
    let name = &s.all[0].name;
    writeln!(
        page.html,
        "<h1>xbar-opt study {}</h1><p>{} evaluations ({} at full fidelity, {failed} failed), \
         {cost:.0} epochs of budget, {cost_s:.1} s of measured compute; full-fidelity \
         hypervolume {hv:.4e}, {share:.1} % of the box between the ideal point and the \
         reference point (minimised objectives {}; reference: each objective's natural \
         worst where it has one, else 1.1x the worst value seen).</p>",
        html_escape(name),
        rows.len(),
        s.full.len(),
        minimised.join(", ")
    )?;
    writeln!(
        page.md,
        "# xbar-opt study {name}\n\n{} evaluations ({} at full fidelity, {failed} failed), \
         {cost:.0} epochs of budget, {cost_s:.1} s measured; hypervolume {hv:.4e} \
         ({share:.1} % of the reference box).\n",
        rows.len(),
        s.full.len()
    )?;
    writeln!(
        page.html,
        "<table><tr><th>fidelity (epochs)</th><th>evaluations</th><th>strategy steps</th>\
         <th>cost (s)</th></tr>"
    )?;
    writeln!(
        page.md,
        "| fidelity (epochs) | evaluations | strategy steps | cost (s) |\n|---|---|---|---|"
    )?;
    for f in by_fidelity(rows) {
        page.row(&[
            f.epochs.to_string(),
            f.evaluations.to_string(),
            f.steps.to_string(),
            format!("{:.1}", f.cost_s),
        ])?;
    }
    writeln!(page.html, "</table>")?;
    writeln!(page.md)?;
    Ok(())
}

/// The front: a scatter plot of every pair of objectives, Pareto designs in red.
fn front_section(s: &Studies, page: &mut Page) -> Result<()> {
    let objectives = OBJECTIVES;
    let mut matrix = String::new();
    for i in 0..objectives.len() {
        for j in (i + 1)..objectives.len() {
            let pts: Vec<ScatterPoint> = s
                .full
                .iter()
                .map(|r| ScatterPoint {
                    x: objectives[j].display(r),
                    y: objectives[i].display(r),
                    highlight: s.is_pareto(r),
                })
                .collect();
            let (x, y) = (objectives[j].label(), objectives[i].label());
            matrix.push_str(&scatter_svg(
                &format!("{y} vs {x}"),
                &x,
                &y,
                &pts,
                (440, 330),
            )?);
        }
    }
    writeln!(
        page.html,
        "<h2>Pareto front</h2><p>Every full-fidelity evaluation; the Pareto designs in \
         red.</p><div class=\"grid\">{matrix}</div>"
    )?;
    Ok(())
}

/// Parallel coordinates of the design parameters and the objectives.
fn parallel_coordinates_section(s: &Studies, page: &mut Page) -> Result<()> {
    let variables = crate::record::design_axes(&s.full);
    let axes: Vec<String> = variables
        .iter()
        .map(|v| match v.is_log() {
            true => format!("log10 {}", v.label()),
            false => v.label().to_string(),
        })
        .chain(OBJECTIVES.iter().map(|ob| ob.axis_label()))
        .collect();
    let axes: Vec<&str> = axes.iter().map(String::as_str).collect();
    let lines: Vec<(Vec<f64>, bool)> = s
        .full
        .iter()
        .map(|r| {
            let values = variables
                .iter()
                .map(|&v| match v.is_log() {
                    true => r.variable(v).log10(),
                    false => r.variable(v),
                })
                .chain(OBJECTIVES.iter().map(|ob| ob.axis_value(r)))
                .collect();
            (values, s.is_pareto(r))
        })
        .collect();
    let title = "parallel coordinates (full fidelity; Pareto in red)";
    writeln!(
        page.html,
        "<h2>Designs and objectives</h2>{}",
        parallel_coordinates_svg(title, &axes, &lines)?
    )?;
    Ok(())
}

/// Hypervolume against cost, one curve per study, on one reference point over all of
/// them; and the cost each needs to reach the best baseline strategy's final value.
fn hypervolume_section(s: &Studies, page: &mut Page) -> Result<()> {
    let union: Vec<Vec<f64>> = s
        .all
        .iter()
        .flat_map(|st| {
            st.rows
                .iter()
                .filter_map(|r| front::minimised(r, OBJECTIVES))
        })
        .collect();
    let reference = front::reference_point(&union, OBJECTIVES);
    let traces: Vec<(String, Vec<(f64, f64)>)> = s
        .all
        .iter()
        .map(|st| {
            (
                format!("{} ({})", st.name, st.strategy),
                hv_trace(&st.rows, &reference),
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
        page.html,
        "<h2>Hypervolume against cost</h2>{}",
        line_chart_svg(
            "hypervolume of the full-fidelity front",
            "cumulative cost (training epochs)",
            "hypervolume",
            &series
        )?
    )?;
    let target = s
        .all
        .iter()
        .zip(&traces)
        .filter(|(st, _)| st.strategy != "cf_mesmo")
        .filter_map(|(_, (_, t))| t.last().map(|p| p.1))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let Some(target) = target else {
        return Ok(());
    };
    writeln!(
        page.html,
        "<p>Cost to reach the best baseline strategy's final hypervolume ({target:.4e}):</p><ul>"
    )?;
    writeln!(
        page.md,
        "## Cost to reach the best baseline's final hypervolume ({target:.4e})\n"
    )?;
    for (name, t) in &traces {
        let reached = t
            .iter()
            .find(|p| p.1 >= target * (1.0 - 1e-12))
            .map(|p| p.0);
        let text = reached.map_or("not reached".to_string(), |c| format!("{c:.0} epochs"));
        writeln!(page.html, "<li>{}: {text}</li>", html_escape(name))?;
        writeln!(page.md, "- {name}: {text}")?;
    }
    writeln!(page.html, "</ul>")?;
    writeln!(page.md)?;
    Ok(())
}

/// Accuracy against fidelity (a line per design) and the clean-versus-noisy gap.
fn fidelity_section(s: &Studies, page: &mut Page) -> Result<()> {
    let mut by_design: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in s.rows.iter().filter(|r| r.status == STATUS_OK) {
        if let Some(a) = r.accuracy_mean {
            by_design
                .entry(r.label())
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
    let gap: Vec<ScatterPoint> = s
        .rows
        .iter()
        .filter_map(|r| {
            Some(ScatterPoint {
                x: 100.0 * r.accuracy_clean?,
                y: 100.0 * r.accuracy_mean?,
                highlight: s.is_pareto(r),
            })
        })
        .collect();
    writeln!(
        page.html,
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
    Ok(())
}

/// Every noise draw's accuracy behind the controls' table, long form (`eval_key`,
/// `design`, `evaluation`, `draw`, `accuracy`), so that a reader recomputes the paired
/// gains: draw `d` of every evaluation of a design read the same noise stream.
fn controls_csv(
    cfg: &StudyConfig,
    pareto: &[&EvaluationRow],
    designs: &[DesignControls],
) -> String {
    let mut csv = "eval_key,design,evaluation,draw,accuracy\n".to_string();
    for (r, d) in pareto.iter().zip(designs) {
        let evaluations = std::iter::once((cfg.training.strategy, Some(&d.ours))).chain(
            d.controls
                .iter()
                .map(|(strategy, c)| (*strategy, c.as_ref().map(|c| &c.eval))),
        );
        for (strategy, e) in evaluations {
            for (i, a) in e.iter().flat_map(|e| e.draws.iter().enumerate()) {
                let name = strategy.as_str();
                let _ = writeln!(csv, "{},{},{name},{i},{a}", r.eval_key, r.label());
            }
        }
    }
    csv
}

/// A control's name in the report's prose and headings.
fn control_title(strategy: NoiseStrategy) -> &'static str {
    match strategy {
        NoiseStrategy::NoiseUnaware => "noise-unaware",
        NoiseStrategy::NoiseFree => "noise-free fine-tuning",
        NoiseStrategy::Gaussian => "Gaussian-noise fine-tuning",
        NoiseStrategy::ProgrammingOnly => "programming-noise fine-tuning",
        NoiseStrategy::Resna => "ReSNA fine-tuning",
    }
}

/// The sentence on one control's tally.
fn tally_sentence(t: &Tally) -> String {
    let (beyond, n) = (t.beyond, t.compared);
    let base = match t.strategy {
        NoiseStrategy::NoiseUnaware => {
            return format!(
                "{beyond} of {n} Pareto designs gain over the noise-unaware baseline beyond \
                 two standard errors"
            )
        }
        NoiseStrategy::NoiseFree => format!(
            "{beyond} of {n} gain over the same fine-tuning without noise beyond two \
             standard errors"
        ),
        other => format!(
            "{beyond} of {n} gain over the {} beyond two standard errors",
            control_title(other)
        ),
    };
    match t.strategy == NoiseStrategy::NoiseFree && 2 * beyond <= n {
        true => format!(
            "{base}, so at this scale the study does not show that noise awareness, rather \
             than the extra epochs, brings the gain (the paper-scale comparison, ResNet20 \
             with the same control, is `pipeline strategies`, \
             `reports/paper-table-controls.md`)"
        ),
        false => base,
    }
}

/// The study's training against its controls on each Pareto design: the gain over each
/// control with its standard error over the paired noise draws, and how many designs
/// gain beyond two standard errors; a table and an error-bar plot.
fn controls_section(
    cfg: &StudyConfig,
    pareto: &[&EvaluationRow],
    designs: &[DesignControls],
    page: &mut Page,
) -> Result<()> {
    let strategy = cfg.training.strategy.as_str();
    let intro = controls_intro(cfg, designs);
    // Markdown's `code` spans as HTML's.
    let intro_html: String = html_escape(&intro)
        .split('`')
        .enumerate()
        .map(|(i, part)| match i % 2 {
            1 => format!("<code>{part}</code>"),
            _ => part.to_string(),
        })
        .collect();
    writeln!(
        page.html,
        "<h2>{strategy} against its controls</h2><p>{intro_html}</p>"
    )?;
    writeln!(page.md, "## {strategy} against its controls\n\n{intro}\n")?;
    controls_table(cfg, pareto, designs, page)?;
    let rows: Vec<(String, Vec<Estimate>)> = pareto
        .iter()
        .zip(designs)
        .map(|(r, d)| {
            let estimates = d
                .controls
                .iter()
                .enumerate()
                .filter_map(|(colour, (strategy, c))| {
                    c.as_ref().map(|c| Estimate {
                        label: format!("over {}", control_title(*strategy)),
                        colour,
                        value: 100.0 * c.gain.gain,
                        half_width: 200.0 * c.gain.standard_error,
                    })
                })
                .collect();
            (r.label(), estimates)
        })
        .collect();
    let title = format!("gain of {strategy} on the Pareto designs (+- two standard errors)");
    writeln!(
        page.html,
        "{}",
        error_bar_svg(&title, "gain (points)", &rows)?
    )?;
    Ok(())
}

/// The controls' paragraph: what the gains mean and each control's tally.
fn controls_intro(cfg: &StudyConfig, designs: &[DesignControls]) -> String {
    let mut sentences: Vec<String> = controls::tally(designs)
        .iter()
        .map(tally_sentence)
        .collect();
    if cfg.report.controls.is_empty() {
        sentences.push(
            "no other control is on (`[report] controls = [\"noise_free\"]` adds the same \
             fine-tuning without noise: one more fine-tuning per Pareto design)"
                .to_string(),
        );
    }
    let draws = designs.first().map_or(0, |c| c.ours.draws.len());
    format!(
        "Gain in points, +- the standard error of the mean difference over the {draws} \
         paired noise draws (both models read the same noise streams); * marks a gain \
         beyond two standard errors. {}.",
        sentences.join("; ")
    )
}

/// The controls' table: per Pareto design, the study's accuracy, then each control's
/// accuracy and the gain over it.
fn controls_table(
    cfg: &StudyConfig,
    pareto: &[&EvaluationRow],
    designs: &[DesignControls],
    page: &mut Page,
) -> Result<()> {
    let strategy = cfg.training.strategy.as_str();
    let titles: Vec<&str> = controls::strategies(cfg)
        .into_iter()
        .map(control_title)
        .collect();
    let html_heads: String = titles
        .iter()
        .map(|t| format!("<th>{t} (%)</th><th>gain (points)</th>"))
        .collect();
    let md_heads: String = titles
        .iter()
        .map(|t| format!(" {t} (%) | gain |"))
        .collect();
    writeln!(
        page.html,
        "<table><tr><th>design</th><th>{strategy} (%)</th>{html_heads}</tr>"
    )?;
    writeln!(
        page.md,
        "| design | {strategy} (%) |{md_heads}\n|---|---|{}",
        "---|---|".repeat(titles.len())
    )?;
    for (r, d) in pareto.iter().zip(designs) {
        let mut cells = vec![r.label(), format!("{:.2}", 100.0 * d.ours.accuracy_mean)];
        for (_, c) in &d.controls {
            match c {
                Some(c) => cells.extend([
                    format!("{:.2}", 100.0 * c.eval.accuracy_mean),
                    c.gain.points_text(),
                ]),
                None => cells.extend(["-".to_string(), "-".to_string()]),
            }
        }
        page.row(&cells)?;
    }
    writeln!(page.html, "</table>")?;
    writeln!(page.md)?;
    Ok(())
}

/// The Pareto designs: their parameters, fidelity, accuracy spread and every objective
/// in its display unit.
fn pareto_section(s: &Studies, page: &mut Page) -> Result<()> {
    let objective_heads: String = OBJECTIVES
        .iter()
        .map(|ob| format!("<th>{}</th>", html_escape(&ob.label())))
        .collect();
    let design_heads: String = Variable::ALL
        .iter()
        .map(|v| format!("<th>{}</th>", html_escape(v.label())))
        .collect();
    writeln!(
        page.html,
        "<h2>Pareto designs ({})</h2><table><tr><th>eval_key</th>{design_heads}\
         <th>epochs</th><th>+- std (%)</th><th>clean (%)</th>{objective_heads}</tr>",
        s.pareto.len()
    )?;
    let md_heads: Vec<String> = OBJECTIVES.iter().map(|ob| ob.label()).collect();
    writeln!(
        page.md,
        "## Pareto designs ({})\n\n| eval_key | design | epochs | {} |\n|---|---|---|{}",
        s.pareto.len(),
        md_heads.join(" | "),
        "---|".repeat(OBJECTIVES.len())
    )?;
    let percent = |v: Option<f64>| v.map_or(f64::NAN, |v| 100.0 * v);
    for r in &s.pareto {
        let values: Vec<String> = OBJECTIVES.iter().map(|ob| ob.display_text(r)).collect();
        let cells: String = values.iter().map(|v| format!("<td>{v}</td>")).collect();
        let design: String = Variable::ALL
            .iter()
            .map(|&v| format!("<td>{}</td>", v.format(r.variable(v))))
            .collect();
        writeln!(
            page.html,
            "<tr><td><code>{}</code></td>{design}<td>{}</td><td>{:.2}</td><td>{:.2}</td>\
             {cells}</tr>",
            short_key(&r.eval_key),
            r.fidelity_epochs,
            percent(r.accuracy_std),
            percent(r.accuracy_clean),
        )?;
        writeln!(
            page.md,
            "| `{}` | {} | {} | {} |",
            short_key(&r.eval_key),
            r.label(),
            r.fidelity_epochs,
            values.join(" | ")
        )?;
    }
    writeln!(page.html, "</table>")?;
    writeln!(page.md)?;
    Ok(())
}

/// `pareto.csv`: the Pareto rows with the ledger's own columns (as `pipeline export --what
/// pareto` writes them).
fn pareto_csv(pareto: &[&EvaluationRow]) -> Result<Vec<u8>> {
    let rows: Vec<EvaluationRow> = pareto.iter().map(|r| (*r).clone()).collect();
    let mut out = Vec::new();
    let mut writer = arrow::csv::Writer::new(&mut out);
    writer.write(&EvaluationRow::to_batch(&rows)?)?;
    drop(writer);
    Ok(out)
}

/// One quantity of the component breakdown: its title, unit, scale from the report's
/// unit, and how to read it.
type Quantity = (&'static str, &'static str, f64, fn(&PpaReport) -> Breakdown);

const QUANTITIES: [Quantity; 3] = [
    ("area", "mm^2", 1e-6, |r| r.area),
    ("latency", "us", 1e-3, |r| r.latency),
    ("dynamic energy", "nJ", 1e-3, |r| r.energy),
];

/// The PPA of every Pareto design by component, as the PPA model splits it.
fn components_section(
    pareto: &[&EvaluationRow],
    reports: &[PpaReport],
    page: &mut Page,
) -> Result<()> {
    let names: Vec<&str> = Breakdown::default().named().iter().map(|c| c.0).collect();
    writeln!(
        page.html,
        "<h2>PPA of the Pareto designs by component ({} model)</h2>",
        reports[0].model
    )?;
    writeln!(
        page.md,
        "## PPA of the Pareto designs by component ({} model)\n",
        reports[0].model
    )?;
    for (title, unit, scale, get) in QUANTITIES {
        let heads: String = names.iter().map(|n| format!("<th>{n}</th>")).collect();
        writeln!(
            page.html,
            "<h3>{title} ({unit})</h3><table><tr><th>design</th>{heads}<th>total</th>\
             <th>clock (ns)</th></tr>"
        )?;
        writeln!(
            page.md,
            "### {title} ({unit})\n\n| design | {} | total | clock (ns) |\n|---|{}---|---|",
            names.join(" | "),
            "---|".repeat(names.len())
        )?;
        for (row, report) in pareto.iter().zip(reports) {
            let b = get(report);
            let values: Vec<String> = b
                .named()
                .iter()
                .map(|(_, v)| format!("{:.4}", v * scale))
                .collect();
            let total = format!("{:.4}", b.total() * scale);
            let cells: String = values.iter().map(|v| format!("<td>{v}</td>")).collect();
            writeln!(
                page.html,
                "<tr><td>{}</td>{cells}<td>{total}</td><td>{:.3}</td></tr>",
                row.label(),
                report.clock_ns
            )?;
            writeln!(
                page.md,
                "| {} | {} | {total} | {:.3} |",
                row.label(),
                values.join(" | "),
                report.clock_ns
            )?;
        }
        writeln!(page.html, "</table>")?;
        writeln!(page.md)?;
    }
    let leakage: Vec<String> = pareto
        .iter()
        .zip(reports)
        .map(|(r, p)| format!("{} {:.3} nJ", r.label(), p.leakage_pj * 1e-3))
        .collect();
    writeln!(page.html, "<p>Leakage energy: {}.</p>", leakage.join("; "))?;
    writeln!(page.md, "Leakage energy: {}.\n", leakage.join("; "))?;
    Ok(())
}

/// The per-layer PPA of the most accurate Pareto design, with its components.
fn layers_section(
    cfg: &StudyConfig,
    r: &EvaluationRow,
    report: &PpaReport,
    page: &mut Page,
) -> Result<()> {
    let names: Vec<&str> = Breakdown::default().named().iter().map(|c| c.0).collect();
    let heads: String = names
        .iter()
        .map(|n| format!("<th>energy {n} (pJ)</th>"))
        .collect();
    writeln!(
        page.html,
        "<h2>Per-layer PPA of {} ({})</h2><table><tr><th>layer</th><th>tiles</th>\
         <th>copies</th><th>area (um^2)</th><th>latency (ns)</th><th>energy (pJ)</th>{heads}</tr>",
        r.label(),
        cfg.model.name
    )?;
    for l in &report.layers {
        let cells: String = l
            .energy
            .named()
            .iter()
            .map(|(_, v)| format!("<td>{v:.1}</td>"))
            .collect();
        writeln!(
            page.html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.1}</td><td>{:.1}</td>{cells}</tr>",
            l.name, l.tiles, l.copies, l.area_um2, l.latency_ns, l.energy_pj
        )?;
    }
    writeln!(page.html, "</table>")?;
    let bars: Vec<(String, f64)> = report
        .layers
        .iter()
        .map(|l| (l.name.clone(), l.energy_pj))
        .collect();
    writeln!(
        page.html,
        "{}",
        bar_chart_svg("dynamic energy per layer", "energy (pJ)", &bars)?
    )?;
    Ok(())
}

/// The seed, the code version, the cache hits per stage (`hits`) and the config.
fn provenance_section(
    cfg: &StudyConfig,
    hits: &BTreeMap<String, (usize, usize)>,
    page: &mut Page,
) -> Result<()> {
    let (seed, version) = (cfg.study.seed, stages::training::CODE_VERSION);
    writeln!(
        page.html,
        "<h2>Provenance</h2><p>seed {seed}, training code version {version}, stage outputs \
         over all runs of this study:</p><table><tr><th>stage</th><th>cached</th>\
         <th>computed</th></tr>"
    )?;
    writeln!(
        page.md,
        "## Provenance\n\nseed {seed}, training code version {version}.\n\n\
         | stage | cached | computed |\n|---|---|---|"
    )?;
    for (stage, (c, n)) in hits {
        page.row(&[stage.to_string(), c.to_string(), n.to_string()])?;
    }
    let toml = toml::to_string(cfg).unwrap_or_default();
    writeln!(
        page.html,
        "</table><h3>Config</h3><pre>{}</pre>",
        html_escape(&toml)
    )?;
    writeln!(page.md, "\n## Config\n\n```toml\n{toml}```")?;
    Ok(())
}

/// The self-contained HTML page of `body`.
fn html_page(name: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>xbar-opt: {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:1400px}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;\
         padding:3px 8px;text-align:right}}.grid{{display:flex;flex-wrap:wrap;gap:8px}}\
         pre{{background:#f4f4f4;padding:1em}}</style></head><body>{body}</body></html>",
        html_escape(name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::sample_row;

    /// A study of three full-fidelity rows: `a` and `c` on the front, `b` dominated by
    /// `a`, and a failed `d`.
    fn study() -> Vec<StudyRows> {
        let mut rows: Vec<EvaluationRow> = ["a", "b", "c", "d"]
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let mut r = sample_row(key);
                r.iteration = i as i64;
                r.fidelity_z = 1.0;
                r.latency_ns = Some(10.0);
                r
            })
            .collect();
        rows[1].accuracy_mean = Some(0.5);
        rows[2].accuracy_mean = Some(0.4);
        rows[2].area_um2 = Some(1.0e6);
        rows[3].status = crate::record::STATUS_FAILED.into();
        rows[3].accuracy_mean = None;
        vec![StudyRows {
            name: "s".into(),
            strategy: "cf_mesmo".into(),
            rows,
        }]
    }

    #[test]
    fn the_summary_counts_the_evaluations_and_the_failures() {
        let all = study();
        let s = Studies::new(&all);
        let mut page = Page::default();
        summary_section(&s, &mut page).unwrap();
        assert!(
            page.html
                .contains("4 evaluations (3 at full fidelity, 1 failed)"),
            "{}",
            page.html
        );
        assert!(page.md.starts_with("# xbar-opt study s"));
    }

    #[test]
    fn the_pareto_table_has_every_objective_and_every_pareto_row() {
        let all = study();
        let s = Studies::new(&all);
        assert_eq!(
            s.pareto
                .iter()
                .map(|r| r.eval_key.as_str())
                .collect::<Vec<_>>(),
            ["a", "c"],
            "most accurate first"
        );
        let mut page = Page::default();
        pareto_section(&s, &mut page).unwrap();
        for ob in OBJECTIVES {
            assert!(page.html.contains(&html_escape(&ob.label())), "{}", ob.name);
            assert!(page.md.contains(&ob.label()), "{}", ob.name);
        }
        assert_eq!(page.html.matches("<tr><td><code>").count(), 2);
        assert!(page.md.contains("| `a` |") && page.md.contains("61.00"));
        let csv = String::from_utf8(pareto_csv(&s.pareto).unwrap()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[0].starts_with("eval_key,study,iteration,"));
        assert!(lines[1].starts_with("a,") && lines[2].starts_with("c,"));
    }

    #[test]
    fn the_hypervolume_trace_grows_with_the_front() {
        let all = study();
        let reference = vec![0.0, 2.0e6, 20.0, 1.0e6];
        let trace = hv_trace(&all[0].rows, &reference);
        assert_eq!(trace.len(), 4);
        assert_eq!(
            trace.iter().map(|p| p.0).collect::<Vec<_>>(),
            [2.0, 4.0, 6.0, 8.0]
        );
        assert!(trace[0].1 > 0.0 && trace[1].1 == trace[0].1 && trace[2].1 > trace[1].1);
        assert_eq!(trace[3].1, trace[2].1, "a failed row adds nothing");
    }

    #[test]
    fn short_keys_never_panic() {
        assert_eq!(short_key("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_key("abc"), "abc");
        assert_eq!(short_key("ééééééééééééé"), "éééééééééééé");
        assert_eq!(short_key(""), "");
    }
}
