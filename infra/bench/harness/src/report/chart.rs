//! The cold start chart: one bar per target (init inside the first response, a p90
//! whisker), the goal as a dashed line.
use std::fmt::Write as _;

use serde_json::Value;

use super::{Section, fmt_ms, is_function, name, num};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A step of 1, 2 or 5 × 10^k giving about 5–8 ticks up to `max`.
pub(super) fn tick_step(max: f64) -> f64 {
    let raw = (max / 6.0).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// Where things go on the chart: margins, one row per target, the x scale in ms.
struct Chart {
    left: f64,
    top: f64,
    row_h: f64,
    bar_h: f64,
    width: f64,
    plot_w: f64,
    height: f64,
    /// The bottom of the last row.
    bottom: f64,
    step: f64,
    axis_max: f64,
}

impl Chart {
    /// A chart of `rows`, scaled so the longest whisker (or the goal line) fits.
    fn new(rows: &[&Value], goal_line: Option<f64>) -> Self {
        let (left, right, top, row_h, bar_h) = (120.0, 70.0, 58.0, 26.0, 16.0);
        let width = 860.0;
        let mut max = rows
            .iter()
            .filter_map(|t| {
                num(t, &["first_response_ms", "p90"]).or(num(t, &["first_response_ms", "median"]))
            })
            .fold(0.0_f64, f64::max);
        if let Some(g) = goal_line {
            max = max.max(g);
        }
        let step = tick_step(max.max(1.0));
        Chart {
            left,
            top,
            row_h,
            bar_h,
            width,
            plot_w: width - left - right,
            height: top + row_h * rows.len() as f64 + 46.0,
            bottom: top + row_h * rows.len() as f64,
            step,
            axis_max: (max / step).ceil().max(1.0) * step,
        }
    }

    fn x(&self, v: f64) -> f64 {
        self.left + v / self.axis_max * self.plot_w
    }
}

pub fn svg(data: &Value) -> String {
    let section = Section::new(data, None);
    let rows = &section.rows;
    let base_median = rows
        .iter()
        .find(|t| name(t) == section.baseline)
        .and_then(|t| num(t, &["first_response_ms", "median"]));
    let goal_line = base_median.map(|b| b * section.goal);
    let chart = Chart::new(rows, goal_line);

    let mut s = String::new();
    legend(&mut s, &chart);
    grid(&mut s, &chart);
    for (i, t) in rows.iter().enumerate() {
        bar(&mut s, &chart, i, t);
    }
    if let Some(g) = goal_line {
        let gx = chart.x(g);
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{:.1}" x2="{gx:.1}" y2="{:.1}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5,4"/><text x="{:.1}" y="{:.1}" fill="#c0392b" text-anchor="end">goal {}× {} = {:.1} ms</text>"##,
            chart.top - 6.0,
            chart.bottom,
            chart.width - 8.0,
            41.0,
            section.goal,
            esc(section.baseline),
            g
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The opening tag, the title and the colour key.
fn legend(s: &mut String, chart: &Chart) {
    let Chart {
        width,
        height,
        left,
        ..
    } = *chart;
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{left}" y="20" font-size="15" font-weight="600" fill="#1d2230">Cold start: spawn → first response (median; whisker p90)</text>
<rect x="{left}" y="32" width="12" height="10" fill="#16357f"/><rect x="{}" y="32" width="12" height="10" fill="#8f1f1f"/><text x="{}" y="41" fill="#333">init</text>
<rect x="{}" y="32" width="12" height="10" fill="#7d9be6"/><text x="{}" y="41" fill="#333">request, meets the goal</text>
<rect x="{}" y="32" width="12" height="10" fill="#e07070"/><text x="{}" y="41" fill="#333">request, misses it</text>
<rect x="{}" y="32" width="12" height="10" fill="#9aa0aa"/><text x="{}" y="41" fill="#333">baselines</text>"##,
        left + 13.0,
        left + 30.0,
        left + 70.0,
        left + 86.0,
        left + 240.0,
        left + 256.0,
        left + 380.0,
        left + 396.0,
    );
}

/// Vertical grid lines with their labels, and the axis title.
fn grid(s: &mut String, chart: &Chart) {
    let Chart {
        top,
        bottom,
        step,
        axis_max,
        ..
    } = *chart;
    let mut v = 0.0;
    while v <= axis_max + step / 2.0 {
        let gx = chart.x(v);
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{top}" x2="{gx:.1}" y2="{:.1}" stroke="#e4e7ec"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
            bottom,
            bottom + 16.0,
            if step < 1.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            }
        );
        v += step;
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">milliseconds</text>"##,
        chart.left + chart.plot_w / 2.0,
        bottom + 34.0
    );
}

/// Row `i`: the target's name, its first response bar with init inside it, the p90
/// whisker and the median's value.
fn bar(s: &mut String, chart: &Chart, i: usize, t: &Value) {
    let Chart {
        left,
        top,
        row_h,
        bar_h,
        ..
    } = *chart;
    let x = |v: f64| chart.x(v);
    let y = top + row_h * i as f64 + (row_h - bar_h) / 2.0;
    let func = is_function(t);
    let miss = t.get("goal_met").and_then(Value::as_bool) == Some(false);
    let (c_init, c_rest) = match (func, miss) {
        (false, _) => ("#5f6570", "#9aa0aa"),
        (true, true) => ("#8f1f1f", "#e07070"),
        (true, false) => ("#16357f", "#7d9be6"),
    };
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1d2230">{}</text>"##,
        left - 8.0,
        y + bar_h - 4.0,
        esc(name(t))
    );
    let Some(first) = num(t, &["first_response_ms", "median"]) else {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#b00020">no response</text>"##,
            left + 4.0,
            y + bar_h - 4.0
        );
        return;
    };
    let init = num(t, &["init_ms", "median"]).unwrap_or(0.0).min(first);
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="{c_rest}"><title>{}: first response median {first:.1} ms</title></rect>"##,
        (x(first) - left).max(0.5),
        esc(name(t))
    );
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="{c_init}"><title>{}: init median {init:.1} ms</title></rect>"##,
        (x(init) - left).max(0.5),
        esc(name(t))
    );
    if let Some(p90) = num(t, &["first_response_ms", "p90"]) {
        let (x1, x2, ym) = (x(first), x(p90), y + bar_h / 2.0);
        let _ = writeln!(
            s,
            r##"<line x1="{x1:.1}" y1="{ym:.1}" x2="{x2:.1}" y2="{ym:.1}" stroke="#333"/><line x1="{x2:.1}" y1="{:.1}" x2="{x2:.1}" y2="{:.1}" stroke="#333"/>"##,
            ym - 4.0,
            ym + 4.0
        );
    }
    let label_x = x(num(t, &["first_response_ms", "p90"])
        .unwrap_or(first)
        .max(first))
        + 6.0;
    let _ = writeln!(
        s,
        r##"<text x="{label_x:.1}" y="{:.1}" fill="#1d2230">{}</text>"##,
        y + bar_h - 4.0,
        fmt_ms(Some(first))
    );
}
