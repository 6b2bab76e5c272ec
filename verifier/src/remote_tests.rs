//! [`Verifier`]'s key reads against an issuer served here over loopback HTTP: read once and
//! kept, read again for an unknown kid at most every `min_refresh`, kept in use while the
//! issuer cannot be read, and never taken from a discovery document of another issuer.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::{
    Refusal, Rules, Verifier,
    testkit::{AUD, NOW, Signer},
};

#[derive(Default)]
struct State {
    /// The `issuer` discovery names (the server's own URL unless changed).
    named_issuer: Mutex<String>,
    /// The JWK Set served; None answers 500.
    jwks: Mutex<Option<String>>,
    /// The paths asked for, in order.
    hits: Mutex<Vec<String>>,
}

struct Issuer {
    url: String,
    state: Arc<State>,
}

impl Issuer {
    async fn start() -> Issuer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(State::default());
        *state.named_issuer.lock().expect("lock") = url.clone();
        let (s, base) = (state.clone(), url.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = request.split(' ').nth(1).unwrap_or("").to_string();
                s.hits.lock().expect("lock").push(path.clone());
                let (status, body) = match path.as_str() {
                    "/.well-known/openid-configuration" => {
                        let issuer = s.named_issuer.lock().expect("lock").clone();
                        let doc = serde_json::json!({"issuer": issuer, "jwks_uri": format!("{base}/jwks")});
                        (200, doc.to_string())
                    }
                    "/jwks" => match s.jwks.lock().expect("lock").clone() {
                        Some(set) => (200, set),
                        None => (500, "{}".into()),
                    },
                    _ => (404, "{}".into()),
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            }
        });
        Issuer { url, state }
    }

    fn serve(&self, keys: Option<&Signer>) {
        *self.state.jwks.lock().expect("lock") = keys.map(|k| k.jwks().to_string());
    }

    fn reads(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

#[tokio::test]
async fn keys_are_read_once_and_kept() {
    let issuer = Issuer::start().await;
    let k1 = Signer::new(&issuer.url, "k1");
    issuer.serve(Some(&k1));
    let v = Verifier::new(Rules::new(issuer.url.clone(), AUD)).expect("verifier");
    for _ in 0..5 {
        v.verify_at(&k1.token(|_, _| {}), NOW).await.expect("valid");
    }
    assert_eq!(
        (
            issuer.reads("/.well-known/openid-configuration"),
            issuer.reads("/jwks")
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn an_unknown_kid_reads_the_set_again_at_most_every_min_refresh() {
    let issuer = Issuer::start().await;
    let (k1, k2) = (
        Signer::new(&issuer.url, "k1"),
        Signer::new(&issuer.url, "k2"),
    );
    issuer.serve(Some(&k1));
    let min_refresh = Duration::from_millis(300);
    let v = Verifier::new(Rules::new(issuer.url.clone(), AUD))
        .expect("verifier")
        .min_refresh(min_refresh);
    v.verify_at(&k1.token(|_, _| {}), NOW).await.expect("k1");
    issuer.serve(Some(&k2));
    // Read just now: a new kid waits for min_refresh.
    assert_eq!(
        v.verify_at(&k2.token(|_, _| {}), NOW).await.err(),
        Some(Refusal::UnknownKey)
    );
    assert_eq!(issuer.reads("/jwks"), 1);
    tokio::time::sleep(min_refresh).await;
    v.verify_at(&k2.token(|_, _| {}), NOW)
        .await
        .expect("k2, after a re-read");
    assert_eq!(issuer.reads("/jwks"), 2);
    // A stream of made-up kids right after: no read at all.
    for i in 0..20 {
        let forged = k2.token(|h, _| h["kid"] = serde_json::json!(format!("made-up-{i}")));
        assert_eq!(
            v.verify_at(&forged, NOW).await.err(),
            Some(Refusal::UnknownKey)
        );
    }
    assert_eq!(issuer.reads("/jwks"), 2);
}

#[tokio::test]
async fn an_unreachable_issuer_leaves_the_set_read_last_in_use() {
    let issuer = Issuer::start().await;
    let k1 = Signer::new(&issuer.url, "k1");
    issuer.serve(Some(&k1));
    let min_refresh = Duration::from_millis(200);
    let v = Verifier::new(Rules::new(issuer.url.clone(), AUD))
        .expect("verifier")
        .max_age(Duration::ZERO)
        .min_refresh(min_refresh);
    v.verify_at(&k1.token(|_, _| {}), NOW).await.expect("k1");
    issuer.serve(None);
    tokio::time::sleep(min_refresh).await;
    v.verify_at(&k1.token(|_, _| {}), NOW)
        .await
        .expect("the set read last, though stale");
    assert_eq!(issuer.reads("/jwks"), 2, "one failed read");
    v.verify_at(&k1.token(|_, _| {}), NOW)
        .await
        .expect("again, without a read");
    assert_eq!(
        issuer.reads("/jwks"),
        2,
        "a failed read is not tried again at once"
    );
}

#[tokio::test]
async fn no_keys_yet_and_no_issuer_is_a_retryable_refusal() {
    let issuer = Issuer::start().await;
    let k1 = Signer::new(&issuer.url, "k1");
    let v = Verifier::new(Rules::new(issuer.url.clone(), AUD)).expect("verifier");
    for _ in 0..3 {
        let e = v
            .verify_at(&k1.token(|_, _| {}), NOW)
            .await
            .expect_err("refused");
        assert!(matches!(e, Refusal::KeysUnavailable(_)), "{e:?}");
        assert_eq!((e.status(), e.error_code()), (503, None));
    }
    assert_eq!(
        issuer.reads("/jwks"),
        1,
        "one read per min_refresh, not one per request"
    );
}

#[tokio::test]
async fn keys_named_by_another_issuers_discovery_are_not_read() {
    let issuer = Issuer::start().await;
    let k1 = Signer::new(&issuer.url, "k1");
    issuer.serve(Some(&k1));
    *issuer.state.named_issuer.lock().expect("lock") = "https://evil.example".into();
    let v = Verifier::new(Rules::new(issuer.url.clone(), AUD)).expect("verifier");
    let e = v.verify_at(&k1.token(|_, _| {}), NOW).await.err();
    assert_eq!(
        e,
        Some(Refusal::KeysUnavailable(
            "discovery names another issuer".into()
        ))
    );
    assert_eq!(issuer.reads("/jwks"), 0);
}
