//! `/introspect` (RFC 7662) for resource servers, which authenticate as clients. An active
//! access token is described by its claims; a refresh token only to the client that holds
//! it. Everything else is `{"active": false}` (§2.2), never an error about the token.
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde_json::{Value, json};

use crate::{App, OAuthError, crypto::secret_digest, http, protocol::scope};

pub async fn handle(app: &App, req: &Request, now: i64) -> Response<Body> {
    match introspect(app, req, now).await {
        Ok(body) => {
            let mut resp = http::json(StatusCode::OK, &body);
            http::no_store(&mut resp);
            resp
        }
        Err(e) => e.to_json_response(),
    }
}

async fn introspect(app: &App, req: &Request, now: i64) -> Result<Value, OAuthError> {
    let form = http::form(req).ok_or_else(|| {
        OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
    })?;
    let client = super::client_auth::authenticate(app, req, &form, now).await?;
    if client.is_public() {
        return Err(OAuthError::invalid_client(
            "public clients cannot introspect",
        ));
    }
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let inactive = json!({ "active": false });
    if token.matches('.').count() == 2 {
        return match super::access_token::validate(app, token, now).await {
            Ok(c) => {
                let mut out = json!({ "active": true, "token_type": "Bearer" });
                for k in [
                    "scope",
                    "client_id",
                    "sub",
                    "exp",
                    "iat",
                    "iss",
                    "aud",
                    "jti",
                ] {
                    if let Some(v) = c.get(k) {
                        out[k] = v.clone();
                    }
                }
                Ok(out)
            }
            Err(e) if e.code == crate::error::ErrorCode::InvalidToken => Ok(inactive),
            Err(e) => Err(e),
        };
    }
    let Some(r) = app.store.refresh(&secret_digest(token), now).await? else {
        return Ok(inactive);
    };
    if r.client_id != client.client_id
        || r.used_at.is_some()
        || app.store.is_revoked(&r.grant_id, now).await?
    {
        return Ok(inactive);
    }
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": r.client_id,
        "sub": r.sub,
        "scope": scope::join(&r.scopes),
        "iat": r.issued_at,
        "exp": r.expires_at,
        "iss": app.config.issuer,
    }))
}
