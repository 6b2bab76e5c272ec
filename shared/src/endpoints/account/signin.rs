//! The account page's own sign-in: an authorization request of no client
//! (`ACCOUNT_CLIENT_ID`), which the sign-in page completes like any other (a password, a
//! second factor, a passkey or an upstream provider) and which then leads back here instead
//! of to consent. For a person already signed in it is a re-authentication (OIDC Core
//! `prompt=login`): it may be completed only by them.
use lambda_http::{Body, Request, Response};

use super::{AccountStore, Visitor};
use crate::{
    App, OAuthError,
    crypto::{b64url, random_token},
    endpoints::{
        Endpoint,
        authorize::{BrowserId, buttons},
    },
    http, passkey,
    store::{ACCOUNT_CLIENT_ID, AuthRequest},
};

pub(super) async fn start<S: AccountStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    visitor: Option<&Visitor>,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let browser = BrowserId::of(&app.config, req);
    // Confirming it is them (a visitor already signed in) takes what their changes need.
    let min_level = visitor.map(Visitor::level_to_change).unwrap_or_default();
    let mut auth = AuthRequest {
        id: random_token(24),
        client_id: ACCOUNT_CLIENT_ID.into(),
        redirect_uri: app.config.endpoint_url(Endpoint::Account),
        scopes: vec!["openid".into()],
        state: None,
        nonce: None,
        code_challenge: None,
        response_mode: Default::default(),
        prompt: vec!["login".into()],
        max_age: None,
        login_hint: visitor.map(|v| v.user.username.clone()),
        claims: Default::default(),
        browser_id: browser.id.clone(),
        csrf: random_token(24),
        sub: None,
        auth_time: None,
        expires_at: now + app.config.auth_request_ttl,
        required_sub: visitor.map(|v| v.user.sub.clone()),
        sid: None,
        auth_time_ms: 0,
        client: None,
        user: None,
        idp: None,
        amr: vec![],
        passkey_challenge: b64url(&passkey::challenge()),
        min_level,
        providers: vec![],
        second_factor: None,
    };
    // The upstream providers, where one can meet the level (`authorize::buttons`).
    if min_level.upstream_meets() {
        auth.providers = buttons(&app.store.list_providers().await?, &auth);
    }
    app.store.put_auth_request(&auth).await?;
    let mut resp = http::redirect_with_query(
        &app.config.endpoint_url(Endpoint::Login),
        &[("req", &auth.id)],
    );
    browser.set_on(&app.config, &mut resp);
    Ok(resp)
}
