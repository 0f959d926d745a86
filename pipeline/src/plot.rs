//! SVG plots with plotters (line charts, scatter plots, parallel coordinates, bars), using the bundled DejaVu Sans font (plotters' `ab_glyph`
//! text backend needs a registered font even for SVG; see `assets/DejaVuSans-LICENSE.txt`).

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;

/// A continuous axis of the row charts.
type RangedF64 = plotters::coord::types::RangedCoordf64;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        // The bundled font is valid; a failure here would only lose the text.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// One named polyline.
pub struct Series {
    /// Legend label (only the first series of a label is put in the legend).
    pub label: String,
    /// Index into the palette.
    pub colour: usize,
    /// Points, x ascending.
    pub points: Vec<(f64, f64)>,
}

/// Writes a line chart with named, labelled axes to `path`.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let svg = line_chart_svg(title, x_label, y_label, series)?;
    cache::atomic::write_atomic(path, svg.as_bytes())
}

fn plot_err(what: &str, e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow!("plotting {what}: {e}")
}

/// An axis label: plain for moderate magnitudes, scientific otherwise.
fn short_number(v: &f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

/// The range of `values` with 5 % padding (a unit range when empty).
fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-9 * hi.abs().max(1.0));
    (lo - pad)..(hi + pad)
}

/// A line chart as an SVG document.
pub fn line_chart_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<String> {
    register_font();
    let xs = padded_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let ys = padded_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 520)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| plot_err(title, e);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(xs, ys)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .y_label_formatter(&short_number)
            .draw()
            .map_err(|e| err(&e))?;
        let mut labelled = std::collections::BTreeSet::new();
        for s in series {
            let colour = Palette99::pick(s.colour).to_rgba();
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(|e| err(&e))?;
            let line = chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|e| err(&e))?;
            if !s.label.is_empty() && labelled.insert(s.label.clone()) {
                line.label(s.label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            }
        }
        if !labelled.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// One point of a scatter plot; highlighted points are drawn larger and in red.
pub struct ScatterPoint {
    /// Horizontal value.
    pub x: f64,
    /// Vertical value.
    pub y: f64,
    /// Whether to highlight it (e.g. a Pareto design).
    pub highlight: bool,
}

/// A scatter plot as an SVG document, `size` pixels.
pub fn scatter_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[ScatterPoint],
    size: (u32, u32),
) -> Result<String> {
    register_font();
    let xs = padded_range(points.iter().map(|p| p.x));
    let ys = padded_range(points.iter().map(|p| p.y));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| plot_err(title, e);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(xs, ys)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&short_number)
            .y_label_formatter(&short_number)
            .draw()
            .map_err(|e| err(&e))?;
        let grey = RGBColor(120, 120, 160);
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| !p.highlight)
                    .map(|p| Circle::new((p.x, p.y), 3, grey.filled())),
            )
            .map_err(|e| err(&e))?;
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.highlight)
                    .map(|p| Circle::new((p.x, p.y), 5, RED.filled())),
            )
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// Parallel coordinates: one polyline per item across `axes` (each value normalised to
/// its axis's range, printed at the axis ends); highlighted lines in red.
pub fn parallel_coordinates_svg(
    title: &str,
    axes: &[&str],
    lines: &[(Vec<f64>, bool)],
) -> Result<String> {
    register_font();
    let ranges: Vec<(f64, f64)> = (0..axes.len())
        .map(|j| {
            let r = padded_range(lines.iter().map(|(v, _)| v[j]));
            (r.start, r.end)
        })
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 460)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| plot_err(title, e);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let n = axes.len().max(2) as f64 - 1.0;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(30)
            .x_label_area_size(40)
            .build_cartesian_2d(-0.05..n + 0.05, -0.08..1.08)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_y_axis()
            .x_labels(axes.len())
            .x_label_formatter(&|x| {
                let i = x.round() as usize;
                axes.get(i).map_or(String::new(), |a| a.to_string())
            })
            .draw()
            .map_err(|e| err(&e))?;
        for (j, (lo, hi)) in ranges.iter().enumerate() {
            let x = j as f64;
            chart
                .draw_series(LineSeries::new(
                    vec![(x, 0.0), (x, 1.0)],
                    BLACK.stroke_width(1),
                ))
                .map_err(|e| err(&e))?;
            for (y, v) in [(-0.05, lo), (1.03, hi)] {
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!("{v:.3e}"),
                        (x, y),
                        ("sans-serif", 11),
                    )))
                    .map_err(|e| err(&e))?;
            }
        }
        let grey = RGBColor(150, 150, 190).mix(0.6);
        for highlight in [false, true] {
            for (values, h) in lines.iter().filter(|(_, h)| *h == highlight) {
                let style = if *h {
                    RED.stroke_width(2)
                } else {
                    grey.stroke_width(1)
                };
                let pts: Vec<(f64, f64)> = values
                    .iter()
                    .enumerate()
                    .map(|(j, v)| {
                        let (lo, hi) = ranges[j];
                        (j as f64, (v - lo) / (hi - lo))
                    })
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts, style))
                    .map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// A horizontal bar chart of named values (e.g. per-layer energy).
pub fn bar_chart_svg(title: &str, value_label: &str, bars: &[(String, f64)]) -> Result<String> {
    register_font();
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1e-12);
    let n = bars.len();
    let height = 100 + 26 * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| plot_err(title, e);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        let format = |v: &f64| format!("{v:.3e}");
        let frame = RowFrame {
            title,
            value_label,
            labels: &labels,
            spare: 0,
            label_width: 170,
        };
        let mut chart = frame.chart(&root, 0.0..max * 1.05, &format)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
                let y = (n - 1 - i) as f64;
                Rectangle::new([(0.0, y + 0.15), (*v, y + 0.85)], BLUE.mix(0.6).filled())
            }))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// The frame the row charts share (bars, error bars): a title, one labelled row per
/// item from the top (item `i` spans `[n - 1 - i, n - i)`), `spare` blank rows above
/// them, the values along the bottom.
struct RowFrame<'l> {
    title: &'l str,
    value_label: &'l str,
    labels: &'l [String],
    spare: usize,
    label_width: u32,
}

impl RowFrame<'_> {
    fn chart<'a, 'b>(
        &self,
        root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
        x: std::ops::Range<f64>,
        x_format: &dyn Fn(&f64) -> String,
    ) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedF64, RangedF64>>> {
        let err = |e: &dyn std::fmt::Display| plot_err(self.title, e);
        let n = self.labels.len();
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(self.label_width)
            .build_cartesian_2d(x, 0.0..(n + self.spare) as f64)
            .map_err(|e| err(&e))?;
        let labels = self.labels;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(self.value_label)
            .x_label_formatter(x_format)
            .y_labels((n + self.spare) * 2 + 1)
            .y_label_formatter(&|v| {
                let i = v.floor() as usize;
                let centre = (v - v.floor() - 0.5).abs() < 1e-6;
                match labels.get(n.wrapping_sub(1).wrapping_sub(i)) {
                    Some(label) if centre => label.clone(),
                    _ => String::new(),
                }
            })
            .draw()
            .map_err(|e| err(&e))?;
        Ok(chart)
    }
}

/// One estimate with its error bar, on a row of [`error_bar_svg`].
pub struct Estimate {
    /// Legend label (one legend entry per label).
    pub label: String,
    /// Index into the palette.
    pub colour: usize,
    /// The value.
    pub value: f64,
    /// Half the error bar's length (two standard errors, say).
    pub half_width: f64,
}

/// Estimates with horizontal error bars, one row per named item (the first at the top),
/// a vertical line at zero: the report's paired gains.
pub fn error_bar_svg(
    title: &str,
    value_label: &str,
    rows: &[(String, Vec<Estimate>)],
) -> Result<String> {
    register_font();
    let ends = rows.iter().flat_map(|(_, es)| {
        es.iter()
            .flat_map(|e| [e.value - e.half_width, e.value + e.half_width])
    });
    let x = padded_range(ends.chain([0.0]));
    let n = rows.len();
    let height = 180 + 30 * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| plot_err(title, e);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        // Blank rows above the first for the legend.
        let frame = RowFrame {
            title,
            value_label,
            labels: &labels,
            spare: 2,
            label_width: 230,
        };
        let mut chart = frame.chart(&root, x, &short_number)?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (0.0, n as f64)], BLACK))
            .map_err(|e| err(&e))?;
        let mut labelled = std::collections::BTreeSet::new();
        let per_row = rows
            .iter()
            .map(|(_, es)| es.len())
            .max()
            .unwrap_or(1)
            .max(1);
        for (i, (_, estimates)) in rows.iter().enumerate() {
            for (k, e) in estimates.iter().enumerate() {
                let y = (n - 1 - i) as f64 + (k as f64 + 1.0) / (per_row as f64 + 1.0);
                let colour = Palette99::pick(e.colour).to_rgba();
                let (lo, hi) = (e.value - e.half_width, e.value + e.half_width);
                let drawn = chart
                    .draw_series([
                        PathElement::new(vec![(lo, y), (hi, y)], colour.stroke_width(2)),
                        PathElement::new(
                            vec![(lo, y - 0.08), (lo, y + 0.08)],
                            colour.stroke_width(1),
                        ),
                        PathElement::new(
                            vec![(hi, y - 0.08), (hi, y + 0.08)],
                            colour.stroke_width(1),
                        ),
                    ])
                    .map_err(|er| err(&er))?;
                if labelled.insert(e.label.clone()) {
                    drawn.label(e.label.clone()).legend(move |(px, py)| {
                        PathElement::new(vec![(px, py), (px + 16, py)], colour.stroke_width(2))
                    });
                }
                chart
                    .draw_series([Circle::new((e.value, y), 4, colour.filled())])
                    .map_err(|er| err(&er))?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
