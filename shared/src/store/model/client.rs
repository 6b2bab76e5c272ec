//! A client (RFC 7591 §2 metadata as an administrator or registration set it).
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Level;
use super::{CustomClaim, is_zero};

/// RFC 7591 §2 `token_endpoint_auth_method` values we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client: no secret, PKCE required.
    None,
    /// RFC 7523 §2.2: a JWT signed with a key from the client's registered `jwks`.
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Client {
    pub client_id: String,
    pub client_name: String,
    /// An https logo shown on the consent page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// SHA-256 (base64url) of the secret; secrets are high-entropy values (≥ 32 characters),
    /// so a fast hash suffices and keeps the token endpoint fast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    pub auth_method: AuthMethod,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    pub allowed_scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    /// A first-party application: signing in implies consent, no consent page is shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_consent: bool,
    /// Where RP-initiated logout may return the browser (exact match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Claims added to this client's tokens (namespaced names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_claims: Vec<CustomClaim>,
    /// The client's public keys (a JWK Set) for private_key_jwt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// SHA-256 of the RFC 7592 registration access token, for dynamically registered clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_token_hash: Option<String>,
    /// Individual claims (standard claim names or custom claim names) the administrator lets
    /// this client receive beyond what its allowed scopes carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_claims: Vec<String>,
    /// Whether the provider may send the browser to this client's URIs before the person has
    /// signed in (RFC 9700 §4.11.2). None: trusted unless dynamically registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// The least level of sign-in this client's users must reach (`protocol::acr`): its
    /// administrator's setting, or a registered client's `default_acr_values`. None: the
    /// deployment's (`SIGNIN_MIN_LEVEL`), which it can raise, never lower.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_level: Option<Level>,
    /// Epoch milliseconds: tokens issued to this client before it (a secret rotation) are
    /// dead (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tokens_valid_after_ms: i64,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
    /// Registered through RFC 7591 rather than by an administrator.
    pub fn is_dynamic(&self) -> bool {
        self.registration_token_hash.is_some()
    }
    /// Administrator-created clients are trusted; dynamically registered ones only if the
    /// registration policy said so.
    pub fn is_trusted(&self) -> bool {
        self.trusted.unwrap_or(!self.is_dynamic())
    }
    /// A first-party client: signing in implies consent. Never a dynamically registered one.
    pub fn implies_consent(&self) -> bool {
        self.skip_consent && !self.is_dynamic()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// What a request keeps of its client: what the sign-in and consent pages show and
    /// decide with (name, logo, scopes and claims it may have, first party or not, registered
    /// or not), not its secret's hash, URIs, keys or own claims. Small, so a request item
    /// stays under a write unit.
    pub fn snapshot(&self) -> Client {
        Client {
            secret_hash: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            custom_claims: vec![],
            jwks: None,
            grant_types: vec![],
            ..self.clone()
        }
    }
}
