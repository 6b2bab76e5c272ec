//! The parsers against hostile bytes: every truncation of good input is refused, and no
//! input, random or mutated, makes them panic.
use proptest::collection::vec;
use proptest::prelude::{any, prop_assert, proptest};

use super::auth_data::AuthenticatorData;
use super::cose::CoseKey;
use super::testkit::{
    ALGS, Alg, ORIGIN, PRESENT_VERIFIED, RP_ID, Soft, attestation_object, client_data, rp,
    with_extensions,
};
use super::*;
use crate::crypto::{b64url, b64url_decode};

const CHALLENGE: [u8; 32] = [5; 32];

/// Registration authenticator data with extensions: every parser path in one buffer.
fn full_auth_data(soft: &Soft) -> Vec<u8> {
    let ext = ciborium::value::Value::Map(vec![(
        ciborium::value::Value::Text("credProps".into()),
        ciborium::value::Value::Map(vec![(
            ciborium::value::Value::Text("rk".into()),
            ciborium::value::Value::Bool(true),
        )]),
    )]);
    with_extensions(soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0), &ext)
}

#[test]
fn every_truncation_of_authenticator_data_is_refused() {
    for alg in ALGS {
        let soft = Soft::new(alg);
        let full = full_auth_data(&soft);
        assert!(AuthenticatorData::parse(&full).is_ok());
        for len in 0..full.len() {
            assert!(
                AuthenticatorData::parse(&full[..len]).is_err(),
                "{alg:?}: {len} of {} bytes accepted",
                full.len()
            );
        }
    }
}

#[test]
fn every_truncation_of_a_registration_is_refused() {
    let soft = Soft::new(Alg::Es256);
    let cd = client_data("webauthn.create", &CHALLENGE, ORIGIN);
    let ad = full_auth_data(&soft);
    let object = attestation_object("none", ciborium::value::Value::Map(vec![]), &ad);
    let good =
        RegistrationResponse::from_json(&soft.registration_json(&cd, &object)).expect("JSON");
    assert!(verify_registration(&rp(), &CHALLENGE, &good, true).is_ok());
    for len in 0..object.len() {
        let mut r = good.clone();
        r.attestation_object.truncate(len);
        assert!(matches!(
            verify_registration(&rp(), &CHALLENGE, &r, true),
            Err(PasskeyError::Malformed(_) | PasskeyError::CredentialIdTooLong)
        ));
    }
    for len in 0..cd.len() {
        let mut r = good.clone();
        r.client_data_json.truncate(len);
        assert!(verify_registration(&rp(), &CHALLENGE, &r, true).is_err());
    }
}

#[test]
fn every_truncation_of_an_assertion_is_refused() {
    let soft = Soft::new(Alg::Es256);
    let challenge = challenge();
    let c = verify_registration(&rp(), &challenge, &soft.register(&challenge), true)
        .expect("registration");
    let good = soft.assert(&CHALLENGE, 1);
    assert!(verify_assertion(&rp(), &CHALLENGE, &good, &c.public_key, 0, true).is_ok());
    for len in 0..good.authenticator_data.len() {
        let mut r = good.clone();
        r.authenticator_data.truncate(len);
        assert_eq!(
            verify_assertion(&rp(), &CHALLENGE, &r, &c.public_key, 0, true),
            Err(PasskeyError::Malformed("authenticator data"))
        );
    }
    for len in 0..c.public_key.len() {
        assert!(verify_assertion(&rp(), &CHALLENGE, &good, &c.public_key[..len], 0, true).is_err());
    }
}

#[test]
fn flipping_any_bit_of_a_registration_never_panics() {
    let soft = Soft::new(Alg::Rs256);
    let cd = client_data("webauthn.create", &CHALLENGE, ORIGIN);
    let object = attestation_object(
        "none",
        ciborium::value::Value::Map(vec![]),
        &full_auth_data(&soft),
    );
    let good =
        RegistrationResponse::from_json(&soft.registration_json(&cd, &object)).expect("JSON");
    for i in 0..object.len() * 8 {
        let mut r = good.clone();
        if let Some(b) = r.attestation_object.get_mut(i / 8) {
            *b ^= 1 << (i % 8);
        }
        let _ = verify_registration(&rp(), &CHALLENGE, &r, false);
    }
}

fn parse_everything(bytes: &[u8]) {
    let _ = AuthenticatorData::parse(bytes);
    let _ = CoseKey::parse(bytes);
    let _ = RegistrationResponse::from_json(bytes);
    let _ = AssertionResponse::from_json(bytes);
    let registration = RegistrationResponse {
        credential_id: vec![1],
        client_data_json: client_data("webauthn.create", &CHALLENGE, ORIGIN),
        attestation_object: bytes.to_vec(),
        transports: vec![],
    };
    let _ = verify_registration(&rp(), &CHALLENGE, &registration, false);
    let assertion = AssertionResponse {
        credential_id: vec![1],
        client_data_json: bytes.to_vec(),
        authenticator_data: bytes.to_vec(),
        signature: bytes.to_vec(),
        user_handle: None,
    };
    let _ = verify_assertion(&rp(), &CHALLENGE, &assertion, bytes, 0, false);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        parse_everything(&bytes);
    }

    /// Random bytes after a valid header reach the attested credential data and CBOR paths.
    #[test]
    fn random_tails_never_panic(flags in any::<u8>(), tail in vec(any::<u8>(), 0..400)) {
        let mut bytes = super::testkit::auth_data(RP_ID, flags, 1);
        bytes.extend_from_slice(&tail);
        let _ = AuthenticatorData::parse(&bytes);
        parse_everything(&bytes);
    }

    /// CBOR-looking input: a map or array header in front of random bytes.
    #[test]
    fn random_cbor_never_panics(head in 0x80u8..=0xbf, tail in vec(any::<u8>(), 0..300)) {
        let bytes = [&[head][..], &tail].concat();
        parse_everything(&bytes);
    }

    /// Random bytes, base64url-encoded as a browser would, in every member of a response:
    /// they pass the JSON and base64url layers and reach the verifiers.
    #[test]
    fn random_response_members_never_panic(
        id in vec(any::<u8>(), 1..40),
        a in vec(any::<u8>(), 0..200),
        b in vec(any::<u8>(), 0..200),
        c in vec(any::<u8>(), 0..80),
        transport in ".{0,40}",
    ) {
        let (id, a, b, c) = (b64url(&id), b64url(&a), b64url(&b), b64url(&c));
        let body = serde_json::json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": a, "attestationObject": b, "authenticatorData": b,
                "signature": c, "userHandle": c, "transports": [transport],
            },
        });
        let bytes = serde_json::to_vec(&body).expect("JSON");
        let r = RegistrationResponse::from_json(&bytes);
        prop_assert!(r.is_ok());
        if let Ok(r) = r {
            prop_assert!(verify_registration(&rp(), &CHALLENGE, &r, true).is_err());
        }
        if let Ok(r) = AssertionResponse::from_json(&bytes) {
            prop_assert!(verify_assertion(&rp(), &CHALLENGE, &r, &b64url_decode(&b).unwrap_or_default(), 0, true).is_err());
        }
    }
}
