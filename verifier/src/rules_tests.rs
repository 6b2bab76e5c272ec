//! Each rule of [`Rules::verify`] bites, on tokens signed here with a P-256 key.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};

use crate::{
    Alg, Refusal, Rules,
    testkit::{AUD, NOW, Signer},
};

const ISS: &str = "https://id.example.com";

/// Changes a token's header and claims before it is signed.
type Edit = Box<dyn Fn(&mut Value, &mut Value)>;

fn verify(s: &Signer, t: &str) -> Result<(), Refusal> {
    Rules::new(ISS, AUD).verify(&s.set, t, NOW).map(|_| ())
}

#[test]
fn a_good_token_passes_and_says_what_it_grants() {
    let s = Signer::new(ISS, "k1");
    let t = Rules::new(ISS, AUD)
        .verify(&s.set, &s.token(|_, _| {}), NOW)
        .expect("valid");
    assert_eq!((t.sub(), t.client_id()), (Some("s"), Some("c")));
    assert_eq!(t.scopes(), ["openid", "orders:read"]);
    assert_eq!(
        t.require_any_scope(&["orders:write", "orders:read"]),
        Ok(())
    );
    assert_eq!(t.require_any_scope(&[]), Ok(()));
    assert_eq!(
        t.require_any_scope(&["orders:write"]),
        Err(Refusal::InsufficientScope)
    );
}

#[test]
fn each_claim_rule_refuses() {
    let s = Signer::new(ISS, "k1");
    let cases: Vec<(Refusal, Edit)> = vec![
        (
            Refusal::WrongIssuer,
            Box::new(|_, c| c["iss"] = json!("https://evil.example")),
        ),
        (
            Refusal::WrongIssuer,
            Box::new(|_, c| c["iss"] = json!(format!("{ISS}/"))),
        ),
        (
            Refusal::WrongAudience,
            Box::new(|_, c| c["aud"] = json!("c")),
        ),
        (
            Refusal::WrongAudience,
            Box::new(|_, c| c["aud"] = json!(["x", "y"])),
        ),
        // aud present: client_id is not read even when it is an accepted audience.
        (
            Refusal::WrongAudience,
            Box::new(|_, c| {
                c["aud"] = json!("x");
                c["client_id"] = json!(AUD)
            }),
        ),
        (Refusal::Expired, Box::new(|_, c| c["exp"] = json!(NOW))),
        (
            Refusal::Malformed("no exp"),
            Box::new(|_, c| {
                c.as_object_mut().map(|m| m.remove("exp"));
            }),
        ),
        (
            Refusal::Malformed("exp"),
            Box::new(|_, c| c["exp"] = json!("soon")),
        ),
        (
            Refusal::NotYetValid,
            Box::new(|_, c| c["nbf"] = json!(NOW + 1)),
        ),
        (
            Refusal::IssuedInFuture,
            Box::new(|_, c| c["iat"] = json!(NOW + 1)),
        ),
        (
            Refusal::NotAnAccessToken,
            Box::new(|h, _| h["typ"] = json!("JWT")),
        ),
        (
            Refusal::NotAnAccessToken,
            Box::new(|h, _| {
                h.as_object_mut().map(|m| m.remove("typ"));
            }),
        ),
        (
            Refusal::Malformed("no iat"),
            Box::new(|_, c| {
                c.as_object_mut().map(|m| m.remove("iat"));
            }),
        ),
        (Refusal::UnknownKey, Box::new(|h, _| h["kid"] = json!("k2"))),
        (
            Refusal::Malformed("no kid"),
            Box::new(|h, _| {
                h.as_object_mut().map(|m| m.remove("kid"));
            }),
        ),
        (
            Refusal::AlgorithmNotAllowed,
            Box::new(|h, _| h["alg"] = json!("none")),
        ),
        (
            Refusal::AlgorithmNotAllowed,
            Box::new(|h, _| h["alg"] = json!("HS256")),
        ),
        (
            Refusal::AlgorithmNotAllowed,
            Box::new(|h, _| h["alg"] = json!("RS256")),
        ),
    ];
    for (want, edit) in cases {
        assert_eq!(verify(&s, &s.token(edit)), Err(want.clone()), "{want:?}");
    }
}

#[test]
fn what_the_authorizer_accepts_besides() {
    let s = Signer::new(ISS, "k1");
    let ok = |edit: &dyn Fn(&mut Value, &mut Value)| verify(&s, &s.token(edit));
    assert_eq!(ok(&|_, c| c["aud"] = json!(["x", AUD])), Ok(()));
    assert_eq!(ok(&|h, _| h["typ"] = json!("application/at+jwt")), Ok(()));
    assert_eq!(ok(&|h, _| h["typ"] = json!("Application/AT+JWT")), Ok(()));
    assert_eq!(ok(&|_, c| c["nbf"] = json!(NOW)), Ok(()));
    assert_eq!(ok(&|_, c| c["iat"] = json!(NOW)), Ok(()));
    // No aud: the authorizer's client_id rule.
    assert_eq!(
        ok(&|_, c| {
            c.as_object_mut().map(|m| m.remove("aud"));
            c["client_id"] = json!(AUD)
        }),
        Ok(())
    );
}

#[test]
fn leeway_and_authorizer_only_loosen_exactly_their_rule() {
    let s = Signer::new(ISS, "k1");
    let expired = s.token(|_, c| c["exp"] = json!(NOW - 5));
    assert_eq!(
        Rules::new(ISS, AUD)
            .leeway(10)
            .verify(&s.set, &expired, NOW)
            .map(|_| ()),
        Ok(())
    );
    let untyped = s.token(|h, _| h["typ"] = json!("JWT"));
    let loose = Rules::new(ISS, AUD).authorizer_only();
    assert!(loose.verify(&s.set, &untyped, NOW).is_ok());
    let rsa_only = Rules::new(ISS, AUD).algorithms(&[Alg::RS256]);
    assert_eq!(
        rsa_only
            .verify(&s.set, &s.token(|_, _| {}), NOW)
            .map(|_| ()),
        Err(Refusal::AlgorithmNotAllowed)
    );
}

#[test]
fn a_changed_byte_breaks_the_signature() {
    let s = Signer::new(ISS, "k1");
    let t = s.token(|_, _| {});
    let forged_claims = B64.encode(
        json!({"iss": ISS, "aud": AUD, "sub": "admin", "iat": NOW,
        "exp": NOW + 300, "client_id": "c", "scope": "orders:read"})
        .to_string(),
    );
    let parts: Vec<&str> = t.split('.').collect();
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert_eq!(verify(&s, &forged), Err(Refusal::BadSignature));
    assert_eq!(
        verify(&s, "a.b"),
        Err(Refusal::Malformed("not a compact JWS"))
    );
    assert_eq!(
        verify(&s, &format!("{}.{}.%%", parts[0], parts[1])),
        Err(Refusal::Malformed("signature"))
    );
}
