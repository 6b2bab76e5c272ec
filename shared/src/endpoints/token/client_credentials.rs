//! client_credentials (RFC 6749 §4.4): a confidential client acting for itself gets an
//! access token (sub = its client_id, RFC 9068 §2.2) with its API scopes and custom claims;
//! no ID token, no refresh token.
use lambda_http::{Body, Response};

use super::mint;
use crate::{
    OAuthError,
    app::SigningApp,
    error::ErrorCode,
    http::Params,
    protocol::scope,
    store::{Client, RequestedClaims},
};

pub async fn issue<S: ?Sized>(
    app: &SigningApp<S>,
    client: &Client,
    form: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let api_scopes: Vec<String> = client
        .allowed_scopes
        .iter()
        .filter(|s| !scope::USER_SCOPES.contains(&s.as_str()))
        .cloned()
        .collect();
    let scopes = match form.get("scope") {
        None => api_scopes,
        Some(s) => {
            let asked = scope::parse(s);
            if let Some(bad) = asked.iter().find(|s| !api_scopes.contains(s)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("scope {bad:?} is not available to this client"),
                ));
            }
            asked
        }
    };
    let request = mint::Request {
        client,
        user: None,
        scopes: &scopes,
        grant_id: None,
        auth_time: now,
        nonce: None,
        claims: &RequestedClaims::default(),
        sid: None,
        idp: None,
        amr: &[],
    };
    let tokens = mint::mint(app, &request, now).await?;
    tracing::info!(client_id = %client.client_id, "client credentials token issued");
    Ok(mint::response(app, tokens, None))
}
