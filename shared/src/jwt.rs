//! JWS compact serialization (RFC 7515 §7.1) assembled by hand around the async `Signer`:
//! the key is never in this process in production, so no synchronous JWT library fits.
use serde_json::{Value, json};

use crate::crypto::{b64url, b64url_decode};
use crate::signer::{PublicKey, Signer, SignerError};

/// KMS refuses RAW messages over 4096 bytes; the limit is enforced for every backend so a
/// token that signs locally also signs in production.
pub const MAX_SIGNING_INPUT: usize = 4096;

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

/// The three parts of a compact JWS, and its decoded header.
fn split(token: &str) -> Result<(&str, &str, &str, Value), &'static str> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS");
    };
    let header: Value = b64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("malformed header")?;
    Ok((h, p, s, header))
}

/// Verifies a compact JWS against `keys` (by `kid`, with the key's own algorithm: the
/// header's `alg` must match it, so `none` and algorithm confusion are impossible) and
/// returns its header and claims. Claim checks (iss, aud, exp, …) are the caller's.
pub fn verify(keys: &[PublicKey], token: &str) -> Result<(Value, Value), &'static str> {
    let (h, p, s, header) = split(token)?;
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let key = keys.iter().find(|k| k.kid == kid).ok_or("unknown kid")?;
    if header["alg"].as_str() != Some(key.alg.as_str()) {
        return Err("alg does not match the key");
    }
    let sig = b64url_decode(s).ok_or("malformed signature")?;
    let input_len = h.len() + 1 + p.len();
    if !key.verify(&token.as_bytes()[..input_len], &sig) {
        return Err("bad signature");
    }
    let claims: Value = b64url_decode(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(Value::is_object)
        .ok_or("malformed claims")?;
    Ok((header, claims))
}

/// Verifies a compact JWS signed by a client, with a key of its registered JWK Set: the one
/// named by `kid`, or, without a `kid`, any key that verifies. Returns the claims.
pub fn verify_with_jwks(jwks: &Value, token: &str) -> Result<Value, &'static str> {
    let (h, p, s, header) = split(token)?;
    let alg = header["alg"].as_str().ok_or("no alg")?;
    let sig = b64url_decode(s).ok_or("malformed signature")?;
    let input = &token.as_bytes()[..h.len() + 1 + p.len()];
    let keys = jwks["keys"].as_array().ok_or("client has no keys")?;
    let verified = keys
        .iter()
        .filter(|k| {
            header["kid"]
                .as_str()
                .is_none_or(|kid| k["kid"].as_str() == Some(kid))
        })
        .any(|k| crate::signer::jwk::verify_with_jwk(k, alg, input, &sig));
    if !verified {
        return Err("bad signature");
    }
    b64url_decode(p)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object)
        .ok_or("malformed claims")
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::signer::{Alg, local::LocalSigner};

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
