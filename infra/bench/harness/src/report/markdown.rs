//! The "## Cold start" section of BENCHMARKS.md: how it was measured, the goal, one row per
//! target, the AWS calls when counted, problems and the machine's facts.
use std::fmt::Write as _;

use serde_json::Value;

use super::{Section, fmt_ms, is_function, name, num, targets};

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

pub fn markdown(data: &Value, calls: Option<&Value>, chart_link: &str) -> String {
    let section = Section::new(data, calls);
    let mut md = String::new();
    intro(&mut md, &section);
    init_and_work_goals(&mut md, &section);
    goal_line(&mut md, &section);
    let _ = writeln!(md, "![cold start]({chart_link})\n");
    table(&mut md, &section);
    if section.rows.iter().any(|t| name(t) == "federation") {
        federation_note(&mut md);
    }
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

/// Issue 16's goals: init ≤ [`INIT_GOAL`] × the baseline's ([`TOKEN_INIT_GOAL`] for `token`,
/// which reads its signing keys at init), and the first request's CPU time ≤
/// [`OTHER_WORK_GOAL_MS`].
const INIT_GOAL: f64 = 1.1;
const TOKEN_INIT_GOAL: f64 = 1.5;
const OTHER_WORK_GOAL_MS: f64 = 3.0;

fn init_and_work_goals(md: &mut String, section: &Section) {
    let base_init = section
        .rows
        .iter()
        .find(|t| name(t) == section.baseline)
        .and_then(|t| num(t, &["init_ms", "median"]));
    let fns: Vec<&&Value> = section.rows.iter().filter(|t| is_function(t)).collect();
    let verdict = |ok: Option<bool>, over: f64| match ok {
        Some(true) => "PASS".to_string(),
        Some(false) => format!("**MISS** (+{:.0}%)", over * 100.0),
        None => "no data".into(),
    };
    let (mut init_pass, mut work_pass) = (0, 0);
    let mut rows = Vec::new();
    for t in &fns {
        let goal = if name(t) == "token" {
            TOKEN_INIT_GOAL
        } else {
            INIT_GOAL
        };
        let ratio = num(t, &["init_ms", "median"])
            .zip(base_init)
            .map(|(i, b)| i / b);
        let init_ok = ratio.map(|r| r <= goal);
        let work = num(t, &["request_cpu_ms", "median"]);
        let work_ok = work.map(|w| w <= OTHER_WORK_GOAL_MS);
        init_pass += usize::from(init_ok == Some(true));
        work_pass += usize::from(work_ok == Some(true));
        rows.push(format!(
            "| {} | {} | {} | ≤ {goal}× | {} | {} / {} | {} | {} |",
            name(t),
            fmt_ms(num(t, &["init_ms", "median"])),
            ratio
                .map(|r| format!("{r:.2}×"))
                .unwrap_or_else(|| "–".into()),
            verdict(init_ok, ratio.unwrap_or(0.0) / goal - 1.0),
            fmt_ms(work),
            fmt_ms(num(t, &["request_cpu_ms", "p90"])),
            fmt_ms(other_work(t, calls_of(section.calls, name(t)))),
            verdict(work_ok, work.unwrap_or(0.0) / OTHER_WORK_GOAL_MS - 1.0),
        ));
    }
    let _ = writeln!(
        md,
        "**Goal**: each function's init median ≤ {INIT_GOAL}× `{}`'s ({} ms; `token` ≤ \
         {TOKEN_INIT_GOAL}×): **{init_pass} of {n} PASS**; the first request's CPU work ≤ \
         {OTHER_WORK_GOAL_MS} ms: **{work_pass} of {n} PASS**. *Request CPU* is the CPU time \
         the process (all its threads) spent between asking for its first event and posting \
         the response, read from the scheduler (`se.sum_exec_runtime` of \
         `/proc/PID/task/*/sched`): the handler's own work, without any wait. *Other work* \
         estimates the same as first response − init − waiting on AWS, from two separate \
         passes (see below): it also holds the waits on the runtime API and on anything \
         outside the process (the federation upstream), and moves with moto's speed between \
         the passes.\n",
        section.baseline,
        fmt_ms(base_init),
        n = fns.len(),
    );
    let _ = writeln!(
        md,
        "| target | init median (ms) | init ÷ {} | goal | | request CPU median / p90 (ms) | other work (ms) | request CPU ≤ {OTHER_WORK_GOAL_MS} ms |",
        section.baseline
    );
    let _ = writeln!(md, "|---|---:|---:|---|---|---:|---:|---|");
    for r in rows {
        let _ = writeln!(md, "{r}");
    }
    let _ = writeln!(md);
}

/// The first response's median goal of issue 9 (kept for comparison) and how many met it.
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
        "Issue 9's goal, kept for comparison: each function's first-response median ≤ {goal}× \
         `{baseline}`'s ({} ms): {passed} of {} pass. The first request waits on DynamoDB and \
         KMS, which `{baseline}` never calls (see *waiting on AWS*).\n",
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
        "| target | first request | status | init median / p90 (ms) | first response median / p90 (ms) | peak RSS median (MiB) |{calls_head} first response × {baseline} | ≤ {goal}× (issue 9) |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|{calls_rule}---:|---|");
    for t in &section.rows {
        let _ = writeln!(md, "{}", row(t, section));
    }
}

fn row(t: &Value, section: &Section) -> String {
    let ratio = num(t, &["ratio_to_baseline"]);
    let verdict = match t.get("goal_met").and_then(Value::as_bool) {
        Some(true) => "yes".to_string(),
        Some(false) => format!(
            "no (+{:.0}%)",
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
    let other = other_work(t, c);
    format!(
        " {} | {} | {} |",
        split
            .or_else(|| count(&["count", "median"]))
            .unwrap_or_else(|| "–".into()),
        fmt_ms(waiting),
        fmt_ms(other)
    )
}

/// The request's own work: first response − init − its time waiting on AWS.
fn other_work(t: &Value, c: Option<&Value>) -> Option<f64> {
    match (
        num(t, &["first_response_ms", "median"]),
        num(t, &["init_ms", "median"]),
        c.and_then(|c| num(c, &["request", "busy_ms", "median"])),
    ) {
        (Some(f), Some(i), Some(w)) => Some((f - i - w).max(0.0)),
        _ => None,
    }
}

/// What the federation function's request does, and what its upstream is here.
fn federation_note(md: &mut String) {
    let _ = writeln!(
        md,
        "\n`federation`'s request is a returning person's `/federation/callback` (their account \
         and its link exist), made afresh before each cold start because its `state` and the \
         upstream's code are single use: `/authorize?idp=` (authorize) → `/federation/start` \
         (federation, a cold start of its own, not recorded) → the upstream's sign-in → the \
         callback URL. The callback takes the attempt, reads the request and the provider, \
         opens the upstream client secret (KMS Decrypt), fetches the upstream's discovery \
         document, redeems the code at its token endpoint, fetches its key set to verify the ID \
         token, reads the account link and the user, and writes the session; its 303 leads to \
         consent. It is the request a person waits through after signing in at the upstream, \
         and the longer of the two (`/federation/start` fetches only the discovery document). \
         On Lambda one function serves both, so a container kept by `/federation/start` has the \
         discovery document already; here every callback is a new process. The upstream is a second `oidc-local` (release build, embedded backend) on loopback \
         over plain HTTP: its three answers cost far less here than a real upstream's (a TLS \
         handshake and an internet round trip per host), and count as *other work*."
    );
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
