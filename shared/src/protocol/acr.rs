//! How the person proved who they are: the Authentication Context Class Reference (OIDC Core
//! §2 `acr`) and the Authentication Methods References (`amr`, RFC 8176).
//!
//! The classes are levels, ordered: a password < two factors < phishing-resistant (a
//! passkey). A sign-in's level comes from the `amr` its session recorded; a request for a
//! level (`acr_values`, Core §3.1.2.1, or an `acr` claim with values, §5.5.1.1), the
//! client's administrator and the deployment each set a least level, and the highest of
//! them is what the sign-in must meet: a session below it is not reused, the sign-in page
//! offers only the ways that reach it, and a sign-in that still falls short never gets a
//! code (`unmet_authentication_requirements`), never an ID token that pretends.

/// A password, checked against its argon2id hash; also a sign-in at an upstream provider,
/// whose own `amr` is not taken on trust.
pub const PASSWORD: &str = "urn:oidc-serverless:acr:password";

/// A password and a second factor (a one-time code); the session's `amr` says `mfa`.
pub const TWO_FACTOR: &str = "urn:oidc-serverless:acr:two-factor";

/// A passkey (WebAuthn, user verified): bound to this origin by the browser, so a
/// phishing site cannot replay it.
pub const PHISHING_RESISTANT: &str = "urn:oidc-serverless:acr:phishing-resistant";

/// A sign-in at an upstream OpenID provider: the value of the password level before levels,
/// still accepted in requests for it (and stated back when asked for), no longer listed.
pub const FEDERATED: &str = "urn:oidc-serverless:acr:federated";

/// `acr_values_supported` in discovery, lowest level first.
pub const SUPPORTED: &[&str] = &[PASSWORD, TWO_FACTOR, PHISHING_RESISTANT];

/// The levels themselves are data the store keeps (a client's least level, a request's):
/// defined with the records, given their meaning here.
pub use crate::store::Level;

impl Level {
    /// Whether a sign-in at an upstream provider can meet it: only the password level (an
    /// upstream's own `amr` is not taken on trust).
    pub fn upstream_meets(self) -> bool {
        self <= Level::Password
    }

    /// Whether a password (with a second factor if need be) can meet it: anything but
    /// phishing-resistant, which only a passkey meets.
    pub fn password_can_meet(self) -> bool {
        self < Level::PhishingResistant
    }

    /// The `acr` value that names it.
    pub fn acr(self) -> &'static str {
        match self {
            Level::Password => PASSWORD,
            Level::TwoFactor => TWO_FACTOR,
            Level::PhishingResistant => PHISHING_RESISTANT,
        }
    }

    /// The level an `acr` value asks for; None for a value this provider does not know.
    pub fn of_acr(value: &str) -> Option<Level> {
        match value {
            PASSWORD | FEDERATED => Some(Level::Password),
            TWO_FACTOR => Some(Level::TwoFactor),
            PHISHING_RESISTANT => Some(Level::PhishingResistant),
            _ => None,
        }
    }

    /// Its name in settings (`SIGNIN_MIN_LEVEL`, a client's `min_level`).
    pub fn name(self) -> &'static str {
        match self {
            Level::Password => "password",
            Level::TwoFactor => "two-factor",
            Level::PhishingResistant => "phishing-resistant",
        }
    }

    /// The level a setting names.
    pub fn parse(name: &str) -> Option<Level> {
        [Level::Password, Level::TwoFactor, Level::PhishingResistant]
            .into_iter()
            .find(|l| l.name() == name)
    }

    /// The level of a sign-in from the `amr` its session recorded: proof of a key (`hwk`,
    /// `swk`) is phishing-resistant; several factors (`mfa`, RFC 8176 §2) are two; anything
    /// else (a password, an upstream provider, a record from before `amr` was kept) is the
    /// password level.
    pub fn of_sign_in(amr: &[String]) -> Level {
        if amr.iter().any(|a| a == "hwk" || a == "swk") {
            Level::PhishingResistant
        } else if amr.iter().any(|a| a == "mfa") {
            Level::TwoFactor
        } else {
            Level::Password
        }
    }

    /// The way to reach it, in plain words, for the sign-in pages.
    pub fn describe(self) -> &'static str {
        match self {
            Level::Password => "a password",
            Level::TwoFactor => "a second factor (a code from an authenticator app) or a passkey",
            Level::PhishingResistant => "a passkey",
        }
    }
}

/// The least level a request asks for: the lowest of the known `acr` values it names (any
/// of them would do, Core §3.1.2.1); None when it names none.
pub fn asked(values: &[String]) -> Option<Level> {
    values.iter().filter_map(|v| Level::of_acr(v)).min()
}

/// The least level a sign-in must meet: the deployment's (`SIGNIN_MIN_LEVEL`), the client's
/// (its administrator's, or a registered client's `default_acr_values`) and the request's,
/// whichever is highest. Neither the client nor the request can lower the deployment's.
pub fn required(deployment: Level, client: Option<Level>, values: &[String]) -> Level {
    deployment
        .max(client.unwrap_or_default())
        .max(asked(values).unwrap_or_default())
}

/// The ID token's `acr` for a sign-in (its recorded `amr`) and the values the request asked
/// for: of those, the highest the sign-in meets (Core §5.5.1.1: one of the values asked
/// for); when none was asked for or none is met, the sign-in's own level.
pub fn stated<'a>(asked: &'a [String], amr: &[String]) -> &'a str {
    let level = Level::of_sign_in(amr);
    let mut best: Option<(Level, &str)> = None;
    for v in asked {
        if let Some(l) = Level::of_acr(v).filter(|l| *l <= level)
            && best.is_none_or(|(b, _)| l > b)
        {
            best = Some((l, v.as_str()));
        }
    }
    best.map_or(level.acr(), |(_, v)| v)
}

/// Whether a sign-in (its recorded `amr`) meets `least`.
pub fn meets(least: Level, amr: &[String]) -> bool {
    Level::of_sign_in(amr) >= least
}

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
    /// A password, then a second factor: a code from the person's authenticator app
    /// (RFC 6238), or, with `recovery`, one of their single-use recovery codes instead.
    SecondFactor {
        recovery: bool,
    },
}

impl<'a> Method<'a> {
    pub fn idp(self) -> Option<&'a str> {
        match self {
            Method::Federated(idp) => Some(idp),
            Method::Password | Method::Passkey { .. } | Method::SecondFactor { .. } => None,
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
            // RFC 8176 §2: a password (`pwd`) and a one-time password (`otp`), two factors
            // (`mfa`). A recovery code is no OTP generator's: `pwd` and `mfa` only, so a
            // relying party can tell that the app was not used.
            Method::SecondFactor { recovery: false } => &["pwd", "otp", "mfa"],
            Method::SecondFactor { recovery: true } => &["pwd", "mfa"],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_way_of_signing_in_has_its_methods_and_level() {
        let passkey = Method::Passkey { synced: true }.amr();
        assert_eq!(passkey, ["swk", "user", "mfa"]);
        assert_eq!(
            Method::Passkey { synced: false }.amr(),
            ["hwk", "user", "mfa"]
        );
        assert_eq!(amr(None, &[]), ["pwd"]);
        assert_eq!(amr(Some("google"), &[]), ["fed"]);
        assert_eq!(Method::Password.amr(), ["pwd"]);
        assert_eq!(Method::Federated("google").amr(), ["fed"]);
        assert_eq!(Method::Federated("google").idp(), Some("google"));
        let two = strings(&["pwd", "otp", "mfa"]);
        assert_eq!(amr(None, &two), ["pwd", "otp", "mfa"], "as recorded");

        assert_eq!(Level::of_sign_in(&passkey), Level::PhishingResistant);
        assert_eq!(
            Level::of_sign_in(&Method::Passkey { synced: false }.amr()),
            Level::PhishingResistant
        );
        assert_eq!(Level::of_sign_in(&two), Level::TwoFactor);
        assert_eq!(Level::of_sign_in(&Method::Password.amr()), Level::Password);
        assert_eq!(
            Level::of_sign_in(&Method::Federated("g").amr()),
            Level::Password,
            "an upstream's own amr is not taken on trust"
        );
        assert_eq!(Level::of_sign_in(&[]), Level::Password, "an older record");
    }

    #[test]
    fn levels_are_ordered_and_named() {
        assert!(Level::Password < Level::TwoFactor);
        assert!(Level::TwoFactor < Level::PhishingResistant);
        for l in [Level::Password, Level::TwoFactor, Level::PhishingResistant] {
            assert_eq!(Level::parse(l.name()), Some(l));
            assert_eq!(Level::of_acr(l.acr()), Some(l));
            assert!(SUPPORTED.contains(&l.acr()));
        }
        assert_eq!(Level::of_acr(FEDERATED), Some(Level::Password));
        assert_eq!(Level::of_acr("urn:x:mfa"), None);
        assert_eq!(Level::parse("mfa"), None);
        assert_eq!(
            serde_json::to_value(Level::TwoFactor).expect("json"),
            "two-factor"
        );
    }

    #[test]
    fn a_request_for_a_level_is_met_by_it_or_higher() {
        let pwd = Method::Password.amr();
        let two = strings(&["pwd", "otp", "mfa"]);
        let passkey = Method::Passkey { synced: false }.amr();
        for amr in [&pwd, &two, &passkey] {
            assert!(meets(Level::Password, amr));
        }
        assert!(!meets(Level::TwoFactor, &pwd) && meets(Level::TwoFactor, &two));
        assert!(meets(Level::TwoFactor, &passkey));
        assert!(!meets(Level::PhishingResistant, &two));
        assert!(meets(Level::PhishingResistant, &passkey));
    }

    #[test]
    fn the_least_level_is_the_highest_of_deployment_client_and_request() {
        let asked_for = |v: &[&str]| asked(&strings(v));
        assert_eq!(asked_for(&[]), None);
        assert_eq!(
            asked_for(&["urn:x:unknown"]),
            None,
            "unknown values are ignored"
        );
        assert_eq!(
            asked_for(&[PHISHING_RESISTANT, TWO_FACTOR]),
            Some(Level::TwoFactor),
            "either would do: the lower is the least"
        );
        let resistant = strings(&[PHISHING_RESISTANT]);
        let pwd = strings(&[PASSWORD]);
        assert_eq!(required(Level::Password, None, &[]), Level::Password);
        assert_eq!(
            required(Level::Password, None, &resistant),
            Level::PhishingResistant
        );
        assert_eq!(
            required(Level::TwoFactor, Some(Level::Password), &pwd),
            Level::TwoFactor,
            "neither the client nor the request lowers the deployment's"
        );
        assert_eq!(
            required(Level::Password, Some(Level::PhishingResistant), &pwd),
            Level::PhishingResistant
        );
    }

    #[test]
    fn the_id_token_states_the_highest_value_asked_for_that_was_met() {
        let passkey = Method::Passkey { synced: true }.amr();
        let pwd = Method::Password.amr();
        let two = strings(&["pwd", "otp", "mfa"]);
        assert_eq!(stated(&[], &passkey), PHISHING_RESISTANT, "its own level");
        assert_eq!(stated(&[], &two), TWO_FACTOR);
        assert_eq!(stated(&[], &pwd), PASSWORD);
        assert_eq!(
            stated(&strings(&[PASSWORD]), &passkey),
            PASSWORD,
            "one of the values asked for"
        );
        let both = strings(&[PASSWORD, TWO_FACTOR, "urn:x:unknown"]);
        assert_eq!(stated(&both, &passkey), TWO_FACTOR);
        assert_eq!(stated(&both, &pwd), PASSWORD);
        assert_eq!(stated(&strings(&[FEDERATED]), &pwd), FEDERATED);
        assert_eq!(
            stated(&strings(&[PHISHING_RESISTANT]), &pwd),
            PASSWORD,
            "none met: what was done, never what was asked"
        );
    }
}
