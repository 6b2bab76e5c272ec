//! `/userinfo` (OIDC Core §5.3): a Bearer access token (RFC 6750 §2.1 header or §2.2 form
//! body, not both) → `sub` plus the granted scopes' claims.
use lambda_http::{
    Body, Request, Response,
    http::{Method, StatusCode},
};
use serde_json::Value;

use crate::{
    App, OAuthError, http,
    protocol::{claims, scope},
    store::ClaimTarget,
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
    let c = super::access_token::validate(app, token, now).await?;
    let scopes = scope::parse(c["scope"].as_str().unwrap_or(""));
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::invalid_token(
            "the access token was not granted the openid scope",
        ));
    }
    let gone = || OAuthError::invalid_token("the access token is invalid or expired");
    let (Some(sub), Some(client_id)) = (c["sub"].as_str(), c["client_id"].as_str()) else {
        return Err(gone().with_detail("no sub or client_id"));
    };
    let (user, client) = tokio::try_join!(app.store.user(sub), app.store.client(client_id))?;
    let user = user
        .filter(|u| !u.disabled)
        .ok_or_else(|| gone().with_detail("user gone"))?;
    let custom = client
        .map(|c| claims::custom(&c, Some(&user), ClaimTarget::Userinfo))
        .unwrap_or_default();
    let asked: Vec<String> = c["userinfo_claims"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(claims::userinfo(&user, &scopes, &asked, custom))
}
