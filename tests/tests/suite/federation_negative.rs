//! Sign-in through an upstream that misbehaves one way at a time (issue 15): a scripted fake
//! upstream (`e2e::upstream`) answers our token request with an ID token wrong in exactly one
//! respect, or fails otherwise, and every case must end on our own page saying what went
//! wrong, with no session. Each test first signs in through the same fake with everything
//! right, so a refusal is the defect's doing and not a broken fake.
use e2e::{
    FIRST_PARTY, Provider, REDIRECT, TestBackend, backends,
    upstream::{Answer, FakeUpstream, SigningKey, hs256, unsecured},
};
use serde_json::{Value, json};

use super::federation::{add_provider, alice_at, browser, downstream, location, param};
use shared::federation::upstream::cache::KID_REFETCH_INTERVAL;

/// Our registration at the fake upstream.
const CLIENT: (&str, &str) = ("our-client", "fake-upstream-secret-0123456789abcdefghij");
const IDP: &str = "fake";
const SAYS_FAILED: &str = "Signing in with Fake did not work";

/// Registers the upstream at `issuer` as provider `id` ("Fake"), trusted to link accounts
/// by a verified email: the strongest setting, so the email case shows that only the
/// verification stands between an upstream and a local account.
async fn register(down: &Provider, id: &str, issuer: &str) {
    add_provider(
        down,
        (id, "Fake"),
        issuer,
        CLIENT,
        &["openid", "email"],
        true,
    )
    .await;
}

async fn setup(backend: TestBackend) -> (Provider, FakeUpstream) {
    let down = downstream(backend).await;
    let up = FakeUpstream::start().await;
    register(&down, IDP, &up.issuer).await;
    (down, up)
}

/// What the browser carries to the upstream: the values the ID token must answer to.
struct Attempt {
    state: String,
    nonce: String,
}

/// From `/authorize?idp=` through `/federation/start` to the upstream's authorization
/// endpoint, whose URL holds the state and nonce (the fake serves no page there).
async fn start(b: &reqwest::Client, down: &Provider, up: &FakeUpstream) -> Attempt {
    let authorize = down.authorize_url(FIRST_PARTY.0, &[("scope", "openid email"), ("idp", IDP)]);
    let to_start = b.get(authorize).send().await.expect("authorize");
    assert_eq!(to_start.status(), 303, "idp= goes straight to the provider");
    let away = b
        .get(location(&to_start))
        .send()
        .await
        .expect("federation start");
    assert_eq!(
        away.status(),
        303,
        "{}",
        away.text().await.unwrap_or_default()
    );
    let at = location(&away);
    assert!(at.starts_with(&format!("{}/authorize?", up.issuer)), "{at}");
    Attempt {
        state: param(&at, "state").expect("state"),
        nonce: param(&at, "nonce").expect("nonce"),
    }
}

/// Our callback as the upstream would send the browser back: `answer` (a code, or an error)
/// with the state and RFC 9207 `iss`.
async fn callback(
    b: &reqwest::Client,
    down: &Provider,
    up: &FakeUpstream,
    state: &str,
    answer: &[(&str, &str)],
) -> reqwest::Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs(answer);
    q.append_pair("state", state);
    q.append_pair("iss", &up.issuer);
    let url = format!("{}?{}", down.url("/federation/callback"), q.finish());
    b.get(url).send().await.expect("callback")
}

const CODE: &[(&str, &str)] = &[("code", "upstream-code")];

/// An ID token that passes every check of OIDC Core §3.1.3.7 for this attempt.
fn good_claims(up: &FakeUpstream, nonce: &str, now: i64, sub: &str) -> Value {
    json!({
        "iss": up.issuer, "sub": sub, "aud": CLIENT.0,
        "exp": now + 300, "iat": now - 5, "nonce": nonce,
        "email": format!("{sub}@upstream.example"), "email_verified": true,
    })
}

fn sets_session(r: &reqwest::Response) -> bool {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap_or("").contains("oidc_session"))
}

/// The page as text: askama escapes quotes, and the messages have apostrophes.
fn text_of(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#96;", "`")
        .replace("&#x60;", "`")
        .replace("&amp;", "&")
}

/// Ended safely: `status`, no session cookie, and a page that says `says` (and, for a
/// sign-in page, which upstream failed).
async fn refused(r: reqwest::Response, status: u16, says: &[&str], case: &str) {
    assert_eq!(r.status(), status, "{case}");
    assert!(!sets_session(&r), "{case}: a session cookie was set");
    let page = text_of(&r.text().await.expect("page"));
    for s in says {
        assert!(
            page.contains(s),
            "{case}: the page should say {s:?}:\n{page}"
        );
    }
}

/// The relying party asks silently (OIDC Core §3.1.2.1 `prompt=none`): nobody is signed in
/// in this browser.
async fn no_session(b: &reqwest::Client, down: &Provider, case: &str) {
    let silent = b
        .get(down.authorize_url(FIRST_PARTY.0, &[("prompt", "none")]))
        .send()
        .await
        .expect("authorize");
    assert_eq!(silent.status(), 303, "{case}");
    let to = location(&silent);
    assert!(to.starts_with(REDIRECT), "{case}: {to}");
    assert_eq!(
        param(&to, "error").as_deref(),
        Some("login_required"),
        "{case}: {to}"
    );
}

/// The whole happy path through the fake: the control every test starts with. Returns our
/// ID token's claims for the person the upstream calls `claims["sub"]`.
async fn sign_in(
    b: &reqwest::Client,
    down: &Provider,
    up: &FakeUpstream,
    claims: impl FnOnce(&str, i64) -> Value,
) -> Value {
    let attempt = start(b, down, up).await;
    up.answer_token(Answer::tokens(
        &up.key.sign(&claims(&attempt.nonce, down.clock_now())),
    ));
    let back = callback(b, down, up, &attempt.state, CODE).await;
    assert_eq!(
        back.status(),
        303,
        "{}",
        back.text().await.unwrap_or_default()
    );
    assert!(sets_session(&back), "signed in");
    let mut at = location(&back);
    // A first-party client: consent is skipped, redirects lead to the relying party.
    for _ in 0..3 {
        if at.starts_with(REDIRECT) {
            break;
        }
        let next = b.get(&at).send().await.expect("on to the RP");
        assert_eq!(next.status(), 303, "{at}");
        at = location(&next);
    }
    let code = param(&at, "code").unwrap_or_else(|| panic!("a code for the RP: {at}"));
    let (status, _, tokens) = down
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
            Some(FIRST_PARTY),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    e2e::verify_independently(
        down,
        tokens["id_token"].as_str().expect("id"),
        FIRST_PARTY.0,
    )
    .await
}

/// One way an upstream misbehaves after the person comes back with a code (or without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    BadSignature,
    AlgNone,
    Hs256WithClientSecret,
    WrongIssuer,
    WrongAudience,
    NoNonce,
    WrongNonce,
    Expired,
    IssuedInFuture,
    UnknownKid,
    TokenEndpoint500,
    TokenEndpointHangs,
    InvalidGrant,
    AccessDenied,
}

impl Defect {
    const ALL: [Defect; 14] = [
        Defect::BadSignature,
        Defect::AlgNone,
        Defect::Hs256WithClientSecret,
        Defect::WrongIssuer,
        Defect::WrongAudience,
        Defect::NoNonce,
        Defect::WrongNonce,
        Defect::Expired,
        Defect::IssuedInFuture,
        Defect::UnknownKid,
        Defect::TokenEndpoint500,
        Defect::TokenEndpointHangs,
        Defect::InvalidGrant,
        Defect::AccessDenied,
    ];

    /// What the upstream's token endpoint answers.
    fn answer(self, up: &FakeUpstream, nonce: &str, now: i64) -> Answer {
        let mut c = good_claims(up, nonce, now, "mallory");
        let token = match self {
            // Signed under the published kid by a key the upstream never published.
            Defect::BadSignature => SigningKey::generate(&up.key.kid).sign(&c),
            Defect::AlgNone => unsecured(&c),
            Defect::Hs256WithClientSecret => hs256(CLIENT.1, &up.key.kid, &c),
            Defect::WrongIssuer => {
                c["iss"] = json!("https://evil.example");
                up.key.sign(&c)
            }
            Defect::WrongAudience => {
                c["aud"] = json!("someone-else");
                up.key.sign(&c)
            }
            Defect::NoNonce => {
                c.as_object_mut().expect("claims").remove("nonce");
                up.key.sign(&c)
            }
            Defect::WrongNonce => {
                c["nonce"] = json!("not-the-nonce-we-sent");
                up.key.sign(&c)
            }
            Defect::Expired => {
                (c["iat"], c["exp"]) = (json!(now - 900), json!(now - 300));
                up.key.sign(&c)
            }
            Defect::IssuedInFuture => {
                (c["iat"], c["exp"]) = (json!(now + 600), json!(now + 900));
                up.key.sign(&c)
            }
            Defect::UnknownKid => SigningKey::generate("rotated-away").sign(&c),
            Defect::TokenEndpoint500 => return Answer::text(500, "<h1>Internal error</h1>"),
            // Longer than the outbound client's 8 s: the person waits 8 s, not forever.
            Defect::TokenEndpointHangs => {
                return Answer {
                    stall: Some(std::time::Duration::from_secs(20)),
                    ..Answer::tokens(&up.key.sign(&c))
                };
            }
            Defect::InvalidGrant => {
                return Answer::json(
                    400,
                    &json!({"error": "invalid_grant", "error_description": "code expired"}),
                );
            }
            // Never asked: the person did not sign in there. A good token waits, unused.
            Defect::AccessDenied => up.key.sign(&c),
        };
        Answer::tokens(&token)
    }

    /// What the upstream sends the browser back with.
    fn response(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Defect::AccessDenied => &[
                ("error", "access_denied"),
                ("error_description", "The person said no"),
            ],
            _ => CODE,
        }
    }

    /// What our sign-in page says (after "Signing in with Fake did not work: ").
    fn says(self, up: &FakeUpstream) -> String {
        let refused = "the upstream's ID token was refused: ";
        match self {
            Defect::BadSignature => format!("{refused}its signature does not verify"),
            Defect::AlgNone => format!("{refused}its algorithm `none` is not accepted"),
            Defect::Hs256WithClientSecret => {
                format!("{refused}its algorithm `HS256` is not accepted")
            }
            Defect::WrongIssuer => format!(
                "{refused}its issuer `https://evil.example` is not `{}`",
                up.issuer
            ),
            Defect::WrongAudience => {
                format!("{refused}it was not issued to this client (audience)")
            }
            Defect::NoNonce => format!("{refused}it carries no nonce"),
            Defect::WrongNonce => format!("{refused}its nonce is not the one this sign-in sent"),
            Defect::Expired => format!("{refused}it has expired"),
            Defect::IssuedInFuture => format!("{refused}it was issued in the future (iat)"),
            Defect::UnknownKid => format!(
                "{refused}it names a key `rotated-away` the upstream's key set does not hold"
            ),
            Defect::TokenEndpoint500 => "the upstream's token endpoint answered HTTP 500".into(),
            Defect::TokenEndpointHangs => format!(
                "could not reach the upstream's token endpoint at {}/token: no answer within the time limit",
                up.issuer
            ),
            Defect::InvalidGrant => {
                "the upstream's token endpoint refused the code: invalid_grant (code expired)"
                    .into()
            }
            Defect::AccessDenied => {
                "the upstream did not sign the person in: access_denied (The person said no)".into()
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_misbehaves_one_way_signs_nobody_in() {
    for backend in backends() {
        let (down, up) = setup(backend).await;
        // The control: everything right signs in (and the key set is now cached).
        let id = sign_in(&browser(), &down, &up, |nonce, now| {
            good_claims(&up, nonce, now, "control")
        })
        .await;
        assert_eq!(id["idp"], IDP, "{backend:?}");
        for defect in Defect::ALL {
            let case = format!("{defect:?} on {backend:?}");
            if defect == Defect::UnknownKid {
                // Past the refetch interval: the unknown kid makes the key set be fetched
                // once more (OIDC Core §10.1.1), and the same set comes back.
                down.clock.advance(KID_REFETCH_INTERVAL);
            }
            let (jwks, tokens) = (up.hits("/jwks"), up.hits("/token"));
            let b = browser();
            let attempt = start(&b, &down, &up).await;
            up.answer_token(defect.answer(&up, &attempt.nonce, down.clock_now()));
            let back = callback(&b, &down, &up, &attempt.state, defect.response()).await;
            refused(back, 200, &[SAYS_FAILED, &defect.says(&up)], &case).await;
            no_session(&b, &down, &case).await;
            let refetched = usize::from(defect == Defect::UnknownKid);
            assert_eq!(
                up.hits("/jwks"),
                jwks + refetched,
                "{case}: key set fetches"
            );
            let exchanged = usize::from(defect != Defect::AccessDenied);
            assert_eq!(
                up.hits("/token"),
                tokens + exchanged,
                "{case}: code exchanges"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_ends_on_the_sign_in_page_which_still_works() {
    for backend in backends() {
        let down = downstream(backend).await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a port")
            .port();
        // The listener is dropped: nothing answers there now.
        register(&down, "gone", &format!("http://127.0.0.1:{closed}")).await;
        let b = browser();
        let page = b
            .get(down.authorize_url(FIRST_PARTY.0, &[]))
            .send()
            .await
            .expect("authorize");
        assert_eq!(
            page.status(),
            200,
            "the sign-in page does not call upstreams"
        );
        assert!(text_of(&page.text().await.expect("page")).contains("Continue with Fake"));
        let to_start = b
            .get(down.authorize_url(FIRST_PARTY.0, &[("idp", "gone")]))
            .send()
            .await
            .expect("authorize");
        assert_eq!(to_start.status(), 303, "{backend:?}");
        let start = b.get(location(&to_start)).send().await.expect("start");
        let case = format!("unreachable discovery on {backend:?}");
        // Never a 5xx: our sign-in page again, saying so (another way may work).
        refused(
            start,
            200,
            &[
                "Fake cannot be reached right now",
                "could not reach the upstream's discovery document",
            ],
            &case,
        )
        .await;
        no_session(&b, &down, &case).await;
    }
}

/// A good token for the attempt whose nonce is `nonce`.
fn good_answer(up: &FakeUpstream, down: &Provider, nonce: &str) -> Answer {
    Answer::tokens(
        &up.key
            .sign(&good_claims(up, nonce, down.clock_now(), "someone")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_is_taken_once() {
    for backend in backends() {
        let (down, up) = setup(backend).await;
        // Replayed after a refusal: the upstream now answers well, the state is spent.
        let b = browser();
        let attempt = start(&b, &down, &up).await;
        up.answer_token(Answer::text(500, "down"));
        let first = callback(&b, &down, &up, &attempt.state, CODE).await;
        refused(first, 200, &[SAYS_FAILED], &format!("{backend:?}")).await;
        up.answer_token(good_answer(&up, &down, &attempt.nonce));
        let tokens = up.hits("/token");
        let replay = callback(&b, &down, &up, &attempt.state, CODE).await;
        let case = format!("a replayed state on {backend:?}");
        refused(replay, 400, &["expired or was already used"], &case).await;
        assert_eq!(
            up.hits("/token"),
            tokens,
            "{case}: the code is not exchanged"
        );
        no_session(&b, &down, &case).await;

        // Replayed after a sign-in: the same, the first sign-in's session aside.
        let b = browser();
        let attempt = start(&b, &down, &up).await;
        up.answer_token(good_answer(&up, &down, &attempt.nonce));
        let first = callback(&b, &down, &up, &attempt.state, CODE).await;
        assert_eq!(first.status(), 303, "{backend:?}");
        let tokens = up.hits("/token");
        let replay = callback(&b, &down, &up, &attempt.state, CODE).await;
        let case = format!("a state replayed after its sign-in on {backend:?}");
        refused(replay, 400, &["expired or was already used"], &case).await;
        assert_eq!(
            up.hits("/token"),
            tokens,
            "{case}: the code is not exchanged"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_is_only_for_the_browser_that_started() {
    for backend in backends() {
        let (down, up) = setup(backend).await;
        // Another browser (with a sign-in of its own under way) brings the answer back.
        let (victim, attacker) = (browser(), browser());
        let attempt = start(&victim, &down, &up).await;
        start(&attacker, &down, &up).await;
        up.answer_token(good_answer(&up, &down, &attempt.nonce));
        let tokens = up.hits("/token");
        let stolen = callback(&attacker, &down, &up, &attempt.state, CODE).await;
        let case = format!("a state from another browser on {backend:?}");
        refused(stolen, 403, &["started in another browser"], &case).await;
        assert_eq!(
            up.hits("/token"),
            tokens,
            "{case}: the code is not exchanged"
        );
        no_session(&attacker, &down, &case).await;
        // The state is spent for the browser that started, too.
        let late = callback(&victim, &down, &up, &attempt.state, CODE).await;
        refused(late, 400, &["expired or was already used"], &case).await;
        no_session(&victim, &down, &case).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_email_never_links_to_the_account_that_holds_it() {
    for backend in backends() {
        let (down, up) = setup(backend).await;
        let alice = alice_at(&down.running).await;
        let alices = |sub: &'static str, verified: bool| {
            let up = &up;
            move |nonce: &str, now: i64| {
                let mut c = good_claims(up, nonce, now, sub);
                c["email"] = json!("alice@example.com");
                c["email_verified"] = json!(verified);
                c
            }
        };
        // The control: this provider is trusted to link, and a verified address links.
        let linked = sign_in(&browser(), &down, &up, alices("verified-alice", true)).await;
        assert_eq!(linked["sub"], alice.sub.as_str(), "{backend:?}: linked");
        // The same address unverified, for another upstream account: a new account of its
        // own, without the address (it stays Alice's alone).
        let other = sign_in(&browser(), &down, &up, alices("unverified-alice", false)).await;
        assert_ne!(other["sub"], alice.sub.as_str(), "{backend:?}: taken over");
        assert_ne!(other["sub"], linked["sub"]);
        assert!(other.get("email").is_none(), "{backend:?}: {other}");
        // And it stays so on its next sign-in: the link holds, not the address.
        let again = sign_in(&browser(), &down, &up, alices("unverified-alice", false)).await;
        assert_eq!(again["sub"], other["sub"], "{backend:?}");
    }
}
