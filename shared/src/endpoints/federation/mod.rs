//! Sign-in through an upstream OpenID provider ("Continue with Google"), the function
//! `federation`: [`start`] sends the browser there with a single-use `state` bound to this
//! browser and this authorization request, a fresh `nonce` and PKCE S256; [`callback`]
//! takes the answer, verifies the upstream's ID token completely (`federation::upstream`),
//! finds or creates the local account through its link ([`account`]) and signs the person in
//! exactly as a password does (`endpoints::session`); [`jwks`] publishes our client key for
//! upstreams we authenticate to with `private_key_jwt`. SECURITY.md, "Federation", has the
//! threats and what stops each.
pub mod account;
pub mod callback;
pub mod jwks;
pub mod start;

use lambda_http::{Body, Response};

use crate::{
    App, OAuthError, endpoints::forms, federation::broker::Federating, store::AuthRequest,
};

/// How long the upstream round trip may take: the person signs in and consents there.
pub const ATTEMPT_TTL: i64 = 600;

fn unknown_provider() -> OAuthError {
    OAuthError::invalid_request(
        "This sign-in option is not offered (unknown or disabled provider).",
    )
}

/// One line of the audit log per federated sign-in outcome: the provider, the request's
/// client and what happened; never a token, a code or a claim value.
fn audit(event: &'static str, provider: &str, client_id: &str, detail: &str) {
    tracing::info!(event, provider, client_id, detail, "federated sign-in");
}

/// The sign-in page of the request again, saying what went wrong.
fn sign_in_again<S: ?Sized>(
    app: &App<S, Federating>,
    auth: &AuthRequest,
    error: &str,
) -> Response<Body> {
    let name = auth
        .client
        .as_ref()
        .map_or(auth.client_id.as_str(), |c| c.client_name.as_str());
    forms::sign_in(app, auth, name, "", Some(error))
}
