//! The report's charts, drawn by `plotters` on its SVG backend: budget curves on a log x-axis and grouped bar charts; each function returns one `<svg>` element as text.
//!
//! **Invariant:** only this module names `plotters` (`tests/tidy.rs`); the tree pictures are
//! drawn by hand in `tree.rs`, which needs no axes.

use plotters::prelude::*;

/// The colour of each run, in order (Tableau 10).
pub const COLOURS: [(u8, u8, u8); 8] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
];

fn colour(i: usize) -> RGBColor {
    let (r, g, b) = COLOURS[i % COLOURS.len()];
    RGBColor(r, g, b)
}

const SIZE: (u32, u32) = (560, 320);

/// One line of a line chart, or one group member of a bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// `(x, y)` points, x ascending.
    pub points: Vec<(f64, f64)>,
}

// Plotters escapes markup in labels but passes control characters through; XML forbids them.
use crate::html::xml_safe;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// An SVG saying the chart could not be drawn (plotters' errors are about the backend, which
/// writes to a string, so this is never expected).
fn failed(title: &str, error: &dyn std::fmt::Display) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"40\"><text x=\"4\" y=\"20\">{}: {}</text></svg>",
        SIZE.0,
        crate::html::escape(title),
        crate::html::escape(&error.to_string())
    )
}

/// Draws with `draw` on a fresh white SVG canvas: the `<svg>` text, or [`failed`]'s.
fn render(
    title: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> DrawResult,
) -> String {
    let mut svg = String::new();
    let drawn = (|| -> DrawResult {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(error) => failed(title, &error),
    }
}

/// The legend, boxed, at `position`.
fn legend<'a, CT>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The proved-within-budget steps of a budget curve: from `(x_min, 0)` up one at each
/// budget, flat to `x_max`.
pub fn steps(curve: &[(f64, u32)], x_min: f64, x_max: f64) -> Vec<(f64, f64)> {
    let mut points = vec![(x_min, 0.0)];
    for (x, n) in curve {
        let x = x.max(x_min);
        points.push((x, f64::from(n - 1)));
        points.push((x, f64::from(*n)));
    }
    let last = curve.last().map_or(0.0, |(_, n)| f64::from(*n));
    points.push((x_max, last));
    points
}

/// A line chart of `series` on a log x-axis from `x_min` to `x_max` and a linear y-axis from
/// 0 to `y_max`.
pub fn log_line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    (x_min, x_max): (f64, f64),
    y_max: f64,
    series: &[Series],
) -> String {
    render(title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(xml_safe(title), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d((x_min..x_max).log_scale(), 0f64..y_max.max(1.0) * 1.05)?;
        chart
            .configure_mesh()
            .x_desc(xml_safe(x_desc))
            .y_desc(xml_safe(y_desc))
            .x_label_formatter(&|x| format_tick(*x))
            .y_label_formatter(&|y| format_tick(*y))
            .draw()?;
        for (i, line) in series.iter().enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(line.points.clone(), c.stroke_width(2)))?
                .label(xml_safe(&line.name))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// A grouped bar chart: one group per category, one bar per series (`points[i].1` is the
/// series' value in category `i`).
pub fn bar_chart(title: &str, x_desc: &str, categories: &[String], series: &[Series]) -> String {
    let n = categories.len().max(1);
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0, f64::max);
    render(title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(xml_safe(title), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..y_max * 1.1)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(xml_safe(x_desc))
            .y_desc("theorems")
            .x_labels(n + 1)
            .x_label_style(("sans-serif", 10))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    categories
                        .get(i as usize)
                        .map(|c| xml_safe(c).into_owned())
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format_tick(*y))
            .draw()?;
        let width = 0.8 / series.len().max(1) as f64;
        for (j, s) in series.iter().enumerate() {
            let c = colour(j);
            chart
                .draw_series(s.points.iter().enumerate().map(|(i, (_, v))| {
                    let left = i as f64 - 0.4 + j as f64 * width;
                    Rectangle::new([(left, 0.0), (left + width * 0.92, *v)], c.filled())
                }))?
                .label(xml_safe(&s.name))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// A tick label: integers without decimals, small numbers with as few as they need.
fn format_tick(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{:.0}", x)
    } else if x.abs() >= 0.1 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}
