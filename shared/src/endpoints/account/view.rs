//! The account page as the person sees it: who they are, their passkeys (with when each was
//! added and last used), and what they may do now. Read: the passkeys their factors list,
//! one round trip; nothing for a visitor who is not signed in.
use askama::Template;
use lambda_http::{Body, Response, http::StatusCode};

use super::{AccountStore, RECENT, Visitor, dates};
use crate::protocol::acr::Level;
use crate::{
    App, OAuthError,
    endpoints::Endpoint,
    pages::{self, Frame},
};

/// What the page says about what just happened.
pub(super) enum Notice<'a> {
    None,
    /// A change was asked for without a live session.
    SignedOut,
    /// A change was asked for longer than [`RECENT`] after signing in, or from a sign-in
    /// weaker than changes need (`Visitor::level_to_change`).
    ConfirmFirst,
    Added(&'a str),
    Removed,
    SessionsEnded,
    TotpAdded,
    TotpRemoved,
    /// A change refused: why, in the person's words.
    Error(&'a str),
}

/// The account page's one script: it creates the passkey whose options the page carries.
/// Static, so the CSP admits it by its hash.
pub(super) const SCRIPT: &str = include_str!("../../../templates/account.js");

/// What the page shows besides the person's factors, right after a step.
pub(super) enum Extra {
    None,
    /// A passkey registration just begun: its creation options (JSON), for the script.
    Passkey(String),
    /// An authenticator app being added: the secret to scan.
    Totp(TotpEnrolment),
    /// The recovery codes of an authenticator app just added, shown this once.
    Recovery(Vec<String>),
}

/// A new TOTP secret as the page shows it: a QR code (inline SVG), typed out in groups,
/// and whole in the confirming form.
pub(super) struct TotpEnrolment {
    pub qr: String,
    pub grouped: String,
    pub secret: String,
}

struct PasskeyRow {
    id: String,
    name: String,
    added: String,
    last_used: Option<String>,
    synced: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    f: Frame<'a>,
    action: String,
    /// None: nobody signed in.
    person: Option<Person>,
    status: Option<String>,
    error: Option<&'a str>,
    script: &'static str,
}

struct Person {
    name: String,
    csrf: String,
    /// Whether changes may be made now (a recent sign-in, strong enough).
    recent: bool,
    /// A change needs two factors (the person has a second factor or a passkey).
    two_factors: bool,
    minutes: i64,
    passkeys: Vec<PasskeyRow>,
    /// The creation options (JSON) of a passkey being added, for the script, and its name.
    creating: Option<(String, String)>,
    /// When the authenticator app was added (None: there is none), and how many unused
    /// recovery codes are left.
    totp: Option<String>,
    recovery_left: usize,
    enrolling: Option<TotpEnrolment>,
    recovery_codes: Vec<String>,
}

/// The page for `v` (None: not signed in), with `notice` and `extra`.
pub(super) async fn page<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: Option<&Visitor>,
    notice: Notice<'_>,
    extra: Extra,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let person = match v {
        Some(v) => Some(person(app, v, extra, now).await?),
        None => None,
    };
    let (status, error, code) = match notice {
        Notice::None => (None, None, StatusCode::OK),
        Notice::SignedOut => (
            None,
            Some("You are not signed in any more. Sign in again to continue."),
            StatusCode::UNAUTHORIZED,
        ),
        Notice::ConfirmFirst => (
            None,
            Some("To change how you sign in, confirm it is you first."),
            StatusCode::FORBIDDEN,
        ),
        Notice::Added(name) => (
            Some(format!("Passkey “{name}” added.")),
            None,
            StatusCode::OK,
        ),
        Notice::Removed => (Some("Passkey removed.".into()), None, StatusCode::OK),
        Notice::SessionsEnded => (
            Some("You are signed out everywhere else.".into()),
            None,
            StatusCode::OK,
        ),
        Notice::TotpAdded => (
            Some("Authenticator app added. Keep your recovery codes somewhere safe.".into()),
            None,
            StatusCode::OK,
        ),
        Notice::TotpRemoved => (
            Some("Authenticator app removed.".into()),
            None,
            StatusCode::OK,
        ),
        Notice::Error(e) => (None, Some(e), StatusCode::BAD_REQUEST),
    };
    let scripts: &[&str] = if person.as_ref().is_some_and(|p| p.creating.is_some()) {
        &[SCRIPT]
    } else {
        &[]
    };
    let b = &app.config.branding;
    let body = AccountPage {
        f: Frame::new(b),
        action: app.config.endpoint_url(Endpoint::Account),
        person,
        status,
        error,
        script: SCRIPT,
    }
    .render();
    Ok(pages::respond(b, code, body, &[], scripts))
}

/// The page for `v` again, saying why a change was refused (400).
pub(super) async fn refused<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    why: &str,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    page(app, Some(v), Notice::Error(why), Extra::None, now).await
}

async fn person<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    extra: Extra,
    now: i64,
) -> Result<Person, OAuthError> {
    let passkeys = if v.factors.passkeys.is_empty() {
        vec![]
    } else {
        app.store.passkeys(&v.factors.passkeys).await?
    };
    let name_of_new = v.factors.registration.as_ref().map(|r| r.name.clone());
    let (mut creating, mut enrolling, mut recovery_codes) = (None, None, vec![]);
    match extra {
        Extra::None => {}
        Extra::Passkey(o) => creating = Some((o, name_of_new.unwrap_or_default())),
        Extra::Totp(t) => enrolling = Some(t),
        Extra::Recovery(codes) => recovery_codes = codes,
    }
    Ok(Person {
        name: v.user.shown_name(v.session.idp.as_deref()).to_string(),
        csrf: v.csrf(),
        recent: v.may_change(now),
        minutes: RECENT / 60,
        two_factors: v.level_to_change() > Level::Password,
        passkeys: passkeys
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id,
                name: p.name,
                added: dates::day(p.created_at),
                last_used: (p.last_used_at > 0).then(|| dates::day(p.last_used_at)),
                synced: p.backed_up,
            })
            .collect(),
        totp: v.factors.totp.as_ref().map(|t| dates::day(t.enrolled_at)),
        recovery_left: v.factors.recovery.len(),
        creating,
        enrolling,
        recovery_codes,
    })
}
