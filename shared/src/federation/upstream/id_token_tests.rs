//! One test per rule of OIDC Core §3.1.3.7, each token failing one way only.
use aws_lc_rs::hmac;
use serde_json::{Value, json};

use super::*;
use crate::federation::upstream::jwks::Jwks;
use crate::federation::upstream::testkit::{
    CLIENT, ISSUER, NONCE, NOW, TestKey, good_claims, jwks, part,
};

fn keys(k: &TestKey) -> Jwks {
    Jwks::from_document(&jwks(&[k])).expect("jwks")
}

fn expect() -> Expect<'static> {
    Expect {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: NONCE,
        now: NOW,
        algs_supported: &[],
    }
}

/// The good claims with `changes` applied (`null` removes a claim).
fn claims_with(changes: Value) -> Value {
    let Value::Object(mut c) = good_claims() else {
        unreachable!("claims are an object")
    };
    for (k, v) in changes.as_object().cloned().unwrap_or_default() {
        match v {
            Value::Null => c.remove(&k),
            v => c.insert(k, v),
        };
    }
    Value::Object(c)
}

fn refused(changes: Value) -> IdTokenError {
    let k = TestKey::es256("k1");
    verify_id_token(&k.sign(&claims_with(changes)), &keys(&k), &expect())
        .expect_err("must be refused")
}

#[test]
fn good_tokens_pass_with_either_algorithm() {
    for k in [TestKey::es256("e"), TestKey::rs256("r")] {
        let c = verify_id_token(&k.sign(&good_claims()), &keys(&k), &expect()).expect(k.alg);
        assert_eq!(c.issuer, ISSUER);
        assert_eq!(c.subject, "upstream-user-1");
        assert_eq!(c.claims["email"], "ada@example.com");
    }
}

#[test]
fn a_bad_signature_is_refused() {
    let k = TestKey::es256("k1");
    let token = k.sign(&good_claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = part(&claims_with(json!({"sub": "admin"})));
    parts[1] = &forged;
    let e = verify_id_token(&parts.join("."), &keys(&k), &expect());
    assert_eq!(e, Err(IdTokenError::BadSignature));
    // Signed by another key under the same kid.
    let other = TestKey::es256("k1");
    let e = verify_id_token(&other.sign(&good_claims()), &keys(&k), &expect());
    assert_eq!(e, Err(IdTokenError::BadSignature));
}

#[test]
fn alg_none_is_refused() {
    let k = TestKey::es256("k1");
    let token = format!(
        "{}.{}.",
        part(&json!({"alg": "none", "kid": "k1"})),
        part(&good_claims())
    );
    let e = verify_id_token(&token, &keys(&k), &expect());
    assert_eq!(e, Err(IdTokenError::Algorithm("none".into())));
}

#[test]
fn hmac_is_refused_even_keyed_with_the_public_key() {
    let k = TestKey::rs256("k1");
    let input = format!(
        "{}.{}",
        part(&json!({"alg": "HS256", "kid": "k1"})),
        part(&good_claims())
    );
    let key_bytes = k.jwk["n"].as_str().unwrap_or("").as_bytes().to_vec();
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &key_bytes),
        input.as_bytes(),
    );
    let token = format!("{input}.{}", crate::crypto::b64url(tag.as_ref()));
    let e = verify_id_token(&token, &keys(&k), &expect());
    assert_eq!(e, Err(IdTokenError::Algorithm("HS256".into())));
}

#[test]
fn other_algorithms_and_crit_are_refused() {
    let k = TestKey::es256("k1");
    for header in [
        json!({"alg": "PS256", "kid": "k1"}),
        json!({"alg": "ES384", "kid": "k1"}),
    ] {
        let e = verify_id_token(
            &k.sign_with_header(&header, &good_claims()),
            &keys(&k),
            &expect(),
        );
        assert!(matches!(e, Err(IdTokenError::Algorithm(_))), "{e:?}");
    }
    let crit = json!({"alg": "ES256", "kid": "k1", "crit": ["exp"], "exp": 1});
    let e = verify_id_token(
        &k.sign_with_header(&crit, &good_claims()),
        &keys(&k),
        &expect(),
    );
    assert_eq!(e, Err(IdTokenError::Malformed("crit header")));
    for junk in ["", "a.b", "a.b.c.d", "!!.e30.AA"] {
        let e = verify_id_token(junk, &keys(&k), &expect());
        assert!(
            matches!(e, Err(IdTokenError::Malformed(_))),
            "{junk}: {e:?}"
        );
    }
}

#[test]
fn an_algorithm_the_metadata_does_not_list_is_refused() {
    let k = TestKey::es256("k1");
    let only_rsa = ["RS256".to_string()];
    let e = verify_id_token(
        &k.sign(&good_claims()),
        &keys(&k),
        &Expect {
            algs_supported: &only_rsa,
            ..expect()
        },
    );
    assert_eq!(e, Err(IdTokenError::AlgorithmNotAdvertised("ES256".into())));
}

#[test]
fn an_unknown_kid_is_refused() {
    let k = TestKey::es256("k1");
    let signer = TestKey::es256("k2");
    let e = verify_id_token(&signer.sign(&good_claims()), &keys(&k), &expect());
    assert_eq!(e, Err(IdTokenError::UnknownKey("k2".into())));
}

#[test]
fn without_kid_the_single_key_is_used() {
    let k = TestKey::es256("k1");
    let token = k.sign_with_header(&json!({"alg": "ES256"}), &good_claims());
    assert!(verify_id_token(&token, &keys(&k), &expect()).is_ok());
}

#[test]
fn the_issuer_must_be_exact() {
    for iss in [
        json!("https://evil.example"),
        json!(format!("{ISSUER}/")),
        json!(null),
    ] {
        let e = refused(json!({ "iss": iss }));
        assert!(matches!(e, IdTokenError::Issuer { .. }), "{iss}: {e:?}");
    }
}

#[test]
fn google_bare_issuer_is_accepted_for_google_only() {
    let k = TestKey::es256("k1");
    let bare = claims_with(json!({"iss": "accounts.google.com"}));
    let google = Expect {
        issuer: "https://accounts.google.com",
        ..expect()
    };
    let c = verify_id_token(&k.sign(&bare), &keys(&k), &google).expect("google");
    assert_eq!(c.issuer, "https://accounts.google.com");
    let e = verify_id_token(
        &k.sign(&claims_with(json!({"iss": "idp.example"}))),
        &keys(&k),
        &expect(),
    );
    assert!(matches!(e, Err(IdTokenError::Issuer { .. })));
}

#[test]
fn a_tenant_template_takes_the_tokens_tid() {
    let k = TestKey::es256("k1");
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    let entra = Expect {
        issuer: template,
        ..expect()
    };
    let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let iss = format!("https://login.microsoftonline.com/{tid}/v2.0");
    let good = claims_with(json!({"iss": iss, "tid": tid}));
    let c = verify_id_token(&k.sign(&good), &keys(&k), &entra).expect("entra");
    assert_eq!(c.issuer, iss);
    // Another tenant's issuer than the token's tid, a missing tid, a tid that is a path.
    let other = claims_with(json!({"iss": iss, "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"}));
    let e = verify_id_token(&k.sign(&other), &keys(&k), &entra);
    assert!(matches!(e, Err(IdTokenError::Issuer { .. })), "{e:?}");
    let no_tid = claims_with(json!({ "iss": iss }));
    let e = verify_id_token(&k.sign(&no_tid), &keys(&k), &entra);
    assert!(matches!(e, Err(IdTokenError::Tenant(_))), "{e:?}");
    let path =
        claims_with(json!({"iss": "https://login.microsoftonline.com/a/b/v2.0", "tid": "a/b"}));
    let e = verify_id_token(&k.sign(&path), &keys(&k), &entra);
    assert!(matches!(e, Err(IdTokenError::Tenant(_))), "{e:?}");
}

#[test]
fn the_audience_must_contain_the_client() {
    assert_eq!(
        refused(json!({"aud": "someone-else"})),
        IdTokenError::Audience
    );
    assert_eq!(refused(json!({"aud": ["a", "b"]})), IdTokenError::Audience);
    assert_eq!(refused(json!({"aud": null})), IdTokenError::Claim("aud"));
}

#[test]
fn azp_must_be_the_client_and_is_required_with_several_audiences() {
    assert_eq!(
        refused(json!({"azp": "someone-else"})),
        IdTokenError::AuthorizedParty
    );
    assert_eq!(
        refused(json!({"aud": [CLIENT, "other"]})),
        IdTokenError::AuthorizedParty
    );
    assert_eq!(
        refused(json!({"aud": [CLIENT, "other"], "azp": "other"})),
        IdTokenError::AuthorizedParty
    );
    let k = TestKey::es256("k1");
    let ok = claims_with(json!({"aud": [CLIENT, "other"], "azp": CLIENT}));
    assert!(verify_id_token(&k.sign(&ok), &keys(&k), &expect()).is_ok());
}

#[test]
fn the_nonce_is_required_and_must_match() {
    assert_eq!(
        refused(json!({ "nonce": null })),
        IdTokenError::MissingNonce
    );
    assert_eq!(refused(json!({"nonce": "other"})), IdTokenError::WrongNonce);
    assert_eq!(refused(json!({"nonce": 42})), IdTokenError::WrongNonce);
    // A caller that lost its nonce cannot accept a token with an empty one.
    let k = TestKey::es256("k1");
    let empty = claims_with(json!({"nonce": ""}));
    let e = verify_id_token(
        &k.sign(&empty),
        &keys(&k),
        &Expect {
            nonce: "",
            ..expect()
        },
    );
    assert_eq!(e, Err(IdTokenError::WrongNonce));
}

#[test]
fn an_expired_token_is_refused_beyond_the_skew() {
    assert_eq!(refused(json!({"exp": NOW - SKEW})), IdTokenError::Expired);
    assert_eq!(refused(json!({"exp": null})), IdTokenError::Claim("exp"));
    assert_eq!(refused(json!({"exp": "soon"})), IdTokenError::Claim("exp"));
    let k = TestKey::es256("k1");
    let within = claims_with(json!({"exp": NOW - SKEW + 1}));
    assert!(verify_id_token(&k.sign(&within), &keys(&k), &expect()).is_ok());
}

#[test]
fn a_token_issued_in_the_future_is_refused_beyond_the_skew() {
    assert_eq!(
        refused(json!({"iat": NOW + SKEW + 1})),
        IdTokenError::IssuedInFuture
    );
    assert_eq!(refused(json!({"iat": null})), IdTokenError::Claim("iat"));
    let k = TestKey::es256("k1");
    let within = claims_with(json!({"iat": NOW + SKEW}));
    assert!(verify_id_token(&k.sign(&within), &keys(&k), &expect()).is_ok());
}

#[test]
fn the_subject_is_required() {
    assert_eq!(refused(json!({"sub": null})), IdTokenError::Claim("sub"));
    assert_eq!(refused(json!({"sub": ""})), IdTokenError::Claim("sub"));
    assert_eq!(refused(json!({"sub": 7})), IdTokenError::Claim("sub"));
    assert_eq!(
        refused(json!({"sub": "x".repeat(256)})),
        IdTokenError::Claim("sub")
    );
}

#[test]
fn errors_never_show_the_token() {
    let k = TestKey::es256("k1");
    let token = k.sign(&claims_with(json!({"aud": "x"})));
    let e = crate::federation::upstream::UpstreamError::from(
        verify_id_token(&token, &keys(&k), &expect()).expect_err("aud"),
    );
    let shown = e.to_string();
    assert!(!shown.contains(&token[..20]), "{shown}");
    assert_eq!(
        shown,
        "the upstream's ID token was refused: it was not issued to this client (audience)"
    );
}
