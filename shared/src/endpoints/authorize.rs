//! `/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): verify client and redirect_uri (an
//! error page otherwise: never redirect to an unverified URI), validate the rest (errors
//! are redirected with `state` and `iss`), remember the request, and send the browser to
//! sign-in (or straight to consent when a fresh enough session exists).
use lambda_http::{Body, Request, Response, http::Method};

use super::Endpoint;
use crate::{
    App, OAuthError,
    crypto::{random_token, secret_digest},
    http::{self, Params},
    protocol::{authorize_request, redirect_uri},
    store::{AuthRequest, Session},
};

pub const BROWSER_COOKIE: &str = "oidc_browser";
pub const SESSION_COOKIE: &str = "oidc_session";

pub async fn handle(app: &App, req: &Request, now: i64) -> Response<Body> {
    let branding = &app.config.branding;
    let params = if req.method() == Method::POST {
        match http::form(req) {
            Some(p) => p,
            None => {
                return OAuthError::invalid_request(
                    "the authorization request must be a form post",
                )
                .to_error_page(branding);
            }
        }
    } else {
        http::query(req)
    };
    match handle_params(app, req, &params, now).await {
        Ok(resp) => resp,
        Err(Failure::Page(e)) => e.to_error_page(branding),
        Err(Failure::Redirect(e, uri)) => {
            e.to_redirect(&uri, params.get("state"), &app.config.issuer)
        }
    }
}

enum Failure {
    Page(OAuthError),
    Redirect(OAuthError, String),
}

async fn handle_params(
    app: &App,
    req: &Request,
    params: &Params,
    now: i64,
) -> Result<Response<Body>, Failure> {
    use Failure::Page;
    if let Some(dup @ ("client_id" | "redirect_uri")) = params.duplicated() {
        return Err(Page(OAuthError::invalid_request(format!(
            "the request has more than one {dup}"
        ))));
    }
    let client_id = params.get("client_id").ok_or_else(|| {
        Page(OAuthError::invalid_request(
            "the request does not say which application it is for (client_id is missing)",
        ))
    })?;
    let client = app
        .store
        .client(client_id)
        .await
        .map_err(|e| Page(e.into()))?
        .ok_or_else(|| Page(OAuthError::invalid_request("the application that sent you here is not registered with this provider (unknown client_id)")))?;
    let redirect_to = params.get("redirect_uri").ok_or_else(|| {
        Page(OAuthError::invalid_request(
            "the request has no redirect_uri",
        ))
    })?;
    if !redirect_uri::is_registered(redirect_to, &client.redirect_uris) {
        return Err(Page(OAuthError::invalid_request(
            "the application asked to send you to an address it has not registered (redirect_uri mismatch)",
        )));
    }
    let redirect = |e: OAuthError| Failure::Redirect(e, redirect_to.to_string());
    let v = authorize_request::validate(params, &client).map_err(redirect)?;

    // A session is reusable unless the client demands a fresh login (prompt=login, or a
    // max_age it has outlived: OIDC Core §3.1.2.1).
    let secure = app.config.secure_cookies();
    let session = match http::cookie(req, &http::cookie_name(SESSION_COOKIE, secure)) {
        Some(id) => app
            .store
            .session(&secret_digest(&id), now)
            .await
            .map_err(|e| redirect(e.into()))?,
        None => None,
    };
    let session: Option<Session> = session
        .filter(|_| !v.prompts("login"))
        .filter(|s| v.max_age.is_none_or(|m| now - s.auth_time <= m));
    if v.prompts("none") {
        // Consent is not remembered between requests, so without UI we can go no further.
        let e = match session {
            None => OAuthError::new(
                crate::error::ErrorCode::LoginRequired,
                "the user is not signed in",
            ),
            Some(_) => OAuthError::new(
                crate::error::ErrorCode::ConsentRequired,
                "the user has not consented yet",
            ),
        };
        return Err(redirect(e));
    }

    let browser_cookie = http::cookie_name(BROWSER_COOKIE, secure);
    let existing_browser = http::cookie(req, &browser_cookie).filter(|b| b.len() == 43);
    let browser_id = existing_browser.clone().unwrap_or_else(|| random_token(32));
    let auth = AuthRequest {
        id: random_token(24),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_to.to_string(),
        scopes: v.scopes.clone(),
        state: params.get("state").map(str::to_string),
        nonce: v.nonce.clone(),
        code_challenge: v.code_challenge.clone(),
        prompt: v.prompt.clone(),
        max_age: v.max_age,
        login_hint: v.login_hint.clone(),
        browser_id: browser_id.clone(),
        csrf: random_token(24),
        sub: session.as_ref().map(|s| s.sub.clone()),
        auth_time: session.as_ref().map(|s| s.auth_time),
        expires_at: now + app.config.auth_request_ttl,
    };
    app.store
        .put_auth_request(&auth)
        .await
        .map_err(|e| redirect(e.into()))?;

    let next = if session.is_some() {
        Endpoint::Consent
    } else {
        Endpoint::Login
    };
    let mut resp = http::redirect_with_query(&app.config.endpoint_url(next), &[("req", &auth.id)]);
    if existing_browser.is_none() {
        let cookie = http::set_cookie(&browser_cookie, &browser_id, app.config.session_ttl, secure);
        http::append_header(&mut resp, "set-cookie", &cookie);
    }
    Ok(resp)
}
