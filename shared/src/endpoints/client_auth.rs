//! Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9):
//! client_secret_basic, client_secret_post, and `none` for public clients. A client must use
//! the one method it registered, and exactly one method per request.
use base64::{Engine, engine::general_purpose::STANDARD};
use lambda_http::Request;

use crate::{
    App, OAuthError,
    crypto::{constant_time_eq, secret_digest},
    http::{self, Params},
    store::{AuthMethod, Client},
};

struct Presented {
    client_id: String,
    secret: Option<String>,
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

fn presented(req: &Request, form: &Params) -> Result<Presented, OAuthError> {
    let basic = http::header_str(req, "authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    match (basic, form.get("client_secret")) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        )),
        (Some((_, cred)), None) => {
            let bad = || OAuthError::invalid_client("malformed Basic credentials");
            let decoded = STANDARD.decode(cred.trim()).map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (id, secret) = text.split_once(':').ok_or_else(bad)?;
            let client_id = form_decode(id).ok_or_else(bad)?;
            if form.get("client_id").is_some_and(|f| f != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Basic credentials",
                ));
            }
            Ok(Presented {
                client_id,
                secret: Some(form_decode(secret).ok_or_else(bad)?),
                method: AuthMethod::ClientSecretBasic,
            })
        }
        (None, Some(secret)) => Ok(Presented {
            client_id: form
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client_id is missing"))?
                .to_string(),
            secret: Some(secret.to_string()),
            method: AuthMethod::ClientSecretPost,
        }),
        (None, None) => Ok(Presented {
            client_id: form
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client authentication is missing"))?
                .to_string(),
            secret: None,
            method: AuthMethod::None,
        }),
    }
}

pub async fn authenticate(app: &App, req: &Request, form: &Params) -> Result<Client, OAuthError> {
    let p = presented(req, form)?;
    let failed = || OAuthError::invalid_client("client authentication failed");
    let client = app
        .store
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
    if let Some(secret) = &p.secret {
        let matches = client
            .secret_hash
            .as_deref()
            .is_some_and(|h| constant_time_eq(secret_digest(secret).as_bytes(), h.as_bytes()));
        if !matches {
            return Err(failed().with_detail("wrong secret"));
        }
    }
    Ok(client)
}
