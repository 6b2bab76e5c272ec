//! Test fixtures: upstream signing keys, tokens, discovery documents.
#![allow(clippy::expect_used)]
use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair},
};
use serde_json::{Map, Value, json};

use super::metadata::Metadata;
use crate::crypto::b64url;
use crate::jose::{Alg, PublicKey};

pub const ISSUER: &str = "https://idp.example";
pub const CLIENT: &str = "our-client";
pub const NONCE: &str = "n-0S6_WzA2Mj";
pub const NOW: i64 = 1_700_000_000;

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// An upstream's signing key.
pub struct TestKey {
    pair: Pair,
    pub alg: &'static str,
    pub kid: String,
    /// Its public JWK (with `kid`, `alg`, `use`).
    pub jwk: Value,
}

impl TestKey {
    pub fn es256(kid: &str) -> Self {
        let pair =
            EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("ec key");
        let spki = pair.public_key().as_der().expect("spki").as_ref().to_vec();
        Self::new(Pair::Ec(pair), &spki, Alg::ES256, kid)
    }

    pub fn rs256(kid: &str) -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa key");
        let spki = pair.public_key().as_der().expect("spki").as_ref().to_vec();
        Self::new(Pair::Rsa(pair), &spki, Alg::RS256, kid)
    }

    fn new(pair: Pair, spki: &[u8], alg: Alg, kid: &str) -> Self {
        let mut jwk = PublicKey::from_spki_der(spki, alg).expect("jwk").jwk;
        jwk["kid"] = json!(kid);
        TestKey {
            pair,
            alg: alg.as_str(),
            kid: kid.into(),
            jwk,
        }
    }

    /// A compact JWS of `claims` with this key's `alg` and `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg, "kid": self.kid, "typ": "JWT"}),
            claims,
        )
    }

    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", part(header), part(claims));
        let rng = SystemRandom::new();
        let sig = match &self.pair {
            Pair::Ec(k) => k
                .sign(&rng, input.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .expect("sign");
                sig
            }
        };
        format!("{input}.{}", b64url(&sig))
    }
}

pub fn part(v: &Value) -> String {
    b64url(&serde_json::to_vec(v).expect("json"))
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// Claims that pass every check against [`ISSUER`], [`CLIENT`], [`NONCE`] at [`NOW`].
pub fn good_claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "upstream-user-1", "aud": CLIENT,
        "exp": NOW + 300, "iat": NOW - 5, "nonce": NONCE,
        "email": "ada@example.com", "email_verified": true,
    })
}

/// A discovery document for `issuer`, endpoints under `base` (the fake server's address).
pub fn discovery_doc(issuer: &str, base: &str) -> Map<String, Value> {
    let v = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "authorization_response_iss_parameter_supported": true,
    });
    v.as_object().cloned().unwrap_or_default()
}

pub fn metadata(issuer: &str) -> Metadata {
    Metadata::from_document(issuer, &discovery_doc(issuer, issuer)).expect("metadata")
}
