//! A scripted upstream OpenID provider for the federation tests: an HTTP/1.1 server on
//! loopback serving a discovery document, a key set with one ES256 key, and a token endpoint
//! whose answer the test sets before each callback. It has no sign-in page: a test reads
//! `state` and `nonce` from the authorization URL it is sent to, crafts the ID token (good, or
//! wrong one way) and comes back to the provider's callback itself.
#![allow(clippy::expect_used)]
use std::sync::{Arc, Mutex};

use aws_lc_rs::{
    encoding::AsDer,
    hmac,
    rand::SystemRandom,
    signature::{self, EcdsaKeyPair, KeyPair},
};
use serde_json::{Value, json};
use shared::{crypto::b64url, jose::PublicKey, signer::Alg};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// An ES256 key: the upstream's own, or one it never published.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pub kid: String,
    /// Its public JWK (with `kid`).
    pub jwk: Value,
}

impl SigningKey {
    pub fn generate(kid: &str) -> Self {
        let pair =
            EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("ec key");
        let spki = pair.public_key().as_der().expect("spki");
        let mut jwk = PublicKey::from_spki_der(spki.as_ref(), Alg::ES256)
            .expect("jwk")
            .jwk;
        jwk["kid"] = json!(kid);
        SigningKey {
            pair,
            kid: kid.into(),
            jwk,
        }
    }

    /// A compact JWS of `claims`, ES256 under this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let input = signing_input(
            &json!({"alg": "ES256", "kid": self.kid, "typ": "JWT"}),
            claims,
        );
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", b64url(sig.as_ref()))
    }
}

/// A JWS with `alg: none` and an empty signature (RFC 7519 §6.1, an unsecured JWT).
pub fn unsecured(claims: &Value) -> String {
    format!(
        "{}.",
        signing_input(&json!({"alg": "none", "typ": "JWT"}), claims)
    )
}

/// An HS256 JWS keyed with `secret` (the classic attack: the client secret both sides know),
/// under `kid`.
pub fn hs256(secret: &str, kid: &str, claims: &Value) -> String {
    let input = signing_input(&json!({"alg": "HS256", "kid": kid, "typ": "JWT"}), claims);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64url(tag.as_ref()))
}

fn signing_input(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| b64url(&serde_json::to_vec(v).expect("json"));
    format!("{}.{}", part(header), part(claims))
}

/// What the token endpoint answers: a status, a content type and a body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Holds the connection this long before answering (a hung upstream).
    pub stall: Option<std::time::Duration>,
}

impl Answer {
    /// RFC 6749 §5.1 / OIDC Core §3.1.3.3: a successful token response carrying `id_token`.
    pub fn tokens(id_token: &str) -> Self {
        Self::json(
            200,
            &json!({
                "access_token": "upstream-access-token", "token_type": "Bearer",
                "expires_in": 300, "id_token": id_token,
            }),
        )
    }

    pub fn json(status: u16, body: &Value) -> Self {
        Answer {
            status,
            content_type: "application/json",
            body: body.to_string(),
            stall: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Answer {
            status,
            content_type: "text/html",
            body: body.into(),
            stall: None,
        }
    }
}

/// The fake upstream. Dropping it does not stop the server: the test process ends it.
pub struct FakeUpstream {
    /// `http://127.0.0.1:<port>`, the issuer of its discovery document.
    pub issuer: String,
    /// The one key its key set publishes.
    pub key: Arc<SigningKey>,
    token: Arc<Mutex<Answer>>,
    /// The path of every request, in order.
    hits: Arc<Mutex<Vec<String>>>,
}

impl FakeUpstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let up = FakeUpstream {
            issuer: issuer.clone(),
            key: Arc::new(SigningKey::generate("up-key-1")),
            token: Arc::new(Mutex::new(Answer::text(500, "no answer scripted"))),
            hits: Arc::default(),
        };
        let (key, token, hits) = (up.key.clone(), up.token.clone(), up.hits.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (issuer, key, token, hits) =
                    (issuer.clone(), key.clone(), token.clone(), hits.clone());
                tokio::spawn(async move {
                    let Some(path) = read_request(&mut conn).await else {
                        return;
                    };
                    hits.lock().expect("hits").push(path.clone());
                    let answer = match path.as_str() {
                        "/.well-known/openid-configuration" => {
                            Answer::json(200, &discovery(&issuer))
                        }
                        "/jwks" => Answer::json(200, &json!({"keys": [key.jwk.clone()]})),
                        "/token" => token.lock().expect("token").clone(),
                        _ => Answer::text(404, "not found"),
                    };
                    if let Some(d) = answer.stall {
                        tokio::time::sleep(d).await;
                    }
                    let _ = conn.write_all(&render(&answer)).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        up
    }

    /// Sets what the token endpoint answers from now on.
    pub fn answer_token(&self, answer: Answer) {
        *self.token.lock().expect("token") = answer;
    }

    /// How many requests for `path` it has seen.
    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "authorization_response_iss_parameter_supported": true,
    })
}

/// Reads one request (head, then a body of its Content-Length); its path without the query.
async fn read_request(conn: &mut TcpStream) -> Option<String> {
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
    let target = head.lines().next()?.split(' ').nth(1)?.to_owned();
    let len: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(target.split('?').next().unwrap_or("").to_owned())
}

fn render(a: &Answer) -> Vec<u8> {
    format!(
        "HTTP/1.1 {} X\r\nconnection: close\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n{}",
        a.status,
        a.content_type,
        a.body.len(),
        a.body
    )
    .into_bytes()
}
