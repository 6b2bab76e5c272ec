//! Requests that name the person or the kind of sign-in they expect (OIDC Core §3.1.2.1
//! `id_token_hint`, §5.5.1 claims with values, §5.5.1.1 essential `acr`): honoured, or
//! refused; never silently answered for someone else or at a pretended level.
use e2e::{ALICE, BASIC, BOB, Outcome, Provider, each_backend, verify_independently};
use serde_json::Value;

/// Alice's ID token for the Basic client (and the browser she signed in with).
async fn alice_id_token(p: &Provider) -> (String, String, e2e::Browser) {
    let mut b = p.browser();
    let out = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await;
    let (status, _, t) = p.redeem(&out.param("code").expect("code")).await;
    assert_eq!(status, 200, "{t}");
    (
        t["id_token"].as_str().expect("id").to_string(),
        t["access_token"].as_str().expect("at").to_string(),
        b,
    )
}

fn error_of(out: &Outcome) -> Option<String> {
    match out {
        Outcome::Redirect(_) => out.param("error"),
        Outcome::Page { body, .. } => ["login_required", "invalid_request", "access_denied"]
            .into_iter()
            .find(|e| body.contains(e))
            .map(str::to_string),
    }
}

each_backend!(
    id_token_hint_names_the_only_person_who_may_be_answered,
    |p| {
        let (hint, access_token, _) = alice_id_token(&p).await;
        // The attack: Alice's ID token as the hint, Bob signs in. No code for Bob.
        let mut b = p.browser();
        let out = b
            .authorize(
                &p.authorize_url(BASIC.0, &[("id_token_hint", &hint)]),
                Some(BOB),
                "allow",
            )
            .await;
        assert!(
            out.param("code").is_none(),
            "no code for another person: {out:?}"
        );
        // Bob's own session and a hint naming Alice: prompt=none is login_required.
        let mut bobs = p.browser();
        bobs.authorize(&p.authorize_url(BASIC.0, &[]), Some(BOB), "allow")
            .await
            .redirect();
        let silent = bobs
            .authorize(
                &p.authorize_url(BASIC.0, &[("id_token_hint", &hint), ("prompt", "none")]),
                None,
                "",
            )
            .await;
        assert_eq!(silent.param("error").as_deref(), Some("login_required"));
        // Interactive, in Bob's browser: asked to sign in; as Alice, the code is Alice's.
        let out = bobs
            .authorize(
                &p.authorize_url(BASIC.0, &[("id_token_hint", &hint)]),
                Some(ALICE),
                "allow",
            )
            .await;
        let (status, _, t) = p.redeem(&out.param("code").expect("Alice gets in")).await;
        assert_eq!(status, 200);
        let id = verify_independently(&p, t["id_token"].as_str().expect("id"), BASIC.0).await;
        let first = verify_independently(&p, &hint, BASIC.0).await;
        assert_eq!(id["sub"], first["sub"]);
        // An access token is not an ID token: refused as a hint.
        let out = p
            .browser()
            .authorize(
                &p.authorize_url(BASIC.0, &[("id_token_hint", &access_token)]),
                Some(ALICE),
                "allow",
            )
            .await;
        assert_eq!(
            error_of(&out).as_deref(),
            Some("invalid_request"),
            "{out:?}"
        );
    }
);

each_backend!(sub_claim_with_a_value_must_be_the_signed_in_person, |p| {
    let claims = r#"{"id_token":{"sub":{"value":"someone-else"}}}"#;
    let (_, _, mut b) = alice_id_token(&p).await;
    let silent = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("claims", claims), ("prompt", "none")]),
            None,
            "",
        )
        .await;
    assert_eq!(silent.param("error").as_deref(), Some("login_required"));
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("claims", claims)]),
            Some(ALICE),
            "allow",
        )
        .await;
    assert!(
        out.param("code").is_none(),
        "never a code for another sub: {out:?}"
    );
});

each_backend!(essential_acr_that_cannot_be_met_is_refused, |p| {
    let doc: Value = p
        .http
        .get(p.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    let ours = doc["acr_values_supported"][0]
        .as_str()
        .expect("an acr")
        .to_string();
    let essential =
        |v: &str| format!(r#"{{"id_token":{{"acr":{{"essential":true,"values":["{v}"]}}}}}}"#);
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(BASIC.0, &[("claims", &essential("urn:example:mfa"))]),
            Some(ALICE),
            "allow",
        )
        .await;
    assert_eq!(
        out.param("error").as_deref(),
        Some("unmet_authentication_requirements"),
        "{out:?}"
    );
    // One it can meet, and a voluntary one: the ID token states the class actually met.
    for claims in [
        essential(&ours),
        r#"{"id_token":{"acr":{"values":["urn:example:mfa"]}}}"#.to_string(),
    ] {
        let code = p.code_for(BASIC.0, &[("claims", &claims)]).await;
        let (_, _, t) = p.redeem(&code).await;
        let id = verify_independently(&p, t["id_token"].as_str().expect("id"), BASIC.0).await;
        assert_eq!(id["acr"], ours.as_str(), "{claims}");
    }
    let code = p
        .code_for(BASIC.0, &[("acr_values", "urn:example:any")])
        .await;
    let (_, _, t) = p.redeem(&code).await;
    let id = verify_independently(&p, t["id_token"].as_str().expect("id"), BASIC.0).await;
    assert_eq!(id["acr"], ours.as_str());
});
