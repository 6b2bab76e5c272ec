//! A verified access token: its claims, and the route-level scope rule.
use serde_json::{Map, Value};

use crate::Refusal;

#[derive(Debug, Clone)]
pub struct AccessToken {
    claims: Map<String, Value>,
}

impl AccessToken {
    pub(crate) fn new(claims: Map<String, Value>) -> Self {
        Self { claims }
    }

    /// The person (or, for client_credentials, the client) the token acts for.
    pub fn sub(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }

    /// The client the token was issued to (RFC 9068 §2.2).
    pub fn client_id(&self) -> Option<&str> {
        self.claims.get("client_id").and_then(Value::as_str)
    }

    pub fn expires_at(&self) -> Option<i64> {
        self.claims
            .get("exp")
            .and_then(Value::as_f64)
            .map(|e| e as i64)
    }

    /// The granted scopes: `scope` (RFC 9068 §2.2.3, space-separated) and `scp` (a string
    /// or an array, as some issuers write it), which the authorizer both reads.
    pub fn scopes(&self) -> Vec<&str> {
        fn words(v: Option<&Value>) -> Vec<&str> {
            match v {
                Some(Value::String(s)) => s.split(' ').filter(|w| !w.is_empty()).collect(),
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            }
        }
        let mut all = words(self.claims.get("scope"));
        all.extend(words(self.claims.get("scp")));
        all
    }

    /// A route's scope rule, as the authorizer's `AuthorizationScopes`: the token must hold
    /// at least one of `route_scopes`; a route that names none accepts any verified token.
    pub fn require_any_scope(&self, route_scopes: &[&str]) -> Result<(), Refusal> {
        let granted = self.scopes();
        if route_scopes.is_empty() || route_scopes.iter().any(|s| granted.contains(s)) {
            Ok(())
        } else {
            Err(Refusal::InsufficientScope)
        }
    }

    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}
