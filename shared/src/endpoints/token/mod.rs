//! `/token` (RFC 6749 §3.2): authenticate the client, then the grant: authorization_code
//! (§4.1.3), refresh_token (§6) or client_credentials (§4.4).
mod client_credentials;
mod code;
mod mint;
mod refresh;

use crate::store::{ClientStore, ReplayStore};
use crate::store::{CodeStore, RefreshStore, RevocationStore, UserStore};
use lambda_http::{Body, Request, Response};

use crate::{OAuthError, app::SigningApp, error::ErrorCode, http};

pub use mint::revoke_grant;

pub async fn handle<
    S: ClientStore + CodeStore + RefreshStore + ReplayStore + RevocationStore + UserStore + ?Sized,
>(
    app: &SigningApp<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    match grant(app, req, now).await {
        Ok(resp) => resp,
        Err(e) => e.to_json_response(),
    }
}

async fn grant<
    S: ClientStore + CodeStore + RefreshStore + ReplayStore + RevocationStore + UserStore + ?Sized,
>(
    app: &SigningApp<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let form = http::form(req).ok_or_else(|| {
        OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
    })?;
    if let Some(name) = form.duplicated() {
        return Err(OAuthError::invalid_request(format!(
            "parameter {name} was sent more than once"
        )));
    }
    // For these two, authenticating the client and reading the grant are one round trip.
    match form.get("grant_type") {
        Some("authorization_code") => return code::redeem(app, req, &form, now).await,
        Some("refresh_token") => return refresh::exchange(app, req, &form, now).await,
        _ => {}
    }
    let client = super::client_auth::authenticate(app, req, &form, now).await?;
    let grant = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if grant != "client_credentials" {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type",
        ));
    }
    if !client.allows_grant(grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {grant} grant"),
        ));
    }
    client_credentials::issue(app, &client, &form, now).await
}
