//! One rule for "is this token alive", the same at /token, /userinfo, /introspect and
//! /revoke: a token dies with its client (deleted, or its secret rotated), its grant, and its
//! person (deleted, disabled, signed out everywhere or a new password, by any path, at a
//! resolution that lets nothing issued before the change through).
use e2e::{ALICE, BASIC, BOB, M2M, Provider, REDIRECT, each_backend};
use serde_json::{Value, json};
use shared::{clock::Clock, store::User};

/// Alice's (or `who`'s) tokens for the Basic client, with a refresh token, and the browser.
async fn offline(p: &Provider, who: (&str, &str)) -> (String, String, e2e::Browser) {
    let mut b = p.browser();
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("scope", "openid email offline_access")]),
            Some(who),
            "allow",
        )
        .await;
    let (status, _, t) = p.redeem(&out.param("code").expect("code")).await;
    assert_eq!(status, 200, "{t}");
    (
        t["access_token"].as_str().expect("at").to_string(),
        t["refresh_token"].as_str().expect("rt").to_string(),
        b,
    )
}

async fn introspect(p: &Provider, token: &str, client: (&str, &str)) -> bool {
    let resp = p
        .http
        .post(p.url("/introspect"))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    v["active"].as_bool().expect("active")
}

async fn refreshes(p: &Provider, token: &str) -> bool {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    let (status, _, body) = p.token(&form, Some(BASIC)).await;
    match status {
        200 => true,
        400 if body["error"] == "invalid_grant" => false,
        _ => panic!("{status} {body}"),
    }
}

/// What a client sees of its tokens: userinfo, introspection of both, and the refresh.
async fn alive(p: &Provider, at: &str, rt: &str) -> [bool; 3] {
    [
        p.userinfo_get(at).await.0 == 200,
        introspect(p, at, BASIC).await && introspect(p, rt, BASIC).await,
        refreshes(p, rt).await,
    ]
}

/// What `oidc-admin users ...` does, in process: change `username` as `change` says.
async fn admin(p: &Provider, username: &str, change: impl FnOnce(&mut User, i64)) {
    let store = &p.running.app.store;
    let mut u = store
        .user_by_username(username)
        .await
        .expect("read")
        .expect("user");
    change(&mut u, p.clock.now_ms());
    store.update_user(&u).await.expect("update");
}

each_backend!(
    ending_a_persons_sessions_kills_every_token_everywhere,
    |p| {
        type Change = fn(&mut User, i64);
        let password: Change = |u, now| {
            let hash =
                shared::password::hash_password(&"a brand new password".into()).expect("hash");
            u.set_password_hash(hash, now);
        };
        let sign_out: Change = |u, now| u.end_sessions(now);
        let disable: Change = |u, now| {
            u.disabled = true;
            u.end_sessions(now);
        };
        for (what, change) in [
            ("sign-out", sign_out),
            ("set-password", password),
            ("disable", disable),
        ] {
            let (at, rt, _) = offline(&p, BOB).await;
            let (at2, rt2, _) = offline(&p, BOB).await;
            assert_eq!(alive(&p, &at, &rt).await, [true; 3], "{what}: alive before");
            admin(&p, BOB.0, change).await;
            assert_eq!(
                alive(&p, &at2, &rt2).await,
                [false; 3],
                "{what}: dead after"
            );
            // Verified (and remembered, `jose::verified`) before the change: dead too.
            assert_eq!(p.userinfo_get(&at).await.0, 401, "{what}: verified before");
            admin(&p, BOB.0, |u, _| u.disabled = false).await;
            if what == "set-password" {
                admin(&p, BOB.0, |u, now| {
                    let hash = shared::password::hash_password(&BOB.1.into()).expect("hash");
                    u.set_password_hash(hash, now);
                })
                .await;
            }
        }
        // Deleted: the same.
        let (at, rt, _) = offline(&p, BOB).await;
        let sub = p
            .running
            .app
            .store
            .user_by_username(BOB.0)
            .await
            .expect("read")
            .expect("bob")
            .sub;
        assert!(p.running.app.store.delete_user(&sub).await.expect("delete"));
        assert_eq!(alive(&p, &at, &rt).await, [false; 3], "delete");
    }
);

each_backend!(
    a_password_change_in_the_same_second_ends_what_came_before,
    |p| {
        // Issued, then the password changes at once (the same second, most likely the same
        // few milliseconds): the refresh token must not survive.
        let (at, rt, mut b) = offline(&p, ALICE).await;
        admin(&p, ALICE.0, |u, now| {
            let hash = shared::password::hash_password(&"another password 1".into()).expect("hash");
            u.set_password_hash(hash, now);
        })
        .await;
        assert!(!refreshes(&p, &rt).await, "issued before the change");
        assert_eq!(p.userinfo_get(&at).await.0, 401);
        // The session ended too: the browser is asked to sign in again.
        let silent = b
            .authorize(&p.authorize_url(BASIC.0, &[("prompt", "none")]), None, "")
            .await;
        assert_eq!(silent.param("error").as_deref(), Some("login_required"));
    }
);

each_backend!(
    a_password_changed_by_the_seed_file_ends_sessions_and_tokens,
    |p| {
        let (_, rt, mut b) = offline(&p, ALICE).await;
        let mut seed = e2e::seed();
        seed.users.retain(|u| u.username == ALICE.0);
        seed.clients.clear();
        seed.users[0].password = Some("the seed's new password".into());
        shared::seed::apply(p.running.app.store.as_ref(), &seed, p.clock.now_ms())
            .await
            .expect("seed");
        assert!(!refreshes(&p, &rt).await);
        let silent = b
            .authorize(&p.authorize_url(BASIC.0, &[("prompt", "none")]), None, "")
            .await;
        assert_eq!(silent.param("error").as_deref(), Some("login_required"));
        // Applying the same seed again (a restart) changes nothing and ends nothing.
        let (_, rt, _) = offline(&p, ("alice", "the seed's new password")).await;
        shared::seed::apply(p.running.app.store.as_ref(), &seed, p.clock.now_ms())
            .await
            .expect("seed again");
        assert!(
            refreshes(&p, &rt).await,
            "an unchanged password ends nothing"
        );
    }
);

each_backend!(a_rotated_client_secret_ends_the_clients_tokens, |p| {
    let (at, rt, _) = offline(&p, ALICE).await;
    assert_eq!(p.userinfo_get(&at).await.0, 200);
    // `oidc-admin clients rotate-secret`: a new secret, and everything issued before it dies.
    let store = &p.running.app.store;
    let mut c = store.client(BASIC.0).await.expect("read").expect("client");
    c.tokens_valid_after_ms = p.clock.now_ms();
    store.put_client(&c).await.expect("put");
    assert_eq!(p.userinfo_get(&at).await.0, 401);
    assert!(
        !introspect(&p, &at, M2M).await,
        "dead to a resource server too"
    );
    assert!(!introspect(&p, &rt, BASIC).await);
    assert!(!refreshes(&p, &rt).await);
});

each_backend!(a_deleted_registered_client_leaves_no_live_token, |p| {
    let (status, reg) = {
        let resp = p
            .http
            .post(p.url("/register"))
            .json(&json!({"redirect_uris": [REDIRECT], "client_name": "Short-lived"}))
            .send()
            .await
            .expect("register");
        (
            resp.status().as_u16(),
            resp.json::<Value>().await.expect("json"),
        )
    };
    assert_eq!(status, 201, "{reg}");
    let id = reg["client_id"].as_str().expect("id").to_string();
    let secret = reg["client_secret"].as_str().expect("secret").to_string();
    let rat = reg["registration_access_token"]
        .as_str()
        .expect("rat")
        .to_string();
    let out = p
        .browser()
        .authorize(&p.authorize_url(&id, &[]), Some(ALICE), "allow")
        .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &out.param("code").expect("code")),
        ("redirect_uri", REDIRECT),
    ];
    let (status, _, t) = p.token(&form, Some((&id, &secret))).await;
    assert_eq!(status, 200, "{t}");
    let at = t["access_token"].as_str().expect("at");
    assert_eq!(p.userinfo_get(at).await.0, 200);
    assert!(introspect(&p, at, M2M).await, "alive to a resource server");
    // RFC 7592 §2.3: deregistered. Nothing issued to it works any more.
    let resp = p
        .http
        .delete(p.url(&format!("/register?client_id={id}")))
        .bearer_auth(&rat)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    assert_eq!(p.userinfo_get(at).await.0, 401);
    assert!(!introspect(&p, at, M2M).await);
});
