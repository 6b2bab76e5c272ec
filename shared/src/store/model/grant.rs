//! A grant: the code that starts it and the refresh tokens that carry it on.
use serde::{Deserialize, Serialize};

use super::{RequestedClaims, User, is_zero};

/// What a code turned into, kept on the code so a replay can revoke it (RFC 6749 §4.1.2):
/// the grant every token minted from it belongs to (access tokens carry it as `gid`,
/// refresh tokens store it), and how long revoking it must last.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Minted {
    pub grant_id: String,
    pub revoke_until: i64,
}

/// A refresh token, stored by its SHA-256. The tokens of one grant form a chain: every use
/// rotates the token (RFC 9700 §4.14.2), and presenting a used one revokes the grant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub sub: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub issued_at: i64,
    /// The grant's absolute end: rotation never extends it.
    pub expires_at: i64,
    /// Set when it was exchanged for its successor.
    pub used_at: Option<i64>,
    #[serde(default, skip_serializing_if = "RequestedClaims::is_empty")]
    pub claims: RequestedClaims,
    /// `issued_at` in epoch milliseconds (0 in older records: `issued_at` then counts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub issued_at_ms: i64,
    /// The sign-in session the grant came from (`sid` of its ID tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The upstream provider the person signed in with (`federation`), None for a
    /// password: decides the ID token's `acr`, `amr` and `idp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// How the person signed in: RFC 8176 `amr` values, as recorded at sign-in. Empty in
    /// records from before they were kept: then `idp` says (`protocol::acr::amr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl RefreshToken {
    /// When it was issued, in epoch milliseconds.
    pub fn issued_ms(&self) -> i64 {
        if self.issued_at_ms > 0 {
            self.issued_at_ms
        } else {
            self.issued_at.saturating_mul(1000)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub sub: String,
    pub auth_time: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "RequestedClaims::is_empty")]
    pub claims: RequestedClaims,
    /// Set when the code is redeemed; the record is kept until it expires to detect replays.
    pub minted: Option<Minted>,
    /// The user as they were when the code was issued (never their password hash), so the
    /// token exchange needs no read of its own: a code lives for a minute at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The sign-in session it came from (`sid` of its ID token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `auth_time` in epoch milliseconds (0 in older records: `auth_time` then counts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub auth_time_ms: i64,
    /// The upstream provider the person signed in with (`federation`), None for a
    /// password: decides the ID token's `acr`, `amr` and `idp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// How the person signed in: RFC 8176 `amr` values, as recorded at sign-in. Empty in
    /// records from before they were kept: then `idp` says (`protocol::acr::amr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl AuthCode {
    /// When the person signed in for it, in epoch milliseconds.
    pub fn signed_in_ms(&self) -> i64 {
        if self.auth_time_ms > 0 {
            self.auth_time_ms
        } else {
            self.auth_time.saturating_mul(1000)
        }
    }
}

/// What a client presents with a code (RFC 6749 §4.1.3, RFC 7636 §4.6). The store redeems
/// the code only if all of it matches, in the same conditional write.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    /// The S256 challenge of the presented `code_verifier`; None when none was sent.
    pub code_challenge: Option<&'a str>,
}

impl CodeRedemption<'_> {
    /// Whether `code` was issued for exactly this.
    pub fn matches(&self, code: &AuthCode) -> bool {
        code.client_id == self.client_id
            && code.redirect_uri == self.redirect_uri
            && code.code_challenge.as_deref() == self.code_challenge
    }
}
