//! The library over real HTTP: [`HttpFetch`] against an in-process fake upstream on loopback.
use std::time::Duration;

use serde_json::{Value, json};

use super::error::{FetchError, Step, UpstreamError};
use super::fetch::{Credentials, Fetch, HttpFetch, MAX_BODY, USER_AGENT, decode_basic};
use super::testkit::{CLIENT, Canned, FakeServer, NONCE, TestKey, discovery_doc, jwks};
use super::{
    ClientAuth, ClientCredentials, Expect, Metadata, UpstreamCache, discover, exchange_code,
    userinfo,
};

const SECRET: &str = "s3cr:et %+";

fn http() -> HttpFetch {
    HttpFetch::new().expect("client")
}

/// A fake upstream whose issuer is its own loopback address, with its discovery document.
async fn upstream() -> (FakeServer, Metadata) {
    let s = FakeServer::start().await;
    let doc = Value::Object(discovery_doc(&s.base, &s.base));
    s.route("/.well-known/openid-configuration", Canned::json(200, &doc));
    let m = discover(&http(), &s.base).await.expect("discovery");
    (s, m)
}

fn client(auth: ClientAuth<'static>) -> ClientCredentials<'static> {
    ClientCredentials {
        client_id: CLIENT,
        auth,
    }
}

async fn exchange(
    m: &Metadata,
    auth: ClientAuth<'static>,
) -> Result<super::TokenResponse, UpstreamError> {
    exchange_code(
        &http(),
        m,
        &client(auth),
        "the-code",
        "https://op.example/cb",
        "ver",
    )
    .await
}

/// The token request the fake upstream saw, and its form.
fn token_request(s: &FakeServer) -> (super::testkit::Seen, Vec<(String, String)>) {
    let req = s
        .seen()
        .into_iter()
        .find(|r| r.path == "/token")
        .expect("token request");
    let form = url::form_urlencoded::parse(req.body.as_bytes())
        .into_owned()
        .collect();
    (req, form)
}

fn tokens(id_token: &str) -> Value {
    json!({"access_token": "at-1", "token_type": "Bearer", "id_token": id_token, "expires_in": 300})
}

#[tokio::test]
async fn discovery_over_http_on_loopback() {
    let (s, m) = upstream().await;
    assert_eq!(m.issuer, s.base);
    assert_eq!(m.token_endpoint.as_str(), format!("{}/token", s.base));
    let seen = s.seen();
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].headers.get("user-agent").map(String::as_str),
        Some(USER_AGENT)
    );
    assert_eq!(
        seen[0].headers.get("accept").map(String::as_str),
        Some("application/json")
    );
}

#[tokio::test]
async fn a_discovery_redirect_is_not_followed() {
    let s = FakeServer::start().await;
    let mut moved = Canned::text(302, "");
    moved
        .headers
        .push(("location".into(), format!("{}/elsewhere", s.base)));
    s.route("/.well-known/openid-configuration", moved);
    let e = discover(&http(), &s.base).await.expect_err("redirect");
    assert_eq!(
        e,
        UpstreamError::Status {
            step: Step::Discovery,
            status: 302
        }
    );
    assert_eq!(s.hits("/elsewhere"), 0);
}

#[tokio::test]
async fn discovery_errors_are_typed() {
    let s = FakeServer::start().await;
    s.route(
        "/.well-known/openid-configuration",
        Canned::text(200, "<html>hi</html>"),
    );
    let e = discover(&http(), &s.base).await.expect_err("html");
    assert_eq!(
        e,
        UpstreamError::NotJson {
            step: Step::Discovery
        }
    );
    s.route(
        "/.well-known/openid-configuration",
        Canned::text(503, "down"),
    );
    let e = discover(&http(), &s.base).await.expect_err("503");
    assert_eq!(
        e,
        UpstreamError::Status {
            step: Step::Discovery,
            status: 503
        }
    );
    // A document for another issuer.
    let doc = Value::Object(discovery_doc("https://idp.example", &s.base));
    s.route("/.well-known/openid-configuration", Canned::json(200, &doc));
    assert_eq!(
        discover(&http(), &s.base).await.expect_err("issuer").code(),
        "bad_metadata"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_typed() {
    let port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        l.local_addr().expect("addr").port()
    };
    let e = discover(&http(), &format!("http://127.0.0.1:{port}"))
        .await
        .expect_err("refused");
    let UpstreamError::Fetch {
        step: Step::Discovery,
        error: FetchError::Unreachable(why),
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(why.to_lowercase().contains("refused"), "{why}");
    assert_eq!(e.code(), "unreachable");
}

#[tokio::test]
async fn https_speaks_tls_and_a_handshake_failure_is_unreachable() {
    use tokio::io::AsyncWriteExt;
    // A plain HTTP server that answers at once: the client's TLS (rustls on aws-lc-rs) sees
    // no ServerHello but a bad record.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("https://{}", l.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let e = discover(&http(), &base).await.expect_err("no TLS there");
    let UpstreamError::Fetch {
        error: FetchError::Unreachable(why),
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(
        why.contains("record") || why.contains("TLS") || why.contains("message"),
        "{e}"
    );
}

#[tokio::test]
async fn a_slow_upstream_times_out() {
    let (s, m) = upstream().await;
    let mut slow = Canned::json(200, &tokens("x"));
    slow.delay = Duration::from_secs(3);
    s.route("/token", slow);
    let quick = HttpFetch::with_timeouts(Duration::from_secs(1), Duration::from_millis(300))
        .expect("client");
    let started = std::time::Instant::now();
    let e = exchange_code(
        &quick,
        &m,
        &client(ClientAuth::SecretBasic(SECRET)),
        "c",
        "https://op.example/cb",
        "v",
    )
    .await
    .expect_err("timeout");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(
            e,
            UpstreamError::Fetch {
                step: Step::Token,
                error: FetchError::Timeout,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "timeout");
}

#[tokio::test]
async fn an_oversized_answer_is_refused_with_or_without_a_length() {
    let (s, m) = upstream().await;
    let big = "x".repeat(MAX_BODY + 1);
    for close_delimited in [false, true] {
        let mut c = Canned::text(200, &big);
        c.close_delimited = close_delimited;
        s.route("/jwks", c);
        let e = http().get(&m.jwks_uri, Credentials::None).await;
        assert_eq!(
            e,
            Err(FetchError::TooLarge(MAX_BODY)),
            "close-delimited: {close_delimited}"
        );
    }
    // Exactly the cap is fine.
    s.route("/jwks", Canned::text(200, &"x".repeat(MAX_BODY)));
    let ok = http()
        .get(&m.jwks_uri, Credentials::None)
        .await
        .expect("at the cap");
    assert_eq!(ok.body.len(), MAX_BODY);
}

#[tokio::test]
async fn the_code_exchange_with_client_secret_basic() {
    let (s, m) = upstream().await;
    s.route("/token", Canned::json(200, &tokens("an.id.token")));
    let t = exchange(&m, ClientAuth::SecretBasic(SECRET))
        .await
        .expect("tokens");
    assert_eq!(
        (t.id_token.as_str(), t.access_token.as_str()),
        ("an.id.token", "at-1")
    );
    assert_eq!(t.expires_in, Some(300));
    let req = s
        .seen()
        .into_iter()
        .find(|r| r.path == "/token")
        .expect("token request");
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.headers.get("content-type").map(String::as_str),
        Some("application/x-www-form-urlencoded")
    );
    let auth = req.headers.get("authorization").expect("basic");
    assert_eq!(decode_basic(auth), Some((CLIENT.into(), SECRET.into())));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(req.body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("grant_type"), Some("authorization_code"));
    assert_eq!(get("code"), Some("the-code"));
    assert_eq!(get("redirect_uri"), Some("https://op.example/cb"));
    assert_eq!(get("code_verifier"), Some("ver"));
    assert_eq!(get("client_secret"), None);
    // The tokens stay out of Debug.
    assert!(!format!("{t:?}").contains("an.id.token"));
}

#[tokio::test]
async fn the_code_exchange_with_client_secret_post() {
    let (s, m) = upstream().await;
    s.route("/token", Canned::json(200, &tokens("an.id.token")));
    exchange(&m, ClientAuth::SecretPost(SECRET))
        .await
        .expect("tokens");
    let (req, form) = token_request(&s);
    assert!(!req.headers.contains_key("authorization"));
    assert!(form.contains(&("client_id".into(), CLIENT.into())));
    assert!(form.contains(&("client_secret".into(), SECRET.into())));
}

#[tokio::test]
async fn the_code_exchange_with_private_key_jwt() {
    let (s, m) = upstream().await;
    s.route("/token", Canned::json(200, &tokens("an.id.token")));
    exchange(&m, ClientAuth::PrivateKeyJwt("a.signed.assertion"))
        .await
        .expect("tokens");
    let (req, form) = token_request(&s);
    assert!(!req.headers.contains_key("authorization"));
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("client_id"), Some(CLIENT));
    assert_eq!(
        get("client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(get("client_assertion"), Some("a.signed.assertion"));
    assert_eq!(get("client_secret"), None);
}

#[tokio::test]
async fn token_endpoint_failures_are_typed() {
    let (s, m) = upstream().await;
    let basic = ClientAuth::SecretBasic(SECRET);
    let refused = json!({"error": "invalid_grant", "error_description": "code expired"});
    s.route("/token", Canned::json(400, &refused));
    let e = exchange(&m, basic).await.expect_err("400");
    assert_eq!(
        e.to_string(),
        "the upstream's token endpoint refused the code: invalid_grant (code expired)"
    );
    s.route("/token", Canned::text(500, "Internal Server Error"));
    let e = exchange(&m, basic).await.expect_err("500");
    assert_eq!(
        e,
        UpstreamError::Status {
            step: Step::Token,
            status: 500
        }
    );
    s.route(
        "/token",
        Canned::text(200, "access_token=x&token_type=bearer"),
    );
    let e = exchange(&m, basic).await.expect_err("not json");
    assert_eq!(e, UpstreamError::NotJson { step: Step::Token });
    let mut moved = Canned::text(307, "");
    moved
        .headers
        .push(("location".into(), format!("{}/token2", s.base)));
    s.route("/token", moved);
    let e = exchange(&m, basic).await.expect_err("redirect");
    assert_eq!(
        e,
        UpstreamError::Status {
            step: Step::Token,
            status: 307
        }
    );
    assert_eq!(s.hits("/token2"), 0);
    for (body, why) in [
        (
            json!({"access_token": "a", "token_type": "Bearer"}),
            "it has no id_token",
        ),
        (
            json!({"id_token": "i", "token_type": "Bearer"}),
            "it has no access_token",
        ),
        (
            json!({"id_token": "i", "access_token": "a", "token_type": "MAC"}),
            "its token_type is not Bearer",
        ),
    ] {
        s.route("/token", Canned::json(200, &body));
        assert_eq!(
            exchange(&m, basic).await.expect_err(why),
            UpstreamError::TokenResponse(why)
        );
    }
}

#[tokio::test]
async fn userinfo_sends_the_access_token_and_checks_the_subject() {
    let (s, m) = upstream().await;
    s.route(
        "/userinfo",
        Canned::json(200, &json!({"sub": "u1", "name": "Ada"})),
    );
    let claims = userinfo(&http(), &m, "at-1", "u1").await.expect("userinfo");
    assert_eq!(claims["name"], "Ada");
    let req = s
        .seen()
        .into_iter()
        .find(|r| r.path == "/userinfo")
        .expect("request");
    assert_eq!(
        req.headers.get("authorization").map(String::as_str),
        Some("Bearer at-1")
    );
    let e = userinfo(&http(), &m, "at-1", "someone-else")
        .await
        .expect_err("sub");
    assert_eq!(e.code(), "bad_userinfo");
    s.route(
        "/userinfo",
        Canned::text(200, "eyJhbGciOiJSUzI1NiJ9.e30.sig"),
    );
    let e = userinfo(&http(), &m, "at-1", "u1")
        .await
        .expect_err("signed userinfo");
    assert_eq!(
        e,
        UpstreamError::NotJson {
            step: Step::Userinfo
        }
    );
    s.route("/userinfo", Canned::text(401, ""));
    let e = userinfo(&http(), &m, "at-1", "u1").await.expect_err("401");
    assert_eq!(
        e,
        UpstreamError::Status {
            step: Step::Userinfo,
            status: 401
        }
    );
}

#[tokio::test]
async fn a_whole_sign_in_through_the_cache() {
    let s = FakeServer::start().await;
    let doc = Value::Object(discovery_doc(&s.base, &s.base));
    s.route("/.well-known/openid-configuration", Canned::json(200, &doc));
    let key = TestKey::rs256("k1");
    s.route("/jwks", Canned::json(200, &jwks(&[&key])));
    let now = super::testkit::NOW;
    let id_token = key.sign(&json!({
        "iss": s.base, "sub": "u1", "aud": CLIENT, "exp": now + 60, "iat": now, "nonce": NONCE,
    }));
    s.route("/token", Canned::json(200, &tokens(&id_token)));
    let (fetch, cache) = (http(), UpstreamCache::new());
    let m = cache
        .metadata(&fetch, &s.base, now)
        .await
        .expect("metadata");
    let t = exchange_code(
        &fetch,
        &m,
        &client(ClientAuth::SecretBasic(SECRET)),
        "c",
        "https://op.example/cb",
        "v",
    )
    .await
    .expect("tokens");
    let claims = cache
        .verify_id_token(
            &fetch,
            &m,
            &t.id_token,
            &Expect::new(&m, CLIENT, NONCE, now),
        )
        .await
        .expect("verified");
    assert_eq!(
        (claims.issuer.as_str(), claims.subject.as_str()),
        (s.base.as_str(), "u1")
    );
    // A second sign-in in the same container fetches neither document again.
    cache
        .metadata(&fetch, &s.base, now + 5)
        .await
        .expect("cached");
    cache.jwks(&fetch, &m, now + 5).await.expect("cached");
    assert_eq!(s.hits("/.well-known/openid-configuration"), 1);
    assert_eq!(s.hits("/jwks"), 1);
}
