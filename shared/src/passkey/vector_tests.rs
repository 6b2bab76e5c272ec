//! This verifier against credentials it did not make: the spec's own test vectors
//! (`vectors_data.rs`), with none attestation accepted and every other format refused.
use data_encoding::HEXLOWER;

use super::auth_data::AuthenticatorData;
use super::vectors_data::{
    CROSS_ORIGIN, LONG_ID, NONE_ES256, PACKED_ED25519, PACKED_ES384, PACKED_RS256, SELF_ES256,
    TOP_ORIGIN, Vector,
};
use super::*;

fn hex(s: &str) -> Vec<u8> {
    HEXLOWER.decode(s.as_bytes()).expect("hex")
}

fn example_org() -> RelyingParty {
    RelyingParty::from_issuer("https://example.org").expect("rp")
}

fn registration(v: &Vector) -> RegistrationResponse {
    RegistrationResponse {
        credential_id: hex(v.credential_id),
        client_data_json: hex(v.reg_client_data),
        attestation_object: hex(v.attestation_object),
        transports: vec![],
    }
}

fn assertion(v: &Vector) -> AssertionResponse {
    AssertionResponse {
        credential_id: hex(v.credential_id),
        client_data_json: hex(v.auth_client_data),
        authenticator_data: hex(v.authenticator_data),
        signature: hex(v.signature),
        user_handle: None,
    }
}

/// The credential public key inside a vector's attestation object, read without judging
/// its attestation, as a store would hold it.
fn stored_key(v: &Vector) -> Vec<u8> {
    let object: ciborium::value::Value =
        ciborium::de::from_reader(hex(v.attestation_object).as_slice()).expect("CBOR");
    let auth_data = object
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_text() == Some("authData")))
        .and_then(|(_, v)| v.as_bytes())
        .expect("authData")
        .clone();
    let parsed = AuthenticatorData::parse(&auth_data).expect("authenticator data");
    parsed.attested.expect("attested").public_key.to_vec()
}

#[test]
fn none_es256_registers_and_signs_in() {
    let v = &NONE_ES256;
    // The vector's authenticator did not verify the user (UV clear) but backed up (BE, BS).
    assert_eq!(
        verify_registration(
            &example_org(),
            &hex(v.reg_challenge),
            &registration(v),
            true
        ),
        Err(PasskeyError::UserNotVerified)
    );
    let c = verify_registration(
        &example_org(),
        &hex(v.reg_challenge),
        &registration(v),
        false,
    )
    .expect("registration");
    assert_eq!(c.credential_id, hex(v.credential_id));
    assert_eq!(c.alg, cose::ES256);
    assert_eq!(c.aaguid.to_vec(), hex("8446ccb9ab1db374750b2367ff6f3a1f"));
    assert!(c.backup_eligible && c.backed_up && !c.user_verified);

    let a = verify_assertion(
        &example_org(),
        &hex(v.auth_challenge),
        &assertion(v),
        &c.public_key,
        0,
        false,
    )
    .expect("assertion");
    assert_eq!(a.sign_count, 0);
    // The registration challenge is not the assertion's.
    assert_eq!(
        verify_assertion(
            &example_org(),
            &hex(v.reg_challenge),
            &assertion(v),
            &c.public_key,
            0,
            false
        ),
        Err(PasskeyError::ChallengeMismatch)
    );
    // And the vector is example.org's, not ours.
    assert_eq!(
        verify_registration(
            &super::testkit::rp(),
            &hex(v.reg_challenge),
            &registration(v),
            false
        ),
        Err(PasskeyError::OriginMismatch)
    );
}

#[test]
fn a_1023_byte_credential_id_registers() {
    let v = &LONG_ID;
    let c = verify_registration(
        &example_org(),
        &hex(v.reg_challenge),
        &registration(v),
        false,
    )
    .expect("registration");
    assert_eq!(c.credential_id.len(), MAX_CREDENTIAL_ID_LEN);
    let a = verify_assertion(
        &example_org(),
        &hex(v.auth_challenge),
        &assertion(v),
        &c.public_key,
        0,
        true,
    )
    .expect("assertion");
    assert!(a.user_verified);
}

#[test]
fn cross_origin_vectors_are_refused() {
    for v in [&CROSS_ORIGIN, &TOP_ORIGIN] {
        assert_eq!(
            verify_registration(
                &example_org(),
                &hex(v.reg_challenge),
                &registration(v),
                false
            ),
            Err(PasskeyError::CrossOrigin)
        );
        let a = verify_assertion(
            &example_org(),
            &hex(v.auth_challenge),
            &assertion(v),
            &stored_key(v),
            0,
            false,
        );
        assert_eq!(a, Err(PasskeyError::CrossOrigin));
    }
}

#[test]
fn attestation_other_than_none_is_refused() {
    for v in [&SELF_ES256, &PACKED_RS256, &PACKED_ED25519] {
        assert_eq!(
            verify_registration(
                &example_org(),
                &hex(v.reg_challenge),
                &registration(v),
                false
            ),
            Err(PasskeyError::UnsupportedAttestation)
        );
    }
    // ES384 is refused for its algorithm before its attestation is looked at.
    assert_eq!(
        verify_registration(
            &example_org(),
            &hex(PACKED_ES384.reg_challenge),
            &registration(&PACKED_ES384),
            false
        ),
        Err(PasskeyError::UnsupportedAlgorithm)
    );
}

#[test]
fn rs256_and_ed25519_assertions_from_the_spec_verify() {
    for v in [&SELF_ES256, &PACKED_RS256, &PACKED_ED25519] {
        let key = stored_key(v);
        let a = verify_assertion(
            &example_org(),
            &hex(v.auth_challenge),
            &assertion(v),
            &key,
            0,
            false,
        );
        assert!(a.is_ok(), "{a:?}");
        let mut forged = assertion(v);
        if let Some(b) = forged.signature.get_mut(20) {
            *b ^= 1;
        }
        assert_eq!(
            verify_assertion(
                &example_org(),
                &hex(v.auth_challenge),
                &forged,
                &key,
                0,
                false
            ),
            Err(PasskeyError::BadSignature)
        );
    }
}
