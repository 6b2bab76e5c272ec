//! Brute-force defences of the sign-in form: failed sign-ins are counted per account and per
//! client address in the store (so every Lambda container, and every server sharing a
//! DynamoDB table, sees them); once over a limit the form is refused unchecked with 429 and
//! one neutral message, the same whether or not the account exists.
use e2e::{
    ALICE, BASIC, BOB, Outcome, Provider, TestBackend, backends,
    browser::{Browser, form_action, input_value},
    each_backend,
};

const NEUTRAL: &str = "Too many attempts. Wait a few minutes and try again.";
const WRONG: &str = "Wrong username or password";

/// What one sign-in attempt got back.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn signed_in(&self) -> bool {
        self.status == 303
    }
    fn wrong(&self) -> bool {
        self.status == 200 && self.body.contains(WRONG) && !self.body.contains(NEUTRAL)
    }
    fn throttled(&self) -> bool {
        self.status == 429
            && self.body.contains(NEUTRAL)
            && !self.body.contains(WRONG)
            && self.body.contains("name=\"password\"")
    }
    /// Seconds until the lock ends, as the Retry-After header says.
    fn retry_after_seconds(&self) -> i64 {
        self.retry_after
            .as_deref()
            .and_then(|v| v.parse().ok())
            .expect("Retry-After")
    }
}

/// One sign-in attempt in a fresh browser against the provider at `issuer`: opens the
/// sign-in form through `/authorize`, then posts it (with an `X-Forwarded-For` header the
/// provider must ignore, if given).
async fn attempt_at(issuer: &str, user: &str, password: &str, xff: Option<&str>) -> Answer {
    let url = format!(
        "{issuer}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s",
        BASIC.0,
        url::form_urlencoded::byte_serialize(e2e::REDIRECT.as_bytes()).collect::<String>()
    );
    let mut b = Browser::new(issuer);
    let Outcome::Page { status: 200, body } = b.authorize(&url, None, "").await else {
        panic!("the sign-in form");
    };
    let action = form_action(&body).expect("form action");
    let form = [
        ("req", input_value(&body, "req").expect("req")),
        ("csrf", input_value(&body, "csrf").expect("csrf")),
        ("username", user.to_string()),
        ("password", password.to_string()),
    ];
    let mut req = b.client().post(&action).form(&form);
    if let Some(xff) = xff {
        req = req.header("x-forwarded-for", xff);
    }
    let resp = req.send().await.expect("sign-in post");
    Answer {
        status: resp.status().as_u16(),
        retry_after: resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: resp.text().await.expect("body"),
    }
}

async fn attempt(p: &Provider, user: &str, password: &str) -> Answer {
    attempt_at(&p.issuer(), user, password, None).await
}

/// A page without its per-request parts (request id, CSRF token, the username typed).
fn strip(page: &str) -> String {
    page.lines()
        .filter(|l| {
            !l.contains("name=\"req\"")
                && !l.contains("name=\"csrf\"")
                && !l.contains("name=\"username\"")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// [`each_backend!`] with configuration variables (smaller limits and windows).
macro_rules! each_backend_with {
    ($name:ident, $vars:expr, |$p:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in backends() {
                eprintln!("{} on {:?}", stringify!($name), backend);
                let $p = Provider::start_with(backend, vars($vars)).await;
                $body
            }
        }
    };
}

each_backend!(
    ten_wrong_passwords_then_even_the_right_one_is_refused_until_the_window_ends,
    |p| {
        for i in 1..=10 {
            let a = attempt(&p, ALICE.0, "not-her-password").await;
            assert!(a.wrong(), "attempt {i} is checked: {a:?}");
        }
        let a = attempt(&p, ALICE.0, ALICE.1).await;
        assert!(a.throttled(), "the 11th is refused unchecked: {a:?}");
        let wait = a.retry_after_seconds();
        assert!((1..=900).contains(&wait), "{wait}");
        assert_eq!(
            input_value(&a.body, "username").as_deref(),
            Some(ALICE.0),
            "the username stays filled in"
        );
        // The account is the username whatever its case; other accounts are unaffected.
        assert!(attempt(&p, "ALICE", ALICE.1).await.throttled());
        assert!(attempt(&p, BOB.0, BOB.1).await.signed_in());

        // Relative to the lock's own end (Retry-After), not to the first attempt: on a
        // loaded machine the attempts above take seconds of real time.
        let a = attempt(&p, ALICE.0, ALICE.1).await;
        assert!(a.throttled(), "{a:?}");
        let wait = a.retry_after_seconds();
        p.clock.advance(wait - 3);
        assert!(
            attempt(&p, ALICE.0, ALICE.1).await.throttled(),
            "still locked"
        );
        p.clock.advance(10);
        let a = attempt(&p, ALICE.0, ALICE.1).await;
        assert!(a.signed_in(), "the lock ends with the window: {a:?}");
    }
);

each_backend!(
    unknown_user_and_wrong_password_answers_are_identical_also_when_throttled,
    |p| {
        let wrong_pw = attempt(&p, ALICE.0, "not-her-password").await;
        let unknown = attempt(&p, "mallory", "not-her-password").await;
        assert!(
            wrong_pw.wrong() && unknown.wrong(),
            "{wrong_pw:?} {unknown:?}"
        );
        assert_eq!(
            (wrong_pw.status, strip(&wrong_pw.body)),
            (unknown.status, strip(&unknown.body)),
            "unknown user and wrong password look the same"
        );
        // Unknown usernames are counted exactly like existing ones.
        for _ in 0..9 {
            assert!(attempt(&p, ALICE.0, "not-her-password").await.wrong());
            assert!(attempt(&p, "mallory", "not-her-password").await.wrong());
        }
        let known = attempt(&p, ALICE.0, "not-her-password").await;
        let unknown = attempt(&p, "mallory", "not-her-password").await;
        assert!(
            known.throttled() && unknown.throttled(),
            "{known:?} {unknown:?}"
        );
        assert_eq!(
            (known.status, strip(&known.body)),
            (unknown.status, strip(&unknown.body)),
            "a throttled unknown user and a throttled account look the same"
        );
    }
);

each_backend_with!(
    a_success_clears_the_account_count_and_the_lock_ends_with_its_window,
    &[
        ("SIGNIN_MAX_FAILURES_PER_ACCOUNT", "3"),
        ("SIGNIN_ACCOUNT_WINDOW_SECONDS", "60"),
    ],
    |p| {
        for _ in 0..2 {
            assert!(attempt(&p, ALICE.0, "typo").await.wrong());
        }
        assert!(attempt(&p, ALICE.0, ALICE.1).await.signed_in());
        // The success cleared the count: three more failures are all checked.
        for i in 1..=3 {
            let a = attempt(&p, ALICE.0, "typo").await;
            assert!(a.wrong(), "failure {i} after a success: {a:?}");
        }
        let a = attempt(&p, ALICE.0, ALICE.1).await;
        assert!(a.throttled(), "{a:?}");
        let wait = a.retry_after_seconds();
        assert!(wait <= 60, "{wait}");
        p.clock.advance(wait - 3);
        assert!(attempt(&p, ALICE.0, ALICE.1).await.throttled());
        p.clock.advance(10);
        assert!(attempt(&p, ALICE.0, ALICE.1).await.signed_in());
    }
);

each_backend_with!(
    per_address_limit_refuses_every_account_and_ignores_x_forwarded_for,
    &[
        ("SIGNIN_MAX_FAILURES_PER_IP", "5"),
        ("SIGNIN_IP_WINDOW_SECONDS", "120"),
    ],
    |p| {
        let issuer = p.issuer();
        // Five failures spread over accounts, each claiming another address.
        for (i, user) in [ALICE.0, BOB.0, "carol", "dave", "erin"].iter().enumerate() {
            let xff = format!("198.51.100.{i}");
            let a = attempt_at(&issuer, user, "guess", Some(&xff)).await;
            assert!(a.wrong(), "{user}: {a:?}");
        }
        let a = attempt_at(&issuer, BOB.0, BOB.1, Some("203.0.113.77")).await;
        assert!(
            a.throttled(),
            "the address is the peer, not X-Forwarded-For: {a:?}"
        );
        assert!(attempt(&p, ALICE.0, ALICE.1).await.throttled());
        p.clock.advance(121);
        assert!(attempt(&p, BOB.0, BOB.1).await.signed_in());
    }
);

each_backend!(
    store_failures_while_throttling_refuse_with_503_and_lock_nobody_out,
    |p| {
        for op in ["failures", "record_failure", "clear_failures"] {
            p.faults.fail_next(op, 1);
            let a = attempt(&p, ALICE.0, ALICE.1).await;
            assert_eq!(a.status, 503, "{op}: {a:?}");
            assert!(!a.body.contains("injected"), "no internals: {op}");
        }
        assert!(attempt(&p, ALICE.0, ALICE.1).await.signed_in());
        // Nothing was lost: 10 failures still lock the account.
        for _ in 0..10 {
            assert!(attempt(&p, ALICE.0, "guess").await.wrong());
        }
        assert!(attempt(&p, ALICE.0, ALICE.1).await.throttled());
    }
);

each_backend_with!(
    a_failure_that_cannot_be_counted_is_not_answered_as_a_wrong_password,
    &[("SIGNIN_MAX_FAILURES_PER_ACCOUNT", "0")],
    |p| {
        // With the account limit off, the only count is the address's, after the check.
        p.faults.fail_next("record_failure", 1);
        let a = attempt(&p, ALICE.0, "guess").await;
        assert_eq!(a.status, 503, "{a:?}");
        assert!(attempt(&p, ALICE.0, "guess").await.wrong());
        assert!(attempt(&p, ALICE.0, ALICE.1).await.signed_in());
    }
);

/// Two providers on one DynamoDB table, as two Lambda containers are: each sees the other's
/// failures and successes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_count_across_two_servers_sharing_the_table() {
    let aws: Vec<TestBackend> = backends()
        .into_iter()
        .filter(|b| matches!(b, TestBackend::Aws(_)))
        .collect();
    if aws.is_empty() {
        eprintln!("skipped: no AWS backend (run through infra/with-moto.sh)");
    }
    for backend in aws {
        eprintln!("on {backend:?}");
        let a = Provider::start(backend).await;
        let (alias, table) = a.aws.clone().expect("an AWS backend");
        let b = oidc_local::start(
            oidc_local::Options {
                port: 0,
                issuer: None,
                backend: oidc_local::Backend::Aws {
                    table,
                    signing_keys: vec![alias],
                },
                seed: Some(e2e::seed()),
                demo: false,
                config_vars: vec![],
                lambda_keys: false,
                timeouts: Default::default(),
            },
            a.clock.clone(),
        )
        .await
        .expect("second server starts");
        let (ia, ib) = (a.issuer(), b.issuer().to_string());
        assert_ne!(ia, ib);

        for i in 0..10 {
            let issuer = if i % 2 == 0 { &ia } else { &ib };
            assert!(attempt_at(issuer, ALICE.0, "guess", None).await.wrong());
        }
        assert!(attempt_at(&ia, ALICE.0, ALICE.1, None).await.throttled());
        assert!(attempt_at(&ib, ALICE.0, ALICE.1, None).await.throttled());

        // After the window: a success on one server clears the count the other sees.
        a.clock.advance(15 * 60 + 1);
        for _ in 0..9 {
            assert!(attempt_at(&ia, ALICE.0, "guess", None).await.wrong());
        }
        assert!(attempt_at(&ib, ALICE.0, ALICE.1, None).await.signed_in());
        for _ in 0..2 {
            assert!(attempt_at(&ia, ALICE.0, "guess", None).await.wrong());
        }
        assert!(attempt_at(&ia, ALICE.0, ALICE.1, None).await.signed_in());
    }
}
