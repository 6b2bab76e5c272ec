//! The two ends of the browser's trip to the upstream: the authorization request we send it
//! to (OIDC Core §3.1.2.1, RFC 7636), and the checks on the response it comes back with
//! (RFC 6749 §4.1.2, RFC 9207).
use url::Url;

use super::error::UpstreamError;
use super::id_token::is_tenant_id;
use super::metadata::{Metadata, TENANT_TEMPLATE};
use crate::protocol::pkce;

/// What goes into the upstream authorization request. `state`, `nonce` and `code_verifier`
/// are fresh random values per attempt (e.g. `crypto::random_token(32)`: 43 characters, a
/// valid RFC 7636 §4.1 verifier), kept server-side until the callback.
#[derive(Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    pub client_id: &'a str,
    /// Our callback, exactly as registered at the upstream.
    pub redirect_uri: &'a str,
    /// `openid` is added first if missing (OIDC Core §3.1.2.1 requires it).
    pub scopes: &'a [String],
    pub state: &'a str,
    pub nonce: &'a str,
    /// Sent as its S256 challenge (RFC 7636 §4.2), never itself.
    pub code_verifier: &'a str,
}

/// The URL to send the browser to: the metadata's `authorization_endpoint` (its own query
/// kept, RFC 6749 §3.1) with `response_type=code`, `client_id`, `redirect_uri`, `scope`,
/// `state`, `nonce`, `code_challenge` and `code_challenge_method=S256`.
pub fn authorization_url(metadata: &Metadata, req: &AuthorizationRequest<'_>) -> Url {
    let mut scopes: Vec<&str> = req.scopes.iter().map(String::as_str).collect();
    if !scopes.contains(&"openid") {
        scopes.insert(0, "openid");
    }
    let mut url = metadata.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", req.client_id)
        .append_pair("redirect_uri", req.redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", req.state)
        .append_pair("nonce", req.nonce)
        .append_pair("code_challenge", &pkce::challenge_of(req.code_verifier))
        .append_pair("code_challenge_method", "S256");
    url
}

/// RFC 9207 §2.4, against mix-up attacks: an `iss` in the authorization response must be this
/// upstream's issuer (for an Entra `{tenantid}` template: that template with some tenant id,
/// the ID token's `iss` is then checked exactly), and an upstream that advertises
/// `authorization_response_iss_parameter_supported` must send one.
pub fn check_response_issuer(metadata: &Metadata, iss: Option<&str>) -> Result<(), UpstreamError> {
    match iss {
        None if metadata.authorization_response_iss_parameter_supported => Err(
            UpstreamError::ResponseIssuer("has no iss, which this upstream always sends"),
        ),
        None => Ok(()),
        Some(iss) if iss == metadata.issuer || matches_template(&metadata.issuer, iss) => Ok(()),
        Some(_) => Err(UpstreamError::ResponseIssuer(
            "names another issuer (iss): it did not come from this upstream",
        )),
    }
}

fn matches_template(template: &str, iss: &str) -> bool {
    let Some((prefix, suffix)) = template.split_once(TENANT_TEMPLATE) else {
        return false;
    };
    iss.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .is_some_and(is_tenant_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::upstream::testkit::{ISSUER, metadata};

    #[test]
    fn the_url_carries_every_parameter_and_keeps_the_endpoints_query() {
        let mut m = metadata(ISSUER);
        m.authorization_endpoint = Url::parse("https://idp.example/auth?tenant=x").expect("url");
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let scopes = ["email".to_string(), "profile".to_string()];
        let url = authorization_url(
            &m,
            &AuthorizationRequest {
                client_id: "our client",
                redirect_uri: "https://op.example/federation/callback",
                scopes: &scopes,
                state: "st",
                nonce: "no",
                code_verifier: verifier,
            },
        );
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(url.path(), "/auth");
        assert_eq!(get("tenant"), Some("x"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("our client"));
        assert_eq!(
            get("redirect_uri"),
            Some("https://op.example/federation/callback")
        );
        assert_eq!(get("scope"), Some("openid email profile"));
        assert_eq!((get("state"), get("nonce")), (Some("st"), Some("no")));
        // RFC 7636 Appendix B.
        assert_eq!(
            get("code_challenge"),
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        );
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert!(!url.as_str().contains(verifier));
    }

    #[test]
    fn response_iss_is_checked_as_rfc_9207_says() {
        let mut m = metadata(ISSUER);
        assert!(check_response_issuer(&m, Some(ISSUER)).is_ok());
        assert!(check_response_issuer(&m, Some("https://evil.example")).is_err());
        let e = check_response_issuer(&m, None).expect_err("advertised, so required");
        assert_eq!(e.code(), "bad_response_iss");
        m.authorization_response_iss_parameter_supported = false;
        assert!(check_response_issuer(&m, None).is_ok());
        assert!(check_response_issuer(&m, Some("https://evil.example")).is_err());
    }

    #[test]
    fn a_template_accepts_any_single_tenant() {
        let mut m = metadata(ISSUER);
        m.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
        let ok = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0";
        assert!(check_response_issuer(&m, Some(ok)).is_ok());
        for bad in [
            "https://login.microsoftonline.com//v2.0",
            "https://login.microsoftonline.com/a/b/v2.0",
            "https://evil.example/x/v2.0",
        ] {
            assert!(check_response_issuer(&m, Some(bad)).is_err(), "{bad}");
        }
    }
}
