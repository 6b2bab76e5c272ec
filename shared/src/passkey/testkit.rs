//! A software authenticator and client for the tests: real keys (aws-lc), real CBOR
//! (ciborium), clientDataJSON and authenticator data laid out as §5.8.1 and §6.1 say, and
//! responses posted as `PublicKeyCredential.toJSON()` would post them.
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use ciborium::value::Value;
use serde_json::json;

use super::auth_data::{AT, ED, UP, UV};
use super::cbor::{encode, int};
use super::{AssertionResponse, RegistrationResponse, RelyingParty};
use crate::crypto::{b64url, sha256};

pub(super) const RP_ID: &str = "id.example.com";
pub(super) const ORIGIN: &str = "https://id.example.com";
/// The flags of an ordinary passkey ceremony: user present and verified.
pub(super) const PRESENT_VERIFIED: u8 = UP | UV;

pub(super) fn rp() -> RelyingParty {
    RelyingParty {
        id: RP_ID.into(),
        origin: ORIGIN.into(),
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Alg {
    Es256,
    Ed25519,
    Rs256,
}

pub(super) const ALGS: [Alg; 3] = [Alg::Es256, Alg::Ed25519, Alg::Rs256];

enum Key {
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rs256(RsaKeyPair),
}

/// One credential held by a software authenticator.
pub(super) struct Soft {
    key: Key,
    pub credential_id: Vec<u8>,
    pub aaguid: [u8; 16],
    pub user_handle: Vec<u8>,
}

impl Soft {
    pub(super) fn new(alg: Alg) -> Self {
        let key = match alg {
            Alg::Es256 => Key::Es256(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("P-256 key"),
            ),
            Alg::Ed25519 => Key::Ed25519(Ed25519KeyPair::generate().expect("Ed25519 key")),
            Alg::Rs256 => Key::Rs256(RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key")),
        };
        Self {
            key,
            credential_id: crate::crypto::random_bytes::<16>().to_vec(),
            aaguid: [0xaa; 16],
            user_handle: crate::crypto::random_bytes::<32>().to_vec(),
        }
    }

    /// The credential public key as a COSE_Key map (RFC 9053 §7, RFC 8230 §4).
    pub(super) fn cose_key(&self) -> Value {
        let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
        Value::Map(match &self.key {
            Key::Es256(k) => {
                let point = k.public_key().as_ref();
                vec![
                    (int(1), int(2)),
                    (int(3), int(-7)),
                    (int(-1), int(1)),
                    (int(-2), bytes(&point[1..33])),
                    (int(-3), bytes(&point[33..65])),
                ]
            }
            Key::Ed25519(k) => vec![
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (int(-2), bytes(k.public_key().as_ref())),
            ],
            Key::Rs256(k) => {
                let public = k.public_key();
                vec![
                    (int(1), int(3)),
                    (int(3), int(-257)),
                    (
                        int(-1),
                        bytes(public.modulus().big_endian_without_leading_zero()),
                    ),
                    (
                        int(-2),
                        bytes(public.exponent().big_endian_without_leading_zero()),
                    ),
                ]
            }
        })
    }

    pub(super) fn cose_key_bytes(&self) -> Vec<u8> {
        encode(&self.cose_key())
    }

    pub(super) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.key {
            Key::Es256(k) => k.sign(&rng, message).expect("sign").as_ref().to_vec(),
            Key::Ed25519(k) => k.sign(message).as_ref().to_vec(),
            Key::Rs256(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("sign");
                sig
            }
        }
    }

    /// Authenticator data with this credential attested (AT set), its key as `cose_key`.
    pub(super) fn attested_auth_data_with(
        &self,
        rp_id: &str,
        flags: u8,
        sign_count: u32,
        cose_key: &[u8],
    ) -> Vec<u8> {
        let mut out = auth_data(rp_id, flags | AT, sign_count);
        out.extend_from_slice(&self.aaguid);
        let id_len = u16::try_from(self.credential_id.len()).expect("short id");
        out.extend_from_slice(&id_len.to_be_bytes());
        out.extend_from_slice(&self.credential_id);
        out.extend_from_slice(cose_key);
        out
    }

    pub(super) fn attested_auth_data(&self, rp_id: &str, flags: u8, sign_count: u32) -> Vec<u8> {
        self.attested_auth_data_with(rp_id, flags, sign_count, &self.cose_key_bytes())
    }

    /// What a browser posts after `create()`, with `none` attestation.
    pub(super) fn registration(&self, client_data: &[u8], auth_data: &[u8]) -> Vec<u8> {
        let object = attestation_object("none", Value::Map(vec![]), auth_data);
        self.registration_json(client_data, &object)
    }

    pub(super) fn registration_json(&self, client_data: &[u8], object: &[u8]) -> Vec<u8> {
        let id = b64url(&self.credential_id);
        json_bytes(&json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(object),
                "transports": ["internal", "hybrid"],
                "publicKeyAlgorithm": -7,
            },
        }))
    }

    /// The ordinary good registration for [`rp`] and `challenge`.
    pub(super) fn register(&self, challenge: &[u8]) -> RegistrationResponse {
        let cd = client_data("webauthn.create", challenge, ORIGIN);
        let ad = self.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
        RegistrationResponse::from_json(&self.registration(&cd, &ad)).expect("registration JSON")
    }

    /// What a browser posts after `get()`: `auth_data` and `client_data` signed as §7.2
    /// verifies them.
    pub(super) fn assertion(&self, client_data: &[u8], auth_data: &[u8]) -> AssertionResponse {
        let signed = [auth_data, &sha256(client_data)].concat();
        self.assertion_with_signature(client_data, auth_data, &self.sign(&signed))
    }

    pub(super) fn assertion_with_signature(
        &self,
        client_data: &[u8],
        auth_data: &[u8],
        signature: &[u8],
    ) -> AssertionResponse {
        let id = b64url(&self.credential_id);
        let body = json_bytes(&json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(&self.user_handle),
            },
        }));
        AssertionResponse::from_json(&body).expect("assertion JSON")
    }

    /// The ordinary good assertion for [`rp`], `challenge` and counter `sign_count`.
    pub(super) fn assert(&self, challenge: &[u8], sign_count: u32) -> AssertionResponse {
        let cd = client_data("webauthn.get", challenge, ORIGIN);
        self.assertion(&cd, &auth_data(RP_ID, PRESENT_VERIFIED, sign_count))
    }
}

/// clientDataJSON as browsers serialize it (§5.8.1.1: type, challenge, origin, crossOrigin).
pub(super) fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    client_data_from(json!({
        "type": kind,
        "challenge": b64url(challenge),
        "origin": origin,
        "crossOrigin": false,
    }))
}

pub(super) fn client_data_from(value: serde_json::Value) -> Vec<u8> {
    json_bytes(&value)
}

/// The 37 fixed bytes of authenticator data (§6.1).
pub(super) fn auth_data(rp_id: &str, flags: u8, sign_count: u32) -> Vec<u8> {
    let mut out = sha256(rp_id.as_bytes());
    out.push(flags);
    out.extend_from_slice(&sign_count.to_be_bytes());
    out
}

/// `auth_data` followed by an extensions map, with ED set.
pub(super) fn with_extensions(mut auth_data: Vec<u8>, extensions: &Value) -> Vec<u8> {
    if let Some(flags) = auth_data.get_mut(32) {
        *flags |= ED;
    }
    auth_data.extend_from_slice(&encode(extensions));
    auth_data
}

/// §6.5.4: `{fmt, attStmt, authData}`.
pub(super) fn attestation_object(fmt: &str, att_stmt: Value, auth_data: &[u8]) -> Vec<u8> {
    encode(&Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text(fmt.into())),
        (Value::Text("attStmt".into()), att_stmt),
        (
            Value::Text("authData".into()),
            Value::Bytes(auth_data.to_vec()),
        ),
    ]))
}

pub(super) fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON")
}
