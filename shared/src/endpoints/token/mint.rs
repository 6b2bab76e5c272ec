//! Minting: the access token (RFC 9068) and, for a person's grant with `openid`, the ID token
//! with the access token's `at_hash` (so signed after it: with KMS that is a second round
//! trip, the price of letting relying parties bind the two); and the one successful token
//! response.
use crate::store::RevocationStore;
use lambda_http::{Body, Response, http::StatusCode};
use serde_json::{Value, json};

use crate::{
    App, OAuthError,
    app::SigningApp,
    crypto::random_token,
    http, jwt,
    protocol::{acr, claims, release, scope},
    secret::RefreshValue,
    signer::Verifier,
    store::{ClaimTarget, Client, RequestedClaims, User},
};

pub struct Request<'a> {
    pub client: &'a Client,
    /// None for client_credentials: the client acts for itself.
    pub user: Option<&'a User>,
    /// The scopes granted; those the client may no longer have are dropped here.
    pub scopes: &'a [String],
    pub grant_id: Option<&'a str>,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// Claims released individually by the grant (`protocol::release`).
    pub claims: &'a RequestedClaims,
    /// The sign-in session the grant came from (`sid` of the ID token).
    pub sid: Option<&'a str>,
    /// The upstream provider the person signed in with; None for a password.
    pub idp: Option<&'a str>,
    /// How the person signed in, as the grant recorded it (`acr::amr`).
    pub amr: &'a [String],
}

pub struct Tokens {
    pub access_token: String,
    pub id_token: Option<String>,
    /// The scopes the access token carries.
    pub scopes: Vec<String>,
}

/// Mints the access token and, for a person's grant with `openid`, the ID token: what they
/// carry is decided by the release rule against the client as it is now.
pub async fn mint<S: ?Sized>(
    app: &SigningApp<S>,
    r: &Request<'_>,
    now: i64,
) -> Result<Tokens, OAuthError> {
    let cfg = &app.config;
    let client = r.client;
    let scopes = release::allowed_scopes(client, r.scopes);
    let allowed = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| release::client_may_have(client, n))
            .cloned()
            .collect()
    };
    let by_name = &r.claims.custom;
    // Userinfo is answered from the access token: it names what was released for it.
    let mut userinfo_claims = allowed(&r.claims.userinfo);
    userinfo_claims.extend(by_name.iter().cloned());
    let jti = random_token(16);
    let at_claims = claims::access_token(claims::AccessTokenInput {
        issuer: &cfg.issuer,
        audience: &cfg.access_token_audience,
        client_id: &client.client_id,
        sub: r.user.map(|u| u.sub.as_str()).unwrap_or(&client.client_id),
        scopes: &scopes,
        jti: &jti,
        grant_id: r.grant_id,
        now,
        now_ms: app.clock.now_ms(),
        ttl: cfg.access_token_ttl,
        custom: claims::custom(client, r.user, ClaimTarget::AccessToken, &scopes, by_name),
        userinfo_claims: &userinfo_claims,
    });
    let signer = app.keys.as_ref();
    let access_token = jwt::sign(signer, "at+jwt", &at_claims).await?;
    // The ID token carries at_hash (Core §3.1.3.6), so it is signed after the access token.
    let id_token = match r.user {
        Some(user) if scopes.iter().any(|s| s == "openid") => {
            let id_claims = claims::id_token(claims::IdTokenInput {
                issuer: &cfg.issuer,
                client_id: &client.client_id,
                user,
                scopes: &scopes,
                nonce: r.nonce,
                auth_time: r.auth_time,
                now,
                ttl: cfg.id_token_ttl,
                custom: claims::custom(client, Some(user), ClaimTarget::IdToken, &scopes, by_name),
                requested: &allowed(&r.claims.id_token),
                // Always stated: the value asked for that was met, or the sign-in's level.
                acr: Some(acr::stated(&r.claims.acr_values, r.amr)),
                amr: &acr::amr(r.idp, r.amr),
                idp: r.idp,
                sid: r.sid,
                at_hash: Some(jwt::at_hash(&access_token)),
            });
            Some(jwt::sign(signer, "JWT", &id_claims).await?)
        }
        _ => None,
    };
    Ok(Tokens {
        access_token,
        id_token,
        scopes,
    })
}

/// RFC 6749 §5.1: never cached.
pub fn response<S: ?Sized>(
    app: &SigningApp<S>,
    t: Tokens,
    refresh_token: Option<&RefreshValue>,
) -> Response<Body> {
    let mut body = json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "expires_in": app.config.access_token_ttl,
        "scope": scope::join(&t.scopes),
    });
    if let Some(id) = t.id_token {
        body["id_token"] = Value::String(id);
    }
    if let Some(r) = refresh_token {
        body["refresh_token"] = Value::String(r.expose().to_string());
    }
    let mut resp = http::json(StatusCode::OK, &body);
    http::no_store(&mut resp);
    resp
}

/// Revokes a grant: every access token carrying its `gid` and every refresh token of it.
pub async fn revoke_grant<K: ?Sized + Verifier, S: RevocationStore + ?Sized>(
    app: &App<S, K>,
    grant_id: &str,
    until: i64,
    why: &str,
) -> Result<(), OAuthError> {
    app.store.revoke(grant_id, until).await?;
    tracing::warn!(grant_id, reason = why, "grant revoked");
    Ok(())
}
