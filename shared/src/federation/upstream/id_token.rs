//! Validating an upstream's ID token: OpenID Connect Core 1.0 §3.1.3.7, all of it that
//! applies to the code flow with a confidential client.
use serde_json::{Map, Value};

use super::error::{IdTokenError, printable};
use super::jwks::Jwks;
use super::metadata::{Metadata, TENANT_TEMPLATE};
use crate::crypto::{b64url_decode, constant_time_eq};
use crate::jose::jwk::verify_with_jwk;

/// The algorithms an upstream may sign with (§3.1.3.7 items 6-8): asymmetric only, so never
/// `none` and never HMAC with our client secret as the key.
pub const ALLOWED_ALGS: [&str; 2] = ["RS256", "ES256"];
/// Clock skew allowed on `exp` and `iat`, seconds.
pub const SKEW: i64 = 60;

/// Google's ID tokens may spell their issuer without the scheme (OIDC Core §15.6.2 notes
/// this for Google): accepted for this one issuer only, and reported as the canonical one.
const GOOGLE: &str = "https://accounts.google.com";
const GOOGLE_BARE: &str = "accounts.google.com";

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The discovered issuer, exactly; or an Entra `{tenantid}` template.
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce this sign-in sent in its authorization request (§3.1.2.1).
    pub nonce: &'a str,
    /// Seconds since the Unix epoch.
    pub now: i64,
    /// The metadata's `id_token_signing_alg_values_supported`: when it lists algorithms, the
    /// token's must be one of them (and of [`ALLOWED_ALGS`]).
    pub algs_supported: &'a [String],
}

impl<'a> Expect<'a> {
    pub fn new(metadata: &'a Metadata, client_id: &'a str, nonce: &'a str, now: i64) -> Self {
        Expect {
            issuer: &metadata.issuer,
            client_id,
            nonce,
            now,
            algs_supported: &metadata.id_token_signing_alg_values_supported,
        }
    }
}

/// A verified ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct IdClaims {
    /// The issuer the token was checked against: the discovered one, or for an Entra
    /// template the tenant's own. With `subject`, the key of the account link.
    pub issuer: String,
    pub subject: String,
    /// Every claim of the token, for the claim mapping.
    pub claims: Map<String, Value>,
}

/// Verifies an upstream ID token (OIDC Core §3.1.3.7) against the upstream's key set:
/// - a compact JWS (RFC 7515 §7.1) whose `alg` is RS256 or ES256 and, if the metadata lists
///   algorithms, one of those; no `crit` header (RFC 7515 §4.1.11: we understand none);
/// - signed by the key its `kid` names ([`Jwks::select`]);
/// - `iss` exactly the expected issuer (a `{tenantid}` template: with the token's `tid` in
///   place, then exactly);
/// - `aud` contains the client id; `azp` equals it when present, and is required when there
///   are several audiences;
/// - `exp` not passed and `iat` not in the future, each with [`SKEW`] seconds of skew;
/// - `nonce` present and equal to the one sent;
/// - `sub` a non-empty string of at most 255 characters (§2).
///
/// [`super::cache::UpstreamCache::verify_id_token`] wraps this with the key set's refetch on
/// an unknown `kid`.
pub fn verify_id_token(
    token: &str,
    keys: &Jwks,
    expect: &Expect<'_>,
) -> Result<IdClaims, IdTokenError> {
    let claims = verify_signature(token, keys, expect.algs_supported)?;
    let issuer = check_issuer(&claims, expect.issuer)?;
    check_audience(&claims, expect.client_id)?;
    check_times(&claims, expect.now)?;
    match claims.get("nonce") {
        None => return Err(IdTokenError::MissingNonce),
        Some(Value::String(n))
            if !expect.nonce.is_empty()
                && constant_time_eq(n.as_bytes(), expect.nonce.as_bytes()) => {}
        Some(_) => return Err(IdTokenError::WrongNonce),
    }
    let subject = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => s.clone(),
        _ => return Err(IdTokenError::Claim("sub")),
    };
    Ok(IdClaims {
        issuer,
        subject,
        claims,
    })
}

/// The header checks, the signature, and the claims as an object.
fn verify_signature(
    token: &str,
    keys: &Jwks,
    algs_supported: &[String],
) -> Result<Map<String, Value>, IdTokenError> {
    let malformed = IdTokenError::Malformed;
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three parts"));
    };
    let header = decode_object(h).ok_or(malformed("header"))?;
    if header.contains_key("crit") {
        return Err(malformed("crit header"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(malformed("no alg"))?;
    if !ALLOWED_ALGS.contains(&alg) {
        return Err(IdTokenError::Algorithm(printable(alg, 20)));
    }
    if !algs_supported.is_empty() && !algs_supported.iter().any(|a| a == alg) {
        return Err(IdTokenError::AlgorithmNotAdvertised(alg.to_owned()));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(malformed("kid")),
    };
    let key = keys.select(kid, alg)?;
    let sig = b64url_decode(s).ok_or(malformed("signature"))?;
    let input = &token.as_bytes()[..h.len() + 1 + p.len()];
    if !verify_with_jwk(key, alg, input, &sig) {
        return Err(IdTokenError::BadSignature);
    }
    decode_object(p).ok_or(malformed("claims"))
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&b64url_decode(part)?) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// §3.1.3.7 item 2, and the issuer to link accounts under.
fn check_issuer(claims: &Map<String, Value>, expected: &str) -> Result<String, IdTokenError> {
    let got = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let wanted = if expected.contains(TENANT_TEMPLATE) {
        // Entra: the tenant id is a GUID; anything that is not a plain token is refused
        // before it goes into a URL.
        let tid = claims
            .get("tid")
            .and_then(Value::as_str)
            .filter(|t| is_tenant_id(t))
            .ok_or_else(|| IdTokenError::Tenant(expected.to_owned()))?;
        expected.replace(TENANT_TEMPLATE, tid)
    } else {
        expected.to_owned()
    };
    if got == wanted || (expected == GOOGLE && got == GOOGLE_BARE) {
        Ok(wanted)
    } else {
        Err(IdTokenError::Issuer {
            expected: wanted,
            got: printable(got, 200),
        })
    }
}

pub(crate) fn is_tenant_id(t: &str) -> bool {
    (1..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// §3.1.3.7 items 3-5.
fn check_audience(claims: &Map<String, Value>, client_id: &str) -> Result<(), IdTokenError> {
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(IdTokenError::Claim("aud")),
    };
    if !audiences.contains(&client_id) {
        return Err(IdTokenError::Audience);
    }
    match claims.get("azp") {
        Some(Value::String(azp)) if azp == client_id => Ok(()),
        None if audiences.len() == 1 => Ok(()),
        _ => Err(IdTokenError::AuthorizedParty),
    }
}

/// §3.1.3.7 items 9-10: `exp` and `iat` are required (§2), numbers of seconds.
fn check_times(claims: &Map<String, Value>, now: i64) -> Result<(), IdTokenError> {
    let time = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite())
            .map(|t| t.floor() as i64)
            .ok_or(IdTokenError::Claim(name))
    };
    if now - SKEW >= time("exp")? {
        return Err(IdTokenError::Expired);
    }
    if time("iat")? > now + SKEW {
        return Err(IdTokenError::IssuedInFuture);
    }
    Ok(())
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
