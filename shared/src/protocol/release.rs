//! The release rule (SECURITY.md, "What is released to whom"): a claim about a person reaches
//! a client only if
//! - the client's administrator allowed it for that client: by a scope the client may be
//!   granted (`allowed_scopes`), or by name (`allowed_claims`), and
//! - the person consented to it: to the scope that carries it, or to the claim by name, or
//!   the client is first-party by the administrator's explicit configuration
//!   ([`Client::implies_consent`]).
//!
//! Claims asked for individually (the `claims` parameter, OIDC Core §5.5) and a person's
//! custom claims released by name are what [`RequestedClaims`] carries from the authorization
//! request to the code and the refresh token; the scopes carry the rest. Every path that
//! releases data (ID token, access token, userinfo, every grant) asks this module, with the
//! client as it is *now*: an administrator's change applies to the next token.
use super::scope;
use crate::store::{Client, Consent, CustomClaim, RequestedClaims, User};

/// The scope that carries a standard claim (OIDC Core §5.4, CLAIMS.md).
fn scope_of(claim: &str) -> Option<&'static str> {
    scope::SUPPORTED
        .iter()
        .copied()
        .find(|s| scope::claims_of(s).contains(&claim))
}

fn has(list: &[String], v: &str) -> bool {
    list.iter().any(|x| x == v)
}

/// The granted scopes the client may still be given (its administrator may have taken one
/// away since the grant); `openid` always.
pub fn allowed_scopes(client: &Client, granted: &[String]) -> Vec<String> {
    granted
        .iter()
        .filter(|s| *s == "openid" || has(&client.allowed_scopes, s))
        .cloned()
        .collect()
}

/// Whether the client may receive the standard claim `name` when asked for it individually:
/// by a scope it may have, or by name.
pub fn client_may_have(client: &Client, name: &str) -> bool {
    has(&client.allowed_claims, name)
        || scope_of(name).is_some_and(|s| has(&client.allowed_scopes, s))
}

/// Whether a person's custom claim goes to `client` under a grant of `scopes` that released
/// `by_name` individually: through the scope that carries it, or by name.
pub fn custom_released(
    client: &Client,
    claim: &CustomClaim,
    scopes: &[String],
    by_name: &[String],
) -> bool {
    let by_scope = claim
        .scope
        .as_deref()
        .is_some_and(|s| has(scopes, s) && has(&client.allowed_scopes, s));
    by_scope || (has(by_name, &claim.name) && has(&client.allowed_claims, &claim.name))
}

/// The individual claims of an authorization request that the client may have at all: the
/// rest are dropped at `/authorize`, as unknown claims are (§5.5.1).
pub fn allowed_requests(client: &Client, asked: &RequestedClaims) -> RequestedClaims {
    let keep = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| client_may_have(client, n))
            .cloned()
            .collect()
    };
    RequestedClaims {
        userinfo: keep(&asked.userinfo),
        id_token: keep(&asked.id_token),
        custom: vec![],
        acr_values: asked.acr_values.clone(),
    }
}

/// What a grant to `client` for `user` releases individually, beyond its `scopes`: the
/// allowed claims asked for, and the user's custom claims the client is allowed by name.
pub fn grant(
    client: &Client,
    user: &User,
    scopes: &[String],
    asked: &RequestedClaims,
) -> RequestedClaims {
    let mut g = allowed_requests(client, asked);
    g.custom = user
        .custom_claims
        .iter()
        .filter(|c| has(&client.allowed_claims, &c.name))
        .filter(|c| !custom_released(client, c, scopes, &[]))
        .map(|c| c.name.clone())
        .collect();
    g
}

/// What the person is asked to agree to: the scopes, and every claim the grant releases
/// individually that none of those scopes carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Consentable {
    pub scopes: Vec<String>,
    pub claims: Vec<String>,
}

pub fn consentable(scopes: &[String], grant: &RequestedClaims) -> Consentable {
    let mut claims: Vec<String> = Vec::new();
    let carried = |name: &str| scope_of(name).is_some_and(|s| has(scopes, s));
    for name in grant
        .id_token
        .iter()
        .chain(&grant.userinfo)
        .chain(&grant.custom)
    {
        if !carried(name) && !has(&claims, name) {
            claims.push(name.clone());
        }
    }
    claims.sort();
    Consentable {
        scopes: scopes.to_vec(),
        claims,
    }
}

impl Consentable {
    /// Whether the person already agreed to all of it.
    pub fn covered_by(&self, consent: &Consent) -> bool {
        self.scopes.iter().all(|s| has(&consent.scopes, s))
            && self.claims.iter().all(|c| has(&consent.claims, c))
    }

    /// What the person agrees to by allowing this request, as a consent to remember.
    pub fn as_consent(&self, sub: &str, client_id: &str, now: i64) -> Consent {
        Consent {
            sub: sub.to_string(),
            client_id: client_id.to_string(),
            scopes: self.scopes.clone(),
            claims: self.claims.clone(),
            granted_at: now,
        }
    }
}

/// One line of the consent page: what a scope means, and the claims it releases now.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    pub scope: String,
    pub claims: Vec<String>,
}

/// Everything a grant would release about `user` to `client`, by scope, then the claims that
/// go individually: what a consent page must show (only claims the user has a value for).
pub fn disclosures(
    client: &Client,
    user: &User,
    scopes: &[String],
    grant: &RequestedClaims,
) -> (Vec<Disclosure>, Vec<String>) {
    let by_scope = scopes
        .iter()
        .map(|s| {
            let mut claims: Vec<String> = scope::claims_of(s)
                .iter()
                .filter(|n| user.claims.contains_key(**n))
                .map(|n| n.to_string())
                .collect();
            claims.extend(
                user.custom_claims
                    .iter()
                    .filter(|c| c.scope.as_deref() == Some(s.as_str()))
                    .filter(|c| custom_released(client, c, scopes, &[]))
                    .map(|c| c.name.clone()),
            );
            Disclosure {
                scope: s.clone(),
                claims,
            }
        })
        .collect();
    let individually = consentable(scopes, grant)
        .claims
        .into_iter()
        .filter(|n| user.claims.contains_key(n) || user.custom_claims.iter().any(|c| &c.name == n))
        .collect();
    (by_scope, individually)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{AuthMethod, ClaimTarget};

    fn client(scopes: &str, by_name: &[&str]) -> Client {
        Client {
            client_id: "c".into(),
            client_name: "C".into(),
            logo_uri: None,
            secret_hash: None,
            auth_method: AuthMethod::None,
            redirect_uris: vec![],
            allowed_scopes: scope::parse(scopes),
            grant_types: vec![],
            skip_consent: false,
            post_logout_redirect_uris: vec![],
            custom_claims: vec![],
            jwks: None,
            registration_token_hash: None,
            allowed_claims: by_name.iter().map(|s| s.to_string()).collect(),
            trusted: None,
            min_level: None,
            tokens_valid_after_ms: 0,
        }
    }

    fn custom(name: &str, scope: Option<&str>) -> CustomClaim {
        CustomClaim {
            name: name.into(),
            value: json!("v"),
            tokens: vec![ClaimTarget::IdToken],
            scope: scope.map(str::to_string),
        }
    }

    fn user() -> User {
        User {
            sub: "s".into(),
            username: "u".into(),
            password_hash: String::new(),
            claims: json!({"email": "a@b", "phone_number": "+1", "name": "A"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            disabled: false,
            custom_claims: vec![
                custom("https://x/roles", None),
                custom("https://x/team", Some("team")),
            ],
            tokens_valid_after: 0,
            tokens_valid_after_ms: 0,
            totp: false,
        }
    }

    fn asked(id_token: &[&str]) -> RequestedClaims {
        RequestedClaims {
            id_token: id_token.iter().map(|s| s.to_string()).collect(),
            ..RequestedClaims::default()
        }
    }

    #[test]
    fn a_claim_the_client_is_not_allowed_is_never_asked_for() {
        let only_openid = client("openid", &[]);
        let g = grant(
            &only_openid,
            &user(),
            &scope::parse("openid"),
            &asked(&["email", "phone_number"]),
        );
        assert!(g.id_token.is_empty() && g.custom.is_empty(), "{g:?}");
        let by_name = client("openid", &["phone_number"]);
        let g = grant(
            &by_name,
            &user(),
            &scope::parse("openid"),
            &asked(&["email", "phone_number"]),
        );
        assert_eq!(g.id_token, vec!["phone_number"]);
        let by_scope = client("openid email", &[]);
        let g = grant(
            &by_scope,
            &user(),
            &scope::parse("openid"),
            &asked(&["email"]),
        );
        assert_eq!(g.id_token, vec!["email"]);
    }

    #[test]
    fn individually_released_claims_need_consent_unless_a_granted_scope_carries_them() {
        let c = client("openid email team", &["https://x/roles"]);
        let g = grant(
            &c,
            &user(),
            &scope::parse("openid email"),
            &asked(&["email"]),
        );
        assert_eq!(g.custom, vec!["https://x/roles"]);
        let need = consentable(&scope::parse("openid email"), &g);
        assert_eq!(
            need.claims,
            vec!["https://x/roles"],
            "email comes with its scope"
        );
        let g = grant(&c, &user(), &scope::parse("openid"), &asked(&["email"]));
        assert_eq!(
            consentable(&scope::parse("openid"), &g).claims,
            vec!["email", "https://x/roles"]
        );
    }

    #[test]
    fn custom_claims_go_by_their_scope_or_by_name_only() {
        let u = user();
        let (roles, team) = (&u.custom_claims[0], &u.custom_claims[1]);
        let none = client("openid team", &[]);
        let scopes = scope::parse("openid team");
        assert!(!custom_released(&none, roles, &scopes, &[]));
        assert!(custom_released(&none, team, &scopes, &[]));
        assert!(
            !custom_released(&none, team, &scope::parse("openid"), &[]),
            "the scope must be granted"
        );
        let named = client("openid", &["https://x/roles"]);
        assert!(!custom_released(&named, roles, &[], &[]), "not consented");
        assert!(custom_released(
            &named,
            roles,
            &[],
            &["https://x/roles".into()]
        ));
        assert!(
            !custom_released(
                &client("openid", &[]),
                roles,
                &[],
                &["https://x/roles".into()]
            ),
            "consented, but the administrator took it away"
        );
    }

    #[test]
    fn the_consent_page_discloses_every_claim_with_a_value() {
        let c = client(
            "openid email profile team",
            &["https://x/roles", "phone_number"],
        );
        let scopes = scope::parse("openid email profile team");
        let g = grant(&c, &user(), &scopes, &asked(&["phone_number", "address"]));
        let (by_scope, alone) = disclosures(&c, &user(), &scopes, &g);
        let of = |s: &str| {
            by_scope
                .iter()
                .find(|d| d.scope == s)
                .map(|d| d.claims.clone())
        };
        assert_eq!(of("email"), Some(vec!["email".to_string()]));
        assert_eq!(of("profile"), Some(vec!["name".to_string()]));
        assert_eq!(of("team"), Some(vec!["https://x/team".to_string()]));
        assert_eq!(alone, vec!["https://x/roles", "phone_number"]);
    }

    #[test]
    fn scopes_taken_away_from_a_client_stop_at_the_next_token() {
        let c = client("openid email", &[]);
        assert_eq!(
            allowed_scopes(&c, &scope::parse("openid email phone")),
            vec!["openid", "email"]
        );
    }
}
