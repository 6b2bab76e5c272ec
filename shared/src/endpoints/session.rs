//! A person signed in: the new session and the request it completes, made the same way
//! whether they typed a password (`login`) or came back from an upstream provider
//! (`federation`), and the answer that sends them on to consent with the session cookie.
use lambda_http::{Body, Response};

use super::{Endpoint, authorize::SESSION_COOKIE};
use crate::{
    config::Config,
    crypto::{random_token, secret_digest},
    http,
    protocol::acr,
    store::{AuthRequest, Session, User},
};

/// A sign-in not yet written: the cookie's value (only its digest is stored), the session
/// and the request, now signed in. Both are written in one `SignInStore::signin_write`.
pub struct SignedIn {
    cookie: String,
    pub session: Session,
    pub request: AuthRequest,
}

impl SignedIn {
    /// `user` signed in for `auth` at `now_ms`, as `method` says.
    pub fn new(
        config: &Config,
        auth: &AuthRequest,
        user: &User,
        method: acr::Method<'_>,
        now_ms: i64,
    ) -> SignedIn {
        let idp = method.idp();
        let now = now_ms.div_euclid(1000);
        let cookie = random_token(32);
        let session = Session {
            id_hash: secret_digest(&cookie),
            sub: user.sub.clone(),
            auth_time: now,
            expires_at: now + config.session_ttl,
            sid: random_token(16),
            // To the millisecond: a password change just before this sign-in must not end it.
            auth_time_ms: now_ms,
            idp: idp.map(str::to_string),
            amr: method.amr(),
            renewed_ms: 0,
        };
        let request = AuthRequest {
            sub: Some(user.sub.clone()),
            auth_time: Some(now),
            sid: Some(session.sid.clone()),
            auth_time_ms: now_ms,
            user: Some(user.snapshot()),
            idp: idp.map(str::to_string),
            amr: session.amr.clone(),
            passkey_challenge: String::new(),
            ..auth.clone()
        };
        SignedIn {
            cookie,
            session,
            request,
        }
    }

    /// On to the consent page of the request (the account page, for its own sign-in), with
    /// the session cookie.
    pub fn to_consent(&self, config: &Config) -> Response<Body> {
        let mut resp = if self.request.for_account() {
            http::redirect(&config.endpoint_url(Endpoint::Account))
        } else {
            http::redirect_with_query(
                &config.endpoint_url(Endpoint::Consent),
                &[("req", &self.request.id)],
            )
        };
        let secure = config.secure_cookies();
        let session_cookie = http::set_cookie(
            &http::cookie_name(SESSION_COOKIE, secure),
            &self.cookie,
            config.session_ttl,
            secure,
        );
        http::append_header(&mut resp, "set-cookie", &session_cookie);
        resp
    }
}
