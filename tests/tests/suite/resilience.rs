//! Races and failures on every backend: one winner per code, and a failing DynamoDB or KMS
//! call gives a retryable error, burns no code and leaves nothing half-written.
use e2e::{ALICE, BASIC, Outcome, REDIRECT, browser::input_value, each_backend};
use serde_json::Value;

each_backend!(
    code_redeemed_64_ways_has_one_winner_whose_token_is_then_revoked,
    |p| {
        let code = p.code_for(BASIC.0, &[]).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (http, url, code) = (p.http.clone(), p.url("/token"), code.clone());
            tasks.spawn(async move {
                let resp = http
                    .post(url)
                    .basic_auth(BASIC.0, Some(BASIC.1))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", REDIRECT),
                    ])
                    .send()
                    .await
                    .expect("token");
                (
                    resp.status().as_u16(),
                    resp.json::<Value>().await.expect("json"),
                )
            });
        }
        let results: Vec<(u16, Value)> = tasks.join_all().await;
        let winners: Vec<&Value> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(winners.len(), 1, "exactly one redemption wins: {results:?}");
        for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(
                (*status, body["error"].as_str()),
                (400, Some("invalid_grant"))
            );
        }
        // The losers were replays: the winner's access token no longer works.
        let (status, _, _) = p
            .userinfo_get(winners[0]["access_token"].as_str().expect("at"))
            .await;
        assert_eq!(status, 401);
    }
);

each_backend!(
    signer_failure_during_token_exchange_is_retryable_and_burns_nothing,
    |p| {
        let code = p.code_for(BASIC.0, &[]).await;
        p.faults.fail_next("sign", 1);
        let (status, headers, body) = p.redeem(&code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable"))
        );
        assert_eq!(headers["retry-after"], "1");
        assert!(
            !body.to_string().contains("injected"),
            "no internals in the body: {body}"
        );
        let (status, _, body) = p.redeem(&code).await;
        assert_eq!(
            status, 200,
            "the same code works once the signer is back: {body}"
        );
    }
);

each_backend!(
    store_failure_when_consuming_leaves_the_code_redeemable,
    |p| {
        let code = p.code_for(BASIC.0, &[]).await;
        p.faults.fail_next("consume_code", 1);
        let (status, _, body) = p.redeem(&code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable"))
        );
        assert_eq!(p.redeem(&code).await.0, 200);
        assert_eq!(p.redeem(&code).await.0, 400, "and it is single-use as ever");
    }
);

each_backend!(store_failure_when_issuing_the_code_loses_nothing, |p| {
    let mut b = p.browser();
    let Outcome::Page { body, .. } = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "")
        .await
    else {
        panic!("consent page")
    };
    let form = vec![
        ("req", input_value(&body, "req").expect("req")),
        ("csrf", input_value(&body, "csrf").expect("csrf")),
        ("decision", "allow".into()),
    ];
    p.faults.fail_next("complete_auth_request", 1);
    let failed = b.submit("/consent", &form).await;
    assert_eq!(failed.status(), 503);
    assert!(failed.headers().get("location").is_none());
    // The pending request survived: the person presses Allow again and gets a code.
    let ok = b.submit("/consent", &form).await;
    assert_eq!(ok.status(), 303);
    let location = ok.headers()["location"].to_str().expect("loc").to_string();
    let code = url::Url::parse(&location)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    assert_eq!(p.redeem(&code).await.0, 200);
});

each_backend!(store_failure_at_sign_in_keeps_the_form_usable, |p| {
    let mut b = p.browser();
    let Outcome::Page { body, .. } = b
        .authorize(&p.authorize_url(BASIC.0, &[]), None, "allow")
        .await
    else {
        panic!("login page")
    };
    let form = vec![
        ("req", input_value(&body, "req").expect("req")),
        ("csrf", input_value(&body, "csrf").expect("csrf")),
        ("username", ALICE.0.into()),
        ("password", ALICE.1.into()),
    ];
    p.faults.fail_next("signin_write", 1);
    assert_eq!(b.submit("/login", &form).await.status(), 503);
    assert_eq!(b.submit("/login", &form).await.status(), 303);
});

each_backend!(
    signing_key_disabled_in_kms_fails_cleanly_then_recovers,
    |p| {
        let Some((alias, _)) = p.aws.clone() else {
            return; // a real KMS key state change: AWS backends only
        };
        let code = p.code_for(BASIC.0, &[]).await;
        let kms = aws_sdk_kms::Client::new(&shared::aws::aws_config().await);
        kms.disable_key()
            .key_id(&alias)
            .send()
            .await
            .expect("disable key");
        let (status, headers, body) = p.redeem(&code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (500, Some("server_error"))
        );
        assert_eq!(headers["cache-control"], "no-store");
        assert!(
            !body.to_string().contains("alias"),
            "no internals in the body: {body}"
        );
        kms.enable_key()
            .key_id(&alias)
            .send()
            .await
            .expect("enable key");
        assert_eq!(p.redeem(&code).await.0, 200, "the code was not burnt");
    }
);

each_backend!(consent_submitted_concurrently_delivers_one_code, |p| {
    let mut b = p.browser();
    let Outcome::Page { body, .. } = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "")
        .await
    else {
        panic!("consent page")
    };
    let form = vec![
        ("req", input_value(&body, "req").expect("req")),
        ("csrf", input_value(&body, "csrf").expect("csrf")),
        ("decision", "allow".to_string()),
    ];
    let b = std::sync::Arc::new(b);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (b, form) = (b.clone(), form.clone());
        tasks.spawn(async move {
            let resp = b.submit("/consent", &form).await;
            (
                resp.status().as_u16(),
                resp.headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
            )
        });
    }
    let results = tasks.join_all().await;
    let codes: Vec<&String> = results
        .iter()
        .filter(|(s, l)| *s == 303 && l.contains("code="))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(
        codes.len(),
        1,
        "one submission delivers a code: {results:?}"
    );
    assert!(
        results
            .iter()
            .all(|(s, l)| (*s == 303 && l.contains("code=")) || *s == 400),
        "the others see 'already completed': {results:?}"
    );
    let code = url::Url::parse(codes[0])
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    assert_eq!(p.redeem(&code).await.0, 200);
});
