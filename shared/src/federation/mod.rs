//! Sign-in through upstream OpenID providers ("Continue with Google").
//!
//! [`seal`] is built into every configuration (the admin tool and seed files seal client
//! secrets); the outbound OpenID client is the `federation` feature's.
pub mod seal;
