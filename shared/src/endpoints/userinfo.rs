//! `/userinfo` (OIDC Core §5.3): a Bearer access token (RFC 6750 §2.1 header or §2.2 form
//! body, not both) → `sub` plus the granted scopes' claims.
use crate::store::LivenessStore;
use lambda_http::{
    Body, Request, Response,
    http::{Method, StatusCode},
};
use serde_json::Value;

use crate::{
    App, OAuthError, http,
    protocol::{claims, release, scope},
    store::ClaimTarget,
};

pub async fn handle<S: LivenessStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
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

async fn answer<S: LivenessStore + ?Sized>(
    app: &App<S>,
    token: &str,
    now: i64,
) -> Result<Value, OAuthError> {
    let c = super::access_token::validate(app, token, now).await?;
    let gone = || OAuthError::invalid_token("the access token is invalid or expired");
    if !scope::parse(c["scope"].as_str().unwrap_or(""))
        .iter()
        .any(|s| s == "openid")
    {
        return Err(OAuthError::invalid_token(
            "the access token was not granted the openid scope",
        ));
    }
    let alive = super::access_token::alive(app, &c, now)
        .await?
        .map_err(|dead| gone().with_detail(dead.as_str()))?;
    let (client, Some(user)) = (alive.client, alive.user) else {
        return Err(gone().with_detail("not a person's token"));
    };
    // The release rule, with the client as it is now (`protocol::release`).
    let scopes = release::allowed_scopes(&client, &scope::parse(c["scope"].as_str().unwrap_or("")));
    let released: Vec<String> = c["userinfo_claims"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let (by_name, asked): (Vec<String>, Vec<String>) = released
        .into_iter()
        .partition(|n| claims::is_custom_name(n));
    let asked: Vec<String> = asked
        .into_iter()
        .filter(|n| release::client_may_have(&client, n))
        .collect();
    let custom = claims::custom(
        &client,
        Some(&user),
        ClaimTarget::Userinfo,
        &scopes,
        &by_name,
    );
    Ok(claims::userinfo(&user, &scopes, &asked, custom))
}
