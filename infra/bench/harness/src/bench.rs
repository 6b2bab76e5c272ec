//! N cold starts of every target, interleaved round-robin (so that drift and noise on the
//! machine hit every target alike), summarised as median and p90.
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{Map, Value, json};

use crate::{
    calls::{self, Calls},
    emulator::{self, ColdStart},
    fixtures::{self, Ctx, Fixture},
};

pub struct BenchOptions {
    pub ctx: Ctx,
    /// The targets measured (every bootstrap of `ctx` but the helpers).
    pub measured: Vec<String>,
    pub runs: usize,
    pub warmup: usize,
    /// The target the functions are compared with.
    pub baseline: String,
    /// Goal: first response median ≤ `goal_ratio` × the baseline's.
    pub goal_ratio: f64,
    /// The full events are written here (one file per target), for inspection or `invoke`.
    pub events_dir: Option<PathBuf>,
    /// Free-form `key=value` facts recorded in the output (commit, build flags, ...).
    pub meta: Vec<(String, String)>,
    /// moto's base URL when it records calls (`MOTO_COUNT=1`): each cold start's AWS calls
    /// are counted (moto is slower then: use it for a counting pass, not for timing).
    pub aws_calls: Option<String>,
}

/// Median, p90 (nearest rank), min, max and mean of a sample.
pub fn stats(samples: &[f64]) -> Value {
    if samples.is_empty() {
        return Value::Null;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let rank = ((0.9 * n as f64).ceil() as usize).clamp(1, n);
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    json!({
        "n": n,
        "median": round(median),
        "p90": round(v[rank - 1]),
        "min": round(v[0]),
        "max": round(v[n - 1]),
        "mean": round(v.iter().sum::<f64>() / n as f64),
    })
}

fn host() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu_model": cpu,
        "kernel": kernel,
        "arch": std::env::consts::ARCH,
    })
}

/// The 1, 5 and 15 minute load averages: how busy the machine was around the measurement.
fn loadavg() -> Value {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    json!(v)
}

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

fn line(name: &str, r: &ColdStart) -> String {
    match (&r.error, r.first_response_ms) {
        (Some(e), _) => format!("{name}: ERROR {}", e.chars().take(160).collect::<String>()),
        (None, Some(ms)) => format!(
            "{name} {ms:.1} ms ({})",
            r.status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "?".into())
        ),
        (None, None) => format!("{name}: no response"),
    }
}

/// Every recorded cold start of each target, and (when counted) its AWS calls.
#[derive(Default)]
struct Measured {
    results: BTreeMap<String, Vec<ColdStart>>,
    aws: BTreeMap<String, Vec<Calls>>,
}

pub async fn run(opts: BenchOptions) -> Result<Value, String> {
    let ctx = &opts.ctx;
    if !opts.measured.contains(&opts.baseline) {
        return Err(format!(
            "the baseline `{}` is not among the targets",
            opts.baseline
        ));
    }
    if let Some(dir) = &ctx.log_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for name in ctx.bootstraps.keys() {
            let _ = std::fs::remove_file(dir.join(format!("{name}.log")));
        }
    }
    let mut fixtures: BTreeMap<String, Fixture> = fixtures::prepare(ctx, &opts.measured).await?;
    let names = opts.measured.clone();
    let load_before = loadavg();
    let measured = measure(&opts, &mut fixtures, &names).await?;
    let load_after = loadavg();
    if let Some(dir) = &opts.events_dir {
        write_events(dir, &fixtures)?;
    }

    let first_response = |name: &str| -> Vec<f64> {
        measured
            .results
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|r| r.first_response_ms)
            .collect()
    };
    let baseline_median = stats(&first_response(&opts.baseline))
        .get("median")
        .and_then(Value::as_f64);
    let targets: Vec<Value> = names
        .iter()
        .map(|name| summary(&opts, name, &fixtures[name], &measured, baseline_median))
        .collect();
    let generated = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let meta: Map<String, Value> = opts
        .meta
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    Ok(json!({
        "generated_at_epoch": generated,
        "runs": opts.runs,
        "warmup_rounds": opts.warmup,
        "memory_mb": ctx.memory_mb,
        "timeout_ms": ctx.timeout.as_millis() as u64,
        "baseline": opts.baseline,
        "goal_ratio": opts.goal_ratio,
        "host": host(),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "aws_calls_counted": opts.aws_calls.is_some(),
        "meta": meta,
        "env_names": ctx.env.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        "targets": targets,
    }))
}

/// Each target's event, as `<dir>/<name>.json` (for a single-use request, the last one
/// sent: replayed, it finds its `state` taken).
fn write_events(dir: &Path, fixtures: &BTreeMap<String, Fixture>) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, f) in fixtures {
        let path = dir.join(format!("{name}.json"));
        let text =
            serde_json::to_string_pretty(&f.request.to_event()).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The warm-up rounds, then the recorded ones: every target once per round, each round
/// starting one target further on. A single-use request is made afresh before each cold
/// start (before the AWS call record is reset: its making is not counted).
async fn measure(
    opts: &BenchOptions,
    fixtures: &mut BTreeMap<String, Fixture>,
    names: &[String],
) -> Result<Measured, String> {
    let ctx = &opts.ctx;
    let mut m = Measured::default();
    let rounds = opts.warmup + opts.runs;
    for round in 0..rounds {
        let warm = round < opts.warmup;
        let mut order = names.to_vec();
        order.rotate_left(round % names.len().max(1));
        let mut lines = Vec::new();
        for name in &order {
            if let Some(fresh) = fixtures::renew(ctx, name).await {
                let request = fresh?;
                if let Some(f) = fixtures.get_mut(name) {
                    f.request = request;
                }
            }
            let f = &fixtures[name];
            let inv = ctx.invocation(name, f.request.to_event())?;
            if let Some(url) = &opts.aws_calls {
                calls::reset(url)?;
            }
            let r = emulator::cold_start(&inv).await?;
            lines.push(line(name, &r));
            if !warm {
                if let Some(url) = &opts.aws_calls {
                    let c = calls::fetch(url, r.next_monotonic)?;
                    m.aws.entry(name.clone()).or_default().push(c);
                }
                m.results.entry(name.clone()).or_default().push(r);
            }
        }
        let label = if warm {
            format!("warm-up {}/{}", round + 1, opts.warmup)
        } else {
            format!("run {}/{}", round + 1 - opts.warmup, opts.runs)
        };
        eprintln!("{label}: {}", lines.join(" · "));
    }
    Ok(m)
}

/// One target's entry in the JSON: what it was asked, what it answered, its statistics
/// against the baseline, its AWS calls if counted, and every sample.
fn summary(
    opts: &BenchOptions,
    name: &str,
    f: &Fixture,
    measured: &Measured,
    baseline_median: Option<f64>,
) -> Value {
    let runs = measured.results.get(name).cloned().unwrap_or_default();
    let pick =
        |g: fn(&ColdStart) -> Option<f64>| -> Vec<f64> { runs.iter().filter_map(g).collect() };
    let init = pick(|r| r.init_ms);
    let first = pick(|r| r.first_response_ms);
    let init_cpu = pick(|r| r.init_cpu_ms);
    let request_cpu = pick(|r| r.request_cpu_ms);
    let rss: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.peak_rss_kib.map(|k| k as f64))
        .collect();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for r in &runs {
        if let Some(s) = r.status {
            *statuses.entry(s.to_string()).or_default() += 1;
        }
        if let Some(e) = &r.error {
            *errors.entry(e.clone()).or_default() += 1;
        }
    }
    let is_function = fixtures::FUNCTIONS.contains(&name);
    let first_stats = stats(&first);
    let ratio = match (
        first_stats.get("median").and_then(Value::as_f64),
        baseline_median,
    ) {
        (Some(m), Some(b)) if b > 0.0 => Some((m / b * 1000.0).round() / 1000.0),
        _ => None,
    };
    let unexpected = runs
        .iter()
        .filter(|r| r.status.is_some_and(|s| s != f.expect))
        .count();
    let bootstrap = &opts.ctx.bootstraps[name];
    let mut t = Map::new();
    t.insert("name".into(), json!(name));
    t.insert(
        "kind".into(),
        json!(if is_function { "function" } else { "baseline" }),
    );
    t.insert("bootstrap".into(), json!(bootstrap));
    t.insert("size_bytes".into(), json!(file_size(bootstrap)));
    t.insert("request".into(), json!(f.request.summary()));
    t.insert("expected_status".into(), json!(f.expect));
    t.insert("statuses".into(), json!(statuses));
    t.insert("unexpected_status_runs".into(), json!(unexpected));
    t.insert("errors".into(), json!(errors));
    t.insert("init_ms".into(), stats(&init));
    t.insert("first_response_ms".into(), first_stats);
    t.insert("peak_rss_kib".into(), stats(&rss));
    t.insert("init_cpu_ms".into(), stats(&init_cpu));
    t.insert("request_cpu_ms".into(), stats(&request_cpu));
    t.insert("ratio_to_baseline".into(), json!(ratio));
    if is_function {
        t.insert(
            "goal_met".into(),
            json!(ratio.map(|r| r <= opts.goal_ratio)),
        );
    }
    if let Some(c) = measured.aws.get(name) {
        t.insert("aws_calls".into(), aws_summary(c));
    }
    t.insert(
        "samples".into(),
        json!({"init_ms": init, "first_response_ms": first, "peak_rss_kib": rss,
               "init_cpu_ms": init_cpu, "request_cpu_ms": request_cpu}),
    );
    Value::Object(t)
}

/// A target's AWS calls over its counted cold starts: in all, at init, during the request,
/// and those of the last one by operation.
fn aws_summary(c: &[Calls]) -> Value {
    let counts: Vec<f64> = c.iter().map(|c| c.count as f64).collect();
    let busy: Vec<f64> = c.iter().map(|c| c.busy_ms).collect();
    let phase = |p: fn(&Calls) -> Option<&calls::Phase>| {
        let (n, b): (Vec<f64>, Vec<f64>) = c
            .iter()
            .filter_map(p)
            .map(|p| (p.count as f64, p.busy_ms))
            .unzip();
        json!({"count": stats(&n), "busy_ms": stats(&b)})
    };
    json!({
        "count": stats(&counts),
        "busy_ms": stats(&busy),
        "init": phase(|c| c.init.as_ref()),
        "request": phase(|c| c.request.as_ref()),
        "ops_last_run": c.last().map(|c| c.ops.clone()),
    })
}

pub fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_p90() {
        let s: Vec<f64> = (1..=15).map(f64::from).collect();
        let st = stats(&s);
        assert_eq!(st["median"], 8.0);
        assert_eq!(st["p90"], 14.0);
        assert_eq!(st["min"], 1.0);
        assert_eq!(st["max"], 15.0);
        let even = stats(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(even["median"], 2.5);
        assert_eq!(even["p90"], 4.0);
        assert_eq!(stats(&[]), Value::Null);
    }
}
