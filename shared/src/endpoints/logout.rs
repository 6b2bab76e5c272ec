//! RP-Initiated Logout 1.0 at `/logout` (the `end_session_endpoint`). A request whose
//! `id_token_hint` names the signed-in user (or nobody is signed in) is acted on at once;
//! otherwise the person confirms on a page first (§2: the OP should confirm when the request
//! cannot be attributed). Ending the session deletes it and clears the cookie; the browser
//! then returns to a registered `post_logout_redirect_uri` (with `state`), or sees the
//! signed-out page.
use lambda_http::{Body, Request, Response, http::Method};
use serde_json::Value;

use super::authorize::{SESSION_COOKIE, browser_session};
use crate::{
    App, OAuthError,
    crypto::{b64url, constant_time_eq, sha256},
    http::{self, Params},
    jwt, pages,
    store::Client,
};

pub async fn handle(app: &App, req: &Request, now: i64) -> Response<Body> {
    match logout(app, req, now).await {
        Ok(resp) => resp,
        Err(e) => e.to_error_page(&app.config.branding),
    }
}

/// Where to go afterwards, verified against the client's registration.
struct Return {
    uri: String,
    state: Option<String>,
}

/// The anti-CSRF token of the confirmation form: derived from the session cookie, which a
/// cross-site attacker can neither read nor set.
fn csrf_for(session_cookie: &str) -> String {
    b64url(&sha256(format!("logout:{session_cookie}").as_bytes()))
}

async fn logout(app: &App, req: &Request, now: i64) -> Result<Response<Body>, OAuthError> {
    let params = if req.method() == Method::POST {
        http::form(req)
            .ok_or_else(|| OAuthError::invalid_request("the logout form was not sent as a form"))?
    } else {
        http::query(req)
    };
    let hint = match params.get("id_token_hint") {
        Some(h) => Some(verify_hint(app, h).await?),
        None => None,
    };
    let client_id = match (
        params.get("client_id"),
        hint.as_ref().and_then(|(_, aud)| aud.as_deref()),
    ) {
        (Some(a), Some(b)) if a != b => {
            return Err(OAuthError::invalid_request(
                "client_id does not match the id_token_hint",
            ));
        }
        (Some(a), _) => Some(a.to_string()),
        (None, b) => b.map(str::to_string),
    };
    let client: Option<Client> = match &client_id {
        Some(id) => Some(
            app.store
                .client(id)
                .await?
                .ok_or_else(|| OAuthError::invalid_request("unknown client_id"))?,
        ),
        None => None,
    };
    let back = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = client
                .as_ref()
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return Err(OAuthError::invalid_request(
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            Some(Return {
                uri: uri.to_string(),
                state: params.get("state").map(str::to_string),
            })
        }
    };

    let secure = app.config.secure_cookies();
    let cookie_name = http::cookie_name(SESSION_COOKIE, secure);
    let cookie = http::cookie(req, &cookie_name);
    let session = browser_session(app, req, now).await?;
    let Some(session) = session else {
        return Ok(finish(app, back, None));
    };
    let cookie = cookie.unwrap_or_default();
    let confirmed = req.method() == Method::POST
        && params
            .get("csrf")
            .is_some_and(|c| constant_time_eq(c.as_bytes(), csrf_for(&cookie).as_bytes()));
    let attributable = hint.as_ref().is_some_and(|(sub, _)| *sub == session.sub);
    if !confirmed && !attributable {
        let client_name = client.as_ref().map(|c| c.client_name.as_str());
        return Ok(pages::logout_confirm_page(
            &app.config.branding,
            &confirm_view(app, &params, &csrf_for(&cookie), client_name),
        ));
    }
    app.store.delete_session(&session.id_hash).await?;
    tracing::info!(sub = %session.sub, "signed out");
    Ok(finish(
        app,
        back,
        Some(http::set_cookie(&cookie_name, "", 0, secure)),
    ))
}

fn confirm_view<'a>(
    app: &App,
    p: &'a Params,
    csrf: &str,
    client_name: Option<&'a str>,
) -> pages::LogoutView<'a> {
    pages::LogoutView {
        action: app.config.endpoint_url(super::Endpoint::Logout),
        csrf: csrf.to_string(),
        client_id: p.get("client_id"),
        post_logout_redirect_uri: p.get("post_logout_redirect_uri"),
        state: p.get("state"),
        id_token_hint: p.get("id_token_hint"),
        client_name,
    }
}

fn finish(app: &App, back: Option<Return>, clear_cookie: Option<String>) -> Response<Body> {
    let mut resp = match back {
        Some(r) => {
            let mut q: Vec<(&str, &str)> = vec![];
            if let Some(s) = &r.state {
                q.push(("state", s));
            }
            http::redirect_with_query(&r.uri, &q)
        }
        None => pages::signed_out_page(&app.config.branding),
    };
    if let Some(c) = clear_cookie {
        http::append_header(&mut resp, "set-cookie", &c);
    }
    resp
}

/// The hint's subject and audience, if it is an ID token we issued (expired ones too).
async fn verify_hint(app: &App, hint: &str) -> Result<(String, Option<String>), OAuthError> {
    let keys = app.signer.public_keys().await?;
    let bad =
        || OAuthError::invalid_request("id_token_hint is not an ID token issued by this provider");
    let (_, c) = jwt::verify(&keys, hint).map_err(|_| bad())?;
    if c["iss"].as_str() != Some(app.config.issuer.as_str()) {
        return Err(bad());
    }
    let aud = match &c["aud"] {
        Value::String(a) => Some(a.clone()),
        Value::Array(v) if v.len() == 1 => v[0].as_str().map(str::to_string),
        _ => None,
    };
    let sub = c["sub"].as_str().ok_or_else(bad)?.to_string();
    Ok((sub, aud))
}
