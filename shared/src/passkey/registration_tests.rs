//! §7.1, one rule per test: a good registration changed in one way only.
use ciborium::value::Value;
use serde_json::json;

use super::auth_data::{BE, BS, UP, UV};
use super::cbor::{encode, int};
use super::testkit::{
    ALGS, Alg, ORIGIN, PRESENT_VERIFIED, RP_ID, Soft, attestation_object, client_data,
    client_data_from, json_bytes, rp, with_extensions,
};
use super::*;
use crate::crypto::b64url;

const CHALLENGE: [u8; 32] = [7; 32];

fn good_client_data() -> Vec<u8> {
    client_data("webauthn.create", &CHALLENGE, ORIGIN)
}

/// Verifies a registration built from `client_data` and `auth_data` (none attestation).
fn register(
    soft: &Soft,
    cd: &[u8],
    ad: &[u8],
    require_uv: bool,
) -> Result<NewCredential, PasskeyError> {
    let response = RegistrationResponse::from_json(&soft.registration(cd, ad))?;
    verify_registration(&rp(), &CHALLENGE, &response, require_uv)
}

/// A good ES256 registration with only the flags changed.
fn with_flags(flags: u8, require_uv: bool) -> Result<NewCredential, PasskeyError> {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, flags, 0);
    register(&soft, &good_client_data(), &ad, require_uv)
}

/// A good ES256 registration whose clientDataJSON is `fields` over the good members.
fn with_client_data(fields: serde_json::Value) -> Result<NewCredential, PasskeyError> {
    let mut c = json!({
        "type": "webauthn.create",
        "challenge": b64url(&CHALLENGE),
        "origin": ORIGIN,
        "crossOrigin": false,
    });
    for (k, v) in fields.as_object().cloned().unwrap_or_default() {
        c[k] = v;
    }
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    register(&soft, &client_data_from(c), &ad, true)
}

/// A good ES256 registration carrying `cose_key` as its credential public key.
fn with_key(cose_key: &Value) -> Result<NewCredential, PasskeyError> {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data_with(RP_ID, PRESENT_VERIFIED, 0, &encode(cose_key));
    register(&soft, &good_client_data(), &ad, true)
}

/// The ES256 key of a fresh credential with `label` set to `value` (added if absent).
fn es256_key_with(label: i64, value: Value) -> Value {
    let Value::Map(mut map) = Soft::new(Alg::Es256).cose_key() else {
        unreachable!("a COSE key is a map")
    };
    map.retain(|(k, _)| *k != int(label));
    map.push((int(label), value));
    Value::Map(map)
}

#[test]
fn registers_each_algorithm() {
    for alg in ALGS {
        let soft = Soft::new(alg);
        let response = soft.register(&CHALLENGE);
        let c = verify_registration(&rp(), &CHALLENGE, &response, true)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(c.credential_id, soft.credential_id);
        assert_eq!(c.public_key, soft.cose_key_bytes());
        let expected_alg = match alg {
            Alg::Es256 => cose::ES256,
            Alg::Ed25519 => cose::EDDSA,
            Alg::Rs256 => cose::RS256,
        };
        assert_eq!(c.alg, expected_alg);
        assert_eq!(c.sign_count, 0);
        assert!(c.user_verified);
        assert!(!c.backup_eligible && !c.backed_up);
        assert_eq!(c.aaguid, [0xaa; 16]);
        assert_eq!(c.transports, ["internal", "hybrid"]);
    }
}

#[test]
fn another_rp_id_is_refused() {
    for other in [
        "example.com",
        "evil.example",
        "ID.EXAMPLE.COM",
        "sub.id.example.com",
    ] {
        let soft = Soft::new(Alg::Es256);
        let ad = soft.attested_auth_data(other, PRESENT_VERIFIED, 0);
        assert_eq!(
            register(&soft, &good_client_data(), &ad, true),
            Err(PasskeyError::RpIdMismatch),
            "{other}"
        );
    }
}

#[test]
fn another_origin_is_refused() {
    for origin in [
        "http://id.example.com",
        "https://id.example.com:8443",
        "https://id.example.com:443",
        "https://login.id.example.com",
        "https://example.com",
        "https://id.example.com/",
        "https://id.example.com.evil.example",
        "HTTPS://ID.EXAMPLE.COM",
        "null",
    ] {
        assert_eq!(
            with_client_data(json!({"origin": origin})),
            Err(PasskeyError::OriginMismatch),
            "{origin}"
        );
    }
}

#[test]
fn cross_origin_is_refused() {
    assert_eq!(
        with_client_data(json!({"crossOrigin": true})),
        Err(PasskeyError::CrossOrigin)
    );
    assert_eq!(
        with_client_data(json!({"crossOrigin": true, "topOrigin": "https://evil.example"})),
        Err(PasskeyError::CrossOrigin)
    );
    // A topOrigin at all means the page was framed: refused even naming our own origin.
    assert_eq!(
        with_client_data(json!({"topOrigin": ORIGIN})),
        Err(PasskeyError::CrossOrigin)
    );
    // crossOrigin absent or null is the same as false.
    assert!(with_client_data(json!({"crossOrigin": null})).is_ok());
}

#[test]
fn other_challenges_are_refused() {
    for challenge in [
        b64url(&[8; 32]),
        b64url(&CHALLENGE[..31]),
        b64url(&[7; 33]),
        String::new(),
        format!("{}=", b64url(&CHALLENGE)),
        "not base64!".to_string(),
        // The right bytes, but with non-zero padding bits in the last character: not the
        // base64url encoding of the challenge, so refused.
        {
            let canonical = b64url(&CHALLENGE);
            format!("{}d", &canonical[..canonical.len() - 1])
        },
    ] {
        assert_eq!(
            with_client_data(json!({"challenge": challenge})),
            Err(PasskeyError::ChallengeMismatch),
            "{challenge}"
        );
    }
}

#[test]
fn an_assertion_client_data_is_refused() {
    assert_eq!(
        with_client_data(json!({"type": "webauthn.get"})),
        Err(PasskeyError::WrongType("webauthn.create"))
    );
    assert_eq!(
        with_client_data(json!({"type": "payment.get"})),
        Err(PasskeyError::WrongType("webauthn.create"))
    );
}

#[test]
fn client_data_must_be_json_with_the_members() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    for cd in [
        &b"not json"[..],
        b"{}",
        br#"{"type":"webauthn.create","origin":"https://id.example.com"}"#,
        br#"{"type":"webauthn.create","type":"webauthn.create","challenge":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc","origin":"https://id.example.com"}"#,
        br#"{"type":"webauthn.create","challenge":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc","origin":"https://id.example.com","crossOrigin":"yes"}"#,
        b"\xff\xfe",
    ] {
        assert_eq!(
            register(&soft, cd, &ad, true),
            Err(PasskeyError::Malformed("clientDataJSON"))
        );
    }
}

#[test]
fn client_data_may_start_with_a_byte_order_mark_and_carry_extra_members() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    let cd = [&b"\xEF\xBB\xBF"[..], &good_client_data()].concat();
    assert!(register(&soft, &cd, &ad, true).is_ok());
    assert!(with_client_data(json!({"extraData": "future member", "tokenBinding": {}})).is_ok());
}

#[test]
fn user_presence_is_required() {
    assert_eq!(with_flags(UV, true), Err(PasskeyError::UserNotPresent));
    assert_eq!(with_flags(UV, false), Err(PasskeyError::UserNotPresent));
}

#[test]
fn user_verification_is_required_when_asked() {
    assert_eq!(with_flags(UP, true), Err(PasskeyError::UserNotVerified));
    let c = with_flags(UP, false).expect("UV not required");
    assert!(!c.user_verified);
}

#[test]
fn backup_state_needs_backup_eligibility() {
    assert_eq!(
        with_flags(PRESENT_VERIFIED | BS, true),
        Err(PasskeyError::BackupStateWithoutEligibility)
    );
    let c = with_flags(PRESENT_VERIFIED | BE, true).expect("BE");
    assert!(c.backup_eligible && !c.backed_up);
    let c = with_flags(PRESENT_VERIFIED | BE | BS, true).expect("BE BS");
    assert!(c.backup_eligible && c.backed_up);
}

#[test]
fn only_none_attestation_is_accepted() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    let packed_self = Value::Map(vec![
        (Value::Text("alg".into()), int(-7)),
        (Value::Text("sig".into()), Value::Bytes(vec![0x30, 0x00])),
    ]);
    for (fmt, stmt) in [
        ("packed", packed_self),
        ("none", Value::Map(vec![(Value::Text("x".into()), int(1))])),
        ("None", Value::Map(vec![])),
        ("fido-u2f", Value::Map(vec![])),
        ("apple", Value::Map(vec![])),
    ] {
        let body = soft.registration_json(&good_client_data(), &attestation_object(fmt, stmt, &ad));
        let response = RegistrationResponse::from_json(&body).expect("JSON");
        assert_eq!(
            verify_registration(&rp(), &CHALLENGE, &response, true),
            Err(PasskeyError::UnsupportedAttestation),
            "{fmt}"
        );
    }
}

#[test]
fn the_attestation_object_must_be_one_well_formed_map() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    let good = attestation_object("none", Value::Map(vec![]), &ad);
    let text = |s: &str| Value::Text(s.into());
    let objects = [
        [&good[..], &[0x00]].concat(),
        good[..good.len() - 1].to_vec(),
        encode(&Value::Array(vec![])),
        // authData as text, attStmt as an array, fmt missing, a member given twice.
        encode(&Value::Map(vec![
            (text("fmt"), text("none")),
            (text("attStmt"), Value::Map(vec![])),
            (text("authData"), text("x")),
        ])),
        encode(&Value::Map(vec![
            (text("fmt"), text("none")),
            (text("attStmt"), Value::Array(vec![])),
            (text("authData"), Value::Bytes(ad.clone())),
        ])),
        encode(&Value::Map(vec![
            (text("attStmt"), Value::Map(vec![])),
            (text("authData"), Value::Bytes(ad.clone())),
        ])),
        encode(&Value::Map(vec![
            (text("fmt"), text("none")),
            (text("fmt"), text("packed")),
            (text("attStmt"), Value::Map(vec![])),
            (text("authData"), Value::Bytes(ad.clone())),
        ])),
    ];
    for object in objects {
        let body = soft.registration_json(&good_client_data(), &object);
        let response = RegistrationResponse::from_json(&body).expect("JSON");
        assert_eq!(
            verify_registration(&rp(), &CHALLENGE, &response, true),
            Err(PasskeyError::Malformed("attestationObject"))
        );
    }
}

#[test]
fn unsupported_algorithms_are_refused() {
    // ES384 (-35), PS256 (-37), Ed448 under EdDSA, ES256K (-47), an unassigned number.
    for alg in [-35, -37, -47, -65535, 0, 1] {
        assert_eq!(
            with_key(&es256_key_with(3, int(alg))),
            Err(PasskeyError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    let Value::Map(mut ed448) = Soft::new(Alg::Ed25519).cose_key() else {
        unreachable!("a COSE key is a map")
    };
    ed448.retain(|(k, _)| *k != int(-1));
    ed448.push((int(-1), int(7)));
    assert_eq!(
        with_key(&Value::Map(ed448)),
        Err(PasskeyError::UnsupportedAlgorithm)
    );
}

#[test]
fn malformed_keys_are_refused() {
    let invalid = |reason| Err(PasskeyError::InvalidKey(reason));
    assert_eq!(
        with_key(&es256_key_with(1, int(1))),
        invalid("kty does not match alg")
    );
    assert_eq!(
        with_key(&es256_key_with(-1, int(2))),
        invalid("ES256 needs the P-256 curve")
    );
    assert_eq!(
        with_key(&es256_key_with(-2, Value::Bytes(vec![1; 31]))),
        invalid("P-256 coordinates are 32 bytes")
    );
    assert_eq!(
        with_key(&es256_key_with(-3, Value::Bool(true))),
        invalid("missing or non-byte-string parameter")
    );
    assert_eq!(
        with_key(&es256_key_with(-2, Value::Bytes(vec![1; 32]))),
        invalid("not a P-256 point")
    );
    let Value::Map(mut no_alg) = Soft::new(Alg::Es256).cose_key() else {
        unreachable!("a COSE key is a map")
    };
    no_alg.retain(|(k, _)| *k != int(3));
    assert_eq!(
        with_key(&Value::Map(no_alg)),
        Err(PasskeyError::Malformed("credential public key without alg"))
    );
    assert_eq!(
        with_key(&es256_key_with(3, Value::Text("ES256".into()))),
        Err(PasskeyError::Malformed("credential public key"))
    );
    assert_eq!(
        with_key(&Value::Array(vec![])),
        Err(PasskeyError::Malformed("credential public key"))
    );
    // The same label twice: which alg counts would depend on the reader.
    let Value::Map(mut twice) = Soft::new(Alg::Es256).cose_key() else {
        unreachable!("a COSE key is a map")
    };
    twice.push((int(3), int(-8)));
    assert_eq!(
        with_key(&Value::Map(twice)),
        Err(PasskeyError::Malformed("credential public key"))
    );
}

fn rsa_key(n: Vec<u8>, e: Vec<u8>) -> Value {
    Value::Map(vec![
        (int(1), int(3)),
        (int(3), int(-257)),
        (int(-1), Value::Bytes(n)),
        (int(-2), Value::Bytes(e)),
    ])
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    let e = vec![1, 0, 1];
    let out_of_range = Err(PasskeyError::InvalidKey(
        "RSA modulus outside 2048..=8192 bits",
    ));
    // 2047 bits: 256 bytes whose top bit is clear.
    let mut n2047 = vec![0xc5; 256];
    n2047[0] = 0x7f;
    assert_eq!(with_key(&rsa_key(n2047, e.clone())), out_of_range);
    assert_eq!(with_key(&rsa_key(vec![0xc5; 128], e.clone())), out_of_range);
    assert_eq!(
        with_key(&rsa_key(vec![0xc5; 1025], e.clone())),
        out_of_range
    );
    // A leading zero byte is not the minimal encoding RFC 8230 §4 requires.
    let mut padded = vec![0];
    padded.extend_from_slice(&[0xc5; 256]);
    assert_eq!(
        with_key(&rsa_key(padded, e.clone())),
        Err(PasskeyError::InvalidKey(
            "RSA parameters not minimally encoded"
        ))
    );
    for bad_e in [vec![1], vec![2], vec![1, 0, 0], vec![1, 0, 0, 0, 1]] {
        assert!(
            matches!(
                with_key(&rsa_key(vec![0xc5; 256], bad_e)),
                Err(PasskeyError::InvalidKey(_))
            ),
            "exponent"
        );
    }
    // A real 2048-bit key passes: that is the RS256 case of `registers_each_algorithm`.
}

#[test]
fn credential_ids_longer_than_1023_bytes_are_refused() {
    let mut soft = Soft::new(Alg::Es256);
    soft.credential_id = vec![1; 1024];
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    // Refused in the JSON (rawId) before the authenticator data is even read…
    assert_eq!(
        register(&soft, &good_client_data(), &ad, true),
        Err(PasskeyError::CredentialIdTooLong)
    );
    // …and in the authenticator data whatever rawId says.
    let mut short = Soft::new(Alg::Es256);
    short.credential_id = vec![1; 16];
    let response = RegistrationResponse::from_json(&short.registration(&good_client_data(), &ad))
        .expect("JSON");
    assert_eq!(
        verify_registration(&rp(), &CHALLENGE, &response, true),
        Err(PasskeyError::CredentialIdTooLong)
    );
    // 1023 is allowed.
    soft.credential_id = vec![1; 1023];
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    assert!(register(&soft, &good_client_data(), &ad, true).is_ok());
}

#[test]
fn the_attested_credential_id_must_be_raw_id() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    let mut other = Soft::new(Alg::Es256);
    other.credential_id = vec![2; 16];
    let response = RegistrationResponse::from_json(&other.registration(&good_client_data(), &ad))
        .expect("JSON");
    assert_eq!(
        verify_registration(&rp(), &CHALLENGE, &response, true),
        Err(PasskeyError::CredentialIdMismatch)
    );
}

#[test]
fn id_must_equal_raw_id() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    let mut body: serde_json::Value =
        serde_json::from_slice(&soft.registration(&good_client_data(), &ad)).expect("JSON");
    body["id"] = json!(b64url(&[3; 16]));
    assert_eq!(
        RegistrationResponse::from_json(&json_bytes(&body)),
        Err(PasskeyError::CredentialIdMismatch)
    );
    body["id"] = json!("not base64url!");
    assert_eq!(
        RegistrationResponse::from_json(&json_bytes(&body)),
        Err(PasskeyError::Malformed("id"))
    );
}

#[test]
fn the_credential_type_must_be_public_key() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    let mut body: serde_json::Value =
        serde_json::from_slice(&soft.registration(&good_client_data(), &ad)).expect("JSON");
    body["type"] = json!("password");
    assert_eq!(
        RegistrationResponse::from_json(&json_bytes(&body)),
        Err(PasskeyError::Malformed("credential type is not public-key"))
    );
}

#[test]
fn attested_credential_data_is_required() {
    let soft = Soft::new(Alg::Es256);
    let ad = super::testkit::auth_data(RP_ID, PRESENT_VERIFIED, 0);
    assert_eq!(
        register(&soft, &good_client_data(), &ad, true),
        Err(PasskeyError::Malformed(
            "registration without attested credential data"
        ))
    );
}

#[test]
fn trailing_bytes_after_authenticator_data_are_refused() {
    let soft = Soft::new(Alg::Es256);
    let mut ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    ad.push(0);
    assert_eq!(
        register(&soft, &good_client_data(), &ad, true),
        Err(PasskeyError::Malformed(
            "trailing bytes after authenticator data"
        ))
    );
}

#[test]
fn extensions_are_read_past_and_ignored() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    let ext = Value::Map(vec![(Value::Text("credProtect".into()), int(2))]);
    let c = register(
        &soft,
        &good_client_data(),
        &with_extensions(ad.clone(), &ext),
        true,
    )
    .expect("extensions");
    assert_eq!(c.public_key, soft.cose_key_bytes());
    // ED set with nothing after the key, or with something that is not a map.
    let mut ed_only = ad.clone();
    ed_only[32] |= super::auth_data::ED;
    assert_eq!(
        register(&soft, &good_client_data(), &ed_only, true),
        Err(PasskeyError::Malformed("authenticator extensions"))
    );
    assert_eq!(
        register(
            &soft,
            &good_client_data(),
            &with_extensions(ad, &int(1)),
            true
        ),
        Err(PasskeyError::Malformed("authenticator extensions"))
    );
}

#[test]
fn transports_keep_plausible_tokens_only() {
    let soft = Soft::new(Alg::Es256);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED, 0);
    let mut body: serde_json::Value =
        serde_json::from_slice(&soft.registration(&good_client_data(), &ad)).expect("JSON");
    body["response"]["transports"] = json!([
        "usb",
        "usb",
        "smart-card",
        "",
        "NFC",
        "<script>",
        "x".repeat(33),
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g"
    ]);
    let r = RegistrationResponse::from_json(&json_bytes(&body)).expect("JSON");
    assert_eq!(
        r.transports,
        ["usb", "smart-card", "a", "b", "c", "d", "e", "f"]
    );
    body["response"]
        .as_object_mut()
        .expect("object")
        .remove("transports");
    let r = RegistrationResponse::from_json(&json_bytes(&body)).expect("JSON");
    assert!(r.transports.is_empty());
}
