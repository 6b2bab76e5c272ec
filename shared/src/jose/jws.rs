//! Verifying compact JWS (RFC 7515 §7.1): the provider's own tokens against its published
//! keys, and clients' assertions against their registered JWK Sets.
use serde_json::Value;

use super::jwk::{PublicKey, verify_with_jwk};
use crate::crypto::b64url_decode;

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

/// [`verify`]'s answer for a token whose `kid` is not in the key set: the one failure a
/// newer key set could cure.
pub const UNKNOWN_KID: &str = "unknown kid";

/// Verifies a compact JWS against `keys` (by `kid`, with the key's own algorithm: the
/// header's `alg` must match it, so `none` and algorithm confusion are impossible) and
/// returns its header and claims. Claim checks (iss, aud, exp, …) are the caller's.
pub fn verify(keys: &[PublicKey], token: &str) -> Result<(Value, Value), &'static str> {
    let (h, p, s, header) = split(token)?;
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let key = keys.iter().find(|k| k.kid == kid).ok_or(UNKNOWN_KID)?;
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
        .any(|k| verify_with_jwk(k, alg, input, &sig));
    if !verified {
        return Err("bad signature");
    }
    b64url_decode(p)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object)
        .ok_or("malformed claims")
}
