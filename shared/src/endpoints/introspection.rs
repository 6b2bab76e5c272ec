//! `/introspect` (RFC 7662) for resource servers, which authenticate as clients. An active
//! token is described by its claims; everything else is `{"active": false}` (§2.2), never an
//! error about the token. "Active" is the one liveness rule (`liveness`): the token's
//! client, grant and person are all still there.
//!
//! Who may ask (§4: the server decides): a client about the tokens issued to it, and a
//! client its administrator created (a resource server) about any access token. A
//! dynamically registered client learns nothing about other clients' tokens, and a refresh
//! token is only ever described to the client holding it.
use crate::store::RefreshStore;
use crate::store::{LivenessStore, ReplayStore};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde_json::{Value, json};

use super::liveness::{self, Issued};
use crate::{App, OAuthError, http, protocol::scope, secret::RefreshValue};

pub async fn handle<S: LivenessStore + RefreshStore + ReplayStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    match introspect(app, req, now).await {
        Ok(body) => {
            let mut resp = http::json(StatusCode::OK, &body);
            http::no_store(&mut resp);
            resp
        }
        Err(e) => e.to_json_response(),
    }
}

async fn introspect<S: LivenessStore + RefreshStore + ReplayStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Value, OAuthError> {
    let form = http::form(req).ok_or_else(|| {
        OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
    })?;
    // The key set (read once per container, and again when it is old) is fetched while the
    // client authenticates: an access token's verification below then waits on nothing.
    let (client, keys) = tokio::join!(
        super::client_auth::authenticate(app, req, &form, now),
        app.keys.public_keys()
    );
    let client = client?;
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
        keys?;
        let c = match super::access_token::validate(app, token, now).await {
            Ok(c) => c,
            Err(e) if e.code == crate::error::ErrorCode::InvalidToken => return Ok(inactive),
            Err(e) => return Err(e),
        };
        let own = c["client_id"].as_str() == Some(client.client_id.as_str());
        if !own && client.is_dynamic() {
            return Ok(inactive);
        }
        if super::access_token::alive(app, &c, now).await?.is_err() {
            return Ok(inactive);
        }
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
        return Ok(out);
    }
    let refresh_hash = RefreshValue::from(token).digest();
    let Some(r) = app.store.refresh(&refresh_hash, now).await? else {
        return Ok(inactive);
    };
    if r.client_id != client.client_id || r.used_at.is_some() {
        return Ok(inactive);
    }
    let issued = Issued::refresh(&r);
    if liveness::check(app, &issued, now).await?.is_err() {
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
