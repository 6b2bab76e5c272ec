//! Levels of sign-in and second factors in Chromium, on every backend: a password session
//! is not reused by a client that needs more (the sign-in page comes again, offering what
//! reaches the level: a passkey only, or the password and then a page to get past or
//! cancel), and a person turns on an authenticator app on the account page, then signs in
//! with a code of it, or with one of the recovery codes it came with. Screenshots of every
//! page at phone and desktop widths.
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use shared::totp::{STEP, TotpSecret, time_step};

use e2e::{ALICE, BASIC, Provider, REDIRECT, TestBackend};

use super::browser::{browser, click, fill, screenshot, text, wait_for, wait_for_url};
use super::browser_passkey::{AddVirtualAuthenticator, WithoutAutofill, sign_out};
// A client whose administrator requires a passkey (`min_level: phishing-resistant`).
use super::step_up::{PASSKEYS_ONLY, add_passkeys_only_client};

const PASSWORD: &str = "urn:oidc-serverless:acr:password";
const TWO_FACTOR: &str = "urn:oidc-serverless:acr:two-factor";
const PHISHING_RESISTANT: &str = "urn:oidc-serverless:acr:phishing-resistant";

/// The issuer as `http://localhost:{port}`: the RP ID of passkeys must be a name, not an IP.
fn on_localhost() -> Vec<(String, String)> {
    vec![("ISSUER".to_string(), "http://localhost:{port}".to_string())]
}

/// The provider on `backend`, opened as `localhost`, sealing TOTP secrets: under a key of
/// the emulator's KMS on AWS (`FEDERATION_SECRETS_KEY`, as the stack passes the account
/// function its key).
async fn sealing_provider(backend: TestBackend) -> Provider {
    let mut vars = on_localhost();
    vars.extend(super::federation::downstream_vars(backend, false).await);
    Provider::start_with(backend, vars).await
}

/// Saves the current page at phone and desktop widths, as `screenshot` does, scrolled to the
/// first of `headings` (`h2`s, by their text) the page has: the part of a long page the
/// picture is about.
async fn screenshot_at(c: &Client, name: &str, headings: &[&str]) {
    let dir = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../artifacts/screenshots"
    ));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    let scroll = "const all = [...document.querySelectorAll('h2')];
        const h = arguments[0].map((t) => all.find((h) => h.textContent.trim() === t)).find((h) => h);
        if (h) { h.scrollIntoView(); }
        return !!h;";
    for (label, w, h) in [("phone", 390, 844), ("desktop", 1280, 800)] {
        c.set_window_size(w, h).await.expect("resize");
        let found = c
            .execute(scroll, vec![json!(headings)])
            .await
            .expect("scroll");
        assert_eq!(found, json!(true), "none of {headings:?} on the page");
        let png = c.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(dir.join(format!("{name}-{label}.png")), png).expect("write screenshot");
    }
}

/// How many elements match `css` on the page now (no waiting).
async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.expect("find").len()
}

/// Waits until the page's text contains `wanted`.
async fn wait_for_text(c: &Client, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // The page may be replaced while it is read: then read the next one.
        let page = match c.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if page.contains(wanted) {
            return;
        }
        assert!(Instant::now() < deadline, "no “{wanted}” in:\n{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types `value` into the field `css`, replacing what it holds.
async fn retype(c: &Client, css: &str, value: &str) {
    let field = c.find(Locator::Css(css)).await.expect("field");
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Signs in with Alice's password on the sign-in page the browser is at.
async fn type_password(c: &Client) {
    wait_for(c, "input#password").await;
    retype(c, "#username", ALICE.0).await;
    fill(c, "#password", ALICE.1).await;
    click(c, "button[type=submit].primary").await;
}

/// After a sign-in: agrees on the consent page if it comes, and waits to be back at the
/// client; the authorization response's parameters.
async fn back_at_client(c: &Client) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = c.current_url().await.expect("url");
        if url.as_str().starts_with(REDIRECT) {
            return url.query_pairs().into_owned().collect();
        }
        if let Ok(allow) = c.find(Locator::Css("button[value=allow]")).await {
            allow.click().await.expect("allow");
            wait_for_url(c, REDIRECT).await;
            continue;
        }
        assert!(
            Instant::now() < deadline,
            "still at {url}, not back at the client"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The code the browser brought back to `client`, redeemed: the ID token, verified
/// independently.
async fn id_token(c: &Client, p: &Provider, client: (&str, &str)) -> Value {
    let params = back_at_client(c).await;
    let code = params
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("a code: {params:?}"));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, _, t) = p.token(&form, Some(client)).await;
    assert_eq!(status, 200, "{t}");
    e2e::verify_independently(p, t["id_token"].as_str().expect("an ID token"), client.0).await
}

fn says_passkey(id: &Value) {
    let amr = id["amr"].as_array().expect("amr");
    assert!(amr.iter().any(|a| a == "hwk" || a == "swk"), "{id}");
    assert!(amr.iter().any(|a| a == "mfa"), "{id}");
    assert_eq!(id["acr"], PHISHING_RESISTANT, "{id}");
}

/// Asserts the browser is on the sign-in page that offers a passkey only.
async fn offers_a_passkey_only(c: &Client) {
    wait_for(c, "#passkey-button:not([hidden])").await;
    let page = text(c).await;
    assert_eq!(count(c, "input[type=password]").await, 0, "{page}");
    assert_eq!(count(c, "a.provider").await, 0, "no upstream: {page}");
    assert!(page.contains("needs a passkey to sign in"), "{page}");
    assert_eq!(
        count(c, "#level-note a[href$='/account']").await,
        1,
        "{page}"
    );
}

/// Alice, signed in to her account page with her password, adds a passkey named `name`.
async fn add_passkey_on_the_account_page(c: &Client, p: &Provider, name: &str) {
    c.goto(&p.url("/account")).await.expect("open");
    wait_for(c, "#passkey-name").await;
    fill(c, "#passkey-name", name).await;
    click(c, "#passkey-name ~ button").await;
    wait_for(c, "#passkey-create-button").await;
    click(c, "#passkey-create-button").await;
    wait_for(c, "p.status").await;
    let page = text(c).await;
    assert!(page.contains(&format!("Passkey “{name}” added.")), "{page}");
}

/// Alice signs in with her password (a session at the password level), then: a request for
/// two factors (she has none) asks for the password again and, that falling short, shows the
/// step-up page, whose Cancel tells the client; a client that requires a passkey gets the
/// sign-in page again with a passkey only; with a passkey added on her account page, that
/// page signs her in with it (by autofill, then by the button), and the ID tokens say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_requires_a_passkey_makes_a_password_session_step_up() {
    for backend in e2e::backends() {
        let Some((c, _driver)) = browser().await else {
            return;
        };
        eprintln!("step-up in Chromium on {backend:?}");
        let p = Provider::start_with(backend, on_localhost()).await;
        add_passkeys_only_client(&p).await;
        c.issue_cmd(AddVirtualAuthenticator)
            .await
            .expect("virtual authenticator");

        // A password session.
        c.goto(&p.authorize_url(BASIC.0, &[])).await.expect("open");
        type_password(&c).await;
        let id = id_token(&c, &p, BASIC).await;
        assert_eq!(id["acr"], PASSWORD, "{id}");
        assert_eq!(id["amr"], json!(["pwd"]), "{id}");

        // Two factors asked: the password form again (no silent reuse); a password alone
        // falls short, and the page says so, links on, and lets the person cancel.
        c.goto(&p.authorize_url(BASIC.0, &[("acr_values", TWO_FACTOR)]))
            .await
            .expect("open");
        wait_for(&c, "input#password").await;
        let page = text(&c).await;
        assert!(page.contains("needs a second factor"), "{page}");
        type_password(&c).await;
        wait_for(&c, "#step-up").await;
        let page = text(&c).await;
        assert!(page.contains("A stronger sign-in is needed"), "{page}");
        assert_eq!(count(&c, "a[href$='/account']").await, 1, "{page}");
        assert_eq!(count(&c, "a[href*='/login?req=']").await, 1, "{page}");
        screenshot(&c, "step-up-needed").await;
        click(&c, "button[type=submit].secondary").await;
        let params = back_at_client(&c).await;
        assert!(
            params.contains(&("error".into(), "unmet_authentication_requirements".into())),
            "{params:?}"
        );
        assert!(
            params.contains(&("state".into(), "st-123".into())),
            "{params:?}"
        );

        // The client that requires a passkey: the sign-in page, with a passkey only (Alice
        // has none yet).
        c.goto(&p.authorize_url(PASSKEYS_ONLY.0, &[]))
            .await
            .expect("open");
        offers_a_passkey_only(&c).await;

        // She adds one on her account page (her password sign-in is recent).
        add_passkey_on_the_account_page(&c, &p, "Laptop").await;

        // The request's acr_values: the sign-in page's autofill signs her in with it at once.
        c.goto(&p.authorize_url(BASIC.0, &[("acr_values", PHISHING_RESISTANT)]))
            .await
            .expect("open");
        says_passkey(&id_token(&c, &p, BASIC).await);

        // Signed out and in again with the password (a browser without autofill, so that
        // the passkey does not sign her in by itself), then the client's own minimum: the
        // page offers the passkey only, and its button signs her in.
        c.issue_cmd(WithoutAutofill).await.expect("no autofill");
        sign_out(&c, &p).await;
        c.goto(&p.authorize_url(BASIC.0, &[])).await.expect("open");
        type_password(&c).await;
        let id = id_token(&c, &p, BASIC).await;
        assert_eq!(id["amr"], json!(["pwd"]), "{id}");
        c.goto(&p.authorize_url(PASSKEYS_ONLY.0, &[]))
            .await
            .expect("open");
        offers_a_passkey_only(&c).await;
        let page = text(&c).await;
        assert!(page.contains("Passkey RP"), "names the client: {page}");
        screenshot(&c, "sign-in-passkey-required").await;
        click(&c, "#passkey-button").await;
        says_passkey(&id_token(&c, &p, PASSKEYS_ONLY).await);

        // A passkey session meets the client's minimum: single sign-on, no page.
        // (Straight on to the client, whose host does not resolve: the navigation "fails".)
        let _ = c.goto(&p.authorize_url(PASSKEYS_ONLY.0, &[])).await;
        wait_for_url(&c, REDIRECT).await;
        let url = c.current_url().await.expect("url");
        assert!(url.query_pairs().any(|(k, _)| k == "code"), "{url}");
    }
}

/// The code an authenticator app holding `secret` shows at `now` (epoch seconds).
fn app_code(secret: &TotpSecret, now: i64) -> String {
    e2e::totp_code(secret, now)
}

/// On the code page: password and code sign-ins, in Chromium, of a person who turned an
/// authenticator app on on her account page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_turns_on_an_authenticator_app_and_signs_in_with_a_code() {
    for backend in e2e::backends() {
        let Some((c, _driver)) = browser().await else {
            return;
        };
        eprintln!("authenticator app in Chromium on {backend:?}");
        let p = sealing_provider(backend).await;

        // The account page, signed in with the password: the app set up.
        c.goto(&p.url("/account")).await.expect("open");
        wait_for(&c, "button.primary").await;
        click(&c, "button.primary").await;
        type_password(&c).await;
        wait_for(&c, "input[value=totp-begin] ~ button").await;
        click(&c, "input[value=totp-begin] ~ button").await;
        wait_for(&c, ".qr svg").await;
        wait_for(&c, "#totp-code").await;
        screenshot_at(&c, "account-totp-setup", &["Authenticator app"]).await;
        let hidden = c
            .find(Locator::Css("input[name=secret]"))
            .await
            .expect("the secret's field")
            .attr("value")
            .await
            .expect("value")
            .expect("a secret");
        let shown = c
            .find(Locator::Css(".qr + p code"))
            .await
            .expect("the key")
            .text()
            .await
            .expect("text");
        assert_eq!(
            shown.replace(' ', "").to_uppercase(),
            hidden.to_uppercase(),
            "the key typed out is the secret"
        );
        let secret = TotpSecret::from_base32(&shown).expect("base32");
        let enrolled_at = p.clock_now();
        fill(&c, "#totp-code", &app_code(&secret, enrolled_at)).await;
        click(&c, "#totp-code ~ button").await;
        wait_for(&c, "ul.codes").await;
        let page = text(&c).await;
        assert!(page.contains("Authenticator app added"), "{page}");
        let mut recovery = vec![];
        for code in c
            .find_all(Locator::Css("ul.codes code"))
            .await
            .expect("codes")
        {
            recovery.push(code.text().await.expect("text"));
        }
        assert_eq!(recovery.len(), 10, "{page}");
        screenshot_at(
            &c,
            "account-recovery-codes",
            &["Your recovery codes", "Authenticator app"],
        )
        .await;

        // Signed out, then in to an application: the password, then the code page.
        sign_out(&c, &p).await;
        c.goto(&p.authorize_url(BASIC.0, &[])).await.expect("open");
        type_password(&c).await;
        wait_for(&c, "input#code").await;
        let page = text(&c).await;
        assert!(page.contains("Two-step verification"), "{page}");
        assert!(page.contains(ALICE.0), "{page}");
        screenshot(&c, "sign-in-totp").await;

        // A wrong code (none of the steps the window accepts), announced.
        let wrong = e2e::not_a_totp_code(&secret, p.clock_now());
        fill(&c, "#code", &wrong).await;
        click(&c, "button[type=submit].primary").await;
        wait_for(&c, "#code-error[role=alert]").await;
        wait_for_text(&c, "That code is not right").await;
        let invalid = c
            .find(Locator::Css("#code"))
            .await
            .expect("field")
            .attr("aria-invalid")
            .await
            .expect("attr");
        assert_eq!(invalid.as_deref(), Some("true"));
        screenshot(&c, "sign-in-totp-wrong").await;

        // The code that turned the app on, again: refused (used, or by now out of the window).
        let enrol_step = time_step(enrolled_at as u64, STEP);
        let replay_expected = time_step(p.clock_now() as u64, STEP) <= enrol_step + 1;
        retype(&c, "#code", &app_code(&secret, enrolled_at)).await;
        // (The page being left is marked, so that its text is not taken for the answer's.)
        c.execute("document.body.dataset.left = '1';", vec![])
            .await
            .expect("mark");
        click(&c, "button[type=submit].primary").await;
        wait_for(&c, "body:not([data-left])").await;
        wait_for_text(
            &c,
            if replay_expected {
                "That code was used already"
            } else {
                "That code is not right"
            },
        )
        .await;

        // Thirty seconds on, the app's next code signs her in.
        p.clock.advance(STEP.get() as i64);
        retype(&c, "#code", &app_code(&secret, p.clock_now())).await;
        click(&c, "button[type=submit].primary").await;
        let id = id_token(&c, &p, BASIC).await;
        assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]), "{id}");
        assert_eq!(id["acr"], TWO_FACTOR, "{id}");

        // Signed out, then in with the password and a recovery code (lost phone).
        sign_out(&c, &p).await;
        c.goto(&p.authorize_url(BASIC.0, &[])).await.expect("open");
        type_password(&c).await;
        wait_for(&c, "a[href*='use=recovery']").await;
        click(&c, "a[href*='use=recovery']").await;
        wait_for(&c, "input#recovery").await;
        fill(&c, "#recovery", &recovery[0]).await;
        click(&c, "button[type=submit].primary").await;
        let id = id_token(&c, &p, BASIC).await;
        assert_eq!(id["amr"], json!(["pwd", "mfa"]), "{id}");
        assert_eq!(id["acr"], TWO_FACTOR, "{id}");

        // The account page counts what is left.
        c.goto(&p.url("/account")).await.expect("open");
        wait_for(&c, "h1").await;
        let page = text(&c).await;
        assert!(page.contains("9 recovery codes left"), "{page}");
    }
}
