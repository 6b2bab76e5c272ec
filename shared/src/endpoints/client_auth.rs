//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3, OIDC Core §9): client_secret_basic, client_secret_post, private_key_jwt
//! (RFC 7523), and `none` for public clients. A client must use the one method it
//! registered, and exactly one method per request.
use crate::store::{ClientStore, ReplayStore};
use base64::{Engine, engine::general_purpose::STANDARD};
use lambda_http::Request;
use serde_json::Value;

use crate::{
    App, OAuthError,
    crypto::{b64url_decode, secret_digest},
    http::{self, Params},
    jwt,
    secret::ClientSecret,
    signer::Verifier,
    store::{AuthMethod, Client},
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest an assertion may live (RFC 7523 §3 leaves it to us; short limits replays).
const MAX_ASSERTION_LIFETIME: i64 = 300;

enum Credential {
    Secret(ClientSecret),
    Assertion(String),
    Nothing,
}

struct Presented {
    client_id: String,
    credential: Credential,
    method: AuthMethod,
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
fn form_decode(s: &str) -> Option<String> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// The `sub` of an assertion, read before its signature can be checked (to find the key).
fn assertion_subject(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&b64url_decode(payload)?).ok()?;
    claims["sub"].as_str().map(str::to_string)
}

/// The client_id the request claims to come from, before any store read: the token
/// exchange redeems the code for it while the client is being authenticated.
pub fn presented_client_id(req: &Request, form: &Params) -> Result<String, OAuthError> {
    presented(req, form).map(|p| p.client_id)
}

fn presented(req: &Request, form: &Params) -> Result<Presented, OAuthError> {
    let basic = http::header_str(req, "authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    let assertion = form.get("client_assertion");
    let methods = [
        basic.is_some(),
        form.get("client_secret").is_some(),
        assertion.is_some(),
    ];
    if methods.iter().filter(|m| **m).count() > 1 {
        return Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        ));
    }
    let form_id = form.get("client_id");
    let p = if let Some((_, cred)) = basic {
        let bad = || OAuthError::invalid_client("malformed Basic credentials");
        let decoded = STANDARD.decode(cred.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (id, secret) = text.split_once(':').ok_or_else(bad)?;
        Presented {
            client_id: form_decode(id).ok_or_else(bad)?,
            credential: Credential::Secret(ClientSecret::new(form_decode(secret).ok_or_else(bad)?)),
            method: AuthMethod::ClientSecretBasic,
        }
    } else if let Some(secret) = form.get("client_secret") {
        Presented {
            client_id: form_id
                .ok_or_else(|| OAuthError::invalid_client("client_id is missing"))?
                .to_string(),
            credential: Credential::Secret(ClientSecret::from(secret)),
            method: AuthMethod::ClientSecretPost,
        }
    } else if let Some(a) = assertion {
        if form.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_client(
                "client_assertion_type must be jwt-bearer",
            ));
        }
        let sub = assertion_subject(a)
            .ok_or_else(|| OAuthError::invalid_client("malformed client assertion"))?;
        Presented {
            client_id: sub,
            credential: Credential::Assertion(a.to_string()),
            method: AuthMethod::PrivateKeyJwt,
        }
    } else {
        Presented {
            client_id: form_id
                .ok_or_else(|| OAuthError::invalid_client("client authentication is missing"))?
                .to_string(),
            credential: Credential::Nothing,
            method: AuthMethod::None,
        }
    };
    if form_id.is_some_and(|f| f != p.client_id) {
        return Err(OAuthError::invalid_request(
            "client_id does not match the client's credentials",
        ));
    }
    Ok(p)
}

pub async fn authenticate<K: Verifier + ?Sized, S: ClientStore + ReplayStore + ?Sized>(
    app: &App<S, K>,
    req: &Request,
    form: &Params,
    now: i64,
) -> Result<Client, OAuthError> {
    let p = presented(req, form)?;
    let failed = || OAuthError::invalid_client("client authentication failed");
    let client = app
        .client(&p.client_id)
        .await?
        .ok_or_else(|| failed().with_detail("unknown client"))?;
    if client.auth_method != p.method {
        return Err(failed().with_detail(format!(
            "registered {} but used {}",
            client.auth_method.as_str(),
            p.method.as_str()
        )));
    }
    match &p.credential {
        Credential::Secret(secret) => {
            let matches = client
                .secret_hash
                .as_deref()
                .is_some_and(|h| secret.matches(h));
            if !matches {
                return Err(failed().with_detail("wrong secret"));
            }
        }
        Credential::Assertion(a) => {
            let claims =
                check_assertion(app, &client, a, now).map_err(|why| failed().with_detail(why))?;
            // Replay check last, so only assertions that are otherwise valid are remembered.
            let (jti, exp) = claims;
            if !app
                .store
                .first_use(
                    &format!("assertion#{}#{}", client.client_id, secret_digest(&jti)),
                    exp,
                    now,
                )
                .await?
            {
                return Err(failed().with_detail("assertion replayed (jti seen before)"));
            }
        }
        Credential::Nothing => {}
    }
    Ok(client)
}

/// RFC 7523 §3: signed by a registered key; iss = sub = client_id; unexpired and
/// short-lived. `aud` is exactly the issuer identifier, a single string (the OpenID
/// Foundation's 2025 advisory, rfc7523bis): an audience list, or the token endpoint URL, could
/// let an assertion made for this provider be replayed to, or one made for another server be
/// accepted by, a server the client did not mean. Returns its `jti` and `exp`.
fn check_assertion<K: Verifier + ?Sized, S: ?Sized>(
    app: &App<S, K>,
    client: &Client,
    assertion: &str,
    now: i64,
) -> Result<(String, i64), String> {
    let jwks = client.jwks.as_ref().ok_or("no registered jwks")?;
    let claims = jwt::verify_with_jwks(jwks, assertion)?;
    let id = client.client_id.as_str();
    if claims["iss"].as_str() != Some(id) || claims["sub"].as_str() != Some(id) {
        return Err("iss and sub must be the client_id".into());
    }
    if claims["aud"].as_str() != Some(app.config.issuer.as_str()) {
        return Err("aud must be the issuer identifier, a single string".into());
    }
    let exp = claims["exp"].as_i64().ok_or("no exp")?;
    if exp <= now || exp > now + MAX_ASSERTION_LIFETIME {
        return Err(format!(
            "exp must be within {MAX_ASSERTION_LIFETIME} s from now"
        ));
    }
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or("no jti")?;
    Ok((jti.to_string(), exp))
}
