//! The AWS calls of one cold start, from the record `infra/moto_serial.py` keeps when started
//! with `MOTO_COUNT=1` (`GET /__calls`, `POST /__calls/reset`). Counting slows moto down a
//! little, so `coldstart.sh` counts in a separate pass, never while timing.
use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use serde::Serialize;
use serde_json::Value;

/// One HTTP/1.0 request to moto (which closes the connection after answering); the body.
fn http(base: &str, method: &str, path: &str) -> Result<String, String> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("{base}: only http:// is supported"))?
        .trim_end_matches('/');
    let mut s = TcpStream::connect(authority).map_err(|e| format!("{authority}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP answer from moto")?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{method} {path}: {} (is moto running with MOTO_COUNT=1?)",
            head.lines().next().unwrap_or_default()
        ));
    }
    Ok(body.to_string())
}

pub fn reset(base: &str) -> Result<(), String> {
    http(base, "POST", "/__calls/reset").map(|_| ())
}

/// What a cold start asked of AWS.
#[derive(Debug, Clone, Serialize)]
pub struct Calls {
    pub count: usize,
    /// Time with at least one call outstanding (arrival at moto → answer), in ms: what the
    /// function spent waiting on AWS if it did nothing else meanwhile.
    pub busy_ms: f64,
    /// The calls made before the runtime asked for the event (init) and after (request),
    /// when the split point is known.
    pub init: Option<Phase>,
    pub request: Option<Phase>,
    /// `dynamodb GetItem` → how many.
    pub ops: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub count: usize,
    pub busy_ms: f64,
}

/// Total time covered by the union of the spans, in ms.
fn busy_ms(mut spans: Vec<(f64, f64)>) -> f64 {
    spans.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut busy = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (a, e) in spans {
        current = match current {
            Some((s, end)) if a <= end => Some((s, end.max(e))),
            Some((s, end)) => {
                busy += end - s;
                Some((a, e))
            }
            None => Some((a, e)),
        };
    }
    if let Some((s, end)) = current {
        busy += end - s;
    }
    (busy * 1e6).round() / 1e3
}

/// `split`: when the runtime asked for its event (CLOCK_MONOTONIC seconds, moto's clock).
pub fn summarise(records: &[Value], split: Option<f64>) -> Calls {
    let mut ops = BTreeMap::new();
    let mut spans: Vec<(f64, f64)> = Vec::new();
    for r in records {
        let service = r.get("service").and_then(Value::as_str).unwrap_or("?");
        let op = r.get("op").and_then(Value::as_str).unwrap_or("?");
        *ops.entry(format!("{service} {op}")).or_default() += 1;
        if let (Some(a), Some(e)) = (
            r.get("arrival").and_then(Value::as_f64),
            r.get("end").and_then(Value::as_f64),
        ) {
            spans.push((a, e.max(a)));
        }
    }
    let phase = |init: bool| {
        split.map(|t| {
            let mine: Vec<(f64, f64)> = spans
                .iter()
                .copied()
                .filter(|(a, _)| (*a < t) == init)
                .collect();
            Phase {
                count: mine.len(),
                busy_ms: busy_ms(mine),
            }
        })
    };
    Calls {
        count: records.len(),
        busy_ms: busy_ms(spans.clone()),
        init: phase(true),
        request: phase(false),
        ops,
    }
}

/// The calls recorded since the last reset.
pub fn fetch(base: &str, split: Option<f64>) -> Result<Calls, String> {
    let body = http(base, "GET", "/__calls")?;
    let records: Vec<Value> =
        serde_json::from_str(&body).map_err(|e| format!("/__calls is not a JSON list: {e}"))?;
    Ok(summarise(&records, split))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overlapping_calls_count_once() {
        let records = [
            json!({"service": "dynamodb", "op": "GetItem", "arrival": 1.000, "end": 1.010}),
            json!({"service": "dynamodb", "op": "GetItem", "arrival": 1.005, "end": 1.020}),
            json!({"service": "kms", "op": "Sign", "arrival": 1.100, "end": 1.105}),
        ];
        let c = summarise(&records, None);
        assert_eq!(c.count, 3);
        assert_eq!(c.busy_ms, 25.0);
        assert_eq!(c.ops["dynamodb GetItem"], 2);
        assert_eq!(c.ops["kms Sign"], 1);
        assert!(c.init.is_none());
        let split = summarise(&records, Some(1.05));
        let (init, req) = (split.init.expect("init"), split.request.expect("request"));
        assert_eq!((init.count, init.busy_ms), (2, 20.0));
        assert_eq!((req.count, req.busy_ms), (1, 5.0));
    }
}
