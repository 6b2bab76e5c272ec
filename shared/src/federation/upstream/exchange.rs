//! Redeeming the upstream's authorization code at its token endpoint (RFC 6749 §4.1.3, with
//! the PKCE verifier of RFC 7636 §4.5).
use std::fmt;

use serde_json::Value;

use super::error::{Step, UpstreamError};
use super::fetch::{Credentials, Fetch, at};
use super::metadata::Metadata;

/// How we authenticate to the upstream's token endpoint (OIDC Core §9).
#[derive(Clone, Copy)]
pub enum ClientAuth<'a> {
    /// RFC 6749 §2.3.1, HTTP Basic: the default of RFC 8414 §2 and what most upstreams expect.
    SecretBasic(&'a str),
    /// RFC 6749 §2.3.1, in the form body.
    SecretPost(&'a str),
    /// RFC 7523 §2.2, a client assertion we signed (`federation::client_key`).
    PrivateKeyJwt(&'a str),
}

/// Our registration at the upstream.
#[derive(Clone, Copy)]
pub struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub auth: ClientAuth<'a>,
}

impl fmt::Debug for ClientCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = match self.auth {
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
        };
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("method", &method)
            .finish_non_exhaustive()
    }
}

/// RFC 7523 §2.2.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3). Its tokens are for
/// verifying (`id_token`) and the userinfo call (`access_token`) only, never to be logged:
/// its Debug leaves them out.
#[derive(Clone)]
pub struct TokenResponse {
    pub id_token: String,
    pub access_token: String,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Exchanges an authorization code (RFC 6749 §4.1.3) with the PKCE `code_verifier`
/// (RFC 7636 §4.5), authenticating as `client`. The answer is mapped:
/// - `{"error": ...}` (RFC 6749 §5.2, any status) → [`UpstreamError::TokenRefused`];
/// - another non-2xx status (redirects included: none is followed) → [`UpstreamError::Status`];
/// - a body that is not a JSON object → [`UpstreamError::NotJson`];
/// - no `id_token`, no `access_token`, or a `token_type` other than Bearer →
///   [`UpstreamError::TokenResponse`];
/// - timeouts, refused connections, oversized answers → [`UpstreamError::Fetch`].
///
/// The ID token is returned unverified: verify it next with
/// [`super::cache::UpstreamCache::verify_id_token`].
pub async fn exchange_code(
    fetch: &dyn Fetch,
    metadata: &Metadata,
    client: &ClientCredentials<'_>,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> Result<TokenResponse, UpstreamError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", code_verifier),
    ];
    let auth = match client.auth {
        ClientAuth::SecretBasic(secret) => Credentials::Basic {
            client_id: client.client_id,
            secret,
        },
        ClientAuth::SecretPost(secret) => {
            form.push(("client_id", client.client_id));
            form.push(("client_secret", secret));
            Credentials::None
        }
        ClientAuth::PrivateKeyJwt(assertion) => {
            form.push(("client_id", client.client_id));
            form.push(("client_assertion_type", JWT_BEARER));
            form.push(("client_assertion", assertion));
            Credentials::None
        }
    };
    let url = &metadata.token_endpoint;
    let resp = fetch
        .post_form(url, &form, auth)
        .await
        .map_err(at(Step::Token, url))?;
    let body = resp.json_object();
    if let Some(error) = body.as_ref().and_then(|b| b.get("error")) {
        let description = body
            .as_ref()
            .and_then(|b| b.get("error_description"))
            .and_then(Value::as_str);
        return Err(UpstreamError::token_refused(
            error.as_str().unwrap_or("(not a string)"),
            description,
        ));
    }
    if !resp.is_success() {
        return Err(UpstreamError::Status {
            step: Step::Token,
            status: resp.status,
        });
    }
    let body = body.ok_or(UpstreamError::NotJson { step: Step::Token })?;
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    // RFC 6749 §5.1: token_type is case-insensitive; OIDC Core §3.1.3.3: it must be Bearer.
    if !text("token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
        return Err(UpstreamError::TokenResponse("its token_type is not Bearer"));
    }
    Ok(TokenResponse {
        id_token: text("id_token").ok_or(UpstreamError::TokenResponse("it has no id_token"))?,
        access_token: text("access_token")
            .ok_or(UpstreamError::TokenResponse("it has no access_token"))?,
        expires_in: body.get("expires_in").and_then(Value::as_i64),
        scope: text("scope"),
    })
}
