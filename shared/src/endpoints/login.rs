//! The sign-in and consent pages and their form posts. Each step re-reads the pending
//! authorization request, checks it belongs to this browser and that the form carries its
//! CSRF token, and moves it one step on.
//!
//! Failed sign-ins are throttled per account and per client address, with counters kept in
//! the store (so every Lambda container sees them) in fixed windows
//! ([`crate::config::Throttling`]):
//! - the account (the submitted username, lowercased, whether or not such a user exists) is
//!   counted *before* its password is checked, and cleared by a successful sign-in, so
//!   parallel guesses cannot all slip in before the count; once it exceeds its limit, every
//!   attempt is refused unchecked until the window (opened by the first attempt counted
//!   since the last success) ends;
//! - the address is read first and counted after a failure; once at its limit, every
//!   attempt from it is refused until its window ends.
//!
//! Refused attempts get the sign-in form again with one neutral message and HTTP 429, the
//! same for every username. A store failure on the way refuses too (the retryable 503 page):
//! throttling never fails open.
use std::net::IpAddr;

use lambda_http::{
    Body, Request, RequestExt, Response,
    http::{Method, StatusCode},
    request::RequestContext,
};

use super::{
    Endpoint,
    authorize::{BROWSER_COOKIE, SESSION_COOKIE},
    authz_response,
};
use crate::{
    App, OAuthError,
    crypto::{constant_time_eq, random_token, secret_digest},
    error::ErrorCode,
    http::{self, Params},
    pages::{self, ConsentView, LoginView},
    password,
    protocol::release,
    store::{AuthRequest, Client, Session, User},
};

const WRONG_CREDENTIALS: &str = "Wrong username or password. Check both and try again.";
const TOO_MANY_ATTEMPTS: &str = "Too many attempts. Wait a few minutes and try again.";

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`; the local
/// server puts the TCP peer there the same way). Never a header: a client can send any
/// `X-Forwarded-For` it likes.
fn client_ip(req: &Request) -> Option<IpAddr> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref()?.parse().ok(),
        _ => None,
    }
}

/// The throttling key of a client address. An IPv6 client usually holds a whole /64, so
/// that is what is counted; IPv4-mapped addresses count as their IPv4 address.
fn ip_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => format!("ip#{v4}"),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("ip#{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "ip#unknown".into(),
    }
}

/// The throttling key of a submitted username: a digest of it lowercased, so the store holds
/// no usernames (nor passwords typed into the username field), and any length fits a key.
/// Its first 12 characters name the account in the audit log.
fn account_digest(username: &str) -> String {
    secret_digest(&username.to_lowercase())
}

/// The form again with the neutral "too many attempts" message: 429, and when to retry.
fn throttled(mut page: Response<Body>, now: i64, window_ends: i64) -> Response<Body> {
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let wait = window_ends.saturating_sub(now).max(1);
    http::set_header(&mut page, "retry-after", &wait.to_string());
    page
}

fn page_error(app: &App, code: ErrorCode, msg: &'static str) -> Response<Body> {
    OAuthError::new(code, msg).to_error_page(&app.config.branding)
}

/// The request named by `req`, if it exists, has not expired and was started by this
/// browser; for posts, the form's CSRF token must match too.
async fn load(
    app: &App,
    req: &Request,
    params: &Params,
    now: i64,
    check_csrf: bool,
) -> Result<AuthRequest, Response<Body>> {
    let expired = || {
        page_error(
            app,
            ErrorCode::InvalidRequest,
            "This sign-in request has expired or was already used.",
        )
    };
    let id = params.get("req").ok_or_else(expired)?;
    let auth = app
        .store
        .auth_request(id, now)
        .await
        .map_err(|e| OAuthError::from(e).to_error_page(&app.config.branding))?
        .ok_or_else(expired)?;
    let browser = http::cookie(
        req,
        &http::cookie_name(BROWSER_COOKIE, app.config.secure_cookies()),
    );
    let forged = || {
        page_error(
            app,
            ErrorCode::AccessDenied,
            "This form was not sent from the browser that started signing in.",
        )
    };
    if !browser.is_some_and(|b| constant_time_eq(b.as_bytes(), auth.browser_id.as_bytes())) {
        return Err(forged());
    }
    if check_csrf
        && !params
            .get("csrf")
            .is_some_and(|c| constant_time_eq(c.as_bytes(), auth.csrf.as_bytes()))
    {
        return Err(forged());
    }
    Ok(auth)
}

fn params_of(req: &Request) -> Option<Params> {
    if req.method() == Method::POST {
        http::form(req)
    } else {
        Some(http::query(req))
    }
}

/// The client's display name (its id if it was deleted meanwhile); a store failure is the
/// retryable error page, like every other.
async fn client_name(app: &App, client_id: &str) -> Result<String, Response<Body>> {
    match app.store.client(client_id).await {
        Ok(Some(c)) => Ok(c.client_name),
        Ok(None) => Ok(client_id.to_string()),
        Err(e) => Err(OAuthError::from(e).to_error_page(&app.config.branding)),
    }
}

/// The sign-in form for `auth`, with `username` filled in and an `error` to show. The
/// client's name is read only here, when a form is shown: a successful sign-in needs none.
async fn login_form(
    app: &App,
    auth: &AuthRequest,
    username: &str,
    error: Option<&str>,
) -> Response<Body> {
    let name = match client_name(app, &auth.client_id).await {
        Ok(n) => n,
        Err(page) => return page,
    };
    let action = app.config.endpoint_url(Endpoint::Login);
    pages::login_page(
        &app.config.branding,
        LoginView {
            client_name: &name,
            action: &action,
            req_id: &auth.id,
            csrf: &auth.csrf,
            username,
            error,
        },
    )
}

pub async fn handle_login(app: &App, req: &Request, now: i64) -> Response<Body> {
    let Some(params) = params_of(req) else {
        return page_error(
            app,
            ErrorCode::InvalidRequest,
            "The sign-in form was not sent as a form.",
        );
    };
    let post = req.method() == Method::POST;
    let auth = match load(app, req, &params, now, post).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    if !post {
        return login_form(app, &auth, auth.login_hint.as_deref().unwrap_or(""), None).await;
    }

    let username = params.get("username").unwrap_or("").trim();
    let pw = params.get("password").unwrap_or("");
    let limits = &app.config.throttling;
    let ip = client_ip(req);
    let ip_shown = ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let ip_key = ip_key(ip);
    let digest = account_digest(username);
    let account = digest.get(..12).unwrap_or(&digest);
    let account_key = format!("user#{digest}");
    let refuse = async |limit: &str, window_ends: i64| {
        tracing::warn!(
            event = "signin.throttled",
            limit,
            client_id = %auth.client_id,
            account,
            ip = %ip_shown,
            "sign-in throttled"
        );
        let form = login_form(app, &auth, username, Some(TOO_MANY_ATTEMPTS)).await;
        throttled(form, now, window_ends)
    };

    // The address first: a read, so a throttled address costs nothing more.
    if limits.ip_failures > 0 {
        match app.store.failures(&ip_key, now).await {
            Ok(f) if f.count >= limits.ip_failures => return refuse("ip", f.window_ends).await,
            Ok(_) => {}
            Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
        }
    }
    // The account is counted before the password is checked (a success clears it).
    let account_failures = if limits.account_failures > 0 {
        match app
            .store
            .record_failure(&account_key, limits.account_window, now)
            .await
        {
            Ok(f) if f.count > limits.account_failures => {
                return refuse("account", f.window_ends).await;
            }
            Ok(f) => f.count,
            Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
        }
    } else {
        0
    };

    let user = match app.store.user_by_username(username).await {
        Ok(u) => u.filter(|_| !username.is_empty()),
        Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
    };
    // argon2 runs whether or not the user exists: same answer, same time.
    let ok = password::verify_password(pw, user.as_ref().map(|u| u.password_hash.as_str()));
    let Some(user) = user.filter(|u| ok && !u.disabled) else {
        let ip_failures = if limits.ip_failures > 0 {
            match app
                .store
                .record_failure(&ip_key, limits.ip_window, now)
                .await
            {
                Ok(f) => f.count,
                Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
            }
        } else {
            0
        };
        tracing::warn!(
            event = "signin.failed",
            client_id = %auth.client_id,
            account,
            ip = %ip_shown,
            account_failures,
            ip_failures,
            "sign-in failed"
        );
        return login_form(app, &auth, username, Some(WRONG_CREDENTIALS)).await;
    };

    let session_id = random_token(32);
    let session = Session {
        id_hash: secret_digest(&session_id),
        sub: user.sub.clone(),
        auth_time: now,
        expires_at: now + app.config.session_ttl,
        sid: random_token(16),
        // To the millisecond: a password change just before this sign-in must not end it.
        auth_time_ms: app.clock.now_ms(),
    };
    let signed_in = AuthRequest {
        sub: Some(user.sub.clone()),
        auth_time: Some(now),
        sid: Some(session.sid.clone()),
        auth_time_ms: session.auth_time_ms,
        user: Some(user.snapshot()),
        ..auth
    };
    let stored = async {
        if limits.account_failures > 0 {
            app.store.clear_failures(&account_key).await?;
        }
        app.store.put_session(&session).await?;
        app.store.put_auth_request(&signed_in).await
    };
    if let Err(e) = stored.await {
        return OAuthError::from(e).to_error_page(&app.config.branding);
    }
    tracing::info!(
        event = "signin.succeeded",
        sub = %user.sub,
        client_id = %signed_in.client_id,
        account,
        ip = %ip_shown,
        "signed in"
    );
    let secure = app.config.secure_cookies();
    let mut resp = http::redirect_with_query(
        &app.config.endpoint_url(Endpoint::Consent),
        &[("req", &signed_in.id)],
    );
    let cookie = http::set_cookie(
        &http::cookie_name(SESSION_COOKIE, secure),
        &session_id,
        app.config.session_ttl,
        secure,
    );
    http::append_header(&mut resp, "set-cookie", &cookie);
    resp
}

pub async fn handle_consent(app: &App, req: &Request, now: i64) -> Response<Body> {
    let Some(params) = params_of(req) else {
        return page_error(
            app,
            ErrorCode::InvalidRequest,
            "The consent form was not sent as a form.",
        );
    };
    let post = req.method() == Method::POST;
    // Consent needs the person who signed in for this request, still signed in here. The
    // request (which carries the client and the person as they were) and the session are
    // independent reads: one round trip.
    let secure = app.config.secure_cookies();
    let session_read = async {
        match http::cookie(req, &http::cookie_name(SESSION_COOKIE, secure)) {
            Some(id) => app.store.session(&secret_digest(&id), now).await,
            None => Ok(None),
        }
    };
    let (auth, session) = tokio::join!(load(app, req, &params, now, post), session_read);
    let auth = match auth {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let session = match session {
        Ok(s) => s,
        Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
    };
    let sign_in_again = || {
        http::redirect_with_query(
            &app.config.endpoint_url(Endpoint::Login),
            &[("req", &auth.id)],
        )
    };
    let Some(sub) = auth.sub.clone() else {
        return sign_in_again();
    };
    if session.is_none_or(|s| s.sub != sub) {
        return sign_in_again();
    }
    if auth.required_sub.as_ref().is_some_and(|r| *r != sub) {
        return page_error(
            app,
            ErrorCode::LoginRequired,
            "The application asked for another account than the one you signed in with.",
        );
    }
    let (client, user) = match parties(app, &auth, &sub).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if !user.accepts(auth.signed_in_ms()) {
        // Signed in before the user's sessions were ended (a password change): again.
        return sign_in_again();
    }
    // A first-party client's users are not asked (unless the client asks: prompt=consent).
    let implied = client.implies_consent() && !auth.prompt.iter().any(|p| p == "consent");
    let grant = release::grant(&client, &user, &auth.scopes, &auth.claims);
    if !post && !implied {
        let (by_scope, individually) = release::disclosures(&client, &user, &auth.scopes, &grant);
        let action = app.config.endpoint_url(Endpoint::Consent);
        return pages::consent_page(
            &app.config.branding,
            ConsentView {
                client_name: &client.client_name,
                client_logo: client.logo_uri.as_deref(),
                username: &user.username,
                action: &action,
                req_id: &auth.id,
                csrf: &auth.csrf,
                scopes: &by_scope,
                claims: individually,
            },
        );
    }

    let state = auth.state.as_deref();
    if !implied && params.get("decision") != Some("allow") {
        match app.store.delete_auth_request(&auth.id).await {
            Ok(true) => {}
            Ok(false) => return already_completed(app),
            Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
        }
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return authz_response::error(app, &denied, &auth.redirect_uri, auth.response_mode, state);
    }

    // One atomic write: the request is retired (of concurrent submissions, only one
    // delivers a code), its code stored, and the consent widened by what was just agreed to,
    // so the next request from this client needs no page. A failure writes nothing and the
    // form can be sent again.
    let (code, record) = match authz_response::new_code(app, &auth, &client, &user, now) {
        Ok(c) => c,
        Err(e) => return e.to_error_page(&app.config.branding),
    };
    let agreed =
        release::consentable(&auth.scopes, &grant).as_consent(&sub, &client.client_id, now);
    match app
        .store
        .complete_auth_request(&auth.id, &record, Some(&agreed))
        .await
    {
        Ok(true) => authz_response::deliver_code(app, &auth, code),
        Ok(false) => already_completed(app),
        Err(e) => OAuthError::from(e).to_error_page(&app.config.branding),
    }
}

/// The client and the person of a signed-in request: the snapshots it carries, or (for a
/// request begun before requests carried them) read now, in one round trip.
async fn parties(
    app: &App,
    auth: &AuthRequest,
    sub: &str,
) -> Result<(Client, User), Response<Body>> {
    if let (Some(c), Some(u)) = (&auth.client, &auth.user)
        && u.sub == sub
    {
        return Ok((c.clone(), u.clone()));
    }
    let (user, client) = tokio::join!(app.store.user(sub), app.client(&auth.client_id));
    let user = match user {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => {
            return Err(page_error(
                app,
                ErrorCode::AccessDenied,
                "This account is no longer available.",
            ));
        }
        Err(e) => return Err(OAuthError::from(e).to_error_page(&app.config.branding)),
    };
    match client {
        Ok(Some(c)) => Ok((c, user)),
        Ok(None) => Err(page_error(
            app,
            ErrorCode::AccessDenied,
            "This application is no longer registered.",
        )),
        Err(e) => Err(OAuthError::from(e).to_error_page(&app.config.branding)),
    }
}

fn already_completed(app: &App) -> Response<Body> {
    page_error(
        app,
        ErrorCode::InvalidRequest,
        "This sign-in request was already completed in another tab or window.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_keys() {
        let key = |s: &str| ip_key(Some(s.parse().expect("ip")));
        assert_eq!(key("203.0.113.7"), "ip#203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "ip#203.0.113.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "ip#2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), key("2001:db8:1:2::9"));
        assert_eq!(ip_key(None), "ip#unknown");
    }

    #[test]
    fn account_keys_ignore_case_and_hide_the_name() {
        assert_eq!(account_digest("Alice"), account_digest("alice"));
        assert_ne!(account_digest("alice"), account_digest("alicf"));
        assert!(!account_digest("alice").contains("alice"));
        assert_eq!(account_digest(&"x".repeat(5000)).len(), 43);
    }

    #[test]
    fn the_address_comes_from_the_request_context_only() {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
        let mut req = Request::new(Body::Empty);
        req.headers_mut()
            .insert("x-forwarded-for", "198.51.100.1".parse().expect("header"));
        assert_eq!(client_ip(&req), None);
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.http.source_ip = Some("203.0.113.9".into());
        let req = req.with_request_context(RequestContext::ApiGatewayV2(ctx));
        assert_eq!(client_ip(&req), "203.0.113.9".parse().ok());
    }
}
