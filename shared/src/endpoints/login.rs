//! The sign-in and consent pages and their form posts. Each step re-reads the pending
//! authorization request, checks it belongs to this browser and that the form carries its
//! CSRF token, and moves it one step on.
//!
//! A sign-in (`POST /login`) is one read of everything it depends on (the request, the
//! user, the failure counters and, until cached, the deployment secret), then argon2, then
//! one atomic write of its outcome: two sequential store round trips. Its brute-force
//! defence is [`crate::signin`]: attempts are refused unchecked (429, one neutral message,
//! the same for every username) before argon2 while a limit holds, and every checked
//! outcome is written on the condition that the limits still let it through. A store
//! failure on the way refuses too (the retryable 503 page): the defence never fails open,
//! and a failed write changes nothing, so the same form can be sent again.
use lambda_http::{
    Body, Request, Response,
    http::{Method, StatusCode},
};

use super::{
    Endpoint,
    authorize::{BROWSER_COOKIE, SESSION_COOKIE},
    authz_response, forms,
};
use crate::{
    App, OAuthError,
    crypto::{constant_time_eq, random_token, secret_digest},
    error::ErrorCode,
    http::{self, Params},
    password,
    protocol::release,
    signin::{
        self,
        device::{self, DeviceTokens},
        limits::{self, Counters},
    },
    store::{AuthRequest, Client, Session, SignInQuery, SignInWrite, StoreError, User},
};

const WRONG_CREDENTIALS: &str = "Wrong username or password. Check both and try again.";
const OTHER_ACCOUNT: &str =
    "The application asked for another account. Sign in with that account to continue.";
const TOO_MANY_ATTEMPTS: &str = "Too many attempts. Wait a few minutes and try again.";
/// Longer request ids are not ours (they are 32 random bytes, base64url): not looked up.
const MAX_REQUEST_ID: usize = 128;

/// The form again with the neutral "too many attempts" message: 429, and when to retry.
fn throttled(mut page: Response<Body>, retry_after: i64) -> Response<Body> {
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    http::set_header(&mut page, "retry-after", &retry_after.max(1).to_string());
    page
}

fn page_error(app: &App, code: ErrorCode, msg: &'static str) -> Response<Body> {
    OAuthError::new(code, msg).to_error_page(&app.config.branding)
}

fn unavailable(app: &App, e: StoreError) -> Response<Body> {
    OAuthError::from(e).to_error_page(&app.config.branding)
}

fn expired(app: &App) -> Response<Body> {
    page_error(
        app,
        ErrorCode::InvalidRequest,
        "This sign-in request has expired or was already used.",
    )
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
    let id = params.get("req").ok_or_else(|| expired(app))?;
    let auth = app
        .store
        .auth_request(id, now)
        .await
        .map_err(|e| unavailable(app, e))?;
    bound(app, req, params, auth, check_csrf).map_err(|page| page(app))
}

fn forged(app: &App) -> Response<Body> {
    page_error(
        app,
        ErrorCode::AccessDenied,
        "This form was not sent from the browser that started signing in.",
    )
}

/// `auth` (as read; None: missing or expired), if this browser started it and, for posts,
/// the form carries its CSRF token; else the error page to show.
fn bound(
    app: &App,
    req: &Request,
    params: &Params,
    auth: Option<AuthRequest>,
    check_csrf: bool,
) -> Result<AuthRequest, fn(&App) -> Response<Body>> {
    let auth = auth.ok_or(expired as fn(&App) -> Response<Body>)?;
    let browser = http::cookie(
        req,
        &http::cookie_name(BROWSER_COOKIE, app.config.secure_cookies()),
    );
    if !browser.is_some_and(|b| constant_time_eq(b.as_bytes(), auth.browser_id.as_bytes())) {
        return Err(forged);
    }
    if check_csrf
        && !params
            .get("csrf")
            .is_some_and(|c| constant_time_eq(c.as_bytes(), auth.csrf.as_bytes()))
    {
        return Err(forged);
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

/// The client's display name: from the request's snapshot of it, or (a request begun
/// before requests carried one) read, its id if it was deleted meanwhile; a store failure is
/// the retryable error page, like every other.
async fn client_name(app: &App, auth: &AuthRequest) -> Result<String, Response<Body>> {
    if let Some(c) = &auth.client {
        return Ok(c.client_name.clone());
    }
    match app.store.client(&auth.client_id).await {
        Ok(Some(c)) => Ok(c.client_name),
        Ok(None) => Ok(auth.client_id.clone()),
        Err(e) => Err(unavailable(app, e)),
    }
}

/// The sign-in form for `auth`, with `username` filled in and an `error` to show.
async fn login_form(
    app: &App,
    auth: &AuthRequest,
    username: &str,
    error: Option<&str>,
) -> Response<Body> {
    match client_name(app, auth).await {
        Ok(name) => forms::sign_in(app, auth, &name, username, error),
        Err(page) => page,
    }
}

pub async fn handle_login(app: &App, req: &Request, now: i64) -> Response<Body> {
    let Some(params) = params_of(req) else {
        return page_error(
            app,
            ErrorCode::InvalidRequest,
            "The sign-in form was not sent as a form.",
        );
    };
    if req.method() == Method::POST {
        return sign_in(app, req, &params).await;
    }
    match load(app, req, &params, now, false).await {
        Ok(auth) => login_form(app, &auth, auth.login_hint.as_deref().unwrap_or(""), None).await,
        Err(resp) => resp,
    }
}

/// What the audit log says about one attempt: the account by its keyed digest only.
struct Audit {
    client_id: String,
    account: String,
    ip: String,
    trusted: bool,
}

impl Audit {
    fn throttled(&self, limit: &str) {
        tracing::warn!(
            event = "signin.throttled",
            limit,
            client_id = %self.client_id,
            account = %self.account,
            ip = %self.ip,
            trusted = self.trusted,
            "sign-in throttled"
        );
    }
}

/// `POST /login`: one read, argon2, one write.
async fn sign_in(app: &App, req: &Request, params: &Params) -> Response<Body> {
    // In milliseconds: an account's waits start at 1 s, and a sign-in is stamped to the ms.
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let Some(request_id) = params.get("req").filter(|id| id.len() <= MAX_REQUEST_ID) else {
        return expired(app);
    };
    let username = params.get("username").unwrap_or("").trim();
    let password = params.get("password").unwrap_or("");
    let limits = &app.config.sign_in;
    let secure = app.config.secure_cookies();
    let ip = limits::client_ip(req);
    let tokens = DeviceTokens::from_request(req, secure);
    let account = device::account_of(username);
    let token = tokens.for_account(&account);
    let counters = Counters::new(limits, username, ip, token);

    // Everything the attempt depends on, for an unknown username exactly as for a known one.
    let query = SignInQuery {
        request_id,
        username,
        counters: counters.keys(),
        secret: app.signin_keys.get().is_none(),
        now,
    };
    let state = match app.store.signin_read(&query).await {
        Ok(s) => s,
        Err(e) => return unavailable(app, e),
    };
    let auth = match bound(app, req, params, state.request, true) {
        Ok(a) => a,
        Err(page) => return page(app),
    };
    let keys = match signin::keys::load(app, state.secret, now).await {
        Ok(k) => k,
        Err(e) => return unavailable(app, e),
    };
    let token_valid = token.is_some_and(|t| t.is_valid(&keys, now, limits.device_ttl));
    let decided = limits::decide(limits, &counters, &state.counters, token_valid, now_ms);
    let mut audit = Audit {
        client_id: auth.client_id.clone(),
        account: keys.account_tag(username),
        ip: ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string()),
        trusted: false,
    };
    let checked = match decided {
        Ok(c) => c,
        Err(refusal) => {
            audit.throttled(refusal.limit);
            let form = login_form(app, &auth, username, Some(TOO_MANY_ATTEMPTS)).await;
            return throttled(form, refusal.retry_after);
        }
    };
    audit.trusted = checked.trusted;

    // argon2 runs whether or not the user exists: same answer, same time.
    let hash = state.user.as_ref().map(|u| u.password_hash.as_str());
    let Some(ok) = password::verify_password_pooled(password, hash).await else {
        return unavailable(app, StoreError::Unavailable("password check failed".into()));
    };
    let Some(user) = state
        .user
        .filter(|u| ok && !u.disabled && !username.is_empty())
    else {
        // Counted, unless the limits no longer allow this attempt: then it was one of a
        // parallel burst past them, and its answer is withheld.
        let write = SignInWrite {
            counters: checked.on_failure(),
            session: None,
            request: None,
            now,
            now_ms,
        };
        let (written, name) = tokio::join!(app.store.signin_write(&write), client_name(app, &auth));
        let written = written.map_err(|e| unavailable(app, e));
        return match (written, name) {
            (Err(page), _) | (_, Err(page)) => page,
            (Ok(false), Ok(name)) => {
                audit.throttled("race");
                let form = forms::sign_in(app, &auth, &name, username, Some(TOO_MANY_ATTEMPTS));
                throttled(form, checked.retry_after_lost())
            }
            (Ok(true), Ok(name)) => {
                tracing::warn!(
                    event = "signin.failed",
                    client_id = %audit.client_id,
                    account = %audit.account,
                    ip = %audit.ip,
                    trusted = audit.trusted,
                    "sign-in failed"
                );
                forms::sign_in(app, &auth, &name, username, Some(WRONG_CREDENTIALS))
            }
        };
    };

    // The person is `user` from here on. OIDC Core §3.1.2.1: a request that names its person
    // (id_token_hint, a `sub` claim with a value) is completed for nobody else; the right
    // password of another account signs nobody in here, and counts as no failure.
    if auth.required_sub.as_ref().is_some_and(|r| *r != user.sub) {
        tracing::info!(event = "signin.other_account", client_id = %audit.client_id, "sign-in as another account than requested");
        return login_form(app, &auth, username, Some(OTHER_ACCOUNT)).await;
    }
    let session_id = random_token(32);
    let session = Session {
        id_hash: secret_digest(&session_id),
        sub: user.sub.clone(),
        auth_time: now,
        expires_at: now + app.config.session_ttl,
        sid: random_token(16),
        // To the millisecond: a password change just before this sign-in must not end it.
        auth_time_ms: now_ms,
    };
    let signed_in = AuthRequest {
        sub: Some(user.sub.clone()),
        auth_time: Some(now),
        sid: Some(session.sid.clone()),
        auth_time_ms: now_ms,
        user: Some(user.snapshot()),
        ..auth
    };
    let write = SignInWrite {
        counters: checked.on_success(),
        session: Some(&session),
        request: Some(&signed_in),
        now,
        now_ms,
    };
    match app.store.signin_write(&write).await {
        Ok(true) => {}
        Ok(false) => {
            audit.throttled("race");
            let form = login_form(app, &signed_in, username, Some(TOO_MANY_ATTEMPTS)).await;
            return throttled(form, checked.retry_after_lost());
        }
        Err(e) => return unavailable(app, e),
    }
    tracing::info!(
        event = "signin.succeeded",
        sub = %user.sub,
        client_id = %signed_in.client_id,
        account = %audit.account,
        ip = %audit.ip,
        trusted = audit.trusted,
        "signed in"
    );
    let mut resp = http::redirect_with_query(
        &app.config.endpoint_url(Endpoint::Consent),
        &[("req", &signed_in.id)],
    );
    let session_cookie = http::set_cookie(
        &http::cookie_name(SESSION_COOKIE, secure),
        &session_id,
        app.config.session_ttl,
        secure,
    );
    http::append_header(&mut resp, "set-cookie", &session_cookie);
    // This browser is now known for this account (SECURITY.md: a year, renewed at each
    // sign-in, so that a person who signs in rarely keeps it).
    let device_cookie = http::set_cookie(
        &http::cookie_name(device::COOKIE, secure),
        &tokens.after_sign_in(&keys, account, now, limits.device_ttl),
        limits.device_ttl,
        secure,
    );
    http::append_header(&mut resp, "set-cookie", &device_cookie);
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
        return forms::consent(app, &auth, &client, &user, &grant);
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
