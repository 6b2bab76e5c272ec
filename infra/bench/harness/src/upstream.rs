//! The person's browser at the upstream OpenID provider of the `federation` function's
//! request: a second `oidc-local` (embedded backend, `fixtures/upstream.toml`) that
//! `coldstart.sh` serves on loopback. Plain HTTP/1.0 over std's `TcpStream`, one connection
//! per request: only the function is measured, never this side.
use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use url::Url;

use crate::html::{form_action, input_value};

/// The provider id the upstream is registered under (`oidc-admin providers create --id`).
pub const IDP: &str = "bench-upstream";
/// The person who signs in there.
pub const USER: (&str, &str) = ("bench-upstream-user", "bench-upstream-password-1");

struct Answer {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

fn send(
    method: &str,
    url: &Url,
    cookies: &BTreeMap<String, String>,
    form: Option<&[(&str, &str)]>,
) -> Result<Answer, String> {
    if url.scheme() != "http" {
        return Err(format!("{url}: only a plain-http upstream is supported"));
    }
    let host = url.host_str().ok_or_else(|| format!("{url}: no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let mut s = TcpStream::connect((host, port)).map_err(|e| format!("{host}:{port}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let body = form
        .map(|f| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(f)
                .finish()
        })
        .unwrap_or_default();
    let mut head =
        format!("{method} {target} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n");
    if !cookies.is_empty() {
        let pairs: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        head.push_str(&format!("Cookie: {}\r\n", pairs.join("; ")));
    }
    if form.is_some() {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body.as_bytes()))
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {url}: a malformed answer"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {url}: no status line"))?;
    let (mut location, mut set_cookies) = (None, Vec::new());
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "location" => location = Some(value.trim().to_string()),
                "set-cookie" => set_cookies.push(value.trim().to_string()),
                _ => {}
            }
        }
    }
    Ok(Answer {
        status,
        location,
        set_cookies,
        body: body.to_string(),
    })
}

/// Signs [`USER`] in at the upstream's authorization URL (where `/federation/start` sent
/// the browser) and returns where the upstream sends the browser back: our callback URL
/// with its `code`, `state` and `iss`.
pub fn sign_in(authorization_url: &str) -> Result<String, String> {
    let mut url = Url::parse(authorization_url).map_err(|e| format!("{authorization_url}: {e}"))?;
    let origin = url.origin();
    let mut cookies = BTreeMap::new();
    let (mut method, mut form): (&str, Option<Vec<(&str, String)>>) = ("GET", None);
    let mut signed_in = false;
    for _ in 0..6 {
        let pairs: Option<Vec<(&str, &str)>> = form
            .as_ref()
            .map(|f| f.iter().map(|(k, v)| (*k, v.as_str())).collect());
        let a = send(method, &url, &cookies, pairs.as_deref())?;
        for c in &a.set_cookies {
            if let Some((k, v)) = c.split(';').next().and_then(|p| p.split_once('=')) {
                cookies.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        if (300..400).contains(&a.status) {
            let to = url
                .join(
                    a.location
                        .as_deref()
                        .ok_or("an upstream redirect without Location")?,
                )
                .map_err(|e| e.to_string())?;
            if to.origin() != origin {
                return Ok(to.to_string());
            }
            (url, method, form) = (to, "GET", None);
            continue;
        }
        if a.status != 200 || signed_in || !a.body.contains("name=\"password\"") {
            return Err(format!(
                "the upstream answered {} at {}: {}",
                a.status,
                url.path(),
                a.body.chars().take(300).collect::<String>()
            ));
        }
        signed_in = true;
        let action = form_action(&a.body).ok_or("the upstream's sign-in page has no form")?;
        let field = |name: &str| input_value(&a.body, name).unwrap_or_default();
        form = Some(vec![
            ("req", field("req")),
            ("csrf", field("csrf")),
            ("username", USER.0.to_string()),
            ("password", USER.1.to_string()),
        ]);
        (url, method) = (url.join(&action).map_err(|e| e.to_string())?, "POST");
    }
    Err("too many redirects at the upstream".into())
}
