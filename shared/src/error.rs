//! One OAuth/OIDC error type, rendered in one place: JSON for the token endpoint
//! (RFC 6749 §5.2), `WWW-Authenticate: Bearer` for protected resources (RFC 6750 §3), a
//! redirect for verified authorization requests (RFC 6749 §4.1.2.1, RFC 9207 `iss`), and an
//! HTML page when the redirect target cannot be trusted.
use std::borrow::Cow;

use lambda_http::{Body, Response, http::StatusCode};
use serde_json::json;

use crate::http::{self as h, no_store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    InvalidToken,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidRedirectUri,
    InvalidClientMetadata,
    /// OpenID Connect Core Error Code `unmet_authentication_requirements`: an essential
    /// `acr` the provider cannot meet (Core §5.5.1.1).
    UnmetAuthenticationRequirements,
    NotFound,
    MethodNotAllowed,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidRequest => "invalid_request",
            InvalidClient => "invalid_client",
            InvalidGrant => "invalid_grant",
            UnauthorizedClient => "unauthorized_client",
            UnsupportedGrantType => "unsupported_grant_type",
            UnsupportedResponseType => "unsupported_response_type",
            InvalidScope => "invalid_scope",
            AccessDenied => "access_denied",
            ServerError => "server_error",
            TemporarilyUnavailable => "temporarily_unavailable",
            InvalidToken => "invalid_token",
            LoginRequired => "login_required",
            ConsentRequired => "consent_required",
            InteractionRequired => "interaction_required",
            RequestNotSupported => "request_not_supported",
            RequestUriNotSupported => "request_uri_not_supported",
            InvalidRedirectUri => "invalid_redirect_uri",
            InvalidClientMetadata => "invalid_client_metadata",
            UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
        }
    }
}

/// An error with a public description (safe to show anyone) and a private detail that is
/// only ever logged.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    detail: Option<String>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_token(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidToken, d)
    }

    /// A dependency (store, signer) failed: the client may retry the same request.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable; retry the request",
        )
        .with_detail(detail)
    }

    pub fn server_error(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServerError, "internal error").with_detail(detail)
    }

    pub(crate) fn log(&self) {
        match self.code {
            ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => tracing::error!(
                error = self.code.as_str(),
                detail = self.detail.as_deref().unwrap_or(""),
                "request failed"
            ),
            _ => tracing::info!(
                error = self.code.as_str(),
                description = %self.description,
                detail = self.detail.as_deref().unwrap_or(""),
                "request refused"
            ),
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        use ErrorCode::*;
        match self.code {
            InvalidClient | InvalidToken => StatusCode::UNAUTHORIZED,
            AccessDenied => StatusCode::FORBIDDEN,
            ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn body(&self) -> serde_json::Value {
        json!({ "error": self.code.as_str(), "error_description": self.description })
    }

    /// RFC 6749 §5.2: JSON, `no-store`; a failed client authentication is a 401 with a
    /// `WWW-Authenticate` challenge for the scheme the client can use.
    pub fn to_json_response(&self) -> Response<Body> {
        self.log();
        let mut resp = h::json(self.status(), &self.body());
        no_store(&mut resp);
        if self.code == ErrorCode::InvalidClient {
            h::set_header(&mut resp, "www-authenticate", "Basic realm=\"token\"");
        }
        if self.code == ErrorCode::TemporarilyUnavailable {
            h::set_header(&mut resp, "retry-after", "1");
        }
        resp
    }

    /// RFC 6750 §3: a protected resource answers with a Bearer challenge. A request that
    /// carried no token at all gets the bare challenge, without an error code (§3.1).
    pub fn to_bearer_response(&self, token_was_sent: bool) -> Response<Body> {
        self.log();
        let mut resp = h::json(self.status(), &self.body());
        no_store(&mut resp);
        let challenge = match self.code {
            ErrorCode::InvalidToken if !token_was_sent => "Bearer realm=\"userinfo\"".to_string(),
            ErrorCode::InvalidToken | ErrorCode::InvalidRequest => format!(
                "Bearer realm=\"userinfo\", error=\"{}\", error_description=\"{}\"",
                self.code.as_str(),
                self.description.replace('"', "'")
            ),
            _ => String::new(),
        };
        if !challenge.is_empty() {
            h::set_header(&mut resp, "www-authenticate", &challenge);
        }
        resp
    }

    /// RFC 6749 §4.1.2.1 with RFC 9207: the parameters of an error authorization response,
    /// delivered by `endpoints::authz_response` once client_id and redirect_uri are verified.
    pub fn authorization_params(
        &self,
        state: Option<&str>,
        iss: &str,
    ) -> Vec<(&'static str, String)> {
        self.log();
        let mut params = vec![
            ("error", self.code.as_str().to_string()),
            ("error_description", self.description.to_string()),
        ];
        if let Some(s) = state {
            params.push(("state", s.to_string()));
        }
        params.push(("iss", iss.to_string()));
        params
    }
}

/// A refusal naming the member and the problem; the value is repeated only when it is short
/// printable ASCII, so nothing refused (control characters, a huge value) is echoed.
pub fn refusal(member: &str, value: &str, problem: &str) -> String {
    let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    if printable && value.len() <= 100 {
        format!("{member}: {value:?} {problem}")
    } else {
        format!("{member}: a value {problem}")
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        OAuthError::unavailable(format!("store: {e}"))
    }
}

impl From<crate::signer::SignerError> for OAuthError {
    fn from(e: crate::signer::SignerError) -> Self {
        match e {
            crate::signer::SignerError::Unavailable(_) => {
                OAuthError::unavailable(format!("signer: {e}"))
            }
            crate::signer::SignerError::Misconfigured(_) => {
                OAuthError::server_error(format!("signer: {e}"))
            }
        }
    }
}

impl OAuthError {
    /// A token our keys did not verify, as the endpoint answers it: an unavailable key set
    /// is the server's (retryable) error, a refused token whatever `refused` makes of why.
    pub fn unverified(
        e: crate::signer::VerifyError,
        refused: impl FnOnce(&'static str) -> OAuthError,
    ) -> OAuthError {
        match e {
            crate::signer::VerifyError::Keys(e) => e.into(),
            crate::signer::VerifyError::Token(why) => refused(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_never_echo_what_was_refused() {
        assert_eq!(
            refusal("redirect_uris", "javascript:x", "uses a forbidden scheme"),
            "redirect_uris: \"javascript:x\" uses a forbidden scheme"
        );
        let nul = refusal("redirect_uris", "https://a.example/\0", "bad");
        assert!(!nul.contains('\0') && !nul.contains("a.example"), "{nul}");
        assert!(!refusal("logo_uri", &"x".repeat(500), "bad").contains("xxx"));
    }
}
