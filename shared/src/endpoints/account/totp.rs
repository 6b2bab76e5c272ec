//! An authenticator app as second factor (RFC 6238), from the account page. Enrolling is two
//! posts: the first shows a new secret (a QR code and the secret typed out), the second
//! carries it back with a code from the app, which proves the app holds it
//! (`second_factor::enrol`); only then is it sealed and stored, and the ten recovery codes
//! are shown, this once. The secret travels in the page's form in between: it is shown on
//! that page anyway, and the form needs the page's CSRF token.
use lambda_http::{Body, Response};

use super::{AccountStore, Visitor, view, view::Notice, view::TotpEnrolment};
use crate::{
    App, OAuthError,
    http::Params,
    second_factor::{self, EnrolError},
    totp::{TotpSecret, otpauth_uri, qr_svg},
};

/// The first post: a new secret to scan.
pub(super) async fn begin<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let enrolment = enrolment(app, v, &TotpSecret::generate())?;
    view::page(
        app,
        Some(v),
        Notice::None,
        view::Extra::Totp(enrolment),
        now,
    )
    .await
}

/// The second post: the secret back with a code from the app.
pub(super) async fn confirm<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    params: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let secret = TotpSecret::from_base32(params.get("secret").unwrap_or(""))
        .map_err(|_| OAuthError::invalid_request("The secret was not sent back whole."))?;
    let code = params.get("code").unwrap_or("").trim();
    let sealer = app.sealer()?;
    let enrolled =
        second_factor::enrol_from(&*app.store, sealer, &v.user, &v.factors, &secret, code, now);
    match enrolled.await {
        Ok((codes, factors)) => {
            tracing::info!(event = "account.totp_enrolled", sub = %v.user.sub, "authenticator app added");
            let after = Visitor {
                factors,
                ..v.clone()
            };
            view::page(
                app,
                Some(&after),
                Notice::TotpAdded,
                view::Extra::Recovery(codes),
                now,
            )
            .await
        }
        Err(EnrolError::WrongCode) => {
            super::audit_refused(v, "totp-confirm", "wrong_code");
            let enrolment = enrolment(app, v, &secret)?;
            let notice = Notice::Error(
                "That code is not right. Check the app and the phone's time, and try the newest code.",
            );
            view::page(app, Some(v), notice, view::Extra::Totp(enrolment), now).await
        }
        Err(EnrolError::Stale) => view::refused(app, v, super::TRY_AGAIN, now).await,
        // KMS out of reach is retryable; nothing was written either way.
        Err(EnrolError::Seal(e)) => Err(e.into()),
        Err(EnrolError::Store(e)) => Err(e.into()),
    }
}

/// Removes the authenticator app and its recovery codes.
pub(super) async fn remove<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    match second_factor::remove_from(&*app.store, &v.user, &v.factors).await {
        Ok(removed) => {
            tracing::info!(event = "account.totp_removed", sub = %v.user.sub, "authenticator app removed");
            let after = Visitor {
                factors: removed.unwrap_or_else(|| v.factors.clone()),
                ..v.clone()
            };
            view::page(
                app,
                Some(&after),
                Notice::TotpRemoved,
                view::Extra::None,
                now,
            )
            .await
        }
        Err(EnrolError::Store(e)) => Err(e.into()),
        Err(_) => view::refused(app, v, super::TRY_AGAIN, now).await,
    }
}

fn enrolment<S: ?Sized>(
    app: &App<S>,
    v: &Visitor,
    secret: &TotpSecret,
) -> Result<TotpEnrolment, OAuthError> {
    let uri = otpauth_uri(secret, &app.config.branding.product_name, &v.user.username);
    let qr = qr_svg(&uri).map_err(|e| OAuthError::server_error(format!("QR code: {e}")))?;
    Ok(TotpEnrolment {
        qr,
        grouped: secret.to_base32_grouped(),
        secret: secret.to_base32(),
    })
}
