//! The pages as people use them: headless Chromium (Debian's, over WebDriver) signs in,
//! consents, denies, single-signs-on to a second app, signs out and meets the error page.
//! Every page is saved as a screenshot at phone and desktop widths under
//! `artifacts/screenshots/`. Sign-in through an upstream provider: `browser_federation`.
use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use e2e::{Provider, TestBackend};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh Chromium session behind its own chromedriver, or None (skipped) when the browser
/// is not installed and the run does not demand it.
pub(crate) async fn browser() -> Option<(Client, Driver)> {
    if !PathBuf::from(CHROMIUM).exists() || !PathBuf::from(CHROMEDRIVER).exists() {
        let why = "Chromium and chromedriver are not installed (infra/test.sh installs them)";
        assert!(
            std::env::var("OIDC_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{why}"
        );
        eprintln!("skipped: {why}");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let profile = std::env::temp_dir().join(format!("oidc-chromium-{}-{port}", std::process::id()));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = caps.as_object().cloned().expect("object");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connector = hyper_util_client::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return Some((c, driver)),
            Err(e) if Instant::now() > deadline => panic!("cannot start a Chromium session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub(crate) async fn wait_for(c: &Client, css: &str) {
    if let Err(e) = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
    {
        let url = c.current_url().await.ok();
        panic!("no {css} on {url:?}: {e}");
    }
}

/// Waits until the browser is at a URL starting with `prefix`: after a click that leaves a
/// page, `wait_for` alone can still find its element on the page being left.
pub(crate) async fn wait_for_url(c: &Client, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = c.current_url().await.expect("url");
        if url.as_str().starts_with(prefix) {
            return;
        }
        assert!(Instant::now() < deadline, "still at {url}, not {prefix}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .expect("field")
        .send_keys(text)
        .await
        .expect("type");
}

pub(crate) async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
}

pub(crate) async fn text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text")
}

/// Saves the current page at phone and desktop widths.
pub(crate) async fn screenshot(c: &Client, name: &str) {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../artifacts/screenshots"
    ));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    for (label, w, h) in [("phone", 390, 844), ("desktop", 1280, 800)] {
        c.set_window_size(w, h).await.expect("resize");
        let png = c.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(dir.join(format!("{name}-{label}.png")), png).expect("write screenshot");
    }
}

async fn provider() -> Provider {
    let vars = vec![
        ("PRODUCT_NAME".to_string(), "Acme Accounts".to_string()),
        ("ACCENT_COLOR".to_string(), "#0f766e".to_string()),
    ];
    Provider::start_with(TestBackend::Embedded, vars).await
}

async fn sign_in_as_demo(p: &Provider, c: &Client) {
    c.goto(&oidc_local::demo_authorization_url(&p.running.app))
        .await
        .expect("open");
    wait_for(c, "input#password").await;
    fill(c, "#username", oidc_local::DEMO_USERNAME).await;
    fill(c, "#password", oidc_local::DEMO_PASSWORD).await;
    click(c, "button.primary").await;
    wait_for(c, "button[value=allow]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_consent_and_land_on_the_app() {
    let Some((c, _driver)) = browser().await else {
        return;
    };
    let p = provider().await;
    c.goto(&oidc_local::demo_authorization_url(&p.running.app))
        .await
        .expect("open");
    wait_for(&c, "input#password").await;
    let page = text(&c).await;
    assert!(
        page.contains("Acme Accounts") && page.contains("Demo app"),
        "branded, names the app:\n{page}"
    );
    screenshot(&c, "sign-in").await;
    fill(&c, "#username", oidc_local::DEMO_USERNAME).await;
    fill(&c, "#password", oidc_local::DEMO_PASSWORD).await;
    click(&c, "button.primary").await;
    wait_for(&c, "button[value=allow]").await;
    let page = text(&c).await;
    assert!(
        page.contains("Allow Demo app?") && page.contains("See your email address"),
        "{page}"
    );
    screenshot(&c, "consent").await;
    click(&c, "button[value=allow]").await;
    wait_for(&c, "#id-token").await;
    let url = c.current_url().await.expect("url");
    assert!(
        url.as_str()
            .starts_with(&format!("{}/demo/callback?code=", p.issuer())),
        "{url}"
    );
    assert!(text(&c).await.contains("demo@example.com"));
    screenshot(&c, "app-signed-in").await;
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_consent_page_lists_every_claim_it_would_release() {
    let Some((c, _driver)) = browser().await else {
        return;
    };
    let p = provider().await;
    c.goto(&p.authorize_url(e2e::ROLES.0, &[("scope", "openid email team")]))
        .await
        .expect("open");
    wait_for(&c, "input#password").await;
    fill(&c, "#username", e2e::BOB.0).await;
    fill(&c, "#password", e2e::BOB.1).await;
    click(&c, "button.primary").await;
    wait_for(&c, "button[value=allow]").await;
    let page = text(&c).await;
    for shown in [
        "Allow Roles RP?",
        "email address",
        "https://rp.example/team",
        "https://rp.example/roles",
    ] {
        assert!(page.contains(shown), "{shown}:\n{page}");
    }
    assert!(
        !page.contains("https://rp.example/plan"),
        "not allowed, not shown"
    );
    screenshot(&c, "consent-claims").await;
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_announced_and_keeps_the_username() {
    let Some((c, _driver)) = browser().await else {
        return;
    };
    let p = provider().await;
    c.goto(&oidc_local::demo_authorization_url(&p.running.app))
        .await
        .expect("open");
    wait_for(&c, "input#password").await;
    fill(&c, "#username", "demo").await;
    fill(&c, "#password", "not-the-password").await;
    click(&c, "button.primary").await;
    wait_for(&c, "#login-error[role=alert]").await;
    assert!(text(&c).await.contains("Wrong username or password"));
    let kept = c
        .find(Locator::Css("#username"))
        .await
        .expect("field")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("demo"));
    screenshot(&c, "sign-in-wrong-password").await;
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_returns_access_denied_to_the_app() {
    let Some((c, _driver)) = browser().await else {
        return;
    };
    let p = provider().await;
    sign_in_as_demo(&p, &c).await;
    click(&c, "button[value=deny]").await;
    wait_for(&c, "[role=alert]").await;
    let url = c.current_url().await.expect("url");
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "error" && v == "access_denied"),
        "{url}"
    );
    screenshot(&c, "app-access-denied").await;
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_to_a_second_app_shows_no_form_then_sign_out() {
    let Some((c, _driver)) = browser().await else {
        return;
    };
    let p = provider().await;
    // A second, first-party application of the same deployer.
    let second = shared::seed::Seed::parse(
        "s.json",
        &json!({"clients": [{"client_id": "second-app", "client_secret": "second-app-secret-0123456789abcdefghij",
            "redirect_uris": [format!("{}/demo/callback", p.issuer())], "skip_consent": true}]})
        .to_string(),
    )
    .expect("seed");
    shared::seed::apply(p.running.app.store.as_ref(), &second, p.clock_now() * 1000)
        .await
        .expect("register");
    sign_in_as_demo(&p, &c).await;
    click(&c, "button[value=allow]").await;
    wait_for(&c, "#id-token").await;

    let url = p.authorize_url(
        "second-app",
        &[
            ("redirect_uri", &format!("{}/demo/callback", p.issuer())),
            ("scope", "openid email"),
        ],
    );
    c.goto(&url).await.expect("second app");
    wait_for(&c, "h1").await;
    let landed = c.current_url().await.expect("url");
    assert!(
        landed.path() == "/demo/callback" && landed.query_pairs().any(|(k, _)| k == "code"),
        "no form, straight back with a code: {landed}"
    );

    // Sign out from the demo app: RP-initiated logout with the ID token as hint.
    c.goto(&oidc_local::demo_authorization_url(&p.running.app))
        .await
        .expect("demo again");
    wait_for(&c, "#sign-out").await;
    click(&c, "#sign-out").await;
    wait_for(&c, "a[href*='/authorize']").await;
    assert_eq!(c.current_url().await.expect("url").path(), "/");
    // Signed out: the next sign-in shows the form again.
    c.goto(&oidc_local::demo_authorization_url(&p.running.app))
        .await
        .expect("again");
    wait_for(&c, "input#password").await;

    // A logout the provider cannot attribute asks first, then confirms.
    sign_in_as_demo(&p, &c).await;
    click(&c, "button[value=allow]").await;
    wait_for(&c, "#id-token").await;
    c.goto(&p.url("/logout")).await.expect("logout");
    wait_for(&c, "button[name=confirm]").await;
    screenshot(&c, "sign-out-confirm").await;
    click(&c, "button[name=confirm]").await;
    wait_for(&c, "p[role=status]").await;
    assert!(text(&c).await.contains("You are signed out"));
    screenshot(&c, "signed-out").await;
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_client_gets_an_explanation_not_a_redirect() {
    let Some((c, _driver)) = browser().await else {
        return;
    };
    let p = provider().await;
    c.goto(&p.authorize_url("no-such-app", &[]))
        .await
        .expect("open");
    wait_for(&c, "h1").await;
    let page = text(&c).await;
    assert!(
        page.contains("We can't continue") && page.contains("not registered"),
        "{page}"
    );
    assert!(
        c.current_url()
            .await
            .expect("url")
            .as_str()
            .starts_with(&p.issuer()),
        "stayed on the provider"
    );
    screenshot(&c, "error-unknown-client").await;
    c.close().await.expect("close");
}
