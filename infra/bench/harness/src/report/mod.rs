//! `coldstart.json` → the markdown section (`markdown.rs`) and the bar chart (`chart.rs`,
//! hand-written SVG).
mod chart;
mod markdown;

use serde_json::Value;

pub use chart::svg;
pub use markdown::markdown;

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

/// What the section and the chart start from: the rows in order, the baseline and the goal
/// they are held to, and (for the section) the counted AWS calls.
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

#[cfg(test)]
mod tests {
    use super::{chart::tick_step, *};
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
                 "request_cpu_ms": {"median": 3.5, "p90": 4.0},
                 "peak_rss_kib": {"median": 10240.0}, "ratio_to_baseline": 1.4, "goal_met": false},
                {"name": "discovery", "kind": "function", "request": "GET /.well-known/openid-configuration",
                 "expected_status": 200, "statuses": {"200": 3}, "unexpected_status_runs": 0, "errors": {},
                 "init_ms": {"median": 8.5, "p90": 9.5}, "first_response_ms": {"median": 12.0, "p90": 13.0},
                 "request_cpu_ms": {"median": 1.0, "p90": 1.2},
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
        // Init: discovery 8.5 / 8 passes 1.1×, jwks 9 / 8 misses it by 2%; issue 9's
        // first-response ratio (jwks 1.4 against 1.3) is shown without a verdict.
        assert!(
            md.contains(
                "| jwks | 9.0 | 1.12× | ≤ 1.1× | **MISS** (+2%) | 3.5 / 4.0 | – | **MISS** (+17%) |"
            ),
            "{md}"
        );
        assert!(md.contains("no (+8%)"));
        assert!(md.contains("1 of 2 pass"));
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
        // The estimate beside the measured CPU time.
        assert!(md.contains("| 3.5 / 4.0 | 2.0 | **MISS** (+17%) |"), "{md}");
        assert!(md.contains("≤ 3 ms: **1 of 2 PASS**"), "{md}");
        assert!(md.contains("- `jwks`: dynamodb GetItem ×1, kms GetPublicKey ×1"));
        let discovery = md
            .lines()
            .rfind(|l| l.starts_with("| discovery |"))
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
