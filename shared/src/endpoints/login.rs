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
mod consent;
mod passkey;
mod totp;

use crate::store::{AuthRequestStore, ClientStore, SignInStore};
pub use consent::handle_consent;
use lambda_http::{
    Body, Request, Response,
    http::{Method, StatusCode},
};
pub use passkey::handle_passkey;
pub use totp::handle_totp;

use super::{
    Endpoint,
    authorize::{BROWSER_COOKIE, SESSION_COOKIE},
    forms,
    session::SignedIn,
};
use crate::{
    App, OAuthError,
    config::Config,
    crypto::constant_time_eq,
    error::ErrorCode,
    http::{self, Params},
    pages::PageOrError,
    password,
    secret::Password,
    signin::{
        self,
        device::{self, DeviceTokens},
        limits::{self, Checked, Counters},
    },
    store::{AuthRequest, SignInQuery, SignInWrite, StoreError, User},
};

const WRONG_CREDENTIALS: &str = "Wrong username or password. Check both and try again.";
pub(super) const OTHER_ACCOUNT: &str =
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

pub(super) fn expired() -> OAuthError {
    OAuthError::invalid_request("This sign-in request has expired or was already used.")
}

fn forged() -> OAuthError {
    OAuthError::new(
        ErrorCode::AccessDenied,
        "This form was not sent from the browser that started signing in.",
    )
}

pub(super) fn already_completed() -> OAuthError {
    OAuthError::invalid_request(
        "This sign-in request was already completed in another tab or window.",
    )
}

/// The next page of the request `request_id` (`/login` or `/consent`), behind a redirect.
fn next_page(config: &Config, to: Endpoint, request_id: &str) -> Response<Body> {
    http::redirect_with_query(&config.endpoint_url(to), &[("req", request_id)])
}

/// The request named by `req`, if it exists, has not expired and was started by this
/// browser; for posts, the form's CSRF token must match too.
async fn load<S: AuthRequestStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    params: &Params,
    now: i64,
    check_csrf: bool,
) -> Result<AuthRequest, OAuthError> {
    let id = params.get("req").ok_or_else(expired)?;
    let auth = app.store.auth_request(id, now).await?;
    bound(&app.config, req, params, auth, check_csrf)
}

/// `auth` (as read; None: missing or expired), if this browser started it and, for posts,
/// the form carries its CSRF token; else the error to show.
pub(super) fn bound(
    config: &Config,
    req: &Request,
    params: &Params,
    auth: Option<AuthRequest>,
    check_csrf: bool,
) -> Result<AuthRequest, OAuthError> {
    let auth = auth.ok_or_else(expired)?;
    let browser = http::cookie(
        req,
        &http::cookie_name(BROWSER_COOKIE, config.secure_cookies()),
    );
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

/// The form's fields (a post) or the query; `what` names the form when a post is not one.
fn params_of(req: &Request, what: &'static str) -> Result<Params, OAuthError> {
    if req.method() == Method::POST {
        http::form(req).ok_or_else(|| OAuthError::invalid_request(what))
    } else {
        Ok(http::query(req))
    }
}

/// The client's display name: from the request's snapshot of it, or (a request begun
/// before requests carried one) read, its id if it was deleted meanwhile; a store failure is
/// the retryable error page, like every other.
async fn client_name<S: ClientStore + ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
) -> Result<String, OAuthError> {
    if let Some(c) = &auth.client {
        return Ok(c.client_name.clone());
    }
    if auth.for_account() {
        return Ok(crate::store::ACCOUNT_SHOWN_AS.into());
    }
    Ok(match app.store.client(&auth.client_id).await? {
        Some(c) => c.client_name,
        None => auth.client_id.clone(),
    })
}

/// The sign-in form for `auth`, with `username` filled in and an `error` to show.
async fn login_form<S: ClientStore + ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
    username: &str,
    error: Option<&str>,
) -> Result<Response<Body>, OAuthError> {
    let name = client_name(app, auth).await?;
    Ok(forms::sign_in(app, auth, &name, username, error))
}

pub async fn handle_login<S: AuthRequestStore + ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    login(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

async fn login<S: AuthRequestStore + ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let params = params_of(req, "The sign-in form was not sent as a form.")?;
    if req.method() == Method::POST && !app.config.sign_in.password {
        return Err(OAuthError::invalid_request(
            "Signing in with a password is turned off here: use one of the other ways offered.",
        ));
    }
    if req.method() == Method::POST {
        return sign_in(app, req, &params).await;
    }
    let auth = load(app, req, &params, now, false).await?;
    login_form(app, &auth, auth.login_hint.as_deref().unwrap_or(""), None).await
}

/// What the audit log says about one attempt: the account by its keyed digest only.
struct Audit {
    client_id: String,
    account: String,
    ip: String,
    trusted: bool,
}

/// The sign-in defence's verdict on an attempt by `username` (`counters` and the device
/// `token` it came with), from the sign-in read's `secret` and `read` counters: the
/// deployment's keys, the limits' decision, and the audit record of the attempt. The one
/// way a password and a second factor (`totp`) are judged.
#[allow(clippy::too_many_arguments)]
async fn judge<S: SignInStore + ?Sized>(
    app: &App<S>,
    secret: Option<crate::store::DeploymentSecret>,
    read: &std::collections::HashMap<String, crate::store::Counter>,
    counters: &Counters,
    token: Option<&device::DeviceToken>,
    ip: Option<std::net::IpAddr>,
    client_id: &str,
    username: &str,
    now_ms: i64,
) -> Result<
    (
        std::sync::Arc<signin::SignInKeys>,
        Result<Checked, limits::Refusal>,
        Audit,
    ),
    OAuthError,
> {
    let now = now_ms.div_euclid(1000);
    let limits = &app.config.sign_in;
    let keys = signin::keys::load(&app.signin_keys, &*app.store, secret, now).await?;
    let token_valid = token.is_some_and(|t| t.is_valid(&keys, now, limits.device_ttl));
    let decided = limits::decide(limits, counters, read, token_valid, now_ms);
    let audit = Audit {
        client_id: client_id.to_string(),
        account: keys.account_tag(username),
        ip: ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string()),
        trusted: decided.as_ref().is_ok_and(|c| c.trusted),
    };
    Ok((keys, decided, audit))
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

    fn failed(&self) {
        tracing::warn!(
            event = "signin.failed",
            client_id = %self.client_id,
            account = %self.account,
            ip = %self.ip,
            trusted = self.trusted,
            "sign-in failed"
        );
    }

    fn succeeded(&self, sub: &str, client_id: &str) {
        tracing::info!(
            event = "signin.succeeded",
            sub = %sub,
            client_id = %client_id,
            account = %self.account,
            ip = %self.ip,
            trusted = self.trusted,
            "signed in"
        );
    }
}

/// An attempt whose password is checked: what writing its outcome and answering need.
struct Attempt<'a> {
    auth: AuthRequest,
    username: &'a str,
    checked: Checked,
    audit: Audit,
    /// The attempt's instant, in epoch seconds and milliseconds.
    now: i64,
    now_ms: i64,
}

impl Attempt<'_> {
    /// The form for `auth` again, 429: the write found the limits no longer let this
    /// attempt through (one of a parallel burst past them), so its answer is withheld.
    async fn lost_race<S: ClientStore + ?Sized>(
        &self,
        app: &App<S>,
        auth: &AuthRequest,
    ) -> Result<Response<Body>, OAuthError> {
        self.audit.throttled("race");
        let form = login_form(app, auth, self.username, Some(TOO_MANY_ATTEMPTS)).await?;
        Ok(throttled(form, self.checked.retry_after_lost()))
    }
}

/// `POST /login`: one read, argon2, one write.
async fn sign_in<S: ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    params: &Params,
) -> Result<Response<Body>, OAuthError> {
    // In milliseconds: an account's waits start at 1 s, and a sign-in is stamped to the ms.
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let request_id = params
        .get("req")
        .filter(|id| id.len() <= MAX_REQUEST_ID)
        .ok_or_else(expired)?;
    let username = params.get("username").unwrap_or("").trim();
    let password = Password::from(params.get("password").unwrap_or(""));
    let limits = &app.config.sign_in;
    let ip = limits::client_ip(req);
    let tokens = DeviceTokens::from_request(req, app.config.secure_cookies());
    let account = device::account_of(username);
    let token = tokens.for_account(&account);
    let counters = Counters::new(limits, username, ip, token);

    // Everything the attempt depends on, for an unknown username exactly as for a known one.
    let query = SignInQuery {
        request_id,
        username,
        counters: counters.keys(),
        secret: app.signin_keys.get().is_none(),
        factors: None,
        now,
    };
    let state = app.store.signin_read(&query).await?;
    let auth = bound(&app.config, req, params, state.request, true)?;
    let (keys, decided, audit) = judge(
        app,
        state.secret,
        &state.counters,
        &counters,
        token,
        ip,
        &auth.client_id,
        username,
        now_ms,
    )
    .await?;
    let checked = match decided {
        Ok(c) => c,
        Err(refusal) => {
            audit.throttled(refusal.limit);
            let form = login_form(app, &auth, username, Some(TOO_MANY_ATTEMPTS)).await?;
            return Ok(throttled(form, refusal.retry_after));
        }
    };
    let attempt = Attempt {
        auth,
        username,
        checked,
        audit,
        now,
        now_ms,
    };

    // argon2 runs whether or not the user exists: same answer, same time.
    let hash = state.user.as_ref().map(|u| u.password_hash.as_str());
    let ok = password::verify_password_pooled(&password, hash)
        .await
        .ok_or_else(|| OAuthError::from(StoreError::Unavailable("password check failed".into())))?;
    match state
        .user
        .filter(|u| ok && !u.disabled && !username.is_empty())
    {
        None => failed(app, attempt).await,
        Some(user) => {
            let device_token = || tokens.after_sign_in(&keys, account, now, limits.device_ttl);
            succeeded(app, attempt, &user, device_token).await
        }
    }
}

/// A wrong password (or an unknown or disabled account): counted, unless the limits no
/// longer allow this attempt (then its answer is withheld: 429, as in
/// `Attempt::lost_race`). The client's name, for the form, is read alongside the write.
async fn failed<S: ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    attempt: Attempt<'_>,
) -> Result<Response<Body>, OAuthError> {
    let write = SignInWrite {
        counters: attempt.checked.on_failure(),
        session: None,
        request: None,
        passkey: None,
        factors: None,
        now: attempt.now,
        now_ms: attempt.now_ms,
    };
    let (written, name) = tokio::join!(
        app.store.signin_write(&write),
        client_name(app, &attempt.auth)
    );
    let (written, name) = (written?, name?);
    let auth = &attempt.auth;
    if !written {
        attempt.audit.throttled("race");
        let form = forms::sign_in(app, auth, &name, attempt.username, Some(TOO_MANY_ATTEMPTS));
        return Ok(throttled(form, attempt.checked.retry_after_lost()));
    }
    attempt.audit.failed();
    Ok(forms::sign_in(
        app,
        auth,
        &name,
        attempt.username,
        Some(WRONG_CREDENTIALS),
    ))
}

/// The right password of `user`: a new session, the request signed in, one atomic write;
/// then on to consent, with the session cookie and the browser's renewed device token.
async fn succeeded<S: ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    attempt: Attempt<'_>,
    user: &User,
    device_token: impl FnOnce() -> String,
) -> Result<Response<Body>, OAuthError> {
    let Attempt { now, now_ms, .. } = attempt;
    // OIDC Core §3.1.2.1: a request that names its person (id_token_hint, a `sub` claim with
    // a value) is completed for nobody else; the right password of another account signs
    // nobody in here, and counts as no failure.
    if attempt
        .auth
        .required_sub
        .as_ref()
        .is_some_and(|r| *r != user.sub)
    {
        tracing::info!(event = "signin.other_account", client_id = %attempt.audit.client_id, "sign-in as another account than requested");
        return login_form(app, &attempt.auth, attempt.username, Some(OTHER_ACCOUNT)).await;
    }
    if user.totp {
        return totp::due(app, attempt, user).await;
    }
    let signed_in = SignedIn::new(
        &app.config,
        &attempt.auth,
        user,
        crate::protocol::acr::Method::Password,
        now_ms,
    );
    let write = SignInWrite {
        counters: attempt.checked.on_success(),
        session: Some(&signed_in.session),
        request: Some(&signed_in.request),
        passkey: None,
        factors: None,
        now,
        now_ms,
    };
    if !app.store.signin_write(&write).await? {
        return attempt.lost_race(app, &signed_in.request).await;
    }
    attempt
        .audit
        .succeeded(&user.sub, &signed_in.request.client_id);
    let mut resp = signed_in.to_consent(&app.config);
    remember_device(&app.config, &mut resp, &device_token());
    Ok(resp)
}

/// This browser is now known for the account it signed in as: its renewed device token
/// (SECURITY.md: a year, renewed at each sign-in, so that a person who signs in rarely
/// keeps it).
fn remember_device(config: &Config, resp: &mut Response<Body>, token: &str) {
    let secure = config.secure_cookies();
    let ttl = config.sign_in.device_ttl;
    let device_cookie = http::set_cookie(
        &http::cookie_name(device::COOKIE, secure),
        token,
        ttl,
        secure,
    );
    http::append_header(resp, "set-cookie", &device_cookie);
}
