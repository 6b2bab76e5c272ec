//! The fault matrix: for each endpoint request, every store and signer call it makes is made
//! to fail in turn (as a throttled or unreachable DynamoDB or KMS would). Each time the answer
//! is a proper retryable error (503 JSON or error page, or a redirect carrying
//! `temporarily_unavailable`), never a panic or internals, and the very same request then
//! succeeds: no code is burnt, no token or session half-written.
use e2e::{ALICE, BASIC, M2M, Provider, REDIRECT, browser::input_value, each_backend};

struct Answer {
    status: u16,
    location: String,
    body: String,
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string();
    Answer {
        status,
        location,
        body: resp.text().await.unwrap_or_default(),
    }
}

/// Runs `request` once cleanly to learn the calls it makes, then once per call with that
/// call failing, each time on freshly prepared state, checking the failure and the retry.
async fn matrix<S>(
    p: &Provider,
    what: &str,
    prepare: impl AsyncFn(&Provider) -> S,
    request: impl AsyncFn(&Provider, &S) -> Answer,
    ok: u16,
) -> usize {
    let state = prepare(p).await;
    p.faults.take_calls();
    let clean = request(p, &state).await;
    assert_eq!(clean.status, ok, "{what}: clean run: {}", clean.body);
    let calls = p.faults.take_calls();
    assert!(!calls.is_empty(), "{what} makes calls");
    for (i, op) in calls.iter().enumerate() {
        let nth = calls[..=i].iter().filter(|o| *o == op).count() as u32;
        let state = prepare(p).await;
        p.faults.take_calls();
        p.faults.fail_nth(op, nth);
        let failed = request(p, &state).await;
        let retryable = failed.status == 503
            || (failed.status == 303 && failed.location.contains("error=temporarily_unavailable"));
        assert!(
            retryable,
            "{what}: {op} #{nth} failing gave {} {} {}",
            failed.status, failed.location, failed.body
        );
        assert!(
            !failed.body.contains("injected") && !failed.location.contains("injected"),
            "{what}: internals leaked"
        );
        eprintln!(
            "fault matrix: {what} × {op} #{nth}: {} → retry {ok}",
            failed.status
        );
        let again = request(p, &state).await;
        assert_eq!(
            again.status, ok,
            "{what}: after {op} #{nth} failed, the same request must succeed: {}",
            again.body
        );
    }
    calls.len()
}

/// The sign-in page of a pending request, as `/login` shows it again: `/authorize` shows a
/// browser without a session the form itself, for a request it has stored.
async fn login_page_url(p: &Provider, b: &e2e::Browser) -> String {
    let (req, _) = form_of(b, &p.authorize_url(BASIC.0, &[])).await;
    format!("{}?req={req}", p.url("/login"))
}

async fn form_of(b: &e2e::Browser, url: &str) -> (String, String) {
    let page = b
        .client()
        .get(url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    (
        input_value(&page, "req").expect("req"),
        input_value(&page, "csrf").expect("csrf"),
    )
}

each_backend!(fault_matrix_of_every_endpoint, |p| {
    let mut covered = 0;
    covered += matrix(
        &p,
        "discovery",
        async |_| (),
        async |p, _| {
            answer(
                p.http
                    .get(p.url("/.well-known/openid-configuration"))
                    .send()
                    .await
                    .expect("get"),
            )
            .await
        },
        200,
    )
    .await;
    covered += matrix(
        &p,
        "authorize",
        async |p| p.browser(),
        async |p, b| {
            answer(
                b.client()
                    .get(p.authorize_url(BASIC.0, &[]))
                    .send()
                    .await
                    .expect("get"),
            )
            .await
        },
        200,
    )
    .await;
    // The deployment's first sign-in also creates its secret (once, then cached): let that
    // happen first, so that the cases below see the steady state (its own failure is
    // `throttling::a_failure_creating_the_deployment_secret_is_retryable`).
    p.browser()
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "")
        .await;
    covered += matrix(
        &p,
        "sign-in form post",
        async |p| {
            let b = p.browser();
            let login = login_page_url(p, &b).await;
            let (req, csrf) = form_of(&b, &login).await;
            (b, req, csrf)
        },
        async |_, (b, req, csrf)| {
            answer(
                b.submit(
                    "/login",
                    &[
                        ("req", req.clone()),
                        ("csrf", csrf.clone()),
                        ("username", ALICE.0.into()),
                        ("password", ALICE.1.into()),
                    ],
                )
                .await,
            )
            .await
        },
        303,
    )
    .await;
    covered += matrix(
        &p,
        "sign-in form post, wrong password",
        async |p| {
            let b = p.browser();
            let login = login_page_url(p, &b).await;
            let (req, csrf) = form_of(&b, &login).await;
            // A new account each time: its failures stay among the free ones.
            let username = format!("nobody-{}", shared::crypto::random_token(6));
            (b, req, csrf, username)
        },
        async |_, (b, req, csrf, username)| {
            answer(
                b.submit(
                    "/login",
                    &[
                        ("req", req.clone()),
                        ("csrf", csrf.clone()),
                        ("username", username.clone()),
                        ("password", "wrong".into()),
                    ],
                )
                .await,
            )
            .await
        },
        200,
    )
    .await;
    covered += matrix(
        &p,
        "sign-in form post from a browser that signed in before",
        async |p| {
            let mut b = p.browser();
            b.authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "")
                .await;
            // Signed in already: prompt=login asks for the password again.
            let url = p.authorize_url(BASIC.0, &[("prompt", "login")]);
            let (req, csrf) = form_of(&b, &url).await;
            (b, req, csrf)
        },
        async |_, (b, req, csrf)| {
            answer(
                b.submit(
                    "/login",
                    &[
                        ("req", req.clone()),
                        ("csrf", csrf.clone()),
                        ("username", ALICE.0.into()),
                        ("password", ALICE.1.into()),
                    ],
                )
                .await,
            )
            .await
        },
        303,
    )
    .await;
    covered += matrix(
        &p,
        "consent form post",
        async |p| {
            let mut b = p.browser();
            let out = b
                .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "")
                .await;
            let e2e::Outcome::Page { body, .. } = out else {
                panic!("consent page")
            };
            (
                b,
                input_value(&body, "req").expect("req"),
                input_value(&body, "csrf").expect("csrf"),
            )
        },
        async |_, (b, req, csrf)| {
            answer(
                b.submit(
                    "/consent",
                    &[
                        ("req", req.clone()),
                        ("csrf", csrf.clone()),
                        ("decision", "allow".into()),
                    ],
                )
                .await,
            )
            .await
        },
        303,
    )
    .await;
    let redeem = async |p: &Provider, code: &String| {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        answer(
            p.http
                .post(p.url("/token"))
                .basic_auth(BASIC.0, Some(BASIC.1))
                .form(&form)
                .send()
                .await
                .expect("token"),
        )
        .await
    };
    covered += matrix(
        &p,
        "token: authorization_code",
        async |p| {
            p.code_for(BASIC.0, &[("scope", "openid email offline_access")])
                .await
        },
        redeem,
        200,
    )
    .await;
    covered += matrix(
        &p,
        "token: refresh_token",
        async |p| {
            let (_, _, t) = p
                .redeem(
                    &p.code_for(BASIC.0, &[("scope", "openid offline_access")])
                        .await,
                )
                .await;
            t["refresh_token"].as_str().expect("rt").to_string()
        },
        async |p, rt| {
            answer(
                p.http
                    .post(p.url("/token"))
                    .basic_auth(BASIC.0, Some(BASIC.1))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", rt.as_str()),
                    ])
                    .send()
                    .await
                    .expect("refresh"),
            )
            .await
        },
        200,
    )
    .await;
    covered += matrix(
        &p,
        "token: client_credentials",
        async |_| (),
        async |p, _| {
            answer(
                p.http
                    .post(p.url("/token"))
                    .basic_auth(M2M.0, Some(M2M.1))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .expect("cc"),
            )
            .await
        },
        200,
    )
    .await;
    let access_token = async |p: &Provider| {
        let (_, _, t) = p
            .redeem(&p.code_for(BASIC.0, &[("scope", "openid email")]).await)
            .await;
        t["access_token"].as_str().expect("at").to_string()
    };
    covered += matrix(
        &p,
        "userinfo",
        access_token,
        async |p, at| {
            answer(
                p.http
                    .get(p.url("/userinfo"))
                    .bearer_auth(at)
                    .send()
                    .await
                    .expect("userinfo"),
            )
            .await
        },
        200,
    )
    .await;
    covered += matrix(
        &p,
        "introspect",
        access_token,
        async |p, at| {
            answer(
                p.http
                    .post(p.url("/introspect"))
                    .basic_auth(M2M.0, Some(M2M.1))
                    .form(&[("token", at.as_str())])
                    .send()
                    .await
                    .expect("introspect"),
            )
            .await
        },
        200,
    )
    .await;
    covered += matrix(
        &p,
        "revoke",
        access_token,
        async |p, at| {
            answer(
                p.http
                    .post(p.url("/revoke"))
                    .basic_auth(BASIC.0, Some(BASIC.1))
                    .form(&[("token", at.as_str())])
                    .send()
                    .await
                    .expect("revoke"),
            )
            .await
        },
        200,
    )
    .await;
    covered += matrix(
        &p,
        "jwks",
        async |_| (),
        async |p, _| answer(p.http.get(p.url("/jwks.json")).send().await.expect("jwks")).await,
        200,
    )
    .await;
    covered += matrix(
        &p,
        "sign-in page",
        async |p| {
            let b = p.browser();
            let login = login_page_url(p, &b).await;
            (b, login)
        },
        async |_, (b, login)| answer(b.client().get(login).send().await.expect("login page")).await,
        200,
    )
    .await;
    covered += matrix(
        &p,
        "consent page",
        async |p| {
            let mut b = p.browser();
            let out = b
                .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "")
                .await;
            let e2e::Outcome::Page { body, .. } = out else {
                panic!("consent page")
            };
            let req = input_value(&body, "req").expect("req");
            (b, p.url(&format!("/consent?req={req}")))
        },
        async |_, (b, url)| answer(b.client().get(url).send().await.expect("consent page")).await,
        200,
    )
    .await;
    covered += matrix(
        &p,
        "logout",
        async |p| {
            let mut b = p.browser();
            let out = b
                .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
                .await;
            let (_, _, t) = p.redeem(&out.param("code").expect("code")).await;
            let hint = t["id_token"].as_str().expect("id").to_string();
            let q = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("id_token_hint", hint.as_str()),
                    ("post_logout_redirect_uri", e2e::LOGGED_OUT),
                ])
                .finish();
            (b, p.url(&format!("/logout?{q}")))
        },
        async |_, (b, url)| answer(b.client().get(url).send().await.expect("logout")).await,
        303,
    )
    .await;
    covered += matrix(
        &p,
        "register",
        async |_| (),
        async |p, _| {
            answer(
                p.http
                    .post(p.url("/register"))
                    .json(&serde_json::json!({"redirect_uris": [REDIRECT]}))
                    .send()
                    .await
                    .expect("register"),
            )
            .await
        },
        201,
    )
    .await;
    eprintln!("fault matrix: {covered} endpoint × call cases");
});
