//! Sign-in through an upstream that is not ours: panva's `oidc-provider` (the Node script
//! `tests/upstream-node/provider.js`, which infra/test.sh installs), with its development
//! sign-in and consent pages. The person starts from our sign-in page's "Continue with"
//! button; the relying party gets our code and our ID token.
use std::{path::PathBuf, process::Stdio, time::Duration};

use e2e::{
    BASIC, TestBackend, backends,
    browser::{form_action, input_value, unescape},
};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use url::Url;

use shared::store::UpstreamAuth;

use crate::federation::{add_provider, browser, downstream_with, finish, location, param};

/// A running `provider.js`: what it printed once listening, and the process, killed on drop.
struct Panva {
    /// `{"issuer", "port", "client_id", "client_secret", "user": {...}}`.
    ready: Value,
    _node: Child,
}

impl Panva {
    fn issuer(&self) -> &str {
        self.ready["issuer"].as_str().expect("issuer")
    }

    fn user(&self) -> &Value {
        &self.ready["user"]
    }
}

/// Starts `provider.js` with `redirect_uri` as its client's, or None (skipped) when Node or
/// the installed `oidc-provider` is missing and the run does not demand them
/// (`OIDC_REQUIRE_NODE=1`, as infra/test.sh sets).
async fn panva(redirect_uri: &str, jwks_uri: Option<&str>) -> Option<Panva> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("upstream-node");
    let node = Command::new("node").arg("--version").output().await;
    let why = if !node.is_ok_and(|o| o.status.success()) {
        "node is not installed"
    } else if !dir.join("node_modules/oidc-provider/package.json").exists() {
        "oidc-provider is not installed: npm ci --prefix tests/upstream-node (infra/test.sh does)"
    } else {
        ""
    };
    if !why.is_empty() {
        assert!(
            std::env::var("OIDC_REQUIRE_NODE").as_deref() != Ok("1"),
            "{why}"
        );
        eprintln!("skipped: {why}");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut node = Command::new("node")
        .arg(dir.join("provider.js"))
        .env("PORT", port.to_string())
        .env("REDIRECT_URI", redirect_uri)
        .envs(jwks_uri.map(|u| ("JWKS_URI", u)))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("provider.js listens within 30 s")
        .expect("its stdout")
        .expect("provider.js printed its ready line (see its stderr)");
    let ready = serde_json::from_str(&line).expect("a JSON ready line");
    // It logs to stdout later too, and dies of EPIPE if nobody reads.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("provider.js: {line}");
        }
    });
    Some(Panva { ready, _node: node })
}

/// Follows redirects that stay at the same origin; the page it stops on (200, with its URL)
/// or the URL of the redirect that leaves.
async fn follow(b: &reqwest::Client, mut resp: reqwest::Response) -> Result<(Url, String), Url> {
    loop {
        let here = resp.url().clone();
        if resp.status() == 200 {
            return Ok((here, resp.text().await.expect("page")));
        }
        if !resp.status().is_redirection() {
            let status = resp.status();
            panic!(
                "{here}: {status}: {}",
                resp.text().await.unwrap_or_default()
            );
        }
        let next = here.join(&location(&resp)).expect("a URL");
        if next.origin() != here.origin() {
            return Err(next);
        }
        resp = b.get(next).send().await.expect("upstream page");
    }
}

/// Submits the form of oidc-provider's page for `prompt` (its hidden `prompt` input) with
/// `fields`.
async fn submit(
    b: &reqwest::Client,
    (url, html): (Url, String),
    prompt: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    assert_eq!(
        input_value(&html, "prompt").as_deref(),
        Some(prompt),
        "oidc-provider's {prompt} page: {html}"
    );
    let action = url.join(&form_action(&html).expect("a form")).expect("URL");
    let mut form = vec![("prompt", prompt)];
    form.extend_from_slice(fields);
    b.post(action).form(&form).send().await.expect("submit")
}

/// The `href` of our sign-in page's "Continue with `name`" link.
fn provider_link(html: &str, name: &str) -> Option<String> {
    let text = html.find(&format!("Continue with {name}</a>"))?;
    let start = html[..text].rfind("href=\"")? + "href=\"".len();
    let end = start + html[start..].find('"')?;
    Some(unescape(&html[start..end]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_panvas_oidc_provider_and_the_rp_gets_our_tokens() {
    for backend in backends() {
        if !signs_in_through_panva(backend, false).await {
            return;
        }
    }
}

/// As above, our client authenticating with `private_key_jwt`: oidc-provider fetches our
/// client key from `/federation/jwks` and checks our assertion by its own rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panvas_oidc_provider_takes_our_private_key_jwt() {
    for backend in backends() {
        if !signs_in_through_panva(backend, true).await {
            return;
        }
    }
}

/// One sign-in through oidc-provider on `backend`, authenticating to it with our client key
/// (`private_key_jwt`) or a secret; false when skipped.
async fn signs_in_through_panva(backend: TestBackend, client_key: bool) -> bool {
    {
        eprintln!("on {backend:?}, private_key_jwt: {client_key}");
        let down = downstream_with(backend, client_key).await;
        let jwks_uri = client_key.then(|| down.url("/federation/jwks"));
        let redirect_uri = down.url("/federation/callback");
        let Some(up) = panva(&redirect_uri, jwks_uri.as_deref()).await else {
            return false;
        };
        let client = (
            up.ready["client_id"].as_str().expect("client_id"),
            up.ready["client_secret"].as_str().unwrap_or("unused"),
        );
        let scopes = ["openid", "email", "profile"];
        add_provider(
            &down,
            ("panva", "Panva"),
            up.issuer(),
            client,
            &scopes,
            false,
        )
        .await;
        // oidc-provider releases scope claims from userinfo only (OIDC Core §5.4).
        let store = &down.running.app.store;
        let mut provider = store.provider("panva").await.expect("read").expect("panva");
        provider.userinfo = true;
        if client_key {
            provider.client_auth = UpstreamAuth::PrivateKeyJwt;
            provider.sealed_secret = None;
        }
        store.put_provider(&provider).await.expect("provider");

        let b = browser();
        let scope = ("scope", "openid email profile");
        let page = b
            .get(down.authorize_url(BASIC.0, &[scope, ("nonce", "n-panva")]))
            .send()
            .await
            .expect("authorize");
        assert_eq!(page.status(), 200, "our sign-in page");
        let html = page.text().await.expect("page");
        let start = provider_link(&html, "Panva").expect("a Continue with Panva button");
        let start = Url::parse(&down.issuer())
            .and_then(|u| u.join(&start))
            .expect("URL");
        let away = b.get(start.clone()).send().await.expect("start");
        assert_eq!(
            away.status(),
            303,
            "{start}: {}",
            away.text().await.unwrap_or_default()
        );
        let at = location(&away);
        assert!(at.starts_with(up.issuer()), "sent to oidc-provider: {at}");

        // oidc-provider's pages: any login name is the account id, any password passes.
        let resp = b.get(&at).send().await.expect("oidc-provider");
        let login = follow(&b, resp).await.expect("its sign-in page");
        let sub = up.user()["sub"].as_str().expect("sub");
        let fields = [("login", sub), ("password", "any")];
        let resp = submit(&b, login, "login", &fields).await;
        let consent = follow(&b, resp).await.expect("its consent page");
        let resp = submit(&b, consent, "consent", &[]).await;
        let callback = follow(&b, resp).await.expect_err("back to us").to_string();
        assert!(
            callback.starts_with(&down.url("/federation/callback")),
            "{callback}"
        );
        assert_eq!(
            param(&callback, "iss").as_deref(),
            Some(up.issuer()),
            "RFC 9207"
        );

        let code = finish(&b, &down, &callback).await;
        let (status, _, tokens) = down.redeem(&code).await;
        assert_eq!(status, 200, "{tokens}");
        let id_token = tokens["id_token"].as_str().expect("id_token");
        let id = e2e::verify_independently(&down, id_token, BASIC.0).await;
        assert_eq!(id["iss"], down.issuer(), "our token: {backend:?}");
        assert_eq!(id["amr"], serde_json::json!(["fed"]), "{id}");
        assert_eq!(id["idp"], "panva");
        assert_eq!(id["nonce"], "n-panva");
        let user = up.user();
        for claim in ["name", "email", "email_verified"] {
            assert_eq!(id[claim], user[claim], "{claim} from oidc-provider: {id}");
        }
        assert_ne!(id["sub"], user["sub"], "a sub of ours, not oidc-provider's");
    }
    true
}
