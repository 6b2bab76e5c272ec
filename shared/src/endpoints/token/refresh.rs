//! refresh_token (RFC 6749 §6, OIDC Core §12): rotation on every use (RFC 9700 §4.14.2).
//! Presenting a used token, or losing a race to rotate it, revokes the whole grant: with
//! strict rotation a concurrent second use is indistinguishable from theft.
use lambda_http::{Body, Request, Response};

use super::mint;
use crate::{
    App, OAuthError,
    crypto::{random_token, secret_digest},
    endpoints::client_auth,
    error::ErrorCode,
    http::Params,
    protocol::scope,
    store::{RefreshToken, Rotate},
};

pub async fn exchange(
    app: &App,
    req: &Request,
    form: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let value = form
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let hash = secret_digest(value);
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    // Independent reads, one round trip: the client and its token.
    let (client, old) = tokio::join!(
        client_auth::authenticate(app, req, form, now),
        app.store.refresh(&hash, now)
    );
    let client = client?;
    if !client.allows_grant("refresh_token") {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the refresh_token grant",
        ));
    }
    let client = &client;
    let old = old?.ok_or_else(invalid)?;
    if old.client_id != client.client_id {
        return Err(invalid().with_detail("refresh token of another client"));
    }
    if old.used_at.is_some() {
        mint::revoke_grant(app, &old.grant_id, old.expires_at, "refresh token reused").await?;
        return Err(invalid());
    }
    // RFC 6749 §6: the scope may only narrow.
    let scopes = match form.get("scope") {
        None => old.scopes.clone(),
        Some(s) => {
            let asked = scope::parse(s);
            if asked.iter().any(|s| !old.scopes.contains(s)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope exceeds what was granted",
                ));
            }
            asked
        }
    };
    let (revoked, user) = tokio::try_join!(
        app.store.is_revoked(&old.grant_id, now),
        app.store.user(&old.sub)
    )?;
    if revoked {
        return Err(invalid().with_detail("grant revoked"));
    }
    let user = user
        .filter(|u| u.accepts_since(old.issued_at))
        .ok_or_else(|| invalid().with_detail("user gone, disabled or signed out"))?;
    let tokens = mint::mint(
        app,
        &mint::Request {
            client,
            user: Some(&user),
            scopes: &scopes,
            grant_id: Some(&old.grant_id),
            auth_time: old.auth_time,
            nonce: None,
            claims: &old.claims,
            sid: old.sid.as_deref(),
        },
        now,
    )
    .await?;
    let next_value = random_token(32);
    let next = RefreshToken {
        token_hash: secret_digest(&next_value),
        issued_at: now,
        used_at: None,
        ..old.clone()
    };
    match app.store.rotate_refresh(&hash, &next, now).await? {
        Rotate::Rotated => Ok(mint::response(app, tokens, Some(&next_value), &scopes)),
        Rotate::AlreadyUsed(used) => {
            mint::revoke_grant(
                app,
                &used.grant_id,
                used.expires_at,
                "refresh token rotated concurrently",
            )
            .await?;
            Err(invalid())
        }
        Rotate::Missing => Err(invalid()),
    }
}
