//! A sign-in session and the consents a person has given.
use serde::{Deserialize, Serialize};

use super::is_zero;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub id_hash: String,
    pub sub: String,
    pub auth_time: i64,
    pub expires_at: i64,
    /// The session's public identifier (OIDC Front-/Back-Channel Logout `sid`, in ID tokens):
    /// random, never derived from the cookie.
    #[serde(default)]
    pub sid: String,
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
    /// When the person kept this session while ending all their others (the account page),
    /// in epoch milliseconds (0: never): it then counts as begun after that end, while its
    /// `auth_time` still says when they really signed in.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub renewed_ms: i64,
}

impl Session {
    /// Since when the session is valid, in epoch milliseconds: when the person signed in,
    /// or when they kept it while ending their other sessions. Whatever a person's sessions
    /// ended before is dead (`User::accepts`).
    pub fn signed_in_ms(&self) -> i64 {
        let signed_in = if self.auth_time_ms > 0 {
            self.auth_time_ms
        } else {
            self.auth_time.saturating_mul(1000)
        };
        signed_in.max(self.renewed_ms)
    }
}

/// A person's standing consent for a client: later requests within these scopes need no
/// consent page (single sign-on across applications).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Consent {
    pub sub: String,
    pub client_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Claims agreed to individually (the `claims` parameter, custom claims released by
    /// name), beyond what the scopes carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
    pub granted_at: i64,
}

impl Consent {
    /// Widens this consent by `agreed`'s scopes and claims: what was agreed to before stays.
    /// Both lists come back sorted, as every store reads them.
    pub fn widen(&mut self, agreed: &Consent) {
        self.scopes.extend(agreed.scopes.iter().cloned());
        self.claims.extend(agreed.claims.iter().cloned());
        self.granted_at = agreed.granted_at;
        self.normalize();
    }

    /// Scopes and claims sorted, without repeats: order means nothing in a consent.
    pub fn normalize(&mut self) {
        for list in [&mut self.scopes, &mut self.claims] {
            list.sort();
            list.dedup();
        }
    }
}
