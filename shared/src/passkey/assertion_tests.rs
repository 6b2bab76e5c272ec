//! §7.2, one rule per test: a good assertion changed in one way only (and signed again,
//! so that the rule under test, not the signature, is what refuses it).
use serde_json::json;

use super::auth_data::{AT, BE, BS, UP, UV};
use super::cbor::int;
use super::testkit::{
    ALGS, Alg, ORIGIN, PRESENT_VERIFIED, RP_ID, Soft, auth_data, client_data, client_data_from,
    json_bytes, rp, with_extensions,
};
use super::*;
use crate::crypto::b64url;

const CHALLENGE: [u8; 32] = [9; 32];

/// A registered credential: the authenticator and what the RP stored for it.
fn registered(alg: Alg) -> (Soft, NewCredential) {
    let soft = Soft::new(alg);
    let challenge = challenge();
    let c = verify_registration(&rp(), &challenge, &soft.register(&challenge), true)
        .expect("registration");
    (soft, c)
}

fn verify(
    c: &NewCredential,
    response: &AssertionResponse,
    stored_count: u32,
    require_uv: bool,
) -> Result<Assertion, PasskeyError> {
    verify_assertion(
        &rp(),
        &CHALLENGE,
        response,
        &c.public_key,
        stored_count,
        require_uv,
    )
}

/// A good ES256 assertion with the authenticator data's flags replaced.
fn with_flags(flags: u8, require_uv: bool) -> Result<Assertion, PasskeyError> {
    let (soft, c) = registered(Alg::Es256);
    let cd = client_data("webauthn.get", &CHALLENGE, ORIGIN);
    verify(
        &c,
        &soft.assertion(&cd, &auth_data(RP_ID, flags, 1)),
        0,
        require_uv,
    )
}

/// A good ES256 assertion whose clientDataJSON is `fields` over the good members.
fn with_client_data(fields: serde_json::Value) -> Result<Assertion, PasskeyError> {
    let mut cd = json!({
        "type": "webauthn.get",
        "challenge": b64url(&CHALLENGE),
        "origin": ORIGIN,
        "crossOrigin": false,
    });
    for (k, v) in fields.as_object().cloned().unwrap_or_default() {
        cd[k] = v;
    }
    let (soft, c) = registered(Alg::Es256);
    let response = soft.assertion(
        &client_data_from(cd),
        &auth_data(RP_ID, PRESENT_VERIFIED, 1),
    );
    verify(&c, &response, 0, true)
}

#[test]
fn each_algorithm_signs_in() {
    for alg in ALGS {
        let (soft, c) = registered(alg);
        let a = verify(&c, &soft.assert(&CHALLENGE, 1), 0, true)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(
            a,
            Assertion {
                sign_count: 1,
                user_verified: true,
                backup_eligible: false,
                backed_up: false,
            }
        );
    }
}

#[test]
fn the_response_exposes_credential_id_and_user_handle() {
    let (soft, _) = registered(Alg::Es256);
    let r = soft.assert(&CHALLENGE, 0);
    assert_eq!(r.credential_id, soft.credential_id);
    assert_eq!(r.user_handle.as_deref(), Some(soft.user_handle.as_slice()));
}

#[test]
fn another_rp_id_is_refused() {
    let (soft, c) = registered(Alg::Es256);
    let cd = client_data("webauthn.get", &CHALLENGE, ORIGIN);
    for other in ["example.com", "login.id.example.com", "id.example.co"] {
        let r = soft.assertion(&cd, &auth_data(other, PRESENT_VERIFIED, 1));
        assert_eq!(
            verify(&c, &r, 0, true),
            Err(PasskeyError::RpIdMismatch),
            "{other}"
        );
    }
}

#[test]
fn another_origin_is_refused() {
    for origin in [
        "http://id.example.com",
        "https://id.example.com:444",
        "https://www.id.example.com",
        "https://example.com",
        "android:apk-key-hash:abc",
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
        with_client_data(json!({"topOrigin": "https://evil.example"})),
        Err(PasskeyError::CrossOrigin)
    );
}

#[test]
fn wrong_or_replayed_challenges_are_refused() {
    assert_eq!(
        with_client_data(json!({"challenge": b64url(&[8; 32])})),
        Err(PasskeyError::ChallengeMismatch)
    );
    // A genuine assertion made for an earlier challenge, presented again for a new one.
    let (soft, c) = registered(Alg::Es256);
    let earlier = challenge();
    let replayed = soft.assert(&earlier, 1);
    assert!(verify_assertion(&rp(), &earlier, &replayed, &c.public_key, 0, true).is_ok());
    assert_eq!(
        verify_assertion(&rp(), &challenge(), &replayed, &c.public_key, 1, true),
        Err(PasskeyError::ChallengeMismatch)
    );
}

#[test]
fn a_registration_client_data_is_refused() {
    assert_eq!(
        with_client_data(json!({"type": "webauthn.create"})),
        Err(PasskeyError::WrongType("webauthn.get"))
    );
}

#[test]
fn user_presence_is_required() {
    assert_eq!(with_flags(UV, true), Err(PasskeyError::UserNotPresent));
    assert_eq!(with_flags(0, false), Err(PasskeyError::UserNotPresent));
}

#[test]
fn user_verification_is_required_when_asked() {
    assert_eq!(with_flags(UP, true), Err(PasskeyError::UserNotVerified));
    let a = with_flags(UP, false).expect("UV not required");
    assert!(!a.user_verified);
}

#[test]
fn backup_state_needs_backup_eligibility() {
    assert_eq!(
        with_flags(PRESENT_VERIFIED | BS, true),
        Err(PasskeyError::BackupStateWithoutEligibility)
    );
    let a = with_flags(PRESENT_VERIFIED | BE | BS, true).expect("BE BS");
    assert!(a.backup_eligible && a.backed_up);
}

#[test]
fn attested_credential_data_is_refused_in_an_assertion() {
    let (soft, c) = registered(Alg::Es256);
    let cd = client_data("webauthn.get", &CHALLENGE, ORIGIN);
    let ad = soft.attested_auth_data(RP_ID, PRESENT_VERIFIED | AT, 1);
    assert_eq!(
        verify(&c, &soft.assertion(&cd, &ad), 0, true),
        Err(PasskeyError::Malformed(
            "attested credential data in an assertion"
        ))
    );
}

#[test]
fn extension_outputs_are_signed_over_and_ignored() {
    let (soft, c) = registered(Alg::Ed25519);
    let cd = client_data("webauthn.get", &CHALLENGE, ORIGIN);
    let ext = ciborium::value::Value::Map(vec![(
        ciborium::value::Value::Text("example".into()),
        ciborium::value::Value::Bool(true),
    )]);
    let ad = with_extensions(auth_data(RP_ID, PRESENT_VERIFIED, 3), &ext);
    assert_eq!(
        verify(&c, &soft.assertion(&cd, &ad), 2, true).map(|a| a.sign_count),
        Ok(3)
    );
}

#[test]
fn the_signature_counter_must_increase() {
    let (soft, c) = registered(Alg::Es256);
    let at = |received| verify(&c, &soft.assert(&CHALLENGE, received), 5, true);
    assert_eq!(
        at(4),
        Err(PasskeyError::CounterRegressed {
            stored: 5,
            received: 4
        })
    );
    assert_eq!(
        at(5),
        Err(PasskeyError::CounterRegressed {
            stored: 5,
            received: 5
        })
    );
    // An authenticator that stops counting after having counted is a regression too.
    assert_eq!(
        at(0),
        Err(PasskeyError::CounterRegressed {
            stored: 5,
            received: 0
        })
    );
    assert_eq!(at(6).map(|a| a.sign_count), Ok(6));
    assert_eq!(at(u32::MAX).map(|a| a.sign_count), Ok(u32::MAX));
}

#[test]
fn a_counter_that_stays_zero_is_no_counter() {
    // §6.1.1: authenticators without a counter (synced passkeys) leave it at zero.
    let (soft, c) = registered(Alg::Es256);
    assert_eq!(
        verify(&c, &soft.assert(&CHALLENGE, 0), 0, true).map(|a| a.sign_count),
        Ok(0)
    );
    assert_eq!(
        verify(&c, &soft.assert(&CHALLENGE, 1), 0, true).map(|a| a.sign_count),
        Ok(1)
    );
}

#[test]
fn a_regressed_counter_is_reported_only_for_a_good_signature() {
    let (soft, c) = registered(Alg::Es256);
    let good = soft.assert(&CHALLENGE, 1);
    let mut forged = good.clone();
    if let Some(b) = forged.signature.last_mut() {
        *b ^= 1;
    }
    assert_eq!(
        verify(&c, &forged, 5, true),
        Err(PasskeyError::BadSignature)
    );
}

#[test]
fn bad_signatures_are_refused() {
    for alg in ALGS {
        let (soft, c) = registered(alg);
        let good = soft.assert(&CHALLENGE, 1);

        let mut flipped = good.clone();
        if let Some(b) = flipped.signature.get_mut(10) {
            *b ^= 0x40;
        }
        // Signed by another key of the same algorithm.
        let (other, _) = registered(alg);
        let by_other = other.assert(&CHALLENGE, 1);
        let mut stolen = good.clone();
        stolen.signature = by_other.signature.clone();
        // Client data changed after signing, in a member the checks ignore.
        let mut edited = good.clone();
        edited.client_data_json = client_data_from(json!({
            "type": "webauthn.get",
            "challenge": b64url(&CHALLENGE),
            "origin": ORIGIN,
            "crossOrigin": false,
            "extraData": "edited",
        }));
        // Authenticator data changed after signing (the counter).
        let mut recounted = good.clone();
        recounted.authenticator_data = auth_data(RP_ID, PRESENT_VERIFIED, 2);
        let mut empty = good.clone();
        empty.signature.clear();
        let mut truncated = good.clone();
        truncated.signature.pop();

        for (what, r) in [
            ("flipped", flipped),
            ("another key", stolen),
            ("edited client data", edited),
            ("edited authenticator data", recounted),
            ("empty", empty),
            ("truncated", truncated),
        ] {
            assert_eq!(
                verify(&c, &r, 0, true),
                Err(PasskeyError::BadSignature),
                "{alg:?} {what}"
            );
        }
    }
}

#[test]
fn a_key_of_another_algorithm_does_not_verify() {
    let (es, _) = registered(Alg::Es256);
    let (_, ed_credential) = registered(Alg::Ed25519);
    assert_eq!(
        verify(&ed_credential, &es.assert(&CHALLENGE, 1), 0, true),
        Err(PasskeyError::BadSignature)
    );
}

#[test]
fn an_unusable_stored_key_is_reported() {
    let (soft, _) = registered(Alg::Es256);
    let r = soft.assert(&CHALLENGE, 1);
    let es384 = super::cbor::encode(&ciborium::value::Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(-35)),
    ]));
    assert_eq!(
        verify_assertion(&rp(), &CHALLENGE, &r, &es384, 0, true),
        Err(PasskeyError::UnsupportedAlgorithm)
    );
    assert_eq!(
        verify_assertion(&rp(), &CHALLENGE, &r, &[], 0, true),
        Err(PasskeyError::Malformed("credential public key"))
    );
}

#[test]
fn trailing_bytes_after_authenticator_data_are_refused() {
    let (soft, c) = registered(Alg::Es256);
    let cd = client_data("webauthn.get", &CHALLENGE, ORIGIN);
    let mut ad = auth_data(RP_ID, PRESENT_VERIFIED, 1);
    ad.push(0);
    assert_eq!(
        verify(&c, &soft.assertion(&cd, &ad), 0, true),
        Err(PasskeyError::Malformed(
            "trailing bytes after authenticator data"
        ))
    );
}

#[test]
fn the_response_json_is_checked() {
    let (soft, _) = registered(Alg::Es256);
    let good = soft.assert(&CHALLENGE, 1);
    let body = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = json!({
            "id": b64url(&good.credential_id),
            "rawId": b64url(&good.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&good.client_data_json),
                "authenticatorData": b64url(&good.authenticator_data),
                "signature": b64url(&good.signature),
                "userHandle": b64url(&soft.user_handle),
            },
        });
        f(&mut v);
        AssertionResponse::from_json(&json_bytes(&v))
    };
    assert_eq!(body(&|_| {}).as_ref(), Ok(&good));
    assert_eq!(
        body(&|v| v["id"] = json!(b64url(b"another"))),
        Err(PasskeyError::CredentialIdMismatch)
    );
    assert_eq!(
        body(&|v| v["type"] = json!("public-key ")),
        Err(PasskeyError::Malformed("credential type is not public-key"))
    );
    assert_eq!(
        body(&|v| v["response"]["signature"] = json!("a+b/")),
        Err(PasskeyError::Malformed("signature"))
    );
    assert_eq!(
        body(&|v| v["response"]["userHandle"] = json!(b64url(&[1; 65]))),
        Err(PasskeyError::Malformed("userHandle longer than 64 bytes"))
    );
    for none in [json!(null), json!("")] {
        let r = body(&|v| v["response"]["userHandle"] = none.clone()).expect("no user handle");
        assert_eq!(r.user_handle, None);
    }
    let r = body(&|v| {
        v["response"]
            .as_object_mut()
            .expect("object")
            .remove("userHandle");
    })
    .expect("no user handle");
    assert_eq!(r.user_handle, None);
    assert_eq!(
        body(&|v| {
            v.as_object_mut().expect("object").remove("rawId");
        }),
        Err(PasskeyError::Malformed("credential JSON"))
    );
    assert_eq!(
        body(&|v| {
            v["id"] = json!("");
            v["rawId"] = json!("");
        }),
        Err(PasskeyError::Malformed("empty credential id"))
    );
}
