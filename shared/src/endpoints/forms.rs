//! The two pages a person meets on the way from `/authorize` back to the client, rendered
//! from what the authorization request carries (its client as it was, the person once
//! signed in): the sign-in form and the consent page. `/authorize` shows whichever comes
//! first itself (a browser round trip and a store round trip fewer); `/login` and `/consent`
//! show them again. Both forms post back with the request's id and CSRF token.
use lambda_http::{Body, Response};

use super::Endpoint;
use crate::{
    App, http,
    pages::{self, ConsentView, LoginView, PasskeyForm, ProviderLink, StepUpView},
    protocol::{acr::Level, release},
    store::{AuthRequest, Client, RequestedClaims, User},
};

/// The sign-in form for `auth`, for the client named `client_name`, with `username`
/// filled in and an `error` to show.
pub fn sign_in<S: ?Sized, K: ?Sized>(
    app: &App<S, K>,
    auth: &AuthRequest,
    client_name: &str,
    username: &str,
    error: Option<&str>,
) -> Response<Body> {
    let action = app.config.endpoint_url(Endpoint::Login);
    let passkey_action = app.config.endpoint_url(Endpoint::PasskeySignIn);
    let passkey = passkey_options(app, auth).map(|options| PasskeyForm {
        action: &passkey_action,
        options,
    });
    pages::login_page(
        &app.config.branding,
        LoginView {
            client_name,
            action: &action,
            req_id: &auth.id,
            csrf: &auth.csrf,
            username,
            error,
            // Phishing-resistant: a passkey is the only way offered (no upstream buttons
            // either: `authorize::buttons`).
            password: app.config.sign_in.password && auth.min_level.password_can_meet(),
            passkey,
            needs: (auth.min_level > Level::Password)
                .then(|| (auth.min_level.describe(), account_url(app))),
            providers: auth
                .providers
                .iter()
                .map(|p| ProviderLink {
                    name: &p.name,
                    logo: p.logo_uri.as_deref(),
                    href: http::url_with_query(
                        &app.config.endpoint_url(Endpoint::FederationStart),
                        &[("req", &auth.id), ("idp", &p.id)],
                    ),
                })
                .collect(),
        },
    )
}

/// The consent page: every scope with the claims it would release about `user` to
/// `client`, and every claim `grant` releases by name (`protocol::release`).
pub fn consent<S: ?Sized, K: ?Sized>(
    app: &App<S, K>,
    auth: &AuthRequest,
    client: &Client,
    user: &User,
    grant: &RequestedClaims,
) -> Response<Body> {
    let (by_scope, individually) = release::disclosures(client, user, &auth.scopes, grant);
    let action = app.config.endpoint_url(Endpoint::Consent);
    pages::consent_page(
        &app.config.branding,
        ConsentView {
            client_name: &client.client_name,
            client_logo: client.logo_uri.as_deref(),
            username: user.shown_name(auth.idp.as_deref()),
            action: &action,
            req_id: &auth.id,
            csrf: &auth.csrf,
            scopes: &by_scope,
            claims: individually,
        },
    )
}

/// The page for a person signed in below the level `auth` needs (`login::consent`): what it
/// needs, how they signed in, a link to sign in another way (this request's sign-in page)
/// and to the account page, and "Cancel", which posts to `/consent` and gives up.
pub fn step_up<S: ?Sized, K: ?Sized>(
    app: &App<S, K>,
    auth: &AuthRequest,
    client_name: &str,
) -> Response<Body> {
    let action = app.config.endpoint_url(Endpoint::Consent);
    pages::step_up_page(
        &app.config.branding,
        StepUpView {
            client_name,
            needs: auth.min_level.describe(),
            did: Level::of_sign_in(&auth.amr).describe(),
            sign_in: http::url_with_query(
                &app.config.endpoint_url(Endpoint::Login),
                &[("req", &auth.id)],
            ),
            account: account_url(app),
            action: &action,
            req_id: &auth.id,
            csrf: &auth.csrf,
        },
    )
}

/// The account page, where a person adds a passkey or an authenticator app.
fn account_url<S: ?Sized, K: ?Sized>(app: &App<S, K>) -> String {
    app.config.endpoint_url(Endpoint::Account)
}

/// The WebAuthn request options of `auth`'s passkey sign-in (no allow list: the browser
/// offers the passkeys it holds for this site), or None without a challenge.
fn passkey_options<S: ?Sized, K: ?Sized>(app: &App<S, K>, auth: &AuthRequest) -> Option<String> {
    let challenge =
        crate::crypto::b64url_decode(&auth.passkey_challenge).filter(|c| !c.is_empty())?;
    let rp = crate::passkey::RelyingParty::from_issuer(&app.config.issuer).ok()?;
    Some(crate::passkey::request_options(&rp, &challenge, &[]).to_string())
}
