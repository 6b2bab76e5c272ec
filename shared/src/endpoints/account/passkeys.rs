//! Adding and removing passkeys (WebAuthn §7.1). Adding is two posts: the first makes the
//! ceremony's challenge, stored on the person's factors with the session that asked, and
//! shows the page with the creation options; the browser's answer comes back in the
//! second, which registers the passkey and spends the challenge in one conditional write.
use lambda_http::{Body, Response};

use super::{AccountStore, TRY_AGAIN, Visitor, view, view::Notice};
use crate::{
    App, OAuthError,
    crypto::{b64url, b64url_decode, random_bytes},
    http::Params,
    passkey::{self, NewCredential, RegistrationResponse, RelyingParty, TIMEOUT_MS},
    signin,
    store::{AddPasskey, Factors, Passkey, Registration},
};

/// The longest name a person may give a passkey.
const MAX_NAME: usize = 64;

/// The first post: a fresh challenge for this session, then the page with the options.
pub(super) async fn begin<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    params: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let name = params.get("name").unwrap_or("").trim();
    let name = if name.is_empty() { "Passkey" } else { name };
    if name.chars().count() > MAX_NAME {
        return view::refused(app, v, "Give the passkey a shorter name.", now).await;
    }
    let rp = relying_party(app)?;
    let challenge = passkey::challenge();
    let mut f = v.factors.next_version();
    if f.user_handle.is_empty() {
        // The person's sub, sealed, so a sign-in with any of their passkeys reads them with
        // the passkey (`login::passkey`); random when their sub is too long for a handle.
        let keys = signin::keys::load(&app.signin_keys, &*app.store, None, now).await?;
        let handle = keys
            .seal_user_handle(&v.user.sub)
            .unwrap_or_else(|| random_bytes::<32>().to_vec());
        f.user_handle = b64url(&handle);
    }
    f.registration = Some(Registration {
        challenge: b64url(&challenge),
        sid: v.session.sid.clone(),
        name: name.to_string(),
        expires_at: now + (TIMEOUT_MS / 1000) as i64,
    });
    if !app.store.put_factors(&f).await? {
        return view::refused(app, v, TRY_AGAIN, now).await;
    }
    let handle = b64url_decode(&f.user_handle).unwrap_or_default();
    let exclude: Vec<Vec<u8>> = f
        .passkeys
        .iter()
        .filter_map(|id| b64url_decode(id))
        .collect();
    let shown = v.user.shown_name(v.session.idp.as_deref());
    let options = passkey::creation_options(
        &rp,
        &app.config.branding.product_name,
        &handle,
        shown,
        shown,
        &challenge,
        &exclude,
    );
    let visitor = Visitor {
        factors: f,
        ..v.clone()
    };
    view::page(
        app,
        Some(&visitor),
        Notice::None,
        view::Extra::Passkey(options.to_string()),
        now,
    )
    .await
}

const REFUSED: &str = "That passkey could not be added. Try again.";

/// The second post: the browser's new credential, verified against this session's
/// challenge, then registered with the challenge spent, in one write.
pub(super) async fn finish<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    params: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let rp = relying_party(app)?;
    let credential = params.get("credential").unwrap_or("");
    let verified = ceremony(&v.factors, &v.session.sid, now).and_then(|(r, challenge)| {
        let response =
            RegistrationResponse::from_json(credential.as_bytes()).map_err(|e| e.to_string())?;
        passkey::verify_registration(&rp, &challenge, &response, true)
            .map(|c| (r, c))
            .map_err(|e| e.to_string())
    });
    let (registration, new) = match verified {
        Ok(ok) => ok,
        Err(reason) => {
            tracing::warn!(event = "account.passkey_refused", sub = %v.user.sub, reason = %reason, "passkey registration refused");
            return view::refused(app, v, REFUSED, now).await;
        }
    };
    let p = stored(&v.factors, &registration, new, now);
    let mut f = v.factors.next_version();
    f.registration = None;
    f.passkeys.push(p.id.clone());
    match app.store.add_passkey(&f, &p).await? {
        AddPasskey::Added => {
            tracing::info!(event = "account.passkey_added", sub = %v.user.sub, credential = %p.id, synced = p.backed_up, "passkey added");
            let visitor = Visitor {
                factors: f,
                ..v.clone()
            };
            view::page(
                app,
                Some(&visitor),
                Notice::Added(&p.name),
                view::Extra::None,
                now,
            )
            .await
        }
        AddPasskey::IdTaken => {
            tracing::warn!(event = "account.passkey_refused", sub = %v.user.sub, reason = "credential id taken", "passkey registration refused");
            view::refused(app, v, REFUSED, now).await
        }
        AddPasskey::Stale => view::refused(app, v, TRY_AGAIN, now).await,
    }
}

/// Removes one of the person's passkeys, unless it is the last way they have to sign in.
pub(super) async fn remove<S: AccountStore + ?Sized>(
    app: &App<S>,
    v: &Visitor,
    params: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let id = params.get("id").unwrap_or("");
    if !v.factors.has_passkey(id) {
        return view::refused(app, v, "That passkey is not on your account.", now).await;
    }
    // A password is a way in only where passwords are: offered, and enough for the
    // deployment's least level (not where every sign-in must be phishing-resistant).
    let limits = &app.config.sign_in;
    let password =
        limits.password && !v.user.password_hash.is_empty() && limits.min_level.password_can_meet();
    if !password && v.factors.passkeys.len() == 1 {
        super::audit_refused(v, "passkey-remove", "last_method");
        return view::refused(
            app,
            v,
            "This passkey is the only way you can sign in here: add another before you remove it.",
            now,
        )
        .await;
    }
    let mut f = v.factors.next_version();
    f.passkeys.retain(|p| p != id);
    if !app.store.remove_passkey(&f, id).await? {
        return view::refused(app, v, TRY_AGAIN, now).await;
    }
    tracing::info!(event = "account.passkey_removed", sub = %v.user.sub, credential = %id, "passkey removed");
    let visitor = Visitor {
        factors: f,
        ..v.clone()
    };
    view::page(app, Some(&visitor), Notice::Removed, view::Extra::None, now).await
}

fn relying_party<S: ?Sized>(app: &App<S>) -> Result<RelyingParty, OAuthError> {
    RelyingParty::from_issuer(&app.config.issuer)
        .map_err(|e| OAuthError::server_error(format!("issuer is no WebAuthn origin: {e}")))
}

/// The ceremony under way for session `sid`, and its challenge: none begun, begun by another
/// session (another browser), or expired, is an error.
fn ceremony(f: &Factors, sid: &str, now: i64) -> Result<(Registration, Vec<u8>), String> {
    let r = f.registration.clone().ok_or("no registration under way")?;
    if r.sid != sid {
        return Err("challenge of another session".into());
    }
    if r.expires_at < now {
        return Err("registration expired".into());
    }
    let challenge = b64url_decode(&r.challenge).ok_or("stored challenge")?;
    Ok((r, challenge))
}

/// The passkey record of a verified new credential.
fn stored(f: &Factors, r: &Registration, c: NewCredential, now: i64) -> Passkey {
    Passkey {
        id: b64url(&c.credential_id),
        sub: f.sub.clone(),
        user_handle: f.user_handle.clone(),
        public_key: b64url(&c.public_key),
        alg: c.alg,
        sign_count: c.sign_count,
        name: r.name.clone(),
        created_at: now,
        last_used_at: 0,
        backup_eligible: c.backup_eligible,
        backed_up: c.backed_up,
        transports: c.transports,
    }
}
