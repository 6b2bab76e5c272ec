//! The account page over HTTP, on every backend: a person signs in to it, adds a passkey
//! with a software authenticator (WebAuthn registration, `none` attestation), signs in to
//! an application with it, removes it, and signs out their other sessions. Every change
//! needs the page's CSRF token, a recent sign-in, and a challenge this browser's session
//! began; the last way a person has to sign in cannot be removed.
use e2e::{
    ALICE, BASIC, BOB, Browser, Outcome, Provider,
    browser::{data_options, input_value},
    each_backend,
};
use serde_json::{Value, json};
use shared::store::User;

use crate::passkey_signin::{Authenticator, passkey_form, sign_in_page};

/// `b` signed in to its account page with `creds` (through the account page's own sign-in):
/// the page.
async fn sign_in(p: &Provider, b: &mut Browser, creds: (&str, &str)) -> String {
    let start = b.submit("/account", &[("action", "sign-in".into())]).await;
    assert_eq!(start.status().as_u16(), 303, "on to the sign-in page");
    match b.follow(start, Some(creds), "").await {
        Outcome::Page { status: 200, body } => {
            assert!(body.contains("Signed in as"), "{body}");
            body
        }
        other => panic!("the account page, not {other:?} ({})", p.issuer()),
    }
}

/// The account page as `b` sees it now.
async fn page(p: &Provider, b: &Browser) -> (u16, String) {
    let resp = b.client().get(p.url("/account")).send().await.expect("GET");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

/// Posts `action` with `fields` and the page's CSRF token: the status and the page.
async fn act(b: &Browser, csrf: &str, action: &str, fields: &[(&str, String)]) -> (u16, String) {
    let mut form = vec![("csrf", csrf.to_string()), ("action", action.to_string())];
    form.extend(fields.iter().cloned());
    let resp = b.submit("/account", &form).await;
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

/// The creation options of the page's "create passkey" form.
fn creation_options(body: &str) -> Value {
    data_options(body, "passkey-create")
}

/// Adds a passkey named `name` from the account page `body` of `b`: the page after.
async fn add_passkey(
    p: &Provider,
    b: &Browser,
    body: &str,
    authenticator: &mut Authenticator,
    name: &str,
) -> (u16, String) {
    let csrf = input_value(body, "csrf").expect("csrf");
    let (status, begun) = act(b, &csrf, "passkey-begin", &[("name", name.into())]).await;
    assert_eq!(status, 200, "{begun}");
    let options = creation_options(&begun);
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["attestation"], "none");
    let credential = authenticator.attest(&options, &p.issuer());
    act(b, &csrf, "passkey-finish", &[("credential", credential)]).await
}

/// `b` signed in to its account page with `authenticator`'s passkey (answering with
/// `counter`): the page.
async fn sign_in_with_passkey(
    p: &Provider,
    b: &mut Browser,
    authenticator: &Authenticator,
    counter: u32,
) -> String {
    let start = b.submit("/account", &[("action", "sign-in".into())]).await;
    let Outcome::Page { body: login, .. } = b.follow(start, None, "").await else {
        panic!("the sign-in page");
    };
    let (req, csrf, options) = passkey_form(&login);
    let fields = [
        ("req", req),
        ("csrf", csrf),
        (
            "credential",
            authenticator.assert(&options, &p.issuer(), counter),
        ),
    ];
    let signed_in = b.submit("/login/passkey", &fields).await;
    match b.follow(signed_in, None, "").await {
        Outcome::Page { status: 200, body } if body.contains("Signed in as") => body,
        other => panic!("the account page, not {other:?}"),
    }
}

/// `b` signed in to its account page with Alice's password and a code of the app holding
/// `secret` (of the next time step: the provider's clock moves on 30 s): the page.
async fn sign_in_with_code(p: &Provider, b: &mut Browser, secret: &str) -> String {
    let start = b.submit("/account", &[("action", "sign-in".into())]).await;
    let Outcome::Page { body: due, .. } = b.follow(start, Some(ALICE), "").await else {
        panic!("the code page");
    };
    assert!(due.contains("name=\"code\""), "a code is due: {due}");
    p.clock.advance(30);
    let mut fields: Vec<(&str, String)> = ["req", "csrf", "sub", "username"]
        .into_iter()
        .map(|n| (n, input_value(&due, n).expect(n)))
        .collect();
    fields.push(("code", app_code(secret, p.clock_now())));
    let signed_in = b.submit("/login/totp", &fields).await;
    match b.follow(signed_in, None, "").await {
        Outcome::Page { status: 200, body } if body.contains("Signed in as") => body,
        other => panic!("the account page, not {other:?}"),
    }
}

/// The ID token of a sign-in of a new browser to the basic client with a passkey.
async fn passkey_sign_in(
    p: &Provider,
    authenticator: &Authenticator,
    counter: u32,
) -> Option<Value> {
    let (mut b, req, csrf, options) = sign_in_page(p, &[]).await;
    let assertion = authenticator.assert(&options, &p.issuer(), counter);
    let form = [("req", req), ("csrf", csrf), ("credential", assertion)];
    let signed_in = b.submit("/login/passkey", &form).await;
    if signed_in.status().as_u16() != 303 {
        return None;
    }
    let out = b.follow(signed_in, None, "allow").await;
    let (status, _, tokens) = p.redeem(&out.param("code").expect("a code")).await;
    assert_eq!(status, 200, "{tokens}");
    Some(e2e::unverified_claims(
        tokens["id_token"].as_str().expect("ID token"),
    ))
}

each_backend!(
    a_person_adds_a_passkey_signs_in_with_it_and_removes_it,
    |p| {
        let (status, signed_out) = page(&p, &p.browser()).await;
        assert_eq!(status, 200);
        assert!(signed_out.contains("value=\"sign-in\""), "{signed_out}");

        let mut b = p.browser();
        let body = sign_in(&p, &mut b, ALICE).await;
        assert!(body.contains("You have no passkeys yet"), "{body}");
        let mut authenticator = Authenticator::new();
        let (status, added) = add_passkey(&p, &b, &body, &mut authenticator, "Phone").await;
        assert_eq!(status, 200, "{added}");
        assert!(added.contains("Passkey “Phone” added."), "{added}");
        assert!(added.contains("never used"), "{added}");

        // A new browser signs Alice in with it; the application learns how.
        let id = passkey_sign_in(&p, &authenticator, 1)
            .await
            .expect("signed in");
        assert_eq!(id["amr"], json!(["swk", "user", "mfa"]), "{id}");
        assert_eq!(
            id["acr"], "urn:oidc-serverless:acr:phishing-resistant",
            "{id}"
        );
        let (_, listed) = page(&p, &b).await;
        assert!(listed.contains("last used"), "{listed}");

        // Now that Alice has a passkey, her password alone changes nothing here (a phished
        // password cannot remove it, nor add another's): she confirms with the passkey.
        // (The page shows no forms now: the token is the one the session's pages carry.)
        let csrf = input_value(&body, "csrf").expect("csrf");
        let credential_id = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &authenticator.credential_id,
        );
        let remove = [("id", credential_id)];
        let (status, weak) = act(&b, &csrf, "passkey-remove", &remove).await;
        assert_eq!(status, 403, "{weak}");
        assert!(
            weak.contains("with your passkey or with your password and a code"),
            "{weak}"
        );
        let (status, weak) =
            act(&b, &csrf, "passkey-begin", &[("name", "Attacker's".into())]).await;
        assert_eq!(status, 403, "nor begins adding one: {weak}");
        assert!(!weak.contains("passkey-create"), "nor begins adding one");
        let body = sign_in_with_passkey(&p, &mut b, &authenticator, 2).await;
        let csrf = input_value(&body, "csrf").expect("csrf");

        // Removed, it signs nobody in.
        let (status, removed) = act(&b, &csrf, "passkey-remove", &remove).await;
        assert_eq!(status, 200, "{removed}");
        assert!(removed.contains("Passkey removed."), "{removed}");
        assert!(
            passkey_sign_in(&p, &authenticator, 3).await.is_none(),
            "a removed passkey"
        );
    }
);

each_backend!(changes_need_the_pages_token_and_a_recent_sign_in, |p| {
    let mut b = p.browser();
    let body = sign_in(&p, &mut b, ALICE).await;
    // Without the page's token, or with another's: refused, nothing begun.
    let (status, _) = act(&b, "forged", "passkey-begin", &[("name", "X".into())]).await;
    assert_eq!(status, 403);
    let (status, _) = act(&b, "", "end-sessions", &[]).await;
    assert_eq!(status, 403);
    let sub = alice(&p).await.sub;
    let factors = p.running.verifying.store.factors(&sub).await.expect("read");
    assert!(
        factors.is_none_or(|f| f.registration.is_none()),
        "nothing begun"
    );

    // Six minutes on, a change asks to confirm it is the person first.
    p.clock.advance(6 * 60);
    let csrf = input_value(&body, "csrf").expect("csrf");
    let (status, stale) = act(&b, &csrf, "passkey-begin", &[("name", "X".into())]).await;
    assert_eq!(status, 403, "{stale}");
    assert!(stale.contains("confirm it is you first"), "{stale}");
    // Confirming is a sign-in that only the same person can complete.
    let start = b.submit("/account", &[("action", "sign-in".into())]).await;
    let Outcome::Page { body: other, .. } = b.follow(start, Some(BOB), "").await else {
        panic!("the sign-in page again");
    };
    assert!(other.contains("another account"), "{other}");
    let body = sign_in(&p, &mut b, ALICE).await;
    let mut authenticator = Authenticator::new();
    let (status, added) = add_passkey(&p, &b, &body, &mut authenticator, "Key").await;
    assert_eq!(status, 200, "{added}");
});

each_backend!(a_challenge_answers_only_the_browser_that_asked, |p| {
    let (mut a, mut b) = (p.browser(), p.browser());
    let page_a = sign_in(&p, &mut a, ALICE).await;
    let page_b = sign_in(&p, &mut b, ALICE).await;
    let csrf_a = input_value(&page_a, "csrf").expect("csrf");
    let csrf_b = input_value(&page_b, "csrf").expect("csrf");
    let (_, begun) = act(&a, &csrf_a, "passkey-begin", &[("name", "A".into())]).await;
    let mut authenticator = Authenticator::new();
    let credential = authenticator.attest(&creation_options(&begun), &p.issuer());
    // Browser B (Alice too, another session) sends A's ceremony's answer: refused.
    let (status, refused) = act(
        &b,
        &csrf_b,
        "passkey-finish",
        &[("credential", credential.clone())],
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("could not be added"), "{refused}");
    // Nothing was lost: A finishes it.
    let (status, added) = act(
        &a,
        &csrf_a,
        "passkey-finish",
        &[("credential", credential.clone())],
    )
    .await;
    assert_eq!(status, 200, "{added}");
    // And never twice: the challenge is spent (and changes now need two factors).
    let (status, _) = act(&a, &csrf_a, "passkey-finish", &[("credential", credential)]).await;
    assert_ne!(status, 200);
    let sub = alice(&p).await.sub;
    let f = p
        .running
        .verifying
        .store
        .factors(&sub)
        .await
        .expect("read")
        .expect("factors");
    assert_eq!(f.passkeys.len(), 1);
});

each_backend!(the_last_way_to_sign_in_cannot_be_removed, |p| {
    // Carol has no password here: a passkey is her only way in.
    let store = &p.running.verifying.store;
    let carol = User::new(
        Some("carol-sub".into()),
        "carol".into(),
        String::new(),
        Default::default(),
        vec![],
        p.clock_now() * 1000,
    );
    store.create_user(&carol).await.expect("carol");
    let authenticator = Authenticator::new();
    authenticator.register(&p, "carol-sub").await;
    let mut b = p.browser();
    let body = sign_in_with_passkey(&p, &mut b, &authenticator, 1).await;
    let csrf = input_value(&body, "csrf").expect("csrf");
    let id = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &authenticator.credential_id,
    );
    let (status, refused) = act(&b, &csrf, "passkey-remove", &[("id", id)]).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("only way you can sign in"), "{refused}");
    let f = store
        .factors("carol-sub")
        .await
        .expect("read")
        .expect("factors");
    assert_eq!(f.passkeys.len(), 1, "still there");
});

each_backend!(signing_out_elsewhere_keeps_this_browser, |p| {
    let (mut here, mut there) = (p.browser(), p.browser());
    let body = sign_in(&p, &mut here, ALICE).await;
    sign_in(&p, &mut there, ALICE).await;
    let csrf = input_value(&body, "csrf").expect("csrf");
    let (status, done) = act(&here, &csrf, "end-sessions", &[]).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("signed out everywhere else"), "{done}");
    let (_, still) = page(&p, &here).await;
    assert!(
        still.contains("Signed in as"),
        "this browser stays signed in: {still}"
    );
    let (_, gone) = page(&p, &there).await;
    assert!(
        gone.contains("value=\"sign-in\"") && !gone.contains("Signed in as"),
        "{gone}"
    );
    // Applications see it too: the other browser has no session to reuse.
    let silent = there
        .authorize(&p.authorize_url(BASIC.0, &[("prompt", "none")]), None, "")
        .await;
    assert_eq!(silent.param("error").as_deref(), Some("login_required"));
    let mut here = here;
    let reuse = here
        .authorize(&p.authorize_url(BASIC.0, &[]), None, "allow")
        .await;
    assert!(
        reuse.param("code").is_some(),
        "this browser's session is reused"
    );
});

async fn alice(p: &Provider) -> User {
    p.running
        .verifying
        .store
        .user_by_username(ALICE.0)
        .await
        .expect("read")
        .expect("alice")
}

/// The code an authenticator app holding `secret` (base32) shows at `now`.
fn app_code(secret: &str, now: i64) -> String {
    e2e::totp_code(&base32(secret), now)
}

fn base32(secret: &str) -> shared::totp::TotpSecret {
    shared::totp::TotpSecret::from_base32(secret).expect("base32")
}

/// The provider on `backend`, sealing TOTP secrets: under a key of the emulator's KMS on AWS
/// (`FEDERATION_SECRETS_KEY`, as the stack passes the account function its key).
async fn sealing_provider(backend: e2e::TestBackend) -> Provider {
    let vars = super::federation::downstream_vars(backend, false).await;
    Provider::start_with(backend, vars).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_turns_on_an_authenticator_app_and_gets_recovery_codes() {
    for backend in e2e::backends() {
        eprintln!("on {backend:?}");
        let p = sealing_provider(backend).await;
        turn_on_an_authenticator_app(&p).await;
    }
}

async fn turn_on_an_authenticator_app(p: &Provider) {
    let mut b = p.browser();
    let body = sign_in(p, &mut b, ALICE).await;
    let csrf = input_value(&body, "csrf").expect("csrf");
    let (status, scan) = act(&b, &csrf, "totp-begin", &[]).await;
    assert_eq!(status, 200, "{scan}");
    assert!(scan.contains("<svg"), "a QR code, drawn inline: {scan}");
    let secret = input_value(&scan, "secret").expect("the secret in the form");
    // A wrong code turns nothing on, and the same secret can be confirmed after it.
    let wrong = e2e::not_a_totp_code(&base32(&secret), p.clock_now());
    let (status, again) = act(
        &b,
        &csrf,
        "totp-confirm",
        &[("secret", secret.clone()), ("code", wrong)],
    )
    .await;
    assert_eq!(status, 400, "{again}");
    assert_eq!(
        input_value(&again, "secret").as_deref(),
        Some(secret.as_str())
    );
    let sub = alice(p).await.sub;
    let store = &p.running.verifying.store;
    assert!(
        store
            .factors(&sub)
            .await
            .expect("read")
            .is_none_or(|f| f.totp.is_none())
    );

    let code = app_code(&secret, p.clock_now());
    let (status, on) = act(
        &b,
        &csrf,
        "totp-confirm",
        &[("secret", secret.clone()), ("code", code)],
    )
    .await;
    assert_eq!(status, 200, "{on}");
    assert!(on.contains("Authenticator app added"), "{on}");
    let shown = on.matches("<li><code>").count();
    assert_eq!(shown, 10, "ten recovery codes, shown once: {on}");
    let f = store.factors(&sub).await.expect("read").expect("factors");
    assert!(f.totp.is_some());
    assert_eq!(f.recovery.len(), 10);
    let (_, later) = page(p, &b).await;
    assert!(!later.contains("<li><code>"), "never shown again");
    assert!(later.contains("10 recovery codes left"), "{later}");

    // Turned off: not with the password alone any more, but after signing in with a code.
    let (status, _) = act(&b, &csrf, "totp-remove", &[]).await;
    assert_eq!(status, 403, "the password alone");
    let body = sign_in_with_code(p, &mut b, &secret).await;
    let csrf = input_value(&body, "csrf").expect("csrf");
    let (status, off) = act(&b, &csrf, "totp-remove", &[]).await;
    assert_eq!(status, 200, "{off}");
    let f = store.factors(&sub).await.expect("read").expect("factors");
    assert!(f.totp.is_none() && f.recovery.is_empty());
}

/// Where every sign-in must be phishing-resistant, a password is no way in: Alice's only
/// passkey cannot be removed although she has a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_is_no_way_in_where_passkeys_are_required() {
    for backend in e2e::backends() {
        let vars = vec![("SIGNIN_MIN_LEVEL".into(), "phishing-resistant".into())];
        let p = Provider::start_with(backend, vars).await;
        let sub = alice(&p).await.sub;
        let authenticator = Authenticator::new();
        authenticator.register(&p, &sub).await;
        let mut b = p.browser();
        let body = sign_in_with_passkey(&p, &mut b, &authenticator, 1).await;
        let csrf = input_value(&body, "csrf").expect("csrf");
        let id = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &authenticator.credential_id,
        );
        let (status, refused) = act(&b, &csrf, "passkey-remove", &[("id", id)]).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused.contains("only way you can sign in"), "{refused}");
    }
}
