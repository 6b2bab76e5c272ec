//! Sign-in through an upstream provider as a person does it, in headless Chromium, on both
//! backends. The relying party is this test, with the `openidconnect` crate configured from
//! our discovery document; its redirect URI is a listener on loopback. The browser goes from
//! the relying party to our sign-in page, takes "Continue with Upstream" (a second instance of
//! this provider), signs in and consents there, consents here, and lands back at the relying
//! party, which redeems the code and verifies our ID token with the library.
use e2e::{ALICE, Provider, backends};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, RedirectUrl, Scope,
    TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
};
use shared::store::{AuthMethod, Client};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::oneshot,
};

use super::browser::{browser, click, fill, screenshot, text, wait_for, wait_for_url};
use super::federation::{connect, downstream_vars, upstream};

const RP: (&str, &str) = ("federated-rp", "federated-rp-secret-0123456789abcdefghij");

/// The relying party's redirect URI, a listener on loopback: its first request for `/cb` is
/// answered with a page saying so, and its request target (the authorization response) is
/// handed over.
async fn redirect_uri() -> (String, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 16 * 1024];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let target = head.lines().next().and_then(|l| l.split(' ').nth(1));
            // Chromium may also ask for /favicon.ico, or open a connection it never uses.
            let Some(target) = target.filter(|t| t.starts_with("/cb?")) else {
                let _ = s
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
                continue;
            };
            let body = r#"<!doctype html><title>RP</title><p id="rp-done">Back at the app</p>"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(format!("{head}{body}").as_bytes()).await;
            let _ = tx.send(target.to_string());
            return;
        }
    });
    (format!("http://127.0.0.1:{port}/cb"), rx)
}

/// The relying party's registration at `down`.
async fn register_rp(down: &Provider, redirect: &str) {
    let client: Client = serde_json::from_value(serde_json::json!({
        "client_id": RP.0,
        "client_name": "Federated RP",
        "secret_hash": shared::secret::ClientSecret::new(RP.1).digest(),
        "auth_method": AuthMethod::ClientSecretBasic,
        "redirect_uris": [redirect],
        "allowed_scopes": ["openid", "email", "profile"],
        "grant_types": ["authorization_code"],
    }))
    .expect("client");
    let put = down.running.app.store.put_client(&client).await;
    put.expect("the relying party at the provider");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_with_an_upstream_provider_from_the_relying_party_to_verified_tokens() {
    for backend in backends() {
        let Some((c, _driver)) = browser().await else {
            return;
        };
        let up = upstream().await;
        let mut vars = downstream_vars(backend, false).await;
        vars.push(("PRODUCT_NAME".into(), "Acme Accounts".into()));
        vars.push(("ACCENT_COLOR".into(), "#0f766e".into()));
        let down = Provider::start_with(backend, vars).await;
        connect(&up, &down, false).await;
        let (redirect, answered) = redirect_uri().await;
        register_rp(&down, &redirect).await;

        let http = e2e::http_client();
        let issuer = IssuerUrl::new(down.issuer()).expect("issuer");
        let meta = CoreProviderMetadata::discover_async(issuer, &http).await;
        let rp = CoreClient::from_provider_metadata(
            meta.expect("discovery"),
            ClientId::new(RP.0.into()),
            Some(ClientSecret::new(RP.1.into())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).expect("redirect"));
        let (url, csrf, nonce) = rp
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .url();

        c.goto(url.as_str()).await.expect("open");
        wait_for(&c, "a.provider").await;
        assert!(text(&c).await.contains("Continue with Upstream"));
        screenshot(&c, "sign-in-providers").await;
        click(&c, "a.provider").await;
        // The upstream's own sign-in page (another instance of this provider), then its consent.
        wait_for(&c, "input#password").await;
        let at = c.current_url().await.expect("url");
        assert!(
            at.as_str().starts_with(up.issuer()),
            "at the upstream: {at}"
        );
        fill(&c, "#username", ALICE.0).await;
        fill(&c, "#password", ALICE.1).await;
        click(&c, "button.primary").await;
        wait_for(&c, "button[value=allow]").await;
        assert!(
            text(&c).await.contains("Downstream"),
            "the upstream asks for its client"
        );
        click(&c, "button[value=allow]").await;
        // Back here: our consent for the relying party, then the relying party.
        wait_for_url(&c, &down.issuer()).await;
        wait_for(&c, "button[value=allow]").await;
        let here = c.current_url().await.expect("url");
        assert!(
            here.as_str().starts_with(&down.issuer()),
            "back at our consent: {here}"
        );
        let consent = text(&c).await;
        assert!(consent.contains("Federated RP"), "{consent}");
        assert!(
            consent.contains("Signed in as\nAlice Liddell")
                || consent.contains("Signed in as Alice Liddell"),
            "her name, not the account's made-up username: {consent}"
        );
        screenshot(&c, "consent-after-upstream").await;
        click(&c, "button[value=allow]").await;
        wait_for(&c, "#rp-done").await;
        c.close().await.expect("close");

        let target = answered.await.expect("the relying party was called");
        let back = url::Url::parse(&format!("http://127.0.0.1{target}")).expect("url");
        let param = |name: &str| {
            let mut pairs = back.query_pairs();
            pairs.find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
        };
        assert_eq!(param("state").as_deref(), Some(csrf.secret().as_str()));
        assert_eq!(
            param("iss").as_deref(),
            Some(down.issuer().as_str()),
            "RFC 9207"
        );
        let code = AuthorizationCode::new(param("code").expect("a code"));
        let tokens = rp.exchange_code(code).expect("token endpoint");
        let tokens = tokens.request_async(&http).await.expect("code exchange");
        let id_token = tokens.id_token().expect("an ID token");
        let claims = id_token
            .claims(&rp.id_token_verifier(), &nonce)
            .expect("the RP library verifies our ID token");
        assert_eq!(claims.issuer().as_str(), down.issuer(), "{backend:?}");
        let amr = claims.auth_method_refs().expect("amr");
        assert_eq!(amr.iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["fed"]);
        let name = claims.name().and_then(|n| n.get(None)).expect("a name");
        assert_eq!(name.as_str(), "Alice Liddell", "mapped from the upstream");
    }
}
