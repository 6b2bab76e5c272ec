//! Why a token is refused, and how a resource server says so (RFC 6750 §3).
/// A refused token. Each variant is one rule; [`Refusal::error_code`] and
/// [`Refusal::status`] are what the resource server answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("no key of the issuer has this kid")]
    UnknownKey,
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    #[error("bad signature")]
    BadSignature,
    /// RFC 9068 §4: `typ` is not `at+jwt` (an ID token, or any other JWT).
    #[error("not an access token")]
    NotAnAccessToken,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("expired")]
    Expired,
    #[error("not valid yet (nbf)")]
    NotYetValid,
    #[error("issued in the future (iat)")]
    IssuedInFuture,
    #[error("the token has none of the scopes this route accepts")]
    InsufficientScope,
    /// The issuer's keys could not be read: the request may be retried.
    #[error("the issuer's keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// The verifier itself is misconfigured (an issuer that is not an https URL).
    #[error("verifier misconfigured: {0}")]
    Config(String),
}

impl Refusal {
    /// The RFC 6750 §3.1 error code, if the answer carries one: none when no token came
    /// (§3.1: "SHOULD NOT include an error code"), none for a failure of ours.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Refusal::Missing | Refusal::KeysUnavailable(_) | Refusal::Config(_) => None,
            Refusal::InsufficientScope => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }

    /// 401 for a missing or invalid token, 403 for too few scopes (RFC 6750 §3.1), 503 when
    /// the keys could not be read: the client did nothing wrong and may retry.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::InsufficientScope => 403,
            Refusal::KeysUnavailable(_) | Refusal::Config(_) => 503,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` value of the answer (RFC 6750 §3), naming the route's scopes
    /// after `insufficient_scope`. The reason stays in the server's log, not in the header.
    pub fn www_authenticate(&self, scopes: &[&str]) -> String {
        match self.error_code() {
            None => "Bearer".into(),
            Some("insufficient_scope") => {
                format!(
                    r#"Bearer error="insufficient_scope", scope="{}""#,
                    scopes.join(" ")
                )
            }
            Some(code) => format!(r#"Bearer error="{code}""#),
        }
    }
}
