//! What must fail, and how: RFC 6749 §5.2 token errors, RFC 6750 §3 bearer errors, the
//! authorization endpoint's refusals, and the sign-in forms' defences.
use e2e::{ALICE, BASIC, Outcome, POST, PUBLIC, REDIRECT, each_backend};
use serde_json::Value;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

each_backend!(
    wrong_pkce_verifier_is_invalid_grant_and_keeps_the_code,
    |p| {
        let code = p
            .code_for(
                PUBLIC,
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        let form = |v: &'static str| {
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("client_id", PUBLIC),
                ("code_verifier", v),
            ]
        };
        let (status, _, body) = p
            .token(&form("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"), None)
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        // A failed attempt burns nothing: the right verifier still works.
        let (status, _, body) = p.token(&form(VERIFIER), None).await;
        assert_eq!(status, 200, "{body}");
    }
);

each_backend!(public_client_without_pkce_is_refused_at_authorize, |p| {
    let out = p
        .browser()
        .authorize(&p.authorize_url(PUBLIC, &[]), Some(ALICE), "allow")
        .await;
    assert_eq!(out.param("error").as_deref(), Some("invalid_request"));
});

each_backend!(plain_pkce_is_refused, |p| {
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(
                PUBLIC,
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "plain"),
                ],
            ),
            Some(ALICE),
            "allow",
        )
        .await;
    assert_eq!(out.param("error").as_deref(), Some("invalid_request"));
});

each_backend!(wrong_client_secret_is_401_with_challenge, |p| {
    let code = p.code_for(BASIC.0, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, headers, body) = p
        .token(
            &form,
            Some((BASIC.0, "not-the-secret-0123456789abcdefghijkl")),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .expect("ascii")
            .starts_with("Basic")
    );
    assert_eq!(headers["cache-control"], "no-store");
    // Unknown client and the wrong method are the same failure.
    assert_eq!(p.token(&form, Some(("nobody", "x"))).await.0, 401);
    let mut post_form = form.to_vec();
    post_form.extend([("client_id", BASIC.0), ("client_secret", BASIC.1)]);
    assert_eq!(
        p.token(&post_form, None).await.0,
        401,
        "rp-basic registered client_secret_basic, not post"
    );
    // The code survived the failed attempts.
    assert_eq!(p.redeem(&code).await.0, 200);
});

each_backend!(redirect_uri_mismatch_at_token_endpoint, |p| {
    let code = p.code_for(BASIC.0, &[]).await;
    for uri in [Some("https://rp.example/other"), None] {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        if let Some(u) = uri {
            form.push(("redirect_uri", u));
        }
        let (status, _, body) = p.token(&form, Some(BASIC)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{uri:?}"
        );
    }
});

each_backend!(expired_code_is_invalid_grant, |p| {
    let code = p.code_for(BASIC.0, &[]).await;
    p.clock.advance(61);
    let (status, _, body) = p.redeem(&code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
});

each_backend!(code_of_another_client_is_invalid_grant, |p| {
    let code = p.code_for(BASIC.0, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", POST.0),
        ("client_secret", POST.1),
    ];
    assert_eq!(p.token(&form, None).await.2["error"], "invalid_grant");
    assert_eq!(
        p.redeem(&code).await.0,
        200,
        "the rightful client can still redeem it"
    );
});

each_backend!(token_endpoint_protocol_errors, |p| {
    let (s, _, b) = p.token(&[("code", "x")], Some(BASIC)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "grant_type missing"
    );
    let (s, _, b) = p.token(&[("grant_type", "password")], Some(BASIC)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, _, b) = p
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("redirect_uri", REDIRECT),
            ],
            Some(BASIC),
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _, b) = p
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("grant_type", "authorization_code"),
            ],
            Some(BASIC),
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "repeated parameter"
    );
    let resp = p
        .http
        .post(p.url("/token"))
        .body("{}")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("json post");
    assert_eq!(resp.status(), 400);
    let resp = p.http.get(p.url("/token")).send().await.expect("get token");
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
});

each_backend!(bad_bearer_token_at_userinfo, |p| {
    let resp = p
        .http
        .get(p.url("/userinfo"))
        .send()
        .await
        .expect("no token");
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"userinfo\""
    );
    for token in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        let (status, headers, body) = p.userinfo_get(token).await;
        assert_eq!(status, 401, "{token}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .expect("ascii")
                .contains("error=\"invalid_token\"")
        );
        assert_eq!(body["error"], "invalid_token");
    }
    // An ID token is not an access token, even though we signed it.
    let code = p.code_for(BASIC.0, &[]).await;
    let (_, _, t) = p.redeem(&code).await;
    assert_eq!(
        p.userinfo_get(t["id_token"].as_str().expect("id")).await.0,
        401
    );
    // A tampered access token fails; an expired one too.
    let at = t["access_token"].as_str().expect("at");
    let mut tampered = at.to_string();
    tampered.insert(at.find('.').expect("dot") + 5, 'A');
    assert_eq!(p.userinfo_get(&tampered).await.0, 401);
    p.clock.advance(3600);
    assert_eq!(p.userinfo_get(at).await.0, 401);
});

each_backend!(consent_denied_is_access_denied_at_the_client, |p| {
    let out = p
        .browser()
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "deny")
        .await;
    assert!(out.redirect().as_str().starts_with(REDIRECT));
    assert_eq!(out.param("error").as_deref(), Some("access_denied"));
    assert_eq!(out.param("state").as_deref(), Some("st-123"));
    assert_eq!(out.param("iss"), Some(p.issuer()));
    assert!(out.param("code").is_none());
});

each_backend!(wrong_password_keeps_username_and_does_not_say_which, |p| {
    let mut b = p.browser();
    let wrong_pw = b
        .authorize(
            &p.authorize_url(BASIC.0, &[]),
            Some(("alice", "not-her-password")),
            "allow",
        )
        .await;
    let Outcome::Page {
        status: 200,
        body: wrong_pw,
    } = wrong_pw
    else {
        panic!("form shown again")
    };
    assert!(wrong_pw.contains("Wrong username or password"));
    assert_eq!(
        e2e::browser::input_value(&wrong_pw, "username").as_deref(),
        Some("alice")
    );
    let mut b2 = p.browser();
    let Outcome::Page { body: unknown, .. } = b2
        .authorize(
            &p.authorize_url(BASIC.0, &[]),
            Some(("mallory", "x")),
            "allow",
        )
        .await
    else {
        panic!("form shown again")
    };
    let strip = |s: &str| {
        s.lines()
            .filter(|l| {
                !l.contains("name=\"req\"")
                    && !l.contains("name=\"csrf\"")
                    && !l.contains("name=\"username\"")
                // The passkey form's options carry the request's own challenge.
                && !l.contains("data-options=")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&wrong_pw),
        strip(&unknown),
        "unknown user and wrong password look the same"
    );
});

each_backend!(
    forms_reject_missing_or_wrong_csrf_and_foreign_browsers,
    |p| {
        let mut b = p.browser();
        let Outcome::Page { body, .. } = b
            .authorize(&p.authorize_url(BASIC.0, &[]), None, "allow")
            .await
        else {
            panic!("login page")
        };
        let req = e2e::browser::input_value(&body, "req").expect("req");
        let creds = |csrf: &str| {
            vec![
                ("req", req.clone()),
                ("csrf", csrf.to_string()),
                ("username", ALICE.0.into()),
                ("password", ALICE.1.into()),
            ]
        };
        for csrf in ["", "wrong-token"] {
            let resp = b.submit("/login", &creds(csrf)).await;
            assert_eq!(resp.status(), 403, "csrf {csrf:?}");
        }
        // Another browser (no binding cookie) with the right token is refused too: login CSRF.
        let csrf = e2e::browser::input_value(&body, "csrf").expect("csrf");
        let other = p.browser();
        assert_eq!(other.submit("/login", &creds(&csrf)).await.status(), 403);
        // The genuine form still works afterwards.
        assert_eq!(b.submit("/login", &creds(&csrf)).await.status(), 303);
    }
);

each_backend!(pages_carry_security_headers, |p| {
    let b = p.browser();
    let resp = b
        .client()
        .get(p.authorize_url(BASIC.0, &[]))
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        resp.status(),
        200,
        "/authorize shows the sign-in form itself"
    );
    let body = resp.text().await.expect("page");
    let req = e2e::browser::input_value(&body, "req").expect("req");
    // The same form as /login shows it again.
    let again = b
        .client()
        .get(format!("{}?req={req}", p.url("/login")))
        .send()
        .await
        .expect("login page");
    let authorize = b
        .client()
        .get(p.authorize_url(BASIC.0, &[]))
        .send()
        .await
        .expect("authorize");
    let error = b
        .client()
        .get(p.authorize_url("nobody", &[]))
        .send()
        .await
        .expect("error page");
    for resp in [again, authorize, error] {
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().expect("csp");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
    }
});

each_backend!(discovery_and_jwks_are_consistent, |p| {
    let meta: Value = p
        .http
        .get(p.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("disc")
        .json()
        .await
        .expect("json");
    assert_eq!(meta["issuer"], p.issuer());
    for (k, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks.json"),
    ] {
        assert_eq!(meta[k], p.url(path), "{k}");
    }
    assert!(
        meta["scopes_supported"]
            .as_array()
            .expect("scopes")
            .iter()
            .any(|s| s == "openid")
    );
    assert_eq!(
        meta["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        meta["subject_types_supported"],
        serde_json::json!(["public"])
    );
    let jwks = p.jwks().await;
    assert!(!jwks.keys.is_empty());
    for k in &jwks.keys {
        assert!(k.common.key_id.is_some(), "every key has a kid");
    }
    let alg = meta["id_token_signing_alg_values_supported"][0]
        .as_str()
        .expect("alg");
    assert!(matches!(alg, "RS256" | "ES256"));
});

each_backend!(unknown_client_error_page_is_not_a_redirect, |p| {
    let resp = p
        .http
        .get(p.authorize_url("nobody", &[]))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    let body = resp.text().await.expect("page");
    assert!(body.contains("not registered"), "{body}");
});

fn assert_page_headers(resp: &reqwest::Response, what: &str) {
    let h = resp.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{what}: {csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
}

each_backend!(
    every_page_has_security_headers_and_every_form_checks_csrf,
    |p| {
        let b = p.browser();
        let c = b.client();
        let go = |url: String| async move { c.get(url).send().await.expect("get") };
        // Sign-in page.
        let login = go(p.authorize_url(BASIC.0, &[])).await;
        assert_page_headers(&login, "sign-in");
        let body = login.text().await.expect("page");
        let (req, csrf) = (
            e2e::browser::input_value(&body, "req").expect("req"),
            e2e::browser::input_value(&body, "csrf").expect("csrf"),
        );
        let signed_in = b
            .submit(
                "/login",
                &[
                    ("req", req.clone()),
                    ("csrf", csrf.clone()),
                    ("username", ALICE.0.into()),
                    ("password", ALICE.1.into()),
                ],
            )
            .await;
        // Consent page; its form refuses a missing or wrong token.
        let consent = go(signed_in.headers()["location"]
            .to_str()
            .expect("loc")
            .to_string())
        .await;
        assert_page_headers(&consent, "consent");
        for bad in ["", "wrong"] {
            let resp = b
                .submit(
                    "/consent",
                    &[
                        ("req", req.clone()),
                        ("csrf", bad.into()),
                        ("decision", "allow".into()),
                    ],
                )
                .await;
            assert_eq!(resp.status(), 403, "consent csrf {bad:?}");
            assert_page_headers(&resp, "consent refusal");
        }
        // Error page, logout confirmation, signed-out page.
        assert_page_headers(&go(p.authorize_url("nobody", &[])).await, "error");
        let confirm = go(p.url("/logout")).await;
        assert_page_headers(&confirm, "logout confirmation");
        assert!(
            e2e::browser::input_value(&confirm.text().await.expect("page"), "csrf").is_some(),
            "the logout form carries a token"
        );
        let refused = b.submit("/logout", &[("csrf", "wrong".into())]).await;
        assert_page_headers(&refused, "logout with a wrong token");
        assert!(
            refused.text().await.expect("page").contains("Sign out?"),
            "asked again, not signed out"
        );
        assert_page_headers(
            &p.http
                .get(p.url("/logout"))
                .send()
                .await
                .expect("signed out"),
            "signed out",
        );
    }
);

// Issue 12, defect 13: a `state` refused as too long was still echoed into a 60 kB Location
// header, and /logout had no cap on `state`. Over its cap, a parameter is answered with our
// own page, never reflected.
each_backend!(oversized_state_is_never_reflected, |p| {
    let huge = "s".repeat(60_000);
    let just_over = "s".repeat(2049);
    for state in [&huge, &just_over] {
        for extra in [
            vec![("state", state.as_str())],
            vec![("state", state.as_str()), ("scope", "")],
        ] {
            let resp = p
                .http
                .get(p.authorize_url(BASIC.0, &extra))
                .send()
                .await
                .expect("authorize");
            assert_eq!(resp.status(), 400);
            assert!(resp.headers().get("location").is_none());
            let page = resp.text().await.expect("page");
            assert!(!page.contains(&"s".repeat(100)), "the state is not echoed");
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", BASIC.0),
                ("post_logout_redirect_uri", e2e::LOGGED_OUT),
                ("state", state.as_str()),
            ])
            .finish();
        let resp = p
            .http
            .get(format!("{}?{q}", p.url("/logout")))
            .send()
            .await
            .expect("logout");
        assert_eq!(resp.status(), 400);
        assert!(resp.headers().get("location").is_none());
        assert!(!resp.text().await.expect("page").contains(&"s".repeat(100)));
    }
    // At the cap, it is returned as sent.
    let at_cap = "s".repeat(2048);
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(BASIC.0, &[("state", &at_cap), ("scope", "")]),
            None,
            "",
        )
        .await;
    assert_eq!(out.param("state").as_deref(), Some(at_cap.as_str()));
});
