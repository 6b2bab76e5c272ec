//! Tokens signed here with a P-256 key, for the tests of the rules and of the key reads.
use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};

use crate::KeySet;

pub const AUD: &str = "https://api.example.com";
pub const NOW: i64 = 1_800_000_000;

pub struct Signer {
    key: EcdsaKeyPair,
    kid: String,
    iss: String,
    pub set: KeySet,
}

impl Signer {
    pub fn new(iss: &str, kid: &str) -> Signer {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key");
        let mut s = Signer {
            key,
            kid: kid.into(),
            iss: iss.into(),
            set: KeySet::default(),
        };
        s.set = KeySet::from_json(s.jwks().to_string().as_bytes()).expect("set");
        s
    }

    /// The public key as a JWK Set.
    pub fn jwks(&self) -> Value {
        let point = self.key.public_key().as_ref();
        json!({"keys": [{"kid": self.kid, "kty": "EC", "crv": "P-256",
            "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..])}]})
    }

    pub fn sign(&self, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", B64.encode(sig.as_ref()))
    }

    /// An access token valid at [`NOW`], changed by `edit` (header, claims) before signing.
    pub fn token(&self, edit: impl FnOnce(&mut Value, &mut Value)) -> String {
        let mut h = json!({"alg": "ES256", "kid": self.kid, "typ": "at+jwt"});
        let mut c = json!({"iss": self.iss, "aud": AUD, "sub": "s", "client_id": "c",
            "scope": "openid orders:read", "iat": NOW - 10, "exp": NOW + 300, "jti": "j"});
        edit(&mut h, &mut c);
        self.sign(h, c)
    }
}
