//! What is wrong with a setting, worded for the person who sets it.

/// A setting that is missing or invalid: its name and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    #[error("{0} is invalid: {1}")]
    Invalid(&'static str, String),
}
