//! The newcomer's path: the demo client's authorization URL, the demo user's credentials,
//! and the demo app's page showing what it received.
use e2e::{Outcome, each_backend};

each_backend!(demo_sign_in_ends_on_the_demo_page_with_the_claims, |p| {
    let url = oidc_local::demo_authorization_url(&p.running.app);
    let mut b = p.browser();
    let out = b
        .authorize(
            &url,
            Some((oidc_local::DEMO_USERNAME, oidc_local::DEMO_PASSWORD)),
            "allow",
        )
        .await;
    assert_eq!(b.pages_seen, vec!["login", "consent"]);
    let Outcome::Page { status: 200, body } = out else {
        panic!("expected the demo page, got {out:?}")
    };
    for section in ["ID token claims", "Access token claims", "Userinfo"] {
        assert!(body.contains(section), "{section} shown:\n{body}");
    }
    assert!(
        body.contains("demo@example.com"),
        "the demo user's email is among the claims"
    );
    assert!(
        body.contains(&format!("&#34;iss&#34;: &#34;{}&#34;", p.issuer()))
            || body.contains(&format!("\"iss\": \"{}\"", p.issuer()))
    );
    assert!(!body.contains("Sign-in failed"));
});
