//! `GET /federation/callback`: the upstream's authorization response (RFC 6749 §4.1.2). The
//! `state` is taken once; the browser must be the one that started; then the code is
//! exchanged and the ID token verified (OIDC Core §3.1.3.7), and the person is signed in as
//! a password would sign them in. An upstream that refuses or misbehaves ends on our
//! sign-in page with what went wrong, an audit event, and no session.
use lambda_http::{Body, Request, Response};

use super::{
    account::{self, Identity},
    audit, sign_in_again, unknown_provider,
};
use crate::{
    App, OAuthError,
    crypto::constant_time_eq,
    endpoints::{Endpoint, authorize::BROWSER_COOKIE, login, session::SignedIn},
    error::ErrorCode,
    federation::{
        broker::Federating,
        client_key::{self, credentials},
        upstream::{
            ClientAuth, ClientCredentials, Expect, Metadata, UpstreamError, check_response_issuer,
            exchange_code, userinfo,
        },
    },
    http::{self, Params},
    pages::PageOrError,
    secret::{ClientSecret, StateValue},
    store::{
        AuthRequestStore, FederationAttempt, FederationStore, ProviderStore, SignInStore,
        SignInWrite, UpstreamAuth, UpstreamProvider, UserStore,
    },
};

pub async fn handle<
    S: AuthRequestStore + FederationStore + ProviderStore + SignInStore + UserStore + ?Sized,
>(
    app: &App<S, Federating>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    callback(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

async fn callback<
    S: AuthRequestStore + FederationStore + ProviderStore + SignInStore + UserStore + ?Sized,
>(
    app: &App<S, Federating>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let params = http::query(req);
    let state = StateValue::new(params.get("state").ok_or_else(login::expired)?);
    // Single use: a replayed state (or one from another tab's finished attempt) finds nothing.
    let attempt = app
        .store
        .take_attempt(&state.digest(), now)
        .await?
        .ok_or_else(login::expired)?;
    let browser = http::cookie(
        req,
        &http::cookie_name(BROWSER_COOKIE, app.config.secure_cookies()),
    );
    if !browser.is_some_and(|b| constant_time_eq(b.as_bytes(), attempt.browser_id.as_bytes())) {
        audit("federation.other_browser", &attempt.provider_id, "", "");
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "This sign-in was started in another browser. Start again from the application.",
        ));
    }
    let (auth, provider) = tokio::try_join!(
        app.store.auth_request(&attempt.request_id, now),
        app.store.provider(&attempt.provider_id)
    )?;
    let auth = auth.ok_or_else(login::expired)?;
    let provider = provider
        .filter(|p| p.enabled)
        .ok_or_else(unknown_provider)?;
    let id = match identity(app, &provider, &attempt, &params, now).await {
        Ok(id) => id,
        Err(e) => {
            audit("federation.failed", &provider.id, &auth.client_id, e.code());
            let said = format!(
                "Signing in with {} did not work: {e}.",
                provider.display_name
            );
            return Ok(sign_in_again(app, &auth, &said));
        }
    };
    let now_ms = app.clock.now_ms();
    let user = account::resolve(app, &provider, &id, now_ms).await?;
    if user.disabled {
        audit("federation.disabled", &provider.id, &auth.client_id, "");
        return Ok(sign_in_again(app, &auth, "This account is disabled."));
    }
    if auth.required_sub.as_ref().is_some_and(|r| *r != user.sub) {
        return Ok(sign_in_again(app, &auth, login::OTHER_ACCOUNT));
    }
    let signed_in = SignedIn::new(
        &app.config,
        &auth,
        &user,
        crate::protocol::acr::Method::Federated(&provider.id),
        now_ms,
    );
    let write = SignInWrite {
        counters: vec![],
        session: Some(&signed_in.session),
        request: Some(&signed_in.request),
        passkey: None,
        factors: None,
        now,
        now_ms,
    };
    if !app.store.signin_write(&write).await? {
        return Err(login::already_completed());
    }
    audit("federation.signed_in", &provider.id, &auth.client_id, "");
    Ok(signed_in.to_consent(&app.config))
}

/// Who signed in at the upstream: its answer checked (an `error=`, RFC 9207 `iss`), the code
/// exchanged with PKCE, the ID token verified, and userinfo read if the provider says so.
async fn identity<S: ?Sized>(
    app: &App<S, Federating>,
    provider: &UpstreamProvider,
    attempt: &FederationAttempt,
    params: &Params,
    now: i64,
) -> Result<Identity, UpstreamError> {
    if let Some(error) = params.get("error") {
        return Err(UpstreamError::authorization(
            error,
            params.get("error_description"),
        ));
    }
    let k = &app.keys;
    let code = params
        .get("code")
        .ok_or(UpstreamError::TokenResponse("the answer carries no code"))?;
    // The discovery document (an internet call) and our client secret (a KMS call) need only
    // the provider: both at once.
    let (metadata, secret) = tokio::try_join!(
        k.upstreams.metadata(&*k.fetch, &provider.issuer, now),
        open_secret(k, provider)
    )?;
    // RFC 9207 §2.4: before the code goes anywhere.
    check_response_issuer(&metadata, params.get("iss"))?;
    let assertion;
    let auth = match provider.client_auth {
        UpstreamAuth::ClientSecretBasic => ClientAuth::SecretBasic(secret.expose()),
        UpstreamAuth::ClientSecretPost => ClientAuth::SecretPost(secret.expose()),
        UpstreamAuth::PrivateKeyJwt => {
            assertion = sign_assertion(k, provider, &metadata, now).await?;
            ClientAuth::PrivateKeyJwt(&assertion)
        }
    };
    let client = ClientCredentials {
        client_id: &provider.client_id,
        auth,
    };
    let redirect_uri = app.config.endpoint_url(Endpoint::FederationCallback);
    let exchange = exchange_code(
        &*k.fetch,
        &metadata,
        &client,
        code,
        &redirect_uri,
        &attempt.code_verifier,
    );
    // The key set needs only the discovery document: fetched (or found cached) while the code
    // is exchanged. A failure here shows again when the ID token is verified.
    let (tokens, _) = tokio::join!(exchange, k.upstreams.jwks(&*k.fetch, &metadata, now));
    let tokens = tokens?;
    let expect = Expect::new(&metadata, &provider.client_id, &attempt.nonce, now);
    let verified = k
        .upstreams
        .verify_id_token(&*k.fetch, &metadata, &tokens.id_token, &expect)
        .await?;
    let mut claims = verified.claims;
    if provider.userinfo {
        let more = userinfo(
            &*k.fetch,
            &metadata,
            &tokens.access_token,
            &verified.subject,
        )
        .await?;
        for (name, value) in more {
            claims.entry(name).or_insert(value);
        }
    }
    Ok(Identity {
        issuer: verified.issuer,
        sub: verified.subject,
        claims,
    })
}

/// The provider's client secret, opened (none for `private_key_jwt`).
async fn open_secret(
    k: &Federating,
    provider: &UpstreamProvider,
) -> Result<ClientSecret, UpstreamError> {
    match &provider.sealed_secret {
        Some(sealed) => k
            .sealer
            .open(&provider.id, sealed)
            .await
            .map_err(credentials),
        None => Ok(ClientSecret::new("")),
    }
}

/// Our `private_key_jwt` client assertion for the provider's token endpoint.
async fn sign_assertion(
    k: &Federating,
    provider: &UpstreamProvider,
    metadata: &Metadata,
    now: i64,
) -> Result<String, UpstreamError> {
    let key = k.client_key.as_ref().ok_or_else(|| {
        credentials("private_key_jwt: no client key (FEDERATION_CLIENT_KEY is not set)")
    })?;
    client_key::assertion(&**key, &provider.client_id, metadata, now).await
}
