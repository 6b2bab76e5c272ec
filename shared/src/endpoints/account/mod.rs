//! `/account`: a signed-in person's own page, where they add and remove passkeys and end
//! their other sessions.
//!
//! Who is here is the browser's session (its cookie), read with the person and their
//! factors: two round trips. Nobody signed in, or a session the person has since ended,
//! sees a "Sign in" button, which starts the account page's own sign-in (`signin`).
//!
//! Every change is a form post that carries a token derived from the session cookie (which
//! a cross-site page can neither read nor set), and is made only within [`RECENT`] of the
//! session's sign-in, and by a sign-in of two factors once the person has a second factor
//! or a passkey: a browser left signed in, a stolen session cookie or a phished password
//! cannot add a passkey or sign the owner out elsewhere. Every change is audited
//! (`account.*` events).
mod dates;
mod passkeys;
mod sessions;
mod signin;
mod totp;
mod view;

use lambda_http::{Body, Request, Response, http::Method};

use super::authorize::SESSION_COOKIE;
use crate::{
    App, OAuthError,
    crypto::{b64url, constant_time_eq, secret_digest, sha256},
    error::ErrorCode,
    http::{self, Params},
    pages::PageOrError,
    protocol::acr::Level,
    store::{
        AuthRequestStore, FactorStore, Factors, ProviderStore, Session, SessionStore, SignInStore,
        User, UserStore,
    },
};
use view::Notice;

/// How long after signing in a person may change how they sign in (NIST SP 800-63B §4.2.3
/// asks for re-authentication before such changes; 5 minutes, as GitHub's "sudo mode" is
/// a few hours and too long for a provider every application trusts).
pub const RECENT: i64 = 5 * 60;

/// A change that lost to another one made meanwhile (a version-conditional write).
const TRY_AGAIN: &str = "Something changed on your account meanwhile. Try again.";

/// The store traits the account page touches.
pub trait AccountStore:
    AuthRequestStore + FactorStore + ProviderStore + SessionStore + SignInStore + UserStore
{
}
impl<
    S: AuthRequestStore
        + FactorStore
        + ProviderStore
        + SessionStore
        + SignInStore
        + UserStore
        + ?Sized,
> AccountStore for S
{
}

/// The person the browser's session belongs to, and what the page needs of them.
#[derive(Clone)]
pub(super) struct Visitor {
    /// The session cookie's value (only its digest is stored).
    cookie: String,
    session: Session,
    user: User,
    /// Their factors as read (a fresh record, version 0, if they never enrolled any).
    factors: Factors,
}

impl Visitor {
    /// Whether the person signed in recently enough, and strongly enough, to change how
    /// they sign in.
    fn may_change(&self, now: i64) -> bool {
        now - self.session.auth_time <= RECENT
            && Level::of_sign_in(&self.session.amr) >= self.level_to_change()
    }

    /// The level of sign-in a change needs: two factors once the person has a second factor
    /// or a passkey, so that a phished password alone cannot add an attacker's passkey or
    /// remove the person's own; a password before (how else would they add the first).
    fn level_to_change(&self) -> Level {
        if self.factors.passkeys.is_empty() && self.factors.totp.is_none() {
            Level::Password
        } else {
            Level::TwoFactor
        }
    }

    /// The anti-CSRF token of the page's forms.
    fn csrf(&self) -> String {
        b64url(&sha256(format!("account:{}", self.cookie).as_bytes()))
    }
}

pub async fn handle<S: AccountStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    account(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

async fn account<S: AccountStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let visitor = visitor(app, req, now).await?;
    if req.method() != Method::POST {
        return view::page(app, visitor.as_ref(), Notice::None, view::Extra::None, now).await;
    }
    let params = http::form(req)
        .ok_or_else(|| OAuthError::invalid_request("The account form was not sent as a form."))?;
    let action = params.get("action").unwrap_or("");
    // Signing in needs no session (it makes one), and changes nothing of the person's.
    if action == "sign-in" {
        return signin::start(app, req, visitor.as_ref(), now).await;
    }
    let Some(v) = visitor else {
        return view::page(app, None, Notice::SignedOut, view::Extra::None, now).await;
    };
    if !params
        .get("csrf")
        .is_some_and(|c| constant_time_eq(c.as_bytes(), v.csrf().as_bytes()))
    {
        audit_refused(&v, action, "csrf");
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "This form was not sent from your account page in this browser.",
        ));
    }
    if !v.may_change(now) {
        audit_refused(&v, action, "confirm_first");
        return view::page(app, Some(&v), Notice::ConfirmFirst, view::Extra::None, now).await;
    }
    change(app, &v, action, &params, now).await
}

/// One change the person asked for, from a recent sign-in, by a form of their own page.
async fn change<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    action: &str,
    params: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    match action {
        "passkey-begin" => passkeys::begin(app, v, params, now).await,
        "passkey-finish" => passkeys::finish(app, v, params, now).await,
        "passkey-remove" => passkeys::remove(app, v, params, now).await,
        "end-sessions" => sessions::end_others(app, v, now).await,
        "totp-begin" => totp::begin(app, v, now).await,
        "totp-confirm" => totp::confirm(app, v, params, now).await,
        "totp-remove" => totp::remove(app, v, now).await,
        _ => Err(OAuthError::invalid_request("Unknown account action.")),
    }
}

/// The browser's session and its person, if it is alive: the person exists, is enabled and
/// has not ended their sessions since (`User::accepts`).
async fn visitor<S: AccountStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Option<Visitor>, OAuthError> {
    let name = http::cookie_name(SESSION_COOKIE, app.config.secure_cookies());
    let Some(cookie) = http::cookie(req, &name) else {
        return Ok(None);
    };
    let Some(session) = app.store.session(&secret_digest(&cookie), now).await? else {
        return Ok(None);
    };
    let (user, factors) = tokio::try_join!(
        app.store.user(&session.sub),
        app.store.factors(&session.sub)
    )?;
    let Some(user) = user.filter(|u| u.accepts(session.signed_in_ms())) else {
        return Ok(None);
    };
    let factors = factors.unwrap_or_else(|| Factors {
        sub: user.sub.clone(),
        ..Factors::default()
    });
    Ok(Some(Visitor {
        cookie,
        session,
        user,
        factors,
    }))
}

fn audit_refused(v: &Visitor, action: &str, reason: &str) {
    tracing::warn!(event = "account.refused", sub = %v.user.sub, action, reason, "account change refused");
}
