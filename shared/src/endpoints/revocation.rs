//! `/revoke` (RFC 7009). The client authenticates; a refresh token of its own revokes the
//! whole grant (§2.1: and the access tokens of that grant), an access token of its own is
//! revoked by `jti`. Anything else (unknown, expired, another client's) is answered 200 the
//! same way, so the endpoint reveals nothing about tokens.
use lambda_http::{Body, Request, Response, http::StatusCode};

use super::token::revoke_grant;
use crate::{App, OAuthError, crypto::secret_digest, http, jwt};

pub async fn handle(app: &App, req: &Request, now: i64) -> Response<Body> {
    match revoke(app, req, now).await {
        Ok(()) => {
            let mut resp = http::json(StatusCode::OK, &serde_json::json!({}));
            http::no_store(&mut resp);
            resp
        }
        Err(e) => e.to_json_response(),
    }
}

async fn revoke(app: &App, req: &Request, now: i64) -> Result<(), OAuthError> {
    let form = http::form(req).ok_or_else(|| {
        OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
    })?;
    let client = super::client_auth::authenticate(app, req, &form, now).await?;
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    // The hint only orders the look-ups (§2.1); both kinds are tried.
    if let Some(r) = app.store.refresh(&secret_digest(token), now).await? {
        if r.client_id == client.client_id {
            revoke_grant(
                app,
                &r.grant_id,
                r.expires_at,
                "refresh token revoked by its client",
            )
            .await?;
        }
        return Ok(());
    }
    let keys = app.signer.public_keys().await?;
    if let Ok((header, c)) = jwt::verify(&keys, token) {
        let ours = header["typ"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"))
            && c["iss"].as_str() == Some(app.config.issuer.as_str())
            && c["client_id"].as_str() == Some(client.client_id.as_str());
        if let (true, Some(jti), Some(exp)) = (ours, c["jti"].as_str(), c["exp"].as_i64())
            && exp > now
        {
            app.store.revoke(jti, exp).await?;
            tracing::info!(client_id = %client.client_id, "access token revoked by its client");
        }
    }
    Ok(())
}
