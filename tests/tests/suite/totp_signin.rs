//! Signing in with a password and a TOTP code (RFC 6238), over HTTP on every backend: the
//! right password of a person who has an authenticator app signs nobody in by itself; the
//! code page takes a code of the app (once per time step) or a recovery code (once each),
//! and the ID token says how (`amr`, RFC 8176). Wrong codes count exactly as wrong
//! passwords do: a burst from a browser that does not know the account waits, while the
//! owner's own browser goes on; a refusal loses nothing; and every refusal is audited.
use e2e::{ALICE, BASIC, BOB, Browser, Outcome, Provider, browser::input_value, each_backend};
use std::sync::Arc;

use serde_json::json;
use shared::federation::seal::{KmsSealer, Sealer};
use shared::totp::{STEP, TotpSecret};

use super::log_scan::capture;

const WRONG_CODE: &str = "That code is not right";
const USED_CODE: &str = "That code was used already";
const WRONG_RECOVERY: &str = "That recovery code is not right";
const TOO_MANY: &str = "Too many attempts";

/// The app's code at `now` (epoch seconds).
fn code_at(secret: &TotpSecret, now: i64) -> String {
    e2e::totp_code(secret, now)
}

/// A TOTP secret enrolled for `username` as the account page will (`second_factor::enrol`,
/// confirmed with the previous step's code, so that the current one still signs in), and
/// its recovery codes.
async fn enrol(p: &Provider, username: &str) -> (TotpSecret, Vec<String>, String) {
    let app = &p.running.verifying;
    let user = app
        .store
        .user_by_username(username)
        .await
        .expect("read")
        .expect("user");
    let sealer = sealer(p).await;
    let secret = TotpSecret::generate();
    let now = p.clock_now();
    let confirm = code_at(&secret, now - STEP.get() as i64);
    let codes = shared::second_factor::enrol(&*app.store, &*sealer, &user, &secret, &confirm, now)
        .await
        .expect("enrolled");
    (secret, codes, user.sub)
}

/// What seals a secret the login side opens: its own local key on the embedded backend; on
/// AWS a KMS key of the emulator (the login side holds none: a sealed secret names its key).
async fn sealer(p: &Provider) -> Arc<dyn Sealer> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    if p.aws.is_none() {
        return p.running.verifying.sealer.clone().expect("a sealer");
    }
    let kms = shared::aws::kms_client(&shared::aws::aws_config().await);
    let made = kms
        .create_key()
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .expect("a KMS key");
    let key = made.key_metadata().expect("metadata").key_id().to_string();
    Arc::new(KmsSealer::new(kms, key))
}

/// The code page a browser reached after the password, with its form's fields.
struct CodePage {
    req: String,
    csrf: String,
    sub: String,
    username: String,
    body: String,
}

impl CodePage {
    fn of(body: String) -> CodePage {
        assert!(
            body.contains("Two-step verification"),
            "the code page: {body}"
        );
        let field = |name| input_value(&body, name).unwrap_or_else(|| panic!("{name} in {body}"));
        CodePage {
            req: field("req"),
            csrf: field("csrf"),
            sub: field("sub"),
            username: field("username"),
            body,
        }
    }

    /// The form with `name` (`code` or `recovery`) set to `value`.
    fn form(&self, name: &'static str, value: &str) -> Vec<(&'static str, String)> {
        vec![
            ("req", self.req.clone()),
            ("csrf", self.csrf.clone()),
            ("sub", self.sub.clone()),
            ("username", self.username.clone()),
            (name, value.to_string()),
        ]
    }
}

/// `b` starts a new request and types `creds`' password: the code page.
async fn password(p: &Provider, b: &mut Browser, creds: (&str, &str)) -> CodePage {
    // prompt=login: a browser already signed in is asked again.
    let url = p.authorize_url(BASIC.0, &[("prompt", "login")]);
    match b.authorize(&url, Some(creds), "").await {
        Outcome::Page { status: 200, body } => CodePage::of(body),
        other => panic!("expected the code page, got {other:?}"),
    }
}

/// Posts a code page's form; the answer's status and page (or redirect).
async fn post(b: &Browser, form: &[(&'static str, String)]) -> reqwest::Response {
    b.submit("/login/totp", form).await
}

/// A sign-in the code page let through: on to consent, allowed, and the ID token's claims.
async fn finish(p: &Provider, b: &mut Browser, resp: reqwest::Response) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), 303, "signed in");
    let out = b.follow(resp, None, "allow").await;
    let (status, _, tokens) = p.redeem(&out.param("code").expect("a code")).await;
    assert_eq!(status, 200, "{tokens}");
    e2e::unverified_claims(tokens["id_token"].as_str().expect("ID token"))
}

each_backend!(
    a_password_and_a_code_sign_in_and_the_id_token_says_so,
    |p| {
        let logs = capture();
        let from = logs.len();
        let (secret, _, sub) = enrol(&p, ALICE.0).await;
        let mut b = p.browser();
        let page = password(&p, &mut b, ALICE).await;
        assert_eq!(page.sub, sub);
        for a in [
            "inputmode=\"numeric\"",
            "autocomplete=\"one-time-code\"",
            "<label for=\"code\">",
            "use=recovery",
        ] {
            assert!(page.body.contains(a), "{a}: {}", page.body);
        }
        assert!(!page.body.contains("<script"), "no script");
        // The password alone made no session: consent sends the browser back to sign in.
        let consent = b
            .client()
            .get(format!("{}?req={}", p.url("/consent"), page.req))
            .send()
            .await
            .expect("consent");
        assert_eq!(consent.status().as_u16(), 303);
        let back = consent.headers()["location"].to_str().expect("location");
        assert!(back.contains("/login?"), "not signed in yet: {back}");
        // The code page again (GET), then its code.
        let again = b
            .client()
            .get(format!("{}?req={}", p.url("/login/totp"), page.req))
            .send()
            .await
            .expect("page");
        assert_eq!(again.status().as_u16(), 200);
        let resp = post(&b, &page.form("code", &code_at(&secret, p.clock_now()))).await;
        let id = finish(&p, &mut b, resp).await;
        assert_eq!(id["sub"], sub.as_str());
        assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]), "{id}");
        let logged = logs.since(from);
        assert!(
            logged.contains("signin.code_due") && logged.contains("signin.succeeded"),
            "{logged}"
        );
        assert!(logged.contains("method=\"totp\""), "{logged}");
    }
);

each_backend!(a_code_is_accepted_once_in_its_step, |p| {
    let logs = capture();
    let (secret, _, _) = enrol(&p, ALICE.0).await;
    let code = code_at(&secret, p.clock_now());
    let mut b = p.browser();
    let page = password(&p, &mut b, ALICE).await;
    let resp = post(&b, &page.form("code", &code)).await;
    finish(&p, &mut b, resp).await;
    // The same code, for a new request (by anyone: here the same browser).
    let from = logs.len();
    let page = password(&p, &mut b, ALICE).await;
    let resp = post(&b, &page.form("code", &code)).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.expect("page");
    assert!(body.contains(USED_CODE), "{body}");
    assert!(logs.since(from).contains("totp.replayed"));
    // The next step's code goes through.
    p.clock.advance(STEP.get() as i64);
    let resp = post(&b, &page.form("code", &code_at(&secret, p.clock_now()))).await;
    finish(&p, &mut b, resp).await;
});

each_backend!(a_recovery_code_signs_in_once, |p| {
    let logs = capture();
    let (_, codes, _) = enrol(&p, ALICE.0).await;
    let mut b = p.browser();
    let page = password(&p, &mut b, ALICE).await;
    // The link to the recovery code's field, no script.
    let recovery_page = b
        .client()
        .get(format!(
            "{}?req={}&use=recovery",
            p.url("/login/totp"),
            page.req
        ))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    let page = CodePage::of(recovery_page);
    assert!(page.body.contains("name=\"recovery\""), "{}", page.body);
    let from = logs.len();
    let resp = post(&b, &page.form("recovery", &codes[0].to_lowercase())).await;
    let id = finish(&p, &mut b, resp).await;
    assert_eq!(id["amr"], json!(["pwd", "mfa"]), "{id}");
    let logged = logs.since(from);
    assert!(logged.contains("recovery.used"), "{logged}");
    assert!(logged.contains("method=\"recovery\""), "{logged}");

    let page = password(&p, &mut b, ALICE).await;
    let from = logs.len();
    let resp = post(&b, &page.form("recovery", &codes[0])).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.expect("page").contains(WRONG_RECOVERY));
    assert!(logs.since(from).contains("recovery.failed"));
    // Another of the codes still works.
    let resp = post(&b, &page.form("recovery", &codes[1])).await;
    finish(&p, &mut b, resp).await;
});

each_backend!(a_wrong_code_loses_nothing, |p| {
    let logs = capture();
    let (secret, _, _) = enrol(&p, ALICE.0).await;
    let mut b = p.browser();
    let page = password(&p, &mut b, ALICE).await;
    let right = code_at(&secret, p.clock_now());
    let wrong = e2e::not_a_totp_code(&secret, p.clock_now());
    let from = logs.len();
    let resp = post(&b, &page.form("code", &wrong)).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.expect("page");
    assert!(body.contains(WRONG_CODE), "{body}");
    assert!(body.contains("aria-invalid=\"true\""), "{body}");
    assert!(logs.since(from).contains("totp.failed"));
    // The same request, the same form, then the right code.
    let again = CodePage::of(body);
    assert_eq!(again.req, page.req);
    let resp = post(&b, &again.form("code", &right)).await;
    finish(&p, &mut b, resp).await;
});

each_backend!(a_store_failure_is_retryable_and_spends_nothing, |p| {
    let (secret, _, _) = enrol(&p, ALICE.0).await;
    let mut b = p.browser();
    let page = password(&p, &mut b, ALICE).await;
    let form = page.form("code", &code_at(&secret, p.clock_now()));
    for op in ["signin_read", "signin_write"] {
        p.faults.fail_next(op, 1);
        let resp = post(&b, &form).await;
        assert_eq!(resp.status().as_u16(), 503, "{op}");
    }
    // The very same form, code and request then sign in: the failed write spent nothing.
    let resp = post(&b, &form).await;
    finish(&p, &mut b, resp).await;
});

each_backend!(a_code_of_another_persons_secret_is_refused, |p| {
    let (_, _, alice) = enrol(&p, ALICE.0).await;
    let (bobs, _, bob) = enrol(&p, BOB.0).await;
    let mut b = p.browser();
    let page = password(&p, &mut b, ALICE).await;
    let resp = post(&b, &page.form("code", &code_at(&bobs, p.clock_now()))).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.expect("page").contains(WRONG_CODE));
    // Naming Bob in the form does not make the request Bob's: nothing is checked.
    let mut forged = page.form("code", &code_at(&bobs, p.clock_now()));
    forged[2].1 = bob.clone();
    let resp = post(&b, &forged).await;
    assert_eq!(resp.status().as_u16(), 303);
    let to = resp.headers()["location"].to_str().expect("location");
    assert!(to.contains("/login/totp?"), "back to the page: {to}");
    let again = b.client().get(to).send().await.expect("page");
    let again = CodePage::of(again.text().await.expect("body"));
    assert_eq!(again.sub, alice, "still Alice's sign-in");
    // Another browser cannot post this request's form at all.
    let other = p.browser();
    let resp = post(&other, &page.form("code", "123456")).await;
    assert_eq!(resp.status().as_u16(), 403);
});

each_backend!(the_code_is_due_for_five_minutes_only, |p| {
    let (secret, _, _) = enrol(&p, ALICE.0).await;
    let mut b = p.browser();
    let page = password(&p, &mut b, ALICE).await;
    p.clock.advance(301);
    let resp = post(&b, &page.form("code", &code_at(&secret, p.clock_now()))).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.expect("page");
    assert!(body.contains("Sign in again"), "{body}");
    assert!(
        body.contains("name=\"password\""),
        "the password again: {body}"
    );
});

each_backend!(
    wrong_codes_from_elsewhere_never_hold_back_the_owners_browser,
    |p| {
        // Time stands still (but for the steps moved on below): no wait runs out by itself.
        p.clock.freeze();
        let (secret, _, _) = enrol(&p, ALICE.0).await;
        // The owner signs in on their browser, which then knows the account (device token).
        let mut owner = p.browser();
        let page = password(&p, &mut owner, ALICE).await;
        let resp = post(&owner, &page.form("code", &code_at(&secret, p.clock_now()))).await;
        assert!(
            resp.headers()
                .get_all("set-cookie")
                .iter()
                .any(|c| c.to_str().is_ok_and(|c| c.contains("oidc_device="))),
            "a device token for the owner's browser"
        );
        finish(&p, &mut owner, resp).await;
        p.clock.advance(STEP.get() as i64);

        // Someone who has the password, on another browser: a burst of guesses.
        let mut attacker = p.browser();
        let page = password(&p, &mut attacker, ALICE).await;
        let mut throttled = 0;
        let now = p.clock_now();
        let guesses = (0..)
            .map(|n| format!("{n:06}"))
            .filter(|c| !e2e::is_totp_code(&secret, now, c));
        for guess in guesses.take(8) {
            let resp = post(&attacker, &page.form("code", &guess)).await;
            match resp.status().as_u16() {
                200 => {}
                429 => {
                    assert!(resp.headers().contains_key("retry-after"));
                    assert!(resp.text().await.expect("page").contains(TOO_MANY));
                    throttled += 1;
                }
                s => panic!("a guess got {s}"),
            }
        }
        assert_eq!(throttled, 3, "the guesses after the 5 free failures wait");
        // Their password is held back too now (the same account's failures).
        let url = p.authorize_url(BASIC.0, &[("prompt", "login")]);
        let held = attacker.authorize(&url, Some(ALICE), "").await;
        assert!(
            matches!(&held, Outcome::Page { status: 429, .. }),
            "the attacker's next password waits: {held:?}"
        );

        // The owner, meanwhile: password and code at once.
        let page = password(&p, &mut owner, ALICE).await;
        let resp = post(&owner, &page.form("code", &code_at(&secret, p.clock_now()))).await;
        let id = finish(&p, &mut owner, resp).await;
        assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    }
);

each_backend!(
    people_without_a_second_factor_sign_in_with_the_password_alone,
    |p| {
        let (_, _, _) = enrol(&p, ALICE.0).await;
        // Bob has none: the password signs him in, straight on to consent.
        let mut b = p.browser();
        let out = b
            .authorize(&p.authorize_url(BASIC.0, &[]), Some(BOB), "allow")
            .await;
        let (status, _, tokens) = p.redeem(&out.param("code").expect("a code")).await;
        assert_eq!(status, 200);
        let id = e2e::unverified_claims(tokens["id_token"].as_str().expect("ID token"));
        assert_eq!(id["amr"], json!(["pwd"]));
        // Alice's factor removed: her password alone signs her in again.
        let app = &p.running.verifying;
        let alice = app
            .store
            .user_by_username(ALICE.0)
            .await
            .expect("read")
            .expect("alice");
        assert!(
            shared::second_factor::remove(&*app.store, &alice)
                .await
                .expect("removed")
        );
        let out = p
            .browser()
            .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
            .await;
        assert!(out.param("code").is_some(), "{out:?}");
    }
);
