//! An upstream's JWK Set (RFC 7517 §5), and the choice of the key a token names.
use serde_json::Value;

use super::error::{IdTokenError, Step, UpstreamError, printable};
use super::fetch::{Credentials, Fetch, at};
use super::metadata::Metadata;

#[derive(Debug, Clone, PartialEq)]
pub struct Jwks {
    keys: Vec<Value>,
}

impl Jwks {
    /// A `{"keys": [...]}` document; keys meant for encryption (`use: enc`) are left out.
    pub fn from_document(doc: &Value) -> Result<Self, UpstreamError> {
        let keys = doc["keys"]
            .as_array()
            .ok_or_else(|| UpstreamError::Jwks("it has no keys array".into()))?;
        let keys = keys
            .iter()
            .filter(|k| k.is_object() && k["use"].as_str().is_none_or(|u| u == "sig"))
            .cloned()
            .collect();
        Ok(Jwks { keys })
    }

    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k["kid"].as_str() == Some(kid))
    }

    /// The key to verify a token of algorithm `alg` with. With a `kid`, the key of that id
    /// whose type fits `alg` and whose own `alg`, if it says one, is `alg` (no algorithm
    /// confusion); without one, the single key that fits (OIDC Core §10.1: a kid is required
    /// when the set holds several).
    pub fn select(&self, kid: Option<&str>, alg: &str) -> Result<&Value, IdTokenError> {
        let kty = match alg {
            "RS256" => "RSA",
            "ES256" => "EC",
            other => return Err(IdTokenError::Algorithm(printable(other, 20))),
        };
        let fits = |k: &&Value| {
            k["kty"].as_str() == Some(kty) && k["alg"].as_str().is_none_or(|a| a == alg)
        };
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k["kid"].as_str() == Some(kid))
                .find(fits)
                .ok_or_else(|| IdTokenError::UnknownKey(printable(kid, 80))),
            None => {
                let mut fitting = self.keys.iter().filter(fits);
                match (fitting.next(), fitting.next()) {
                    (Some(k), None) => Ok(k),
                    _ => Err(IdTokenError::NoKeyId),
                }
            }
        }
    }
}

/// Fetches the key set at the metadata's `jwks_uri`. Callers normally go through
/// [`super::cache::UpstreamCache`], which keeps it and refetches on an unknown `kid`.
pub async fn fetch_jwks(fetch: &dyn Fetch, metadata: &Metadata) -> Result<Jwks, UpstreamError> {
    let url = &metadata.jwks_uri;
    let resp = fetch
        .get(url, Credentials::None)
        .await
        .map_err(at(Step::Jwks, url))?;
    if !resp.is_success() {
        return Err(UpstreamError::Status {
            step: Step::Jwks,
            status: resp.status,
        });
    }
    let doc = resp
        .json_object()
        .ok_or(UpstreamError::NotJson { step: Step::Jwks })?;
    Jwks::from_document(&Value::Object(doc))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set() -> Jwks {
        Jwks::from_document(&json!({"keys": [
            {"kty": "RSA", "kid": "r1", "n": "x", "e": "AQAB"},
            {"kty": "EC", "kid": "e1", "crv": "P-256", "x": "x", "y": "y", "alg": "ES256"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "x", "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "x", "e": "AQAB"},
        ]}))
        .expect("set")
    }

    #[test]
    fn keys_are_chosen_by_kid_and_type() {
        let s = set();
        assert_eq!(s.select(Some("r1"), "RS256").expect("r1")["kid"], "r1");
        assert_eq!(s.select(Some("e1"), "ES256").expect("e1")["kid"], "e1");
        // The right kid with the wrong type or a key pinned to another alg: not that key.
        assert_eq!(
            s.select(Some("e1"), "RS256"),
            Err(IdTokenError::UnknownKey("e1".into()))
        );
        assert!(s.select(Some("ps"), "RS256").is_err());
        // Encryption keys are not signing keys.
        assert!(!s.contains_kid("enc"));
        assert_eq!(
            s.select(Some("nope"), "RS256"),
            Err(IdTokenError::UnknownKey("nope".into()))
        );
        assert!(matches!(
            s.select(Some("r1"), "HS256"),
            Err(IdTokenError::Algorithm(_))
        ));
    }

    #[test]
    fn without_kid_only_a_single_fitting_key() {
        let s = set();
        // One EC key fits ES256; two RSA keys could fit RS256 (r1 and ps is pinned: r1 only).
        assert_eq!(s.select(None, "ES256").expect("single")["kid"], "e1");
        assert_eq!(s.select(None, "RS256").expect("single")["kid"], "r1");
        let two = Jwks::from_document(&json!({"keys": [
            {"kty": "EC", "kid": "a"}, {"kty": "EC", "kid": "b"}]}))
        .expect("two");
        assert_eq!(two.select(None, "ES256"), Err(IdTokenError::NoKeyId));
    }

    #[test]
    fn a_document_without_keys_is_refused() {
        assert!(Jwks::from_document(&json!({"kid": "x"})).is_err());
    }
}
