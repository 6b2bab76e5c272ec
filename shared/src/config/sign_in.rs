//! The sign-in's settings: its defence (`SIGNIN_*`), `PASSWORD_SIGNIN`, `SIGNIN_MIN_LEVEL`.
use super::{ConfigError, vars::Vars};
use crate::protocol::acr::Level;

/// The brute-force defence of `POST /login` (see `crate::signin` and SECURITY.md). Counts
/// live in the store, so every Lambda container sees the same ones.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInLimits {
    /// Failures of an account (from browsers it has not signed in from) that cost nothing;
    /// after each further one the next such attempt waits 1 s, 2 s, 4 s, ...
    pub free_failures: u32,
    /// ...up to this many seconds. 0: no waiting at all (the account is not counted).
    pub max_delay: i64,
    /// An account's failures are forgotten this long after its last one.
    pub failure_memory: i64,
    /// Failures from one client address (IPv6: its /64) in a window, after which browsers
    /// unknown to the account they try are refused until the window ends. 0: off.
    pub ip_failures: u32,
    pub ip_window: i64,
    /// Failures under one device token in a window, after which it no longer makes an
    /// attempt trusted until the window ends. 0: off.
    pub device_failures: u32,
    pub device_window: i64,
    /// How long a device token (and its cookie) lasts after the sign-in that issued it.
    pub device_ttl: i64,
    /// `PASSWORD_SIGNIN` (default true): whether people may sign in with a password of ours.
    /// Off, the sign-in page offers only the upstream providers and `POST /login` refuses.
    pub password: bool,
    /// `SIGNIN_MIN_LEVEL` (default password): the least level of sign-in every request
    /// needs, whatever its client or the request ask (`protocol::acr`).
    pub min_level: Level,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            free_failures: 5,
            max_delay: 15 * 60,
            failure_memory: 24 * 3600,
            ip_failures: 100,
            ip_window: 15 * 60,
            device_failures: 10,
            device_window: 3600,
            device_ttl: 365 * 86400,
            password: true,
            min_level: Level::Password,
        }
    }
}

impl SignInLimits {
    pub(super) fn read(&mut self, v: Vars) -> Result<(), ConfigError> {
        for retired in [
            "SIGNIN_MAX_FAILURES_PER_ACCOUNT",
            "SIGNIN_ACCOUNT_WINDOW_SECONDS",
        ] {
            if v.get(retired).is_some() {
                return Err(ConfigError::Invalid(
                    retired,
                    "retired: accounts are no longer locked; failures from browsers an account \
                     has not signed in from wait progressively longer instead \
                     (SIGNIN_FREE_FAILURES, SIGNIN_MAX_DELAY_SECONDS; see README)"
                        .into(),
                ));
            }
        }
        self.password = match v.get("PASSWORD_SIGNIN") {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(ConfigError::Invalid(
                    "PASSWORD_SIGNIN",
                    format!("expected true or false, got {other:?}"),
                ));
            }
        };
        self.min_level = match v.get("SIGNIN_MIN_LEVEL") {
            None => Level::Password,
            Some(name) => Level::parse(name).ok_or_else(|| {
                ConfigError::Invalid(
                    "SIGNIN_MIN_LEVEL",
                    format!("expected password, two-factor or phishing-resistant, got {name:?}"),
                )
            })?,
        };
        self.free_failures = v.count("SIGNIN_FREE_FAILURES", self.free_failures)?;
        self.max_delay = v.seconds("SIGNIN_MAX_DELAY_SECONDS", self.max_delay, (0, 86400))?;
        self.failure_memory = v.ttl("SIGNIN_FAILURE_MEMORY_SECONDS", self.failure_memory)?;
        self.ip_failures = v.count("SIGNIN_MAX_FAILURES_PER_IP", self.ip_failures)?;
        self.ip_window = v.ttl("SIGNIN_IP_WINDOW_SECONDS", self.ip_window)?;
        self.device_failures = v.count("SIGNIN_MAX_FAILURES_PER_DEVICE", self.device_failures)?;
        self.device_window = v.ttl("SIGNIN_DEVICE_WINDOW_SECONDS", self.device_window)?;
        self.device_ttl = v.seconds(
            "SIGNIN_DEVICE_TOKEN_TTL_SECONDS",
            self.device_ttl,
            (60, 400 * 86400),
        )?;
        Ok(())
    }
}
