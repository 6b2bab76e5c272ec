//! Validation of an authorization request once its client and redirect_uri are known to be
//! good (RFC 6749 §4.1.1, OIDC Core §3.1.2.1). Every error here may be redirected.
use crate::{
    error::{ErrorCode, OAuthError},
    http::Params,
    protocol::{acr, pkce, release, scope},
    store::{Client, RequestedClaims, ResponseMode},
};

#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub response_mode: ResponseMode,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The claims asked for individually that the client may have at all.
    pub claims: RequestedClaims,
    /// A `sub` claim asked for with a value (Core §5.5.1): only that person may be answered.
    pub required_sub: Option<String>,
}

impl Validated {
    pub fn prompts(&self, value: &str) -> bool {
        self.prompt.iter().any(|p| p == value)
    }
}

/// The longest `state`, `nonce` or `login_hint` accepted (and `state` at `/logout`).
pub const MAX_PARAM: usize = 2048;

pub fn validate(p: &Params, client: &Client) -> Result<Validated, OAuthError> {
    if let Some(name) = p.duplicated() {
        return Err(OAuthError::invalid_request(format!(
            "parameter {name} was sent more than once"
        )));
    }
    supported(p)?;
    let response_mode = ResponseMode::parse(p.get("response_mode"))
        .ok_or_else(|| OAuthError::invalid_request("response_mode must be query or form_post"))?;
    if !client.allows_grant("authorization_code") {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }
    let requested = scope::parse(p.get("scope").unwrap_or(""));
    if !requested.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the openid scope is required",
        ));
    }
    // OIDC Core §11: offline_access only means something to a client that may refresh.
    let refreshes = client.allows_grant("refresh_token");
    let scopes: Vec<String> = scope::grantable(&requested, &client.allowed_scopes)
        .into_iter()
        .filter(|s| s != "offline_access" || refreshes)
        .collect();

    let code_challenge = code_challenge(p, client)?;

    let prompt = scope::parse(p.get("prompt").unwrap_or(""));
    if prompt.iter().any(|v| v == "none") && prompt.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            OAuthError::invalid_request("max_age must be a non-negative integer")
        })?),
    };
    for name in ["nonce", "state", "login_hint"] {
        if p.get(name).is_some_and(|v| v.len() > MAX_PARAM) {
            return Err(OAuthError::invalid_request(format!("{name} is too long")));
        }
    }
    let asked = parse_claims(p.get("claims"))?;
    let mut claims = release::allowed_requests(client, &asked.claims);
    // Core §3.1.2.1: acr_values, in order of preference, as the claim's values are: known
    // ones bind the sign-in as a least level (`protocol::acr`), unknown ones are ignored.
    for v in scope::parse(p.get("acr_values").unwrap_or("")) {
        if acr::Level::of_acr(&v).is_some() && !claims.acr_values.contains(&v) {
            claims.acr_values.push(v);
        }
    }
    Ok(Validated {
        scopes,
        nonce: p.get("nonce").map(str::to_string),
        code_challenge,
        response_mode,
        prompt,
        max_age,
        login_hint: p.get("login_hint").map(str::to_string),
        claims,
        required_sub: asked.sub,
    })
}

/// What this provider does not do, refused first: request objects (OIDC Core §6, as
/// discovery says) and any response_type but `code`.
fn supported(p: &Params) -> Result<(), OAuthError> {
    if p.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if p.get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match p.get("response_type") {
        None => Err(OAuthError::invalid_request("response_type is required")),
        Some("code") => Ok(()),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
    }
}

/// The PKCE challenge (RFC 7636): S256 only, and required of public clients (RFC 9700
/// §2.1.1).
fn code_challenge(p: &Params, client: &Client) -> Result<Option<String>, OAuthError> {
    match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) if client.is_public() => Err(OAuthError::invalid_request(
            "public clients must use PKCE (code_challenge with S256)",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(c), Some("S256")) if pkce::is_valid_challenge(c) => Ok(Some(c.to_string())),
        (Some(_), Some("S256")) => Err(OAuthError::invalid_request(
            "code_challenge is not a valid S256 challenge",
        )),
        (Some(_), _) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )),
    }
}

/// The `claims` parameter as far as this provider acts on it.
#[derive(Debug, Default)]
struct Asked {
    claims: RequestedClaims,
    sub: Option<String>,
}

/// OIDC Core §5.5: `{"userinfo": {...}, "id_token": {...}}`, each member a claim name mapped
/// to null or `{essential, value, values}`. Standard user claims are kept by name (value
/// constraints on them are ignored, as §5.5.1 allows); `acr` values ask for a level, and an
/// essential one must name a level this provider knows (§5.5.1.1); a `sub` with a value
/// names the only person who may be answered (§3.1.2.1 applies to it as to `id_token_hint`).
fn parse_claims(v: Option<&str>) -> Result<Asked, OAuthError> {
    use serde_json::Value;
    let Some(v) = v else {
        return Ok(Asked::default());
    };
    let bad = || {
        OAuthError::invalid_request(
            "claims must be a JSON object with userinfo and/or id_token members",
        )
    };
    let json: Value = serde_json::from_str(v).map_err(|_| bad())?;
    let obj = json.as_object().ok_or_else(bad)?;
    let mut asked = Asked::default();
    for member in ["userinfo", "id_token"] {
        let entries = match obj.get(member) {
            None | Some(Value::Null) => continue,
            Some(Value::Object(m)) => m,
            Some(_) => return Err(bad()),
        };
        let mut names = Vec::new();
        for (name, spec) in entries {
            if !(spec.is_null() || spec.is_object()) {
                return Err(bad());
            }
            let values: Vec<&str> = match (spec.get("value"), spec.get("values")) {
                (Some(Value::String(one)), _) => vec![one.as_str()],
                (_, Some(Value::Array(many))) => many.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            match name.as_str() {
                "sub" => match (values.as_slice(), &asked.sub) {
                    ([], _) => {}
                    ([one], None) => asked.sub = Some(one.to_string()),
                    ([one], Some(prev)) if prev == one => {}
                    _ => {
                        return Err(OAuthError::invalid_request(
                            "the claims parameter asks for more than one sub",
                        ));
                    }
                },
                "acr" => {
                    // §5.5.1.1: an essential acr none of whose values we know cannot be
                    // met, whoever signs in: refused before anyone tries. Known values,
                    // essential or voluntary, are a least level, as acr_values are.
                    let known = |v: &&str| acr::Level::of_acr(v).is_some();
                    let essential = spec.get("essential") == Some(&Value::Bool(true));
                    if essential && !values.is_empty() && !values.iter().any(known) {
                        return Err(OAuthError::new(
                            ErrorCode::UnmetAuthenticationRequirements,
                            "the essential acr cannot be met: see acr_values_supported",
                        ));
                    }
                    for v in values.into_iter().filter(known) {
                        if !asked.claims.acr_values.iter().any(|a| a == v) {
                            asked.claims.acr_values.push(v.to_string());
                        }
                    }
                }
                n if super::claims::is_user_claim(n) => names.push(name.clone()),
                _ => {}
            }
        }
        if member == "userinfo" {
            asked.claims.userinfo = names;
        } else {
            asked.claims.id_token = names;
        }
    }
    Ok(asked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuthMethod;

    fn client(method: AuthMethod) -> Client {
        Client {
            client_id: "c".into(),
            client_name: "C".into(),
            logo_uri: None,
            secret_hash: None,
            auth_method: method,
            redirect_uris: vec!["https://c.example/cb".into()],
            allowed_scopes: scope::parse("openid profile email"),
            grant_types: vec!["authorization_code".into()],
            skip_consent: false,
            post_logout_redirect_uris: vec![],
            custom_claims: vec![],
            jwks: None,
            registration_token_hash: None,
            allowed_claims: vec![],
            tokens_valid_after_ms: 0,
            trusted: None,
            min_level: None,
        }
    }

    fn check(q: &str, m: AuthMethod) -> Result<Validated, ErrorCode> {
        validate(&Params::parse(q.as_bytes()), &client(m)).map_err(|e| e.code)
    }

    const CH: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn happy_and_unknown_parameters() {
        let v = check(
            "response_type=code&scope=openid%20email%20phone&nonce=n&foo=bar&max_age=0",
            AuthMethod::ClientSecretBasic,
        )
        .expect("ok");
        assert_eq!(v.scopes, vec!["openid", "email"]);
        assert_eq!(v.max_age, Some(0));
        assert_eq!(v.nonce.as_deref(), Some("n"));
    }

    #[test]
    fn errors() {
        let m = AuthMethod::ClientSecretBasic;
        assert_eq!(check("scope=openid", m), Err(ErrorCode::InvalidRequest));
        assert_eq!(
            check("response_type=token&scope=openid", m),
            Err(ErrorCode::UnsupportedResponseType)
        );
        assert_eq!(
            check("response_type=code&scope=email", m),
            Err(ErrorCode::InvalidScope)
        );
        assert_eq!(
            check("response_type=code&scope=openid&request=x", m),
            Err(ErrorCode::RequestNotSupported)
        );
        assert_eq!(
            check("response_type=code&scope=openid&request_uri=x", m),
            Err(ErrorCode::RequestUriNotSupported)
        );
        assert_eq!(
            check("response_type=code&scope=openid&prompt=none%20login", m),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            check("response_type=code&scope=openid&max_age=-1", m),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            check("response_type=code&scope=openid&scope=openid", m),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            check("response_type=code&scope=openid&claims=%5B%5D", m),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            check(
                "response_type=code&scope=openid&claims=%7B%22userinfo%22%3A1%7D",
                m
            ),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            check("response_type=code&scope=openid&response_mode=fragment", m),
            Err(ErrorCode::InvalidRequest)
        );
    }

    #[test]
    fn essential_acr_and_sub_values() {
        let m = AuthMethod::ClientSecretBasic;
        let q = |claims: &str| {
            format!(
                "response_type=code&scope=openid&claims={}",
                url::form_urlencoded::byte_serialize(claims.as_bytes()).collect::<String>()
            )
        };
        assert_eq!(
            check(
                &q(r#"{"id_token":{"acr":{"essential":true,"values":["urn:x:mfa"]}}}"#),
                m
            ),
            Err(ErrorCode::UnmetAuthenticationRequirements)
        );
        let ok = check(&q(r#"{"id_token":{"acr":{"essential":true,"values":["urn:x:mfa","urn:oidc-serverless:acr:password"]}}}"#), m).expect("ok");
        assert_eq!(
            ok.claims.acr_values,
            ["urn:oidc-serverless:acr:password"],
            "only the values we know are kept, and they bind the sign-in"
        );
        let voluntary =
            check(&q(r#"{"id_token":{"acr":{"values":["urn:x:mfa"]}}}"#), m).expect("ok");
        assert!(
            voluntary.claims.acr_values.is_empty(),
            "voluntary unknown values are ignored"
        );
        let one = check(
            &q(r#"{"id_token":{"acr":{"value":"urn:oidc-serverless:acr:two-factor"}}}"#),
            m,
        )
        .expect("ok");
        assert_eq!(
            one.claims.acr_values,
            ["urn:oidc-serverless:acr:two-factor"]
        );
        let sub = check(&q(r#"{"id_token":{"sub":{"value":"s-1"}}}"#), m).expect("ok");
        assert_eq!(sub.required_sub.as_deref(), Some("s-1"));
        assert_eq!(
            check(
                &q(r#"{"id_token":{"sub":{"value":"a"}},"userinfo":{"sub":{"value":"b"}}}"#),
                m
            ),
            Err(ErrorCode::InvalidRequest)
        );
        let acr_values = check(
            "response_type=code&scope=openid&acr_values=urn:x:any%20urn:oidc-serverless:acr:phishing-resistant%20urn:oidc-serverless:acr:password",
            m,
        )
        .expect("ok");
        assert_eq!(
            acr_values.claims.acr_values,
            [
                "urn:oidc-serverless:acr:phishing-resistant",
                "urn:oidc-serverless:acr:password"
            ],
            "in the request's order, unknown ones ignored"
        );
    }

    #[test]
    fn claims_the_client_may_not_have_are_dropped() {
        let q = format!(
            "response_type=code&scope=openid&claims={}",
            url::form_urlencoded::byte_serialize(
                br#"{"id_token":{"email":null,"phone_number":null,"address":null}}"#
            )
            .collect::<String>()
        );
        let v = check(&q, AuthMethod::ClientSecretBasic).expect("ok");
        assert_eq!(
            v.claims.id_token,
            vec!["email"],
            "the client may have email only"
        );
    }

    #[test]
    fn claims_parameter_keeps_standard_user_claims() {
        let q = "response_type=code&scope=openid&claims=%7B%22userinfo%22%3A%7B%22name%22%3A%7B%22essential%22%3Atrue%7D%2C%22x%22%3Anull%7D%2C%22id_token%22%3A%7B%22email%22%3Anull%2C%22iss%22%3Anull%7D%7D";
        let v = check(q, AuthMethod::ClientSecretBasic).expect("ok");
        assert_eq!(v.claims.userinfo, vec!["name"]);
        assert_eq!(v.claims.id_token, vec!["email"]);
    }

    #[test]
    fn pkce_rules() {
        assert_eq!(
            check("response_type=code&scope=openid", AuthMethod::None),
            Err(ErrorCode::InvalidRequest)
        );
        let plain = format!(
            "response_type=code&scope=openid&code_challenge={CH}&code_challenge_method=plain"
        );
        assert_eq!(
            check(&plain, AuthMethod::None),
            Err(ErrorCode::InvalidRequest)
        );
        let missing_method = format!("response_type=code&scope=openid&code_challenge={CH}");
        assert_eq!(
            check(&missing_method, AuthMethod::None),
            Err(ErrorCode::InvalidRequest)
        );
        let ok = format!(
            "response_type=code&scope=openid&code_challenge={CH}&code_challenge_method=S256"
        );
        assert_eq!(
            check(&ok, AuthMethod::None)
                .expect("ok")
                .code_challenge
                .as_deref(),
            Some(CH)
        );
    }
}
