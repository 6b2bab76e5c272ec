#![allow(clippy::expect_used)]
//! The `oidc-local` binary as a newcomer runs it: it prints what they need, serves the
//! provider, applies a seed file idempotently and keeps its state and key across restarts.
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use serde_json::Value;

struct Server {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn line_after(&self, label: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {label:?} line in {:?}", self.lines))
    }
}

/// Starts the binary and reads its banner up to the authorization URL.
fn start(data_dir: &std::path::Path) -> Server {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../seed.example.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_oidc-local"))
        .args(["--port", "0", "--seed", seed, "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("oidc-local starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "exited early: {lines:?}"
        );
        let done = line.contains("/authorize?");
        lines.push(line);
        if done {
            break;
        }
    }
    Server { child, lines }
}

#[tokio::test]
async fn runs_prints_seeds_and_persists() {
    let dir = std::env::temp_dir().join(format!("oidc-local-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    shared::federation::upstream::install_crypto_provider();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let first = start(&dir);
    let issuer = first.line_after("issuer:");
    assert!(issuer.starts_with("http://127.0.0.1:"));
    assert_eq!(first.line_after("demo user:"), "demo / demo-password");
    let auth_url = first.lines.last().expect("url line").trim().to_string();
    assert!(
        auth_url.starts_with(&format!("{issuer}/authorize?"))
            && auth_url.contains("client_id=demo-app")
    );

    let meta: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("disc")
        .json()
        .await
        .expect("json");
    assert_eq!(meta["issuer"], issuer.as_str());
    let jwks: Value = http
        .get(meta["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let kid = jwks["keys"][0]["kid"].clone();
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    // The printed URL leads to a real sign-in page; the seeded client is known too.
    // /authorize shows the sign-in form itself (no redirect to /login).
    let seeded = format!(
        "{issuer}/authorize?response_type=code&client_id=example-web&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&scope=openid"
    );
    for url in [&auth_url, &seeded] {
        let resp = http.get(url).send().await.expect("authorize");
        assert_eq!(resp.status(), 200, "{url}");
        let page = resp.text().await.expect("page");
        assert!(page.contains(r#"name="password""#), "{url}: {page}");
    }
    drop(first);

    // Same data dir: the seed applies again without error and the signing key is the same.
    let second = start(&dir);
    let issuer2 = second.line_after("issuer:");
    let jwks2: Value = http
        .get(format!("{issuer2}/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(
        jwks2["keys"][0]["kid"], kid,
        "the signing key persists in --data-dir"
    );
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
