//! Test fixtures: upstream signing keys, tokens, discovery documents and a fake HTTP server.
#![allow(clippy::expect_used)]
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair},
};
use serde_json::{Map, Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use super::metadata::Metadata;
use crate::crypto::b64url;
use crate::jose::{Alg, PublicKey};

pub const ISSUER: &str = "https://idp.example";
pub const CLIENT: &str = "our-client";
pub const NONCE: &str = "n-0S6_WzA2Mj";
pub const NOW: i64 = 1_700_000_000;

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// An upstream's signing key.
pub struct TestKey {
    pair: Pair,
    pub alg: &'static str,
    pub kid: String,
    /// Its public JWK (with `kid`, `alg`, `use`).
    pub jwk: Value,
}

impl TestKey {
    pub fn es256(kid: &str) -> Self {
        let pair =
            EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("ec key");
        let spki = pair.public_key().as_der().expect("spki").as_ref().to_vec();
        Self::new(Pair::Ec(pair), &spki, Alg::ES256, kid)
    }

    pub fn rs256(kid: &str) -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa key");
        let spki = pair.public_key().as_der().expect("spki").as_ref().to_vec();
        Self::new(Pair::Rsa(pair), &spki, Alg::RS256, kid)
    }

    fn new(pair: Pair, spki: &[u8], alg: Alg, kid: &str) -> Self {
        let mut jwk = PublicKey::from_spki_der(spki, alg).expect("jwk").jwk;
        jwk["kid"] = json!(kid);
        TestKey {
            pair,
            alg: alg.as_str(),
            kid: kid.into(),
            jwk,
        }
    }

    /// A compact JWS of `claims` with this key's `alg` and `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg, "kid": self.kid, "typ": "JWT"}),
            claims,
        )
    }

    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", part(header), part(claims));
        let rng = SystemRandom::new();
        let sig = match &self.pair {
            Pair::Ec(k) => k
                .sign(&rng, input.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .expect("sign");
                sig
            }
        };
        format!("{input}.{}", b64url(&sig))
    }
}

pub fn part(v: &Value) -> String {
    b64url(&serde_json::to_vec(v).expect("json"))
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// Claims that pass every check against [`ISSUER`], [`CLIENT`], [`NONCE`] at [`NOW`].
pub fn good_claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "upstream-user-1", "aud": CLIENT,
        "exp": NOW + 300, "iat": NOW - 5, "nonce": NONCE,
        "email": "ada@example.com", "email_verified": true,
    })
}

/// A discovery document for `issuer`, endpoints under `base` (the fake server's address).
pub fn discovery_doc(issuer: &str, base: &str) -> Map<String, Value> {
    let v = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "authorization_response_iss_parameter_supported": true,
    });
    v.as_object().cloned().unwrap_or_default()
}

pub fn metadata(issuer: &str) -> Metadata {
    Metadata::from_document(issuer, &discovery_doc(issuer, issuer)).expect("metadata")
}

/// A canned HTTP answer.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Send no Content-Length: the body ends when the connection closes.
    pub close_delimited: bool,
}

impl Canned {
    pub fn json(status: u16, body: &Value) -> Self {
        Canned {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("json"),
            delay: Duration::ZERO,
            close_delimited: false,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Canned {
            status,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
            close_delimited: false,
        }
    }
}

/// A request the fake server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// An HTTP/1.1 server on loopback answering each path with its canned response (404 for
/// others), one request per connection, recording what it was sent.
pub struct FakeServer {
    pub base: String,
    routes: Arc<Mutex<HashMap<String, Canned>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let routes: Arc<Mutex<HashMap<String, Canned>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (r, s) = (routes.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (r, s) = (r.clone(), s.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut conn).await else {
                        return;
                    };
                    let canned = r.lock().expect("routes").get(&req.path).cloned();
                    s.lock().expect("seen").push(req);
                    let canned = canned.unwrap_or_else(|| Canned::text(404, "not found"));
                    tokio::time::sleep(canned.delay).await;
                    let _ = conn.write_all(&render(&canned)).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        FakeServer { base, routes, seen }
    }

    pub fn route(&self, path: &str, canned: Canned) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.into(), canned);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }

    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let path = target.split('?').next().unwrap_or("").to_owned();
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

fn render(c: &Canned) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} X\r\nconnection: close\r\n", c.status);
    for (k, v) in &c.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !c.close_delimited {
        out.push_str(&format!("content-length: {}\r\n", c.body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&c.body);
    bytes
}
