//! JWS parsing and verification: arbitrary text as a compact token into
//! `shared::jwt::verify` (the provider's own keys) and `shared::jwt::verify_with_jwks`
//! (a client's JWK Set, as used by private_key_jwt). Property: no panic, and nothing
//! verifies (the fuzzer cannot forge an RS256 signature).
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use shared::signer::{Alg, PublicKey, Verifier, local::LocalSigner};

struct Keys {
    keys: Arc<Vec<PublicKey>>,
    jwks: Value,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let signer = LocalSigner::generate(Alg::RS256).expect("signer");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let keys = rt.block_on(signer.public_keys()).expect("keys");
        let jwks = json!({"keys": [keys[0].jwk.clone()]});
        Keys { keys, jwks }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let k = keys();
    assert!(shared::jwt::verify(&k.keys, s).is_err(), "forged token verified: {s:?}");
    assert!(
        shared::jwt::verify_with_jwks(&k.jwks, s).is_err(),
        "forged token verified against the JWKS: {s:?}"
    );
});
