//! How the person proved who they are: the Authentication Context Class Reference (OIDC Core
//! §2 `acr`) and the Authentication Methods References (`amr`, RFC 8176). There are two ways:
//! a password of ours, or a sign-in at an upstream OpenID provider (`federation`). A client
//! asking for another class as an essential claim gets `unmet_authentication_requirements`
//! (Core §5.5.1.1), never an ID token that pretends.

/// A password, checked against its argon2id hash.
pub const PASSWORD: &str = "urn:oidc-serverless:acr:password";

/// A sign-in at an upstream OpenID provider, whose ID token we verified.
pub const FEDERATED: &str = "urn:oidc-serverless:acr:federated";

/// A passkey (WebAuthn, user verified): bound to this origin by the browser, so a
/// phishing site cannot replay it.
pub const PHISHING_RESISTANT: &str = "urn:oidc-serverless:acr:phishing-resistant";

/// `acr_values_supported` in discovery.
pub const SUPPORTED: &[&str] = &[PASSWORD, FEDERATED, PHISHING_RESISTANT];

/// How a person proved who they are in one sign-in. What the session records of it (`idp`
/// and `amr`) travels with the request, the code and the refresh token to every ID token
/// of the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method<'a> {
    Password,
    /// At the upstream provider with this id.
    Federated(&'a str),
    /// A passkey, user verified; `synced` when the authenticator says it is backed up
    /// (WebAuthn §6.1 BS flag).
    Passkey {
        synced: bool,
    },
}

impl<'a> Method<'a> {
    pub fn idp(self) -> Option<&'a str> {
        match self {
            Method::Federated(idp) => Some(idp),
            Method::Password | Method::Passkey { .. } => None,
        }
    }

    /// The `amr` a session records for it (RFC 8176 §2): `pwd` for a password; `fed` for
    /// a federated one (not in RFC 8176's registry; the value Microsoft Entra ID states for
    /// the same case); for a passkey, proof of a hardware-held key (`hwk`) or of a synced
    /// one (`swk`), with the user's presence (`user`) and verification, which makes it
    /// multi-factor (`mfa`).
    pub fn amr(self) -> Vec<String> {
        let values: &[&str] = match self {
            Method::Password => &["pwd"],
            Method::Federated(_) => &["fed"],
            Method::Passkey { synced: false } => &["hwk", "user", "mfa"],
            Method::Passkey { synced: true } => &["swk", "user", "mfa"],
        };
        values.iter().map(|v| v.to_string()).collect()
    }
}

/// The `amr` of a sign-in as recorded, or, in a record from before `amr` was kept, as its
/// `idp` says (a provider: federated; none: a password).
pub fn amr<'a>(idp: Option<&str>, recorded: &'a [String]) -> Vec<&'a str> {
    if recorded.is_empty() {
        return match idp {
            Some(_) => vec!["fed"],
            None => vec!["pwd"],
        };
    }
    recorded.iter().map(String::as_str).collect()
}

/// The class of a sign-in: with a passkey (its `amr` says a key was proven), through the
/// upstream provider `idp`, or with a password.
pub fn of_sign_in(idp: Option<&str>, amr: &[String]) -> &'static str {
    if amr.iter().any(|a| a == "hwk" || a == "swk") {
        return PHISHING_RESISTANT;
    }
    match idp {
        Some(_) => FEDERATED,
        None => PASSWORD,
    }
}

/// Whether a sign-in (`idp`, `amr` as recorded) meets `essential`, the classes a request
/// demands (empty: any).
pub fn meets(essential: &[String], idp: Option<&str>, amr: &[String]) -> bool {
    essential.is_empty() || essential.iter().any(|a| a == of_sign_in(idp, amr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_of_signing_in_has_its_class_and_methods() {
        assert_eq!(of_sign_in(None, &[]), PASSWORD);
        assert_eq!(of_sign_in(Some("google"), &[]), FEDERATED);
        let passkey = Method::Passkey { synced: true }.amr();
        assert_eq!(passkey, ["swk", "user", "mfa"]);
        assert_eq!(
            Method::Passkey { synced: false }.amr(),
            ["hwk", "user", "mfa"]
        );
        assert_eq!(of_sign_in(None, &passkey), PHISHING_RESISTANT);
        assert_eq!(amr(None, &[]), ["pwd"]);
        assert_eq!(amr(Some("google"), &[]), ["fed"]);
        assert_eq!(Method::Password.amr(), ["pwd"]);
        assert_eq!(Method::Federated("google").amr(), ["fed"]);
        assert_eq!(Method::Federated("google").idp(), Some("google"));
        let recorded = vec!["pwd".to_string(), "otp".into(), "mfa".into()];
        assert_eq!(amr(None, &recorded), ["pwd", "otp", "mfa"], "as recorded");
    }

    #[test]
    fn an_essential_class_is_met_only_by_its_own_way() {
        let password = vec![PASSWORD.to_string()];
        let federated = vec![FEDERATED.to_string()];
        let resistant = vec![PHISHING_RESISTANT.to_string()];
        let passkey = Method::Passkey { synced: false }.amr();
        assert!(meets(&[], None, &[]) && meets(&[], Some("g"), &[]));
        assert!(meets(&password, None, &[]) && !meets(&password, Some("g"), &[]));
        assert!(meets(&federated, Some("g"), &[]) && !meets(&federated, None, &[]));
        assert!(meets(&resistant, None, &passkey));
        assert!(!meets(&resistant, None, &[]) && !meets(&resistant, Some("g"), &[]));
    }
}
