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
    AuthCode, AuthMethod, AuthRequest, AuthRequestStore, Client, CodeStore, Consent, ConsentStore,
    Consume, Minted, ResponseMode, RevocationStore, Session, SessionStore, Store, StoreError, User,
    UserStore,
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
    ddb::create_table(&client, &table)
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
    revocations_expire,
    consents_round_trip,
);

// ---------------------------------------------------------------------------------------
// fixtures

fn client(id: &str, name: &str) -> Client {
    Client {
        client_id: id.into(),
        client_name: name.into(),
        secret_hash: Some("c2VjcmV0LWhhc2g".into()),
        auth_method: AuthMethod::ClientSecretBasic,
        redirect_uris: vec![
            "https://rp.example/cb".into(),
            "https://rp.example/cb2".into(),
        ],
        allowed_scopes: vec!["openid".into(), "email".into()],
        grant_types: vec!["authorization_code".into()],
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
    }
}

fn code(hash: &str, expires_at: i64) -> AuthCode {
    AuthCode {
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
    }
}

fn minted(jti: &str, now: i64) -> Minted {
    Minted {
        access_jti: jti.into(),
        access_expires_at: now + 3600,
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
}

async fn users_round_trip(s: S) {
    let a = user("sub-a", "alice", Some("alice@example.com"));
    s.create_user(&a).await.expect("create");
    assert_eq!(s.user("sub-a").await.expect("read"), Some(a.clone()));
    assert_eq!(s.user_by_username("alice").await.expect("read"), Some(a));
    let b = user("sub-b", "bob", None);
    s.create_user(&b).await.expect("create without email");
    assert_eq!(s.user_by_username("bob").await.expect("read"), Some(b));
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
        s.delete_auth_request(id).await.expect("delete");
        assert_eq!(s.auth_request(id, now).await.expect("read"), None);
    }
    s.delete_auth_request("never-existed")
        .await
        .expect("deleting nothing is fine");
}

async fn sessions_expire(s: S) {
    let now = common::epoch_now();
    let sess = Session {
        id_hash: "h1".into(),
        sub: "sub-a".into(),
        auth_time: now,
        expires_at: now + 3600,
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
    assert_eq!(
        s.consume_code("code-1", &m, now).await.expect("consume"),
        Consume::Consumed
    );
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
    assert_eq!(
        s.consume_code("code-3", &first, now)
            .await
            .expect("consume"),
        Consume::Consumed
    );
    // The code is still readable, now carrying what it minted.
    let stored = s.code("code-3", now).await.expect("read").expect("present");
    assert_eq!(stored.minted, Some(first.clone()));
    // A replay learns what the first redemption minted, so it can be revoked ...
    assert_eq!(
        s.consume_code("code-3", &minted("jti-second", now), now + 1)
            .await
            .expect("replay"),
        Consume::AlreadyConsumed(Some(first.clone()))
    );
    // ... even with the very same `minted` (a second call, not a retry of the first) ...
    assert_eq!(
        s.consume_code("code-3", &first, now + 1)
            .await
            .expect("replay"),
        Consume::AlreadyConsumed(Some(first.clone()))
    );
    // ... and even after the code expired.
    assert_eq!(
        s.consume_code("code-3", &minted("jti-late", now), now + 120)
            .await
            .expect("late replay"),
        Consume::AlreadyConsumed(Some(first))
    );
    assert_eq!(s.code("code-3", now + 120).await.expect("read"), None);
    assert_eq!(
        s.consume_code("no-such-code", &minted("x", now), now)
            .await
            .expect("consume"),
        Consume::Missing
    );
}

async fn consume_after_expiry_is_missing(s: S) {
    let now = common::epoch_now();
    s.put_code(&code("code-4", now + 60)).await.expect("put");
    assert_eq!(
        s.consume_code("code-4", &minted("jti", now), now + 60)
            .await
            .expect("consume"),
        Consume::Missing
    );
    assert_eq!(
        s.consume_code("code-4", &minted("jti", now), now + 3000)
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
                (m.clone(), s.consume_code("code-5", &m, now).await)
            })
        })
        .collect();
    let mut consumed = Vec::new();
    let mut replays = Vec::new();
    for t in tasks {
        let (m, outcome) = t.await.expect("task");
        match outcome.expect("consume") {
            Consume::Consumed => consumed.push(m),
            Consume::AlreadyConsumed(winner) => replays.push(winner),
            Consume::Missing => panic!("a live code was reported missing"),
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

async fn consents_round_trip(s: S) {
    assert_eq!(s.consent("sub-1", "rp").await.expect("read"), None);
    let c = Consent {
        sub: "sub-1".into(),
        client_id: "rp".into(),
        scopes: vec!["openid".into(), "email".into()],
        granted_at: 10,
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
        scopes: vec!["openid".into(), "email".into(), "phone".into()],
        granted_at: 20,
        ..c
    };
    s.put_consent(&wider).await.expect("replace");
    assert_eq!(s.consent("sub-1", "rp").await.expect("read"), Some(wider));
    s.delete_consent("sub-1", "rp").await.expect("delete");
    assert_eq!(s.consent("sub-1", "rp").await.expect("read"), None);
}

// ---------------------------------------------------------------------------------------
// DynamoDB only: the table and the item layout the contract relies on

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
    ddb::create_table(&client, &table)
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
    let claim = raw_item(&client, &table, "username#alice").await;
    assert_eq!(claim.get("sub"), Some(&AttributeValue::S("sub-a".into())));
    let claim = raw_item(&client, &table, "email#alice@example.com").await;
    assert_eq!(claim.get("sub"), Some(&AttributeValue::S("sub-a".into())));

    s.put_session(&Session {
        id_hash: "h".into(),
        sub: "sub-a".into(),
        auth_time: now,
        expires_at: now + 10,
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
    assert_eq!(num(&c, "ttl"), Some(now + 30 + ddb::CODE_REPLAY_WINDOW));
    assert!(!c.contains_key("minted"));

    s.revoke("j", now + 40).await.expect("revoke");
    assert_eq!(
        num(&raw_item(&client, &table, "revoked#j").await, "ttl"),
        Some(now + 40)
    );
}

#[tokio::test]
async fn dynamo_failures_are_unavailable_without_item_contents() {
    let Some(config) = common::aws("dynamo_failures_are_unavailable_without_item_contents").await
    else {
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
    let StoreError::Unavailable(msg) = err else {
        panic!("expected Unavailable, got {err:?}");
    };
    for leak in ["secret", "argon2"] {
        assert!(!msg.contains(leak), "message leaks {leak}: {msg}");
    }
    let err = s
        .session("secret-hash", common::epoch_now())
        .await
        .expect_err("no table");
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("ResourceNotFoundException") && !m.contains("secret")),
        "{err:?}"
    );
}
