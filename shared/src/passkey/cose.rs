//! Credential public keys as COSE_Key (RFC 9052 §7; parameters RFC 9053 §2 and §7, RSA
//! RFC 8230 §4) and the assertion signatures they verify (WebAuthn L3 §6.5.5).
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents,
};
use ciborium::value::Value;

use super::PasskeyError;
use super::cbor::{as_bytes, as_i64, int_key, lookup, read_whole};

/// COSE algorithm identifiers (IANA "COSE Algorithms"): ECDSA P-256 SHA-256, EdDSA
/// (Ed25519 here), RSASSA-PKCS1-v1_5 SHA-256.
pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;
pub const RS256: i64 = -257;

/// What `pubKeyCredParams` offers, most preferred first. §7.1 wants the key's alg to be one
/// of them; since this is also exactly what [`CoseKey::parse`] accepts, that step holds for
/// any key that parses.
pub const SUPPORTED_ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];

/// COSE_Key labels (RFC 9052 §7.1) and key-type parameters (RFC 9053 §7.1 EC2, §7.2 OKP;
/// RFC 8230 §4 RSA). The type parameters reuse negative labels per key type.
const KTY: i64 = 1;
const ALG: i64 = 3;
const CRV: i64 = -1;
const X: i64 = -2;
const Y: i64 = -3;
const RSA_N: i64 = -1;
const RSA_E: i64 = -2;

const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const KTY_RSA: i64 = 3;
const CRV_P256: i64 = 1;
const CRV_ED25519: i64 = 6;

/// aws-lc verifies PKCS#1 v1.5 with moduli of 2048 to 8192 bits; a key outside that range
/// could never sign in, so it is refused when it is registered.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// A credential public key, parsed and accepted by aws-lc.
pub(crate) struct CoseKey {
    pub alg: i64,
    key: ParsedPublicKey,
}

impl CoseKey {
    /// Parses one COSE_Key, nothing after it. §6.5.1: it "MUST contain the alg parameter";
    /// its kty and curve must be the ones that algorithm is defined for.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, PasskeyError> {
        let Value::Map(map) = read_whole(bytes, "credential public key")? else {
            return Err(PasskeyError::Malformed("credential public key"));
        };
        let int = |label| -> Result<Option<i64>, PasskeyError> {
            match lookup(&map, int_key(label), "credential public key")? {
                None => Ok(None),
                Some(v) => as_i64(v)
                    .map(Some)
                    .ok_or(PasskeyError::Malformed("credential public key")),
            }
        };
        let bytes_of = |label| -> Result<&[u8], PasskeyError> {
            lookup(&map, int_key(label), "credential public key")?
                .and_then(as_bytes)
                .ok_or(PasskeyError::InvalidKey(
                    "missing or non-byte-string parameter",
                ))
        };

        let alg = int(ALG)?.ok_or(PasskeyError::Malformed("credential public key without alg"))?;
        let kty = int(KTY)?;
        let key = match alg {
            ES256 => {
                expect_kty(kty, KTY_EC2)?;
                if int(CRV)? != Some(CRV_P256) {
                    return Err(PasskeyError::InvalidKey("ES256 needs the P-256 curve"));
                }
                let (x, y) = (bytes_of(X)?, bytes_of(Y)?);
                if x.len() != 32 || y.len() != 32 {
                    // Also refuses a compressed point (y as a boolean, RFC 9053 §7.1.1).
                    return Err(PasskeyError::InvalidKey("P-256 coordinates are 32 bytes"));
                }
                let point = [&[0x04][..], x, y].concat();
                ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
                    .map_err(|_| PasskeyError::InvalidKey("not a P-256 point"))?
            }
            EDDSA => {
                expect_kty(kty, KTY_OKP)?;
                if int(CRV)? != Some(CRV_ED25519) {
                    // Ed448 (crv 7) is EdDSA too, but aws-lc does not verify it.
                    return Err(PasskeyError::UnsupportedAlgorithm);
                }
                let x = bytes_of(X)?;
                if x.len() != 32 {
                    return Err(PasskeyError::InvalidKey("Ed25519 keys are 32 bytes"));
                }
                ParsedPublicKey::new(&ED25519, x)
                    .map_err(|_| PasskeyError::InvalidKey("not an Ed25519 key"))?
            }
            RS256 => {
                expect_kty(kty, KTY_RSA)?;
                let (n, e) = (bytes_of(RSA_N)?, bytes_of(RSA_E)?);
                check_rsa(n, e)?;
                RsaPublicKeyComponents { n, e }
                    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                    .map_err(|_| PasskeyError::InvalidKey("not an RSA key"))?
            }
            _ => return Err(PasskeyError::UnsupportedAlgorithm),
        };
        Ok(Self { alg, key })
    }

    /// §7.2: `signature` over `message` (authenticatorData ‖ SHA-256(clientDataJSON)).
    /// §6.5.5 fixes the encodings aws-lc expects here: ES256 as an ASN.1 DER Ecdsa-Sig-Value,
    /// RS256 as a bare PKCS#1 v1.5 signature, Ed25519 as its 64 raw bytes.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), PasskeyError> {
        self.key
            .verify_sig(message, signature)
            .map_err(|_| PasskeyError::BadSignature)
    }
}

fn expect_kty(kty: Option<i64>, expected: i64) -> Result<(), PasskeyError> {
    match kty {
        Some(k) if k == expected => Ok(()),
        _ => Err(PasskeyError::InvalidKey("kty does not match alg")),
    }
}

/// RFC 8230 §4: n and e are unsigned big-endian in the minimum number of octets. The
/// modulus must be 2048..=8192 bits (the floor is NIST SP 800-131A's, and the one this
/// provider sets for its own RS256 keys); the exponent odd and at least 3, and at most 32
/// bits (65537 in practice).
fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), PasskeyError> {
    let minimal = |b: &[u8]| b.first().is_some_and(|&first| first != 0);
    if !minimal(n) || !minimal(e) {
        return Err(PasskeyError::InvalidKey(
            "RSA parameters not minimally encoded",
        ));
    }
    let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
    if !RSA_BITS.contains(&bits) {
        return Err(PasskeyError::InvalidKey(
            "RSA modulus outside 2048..=8192 bits",
        ));
    }
    let exponent = match e.len() {
        1..=4 => e.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)),
        _ => return Err(PasskeyError::InvalidKey("RSA exponent too large")),
    };
    if exponent < 3 || exponent % 2 == 0 {
        return Err(PasskeyError::InvalidKey(
            "RSA exponent must be odd and at least 3",
        ));
    }
    Ok(())
}
