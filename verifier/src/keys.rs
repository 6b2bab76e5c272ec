//! The issuer's JWK Set (RFC 7517 §5) as verification keys: RSA keys of at least 2048 bits
//! for RS256 and P-256 keys for ES256 (RFC 7518 §3.3, §3.4). Keys of other types, or for
//! another use than signatures, are skipped: a set may hold keys that are not for us.
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    RS256,
    ES256,
}

impl Alg {
    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::RS256),
            "ES256" => Some(Alg::ES256),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Key {
    kid: String,
    alg: Alg,
    /// PKCS#1 RSAPublicKey components, or the uncompressed P-256 point.
    material: Material,
}

#[derive(Debug, Clone)]
enum Material {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256(Vec<u8>),
}

/// The keys of one JWK Set that can verify a signature.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Key>,
}

fn b64(v: &Value) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(v.as_str()?).ok()
}

impl KeySet {
    /// Reads a JWK Set document (`{"keys": [...]}`).
    pub fn from_json(body: &[u8]) -> Result<KeySet, Refusal> {
        let doc: Value = serde_json::from_slice(body)
            .map_err(|_| Refusal::KeysUnavailable("the JWK Set is not JSON".into()))?;
        let keys = doc["keys"]
            .as_array()
            .ok_or_else(|| Refusal::KeysUnavailable("the JWK Set has no keys array".into()))?;
        Ok(KeySet {
            keys: keys.iter().filter_map(key).collect(),
        })
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid == kid)
    }

    /// Whether the key named `kid` signed `input` with `alg`: the header's algorithm must be
    /// the key's own (RFC 8725 §3.1), so `none`, HMAC with a public key as the secret and
    /// any other algorithm confusion cannot verify.
    pub(crate) fn verify(
        &self,
        kid: &str,
        alg: Alg,
        input: &[u8],
        sig: &[u8],
    ) -> Result<(), Refusal> {
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(Refusal::UnknownKey)?;
        if key.alg != alg {
            return Err(Refusal::AlgorithmNotAllowed);
        }
        let ok = match &key.material {
            Material::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, sig)
                .is_ok(),
            Material::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input, sig)
                    .is_ok()
            }
        };
        ok.then_some(()).ok_or(Refusal::BadSignature)
    }
}

/// One JWK as a verification key, or None when it is not one we can or may use.
fn key(jwk: &Value) -> Option<Key> {
    let kid = jwk["kid"].as_str()?.to_string();
    // RFC 7517 §4.2, §4.3: a key published for encryption does not verify signatures.
    if jwk["use"].as_str().is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = jwk["key_ops"].as_array()
        && !ops.iter().any(|o| o == "verify")
    {
        return None;
    }
    let declared = jwk["alg"].as_str();
    let (alg, material) = match jwk["kty"].as_str()? {
        "RSA" => {
            let (n, e) = (b64(&jwk["n"])?, b64(&jwk["e"])?);
            // RFC 7518 §3.3: 2048 bits at least.
            if n.len() < 256 {
                return None;
            }
            (Alg::RS256, Material::Rsa { n, e })
        }
        "EC" if jwk["crv"] == "P-256" => {
            let (x, y) = (b64(&jwk["x"])?, b64(&jwk["y"])?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            (Alg::ES256, Material::P256([&[4u8][..], &x, &y].concat()))
        }
        _ => return None,
    };
    if declared.is_some_and(|d| Alg::parse(d) != Some(alg)) {
        return None;
    }
    Some(Key { kid, alg, material })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(keys: Value) -> KeySet {
        KeySet::from_json(json!({ "keys": keys }).to_string().as_bytes()).expect("set")
    }

    #[test]
    fn only_signature_keys_of_our_algorithms_are_kept() {
        let n = URL_SAFE_NO_PAD.encode([0xab; 256]);
        let short_n = URL_SAFE_NO_PAD.encode([0xab; 128]);
        let xy = URL_SAFE_NO_PAD.encode([7; 32]);
        let s = set(json!([
            {"kid": "rsa", "kty": "RSA", "n": n, "e": "AQAB", "use": "sig", "alg": "RS256"},
            {"kid": "ec", "kty": "EC", "crv": "P-256", "x": xy, "y": xy},
            {"kid": "enc", "kty": "RSA", "n": n, "e": "AQAB", "use": "enc"},
            {"kid": "wrap", "kty": "RSA", "n": n, "e": "AQAB", "key_ops": ["wrapKey"]},
            {"kid": "short", "kty": "RSA", "n": short_n, "e": "AQAB"},
            {"kid": "p384", "kty": "EC", "crv": "P-384", "x": xy, "y": xy},
            {"kid": "liar", "kty": "RSA", "n": n, "e": "AQAB", "alg": "ES256"},
            {"kid": "hmac", "kty": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "n": n, "e": "AQAB"}
        ]));
        assert_eq!(s.kids().collect::<Vec<_>>(), ["rsa", "ec"]);
    }

    #[test]
    fn a_key_verifies_only_its_own_algorithm() {
        let xy = URL_SAFE_NO_PAD.encode([7; 32]);
        let s = set(json!([{"kid": "ec", "kty": "EC", "crv": "P-256", "x": xy, "y": xy}]));
        assert_eq!(
            s.verify("ec", Alg::RS256, b"x", b"y"),
            Err(Refusal::AlgorithmNotAllowed)
        );
        assert_eq!(
            s.verify("nope", Alg::ES256, b"x", b"y"),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            s.verify("ec", Alg::ES256, b"x", b"y"),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn a_document_that_is_not_a_key_set_is_unavailable_keys() {
        assert!(matches!(
            KeySet::from_json(b"<html>"),
            Err(Refusal::KeysUnavailable(_))
        ));
        assert!(matches!(
            KeySet::from_json(b"{}"),
            Err(Refusal::KeysUnavailable(_))
        ));
    }
}
