//! An upstream's discovery document (OpenID Connect Discovery 1.0), fetched and validated.
use serde_json::{Map, Value};
use url::{Host, Url};

use super::error::{Step, UpstreamError};
use super::fetch::{Credentials, Fetch, at};

/// The placeholder Microsoft Entra ID puts in the issuer of its multi-tenant discovery
/// documents (`https://login.microsoftonline.com/{tenantid}/v2.0`); each ID token's `iss` has
/// the tenant of the person instead, which is also its `tid` claim.
pub const TENANT_TEMPLATE: &str = "{tenantid}";
/// Where a `{tenantid}` issuer's document is fetched: Entra's tenant-independent endpoint.
const TENANT_DISCOVERY: &str = "common";

/// What this client needs from an upstream's discovery document, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Exactly as configured, which OIDC Discovery §4.3 makes it equal to the document's.
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    pub userinfo_endpoint: Option<Url>,
    /// Empty when the document does not say (it must, but then we still allow RS256/ES256).
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Empty when the document does not say (RFC 8414 §2: `client_secret_basic` then).
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// For `private_key_jwt` (OIDC Discovery §3); empty when the document does not say.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// RFC 9207 §3: the authorization response carries `iss`, and must.
    pub authorization_response_iss_parameter_supported: bool,
}

impl Metadata {
    /// Whether the issuer is an Entra-style `{tenantid}` template.
    pub fn is_template(&self) -> bool {
        self.issuer.contains(TENANT_TEMPLATE)
    }

    /// Reads and validates a discovery document for `issuer` (OIDC Discovery §3, §4.3): its
    /// `issuer` must be exactly the configured one (a `{tenantid}` template included, as
    /// Entra's document says it literally); the authorization, token and JWKS endpoints are
    /// required; every endpoint must be an https URL, http allowed for loopback hosts only.
    pub fn from_document(issuer: &str, doc: &Map<String, Value>) -> Result<Self, UpstreamError> {
        let bad = |m: String| UpstreamError::Metadata(m);
        check_issuer(issuer)?;
        match doc.get("issuer").and_then(Value::as_str) {
            Some(found) if found == issuer => {}
            Some(found) => {
                return Err(bad(format!(
                    "it is for issuer `{}`, not `{issuer}`",
                    super::error::printable(found, 200)
                )));
            }
            None => return Err(bad("it has no issuer".into())),
        }
        let endpoint = |name: &'static str| -> Result<Option<Url>, UpstreamError> {
            match doc.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => check_url(name, s).map(Some),
                Some(_) => Err(bad(format!("its {name} is not a string"))),
            }
        };
        let required =
            |name: &'static str| endpoint(name)?.ok_or_else(|| bad(format!("it has no {name}")));
        let strings = |name: &str| -> Vec<String> {
            doc.get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Metadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: required("authorization_endpoint")?,
            token_endpoint: required("token_endpoint")?,
            jwks_uri: required("jwks_uri")?,
            userinfo_endpoint: endpoint("userinfo_endpoint")?,
            id_token_signing_alg_values_supported: strings("id_token_signing_alg_values_supported"),
            token_endpoint_auth_methods_supported: strings("token_endpoint_auth_methods_supported"),
            token_endpoint_auth_signing_alg_values_supported: strings(
                "token_endpoint_auth_signing_alg_values_supported",
            ),
            authorization_response_iss_parameter_supported: doc
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

/// OIDC Discovery §4: `<issuer>/.well-known/openid-configuration`, a terminating `/` of the
/// issuer removed first. A `{tenantid}` template is fetched at Entra's `common` tenant, whose
/// document names the template as its issuer.
pub fn discovery_url(issuer: &str) -> Result<Url, UpstreamError> {
    check_issuer(issuer)?;
    let base = issuer
        .replace(TENANT_TEMPLATE, TENANT_DISCOVERY)
        .trim_end_matches('/')
        .to_owned();
    check_url(
        "discovery URL",
        &format!("{base}/.well-known/openid-configuration"),
    )
}

/// Fetches and validates an upstream's discovery document (see [`Metadata::from_document`]).
/// Callers normally go through [`super::cache::UpstreamCache::metadata`].
pub async fn discover(fetch: &dyn Fetch, issuer: &str) -> Result<Metadata, UpstreamError> {
    let url = discovery_url(issuer)?;
    let resp = fetch
        .get(&url, Credentials::None)
        .await
        .map_err(at(Step::Discovery, &url))?;
    if !resp.is_success() {
        return Err(UpstreamError::Status {
            step: Step::Discovery,
            status: resp.status,
        });
    }
    let doc = resp.json_object().ok_or(UpstreamError::NotJson {
        step: Step::Discovery,
    })?;
    Metadata::from_document(issuer, &doc)
}

/// OIDC Discovery §3: an issuer is a URL with no query or fragment.
fn check_issuer(issuer: &str) -> Result<(), UpstreamError> {
    let url = check_url("issuer", &issuer.replace(TENANT_TEMPLATE, TENANT_DISCOVERY))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(insecure("issuer", issuer));
    }
    Ok(())
}

/// An https URL, or http to a loopback host (tests and development: a second local provider).
/// No credentials in it, no fragment (RFC 6749 §3.1 forbids one on an endpoint).
pub(crate) fn check_url(what: &'static str, s: &str) -> Result<Url, UpstreamError> {
    let url = Url::parse(s).map_err(|_| insecure(what, s))?;
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    let plain = url.username().is_empty() && url.password().is_none() && url.fragment().is_none();
    if scheme_ok && plain && url.has_host() {
        Ok(url)
    } else {
        Err(insecure(what, s))
    }
}

fn insecure(what: &'static str, url: &str) -> UpstreamError {
    UpstreamError::InsecureUrl {
        what,
        url: super::error::printable(url, 200),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(issuer: &str) -> Map<String, Value> {
        crate::federation::upstream::testkit::discovery_doc(issuer, issuer)
    }

    #[test]
    fn a_good_document_is_read() {
        let m = Metadata::from_document("https://idp.example", &doc("https://idp.example"))
            .expect("valid");
        assert_eq!(m.token_endpoint.as_str(), "https://idp.example/token");
        assert_eq!(m.id_token_signing_alg_values_supported, ["RS256", "ES256"]);
        assert!(m.authorization_response_iss_parameter_supported);
        assert!(m.token_endpoint_auth_methods_supported.is_empty());
    }

    #[test]
    fn the_issuer_must_match_exactly() {
        for configured in [
            "https://idp.example/",
            "https://IDP.example",
            "https://other",
        ] {
            let e = Metadata::from_document(configured, &doc("https://idp.example"))
                .expect_err(configured);
            assert_eq!(e.code(), "bad_metadata", "{configured}");
        }
        let mut d = doc("https://idp.example");
        d.remove("issuer");
        assert!(Metadata::from_document("https://idp.example", &d).is_err());
    }

    #[test]
    fn a_tenant_template_matches_itself() {
        let t = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let m = Metadata::from_document(t, &doc(t)).expect("template");
        assert!(m.is_template());
        assert_eq!(
            discovery_url(t).expect("url").as_str(),
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
        );
        let concrete = "https://login.microsoftonline.com/abc/v2.0";
        assert!(Metadata::from_document(t, &doc(concrete)).is_err());
    }

    #[test]
    fn required_endpoints_must_be_there() {
        for name in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
            let mut d = doc("https://idp.example");
            d.remove(name);
            let e = Metadata::from_document("https://idp.example", &d).expect_err(name);
            assert!(e.to_string().contains(name), "{e}");
        }
        let mut d = doc("https://idp.example");
        d.remove("userinfo_endpoint");
        let m = Metadata::from_document("https://idp.example", &d).expect("optional");
        assert_eq!(m.userinfo_endpoint, None);
    }

    #[test]
    fn endpoints_must_be_https_unless_loopback() {
        for (issuer, ok) in [
            ("http://127.0.0.1:8080", true),
            ("http://localhost:9000/base", true),
            ("http://[::1]:1234", true),
            ("http://idp.example", false),
            ("http://10.0.0.1", false),
            ("ftp://idp.example", false),
        ] {
            let r = Metadata::from_document(issuer, &doc(issuer));
            assert_eq!(r.is_ok(), ok, "{issuer}: {r:?}");
        }
        let mut d = doc("https://idp.example");
        d.insert("token_endpoint".into(), json!("http://idp.example/token"));
        let e = Metadata::from_document("https://idp.example", &d).expect_err("http");
        assert_eq!(e.code(), "insecure_url");
        d.insert(
            "token_endpoint".into(),
            json!("https://user:pw@idp.example/token"),
        );
        assert!(Metadata::from_document("https://idp.example", &d).is_err());
        assert!(discovery_url("https://idp.example?x=1").is_err());
    }

    #[test]
    fn the_discovery_url_drops_a_trailing_slash() {
        assert_eq!(
            discovery_url("https://idp.example/realms/a/")
                .expect("url")
                .as_str(),
            "https://idp.example/realms/a/.well-known/openid-configuration"
        );
    }
}
