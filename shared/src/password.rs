//! Password hashing with argon2id (OWASP's first choice), PHC strings in storage.
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use std::sync::OnceLock;

use aws_lc_rs::rand::SecureRandom;
use tokio::sync::Semaphore;

use crate::secret::Password;

/// A well-formed argon2id hash of no known password. Verifying against it when the user does
/// not exist makes "unknown user" cost the same time as "wrong password".
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bm8tc3VjaC11c2VyLXNhbHQ$K3nO0n6b1mQyS7b3oG0H5nqJdU0aYx8aHcT2fQz1o9E";

pub fn hash_password(password: &Password) -> Result<String, argon2::password_hash::Error> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&bytes)?;
    Ok(Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)?
        .to_string())
}

/// Checks `password` against `stored`, or burns the same work against a dummy hash when
/// there is no stored hash or it is no hash at all (an account without a password, made by
/// a federated sign-in): the answer takes as long as for a wrong password. Never panics on a
/// malformed stored value.
pub fn verify_password(password: &Password, stored: Option<&str>) -> bool {
    let (parsed, real) = match stored.and_then(|h| PasswordHash::new(h).ok()) {
        Some(p) => (p, true),
        None => match PasswordHash::new(DUMMY_HASH) {
            Ok(p) => (p, false),
            Err(_) => return false,
        },
    };
    let ok = Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// [`verify_password`] on the blocking thread pool, at most one per core at a time: a flood
/// of sign-ins queues here instead of occupying the threads that serve every other request
/// (and each verification's 19 MiB stays bounded). None if the verification could not run.
pub async fn verify_password_pooled(password: &Password, stored: Option<&str>) -> Option<bool> {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    });
    let _slot = slots.acquire().await.ok()?;
    let (password, stored) = (password.clone(), stored.map(str::to_owned));
    tokio::task::spawn_blocking(move || verify_password(&password, stored.as_deref()))
        .await
        .ok()
}

/// Accepts a PHC string only if it is an argon2 hash (for importing pre-hashed passwords).
pub fn is_argon2_phc(value: &str) -> bool {
    PasswordHash::new(value)
        .map(|h| h.algorithm.as_str().starts_with("argon2"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let pw = |p: &str| Password::new(p);
        let h = hash_password(&pw("s3cret pass")).expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&pw("s3cret pass"), Some(&h)));
        assert!(!verify_password(&pw("s3cret pas"), Some(&h)));
        assert!(!verify_password(&pw("anything"), None));
        assert!(!verify_password(&pw("anything"), Some("not a phc string")));
        assert!(!verify_password(&pw(""), Some("")), "an account without a password");
        assert!(is_argon2_phc(&h));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
