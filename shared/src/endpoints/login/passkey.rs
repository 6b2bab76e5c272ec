//! `POST /login/passkey`: a sign-in with a passkey (WebAuthn §7.2), posted by the sign-in
//! page with the request's id, its CSRF token and the browser's assertion.
//!
//! One read of the request, the passkey the assertion names and, when the user handle is
//! one of ours, the person it names (in parallel; else the person after the passkey), then
//! one atomic write: the session, the request signed in (its challenge
//! gone), and the passkey's new counter, only while that counter is the one read, the
//! person's factors still list the passkey and the person is not disabled (`PasskeyUse`).
//! The request's challenge is spent by the write (conditional on it), so the same assertion
//! never signs in twice, even with a synced passkey whose counter stays 0.
use lambda_http::{Body, Request, Response};

use super::{OTHER_ACCOUNT, bound, expired, login_form, params_of};
use crate::{
    App, OAuthError,
    crypto::{b64url, b64url_decode},
    endpoints::session::SignedIn,
    pages::PageOrError,
    passkey::{self, AssertionResponse, PasskeyError, RelyingParty},
    protocol::acr,
    store::{
        AuthRequestStore, ClientStore, FactorStore, Passkey, PasskeyUse, SignInStore, SignInWrite,
        UserStore,
    },
};

const PASSKEY_REFUSED: &str =
    "That passkey could not sign you in here. Try again, or use another way.";

pub async fn handle_passkey<
    S: AuthRequestStore + ClientStore + SignInStore + FactorStore + UserStore + ?Sized,
>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    sign_in(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

async fn sign_in<
    S: AuthRequestStore + ClientStore + SignInStore + FactorStore + UserStore + ?Sized,
>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let params = params_of(req, "The passkey sign-in was not sent as a form.")?;
    let now_ms = app.clock.now_ms();
    let id = params.get("req").ok_or_else(expired)?;
    let assertion = AssertionResponse::from_json(params.get("credential").unwrap_or("").as_bytes());
    let credential_id = assertion
        .as_ref()
        .map(|a| b64url(&a.credential_id))
        .unwrap_or_default();
    // A user handle of ours names the person (sealed: `SignInKeys::seal_user_handle`): then
    // they are read with the request and the passkey. Otherwise (a container that has not
    // read the deployment secret yet, a handle from before), after the passkey.
    let named = assertion
        .as_ref()
        .ok()
        .and_then(|a| a.user_handle.as_deref())
        .and_then(|h| app.signin_keys.get()?.open_user_handle(h));
    let (auth, stored, early) = tokio::join!(
        app.store.auth_request(id, now),
        async {
            if credential_id.is_empty() {
                Ok(None)
            } else {
                app.store.passkey(&credential_id).await
            }
        },
        async {
            match &named {
                Some(sub) => app.store.user(sub).await.map(Some),
                None => Ok(None),
            }
        }
    );
    let auth = bound(&app.config, req, &params, auth?, true)?;
    let (stored, early) = (stored?, early?);
    let checked = match (assertion, stored) {
        (Ok(a), Some(p)) => check(app, &auth, &a, &p, now).map(|used| (used, p)),
        (Err(e), _) => Err(e),
        (Ok(_), None) => Err(PasskeyError::Malformed("unknown credential")),
    };
    let (used, stored) = match checked {
        Ok(ok) => ok,
        Err(e) => return refused(app, auth, &credential_id, &e).await,
    };
    // The person, for the request's snapshot of them: the consent steps then need no read
    // of their own. The passkey's record says whose it is; the handle only saved a wait.
    let user = match early {
        Some(u) if named.as_deref() == Some(stored.sub.as_str()) => u,
        _ => app.store.user(&stored.sub).await?,
    };
    let Some(user) = user.filter(|u| !u.disabled) else {
        return refused(
            app,
            auth,
            &credential_id,
            &PasskeyError::Malformed("no such person"),
        )
        .await;
    };
    if auth.required_sub.as_ref().is_some_and(|r| *r != user.sub) {
        tracing::info!(event = "signin.other_account", client_id = %auth.client_id, "sign-in as another account than requested");
        return login_form(app, &auth, "", Some(OTHER_ACCOUNT)).await;
    }
    let method = acr::Method::Passkey {
        synced: used.backed_up,
    };
    let signed_in = SignedIn::new(&app.config, &auth, &user, method, now_ms);
    let write = SignInWrite {
        counters: vec![],
        session: Some(&signed_in.session),
        request: Some(&signed_in.request),
        passkey: Some(PasskeyUse {
            passkey: &used,
            previous_count: stored.sign_count,
            challenge: &auth.passkey_challenge,
        }),
        factors: None,
        now,
        now_ms,
    };
    if !app.store.signin_write(&write).await? {
        // Used meanwhile (the same assertion twice), removed, or its person disabled.
        return refused(
            app,
            auth,
            &credential_id,
            &PasskeyError::Malformed("no longer usable"),
        )
        .await;
    }
    tracing::info!(event = "signin.succeeded", sub = %user.sub, client_id = %auth.client_id, method = "passkey", "signed in");
    Ok(signed_in.to_consent(&app.config))
}

/// The assertion against the stored passkey and this request's challenge: the passkey as
/// it is after this sign-in.
fn check<S: ?Sized>(
    app: &App<S>,
    auth: &crate::store::AuthRequest,
    a: &AssertionResponse,
    p: &Passkey,
    now: i64,
) -> Result<Passkey, PasskeyError> {
    let rp = RelyingParty::from_issuer(&app.config.issuer)
        .map_err(|_| PasskeyError::Malformed("issuer"))?;
    let challenge = b64url_decode(&auth.passkey_challenge)
        .filter(|c| !c.is_empty())
        .ok_or(PasskeyError::ChallengeMismatch)?;
    // A discoverable credential names its person; it must be the passkey's.
    let handle = b64url_decode(&p.user_handle).unwrap_or_default();
    if a.user_handle.as_ref().is_some_and(|h| *h != handle) {
        return Err(PasskeyError::Malformed("user handle"));
    }
    let key = b64url_decode(&p.public_key).ok_or(PasskeyError::Malformed("stored key"))?;
    let verified = passkey::verify_assertion(&rp, &challenge, a, &key, p.sign_count, true)?;
    Ok(Passkey {
        sign_count: verified.sign_count,
        backed_up: verified.backed_up,
        last_used_at: now,
        ..p.clone()
    })
}

/// A refused attempt: audited (a counter that went back as a possible clone), and the
/// sign-in form again. The request is left as it is: writing it back here could bring back
/// one that a consent retired meanwhile; its challenge is spent by the one sign-in it allows.
async fn refused<S: ClientStore + ?Sized>(
    app: &App<S>,
    auth: crate::store::AuthRequest,
    credential_id: &str,
    why: &PasskeyError,
) -> Result<Response<Body>, OAuthError> {
    match why {
        PasskeyError::CounterRegressed { .. } => {
            tracing::warn!(event = "passkey.cloned", credential = %credential_id, client_id = %auth.client_id, "a passkey's counter went back: a cloned authenticator?")
        }
        e => {
            tracing::warn!(event = "passkey.failed", reason = %e, client_id = %auth.client_id, "passkey sign-in refused")
        }
    }
    login_form(app, &auth, "", Some(PASSKEY_REFUSED)).await
}
