//! Every way talking to an upstream OpenID provider can fail, as one typed error.
//!
//! The Display of each variant is written for two readers at once: the audit log and the person
//! at the sign-in page. It never carries a secret, a code or a token; what comes from the
//! upstream (error codes, descriptions, issuers, key ids) is cut to printable ASCII and a
//! bounded length first, so a hostile upstream cannot write into our logs or pages at will.
use std::fmt;

/// Which of the upstream's documents or endpoints an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Discovery,
    Jwks,
    Token,
    Userinfo,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Discovery => "discovery document",
            Step::Jwks => "key set (JWKS)",
            Step::Token => "token endpoint",
            Step::Userinfo => "userinfo endpoint",
        })
    }
}

/// Why an HTTP exchange produced no answer at all (see [`super::fetch::Fetch`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("no answer within the time limit")]
    Timeout,
    /// Connection refused, name not resolved, TLS failure, connection reset.
    #[error("{0}")]
    Unreachable(String),
    /// Larger than the limit, in bytes (`fetch::MAX_BODY`).
    #[error("the answer is larger than {} KiB", .0 / 1024)]
    TooLarge(usize),
}

/// Why an upstream ID token was refused (OpenID Connect Core 1.0 §3.1.3.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("it is not a well-formed signed JWT ({0})")]
    Malformed(&'static str),
    /// Only RS256 and ES256: never `none`, never HMAC (whose key would be our client secret),
    /// nothing else.
    #[error("its algorithm `{0}` is not accepted")]
    Algorithm(String),
    /// OIDC Discovery §3 `id_token_signing_alg_values_supported` does not list it.
    #[error("its algorithm `{0}` is not one the upstream's discovery document lists")]
    AlgorithmNotAdvertised(String),
    /// The key set has no key with this `kid` (after one refetch, see
    /// [`super::cache::UpstreamCache`]).
    #[error("it names a key `{0}` the upstream's key set does not hold")]
    UnknownKey(String),
    /// OIDC Core §10.1: with several keys in the set, the header must name one.
    #[error("it names no key and the upstream's key set holds several")]
    NoKeyId,
    #[error("its signature does not verify")]
    BadSignature,
    #[error("its issuer `{got}` is not `{expected}`")]
    Issuer { expected: String, got: String },
    /// A `{tenantid}` issuer template and a token without a usable `tid` claim.
    #[error("it has no usable `tid` claim for the issuer template `{0}`")]
    Tenant(String),
    #[error("it was not issued to this client (audience)")]
    Audience,
    #[error("it was issued to another party (azp), or to several without naming this client")]
    AuthorizedParty,
    #[error("it has expired")]
    Expired,
    #[error("it was issued in the future (iat)")]
    IssuedInFuture,
    #[error("a required claim is missing or malformed: {0}")]
    Claim(&'static str),
    #[error("it carries no nonce")]
    MissingNonce,
    #[error("its nonce is not the one this sign-in sent")]
    WrongNonce,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The configured issuer or a discovered endpoint is not a URL we may call.
    #[error(
        "the upstream's {what} `{url}` is not an https URL (http only for loopback hosts) or not a plain URL"
    )]
    InsecureUrl { what: &'static str, url: String },
    #[error("could not reach the upstream's {step} at {url}: {error}")]
    Fetch {
        step: Step,
        url: String,
        error: FetchError,
    },
    #[error("the upstream's {step} answered HTTP {status}{}",
        if (300..400).contains(status) { " (redirects are not followed)" } else { "" })]
    Status { step: Step, status: u16 },
    #[error("the upstream's {step} did not answer with a JSON object")]
    NotJson { step: Step },
    /// OIDC Discovery §4.3: the document is not for the configured issuer, or lacks an endpoint.
    #[error("the upstream's discovery document is not usable: {0}")]
    Metadata(String),
    #[error("the upstream's key set (JWKS) is not usable: {0}")]
    Jwks(String),
    /// RFC 6749 §4.1.2.1: the upstream sent the person back with `error=` (e.g. `access_denied`).
    #[error(
        "the upstream did not sign the person in: {error}{}",
        describe(description)
    )]
    Authorization {
        error: String,
        description: Option<String>,
    },
    /// RFC 9207 §2.4: the authorization response's `iss` is missing or not this upstream's.
    #[error("the upstream's authorization response {0}")]
    ResponseIssuer(&'static str),
    /// RFC 6749 §5.2: the token endpoint refused the code.
    #[error(
        "the upstream's token endpoint refused the code: {error}{}",
        describe(description)
    )]
    TokenRefused {
        error: String,
        description: Option<String>,
    },
    /// RFC 6749 §5.1 / OIDC Core §3.1.3.3: a success answer without what it must hold.
    #[error("the upstream's token response is not usable: {0}")]
    TokenResponse(&'static str),
    #[error("the upstream's ID token was refused: {0}")]
    IdToken(#[from] IdTokenError),
    /// OIDC Core §5.3.2 / §5.3.4.
    #[error("the upstream's userinfo answer is not usable: {0}")]
    Userinfo(&'static str),
    /// The outbound HTTPS client could not be set up (no TLS configuration).
    #[error("the outbound HTTPS client could not be set up: {0}")]
    Client(String),
    /// Our own credentials for the upstream (its sealed client secret, our client key) could
    /// not be used; the detail is in the log only (`client_key::credentials`).
    #[error("our credentials for it could not be used; try again in a moment")]
    Credentials,
    /// The upstream's metadata says it does not take what this provider is configured to do.
    #[error("it is configured for something it does not support: {0}")]
    Unsupported(&'static str),
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

impl UpstreamError {
    /// A short stable name for audit events and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            UpstreamError::InsecureUrl { .. } => "insecure_url",
            UpstreamError::Fetch {
                error: FetchError::Timeout,
                ..
            } => "timeout",
            UpstreamError::Fetch {
                error: FetchError::TooLarge(_),
                ..
            } => "too_large",
            UpstreamError::Fetch { .. } => "unreachable",
            UpstreamError::Status { .. } => "http_status",
            UpstreamError::NotJson { .. } => "not_json",
            UpstreamError::Metadata(_) => "bad_metadata",
            UpstreamError::Jwks(_) => "bad_jwks",
            UpstreamError::Authorization { .. } => "authorization_error",
            UpstreamError::ResponseIssuer(_) => "bad_response_iss",
            UpstreamError::TokenRefused { .. } => "token_refused",
            UpstreamError::TokenResponse(_) => "bad_token_response",
            UpstreamError::IdToken(_) => "bad_id_token",
            UpstreamError::Userinfo(_) => "bad_userinfo",
            UpstreamError::Client(_) => "client_setup",
            UpstreamError::Credentials => "credentials",
            UpstreamError::Unsupported(_) => "unsupported",
        }
    }

    /// RFC 6749 §4.1.2.1: the `error` and `error_description` of the authorization response,
    /// made safe to log and show.
    pub fn authorization(error: &str, description: Option<&str>) -> Self {
        UpstreamError::Authorization {
            error: printable(error, 64),
            description: description.map(|d| printable(d, 200)),
        }
    }

    pub(crate) fn token_refused(error: &str, description: Option<&str>) -> Self {
        UpstreamError::TokenRefused {
            error: printable(error, 64),
            description: description.map(|d| printable(d, 200)),
        }
    }
}

/// Text from the upstream, cut to printable ASCII without quotes or backticks (the character
/// set RFC 6749 §5.2 allows in `error_description`, minus what would break out of a quote) and
/// at most `max` characters.
pub(crate) fn printable(s: &str, max: usize) -> String {
    let mut kept = s
        .chars()
        .filter(|c| matches!(c, ' '..='~') && !matches!(c, '"' | '\\' | '`'));
    let mut out: String = kept.by_ref().take(max).collect();
    if kept.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_text_is_cut_and_cleaned() {
        assert_eq!(printable("a\"b`c\nd\u{1b}[31m", 64), "abcd[31m");
        assert_eq!(printable(&"x".repeat(300), 5), "xxxxx…");
        let e = UpstreamError::authorization("access_denied", Some("User said\nno"));
        assert_eq!(
            e.to_string(),
            "the upstream did not sign the person in: access_denied (User saidno)"
        );
        assert_eq!(e.code(), "authorization_error");
    }

    #[test]
    fn redirects_say_they_are_not_followed() {
        let e = UpstreamError::Status {
            step: Step::Discovery,
            status: 302,
        };
        assert_eq!(
            e.to_string(),
            "the upstream's discovery document answered HTTP 302 (redirects are not followed)"
        );
    }
}
