//! The sign-in form's brute-force defence, attacked as an attacker would (SECURITY.md,
//! "Sign-in defence"): a browser that signed in as an account holds a device token and is
//! never slowed by failures from elsewhere; every other attempt for the account waits
//! progressively longer after a few free failures; a client address is capped in failures
//! per window; parallel bursts never get more checked answers than those limits allow; a
//! correct password never counts; unknown and existing usernames look and cost the same.
use std::{net::IpAddr, time::Instant};

use e2e::{
    ALICE, BASIC, BOB, Provider, TestBackend, backends,
    browser::{Browser, form_action, input_value},
};

const NEUTRAL: &str = "Too many attempts. Wait a few minutes and try again.";
const WRONG: &str = "Wrong username or password";
/// The documented defaults (README, "Sign-in defence").
const FREE_FAILURES: usize = 5;
const MAX_DELAY: i64 = 900;

/// What one sign-in attempt got back.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    set_cookies: Vec<String>,
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
    /// Seconds until it may be tried again, as the Retry-After header says.
    fn retry_after_seconds(&self) -> i64 {
        self.retry_after
            .as_deref()
            .and_then(|v| v.parse().ok())
            .expect("Retry-After")
    }
}

/// A sign-in form as a browser holds it: posted as often as the provider allows (a failed
/// attempt leaves the request pending).
#[derive(Clone)]
struct Form {
    http: reqwest::Client,
    action: String,
    req: String,
    csrf: String,
}

fn authorize_url(issuer: &str, prompt_login: bool) -> String {
    format!(
        "{issuer}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s{}",
        BASIC.0,
        url::form_urlencoded::byte_serialize(e2e::REDIRECT.as_bytes()).collect::<String>(),
        if prompt_login { "&prompt=login" } else { "" }
    )
}

impl Form {
    /// The sign-in form `b` is shown (prompt=login: also when it is signed in already).
    async fn open(issuer: &str, b: &mut Browser) -> Form {
        Self::open_with(b.client(), issuer).await
    }

    /// The same with any cookie-keeping client (cookies are per host, not per port: one
    /// browser can hold forms of two servers on 127.0.0.1).
    async fn open_with(http: &reqwest::Client, issuer: &str) -> Form {
        // /authorize shows the form itself; it posts to /login.
        let body = http
            .get(authorize_url(issuer, true))
            .send()
            .await
            .expect("authorize")
            .text()
            .await
            .expect("body");
        let action = form_action(&body).expect("form action");
        assert!(action.starts_with(&format!("{issuer}/login")), "{action}");
        Form {
            http: http.clone(),
            action,
            req: input_value(&body, "req").expect("req"),
            csrf: input_value(&body, "csrf").expect("csrf"),
        }
    }

    /// Posts it (with an `X-Forwarded-For` header the provider must ignore, if given).
    async fn post_as(&self, user: &str, password: &str, xff: Option<&str>) -> Answer {
        let form = [
            ("req", self.req.as_str()),
            ("csrf", self.csrf.as_str()),
            ("username", user),
            ("password", password),
        ];
        let mut req = self.http.post(&self.action).form(&form);
        if let Some(xff) = xff {
            req = req.header("x-forwarded-for", xff);
        }
        let resp = req.send().await.expect("sign-in post");
        let header = |name: &str| {
            resp.headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect::<Vec<_>>()
        };
        Answer {
            status: resp.status().as_u16(),
            retry_after: header("retry-after").pop(),
            set_cookies: header("set-cookie"),
            body: resp.text().await.expect("body"),
        }
    }

    async fn post(&self, user: &str, password: &str) -> Answer {
        self.post_as(user, password, None).await
    }
}

/// One attempt in a fresh browser (one this provider has never seen sign in).
async fn attempt_at(issuer: &str, user: &str, password: &str) -> Answer {
    let form = Form::open(issuer, &mut Browser::new(issuer)).await;
    form.post(user, password).await
}

async fn attempt(p: &Provider, user: &str, password: &str) -> Answer {
    attempt_at(&p.issuer(), user, password).await
}

/// A browser that has signed in as `creds` (so holds its device token).
async fn known_browser(issuer: &str, creds: (&str, &str)) -> Browser {
    let mut b = Browser::new(issuer);
    let form = Form::open(issuer, &mut b).await;
    let a = form.post(creds.0, creds.1).await;
    assert!(a.signed_in(), "{a:?}");
    b
}

/// A sign-in from `b`, with a form of its own.
async fn attempt_from(issuer: &str, b: &mut Browser, user: &str, password: &str) -> Answer {
    Form::open(issuer, b).await.post(user, password).await
}

/// Wrong passwords for `user` from `attacker` (the clock jumping over each wait) until the
/// account's untrusted attempts wait at least `seconds`: long enough that no real time
/// passing during a test ends it.
async fn put_in_wait(p: &Provider, attacker: &Form, user: &str, seconds: i64) {
    loop {
        let a = attacker.post(user, "guess").await;
        if a.throttled() {
            if a.retry_after_seconds() >= seconds {
                return;
            }
            p.clock.advance(a.retry_after_seconds());
        } else {
            assert!(a.wrong(), "{a:?}");
        }
    }
}

/// A page without its per-request parts (request id, CSRF token, the username typed).
fn strip(page: &str) -> String {
    page.lines()
        .filter(|l| {
            !l.contains("name=\"req\"")
                && !l.contains("name=\"csrf\"")
                && !l.contains("name=\"username\"")
                // The passkey form's options carry the request's own challenge.
                && !l.contains("data-options=")
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

fn loopback(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// One backend per store: the embedded store and DynamoDB (signing keys play no part in
/// signing in, so one DynamoDB backend stands for both key types).
fn stores() -> Vec<TestBackend> {
    let mut v = backends();
    v.dedup_by_key(|b| matches!(b, TestBackend::Aws(_)));
    v
}

/// A scenario on each store, with configuration variables (smaller limits and windows).
macro_rules! each_backend_with {
    ($name:ident, $vars:expr, |$p:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in stores() {
                eprintln!("{} on {:?}", stringify!($name), backend);
                let $p = Provider::start_with(backend, vars($vars)).await;
                $body
            }
        }
    };
}

each_backend_with!(
    new_browsers_wait_longer_after_each_failure_while_the_owners_browser_never_waits,
    &[
        ("SIGNIN_FREE_FAILURES", "3"),
        ("SIGNIN_MAX_DELAY_SECONDS", "20"),
    ],
    |p| {
        let issuer = p.issuer();
        let mut owner = known_browser(&issuer, ALICE).await;
        // Time moves only when the test says: a one-second wait must not end while a loaded
        // machine is still answering the owner's sign-in.
        p.clock.freeze();
        // The attacker reuses one form: attempts follow each other within milliseconds.
        let attacker = Form::open(&issuer, &mut Browser::new(&issuer)).await;
        for i in 1..=3 {
            let a = attacker.post(ALICE.0, "not-her-password").await;
            assert!(a.wrong(), "free failure {i} is checked: {a:?}");
        }
        // From here each failure doubles the wait, up to the cap: 1, 2, 4, 8, 16, 20, 20 s.
        for expected in [1, 2, 4, 8, 16, 20, 20] {
            let a = attacker.post(ALICE.0, ALICE.1).await;
            assert!(
                a.throttled(),
                "refused unchecked, even the right password: {a:?}"
            );
            let wait = a.retry_after_seconds();
            assert_eq!(wait, expected);
            assert_eq!(
                input_value(&a.body, "username").as_deref(),
                Some(ALICE.0),
                "the username stays filled in"
            );
            // Meanwhile the owner's browser is not slowed down at all.
            assert!(
                attempt_from(&issuer, &mut owner, ALICE.0, ALICE.1)
                    .await
                    .signed_in()
            );
            p.clock.advance(wait);
            assert!(
                attacker.post(ALICE.0, "guess").await.wrong(),
                "one check per wait"
            );
        }
        // The account is the username whatever its case; other accounts are unaffected.
        assert!(attempt(&p, "ALICE", ALICE.1).await.throttled());
        assert!(attempt(&p, BOB.0, BOB.1).await.signed_in());
        // A new browser with the right password gets in after the longest wait.
        let a = attempt(&p, ALICE.0, ALICE.1).await;
        assert!(a.throttled(), "{a:?}");
        assert!(a.retry_after_seconds() <= 20);
        p.clock.advance(a.retry_after_seconds());
        assert!(attempt(&p, ALICE.0, ALICE.1).await.signed_in());
    }
);

each_backend_with!(
    unknown_user_and_wrong_password_answers_are_identical_also_when_throttled,
    &[],
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
        assert!(
            wrong_pw.set_cookies.is_empty() && unknown.set_cookies.is_empty(),
            "no cookie either way"
        );
        // Unknown usernames are counted exactly like existing ones: the same free failures,
        // then the same waits.
        for _ in 1..FREE_FAILURES {
            assert!(attempt(&p, ALICE.0, "not-her-password").await.wrong());
            assert!(attempt(&p, "mallory", "not-her-password").await.wrong());
        }
        let attacker = Form::open(&p.issuer(), &mut Browser::new(&p.issuer())).await;
        // Putting mallory in wait advances the clock by 15 s, leaving ALICE's 16-s wait one
        // second: time moves only when the test says, so a loaded machine cannot end it.
        p.clock.freeze();
        put_in_wait(&p, &attacker, ALICE.0, 16).await;
        put_in_wait(&p, &attacker, "mallory", 16).await;
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
    a_success_from_a_new_browser_ends_the_accounts_series_of_failures,
    &[("SIGNIN_FREE_FAILURES", "3")],
    |p| {
        let attacker = Form::open(&p.issuer(), &mut Browser::new(&p.issuer())).await;
        for _ in 0..3 {
            assert!(attacker.post(ALICE.0, "typo").await.wrong());
        }
        put_in_wait(&p, &attacker, ALICE.0, 16).await;
        let a = attempt(&p, ALICE.0, ALICE.1).await;
        assert!(a.throttled(), "{a:?}");
        p.clock.advance(a.retry_after_seconds());
        let a = attempt(&p, ALICE.0, ALICE.1).await;
        assert!(a.signed_in(), "a correct password does not count: {a:?}");
        // The series ended: three failures are free again (else the second would wait at
        // least 32 s).
        for i in 1..=3 {
            let a = attacker.post(ALICE.0, "typo").await;
            assert!(a.wrong(), "failure {i} after a success: {a:?}");
        }
        assert!(attacker.post(ALICE.0, ALICE.1).await.throttled());
    }
);

each_backend_with!(
    per_address_limit_refuses_new_browsers_only_and_ignores_x_forwarded_for,
    &[
        ("SIGNIN_MAX_FAILURES_PER_IP", "5"),
        ("SIGNIN_IP_WINDOW_SECONDS", "120"),
    ],
    |p| {
        let issuer = p.issuer();
        let mut owner = known_browser(&issuer, ALICE).await;
        // Five failures spread over accounts, each claiming another address.
        for (i, user) in [ALICE.0, BOB.0, "carol", "dave", "erin"].iter().enumerate() {
            let form = Form::open(&issuer, &mut Browser::new(&issuer)).await;
            let a = form
                .post_as(user, "guess", Some(&format!("198.51.100.{i}")))
                .await;
            assert!(a.wrong(), "{user}: {a:?}");
        }
        let form = Form::open(&issuer, &mut Browser::new(&issuer)).await;
        let a = form.post_as(BOB.0, BOB.1, Some("203.0.113.77")).await;
        assert!(
            a.throttled(),
            "the address is the peer, not X-Forwarded-For: {a:?}"
        );
        assert!((1..=120).contains(&a.retry_after_seconds()));
        // Behind the same address (a shared NAT), the owner's browser still gets in.
        assert!(
            attempt_from(&issuer, &mut owner, ALICE.0, ALICE.1)
                .await
                .signed_in()
        );
        // Other addresses are not affected.
        let other = Form::open(&issuer, &mut Browser::from_address(&issuer, loopback(9))).await;
        assert!(other.post(BOB.0, BOB.1).await.signed_in());
        p.clock.advance(121);
        assert!(attempt(&p, BOB.0, BOB.1).await.signed_in());
    }
);

each_backend_with!(
    a_device_token_is_for_its_account_and_buys_only_a_few_guesses,
    &[
        ("SIGNIN_FREE_FAILURES", "2"),
        ("SIGNIN_MAX_FAILURES_PER_DEVICE", "3"),
        ("SIGNIN_DEVICE_WINDOW_SECONDS", "600"),
    ],
    |p| {
        let issuer = p.issuer();
        let mut owner = known_browser(&issuer, ALICE).await;
        let mut laptop = known_browser(&issuer, ALICE).await;
        // An attacker puts the account in a wait; the owner's browsers are trusted anyway,
        // and their failures (typos) are checked and answered, not delayed.
        let attacker = Form::open(&issuer, &mut Browser::new(&issuer)).await;
        put_in_wait(&p, &attacker, ALICE.0, 16).await;
        for i in 1..=3 {
            let a = attempt_from(&issuer, &mut owner, ALICE.0, "typo").await;
            assert!(a.wrong(), "trusted failure {i}: {a:?}");
        }
        // Three failures under one device token (as with a stolen cookie): it no longer
        // makes attempts trusted, so they wait with everyone else's.
        let a = attempt_from(&issuer, &mut owner, ALICE.0, ALICE.1).await;
        assert!(a.throttled(), "{a:?}");
        // Another browser of the owner keeps its own token.
        assert!(
            attempt_from(&issuer, &mut laptop, ALICE.0, ALICE.1)
                .await
                .signed_in()
        );
        // A token is for its account only: Bob's attempts from Alice's browser wait too.
        put_in_wait(&p, &attacker, BOB.0, 16).await;
        assert!(
            attempt_from(&issuer, &mut laptop, BOB.0, BOB.1)
                .await
                .throttled()
        );
        // The device's window ends, and with it the penalty.
        p.clock.advance(601);
        assert!(
            attempt_from(&issuer, &mut owner, ALICE.0, ALICE.1)
                .await
                .signed_in()
        );
    }
);

each_backend_with!(
    device_token_cookie_is_http_only_same_site_and_lasts_a_year,
    &[],
    |p| {
        let issuer = p.issuer();
        let form = Form::open(&issuer, &mut Browser::new(&issuer)).await;
        let a = form.post(ALICE.0, ALICE.1).await;
        assert!(a.signed_in(), "{a:?}");
        let device = a
            .set_cookies
            .iter()
            .find(|c| c.starts_with("oidc_device="))
            .unwrap_or_else(|| panic!("a device cookie: {:?}", a.set_cookies));
        for part in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=31536000"] {
            assert!(device.contains(part), "{part} in {device}");
        }
        assert!(
            !device.contains(ALICE.0),
            "the cookie does not name the account: {device}"
        );
    }
);

each_backend_with!(
    store_failures_while_signing_in_refuse_with_503_and_lock_nobody_out,
    &[],
    |p| {
        let issuer = p.issuer();
        let owner = known_browser(&issuer, ALICE).await;
        let mut owner = owner;
        for op in ["signin_read", "signin_write"] {
            let form = Form::open(&issuer, &mut owner).await;
            p.faults.fail_next(op, 1);
            let a = form.post(ALICE.0, ALICE.1).await;
            assert_eq!(a.status, 503, "{op}: {a:?}");
            assert!(!a.body.contains("injected"), "no internals: {op}");
            assert!(
                form.post(ALICE.0, ALICE.1).await.signed_in(),
                "{op}: same form"
            );
            let form = Form::open(&issuer, &mut Browser::new(&issuer)).await;
            p.faults.fail_next(op, 1);
            assert_eq!(form.post(ALICE.0, "guess").await.status, 503, "{op}");
        }
        // The failures that could not be written were not counted: all five are free, the
        // sixth (at once, through the same form) waits.
        let attacker = Form::open(&issuer, &mut Browser::new(&issuer)).await;
        for _ in 0..FREE_FAILURES {
            assert!(attacker.post(ALICE.0, "guess").await.wrong());
        }
        assert!(attacker.post(ALICE.0, ALICE.1).await.throttled());
        put_in_wait(&p, &attacker, ALICE.0, 16).await;
        assert!(attempt(&p, ALICE.0, ALICE.1).await.throttled());
        assert!(
            attempt_from(&issuer, &mut owner, ALICE.0, ALICE.1)
                .await
                .signed_in()
        );
    }
);

each_backend_with!(
    a_failure_creating_the_deployment_secret_is_retryable,
    &[],
    |p| {
        // The deployment's first sign-in makes its secret.
        let form = Form::open(&p.issuer(), &mut Browser::new(&p.issuer())).await;
        p.faults.fail_next("create_secret", 1);
        let a = form.post(ALICE.0, ALICE.1).await;
        assert_eq!(a.status, 503, "{a:?}");
        assert!(form.post(ALICE.0, ALICE.1).await.signed_in());
    }
);

// (a) An attack from 20 addresses, 1,000 wrong passwords, while the owner signs in from a
// browser that signed in before, every time; then a new browser gets in after at most the
// documented longest wait.
each_backend_with!(
    a_thousand_failures_from_twenty_addresses_never_stop_the_owners_browser,
    &[("AUTH_REQUEST_TTL_SECONDS", "86400")],
    |p| {
        let issuer = p.issuer();
        let mut owner = known_browser(&issuer, ALICE).await;
        let mut attackers = Vec::new();
        for n in 2..=21 {
            let mut b = Browser::from_address(&issuer, loopback(n));
            attackers.push(Form::open(&issuer, &mut b).await);
        }
        let started = Instant::now();
        let (mut checked, mut refused, mut owner_sign_ins) = (0, 0, 0);
        const ROUNDS: usize = 10;
        for round in 0..ROUNDS {
            if round > 0 {
                // Past the longest wait: one more guess may be checked.
                p.clock.advance(MAX_DELAY + 1);
            }
            // 100 wrong passwords, five from each address, all addresses at once; the owner
            // signs in meanwhile.
            let attack = attackers.iter().map(|f| {
                let f = f.clone();
                async move {
                    let mut answers = Vec::new();
                    for i in 0..5 {
                        answers.push(f.post(ALICE.0, &format!("guess-{round}-{i}")).await);
                    }
                    answers
                }
            });
            let (answers, signed_in) = tokio::join!(
                futures_join_all(attack),
                attempt_from(&issuer, &mut owner, ALICE.0, ALICE.1)
            );
            assert!(
                signed_in.signed_in(),
                "round {round}: the owner got {signed_in:?}"
            );
            owner_sign_ins += 1;
            for a in answers.into_iter().flatten() {
                assert!(a.wrong() || a.throttled(), "{a:?}");
                if a.wrong() {
                    checked += 1;
                } else {
                    refused += 1;
                    assert!((1..=MAX_DELAY).contains(&a.retry_after_seconds()), "{a:?}");
                }
            }
        }
        assert_eq!(checked + refused, ROUNDS * 100);
        assert_eq!(owner_sign_ins, ROUNDS);
        // Checked: the free failures, one per wait the clock jumped past, and the short
        // waits (1, 2, 4, ... s) that real time may have covered during the run.
        let real = started.elapsed().as_secs_f64();
        let short_waits = (real + 2.0).log2().ceil() as usize + 1;
        let bound = FREE_FAILURES + (ROUNDS - 1) + short_waits;
        assert!(
            checked <= bound,
            "{checked} guesses checked in {real:.0} s, at most {bound} allowed"
        );
        eprintln!("{checked} of 1000 guesses checked, {refused} refused unchecked, in {real:.0} s");

        // A new browser with the right password waits at most the documented longest wait.
        let a = attempt(&p, ALICE.0, ALICE.1).await;
        assert!(a.throttled(), "{a:?}");
        let wait = a.retry_after_seconds();
        assert!(wait <= MAX_DELAY, "{wait}");
        p.clock.advance(wait);
        assert!(attempt(&p, ALICE.0, ALICE.1).await.signed_in());
    }
);

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for (i, f) in futures.enumerate() {
        set.spawn(async move { (i, f.await) });
    }
    let mut out: Vec<(usize, F::Output)> = set.join_all().await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, o)| o).collect()
}

/// 64 attempts at once (each with its own form, opened first); their answers.
async fn burst(forms: Vec<Form>, creds: impl Fn(usize) -> (String, String)) -> Vec<Answer> {
    let attempts = forms.into_iter().enumerate().map(|(i, f)| {
        let (user, password) = creds(i);
        async move { f.post(&user, &password).await }
    });
    futures_join_all(attempts).await
}

async fn forms(issuer: &str, n: usize, address: Option<IpAddr>) -> Vec<Form> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut b = match address {
            Some(a) => Browser::from_address(issuer, a),
            None => Browser::new(issuer),
        };
        out.push(Form::open(issuer, &mut b).await);
    }
    out
}

// (b) 64 wrong passwords at once from one address never get more checked answers than its
// limit, and 64 at once for one account never more than its free failures.
each_backend_with!(
    parallel_wrong_passwords_never_exceed_a_limit_by_even_one,
    &[("SIGNIN_MAX_FAILURES_PER_IP", "10")],
    |p| {
        let issuer = p.issuer();
        let mut owner = known_browser(&issuer, ALICE).await;
        // Password spraying: 64 accounts, one address.
        let answers = burst(forms(&issuer, 64, None).await, |i| {
            (format!("spray-{i}"), "Summer2024!".into())
        })
        .await;
        let checked = answers.iter().filter(|a| a.wrong()).count();
        assert!(
            answers.iter().all(|a| a.wrong() || a.throttled()),
            "{answers:?}"
        );
        assert!(
            (1..=10).contains(&checked),
            "{checked} checked answers for a limit of 10"
        );
        assert!(
            attempt(&p, BOB.0, BOB.1).await.throttled(),
            "the address is spent"
        );
        assert!(
            attempt_from(&issuer, &mut owner, ALICE.0, ALICE.1)
                .await
                .signed_in()
        );

        // One account, from another address.
        let answers = burst(forms(&issuer, 64, Some(loopback(3))).await, |i| {
            (BOB.0.into(), format!("guess-{i}"))
        })
        .await;
        let checked = answers.iter().filter(|a| a.wrong()).count();
        assert!(
            answers.iter().all(|a| a.wrong() || a.throttled()),
            "{answers:?}"
        );
        assert!(
            (1..=FREE_FAILURES).contains(&checked),
            "{checked} checked answers for {FREE_FAILURES} free failures"
        );
        eprintln!("checked: {checked} of 64");
    }
);

// (c) 64 correct sign-ins of one account at once all succeed: from 48 new browsers (after
// two failures, so each success also ends the series) and 16 forms of a known browser.
each_backend_with!(
    sixty_four_simultaneous_correct_sign_ins_all_succeed,
    &[],
    |p| {
        let issuer = p.issuer();
        let mut known = known_browser(&issuer, ALICE).await;
        for _ in 0..2 {
            assert!(attempt(&p, ALICE.0, "typo").await.wrong());
        }
        let mut all = forms(&issuer, 48, None).await;
        for _ in 0..16 {
            all.push(Form::open(&issuer, &mut known).await);
        }
        let answers = burst(all, |_| (ALICE.0.into(), ALICE.1.into())).await;
        let refused: Vec<&Answer> = answers.iter().filter(|a| !a.signed_in()).collect();
        assert!(refused.is_empty(), "{} refused: {refused:?}", refused.len());
    }
);

/// The DynamoDB calls one sign-in post made (from the emulator's record), as
/// `operation:item kinds`, in a canonical order (calls made concurrently may arrive in
/// either order).
async fn recorded_calls(p: &Provider, after: u64) -> Option<(Vec<String>, u64)> {
    let (_, table) = p.aws.clone()?;
    let calls = e2e::emulator_calls(&table, after).await?;
    let last = calls
        .iter()
        .filter_map(|c| c["seq"].as_u64())
        .max()
        .unwrap_or(after);
    let mut shape: Vec<String> = calls
        .iter()
        .map(|c| {
            let mut items: Vec<String> = c["dynamodb"]["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    format!(
                        "{} {}",
                        i["action"].as_str().unwrap_or("?"),
                        i["kind"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            items.sort();
            format!("{}: {}", c["op"].as_str().unwrap_or("?"), items.join(", "))
        })
        .collect();
    shape.sort();
    Some((shape, last))
}

// (d) An unknown username costs exactly the store calls of an existing one: the same
// store methods, and on DynamoDB the same calls on the same kinds of items, counted at
// the emulator. (Their time is compared by `infra/bench/signin_timing.sh`.)
each_backend_with!(
    unknown_and_existing_usernames_make_the_same_store_calls,
    &[],
    |p| {
        let issuer = p.issuer();
        // The deployment secret exists and is cached, as in any running deployment.
        assert!(attempt(&p, BOB.0, BOB.1).await.signed_in());
        let aws = p.aws.is_some();
        if aws && recorded_calls(&p, 0).await.is_none() {
            assert!(
                std::env::var("OIDC_REQUIRE_AWS").as_deref() != Ok("1"),
                "the emulator records no calls: start it with MOTO_COUNT=1 (infra/with-moto.sh does)"
            );
        }
        let mut seen = Vec::new();
        for user in [ALICE.0, "mallory", "alice-unknown", BOB.0] {
            let form = Form::open(&issuer, &mut Browser::new(&issuer)).await;
            let after = recorded_calls(&p, 0).await.map_or(0, |(_, last)| last);
            p.faults.take_calls();
            let a = form.post(user, "not-the-password").await;
            assert!(a.wrong(), "{user}: {a:?}");
            let mut store_calls = p.faults.take_calls();
            store_calls.sort();
            let emulator = recorded_calls(&p, after)
                .await
                .map(|(shape, _)| shape)
                .unwrap_or_default();
            eprintln!("{user}: {store_calls:?} {emulator:?}");
            seen.push((user, store_calls, emulator));
        }
        let (_, store, emulator) = &seen[0];
        assert_eq!(
            store,
            &["signin_read", "signin_write"],
            "one read, one write (the client's name comes with the request)"
        );
        if aws && !emulator.is_empty() {
            assert_eq!(emulator.len(), 2, "{emulator:?}");
            assert!(
                emulator
                    .iter()
                    .any(|c| c.starts_with("BatchGetItem: get authreq"))
            );
        }
        for (user, s, e) in &seen[1..] {
            assert_eq!(
                (s, e),
                (store, emulator),
                "{user} costs what {} costs",
                seen[0].0
            );
        }
    }
);

/// Two providers on one DynamoDB table, as two Lambda containers are: each sees the other's
/// failures and successes, and honours the device tokens the other issued (the deployment
/// secret is the table's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_device_tokens_count_across_two_servers_sharing_the_table() {
    let aws: Vec<TestBackend> = stores()
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

        for i in 0..FREE_FAILURES {
            let issuer = if i % 2 == 0 { &ia } else { &ib };
            assert!(attempt_at(issuer, ALICE.0, "guess").await.wrong());
        }
        let attacker = Form::open(&ia, &mut Browser::new(&ia)).await;
        put_in_wait(&a, &attacker, ALICE.0, 16).await;
        let wait = attempt_at(&ib, ALICE.0, ALICE.1).await;
        assert!(wait.throttled(), "{wait:?}");

        // A success on one server ends the series the other sees (else the second failure
        // would wait at least 32 s).
        a.clock.advance(wait.retry_after_seconds());
        assert!(attempt_at(&ib, ALICE.0, ALICE.1).await.signed_in());
        for _ in 0..FREE_FAILURES {
            assert!(attacker.post(ALICE.0, "guess").await.wrong());
        }

        // A browser known to one server is known to the other.
        let known = Browser::new(&ia);
        let form = Form::open_with(known.client(), &ia).await;
        assert!(form.post(BOB.0, BOB.1).await.signed_in());
        let attacker = Form::open(&ib, &mut Browser::new(&ib)).await;
        put_in_wait(&a, &attacker, BOB.0, 16).await;
        assert!(attempt_at(&ib, BOB.0, BOB.1).await.throttled());
        let form = Form::open_with(known.client(), &ib).await;
        let a = form.post(BOB.0, BOB.1).await;
        assert!(
            a.signed_in(),
            "the other server's device token is trusted: {a:?}"
        );
    }
}
