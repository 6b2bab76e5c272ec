//! `GET /federation/start?req=<request>&idp=<provider>`: from the sign-in page's "Continue
//! with ..." link (or `/authorize?idp=`) to the upstream's authorization endpoint.
use lambda_http::{Body, Request, Response};

use super::{ATTEMPT_TTL, audit, unknown_provider};
use crate::{
    App, OAuthError,
    crypto::random_token,
    endpoints::{Endpoint, login},
    error::ErrorCode,
    federation::{
        broker::Federating,
        upstream::{AuthorizationRequest, authorization_url},
    },
    http,
    pages::PageOrError,
    secret::StateValue,
    store::{AuthRequestStore, FederationAttempt, FederationStore, ProviderStore},
};

pub async fn handle<S: AuthRequestStore + FederationStore + ProviderStore + ?Sized>(
    app: &App<S, Federating>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    start(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

async fn start<S: AuthRequestStore + FederationStore + ProviderStore + ?Sized>(
    app: &App<S, Federating>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let params = http::query(req);
    let request_id = params.get("req").ok_or_else(login::expired)?;
    let idp = params.get("idp").ok_or_else(unknown_provider)?;
    let (auth, provider) = tokio::try_join!(
        app.store.auth_request(request_id, now),
        app.store.provider(idp)
    )?;
    // The request must be this browser's: a link opened elsewhere starts nothing.
    let auth = login::bound(&app.config, req, &params, auth, false)?;
    if auth.sub.is_some() {
        return Err(login::already_completed());
    }
    let provider = provider
        .filter(|p| p.enabled)
        .ok_or_else(unknown_provider)?;
    // An upstream's own `amr` is not taken on trust: its sign-in is the password level.
    if !auth.min_level.upstream_meets() {
        return Err(OAuthError::new(
            ErrorCode::UnmetAuthenticationRequirements,
            "The application requires another way of signing in.",
        ));
    }
    let state = StateValue::generate();
    let attempt = FederationAttempt {
        state_hash: state.digest(),
        request_id: auth.id.clone(),
        provider_id: provider.id.clone(),
        browser_id: auth.browser_id.clone(),
        nonce: random_token(32),
        code_verifier: random_token(32),
        expires_at: now + ATTEMPT_TTL,
    };
    // The attempt needs nothing from the upstream: written while its discovery document is
    // fetched (or found cached). If the upstream is unreachable, nobody ever holds this
    // attempt's state, and it expires.
    let k = &app.keys;
    let (metadata, written) = tokio::join!(
        k.upstreams.metadata(&*k.fetch, &provider.issuer, now),
        app.store.put_attempt(&attempt)
    );
    let metadata = match metadata {
        Ok(m) => m,
        // Our sign-in page again, saying so: another way of signing in may work.
        Err(e) => {
            audit(
                "federation.unreachable",
                &provider.id,
                &auth.client_id,
                e.code(),
            );
            let said = format!(
                "{} cannot be reached right now: {e}.",
                provider.display_name
            );
            return Ok(super::sign_in_again(app, &auth, &said));
        }
    };
    written?;
    let redirect_uri = app.config.endpoint_url(Endpoint::FederationCallback);
    let to = authorization_url(
        &metadata,
        &AuthorizationRequest {
            client_id: &provider.client_id,
            redirect_uri: &redirect_uri,
            scopes: &provider.scopes,
            state: state.expose(),
            nonce: &attempt.nonce,
            code_verifier: &attempt.code_verifier,
        },
    );
    audit("federation.started", &provider.id, &auth.client_id, "");
    Ok(http::redirect(to.as_str()))
}
