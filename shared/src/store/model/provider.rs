//! An upstream OpenID provider people may sign in with ("Continue with Google"), as an
//! administrator configured it, and its client secret, sealed.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How we authenticate to the upstream's token endpoint (OIDC Core §9; the names are RFC
/// 7591's `token_endpoint_auth_method` values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamAuth {
    /// RFC 6749 §2.3.1, the secret in HTTP Basic.
    #[default]
    ClientSecretBasic,
    /// RFC 6749 §2.3.1, the secret in the form.
    ClientSecretPost,
    /// RFC 7523 §2.2: a JWT signed with the federation function's own client key
    /// (`federation::client_key`), whose public half the upstream reads at
    /// `<issuer>/federation/jwks`. No secret is stored at all.
    PrivateKeyJwt,
}

impl UpstreamAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamAuth::ClientSecretBasic => "client_secret_basic",
            UpstreamAuth::ClientSecretPost => "client_secret_post",
            UpstreamAuth::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Whether this method sends a client secret.
    pub fn needs_secret(self) -> bool {
        !matches!(self, UpstreamAuth::PrivateKeyJwt)
    }
}

/// A client secret encrypted for one provider (`federation::seal`): never stored in plaintext.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealedSecret {
    /// The KMS key (its ARN, as KMS answered) that encrypted it, or [`SealedSecret::LOCAL`]:
    /// the data directory's `federation.key`.
    pub key: String,
    /// base64url: KMS's ciphertext blob, or the AES-256-GCM nonce followed by the
    /// ciphertext and its tag.
    pub ciphertext: String,
}

impl SealedSecret {
    /// The `key` of secrets sealed by the embedded backend's local key.
    pub const LOCAL: &'static str = "local";
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The scopes asked of an upstream unless configured otherwise.
pub const DEFAULT_UPSTREAM_SCOPES: [&str; 3] = ["openid", "email", "profile"];

fn default_scopes() -> Vec<String> {
    DEFAULT_UPSTREAM_SCOPES.map(String::from).to_vec()
}

fn yes() -> bool {
    true
}

fn is_true(v: &bool) -> bool {
    *v
}

/// An upstream OpenID provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpstreamProvider {
    /// `[a-z0-9-]{1,32}`: the `idp=` value, and what our ID tokens name in the `idp` claim.
    pub id: String,
    /// Exactly as its discovery document says. Microsoft Entra's multi-tenant issuer holds
    /// the template `{tenantid}`, which the token's `tid` fills in.
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_auth: UpstreamAuth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_secret: Option<SealedSecret>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Shown on the sign-in page: "Continue with <display_name>".
    pub display_name: String,
    /// An https logo for the button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Our claim name -> the upstream's claim name. Empty: the standard names unchanged
    /// (name, given_name, family_name, email, email_verified, picture, locale, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claim_map: BTreeMap<String, String>,
    /// Trusted to link a first sign-in to an existing local account with the same email,
    /// when the upstream says the email is verified. Off: an email never links accounts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub link_verified_email: bool,
    /// Also read the upstream's userinfo endpoint after the token exchange.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub userinfo: bool,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
}

/// Why a provider's configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider {id}: {problem}")]
pub struct InvalidProvider {
    pub id: String,
    pub problem: String,
}

/// The longest issuer accepted: it is part of every account link's storage key.
pub const MAX_ISSUER_LEN: usize = 512;

/// The Entra multi-tenant issuer's placeholder, filled from the token's `tid`.
pub const TENANT_TEMPLATE: &str = "{tenantid}";

impl UpstreamProvider {
    /// Checks everything that can be checked without asking the upstream: the id, the
    /// issuer and logo (https; http only for loopback hosts, for tests and development),
    /// the client (a client id, and a sealed secret when the method sends one), the scopes
    /// (`openid` among them, RFC 6749 §3.3 syntax), the display name and the claim map.
    pub fn validate(&self) -> Result<(), InvalidProvider> {
        self.check().map_err(|problem| InvalidProvider {
            id: self.id.clone(),
            problem,
        })
    }

    fn check(&self) -> Result<(), String> {
        if !is_provider_id(&self.id) {
            return Err("the id must be 1 to 32 of a-z, 0-9 and '-'".into());
        }
        check_issuer(&self.issuer)?;
        if self.client_id.is_empty() || self.client_id.len() > 255 || !printable(&self.client_id) {
            return Err("client_id must be 1 to 255 printable characters".into());
        }
        match &self.sealed_secret {
            None if self.client_auth.needs_secret() => {
                return Err(format!(
                    "{} needs a client secret",
                    self.client_auth.as_str()
                ));
            }
            // A secret nothing sends is a secret kept for nothing.
            Some(_) if !self.client_auth.needs_secret() => {
                return Err(format!(
                    "{} sends no client secret: store none",
                    self.client_auth.as_str()
                ));
            }
            Some(s) if s.key.is_empty() || s.ciphertext.is_empty() => {
                return Err("the sealed client secret is incomplete".into());
            }
            _ => {}
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err("the scopes must include openid".into());
        }
        if let Some(bad) = self.scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(format!("{bad:?} is not a scope (RFC 6749 §3.3)"));
        }
        let name = self.display_name.trim();
        if name.is_empty() || self.display_name.chars().count() > 100 || !printable(name) {
            return Err("the display name must be 1 to 100 characters, none a control".into());
        }
        if let Some(logo) = &self.logo_uri {
            check_web_url(logo, 2000).map_err(|p| format!("logo_uri {p}"))?;
        }
        for (ours, theirs) in &self.claim_map {
            if ours == "sub" {
                return Err("the claim map cannot set sub: ours is never the upstream's".into());
            }
            if [ours, theirs]
                .iter()
                .any(|n| n.is_empty() || n.len() > 255 || !printable(n))
            {
                return Err("claim names must be 1 to 255 printable characters".into());
            }
        }
        Ok(())
    }
}

/// `[a-z0-9-]{1,32}`.
pub fn is_provider_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// RFC 6749 §3.3: printable ASCII without space, `"` or `\`.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// An issuer is an https URL without query or fragment (OpenID Connect Discovery 1.0 §3,
/// RFC 8414 §2); `{tenantid}` may stand for a path segment (Entra's multi-tenant issuer).
fn check_issuer(issuer: &str) -> Result<(), String> {
    let filled = issuer.replace(TENANT_TEMPLATE, "tenant");
    if filled.contains(['{', '}']) {
        return Err(format!(
            "the issuer may hold no template other than {TENANT_TEMPLATE}"
        ));
    }
    check_web_url(&filled, MAX_ISSUER_LEN).map_err(|p| format!("the issuer {p}"))?;
    if filled.contains(['?', '#']) {
        return Err(
            "the issuer must have no query or fragment (OpenID Connect Discovery §3)".into(),
        );
    }
    Ok(())
}

/// An absolute https URL naming a host, without user information; `http://` only for a
/// loopback host (127.0.0.1, [::1], localhost).
fn check_web_url(value: &str, max_len: usize) -> Result<(), &'static str> {
    if value.len() > max_len {
        return Err("is too long");
    }
    if value
        .bytes()
        .any(|b| !b.is_ascii_graphic() || b == b'\\' || b == b'"')
    {
        return Err("must be printable ASCII without spaces");
    }
    let url = url::Url::parse(value).map_err(|_| "is not an absolute URL")?;
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => {}
        "http" if matches!(host, "127.0.0.1" | "[::1]" | "localhost") => {}
        "http" => return Err("must use https (http only for loopback hosts)"),
        _ => return Err("must be an https URL"),
    }
    if host.is_empty() || !value.contains("://") {
        return Err("must name a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain user information");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google() -> UpstreamProvider {
        UpstreamProvider {
            id: "google".into(),
            issuer: "https://accounts.google.com".into(),
            client_id: "123.apps.googleusercontent.com".into(),
            client_auth: UpstreamAuth::ClientSecretBasic,
            sealed_secret: Some(SealedSecret {
                key: SealedSecret::LOCAL.into(),
                ciphertext: "c2VhbGVk".into(),
            }),
            scopes: default_scopes(),
            display_name: "Google".into(),
            logo_uri: None,
            claim_map: BTreeMap::new(),
            link_verified_email: false,
            userinfo: false,
            enabled: true,
        }
    }

    fn problem(p: UpstreamProvider) -> String {
        p.validate().expect_err("refused").problem
    }

    #[test]
    fn a_complete_provider_is_valid() {
        assert_eq!(google().validate(), Ok(()));
        let mut entra = google();
        entra.id = "entra-multi".into();
        entra.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
        entra.logo_uri = Some("https://example.com/ms.svg".into());
        entra.claim_map.insert("name".into(), "displayName".into());
        assert_eq!(entra.validate(), Ok(()));
        let mut local = google();
        local.issuer = "http://127.0.0.1:8080".into();
        local.logo_uri = Some("http://localhost:8080/logo.png".into());
        assert_eq!(local.validate(), Ok(()));
    }

    #[test]
    fn ids_are_short_lowercase_names() {
        for bad in ["", "Google", "goo gle", "a#b", "ü", &"a".repeat(33)] {
            let mut p = google();
            p.id = bad.into();
            assert!(problem(p).contains("id"), "{bad:?}");
        }
        assert!(is_provider_id("okta-2"));
    }

    #[test]
    fn issuers_and_logos_are_https_except_on_loopback() {
        for bad in [
            "http://accounts.google.com",
            "accounts.google.com",
            "https://",
            "https://user@idp.example",
            "https://idp.example/?x=1",
            "https://idp.example/#f",
            "https://idp.example/{tenant}/v2.0",
            "ftp://idp.example",
            "https://idp.example/ space",
        ] {
            let mut p = google();
            p.issuer = bad.into();
            assert!(problem(p).contains("issuer"), "{bad:?}");
        }
        let mut p = google();
        p.issuer = format!("https://idp.example/{}", "a".repeat(MAX_ISSUER_LEN));
        assert!(problem(p).contains("too long"));
        for bad in [
            "http://cdn.example/logo.png",
            "javascript:alert(1)",
            "data:x",
        ] {
            let mut p = google();
            p.logo_uri = Some(bad.into());
            assert!(problem(p).contains("logo_uri"), "{bad:?}");
        }
    }

    #[test]
    fn client_scopes_names_and_claims_are_checked() {
        let mut p = google();
        p.client_id = String::new();
        assert!(problem(p).contains("client_id"));
        let mut p = google();
        p.sealed_secret = None;
        assert!(problem(p).contains("needs a client secret"));
        let mut p = google();
        p.client_auth = UpstreamAuth::PrivateKeyJwt;
        assert!(problem(p.clone()).contains("sends no client secret"));
        p.sealed_secret = None;
        assert_eq!(p.validate(), Ok(()), "private_key_jwt stores no secret");
        let mut p = google();
        p.scopes = vec!["email".into(), "profile".into()];
        assert!(problem(p).contains("openid"));
        let mut p = google();
        p.scopes.push("bad scope".into());
        assert!(problem(p).contains("not a scope"));
        let mut p = google();
        p.display_name = "  ".into();
        assert!(problem(p).contains("display name"));
        let mut p = google();
        p.claim_map.insert("sub".into(), "oid".into());
        assert!(problem(p).contains("sub"));
        let mut p = google();
        p.claim_map.insert("name".into(), String::new());
        assert!(problem(p).contains("claim names"));
        assert_eq!(
            google().validate().map_err(|e| e.to_string()),
            Ok(()),
            "and errors name the provider"
        );
        let mut p = google();
        p.client_id = String::new();
        assert!(
            p.validate()
                .expect_err("refused")
                .to_string()
                .starts_with("provider google: ")
        );
    }

    #[test]
    fn stored_defaults_and_debug_hide_the_ciphertext() {
        let p: UpstreamProvider = serde_json::from_value(serde_json::json!({
            "id": "g", "issuer": "https://accounts.google.com", "client_id": "c",
            "display_name": "G"
        }))
        .expect("parses");
        assert_eq!(p.scopes, default_scopes());
        assert!(p.enabled && !p.userinfo && !p.link_verified_email);
        assert_eq!(p.client_auth, UpstreamAuth::ClientSecretBasic);
        let stored = serde_json::to_value(google()).expect("json");
        assert!(stored.get("enabled").is_none(), "enabled is the default");
        assert!(!format!("{:?}", google()).contains("c2VhbGVk"));
    }
}
