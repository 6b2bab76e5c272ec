//! Authorization responses, success or error, delivered to a verified redirect_uri in the
//! requested response mode: a 303 with a query (RFC 6749 §4.1.2), or an auto-submitting
//! form (OAuth 2.0 Form Post Response Mode). Codes are minted here, in one place.
use lambda_http::{Body, Response};

use crate::{
    App, OAuthError,
    crypto::{random_token, secret_digest},
    http, pages,
    store::{AuthCode, AuthRequest, ResponseMode, User},
};

pub fn deliver(
    app: &App,
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, String)],
) -> Response<Body> {
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match mode {
        ResponseMode::Query => http::redirect_with_query(redirect_uri, &pairs),
        ResponseMode::FormPost => pages::form_post_page(&app.config.branding, redirect_uri, &pairs),
    }
}

pub fn error(
    app: &App,
    e: &OAuthError,
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
) -> Response<Body> {
    deliver(
        app,
        redirect_uri,
        mode,
        &e.authorization_params(state, &app.config.issuer),
    )
}

/// Mints a single-use code for `auth` on behalf of `user` and delivers it. The code carries
/// the user (without the password hash), so redeeming it needs no read of its own.
pub async fn issue_code(
    app: &App,
    auth: &AuthRequest,
    user: &User,
    auth_time: i64,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let code = random_token(32);
    let record = AuthCode {
        code_hash: secret_digest(&code),
        client_id: auth.client_id.clone(),
        redirect_uri: auth.redirect_uri.clone(),
        scopes: auth.scopes.clone(),
        nonce: auth.nonce.clone(),
        code_challenge: auth.code_challenge.clone(),
        sub: user.sub.clone(),
        auth_time,
        expires_at: now + app.config.code_ttl,
        claims: auth.claims.clone(),
        minted: None,
        user: Some(User {
            password_hash: String::new(),
            ..user.clone()
        }),
        sid: auth.sid.clone(),
        auth_time_ms: 0,
    };
    app.store.put_code(&record).await?;
    let mut params = vec![("code", code)];
    if let Some(s) = &auth.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", app.config.issuer.clone()));
    Ok(deliver(
        app,
        &auth.redirect_uri,
        auth.response_mode,
        &params,
    ))
}
