//! Property tests for the protocol rules that guard the front door: redirect_uri matching
//! never accepts an unregistered URI, PKCE accepts exactly the verifier of the challenge,
//! and scope filtering never releases a claim of an ungranted scope.
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use shared::{
    protocol::{claims, pkce, redirect_uri, scope},
    store::User,
};

fn uri() -> impl Strategy<Value = String> {
    (
        "(https|http)",
        "[a-z]{1,8}(\\.[a-z]{1,6}){0,2}",
        proptest::option::of(1u16..65535),
        "(/[a-zA-Z0-9._~%-]{0,8}){0,3}",
        proptest::option::of("[a-z0-9=&]{0,12}"),
    )
        .prop_map(|(s, h, port, path, q)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let q = q.map(|q| format!("?{q}")).unwrap_or_default();
            format!("{s}://{h}{port}{path}{q}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn redirect_uri_matches_only_registered_strings(registered in proptest::collection::vec(uri(), 0..4), candidate in uri(), suffix in "[/#?a-zA-Z%.]{1,3}") {
        let ok = redirect_uri::is_registered(&candidate, &registered);
        prop_assert_eq!(ok, registered.contains(&candidate));
        // Any extension of a registered URI (path, query, fragment, case) is refused.
        for r in &registered {
            let longer = format!("{r}{suffix}");
            prop_assert_eq!(redirect_uri::is_registered(&longer, &registered), registered.contains(&longer));
            let upper = r.to_uppercase();
            if upper != *r {
                prop_assert_eq!(redirect_uri::is_registered(&upper, &registered), registered.contains(&upper));
            }
        }
    }

    #[test]
    fn pkce_accepts_exactly_the_challenges_verifier(verifier in "[A-Za-z0-9._~-]{43,128}", other in "[A-Za-z0-9._~-]{0,140}") {
        let challenge = pkce::challenge_of(&verifier);
        prop_assert!(pkce::is_valid_challenge(&challenge));
        prop_assert!(pkce::verify(&verifier, &challenge));
        prop_assert_eq!(pkce::verify(&other, &challenge), other == verifier);
    }

    #[test]
    fn no_claim_of_an_ungranted_scope_is_released(granted in proptest::collection::vec(prop::sample::select(vec!["openid", "profile", "email", "address", "phone", "offline_access", "api:x", "bogus"]), 0..6), allowed in proptest::collection::vec(prop::sample::select(vec!["profile", "email", "address", "phone", "offline_access", "api:x"]), 0..6)) {
        let requested: Vec<String> = granted.iter().map(|s| s.to_string()).collect();
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        let scopes = scope::grantable(&requested, &allowed);
        // Only requested scopes, and only allowed ones (openid is always allowed).
        for s in &scopes {
            prop_assert!(requested.contains(s));
            prop_assert!(s == "openid" || allowed.contains(s));
        }
        let user = full_user();
        let released: Vec<String> = claims::scoped(&user, &scopes).keys().cloned().collect();
        for c in &released {
            prop_assert!(scopes.iter().any(|s| scope::claims_of(s).contains(&c.as_str())), "{} released without its scope", c);
        }
        let info = claims::userinfo(&user, &scopes, &[], Map::new());
        for c in info.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            prop_assert!(c == "sub" || scopes.iter().any(|s| scope::claims_of(s).contains(&c.as_str())), "userinfo released {}", c);
        }
    }
}

fn full_user() -> User {
    let mut claims = Map::new();
    for s in scope::SUPPORTED {
        for c in scope::claims_of(s) {
            claims.insert(c.to_string(), json!("value"));
        }
    }
    User {
        sub: "s".into(),
        username: "u".into(),
        password_hash: String::new(),
        claims,
        disabled: false,
        custom_claims: vec![],
        tokens_valid_after: 0,
        tokens_valid_after_ms: 0,
        totp: false,
    }
}

#[test]
fn the_claims_table_is_exactly_core_5_4() {
    let table: Map<String, Value> = scope::SUPPORTED
        .iter()
        .map(|s| (s.to_string(), json!(scope::claims_of(s))))
        .collect();
    assert_eq!(
        Value::Object(table),
        json!({
            "openid": [], "offline_access": [],
            "profile": ["name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
                        "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"],
            "email": ["email", "email_verified"],
            "address": ["address"],
            "phone": ["phone_number", "phone_number_verified"],
        })
    );
}
