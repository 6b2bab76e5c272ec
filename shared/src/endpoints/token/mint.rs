//! Minting: the access token (RFC 9068) and, for a person's grant with `openid`, the ID token,
//! signed concurrently (with KMS each signature is a network round trip); and the one
//! successful token response.
use lambda_http::{Body, Response, http::StatusCode};
use serde_json::{Value, json};

use crate::{
    App, OAuthError,
    crypto::random_token,
    http, jwt,
    protocol::{claims, scope},
    store::{ClaimTarget, Client, RequestedClaims, User},
};

pub struct Request<'a> {
    pub client: &'a Client,
    /// None for client_credentials: the client acts for itself.
    pub user: Option<&'a User>,
    pub scopes: &'a [String],
    pub grant_id: Option<&'a str>,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// Claims asked for individually with the `claims` request parameter.
    pub claims: &'a RequestedClaims,
    /// The sign-in session the grant came from (`sid` of the ID token).
    pub sid: Option<&'a str>,
}

pub struct Tokens {
    pub access_token: String,
    pub id_token: Option<String>,
}

pub async fn mint(app: &App, r: &Request<'_>, now: i64) -> Result<Tokens, OAuthError> {
    let cfg = &app.config;
    let jti = random_token(16);
    let at_claims = claims::access_token(claims::AccessTokenInput {
        issuer: &cfg.issuer,
        audience: &cfg.access_token_audience,
        client_id: &r.client.client_id,
        sub: r
            .user
            .map(|u| u.sub.as_str())
            .unwrap_or(&r.client.client_id),
        scopes: r.scopes,
        jti: &jti,
        grant_id: r.grant_id,
        now,
        ttl: cfg.access_token_ttl,
        custom: claims::custom(r.client, r.user, ClaimTarget::AccessToken),
        userinfo_claims: &r.claims.userinfo,
    });
    let id_claims = match r.user {
        Some(user) if r.scopes.iter().any(|s| s == "openid") => {
            Some(claims::id_token(claims::IdTokenInput {
                issuer: &cfg.issuer,
                client_id: &r.client.client_id,
                user,
                scopes: r.scopes,
                nonce: r.nonce,
                auth_time: r.auth_time,
                now,
                ttl: cfg.id_token_ttl,
                custom: claims::custom(r.client, Some(user), ClaimTarget::IdToken),
                requested: &r.claims.id_token,
                sid: r.sid,
            }))
        }
        _ => None,
    };
    // No at_hash in the ID token: optional for the code flow, and it would serialize the two
    // signatures.
    let signer = app.signer.as_ref();
    let (access_token, id_token) =
        tokio::try_join!(jwt::sign(signer, "at+jwt", &at_claims), async {
            match &id_claims {
                Some(c) => jwt::sign(signer, "JWT", c).await.map(Some),
                None => Ok(None),
            }
        })?;
    Ok(Tokens {
        access_token,
        id_token,
    })
}

/// RFC 6749 §5.1: never cached.
pub fn response(
    app: &App,
    t: Tokens,
    refresh_token: Option<&str>,
    scopes: &[String],
) -> Response<Body> {
    let mut body = json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "expires_in": app.config.access_token_ttl,
        "scope": scope::join(scopes),
    });
    if let Some(id) = t.id_token {
        body["id_token"] = Value::String(id);
    }
    if let Some(r) = refresh_token {
        body["refresh_token"] = Value::String(r.to_string());
    }
    let mut resp = http::json(StatusCode::OK, &body);
    http::no_store(&mut resp);
    resp
}

/// Revokes a grant: every access token carrying its `gid` and every refresh token of it.
pub async fn revoke_grant(
    app: &App,
    grant_id: &str,
    until: i64,
    why: &str,
) -> Result<(), OAuthError> {
    app.store.revoke(grant_id, until).await?;
    tracing::warn!(grant_id, reason = why, "grant revoked");
    Ok(())
}
