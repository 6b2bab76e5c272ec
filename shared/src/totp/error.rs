//! What can go wrong with TOTP input that is not a code: a secret someone typed or stored,
//! or a URI too long to draw. A wrong code is no error: `verify` answers `None`.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the secret is not base32 (RFC 4648 §6: A-Z and 2-7)")]
    NotBase32,
    /// RFC 4226 §4 R6 requires at least 128 bits; above 64 bytes (the SHA-512 seed of RFC
    /// 6238 Appendix B) is no authenticator's key but a mistake or an attack on memory.
    #[error("the secret is {0} bytes long; 16 to 64 bytes are accepted")]
    SecretLength(usize),
    #[error("the otpauth URI is too long to fit in a QR code")]
    QrTooLong,
}
