//! The end-to-end suites, one module each, linked into one test binary: each
//! binary links the whole AWS SDK, so one binary instead of seventeen saves
//! gigabytes of disk and minutes of linking on a CI machine.

mod account;
mod basic_op;
mod browser;
mod browser_federation;
mod browser_passkey;
mod browser_second_factor;
mod consent;
mod demo;
mod envelope;
mod fault_matrix;
mod federation;
mod federation_negative;
mod federation_panva;
mod grants;
mod hints;
mod iam;
mod key_rotation;
mod lambda_keys;
mod lambda_watch;
mod liveness;
mod local_server;
mod log_scan;
mod logout;
mod negative;
mod passkey_signin;
mod private_key_jwt;
mod registration;
mod resilience;
mod resource_server;
mod rp_library;
mod sessions;
mod step_up;
mod template;
mod throttling;
mod totp_signin;
