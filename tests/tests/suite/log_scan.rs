//! No secret, code or token value ever reaches the logs: a full flow runs with every log
//! line captured (debug level, all targets), then the capture is searched for each value.
use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use e2e::{ALICE, BASIC, M2M, Provider, REDIRECT, TestBackend, backends};
use serde_json::{Value, json};

#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything logged since `from` (a length of the capture).
    pub(crate) fn since(&self, from: usize) -> String {
        let all = self.0.lock().expect("capture");
        String::from_utf8_lossy(all.get(from..).unwrap_or_default()).into_owned()
    }
    pub(crate) fn len(&self) -> usize {
        self.0.lock().map(|v| v.len()).unwrap_or(0)
    }
}

/// The process's log capture (debug level, all targets), installed on first use.
pub(crate) fn capture() -> Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            let sink = capture.clone();
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
                .with_writer(move || sink.clone())
                .with_ansi(false)
                .init();
            capture
        })
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_code_or_token_appears_in_the_logs() {
    let capture = capture();

    let p = Provider::start(TestBackend::Embedded).await;
    let mut secrets: Vec<String> = vec![ALICE.1.into(), BASIC.1.into(), M2M.1.into()];

    // Sign-in, a wrong password, consent, code, tokens, refresh, userinfo, introspection,
    // revocation, a replayed code, client_credentials, registration, logout.
    let mut b = p.browser();
    b.authorize(
        &p.authorize_url(BASIC.0, &[]),
        Some(("alice", "a-wrong-password-value")),
        "allow",
    )
    .await;
    secrets.push("a-wrong-password-value".into());
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(BASIC.0, &[("scope", "openid email offline_access")]),
            Some(ALICE),
            "allow",
        )
        .await;
    let code = out.param("code").expect("code");
    let (_, _, t) = p.redeem(&code).await;
    assert_eq!(p.redeem(&code).await.0, 400, "replay, logged as such");
    secrets.push(code);
    let t2 = {
        let (_, _, t) = p
            .redeem(
                &p.code_for(BASIC.0, &[("scope", "openid offline_access")])
                    .await,
            )
            .await;
        t
    };
    for key in ["access_token", "id_token", "refresh_token"] {
        secrets.push(t[key].as_str().expect("token").to_string());
        secrets.push(t2[key].as_str().expect("token").to_string());
    }
    let (_, _, r) = p
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t2["refresh_token"].as_str().expect("rt")),
            ],
            Some(BASIC),
        )
        .await;
    secrets.push(r["refresh_token"].as_str().expect("rt").to_string());
    secrets.push(r["access_token"].as_str().expect("at").to_string());
    p.userinfo_get(r["access_token"].as_str().expect("at"))
        .await;
    p.http
        .post(p.url("/introspect"))
        .basic_auth(M2M.0, Some(M2M.1))
        .form(&[("token", t2["access_token"].as_str().expect("at"))])
        .send()
        .await
        .expect("introspect");
    p.http
        .post(p.url("/revoke"))
        .basic_auth(BASIC.0, Some(BASIC.1))
        .form(&[("token", r["refresh_token"].as_str().expect("rt"))])
        .send()
        .await
        .expect("revoke");
    let (_, _, cc) = p
        .token(&[("grant_type", "client_credentials")], Some(M2M))
        .await;
    secrets.push(cc["access_token"].as_str().expect("at").to_string());
    let reg: Value = p
        .http
        .post(p.url("/register"))
        .json(&json!({"redirect_uris": [REDIRECT]}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    secrets.push(reg["client_secret"].as_str().expect("secret").to_string());
    secrets.push(
        reg["registration_access_token"]
            .as_str()
            .expect("rat")
            .to_string(),
    );
    let wrong = p
        .token(
            &[("grant_type", "client_credentials")],
            Some((M2M.0, "guessed-secret-value-0123456789abcdefgh")),
        )
        .await;
    assert_eq!(wrong.0, 401);
    secrets.push("guessed-secret-value-0123456789abcdefgh".into());
    b.client()
        .get(p.url("/logout"))
        .send()
        .await
        .expect("logout");

    let logs = String::from_utf8_lossy(&capture.0.lock().expect("capture")).into_owned();
    assert!(
        logs.contains("signed in")
            && logs.contains("tokens issued")
            && logs.contains("grant revoked"),
        "the flow was logged:\n{logs}"
    );
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "a secret value reached the logs: {}…",
            &s[..8.min(s.len())]
        );
        // Token parts (a signature or a payload) are as telling as the whole token.
        for part in s.split('.').filter(|p| p.len() > 20) {
            assert!(!logs.contains(part), "part of a token reached the logs");
        }
    }
}

/// The `account=` value of each `signin.*` event in `logs`, in order.
fn accounts(logs: &str) -> Vec<String> {
    logs.lines()
        .filter(|l| l.contains("signin."))
        .filter_map(|l| {
            let at = l.find(" account=")? + " account=".len();
            Some(
                l[at..]
                    .split_whitespace()
                    .next()?
                    .trim_matches('"')
                    .to_string(),
            )
        })
        .collect()
}

/// Issue 12, defect 14: sign-in events name the account typed in by a digest keyed with the
/// deployment's secret, never by the name or its bare SHA-256 (which a dictionary reverses,
/// and which recovers a password typed into the username box).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_events_name_accounts_by_a_keyed_digest_only() {
    let capture = capture();
    let mut seen = Vec::new();
    for backend in backends() {
        let p = Provider::start(backend).await;
        let from = capture.len();
        let typed = ["Alice", "ghost-user", "Tr0ub4dor&3-typed-as-a-username"];
        for name in typed {
            p.browser()
                .authorize(&p.authorize_url(BASIC.0, &[]), Some((name, "wrong-pw")), "")
                .await;
        }
        p.browser()
            .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "")
            .await;
        let logs = capture.since(from);
        assert!(
            logs.contains("signin.failed") && logs.contains("signin.succeeded"),
            "{logs}"
        );
        for name in typed {
            let bare = shared::crypto::secret_digest(&name.to_lowercase());
            assert!(!logs.contains(name), "{name} reached the logs");
            assert!(
                !logs.contains(&bare[..8]),
                "the bare SHA-256 of {name} reached the logs"
            );
        }
        let acc = accounts(&logs);
        assert_eq!(acc.len(), 4, "one per attempt: {logs}");
        assert!(acc.iter().all(|a| a.len() == 16), "{acc:?}");
        assert_eq!(acc[0], acc[3], "Alice and alice are one account");
        assert_ne!(acc[0], acc[1]);
        seen.push(acc[0].clone());
    }
    // Each deployment (its own store, its own secret) names the same account differently.
    let p = Provider::start(TestBackend::Embedded).await;
    let from = capture.len();
    p.browser()
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "")
        .await;
    let other = accounts(&capture.since(from));
    assert!(!seen.contains(&other[0]), "{seen:?} {other:?}");
}
