//! Our own access tokens (RFC 9068 §4), for userinfo, introspection and revocation: the
//! signature by a published key, `typ: at+jwt`, issuer, audience and expiry ([`validate`]),
//! then whether it is still alive ([`alive`]: the one rule of `liveness`).
use std::sync::Arc;

use crate::store::LivenessStore;
use serde_json::Value;

use super::liveness::{self, Alive, Dead, Issued};
use crate::{App, OAuthError};

fn invalid(why: &str) -> OAuthError {
    OAuthError::invalid_token("the access token is invalid or expired").with_detail(why.to_string())
}

/// The claims of a well-formed, unexpired access token of ours, without any store read. A
/// token this container already verified with the current key set is not verified again
/// (`jose::verified`); its expiry is checked every time.
pub async fn validate<S: ?Sized>(
    app: &App<S>,
    token: &str,
    now: i64,
) -> Result<Arc<Value>, OAuthError> {
    let keys = app.keys.public_keys().await?;
    if let Some(c) = app.verified.get(token, &keys, now) {
        return Ok(c);
    }
    let (header, c) = app
        .keys
        .verify(token)
        .await
        .map_err(|e| OAuthError::unverified(e, invalid))?;
    if header["typ"]
        .as_str()
        .is_none_or(|t| !t.eq_ignore_ascii_case("at+jwt"))
    {
        return Err(invalid("not an access token (typ)"));
    }
    if c["iss"].as_str() != Some(app.config.issuer.as_str()) {
        return Err(invalid("wrong issuer"));
    }
    let aud = app.config.access_token_audience.as_str();
    let aud_ok = match &c["aud"] {
        Value::String(a) => a == aud,
        Value::Array(v) => v.iter().any(|a| a.as_str() == Some(aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid("wrong audience"));
    }
    let Some(exp) = c["exp"].as_i64().filter(|exp| *exp > now) else {
        return Err(invalid("expired"));
    };
    if c["jti"].as_str().is_none() || c["client_id"].as_str().is_none() {
        return Err(invalid("no jti or client_id"));
    }
    let c = Arc::new(c);
    // Tagged with the set read above: after an unknown-kid re-read the container holds a
    // newer one, and the token is verified once more against it.
    app.verified.insert(token, keys, c.clone(), exp, now);
    Ok(c)
}

/// What a validated access token says about where it came from. A person's token belongs to
/// a grant (`gid`) and says when it was issued to the millisecond (`iat_ms`); a client's own
/// (client_credentials) has neither. Without `iat_ms`, `iat`'s whole second counts: issued
/// in the second a person's sessions ended counts as issued before it.
pub fn issued(c: &Value) -> Issued<'_> {
    let grant_id = c["gid"].as_str();
    let iat_ms = c["iat"].as_i64().unwrap_or(0).saturating_mul(1000);
    Issued {
        client_id: c["client_id"].as_str().unwrap_or_default(),
        sub: grant_id.and(c["sub"].as_str()),
        issued_ms: c["iat_ms"].as_i64().unwrap_or(iat_ms),
        grant_id,
        jti: c["jti"].as_str(),
    }
}

/// Whether the validated access token `c` is alive: `Err(Dead)` is an inactive token.
pub async fn alive<S: LivenessStore + ?Sized>(
    app: &App<S>,
    c: &Value,
    now: i64,
) -> Result<Result<Alive, Dead>, OAuthError> {
    liveness::check(app, &issued(c), now).await
}

#[cfg(all(test, feature = "embedded"))]
#[allow(clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::{
        Config,
        clock::SystemClock,
        jose::jws,
        signer::{Alg, PublicKey, SignerError, Verifier, VerifyError, local::LocalSigner},
    };

    /// A verifier whose copy of the key set lacks the signing key, but whose `verify` finds it,
    /// as `StoreKeys` does by reading the set again for an unknown kid.
    struct Stale {
        copy: Arc<Vec<PublicKey>>,
        current: Arc<Vec<PublicKey>>,
        verified: AtomicUsize,
    }

    #[async_trait]
    impl Verifier for Stale {
        async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
            Ok(self.copy.clone())
        }
        async fn verify(&self, token: &str) -> Result<(Value, Value), VerifyError> {
            self.verified.fetch_add(1, Ordering::SeqCst);
            jws::verify(&self.current, token).map_err(VerifyError::Token)
        }
    }

    #[tokio::test]
    async fn tokens_are_verified_by_the_verifier_once_and_their_expiry_every_time() {
        let issuer = "https://id.example.com";
        let signer = LocalSigner::generate(Alg::ES256).expect("key");
        let stale = Arc::new(Stale {
            copy: LocalSigner::generate(Alg::ES256)
                .expect("key")
                .public_keys()
                .await
                .expect("keys"),
            current: signer.public_keys().await.expect("keys"),
            verified: AtomicUsize::new(0),
        });
        let app: App<(), dyn Verifier> = App::new(
            Config::new(issuer).expect("config"),
            Arc::new(()),
            stale.clone(),
            Arc::new(SystemClock),
        );
        let claims =
            json!({"iss": issuer, "aud": issuer, "exp": 1_000, "jti": "j", "client_id": "c"});
        let token = crate::jwt::sign(&signer, "at+jwt", &claims)
            .await
            .expect("sign");
        assert_eq!(validate(&app, &token, 10).await.expect("valid")["jti"], "j");
        assert_eq!(
            validate(&app, &token, 20).await.expect("still valid")["jti"],
            "j"
        );
        assert_eq!(stale.verified.load(Ordering::SeqCst), 1, "verified once");
        assert!(
            validate(&app, &token, 1_000).await.is_err(),
            "expired, remembered or not"
        );
        let mut forged = token.clone();
        forged.pop();
        assert!(validate(&app, &forged, 10).await.is_err());
        assert_eq!(
            stale.verified.load(Ordering::SeqCst),
            3,
            "an expired entry and another token miss"
        );
    }
}
