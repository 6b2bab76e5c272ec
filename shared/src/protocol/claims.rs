//! The contents of ID tokens, access tokens and userinfo answers, by granted scope
//! (../CLAIMS.md). Only the granted scopes' claims are ever released.
use serde_json::{Map, Value, json};

use super::scope;
use crate::store::User;

/// The user's claims that the granted scopes release.
pub fn scoped(user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    for s in scopes {
        for name in scope::claims_of(s) {
            if let Some(v) = user.claims.get(*name) {
                out.insert((*name).to_string(), v.clone());
            }
        }
    }
    out
}

pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub user: &'a User,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub now: i64,
    pub ttl: i64,
}

/// OIDC Core §2 and §5.4: identity for the client (aud = client_id).
pub fn id_token(i: IdTokenInput<'_>) -> Value {
    let mut c = scoped(i.user, i.scopes);
    c.insert("iss".into(), json!(i.issuer));
    c.insert("sub".into(), json!(i.user.sub));
    c.insert("aud".into(), json!(i.client_id));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + i.ttl));
    c.insert("auth_time".into(), json!(i.auth_time));
    if let Some(n) = i.nonce {
        c.insert("nonce".into(), json!(n));
    }
    Value::Object(c)
}

pub struct AccessTokenInput<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub client_id: &'a str,
    pub sub: &'a str,
    pub scopes: &'a [String],
    pub jti: &'a str,
    pub now: i64,
    pub ttl: i64,
}

/// RFC 9068 §2.2: authorization, not identity: no profile data.
pub fn access_token(i: AccessTokenInput<'_>) -> Value {
    json!({
        "iss": i.issuer,
        "sub": i.sub,
        "aud": i.audience,
        "client_id": i.client_id,
        "scope": scope::join(i.scopes),
        "iat": i.now,
        "exp": i.now + i.ttl,
        "jti": i.jti,
    })
}

/// OIDC Core §5.3.2: `sub` plus the granted scopes' claims.
pub fn userinfo(user: &User, scopes: &[String]) -> Value {
    let mut c = scoped(user, scopes);
    c.insert("sub".into(), json!(user.sub));
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        let claims = json!({
            "name": "Ada", "email": "ada@example.com", "email_verified": true,
            "phone_number": "+1 555", "address": {"country": "UK"}, "birthdate": "1815-12-10"
        });
        User {
            sub: "s1".into(),
            username: "ada".into(),
            password_hash: String::new(),
            claims: claims.as_object().cloned().unwrap_or_default(),
            disabled: false,
        }
    }

    #[test]
    fn each_scope_releases_exactly_its_claims() {
        let u = user();
        let only = |s: &str| {
            scoped(&u, &scope::parse(s))
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(only("openid"), Vec::<String>::new());
        assert_eq!(only("openid email"), vec!["email", "email_verified"]);
        assert_eq!(only("openid phone"), vec!["phone_number"]);
        assert_eq!(only("openid address"), vec!["address"]);
        assert_eq!(only("openid profile"), vec!["birthdate", "name"]);
    }

    #[test]
    fn token_shapes() {
        let u = user();
        let scopes = scope::parse("openid email");
        let id = id_token(IdTokenInput {
            issuer: "https://i",
            client_id: "c",
            user: &u,
            scopes: &scopes,
            nonce: None,
            auth_time: 5,
            now: 10,
            ttl: 60,
        });
        assert_eq!(id["aud"], "c");
        assert_eq!(id["exp"], 70);
        assert!(id.get("nonce").is_none());
        assert!(id.get("phone_number").is_none());
        assert_eq!(id["email"], "ada@example.com");
        let at = access_token(AccessTokenInput {
            issuer: "https://i",
            audience: "https://api",
            client_id: "c",
            sub: "s1",
            scopes: &scopes,
            jti: "j",
            now: 10,
            ttl: 60,
        });
        assert_eq!(at["scope"], "openid email");
        assert!(at.get("email").is_none());
        assert_eq!(userinfo(&u, &scopes)["sub"], "s1");
    }
}
