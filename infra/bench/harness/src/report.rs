//! `coldstart.json` → the markdown section and the bar chart (hand-written SVG).
use std::fmt::Write as _;

use serde_json::Value;

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
}

fn fmt_ms(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
        None => "–".into(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn targets(data: &Value) -> Vec<&Value> {
    data.get("targets")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn name(t: &Value) -> &str {
    t.get("name").and_then(Value::as_str).unwrap_or("?")
}

fn is_function(t: &Value) -> bool {
    t.get("kind").and_then(Value::as_str) == Some("function")
}

/// Functions first (in the given order), then the baselines.
fn ordered<'a>(data: &'a Value, order: &[&str]) -> Vec<&'a Value> {
    let all = targets(data);
    let rank = |t: &Value| {
        order
            .iter()
            .position(|n| *n == name(t))
            .unwrap_or(order.len())
    };
    let mut fns: Vec<&Value> = all.iter().copied().filter(|t| is_function(t)).collect();
    fns.sort_by_key(|t| rank(t));
    let mut base: Vec<&Value> = all.iter().copied().filter(|t| !is_function(t)).collect();
    base.sort_by_key(|t| name(t).to_string());
    fns.extend(base);
    fns
}

fn statuses(t: &Value) -> String {
    let expect = t.get("expected_status").and_then(Value::as_u64);
    let map = t.get("statuses").and_then(Value::as_object);
    let Some(map) = map.filter(|m| !m.is_empty()) else {
        return "–".into();
    };
    let mut parts: Vec<String> = map
        .iter()
        .map(|(s, n)| {
            if map.len() == 1 {
                s.clone()
            } else {
                format!("{s} ×{}", n.as_u64().unwrap_or(0))
            }
        })
        .collect();
    let unexpected = t
        .get("unexpected_status_runs")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if unexpected > 0 {
        parts.push(format!(
            "(expected {})",
            expect.map(|e| e.to_string()).unwrap_or_default()
        ));
    }
    parts.join(", ")
}

/// The AWS calls a target made (from a counting pass), if counted.
fn calls_of<'a>(calls: Option<&'a Value>, target: &str) -> Option<&'a Value> {
    targets(calls?)
        .into_iter()
        .find(|t| name(t) == target)?
        .get("aws_calls")
}

fn load(data: &Value, key: &str) -> String {
    data.get(key)
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_f64)
        .map(|l| format!("{l:.2}"))
        .unwrap_or_else(|| "?".into())
}

/// What every part of the section needs: the rows in order and the goal they are held to.
struct Section<'a> {
    data: &'a Value,
    rows: Vec<&'a Value>,
    calls: Option<&'a Value>,
    baseline: &'a str,
    goal: f64,
}

impl<'a> Section<'a> {
    fn new(data: &'a Value, calls: Option<&'a Value>) -> Self {
        Section {
            data,
            rows: ordered(data, &crate::fixtures::FUNCTIONS),
            calls,
            baseline: data
                .get("baseline")
                .and_then(Value::as_str)
                .unwrap_or("baseline-sdk"),
            goal: num(data, &["goal_ratio"]).unwrap_or(1.3),
        }
    }

    fn cpus(&self) -> f64 {
        num(self.data.get("host").unwrap_or(&Value::Null), &["cpus"]).unwrap_or(0.0)
    }
}

pub fn markdown(data: &Value, calls: Option<&Value>, chart_link: &str) -> String {
    let section = Section::new(data, calls);
    let mut md = String::new();
    intro(&mut md, &section);
    goal_line(&mut md, &section);
    let _ = writeln!(md, "![cold start]({chart_link})\n");
    table(&mut md, &section);
    if let Some(c) = calls {
        calls_notes(&mut md, &section, c);
    }
    let problems = problems(&section.rows);
    if !problems.is_empty() {
        let _ = writeln!(md, "\n**Problems in this run:**\n\n{}", problems.join("\n"));
    }
    let _ = writeln!(md, "\n{}", facts(&section).join(" "));
    md
}

/// The heading, how the cold starts were measured, and what each column means.
fn intro(md: &mut String, section: &Section) {
    let data = section.data;
    let runs = num(data, &["runs"]).unwrap_or(0.0);
    let warmup = num(data, &["warmup_rounds"]).unwrap_or(0.0);
    let memory = num(data, &["memory_mb"]).unwrap_or(0.0);
    let host = data.get("host").cloned().unwrap_or(Value::Null);
    let host_s = |k: &str| {
        host.get(k)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let cpus = section.cpus();
    let _ = writeln!(md, "## Cold start\n");
    let _ = writeln!(
        md,
        "Each function's **first request in a fresh process**: {runs:.0} cold starts per target \
         (after {warmup:.0} unrecorded warm-up round), interleaved round-robin with two baselines \
         so that noise on the machine hits every target alike. `baseline-hello` is a bare \
         `lambda_http` function; `baseline-sdk` also loads the AWS SDK configuration and builds \
         the DynamoDB and KMS clients at init (the same crates and features as `shared`), then \
         answers without calling AWS. All are release builds as `cargo lambda build --release` \
         makes them for x86_64, started by `runtime-emulator` (`infra/bench/harness`), a local \
         Lambda Runtime API, with Lambda's environment (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE={memory:.0}`, \
         informational: nothing caps CPU or memory here). DynamoDB and KMS are moto on loopback, \
         so each AWS call in a first request is a local round trip (a few ms), not a regional one. \
         Host: {cpus:.0} × {}, Linux {}.\n",
        host_s("cpu_model"),
        host_s("kernel"),
    );
    let _ = writeln!(
        md,
        "- **init**: spawn → the runtime's first `GET /runtime/invocation/next` (process start, \
         configuration, SDK clients).\n\
         - **first response**: spawn → `POST /runtime/invocation/<id>/response`: init plus the \
         first request, including its DynamoDB and KMS calls.\n\
         - **peak RSS**: `VmHWM` of the process right after its response.\n"
    );
}

/// The goal and how many functions met it.
fn goal_line(md: &mut String, section: &Section) {
    let Section {
        rows,
        baseline,
        goal,
        ..
    } = section;
    let base_median = rows
        .iter()
        .find(|t| name(t) == *baseline)
        .and_then(|t| num(t, &["first_response_ms", "median"]));
    let fns: Vec<&&Value> = rows.iter().filter(|t| is_function(t)).collect();
    let passed = fns
        .iter()
        .filter(|t| t.get("goal_met").and_then(Value::as_bool) == Some(true))
        .count();
    let _ = writeln!(
        md,
        "**Goal**: each function's first-response median ≤ {goal}× `{baseline}`'s ({} ms): \
         **{passed} of {} PASS**.\n",
        fmt_ms(base_median),
        fns.len()
    );
}

/// One row per target; the AWS call columns only when calls were counted.
fn table(md: &mut String, section: &Section) {
    let Section { baseline, goal, .. } = section;
    let (calls_head, calls_rule) = if section.calls.is_some() {
        (
            " AWS calls (init + request) | request: waiting on AWS (ms) | request: other work (ms) |",
            "---:|---:|---:|",
        )
    } else {
        ("", "")
    };
    let _ = writeln!(
        md,
        "| target | first request | status | init median / p90 (ms) | first response median / p90 (ms) | peak RSS median (MiB) |{calls_head} × {baseline} | goal ≤ {goal}× |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|{calls_rule}---:|---|");
    for t in &section.rows {
        let _ = writeln!(md, "{}", row(t, section));
    }
}

fn row(t: &Value, section: &Section) -> String {
    let ratio = num(t, &["ratio_to_baseline"]);
    let verdict = match t.get("goal_met").and_then(Value::as_bool) {
        Some(true) => "PASS".to_string(),
        Some(false) => format!(
            "**MISS** (+{:.0}%)",
            (ratio.unwrap_or(0.0) / section.goal - 1.0) * 100.0
        ),
        None if is_function(t) => "no data".into(),
        None => "–".into(),
    };
    let rss = num(t, &["peak_rss_kib", "median"]).map(|k| k / 1024.0);
    let calls_cells = if section.calls.is_some() {
        calls_cells(t, calls_of(section.calls, name(t)))
    } else {
        String::new()
    };
    format!(
        "| {} | `{}` | {} | {} / {} | {} / {} | {} |{calls_cells} {} | {} |",
        name(t),
        t.get("request").and_then(Value::as_str).unwrap_or("?"),
        statuses(t),
        fmt_ms(num(t, &["init_ms", "median"])),
        fmt_ms(num(t, &["init_ms", "p90"])),
        fmt_ms(num(t, &["first_response_ms", "median"])),
        fmt_ms(num(t, &["first_response_ms", "p90"])),
        rss.map(|m| format!("{m:.1}")).unwrap_or_else(|| "–".into()),
        ratio
            .map(|r| format!("{r:.2}×"))
            .unwrap_or_else(|| "–".into()),
        verdict,
    )
}

/// A row's AWS call cells: calls (init + request), the request's time waiting on AWS, and
/// the rest of the request.
fn calls_cells(t: &Value, c: Option<&Value>) -> String {
    let count = |path: &[&str]| c.and_then(|c| num(c, path)).map(|n| format!("{n:.0}"));
    let split = count(&["init", "count", "median"])
        .zip(count(&["request", "count", "median"]))
        .map(|(i, r)| format!("{i} + {r}"));
    let waiting = c.and_then(|c| num(c, &["request", "busy_ms", "median"]));
    // The request's own work: first response − init − its time waiting on AWS.
    let other = match (
        num(t, &["first_response_ms", "median"]),
        num(t, &["init_ms", "median"]),
        waiting,
    ) {
        (Some(f), Some(i), Some(w)) => Some((f - i - w).max(0.0)),
        _ => None,
    };
    format!(
        " {} | {} | {} |",
        split
            .or_else(|| count(&["count", "median"]))
            .unwrap_or_else(|| "–".into()),
        fmt_ms(waiting),
        fmt_ms(other)
    )
}

/// How the calls were counted, and each target's calls in the last counted cold start.
fn calls_notes(md: &mut String, section: &Section, c: &Value) {
    let runs = num(c, &["runs"]).unwrap_or(0.0);
    let _ = writeln!(
        md,
        "\nAWS calls: counted in a separate, untimed pass of {runs:.0} cold start(s) per \
         target with moto recording every call (`MOTO_COUNT=1`, `infra/moto_serial.py`), \
         medians; a call is *init* if it reached moto before the runtime asked for its \
         event. *Waiting on AWS* is the time with at least one of the request's calls \
         outstanding at moto, arrival to answer (recording makes moto slightly slower). \
         *Other work* is the rest of the request: first response − init − waiting on AWS \
         (the handler's own CPU time, and the runtime's). The calls of the last counted \
         cold start:\n"
    );
    for t in &section.rows {
        let Some(ops) = calls_of(Some(c), name(t))
            .and_then(|c| c.get("ops_last_run"))
            .and_then(Value::as_object)
            .filter(|o| !o.is_empty())
        else {
            continue;
        };
        let list: Vec<String> = ops
            .iter()
            .map(|(op, n)| format!("{op} ×{}", n.as_u64().unwrap_or(0)))
            .collect();
        let _ = writeln!(md, "- `{}`: {}", name(t), list.join(", "));
    }
}

/// Errors and unexpected statuses, one line per target and kind.
fn problems(rows: &[&Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for t in rows {
        if let Some(errs) = t.get("errors").and_then(Value::as_object) {
            for (e, n) in errs {
                problems.push(format!(
                    "- `{}`: {} run(s): {}",
                    name(t),
                    n.as_u64().unwrap_or(0),
                    e.replace('\n', " ")
                ));
            }
        }
        let unexpected = t
            .get("unexpected_status_runs")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if unexpected > 0 {
            problems.push(format!(
                "- `{}`: {unexpected} run(s) answered another status than the expected {} \
                 (see `target/bench/logs/{}.log`)",
                name(t),
                t.get("expected_status")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                name(t)
            ));
        }
    }
    problems
}

/// The closing paragraph: the machine's load, where the raw data is, what was measured.
fn facts(section: &Section) -> Vec<String> {
    let data = section.data;
    let mut facts = vec![
        format!(
            "Load average (1 min) before / after the measured rounds: {} / {} on {:.0} CPUs \
             (other work on the machine shows up as noise; compare p90 with median).",
            load(data, "loadavg_before"),
            load(data, "loadavg_after"),
            section.cpus()
        ),
        "Raw numbers and every sample: `target/bench/coldstart.json`; the events sent: \
         `target/bench/events/`; the functions' logs: `target/bench/logs/`."
            .to_string(),
    ];
    let meta = data
        .get("meta")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if !meta.is_empty() {
        let m: Vec<String> = meta
            .iter()
            .map(|(k, v)| format!("{k} `{}`", v.as_str().unwrap_or_default()))
            .collect();
        facts.push(format!("Measured at {}.", m.join(", ")));
    }
    facts
}

/// A step of 1, 2 or 5 × 10^k giving about 5–8 ticks up to `max`.
fn tick_step(max: f64) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "runs": 3, "warmup_rounds": 1, "memory_mb": 256, "baseline": "baseline-sdk", "goal_ratio": 1.3,
            "host": {"cpus": 2, "cpu_model": "cpu", "kernel": "6"},
            "meta": {"commit": "abc"},
            "targets": [
                {"name": "baseline-sdk", "kind": "baseline", "request": "GET /", "expected_status": 200,
                 "statuses": {"200": 3}, "unexpected_status_runs": 0, "errors": {},
                 "init_ms": {"median": 8.0, "p90": 9.0}, "first_response_ms": {"median": 10.0, "p90": 12.0},
                 "peak_rss_kib": {"median": 8192.0}, "ratio_to_baseline": 1.0},
                {"name": "jwks", "kind": "function", "request": "GET /jwks.json", "expected_status": 200,
                 "statuses": {"200": 2, "500": 1}, "unexpected_status_runs": 1, "errors": {"boom": 1},
                 "init_ms": {"median": 9.0, "p90": 9.5}, "first_response_ms": {"median": 14.0, "p90": 15.0},
                 "peak_rss_kib": {"median": 10240.0}, "ratio_to_baseline": 1.4, "goal_met": false},
                {"name": "discovery", "kind": "function", "request": "GET /.well-known/openid-configuration",
                 "expected_status": 200, "statuses": {"200": 3}, "unexpected_status_runs": 0, "errors": {},
                 "init_ms": {"median": 9.0, "p90": 9.5}, "first_response_ms": {"median": 12.0, "p90": 13.0},
                 "peak_rss_kib": {"median": 10240.0}, "ratio_to_baseline": 1.2, "goal_met": true}
            ]
        })
    }

    #[test]
    fn markdown_has_verdicts_in_function_order() {
        let md = markdown(&sample(), None, "chart.svg");
        assert!(md.starts_with("## Cold start\n"));
        assert!(md.contains("**1 of 2 PASS**"));
        assert!(md.contains("![cold start](chart.svg)"));
        let d = md.find("| discovery |").expect("discovery row");
        let j = md.find("| jwks |").expect("jwks row");
        let b = md.find("| baseline-sdk |").expect("baseline row");
        assert!(d < j && j < b);
        assert!(md.contains("**MISS** (+8%)"));
        assert!(md.contains("200 ×2, 500 ×1, (expected 200)"));
        assert!(md.contains("`jwks`: 1 run(s): boom"));
        assert!(md.contains("| 10.0 |"));
        assert!(!md.contains("AWS calls"));
    }

    #[test]
    fn markdown_adds_aws_calls_when_counted() {
        let calls = json!({"runs": 2, "targets": [
            {"name": "jwks", "aws_calls": {"count": {"median": 2.0}, "busy_ms": {"median": 5.0},
             "init": {"count": {"median": 1.0}, "busy_ms": {"median": 2.0}},
             "request": {"count": {"median": 1.0}, "busy_ms": {"median": 3.0}},
             "ops_last_run": {"dynamodb GetItem": 1, "kms GetPublicKey": 1}}}
        ]});
        let md = markdown(&sample(), Some(&calls), "chart.svg");
        assert!(md.contains("| AWS calls (init + request) | request: waiting on AWS (ms) |"));
        // jwks: first response 14, init 9, waiting 3 → 2 ms of other work.
        assert!(md.contains("| 1 + 1 | 3.0 | 2.0 |"), "{md}");
        assert!(md.contains("- `jwks`: dynamodb GetItem ×1, kms GetPublicKey ×1"));
        let discovery = md
            .lines()
            .find(|l| l.starts_with("| discovery |"))
            .expect("row");
        assert!(discovery.contains("| – | – | – |"));
    }

    #[test]
    fn svg_is_well_formed_enough() {
        let s = svg(&sample());
        assert!(s.starts_with("<svg"));
        assert!(s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<text").count(), s.matches("</text>").count());
        assert!(s.contains("goal 1.3× baseline-sdk = 13.0 ms"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(60.0), 10.0);
        assert_eq!(tick_step(7.0), 2.0);
        assert_eq!(tick_step(250.0), 50.0);
    }
}
