//! JWS compact serialization (RFC 7515 §7.1) assembled by hand around the async `Signer`:
//! the key is never in this process in production, so no synchronous JWT library fits.
use serde_json::{Value, json};

use crate::crypto::b64url;
use crate::signer::{MAX_SIGNING_INPUT, Signer, SignerError};

pub use crate::jose::jws::{verify, verify_with_jwks};

pub async fn sign(signer: &dyn Signer, typ: &str, claims: &Value) -> Result<String, SignerError> {
    let keys = signer.public_keys().await?;
    let key = keys
        .first()
        .ok_or_else(|| SignerError::Misconfigured("no signing key".into()))?;
    let header = json!({ "alg": key.alg.as_str(), "typ": typ, "kid": key.kid });
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    if input.len() > MAX_SIGNING_INPUT {
        return Err(SignerError::Misconfigured(format!(
            "token of {} bytes exceeds the {MAX_SIGNING_INPUT}-byte signing limit; trim claims",
            input.len()
        )));
    }
    let sig = signer.sign(input.as_bytes()).await?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

/// OIDC Core §3.1.3.6 `at_hash`: the left half of the access token's hash with the ID
/// token's algorithm's hash, SHA-256 for every algorithm this provider signs with (RS256,
/// ES256).
pub fn at_hash(access_token: &str) -> String {
    let digest = crate::crypto::sha256(access_token.as_bytes());
    b64url(&digest[..digest.len() / 2])
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::signer::{Alg, Verifier, local::LocalSigner};

    #[tokio::test]
    async fn sign_then_verify_and_tamper() {
        for alg in [Alg::RS256, Alg::ES256] {
            let s = LocalSigner::generate(alg).expect("key");
            let keys = s.public_keys().await.expect("keys");
            let t = sign(&s, "JWT", &json!({"sub": "a"})).await.expect("sign");
            let (h, c) = verify(&keys, &t).expect("verifies");
            assert_eq!(h["alg"], alg.as_str());
            assert_eq!(c["sub"], "a");
            let mut parts: Vec<&str> = t.split('.').collect();
            let forged = b64url(br#"{"sub":"b"}"#);
            parts[1] = &forged;
            assert_eq!(verify(&keys, &parts.join(".")), Err("bad signature"));
            let none = format!("{}.{}.", b64url(br#"{"alg":"none","kid":"x"}"#), forged);
            assert!(verify(&keys, &none).is_err());
        }
        let s = LocalSigner::generate(Alg::ES256).expect("key");
        let big = json!({"x": "a".repeat(5000)});
        assert!(matches!(
            sign(&s, "JWT", &big).await,
            Err(SignerError::Misconfigured(_))
        ));
    }
}
