//! One-time codes: HOTP (RFC 4226 §5) and TOTP, which is HOTP over a time-step counter
//! (RFC 6238 §4). Pure functions of a key and a counter or a time; no clock, no store.
use std::num::NonZeroU64;

use aws_lc_rs::hmac;

/// The time step X (RFC 6238 §4.1): the default 30 seconds, the only period authenticator
/// apps reliably honour (Google Authenticator ignores `period`), and the RFC's §5.2
/// recommendation balancing security and usability.
pub const STEP: NonZeroU64 = match NonZeroU64::new(30) {
    Some(step) => step,
    None => panic!("the time step is not zero"),
};

/// The algorithm every enrolment uses: [`super::verify`] checks codes with it and
/// [`super::otpauth_uri`] tells the app to use it, so the two cannot drift apart.
pub const ALGORITHM: Algorithm = Algorithm::Sha1;
/// The number of digits every enrolment uses, for the same reason as [`ALGORITHM`].
pub const DIGITS: Digits = Digits::Six;

/// The HMAC under HOTP (RFC 4226 §5.2) and TOTP (RFC 6238 §1.2 allows SHA-256 and SHA-512).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// Every authenticator app supports it, most support nothing else: the one we enrol.
    /// HMAC-SHA-1 stays sound as a PRF (RFC 4226 Appendix A.2 and A.4); SHA-1's
    /// collision attacks do not apply to it.
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// Its name in an otpauth URI's `algorithm` parameter (Key Uri Format).
    pub fn uri_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            // The name is aws-lc's warning against SHA-1 signatures; HOTP is the legacy
            // use it allows: the HMAC key, not a collision-resistant digest, is the secret.
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// How many digits a code has. RFC 4226 §5.3 requires at least 6; 8 is the most its
/// 31-bit truncated value carries usefully and what RFC 6238's vectors use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Digits {
    /// What authenticator apps show by default and the one we enrol.
    #[default]
    Six,
    Eight,
}

impl Digits {
    pub const fn count(self) -> usize {
        match self {
            Digits::Six => 6,
            Digits::Eight => 8,
        }
    }

    /// 10^Digit, the modulus of RFC 4226 §5.3 step 3.
    fn modulus(self) -> u32 {
        match self {
            Digits::Six => 1_000_000,
            Digits::Eight => 100_000_000,
        }
    }
}

/// HOTP(K, C) (RFC 4226 §5.3): the HMAC of the 8-byte big-endian counter, dynamically
/// truncated to 31 bits, reduced to `digits` decimal digits with leading zeros kept.
pub fn hotp(key: &[u8], counter: u64, digits: Digits, alg: Algorithm) -> String {
    let value = truncate(&hmac::sign(
        &hmac::Key::new(alg.hmac(), key),
        &counter.to_be_bytes(),
    ));
    format!(
        "{:0width$}",
        value % digits.modulus(),
        width = digits.count()
    )
}

/// TOTP at a Unix time (RFC 6238 §4.2): HOTP over T = floor(unix_seconds / step), with
/// T0 = 0 as the RFC's default.
pub fn totp_at(
    key: &[u8],
    unix_seconds: u64,
    step: NonZeroU64,
    digits: Digits,
    alg: Algorithm,
) -> String {
    hotp(key, time_step(unix_seconds, step), digits, alg)
}

/// The time-step counter T of RFC 6238 §4.2. A `u64` keeps it right past 2038: the RFC's
/// §4.2 note and its 20000000000 test vector.
pub fn time_step(unix_seconds: u64, step: NonZeroU64) -> u64 {
    unix_seconds / step
}

/// Dynamic truncation (RFC 4226 §5.3): the low 4 bits of the last byte pick an offset, and
/// the 4 bytes there, with the top bit masked so the value reads the same signed or
/// unsigned, are the 31-bit result. RFC 6238 Appendix A does the same for SHA-256 and
/// SHA-512 (the offset from the *last* byte, not byte 19).
fn truncate(mac: &hmac::Tag) -> u32 {
    let mac = mac.as_ref();
    // An HMAC tag is at least 20 bytes (SHA-1) and the offset at most 15: the four bytes
    // at offset..offset + 4 always exist.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let word = [
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ];
    u32::from_be_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED20: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B's seeds: its table says "seed" for every row, but its reference
    /// code (Appendix A) keys each HMAC with a seed as long as the hash output, the ASCII
    /// 20-byte seed repeated (erratum 2866).
    fn rfc6238_seed(alg: Algorithm) -> Vec<u8> {
        let len = match alg {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        };
        SEED20.iter().copied().cycle().take(len).collect()
    }

    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, want) in (0u64..).zip(expected) {
            assert_eq!(
                hotp(SEED20, counter, Digits::Six, Algorithm::Sha1),
                want,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn rfc6238_appendix_b() {
        use Algorithm::{Sha1, Sha256, Sha512};
        let table: [(u64, u64, Algorithm, &str); 18] = [
            (59, 0x1, Sha1, "94287082"),
            (59, 0x1, Sha256, "46119246"),
            (59, 0x1, Sha512, "90693936"),
            (1111111109, 0x23523EC, Sha1, "07081804"),
            (1111111109, 0x23523EC, Sha256, "68084774"),
            (1111111109, 0x23523EC, Sha512, "25091201"),
            (1111111111, 0x23523ED, Sha1, "14050471"),
            (1111111111, 0x23523ED, Sha256, "67062674"),
            (1111111111, 0x23523ED, Sha512, "99943326"),
            (1234567890, 0x273EF07, Sha1, "89005924"),
            (1234567890, 0x273EF07, Sha256, "91819424"),
            (1234567890, 0x273EF07, Sha512, "93441116"),
            (2000000000, 0x3F940AA, Sha1, "69279037"),
            (2000000000, 0x3F940AA, Sha256, "90698825"),
            (2000000000, 0x3F940AA, Sha512, "38618901"),
            (20000000000, 0x27BC86AA, Sha1, "65353130"),
            (20000000000, 0x27BC86AA, Sha256, "77737706"),
            (20000000000, 0x27BC86AA, Sha512, "47863826"),
        ];
        for (time, t, alg, want) in table {
            assert_eq!(time_step(time, STEP), t, "T at {time}");
            let seed = rfc6238_seed(alg);
            assert_eq!(
                totp_at(&seed, time, STEP, Digits::Eight, alg),
                want,
                "{alg:?} at {time}"
            );
        }
    }

    #[test]
    fn six_digits_are_the_low_digits_of_eight() {
        // RFC 4226 §5.3 step 3 reduces the same 31-bit value: only the modulus differs.
        assert_eq!(
            totp_at(SEED20, 59, STEP, Digits::Six, Algorithm::Sha1),
            "287082"
        );
        assert_eq!(
            totp_at(SEED20, 1111111109, STEP, Digits::Six, Algorithm::Sha1),
            "081804",
            "leading zero kept"
        );
    }

    #[test]
    fn any_key_length_is_accepted() {
        // HMAC takes keys of any length (RFC 2104 §2); nothing here may panic on one.
        for len in [0, 1, 19, 64, 65, 200] {
            let key = vec![7u8; len];
            for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
                assert_eq!(hotp(&key, u64::MAX, Digits::Eight, alg).len(), 8);
            }
        }
    }
}
