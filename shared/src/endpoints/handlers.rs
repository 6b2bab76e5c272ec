//! Each Lambda function's handler, as a plain function pointer: a binary that names only
//! `handlers::token` links only what the token endpoint reaches. The local server uses
//! [`verifying`] and [`signing`].
//!
//! These pointers all take the whole store; each handler they call names in its own
//! signature the store traits it touches (`userinfo::handle<S: ClientStore + RevocationStore
//! + UserStore>`), so the compiler holds it to them.
use std::{future::Future, pin::Pin};

use lambda_http::{Body, Request, Response};

use super::Endpoint;
use crate::{App, OAuthError, app::SigningApp, error::ErrorCode, signer::Verifier, store::Store};

pub type Answer<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;
/// A function's handler over the keys `K` its role holds: `dyn Verifier` for every function
/// but `token`, which holds `dyn Signer`.
pub type Handler<K = dyn Verifier> =
    for<'a> fn(&'a App<dyn Store, K>, Endpoint, &'a Request, i64) -> Answer<'a>;

/// Every endpoint of the functions that only verify, for the local server.
pub fn verifying<'a>(app: &'a App, e: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    match e {
        Endpoint::Discovery => discovery(app, e, req, now),
        Endpoint::Jwks => jwks(app, e, req, now),
        Endpoint::Authorize => authorize(app, e, req, now),
        Endpoint::Login | Endpoint::PasskeySignIn | Endpoint::TotpSignIn | Endpoint::Consent => {
            login(app, e, req, now)
        }
        Endpoint::Token => elsewhere(),
        Endpoint::Userinfo => userinfo(app, e, req, now),
        Endpoint::Revocation => revoke(app, e, req, now),
        Endpoint::Introspection => introspect(app, e, req, now),
        Endpoint::Logout => logout(app, e, req, now),
        Endpoint::Registration => register(app, e, req, now),
        Endpoint::FederationStart | Endpoint::FederationCallback | Endpoint::FederationJwks => {
            elsewhere()
        }
        Endpoint::Account => account(app, e, req, now),
    }
}

/// The endpoints of the functions that hold the signer (token, and jwks, which serves its
/// keys), for the local server.
pub fn signing<'a>(app: &'a SigningApp, e: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    match e {
        Endpoint::Token => token(app, e, req, now),
        Endpoint::Jwks => jwks(app, e, req, now),
        _ => elsewhere(),
    }
}

/// A route the dispatcher sends to the other side (see `super::dispatch`).
fn elsewhere<'a>() -> Answer<'a> {
    Box::pin(async { OAuthError::new(ErrorCode::NotFound, "no such endpoint").to_json_response() })
}

pub fn discovery<'a, K: Verifier + ?Sized>(
    app: &'a App<dyn Store, K>,
    _: Endpoint,
    _: &'a Request,
    _: i64,
) -> Answer<'a> {
    Box::pin(super::discovery::handle(app))
}

pub fn jwks<'a, K: Verifier + ?Sized>(
    app: &'a App<dyn Store, K>,
    _: Endpoint,
    _: &'a Request,
    _: i64,
) -> Answer<'a> {
    Box::pin(super::jwks::handle(app))
}

pub fn authorize<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::authorize::handle(app, req, now))
}

pub fn login<'a>(app: &'a App, e: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    match e {
        Endpoint::Consent => Box::pin(super::login::handle_consent(app, req, now)),
        Endpoint::PasskeySignIn => Box::pin(super::login::handle_passkey(app, req, now)),
        Endpoint::TotpSignIn => Box::pin(super::login::handle_totp(app, req, now)),
        _ => Box::pin(super::login::handle_login(app, req, now)),
    }
}

pub fn account<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::account::handle(app, req, now))
}

pub fn token<'a>(app: &'a SigningApp, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::token::handle(app, req, now))
}

pub fn userinfo<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::userinfo::handle(app, req, now))
}

pub fn revoke<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::revocation::handle(app, req, now))
}

pub fn introspect<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::introspection::handle(app, req, now))
}

pub fn logout<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::logout::handle(app, req, now))
}

pub fn register<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::registration::handle(app, req, now))
}

/// The federation function's routes (`endpoints::federation`): its keys are
/// [`Federating`](crate::federation::broker::Federating), which open upstream client secrets
/// and call upstream providers.
#[cfg(feature = "federation")]
pub fn federation<'a>(
    app: &'a App<dyn Store, crate::federation::broker::Federating>,
    e: Endpoint,
    req: &'a Request,
    now: i64,
) -> Answer<'a> {
    match e {
        Endpoint::FederationStart => Box::pin(super::federation::start::handle(app, req, now)),
        Endpoint::FederationCallback => {
            Box::pin(super::federation::callback::handle(app, req, now))
        }
        Endpoint::FederationJwks => Box::pin(super::federation::jwks::handle(app)),
        _ => elsewhere(),
    }
}
