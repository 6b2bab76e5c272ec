//! The logs and metrics the stack watches are the ones the code writes: error and throttled
//! lines, the sign-in audit events, JSON access logs, the dashboard.
use std::collections::BTreeSet;

use serde_json::Value as Json;
use serde_yaml_ng::Value;

use super::{resources_of, root, sub_names, template, untag};

/// (log group, metric name, filter pattern) of every metric filter.
fn metric_filters(t: &Value) -> Vec<(String, String, String)> {
    resources_of(t, "AWS::Logs::MetricFilter")
        .map(|(_, f)| {
            let p = &f["Properties"];
            let group = untag(&p["LogGroupName"]).as_str().unwrap_or_default();
            let metric = p["MetricTransformations"][0]["MetricName"]
                .as_str()
                .unwrap_or_default();
            let pattern = p["FilterPattern"].as_str().unwrap_or_default();
            (group.to_string(), metric.to_string(), pattern.to_string())
        })
        .collect()
}

#[test]
fn every_function_log_group_counts_error_and_throttled_lines() {
    let t = template();
    let filters = metric_filters(&t);
    for (name, function) in resources_of(&t, "AWS::Serverless::Function") {
        let group = untag(&function["Properties"]["LoggingConfig"]["LogGroup"])
            .as_str()
            .expect("LoggingConfig.LogGroup");
        for metric in ["ErrorLogs", "ThrottledCalls"] {
            assert!(
                filters.iter().any(|(g, m, _)| g == group && m == metric),
                "{name}: no {metric} metric filter on {group}"
            );
        }
    }
}

#[test]
fn every_log_group_keeps_logs_for_log_retention_days() {
    let t = template();
    for (name, group) in resources_of(&t, "AWS::Logs::LogGroup") {
        let retention = &group["Properties"]["RetentionInDays"];
        assert!(
            matches!(retention, Value::Tagged(r) if r.tag == "Ref" && r.value == "LogRetentionDays"),
            "{name}: RetentionInDays is {retention:?}"
        );
    }
}

#[test]
fn access_logs_are_json_without_queries_paths_or_headers() {
    let t = template();
    let settings = &t["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    let format = settings["Format"]
        .as_str()
        .expect("AccessLogSettings.Format");
    let fields: serde_json::Map<String, Json> =
        serde_json::from_str(format).expect("the access log format is a JSON object");
    assert!(
        fields.values().any(|v| v == "$context.requestId"),
        "{format}"
    );
    for (key, v) in &fields {
        let var = v.as_str().unwrap_or_default();
        assert!(var.starts_with("$context."), "{key}: {var}");
        // Queries carry codes and tokens, headers credentials; a path or a User-Agent is
        // the client's text, unescaped in the line.
        let lower = var.to_lowercase();
        for forbidden in ["query", "header", "path", "useragent", "authorizer"] {
            assert!(!lower.contains(forbidden), "{key}: {var} is not logged");
        }
    }
    let destination = untag(&settings["DestinationArn"]);
    assert_eq!(destination.as_str(), Some("AccessLogGroup.Arn"));
}

/// Whether the code under shared/src logs the audit event `name`: `event = "name"` in a
/// tracing macro or `audit("name"` (the federation function's helper).
fn code_logs_event(sources: &str, name: &str) -> bool {
    sources.contains(&format!("event=\"{name}\"")) || sources.contains(&format!("audit(\"{name}\""))
}

/// Every Rust source under `dir`, whitespace removed (a call may span lines).
fn sources_without_whitespace(dir: &std::path::Path, out: &mut String) {
    for entry in std::fs::read_dir(dir)
        .expect("a source directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            sources_without_whitespace(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.extend(text.chars().filter(|c| !c.is_whitespace()));
        }
    }
}

#[test]
fn metric_filter_events_are_events_the_code_logs() {
    let mut sources = String::new();
    sources_without_whitespace(&root().join("shared/src"), &mut sources);
    let events: BTreeSet<String> = metric_filters(&template())
        .into_iter()
        .flat_map(|(_, _, pattern)| {
            pattern
                .split("$.fields.event = \"")
                .skip(1)
                .filter_map(|rest| rest.split_once('"').map(|(name, _)| name.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(events.contains("signin.failed"), "{events:?}");
    for event in &events {
        assert!(
            code_logs_event(&sources, event),
            "a metric filter counts `{event}`, which shared/src never logs"
        );
    }
    assert!(
        !code_logs_event(&sources, "signin.renamed"),
        "the check bites"
    );
}

/// Whether a JSON log line matches a CloudWatch Logs JSON filter pattern of the form the
/// template uses: `{ $.a.b = "value" || ... }`, where a `*` at the start or end of the
/// value matches any text there (CloudWatch Logs, "Filter pattern syntax").
fn filter_matches(pattern: &str, line: &Json) -> bool {
    let body = pattern
        .trim()
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .expect("a JSON filter pattern");
    assert!(
        !body.contains("&&") && !body.contains("!="),
        "not a form this reads: {pattern}"
    );
    body.split("||").any(|term| {
        let (selector, value) = term.split_once('=').expect("selector = value");
        let path = selector.trim().strip_prefix("$.").expect("a $. selector");
        let value = value.trim().trim_matches('"');
        let Some(field) = path
            .split('.')
            .try_fold(line, |v, key| v.get(key))
            .and_then(Json::as_str)
        else {
            return false;
        };
        match (value.strip_prefix('*'), value.strip_suffix('*')) {
            (Some(_), Some(_)) => field.contains(&value[1..value.len() - 1]),
            (Some(suffix), None) => field.ends_with(suffix),
            (None, Some(prefix)) => field.starts_with(prefix),
            (None, None) => field == value,
        }
    })
}

#[derive(Clone, Default)]
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lines").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn metric_filters_match_the_lines_the_functions_write() {
    use tracing_subscriber::util::SubscriberInitExt;
    let t = template();
    let pattern_of = |metric: &str| {
        metric_filters(&t)
            .into_iter()
            .find(|(_, m, _)| m == metric)
            .map(|(_, _, p)| p)
            .expect("a metric filter")
    };
    let (errors, throttled) = (pattern_of("ErrorLogs"), pattern_of("ThrottledCalls"));

    // The functions' subscriber (shared/src/lambda.rs, tracing_init), and the errors as the
    // store and the signer word them (aws::failure last).
    let lines = Lines::default();
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .with_writer(move || sink.clone())
        .finish();
    let cases = [
        (
            "store: store unavailable: dynamodb GetItem: ProvisionedThroughputExceededException",
            true,
        ),
        (
            "store: store unavailable: dynamodb TransactWriteItems: RequestLimitExceeded",
            true,
        ),
        (
            "signer: signer unavailable: kms Sign on alias/oidc-signing-a: ThrottlingException",
            true,
        ),
        ("store: store unavailable: dynamodb GetItem: timeout", false),
    ];
    {
        let _default = subscriber.set_default();
        for (detail, _) in cases {
            let _ = shared::OAuthError::unavailable(detail).to_json_response();
        }
        let _ = shared::OAuthError::invalid_request("a refused request").to_json_response();
    }
    let text = String::from_utf8(lines.0.lock().expect("lines").clone()).expect("UTF-8");
    let logged: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(logged.len(), cases.len() + 1, "{text}");
    for ((detail, is_throttled), line) in cases.iter().zip(&logged) {
        assert!(filter_matches(&errors, line), "ErrorLogs misses {line}");
        assert_eq!(
            filter_matches(&throttled, line),
            *is_throttled,
            "{detail}: {line}"
        );
    }
    let refused = &logged[cases.len()];
    assert!(
        !filter_matches(&errors, refused) && !filter_matches(&throttled, refused),
        "{refused}"
    );
}

#[test]
fn dashboard_shows_every_function_and_alarm() {
    let t = template();
    let Value::Tagged(sub) = &t["Resources"]["Dashboard"]["Properties"]["DashboardBody"] else {
        panic!("DashboardBody is a !Sub");
    };
    let body = sub.value[0].as_str().expect("the body");
    let mut plain = String::new();
    let mut rest = body;
    while let Some((before, after)) = rest.split_once("${") {
        let (_, tail) = after.split_once('}').expect("a closed ${}");
        plain.push_str(before);
        plain.push('x');
        rest = tail;
    }
    plain.push_str(rest);
    let _: Json = serde_json::from_str(&plain).expect("the dashboard body is JSON");
    let shown: BTreeSet<&str> = sub_names(body).collect();
    for (name, _) in resources_of(&t, "AWS::Serverless::Function")
        .chain(resources_of(&t, "AWS::CloudWatch::Alarm"))
    {
        assert!(shown.contains(name), "the dashboard does not show {name}");
    }
}

#[test]
fn every_parameter_is_in_one_parameter_group() {
    let t = template();
    let mut grouped = BTreeSet::new();
    for group in t["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        .as_sequence()
        .expect("ParameterGroups")
    {
        for p in group["Parameters"].as_sequence().expect("Parameters") {
            let p = p.as_str().expect("a name");
            assert!(
                t["Parameters"][p].is_mapping(),
                "{p} is grouped but no parameter"
            );
            assert!(grouped.insert(p.to_string()), "{p} is in two groups");
        }
    }
    for (p, _) in t["Parameters"].as_mapping().expect("Parameters") {
        let p = p.as_str().unwrap_or_default();
        assert!(grouped.contains(p), "{p} is in no parameter group");
    }
}
