//! One configuration value, built once per container (from the environment on Lambda, from
//! flags locally) and validated with messages that say what to fix.
use std::collections::HashMap;

pub mod error;
mod sign_in;

pub use error::ConfigError;
pub use sign_in::SignInLimits;

use crate::{paths::Endpoint, protocol::registration_policy::RegistrationPolicy};

#[derive(Debug, Clone)]
pub struct Branding {
    pub product_name: String,
    pub accent_color: String,
    /// An https (or `data:image/...`) logo shown on every page instead of the name.
    pub logo_url: Option<String>,
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            product_name: "OpenID Provider".into(),
            accent_color: "#2457d6".into(),
            logo_url: None,
        }
    }
}

/// Who may use Dynamic Client Registration (RFC 7591 §3).
#[derive(Debug, Clone, PartialEq)]
pub enum Registration {
    Disabled,
    /// Anyone may register: local development.
    Open,
    /// Requests must bear this initial access token (stored as its SHA-256).
    InitialToken(String),
}

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
        let issuer = vars
            .get("ISSUER")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty());
        let issuer = issuer.ok_or(ConfigError::Missing(
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

    fn read(self, vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut c = self;
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        if let Some(p) = get("PUBLIC_URL_PATTERN") {
            c.public_url_pattern = Some(p.trim_end_matches('/').to_string());
        }
        if let Some(a) = get("ACCESS_TOKEN_AUDIENCE") {
            c.access_token_audience = a.to_string();
        }
        let ttl = |name: &'static str, default: i64| -> Result<i64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=31 * 86400).contains(n))
                    .ok_or_else(|| {
                        ConfigError::Invalid(
                            name,
                            format!("expected seconds between 1 and 2678400, got {v:?}"),
                        )
                    }),
            }
        };
        c.code_ttl = ttl("CODE_TTL_SECONDS", c.code_ttl)?;
        c.auth_request_ttl = ttl("AUTH_REQUEST_TTL_SECONDS", c.auth_request_ttl)?;
        c.session_ttl = ttl("SESSION_TTL_SECONDS", c.session_ttl)?;
        c.access_token_ttl = ttl("ACCESS_TOKEN_TTL_SECONDS", c.access_token_ttl)?;
        c.id_token_ttl = ttl("ID_TOKEN_TTL_SECONDS", c.id_token_ttl)?;
        c.refresh_token_ttl = ttl("REFRESH_TOKEN_TTL_SECONDS", c.refresh_token_ttl)?;
        let limit = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 1_000_000)
                    .ok_or_else(|| {
                        ConfigError::Invalid(
                            name,
                            format!("expected a count between 0 (off) and 1000000, got {v:?}"),
                        )
                    }),
            }
        };
        let seconds = |name: &'static str, default: i64, range: (i64, i64)| match get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (range.0..=range.1).contains(n))
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        name,
                        format!(
                            "expected seconds between {} and {}, got {v:?}",
                            range.0, range.1
                        ),
                    )
                }),
        };
        for retired in [
            "SIGNIN_MAX_FAILURES_PER_ACCOUNT",
            "SIGNIN_ACCOUNT_WINDOW_SECONDS",
        ] {
            if get(retired).is_some() {
                return Err(ConfigError::Invalid(
                    retired,
                    "retired: accounts are no longer locked; failures from browsers an account \
                     has not signed in from wait progressively longer instead \
                     (SIGNIN_FREE_FAILURES, SIGNIN_MAX_DELAY_SECONDS; see README)"
                        .into(),
                ));
            }
        }
        let t = &mut c.sign_in;
        t.free_failures = limit("SIGNIN_FREE_FAILURES", t.free_failures)?;
        t.max_delay = seconds("SIGNIN_MAX_DELAY_SECONDS", t.max_delay, (0, 86400))?;
        t.failure_memory = ttl("SIGNIN_FAILURE_MEMORY_SECONDS", t.failure_memory)?;
        t.ip_failures = limit("SIGNIN_MAX_FAILURES_PER_IP", t.ip_failures)?;
        t.ip_window = ttl("SIGNIN_IP_WINDOW_SECONDS", t.ip_window)?;
        t.device_failures = limit("SIGNIN_MAX_FAILURES_PER_DEVICE", t.device_failures)?;
        t.device_window = ttl("SIGNIN_DEVICE_WINDOW_SECONDS", t.device_window)?;
        t.device_ttl = seconds(
            "SIGNIN_DEVICE_TOKEN_TTL_SECONDS",
            t.device_ttl,
            (60, 400 * 86400),
        )?;
        c.registration = match (
            get("REGISTRATION_INITIAL_ACCESS_TOKEN"),
            get("REGISTRATION_INITIAL_ACCESS_TOKEN_SHA256"),
            get("REGISTRATION"),
        ) {
            (Some(t), _, _) if t.len() >= 32 => {
                Registration::InitialToken(crate::crypto::secret_digest(t))
            }
            (Some(_), _, _) => {
                return Err(ConfigError::Invalid(
                    "REGISTRATION_INITIAL_ACCESS_TOKEN",
                    "must be at least 32 characters".into(),
                ));
            }
            // Deployments pass the token's digest, so the secret itself is in no environment.
            (None, Some(h), _) if h.len() == 43 && crate::crypto::b64url_decode(h).is_some() => {
                Registration::InitialToken(h.to_string())
            }
            (None, Some(_), _) => {
                return Err(ConfigError::Invalid(
                    "REGISTRATION_INITIAL_ACCESS_TOKEN_SHA256",
                    "expected the base64url SHA-256 of the token (43 characters)".into(),
                ));
            }
            (None, None, Some("token")) => {
                return Err(ConfigError::Missing(
                    "REGISTRATION_INITIAL_ACCESS_TOKEN_SHA256",
                    "REGISTRATION=token needs the digest of the initial access token",
                ));
            }
            (None, None, Some("open")) => Registration::Open,
            (None, None, None | Some("disabled")) => Registration::Disabled,
            (None, None, Some(v)) => {
                return Err(ConfigError::Invalid(
                    "REGISTRATION",
                    format!("expected disabled, token or open, got {v:?}"),
                ));
            }
        };
        c.registration_policy = RegistrationPolicy::from_vars(get)?;
        if let Some(list) = get("SIGNING_ALGS") {
            let algs = list
                .split(',')
                .map(|a| crate::jose::Alg::parse(a.trim()))
                .collect::<Option<Vec<_>>>()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        "SIGNING_ALGS",
                        format!("expected RS256 and/or ES256, comma-separated, got {list:?}"),
                    )
                })?;
            c.signing_algs = Some(algs);
        }
        if let Some(n) = get("PRODUCT_NAME") {
            c.branding.product_name = n.to_string();
        }
        if let Some(col) = get("ACCENT_COLOR") {
            if !is_css_color(col) {
                return Err(ConfigError::Invalid(
                    "ACCENT_COLOR",
                    format!("expected #rrggbb, got {col:?}"),
                ));
            }
            c.branding.accent_color = col.to_string();
        }
        if let Some(logo) = get("LOGO_URL") {
            if !is_logo_url(logo) {
                return Err(ConfigError::Invalid(
                    "LOGO_URL",
                    format!("expected an https URL or a data:image/ URI, got {logo:?}"),
                ));
            }
            c.branding.logo_url = Some(logo.to_string());
        }
        Ok(c)
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

fn is_logo_url(v: &str) -> bool {
    v.starts_with("data:image/")
        || url::Url::parse(v).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
}

fn is_css_color(v: &str) -> bool {
    v.len() == 7 && v.starts_with('#') && v[1..].chars().all(|c| c.is_ascii_hexdigit())
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
            }
        );
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
        assert!(
            Config::from_vars(&vars(&[
                ("ISSUER", "https://a.example"),
                ("CODE_TTL_SECONDS", "-1")
            ]))
            .is_err()
        );
    }
}
