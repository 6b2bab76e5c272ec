//! What a sign-in attempt (`POST /login`) reads and writes: one read of everything it
//! depends on, then one atomic write of its outcome. The rules that decide are the
//! handler's (`crate::signin`); this module says what the store must do, the same way on
//! every backend: [`Guard::holds`] and [`after_failure`] are the semantics that DynamoDB's
//! condition expressions and the embedded store's write transaction both implement.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{
    model::{AuthRequest, Factors, Passkey, Session, User},
    schema,
};

/// Failed sign-ins counted under one key (`throttle#<key>`): in a fixed window (per client
/// address, per device) or in a series that each failure extends (per account).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub count: u32,
    /// When the last failure was counted (epoch milliseconds: a wait of 1 s is 1 s).
    #[serde(default)]
    pub last: i64,
    /// When the count ends (epoch seconds): from then on it is as good as absent.
    pub expires_at: i64,
}

impl schema::Expiring for Counter {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl Counter {
    /// The counter if it has not ended at `now`.
    pub fn live(self, now: i64) -> Option<Counter> {
        (!schema::expired(self.expires_at, now)).then_some(self)
    }
}

/// How a counter's end moves when a failure is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// A window of this many seconds opens with the first failure and does not move.
    Fixed(i64),
    /// The count ends this many seconds after its last failure.
    Sliding(i64),
}

/// What must still be true of a counter for an attempt to count: the attempt was let
/// through on the counter as read, and its outcome is written only if, at the moment of the
/// write, the counter still lets it through. So a burst of parallel attempts can never get
/// more checked answers than the limit allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The counter's key (without the `throttle#` prefix).
    pub key: String,
    /// The counter as read (ended ones included); None: absent.
    pub read: Option<Counter>,
    /// The attempt stands while the live count is below this...
    pub below: u32,
    /// ...or, when set, while the counter is exactly as read: the one attempt a wait lets
    /// through.
    pub or_unchanged: bool,
}

impl Guard {
    /// Whether the attempt still stands against the counter as it is at `now`.
    pub fn holds(&self, current: Option<&Counter>, now: i64) -> bool {
        match current.and_then(|c| c.live(now)) {
            None => true,
            Some(c) => c.count < self.below || (self.or_unchanged && self.unchanged(&c)),
        }
    }

    fn unchanged(&self, c: &Counter) -> bool {
        self.read
            .is_some_and(|r| r.count == c.count && r.last == c.last)
    }
}

/// The counter after one more failure at `now` (epoch seconds; `now_ms` the same instant in
/// milliseconds), or None when the attempt no longer stands. A counter read as absent or
/// live is added to as it is now (created if absent); one read as ended starts again at 1,
/// unless another attempt has started it meanwhile.
pub fn after_failure(
    guard: &Guard,
    window: Window,
    current: Option<&Counter>,
    now: i64,
    now_ms: i64,
) -> Option<Counter> {
    let end = |from: i64, len: i64| from.saturating_add(len.max(1));
    let fresh = || Counter {
        count: 1,
        last: now_ms,
        expires_at: match window {
            Window::Fixed(len) | Window::Sliding(len) => end(now, len),
        },
    };
    let read_ended = guard
        .read
        .is_some_and(|r| schema::expired(r.expires_at, now));
    match current {
        None => Some(fresh()),
        Some(c) if read_ended => schema::expired(c.expires_at, now).then(fresh),
        Some(c) if schema::expired(c.expires_at, now) => None,
        Some(c) if !guard.holds(Some(c), now) => None,
        Some(c) => Some(Counter {
            count: c.count.saturating_add(1),
            last: now_ms,
            expires_at: match window {
                Window::Fixed(_) => c.expires_at,
                Window::Sliding(len) => end(now, len),
            },
        }),
    }
}

/// One counter's part in a sign-in's write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterWrite {
    /// The attempt failed: one more failure, if the guard still holds.
    Fail(Guard, Window),
    /// The attempt succeeded: nothing is written, but the guard must still hold.
    Hold(Guard),
    /// The attempt succeeded: the counter is forgotten, if the guard still holds.
    Reset(Guard),
}

impl CounterWrite {
    pub fn guard(&self) -> &Guard {
        match self {
            CounterWrite::Fail(g, _) | CounterWrite::Hold(g) | CounterWrite::Reset(g) => g,
        }
    }
}

/// What a sign-in attempt reads, in one round trip.
#[derive(Debug, Clone)]
pub struct SignInQuery<'a> {
    pub request_id: &'a str,
    /// As typed (usernames are exact; counters use their own keys).
    pub username: &'a str,
    /// Counter keys (without the `throttle#` prefix), distinct.
    pub counters: Vec<String>,
    /// Read the deployment secret too (until it is cached).
    pub secret: bool,
    /// Read this person's factors too: the second step of a sign-in (`login::totp`).
    pub factors: Option<&'a str>,
    pub now: i64,
}

/// What [`SignInQuery`] found.
#[derive(Debug, Clone, Default)]
pub struct SignInState {
    /// The pending authorization request, unless it is missing or has expired.
    pub request: Option<AuthRequest>,
    /// The user with exactly this username.
    pub user: Option<User>,
    /// The counters that exist, ended ones included, by key.
    pub counters: HashMap<String, Counter>,
    pub secret: Option<DeploymentSecret>,
    /// The factors asked for, if the person has any.
    pub factors: Option<Factors>,
}

/// A sign-in attempt's outcome, written atomically: all of it or nothing.
#[derive(Debug, Clone)]
pub struct SignInWrite<'a> {
    pub counters: Vec<CounterWrite>,
    /// A success: the new session and the request, now signed in.
    pub session: Option<&'a Session>,
    pub request: Option<&'a AuthRequest>,
    /// A success with a passkey: the passkey as it is after this sign-in, under its own
    /// conditions (see [`PasskeyUse`]).
    pub passkey: Option<PasskeyUse<'a>>,
    /// A success with a second factor: the person's factors after it (a TOTP step used, a
    /// recovery code spent), written only on their version (`FactorStore::put_factors`), so
    /// of two sign-ins with one code, one wins.
    pub factors: Option<&'a Factors>,
    /// Epoch seconds, and the same instant in milliseconds (a failure's `last`).
    pub now: i64,
    pub now_ms: i64,
}

/// What a passkey sign-in writes besides its session, in the same transaction and only if
/// all of these still hold: the request still holds the challenge the assertion answered
/// (of two sign-ins with one assertion, one wins, even with a passkey whose counter stays
/// 0), the passkey's counter is the one it was read at (a cloned authenticator racing the
/// real one), its person's factors still list it (it was not removed meanwhile), and its
/// person exists and is not disabled.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyUse<'a> {
    pub passkey: &'a Passkey,
    pub previous_count: u32,
    /// The request's challenge as read (base64url); the request written replaces it.
    pub challenge: &'a str,
}

/// 32 random bytes made once per deployment (`secret#deployment`), never overwritten: the
/// key material of device tokens and of the account digests in the audit log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentSecret {
    /// base64url.
    pub value: String,
    pub created_at: i64,
}

impl std::fmt::Debug for DeploymentSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentSecret")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(read: Option<Counter>, below: u32, or_unchanged: bool) -> Guard {
        Guard {
            key: "k".into(),
            read,
            below,
            or_unchanged,
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
    fn a_guard_holds_under_its_limit_or_on_the_state_it_read() {
        let now = 1000;
        let g = guard(None, 3, false);
        assert!(g.holds(None, now));
        assert!(g.holds(Some(&c(2, 990, 1100)), now));
        assert!(!g.holds(Some(&c(3, 990, 1100)), now));
        assert!(g.holds(Some(&c(9, 990, 1000)), now), "an ended count");
        let read = c(7, 990, 1100);
        let g = guard(Some(read), 3, true);
        assert!(g.holds(Some(&read), now));
        assert!(
            !g.holds(Some(&c(8, 995, 1100)), now),
            "someone else counted"
        );
        assert!(g.holds(None, now), "reset meanwhile");
    }

    #[test]
    fn failures_add_to_what_is_there_now() {
        let now = 1000;
        let g = guard(None, 3, false);
        assert_eq!(
            after_failure(&g, Window::Fixed(60), None, now, now),
            Some(c(1, now, now + 60))
        );
        assert_eq!(
            after_failure(&g, Window::Fixed(60), Some(&c(2, 990, 1050)), now, now),
            Some(c(3, now, 1050)),
            "a fixed window keeps its end"
        );
        assert_eq!(
            after_failure(&g, Window::Sliding(60), Some(&c(2, 990, 1050)), now, now),
            Some(c(3, now, now + 60)),
            "a series ends after its last failure"
        );
        assert_eq!(
            after_failure(&g, Window::Fixed(60), Some(&c(3, 990, 1050)), now, now),
            None,
            "at the limit"
        );
        assert_eq!(
            after_failure(&g, Window::Fixed(60), Some(&c(3, 900, 950)), now, now),
            None,
            "read as absent, but an ended count is there: not added to"
        );
        let ended = c(3, 900, 950);
        let g = guard(Some(ended), 3, false);
        assert_eq!(
            after_failure(&g, Window::Fixed(60), Some(&ended), now, now),
            Some(c(1, now, now + 60)),
            "an ended count starts again"
        );
        assert_eq!(
            after_failure(&g, Window::Fixed(60), Some(&c(1, 999, 1059)), now, now),
            None,
            "someone else started it again first"
        );
    }
}
