//! `GET, POST /login/totp`: the second step of a password sign-in, for a person who has a
//! TOTP second factor (RFC 6238) and so whose right password alone signs nobody in.
//!
//! `POST /login` learns from the user record it reads anyway that a code is due (the
//! `totp` flag, written with the factors: `second_factor`), and instead of a session
//! writes the request as "password checked, code due" for [`DUE_SECONDS`], bound to the
//! request and so to the browser that started it (`SecondFactorDue`). Its counters are
//! only held, never reset: a password alone must not give whoever has it a fresh series of
//! code guesses.
//!
//! The code step is the password step's twin: one read of everything it depends on (the
//! request, the person, the counters, the factors and, until cached, the deployment
//! secret; the form names the person, so no read waits for another), the sealed secret
//! opened (KMS on AWS: a recovery code needs none), the code checked (RFC 6238 §5.2: a
//! step either side, never a step at or below the last one used), then one atomic write:
//! the session, the request signed in and the factors after the code (their version
//! checked: of two sign-ins with one code, one wins) with the counters, or, for a wrong
//! code, one more failure on the counters. Wrong codes count exactly as wrong passwords
//! (`crate::signin`): from a browser that holds the account's device token only against
//! that device, from any other against the account, so a burst of guesses by someone who
//! has the password never holds the owner back on their own browser.
//!
//! A refusal loses nothing: the form again with the request as it was; a store or KMS
//! failure is the retryable 503 page.
use lambda_http::{Body, Request, Response, http::Method};

use super::{
    Attempt, Audit, MAX_REQUEST_ID, TOO_MANY_ATTEMPTS, bound, client_name, expired, judge, load,
    login_form, next_page, params_of, remember_device, throttled,
};
use crate::{
    App, OAuthError,
    endpoints::{Endpoint, session::SignedIn},
    http::{self, Params},
    pages::{self, PageOrError, TotpView},
    protocol::acr,
    second_factor::{self, Outcome},
    signin::{
        device::{self, DeviceTokens},
        limits::{self, Checked, Counters},
    },
    store::{
        AuthRequest, AuthRequestStore, ClientStore, Factors, SecondFactorDue, SignInQuery,
        SignInStore, SignInWrite, User,
    },
    totp::TotpSecret,
};

/// How long a checked password waits for its code: long enough to find the phone and the
/// app, short enough that a browser left alone is soon back at the password.
pub(super) const DUE_SECONDS: i64 = 300;

const WRONG_CODE: &str = "That code is not right. Check the app shows this account, and try \
                          the code it shows now.";
const WRONG_RECOVERY: &str = "That recovery code is not right, or was used already.";
const USED_CODE: &str =
    "That code was used already. Wait for the app to show the next one and type that.";
const SIGN_IN_AGAIN: &str = "Sign in again: the time to type your code ran out.";

pub async fn handle_totp<S: AuthRequestStore + ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    totp(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

async fn totp<S: AuthRequestStore + ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let params = params_of(req, "The code was not sent as a form.")?;
    if req.method() == Method::POST {
        return check(app, req, &params).await;
    }
    let auth = load(app, req, &params, now, false).await?;
    let Some(due) = due_now(&auth, now) else {
        return again(app, &auth).await;
    };
    let form = Form {
        recovery: params.get("use") == Some("recovery"),
        error: None,
    };
    form.page(app, &auth, due).await
}

/// `POST /login`'s right password of `user`, who has a TOTP factor: no session; the
/// request waits for the code, and the code page is the answer, shown at once rather than
/// behind a redirect (a browser round trip and a read fewer, as `/authorize` shows the
/// sign-in page itself).
pub(super) async fn due<S: ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    attempt: Attempt<'_>,
    user: &User,
) -> Result<Response<Body>, OAuthError> {
    let due = SecondFactorDue {
        user: user.snapshot(),
        expires_at: attempt.now + DUE_SECONDS,
    };
    let request = AuthRequest {
        second_factor: Some(due.clone()),
        ..attempt.auth.clone()
    };
    let write = SignInWrite {
        counters: attempt.checked.on_first_factor(),
        session: None,
        request: Some(&request),
        passkey: None,
        factors: None,
        now: attempt.now,
        now_ms: attempt.now_ms,
    };
    if !app.store.signin_write(&write).await? {
        return attempt.lost_race(app, &attempt.auth).await;
    }
    let a = &attempt.audit;
    tracing::info!(
        event = "signin.code_due",
        sub = %user.sub,
        client_id = %a.client_id,
        account = %a.account,
        ip = %a.ip,
        trusted = a.trusted,
        "password right, second factor due"
    );
    let form = Form {
        recovery: false,
        error: None,
    };
    form.page(app, &request, &due).await
}

/// The code the request waits for, unless its time ran out.
fn due_now(auth: &AuthRequest, now: i64) -> Option<&SecondFactorDue> {
    auth.second_factor.as_ref().filter(|d| now < d.expires_at)
}

/// No code is due (its time ran out, or the person is no longer who it was for): the
/// sign-in form of the request again, the password step decides anew.
async fn again<S: ClientStore + ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
) -> Result<Response<Body>, OAuthError> {
    let username = auth
        .second_factor
        .as_ref()
        .map_or("", |d| d.user.username.as_str());
    login_form(app, auth, username, Some(SIGN_IN_AGAIN)).await
}

/// The code page as it is to be shown.
struct Form<'e> {
    recovery: bool,
    error: Option<&'e str>,
}

impl Form<'_> {
    async fn page<S: ClientStore + ?Sized>(
        &self,
        app: &App<S>,
        auth: &AuthRequest,
        due: &SecondFactorDue,
    ) -> Result<Response<Body>, OAuthError> {
        let name = client_name(app, auth).await?;
        let action = app.config.endpoint_url(Endpoint::TotpSignIn);
        let other = if self.recovery { "app" } else { "recovery" };
        let view = TotpView {
            client_name: &name,
            action: &action,
            req_id: &auth.id,
            csrf: &auth.csrf,
            sub: &due.user.sub,
            username: &due.user.username,
            error: self.error,
            recovery: self.recovery,
            other: http::url_with_query(&action, &[("req", &auth.id), ("use", other)]),
        };
        Ok(pages::totp_page(&app.config.branding, view))
    }
}

/// What was typed: a code from the app, or a recovery code.
enum Typed<'a> {
    Code(&'a str),
    Recovery(&'a str),
}

/// `POST /login/totp`: one read, the secret opened, the code checked, one write.
async fn check<S: ClientStore + SignInStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    params: &Params,
) -> Result<Response<Body>, OAuthError> {
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let request_id = params
        .get("req")
        .filter(|id| id.len() <= MAX_REQUEST_ID)
        .ok_or_else(expired)?;
    // Whose code it is, as the page said: what the one read needs besides the request.
    let sub = params.get("sub").unwrap_or("");
    let username = params.get("username").unwrap_or("");
    let typed = match params.get("recovery") {
        Some(r) => Typed::Recovery(r),
        None => Typed::Code(params.get("code").unwrap_or("")),
    };
    let limits = &app.config.sign_in;
    let ip = limits::client_ip(req);
    let tokens = DeviceTokens::from_request(req, app.config.secure_cookies());
    let account = device::account_of(username);
    let token = tokens.for_account(&account);
    let counters = Counters::new(limits, username, ip, token);
    let query = SignInQuery {
        request_id,
        username,
        counters: counters.keys(),
        secret: app.signin_keys.get().is_none(),
        factors: Some(sub).filter(|s| !s.is_empty()),
        now,
    };
    let state = app.store.signin_read(&query).await?;
    let auth = bound(&app.config, req, params, state.request, true)?;
    let Some(due) = due_now(&auth, now) else {
        return again(app, &auth).await;
    };
    if due.user.sub != sub || due.user.username != username {
        // A form from before another sign-in in this request (another tab): its page again,
        // for the person the request now waits for. Nothing was checked, nothing counts.
        return Ok(next_page(&app.config, Endpoint::TotpSignIn, &auth.id));
    }
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
    let recovery = matches!(typed, Typed::Recovery(_));
    let checked = match decided {
        Ok(c) => c,
        Err(refusal) => {
            audit.throttled(refusal.limit);
            let form = Form {
                recovery,
                error: Some(TOO_MANY_ATTEMPTS),
            };
            let page = form.page(app, &auth, due).await?;
            return Ok(throttled(page, refusal.retry_after));
        }
    };
    // The person as they are now: still enabled, still with a TOTP factor. Otherwise the
    // password step decides again (a disabled person is refused there; one whose factor
    // was removed signs in with the password alone).
    let user = state.user.filter(|u| u.sub == sub && !u.disabled);
    let factors = state.factors.filter(|f| f.totp.is_some());
    let (Some(user), Some(factors)) = (user, factors) else {
        return again(app, &auth).await;
    };
    let outcome = match typed {
        Typed::Recovery(code) => second_factor::use_recovery_code(&factors, code),
        Typed::Code(code) => {
            let secret = open(app, &factors).await?;
            second_factor::use_code(&factors, &secret, code, now)
        }
    };
    let step = Step {
        auth: &auth,
        due,
        checked,
        audit,
        recovery,
        now,
        now_ms,
    };
    match outcome {
        Outcome::Accepted(after) => {
            let device_token = || tokens.after_sign_in(&keys, account, now, limits.device_ttl);
            step.succeeded(app, &user, &after, device_token).await
        }
        refused => step.refused(app, &refused).await,
    }
}

/// The person's TOTP secret, opened for them (`factors.totp` is set).
async fn open<S: ?Sized>(app: &App<S>, factors: &Factors) -> Result<TotpSecret, OAuthError> {
    let sealer = app.sealer()?;
    let sealed = factors
        .totp
        .as_ref()
        .map(|t| &t.sealed_secret)
        .ok_or_else(|| OAuthError::server_error("no TOTP factor to open"))?;
    Ok(sealer.open_totp(&factors.sub, sealed).await?)
}

/// A checked code: what writing its outcome and answering need.
struct Step<'a> {
    auth: &'a AuthRequest,
    due: &'a SecondFactorDue,
    checked: Checked,
    audit: Audit,
    recovery: bool,
    now: i64,
    now_ms: i64,
}

impl Step<'_> {
    fn form(&self, error: &'static str) -> Form<'static> {
        Form {
            recovery: self.recovery,
            error: Some(error),
        }
    }

    /// The form again, 429: the write found the limits no longer let this attempt through
    /// (or, for a right code, that another sign-in used it first), so its answer is withheld.
    async fn lost_race<S: ClientStore + ?Sized>(
        &self,
        app: &App<S>,
    ) -> Result<Response<Body>, OAuthError> {
        self.audit.throttled("race");
        let page = self
            .form(TOO_MANY_ATTEMPTS)
            .page(app, self.auth, self.due)
            .await?;
        Ok(throttled(page, self.checked.retry_after_lost()))
    }

    /// A wrong or used code: one more failure, exactly as a wrong password.
    async fn refused<S: ClientStore + SignInStore + ?Sized>(
        &self,
        app: &App<S>,
        outcome: &Outcome,
    ) -> Result<Response<Body>, OAuthError> {
        let write = SignInWrite {
            counters: self.checked.on_failure(),
            session: None,
            request: None,
            passkey: None,
            factors: None,
            now: self.now,
            now_ms: self.now_ms,
        };
        if !app.store.signin_write(&write).await? {
            return self.lost_race(app).await;
        }
        let (event, message) = match (outcome, self.recovery) {
            (_, true) => ("recovery.failed", WRONG_RECOVERY),
            (Outcome::Replayed, false) => ("totp.replayed", USED_CODE),
            _ => ("totp.failed", WRONG_CODE),
        };
        let a = &self.audit;
        tracing::warn!(
            event,
            sub = %self.due.user.sub,
            client_id = %a.client_id,
            account = %a.account,
            ip = %a.ip,
            trusted = a.trusted,
            "second factor refused"
        );
        self.form(message).page(app, self.auth, self.due).await
    }

    /// A right code: the session, the request signed in and the factors after it, in one
    /// write; then on to consent with the session cookie and the renewed device token.
    async fn succeeded<S: ClientStore + SignInStore + ?Sized>(
        &self,
        app: &App<S>,
        user: &User,
        after: &Factors,
        device_token: impl FnOnce() -> String,
    ) -> Result<Response<Body>, OAuthError> {
        let auth = AuthRequest {
            second_factor: None,
            ..self.auth.clone()
        };
        let method = acr::Method::SecondFactor {
            recovery: self.recovery,
        };
        let signed_in = SignedIn::new(&app.config, &auth, user, method, self.now_ms);
        let write = SignInWrite {
            counters: self.checked.on_success(),
            session: Some(&signed_in.session),
            request: Some(&signed_in.request),
            passkey: None,
            factors: Some(after),
            now: self.now,
            now_ms: self.now_ms,
        };
        if !app.store.signin_write(&write).await? {
            // Another sign-in used this code (or spent this recovery code) first, or a
            // parallel burst of failures reached the limits: refused either way.
            let event = if self.recovery {
                "recovery.failed"
            } else {
                "totp.replayed"
            };
            tracing::warn!(event, sub = %user.sub, client_id = %self.audit.client_id, reason = "race", "second factor refused");
            return self.lost_race(app).await;
        }
        let a = &self.audit;
        if self.recovery {
            tracing::warn!(
                event = "recovery.used",
                sub = %user.sub,
                client_id = %a.client_id,
                remaining = after.recovery.len(),
                "a recovery code signed in"
            );
        }
        tracing::info!(
            event = "signin.succeeded",
            method = if self.recovery { "recovery" } else { "totp" },
            sub = %user.sub,
            client_id = %a.client_id,
            account = %a.account,
            ip = %a.ip,
            trusted = a.trusted,
            "signed in"
        );
        let mut resp = signed_in.to_consent(&app.config);
        remember_device(&app.config, &mut resp, &device_token());
        Ok(resp)
    }
}
