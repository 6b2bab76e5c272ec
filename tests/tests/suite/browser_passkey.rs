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

use super::browser::browser;

/// `POST /session/{id}/webauthn/authenticator` (WebAuthn L3 §11.3, Add Virtual Authenticator).
#[derive(Debug)]
struct AddVirtualAuthenticator;

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
    if used.sign_count > 0 {
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
}
