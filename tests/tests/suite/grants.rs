//! Refresh tokens (rotation, reuse detection), client_credentials, custom claims,
//! revocation (RFC 7009) and introspection (RFC 7662), on every backend.
use e2e::{ALICE, BASIC, BOB, CUSTOM, M2M, POST, REDIRECT, each_backend, verify_independently};
use serde_json::Value;

async fn offline_tokens(p: &e2e::Provider) -> Value {
    let code = p
        .code_for(BASIC.0, &[("scope", "openid email offline_access")])
        .await;
    let (status, _, t) = p.redeem(&code).await;
    assert_eq!(status, 200, "{t}");
    assert!(
        t["refresh_token"].is_string(),
        "offline_access gives a refresh token: {t}"
    );
    t
}

async fn refresh(p: &e2e::Provider, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let (status, headers, body) = p.token(&form, Some(BASIC)).await;
    assert_eq!(headers["cache-control"], "no-store");
    (status, body)
}

async fn introspect(p: &e2e::Provider, token: &str, client: (&str, &str)) -> Value {
    let resp = p
        .http
        .post(p.url("/introspect"))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

async fn revoke(p: &e2e::Provider, token: &str, client: (&str, &str)) -> u16 {
    let resp = p
        .http
        .post(p.url("/revoke"))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .await
        .expect("revoke");
    resp.status().as_u16()
}

each_backend!(no_refresh_token_without_offline_access, |p| {
    let code = p.code_for(BASIC.0, &[("scope", "openid email")]).await;
    assert!(p.redeem(&code).await.2.get("refresh_token").is_none());
    // A client not allowed the refresh grant gets none even when it asks.
    let code = p
        .code_for(POST.0, &[("scope", "openid offline_access")])
        .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", POST.0),
        ("client_secret", POST.1),
    ];
    let (_, _, t) = p.token(&form, None).await;
    assert!(t.get("refresh_token").is_none());
    assert!(!t["scope"].as_str().unwrap_or("").contains("offline_access"));
});

each_backend!(oidcc_refresh_token, |p| {
    let t = offline_tokens(&p).await;
    let first = verify_independently(&p, t["id_token"].as_str().expect("id"), BASIC.0).await;
    p.clock.advance(5);
    let (status, r) = refresh(&p, t["refresh_token"].as_str().expect("rt"), None).await;
    assert_eq!(status, 200, "{r}");
    let again = verify_independently(
        &p,
        r["id_token"].as_str().expect("refreshed id token"),
        BASIC.0,
    )
    .await;
    assert_eq!(again["sub"], first["sub"], "same sub");
    assert_eq!(
        again["auth_time"], first["auth_time"],
        "same authentication"
    );
    assert!(again["iat"].as_i64() > first["iat"].as_i64());
    assert_ne!(r["refresh_token"], t["refresh_token"], "rotated");
    assert_eq!(
        p.userinfo_get(r["access_token"].as_str().expect("at"))
            .await
            .0,
        200
    );
    // Narrowing is allowed, widening is not.
    let (status, narrow) =
        refresh(&p, r["refresh_token"].as_str().expect("rt"), Some("openid")).await;
    assert_eq!((status, narrow["scope"].as_str()), (200, Some("openid")));
    let (status, wide) = refresh(
        &p,
        narrow["refresh_token"].as_str().expect("rt"),
        Some("openid phone"),
    )
    .await;
    assert_eq!(
        (status, wide["error"].as_str()),
        (400, Some("invalid_scope"))
    );
});

each_backend!(refresh_token_reuse_revokes_the_whole_grant, |p| {
    let t = offline_tokens(&p).await;
    let rt1 = t["refresh_token"].as_str().expect("rt").to_string();
    let (_, r) = refresh(&p, &rt1, None).await;
    let rt2 = r["refresh_token"].as_str().expect("rt2").to_string();
    // The old token again: a replay. The grant dies with everything it minted.
    let (status, body) = refresh(&p, &rt1, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        refresh(&p, &rt2, None).await.0,
        400,
        "the current token is revoked too"
    );
    assert_eq!(
        p.userinfo_get(r["access_token"].as_str().expect("at"))
            .await
            .0,
        401
    );
    assert_eq!(
        p.userinfo_get(t["access_token"].as_str().expect("at"))
            .await
            .0,
        401
    );
});

each_backend!(refresh_token_rotation_raced_has_one_winner, |p| {
    let t = offline_tokens(&p).await;
    let rt = t["refresh_token"].as_str().expect("rt").to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, url, rt) = (p.http.clone(), p.url("/token"), rt.clone());
        tasks.spawn(async move {
            let resp = http
                .post(url)
                .basic_auth(BASIC.0, Some(BASIC.1))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .expect("refresh");
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.expect("json"),
            )
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "one winner: {results:?}"
    );
    // Policy: the losers' attempts are reuse, so the grant is revoked, the winner's tokens too.
    let winner = &results.iter().find(|(s, _)| *s == 200).expect("winner").1;
    assert_eq!(
        refresh(&p, winner["refresh_token"].as_str().expect("rt"), None)
            .await
            .0,
        400
    );
});

each_backend!(client_credentials_with_custom_claims, |p| {
    let (status, headers, t) = p
        .token(
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
            Some(M2M),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(t.get("id_token").is_none() && t.get("refresh_token").is_none());
    let at = verify_independently(&p, t["access_token"].as_str().expect("at"), &p.issuer()).await;
    assert_eq!(at["sub"], M2M.0);
    assert_eq!(at["client_id"], M2M.0);
    assert_eq!(at["scope"], "api:read");
    assert_eq!(at["https://rp.example/tenant"], "acme");
    // Without scope: everything the client may have. A scope it may not have: invalid_scope.
    let (_, _, all) = p
        .token(&[("grant_type", "client_credentials")], Some(M2M))
        .await;
    assert_eq!(all["scope"], "api:read api:write");
    let (status, _, bad) = p
        .token(
            &[("grant_type", "client_credentials"), ("scope", "openid")],
            Some(M2M),
        )
        .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // A client without the grant, and userinfo with a machine token, are refused.
    let (status, _, no) = p
        .token(&[("grant_type", "client_credentials")], Some(BASIC))
        .await;
    assert_eq!(
        (status, no["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    assert_eq!(
        p.userinfo_get(t["access_token"].as_str().expect("at"))
            .await
            .0,
        401
    );
});

each_backend!(custom_claims_per_client_and_user_by_target, |p| {
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(CUSTOM.0, &[("scope", "openid email")]),
            Some(BOB),
            "allow",
        )
        .await;
    let code = out.param("code").expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, _, t) = p.token(&form, Some(CUSTOM)).await;
    assert_eq!(status, 200, "{t}");
    let id = verify_independently(&p, t["id_token"].as_str().expect("id"), CUSTOM.0).await;
    let at = verify_independently(&p, t["access_token"].as_str().expect("at"), &p.issuer()).await;
    assert_eq!(id["https://rp.example/tenant"], "acme");
    assert_eq!(
        id["https://rp.example/roles"],
        serde_json::json!(["admin", "ops"])
    );
    assert!(
        id.get("https://rp.example/plan").is_none(),
        "userinfo-only claims stay out of tokens"
    );
    assert_eq!(at["https://rp.example/tenant"], "acme");
    assert_eq!(
        at["https://rp.example/roles"],
        serde_json::json!(["admin", "ops"])
    );
    let (_, _, info) = p
        .userinfo_get(t["access_token"].as_str().expect("at"))
        .await;
    assert_eq!(
        info["https://rp.example/plan"], "platinum",
        "the user's value wins over the client's"
    );
    assert_eq!(info["email"], "bob@example.com");
    // Alice has no custom claims: only the client's.
    let out = p
        .browser()
        .authorize(&p.authorize_url(CUSTOM.0, &[]), Some(ALICE), "allow")
        .await;
    let code = out.param("code").expect("code");
    let (_, _, t) = p
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
            ],
            Some(CUSTOM),
        )
        .await;
    let id = verify_independently(&p, t["id_token"].as_str().expect("id"), CUSTOM.0).await;
    assert!(id.get("https://rp.example/roles").is_none());
    assert_eq!(id["https://rp.example/tenant"], "acme");
});

each_backend!(revocation_of_access_and_refresh_tokens, |p| {
    let t = offline_tokens(&p).await;
    let at = t["access_token"].as_str().expect("at");
    // Another client cannot revoke it (answered 200 all the same).
    assert_eq!(revoke(&p, at, M2M).await, 200);
    assert_eq!(p.userinfo_get(at).await.0, 200);
    assert_eq!(revoke(&p, at, BASIC).await, 200);
    assert_eq!(p.userinfo_get(at).await.0, 401, "revoked access token");
    // Revoking the refresh token ends the grant: refresh fails, and so do its access tokens.
    let t = offline_tokens(&p).await;
    assert_eq!(
        revoke(&p, t["refresh_token"].as_str().expect("rt"), BASIC).await,
        200
    );
    assert_eq!(
        refresh(&p, t["refresh_token"].as_str().expect("rt"), None)
            .await
            .0,
        400
    );
    assert_eq!(
        p.userinfo_get(t["access_token"].as_str().expect("at"))
            .await
            .0,
        401
    );
    // Unknown tokens: 200. No client authentication: 401.
    assert_eq!(revoke(&p, "no-such-token", BASIC).await, 200);
    let resp = p
        .http
        .post(p.url("/revoke"))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 401);
});

each_backend!(introspection_describes_active_tokens_only, |p| {
    let t = offline_tokens(&p).await;
    let at = t["access_token"].as_str().expect("at");
    let info = introspect(&p, at, M2M).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], BASIC.0);
    assert_eq!(info["scope"], "openid email offline_access");
    assert!(info["exp"].is_i64() && info["sub"].is_string());
    let rt = t["refresh_token"].as_str().expect("rt");
    assert_eq!(
        introspect(&p, rt, BASIC).await["active"],
        true,
        "its owner sees its refresh token"
    );
    assert_eq!(
        introspect(&p, rt, M2M).await["active"],
        false,
        "others do not"
    );
    assert_eq!(
        introspect(&p, "garbage", M2M).await,
        serde_json::json!({"active": false})
    );
    revoke(&p, at, BASIC).await;
    assert_eq!(introspect(&p, at, M2M).await["active"], false);
    p.clock.advance(3600);
    let (_, _, cc) = p
        .token(&[("grant_type", "client_credentials")], Some(M2M))
        .await;
    assert_eq!(
        introspect(&p, cc["access_token"].as_str().expect("at"), M2M).await["active"],
        true
    );
    let resp = p
        .http
        .post(p.url("/introspect"))
        .form(&[("token", at)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(
        resp.status(),
        401,
        "introspection needs client authentication"
    );
});

each_backend!(
    a_replayed_code_revokes_only_when_its_own_client_replays_it,
    |p| {
        let code = p.code_for(BASIC.0, &[]).await;
        let (status, _, t) = p.redeem(&code).await;
        assert_eq!(status, 200, "{t}");
        let at = t["access_token"].as_str().expect("at");
        // The attack: anyone registers a public client and presents the victim's used code.
        let resp = p
        .http
        .post(p.url("/register"))
        .json(&serde_json::json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .expect("register");
        assert_eq!(resp.status(), 201);
        let reg: Value = resp.json().await.expect("json");
        let attacker = reg["client_id"].as_str().expect("client_id");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", attacker),
        ];
        let (status, _, body) = p.token(&form, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert_eq!(
            p.userinfo_get(at).await.0,
            200,
            "another client's replay revokes nothing"
        );
        // The code's own client replaying it: RFC 6749 §4.1.2, the grant is revoked.
        let (status, _, _) = p.redeem(&code).await;
        assert_eq!(status, 400);
        assert_eq!(p.userinfo_get(at).await.0, 401);
    }
);
