//! The passkey verifier (`shared::passkey`) against a real browser's WebAuthn: Chromium with
//! a virtual authenticator (the WebDriver extension commands of WebAuthn L3 §11, a CTAP2
//! platform authenticator with user verification) makes a passkey and signs in with it on
//! the provider's origin; what it sends verifies, and the same answers under another
//! challenge, RP ID or origin do not.
//!
//! The RP ID is `localhost`: browsers refuse an IP address as one, and `http://localhost`
//! is a secure context, so the provider (listening on 127.0.0.1) is opened by that name.
use fantoccini::{Client, wd::WebDriverCompatibleCommand};
use lambda_http::http::Method;
use serde_json::{Value, json};
use shared::passkey::{
    AssertionResponse, PasskeyError, RegistrationResponse, RelyingParty, challenge,
    creation_options, request_options, verify_assertion, verify_registration,
};

use e2e::{ALICE, BASIC, Provider, REDIRECT, TestBackend};
use shared::store::{AddPasskey, Factors, Passkey};

use super::browser::{browser, click, fill, screenshot, text, wait_for, wait_for_url};

/// `POST /session/{id}/webauthn/authenticator` (WebAuthn L3 §11.3, Add Virtual Authenticator).
#[derive(Debug)]
pub(crate) struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/webauthn/authenticator",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true
        });
        (Method::POST, Some(body.to_string()))
    }
}

/// Chromium's `goog/cdp/execute` (a DevTools command over WebDriver): here
/// `Page.addScriptToEvaluateOnNewDocument`, to make the pages that follow believe the browser
/// has no passkey autofill (WebAuthn conditional mediation), as browsers without it do.
#[derive(Debug)]
pub(crate) struct WithoutAutofill;

impl WebDriverCompatibleCommand for WithoutAutofill {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        let source = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;";
        let body = json!({
            "cmd": "Page.addScriptToEvaluateOnNewDocument",
            "params": {"source": source},
        });
        (Method::POST, Some(body.to_string()))
    }
}

/// Runs a WebAuthn ceremony in the page: `create` or `get` with `options` (the JSON form),
/// returning the credential's `toJSON()`.
async fn ceremony(c: &Client, kind: &str, options: &Value) -> Vec<u8> {
    let script = r#"
        const [kind, json] = arguments;
        const publicKey = kind === "create"
            ? PublicKeyCredential.parseCreationOptionsFromJSON(json)
            : PublicKeyCredential.parseRequestOptionsFromJSON(json);
        const cred = await navigator.credentials[kind]({ publicKey });
        return JSON.stringify(cred.toJSON());
    "#;
    let out = c
        .execute(
            &format!("return (async () => {{ {script} }})()"),
            vec![json!(kind), options.clone()],
        )
        .await
        .expect("the ceremony runs");
    out.as_str().expect("a JSON string").as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_made_and_used_by_chromium_verifies() {
    let Some((c, _driver)) = browser().await else {
        return;
    };
    let p = e2e::Provider::start(e2e::TestBackend::Embedded).await;
    let port = url::Url::parse(&p.issuer())
        .expect("issuer")
        .port()
        .expect("port");
    let origin = format!("http://localhost:{port}");
    c.issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("virtual authenticator");
    c.goto(&format!("{origin}/.well-known/openid-configuration"))
        .await
        .expect("a page of the provider's origin");
    let rp = RelyingParty {
        id: "localhost".into(),
        origin: origin.clone(),
    };

    // Registration (WebAuthn §7.1).
    let made = challenge();
    let options = creation_options(&rp, "Acme", b"user-handle-1", "alice", "Alice", &made, &[]);
    let response = RegistrationResponse::from_json(&ceremony(&c, "create", &options).await)
        .expect("a registration response");
    let passkey =
        verify_registration(&rp, &made, &response, true).expect("Chromium's passkey registers");
    assert!(passkey.user_verified, "the authenticator verified the user");
    let elsewhere = RelyingParty {
        id: "example.com".into(),
        origin: origin.clone(),
    };
    assert_eq!(
        verify_registration(&elsewhere, &made, &response, true).err(),
        Some(PasskeyError::RpIdMismatch)
    );
    assert_eq!(
        verify_registration(&rp, &challenge(), &response, true).err(),
        Some(PasskeyError::ChallengeMismatch)
    );

    // Sign-in (WebAuthn §7.2), by the discoverable credential: no allow list, as autofill asks.
    let asked = challenge();
    let options = request_options(&rp, &asked, &[]);
    let assertion = AssertionResponse::from_json(&ceremony(&c, "get", &options).await)
        .expect("an assertion response");
    assert_eq!(assertion.credential_id, passkey.credential_id);
    assert_eq!(
        assertion.user_handle.as_deref(),
        Some(&b"user-handle-1"[..])
    );
    let used = verify_assertion(
        &rp,
        &asked,
        &assertion,
        &passkey.public_key,
        passkey.sign_count,
        true,
    )
    .expect("Chromium's assertion verifies");
    assert!(used.user_verified);
    // Chromium's virtual authenticator counts (1 at registration, 2 at the first sign-in).
    assert!(
        used.sign_count > passkey.sign_count,
        "{} then {}",
        passkey.sign_count,
        used.sign_count
    );

    // The same assertion again: another challenge, another origin, a counter it must pass.
    assert_eq!(
        verify_assertion(
            &rp,
            &challenge(),
            &assertion,
            &passkey.public_key,
            passkey.sign_count,
            true
        )
        .err(),
        Some(PasskeyError::ChallengeMismatch)
    );
    let other_origin = RelyingParty {
        id: "localhost".into(),
        origin: format!("http://localhost:{}", port.wrapping_add(1)),
    };
    assert_eq!(
        verify_assertion(
            &other_origin,
            &asked,
            &assertion,
            &passkey.public_key,
            passkey.sign_count,
            true
        )
        .err(),
        Some(PasskeyError::OriginMismatch)
    );
    assert!(matches!(
        verify_assertion(
            &rp,
            &asked,
            &assertion,
            &passkey.public_key,
            used.sign_count,
            true
        ),
        Err(PasskeyError::CounterRegressed { .. })
    ));
}

/// Registers a passkey for Alice with the virtual authenticator, as the account page will:
/// the creation ceremony on the provider's origin, verified, then stored.
async fn enrol_alice(c: &Client, p: &Provider, rp: &RelyingParty) {
    let store = &p.running.verifying.store;
    let alice = store
        .user_by_username(ALICE.0)
        .await
        .expect("read")
        .expect("alice");
    let handle = shared::crypto::random_bytes::<32>();
    let made = challenge();
    let options = creation_options(rp, "Acme", &handle, ALICE.0, "Alice", &made, &[]);
    c.goto(&format!("{}/.well-known/openid-configuration", p.issuer()))
        .await
        .expect("a page of the provider's origin");
    let response = RegistrationResponse::from_json(&ceremony(c, "create", &options).await)
        .expect("a registration response");
    let new = verify_registration(rp, &made, &response, true).expect("registers");
    let b64 = |b: &[u8]| shared::crypto::b64url(b);
    let mut f = Factors::new(&alice.sub);
    f.version = 1;
    f.user_handle = b64(&handle);
    f.passkeys = vec![b64(&new.credential_id)];
    let passkey = Passkey {
        id: b64(&new.credential_id),
        sub: alice.sub.clone(),
        user_handle: f.user_handle.clone(),
        public_key: b64(&new.public_key),
        alg: new.alg,
        sign_count: new.sign_count,
        name: "Chromium".into(),
        created_at: p.clock_now(),
        last_used_at: 0,
        backup_eligible: new.backup_eligible,
        backed_up: new.backed_up,
        transports: new.transports,
    };
    assert_eq!(
        store.add_passkey(&f, &passkey).await.expect("add"),
        AddPasskey::Added
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_a_passkey_by_autofill() {
    let Some((c, _driver)) = browser().await else {
        return;
    };
    let vars = vec![("ISSUER".to_string(), "http://localhost:{port}".to_string())];
    let p = Provider::start_with(TestBackend::Embedded, vars).await;
    let rp = RelyingParty::from_issuer(&p.issuer()).expect("rp");
    assert_eq!(rp.id, "localhost");
    c.issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("virtual authenticator");
    enrol_alice(&c, &p, &rp).await;

    let phishing_resistant = "urn:oidc-serverless:acr:phishing-resistant";
    c.goto(&p.authorize_url(BASIC.0, &[("acr_values", phishing_resistant)]))
        .await
        .expect("open");
    // The page asks for a passkey by autofill (conditional mediation) as it loads; the
    // virtual authenticator consents to that at once, so the person is signed in without
    // touching the button, and lands on the consent page.
    wait_for(&c, "button[value=allow]").await;
    click(&c, "button[value=allow]").await;
    wait_for_url(&c, REDIRECT).await;
    let at = c.current_url().await.expect("url");
    let code = at
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("a code");
    let (status, _, tokens) = p.redeem(&code).await;
    assert_eq!(status, 200, "{tokens}");
    let id = e2e::verify_independently(&p, tokens["id_token"].as_str().expect("ID token"), BASIC.0)
        .await;
    let amr = id["amr"].as_array().expect("amr");
    assert!(amr.iter().any(|a| a == "hwk" || a == "swk"), "{id}");
    assert_eq!(id["acr"], phishing_resistant, "{id}");
}

/// RP-initiated logout, confirmed on the provider's page.
pub(crate) async fn sign_out(c: &Client, p: &Provider) {
    c.goto(&p.url("/logout")).await.expect("logout");
    wait_for(c, "button[name=confirm]").await;
    click(c, "button[name=confirm]").await;
    wait_for(c, "p[role=status]").await;
}

/// What a relying party's OpenID library (the `openidconnect` crate, configured from
/// discovery) sees of a sign-in it starts in Chromium: it sends the browser to the provider,
/// `then` lets the person sign in there until the browser is back at the client, and the
/// library exchanges the code and verifies the ID token (signature, issuer, audience,
/// nonce). Returns the token's `amr` and `acr` as the library reads them.
async fn as_the_rp_library_sees_it<F: std::future::Future<Output = ()>>(
    c: &Client,
    p: &Provider,
    then: impl FnOnce() -> F,
) -> (Vec<String>, Option<String>) {
    use openidconnect::{
        AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
        ProviderMetadataWithLogout, RedirectUrl,
        core::{CoreAuthenticationFlow, CoreClient},
    };
    let http = e2e::http_client();
    let meta = ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(p.issuer()).expect("issuer"),
        &http,
    )
    .await
    .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(BASIC.0.into()),
        Some(ClientSecret::new(BASIC.1.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"));
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    c.goto(url.as_str()).await.expect("open");
    then().await;
    wait_for_url(c, REDIRECT).await;
    let at = c.current_url().await.expect("url");
    let code = at
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("a code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = openidconnect::TokenResponse::id_token(&tokens).expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the library accepts the ID token");
    let amr = claims
        .auth_method_refs()
        .map(|v| v.iter().map(|a| a.to_string()).collect())
        .unwrap_or_default();
    (amr, claims.auth_context_ref().map(|a| a.to_string()))
}

/// A passkey's sign-in, as the relying party's library reads it.
fn library_says_passkey((amr, acr): (Vec<String>, Option<String>)) {
    assert!(amr.iter().any(|a| a == "hwk" || a == "swk"), "{amr:?}");
    assert!(amr.iter().any(|a| a == "user"), "{amr:?}");
    assert_eq!(
        acr.as_deref(),
        Some("urn:oidc-serverless:acr:phishing-resistant")
    );
}

/// The whole journey in Chromium, on every backend: Alice signs in to her account page with
/// her password, adds a passkey (the virtual authenticator makes it), signs out, and signs
/// in to an application with it, by autofill and then, in a browser without autofill, with
/// the button. Screenshots of the account page at phone and desktop widths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_adds_a_passkey_on_the_account_page_and_signs_in_with_it() {
    for backend in e2e::backends() {
        let Some((c, _driver)) = browser().await else {
            return;
        };
        eprintln!("account page passkey journey on {backend:?}");
        let vars = vec![("ISSUER".to_string(), "http://localhost:{port}".to_string())];
        let p = Provider::start_with(backend, vars).await;
        c.issue_cmd(AddVirtualAuthenticator)
            .await
            .expect("virtual authenticator");

        // The account page: signed out, then signed in with the password.
        c.goto(&p.url("/account")).await.expect("open");
        wait_for(&c, "button.primary").await;
        screenshot(&c, "account-signed-out").await;
        click(&c, "button.primary").await;
        wait_for(&c, "input#password").await;
        fill(&c, "#username", ALICE.0).await;
        fill(&c, "#password", ALICE.1).await;
        click(&c, "button[type=submit].primary").await;
        wait_for(&c, "#passkey-name").await;
        screenshot(&c, "account").await;

        // Adding a passkey: named, then made by the authenticator.
        fill(&c, "#passkey-name", "Laptop").await;
        click(&c, "#passkey-name ~ button").await;
        wait_for(&c, "#passkey-create-button").await;
        screenshot(&c, "account-add-passkey").await;
        click(&c, "#passkey-create-button").await;
        wait_for(&c, "p.status").await;
        let page = text(&c).await;
        assert!(page.contains("Passkey “Laptop” added."), "{page}");
        assert!(page.contains("never used"), "{page}");
        screenshot(&c, "account-passkey-added").await;

        // Signed out (RP-initiated logout, confirmed), then in again by autofill.
        sign_out(&c, &p).await;
        let seen = as_the_rp_library_sees_it(&c, &p, || async {
            wait_for(&c, "button[value=allow]").await;
            click(&c, "button[value=allow]").await;
        })
        .await;
        library_says_passkey(seen);

        // In a browser without autofill, the button.
        sign_out(&c, &p).await;
        c.issue_cmd(WithoutAutofill).await.expect("no autofill");
        let seen = as_the_rp_library_sees_it(&c, &p, || async {
            wait_for(&c, "#passkey-button:not([hidden])").await;
            screenshot(&c, "sign-in-passkey-button").await;
            click(&c, "#passkey-button").await;
            wait_for(&c, "button[value=allow]").await;
            click(&c, "button[value=allow]").await;
        })
        .await;
        library_says_passkey(seen);

        // The account page says when it was last used.
        c.goto(&p.url("/account")).await.expect("open");
        wait_for(&c, "h1").await;
        let page = text(&c).await;
        assert!(page.contains("last used"), "{page}");
    }
}
