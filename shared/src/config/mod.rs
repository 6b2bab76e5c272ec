//! One configuration value, built once per container (from the environment on Lambda, from
//! flags locally) and validated with messages that say what to fix.
use std::collections::HashMap;

mod branding;
pub mod error;
mod registration;
mod sign_in;
mod vars;

pub use branding::Branding;
pub use error::ConfigError;
pub use registration::Registration;
pub use sign_in::SignInLimits;
use vars::Vars;

use crate::{paths::Endpoint, protocol::registration_policy::RegistrationPolicy};

#[derive(Debug, Clone)]
pub struct Config {
    /// `https://id.example.com` (no trailing slash): the `iss` of every token.
    pub issuer: String,
    /// Where the endpoints are reachable when that is not under the issuer, with `{function}`
    /// standing for the function name: `http://127.0.0.1:9000/lambda-url/{function}` under
    /// `cargo lambda watch`.
    pub public_url_pattern: Option<String>,
    /// `aud` of access tokens: the APIs they are for. Userinfo accepts tokens for it.
    pub access_token_audience: String,
    pub code_ttl: i64,
    pub auth_request_ttl: i64,
    pub session_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    /// Absolute lifetime of a refresh token chain (rotation never extends it).
    pub refresh_token_ttl: i64,
    pub branding: Branding,
    pub registration: Registration,
    /// What a dynamically registered client may be (`REGISTRATION_SCOPES`, …).
    pub registration_policy: RegistrationPolicy,
    pub sign_in: SignInLimits,
    /// `SIGNING_ALGS`: the algorithms of the published keys, for a discovery document served
    /// by a function that holds no keys (on Lambda only `token` and `jwks` reach KMS). None:
    /// ask the signer.
    pub signing_algs: Option<Vec<crate::jose::Alg>>,
}

impl Config {
    pub fn new(issuer: &str) -> Result<Self, ConfigError> {
        Ok(Self::defaults(validate_issuer(issuer)?))
    }

    fn defaults(issuer: String) -> Self {
        Self {
            access_token_audience: issuer.clone(),
            issuer,
            public_url_pattern: None,
            code_ttl: 60,
            auth_request_ttl: 600,
            session_ttl: 8 * 3600,
            access_token_ttl: 600,
            id_token_ttl: 600,
            refresh_token_ttl: 30 * 86400,
            branding: Branding::default(),
            registration: Registration::Disabled,
            registration_policy: RegistrationPolicy::default(),
            sign_in: SignInLimits::default(),
            signing_algs: None,
        }
    }

    /// Reads `ISSUER` (required), `PUBLIC_URL_PATTERN`, `ACCESS_TOKEN_AUDIENCE`,
    /// `CODE_TTL_SECONDS`, `AUTH_REQUEST_TTL_SECONDS`, `SESSION_TTL_SECONDS`,
    /// `ACCESS_TOKEN_TTL_SECONDS`, `ID_TOKEN_TTL_SECONDS`, `REFRESH_TOKEN_TTL_SECONDS`,
    /// `SIGNING_ALGS`, `PRODUCT_NAME`, `ACCENT_COLOR`, `LOGO_URL`, `REGISTRATION*` (the mode and
    /// the [`RegistrationPolicy`]), and the sign-in defence's `SIGNIN_*` (see
    /// [`SignInLimits`]).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let issuer = Vars(vars).get("ISSUER").ok_or(ConfigError::Missing(
            "ISSUER",
            "set it to the provider's public https URL, e.g. https://id.example.com",
        ))?;
        Self::for_issuer(issuer, vars)
    }

    /// [`Config::from_vars`] with the issuer given rather than read from `ISSUER`: a Lambda
    /// function without `ISSUER` learns it from its first request.
    pub fn for_issuer(issuer: &str, vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::new(issuer)?.read(vars)
    }

    /// Checks every variable [`Config::from_vars`] reads but `ISSUER`: what a function whose
    /// issuer comes with its first request validates at start-up.
    pub fn check_vars(vars: &HashMap<String, String>) -> Result<(), ConfigError> {
        Self::defaults(String::new()).read(vars).map(drop)
    }

    /// Every setting but `ISSUER`, in this order (when several are invalid, the first is the one
    /// reported).
    fn read(mut self, vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let v = Vars(vars);
        if let Some(p) = v.get("PUBLIC_URL_PATTERN") {
            self.public_url_pattern = Some(p.trim_end_matches('/').to_string());
        }
        if let Some(a) = v.get("ACCESS_TOKEN_AUDIENCE") {
            self.access_token_audience = a.to_string();
        }
        self.read_lifetimes(v)?;
        self.sign_in.read(v)?;
        self.registration = Registration::read(v)?;
        self.registration_policy = registration::policy(v)?;
        if let Some(list) = v.get("SIGNING_ALGS") {
            self.signing_algs = Some(parse_signing_algs(list)?);
        }
        self.branding.read(v)?;
        Ok(self)
    }

    /// The `*_TTL_SECONDS` of codes, requests, sessions and tokens.
    fn read_lifetimes(&mut self, v: Vars) -> Result<(), ConfigError> {
        self.code_ttl = v.ttl("CODE_TTL_SECONDS", self.code_ttl)?;
        self.auth_request_ttl = v.ttl("AUTH_REQUEST_TTL_SECONDS", self.auth_request_ttl)?;
        self.session_ttl = v.ttl("SESSION_TTL_SECONDS", self.session_ttl)?;
        self.access_token_ttl = v.ttl("ACCESS_TOKEN_TTL_SECONDS", self.access_token_ttl)?;
        self.id_token_ttl = v.ttl("ID_TOKEN_TTL_SECONDS", self.id_token_ttl)?;
        self.refresh_token_ttl = v.ttl("REFRESH_TOKEN_TTL_SECONDS", self.refresh_token_ttl)?;
        Ok(())
    }

    /// The public URL of an endpoint: under the issuer, or under its function's URL.
    pub fn endpoint_url(&self, e: Endpoint) -> String {
        match &self.public_url_pattern {
            Some(p) => format!("{}{}", p.replace("{function}", e.function()), e.path()),
            None => format!("{}{}", self.issuer, e.path()),
        }
    }

    /// Cookies are `Secure` whenever the provider is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// `SIGNING_ALGS`: a comma-separated, non-empty list of algorithms.
fn parse_signing_algs(list: &str) -> Result<Vec<crate::jose::Alg>, ConfigError> {
    list.split(',')
        .map(|a| crate::jose::Alg::parse(a.trim()))
        .collect::<Option<Vec<_>>>()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            ConfigError::Invalid(
                "SIGNING_ALGS",
                format!("expected RS256 and/or ES256, comma-separated, got {list:?}"),
            )
        })
}

/// OIDC Discovery §3: the issuer is an https URL with no query or fragment; plain http is
/// allowed for loopback development only.
fn validate_issuer(issuer: &str) -> Result<String, ConfigError> {
    let trimmed = issuer.trim().trim_end_matches('/');
    let u = url::Url::parse(trimmed)
        .map_err(|e| ConfigError::Invalid("ISSUER", format!("{trimmed:?} is not a URL: {e}")))?;
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if u.scheme() != "https" && !(u.scheme() == "http" && loopback) {
        return Err(ConfigError::Invalid(
            "ISSUER",
            format!("{trimmed:?} must use https (http is allowed for localhost only)"),
        ));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(ConfigError::Invalid(
            "ISSUER",
            format!("{trimmed:?} must not have a query or fragment"),
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn issuer_is_required_and_validated() {
        let e = Config::from_vars(&vars(&[])).expect_err("missing");
        assert!(e.to_string().contains("ISSUER is not set"));
        assert!(Config::from_vars(&vars(&[("ISSUER", "http://id.example.com")])).is_err());
        assert!(Config::from_vars(&vars(&[("ISSUER", "https://id.example.com?x=1")])).is_err());
        let c = Config::from_vars(&vars(&[("ISSUER", "https://id.example.com/")])).expect("ok");
        assert_eq!(c.issuer, "https://id.example.com");
        assert!(c.secure_cookies());
    }

    #[test]
    fn registration_modes() {
        let base = |extra: &[(&str, &str)]| {
            let mut v = vec![("ISSUER", "https://id.example.com")];
            v.extend_from_slice(extra);
            Config::from_vars(&vars(&v))
        };
        assert_eq!(base(&[]).expect("ok").registration, Registration::Disabled);
        assert_eq!(
            base(&[("REGISTRATION", "open")]).expect("ok").registration,
            Registration::Open
        );
        let token = "an-initial-access-token-0123456789abcdef";
        let digest = crate::crypto::secret_digest(token);
        assert_eq!(
            base(&[("REGISTRATION_INITIAL_ACCESS_TOKEN", token)])
                .expect("ok")
                .registration,
            Registration::InitialToken(digest.clone())
        );
        assert_eq!(
            base(&[
                ("REGISTRATION", "token"),
                ("REGISTRATION_INITIAL_ACCESS_TOKEN_SHA256", &digest)
            ])
            .expect("ok")
            .registration,
            Registration::InitialToken(digest)
        );
        assert!(
            base(&[("REGISTRATION", "token")]).is_err(),
            "token mode needs the digest"
        );
        assert!(base(&[("REGISTRATION_INITIAL_ACCESS_TOKEN", "short")]).is_err());
        assert!(base(&[("REGISTRATION", "maybe")]).is_err());
    }

    #[test]
    fn sign_in_limits() {
        let base = |extra: &[(&str, &str)]| {
            let mut v = vec![("ISSUER", "https://id.example.com")];
            v.extend_from_slice(extra);
            Config::from_vars(&vars(&v))
        };
        assert_eq!(base(&[]).expect("ok").sign_in, SignInLimits::default());
        let t = base(&[
            ("SIGNIN_FREE_FAILURES", "3"),
            ("SIGNIN_MAX_DELAY_SECONDS", "60"),
            ("SIGNIN_FAILURE_MEMORY_SECONDS", "3600"),
            ("SIGNIN_MAX_FAILURES_PER_IP", "0"),
            ("SIGNIN_IP_WINDOW_SECONDS", "120"),
            ("SIGNIN_MAX_FAILURES_PER_DEVICE", "4"),
            ("SIGNIN_DEVICE_WINDOW_SECONDS", "600"),
            ("SIGNIN_DEVICE_TOKEN_TTL_SECONDS", "86400"),
            ("PASSWORD_SIGNIN", "false"),
            ("SIGNIN_MIN_LEVEL", "two-factor"),
        ])
        .expect("ok")
        .sign_in;
        assert_eq!(
            t,
            SignInLimits {
                free_failures: 3,
                max_delay: 60,
                failure_memory: 3600,
                ip_failures: 0,
                ip_window: 120,
                device_failures: 4,
                device_window: 600,
                device_ttl: 86400,
                password: false,
                min_level: crate::protocol::acr::Level::TwoFactor,
            }
        );
        let e = base(&[("PASSWORD_SIGNIN", "no")]).expect_err("true or false");
        assert!(e.to_string().contains("PASSWORD_SIGNIN"), "{e}");
        let e = base(&[("SIGNIN_MIN_LEVEL", "mfa")]).expect_err("a level");
        assert!(e.to_string().contains("SIGNIN_MIN_LEVEL"), "{e}");
        assert_eq!(
            base(&[("SIGNIN_MAX_DELAY_SECONDS", "0")])
                .expect("0 turns the delay off")
                .sign_in
                .max_delay,
            0
        );
        assert!(base(&[("SIGNIN_FREE_FAILURES", "-1")]).is_err());
        assert!(base(&[("SIGNIN_MAX_FAILURES_PER_IP", "lots")]).is_err());
        assert!(base(&[("SIGNIN_IP_WINDOW_SECONDS", "0")]).is_err());
        assert!(base(&[("SIGNIN_DEVICE_TOKEN_TTL_SECONDS", "99999999")]).is_err());
        let retired = base(&[("SIGNIN_MAX_FAILURES_PER_ACCOUNT", "10")]).expect_err("retired");
        assert!(
            retired.to_string().contains("SIGNIN_FREE_FAILURES"),
            "{retired}"
        );
    }

    #[test]
    fn ttls_and_urls() {
        let c = Config::from_vars(&vars(&[
            ("ISSUER", "http://127.0.0.1:9000"),
            ("CODE_TTL_SECONDS", "30"),
            (
                "PUBLIC_URL_PATTERN",
                "http://127.0.0.1:9000/lambda-url/{function}",
            ),
        ]))
        .expect("ok");
        assert_eq!(c.code_ttl, 30);
        assert_eq!(
            c.endpoint_url(Endpoint::Consent),
            "http://127.0.0.1:9000/lambda-url/login/consent"
        );
        let e = Config::from_vars(&vars(&[
            ("ISSUER", "https://a.example"),
            ("CODE_TTL_SECONDS", "-1"),
        ]))
        .expect_err("negative");
        assert_eq!(
            e.to_string(),
            "CODE_TTL_SECONDS is invalid: expected seconds between 1 and 2678400, got \"-1\""
        );
    }
}
