//! An API of yours, protected by the provider's access tokens: `GET /hello` answers who is
//! calling, through which client, with which scopes.
//!
//! API Gateway's JWT authorizer checks the token before this function runs (template.yaml);
//! the function verifies it again with `oidc-verifier`, under the same rules and RFC 9068's
//! `typ`, so it stays safe behind any other trigger (a function URL, a test, a
//! misconfigured route) and refuses an ID token whatever the authorizer's audience says.
use lambda_http::{Body, Request, Response, http::header};
use oidc_verifier::{Refusal, Rules, Verifier, bearer};
use serde_json::json;

pub struct Api {
    verifier: Verifier,
    /// The route's scopes: a token needs at least one (as the authorizer's
    /// `AuthorizationScopes`).
    scopes: Vec<String>,
}

impl Api {
    pub fn new(verifier: Verifier, scopes: Vec<String>) -> Self {
        Self { verifier, scopes }
    }

    /// From `ISSUER`, `AUDIENCE` and `REQUIRED_SCOPES` (space-separated), as template.yaml
    /// sets them.
    pub fn from_env() -> Result<Self, Refusal> {
        let var =
            |k: &str| std::env::var(k).map_err(|_| Refusal::Config(format!("{k} is not set")));
        let verifier = Verifier::new(Rules::new(var("ISSUER")?, var("AUDIENCE")?))?;
        let scopes = std::env::var("REQUIRED_SCOPES").unwrap_or_default();
        Ok(Self::new(
            verifier,
            scopes.split_whitespace().map(String::from).collect(),
        ))
    }

    pub async fn handle(&self, req: &Request) -> Response<Body> {
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let verified = async {
            let token = self.verifier.verify(bearer(authorization)?).await?;
            token.require_any_scope(&scopes)?;
            Ok::<_, Refusal>(token)
        };
        match verified.await {
            Ok(t) => answer(
                200,
                json!({
                    "message": format!("hello, {}", t.sub().unwrap_or("?")),
                    "sub": t.sub(),
                    "client_id": t.client_id(),
                    "scope": t.scopes().join(" "),
                }),
                None,
            ),
            Err(r) => {
                // The reason goes to the log (CloudWatch), never to the caller.
                eprintln!("{}", json!({"level": "INFO", "refused": r.to_string()}));
                let body = match r.error_code() {
                    Some(code) => json!({"error": code}),
                    None => json!({"error": "unauthorized"}),
                };
                answer(r.status(), body, Some(r.www_authenticate(&scopes)))
            }
        }
    }
}

fn answer(status: u16, body: serde_json::Value, challenge: Option<String>) -> Response<Body> {
    let mut b = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store");
    if let Some(c) = challenge {
        b = b.header(header::WWW_AUTHENTICATE, c);
    }
    b.body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}
