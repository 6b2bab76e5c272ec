//! The shared secret K of RFC 4226 §5.1: made here, shown once as base32 (RFC 4648 §6) in
//! the enrolment QR code and as text to type, and handed to the caller to seal and store.
use std::fmt;

use data_encoding::{BASE32_NOPAD, BASE32_NOPAD_NOCASE};

use super::TotpError;
use crate::crypto;

/// RFC 4226 §4 R6: the shared secret MUST be at least 128 bits.
pub const MIN_SECRET_BYTES: usize = 16;
/// The longest seed RFC 6238 uses (Appendix B, SHA-512); bounds what a person may paste.
pub const MAX_SECRET_BYTES: usize = 64;
/// RFC 4226 §4 R6 recommends 160 bits, the HMAC-SHA-1 output length: every authenticator
/// app accepts it, and its base32 is 32 characters with no padding to argue about.
const GENERATED_BYTES: usize = 20;

/// A TOTP shared secret. `Debug` prints `TotpSecret(<redacted>)`: a log line never holds a
/// second factor. No `Serialize`: storing it means sealing [`TotpSecret::expose`] on purpose.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A fresh secret of 160 random bits from the system RNG (RFC 4226 §4 R7: keys
    /// randomly generated).
    pub fn generate() -> TotpSecret {
        TotpSecret(crypto::random_bytes::<GENERATED_BYTES>().to_vec())
    }

    /// A secret from its raw bytes, e.g. just unsealed from the store.
    pub fn from_bytes(bytes: &[u8]) -> Result<TotpSecret, TotpError> {
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(TotpError::SecretLength(bytes.len()));
        }
        Ok(TotpSecret(bytes.to_vec()))
    }

    /// A secret as a person types or pastes it: base32 in either case, with spaces (apps
    /// and this module's own [`TotpSecret::to_base32_grouped`] show it in groups) and
    /// trailing `=` padding (RFC 4648 §6 pads; the Key Uri Format omits it) ignored.
    pub fn from_base32(typed: &str) -> Result<TotpSecret, TotpError> {
        // Refused before any allocation proportional to the input: 64 bytes are 103
        // base32 characters (RFC 4648 §6, 5 bits each).
        let limit = (MAX_SECRET_BYTES * 8).div_ceil(5);
        let mut compact = String::with_capacity(limit);
        for c in typed.chars().filter(|c| !c.is_whitespace()) {
            if compact.len() == limit {
                return Err(TotpError::SecretLength(typed.len() * 5 / 8));
            }
            compact.push(c);
        }
        let bytes = BASE32_NOPAD_NOCASE
            .decode(compact.trim_end_matches('=').as_bytes())
            .map_err(|_| TotpError::NotBase32)?;
        TotpSecret::from_bytes(&bytes)
    }

    /// Base32 without padding, as the otpauth URI's `secret` carries it (Key Uri Format).
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// Base32 in groups of four for a person to type when the QR code cannot be scanned:
    /// `ABCD EFGH ...`. [`TotpSecret::from_base32`] and authenticator apps skip the spaces.
    pub fn to_base32_grouped(&self) -> String {
        let plain = self.to_base32();
        let mut grouped = String::with_capacity(plain.len() + plain.len() / 4);
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        grouped
    }

    /// The raw key: for the HMAC, and for the caller to seal before storing it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_160_bits_and_differ() {
        let (a, b) = (TotpSecret::generate(), TotpSecret::generate());
        assert_eq!(a.expose().len(), 20);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.to_base32().len(), 32, "20 bytes need no padding");
    }

    #[test]
    fn base32_round_trip() {
        let secret = TotpSecret::generate();
        for shown in [secret.to_base32(), secret.to_base32_grouped()] {
            let back = TotpSecret::from_base32(&shown).expect("own base32");
            assert_eq!(back.expose(), secret.expose());
            let lower = TotpSecret::from_base32(&shown.to_lowercase()).expect("lowercase");
            assert_eq!(lower.expose(), secret.expose());
        }
    }

    #[test]
    fn rfc4648_vector_and_typed_forms() {
        // RFC 4648 §10: BASE32("foobar") = "MZXW6YTBOI======"; 16 bytes for our minimum.
        let key = b"foobarfoobarfoob";
        let secret = TotpSecret::from_bytes(key).expect("16 bytes");
        assert_eq!(secret.to_base32(), "MZXW6YTBOJTG633CMFZGM33PMI");
        assert_eq!(
            secret.to_base32_grouped(),
            "MZXW 6YTB OJTG 633C MFZG M33P MI"
        );
        for typed in [
            "MZXW6YTBOJTG633CMFZGM33PMI",
            "mzxw 6ytb ojtg 633c mfzg m33p mi",
            " MZXW6YTBOJTG633CMFZGM33PMI====== ",
            "MzXw\t6YtB\nOJTG633CMFZGM33PMI",
        ] {
            let parsed = TotpSecret::from_base32(typed).expect(typed);
            assert_eq!(parsed.expose(), key, "{typed:?}");
        }
    }

    #[test]
    fn refusals() {
        // Outside the alphabet: 0, 1, 8 and 9 are not base32 (RFC 4648 §6).
        assert_eq!(
            TotpSecret::from_base32("MZXW6YTBOJTG633CMFZGM33P01").map(|s| s.to_base32()),
            Err(TotpError::NotBase32)
        );
        assert!(matches!(
            TotpSecret::from_base32("JBSWY3DPEHPK3PXP"),
            Err(TotpError::SecretLength(10))
        ));
        assert!(matches!(
            TotpSecret::from_base32(""),
            Err(TotpError::SecretLength(0))
        ));
        assert!(matches!(
            TotpSecret::from_base32(&"A".repeat(10_000)),
            Err(TotpError::SecretLength(_))
        ));
        assert!(matches!(
            TotpSecret::from_bytes(&[0; 65]),
            Err(TotpError::SecretLength(65))
        ));
        assert!(TotpSecret::from_bytes(&[0; 64]).is_ok());
    }

    #[test]
    fn debug_is_redacted() {
        let secret = TotpSecret::generate();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "TotpSecret(<redacted>)");
        assert!(!shown.contains(&secret.to_base32()));
    }
}
