//! The brute-force defence of the sign-in form (`POST /login`), built so that no one but
//! the account's owner can turn it against the owner (SECURITY.md, "Sign-in defence"):
//!
//! - a browser that has signed in as an account holds a signed **device token** for it
//!   ([`device`]); its attempts for that account are *trusted* and are limited only per
//!   device token, so failures from anywhere else never lock it out;
//! - every other attempt for the account waits progressively longer after a few free
//!   failures, and every client address has a cap on failures in a window ([`limits`]);
//!   both are checked before argon2 runs;
//! - the counts are written in the same atomic write that records the attempt, each on the
//!   condition that it still lets the attempt through, so parallel bursts cannot exceed
//!   them; a correct password never counts;
//! - the device tokens and the account digests of the audit log are keyed with a
//!   per-deployment secret ([`keys`]).
pub mod device;
pub mod keys;
pub mod limits;

pub use keys::SignInKeys;
