//! The environment as [`super::Config`] reads it, and the number formats its settings share.
use std::collections::HashMap;

use super::ConfigError;

/// The longest lifetime a `*_TTL_SECONDS` or `*_WINDOW_SECONDS` setting may ask for: 31 days.
const MAX_TTL: i64 = 31 * 86400;

/// The variables, trimmed: a variable set to nothing (or blanks) counts as unset.
#[derive(Clone, Copy)]
pub(super) struct Vars<'a>(pub(super) &'a HashMap<String, String>);

impl<'a> Vars<'a> {
    pub(super) fn get(self, name: &str) -> Option<&'a str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// A lifetime or window: whole seconds from 1 to 31 days.
    pub(super) fn ttl(self, name: &'static str, default: i64) -> Result<i64, ConfigError> {
        self.seconds(name, default, (1, MAX_TTL))
    }

    /// Whole seconds within `range` (inclusive).
    pub(super) fn seconds(
        self,
        name: &'static str,
        default: i64,
        range: (i64, i64),
    ) -> Result<i64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (range.0..=range.1).contains(n))
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        name,
                        format!(
                            "expected seconds between {} and {}, got {v:?}",
                            range.0, range.1
                        ),
                    )
                }),
        }
    }

    /// A count of failures: 0 turns its limit off.
    pub(super) fn count(self, name: &'static str, default: u32) -> Result<u32, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 1_000_000)
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        name,
                        format!("expected a count between 0 (off) and 1000000, got {v:?}"),
                    )
                }),
        }
    }
}
