//! Each Lambda function's handler, as a plain function pointer: a binary that names only
//! `handlers::token` links only what the token endpoint reaches. The local server uses
//! [`all`].
use std::{future::Future, pin::Pin};

use lambda_http::{Body, Request, Response};

use super::Endpoint;
use crate::App;

pub type Answer<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;
pub type Handler = for<'a> fn(&'a App, Endpoint, &'a Request, i64) -> Answer<'a>;

pub fn all<'a>(app: &'a App, e: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    match e {
        Endpoint::Discovery => discovery(app, e, req, now),
        Endpoint::Jwks => jwks(app, e, req, now),
        Endpoint::Authorize => authorize(app, e, req, now),
        Endpoint::Login | Endpoint::Consent => login(app, e, req, now),
        Endpoint::Token => token(app, e, req, now),
        Endpoint::Userinfo => userinfo(app, e, req, now),
        Endpoint::Revocation => revoke(app, e, req, now),
        Endpoint::Introspection => introspect(app, e, req, now),
        Endpoint::Logout => logout(app, e, req, now),
        Endpoint::Registration => register(app, e, req, now),
    }
}

pub fn discovery<'a>(app: &'a App, _: Endpoint, _: &'a Request, _: i64) -> Answer<'a> {
    Box::pin(super::discovery::handle(app))
}

pub fn jwks<'a>(app: &'a App, _: Endpoint, _: &'a Request, _: i64) -> Answer<'a> {
    Box::pin(super::jwks::handle(app))
}

pub fn authorize<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    Box::pin(super::authorize::handle(app, req, now))
}

pub fn login<'a>(app: &'a App, e: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
    match e {
        Endpoint::Consent => Box::pin(super::login::handle_consent(app, req, now)),
        _ => Box::pin(super::login::handle_login(app, req, now)),
    }
}

pub fn token<'a>(app: &'a App, _: Endpoint, req: &'a Request, now: i64) -> Answer<'a> {
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
