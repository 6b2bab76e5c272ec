//! Scope values (OIDC Core §5.4) and which standard claims each releases (../CLAIMS.md).

/// Scopes this provider understands, in the order they are advertised.
pub const SUPPORTED: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// Scopes about a person: meaningless without one (so never granted to client_credentials).
pub const USER_SCOPES: &[&str] = SUPPORTED;

/// RFC 6749 §3.3 scope-token syntax: printable ASCII without space, `"` or `\`.
pub fn is_valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// OIDC Core §5.4. `zoneinfo` and `updated_at` are profile data as Core says.
pub fn claims_of(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "address" => &["address"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

/// Every claim any scope can release, plus the claims every ID token carries: the
/// `claims_supported` of discovery.
pub fn all_claims() -> Vec<&'static str> {
    let mut v = vec!["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce"];
    for s in SUPPORTED {
        v.extend_from_slice(claims_of(s));
    }
    v
}

pub fn is_standard_claim(name: &str) -> bool {
    all_claims().contains(&name)
}

/// A space-delimited scope string (RFC 6749 §3.3) split into distinct values, order kept.
pub fn parse(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// What is granted: the requested scopes the client may have (`openid` always; API scopes
/// when registered for the client). Unknown or disallowed scopes are dropped rather than
/// failing the request (RFC 6749 §3.3 lets the server grant less and say so in `scope`).
pub fn grantable(requested: &[String], client_allowed: &[String]) -> Vec<String> {
    requested
        .iter()
        .filter(|s| *s == "openid" || client_allowed.iter().any(|a| a == *s))
        .cloned()
        .collect()
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dedups_and_ignores_extra_spaces() {
        assert_eq!(parse("openid  email openid"), vec!["openid", "email"]);
    }

    #[test]
    fn grantable_filters_unknown_and_disallowed() {
        let req = parse("openid profile email phone offline_access custom api:read");
        let allowed = parse("profile email api:read");
        assert_eq!(
            grantable(&req, &allowed),
            vec!["openid", "profile", "email", "api:read"]
        );
        assert!(is_valid_token("api:read") && !is_valid_token("a b") && !is_valid_token("a\"b"));
    }

    #[test]
    fn claims_table_matches_core() {
        assert!(claims_of("profile").contains(&"zoneinfo"));
        assert!(claims_of("profile").contains(&"updated_at"));
        assert_eq!(claims_of("openid"), &[] as &[&str]);
        assert!(is_standard_claim("phone_number_verified"));
    }
}
