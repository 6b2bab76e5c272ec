//! The outbound HTTP this library needs, behind a small trait: GET a JSON document, POST a
//! form. [`HttpFetch`] is the real one (reqwest on rustls with the aws-lc-rs provider the AWS
//! SDK already links, so no second crypto library); tests put a fake behind the trait or point
//! [`HttpFetch`] at an in-process server.
use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Map, Value};
use url::Url;

use super::error::{FetchError, Step, UpstreamError};

/// The largest answer read from an upstream: discovery documents and key sets are a few KiB.
pub const MAX_BODY: usize = 512 * 1024;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// For the whole exchange, from connecting to the last byte of the body: a sign-in waits on it.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(8);
pub const USER_AGENT: &str = concat!("oidc-serverless/", env!("CARGO_PKG_VERSION"));

/// An answer: any status (redirects are answers too: none is followed) and the body read in
/// full, at most [`MAX_BODY`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as a JSON object, if it is one.
    pub fn json_object(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Credentials<'a> {
    None,
    /// RFC 6749 §2.3.1 `client_secret_basic`: see [`basic_authorization`].
    Basic {
        client_id: &'a str,
        secret: &'a str,
    },
    /// RFC 6750 §2.1, for the userinfo endpoint.
    Bearer(&'a str),
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Basic { client_id, .. } => write!(f, "Basic({client_id}, <secret>)"),
            Credentials::Bearer(_) => f.write_str("Bearer(<token>)"),
        }
    }
}

impl Credentials<'_> {
    fn header(&self) -> Option<String> {
        match self {
            Credentials::None => None,
            Credentials::Basic { client_id, secret } => {
                Some(basic_authorization(client_id, secret))
            }
            Credentials::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

/// RFC 6749 §2.3.1: the client id and secret are each form-urlencoded (Appendix B) before they
/// become the user and password of HTTP Basic (RFC 7617); many servers, ours included, decode
/// them so, and a secret with `:` or `%` would otherwise not survive.
pub fn basic_authorization(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(client_id), enc(secret));
    format!("Basic {}", STANDARD.encode(pair))
}

#[async_trait]
pub trait Fetch: Send + Sync {
    /// GET `url`, asking for JSON.
    async fn get(&self, url: &Url, auth: Credentials<'_>) -> Result<Response, FetchError>;
    /// POST `form` as `application/x-www-form-urlencoded`.
    async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        auth: Credentials<'_>,
    ) -> Result<Response, FetchError>;
}

/// Turns a fetch failure into the error of the step it happened in. The URL is shown without
/// its query: none of ours carries a secret there, but the rule keeps it so.
pub(crate) fn at(step: Step, url: &Url) -> impl FnOnce(FetchError) -> UpstreamError {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    move |error| UpstreamError::Fetch {
        step,
        url: shown.to_string(),
        error,
    }
}

/// Makes aws-lc-rs the process's rustls crypto provider, once. reqwest is built without one
/// of its own (so no second crypto library is linked), and every reqwest client in the
/// process (tests and tools included) then needs a default installed before it is built.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The real HTTP client: one per container (it pools connections), timeouts
/// [`CONNECT_TIMEOUT`] and [`TOTAL_TIMEOUT`], no redirects, no proxies, bodies capped at
/// [`MAX_BODY`], certificates checked against the system's roots (`roots`).
#[derive(Clone)]
pub struct HttpFetch {
    client: reqwest::Client,
}

impl HttpFetch {
    pub fn new() -> Result<Self, UpstreamError> {
        Self::with_timeouts(CONNECT_TIMEOUT, TOTAL_TIMEOUT)
    }

    pub fn with_timeouts(connect: Duration, total: Duration) -> Result<Self, UpstreamError> {
        let setup = |e: &dyn fmt::Display| UpstreamError::Client(e.to_string());
        let roots = super::roots::system_roots();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(&e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(connect)
            .timeout(total)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| setup(&e))?;
        Ok(Self { client })
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        auth: Credentials<'_>,
    ) -> Result<Response, FetchError> {
        let req = req.header(reqwest::header::ACCEPT, "application/json");
        let req = match auth.header() {
            Some(value) => req.header(reqwest::header::AUTHORIZATION, value),
            None => req,
        };
        let mut resp = req.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        if resp.content_length().unwrap_or(0) > MAX_BODY as u64 {
            return Err(FetchError::TooLarge(MAX_BODY));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::TooLarge(MAX_BODY));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, body })
    }
}

#[async_trait]
impl Fetch for HttpFetch {
    async fn get(&self, url: &Url, auth: Credentials<'_>) -> Result<Response, FetchError> {
        self.send(self.client.get(url.clone()), auth).await
    }

    async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        auth: Credentials<'_>,
    ) -> Result<Response, FetchError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .client
            .post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        self.send(req, auth).await
    }
}

/// A reqwest failure as a [`FetchError`]: timeouts apart, the innermost cause ("Connection
/// refused", a certificate error) is what tells an operator what is wrong.
fn classify(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    let mut cause: &dyn std::error::Error = &e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    FetchError::Unreachable(super::error::printable(&cause.to_string(), 200))
}

/// Decodes a Basic header as RFC 6749 §2.3.1 encodes it (for tests and fakes).
#[cfg(test)]
pub(crate) fn decode_basic(header: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(header.strip_prefix("Basic ")?).ok()?;
    let (id, secret) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urlencoded_first() {
        let h = basic_authorization("my client", "p:a%s+s/word");
        assert_eq!(
            decode_basic(&h),
            Some(("my client".into(), "p:a%s+s/word".into()))
        );
        // The encoded pair itself: space as '+', ':' and '%' escaped (RFC 6749 Appendix B).
        let raw = STANDARD
            .decode(h.trim_start_matches("Basic "))
            .expect("base64");
        assert_eq!(raw, b"my+client:p%3Aa%25s%2Bs%2Fword");
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let s = format!(
            "{:?} {:?}",
            Credentials::Basic {
                client_id: "c",
                secret: "hunter2"
            },
            Credentials::Bearer("tok")
        );
        assert!(!s.contains("hunter2") && !s.contains("tok)"), "{s}");
    }
}
