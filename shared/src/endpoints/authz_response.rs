//! Authorization responses, success or error, delivered to a verified redirect_uri in the
//! requested response mode: a 303 with a query (RFC 6749 §4.1.2), or an auto-submitting
//! form (OAuth 2.0 Form Post Response Mode). Codes are minted here, in one place.
use crate::store::CodeStore;
use lambda_http::{Body, Response};

use crate::{
    App, OAuthError,
    error::ErrorCode,
    http, pages,
    protocol::{acr, release},
    secret::CodeValue,
    store::{AuthCode, AuthRequest, Client, ResponseMode, User},
};

pub fn deliver<S: ?Sized>(
    app: &App<S>,
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

pub fn error<S: ?Sized>(
    app: &App<S>,
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

/// A single-use code for `auth` (a request the person has signed in for) on behalf of
/// `user`, carrying what the grant releases (`protocol::release`): its value, and its record
/// to store. The record carries the user (without the password hash), so redeeming it
/// needs no read of its own. Never for anyone but the person the request names, if it names
/// one (Core §3.1.2.1).
pub fn new_code<S: ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
    client: &Client,
    user: &User,
    now: i64,
) -> Result<(CodeValue, AuthCode), OAuthError> {
    if !acr::meets(auth.min_level, &auth.amr) {
        return Err(unmet(auth));
    }
    if auth.required_sub.as_ref().is_some_and(|r| *r != user.sub) {
        return Err(OAuthError::new(
            ErrorCode::LoginRequired,
            "the signed-in person is not the one the application asked for",
        ));
    }
    let code = CodeValue::generate();
    let record = AuthCode {
        code_hash: code.digest(),
        client_id: auth.client_id.clone(),
        redirect_uri: auth.redirect_uri.clone(),
        scopes: auth.scopes.clone(),
        nonce: auth.nonce.clone(),
        code_challenge: auth.code_challenge.clone(),
        sub: user.sub.clone(),
        auth_time: auth.auth_time.unwrap_or(now),
        expires_at: now + app.config.code_ttl,
        claims: release::grant(client, user, &auth.scopes, &auth.claims),
        minted: None,
        user: Some(user.snapshot()),
        sid: auth.sid.clone(),
        auth_time_ms: auth.auth_time_ms,
        idp: auth.idp.clone(),
        amr: auth.amr.clone(),
    };
    Ok((code, record))
}

/// The error a request gets when its sign-in falls short of its least level (the
/// `unmet_authentication_requirements` error code spec: for an essential `acr`, and, as it
/// allows, for the client's and the deployment's least level too).
pub fn unmet(auth: &AuthRequest) -> OAuthError {
    OAuthError::new(
        ErrorCode::UnmetAuthenticationRequirements,
        format!(
            "the person did not sign in at the level required ({})",
            auth.min_level.acr()
        ),
    )
}

/// Sends the browser back to the client with `code` (RFC 6749 §4.1.2, RFC 9207 `iss`).
pub fn deliver_code<S: ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
    code: &CodeValue,
) -> Response<Body> {
    let mut params = vec![("code", code.expose().to_string())];
    if let Some(s) = &auth.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", app.config.issuer.clone()));
    deliver(app, &auth.redirect_uri, auth.response_mode, &params)
}

/// Mints, stores and delivers a code in one go (single sign-on straight from /authorize).
pub async fn issue_code<S: CodeStore + ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
    client: &Client,
    user: &User,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let (code, record) = new_code(app, auth, client, user, now)?;
    app.store.put_code(&record).await?;
    Ok(deliver_code(app, auth, &code))
}
