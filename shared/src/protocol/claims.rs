//! The contents of ID tokens, access tokens and userinfo answers, by granted scope
//! (../CLAIMS.md), plus the deployer's custom claims. Only the granted scopes' standard
//! claims are ever released.
use serde_json::{Map, Value, json};

use super::{release, scope};
use crate::store::{ClaimTarget, Client, User};

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

/// A claim about the user that a scope (or the `claims` parameter) can release.
pub fn is_user_claim(name: &str) -> bool {
    scope::SUPPORTED
        .iter()
        .any(|s| scope::claims_of(s).contains(&name))
}

/// The user's claims among `names` (from the `claims` request parameter).
pub fn requested(user: &User, names: &[String]) -> Map<String, Value> {
    names
        .iter()
        .filter(|n| is_user_claim(n))
        .filter_map(|n| user.claims.get(n).map(|v| (n.clone(), v.clone())))
        .collect()
}

/// Custom claims for `target`: the client's own (its administrator's settings for that
/// client, not data about the person), then the person's that the release rule lets through
/// under a grant of `scopes` releasing `by_name` (the person's win on a name clash). Names
/// are namespaced URIs, validated when configured, so they cannot collide with standard
/// claims; the check is repeated here so a bad record can never shadow one.
pub fn custom(
    client: &Client,
    user: Option<&User>,
    target: ClaimTarget,
    scopes: &[String],
    by_name: &[String],
) -> Map<String, Value> {
    let mut out = Map::new();
    let user_claims = user
        .map(|u| u.custom_claims.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|c| release::custom_released(client, c, scopes, by_name));
    for c in client.custom_claims.iter().chain(user_claims) {
        if c.tokens.contains(&target) && is_custom_name(&c.name) {
            out.insert(c.name.clone(), c.value.clone());
        }
    }
    out
}

/// A custom claim name is an absolute URI (`https://example.com/roles`, `urn:acme:tenant`):
/// namespaced, so never a registered or standard claim name.
pub fn is_custom_name(name: &str) -> bool {
    name.len() <= 256 && name.contains(':') && url::Url::parse(name).is_ok()
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
    pub custom: Map<String, Value>,
    /// Claims asked for individually (`claims` parameter, id_token member).
    pub requested: &'a [String],
    /// The authentication context class, when asked for (Core §5.5.1.1).
    pub acr: Option<&'a str>,
    /// How the person signed in (Core §2 `amr`; `protocol::acr::amr`).
    pub amr: &'a [&'a str],
    /// The upstream provider they signed in with, if any (`idp`, SECURITY.md "Federation").
    pub idp: Option<&'a str>,
    /// The sign-in session (OIDC Front-/Back-Channel Logout `sid`; RP-Initiated Logout
    /// compares a hint's `sid` with the current session's).
    pub sid: Option<&'a str>,
    /// Core §3.1.3.6: the left half of the access token's SHA-256, when one is issued with it.
    pub at_hash: Option<String>,
}

/// OIDC Core §2 and §5.4: identity for the client (aud = client_id).
pub fn id_token(i: IdTokenInput<'_>) -> Value {
    let mut c = i.custom;
    c.extend(scoped(i.user, i.scopes));
    c.extend(requested(i.user, i.requested));
    c.insert("iss".into(), json!(i.issuer));
    c.insert("sub".into(), json!(i.user.sub));
    c.insert("aud".into(), json!(i.client_id));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + i.ttl));
    c.insert("auth_time".into(), json!(i.auth_time));
    if !i.amr.is_empty() {
        c.insert("amr".into(), json!(i.amr));
    }
    let optional = [
        ("idp", i.idp.map(str::to_string)),
        ("nonce", i.nonce.map(str::to_string)),
        ("acr", i.acr.map(str::to_string)),
        ("sid", i.sid.filter(|s| !s.is_empty()).map(str::to_string)),
        ("at_hash", i.at_hash),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            c.insert(name.into(), json!(v));
        }
    }
    Value::Object(c)
}

pub struct AccessTokenInput<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub client_id: &'a str,
    /// The user, or the client itself for client_credentials (RFC 9068 §2.2).
    pub sub: &'a str,
    pub scopes: &'a [String],
    pub jti: &'a str,
    /// The grant it belongs to: revoking the grant revokes the token.
    pub grant_id: Option<&'a str>,
    pub now: i64,
    /// `now` to the millisecond: for a person's token, whether it was issued before their
    /// sessions ended cannot be told from `iat`'s whole seconds.
    pub now_ms: i64,
    pub ttl: i64,
    pub custom: Map<String, Value>,
    /// Claims released for userinfo (the `claims` parameter's userinfo member, custom claims
    /// released by name): names only, so the userinfo endpoint needs no look-up.
    pub userinfo_claims: &'a [String],
}

/// RFC 9068 §2.2: authorization, not identity: no profile data.
pub fn access_token(i: AccessTokenInput<'_>) -> Value {
    let mut c = i.custom;
    let standard = json!({
        "iss": i.issuer,
        "sub": i.sub,
        "aud": i.audience,
        "client_id": i.client_id,
        "scope": scope::join(i.scopes),
        "iat": i.now,
        "exp": i.now + i.ttl,
        "jti": i.jti,
    });
    if let Value::Object(s) = standard {
        c.extend(s);
    }
    if let Some(g) = i.grant_id {
        c.insert("gid".into(), json!(g));
        c.insert("iat_ms".into(), json!(i.now_ms));
    }
    if !i.userinfo_claims.is_empty() {
        c.insert("userinfo_claims".into(), json!(i.userinfo_claims));
    }
    Value::Object(c)
}

/// OIDC Core §5.3.2: `sub` plus the granted scopes' claims (and custom userinfo claims).
pub fn userinfo(
    user: &User,
    scopes: &[String],
    asked: &[String],
    custom: Map<String, Value>,
) -> Value {
    let mut c = custom;
    c.extend(scoped(user, scopes));
    c.extend(requested(user, asked));
    c.insert("sub".into(), json!(user.sub));
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuthMethod, CustomClaim};

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
            tokens_valid_after: 0,
            custom_claims: vec![CustomClaim {
                name: "https://ex.com/role".into(),
                value: json!("admin"),
                tokens: vec![ClaimTarget::AccessToken],
                scope: None,
            }],
            tokens_valid_after_ms: 0,
            totp: false,
        }
    }

    fn client() -> Client {
        Client {
            client_id: "c".into(),
            client_name: "C".into(),
            logo_uri: None,
            secret_hash: None,
            auth_method: AuthMethod::None,
            redirect_uris: vec![],
            allowed_scopes: vec![],
            grant_types: vec![],
            skip_consent: false,
            post_logout_redirect_uris: vec![],
            custom_claims: vec![
                CustomClaim {
                    name: "https://ex.com/tenant".into(),
                    value: json!("acme"),
                    tokens: vec![ClaimTarget::IdToken, ClaimTarget::AccessToken],
                    scope: None,
                },
                CustomClaim {
                    name: "https://ex.com/role".into(),
                    value: json!("user"),
                    tokens: vec![ClaimTarget::AccessToken, ClaimTarget::Userinfo],
                    scope: None,
                },
                CustomClaim {
                    name: "email".into(),
                    value: json!("spoof@x"),
                    tokens: vec![ClaimTarget::IdToken],
                    scope: None,
                },
            ],
            jwks: None,
            registration_token_hash: None,
            allowed_claims: vec!["https://ex.com/role".into()],
            tokens_valid_after_ms: 0,
            trusted: None,
            min_level: None,
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
    fn custom_claims_by_target_user_wins_and_never_shadow_standard_ones() {
        let (c, u) = (client(), user());
        let by_name = ["https://ex.com/role".to_string()];
        let at = custom(&c, Some(&u), ClaimTarget::AccessToken, &[], &by_name);
        assert_eq!(at["https://ex.com/tenant"], "acme");
        assert_eq!(at["https://ex.com/role"], "admin", "the user's value wins");
        let unconsented = custom(&c, Some(&u), ClaimTarget::AccessToken, &[], &[]);
        assert_eq!(
            unconsented["https://ex.com/role"], "user",
            "the person's claim is not released without consent: the client's own is"
        );
        let id = custom(&c, Some(&u), ClaimTarget::IdToken, &[], &by_name);
        assert!(id.get("https://ex.com/role").is_none());
        assert!(
            id.get("email").is_none(),
            "a non-namespaced name is never released"
        );
        assert_eq!(
            custom(&c, None, ClaimTarget::Userinfo, &[], &[])["https://ex.com/role"],
            "user"
        );
        assert!(
            is_custom_name("urn:acme:tenant")
                && !is_custom_name("tenant")
                && !is_custom_name("sub")
        );
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
            custom: Map::new(),
            requested: &["phone_number".to_string()],
            acr: None,
            amr: &["pwd"],
            idp: None,
            sid: Some("s1"),
            at_hash: None,
        });
        assert_eq!(id["aud"], "c");
        assert_eq!(id["sid"], "s1");
        assert_eq!(id["exp"], 70);
        assert!(id.get("nonce").is_none());
        assert_eq!(id["phone_number"], "+1 555", "asked for individually");
        assert!(id.get("address").is_none());
        assert_eq!(id["email"], "ada@example.com");
        let mut spoof = Map::new();
        spoof.insert("sub".into(), json!("evil"));
        let at = access_token(AccessTokenInput {
            issuer: "https://i",
            audience: "https://api",
            client_id: "c",
            sub: "s1",
            scopes: &scopes,
            jti: "j",
            grant_id: Some("g"),
            now: 10,
            now_ms: 10_250,
            ttl: 60,
            custom: spoof,
            userinfo_claims: &[],
        });
        assert_eq!(at["scope"], "openid email");
        assert_eq!(at["sub"], "s1", "standard claims always win");
        assert_eq!(at["gid"], "g");
        assert!(at.get("email").is_none());
        let info = userinfo(
            &u,
            &scopes,
            &["name".to_string(), "iss".to_string()],
            Map::new(),
        );
        assert_eq!(
            (info["sub"].as_str(), info["name"].as_str()),
            (Some("s1"), Some("Ada"))
        );
        assert!(
            info.get("iss").is_none(),
            "only user claims can be asked for"
        );
    }
}
