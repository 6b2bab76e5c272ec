//! Signs a typical JWT signing input (~600 bytes: base64url header + RFC 9068 access-token
//! claims) as fast as one thread can, for a few seconds per algorithm, exactly the way the
//! provider's local signer does (aws-lc-rs, RSA-2048 PKCS#1 v1.5 SHA-256 and ECDSA P-256
//! SHA-256 with a fresh `SystemRandom` per signature), and prints signatures per second as
//! JSON on stdout. Also the verification rate of such a token (what userinfo and
//! introspection do per request): with `UnparsedPublicKey` as the provider calls it (the key
//! parsed on every call) and with a `ParsedPublicKey` (parsed once).
//!
//! `signrate [SECONDS_PER_ALG]` (default 3). Pin it to one core: `taskset -c 0 signrate`.
use std::time::{Duration, Instant};

use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{self, EcdsaKeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, UnparsedPublicKey},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// `base64url(header) . base64url(claims)` of an access token like the provider issues.
fn signing_input() -> String {
    let header =
        r#"{"alg":"RS256","kid":"b49smr_oo9dXk4Qfj0R3PBuNmguF0oByTgNaFYPthwo","typ":"at+jwt"}"#;
    let claims = r#"{"aud":"https://api.example.com","client_id":"bench-app","exp":1795314050,"gid":"kudHnCCG7yXjMPXYOHn_qw","iat":1795313450,"iss":"https://id.example.com","jti":"deRJ4q_xYG9iN3zvryiuWw","scope":"openid profile email offline_access api:read api:write","sub":"t99td8m69RPCn4LVVsazCA","auth_time":1795313440,"acr":"0","https://example.com/tenant":"acme","https://example.com/roles":["reader","writer"]}"#;
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// Calls `sign` until `secs` have passed; returns (signatures, elapsed seconds).
fn run(secs: f64, mut sign: impl FnMut() -> Result<usize, String>) -> Result<(u64, f64), String> {
    // Warm-up (caches, lazy tables), not counted.
    for _ in 0..50 {
        sign()?;
    }
    let limit = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut n = 0u64;
    let mut sig_len = 0usize;
    while start.elapsed() < limit {
        for _ in 0..16 {
            sig_len ^= sign()?;
        }
        n += 16;
    }
    std::hint::black_box(sig_len);
    Ok((n, start.elapsed().as_secs_f64()))
}

/// Verifications per second: (key parsed on every call, as the provider does; key parsed once).
fn verify_rates(
    secs: f64,
    alg: &'static dyn signature::VerificationAlgorithm,
    public: &[u8],
    input: &[u8],
    sig: &[u8],
) -> Result<(f64, f64), String> {
    let err = |_| "verification failed".to_string();
    let (n, t) = run(secs / 2.0, || {
        UnparsedPublicKey::new(alg, public)
            .verify(input, sig)
            .map_err(err)?;
        Ok(1)
    })?;
    let parsed = ParsedPublicKey::new(alg, public).map_err(|e| e.to_string())?;
    let (pn, pt) = run(secs / 2.0, || {
        parsed.verify_sig(input, sig).map_err(err)?;
        Ok(1)
    })?;
    Ok((n as f64 / t, pn as f64 / pt))
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("signrate: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), String> {
    let secs: f64 = match std::env::args().nth(1) {
        Some(s) => s.parse().map_err(|e| format!("seconds: {e}"))?,
        None => 3.0,
    };
    let input = signing_input();
    let err = |e: aws_lc_rs::error::Unspecified| e.to_string();

    // Same key types and calls as shared/src/signer/local.rs (signing) and
    // shared/src/signer/jwk.rs (verification).
    let rsa_der = RsaKeyPair::generate(KeySize::Rsa2048)
        .and_then(|k| k.as_der())
        .map_err(err)?;
    let rsa = RsaKeyPair::from_pkcs8(rsa_der.as_ref()).map_err(|e| e.to_string())?;
    let rsa_sig = |rng: &SystemRandom| -> Result<Vec<u8>, String> {
        let mut sig = vec![0u8; rsa.public_modulus_len()];
        rsa.sign(
            &signature::RSA_PKCS1_SHA256,
            rng,
            input.as_bytes(),
            &mut sig,
        )
        .map_err(err)?;
        Ok(sig)
    };
    let (rs_n, rs_t) = run(secs, || Ok(rsa_sig(&SystemRandom::new())?.len()))?;
    let rs_pub = rsa.public_key().as_ref().to_vec();
    let rs_verify = verify_rates(
        secs,
        &signature::RSA_PKCS1_2048_8192_SHA256,
        &rs_pub,
        input.as_bytes(),
        &rsa_sig(&SystemRandom::new())?,
    )?;

    let ec_der = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
        .and_then(|k| k.to_pkcs8v1())
        .map_err(err)?;
    let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, ec_der.as_ref())
        .map_err(|e| e.to_string())?;
    let (es_n, es_t) = run(secs, || {
        let rng = SystemRandom::new();
        let sig = ec.sign(&rng, input.as_bytes()).map_err(err)?;
        Ok(sig.as_ref().len())
    })?;
    let es_sig = ec
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(err)?;
    let es_verify = verify_rates(
        secs,
        &signature::ECDSA_P256_SHA256_FIXED,
        ec.public_key().as_ref(),
        input.as_bytes(),
        es_sig.as_ref(),
    )?;

    let out = serde_json::json!({
        "library": "aws-lc-rs",
        "signing_input_bytes": input.len(),
        "threads": 1,
        "RS256": {
            "signatures": rs_n, "seconds": rs_t, "per_second": rs_n as f64 / rs_t,
            "verify_per_second": rs_verify.0, "verify_parsed_key_per_second": rs_verify.1,
        },
        "ES256": {
            "signatures": es_n, "seconds": es_t, "per_second": es_n as f64 / es_t,
            "verify_per_second": es_verify.0, "verify_parsed_key_per_second": es_verify.1,
        },
    });
    println!("{out}");
    Ok(())
}
