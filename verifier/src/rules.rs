//! What a token must be to be accepted: signed by a key of the issuer for its algorithm,
//! then the authorizer's claim rules in its documented order, then RFC 9068's typ.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use crate::{AccessToken, Alg, KeySet, Refusal};

#[derive(Debug, Clone)]
pub struct Rules {
    pub(crate) issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<Alg>,
    rfc9068: bool,
    leeway: i64,
}

impl Rules {
    /// Tokens of `issuer` (exactly as its discovery document says it) for `audience`: the
    /// provider's `ACCESS_TOKEN_AUDIENCE`, which is the issuer unless configured. Never a
    /// client id: ID tokens carry the client id as their audience.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            algorithms: vec![Alg::RS256, Alg::ES256],
            rfc9068: true,
            leeway: 0,
        }
    }

    /// One more accepted audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Only these algorithms verify (an HTTP API authorizer takes RSA only).
    pub fn algorithms(mut self, algs: &[Alg]) -> Self {
        self.algorithms = algs.to_vec();
        self
    }

    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat` (none by default, as the
    /// authorizer).
    pub fn leeway(mut self, seconds: u32) -> Self {
        self.leeway = i64::from(seconds);
        self
    }

    /// Exactly the authorizer's rules, without RFC 9068's `typ` and `iat` requirements: for
    /// tokens of issuers that do not type them. An ID token for an accepted audience then
    /// passes, as it does at the authorizer.
    pub fn authorizer_only(mut self) -> Self {
        self.rfc9068 = false;
        self
    }

    /// Verifies `token` against `keys` at `now` (seconds since the epoch).
    pub fn verify(&self, keys: &KeySet, token: &str, now: i64) -> Result<AccessToken, Refusal> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refusal::Malformed("not a compact JWS"));
        };
        let header = object(h).ok_or(Refusal::Malformed("header"))?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(Refusal::Malformed("no kid"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
            .filter(|a| self.algorithms.contains(a))
            .ok_or(Refusal::AlgorithmNotAllowed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| Refusal::Malformed("signature"))?;
        keys.verify(kid, alg, &token.as_bytes()[..h.len() + 1 + p.len()], &sig)?;
        let claims = object(p).ok_or(Refusal::Malformed("claims"))?;
        self.check(&header, &claims, now)?;
        Ok(AccessToken::new(claims))
    }

    fn check(
        &self,
        header: &Map<String, Value>,
        c: &Map<String, Value>,
        now: i64,
    ) -> Result<(), Refusal> {
        if c.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Refusal::WrongIssuer);
        }
        let accepted = |v: &Value| {
            v.as_str()
                .is_some_and(|a| self.audiences.iter().any(|x| x == a))
        };
        // The authorizer reads client_id only when there is no aud.
        let audience_ok = match c.get("aud") {
            Some(Value::Array(a)) => a.iter().any(accepted),
            Some(aud) => accepted(aud),
            None => c.get("client_id").is_some_and(accepted),
        };
        if !audience_ok {
            return Err(Refusal::WrongAudience);
        }
        let time = |name: &'static str| -> Result<Option<i64>, Refusal> {
            match c.get(name) {
                None => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(|t| Some(t as i64))
                    .ok_or(Refusal::Malformed(name)),
            }
        };
        let exp = time("exp")?.ok_or(Refusal::Malformed("no exp"))?;
        if exp + self.leeway <= now {
            return Err(Refusal::Expired);
        }
        if time("nbf")?.is_some_and(|nbf| nbf > now + self.leeway) {
            return Err(Refusal::NotYetValid);
        }
        let iat = time("iat")?;
        if iat.is_some_and(|iat| iat > now + self.leeway) {
            return Err(Refusal::IssuedInFuture);
        }
        if self.rfc9068 {
            // RFC 9068 §4: "application/at+jwt", which §2.1 lets be written "at+jwt".
            // Media types are case-insensitive (RFC 2045 §5.1).
            let typ = header
                .get("typ")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            if typ != "at+jwt" && typ != "application/at+jwt" {
                return Err(Refusal::NotAnAccessToken);
            }
            if iat.is_none() {
                return Err(Refusal::Malformed("no iat"));
            }
        }
        Ok(())
    }
}

fn object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}
