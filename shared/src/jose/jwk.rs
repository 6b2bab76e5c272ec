//! Public keys as JWKs (RFC 7517): read from a DER SubjectPublicKeyInfo (what KMS GetPublicKey and
//! aws-lc both produce), with `kid` = the RFC 7638 thumbprint.
use der::Decode;
use serde_json::{Value, json};
use spki::SubjectPublicKeyInfoRef;

use super::{Alg, KeyError};
use crate::crypto::{b64url, sha256};

const RSA_OID: &str = "1.2.840.113549.1.1.1";
const EC_OID: &str = "1.2.840.10045.2.1";
const P256_OID: &str = "1.2.840.10045.3.1.7";

#[derive(Debug, Clone)]
pub struct PublicKey {
    pub kid: String,
    pub alg: Alg,
    /// The JWK (RFC 7517) with `kid`, `alg` and `use`.
    pub jwk: Value,
    /// The key bytes aws-lc verifies with: PKCS#1 RSAPublicKey, or the uncompressed point.
    key_bytes: Vec<u8>,
    /// The SubjectPublicKeyInfo DER it was read from, to publish it to other functions.
    spki: Vec<u8>,
}

impl PublicKey {
    pub fn from_spki_der(der: &[u8], alg: Alg) -> Result<Self, KeyError> {
        let bad = KeyError;
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| bad(format!("public key is not SPKI DER: {e}")))?;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("public key bit string is not byte aligned".into()))?
            .to_vec();
        let oid = spki.algorithm.oid.to_string();
        // RFC 7638 §3.2: the required members only, lexicographic order, no whitespace.
        let (thumb_input, mut jwk) = match (alg, oid.as_str()) {
            (Alg::RS256, RSA_OID) => {
                let rsa = pkcs1::RsaPublicKey::from_der(&key_bytes)
                    .map_err(|e| bad(format!("bad RSA key: {e}")))?;
                if rsa.modulus.as_bytes().len() < 256 {
                    return Err(bad("RSA keys must be at least 2048 bits".into()));
                }
                let (n, e) = (
                    b64url(rsa.modulus.as_bytes()),
                    b64url(rsa.public_exponent.as_bytes()),
                );
                (
                    format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
                    json!({"kty": "RSA", "n": n, "e": e}),
                )
            }
            (Alg::ES256, EC_OID) => {
                let curve = spki
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| bad(format!("EC key without curve: {e}")))?
                    .to_string();
                if curve != P256_OID || key_bytes.len() != 65 || key_bytes[0] != 4 {
                    return Err(bad("ES256 needs an uncompressed P-256 key".into()));
                }
                let (x, y) = (b64url(&key_bytes[1..33]), b64url(&key_bytes[33..]));
                (
                    format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
                    json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                )
            }
            (alg, oid) => return Err(bad(format!("a {oid} key cannot sign {}", alg.as_str()))),
        };
        let kid = b64url(&sha256(thumb_input.as_bytes()));
        if let Some(o) = jwk.as_object_mut() {
            o.insert("kid".into(), json!(kid));
            o.insert("alg".into(), json!(alg.as_str()));
            o.insert("use".into(), json!("sig"));
        }
        Ok(Self {
            kid,
            alg,
            jwk,
            key_bytes,
            spki: der.to_vec(),
        })
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        aws_lc_rs::signature::UnparsedPublicKey::new(self.alg.verification(), &self.key_bytes)
            .verify(signing_input, signature)
            .is_ok()
    }
}

/// Verifies a JWS signature with a client's JWK (RFC 7517): RSA (`n`, `e`) for RS256, P-256
/// (`x`, `y`) for ES256. Any other combination does not verify.
pub fn verify_with_jwk(jwk: &serde_json::Value, alg: &str, input: &[u8], sig: &[u8]) -> bool {
    use aws_lc_rs::signature;
    let field = |k: &str| jwk[k].as_str().and_then(crate::crypto::b64url_decode);
    match (alg, jwk["kty"].as_str()) {
        ("RS256", Some("RSA")) => match (field("n"), field("e")) {
            (Some(n), Some(e)) if n.len() >= 256 => {
                signature::RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, sig)
                    .is_ok()
            }
            _ => false,
        },
        ("ES256", Some("EC")) if jwk["crv"].as_str() == Some("P-256") => {
            match (field("x"), field("y")) {
                (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                    let point = [&[4u8][..], &x, &y].concat();
                    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(input, sig)
                        .is_ok()
                }
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1's key and thumbprint, through an SPKI built from its n and e.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let der = rsa_spki(&crate::crypto::b64url_decode(n).expect("n"), &[1, 0, 1]);
        let k = PublicKey::from_spki_der(&der, Alg::RS256).expect("key");
        assert_eq!(k.kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(k.jwk["e"], "AQAB");
        assert!(PublicKey::from_spki_der(&der, Alg::ES256).is_err());
    }

    /// DER of SubjectPublicKeyInfo { rsaEncryption, RSAPublicKey { n, e } } for the test.
    fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
        fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            let len = body.len();
            if len < 128 {
                out.push(len as u8);
            } else {
                let bytes: Vec<u8> = len
                    .to_be_bytes()
                    .into_iter()
                    .skip_while(|b| *b == 0)
                    .collect();
                out.push(0x80 | bytes.len() as u8);
                out.extend(bytes);
            }
            out.extend_from_slice(body);
            out
        }
        let int = |v: &[u8]| {
            let mut b = Vec::new();
            if v[0] & 0x80 != 0 {
                b.push(0);
            }
            b.extend_from_slice(v);
            tlv(0x02, &b)
        };
        let rsa_key = tlv(0x30, &[int(n), int(e)].concat());
        let mut bits = vec![0u8];
        bits.extend(rsa_key);
        let alg_id = tlv(
            0x30,
            &[
                tlv(
                    0x06,
                    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
                ),
                vec![0x05, 0x00],
            ]
            .concat(),
        );
        tlv(0x30, &[alg_id, tlv(0x03, &bits)].concat())
    }
}
