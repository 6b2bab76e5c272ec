//! The issuer's keys over HTTPS, as a resource server keeps them: its discovery document
//! names the JWK Set (OIDC Discovery §4.3: its `issuer` must be the one configured), the set
//! is kept for [`Verifier::max_age`], and a token whose `kid` the set lacks reads it again
//! (the provider published a new key), at most once per [`Verifier::min_refresh`] so that a
//! stream of forged kids cannot turn the verifier against the issuer.
use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use tokio::sync::Mutex;
use url::Url;

use crate::{AccessToken, KeySet, Refusal, Rules};

const MAX_BODY: usize = 256 * 1024;

pub struct Verifier {
    rules: Rules,
    http: OnceLock<reqwest::Client>,
    max_age: Duration,
    min_refresh: Duration,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    jwks_uri: Option<Url>,
    keys: Option<(Arc<KeySet>, Instant)>,
    /// When a read was last started, and why the last one failed.
    tried: Option<Instant>,
    failure: Option<Refusal>,
}

/// How long past `max_age` the set read last stays in use while the issuer cannot be read.
/// A key the provider retired signed tokens that have expired by then (DEPLOY.md waits the
/// longest token lifetime before retiring one).
pub const STALE_FOR: Duration = Duration::from_secs(3600);

/// The token of an `Authorization: Bearer` header value (RFC 6750 §2.1; the scheme is
/// case-insensitive, RFC 7235 §2.1).
pub fn bearer(authorization: Option<&str>) -> Result<&str, Refusal> {
    let v = authorization.ok_or(Refusal::Missing)?;
    match v.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Refusal::Missing),
    }
}

impl Verifier {
    /// No I/O: the discovery document and keys are read on the first [`Verifier::verify`].
    /// The issuer must be https, or http on a loopback address (a local provider).
    pub fn new(rules: Rules) -> Result<Self, Refusal> {
        let issuer =
            Url::parse(&rules.issuer).map_err(|e| Refusal::Config(format!("issuer: {e}")))?;
        secure(&issuer)?;
        Ok(Self {
            rules,
            http: OnceLock::new(),
            max_age: Duration::from_secs(600),
            min_refresh: Duration::from_secs(30),
            cache: Mutex::default(),
        })
    }

    /// The HTTPS client, made at the first read: the system's roots are read then, not in a
    /// Lambda function's init.
    fn http(&self) -> Result<&reqwest::Client, Refusal> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Refusal::Config(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Refusal::Config(e.to_string()))?;
        Ok(self.http.get_or_init(|| client))
    }

    /// How long a key set is used before it is read again (10 minutes by default). A new
    /// key needs no wait: an unknown `kid` reads the set at once.
    pub fn max_age(mut self, d: Duration) -> Self {
        self.max_age = d;
        self
    }

    /// The least time between two reads of the key set for unknown kids (30 s by default).
    pub fn min_refresh(mut self, d: Duration) -> Self {
        self.min_refresh = d;
        self
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Verifies `token` now.
    pub async fn verify(&self, token: &str) -> Result<AccessToken, Refusal> {
        self.verify_at(token, crate::unix_now()).await
    }

    /// Verifies `token` as at `now` (seconds since the epoch).
    pub async fn verify_at(&self, token: &str, now: i64) -> Result<AccessToken, Refusal> {
        let (keys, fetched) = self.keys(false).await?;
        match self.rules.verify(&keys, token, now) {
            Err(Refusal::UnknownKey) if fetched.elapsed() >= self.min_refresh => {
                let (keys, _) = self.keys(true).await?;
                self.rules.verify(&keys, token, now)
            }
            r => r,
        }
    }

    /// The key set, read again when older than `max_age` or when `refresh` (and not read
    /// within `min_refresh`: a concurrent request may just have done it). One read at a
    /// time: waiting requests take its result. A failed read is not tried again within
    /// `min_refresh`, and meanwhile the set read last stays in use for up to [`STALE_FOR`]
    /// past `max_age`: the issuer being unreachable should not refuse every token, nor make
    /// every request wait on a timeout.
    async fn keys(&self, refresh: bool) -> Result<(Arc<KeySet>, Instant), Refusal> {
        let mut cache = self.cache.lock().await;
        let tried_lately = cache.tried.is_some_and(|t| t.elapsed() < self.min_refresh);
        if let Some((keys, at)) = &cache.keys {
            let fresh = at.elapsed() < self.max_age;
            let usable = at.elapsed() < self.max_age + STALE_FOR;
            if (fresh && (!refresh || at.elapsed() < self.min_refresh)) || (usable && tried_lately)
            {
                return Ok((keys.clone(), *at));
            }
        } else if tried_lately && let Some(e) = &cache.failure {
            return Err(e.clone());
        }
        cache.tried = Some(Instant::now());
        match self.read(&mut cache.jwks_uri).await {
            Ok(keys) => {
                let at = Instant::now();
                cache.keys = Some((keys.clone(), at));
                cache.failure = None;
                Ok((keys, at))
            }
            Err(e) => {
                cache.failure = Some(e.clone());
                match &cache.keys {
                    Some((keys, at)) if at.elapsed() < self.max_age + STALE_FOR => {
                        Ok((keys.clone(), *at))
                    }
                    _ => Err(e),
                }
            }
        }
    }

    /// Reads the key set, finding its address through discovery the first time.
    async fn read(&self, jwks_uri: &mut Option<Url>) -> Result<Arc<KeySet>, Refusal> {
        let uri = match jwks_uri {
            Some(u) => u.clone(),
            None => jwks_uri.insert(self.discover().await?).clone(),
        };
        Ok(Arc::new(KeySet::from_json(&self.get(&uri).await?)?))
    }

    async fn discover(&self) -> Result<Url, Refusal> {
        let issuer = self.rules.issuer.trim_end_matches('/');
        let doc = Url::parse(&format!("{issuer}/.well-known/openid-configuration"))
            .map_err(|e| Refusal::Config(e.to_string()))?;
        let meta: serde_json::Value = serde_json::from_slice(&self.get(&doc).await?)
            .map_err(|_| Refusal::KeysUnavailable("discovery is not JSON".into()))?;
        if meta["issuer"].as_str() != Some(self.rules.issuer.as_str()) {
            return Err(Refusal::KeysUnavailable(
                "discovery names another issuer".into(),
            ));
        }
        let uri = meta["jwks_uri"]
            .as_str()
            .and_then(|u| Url::parse(u).ok())
            .ok_or_else(|| Refusal::KeysUnavailable("discovery has no jwks_uri".into()))?;
        secure(&uri)?;
        Ok(uri)
    }

    async fn get(&self, url: &Url) -> Result<Vec<u8>, Refusal> {
        let unavailable =
            |e: &dyn std::fmt::Display| Refusal::KeysUnavailable(format!("{url}: {e}"));
        let mut resp = self
            .http()?
            .get(url.clone())
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        if !resp.status().is_success() {
            return Err(unavailable(&resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unavailable(&e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(unavailable(&"answer too large"));
            }
        }
        Ok(body)
    }
}

/// Keys are trusted for what TLS proves about where they came from: https, or plain http to
/// this machine only.
fn secure(url: &Url) -> Result<(), Refusal> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        Ok(())
    } else {
        Err(Refusal::Config(format!(
            "{url} is neither https nor loopback http"
        )))
    }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod key_reads;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_only() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer(Some("Basic abc")), Err(Refusal::Missing));
        assert_eq!(bearer(Some("Bearer ")), Err(Refusal::Missing));
        assert_eq!(bearer(None), Err(Refusal::Missing));
    }

    #[test]
    fn keys_come_over_https_or_from_this_machine() {
        let ok = |u: &str| secure(&Url::parse(u).expect("url")).is_ok();
        assert!(ok("https://id.example.com/jwks.json"));
        assert!(ok("http://127.0.0.1:8080/jwks.json"));
        assert!(ok("http://[::1]:8080/jwks.json"));
        assert!(ok("http://localhost:3000/"));
        assert!(!ok("http://id.example.com/jwks.json"));
        assert!(!ok("ftp://127.0.0.1/jwks.json"));
        assert!(Verifier::new(Rules::new("http://id.example.com", "a")).is_err());
    }
}
