//! `/token` (RFC 6749 §3.2, §4.1.3; OIDC Core §3.1.3). The grant handler reads top to bottom:
//! find code → owner → replay? → redirect_uri → PKCE → user → mint (two signatures at once)
//! → consume (conditional write) → respond. Signing happens before consuming so a signer
//! failure never burns a code; a replayed code revokes what it minted.
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde_json::json;

use crate::{
    App, OAuthError,
    crypto::{random_token, secret_digest},
    error::ErrorCode,
    http::{self, Params},
    jwt,
    protocol::{claims, pkce, scope},
    store::{Client, Consume, Minted},
};

pub async fn handle(app: &App, req: &Request, now: i64) -> Response<Body> {
    match grant(app, req, now).await {
        Ok(resp) => resp,
        Err(e) => e.to_json_response(),
    }
}

async fn grant(app: &App, req: &Request, now: i64) -> Result<Response<Body>, OAuthError> {
    let form = http::form(req).ok_or_else(|| {
        OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
    })?;
    if let Some(name) = form.duplicated() {
        return Err(OAuthError::invalid_request(format!(
            "parameter {name} was sent more than once"
        )));
    }
    let client = super::client_auth::authenticate(app, req, &form).await?;
    match form.get("grant_type") {
        None => Err(OAuthError::invalid_request("grant_type is required")),
        Some("authorization_code") if client.allows_grant("authorization_code") => {
            authorization_code(app, &client, &form, now).await
        }
        Some("authorization_code") => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use this grant",
        )),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type",
        )),
    }
}

async fn authorization_code(
    app: &App,
    client: &Client,
    form: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let code_value = form
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let code_hash = secret_digest(code_value);
    let invalid = || OAuthError::invalid_grant("the code is invalid, expired or already used");
    let code = app.store.code(&code_hash, now).await?.ok_or_else(invalid)?;
    if code.client_id != client.client_id {
        return Err(invalid().with_detail("code issued to another client"));
    }
    if let Some(minted) = &code.minted {
        revoke(app, minted).await?;
        return Err(invalid().with_detail("code replayed; its tokens are revoked"));
    }
    if form.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (Some(_), _) => return Err(OAuthError::invalid_grant("PKCE verification failed")),
        // RFC 9700 §4.8.2: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent but the request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    let user = app
        .store
        .user(&code.sub)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user is no longer available"))?;

    let cfg = &app.config;
    let jti = random_token(16);
    let at_claims = claims::access_token(claims::AccessTokenInput {
        issuer: &cfg.issuer,
        audience: &cfg.access_token_audience,
        client_id: &client.client_id,
        sub: &user.sub,
        scopes: &code.scopes,
        jti: &jti,
        now,
        ttl: cfg.access_token_ttl,
    });
    let id_claims = claims::id_token(claims::IdTokenInput {
        issuer: &cfg.issuer,
        client_id: &client.client_id,
        user: &user,
        scopes: &code.scopes,
        nonce: code.nonce.as_deref(),
        auth_time: code.auth_time,
        now,
        ttl: cfg.id_token_ttl,
    });
    // Independent signatures: with KMS each is a network round trip, so run both at once.
    // (No at_hash in the ID token: it is optional for the code flow and would serialize them.)
    let (access_token, id_token) = tokio::try_join!(
        jwt::sign(app.signer.as_ref(), "at+jwt", &at_claims),
        jwt::sign(app.signer.as_ref(), "JWT", &id_claims),
    )?;

    let minted = Minted {
        access_jti: jti,
        access_expires_at: now + cfg.access_token_ttl,
    };
    match app.store.consume_code(&code_hash, &minted, now).await? {
        Consume::Consumed => {}
        Consume::AlreadyConsumed(first) => {
            // Lost a race with another redemption: a replay all the same.
            if let Some(first) = first {
                revoke(app, &first).await?;
            }
            return Err(invalid().with_detail("code redeemed concurrently; its tokens are revoked"));
        }
        Consume::Missing => return Err(invalid()),
    }
    tracing::info!(client_id = %client.client_id, sub = %user.sub, "tokens issued");
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": cfg.access_token_ttl,
        "id_token": id_token,
        "scope": scope::join(&code.scopes),
    });
    let mut resp = http::json(StatusCode::OK, &body);
    http::no_store(&mut resp);
    Ok(resp)
}

async fn revoke(app: &App, minted: &Minted) -> Result<(), OAuthError> {
    app.store
        .revoke(&minted.access_jti, minted.access_expires_at)
        .await?;
    tracing::warn!(jti = %minted.access_jti, "authorization code replayed: access token revoked");
    Ok(())
}
