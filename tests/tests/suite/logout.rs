//! RP-Initiated Logout 1.0 at the end_session_endpoint.
use e2e::{ALICE, BASIC, LOGGED_OUT, each_backend};

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

each_backend!(rp_initiated_logout_with_hint_returns_to_the_client, |p| {
    let mut b = p.browser();
    let hint = signed_in(&p, &mut b).await;
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
