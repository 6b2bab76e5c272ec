//! RP-Initiated Logout 1.0 at the end_session_endpoint.
use e2e::{ALICE, BASIC, BOB, FIRST_PARTY, LOGGED_OUT, REDIRECT, each_backend};
use serde_json::{Value, json};

/// Signs Alice in for the Basic client in `b`; returns her ID token.
async fn signed_in(p: &e2e::Provider, b: &mut e2e::Browser) -> String {
    let out = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await;
    let (_, _, t) = p.redeem(&out.param("code").expect("code")).await;
    t["id_token"].as_str().expect("id").to_string()
}

fn logout_url(p: &e2e::Provider, params: &[(&str, &str)]) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}?{q}", p.url("/logout"))
}

async fn prompt_none(p: &e2e::Provider, b: &mut e2e::Browser) -> Option<String> {
    b.authorize(
        &p.authorize_url(BASIC.0, &[("prompt", "none")]),
        None,
        "allow",
    )
    .await
    .param("error")
}

/// The claims of an ID token, verified independently.
async fn id_claims(p: &e2e::Provider, id_token: &str, client_id: &str) -> Value {
    e2e::verify_independently(p, id_token, client_id).await
}

// Issue 12, defect 6: ID tokens carry the session's `sid`, the same for every client and
// grant of one sign-in, and a hint with the current `sid` logs out without a page.
each_backend!(rp_initiated_logout_with_hint_returns_to_the_client, |p| {
    let mut b = p.browser();
    let hint = signed_in(&p, &mut b).await;
    let sid = id_claims(&p, &hint, BASIC.0).await["sid"]
        .as_str()
        .expect("the ID token carries sid")
        .to_string();
    // The same session's single sign-on to another client, and a refresh, say the same sid.
    let out = b
        .authorize(&p.authorize_url(FIRST_PARTY.0, &[]), None, "")
        .await;
    let (_, _, t) = p
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &out.param("code").expect("code")),
                ("redirect_uri", REDIRECT),
            ],
            Some(FIRST_PARTY),
        )
        .await;
    let id = t["id_token"].as_str().expect("id");
    assert_eq!(id_claims(&p, id, FIRST_PARTY.0).await["sid"], sid.as_str());
    let code = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("scope", "openid offline_access")]),
            None,
            "allow",
        )
        .await
        .param("code")
        .expect("code");
    let (_, _, t) = p.redeem(&code).await;
    let (_, _, refreshed) = p
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().expect("rt")),
            ],
            Some(BASIC),
        )
        .await;
    let id = refreshed["id_token"].as_str().expect("id");
    assert_eq!(id_claims(&p, id, BASIC.0).await["sid"], sid.as_str());
    // Another browser's sign-in is another session.
    let other = signed_in(&p, &mut p.browser()).await;
    assert_ne!(id_claims(&p, &other, BASIC.0).await["sid"], sid.as_str());
    // Front- and back-channel logout are not implemented, and not claimed.
    let meta: Value = p
        .http
        .get(p.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    for claim in [
        "frontchannel_logout_session_supported",
        "backchannel_logout_session_supported",
        "frontchannel_logout_supported",
        "backchannel_logout_supported",
    ] {
        assert!(meta.get(claim).is_none(), "{claim}");
    }
    assert_eq!(
        prompt_none(&p, &mut b).await,
        None,
        "signed in: prompt=none succeeds"
    );
    let resp = b
        .client()
        .get(logout_url(
            &p,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "bye"),
            ],
        ))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("{LOGGED_OUT}?state=bye")
    );
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    assert_eq!(
        prompt_none(&p, &mut b).await.as_deref(),
        Some("login_required"),
        "the session is over"
    );
});

each_backend!(logout_refuses_unregistered_post_logout_redirect_uri, |p| {
    let mut b = p.browser();
    let hint = signed_in(&p, &mut b).await;
    let resp = b
        .client()
        .get(logout_url(
            &p,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://attacker.example/"),
            ],
        ))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(prompt_none(&p, &mut b).await, None, "still signed in");
    // Without any client to check it against, a post_logout_redirect_uri is refused too.
    let resp = b
        .client()
        .get(logout_url(&p, &[("post_logout_redirect_uri", LOGGED_OUT)]))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 400);
});

each_backend!(logout_without_hint_asks_for_confirmation, |p| {
    let mut b = p.browser();
    signed_in(&p, &mut b).await;
    let resp = b
        .client()
        .get(logout_url(
            &p,
            &[
                ("client_id", BASIC.0),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "s1"),
            ],
        ))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("page");
    assert!(page.contains("Sign out?"));
    let csrf = e2e::browser::input_value(&page, "csrf").expect("csrf");
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("client_id", BASIC.0.to_string()),
            ("post_logout_redirect_uri", LOGGED_OUT.to_string()),
            ("state", "s1".to_string()),
        ]
    };
    // A forged form (wrong token) only shows the question again.
    let forged = b.submit("/logout", &form("forged")).await;
    assert_eq!(forged.status(), 200);
    assert_eq!(prompt_none(&p, &mut b).await, None, "still signed in");
    let ok = b.submit("/logout", &form(&csrf)).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], format!("{LOGGED_OUT}?state=s1"));
    assert_eq!(
        prompt_none(&p, &mut b).await.as_deref(),
        Some("login_required")
    );
});

each_backend!(logout_without_session_or_redirect_shows_signed_out, |p| {
    let b = p.browser();
    let resp = b
        .client()
        .get(p.url("/logout"))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .expect("page")
            .contains("You are signed out")
    );
});

// Issue 12, defect 6: an ID token from an earlier session, or of another person, signed the
// current session out with no confirmation. RP-Initiated Logout §2 and §4.
each_backend!(hint_from_another_session_asks_first, |p| {
    let mut b = p.browser();
    let earlier = signed_in(&p, &mut b).await;
    let resp = b
        .client()
        .get(logout_url(&p, &[("id_token_hint", &earlier)]))
        .send()
        .await
        .expect("logout");
    assert_eq!(
        resp.status(),
        200,
        "the hint of this session signs out at once"
    );
    assert!(
        resp.text()
            .await
            .expect("page")
            .contains("You are signed out")
    );
    signed_in(&p, &mut b).await;
    let bobs = {
        let mut other = p.browser();
        let out = other
            .authorize(&p.authorize_url(BASIC.0, &[]), Some(BOB), "allow")
            .await;
        let (_, _, t) = p.redeem(&out.param("code").expect("code")).await;
        t["id_token"].as_str().expect("id").to_string()
    };
    for (why, hint) in [("an earlier session", &earlier), ("another person", &bobs)] {
        let resp = b
            .client()
            .get(logout_url(
                &p,
                &[
                    ("id_token_hint", hint),
                    ("post_logout_redirect_uri", LOGGED_OUT),
                ],
            ))
            .send()
            .await
            .expect("logout");
        assert_eq!(resp.status(), 200, "{why}");
        let page = resp.text().await.expect("page");
        assert!(
            page.contains("Sign out?") && page.contains(LOGGED_OUT),
            "{why}: {page}"
        );
        assert_eq!(
            prompt_none(&p, &mut b).await,
            None,
            "{why}: still signed in"
        );
    }
    // An access token is not an ID token, whoever it names.
    let out = b
        .authorize(&p.authorize_url(BASIC.0, &[]), None, "allow")
        .await;
    let (_, _, t) = p.redeem(&out.param("code").expect("code")).await;
    let resp = b
        .client()
        .get(logout_url(
            &p,
            &[("id_token_hint", t["access_token"].as_str().expect("at"))],
        ))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 400);
    assert_eq!(prompt_none(&p, &mut b).await, None, "still signed in");
    // An expired ID token of the current session is still a hint (§2).
    p.clock.advance(3600);
    let current = t["id_token"].as_str().expect("id");
    let resp = b
        .client()
        .get(logout_url(
            &p,
            &[
                ("id_token_hint", current),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ],
        ))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 303);
    assert_eq!(
        prompt_none(&p, &mut b).await.as_deref(),
        Some("login_required")
    );
});

// Issue 12, defect 5: /logout?client_id=…&post_logout_redirect_uri=… redirected to any
// registered address with no prompt. An untrusted client's destination is shown, not followed.
each_backend!(untrusted_client_shows_destination, |p| {
    let bye = "https://evil.example/bye";
    let (status, reg) = {
        let resp = p
            .http
            .post(p.url("/register"))
            .json(&json!({"client_name": "Totally Legit App", "redirect_uris": ["https://evil.example/cb"], "post_logout_redirect_uris": [bye]}))
            .send()
            .await
            .expect("register");
        (
            resp.status().as_u16(),
            resp.json::<Value>().await.expect("json"),
        )
    };
    assert_eq!(status, 201, "{reg}");
    let id = reg["client_id"].as_str().expect("id");
    let request = [
        ("client_id", id),
        ("post_logout_redirect_uri", bye),
        ("state", "s1"),
    ];
    // Nobody signed in: a page that shows where the link goes, and no redirect.
    let resp = p
        .http
        .get(logout_url(&p, &request))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("location").is_none());
    let page = resp.text().await.expect("page");
    assert!(
        page.contains("Totally Legit App") && page.contains(&format!("<code>{bye}</code>")),
        "{page}"
    );
    assert!(
        page.contains("href=\"https://evil.example/bye?state=s1\""),
        "{page}"
    );
    // Signed in: the confirmation names the application and shows the destination.
    let mut b = p.browser();
    signed_in(&p, &mut b).await;
    let resp = b
        .client()
        .get(logout_url(&p, &request))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("page");
    assert!(
        page.contains("Sign out?") && page.contains("Totally Legit App") && page.contains(bye),
        "{page}"
    );
    assert_eq!(prompt_none(&p, &mut b).await, None, "still signed in");
    // A client the administrator created is followed at once when nobody is signed in.
    let resp = p
        .http
        .get(logout_url(
            &p,
            &[
                ("client_id", BASIC.0),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ],
        ))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], LOGGED_OUT);
});
