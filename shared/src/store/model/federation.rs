//! A sign-in through an upstream provider in flight, and the links from upstream accounts
//! to ours.
use serde::{Deserialize, Serialize};

/// What we sent a browser to an upstream with, kept until the upstream sends it back to our
/// callback: stored under the SHA-256 of the `state` we sent, used once, for minutes.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct FederationAttempt {
    /// SHA-256 (base64url) of the `state` parameter: the record holds no usable `state`.
    pub state_hash: String,
    /// Our authorization request this sign-in completes.
    pub request_id: String,
    pub provider_id: String,
    /// The browser that started it (its binding cookie): a callback from another browser is
    /// refused (RFC 9700 §4.7, login CSRF).
    pub browser_id: String,
    /// The `nonce` the upstream's ID token must carry (OIDC Core §3.1.2.1).
    pub nonce: String,
    /// The PKCE verifier of the `code_challenge` we sent (RFC 7636).
    pub code_verifier: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for FederationAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationAttempt")
            .field("request_id", &self.request_id)
            .field("provider_id", &self.provider_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An upstream account, `(issuer, upstream_sub)`, tied to one of our users. Never an email:
/// the pair is the only identifier an OpenID provider promises to keep (OIDC Core §5.7).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountLink {
    /// The upstream's `iss`, as in its ID tokens (Entra: with the tenant filled in).
    pub issuer: String,
    pub upstream_sub: String,
    /// Our user.
    pub sub: String,
    /// The provider it was made through (for display and audit).
    pub provider_id: String,
    pub created_at: i64,
    /// The user was created by this link (just in time), rather than linked to an existing
    /// account.
    #[serde(default)]
    pub jit: bool,
}
