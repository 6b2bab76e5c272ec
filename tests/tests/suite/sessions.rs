//! Single sign-on: the session cookie and remembered consent, prompt=none/login/consent,
//! id_token_hint, first-party clients, and the Form Post response mode.
use e2e::{
    ALICE, BASIC, FIRST_PARTY, Outcome, POST, REDIRECT, browser::input_value, each_backend,
    verify_independently,
};

each_backend!(oidcc_prompt_none_logged_in, |p| {
    let mut b = p.browser();
    let first = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await;
    let (_, _, t1) = p.redeem(&first.param("code").expect("code")).await;
    let seen = b.pages_seen.len();
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("prompt", "none")]),
            None,
            "allow",
        )
        .await;
    assert_eq!(b.pages_seen.len(), seen, "no page at all");
    let (status, _, t2) = p
        .redeem(&out.param("code").expect("a code, silently"))
        .await;
    assert_eq!(status, 200);
    let sub = |t: &serde_json::Value| t["id_token"].as_str().map(str::to_string);
    let (c1, c2) = (
        verify_independently(&p, &sub(&t1).expect("id"), BASIC.0).await,
        verify_independently(&p, &sub(&t2).expect("id"), BASIC.0).await,
    );
    assert_eq!(c1["sub"], c2["sub"]);
    assert_eq!(
        c1["auth_time"], c2["auth_time"],
        "the same authentication event"
    );
});

each_backend!(single_sign_on_across_clients, |p| {
    let mut b = p.browser();
    b.authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await
        .redirect();
    assert_eq!(b.pages_seen, vec!["login", "consent"]);
    // A second client: no password asked, only its own consent, once.
    let out = b
        .authorize(&p.authorize_url(POST.0, &[]), Some(ALICE), "allow")
        .await;
    assert!(out.param("code").is_some());
    assert_eq!(b.pages_seen, vec!["login", "consent", "consent"]);
    let out = b
        .authorize(&p.authorize_url(POST.0, &[]), Some(ALICE), "allow")
        .await;
    assert!(out.param("code").is_some());
    assert_eq!(b.pages_seen.len(), 3, "consent is remembered per client");
    // Asking for more than was consented to asks again.
    b.authorize(
        &p.authorize_url(POST.0, &[("scope", "openid phone")]),
        Some(ALICE),
        "allow",
    )
    .await
    .redirect();
    assert_eq!(b.pages_seen.len(), 4);
    // A first-party client shows no page at all.
    let out = b
        .authorize(&p.authorize_url(FIRST_PARTY.0, &[]), Some(ALICE), "allow")
        .await;
    assert!(out.param("code").is_some());
    assert_eq!(b.pages_seen.len(), 4, "signed in, first party: no form");
    // Another browser has no session.
    let mut other = p.browser();
    other
        .authorize(&p.authorize_url(POST.0, &[]), Some(ALICE), "allow")
        .await
        .redirect();
    assert_eq!(other.pages_seen[0], "login");
});

each_backend!(first_party_client_skips_consent_after_sign_in, |p| {
    let mut b = p.browser();
    let out = b
        .authorize(&p.authorize_url(FIRST_PARTY.0, &[]), Some(ALICE), "allow")
        .await;
    assert_eq!(b.pages_seen, vec!["login"]);
    let code = out.param("code").expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(p.token(&form, Some(FIRST_PARTY)).await.0, 200);
    // prompt=consent still shows the page when the client asks for it.
    b.authorize(
        &p.authorize_url(FIRST_PARTY.0, &[("prompt", "consent")]),
        Some(ALICE),
        "allow",
    )
    .await
    .redirect();
    assert_eq!(b.pages_seen, vec!["login", "consent"]);
});

each_backend!(prompt_consent_asks_again, |p| {
    let mut b = p.browser();
    b.authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await
        .redirect();
    b.authorize(
        &p.authorize_url(BASIC.0, &[("prompt", "consent")]),
        Some(ALICE),
        "allow",
    )
    .await
    .redirect();
    assert_eq!(b.pages_seen, vec!["login", "consent", "consent"]);
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("prompt", "none consent")]),
            None,
            "allow",
        )
        .await;
    assert_eq!(
        out.param("error").as_deref(),
        Some("invalid_request"),
        "none cannot combine"
    );
});

each_backend!(prompt_none_without_consent_is_consent_required, |p| {
    let mut b = p.browser();
    b.authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await
        .redirect();
    let out = b
        .authorize(
            &p.authorize_url(POST.0, &[("prompt", "none")]),
            None,
            "allow",
        )
        .await;
    assert_eq!(out.param("error").as_deref(), Some("consent_required"));
    assert_eq!(out.param("state").as_deref(), Some("st-123"));
});

each_backend!(oidcc_id_token_hint, |p| {
    let mut b = p.browser();
    let first = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await;
    let (_, _, t) = p.redeem(&first.param("code").expect("code")).await;
    let hint = t["id_token"].as_str().expect("id").to_string();
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("prompt", "none"), ("id_token_hint", &hint)]),
            None,
            "allow",
        )
        .await;
    let (_, _, t2) = p.redeem(&out.param("code").expect("code")).await;
    let c1 = verify_independently(&p, &hint, BASIC.0).await;
    let c2 = verify_independently(&p, t2["id_token"].as_str().expect("id"), BASIC.0).await;
    assert_eq!(c1["sub"], c2["sub"]);
    // A hint we did not sign is refused.
    let mut forged = hint.clone();
    forged.truncate(hint.len() - 4);
    forged.push_str("AAAA");
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("prompt", "none"), ("id_token_hint", &forged)]),
            None,
            "allow",
        )
        .await;
    assert_eq!(out.param("error").as_deref(), Some("invalid_request"));
    // Without a session the hinted user must sign in.
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(BASIC.0, &[("prompt", "none"), ("id_token_hint", &hint)]),
            None,
            "allow",
        )
        .await;
    assert_eq!(out.param("error").as_deref(), Some("login_required"));
});

fn form_post_fields(out: &Outcome) -> (String, String) {
    let Outcome::Page { status: 200, body } = out else {
        panic!("expected the form_post page, got {out:?}")
    };
    let action = e2e::browser::form_action(body).expect("form action");
    (action, body.clone())
}

each_backend!(oidcc_form_post_server, |p| {
    let mut b = p.browser();
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("response_mode", "form_post")]),
            Some(ALICE),
            "allow",
        )
        .await;
    let (action, body) = form_post_fields(&out);
    assert_eq!(action, REDIRECT);
    assert_eq!(input_value(&body, "state").as_deref(), Some("st-123"));
    assert_eq!(input_value(&body, "iss"), Some(p.issuer()));
    let code = input_value(&body, "code").expect("code in the form");
    let (status, _, t) = p.redeem(&code).await;
    assert_eq!(status, 200);
    verify_independently(&p, t["id_token"].as_str().expect("id"), BASIC.0).await;
    // SSO answers in the same mode, with no UI.
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("response_mode", "form_post")]),
            None,
            "allow",
        )
        .await;
    assert!(input_value(&form_post_fields(&out).1, "code").is_some());
});

each_backend!(form_post_page_is_locked_down, |p| {
    let mut b = p.browser();
    b.authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await
        .redirect();
    let resp = b
        .client()
        .get(p.authorize_url(BASIC.0, &[("response_mode", "form_post")]))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("script-src 'sha256-")
            && csp.contains("form-action https://rp.example")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
});

each_backend!(form_post_errors_are_posted_too, |p| {
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(BASIC.0, &[("response_mode", "form_post")]),
            Some(ALICE),
            "deny",
        )
        .await;
    let (action, body) = form_post_fields(&out);
    assert_eq!(action, REDIRECT);
    assert_eq!(
        input_value(&body, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(input_value(&body, "state").as_deref(), Some("st-123"));
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(
                BASIC.0,
                &[("response_mode", "form_post"), ("prompt", "none")],
            ),
            None,
            "allow",
        )
        .await;
    assert_eq!(
        input_value(&form_post_fields(&out).1, "error").as_deref(),
        Some("login_required")
    );
});
