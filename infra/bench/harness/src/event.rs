//! API Gateway HTTP API (payload format 2.0) events and responses: what API Gateway sends
//! a function for one HTTP request, and what the function answers.
use std::{
    collections::BTreeMap,
    time::{SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The domain API Gateway reports in `requestContext.domainName`. The functions run without
/// `ISSUER` (as a stack without a custom domain does), so the issuer is `https://<this>`.
pub const DOMAIN: &str = "bench0api1.execute-api.us-east-1.amazonaws.com";
pub const SOURCE_IP: &str = "198.51.100.7";

/// One HTTP request as a browser or relying party sends it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    /// Raw query string, already encoded, without `?`.
    pub query: String,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    /// `name=value` pairs (API Gateway passes cookies separately from headers).
    pub cookies: Vec<String>,
    pub body: Option<String>,
}

impl HttpRequest {
    pub fn get(path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        HttpRequest {
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            ..Default::default()
        }
    }

    pub fn post_form(path: &str, form: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        HttpRequest {
            method: "POST".into(),
            path: path.into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Some(body),
            ..Default::default()
        }
    }

    pub fn post_json(path: &str, body: &Value) -> Self {
        HttpRequest {
            method: "POST".into(),
            path: path.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(body.to_string()),
            ..Default::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn basic_auth(self, id: &str, secret: &str) -> Self {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let creds = STANDARD.encode(format!("{}:{}", enc(id), enc(secret)));
        self.header("authorization", &format!("Basic {creds}"))
    }

    pub fn cookies(mut self, cookies: Vec<String>) -> Self {
        self.cookies = cookies;
        self
    }

    /// `GET /path` for tables.
    pub fn summary(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The API Gateway v2.0 event for this request.
    pub fn to_event(&self) -> Value {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut headers = Map::new();
        headers.insert("host".into(), json!(DOMAIN));
        headers.insert("user-agent".into(), json!("oidc-bench"));
        headers.insert("x-forwarded-for".into(), json!(SOURCE_IP));
        headers.insert("x-forwarded-port".into(), json!("443"));
        headers.insert("x-forwarded-proto".into(), json!("https"));
        headers.insert(
            "x-amzn-trace-id".into(),
            json!(format!("Root=1-{}", crate::emulator::unique_hex(24))),
        );
        for (k, v) in &self.headers {
            headers.insert(k.clone(), json!(v));
        }
        if let Some(b) = &self.body {
            headers.insert("content-length".into(), json!(b.len().to_string()));
        }
        let mut qsp: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(self.query.as_bytes()) {
            qsp.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        let route_key = format!("{} {}", self.method, self.path);
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": DOMAIN.split('.').next().unwrap_or("api"),
                "domainName": DOMAIN,
                "domainPrefix": DOMAIN.split('.').next().unwrap_or("api"),
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": SOURCE_IP,
                    "userAgent": "oidc-bench"
                },
                "requestId": crate::emulator::unique_hex(16),
                "routeKey": route_key,
                "stage": "$default",
                "time": clf_time(now / 1000),
                "timeEpoch": now
            },
            "isBase64Encoded": false
        });
        if let Some(obj) = event.as_object_mut() {
            if !qsp.is_empty() {
                let joined: Map<String, Value> = qsp
                    .into_iter()
                    .map(|(k, v)| (k, json!(v.join(","))))
                    .collect();
                obj.insert("queryStringParameters".into(), Value::Object(joined));
            }
            if !self.cookies.is_empty() {
                obj.insert("cookies".into(), json!(self.cookies));
            }
            if let Some(b) = &self.body {
                obj.insert("body".into(), json!(b));
            }
        }
        event
    }
}

/// `21/Nov/2026:00:00:00 +0000`, as API Gateway writes `requestContext.time`.
pub fn clf_time(epoch_secs: u64) -> String {
    let days = (epoch_secs / 86_400) as i64;
    let secs = epoch_secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[((m - 1) as usize).min(11)];
    format!(
        "{d:02}/{month}/{y}:{:02}:{:02}:{:02} +0000",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// A function's answer (API Gateway v2 response payload), decoded.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Lowercase names; repeated headers keep every value.
    pub headers: Vec<(String, String)>,
    /// `Set-Cookie` values, from `cookies` and from the headers.
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl HttpResponse {
    pub fn from_payload(v: &Value) -> Result<Self, String> {
        let status = v
            .get("statusCode")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| format!("no statusCode in {v}"))?;
        let mut headers = Vec::new();
        let mut set_cookies = Vec::new();
        if let Some(h) = v.get("headers").and_then(Value::as_object) {
            for (k, val) in h {
                if let Some(s) = val.as_str() {
                    headers.push((k.to_ascii_lowercase(), s.to_string()));
                }
            }
        }
        if let Some(h) = v.get("multiValueHeaders").and_then(Value::as_object) {
            for (k, vals) in h {
                for s in vals
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let pair = (k.to_ascii_lowercase(), s.to_string());
                    if !headers.contains(&pair) {
                        headers.push(pair);
                    }
                }
            }
        }
        for (k, val) in &headers {
            if k == "set-cookie" {
                set_cookies.push(val.clone());
            }
        }
        for c in v
            .get("cookies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !set_cookies.iter().any(|s| s == c) {
                set_cookies.push(c.to_string());
            }
        }
        let raw = v.get("body").and_then(Value::as_str).unwrap_or_default();
        let body = if v.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
            STANDARD
                .decode(raw)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| format!("body is not base64: {e}"))?
        } else {
            raw.to_string()
        };
        Ok(HttpResponse {
            status,
            headers,
            set_cookies,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_time_matches_known_dates() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(1_795_219_200), "21/Nov/2026:00:00:00 +0000");
        assert_eq!(clf_time(951_786_061), "29/Feb/2000:01:01:01 +0000");
    }

    #[test]
    fn event_carries_query_cookies_and_body() {
        let e = HttpRequest::post_form("/token", &[("grant_type", "client_credentials")])
            .basic_auth("c", "s")
            .cookies(vec!["a=b".into()])
            .to_event();
        assert_eq!(e["rawPath"], "/token");
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["body"], "grant_type=client_credentials");
        assert_eq!(e["cookies"][0], "a=b");
        assert_eq!(e["headers"]["authorization"], "Basic Yzpz");
        let g = HttpRequest::get("/authorize?a=1&b=x%20y&a=2").to_event();
        assert_eq!(g["rawQueryString"], "a=1&b=x%20y&a=2");
        assert_eq!(g["queryStringParameters"]["a"], "1,2");
        assert_eq!(g["queryStringParameters"]["b"], "x y");
    }

    #[test]
    fn response_collects_cookies_from_both_places() {
        let r = HttpResponse::from_payload(&json!({
            "statusCode": 302,
            "headers": {"Location": "https://x/login?req=1"},
            "multiValueHeaders": {"set-cookie": ["a=1; Path=/"]},
            "cookies": ["b=2; Secure"],
            "body": "aGk=", "isBase64Encoded": true
        }))
        .expect("decodes");
        assert_eq!(r.status, 302);
        assert_eq!(r.header("location"), Some("https://x/login?req=1"));
        assert_eq!(r.set_cookies, vec!["a=1; Path=/", "b=2; Secure"]);
        assert_eq!(r.body, "hi");
    }
}
