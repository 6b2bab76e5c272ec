//! Levels of sign-in (password < two factors < phishing-resistant), over HTTP on every
//! backend: a session below the level a request needs (the client's administrator's, the
//! request's `acr_values` or essential `acr`, the deployment's `SIGNIN_MIN_LEVEL`) is not
//! reused: the person steps up on a sign-in page that offers only what reaches the level,
//! and the ID token's `acr` states the value asked for that was met, or the sign-in's own
//! level. A session above the level is reused without a page. A person who signs in below
//! the level gets a page to get past or cancel; only a cancel tells the client
//! (`unmet_authentication_requirements`).
use e2e::{
    ALICE, BASIC, Browser, Outcome, Provider, REDIRECT, browser::input_value, browser::unescape,
};
use serde_json::{Value, json};

use crate::passkey_signin::{Authenticator, alice_with_passkey, passkey_form};

const PASSWORD: &str = "urn:oidc-serverless:acr:password";
const TWO_FACTOR: &str = "urn:oidc-serverless:acr:two-factor";
const PHISHING_RESISTANT: &str = "urn:oidc-serverless:acr:phishing-resistant";
/// A client whose administrator requires a passkey.
pub(crate) const PASSKEYS_ONLY: (&str, &str) =
    ("rp-passkeys", "rp-passkeys-secret-0123456789abcdefghijk");

/// Adds the client whose administrator requires phishing-resistant sign-in, as a seed file
/// (or `oidc-admin clients create --min-level`) would.
pub(crate) async fn add_passkeys_only_client(p: &Provider) {
    let seed: shared::seed::SeedClient = serde_json::from_value(json!({
        "client_id": PASSKEYS_ONLY.0, "client_name": "Passkey RP", "client_secret": PASSKEYS_ONLY.1,
        "redirect_uris": [REDIRECT], "min_level": "phishing-resistant",
    }))
    .expect("seed client");
    let client = seed.to_client().expect("valid");
    p.running
        .verifying
        .store
        .put_client(&client)
        .await
        .expect("put client");
}

/// Whether `body` is the sign-in page that offers a passkey only: no password form, no
/// upstream provider, and a sentence that says so with a link to the account page.
fn offers_a_passkey_only(body: &str) -> bool {
    let body = unescape(body);
    body.contains("id=\"passkey-form\"")
        && !body.contains("name=\"password\"")
        && !body.contains("Continue with")
        && body.contains("needs a passkey to sign in")
        && body.contains("/account\"")
}

/// Signs in with `a` on the sign-in page `body`, then agrees: the outcome.
async fn sign_in_with_passkey(
    p: &Provider,
    b: &mut Browser,
    body: &str,
    a: &Authenticator,
) -> Outcome {
    let (req, csrf, options) = passkey_form(body);
    let form = [
        ("req", req),
        ("csrf", csrf),
        ("credential", a.assert(&options, &p.issuer(), 0)),
    ];
    let signed_in = b.submit("/login/passkey", &form).await;
    assert_eq!(signed_in.status().as_u16(), 303, "signed in");
    b.follow(signed_in, None, "allow").await
}

/// The ID token of `out`'s code, redeemed by `client`, verified.
async fn id_token(p: &Provider, out: &Outcome, client: (&str, &str)) -> Value {
    let code = out
        .param("code")
        .unwrap_or_else(|| panic!("a code: {out:?}"));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, _, t) = p.token(&form, Some(client)).await;
    assert_eq!(status, 200, "{t}");
    e2e::verify_independently(p, t["id_token"].as_str().expect("an ID token"), client.0).await
}

/// A browser with a password session of Alice's (she signed in to the Basic RP).
async fn password_session(p: &Provider) -> Browser {
    let mut b = p.browser();
    let out = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await;
    let id = id_token(p, &out, BASIC).await;
    assert_eq!(id["acr"], PASSWORD, "stated without being asked: {id}");
    assert_eq!(id["amr"], json!(["pwd"]));
    b
}

/// The page at `url` for browser `b`, which must not redirect.
async fn page(b: &mut Browser, url: &str) -> String {
    match b.authorize(url, None, "").await {
        Outcome::Page { status: 200, body } => body,
        other => panic!("expected a page: {other:?}"),
    }
}

e2e::each_backend!(
    a_client_that_requires_a_passkey_steps_a_password_session_up,
    |p| {
        add_passkeys_only_client(&p).await;
        let (_, authenticator) = alice_with_passkey(&p).await;
        let mut b = password_session(&p).await;
        let url = p.authorize_url(PASSKEYS_ONLY.0, &[]);
        // prompt=none cannot step up without a page (Core §3.1.2.6).
        let silent = b
            .authorize(
                &p.authorize_url(PASSKEYS_ONLY.0, &[("prompt", "none")]),
                None,
                "",
            )
            .await;
        assert_eq!(
            silent.param("error").as_deref(),
            Some("login_required"),
            "{silent:?}"
        );
        let body = page(&mut b, &url).await;
        assert!(offers_a_passkey_only(&body), "{body}");
        let out = sign_in_with_passkey(&p, &mut b, &body, &authenticator).await;
        let id = id_token(&p, &out, PASSKEYS_ONLY).await;
        assert_eq!(id["acr"], PHISHING_RESISTANT, "{id}");
        assert_eq!(id["amr"], json!(["swk", "user", "mfa"]), "{id}");
        // Now signed in with a passkey: the next request needs no page.
        b.pages_seen.clear();
        let again = b.authorize(&url, None, "").await;
        assert!(again.param("code").is_some(), "single sign-on: {again:?}");
        assert!(b.pages_seen.is_empty(), "{:?}", b.pages_seen);
    }
);

e2e::each_backend!(acr_values_step_up_and_a_higher_session_is_reused, |p| {
    let (_, authenticator) = alice_with_passkey(&p).await;
    let mut b = password_session(&p).await;
    let body = page(
        &mut b,
        &p.authorize_url(BASIC.0, &[("acr_values", PHISHING_RESISTANT)]),
    )
    .await;
    assert!(offers_a_passkey_only(&body), "{body}");
    let out = sign_in_with_passkey(&p, &mut b, &body, &authenticator).await;
    let id = id_token(&p, &out, BASIC).await;
    assert_eq!(id["acr"], PHISHING_RESISTANT, "{id}");

    // A passkey session meets lower levels: no page, and the ID token states the value
    // asked for (Core §5.5.1.1), the highest met when several are.
    for (extra, stated) in [
        (vec![("acr_values", PASSWORD)], PASSWORD),
        (
            vec![(
                "acr_values",
                &*format!("{PASSWORD} {TWO_FACTOR} urn:example:unknown"),
            )],
            TWO_FACTOR,
        ),
        (
            vec![(
                "claims",
                &*format!(
                    r#"{{"id_token":{{"acr":{{"essential":true,"values":["{TWO_FACTOR}"]}}}}}}"#
                ),
            )],
            TWO_FACTOR,
        ),
        (vec![], PHISHING_RESISTANT),
    ] {
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, &**v)).collect();
        b.pages_seen.clear();
        let out = b
            .authorize(&p.authorize_url(BASIC.0, &extra), None, "")
            .await;
        assert!(
            b.pages_seen.is_empty(),
            "single sign-on: {:?}",
            b.pages_seen
        );
        let id = id_token(&p, &out, BASIC).await;
        assert_eq!(id["acr"], stated, "{extra:?}: {id}");
        assert_eq!(
            id["amr"],
            json!(["swk", "user", "mfa"]),
            "as recorded: {id}"
        );
    }

    // The same after a refresh.
    let out = b
        .authorize(
            &p.authorize_url(
                BASIC.0,
                &[("acr_values", PASSWORD), ("scope", "openid offline_access")],
            ),
            None,
            "allow",
        )
        .await;
    let code = out.param("code").expect("a code");
    let (_, _, t) = p.redeem(&code).await;
    let rt = t["refresh_token"].as_str().expect("a refresh token");
    let (status, _, r) = p
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            Some(BASIC),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let id = e2e::verify_independently(&p, r["id_token"].as_str().expect("id"), BASIC.0).await;
    assert_eq!(id["acr"], PASSWORD, "{id}");
    assert_eq!(id["amr"], json!(["swk", "user", "mfa"]), "{id}");
});

e2e::each_backend!(
    an_essential_acr_steps_up_and_giving_up_tells_the_client,
    |p| {
        let (_, authenticator) = alice_with_passkey(&p).await;
        let mut b = password_session(&p).await;
        let essential = format!(
            r#"{{"id_token":{{"acr":{{"essential":true,"values":["{PHISHING_RESISTANT}"]}}}}}}"#
        );
        let body = page(&mut b, &p.authorize_url(BASIC.0, &[("claims", &essential)])).await;
        assert!(offers_a_passkey_only(&body), "{body}");
        let out = sign_in_with_passkey(&p, &mut b, &body, &authenticator).await;
        assert_eq!(id_token(&p, &out, BASIC).await["acr"], PHISHING_RESISTANT);

        // Two factors asked of a person without a second factor: the password form is offered
        // (with passkeys); a password alone falls short, and the person gets a page to get past,
        // not an error. Cancelling tells the client.
        let mut b = p.browser();
        let url = p.authorize_url(BASIC.0, &[("acr_values", TWO_FACTOR)]);
        let out = b.authorize(&url, Some(ALICE), "allow").await;
        let Outcome::Page { status: 200, body } = out else {
            panic!("the step-up page: {out:?}");
        };
        let shown = unescape(&body);
        assert!(shown.contains("A stronger sign-in is needed"), "{body}");
        assert!(shown.contains("/account\""), "{body}");
        assert!(
            shown.contains("/login?req="),
            "a way back to sign in: {body}"
        );
        let form = [
            ("req", input_value(&body, "req").expect("req")),
            ("csrf", input_value(&body, "csrf").expect("csrf")),
        ];
        let cancelled = b.submit("/consent", &form).await;
        let out = b.follow(cancelled, None, "").await;
        assert_eq!(
            out.param("error").as_deref(),
            Some("unmet_authentication_requirements"),
            "{out:?}"
        );
        assert_eq!(out.param("state").as_deref(), Some("st-123"));
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployment_minimum_binds_every_client_and_registration_cannot_lower_it() {
    for backend in e2e::backends() {
        let vars = vec![
            (
                "SIGNIN_MIN_LEVEL".to_string(),
                "phishing-resistant".to_string(),
            ),
            ("REGISTRATION".to_string(), "open".to_string()),
        ];
        let p = Provider::start_with(backend, vars).await;
        let doc: Value = p
            .http
            .get(p.url("/.well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        assert_eq!(
            doc["acr_values_supported"],
            json!([PASSWORD, TWO_FACTOR, PHISHING_RESISTANT]),
            "the levels, lowest first"
        );
        let (_, authenticator) = alice_with_passkey(&p).await;

        // A request for less, and a client registered asking for less: a passkey still.
        let registered: Value = p
            .http
            .post(p.url("/register"))
            .json(&json!({"redirect_uris": [REDIRECT], "default_acr_values": [PASSWORD]}))
            .send()
            .await
            .expect("register")
            .json()
            .await
            .expect("json");
        assert_eq!(
            registered["default_acr_values"],
            json!([PASSWORD]),
            "{registered}"
        );
        let registered_id = registered["client_id"].as_str().expect("client_id");
        let mut b = p.browser();
        for url in [
            p.authorize_url(BASIC.0, &[("acr_values", PASSWORD)]),
            p.authorize_url(registered_id, &[]),
        ] {
            let body = page(&mut b, &url).await;
            assert!(offers_a_passkey_only(&body), "{url}: {body}");
        }
        // A password posted all the same (the form is not offered) does not get a code.
        let body = page(&mut b, &p.authorize_url(BASIC.0, &[])).await;
        let (req, csrf, _) = passkey_form(&body);
        let posted = b
            .submit(
                "/login",
                &[
                    ("req", req),
                    ("csrf", csrf),
                    ("username", ALICE.0.into()),
                    ("password", ALICE.1.into()),
                ],
            )
            .await;
        let out = b.follow(posted, None, "allow").await;
        assert!(out.param("code").is_none(), "{out:?}");
        assert!(
            matches!(&out, Outcome::Page { status: 200, body } if body.contains("A stronger sign-in is needed")),
            "the step-up page: {out:?}"
        );
        let body = page(&mut b, &p.authorize_url(BASIC.0, &[])).await;
        let out = sign_in_with_passkey(&p, &mut b, &body, &authenticator).await;
        assert_eq!(id_token(&p, &out, BASIC).await["acr"], PHISHING_RESISTANT);
    }
}
