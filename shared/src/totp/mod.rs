//! TOTP second factors (RFC 6238) and recovery codes.
//!
//! Pure logic, no clock and no store: the caller passes "now" (`Clock::now`) and the last
//! step a user's code was accepted at, and keeps what comes back. Enrolment is
//! [`TotpSecret::generate`], then [`otpauth_uri`] drawn by [`qr_svg`] (with
//! [`TotpSecret::to_base32_grouped`] as the typed fallback), and [`recovery_codes`] shown
//! once; sign-in is [`verify`] or, for a lost phone, [`recovery_digest`]. Every enrolment
//! uses the same parameters ([`ALGORITHM`], [`DIGITS`], [`STEP`]: SHA-1, 6 digits,
//! 30 seconds), the defaults every authenticator app understands, so none are stored.
mod code;
mod error;
mod qr;
mod recovery;
mod secret;
mod uri;
mod verify;

pub use code::{ALGORITHM, Algorithm, DIGITS, Digits, STEP, hotp, time_step, totp_at};
pub use error::TotpError;
pub use qr::{QR_SIZE_PX, qr_svg};
pub use recovery::{RECOVERY_CODE_COUNT, recovery_codes, recovery_digest};
pub use secret::{MAX_SECRET_BYTES, MIN_SECRET_BYTES, TotpSecret};
pub use uri::otpauth_uri;
pub use verify::{SKEW_STEPS, verify};
