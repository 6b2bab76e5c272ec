//! `/userinfo` (OIDC Core §5.3): a Bearer access token (RFC 6750 §2.1 header or §2.2 form
//! body, not both) → `sub` plus the granted scopes' claims.
use lambda_http::{
    Body, Request, Response,
    http::{Method, StatusCode},
};
use serde_json::Value;

use crate::{
    App, OAuthError, http, jwt,
    protocol::{claims, scope},
};

pub async fn handle(app: &App, req: &Request, now: i64) -> Response<Body> {
    let token = match bearer_token(req) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return OAuthError::invalid_token("an access token is required")
                .to_bearer_response(false);
        }
        Err(e) => return e.to_bearer_response(true),
    };
    match answer(app, &token, now).await {
        Ok(body) => {
            let mut resp = http::json(StatusCode::OK, &body);
            http::no_store(&mut resp);
            resp
        }
        Err(e) if e.code == crate::error::ErrorCode::InvalidToken => e.to_bearer_response(true),
        Err(e) => e.to_json_response(),
    }
}

fn bearer_token(req: &Request) -> Result<Option<String>, OAuthError> {
    let header = match http::header_str(req, "authorization") {
        None => None,
        Some(v) => match v.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
                Some(t.trim().to_string())
            }
            _ => {
                return Err(OAuthError::invalid_request(
                    "the Authorization header is not a Bearer token",
                ));
            }
        },
    };
    let body = if req.method() == Method::POST {
        http::form(req).and_then(|f| f.get("access_token").map(str::to_string))
    } else {
        None
    };
    match (header, body) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "send the access token once, not in two places",
        )),
        (h, b) => Ok(h.or(b)),
    }
}

async fn answer(app: &App, token: &str, now: i64) -> Result<Value, OAuthError> {
    let keys = app.signer.public_keys().await?;
    let bad = |why: &str| {
        OAuthError::invalid_token("the access token is invalid or expired")
            .with_detail(why.to_string())
    };
    let (header, c) = jwt::verify(&keys, token).map_err(bad)?;
    if header["typ"]
        .as_str()
        .is_none_or(|t| !t.eq_ignore_ascii_case("at+jwt"))
    {
        return Err(bad("not an access token (typ)"));
    }
    if c["iss"].as_str() != Some(app.config.issuer.as_str()) {
        return Err(bad("wrong issuer"));
    }
    let aud_ok = match &c["aud"] {
        Value::String(a) => *a == app.config.access_token_audience,
        Value::Array(v) => v
            .iter()
            .any(|a| a.as_str() == Some(app.config.access_token_audience.as_str())),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("wrong audience"));
    }
    if c["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err(bad("expired"));
    }
    let scopes = scope::parse(c["scope"].as_str().unwrap_or(""));
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            crate::error::ErrorCode::InvalidToken,
            "the access token was not granted the openid scope",
        ));
    }
    let (Some(jti), Some(sub)) = (c["jti"].as_str(), c["sub"].as_str()) else {
        return Err(bad("missing jti or sub"));
    };
    if app.store.is_revoked(jti, now).await? {
        return Err(bad("revoked"));
    }
    let user = app
        .store
        .user(sub)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| bad("user gone"))?;
    Ok(claims::userinfo(&user, &scopes))
}
