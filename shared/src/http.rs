//! Request parsing and response building shared by every endpoint. The query string is read
//! from the URI only: lambda_http's pre-parsed map is absent for requests built elsewhere.
use std::collections::BTreeMap;

use lambda_http::{
    Body, Request, Response,
    http::{HeaderValue, StatusCode, header},
};

/// Request body cap: nothing this provider accepts is anywhere near it.
pub const MAX_BODY: usize = 64 * 1024;

/// Parameters of a query string or form body. RFC 6749 §3.1 / §3.2: a parameter sent more
/// than once is an error, so duplicates are remembered rather than silently overwritten.
#[derive(Debug, Default, Clone)]
pub struct Params {
    map: BTreeMap<String, String>,
    duplicated: Option<String>,
}

impl Params {
    pub fn parse(input: &[u8]) -> Self {
        let mut p = Params::default();
        for (k, v) in url::form_urlencoded::parse(input) {
            if p.map.contains_key(k.as_ref()) {
                p.duplicated.get_or_insert_with(|| k.to_string());
            } else {
                p.map.insert(k.into_owned(), v.into_owned());
            }
        }
        p
    }

    /// A parameter's value; empty values count as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn duplicated(&self) -> Option<&str> {
        self.duplicated.as_deref()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

pub fn query(req: &Request) -> Params {
    Params::parse(req.uri().query().unwrap_or("").as_bytes())
}

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

pub fn is_form(req: &Request) -> bool {
    header_str(req, header::CONTENT_TYPE.as_str())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The form body, or `None` when the request is not a form post.
pub fn form(req: &Request) -> Option<Params> {
    is_form(req).then(|| Params::parse(body_bytes(req)))
}

pub fn header_str<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A cookie's value from any `Cookie` header (API Gateway v2 joins the `cookies` array into
/// one header; browsers may send several).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn set_header(resp: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

pub fn append_header(resp: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(name, v);
    }
}

pub fn response(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    response(status, "application/json", Body::Text(value.to_string()))
}

pub fn html(status: StatusCode, body: String) -> Response<Body> {
    response(status, "text/html; charset=utf-8", Body::Text(body))
}

/// Headers for every HTML page: no framing, no sniffing, no referrer leaking the query
/// string (which carries request ids and codes), and a CSP that allows only our inline CSS.
pub fn page_headers(resp: &mut Response<Body>, csp: &str) {
    set_header(resp, "content-security-policy", csp);
    set_header(resp, "x-frame-options", "DENY");
    set_header(resp, "x-content-type-options", "nosniff");
    set_header(resp, "referrer-policy", "no-referrer");
    no_store(resp);
}

/// RFC 6749 §5.1: responses carrying tokens, codes or personal data are never cached.
pub fn no_store(resp: &mut Response<Body>) {
    set_header(resp, "cache-control", "no-store");
    set_header(resp, "pragma", "no-cache");
}

pub fn redirect(location: &str) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::SEE_OTHER;
    set_header(&mut resp, "location", location);
    no_store(&mut resp);
    set_header(&mut resp, "referrer-policy", "no-referrer");
    resp
}

/// Appends parameters to a URI that may already carry a query (RFC 6749 §3.1.2: the
/// registered query component is kept).
pub fn url_with_query(base: &str, params: &[(&str, &str)]) -> String {
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{encoded}")
}

pub fn redirect_with_query(base: &str, params: &[(&str, &str)]) -> Response<Body> {
    redirect(&url_with_query(base, params))
}

/// A cookie's name: `__Host-` prefixed when served over https (RFC 6265bis §4.1.3.2: bound
/// to this host, path `/`, Secure), plain on loopback http development.
pub fn cookie_name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax (sent on the top-level navigation back from
/// the client, never on cross-site subrequests), Secure whenever the issuer is https.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_keep_first_and_flag_duplicates() {
        let p = Params::parse(b"a=1&b=&a=2&c=x%20y");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.duplicated(), Some("a"));
    }

    #[test]
    fn query_is_appended_to_existing_query() {
        assert_eq!(
            url_with_query("https://a.example/cb?x=1", &[("code", "a b")]),
            "https://a.example/cb?x=1&code=a+b"
        );
        assert_eq!(
            url_with_query("https://a.example/cb", &[("s", "&")]),
            "https://a.example/cb?s=%26"
        );
    }
}
