//! A full sign-in through the Lambda functions themselves, served by `cargo lambda watch`
//! (each function behind its function URL, `http://127.0.0.1:<port>/lambda-url/<function>/…`),
//! on DynamoDB + KMS in the local emulator.
use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use e2e::{ALICE, BASIC, Browser, REDIRECT};
use serde_json::Value;
use shared::signer::Alg;

struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        // SIGINT lets cargo-lambda stop the function processes it started.
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
    }
}

fn prerequisites() -> bool {
    let have_aws = std::env::var("AWS_ENDPOINT_URL").is_ok();
    let have_tool = Command::new("cargo")
        .args(["lambda", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have_aws && have_tool {
        return true;
    }
    let why = format!(
        "needs AWS_ENDPOINT_URL (emulator: {have_aws}) and cargo-lambda on PATH ({have_tool}); run infra/test.sh"
    );
    assert!(
        std::env::var("OIDC_REQUIRE_AWS").as_deref() != Ok("1"),
        "{why}"
    );
    eprintln!("skipped: {why}");
    false
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_through_cargo_lambda_watch() {
    if !prerequisites() {
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let base = format!("http://127.0.0.1:{port}/lambda-url");
    // The issuer is the discovery function's URL, so `{issuer}/.well-known/...` resolves.
    let issuer = format!("{base}/discovery");

    let sdk = shared::aws::aws_config().await;
    let suffix = shared::crypto::random_token(6).replace(['-', '_'], "x");
    let table = format!("oidc-watch-{suffix}");
    let alias = format!("alias/oidc-watch-{suffix}");
    shared::store::dynamo::provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
        .await
        .expect("table");
    shared::signer::kms::create_signing_key(&aws_sdk_kms::Client::new(&sdk), &alias, Alg::RS256)
        .await
        .expect("key");
    let store =
        shared::store::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone());
    shared::seed::apply(&store, &e2e::seed(), 0)
        .await
        .expect("seed");

    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let child = Command::new("cargo")
        .args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .current_dir(root)
        .env("ISSUER", &issuer)
        .env("PUBLIC_URL_PATTERN", format!("{base}/{{function}}"))
        .env("TABLE_NAME", &table)
        .env("SIGNING_KEYS", &alias)
        .env("SIGNING_ALGS", "RS256")
        .stdin(Stdio::null())
        .spawn()
        .expect("cargo lambda watch starts");
    let _watch = Watch(child);

    // Functions compile on their first request: allow minutes, not seconds.
    e2e::tls_ready();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch did not listen"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let meta = get_json(&http, &format!("{issuer}/.well-known/openid-configuration")).await;
    assert_eq!(meta["issuer"], issuer.as_str());
    assert_eq!(meta["token_endpoint"], format!("{base}/token/token"));

    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", BASIC.0),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("state", "w1"),
            ("nonce", "w2"),
        ])
        .finish();
    let mut browser = Browser::new(&format!("{base}/"));
    let out = browser
        .authorize(
            &format!(
                "{}?{q}",
                meta["authorization_endpoint"].as_str().expect("authz")
            ),
            Some(ALICE),
            "allow",
        )
        .await;
    assert_eq!(browser.pages_seen, vec!["login", "consent"]);
    assert_eq!(out.param("iss").as_deref(), Some(issuer.as_str()));
    let code = out.param("code").expect("code");

    let resp = http
        .post(meta["token_endpoint"].as_str().expect("token"))
        .basic_auth(BASIC.0, Some(BASIC.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.expect("tokens");

    // Verify the KMS-signed ID token against the JWKS function's answer, independently.
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(get_json(&http, meta["jwks_uri"].as_str().expect("jwks")).await)
            .expect("jwks");
    let kid = jsonwebtoken::decode_header(id_token)
        .expect("header")
        .kid
        .expect("kid");
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).expect("kid published")).expect("key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_issuer(&[issuer.as_str()]);
    v.set_audience(&[BASIC.0]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &key, &v)
        .expect("ID token verifies")
        .claims;
    assert_eq!(claims["email"], "alice@example.com");

    let info: Value = http
        .get(meta["userinfo_endpoint"].as_str().expect("userinfo"))
        .bearer_auth(tokens["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("json");
    assert_eq!(info["sub"], claims["sub"]);
}
