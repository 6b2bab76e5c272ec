//! Time as a value: "now" is read once per request and passed down, so expiry rules are
//! testable without sleeping.
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
    /// Milliseconds since the Unix epoch: read only to stamp when a session or token began,
    /// so that ending a user's sessions (`User::end_sessions`) cannot let through something
    /// issued earlier in the same second.
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// The system clock shifted by an adjustable offset: lets end-to-end tests age codes and
/// sessions across a real HTTP boundary. Frozen, it stands still but for `advance`: a test
/// whose rule lasts one second cannot then depend on how fast a loaded machine answers.
#[derive(Default)]
pub struct OffsetClock {
    offset: AtomicI64,
    /// The instant it stopped at, in milliseconds; 0 while it runs.
    frozen_ms: AtomicI64,
}

impl OffsetClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn freeze(&self) {
        self.frozen_ms.store(SystemClock.now_ms(), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        let base = match self.frozen_ms.load(Ordering::SeqCst) {
            0 => SystemClock.now_ms(),
            frozen => frozen,
        };
        base + self.offset.load(Ordering::SeqCst) * 1000
    }
}
