//! Emulator discovery shared by the AWS-backed test suites.
#![allow(dead_code)] // each test crate uses a subset

use aws_config::SdkConfig;

/// The SDK configuration for the emulator, or `None` (after saying so) when no emulator is
/// configured. With `OIDC_REQUIRE_AWS=1` a missing emulator fails the test instead, so CI
/// cannot pass by skipping.
pub async fn aws(test: &str) -> Option<SdkConfig> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if endpoint.trim().is_empty() {
        if std::env::var("OIDC_REQUIRE_AWS").as_deref() == Ok("1") {
            panic!(
                "{test}: AWS_ENDPOINT_URL is not set and OIDC_REQUIRE_AWS=1 forbids skipping \
                 (run scripts via infra/with-moto.sh)"
            );
        }
        eprintln!("{test}: skipped: set AWS_ENDPOINT_URL (run scripts via infra/with-moto.sh)");
        return None;
    }
    Some(shared::aws::aws_config().await)
}

/// A name no other test (or earlier run against the same emulator) uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        shared::crypto::random_token(9).replace(['_', '-'], "x")
    )
}

/// Seconds since the epoch: records get realistic expiries.
pub fn epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
