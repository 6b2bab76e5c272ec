//! The Lambda Runtime API, for one cold start: binds a loopback port, spawns the bootstrap
//! with the Lambda environment pointing at it, hands out one invocation and times what the
//! runtime does with it.
//!
//! Served routes (API version 2018-06-01):
//! - `GET  /runtime/invocation/next`: the first call gets the event; later calls never
//!   get an answer (the process is killed once the invocation is over);
//! - `POST /runtime/invocation/<id>/response` and `/runtime/invocation/<id>/error`;
//! - `POST /runtime/init/error`.
use std::{
    convert::Infallible,
    fs::File,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode, body::Bytes, server::conn::http1};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::Value;
use tokio::{net::TcpListener, sync::mpsc, task::JoinSet};

const API: &str = "/2018-06-01";

/// One function to start cold.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The `bootstrap` executable.
    pub bootstrap: PathBuf,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// The event (an API Gateway HTTP API v2.0 payload).
    pub event: Value,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (informational: not enforced).
    pub memory_mb: u32,
    /// Set after the Lambda environment, so they may override it.
    pub env: Vec<(String, String)>,
    /// The process's stdout and stderr are appended here (discarded if `None`).
    pub log: Option<PathBuf>,
    /// Give up (and kill the process) after this long.
    pub timeout: Duration,
}

/// What one cold start did. Times are from just before the process was spawned.
#[derive(Debug, Clone, Serialize)]
pub struct ColdStart {
    /// Spawn → the runtime's first `GET .../invocation/next` (process start and init code).
    pub init_ms: Option<f64>,
    /// Spawn → `POST .../invocation/<id>/response` (init plus handling the first request).
    pub first_response_ms: Option<f64>,
    /// `statusCode` of the function's response payload.
    pub status: Option<u16>,
    /// `VmHWM` of the process right after its response arrived.
    pub peak_rss_kib: Option<u64>,
    /// CPU time the process (all its threads) spent from spawn to its first `next`.
    pub init_cpu_ms: Option<f64>,
    /// CPU time the process spent between its first `next` and its response: the first
    /// request's own work, without the time it waited on AWS or anything else.
    pub request_cpu_ms: Option<f64>,
    /// Why there is no response: init error, invocation error, exit, timeout.
    pub error: Option<String>,
    /// The response payload the function posted (API Gateway v2 response).
    #[serde(skip)]
    pub response: Option<Value>,
    /// When the first `next` arrived, in seconds of CLOCK_MONOTONIC (the clock moto's call
    /// record uses): splits AWS calls into init and request.
    #[serde(skip)]
    pub next_monotonic: Option<f64>,
}

/// An `Instant` in seconds of CLOCK_MONOTONIC. std does not expose it; on Linux its `Debug`
/// form is `Instant { tv_sec: S, tv_nsec: N }`. `None` if that ever changes.
pub fn monotonic_secs(at: Instant) -> Option<f64> {
    let s = format!("{at:?}");
    let field = |name: &str| -> Option<f64> {
        let rest = &s[s.find(name)? + name.len()..];
        let digits: String = rest
            .trim_start_matches([':', ' '])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    Some(field("tv_sec")? + field("tv_nsec")? / 1e9)
}

enum Report {
    Next {
        at: Instant,
        cpu_ms: Option<f64>,
    },
    Response {
        at: Instant,
        body: Bytes,
        peak_rss_kib: Option<u64>,
        cpu_ms: Option<f64>,
    },
    Error {
        at: Instant,
        what: &'static str,
        body: Bytes,
    },
}

struct Shared {
    event: Bytes,
    request_id: String,
    function_arn: String,
    deadline_ms: u64,
    trace_id: String,
    pid: AtomicU32,
    next_served: AtomicBool,
    reports: Mutex<Option<mpsc::UnboundedSender<Report>>>,
}

impl Shared {
    /// The one invocation `inv` is served, reporting to `tx`.
    fn new(inv: &Invocation, tx: mpsc::UnboundedSender<Report>) -> Result<Self, String> {
        let event = serde_json::to_vec(&inv.event).map_err(|e| e.to_string())?;
        Ok(Shared {
            event: Bytes::from(event),
            request_id: request_id(),
            function_arn: format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{}",
                inv.function_name
            ),
            deadline_ms: now_epoch_ms() + inv.timeout.as_millis() as u64,
            trace_id: format!(
                "Root=1-{}-{};Parent={};Sampled=0",
                unique_hex(8),
                unique_hex(24),
                unique_hex(16)
            ),
            pid: AtomicU32::new(0),
            next_served: AtomicBool::new(false),
            reports: Mutex::new(Some(tx)),
        })
    }

    fn report(&self, r: Report) {
        if let Ok(guard) = self.reports.lock()
            && let Some(tx) = guard.as_ref()
        {
            let _ = tx.send(r);
        }
    }
}

fn now_epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A process-unique hex id, e.g. for request ids (not random, just never repeated).
pub fn unique_hex(len: usize) -> String {
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut x =
        (nanos as u64) ^ (n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ u64::from(std::process::id());
    let mut out = String::new();
    while out.len() < len {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.push_str(&format!("{z:016x}"));
    }
    out.truncate(len);
    out
}

fn request_id() -> String {
    let h = unique_hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// CPU time a process's live threads have run, in ms: the sum of the scheduler's
/// `se.sum_exec_runtime` (ns precision, unlike the tick-counted times of `/proc/PID/stat`)
/// over `/proc/PID/task/*/sched`. Threads that already exited are not counted.
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let mut total = 0.0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(text) = std::fs::read_to_string(task.ok()?.path().join("sched")) else {
            continue;
        };
        total += text
            .lines()
            .find_map(|l| l.strip_prefix("se.sum_exec_runtime"))?
            .trim_start_matches([' ', ':'])
            .trim()
            .parse::<f64>()
            .ok()?;
    }
    Some(total)
}

/// `VmHWM` (peak resident set) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let path = req.uri().path().to_string();
    let Some(route) = path.strip_prefix(API) else {
        return Ok(text(StatusCode::NOT_FOUND, "unknown API version"));
    };
    let method = req.method().clone();
    if method == Method::GET && route == "/runtime/invocation/next" {
        if shared.next_served.swap(true, Ordering::SeqCst) {
            // One invocation per cold start: the process waits here until it is killed.
            std::future::pending::<()>().await;
        }
        let cpu_ms = cpu_ms(shared.pid.load(Ordering::SeqCst));
        shared.report(Report::Next { at, cpu_ms });
        let mut r = Response::new(Full::new(shared.event.clone()));
        let h = r.headers_mut();
        let pairs = [
            ("content-type", "application/json".to_string()),
            ("lambda-runtime-aws-request-id", shared.request_id.clone()),
            ("lambda-runtime-deadline-ms", shared.deadline_ms.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                shared.function_arn.clone(),
            ),
            ("lambda-runtime-trace-id", shared.trace_id.clone()),
        ];
        for (k, v) in pairs {
            if let Ok(v) = v.parse() {
                h.insert(k, v);
            }
        }
        return Ok(r);
    }
    if method != Method::POST {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"));
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if route == "/runtime/init/error" {
        shared.report(Report::Error {
            at,
            what: "init error",
            body,
        });
        return Ok(text(StatusCode::ACCEPTED, "{\"status\":\"OK\"}"));
    }
    let Some(rest) = route.strip_prefix("/runtime/invocation/") else {
        return Ok(text(StatusCode::NOT_FOUND, "not found"));
    };
    let Some((id, kind)) = rest.split_once('/') else {
        return Ok(text(StatusCode::NOT_FOUND, "not found"));
    };
    if id != shared.request_id {
        return Ok(text(StatusCode::BAD_REQUEST, "unknown request id"));
    }
    match kind {
        "response" => {
            // Before answering: the process cannot do anything else in between.
            let pid = shared.pid.load(Ordering::SeqCst);
            let (peak, cpu_ms) = (peak_rss_kib(pid), cpu_ms(pid));
            shared.report(Report::Response {
                at,
                body,
                peak_rss_kib: peak,
                cpu_ms,
            });
        }
        "error" => shared.report(Report::Error {
            at,
            what: "invocation error",
            body,
        }),
        _ => return Ok(text(StatusCode::NOT_FOUND, "not found")),
    }
    Ok(text(StatusCode::ACCEPTED, "{\"status\":\"OK\"}"))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let shared = shared.clone();
        connections.spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(shared.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
}

/// The environment Lambda gives a `provided.al2023` function, minus credentials (pass those
/// in `Invocation::env`) and `LD_LIBRARY_PATH`.
fn lambda_env(inv: &Invocation, api: SocketAddr) -> Vec<(String, String)> {
    let name = &inv.function_name;
    let root = inv
        .bootstrap
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    [
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", inv.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("2026/01/01/[$LATEST]{}", unique_hex(32)),
        ),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", root.to_string_lossy().into_owned()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
        // Not Lambda's LD_LIBRARY_PATH: its directories do not hold this host's libc, and the
        // loader would try dozens of paths in them at every start.
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    s.chars().take(400).collect()
}

/// Starts the function cold, gives it the event, and measures.
pub async fn cold_start(inv: &Invocation) -> Result<ColdStart, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("local_addr: {e}"))?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::new(inv, tx)?);
    let server = tokio::spawn(accept_loop(listener, shared.clone()));
    let mut cmd = command(inv, addr)?;

    let t0 = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            server.abort();
            return Err(format!("spawn {}: {e}", inv.bootstrap.display()));
        }
    };
    shared.pid.store(child.id(), Ordering::SeqCst);
    let out = watch(&mut rx, &mut child, t0, inv.timeout).await;
    let _ = child.kill();
    let _ = child.wait();
    if let Ok(mut guard) = shared.reports.lock() {
        guard.take();
    }
    server.abort();
    let _ = server.await;
    Ok(out)
}

/// The bootstrap with only Lambda's environment (and `inv.env`), pointed at the runtime API
/// on `api`, its output appended to `inv.log`.
fn command(inv: &Invocation, api: SocketAddr) -> Result<Command, String> {
    let (stdout, stderr) = match &inv.log {
        Some(path) => {
            let f = File::options()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let g = f.try_clone().map_err(|e| e.to_string())?;
            (Stdio::from(f), Stdio::from(g))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    let mut cmd = Command::new(&inv.bootstrap);
    cmd.env_clear()
        .envs(lambda_env(inv, api))
        .envs(inv.env.iter().cloned())
        .current_dir(
            inv.bootstrap
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    Ok(cmd)
}

/// Times what the runtime reports, from `t0` (just before the spawn), until its response or
/// error, the process's exit, or `timeout`.
async fn watch(
    rx: &mut mpsc::UnboundedReceiver<Report>,
    child: &mut Child,
    t0: Instant,
    timeout: Duration,
) -> ColdStart {
    let mut out = ColdStart {
        init_ms: None,
        first_response_ms: None,
        status: None,
        peak_rss_kib: None,
        init_cpu_ms: None,
        request_cpu_ms: None,
        error: None,
        response: None,
        next_monotonic: None,
    };
    loop {
        match tokio::time::timeout(Duration::from_millis(20), rx.recv()).await {
            Ok(Some(Report::Next { at, cpu_ms })) => {
                out.init_ms = Some(ms(at - t0));
                out.next_monotonic = monotonic_secs(at);
                out.init_cpu_ms = cpu_ms;
            }
            Ok(Some(Report::Response {
                at,
                body,
                peak_rss_kib,
                cpu_ms,
            })) => {
                out.first_response_ms = Some(ms(at - t0));
                out.peak_rss_kib = peak_rss_kib;
                out.request_cpu_ms = cpu_ms.zip(out.init_cpu_ms).map(|(r, i)| r - i);
                match serde_json::from_slice::<Value>(&body) {
                    Ok(v) => {
                        out.status = v
                            .get("statusCode")
                            .and_then(Value::as_u64)
                            .and_then(|s| u16::try_from(s).ok());
                        out.response = Some(v);
                    }
                    Err(e) => {
                        out.error = Some(format!("response is not JSON ({e}): {}", snippet(&body)))
                    }
                }
                return out;
            }
            Ok(Some(Report::Error { at, what, body })) => {
                out.error = Some(format!(
                    "{what} after {:.1} ms: {}",
                    ms(at - t0),
                    snippet(&body)
                ));
                return out;
            }
            Ok(None) => {
                out.error = Some("runtime API server stopped".into());
                return out;
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    out.error = Some(format!(
                        "process exited ({status}) after {:.1} ms without a response",
                        ms(t0.elapsed())
                    ));
                    return out;
                }
                if t0.elapsed() > timeout {
                    out.error = Some(format!("no response within {timeout:?}"));
                    return out;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_clock_monotonic() {
        let a = Instant::now();
        let b = a + Duration::from_millis(1500);
        let (sa, sb) = (
            monotonic_secs(a).expect("Instant's Debug form has tv_sec and tv_nsec"),
            monotonic_secs(b).expect("parses"),
        );
        assert!((sb - sa - 1.5).abs() < 1e-6, "{sa} {sb}");
        // Seconds since boot, like /proc/uptime (CLOCK_MONOTONIC does not count suspend).
        let uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .expect("uptime")
            .split_whitespace()
            .next()
            .and_then(|u| u.parse().ok())
            .expect("number");
        assert!(sa > 0.0 && sa <= uptime + 1.0, "{sa} vs uptime {uptime}");
    }

    #[test]
    fn vmhwm_of_this_process() {
        assert!(peak_rss_kib(std::process::id()).is_some_and(|k| k > 0));
    }
}
