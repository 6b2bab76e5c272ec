//! Who may have a password checked, and what a check's outcome counts against
//! ([`crate::config::SignInLimits`]; the numbers are in README, "Sign-in defence"):
//!
//! - **trusted** attempts (a valid device token for the account typed in, whose device has
//!   fewer than `device_failures` failures in its window) are limited per device only;
//! - every other attempt for an account (the username typed, lowercased, whether or not it
//!   exists) is free for its first `free_failures` failures; after the n-th further one the
//!   next waits 2^(n-1) s, up to `max_delay`, and the series is forgotten `failure_memory`
//!   after its last failure (or at a success from such a browser);
//! - such attempts are also refused once their client address (IPv6: its /64) has
//!   `ip_failures` failures in its window.
//!
//! All of it is decided from the sign-in's one read, before argon2 runs. An attempt that
//! passes carries [`Guard`]s into the write that records its outcome, so that when parallel
//! attempts race past the read, only as many are counted (and answered) as the limits allow.
use std::{collections::HashMap, net::IpAddr};

use lambda_http::{Request, RequestExt, request::RequestContext};

use super::device::DeviceToken;
use crate::{
    config::SignInLimits,
    crypto::secret_digest,
    store::{Counter, CounterWrite, Guard, Window},
};

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`; the local
/// server puts the TCP peer there the same way). Never a header: a client can send any
/// `X-Forwarded-For` it likes.
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref()?.parse().ok(),
        _ => None,
    }
}

/// The counter key of a client address. An IPv6 client usually holds a whole /64, so that
/// is what is counted; IPv4-mapped addresses count as their IPv4 address.
fn address_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => format!("ip#{v4}"),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("ip#{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "ip#unknown".into(),
    }
}

/// The counter key of an account: a digest of the username typed, lowercased, so the store
/// holds no usernames (nor passwords typed into the username field), any length fits, and
/// an unknown username costs exactly what an existing one does.
fn account_key(username: &str) -> String {
    format!("acct#{}", secret_digest(&username.to_lowercase()))
}

fn device_key(token: &DeviceToken) -> String {
    format!("dev#{}", token.device_id())
}

/// The counters an attempt depends on, known before anything is read.
#[derive(Debug, Clone)]
pub struct Counters {
    account: Option<String>,
    address: Option<String>,
    device: Option<String>,
}

impl Counters {
    /// `token`: the device token presented for the account typed in, not yet verified.
    pub fn new(
        limits: &SignInLimits,
        username: &str,
        ip: Option<IpAddr>,
        token: Option<&DeviceToken>,
    ) -> Self {
        Self {
            account: (limits.max_delay > 0).then(|| account_key(username)),
            address: (limits.ip_failures > 0).then(|| address_key(ip)),
            device: token.filter(|_| limits.device_failures > 0).map(device_key),
        }
    }

    pub fn keys(&self) -> Vec<String> {
        [&self.account, &self.address, &self.device]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// The wait before an untrusted attempt is checked, after `failures` of the account.
pub fn wait_after(limits: &SignInLimits, failures: u32) -> i64 {
    match failures.checked_sub(limits.free_failures) {
        None => 0,
        Some(n) if n >= 32 => limits.max_delay,
        Some(n) => (1i64 << n).min(limits.max_delay),
    }
}

/// Why an attempt is refused unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// `account` (waiting after failures) or `address` (its failures in a window).
    pub limit: &'static str,
    /// Seconds until it may be tried again (Retry-After).
    pub retry_after: i64,
}

/// An attempt allowed to have its password checked, and what its outcome will count against.
#[derive(Debug, Clone)]
pub struct Checked {
    pub trusted: bool,
    guards: Vec<(Guard, Window)>,
    /// The account's live failures as read (untrusted attempts only).
    account_failures: Option<u32>,
    retry_after_lost: i64,
}

/// Decides from what the sign-in read (`read`: the counters that exist) whether the
/// attempt's password is checked, at `now_ms` (epoch milliseconds). `token_valid`: the
/// browser presented a valid device token for the account typed in.
pub fn decide(
    limits: &SignInLimits,
    counters: &Counters,
    read: &HashMap<String, Counter>,
    token_valid: bool,
    now_ms: i64,
) -> Result<Checked, Refusal> {
    let now = now_ms.div_euclid(1000);
    let guard = |key: &String, below: u32, or_unchanged: bool| Guard {
        key: key.clone(),
        read: read.get(key).copied(),
        below,
        or_unchanged,
    };
    let live = |key: &String| read.get(key).and_then(|c| c.live(now));

    // A stolen device token buys only `device_failures` guesses per window.
    let device = counters
        .device
        .as_ref()
        .map(|key| guard(key, limits.device_failures, false));
    let device_spent = device
        .as_ref()
        .is_some_and(|g| !g.holds(read.get(&g.key), now));
    if token_valid && !device_spent {
        return Ok(Checked::trusted(limits, device));
    }

    let mut guards = Vec::new();
    let mut refusal: Option<Refusal> = None;
    let mut refuse = |limit, retry_after: i64| {
        let retry_after = retry_after.max(1);
        if refusal.is_none_or(|r| r.retry_after < retry_after) {
            refusal = Some(Refusal { limit, retry_after });
        }
    };
    let mut account_failures = None;
    if let Some(key) = &counters.account {
        let failures = live(key).map_or(0, |c| c.count);
        if let Some(wait) = account_wait(limits, live(key), now_ms) {
            refuse("account", wait);
        }
        // Past the free failures, exactly one attempt per wait: the counter as read.
        guards.push((
            guard(key, limits.free_failures, true),
            Window::Sliding(limits.failure_memory),
        ));
        account_failures = Some(failures);
    }
    if let Some(key) = &counters.address
        && let Some(c) = live(key).filter(|c| c.count >= limits.ip_failures)
    {
        refuse("address", (c.expires_at - now).min(limits.ip_window));
    }
    if let Some(key) = &counters.address {
        guards.push((
            guard(key, limits.ip_failures, false),
            Window::Fixed(limits.ip_window),
        ));
    }
    if let Some(r) = refusal {
        return Err(r);
    }
    let retry_after_lost = account_failures
        .map_or(1, |n| wait_after(limits, n.saturating_add(1)))
        .max(1);
    Ok(Checked {
        trusted: false,
        guards,
        account_failures,
        retry_after_lost,
    })
}

/// Seconds the account must still wait after its failures (`c`: its live counter), if it
/// must: whole seconds, rounded up, so that waiting that long is always enough. (A parallel
/// attempt whose clock ran ahead of ours may have counted last: never more than the wait
/// itself.)
fn account_wait(limits: &SignInLimits, c: Option<Counter>, now_ms: i64) -> Option<i64> {
    let ready_at_ms = c.map_or(0, |c| {
        c.last
            .saturating_add(wait_after(limits, c.count).saturating_mul(1000))
    });
    let wait = c.map_or(0, |c| wait_after(limits, c.count));
    (now_ms < ready_at_ms).then(|| (ready_at_ms - now_ms + 999).div_euclid(1000).min(wait))
}

impl Checked {
    /// An attempt from a browser with a valid device token: only the device's own counter
    /// (its `device` guard) limits it.
    fn trusted(limits: &SignInLimits, device: Option<Guard>) -> Self {
        Checked {
            trusted: true,
            guards: device
                .map(|g| (g, Window::Fixed(limits.device_window)))
                .into_iter()
                .collect(),
            account_failures: None,
            retry_after_lost: 1,
        }
    }

    /// The write of a wrong password (or an unknown or disabled account): one more failure
    /// on every counter, each only if its guard still holds.
    pub fn on_failure(&self) -> Vec<CounterWrite> {
        self.guards
            .iter()
            .map(|(g, w)| CounterWrite::Fail(g.clone(), *w))
            .collect()
    }

    /// The write of a correct password: it counts as no failure, but must still have been
    /// within the limits when it is written; from an untrusted browser it also ends the
    /// account's series of failures, if there is one.
    pub fn on_success(&self) -> Vec<CounterWrite> {
        self.guards
            .iter()
            .map(|(g, _)| match self.account_failures {
                Some(n) if n > 0 && g.key.starts_with("acct#") => CounterWrite::Reset(g.clone()),
                _ => CounterWrite::Hold(g.clone()),
            })
            .collect()
    }

    /// The write of a correct password whose second factor is still due: nothing is
    /// reset (the guards must still hold). A password alone never clears the account's
    /// failures, or whoever has it would get a fresh series of code guesses after each.
    pub fn on_first_factor(&self) -> Vec<CounterWrite> {
        self.guards
            .iter()
            .map(|(g, _)| CounterWrite::Hold(g.clone()))
            .collect()
    }

    /// Retry-After for an attempt whose write lost to a parallel one.
    pub fn retry_after_lost(&self) -> i64 {
        self.retry_after_lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SignInLimits {
        SignInLimits {
            free_failures: 3,
            max_delay: 60,
            failure_memory: 3600,
            ip_failures: 5,
            ip_window: 900,
            device_failures: 2,
            device_window: 600,
            device_ttl: 86400,
            password: true,
            min_level: Default::default(),
        }
    }

    #[test]
    fn address_keys() {
        let key = |s: &str| address_key(Some(s.parse().expect("ip")));
        assert_eq!(key("203.0.113.7"), "ip#203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "ip#203.0.113.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "ip#2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), key("2001:db8:1:2::9"));
        assert_eq!(address_key(None), "ip#unknown");
    }

    #[test]
    fn account_keys_ignore_case_and_hide_the_name() {
        assert_eq!(account_key("Alice"), account_key("alice"));
        assert_ne!(account_key("alice"), account_key("alicf"));
        assert!(!account_key("alice").contains("alice"));
        assert_eq!(account_key(&"x".repeat(5000)).len(), 5 + 43);
    }

    #[test]
    fn the_address_comes_from_the_request_context_only() {
        use lambda_http::{Body, aws_lambda_events::apigw::ApiGatewayV2httpRequestContext};
        let mut req = Request::new(Body::Empty);
        req.headers_mut()
            .insert("x-forwarded-for", "198.51.100.1".parse().expect("header"));
        assert_eq!(client_ip(&req), None);
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.http.source_ip = Some("203.0.113.9".into());
        let req = req.with_request_context(RequestContext::ApiGatewayV2(ctx));
        assert_eq!(client_ip(&req), "203.0.113.9".parse().ok());
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_cap() {
        let l = limits();
        let waits: Vec<i64> = (0..12).map(|n| wait_after(&l, n)).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(wait_after(&l, u32::MAX), 60);
    }

    fn counters(device: bool) -> Counters {
        Counters {
            account: Some("acct#a".into()),
            address: Some("ip#1".into()),
            device: device.then(|| "dev#d".into()),
        }
    }

    fn c(count: u32, last: i64, expires_at: i64) -> Counter {
        Counter {
            count,
            last,
            expires_at,
        }
    }

    #[test]
    fn untrusted_attempts_wait_and_the_address_caps_them() {
        let (l, now) = (limits(), 10_000);
        let ms = |s: i64| s * 1000;
        // The 3rd failure (3 are free: the next waits 1 s) was 0.2 s ago: 0.8 s to wait,
        // said as 1 s.
        let read = HashMap::from([("acct#a".to_string(), c(3, ms(now) - 200, now + 3600))]);
        let r = decide(&l, &counters(false), &read, false, ms(now)).expect_err("waits");
        assert_eq!(
            r,
            Refusal {
                limit: "account",
                retry_after: 1
            }
        );
        let ok = decide(&l, &counters(false), &read, false, ms(now) + 800).expect("its turn");
        assert!(!ok.trusted);
        assert_eq!(ok.retry_after_lost(), 2, "the next wait after one more");
        assert!(matches!(ok.on_success()[0], CounterWrite::Reset(_)));
        assert!(
            ok.on_first_factor()
                .iter()
                .all(|w| matches!(w, CounterWrite::Hold(_))),
            "a right password whose code is still due resets nothing"
        );
        assert!(matches!(ok.on_success()[1], CounterWrite::Hold(_)));

        let read = HashMap::from([("ip#1".to_string(), c(5, ms(now - 5), now + 100))]);
        let r = decide(&l, &counters(false), &read, false, ms(now)).expect_err("address");
        assert_eq!(
            r,
            Refusal {
                limit: "address",
                retry_after: 100
            }
        );
        // Ended counters are as good as absent.
        let read = HashMap::from([
            ("ip#1".to_string(), c(5, ms(now - 5), now)),
            ("acct#a".to_string(), c(50, ms(now - 1), now)),
        ]);
        let ok = decide(&l, &counters(false), &read, false, ms(now)).expect("ended");
        assert!(
            ok.on_success()
                .iter()
                .all(|w| matches!(w, CounterWrite::Hold(_)))
        );
    }

    #[test]
    fn a_valid_device_token_is_trusted_until_its_device_fails_too_often() {
        let (l, now) = (limits(), 10_000);
        let now_ms = now * 1000;
        let read = HashMap::from([
            ("acct#a".to_string(), c(40, now_ms, now + 3600)),
            ("ip#1".to_string(), c(500, now_ms, now + 100)),
        ]);
        let ok = decide(&l, &counters(true), &read, true, now_ms).expect("trusted");
        assert!(ok.trusted);
        assert_eq!(ok.on_failure().len(), 1, "counts on the device only");
        assert!(
            decide(&l, &counters(true), &read, false, now_ms).is_err(),
            "an invalid token is no better than none"
        );
        let mut read = read;
        read.insert("dev#d".into(), c(2, now_ms, now + 600));
        let r = decide(&l, &counters(true), &read, true, now_ms).expect_err("spent");
        assert_eq!(r.limit, "address");
    }
}
