//! Small cryptographic helpers used across the crate (randomness, hashing, comparison).
use aws_lc_rs::{constant_time, digest, rand::SecureRandom};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};

/// Writes key material to a new file only its owner may read (0600 on unix); never
/// overwrites one (`create_new`), so two processes starting at once cannot swap keys.
pub(crate) fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(bytes)
}

/// A fresh random value, base64url without padding: `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The system RNG failing is not recoverable; aws-lc aborts rather than returning here.
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut buf);
    B64.encode(buf)
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // As in random_token: aws-lc aborts rather than fail here.
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut buf);
    buf
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

/// The storage key of a bearer secret (code, session id, client secret): its SHA-256, so a
/// read of the database never yields a usable credential.
pub fn secret_digest(secret: &str) -> String {
    B64.encode(sha256(secret.as_bytes()))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

pub fn b64url(data: &[u8]) -> String {
    B64.encode(data)
}

pub fn b64url_decode(data: &str) -> Option<Vec<u8>> {
    B64.decode(data).ok()
}

#[cfg(test)]
mod tests {
    /// aws-lc is built to seed from the OS, not CPU jitter entropy (`.cargo/config.toml`,
    /// SECURITY.md "Randomness"). `FIPS_is_entropy_cpu_jitter` is 0 exactly when aws-lc
    /// runs its opt-out source (`crypto/fipsmodule/rand/entropy/entropy_sources.c`), which
    /// it also picks by itself in snapshot VMs (`/dev/sysgenid`): there this passes anyway.
    #[test]
    fn aws_lc_seeds_from_the_os_not_cpu_jitter() {
        assert!(
            aws_lc_rs::try_fips_cpu_jitter_entropy().is_err(),
            "aws-lc was built with CPU jitter entropy: AWS_LC_SYS_NO_JITTER_ENTROPY=1 \
             (.cargo/config.toml [env]) did not reach aws-lc-sys's build script"
        );
    }
}
