//! `/revoke` (RFC 7009). The client authenticates; a refresh token of its own revokes the
//! whole grant (§2.1: and the access tokens of that grant), an access token of its own is
//! revoked by `jti`. Anything else (unknown, expired, another client's) is answered 200 the
//! same way, so the endpoint reveals nothing about tokens.
use crate::store::{LivenessStore, RefreshStore, ReplayStore};
use lambda_http::{Body, Request, Response, http::StatusCode};

use super::{
    liveness::{self, Issued},
    token::revoke_grant,
};
use crate::{App, OAuthError, http, secret::RefreshValue};

pub async fn handle<S: LivenessStore + RefreshStore + ReplayStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    match revoke(app, req, now).await {
        Ok(()) => {
            let mut resp = http::json(StatusCode::OK, &serde_json::json!({}));
            http::no_store(&mut resp);
            resp
        }
        Err(e) => e.to_json_response(),
    }
}

async fn revoke<S: LivenessStore + RefreshStore + ReplayStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<(), OAuthError> {
    let form = http::form(req).ok_or_else(|| {
        OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
    })?;
    let token = form.get("token");
    // The hint only orders the look-ups (§2.1); both kinds are tried. Only a live token of the
    // client's own is revoked (`liveness`): a dead one has nothing left to revoke. The refresh
    // token look-up is made while the client authenticates, and used only once it has.
    let refresh = async {
        match token {
            Some(t) => {
                app.store
                    .refresh(&RefreshValue::from(t).digest(), now)
                    .await
            }
            None => Ok(None),
        }
    };
    let (client, refresh) = tokio::join!(
        super::client_auth::authenticate(app, req, &form, now),
        refresh
    );
    let client = client?;
    let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    if let Some(r) = refresh? {
        let issued = Issued::refresh(&r);
        if r.client_id == client.client_id && liveness::check(app, &issued, now).await?.is_ok() {
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
    let c = match super::access_token::validate(app, token, now).await {
        Ok(c) => c,
        Err(e) if e.code == crate::error::ErrorCode::InvalidToken => return Ok(()),
        Err(e) => return Err(e),
    };
    let own = c["client_id"].as_str() == Some(client.client_id.as_str());
    if let (true, Some(jti), Some(exp)) = (own, c["jti"].as_str(), c["exp"].as_i64())
        && super::access_token::alive(app, &c, now).await?.is_ok()
    {
        app.store.revoke(jti, exp).await?;
        tracing::info!(client_id = %client.client_id, "access token revoked by its client");
    }
    Ok(())
}
