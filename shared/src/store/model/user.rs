//! A person who signs in.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{CustomClaim, is_zero};

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// The stable, never reassigned subject identifier.
    pub sub: String,
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Standard claims (OIDC Core §5.1) by name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Claims added to this user's tokens, on top of the client's (same name: the user's wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_claims: Vec<CustomClaim>,
    /// Epoch seconds: sessions signed in and tokens issued until then are dead. Set on a
    /// password change, when the user is disabled or signed out everywhere (0: nothing
    /// ended). Kept for records written before `tokens_valid_after_ms`, and for display.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tokens_valid_after: i64,
    /// The same instant in epoch milliseconds, so that a token issued in the same second
    /// before the change is not mistaken for one issued after it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tokens_valid_after_ms: i64,
    /// The person has a TOTP second factor (`factors#<sub>`): a password alone does not
    /// sign them in. Written only with the factors, in the same atomic write
    /// (`FactorStore::put_totp`), and kept by every other write of the user: it travels in
    /// the user record the password step reads anyway, so that step knows without another
    /// read that a code is due.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub totp: bool,
}

impl User {
    pub fn email(&self) -> Option<&str> {
        self.claims.get("email").and_then(Value::as_str)
    }

    /// The username of an account an upstream provider made at a first sign-in.
    pub fn federated_username(provider_id: &str, upstream_sub: &str) -> String {
        format!("{provider_id}:{upstream_sub}")
    }

    /// What a page calls the person who signed in through `idp` (None: a password): the
    /// username, but for an account that provider made, whose username means nothing to
    /// them, their name or email when the upstream gave one.
    pub fn shown_name(&self, idp: Option<&str>) -> &str {
        let made_upstream = idp.is_some_and(|p| {
            let prefix = Self::federated_username(p, "");
            self.username.starts_with(&prefix)
        });
        let claim = |name: &str| self.claims.get(name).and_then(Value::as_str);
        if made_upstream {
            claim("name").or(self.email()).unwrap_or(&self.username)
        } else {
            &self.username
        }
    }

    /// When the user's sessions and tokens last ended, in epoch milliseconds. A record from
    /// before millisecond stamps says only the second: the whole of it counts as before.
    pub fn valid_after_ms(&self) -> i64 {
        match (self.tokens_valid_after_ms, self.tokens_valid_after) {
            (0, 0) => 0,
            (0, secs) => secs.saturating_mul(1000).saturating_add(999),
            (ms, _) => ms,
        }
    }

    /// Whether something issued at `issued_ms` (epoch milliseconds) for this user is still
    /// alive: the user is enabled and has not ended their sessions since. Strictly after:
    /// what was issued in the very millisecond of the change counts as issued before it.
    pub fn accepts(&self, issued_ms: i64) -> bool {
        !self.disabled && issued_ms > self.valid_after_ms()
    }

    /// Ends every session and token issued before `now_ms`: on every password change,
    /// disable and sign-out everywhere, whatever the path.
    pub fn end_sessions(&mut self, now_ms: i64) {
        self.tokens_valid_after_ms = now_ms;
        self.tokens_valid_after = now_ms.div_euclid(1000);
    }

    /// Sets the password's hash. A changed password ends every session and refresh token,
    /// whatever the path (seed file, admin command line, self-service).
    pub fn set_password_hash(&mut self, hash: String, now_ms: i64) {
        if hash != self.password_hash {
            self.password_hash = hash;
            self.end_sessions(now_ms);
        }
    }

    /// A new, enabled user. A `sub` chosen by an administrator may have been someone's
    /// before: whatever was issued to that someone stays dead.
    pub fn new(
        sub: Option<String>,
        username: String,
        password_hash: String,
        claims: Map<String, Value>,
        custom_claims: Vec<CustomClaim>,
        now_ms: i64,
    ) -> User {
        let chosen = sub.is_some();
        let mut user = User {
            sub: sub.unwrap_or_else(|| crate::crypto::random_token(16)),
            username,
            password_hash,
            claims,
            disabled: false,
            custom_claims,
            tokens_valid_after: 0,
            tokens_valid_after_ms: 0,
            totp: false,
        };
        if chosen {
            user.end_sessions(now_ms);
        }
        user
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("sub", &self.sub)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl User {
    /// This user without their password hash: to keep beside a request or a code.
    pub fn snapshot(&self) -> User {
        User {
            password_hash: String::new(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(username: &str, claims: Value) -> User {
        let claims = claims.as_object().cloned().unwrap_or_default();
        User::new(None, username.into(), String::new(), claims, vec![], 0)
    }

    #[test]
    fn pages_name_an_upstream_made_account_by_its_claims() {
        let named = serde_json::json!({"name": "Alice Liddell", "email": "alice@example.com"});
        let made = user(&User::federated_username("google", "1093"), named.clone());
        assert_eq!(made.shown_name(Some("google")), "Alice Liddell");
        let email_only = serde_json::json!({"email": "alice@example.com"});
        let made = user("google:1093", email_only);
        assert_eq!(made.shown_name(Some("google")), "alice@example.com");
        let bare = user("google:1093", Value::Null);
        assert_eq!(bare.shown_name(Some("google")), "google:1093");
        // A local account keeps its username, even when it signed in through a provider
        // (linked by email), and after a password.
        let local = user("alice", named);
        assert_eq!(local.shown_name(Some("google")), "alice");
        assert_eq!(local.shown_name(None), "alice");
        let made = user("google:1093", serde_json::json!({"name": "A"}));
        assert_eq!(
            made.shown_name(None),
            "google:1093",
            "a password: the username"
        );
    }
}
