//! "Sign out my other sessions": every session and refresh token of the person ends
//! (`User::end_sessions`, as a password change does), except this browser's session, which
//! is renewed first so that it counts as begun after the end (`Session::renewed_ms`).
//! Applications this browser signed in to lose their refresh tokens too, and sign in again
//! silently through the kept session.
use lambda_http::{Body, Response};

use super::{AccountStore, Visitor, view, view::Notice};
use crate::{App, OAuthError, store::Session};

pub(super) async fn end_others<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let now_ms = app.clock.now_ms().max(now.saturating_mul(1000));
    // Renewed before the end is written: a failure between the two leaves this session
    // renewed and the others alive, and the person can simply press the button again.
    let kept = Session {
        renewed_ms: now_ms + 1,
        ..v.session.clone()
    };
    app.store.put_session(&kept).await?;
    let mut user = v.user.clone();
    user.end_sessions(now_ms);
    app.store.update_user(&user).await?;
    tracing::info!(event = "account.sessions_ended", sub = %user.sub, "other sessions ended");
    let visitor = Visitor {
        session: kept,
        user,
        ..v.clone()
    };
    view::page(
        app,
        Some(&visitor),
        Notice::SessionsEnded,
        view::Extra::None,
        now,
    )
    .await
}
