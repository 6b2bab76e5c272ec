//! The release rule, from outside: a claim reaches a client only if its administrator allowed
//! it for that client and the person consented to it (SECURITY.md, "What is released to
//! whom"): the `claims` parameter, people's custom claims, every token and userinfo.
use e2e::{
    ALICE, BASIC, BOB, Browser, OPENID_ONLY, Outcome, Provider, REDIRECT, ROLES, each_backend,
    verify_independently,
};
use serde_json::Value;

const CONTACT: &str = r#"{"id_token":{"email":null,"phone_number":null,"address":null}}"#;

/// The page a browser stops at (a consent page with `decision` "").
fn page(out: Outcome) -> String {
    match out {
        Outcome::Page { status: 200, body } => body,
        other => panic!("expected a page, got {other:?}"),
    }
}

/// Redeems `code` for `client` and returns the verified ID token, the access token's claims,
/// the userinfo answer and the raw token response.
async fn tokens(p: &Provider, code: &str, client: (&str, &str)) -> (Value, Value, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    let (status, _, t) = p.token(&form, Some(client)).await;
    assert_eq!(status, 200, "{t}");
    let at = t["access_token"].as_str().expect("access token");
    let id = verify_independently(p, t["id_token"].as_str().expect("id token"), client.0).await;
    let at_claims = verify_independently(p, at, &p.issuer()).await;
    let (status, _, info) = p.userinfo_get(at).await;
    assert_eq!(status, 200, "{info}");
    (id, at_claims, info)
}

fn has(v: &Value, claim: &str) -> bool {
    v.get(claim).is_some()
}

each_backend!(claims_param_needs_consent, |p| {
    let mut b = p.browser();
    let first = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await;
    let (id, _, _) = tokens(&p, &first.param("code").expect("code"), BASIC).await;
    assert!(!has(&id, "email"), "openid alone releases no contact data");

    // The attack: a silent request with the claims parameter, after consent to openid only.
    let silent = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("claims", CONTACT), ("prompt", "none")]),
            None,
            "",
        )
        .await;
    assert_eq!(
        silent.param("error").as_deref(),
        Some("consent_required"),
        "{silent:?}"
    );
    // Interactive: the consent page names every claim asked for.
    let body = page(
        b.authorize(&p.authorize_url(BASIC.0, &[("claims", CONTACT)]), None, "")
            .await,
    );
    for label in ["email address", "phone number", "postal address"] {
        assert!(body.contains(label), "{label} on the consent page:\n{body}");
    }
    let allowed = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("claims", CONTACT)]),
            None,
            "allow",
        )
        .await;
    let (id, _, info) = tokens(&p, &allowed.param("code").expect("code"), BASIC).await;
    assert_eq!(id["email"], "alice@example.com");
    assert!(has(&id, "phone_number") && has(&id, "address"), "{id}");
    assert!(
        !has(&info, "email"),
        "asked for the ID token only: not userinfo"
    );
    // Remembered, claims and all: the same silent request now gets a code.
    let again = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("claims", CONTACT), ("prompt", "none")]),
            None,
            "",
        )
        .await;
    assert!(again.param("code").is_some(), "{again:?}");
});

each_backend!(
    claims_param_limited_to_what_the_administrator_allowed,
    |p| {
        // A client allowed only `openid` asks for contact data by name: nothing is asked of the
        // person and nothing is released, in any token or at userinfo.
        let claims = r#"{"id_token":{"email":null,"phone_number":null,"address":null},"userinfo":{"email":null,"name":null}}"#;
        let url = p.authorize_url(
            OPENID_ONLY.0,
            &[("claims", claims), ("scope", "openid email profile")],
        );
        let body = page(p.browser().authorize(&url, Some(ALICE), "").await);
        assert!(
            !body.contains("email address") && !body.contains("Also share"),
            "nothing but openid on the page:\n{body}"
        );
        let out = p.browser().authorize(&url, Some(ALICE), "allow").await;
        let (id, at, info) = tokens(&p, &out.param("code").expect("code"), OPENID_ONLY).await;
        for claim in ["email", "phone_number", "address", "name"] {
            assert!(
                !has(&id, claim) && !has(&info, claim),
                "{claim}: {id} {info}"
            );
        }
        assert_eq!(
            at["scope"], "openid",
            "the scopes it may not have are not granted"
        );
    }
);

each_backend!(custom_claims_only_to_clients_allowed_them, |p| {
    // Bob's roles are his custom claim: a third-party client that was not allowed them gets
    // none, and its consent page says only what it gets.
    let body = page(
        p.browser()
            .authorize(&p.authorize_url(BASIC.0, &[]), Some(BOB), "")
            .await,
    );
    assert!(!body.contains("rp.example/roles"), "{body}");
    let out = p
        .browser()
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(BOB), "allow")
        .await;
    let (id, at, info) = tokens(&p, &out.param("code").expect("code"), BASIC).await;
    for v in [&id, &at, &info] {
        for claim in [
            "https://rp.example/roles",
            "https://rp.example/plan",
            "https://rp.example/team",
        ] {
            assert!(
                !has(v, claim),
                "{claim} released without being allowed: {v}"
            );
        }
    }
});

each_backend!(custom_claims_allowed_by_name_or_scope_need_consent, |p| {
    let url = p.authorize_url(ROLES.0, &[("scope", "openid team")]);
    let mut b = p.browser();
    let body = page(b.authorize(&url, Some(BOB), "").await);
    assert!(
        body.contains("https://rp.example/roles") && body.contains("https://rp.example/team"),
        "the consent page names the custom claims:\n{body}"
    );
    assert!(
        !body.contains("https://rp.example/plan"),
        "not allowed, not shown"
    );
    let out = b.authorize(&url, None, "allow").await;
    let (id, at, info) = tokens(&p, &out.param("code").expect("code"), ROLES).await;
    assert_eq!(
        id["https://rp.example/roles"],
        serde_json::json!(["admin", "ops"])
    );
    assert_eq!(
        id["https://rp.example/team"], "blue",
        "carried by its scope"
    );
    assert_eq!(
        at["https://rp.example/roles"],
        serde_json::json!(["admin", "ops"])
    );
    assert!(
        !has(&at, "https://rp.example/team"),
        "its targets: ID token, userinfo"
    );
    assert_eq!(info["https://rp.example/team"], "blue");
    assert!(!has(&info, "https://rp.example/plan"), "{info}");
    // Without the scope, the team is not released (and not asked for).
    let body = page(
        Browser::new(&p.issuer())
            .authorize(&p.authorize_url(ROLES.0, &[]), Some(BOB), "")
            .await,
    );
    assert!(!body.contains("rp.example/team"), "{body}");
});
