//! One store contract, checked against every backend: the embedded store (in memory) and the
//! DynamoDB store on the emulator (a fresh table per test, made by `create_table`).
//!
//! Every check is a function of `Arc<dyn Store>`; the `contract!` macro turns each into one
//! test per backend (`embedded::<check>` and `dynamo::<check>`). The DynamoDB tests skip
//! unless AWS_ENDPOINT_URL is set (run through `infra/with-moto.sh`), and fail instead of
//! skipping with OIDC_REQUIRE_AWS=1.
#![allow(clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value, json};
use shared::store::{
    AccountLink, AddPasskey, AuthCode, AuthMethod, AuthRequest, AuthRequestStore, ClaimTarget,
    Client, CodeRedemption, CodeStore, Consent, Consume, Counter, CounterWrite, CreateLinked,
    CustomClaim, DeploymentSecret, Factors, FederationAttempt, FederationStore, Guard, KeyStore,
    LivenessQuery, Minted, Passkey, PasskeyUse, ProviderStore, PublishedKey, PublishedKeys,
    RefreshStore, RefreshToken, ReplayStore, ResponseMode, RevocationStore, Rotate, SealedSecret,
    Session, SessionStore, SignInQuery, SignInStore, SignInWrite, Store, StoreError, TotpFactor,
    UpstreamAuth, UpstreamProvider, User, UserClaim, UserStore, Window, WrappedKey,
    dynamo::{self as ddb, DynamoStore},
    embedded::EmbeddedStore,
};

type S = Arc<dyn Store>;

fn embedded_store() -> S {
    Arc::new(EmbeddedStore::in_memory().expect("in-memory store"))
}

async fn dynamo_store(test: &str) -> Option<S> {
    let (client, table) = dynamo_table(test).await?;
    Some(Arc::new(DynamoStore::new(client, table)))
}

async fn dynamo_table(test: &str) -> Option<(aws_sdk_dynamodb::Client, String)> {
    let config = common::aws(test).await?;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = common::unique("contract");
    ddb::provision::create_table(&client, &table)
        .await
        .expect("create_table");
    Some((client, table))
}

macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(super::embedded_store()).await;
                }
            )*
        }
        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let Some(store) = super::dynamo_store(concat!("dynamo::", stringify!($check))).await else {
                        return;
                    };
                    super::$check(store).await;
                }
            )*
        }
    };
}

contract!(
    clients_round_trip,
    liveness_reads_client_person_and_revocations_at_once,
    users_round_trip,
    create_user_conflicts_are_atomic,
    email_unique_case_insensitively,
    concurrent_create_user_has_one_winner,
    update_user_moves_the_email,
    update_user_rules,
    auth_requests_expire,
    sessions_expire,
    put_code_never_overwrites,
    codes_expire,
    consume_once_then_replay,
    consume_after_expiry_is_missing,
    concurrent_consume_has_one_winner,
    consume_checks_what_was_presented_and_can_be_undone,
    revocations_expire,
    consents_round_trip,
    completing_a_request_widens_consent_and_stores_its_code_at_once,
    concurrent_completions_of_one_request_have_one_winner,
    refresh_round_trip_and_expiry,
    put_refresh_never_overwrites,
    rotate_once_then_already_used,
    rotate_after_expiry_is_missing,
    rotate_unknown_is_missing,
    rotate_onto_an_existing_successor_changes_nothing,
    concurrent_rotate_has_one_winner,
    first_use_until_expiry,
    concurrent_first_use_has_one_winner,
    clients_list_in_pages_and_delete,
    users_list_in_pages_and_delete,
    delete_user_releases_only_its_claims,
    tokens_valid_after_round_trips,
    username_record_follows_every_user_write,
    signin_read_finds_everything_in_one_call,
    signin_failures_count_within_guards,
    signin_success_writes_session_and_request_only_within_guards,
    concurrent_signin_failures_never_exceed_the_limit,
    concurrent_signin_failures_after_a_wait_count_once,
    concurrent_signin_successes_all_hold,
    deployment_secret_is_never_overwritten,
    key_set_and_wrapped_keys_round_trip,
    providers_round_trip_list_and_delete,
    attempts_are_taken_once,
    expired_attempts_are_never_taken,
    concurrent_takes_of_an_attempt_have_one_winner,
    links_are_unique_and_never_move,
    create_linked_user_writes_all_or_nothing,
    concurrent_first_sign_ins_create_one_user,
    factors_are_written_on_their_version_only,
    concurrent_factor_writes_have_one_winner,
    factors_go_with_their_person,
    passkeys_are_registered_once_and_removed_with_their_factors,
    a_passkey_counter_moves_once_per_assertion,
    a_passkey_sign_in_writes_only_while_its_conditions_hold,
    a_passkey_challenge_signs_in_once,
    totp_enrolment_flags_the_user_in_the_same_write,
    an_update_of_the_user_keeps_the_totp_flag,
    a_code_step_reads_the_factors_and_writes_them_on_their_version,
);

// ---------------------------------------------------------------------------------------
// fixtures

fn client(id: &str, name: &str) -> Client {
    Client {
        client_id: id.into(),
        client_name: name.into(),
        logo_uri: None,
        secret_hash: Some("c2VjcmV0LWhhc2g".into()),
        auth_method: AuthMethod::ClientSecretBasic,
        redirect_uris: vec![
            "https://rp.example/cb".into(),
            "https://rp.example/cb2".into(),
        ],
        allowed_scopes: vec!["openid".into(), "email".into()],
        grant_types: vec!["authorization_code".into()],
        skip_consent: false,
        post_logout_redirect_uris: vec![],
        custom_claims: vec![],
        jwks: None,
        registration_token_hash: None,
        allowed_claims: vec![],
        tokens_valid_after_ms: 0,
        trusted: None,
        min_level: None,
    }
}

fn user(sub: &str, username: &str, email: Option<&str>) -> User {
    let mut claims = Map::new();
    claims.insert("name".into(), json!(format!("{username} Example")));
    claims.insert("email_verified".into(), json!(true));
    claims.insert("updated_at".into(), json!(1_700_000_000));
    claims.insert("middle_name".into(), json!(""));
    claims.insert(
        "address".into(),
        json!({"street_address": "1 Main St", "locality": "Springfield", "country": "US"}),
    );
    if let Some(e) = email {
        claims.insert("email".into(), json!(e));
    }
    User {
        sub: sub.into(),
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        claims,
        disabled: false,
        custom_claims: vec![],
        tokens_valid_after: 0,
        tokens_valid_after_ms: 0,
        totp: false,
    }
}

fn with_email(mut u: User, email: Option<&str>) -> User {
    match email {
        Some(e) => u.claims.insert("email".into(), json!(e)),
        None => u.claims.remove("email"),
    };
    u
}

fn auth_request(id: &str, expires_at: i64, full: bool) -> AuthRequest {
    AuthRequest {
        claims: Default::default(),
        id: id.into(),
        client_id: "rp".into(),
        redirect_uri: "https://rp.example/cb".into(),
        scopes: vec!["openid".into(), "profile".into()],
        state: full.then(|| "st".into()),
        nonce: full.then(|| "n-0S6_WzA2Mj".into()),
        code_challenge: full.then(|| "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        response_mode: if full {
            ResponseMode::FormPost
        } else {
            ResponseMode::Query
        },
        prompt: if full { vec!["login".into()] } else { vec![] },
        max_age: full.then_some(300),
        login_hint: None,
        browser_id: "browser".into(),
        csrf: "csrf".into(),
        sub: full.then(|| "sub-1".into()),
        auth_time: full.then_some(expires_at - 100),
        expires_at,
        auth_time_ms: if full {
            (expires_at - 100) * 1000 + 250
        } else {
            0
        },
        required_sub: full.then(|| "sub-1".into()),
        sid: full.then(|| "sid-1".into()),
        client: full.then(|| client("rp", "RP")),
        user: full.then(|| user("sub-1", "alice", Some("alice@example.com"))),
        idp: None,
        passkey_challenge: if full {
            "Y2hhbGxlbmdl".into()
        } else {
            String::new()
        },
        amr: if full {
            vec!["pwd".into(), "otp".into()]
        } else {
            vec![]
        },
        min_level: if full {
            shared::protocol::acr::Level::TwoFactor
        } else {
            Default::default()
        },
        providers: vec![],
        second_factor: full.then(|| shared::store::SecondFactorDue {
            user: user("sub-1", "alice", None),
            expires_at: expires_at - 50,
        }),
    }
}

fn code(hash: &str, expires_at: i64) -> AuthCode {
    AuthCode {
        claims: Default::default(),
        code_hash: hash.into(),
        client_id: "rp".into(),
        redirect_uri: "https://rp.example/cb".into(),
        scopes: vec!["openid".into()],
        nonce: Some("nonce".into()),
        code_challenge: None,
        sub: "sub-1".into(),
        auth_time: expires_at - 60,
        expires_at,
        minted: None,
        user: None,
        auth_time_ms: 0,
        sid: None,
        idp: None,
        amr: vec!["pwd".into()],
    }
}

/// What the client of `code()` presents when redeeming it.
fn presented() -> CodeRedemption<'static> {
    CodeRedemption {
        client_id: "rp",
        redirect_uri: "https://rp.example/cb",
        code_challenge: None,
    }
}

fn minted(grant_id: &str, now: i64) -> Minted {
    Minted {
        grant_id: grant_id.into(),
        revoke_until: now + 3600,
    }
}

fn refresh_token(hash: &str, grant_id: &str, issued_at: i64, expires_at: i64) -> RefreshToken {
    RefreshToken {
        claims: Default::default(),
        token_hash: hash.into(),
        grant_id: grant_id.into(),
        client_id: "rp".into(),
        sub: "sub-1".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        auth_time: issued_at - 30,
        issued_at,
        expires_at,
        used_at: None,
        issued_at_ms: 0,
        sid: None,
        idp: None,
        amr: vec!["fed".into()],
    }
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

// ---------------------------------------------------------------------------------------
// the contract

async fn clients_round_trip(s: S) {
    assert_eq!(s.client("rp").await.expect("read"), None);
    let c = client("rp", "First");
    s.put_client(&c).await.expect("put");
    assert_eq!(s.client("rp").await.expect("read"), Some(c));
    let mut public = client("rp", "Second");
    public.secret_hash = None;
    public.auth_method = AuthMethod::None;
    s.put_client(&public).await.expect("replace");
    assert_eq!(s.client("rp").await.expect("read"), Some(public));
    assert_eq!(s.client("other").await.expect("read"), None);

    // Every optional part set: logout URIs, custom claims (any JSON), a JWK Set.
    let mut full = client("full", "Full");
    full.auth_method = AuthMethod::PrivateKeyJwt;
    full.secret_hash = None;
    full.skip_consent = true;
    full.grant_types.push("refresh_token".into());
    full.post_logout_redirect_uris = vec!["https://rp.example/bye".into()];
    full.custom_claims = vec![
        CustomClaim {
            name: "https://rp.example/roles".into(),
            value: json!(["admin", "ops"]),
            tokens: vec![ClaimTarget::IdToken, ClaimTarget::AccessToken],
            scope: None,
        },
        CustomClaim {
            name: "https://rp.example/profile".into(),
            value: json!({"tier": 3, "ratio": 1.5, "beta": true, "note": "", "gone": null}),
            tokens: vec![ClaimTarget::Userinfo],
            scope: None,
        },
    ];
    full.jwks = Some(json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]}));
    s.put_client(&full).await.expect("put full");
    assert_eq!(s.client("full").await.expect("read"), Some(full));
}

async fn users_round_trip(s: S) {
    let a = user("sub-a", "alice", Some("alice@example.com"));
    s.create_user(&a).await.expect("create");
    assert_eq!(s.user("sub-a").await.expect("read"), Some(a.clone()));
    assert_eq!(s.user_by_username("alice").await.expect("read"), Some(a));
    let b = user("sub-b", "bob", None);
    s.create_user(&b).await.expect("create without email");
    assert_eq!(s.user_by_username("bob").await.expect("read"), Some(b));
    let mut c = user("sub-c", "carol", None);
    c.custom_claims = vec![CustomClaim {
        name: "https://rp.example/department".into(),
        value: json!("research"),
        tokens: vec![ClaimTarget::IdToken, ClaimTarget::Userinfo],
        scope: None,
    }];
    s.create_user(&c).await.expect("create with custom claims");
    assert_eq!(s.user("sub-c").await.expect("read"), Some(c));
    assert_eq!(s.user("nobody").await.expect("read"), None);
    assert_eq!(s.user_by_username("nobody").await.expect("read"), None);
    // Usernames are exact: no case folding.
    assert_eq!(s.user_by_username("Alice").await.expect("read"), None);
}

async fn create_user_conflicts_are_atomic(s: S) {
    s.create_user(&user("sub-a", "alice", Some("a@example.com")))
        .await
        .expect("create");
    // Same username: refused, and nothing of the loser is written (not its user, not its email).
    let loser = user("sub-b", "alice", Some("b@example.com"));
    assert!(is_conflict(s.create_user(&loser).await));
    assert_eq!(s.user("sub-b").await.expect("read"), None);
    s.create_user(&user("sub-c", "carol", Some("b@example.com")))
        .await
        .expect("the loser's email was never claimed");
    // Same sub: refused, and the username of the loser stays free.
    assert!(is_conflict(
        s.create_user(&user("sub-a", "dave", None)).await
    ));
    assert_eq!(s.user_by_username("dave").await.expect("read"), None);
    s.create_user(&user("sub-d", "dave", None))
        .await
        .expect("dave is free");
    assert_eq!(
        s.user_by_username("alice")
            .await
            .expect("read")
            .map(|u| u.sub),
        Some("sub-a".into())
    );
}

async fn email_unique_case_insensitively(s: S) {
    s.create_user(&user("sub-a", "alice", Some("Alice@Example.com")))
        .await
        .expect("create");
    assert!(is_conflict(
        s.create_user(&user("sub-b", "bob", Some("alice@example.COM")))
            .await
    ));
    assert_eq!(s.user_by_username("bob").await.expect("read"), None);
    assert_eq!(s.user("sub-b").await.expect("read"), None);
    s.create_user(&user("sub-b", "bob", Some("bob@example.com")))
        .await
        .expect("a different email is fine");
}

async fn concurrent_create_user_has_one_winner(s: S) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let u = user(
                    &format!("sub-{i}"),
                    "same",
                    Some(&format!("u{i}@example.com")),
                );
                s.create_user(&u).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.expect("task") {
            Ok(()) => winners.push(i),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("task {i}: unexpected {e:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one create_user wins: {winners:?}"
    );
    let winner = format!("sub-{}", winners[0]);
    assert_eq!(
        s.user_by_username("same")
            .await
            .expect("read")
            .map(|u| u.sub),
        Some(winner.clone())
    );
    for i in 0..8 {
        let sub = format!("sub-{i}");
        let stored = s.user(&sub).await.expect("read");
        assert_eq!(stored.is_some(), sub == winner, "{sub}");
        if sub != winner {
            // The losers' emails were not claimed either.
            s.create_user(&user(
                &format!("other-{i}"),
                &format!("other-{i}"),
                Some(&format!("u{i}@example.com")),
            ))
            .await
            .expect("email free");
        }
    }
}

async fn update_user_moves_the_email(s: S) {
    let a = user("sub-a", "alice", Some("a@example.com"));
    s.create_user(&a).await.expect("create a");
    s.create_user(&user("sub-b", "bob", Some("b@example.com")))
        .await
        .expect("create b");

    // Taking someone else's email: refused, nothing changes.
    assert!(is_conflict(
        s.update_user(&with_email(a.clone(), Some("B@example.com")))
            .await
    ));
    assert_eq!(s.user("sub-a").await.expect("read"), Some(a.clone()));

    // A free email: the claim moves; the old one is released, the new one is held.
    let a2 = with_email(a.clone(), Some("c@example.com"));
    s.update_user(&a2).await.expect("move");
    assert_eq!(s.user("sub-a").await.expect("read"), Some(a2.clone()));
    assert_eq!(
        s.user_by_username("alice").await.expect("read"),
        Some(a2.clone())
    );
    s.create_user(&user("sub-d", "dave", Some("a@example.com")))
        .await
        .expect("old email released");
    assert!(is_conflict(
        s.create_user(&user("sub-e", "erin", Some("C@EXAMPLE.com")))
            .await
    ));

    // Only the case changes: same claim, the record is updated.
    let a3 = with_email(a2, Some("C@example.com"));
    s.update_user(&a3).await.expect("case change");
    assert_eq!(s.user("sub-a").await.expect("read"), Some(a3.clone()));
    assert!(is_conflict(
        s.create_user(&user("sub-e", "erin", Some("c@example.com")))
            .await
    ));

    // Dropping the email releases it.
    let a4 = with_email(a3, None);
    s.update_user(&a4).await.expect("drop email");
    assert_eq!(s.user("sub-a").await.expect("read"), Some(a4.clone()));
    s.create_user(&user("sub-e", "erin", Some("c@example.com")))
        .await
        .expect("released");

    // Gaining one claims it.
    let a5 = with_email(a4, Some("new@example.com"));
    s.update_user(&a5).await.expect("gain email");
    assert!(is_conflict(
        s.create_user(&user("sub-f", "frank", Some("new@example.com")))
            .await
    ));
}

async fn update_user_rules(s: S) {
    let a = user("sub-a", "alice", Some("a@example.com"));
    // No such user.
    assert!(is_conflict(s.update_user(&a).await));
    assert_eq!(s.user("sub-a").await.expect("read"), None);
    s.create_user(&a).await.expect("create");

    // Other fields change freely, repeatedly.
    let mut b = a.clone();
    for i in 0..3 {
        b.password_hash = format!("$argon2id$new-{i}");
        b.disabled = i % 2 == 0;
        b.claims
            .insert("name".into(), Value::String(format!("Alice {i}")));
        s.update_user(&b).await.expect("update");
        assert_eq!(s.user("sub-a").await.expect("read"), Some(b.clone()));
    }

    // The username cannot change.
    let mut renamed = b.clone();
    renamed.username = "alicia".into();
    assert!(is_conflict(s.update_user(&renamed).await));
    assert_eq!(s.user("sub-a").await.expect("read"), Some(b));
    assert_eq!(s.user_by_username("alicia").await.expect("read"), None);
}

async fn auth_requests_expire(s: S) {
    let now = common::epoch_now();
    for (id, full) in [("req-full", true), ("req-bare", false)] {
        let r = auth_request(id, now + 600, full);
        s.put_auth_request(&r).await.expect("put");
        assert_eq!(
            s.auth_request(id, now).await.expect("read"),
            Some(r.clone())
        );
        assert_eq!(
            s.auth_request(id, now + 599).await.expect("read"),
            Some(r.clone())
        );
        assert_eq!(s.auth_request(id, now + 600).await.expect("read"), None);
        assert_eq!(s.auth_request(id, now + 10_000).await.expect("read"), None);
        // Put replaces (the request gains its sub after login).
        let mut signed_in = r.clone();
        signed_in.sub = Some("sub-z".into());
        signed_in.auth_time = Some(now);
        s.put_auth_request(&signed_in).await.expect("replace");
        assert_eq!(
            s.auth_request(id, now).await.expect("read"),
            Some(signed_in)
        );
        assert!(
            s.delete_auth_request(id).await.expect("delete"),
            "this call removed it"
        );
        assert_eq!(s.auth_request(id, now).await.expect("read"), None);
        assert!(
            !s.delete_auth_request(id).await.expect("delete again"),
            "only one call retires it"
        );
    }
    assert!(
        !s.delete_auth_request("never-existed")
            .await
            .expect("deleting nothing is fine")
    );
}

async fn sessions_expire(s: S) {
    let now = common::epoch_now();
    let sess = Session {
        renewed_ms: 0,
        id_hash: "h1".into(),
        sub: "sub-a".into(),
        auth_time: now,
        expires_at: now + 3600,
        auth_time_ms: 0,
        sid: "sid-test".into(),
        idp: None,
        amr: vec!["pwd".into(), "mfa".into()],
    };
    s.put_session(&sess).await.expect("put");
    assert_eq!(
        s.session("h1", now).await.expect("read"),
        Some(sess.clone())
    );
    assert_eq!(
        s.session("h1", now + 3599).await.expect("read"),
        Some(sess.clone())
    );
    assert_eq!(s.session("h1", now + 3600).await.expect("read"), None);
    assert_eq!(s.session("h2", now).await.expect("read"), None);
    s.delete_session("h1").await.expect("delete");
    assert_eq!(s.session("h1", now).await.expect("read"), None);
    s.delete_session("h1")
        .await
        .expect("deleting nothing is fine");
}

async fn put_code_never_overwrites(s: S) {
    let now = common::epoch_now();
    let c = code("code-1", now + 60);
    s.put_code(&c).await.expect("put");
    let mut other = code("code-1", now + 600);
    other.sub = "attacker".into();
    assert!(is_conflict(s.put_code(&other).await));
    assert!(is_conflict(s.put_code(&c).await), "not even the same code");
    assert_eq!(s.code("code-1", now).await.expect("read"), Some(c.clone()));
    // And a consumed code cannot be reset by a put.
    let m = minted("jti-1", now);
    assert!(matches!(
        s.consume_code("code-1", &presented(), &m, now)
            .await
            .expect("consume"),
        Consume::Consumed(_)
    ));
    assert!(is_conflict(s.put_code(&c).await));
    assert_eq!(
        s.code("code-1", now)
            .await
            .expect("read")
            .and_then(|c| c.minted),
        Some(m)
    );
}

async fn codes_expire(s: S) {
    let now = common::epoch_now();
    let c = code("code-2", now + 60);
    s.put_code(&c).await.expect("put");
    assert_eq!(s.code("code-2", now + 59).await.expect("read"), Some(c));
    assert_eq!(s.code("code-2", now + 60).await.expect("read"), None);
    assert_eq!(s.code("unknown", now).await.expect("read"), None);
}

async fn consume_once_then_replay(s: S) {
    let now = common::epoch_now();
    s.put_code(&code("code-3", now + 60)).await.expect("put");
    let first = minted("jti-first", now);
    let Consume::Consumed(redeemed) = s
        .consume_code("code-3", &presented(), &first, now)
        .await
        .expect("consume")
    else {
        panic!("the first redemption wins")
    };
    assert_eq!(redeemed.minted, Some(first.clone()), "returned as redeemed");
    // The code is still readable, now carrying what it minted.
    let stored = s.code("code-3", now).await.expect("read").expect("present");
    assert_eq!(stored.minted, Some(first.clone()));
    // A replay learns what the first redemption minted, so it can be revoked ...
    assert_eq!(
        s.consume_code("code-3", &presented(), &minted("jti-second", now), now + 1)
            .await
            .expect("replay"),
        Consume::AlreadyConsumed {
            client_id: "rp".into(),
            minted: Some(first.clone()),
        }
    );
    // ... even with the very same `minted` (a second call, not a retry of the first) ...
    assert_eq!(
        s.consume_code("code-3", &presented(), &first, now + 1)
            .await
            .expect("replay"),
        Consume::AlreadyConsumed {
            client_id: "rp".into(),
            minted: Some(first.clone()),
        }
    );
    // ... and even after the code expired.
    assert_eq!(
        s.consume_code("code-3", &presented(), &minted("jti-late", now), now + 120)
            .await
            .expect("late replay"),
        Consume::AlreadyConsumed {
            client_id: "rp".into(),
            minted: Some(first),
        }
    );
    assert_eq!(s.code("code-3", now + 120).await.expect("read"), None);
    assert_eq!(
        s.consume_code("no-such-code", &presented(), &minted("x", now), now)
            .await
            .expect("consume"),
        Consume::Missing
    );
}

async fn consume_after_expiry_is_missing(s: S) {
    let now = common::epoch_now();
    s.put_code(&code("code-4", now + 60)).await.expect("put");
    assert_eq!(
        s.consume_code("code-4", &presented(), &minted("jti", now), now + 60)
            .await
            .expect("consume"),
        Consume::Missing
    );
    assert_eq!(
        s.consume_code("code-4", &presented(), &minted("jti", now), now + 3000)
            .await
            .expect("consume"),
        Consume::Missing
    );
    // Nothing was recorded on it.
    assert_eq!(
        s.code("code-4", now)
            .await
            .expect("read")
            .and_then(|c| c.minted),
        None
    );
}

async fn concurrent_consume_has_one_winner(s: S) {
    let now = common::epoch_now();
    s.put_code(&code("code-5", now + 60)).await.expect("put");
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let m = minted(&format!("jti-{i}"), now);
                (
                    m.clone(),
                    s.consume_code("code-5", &presented(), &m, now).await,
                )
            })
        })
        .collect();
    let mut consumed = Vec::new();
    let mut replays = Vec::new();
    for t in tasks {
        let (m, outcome) = t.await.expect("task");
        match outcome.expect("consume") {
            Consume::Consumed(_) => consumed.push(m),
            Consume::AlreadyConsumed { client_id, minted } => {
                assert_eq!(client_id, "rp", "a replay names the code's client");
                replays.push(minted)
            }
            other => panic!("a live code was reported {other:?}"),
        }
    }
    assert_eq!(consumed.len(), 1, "exactly one consume wins");
    assert_eq!(replays.len(), 31);
    let winner = consumed.pop();
    assert!(
        replays.iter().all(|r| *r == winner),
        "every loser sees the winner's minted"
    );
    assert_eq!(
        s.code("code-5", now)
            .await
            .expect("read")
            .and_then(|c| c.minted),
        winner
    );
}

async fn consume_checks_what_was_presented_and_can_be_undone(s: S) {
    let now = common::epoch_now();
    let mut c = code("code-6", now + 60);
    c.code_challenge = Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into());
    s.put_code(&c).await.expect("put");
    let right = CodeRedemption {
        code_challenge: c.code_challenge.as_deref(),
        ..presented()
    };
    let m = minted("grant-6", now);
    for wrong in [
        CodeRedemption {
            client_id: "other-rp",
            ..right
        },
        CodeRedemption {
            redirect_uri: "https://rp.example/other",
            ..right
        },
        CodeRedemption {
            code_challenge: Some("x".repeat(43).leak()),
            ..right
        },
        CodeRedemption {
            code_challenge: None,
            ..right
        },
    ] {
        assert_eq!(
            s.consume_code("code-6", &wrong, &m, now)
                .await
                .expect("consume"),
            Consume::Mismatch(Box::new(c.clone())),
            "{wrong:?} leaves the code as it was"
        );
    }
    assert_eq!(s.code("code-6", now).await.expect("read"), Some(c.clone()));

    let Consume::Consumed(redeemed) = s
        .consume_code("code-6", &right, &m, now)
        .await
        .expect("consume")
    else {
        panic!("the matching redemption wins")
    };
    assert_eq!(
        *redeemed,
        AuthCode {
            minted: Some(m.clone()),
            ..c.clone()
        }
    );
    // Undoing another grant's redemption changes nothing; undoing this one restores it.
    s.restore_code("code-6", "another-grant")
        .await
        .expect("restore");
    assert_eq!(
        s.consume_code("code-6", &right, &minted("grant-7", now), now)
            .await
            .expect("replay"),
        Consume::AlreadyConsumed {
            client_id: "rp".into(),
            minted: Some(m.clone()),
        }
    );
    s.restore_code("code-6", "grant-6").await.expect("restore");
    assert_eq!(s.code("code-6", now).await.expect("read"), Some(c.clone()));
    assert!(matches!(
        s.consume_code("code-6", &right, &minted("grant-8", now), now)
            .await
            .expect("consume again"),
        Consume::Consumed(_)
    ));
}

async fn revocations_expire(s: S) {
    let now = common::epoch_now();
    assert!(!s.is_revoked("jti-1", now).await.expect("read"));
    s.revoke("jti-1", now + 300).await.expect("revoke");
    assert!(s.is_revoked("jti-1", now).await.expect("read"));
    assert!(s.is_revoked("jti-1", now + 299).await.expect("read"));
    assert!(!s.is_revoked("jti-1", now + 300).await.expect("read"));
    assert!(!s.is_revoked("jti-2", now).await.expect("read"));
    // Revoking again sets the new horizon.
    s.revoke("jti-1", now + 900).await.expect("revoke again");
    assert!(s.is_revoked("jti-1", now + 600).await.expect("read"));
    assert!(!s.is_revoked("jti-1", now + 900).await.expect("read"));
}

async fn liveness_reads_client_person_and_revocations_at_once(s: S) {
    let now = common::epoch_now();
    let c = client("rp-live", "Live");
    s.put_client(&c).await.expect("put");
    let u = user("sub-live", "lively", None);
    s.create_user(&u).await.expect("create");
    s.revoke("grant-dead", now + 300).await.expect("revoke");
    s.revoke("jti-expired", now - 1)
        .await
        .expect("revoke, expired");
    let read = |client_id, sub, revocable: &'static [&'static str]| {
        let s = s.clone();
        async move {
            s.liveness_read(&LivenessQuery {
                client_id,
                sub,
                revocable,
                now,
            })
            .await
            .expect("read")
        }
    };
    let alive = read("rp-live", Some("sub-live"), &["grant-ok", "jti-expired"]).await;
    assert_eq!(alive.client, Some(c.clone()));
    assert_eq!(alive.user, Some(u));
    assert!(!alive.revoked, "an expired revocation no longer counts");
    assert!(
        read("rp-live", Some("sub-live"), &["grant-dead", "jti"])
            .await
            .revoked
    );
    assert!(read("rp-live", None, &["jti", "grant-dead"]).await.revoked);
    // A client's own token: no person, nothing revocable.
    let own = read("rp-live", None, &[]).await;
    assert_eq!((own.client, own.user, own.revoked), (Some(c), None, false));
    let gone = read("rp-gone", Some("nobody"), &["grant-ok"]).await;
    assert_eq!((gone.client, gone.user, gone.revoked), (None, None, false));
}

async fn key_set_and_wrapped_keys_round_trip(s: S) {
    use shared::signer::Alg;
    assert_eq!(s.published_keys().await.expect("read"), None);
    let set = |spki: &str, at, source: &str| PublishedKeys {
        keys: vec![
            PublishedKey {
                alg: Alg::RS256,
                spki: spki.into(),
            },
            PublishedKey {
                alg: Alg::ES256,
                spki: "es".into(),
            },
        ],
        published_at: at,
        source: source.into(),
    };
    // Without a source (the local server; sets published before there was one): no
    // attribute is written, and it reads back empty.
    s.publish_keys(&set("rs-1", 1, "")).await.expect("publish");
    assert_eq!(
        s.published_keys().await.expect("read"),
        Some(set("rs-1", 1, ""))
    );
    // A newer container publishes over it.
    let source = "alias/a,envelope:e1|1234abcd-12ab-34cd-56ef-1234567890ab";
    s.publish_keys(&set("rs-2", 2, source))
        .await
        .expect("publish again");
    assert_eq!(
        s.published_keys().await.expect("read"),
        Some(set("rs-2", 2, source))
    );
    assert_eq!(
        s.published_keys_consistent().await.expect("read"),
        Some(set("rs-2", 2, source))
    );

    let key = WrappedKey {
        id: "k1".into(),
        alg: Alg::ES256,
        wrapping_key: "arn:aws:kms:us-east-1:123456789012:key/x".into(),
        ciphertext: "c2VjcmV0".into(),
        spki: "cHVi".into(),
        created_at: 3,
    };
    assert_eq!(s.wrapped_key("k1").await.expect("read"), None);
    s.put_wrapped_key(&key).await.expect("put");
    assert_eq!(s.wrapped_key("k1").await.expect("read"), Some(key.clone()));
    let other = WrappedKey {
        ciphertext: "b3RoZXI".into(),
        ..key.clone()
    };
    assert!(matches!(
        s.put_wrapped_key(&other).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.wrapped_key("k1").await.expect("read"), Some(key));
}

async fn consents_round_trip(s: S) {
    assert_eq!(s.consent("sub-1", "rp").await.expect("read"), None);
    let c = Consent {
        sub: "sub-1".into(),
        client_id: "rp".into(),
        scopes: vec!["email".into(), "openid".into()],
        granted_at: 10,
        claims: vec!["https://rp.example/roles".into(), "phone_number".into()],
    };
    s.put_consent(&c).await.expect("put");
    assert_eq!(
        s.consent("sub-1", "rp").await.expect("read"),
        Some(c.clone())
    );
    assert_eq!(
        s.consent("sub-1", "other").await.expect("read"),
        None,
        "per client"
    );
    assert_eq!(
        s.consent("sub-2", "rp").await.expect("read"),
        None,
        "per user"
    );
    let wider = Consent {
        scopes: vec!["email".into(), "openid".into(), "phone".into()],
        claims: vec![],
        granted_at: 20,
        ..c
    };
    s.put_consent(&wider).await.expect("replace");
    assert_eq!(s.consent("sub-1", "rp").await.expect("read"), Some(wider));
    s.delete_consent("sub-1", "rp").await.expect("delete");
    assert_eq!(s.consent("sub-1", "rp").await.expect("read"), None);
}

async fn completing_a_request_widens_consent_and_stores_its_code_at_once(s: S) {
    let now = common::epoch_now();
    let agreed = |scopes: &[&str], claims: &[&str], at: i64| Consent {
        sub: "sub-1".into(),
        client_id: "rp".into(),
        scopes: scopes.iter().map(|v| v.to_string()).collect(),
        claims: claims.iter().map(|v| v.to_string()).collect(),
        granted_at: at,
    };
    s.put_auth_request(&auth_request("req-c1", now + 600, true))
        .await
        .expect("put");
    let first = agreed(&["openid", "email"], &["https://rp.example/roles"], 10);
    assert!(
        s.complete_auth_request("req-c1", &code("code-c1", now + 60), Some(&first))
            .await
            .expect("complete")
    );
    assert_eq!(
        s.auth_request("req-c1", now).await.expect("read"),
        None,
        "retired"
    );
    assert!(
        s.code("code-c1", now).await.expect("read").is_some(),
        "stored"
    );
    assert_eq!(
        s.consent("sub-1", "rp").await.expect("read"),
        Some(agreed(
            &["email", "openid"],
            &["https://rp.example/roles"],
            10
        ))
    );
    // A later request widens it: what was agreed to before stays.
    s.put_auth_request(&auth_request("req-c2", now + 600, true))
        .await
        .expect("put");
    let more = agreed(&["openid", "phone"], &["address"], 20);
    assert!(
        s.complete_auth_request("req-c2", &code("code-c2", now + 60), Some(&more))
            .await
            .expect("complete")
    );
    assert_eq!(
        s.consent("sub-1", "rp").await.expect("read"),
        Some(agreed(
            &["email", "openid", "phone"],
            &["address", "https://rp.example/roles"],
            20
        ))
    );
    // Nothing to remember (a first-party client): the code only.
    s.put_auth_request(&auth_request("req-c3", now + 600, true))
        .await
        .expect("put");
    assert!(
        s.complete_auth_request("req-c3", &code("code-c3", now + 60), None)
            .await
            .expect("complete")
    );
    assert!(s.code("code-c3", now).await.expect("read").is_some());
    // A code that exists is never overwritten: nothing is written, the request stays.
    s.put_auth_request(&auth_request("req-c4", now + 600, true))
        .await
        .expect("put");
    let clash = s
        .complete_auth_request("req-c4", &code("code-c1", now + 60), Some(&more))
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert!(s.auth_request("req-c4", now).await.expect("read").is_some());
}

async fn concurrent_completions_of_one_request_have_one_winner(s: S) {
    let now = common::epoch_now();
    s.put_auth_request(&auth_request("req-race", now + 600, true))
        .await
        .expect("put");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let code = code(&format!("code-race-{i}"), now + 60);
                let won = s
                    .complete_auth_request("req-race", &code, None)
                    .await
                    .expect("complete");
                (i, won)
            })
        })
        .collect();
    let mut winners = vec![];
    for t in tasks {
        let (i, won) = t.await.expect("task");
        if won {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one delivers a code: {winners:?}");
    for i in 0..16 {
        let stored = s
            .code(&format!("code-race-{i}"), now)
            .await
            .expect("read")
            .is_some();
        assert_eq!(
            stored,
            i == winners[0],
            "only the winner's code is stored ({i})"
        );
    }
}

async fn refresh_round_trip_and_expiry(s: S) {
    let now = common::epoch_now();
    assert_eq!(s.refresh("rt-1", now).await.expect("read"), None);
    let t = refresh_token("rt-1", "grant-1", now, now + 600);
    s.put_refresh(&t).await.expect("put");
    assert_eq!(s.refresh("rt-1", now).await.expect("read"), Some(t.clone()));
    assert_eq!(
        s.refresh("rt-1", now + 599).await.expect("read"),
        Some(t.clone())
    );
    assert_eq!(s.refresh("rt-1", now + 600).await.expect("read"), None);
    assert_eq!(s.refresh("rt-1", now + 10_000).await.expect("read"), None);
    assert_eq!(s.refresh("rt-2", now).await.expect("read"), None);
    // A used token is still readable (used) until it expires.
    let next = refresh_token("rt-2", "grant-1", now + 10, now + 600);
    assert_eq!(
        s.rotate_refresh("rt-1", &next, now + 10)
            .await
            .expect("rotate"),
        Rotate::Rotated
    );
    let used = RefreshToken {
        used_at: Some(now + 10),
        ..t
    };
    assert_eq!(s.refresh("rt-1", now + 20).await.expect("read"), Some(used));
    assert_eq!(s.refresh("rt-1", now + 600).await.expect("read"), None);
    assert_eq!(s.refresh("rt-2", now + 20).await.expect("read"), Some(next));
}

async fn put_refresh_never_overwrites(s: S) {
    let now = common::epoch_now();
    let t = refresh_token("rt-p", "grant-1", now, now + 600);
    s.put_refresh(&t).await.expect("put");
    let mut other = refresh_token("rt-p", "grant-evil", now, now + 6000);
    other.sub = "attacker".into();
    assert!(is_conflict(s.put_refresh(&other).await));
    assert!(
        is_conflict(s.put_refresh(&t).await),
        "not even the same token"
    );
    assert_eq!(s.refresh("rt-p", now).await.expect("read"), Some(t.clone()));
    // A used token cannot be reset by a put.
    let next = refresh_token("rt-p2", "grant-1", now, now + 600);
    assert_eq!(
        s.rotate_refresh("rt-p", &next, now).await.expect("rotate"),
        Rotate::Rotated
    );
    assert!(is_conflict(s.put_refresh(&t).await));
    assert_eq!(
        s.refresh("rt-p", now)
            .await
            .expect("read")
            .and_then(|t| t.used_at),
        Some(now)
    );
}

async fn rotate_once_then_already_used(s: S) {
    let now = common::epoch_now();
    let first = refresh_token("rt-a", "grant-a", now, now + 600);
    s.put_refresh(&first).await.expect("put");
    let second = refresh_token("rt-b", "grant-a", now + 5, now + 600);
    assert_eq!(
        s.rotate_refresh("rt-a", &second, now + 5)
            .await
            .expect("rotate"),
        Rotate::Rotated
    );
    let used = RefreshToken {
        used_at: Some(now + 5),
        ..first
    };
    // A replay of the used token learns its record (its grant, to revoke it) ...
    let third = refresh_token("rt-c", "grant-a", now + 9, now + 600);
    assert_eq!(
        s.rotate_refresh("rt-a", &third, now + 9)
            .await
            .expect("replay"),
        Rotate::AlreadyUsed(Box::new(used.clone()))
    );
    // ... and its would-be successor was not stored.
    assert_eq!(s.refresh("rt-c", now + 9).await.expect("read"), None);
    // Even with the very same successor (a second call, not a retry of the first).
    assert_eq!(
        s.rotate_refresh("rt-a", &second, now + 9)
            .await
            .expect("replay"),
        Rotate::AlreadyUsed(Box::new(used.clone()))
    );
    assert_eq!(
        s.refresh("rt-b", now + 9).await.expect("read"),
        Some(second.clone()),
        "the successor is untouched"
    );
    // The chain goes on from the successor.
    assert_eq!(
        s.rotate_refresh("rt-b", &third, now + 9)
            .await
            .expect("rotate"),
        Rotate::Rotated
    );
    assert_eq!(s.refresh("rt-c", now + 9).await.expect("read"), Some(third));
    assert_eq!(s.refresh("rt-a", now + 9).await.expect("read"), Some(used));
}

async fn rotate_after_expiry_is_missing(s: S) {
    let now = common::epoch_now();
    s.put_refresh(&refresh_token("rt-e", "grant-e", now, now + 60))
        .await
        .expect("put");
    let next = refresh_token("rt-e2", "grant-e", now + 60, now + 60);
    for at in [now + 60, now + 3000] {
        assert_eq!(
            s.rotate_refresh("rt-e", &next, at).await.expect("rotate"),
            Rotate::Missing
        );
    }
    // Nothing happened: not used, no successor.
    assert_eq!(s.refresh("rt-e2", now).await.expect("read"), None);
    assert_eq!(
        s.refresh("rt-e", now)
            .await
            .expect("read")
            .map(|t| t.used_at),
        Some(None)
    );
    // A used token past its expiry is absent too, as everything expired is.
    s.put_refresh(&refresh_token("rt-f", "grant-f", now, now + 60))
        .await
        .expect("put");
    let f2 = refresh_token("rt-f2", "grant-f", now, now + 60);
    assert_eq!(
        s.rotate_refresh("rt-f", &f2, now).await.expect("rotate"),
        Rotate::Rotated
    );
    let f3 = refresh_token("rt-f3", "grant-f", now, now + 60);
    assert_eq!(
        s.rotate_refresh("rt-f", &f3, now + 60)
            .await
            .expect("late replay"),
        Rotate::Missing
    );
    assert_eq!(s.refresh("rt-f3", now).await.expect("read"), None);
}

async fn rotate_unknown_is_missing(s: S) {
    let now = common::epoch_now();
    let next = refresh_token("rt-n2", "grant-n", now, now + 600);
    assert_eq!(
        s.rotate_refresh("rt-nope", &next, now)
            .await
            .expect("rotate"),
        Rotate::Missing
    );
    assert_eq!(s.refresh("rt-n2", now).await.expect("read"), None);
    assert_eq!(s.refresh("rt-nope", now).await.expect("read"), None);
}

async fn rotate_onto_an_existing_successor_changes_nothing(s: S) {
    let now = common::epoch_now();
    let old = refresh_token("rt-o", "grant-o", now, now + 600);
    let taken = refresh_token("rt-taken", "grant-other", now, now + 600);
    s.put_refresh(&old).await.expect("put");
    s.put_refresh(&taken).await.expect("put");
    let clash = refresh_token("rt-taken", "grant-o", now, now + 600);
    assert!(is_conflict(s.rotate_refresh("rt-o", &clash, now).await));
    assert_eq!(
        s.refresh("rt-o", now).await.expect("read"),
        Some(old.clone())
    );
    assert_eq!(s.refresh("rt-taken", now).await.expect("read"), Some(taken));
    // A token cannot succeed itself.
    assert!(is_conflict(s.rotate_refresh("rt-o", &old, now).await));
    assert_eq!(s.refresh("rt-o", now).await.expect("read"), Some(old));
}

async fn concurrent_rotate_has_one_winner(s: S) {
    let now = common::epoch_now();
    let old = refresh_token("rt-race", "grant-r", now, now + 600);
    s.put_refresh(&old).await.expect("put");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let next = refresh_token(&format!("rt-next-{i}"), "grant-r", now, now + 600);
                (i, s.rotate_refresh("rt-race", &next, now).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        let (i, outcome) = t.await.expect("task");
        match outcome.expect("rotate") {
            Rotate::Rotated => winners.push(i),
            Rotate::AlreadyUsed(record) => losers.push(*record),
            Rotate::Missing => panic!("task {i}: a live token was reported missing"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins: {winners:?}");
    assert_eq!(losers.len(), 15);
    let used = RefreshToken {
        used_at: Some(now),
        ..old
    };
    assert!(
        losers.iter().all(|r| *r == used),
        "every loser sees the used record"
    );
    assert_eq!(s.refresh("rt-race", now).await.expect("read"), Some(used));
    for i in 0..16 {
        let stored = s.refresh(&format!("rt-next-{i}"), now).await.expect("read");
        assert_eq!(
            stored.is_some(),
            i == winners[0],
            "only the winner's successor is stored (rt-next-{i})"
        );
    }
}

async fn first_use_until_expiry(s: S) {
    let now = common::epoch_now();
    assert!(s.first_use("jti-1", now + 60, now).await.expect("first"));
    assert!(!s.first_use("jti-1", now + 60, now).await.expect("replay"));
    assert!(
        !s.first_use("jti-1", now + 600, now + 59)
            .await
            .expect("replay")
    );
    assert!(
        s.first_use("jti-2", now + 60, now)
            .await
            .expect("other key"),
        "keys are independent"
    );
    // Once remembered-until passes, the key is fresh again, and remembered anew.
    assert!(
        s.first_use("jti-1", now + 120, now + 60)
            .await
            .expect("after expiry")
    );
    assert!(
        !s.first_use("jti-1", now + 120, now + 119)
            .await
            .expect("replay")
    );
    assert!(
        s.first_use("jti-1", now + 500, now + 120)
            .await
            .expect("after expiry")
    );
}

async fn concurrent_first_use_has_one_winner(s: S) {
    let now = common::epoch_now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.first_use("jti-race", now + 60, now).await })
        })
        .collect();
    let mut firsts = 0;
    for t in tasks {
        if t.await.expect("task").expect("first_use") {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1, "exactly one first_use wins");
    assert!(
        !s.first_use("jti-race", now + 60, now)
            .await
            .expect("replay")
    );
}

/// Every page of a listing, following the cursors; panics on a loop.
async fn all_pages<T, F, Fut>(limit: usize, mut list: F) -> Vec<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<shared::store::Page<T>, StoreError>>,
{
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = list(after.clone()).await.expect("list");
        assert!(page.items.len() <= limit, "a page holds at most the limit");
        pages.push(page.items);
        match page.next {
            Some(next) => {
                assert_ne!(Some(&next), after.as_ref(), "the cursor moves on");
                after = Some(next);
            }
            None => break,
        }
        assert!(pages.len() < 100, "too many pages");
    }
    pages
}

async fn clients_list_in_pages_and_delete(s: S) {
    let empty = s.list_clients(None, 10).await.expect("list empty");
    assert!(empty.items.is_empty() && empty.next.is_none());
    for i in 0..7 {
        s.put_client(&client(&format!("rp-{i}"), &format!("RP {i}")))
            .await
            .expect("put");
    }
    // Other item types never show up in a client listing.
    s.create_user(&user("sub-a", "alice", Some("a@example.com")))
        .await
        .expect("user");
    let pages = all_pages(3, |after| {
        let s = s.clone();
        async move { s.list_clients(after.as_deref(), 3).await }
    })
    .await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1],
        "full pages, the last one marked by no cursor"
    );
    let mut ids: Vec<String> = pages.concat().into_iter().map(|c| c.client_id).collect();
    ids.sort();
    let expected: Vec<String> = (0..7).map(|i| format!("rp-{i}")).collect();
    assert_eq!(ids, expected, "every client exactly once");
    // A page that ends exactly at the last client has no cursor.
    let whole = s.list_clients(None, 7).await.expect("list");
    assert_eq!((whole.items.len(), whole.next), (7, None));
    assert_eq!(
        whole.items.iter().find(|c| c.client_id == "rp-3"),
        Some(&client("rp-3", "RP 3")),
        "listed clients are complete records"
    );

    assert!(s.delete_client("rp-3").await.expect("delete"));
    assert!(!s.delete_client("rp-3").await.expect("delete again"));
    assert!(!s.delete_client("nobody").await.expect("delete unknown"));
    assert_eq!(s.client("rp-3").await.expect("read"), None);
    assert_eq!(
        s.list_clients(None, 100).await.expect("list").items.len(),
        6
    );
}

async fn users_list_in_pages_and_delete(s: S) {
    for i in 0..5 {
        s.create_user(&user(
            &format!("sub-{i}"),
            &format!("user{i}"),
            Some(&format!("u{i}@example.com")),
        ))
        .await
        .expect("create");
    }
    s.put_client(&client("rp", "RP")).await.expect("client");
    let pages = all_pages(2, |after| {
        let s = s.clone();
        async move { s.list_users(after.as_deref(), 2).await }
    })
    .await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let mut names: Vec<String> = pages.concat().into_iter().map(|u| u.username).collect();
    names.sort();
    assert_eq!(names, ["user0", "user1", "user2", "user3", "user4"]);

    // Deleting removes the user and frees its username and email at once.
    assert!(s.delete_user("sub-2").await.expect("delete"));
    assert_eq!(s.user("sub-2").await.expect("read"), None);
    assert_eq!(s.user_by_username("user2").await.expect("read"), None);
    assert!(!s.delete_user("sub-2").await.expect("delete again"));
    s.create_user(&user("sub-new", "user2", Some("U2@example.com")))
        .await
        .expect("username and email are free again");
    assert_eq!(s.list_users(None, 100).await.expect("list").items.len(), 5);
}

async fn delete_user_releases_only_its_claims(s: S) {
    let a = user("sub-a", "alice", Some("a@example.com"));
    s.create_user(&a).await.expect("create");
    // The email moved away from alice: deleting her must not release the new holder's.
    let a2 = with_email(a, Some("moved@example.com"));
    s.update_user(&a2).await.expect("move email");
    s.create_user(&user("sub-b", "bob", Some("a@example.com")))
        .await
        .expect("bob takes the old email");
    assert!(s.delete_user("sub-a").await.expect("delete alice"));
    assert!(is_conflict(
        s.create_user(&user("sub-c", "carol", Some("a@example.com")))
            .await
    ));
    s.create_user(&user("sub-c", "carol", Some("moved@example.com")))
        .await
        .expect("alice's email is free");
    assert_eq!(
        s.user_by_username("bob")
            .await
            .expect("read")
            .map(|u| u.sub),
        Some("sub-b".into())
    );
}

async fn tokens_valid_after_round_trips(s: S) {
    let mut u = user("sub-a", "alice", None);
    s.create_user(&u).await.expect("create");
    assert_eq!(
        s.user("sub-a")
            .await
            .expect("read")
            .map(|u| u.tokens_valid_after),
        Some(0),
        "default: nothing ended"
    );
    u.end_sessions(1_700_000_123_456);
    s.update_user(&u).await.expect("update");
    let stored = s.user("sub-a").await.expect("read").expect("user");
    assert_eq!(stored.tokens_valid_after, 1_700_000_123);
    assert_eq!(stored.tokens_valid_after_ms, 1_700_000_123_456);
    assert!(
        !stored.accepts(1_700_000_123_400),
        "issued earlier in the same second: dead"
    );
    assert!(
        !stored.accepts(1_700_000_123_456),
        "the same instant is not after"
    );
    assert!(stored.accepts(1_700_000_123_457));
    // A record written before millisecond stamps: whole seconds, the strict side.
    let legacy = User {
        tokens_valid_after: 1_700_000_123,
        tokens_valid_after_ms: 0,
        ..stored
    };
    assert!(!legacy.accepts(1_700_000_123_999));
    assert!(legacy.accepts(1_700_000_124_000));
}

async fn username_record_follows_every_user_write(s: S) {
    let mut a = user("sub-a", "alice", Some("alice@example.com"));
    s.create_user(&a).await.expect("create");
    let by_name = |s: S| async move { s.user_by_username("alice").await.expect("read") };
    assert_eq!(by_name(s.clone()).await, Some(a.clone()));
    // Every update is seen by username at once: a new password, a disabled flag, an email.
    a.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$bmV3".into();
    a.disabled = true;
    s.update_user(&a).await.expect("update");
    assert_eq!(by_name(s.clone()).await, Some(a.clone()));
    let a = with_email(a, Some("new@example.com"));
    s.update_user(&a).await.expect("move the email");
    assert_eq!(by_name(s.clone()).await, Some(a.clone()));
    let read = s
        .signin_read(&query("none", "alice", vec![], 0))
        .await
        .expect("read");
    assert_eq!(read.user, Some(a));
    assert!(s.delete_user("sub-a").await.expect("delete"));
    assert_eq!(by_name(s.clone()).await, None);
    let read = s
        .signin_read(&query("none", "alice", vec![], 0))
        .await
        .expect("read");
    assert_eq!(read.user, None);
}

fn query<'a>(id: &'a str, username: &'a str, counters: Vec<&str>, now: i64) -> SignInQuery<'a> {
    SignInQuery {
        request_id: id,
        username,
        counters: counters.into_iter().map(String::from).collect(),
        secret: true,
        factors: None,
        now,
    }
}

fn guard(key: &str, read: Option<Counter>, below: u32, or_unchanged: bool) -> Guard {
    Guard {
        key: key.into(),
        read,
        below,
        or_unchanged,
    }
}

fn failure(key: &str, read: Option<Counter>, below: u32, window: Window) -> CounterWrite {
    CounterWrite::Fail(guard(key, read, below, false), window)
}

async fn write(s: &S, counters: Vec<CounterWrite>, now: i64) -> bool {
    s.signin_write(&SignInWrite {
        counters,
        session: None,
        request: None,
        passkey: None,
        factors: None,
        now,
        now_ms: now,
    })
    .await
    .expect("write")
}

async fn counter(s: &S, key: &str, now: i64) -> Option<Counter> {
    s.signin_read(&query("none", "nobody", vec![key], now))
        .await
        .expect("read")
        .counters
        .get(key)
        .copied()
}

async fn signin_read_finds_everything_in_one_call(s: S) {
    let now = 1_700_000_000;
    let empty = s
        .signin_read(&query("r", "alice", vec!["acct#x", "ip#1"], now))
        .await
        .expect("read");
    assert!(empty.request.is_none() && empty.user.is_none() && empty.secret.is_none());
    assert!(empty.counters.is_empty());

    let a = user("sub-a", "alice", None);
    s.create_user(&a).await.expect("user");
    s.put_auth_request(&auth_request("r", now + 60, false))
        .await
        .expect("request");
    let secret = DeploymentSecret {
        value: "c2VjcmV0".into(),
        created_at: now,
    };
    s.create_secret(&secret).await.expect("secret");
    assert!(write(&s, vec![failure("ip#1", None, 5, Window::Fixed(60))], now).await);

    let found = s
        .signin_read(&query("r", "alice", vec!["acct#x", "ip#1"], now))
        .await
        .expect("read");
    assert_eq!(found.request, Some(auth_request("r", now + 60, false)));
    assert_eq!(found.user, Some(a));
    assert_eq!(found.secret, Some(secret));
    assert_eq!(
        found.counters.get("ip#1"),
        Some(&Counter {
            count: 1,
            last: now,
            expires_at: now + 60
        })
    );
    assert!(!found.counters.contains_key("acct#x"));
    // Usernames are exact (counters are keyed by the lowercased name instead); an expired
    // request is absent; the secret only when asked for.
    let mut q = query("r", "Alice", vec![], now + 60);
    q.secret = false;
    let other = s.signin_read(&q).await.expect("read");
    assert!(other.user.is_none() && other.request.is_none() && other.secret.is_none());
    // A username no key can hold is simply unknown.
    let long = "x".repeat(5000);
    assert!(
        s.signin_read(&query("r", &long, vec![], now))
            .await
            .expect("read")
            .user
            .is_none()
    );
}

async fn signin_failures_count_within_guards(s: S) {
    let now = 1_700_000_000;
    let fixed = Window::Fixed(60);
    for i in 0..3 {
        let read = counter(&s, "ip#a", now + i).await;
        assert!(write(&s, vec![failure("ip#a", read, 3, fixed)], now + i).await);
    }
    let three = Counter {
        count: 3,
        last: now + 2,
        expires_at: now + 60,
    };
    assert_eq!(
        counter(&s, "ip#a", now + 2).await,
        Some(three),
        "a fixed window"
    );
    assert!(
        !write(&s, vec![failure("ip#a", Some(three), 3, fixed)], now + 3).await,
        "at the limit: not counted"
    );
    assert_eq!(counter(&s, "ip#a", now + 3).await, Some(three));

    // A lost guard writes nothing at all, not even the other counters of the attempt.
    assert!(
        !write(
            &s,
            vec![
                failure("acct#b", None, 5, Window::Sliding(100)),
                failure("ip#a", Some(three), 3, fixed),
            ],
            now + 3
        )
        .await
    );
    assert_eq!(counter(&s, "acct#b", now + 3).await, None);

    // Once the window has ended, counting starts again.
    assert!(write(&s, vec![failure("ip#a", Some(three), 3, fixed)], now + 60).await);
    assert_eq!(
        counter(&s, "ip#a", now + 60).await,
        Some(Counter {
            count: 1,
            last: now + 60,
            expires_at: now + 120
        })
    );

    // A series moves its end with each failure; past its limit, only the state as read
    // lets one more through (the attempt a wait allows), and only once.
    let sliding = Window::Sliding(100);
    assert!(write(&s, vec![failure("acct#c", None, 1, sliding)], now).await);
    let one = counter(&s, "acct#c", now).await.expect("counted");
    assert_eq!(one.expires_at, now + 100);
    let timed = || CounterWrite::Fail(guard("acct#c", Some(one), 1, true), sliding);
    assert!(write(&s, vec![timed()], now + 10).await);
    assert_eq!(
        counter(&s, "acct#c", now + 10).await,
        Some(Counter {
            count: 2,
            last: now + 10,
            expires_at: now + 110
        })
    );
    assert!(!write(&s, vec![timed()], now + 11).await, "state changed");
}

async fn signin_success_writes_session_and_request_only_within_guards(s: S) {
    let now = 1_700_000_000;
    let session = Session {
        renewed_ms: 0,
        id_hash: "sess".into(),
        sub: "sub-1".into(),
        auth_time: now,
        expires_at: now + 100,
        sid: "sid".into(),
        auth_time_ms: now * 1000,
        idp: None,
        amr: vec![],
    };
    let request = auth_request("r", now + 60, true);
    let success = |counters: Vec<CounterWrite>| SignInWrite {
        counters,
        session: Some(&session),
        request: Some(&request),
        passkey: None,
        factors: None,
        now,
        now_ms: now,
    };
    for _ in 0..2 {
        assert!(write(&s, vec![failure("ip#s", None, 2, Window::Fixed(60))], now).await);
    }
    let full = counter(&s, "ip#s", now).await;
    let lost = success(vec![CounterWrite::Hold(guard("ip#s", full, 2, false))]);
    assert!(
        !s.signin_write(&lost).await.expect("write"),
        "over the limit"
    );
    assert_eq!(s.session("sess", now).await.expect("read"), None);
    assert_eq!(s.auth_request("r", now).await.expect("read"), None);

    assert!(
        write(
            &s,
            vec![failure("acct#s", None, 5, Window::Sliding(60))],
            now
        )
        .await
    );
    let failed = counter(&s, "acct#s", now).await;
    let won = success(vec![
        CounterWrite::Reset(guard("acct#s", failed, 5, true)),
        CounterWrite::Hold(guard("ip#other", None, 2, false)),
    ]);
    assert!(s.signin_write(&won).await.expect("write"));
    assert_eq!(
        s.session("sess", now).await.expect("read"),
        Some(session.clone())
    );
    assert_eq!(
        s.auth_request("r", now).await.expect("read"),
        Some(request.clone())
    );
    assert_eq!(
        counter(&s, "acct#s", now).await,
        None,
        "the series was reset"
    );
    assert_eq!(
        counter(&s, "ip#other", now).await,
        None,
        "a hold writes nothing"
    );
}

/// `n` writes of the same attempt at once; how many were written.
async fn at_once(s: &S, n: usize, op: CounterWrite, now: i64) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (s, op) = (s.clone(), op.clone());
        tasks.spawn(async move { write(&s, vec![op], now).await });
    }
    tasks.join_all().await.into_iter().filter(|w| *w).count()
}

async fn concurrent_signin_failures_never_exceed_the_limit(s: S) {
    let now = 1_700_000_000;
    let op = failure("ip#hot", None, 5, Window::Fixed(60));
    assert_eq!(at_once(&s, 16, op, now).await, 5);
    assert_eq!(counter(&s, "ip#hot", now).await.map(|c| c.count), Some(5));
}

async fn concurrent_signin_failures_after_a_wait_count_once(s: S) {
    let now = 1_700_000_000;
    assert!(
        write(
            &s,
            vec![failure("acct#hot", None, 1, Window::Sliding(600))],
            now
        )
        .await
    );
    let read = counter(&s, "acct#hot", now).await;
    let op = CounterWrite::Fail(guard("acct#hot", read, 1, true), Window::Sliding(600));
    assert_eq!(at_once(&s, 16, op, now + 30).await, 1);
    assert_eq!(
        counter(&s, "acct#hot", now + 30).await.map(|c| c.count),
        Some(2)
    );
}

async fn concurrent_signin_successes_all_hold(s: S) {
    let now = 1_700_000_000;
    assert!(
        write(
            &s,
            vec![failure("ip#busy", None, 5, Window::Fixed(60))],
            now
        )
        .await
    );
    let read = counter(&s, "ip#busy", now).await;
    let op = CounterWrite::Hold(guard("ip#busy", read, 5, false));
    assert_eq!(at_once(&s, 16, op, now).await, 16);
    assert_eq!(counter(&s, "ip#busy", now).await.map(|c| c.count), Some(1));
}

async fn deployment_secret_is_never_overwritten(s: S) {
    let first = DeploymentSecret {
        value: "Zmlyc3Q".into(),
        created_at: 1,
    };
    let second = DeploymentSecret {
        value: "c2Vjb25k".into(),
        created_at: 2,
    };
    assert_eq!(s.create_secret(&first).await.expect("create"), first);
    assert_eq!(
        s.create_secret(&second).await.expect("create"),
        first,
        "the loser gets the winner's"
    );
}

// ---------------------------------------------------------------------------------------
// DynamoDB only: the table and the item layout the contract relies on

// ---------------------------------------------------------------------------------------
// federation: upstream providers, attempts, account links

fn provider(id: &str, name: &str) -> UpstreamProvider {
    UpstreamProvider {
        id: id.into(),
        issuer: format!("https://{id}.example"),
        client_id: format!("{id}-client"),
        client_auth: UpstreamAuth::ClientSecretBasic,
        sealed_secret: Some(SealedSecret {
            key: "arn:aws:kms:us-east-1:000000000000:key/k".into(),
            ciphertext: "c2VhbGVk".into(),
        }),
        scopes: vec!["openid".into(), "email".into()],
        display_name: name.into(),
        logo_uri: None,
        claim_map: Default::default(),
        link_verified_email: false,
        userinfo: false,
        enabled: true,
    }
}

fn attempt(state_hash: &str, expires_at: i64) -> FederationAttempt {
    FederationAttempt {
        state_hash: state_hash.into(),
        request_id: "req-1".into(),
        provider_id: "google".into(),
        browser_id: "browser".into(),
        nonce: "n-0S6_WzA2Mj".into(),
        code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        expires_at,
    }
}

fn link(issuer: &str, upstream_sub: &str, sub: &str) -> AccountLink {
    AccountLink {
        issuer: issuer.into(),
        upstream_sub: upstream_sub.into(),
        sub: sub.into(),
        provider_id: "google".into(),
        created_at: 1_700_000_000,
        jit: true,
    }
}

const GOOGLE: &str = "https://accounts.google.com";

async fn providers_round_trip_list_and_delete(s: S) {
    assert_eq!(s.list_providers().await.expect("list"), vec![]);
    assert_eq!(s.provider("google").await.expect("read"), None);
    assert!(!s.delete_provider("google").await.expect("delete none"));

    let google = provider("google", "Google");
    s.put_provider(&google).await.expect("put");
    let mut entra = provider("entra", "Microsoft");
    entra.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
    entra.client_auth = UpstreamAuth::ClientSecretPost;
    entra.logo_uri = Some("https://entra.example/logo.svg".into());
    entra.claim_map = [("name".to_string(), "displayName".to_string())].into();
    entra.link_verified_email = true;
    entra.userinfo = true;
    entra.enabled = false;
    s.put_provider(&entra).await.expect("put every field");
    assert_eq!(
        s.provider("google").await.expect("read"),
        Some(google.clone())
    );
    assert_eq!(
        s.provider("entra").await.expect("read"),
        Some(entra.clone())
    );
    assert_eq!(
        s.list_providers().await.expect("list"),
        vec![entra.clone(), google.clone()],
        "every provider, enabled or not, by id"
    );

    // Replacing one leaves the others alone; other items never show up.
    let mut renamed = google.clone();
    renamed.display_name = "Google Workspace".into();
    renamed.sealed_secret = None;
    s.put_provider(&renamed).await.expect("replace");
    s.put_client(&client("google", "a client named like it"))
        .await
        .expect("client");
    assert_eq!(
        s.list_providers().await.expect("list"),
        vec![entra.clone(), renamed.clone()]
    );

    assert!(s.delete_provider("google").await.expect("delete"));
    assert!(!s.delete_provider("google").await.expect("delete again"));
    assert_eq!(s.provider("google").await.expect("read"), None);
    assert_eq!(s.list_providers().await.expect("list"), vec![entra]);
    assert!(s.delete_provider("entra").await.expect("delete the last"));
    assert_eq!(s.list_providers().await.expect("list"), vec![]);
    s.put_provider(&google)
        .await
        .expect("put after all were deleted");
    assert_eq!(s.list_providers().await.expect("list"), vec![google]);
}

async fn attempts_are_taken_once(s: S) {
    let now = common::epoch_now();
    let a = attempt("state-1", now + 600);
    s.put_attempt(&a).await.expect("put");
    assert!(
        is_conflict(s.put_attempt(&attempt("state-1", now + 900)).await),
        "an attempt is never overwritten"
    );
    assert_eq!(s.take_attempt("state-1", now).await.expect("take"), Some(a));
    assert_eq!(
        s.take_attempt("state-1", now).await.expect("take again"),
        None,
        "a state is used once"
    );
    assert_eq!(s.take_attempt("nothing", now).await.expect("take"), None);
    // Another attempt, under a fresh state, is its own.
    s.put_attempt(&attempt("state-2", now + 600))
        .await
        .expect("put");
    assert!(
        s.take_attempt("state-2", now)
            .await
            .expect("take")
            .is_some()
    );
}

async fn expired_attempts_are_never_taken(s: S) {
    let now = common::epoch_now();
    s.put_attempt(&attempt("old", now + 10)).await.expect("put");
    assert_eq!(
        s.take_attempt("old", now + 10)
            .await
            .expect("take at expiry"),
        None
    );
    assert_eq!(
        s.take_attempt("old", now + 3600).await.expect("take later"),
        None
    );
    // An expired attempt is left alone (to TTL), not consumed: expiry is the reader's `now`.
    assert!(s.take_attempt("old", now).await.expect("take").is_some());
    assert_eq!(s.take_attempt("old", now).await.expect("again"), None);
}

async fn concurrent_takes_of_an_attempt_have_one_winner(s: S) {
    let now = common::epoch_now();
    s.put_attempt(&attempt("race", now + 600))
        .await
        .expect("put");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.take_attempt("race", now).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if t.await.expect("task").expect("take").is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one callback gets the attempt");
}

async fn links_are_unique_and_never_move(s: S) {
    assert_eq!(s.link(GOOGLE, "g-1").await.expect("read"), None);
    let l = link(GOOGLE, "g-1", "sub-a");
    assert!(s.put_link(&l).await.expect("put"));
    assert_eq!(s.link(GOOGLE, "g-1").await.expect("read"), Some(l.clone()));
    assert!(
        !s.put_link(&link(GOOGLE, "g-1", "sub-b"))
            .await
            .expect("put"),
        "a link never moves to another user"
    );
    assert_eq!(s.link(GOOGLE, "g-1").await.expect("read"), Some(l));
    // The pair is the identifier: another issuer's same sub is another account, and
    // neither sub nor issuer is matched loosely.
    assert_eq!(
        s.link("https://login.example", "g-1").await.expect("read"),
        None
    );
    assert_eq!(s.link(GOOGLE, "G-1").await.expect("read"), None);
    assert_eq!(
        s.link("accounts.google.com", "g-1").await.expect("read"),
        None
    );
    // A `#` in either part cannot make two pairs one key.
    let (x, y) = (
        link("https://a.example#b", "c", "sub-x"),
        link("https://a.example", "b#c", "sub-y"),
    );
    assert!(s.put_link(&x).await.expect("put"));
    assert!(s.put_link(&y).await.expect("put"));
    assert_eq!(
        s.link("https://a.example#b", "c").await.expect("read"),
        Some(x)
    );
    assert_eq!(
        s.link("https://a.example", "b#c").await.expect("read"),
        Some(y)
    );
    // Links are not users: no user appears.
    assert_eq!(s.list_users(None, 10).await.expect("list").items.len(), 0);
}

async fn create_linked_user_writes_all_or_nothing(s: S) {
    let fresh = user("sub-f", "google:g-1", Some("f@example.com"));
    let l = link(GOOGLE, "g-1", "sub-f");
    assert_eq!(
        s.create_linked_user(&fresh, &l).await.expect("create"),
        CreateLinked::Created
    );
    assert_eq!(s.user("sub-f").await.expect("read"), Some(fresh.clone()));
    assert_eq!(
        s.user_by_username("google:g-1").await.expect("read"),
        Some(fresh.clone())
    );
    assert_eq!(s.link(GOOGLE, "g-1").await.expect("read"), Some(l.clone()));
    assert!(
        is_conflict(
            s.create_user(&user("sub-z", "zed", Some("F@example.com")))
                .await
        ),
        "its email is claimed as a created user's is"
    );

    // Each uniqueness rule taken in turn: the outcome says which, and nothing is written.
    let cases = [
        (
            user("sub-2", "other-2", None),
            link(GOOGLE, "g-1", "sub-2"),
            CreateLinked::LinkTaken,
        ),
        (
            user("sub-f", "other-3", None),
            link(GOOGLE, "g-3", "sub-f"),
            CreateLinked::UserTaken(UserClaim::Sub),
        ),
        (
            user("sub-4", "google:g-1", Some("four@example.com")),
            link(GOOGLE, "g-4", "sub-4"),
            CreateLinked::UserTaken(UserClaim::Username),
        ),
        (
            user("sub-5", "other-5", Some("f@EXAMPLE.com")),
            link(GOOGLE, "g-5", "sub-5"),
            CreateLinked::UserTaken(UserClaim::Email),
        ),
    ];
    for (u, l, outcome) in cases {
        assert_eq!(
            s.create_linked_user(&u, &l).await.expect("create"),
            outcome,
            "{}",
            u.username
        );
        assert_eq!(
            s.user_by_username(&u.username)
                .await
                .expect("read")
                .map(|x| x.sub),
            (u.username == "google:g-1").then(|| "sub-f".to_string()),
            "{}: no username written",
            u.username
        );
        let stored = s.link(GOOGLE, &l.upstream_sub).await.expect("read");
        assert_eq!(
            stored.map(|x| x.sub),
            (l.upstream_sub == "g-1").then(|| "sub-f".to_string()),
            "{}: no link written",
            u.username
        );
        if u.sub != "sub-f" {
            assert_eq!(
                s.user(&u.sub).await.expect("read"),
                None,
                "{}: no user",
                u.username
            );
        }
    }
    // The losers' emails were never claimed.
    s.create_user(&user("sub-6", "six", Some("four@example.com")))
        .await
        .expect("email free");
    // A user without an email links as well.
    assert_eq!(
        s.create_linked_user(
            &user("sub-7", "google:g-7", None),
            &link(GOOGLE, "g-7", "sub-7")
        )
        .await
        .expect("create"),
        CreateLinked::Created
    );
}

async fn concurrent_first_sign_ins_create_one_user(s: S) {
    // The same upstream account signs in twice at once: each callback makes its own user.
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let u = user(&format!("sub-{i}"), &format!("google:{i}"), None);
                s.create_linked_user(&u, &link(GOOGLE, "same", &u.sub))
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.expect("task").expect("create") {
            CreateLinked::Created => winners.push(i),
            CreateLinked::LinkTaken => {}
            other => panic!("task {i}: unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one user is created: {winners:?}");
    let winner = format!("sub-{}", winners[0]);
    assert_eq!(
        s.link(GOOGLE, "same").await.expect("read").map(|l| l.sub),
        Some(winner.clone())
    );
    for i in 0..6 {
        let sub = format!("sub-{i}");
        assert_eq!(
            s.user(&sub).await.expect("read").is_some(),
            sub == winner,
            "{sub}"
        );
    }
}

async fn raw_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
        .expect("item present")
}

fn num(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

#[tokio::test]
async fn dynamo_create_table_is_idempotent_and_enables_ttl() {
    let Some((client, table)) =
        dynamo_table("dynamo_create_table_is_idempotent_and_enables_ttl").await
    else {
        return;
    };
    ddb::provision::create_table(&client, &table)
        .await
        .expect("second create_table is fine");
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe ttl");
    let d = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(d.attribute_name(), Some("ttl"));
    assert_eq!(d.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
    let desc = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe");
    let t = desc.table().expect("table");
    let keys: Vec<_> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(keys, vec![("pk".to_string(), "HASH".to_string())]);
}

#[tokio::test]
async fn dynamo_item_layout_and_ttl() {
    let Some((client, table)) = dynamo_table("dynamo_item_layout_and_ttl").await else {
        return;
    };
    let s = DynamoStore::new(client.clone(), table.clone());
    let now = common::epoch_now();

    s.create_user(&user("sub-a", "alice", Some("Alice@Example.com")))
        .await
        .expect("create");
    let u = raw_item(&client, &table, "user#sub-a").await;
    assert_eq!(num(&u, "ttl"), None, "users do not expire");
    let by_name = raw_item(&client, &table, "username#alice").await;
    assert_eq!(by_name.get("sub"), Some(&AttributeValue::S("sub-a".into())));
    assert!(by_name.contains_key("password_hash"), "the whole user");
    let claim = raw_item(&client, &table, "email#alice@example.com").await;
    assert_eq!(claim.get("sub"), Some(&AttributeValue::S("sub-a".into())));

    s.put_session(&Session {
        renewed_ms: 0,
        id_hash: "h".into(),
        sub: "sub-a".into(),
        auth_time: now,
        expires_at: now + 10,
        auth_time_ms: 0,
        sid: "sid-test".into(),
        idp: None,
        amr: vec![],
    })
    .await
    .expect("session");
    assert_eq!(
        num(&raw_item(&client, &table, "session#h").await, "ttl"),
        Some(now + 10)
    );

    s.put_auth_request(&auth_request("r", now + 20, false))
        .await
        .expect("authreq");
    let r = raw_item(&client, &table, "authreq#r").await;
    assert_eq!(num(&r, "ttl"), Some(now + 20));
    assert!(
        !r.contains_key("nonce"),
        "None fields are not stored as NULL"
    );

    s.put_code(&code("c", now + 30)).await.expect("code");
    let c = raw_item(&client, &table, "code#c").await;
    assert_eq!(
        num(&c, "ttl"),
        Some(now + 30 + shared::store::schema::CODE_REPLAY_WINDOW)
    );
    assert!(!c.contains_key("minted"));

    s.revoke("j", now + 40).await.expect("revoke");
    assert_eq!(
        num(&raw_item(&client, &table, "revoked#j").await, "ttl"),
        Some(now + 40)
    );

    // Refresh tokens live until the grant ends, used or not (so a replay is recognised).
    s.put_refresh(&refresh_token("rt", "g", now, now + 50))
        .await
        .expect("refresh");
    let rt = raw_item(&client, &table, "refresh#rt").await;
    assert_eq!(num(&rt, "ttl"), Some(now + 50));
    assert!(!rt.contains_key("used_at"), "unused: no used_at attribute");
    s.rotate_refresh("rt", &refresh_token("rt2", "g", now, now + 50), now + 1)
        .await
        .expect("rotate");
    let rt = raw_item(&client, &table, "refresh#rt").await;
    assert_eq!(num(&rt, "ttl"), Some(now + 50));
    assert_eq!(num(&rt, "used_at"), Some(now + 1));
    assert_eq!(
        num(&raw_item(&client, &table, "refresh#rt2").await, "ttl"),
        Some(now + 50)
    );

    assert!(s.first_use("k", now + 60, now).await.expect("first_use"));
    let r = raw_item(&client, &table, "replay#k").await;
    assert_eq!(num(&r, "ttl"), Some(now + 60));
    assert_eq!(num(&r, "until"), Some(now + 60));

    // Failure counters expire with their window; increments leave the ttl alone.
    for t in [now, now + 5] {
        let read = s
            .signin_read(&query("none", "nobody", vec!["ip#x"], t))
            .await
            .expect("read")
            .counters
            .get("ip#x")
            .copied();
        let op = CounterWrite::Fail(guard("ip#x", read, 10, false), Window::Fixed(900));
        assert!(
            s.signin_write(&SignInWrite {
                counters: vec![op],
                session: None,
                request: None,
                passkey: None,
                factors: None,
                now: t,
                now_ms: t * 1000,
            })
            .await
            .expect("count")
        );
    }
    let t = raw_item(&client, &table, "throttle#ip#x").await;
    assert_eq!(num(&t, "count"), Some(2));
    assert_eq!(num(&t, "last"), Some((now + 5) * 1000));
    assert_eq!(num(&t, "expires_at"), Some(now + 900));
    assert_eq!(num(&t, "ttl"), Some(now + 900));

    // Federation attempts expire; providers live in one item, a map by id; links do not expire.
    s.put_attempt(&attempt("st", now + 70))
        .await
        .expect("attempt");
    assert_eq!(
        num(&raw_item(&client, &table, "fedstate#st").await, "ttl"),
        Some(now + 70)
    );
    s.put_provider(&provider("google", "Google"))
        .await
        .expect("provider");
    let ps = raw_item(&client, &table, "providers#all").await;
    match ps.get("providers") {
        Some(AttributeValue::M(m)) => assert!(m.contains_key("google"), "{m:?}"),
        other => panic!("providers map: {other:?}"),
    }
    s.put_link(&link(GOOGLE, "g", "sub-a")).await.expect("link");
    let l = raw_item(&client, &table, "link#https://accounts.google.com#g").await;
    assert_eq!(num(&l, "ttl"), None, "links do not expire");
}

#[tokio::test]
async fn dynamo_username_item_of_the_old_format_costs_one_more_read_and_is_migrated() {
    let Some((client, table)) =
        dynamo_table("dynamo_username_item_of_the_old_format_costs_one_more_read_and_is_migrated")
            .await
    else {
        return;
    };
    let s = DynamoStore::new(client.clone(), table.clone());
    let a = user("sub-old", "olga", None);
    s.create_user(&a).await.expect("create");
    // As a user was stored before: the username item holds only the sub.
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("username#olga".into()))
        .item("sub", AttributeValue::S("sub-old".into()))
        .send()
        .await
        .expect("old format");
    assert_eq!(
        s.user_by_username("olga").await.expect("read"),
        Some(a.clone())
    );
    let read = s
        .signin_read(&query("none", "olga", vec![], 0))
        .await
        .expect("read");
    assert_eq!(read.user, Some(a.clone()));
    s.update_user(&a).await.expect("update");
    assert!(
        raw_item(&client, &table, "username#olga")
            .await
            .contains_key("password_hash")
    );
    assert!(s.delete_user("sub-old").await.expect("delete"));
}

#[tokio::test]
async fn dynamo_failures_carry_no_item_contents() {
    let Some(config) = common::aws("dynamo_failures_carry_no_item_contents").await else {
        return;
    };
    let s = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        common::unique("no-such-table"),
    );
    let err = s
        .create_user(&user(
            "sub-secret",
            "secret-name",
            Some("secret@example.com"),
        ))
        .await
        .expect_err("no table");
    // Whatever the variant, neither what it prints nor what it logs holds the item.
    for msg in [err.to_string(), format!("{err:?}")] {
        for leak in ["secret", "argon2"] {
            assert!(!msg.contains(leak), "message leaks {leak}: {msg}");
        }
    }
    let err = s
        .session("secret-hash", common::epoch_now())
        .await
        .expect_err("no table");
    assert!(
        matches!(&err, StoreError::TableMissing { detail, .. } if detail.contains("ResourceNotFoundException") && !detail.contains("secret")),
        "{err:?}"
    );
}

/// Every kind of call (GetItem, BatchGetItem, Scan, PutItem, UpdateItem, DeleteItem,
/// TransactWriteItems) on a table that does not exist says so in its type, naming the table,
/// and prints as any other unavailable store.
#[tokio::test]
async fn dynamo_missing_table_is_typed() {
    let Some(config) = common::aws("dynamo_missing_table_is_typed").await else {
        return;
    };
    let table = common::unique("no-such-table");
    let s = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    let now = common::epoch_now();
    let missing = |err: StoreError, op: &str| {
        let detail = format!("dynamodb {op}: ResourceNotFoundException");
        assert_eq!(err.to_string(), format!("store unavailable: {detail}"));
        assert_eq!(
            err,
            StoreError::TableMissing {
                table: table.clone(),
                detail
            }
        );
    };
    missing(s.session("h", now).await.expect_err("no table"), "GetItem");
    missing(
        s.signin_read(&query("none", "alice", vec!["ip#x"], now))
            .await
            .expect_err("no table"),
        "BatchGetItem",
    );
    missing(s.list_users(None, 10).await.expect_err("no table"), "Scan");
    let key = WrappedKey {
        id: "k1".into(),
        alg: shared::jose::Alg::ES256,
        wrapping_key: "arn:aws:kms:us-east-1:123456789012:key/x".into(),
        ciphertext: "c2VjcmV0".into(),
        spki: "cHVi".into(),
        created_at: 3,
    };
    missing(
        s.put_wrapped_key(&key).await.expect_err("no table"),
        "PutItem",
    );
    missing(
        s.consume_code("h", &presented(), &minted("g", now), now)
            .await
            .expect_err("no table"),
        "UpdateItem",
    );
    missing(
        s.delete_session("h").await.expect_err("no table"),
        "DeleteItem",
    );
    missing(
        s.create_user(&user("sub-1", "alice", None))
            .await
            .expect_err("no table"),
        "TransactWriteItems",
    );
}

// ---------------------------------------------------------------------------------------
// passkeys and second factors

fn passkey(id: &str, sub: &str, sign_count: u32) -> Passkey {
    Passkey {
        id: id.into(),
        sub: sub.into(),
        user_handle: "aGFuZGxl".into(),
        public_key: "pQECAyYgASFYIA".into(),
        alg: -7,
        sign_count,
        name: "Phone".into(),
        created_at: 1000,
        last_used_at: 0,
        backup_eligible: true,
        backed_up: true,
        transports: vec!["internal".into(), "hybrid".into()],
    }
}

fn totp(last_step: u64) -> TotpFactor {
    TotpFactor {
        sealed_secret: SealedSecret {
            key: SealedSecret::LOCAL.into(),
            ciphertext: "c2VhbGVk".into(),
        },
        last_step,
        enrolled_at: 1500,
    }
}

/// `f` as the next version, changed by `edit`.
fn next(f: &Factors, edit: impl FnOnce(&mut Factors)) -> Factors {
    let mut n = f.clone();
    n.version += 1;
    edit(&mut n);
    n
}

async fn factors_are_written_on_their_version_only(s: S) {
    assert_eq!(s.factors("sub-f").await.expect("read"), None);
    let mut f = Factors::new("sub-f");
    f.version = 2;
    assert!(
        !s.put_factors(&f).await.expect("write"),
        "version 2 over nothing"
    );
    f.version = 1;
    f.totp = Some(totp(0));
    assert!(s.put_factors(&f).await.expect("write"), "the first record");
    assert!(
        !s.put_factors(&f).await.expect("write"),
        "version 1 again: another came first"
    );
    assert_eq!(s.factors("sub-f").await.expect("read").as_ref(), Some(&f));

    let second = next(&f, |n| {
        n.totp = Some(totp(55_000_000));
        n.recovery = vec!["ab".repeat(32), "cd".repeat(32)];
    });
    assert!(s.put_factors(&second).await.expect("write"));
    assert_eq!(
        s.factors("sub-f").await.expect("read").as_ref(),
        Some(&second)
    );
    let stale = next(&f, |n| n.totp = Some(totp(55_000_001)));
    assert!(
        !s.put_factors(&stale).await.expect("write"),
        "made from version 1, now at 2"
    );
    assert_eq!(s.factors("sub-f").await.expect("read"), Some(second));
}

async fn concurrent_factor_writes_have_one_winner(s: S) {
    let mut f = Factors::new("sub-race");
    f.version = 1;
    f.totp = Some(totp(100));
    assert!(s.put_factors(&f).await.expect("first"));
    // Sixteen sign-ins with a code of the same step, all made from version 1.
    let tasks: Vec<_> = (0..16u64)
        .map(|i| {
            let (s, f) = (s.clone(), next(&f, |n| n.totp = Some(totp(101 + i))));
            tokio::spawn(async move { s.put_factors(&f).await.expect("write") })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.expect("task"));
    }
    assert_eq!(won, 1, "exactly one write from version 1 wins");
    assert_eq!(
        s.factors("sub-race")
            .await
            .expect("read")
            .map(|f| f.version),
        Some(2)
    );
}

async fn passkeys_are_registered_once_and_removed_with_their_factors(s: S) {
    let mut f = Factors::new("sub-p");
    f.version = 1;
    f.user_handle = "aGFuZGxl".into();
    f.passkeys = vec!["cred-1".into()];
    let p1 = passkey("cred-1", "sub-p", 0);
    assert_eq!(
        s.add_passkey(&f, &p1).await.expect("add"),
        AddPasskey::Added
    );
    assert_eq!(s.passkey("cred-1").await.expect("read"), Some(p1.clone()));

    // The same credential id, for anyone, again: refused, nothing written.
    let mut other = Factors::new("sub-q");
    other.version = 1;
    other.passkeys = vec!["cred-1".into()];
    let taken = s
        .add_passkey(&other, &passkey("cred-1", "sub-q", 0))
        .await
        .expect("add");
    assert_eq!(taken, AddPasskey::IdTaken);
    assert_eq!(s.factors("sub-q").await.expect("read"), None);
    assert_eq!(
        s.passkey("cred-1").await.expect("read").map(|p| p.sub),
        Some("sub-p".into())
    );

    // A second one, from a stale read: refused; from the current one: added.
    let p2 = passkey("cred-2", "sub-p", 0);
    let stale = Factors {
        passkeys: vec!["cred-1".into(), "cred-2".into()],
        ..f.clone()
    };
    assert_eq!(
        s.add_passkey(&stale, &p2).await.expect("add"),
        AddPasskey::Stale
    );
    assert_eq!(
        s.passkey("cred-2").await.expect("read"),
        None,
        "nothing written"
    );
    let two = next(&f, |n| n.passkeys.push("cred-2".into()));
    assert_eq!(
        s.add_passkey(&two, &p2).await.expect("add"),
        AddPasskey::Added
    );
    let ids = vec!["cred-2".to_string(), "missing".into(), "cred-1".into()];
    let listed: Vec<String> = s
        .passkeys(&ids)
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        listed,
        ["cred-2", "cred-1"],
        "in the order asked, missing ones left out"
    );

    // Removal: from a stale read refused; then the passkey and the list change together.
    assert!(!s.remove_passkey(&f, "cred-1").await.expect("remove"));
    let one = next(&two, |n| n.passkeys.retain(|id| id != "cred-1"));
    assert!(s.remove_passkey(&one, "cred-1").await.expect("remove"));
    assert_eq!(s.passkey("cred-1").await.expect("read"), None);
    assert_eq!(
        s.factors("sub-p").await.expect("read").map(|f| f.passkeys),
        Some(vec!["cred-2".into()])
    );
}

async fn a_passkey_counter_moves_once_per_assertion(s: S) {
    let mut f = Factors::new("sub-c");
    f.version = 1;
    f.passkeys = vec!["cred-c".into()];
    assert_eq!(
        s.add_passkey(&f, &passkey("cred-c", "sub-c", 1))
            .await
            .expect("add"),
        AddPasskey::Added
    );
    // Sixteen sign-ins with the same assertion (counter 1 -> 2): one is recorded.
    let tasks: Vec<_> = (0..16i64)
        .map(|i| {
            let s = s.clone();
            let mut used = passkey("cred-c", "sub-c", 2);
            used.last_used_at = 2000 + i;
            tokio::spawn(async move { s.use_passkey(&used, 1).await.expect("use") })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.expect("task"));
    }
    assert_eq!(won, 1);
    let stored = s.passkey("cred-c").await.expect("read").expect("stored");
    assert_eq!(stored.sign_count, 2);
    // Not another person's, not a removed one.
    assert!(
        !s.use_passkey(&passkey("cred-c", "sub-x", 3), 2)
            .await
            .expect("use")
    );
    assert!(
        !s.use_passkey(&passkey("cred-none", "sub-c", 1), 0)
            .await
            .expect("use")
    );
}

async fn factors_go_with_their_person(s: S) {
    s.create_user(&user("sub-g", "gina", None))
        .await
        .expect("create");
    let mut f = Factors::new("sub-g");
    f.version = 1;
    f.totp = Some(totp(0));
    f.passkeys = vec!["cred-g".into()];
    assert_eq!(
        s.add_passkey(&f, &passkey("cred-g", "sub-g", 0))
            .await
            .expect("add"),
        AddPasskey::Added
    );
    assert!(s.delete_user("sub-g").await.expect("delete"));
    assert_eq!(s.factors("sub-g").await.expect("read"), None);
    assert_eq!(s.passkey("cred-g").await.expect("read"), None);
    // A person without factors is deleted as before.
    s.create_user(&user("sub-h", "hana", None))
        .await
        .expect("create");
    assert!(s.delete_user("sub-h").await.expect("delete"));
}

async fn a_passkey_sign_in_writes_only_while_its_conditions_hold(s: S) {
    let now = common::epoch_now();
    s.create_user(&user("sub-k", "kim", None))
        .await
        .expect("create");
    let mut f = Factors::new("sub-k");
    f.version = 1;
    f.passkeys = vec!["cred-k".into()];
    let added = s
        .add_passkey(&f, &passkey("cred-k", "sub-k", 3))
        .await
        .expect("add");
    assert_eq!(added, AddPasskey::Added);
    let session = |id: &str| Session {
        renewed_ms: 0,
        id_hash: id.into(),
        sub: "sub-k".into(),
        auth_time: now,
        expires_at: now + 3600,
        sid: format!("sid-{id}"),
        auth_time_ms: 0,
        idp: None,
        amr: vec!["swk".into(), "user".into()],
    };
    let used = |count: u32| Passkey {
        last_used_at: now,
        ..passkey("cred-k", "sub-k", count)
    };
    let sign_in = |session: &Session, used: &Passkey, previous_count: u32| {
        let (s, session, used) = (s.clone(), session.clone(), used.clone());
        async move {
            let w = SignInWrite {
                counters: vec![],
                session: Some(&session),
                request: None,
                passkey: Some(PasskeyUse {
                    passkey: &used,
                    previous_count,
                    challenge: "",
                }),
                factors: None,
                now,
                now_ms: now * 1000,
            };
            s.signin_write(&w).await.expect("write")
        }
    };
    let first = session("pk-1");
    assert!(sign_in(&first, &used(4), 3).await);
    assert_eq!(s.session("pk-1", now).await.expect("read"), Some(first));
    assert_eq!(
        s.passkey("cred-k")
            .await
            .expect("read")
            .map(|p| p.sign_count),
        Some(4)
    );

    // The same assertion again (read at 3): nothing written, the session included.
    assert!(!sign_in(&session("pk-2"), &used(4), 3).await);
    assert_eq!(s.session("pk-2", now).await.expect("read"), None);

    // A disabled person: nothing.
    let mut kim = s.user("sub-k").await.expect("read").expect("kim");
    kim.disabled = true;
    s.update_user(&kim).await.expect("disable");
    assert!(!sign_in(&session("pk-3"), &used(5), 4).await);
    kim.disabled = false;
    s.update_user(&kim).await.expect("enable");

    // No longer listed among the person's factors: nothing; listed again: signed in.
    let stored = s.factors("sub-k").await.expect("read").expect("factors");
    let unlisted = next(&stored, |n| n.passkeys.clear());
    assert!(s.put_factors(&unlisted).await.expect("write"));
    assert!(!sign_in(&session("pk-4"), &used(5), 4).await);
    assert_eq!(s.session("pk-4", now).await.expect("read"), None);
    let listed = next(&unlisted, |n| n.passkeys = vec!["cred-k".into()]);
    assert!(s.put_factors(&listed).await.expect("write"));
    assert!(sign_in(&session("pk-5"), &used(5), 4).await);
    assert_eq!(
        s.passkey("cred-k")
            .await
            .expect("read")
            .map(|p| p.sign_count),
        Some(5)
    );
}

async fn a_passkey_challenge_signs_in_once(s: S) {
    let now = common::epoch_now();
    s.create_user(&user("sub-z", "zoe", None))
        .await
        .expect("create");
    let mut f = Factors::new("sub-z");
    f.version = 1;
    f.passkeys = vec!["cred-z".into()];
    // A synced passkey: its counter stays 0, so only the challenge stops a replay.
    let added = s
        .add_passkey(&f, &passkey("cred-z", "sub-z", 0))
        .await
        .expect("add");
    assert_eq!(added, AddPasskey::Added);
    let mut pending = auth_request("req-z", now + 600, true);
    pending.passkey_challenge = "Y2gtMQ".into();
    s.put_auth_request(&pending).await.expect("put");
    let signed_in = AuthRequest {
        sub: Some("sub-z".into()),
        passkey_challenge: String::new(),
        ..pending.clone()
    };
    let used = passkey("cred-z", "sub-z", 0);
    let attempt = |id: &'static str| {
        let (s, signed_in, used) = (s.clone(), signed_in.clone(), used.clone());
        async move {
            let session = Session {
                renewed_ms: 0,
                id_hash: id.into(),
                sub: "sub-z".into(),
                auth_time: now,
                expires_at: now + 3600,
                sid: format!("sid-{id}"),
                auth_time_ms: 0,
                idp: None,
                amr: vec!["swk".into()],
            };
            let w = SignInWrite {
                counters: vec![],
                session: Some(&session),
                request: Some(&signed_in),
                passkey: Some(PasskeyUse {
                    passkey: &used,
                    previous_count: 0,
                    challenge: "Y2gtMQ",
                }),
                factors: None,
                now,
                now_ms: now * 1000,
            };
            s.signin_write(&w).await.expect("write")
        }
    };
    assert!(attempt("z-1").await);
    assert!(!attempt("z-2").await, "the challenge is spent");
    assert_eq!(s.session("z-2", now).await.expect("read"), None);
    let stored = s
        .auth_request("req-z", now)
        .await
        .expect("read")
        .expect("request");
    assert_eq!(
        (stored.sub.as_deref(), stored.passkey_challenge.as_str()),
        (Some("sub-z"), "")
    );
}

// ---------------------------------------------------------------------------------------
// TOTP second factor

/// Alice (`sub-t`) with factors at version 1 (a passkey id, no TOTP).
async fn alice_with_factors(s: &S) -> (User, Factors) {
    let alice = user("sub-t", "alice-t", None);
    s.create_user(&alice).await.expect("create");
    let mut f = Factors::new("sub-t");
    f.version = 1;
    f.passkeys = vec!["pk-1".into()];
    assert!(s.put_factors(&f).await.expect("write"));
    (alice, f)
}

async fn totp_enrolment_flags_the_user_in_the_same_write(s: S) {
    let (alice, f) = alice_with_factors(&s).await;
    let enrolled = next(&f, |n| {
        n.totp = Some(totp(7));
        n.recovery = vec!["ab".repeat(32)];
    });
    let stale = next(&f, |n| n.totp = Some(totp(8)));
    assert!(s.put_totp(&enrolled, &alice).await.expect("write"));
    assert!(
        !s.put_totp(&stale, &alice).await.expect("write"),
        "made from version 1, now at 2"
    );
    let read = |s: S| async move {
        let by_name = s
            .user_by_username("alice-t")
            .await
            .expect("read")
            .expect("user");
        let by_sub = s.user("sub-t").await.expect("read").expect("user");
        let q = query("none", "alice-t", vec![], 0);
        let signin = s.signin_read(&q).await.expect("read").user.expect("user");
        (by_name.totp, by_sub.totp, signin.totp)
    };
    assert_eq!(read(s.clone()).await, (true, true, true), "every copy");
    assert_eq!(
        s.factors("sub-t").await.expect("read"),
        Some(enrolled.clone())
    );

    let removed = next(&enrolled, |n| {
        n.totp = None;
        n.recovery = vec![];
    });
    assert!(s.put_totp(&removed, &alice).await.expect("write"));
    assert_eq!(read(s.clone()).await, (false, false, false));
    let f = s.factors("sub-t").await.expect("read").expect("factors");
    assert_eq!(f.passkeys, ["pk-1"], "the rest of the record stays");

    // Nobody to flag: nothing written.
    let ghost = user("sub-ghost", "ghost", None);
    let mut g = Factors::new("sub-ghost");
    g.version = 1;
    g.totp = Some(totp(1));
    assert!(!s.put_totp(&g, &ghost).await.expect("write"));
    assert_eq!(s.factors("sub-ghost").await.expect("read"), None);
}

async fn an_update_of_the_user_keeps_the_totp_flag(s: S) {
    let (alice, f) = alice_with_factors(&s).await;
    assert!(
        s.put_totp(&next(&f, |n| n.totp = Some(totp(1))), &alice)
            .await
            .expect("write")
    );
    // An update made from a read before the enrolment (an administrator's, a seed file's).
    let mut changed = alice.clone();
    changed.claims.insert("nickname".into(), json!("Al"));
    s.update_user(&changed).await.expect("update");
    let now = s
        .user_by_username("alice-t")
        .await
        .expect("read")
        .expect("user");
    assert!(now.totp, "kept");
    assert_eq!(now.claims["nickname"], "Al", "and the update made");
    // Nor can an update set it.
    let f = s.factors("sub-t").await.expect("read").expect("factors");
    assert!(
        s.put_totp(&next(&f, |n| n.totp = None), &alice)
            .await
            .expect("write")
    );
    changed.totp = true;
    s.update_user(&changed).await.expect("update");
    assert!(!s.user("sub-t").await.expect("read").expect("user").totp);
}

async fn a_code_step_reads_the_factors_and_writes_them_on_their_version(s: S) {
    let (alice, f) = alice_with_factors(&s).await;
    let enrolled = next(&f, |n| n.totp = Some(totp(100)));
    assert!(s.put_totp(&enrolled, &alice).await.expect("write"));
    let now = 1_700_000_000;
    let request = auth_request("r-t", now + 60, false);
    s.put_auth_request(&request).await.expect("put");
    let mut q = query("r-t", "alice-t", vec!["acct#t"], now);
    q.factors = Some("sub-t");
    let state = s.signin_read(&q).await.expect("read");
    assert_eq!(state.factors, Some(enrolled.clone()), "in the same read");
    assert!(state.request.is_some() && state.user.is_some());
    q.factors = None;
    assert_eq!(
        s.signin_read(&q).await.expect("read").factors,
        None,
        "only if asked"
    );

    let session = |id: &str| -> Session {
        serde_json::from_value(json!({
            "id_hash": id, "sub": "sub-t", "auth_time": now, "expires_at": now + 100,
            "sid": id, "amr": ["pwd", "otp", "mfa"],
        }))
        .expect("session")
    };
    // Two sign-ins with a code of step 101, both made from the factors as read.
    let used = next(&enrolled, |n| n.totp = Some(totp(101)));
    let (first, second) = (session("s-1"), session("s-2"));
    let write = |sess| SignInWrite {
        counters: vec![CounterWrite::Hold(guard("acct#t", None, 5, true))],
        session: Some(sess),
        request: Some(&request),
        passkey: None,
        factors: Some(&used),
        now,
        now_ms: now * 1000,
    };
    assert!(s.signin_write(&write(&first)).await.expect("write"));
    assert!(
        !s.signin_write(&write(&second)).await.expect("write"),
        "the code was used meanwhile"
    );
    assert!(s.session("s-1", now).await.expect("read").is_some());
    assert_eq!(
        s.session("s-2", now).await.expect("read"),
        None,
        "nothing written"
    );
    assert_eq!(s.factors("sub-t").await.expect("read"), Some(used));
}
