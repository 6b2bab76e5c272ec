//! authorization_code (RFC 6749 §4.1.3, OIDC Core §3.1.3.2), top to bottom: find code →
//! owner → replay? → redirect_uri → PKCE → user → mint → consume (a conditional write) →
//! respond. Signing (and storing the refresh token) happens before consuming, so a failure
//! never burns a code; a replayed code revokes the grant it created.
use lambda_http::{Body, Response};

use super::mint;
use crate::{
    App, OAuthError,
    crypto::{random_token, secret_digest},
    http::Params,
    protocol::pkce,
    store::{Client, Consume, Minted, RefreshToken},
};

pub async fn redeem(
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
    if let Some(first) = &code.minted {
        mint::revoke_grant(
            app,
            &first.grant_id,
            first.revoke_until,
            "authorization code replayed",
        )
        .await?;
        return Err(invalid());
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
        .filter(|u| u.accepts_since(code.auth_time))
        .ok_or_else(|| {
            OAuthError::invalid_grant("the user is no longer available, or signed out everywhere")
        })?;

    let grant_id = random_token(16);
    let tokens = mint::mint(
        app,
        &mint::Request {
            client,
            user: Some(&user),
            scopes: &code.scopes,
            grant_id: Some(&grant_id),
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
            claims: &code.claims,
        },
        now,
    )
    .await?;
    // OIDC Core §11: offline_access, when granted to a client allowed to refresh.
    let refresh = if code.scopes.iter().any(|s| s == "offline_access")
        && client.allows_grant("refresh_token")
    {
        let value = random_token(32);
        let record = RefreshToken {
            token_hash: secret_digest(&value),
            grant_id: grant_id.clone(),
            client_id: client.client_id.clone(),
            sub: user.sub.clone(),
            scopes: code.scopes.clone(),
            auth_time: code.auth_time,
            issued_at: now,
            expires_at: now + app.config.refresh_token_ttl,
            used_at: None,
            claims: code.claims.clone(),
        };
        app.store.put_refresh(&record).await?;
        Some((value, record.expires_at))
    } else {
        None
    };
    let revoke_until = refresh
        .as_ref()
        .map(|(_, exp)| *exp)
        .unwrap_or(now + app.config.access_token_ttl);
    match app
        .store
        .consume_code(
            &code_hash,
            &Minted {
                grant_id,
                revoke_until,
            },
            now,
        )
        .await?
    {
        Consume::Consumed => {}
        Consume::AlreadyConsumed(first) => {
            // Lost a race with another redemption: a replay all the same.
            if let Some(first) = first {
                mint::revoke_grant(
                    app,
                    &first.grant_id,
                    first.revoke_until,
                    "authorization code redeemed concurrently",
                )
                .await?;
            }
            return Err(invalid());
        }
        Consume::Missing => return Err(invalid()),
    }
    tracing::info!(client_id = %client.client_id, sub = %user.sub, "tokens issued");
    Ok(mint::response(
        app,
        tokens,
        refresh.as_ref().map(|(v, _)| v.as_str()),
        &code.scopes,
    ))
}
