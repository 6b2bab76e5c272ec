//! The request each function gets as its first one, and the sign-in that makes them
//! realistic: tokens for userinfo, introspection, revocation and logout come from a real
//! authorization code flow played through the functions themselves (authorize → login →
//! token), each step a cold start under the emulator like the measured ones.
//!
//! The `federation` function's request is a returning person's `/federation/callback`, made
//! afresh before every cold start (its `state` and the upstream's `code` are single use):
//! authorize (`idp=`) → federation (`/federation/start`) → the upstream's sign-in
//! ([`crate::upstream`]) → the callback URL it sends the browser back to.
//!
//! The `account` function's request is the account page of the browser that signed in
//! (`GET /account` with its session cookie), so it reads the session, then the person and
//! their factors, then their passkeys, as a signed-in person's first visit does.
//!
//! The clients and users are in `fixtures/seed.toml` and `fixtures/upstream.toml` (a test
//! checks they match).
use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use serde_json::{Value, json};

use crate::{
    emulator::{self, Invocation},
    event::{DOMAIN, HttpRequest, HttpResponse},
    html::{form_action, input_value},
    upstream,
};

pub const WEB_CLIENT: (&str, &str) = ("bench-web", "bench-web-secret-0123456789abcdefghijklmnop");
pub const M2M_CLIENT: (&str, &str) = ("bench-m2m", "bench-m2m-secret-0123456789abcdefghijklmnop");
pub const USER: (&str, &str) = ("bench-user", "bench-user-password-1");
pub const REDIRECT_URI: &str = "https://rp.example/cb";
pub const POST_LOGOUT_URI: &str = "https://rp.example/logged-out";

/// The Lambda functions (workspace binaries).
pub const FUNCTIONS: [&str; 12] = [
    "discovery",
    "jwks",
    "authorize",
    "login",
    "token",
    "userinfo",
    "revoke",
    "introspect",
    "logout",
    "register",
    "federation",
    "account",
];

/// Functions whose request needs the sign-in first (its tokens, or its browser's session).
const NEED_TOKENS: [&str; 6] = [
    "login",
    "userinfo",
    "revoke",
    "introspect",
    "logout",
    "account",
];

pub fn issuer() -> String {
    format!("https://{DOMAIN}")
}

/// The function that serves a path (as `shared::endpoints::Endpoint::function`).
pub fn function_for(path: &str) -> Option<&'static str> {
    Some(match path {
        "/.well-known/openid-configuration" => "discovery",
        "/jwks.json" => "jwks",
        "/authorize" => "authorize",
        "/login" | "/login/passkey" | "/login/totp" | "/consent" => "login",
        "/token" => "token",
        "/userinfo" => "userinfo",
        "/revoke" => "revoke",
        "/introspect" => "introspect",
        "/logout" => "logout",
        "/register" => "register",
        "/federation/start" | "/federation/callback" => "federation",
        "/account" => "account",
        _ => return None,
    })
}

/// What to start and how: bootstraps by name (the measured targets and the helpers that
/// only prepare their requests), and the environment every function gets.
pub struct Ctx {
    pub bootstraps: BTreeMap<String, PathBuf>,
    pub env: Vec<(String, String)>,
    pub memory_mb: u32,
    pub log_dir: Option<PathBuf>,
    pub timeout: Duration,
}

impl Ctx {
    pub fn invocation(&self, name: &str, event: Value) -> Result<Invocation, String> {
        let bootstrap = self
            .bootstraps
            .get(name)
            .ok_or_else(|| format!("no bootstrap given for `{name}` (--target or --helper)"))?
            .clone();
        Ok(Invocation {
            bootstrap,
            function_name: name.to_string(),
            event,
            memory_mb: self.memory_mb,
            env: self.env.clone(),
            log: self.log_dir.as_ref().map(|d| d.join(format!("{name}.log"))),
            timeout: self.timeout,
        })
    }
}

/// The first request of one measured target and the status it should get.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub request: HttpRequest,
    pub expect: u16,
}

/// A browser over the functions: keeps cookies, sends each request to the function that
/// serves its path, as a fresh cold start.
struct Browser<'a> {
    ctx: &'a Ctx,
    cookies: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(ctx: &'a Ctx) -> Self {
        Browser {
            ctx,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_list(&self) -> Vec<String> {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    async fn send(&mut self, req: HttpRequest) -> Result<HttpResponse, String> {
        let function =
            function_for(&req.path).ok_or_else(|| format!("no function serves {}", req.path))?;
        let req = req.cookies(self.cookie_list());
        let out = emulator::cold_start(&self.ctx.invocation(function, req.to_event())?).await?;
        if let Some(e) = out.error {
            return Err(format!("{} ({function}): {e}", req.summary()));
        }
        let payload = out
            .response
            .ok_or_else(|| format!("{}: no response", req.summary()))?;
        let resp = HttpResponse::from_payload(&payload)?;
        for c in &resp.set_cookies {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = c.to_ascii_lowercase().contains("max-age=0");
                if value.is_empty() || expired {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_string(), value.trim().to_string());
                }
            }
        }
        Ok(resp)
    }
}

/// The provider-relative part (`/path?query`) of a URL under the issuer.
fn provider_path(url: &str) -> Option<String> {
    let issuer = issuer();
    if let Some(rest) = url.strip_prefix(&issuer) {
        return Some(rest.to_string());
    }
    url.starts_with('/').then(|| url.to_string())
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn authorize_path(scope: &str, state: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", WEB_CLIENT.0),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
            ("state", state),
            ("nonce", &format!("n-{state}")),
        ])
        .finish();
    format!("/authorize?{q}")
}

fn snippet(s: &str) -> String {
    s.chars().take(300).collect()
}

#[derive(Debug, Clone)]
struct Tokens {
    access_token: String,
    id_token: String,
    refresh_token: String,
}

/// Signs in (if the browser has no session yet), follows the provider's redirects to the
/// client, and redeems the code.
async fn sign_in(b: &mut Browser<'_>, scope: &str, state: &str) -> Result<Tokens, String> {
    let mut resp = b
        .send(HttpRequest::get(&authorize_path(scope, state)))
        .await?;
    let (mut signed_in, mut consented) = (false, false);
    let mut code = None;
    for _ in 0..10 {
        if (300..400).contains(&resp.status) {
            let location = resp
                .header("location")
                .ok_or("a redirect without Location")?
                .to_string();
            if location.starts_with(REDIRECT_URI) {
                code = Some(
                    query_param(&location, "code")
                        .ok_or_else(|| format!("back at the client without a code: {location}"))?,
                );
                break;
            }
            let path = provider_path(&location)
                .ok_or_else(|| format!("unexpected redirect to {location}"))?;
            resp = b.send(HttpRequest::get(&path)).await?;
            continue;
        }
        let body = resp.body.clone();
        let action = form_action(&body)
            .and_then(|a| provider_path(&a))
            .unwrap_or_default();
        let req = input_value(&body, "req").unwrap_or_default();
        let csrf = input_value(&body, "csrf").unwrap_or_default();
        if resp.status == 200 && body.contains("name=\"password\"") && !signed_in {
            signed_in = true;
            let form = [
                ("req", req.as_str()),
                ("csrf", csrf.as_str()),
                ("username", USER.0),
                ("password", USER.1),
            ];
            resp = b.send(HttpRequest::post_form(&action, &form)).await?;
        } else if resp.status == 200 && body.contains("name=\"decision\"") && !consented {
            consented = true;
            let form = [
                ("req", req.as_str()),
                ("csrf", csrf.as_str()),
                ("decision", "allow"),
            ];
            resp = b.send(HttpRequest::post_form(&action, &form)).await?;
        } else {
            return Err(format!(
                "sign-in stopped at a {} page: {}",
                resp.status,
                snippet(&body)
            ));
        }
    }
    let code = code.ok_or("too many redirects while signing in")?;
    let token = b
        .send(
            HttpRequest::post_form(
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT_URI),
                ],
            )
            .basic_auth(WEB_CLIENT.0, WEB_CLIENT.1),
        )
        .await?;
    let json: Value = serde_json::from_str(&token.body)
        .map_err(|e| format!("token response ({}) is not JSON: {e}", token.status))?;
    let field = |name: &str| {
        json.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("no {name} in the token response: {}", snippet(&token.body)))
    };
    Ok(Tokens {
        access_token: field("access_token")?,
        id_token: field("id_token")?,
        refresh_token: field("refresh_token")?,
    })
}

/// What the sign-in leaves for the targets that need it.
struct SignedIn {
    /// The sign-in page of a request nobody finishes, and its browser's cookies.
    login_page: (String, Vec<String>),
    /// The grant whose tokens userinfo, introspect and logout get.
    tokens: Tokens,
    /// Another grant, whose refresh token revoke gets.
    other_grant: Tokens,
    /// The cookies of the browser that signed in (its session): the account page's.
    session_cookies: Vec<String>,
}

/// Builds every measured target's first request. Targets that are not functions (the
/// baselines) get `GET /`. Signs in first if a target needs tokens, and once through the
/// upstream if `federation` is measured.
pub async fn prepare(ctx: &Ctx, measured: &[String]) -> Result<BTreeMap<String, Fixture>, String> {
    let needs_tokens = measured.iter().any(|t| NEED_TOKENS.contains(&t.as_str()));
    let signed = if needs_tokens {
        Some(sign_in_for_fixtures(ctx).await?)
    } else {
        None
    };
    let mut out = BTreeMap::new();
    for name in measured {
        let name = name.as_str();
        let (request, expect) = match &signed {
            _ if name == "federation" => (federated_sign_in_once(ctx).await?, 303),
            Some(s) => signed_in_request(name, s).unwrap_or_else(|| public_request(name)),
            None if name == "login" => return Err("no sign-in page".into()),
            None if NEED_TOKENS.contains(&name) => return Err("no tokens".into()),
            None => public_request(name),
        };
        out.insert(name.to_string(), Fixture { request, expect });
    }
    Ok(out)
}

/// A target's request for its next cold start, when its requests are single use: a new
/// `/federation/callback` for `federation`; `None` for every other target (its fixture
/// serves every run).
pub async fn renew(ctx: &Ctx, name: &str) -> Option<Result<HttpRequest, String>> {
    (name == "federation").then_some(federation_callback(ctx).await)
}

/// The person signs in through the upstream once, all the way (the callback is a cold
/// start too): the account and its link exist from then on, so that every measured
/// callback is a returning person's, the common case. Returns a fresh callback.
async fn federated_sign_in_once(ctx: &Ctx) -> Result<HttpRequest, String> {
    eprintln!(
        "prepare: signing in through the upstream: authorize → federation/start → upstream → federation/callback (cold starts)"
    );
    let mut browser = Browser::new(ctx);
    let callback = federation_callback_in(&mut browser).await?;
    let r = browser.send(callback).await?;
    let to_consent = r
        .header("location")
        .and_then(provider_path)
        .is_some_and(|p| p.starts_with("/consent"));
    if r.status != 303 || !to_consent {
        return Err(format!(
            "the first federated sign-in did not end at consent: {} {:?} {}",
            r.status,
            r.header("location"),
            snippet(&r.body)
        ));
    }
    federation_callback(ctx).await
}

/// A new browser's `/federation/callback` request, ready to send (see [`renew`]).
async fn federation_callback(ctx: &Ctx) -> Result<HttpRequest, String> {
    federation_callback_in(&mut Browser::new(ctx)).await
}

/// `/authorize?idp=` → `/federation/start` → the upstream's sign-in → the callback URL,
/// as the request the browser would send (with its cookies).
async fn federation_callback_in(b: &mut Browser<'_>) -> Result<HttpRequest, String> {
    let path = format!(
        "{}&idp={}",
        authorize_path("openid profile email", "bench-federation"),
        upstream::IDP
    );
    let redirect = |r: &HttpResponse, step: &str| {
        r.header("location")
            .filter(|_| r.status == 303)
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "{step} answered {} without a redirect: {}",
                    r.status,
                    snippet(&r.body)
                )
            })
    };
    let authorized = b.send(HttpRequest::get(&path)).await?;
    let start = redirect(&authorized, "/authorize?idp=")?;
    let start = provider_path(&start)
        .filter(|p| p.starts_with("/federation/start"))
        .ok_or_else(|| format!("/authorize?idp= sent the browser to {start}"))?;
    let started = b.send(HttpRequest::get(&start)).await?;
    let at_upstream = redirect(&started, "/federation/start")?;
    let back = upstream::sign_in(&at_upstream)?;
    let callback = provider_path(&back)
        .filter(|p| p.starts_with("/federation/callback?"))
        .ok_or_else(|| format!("the upstream sent the browser to {back}"))?;
    Ok(HttpRequest::get(&callback).cookies(b.cookie_list()))
}

/// Two grants through authorize → login → token, and a sign-in page left open.
async fn sign_in_for_fixtures(ctx: &Ctx) -> Result<SignedIn, String> {
    eprintln!("prepare: signing in through authorize → login → token (cold starts)");
    let mut browser = Browser::new(ctx);
    let scope = "openid profile email offline_access";
    let a = sign_in(&mut browser, scope, "bench-a").await?;
    // A second grant (the session now skips the sign-in): its refresh token is the one
    // revoked, so the first grant's tokens stay valid for userinfo and introspection.
    let b = sign_in(&mut browser, scope, "bench-b").await?;
    eprintln!("prepare: two grants issued");
    let session_cookies = browser.cookie_list();
    // The sign-in page of a request nobody finishes: a new browser at /authorize.
    let mut fresh = Browser::new(ctx);
    let r = fresh
        .send(HttpRequest::get(&authorize_path(
            "openid profile",
            "bench-login",
        )))
        .await?;
    // /authorize shows the form itself; /login shows it again for the pending request.
    let req = (r.status == 200)
        .then(|| input_value(&r.body, "req"))
        .flatten()
        .ok_or_else(|| format!("authorize did not show the sign-in form ({})", r.status))?;
    Ok(SignedIn {
        login_page: (format!("/login?req={req}"), fresh.cookie_list()),
        tokens: a,
        other_grant: b,
        session_cookies,
    })
}

/// The first request of a target that needs no sign-in, and the status it should get.
fn public_request(name: &str) -> (HttpRequest, u16) {
    match name {
        "discovery" => (HttpRequest::get("/.well-known/openid-configuration"), 200),
        "jwks" => (HttpRequest::get("/jwks.json"), 200),
        "authorize" => (
            // A new browser: /authorize shows the sign-in form itself.
            HttpRequest::get(&authorize_path("openid profile email", "bench-authz")),
            200,
        ),
        "token" => (
            HttpRequest::post_form(
                "/token",
                &[("grant_type", "client_credentials"), ("scope", "api:read")],
            )
            .basic_auth(M2M_CLIENT.0, M2M_CLIENT.1),
            200,
        ),
        "register" => (
            HttpRequest::post_json(
                "/register",
                &json!({
                    "client_name": "Registered by the benchmark",
                    "redirect_uris": [REDIRECT_URI],
                    "token_endpoint_auth_method": "client_secret_basic",
                }),
            ),
            201,
        ),
        _ => (HttpRequest::get("/"), 200),
    }
}

/// The first request of a target in [`NEED_TOKENS`] (None for any other), and the status it
/// should get.
fn signed_in_request(name: &str, s: &SignedIn) -> Option<(HttpRequest, u16)> {
    let t = &s.tokens;
    Some(match name {
        "login" => {
            let (path, cookies) = s.login_page.clone();
            (HttpRequest::get(&path).cookies(cookies), 200)
        }
        "userinfo" => (
            HttpRequest::get("/userinfo")
                .header("authorization", &format!("Bearer {}", t.access_token)),
            200,
        ),
        "introspect" => (
            HttpRequest::post_form("/introspect", &[("token", &t.access_token)])
                .basic_auth(WEB_CLIENT.0, WEB_CLIENT.1),
            200,
        ),
        "revoke" => (
            HttpRequest::post_form(
                "/revoke",
                &[
                    ("token", &s.other_grant.refresh_token),
                    ("token_type_hint", "refresh_token"),
                ],
            )
            .basic_auth(WEB_CLIENT.0, WEB_CLIENT.1),
            200,
        ),
        "logout" => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("id_token_hint", t.id_token.as_str()),
                    ("post_logout_redirect_uri", POST_LOGOUT_URI),
                    ("state", "bench-logout"),
                ])
                .finish();
            (HttpRequest::get(&format!("/logout?{q}")), 303)
        }
        // The signed-in browser's own page: session, then person ‖ factors, then passkeys.
        "account" => (
            HttpRequest::get("/account").cookies(s.session_cookies.clone()),
            200,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants above are the clients and user of `fixtures/seed.toml`.
    #[test]
    fn constants_match_the_seed_file() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seed.toml"))
                .expect("seed file");
        let seed: toml::Value = toml::from_str(&text).expect("seed parses");
        let clients = seed["clients"].as_array().expect("clients");
        let secret = |id: &str| {
            clients
                .iter()
                .find(|c| c["client_id"].as_str() == Some(id))
                .and_then(|c| c["client_secret"].as_str())
                .map(str::to_string)
        };
        assert_eq!(secret(WEB_CLIENT.0).as_deref(), Some(WEB_CLIENT.1));
        assert_eq!(secret(M2M_CLIENT.0).as_deref(), Some(M2M_CLIENT.1));
        let web = clients
            .iter()
            .find(|c| c["client_id"].as_str() == Some(WEB_CLIENT.0))
            .expect("web client");
        let uris = |k: &str| -> Vec<String> {
            web[k]
                .as_array()
                .expect("uris")
                .iter()
                .filter_map(|u| u.as_str().map(str::to_string))
                .collect()
        };
        assert_eq!(uris("redirect_uris"), vec![REDIRECT_URI]);
        assert_eq!(uris("post_logout_redirect_uris"), vec![POST_LOGOUT_URI]);
        let user = &seed["users"].as_array().expect("users")[0];
        assert_eq!(user["username"].as_str(), Some(USER.0));
        assert_eq!(user["password"].as_str(), Some(USER.1));
    }

    /// The upstream's person is the one of `fixtures/upstream.toml`, and our client there
    /// comes back to the functions' callback.
    #[test]
    fn upstream_constants_match_its_seed_file() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/upstream.toml"
        ))
        .expect("upstream seed file");
        let seed: toml::Value = toml::from_str(&text).expect("seed parses");
        let client = &seed["clients"].as_array().expect("clients")[0];
        let callback = format!("{}/federation/callback", issuer());
        assert_eq!(
            client["redirect_uris"].as_array().expect("uris")[0].as_str(),
            Some(callback.as_str())
        );
        let user = &seed["users"].as_array().expect("users")[0];
        assert_eq!(user["username"].as_str(), Some(upstream::USER.0));
        assert_eq!(user["password"].as_str(), Some(upstream::USER.1));
    }

    #[test]
    fn every_function_has_a_route() {
        let served: Vec<&str> = [
            "/.well-known/openid-configuration",
            "/jwks.json",
            "/authorize",
            "/login",
            "/token",
            "/userinfo",
            "/revoke",
            "/introspect",
            "/logout",
            "/register",
            "/federation/callback",
            "/account",
        ]
        .iter()
        .filter_map(|p| function_for(p))
        .collect();
        assert_eq!(served, FUNCTIONS);
    }

    #[test]
    fn form_parsing_unescapes() {
        let html = r#"<form method="post" action="https:&#x2f;&#x2f;x&#x2f;login"><input type="hidden" name="req" value="a&amp;b">"#;
        assert_eq!(form_action(html).as_deref(), Some("https://x/login"));
        assert_eq!(input_value(html, "req").as_deref(), Some("a&b"));
        assert_eq!(
            query_param("https://rp.example/cb?code=c1&state=s", "code").as_deref(),
            Some("c1")
        );
    }
}
