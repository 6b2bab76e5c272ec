//! Server-rendered pages (askama templates compiled into the binary; no runtime file reads).
//! Every page carries the same security headers and a CSP that admits only the page's own
//! inline stylesheet (by hash) and the configured logos: no scripts, no other origins.
use askama::Template;
use lambda_http::{Body, Response, http::StatusCode};

use crate::{
    OAuthError,
    config::Branding,
    crypto, http,
    protocol::{release::Disclosure, scope},
};

const BASE_CSS: &str = include_str!("../templates/style.css");

/// What every page shares: the stylesheet (with the deployer's colour) and the branding.
pub(crate) struct Frame<'a> {
    pub(crate) css: String,
    pub(crate) product: &'a str,
    pub(crate) logo: Option<&'a str>,
}

impl<'a> Frame<'a> {
    pub(crate) fn new(b: &'a Branding) -> Self {
        Self {
            css: css(b),
            product: &b.product_name,
            logo: b.logo_url.as_deref(),
        }
    }
}

fn css(b: &Branding) -> String {
    format!(":root{{--accent:{}}}\n{BASE_CSS}", b.accent_color)
}

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

/// The origin of an https image URL, for `img-src`; `data:` images are always allowed.
fn image_origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    (u.scheme() == "https").then(|| u.origin().ascii_serialization())
}

/// The sign-in page's one script: the passkey button and autofill (WebAuthn conditional
/// mediation). Static, so the CSP admits it by its hash; its data comes from the form.
pub const PASSKEY_SCRIPT: &str = include_str!("../templates/passkey.js");

/// `default-src 'none'`: no scripts but `scripts`, each by its SHA-256; the stylesheet by
/// its SHA-256; images from the provider, `data:` and the logos' origins; never framed.
pub fn csp(b: &Branding, images: &[&str], scripts: &[&str]) -> String {
    let mut img = vec!["'self'".to_string(), "data:".to_string()];
    for o in b
        .logo_url
        .iter()
        .map(String::as_str)
        .chain(images.iter().copied())
        .filter_map(image_origin)
    {
        if !img.contains(&o) {
            img.push(o);
        }
    }
    let script_src: String = scripts
        .iter()
        .map(|js| format!(" 'sha256-{}'", b64(&crypto::sha256(js.as_bytes()))))
        .collect();
    let script_src = if script_src.is_empty() {
        String::new()
    } else {
        format!("; script-src{script_src}")
    };
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src {}{script_src}; base-uri 'none'; frame-ancestors 'none'",
        b64(&crypto::sha256(css(b).as_bytes())),
        img.join(" ")
    )
}

pub(crate) fn respond(
    b: &Branding,
    status: StatusCode,
    body: Result<String, askama::Error>,
    images: &[&str],
    scripts: &[&str],
) -> Response<Body> {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return http::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({"error": "server_error"}),
            );
        }
    };
    let mut resp = http::html(status, body);
    http::page_headers(&mut resp, &csp(b, images, scripts));
    resp
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    f: Frame<'a>,
    v: LoginView<'a>,
    script: &'static str,
}

pub struct LoginView<'a> {
    pub client_name: &'a str,
    pub action: &'a str,
    pub req_id: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// "Continue with ..." links, one per upstream provider offered.
    pub providers: Vec<ProviderLink<'a>>,
    /// Whether the password form is shown (`PASSWORD_SIGNIN`).
    pub password: bool,
    /// The passkey sign-in's form: where it posts, and the WebAuthn request options (JSON,
    /// `parseRequestOptionsFromJSON`'s form) with this request's challenge.
    pub passkey: Option<PasskeyForm<'a>>,
    /// Above the password level: what the request needs, in plain words, and the account
    /// page where a person adds a passkey or an authenticator app.
    pub needs: Option<(&'static str, String)>,
}

pub struct PasskeyForm<'a> {
    pub action: &'a str,
    pub options: String,
}

/// A link of the sign-in page to an upstream provider (`/federation/start`).
pub struct ProviderLink<'a> {
    pub name: &'a str,
    pub href: String,
    /// Its https logo, which the page's CSP then admits (decorative: the name says it all).
    pub logo: Option<&'a str>,
}

pub fn login_page(b: &Branding, v: LoginView<'_>) -> Response<Body> {
    let logos: Vec<&str> = v.providers.iter().filter_map(|p| p.logo).collect();
    let passkey = v.passkey.is_some();
    respond(
        b,
        StatusCode::OK,
        LoginPage {
            f: Frame::new(b),
            script: PASSKEY_SCRIPT,
            v,
        }
        .render(),
        &logos,
        if passkey { &[PASSKEY_SCRIPT] } else { &[] },
    )
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    f: Frame<'a>,
    v: ConsentView<'a>,
    /// Each scope in plain words, with what it releases now.
    scopes: Vec<(String, String)>,
    /// The claims shared individually, in plain words.
    claims: String,
}

pub struct ConsentView<'a> {
    pub client_name: &'a str,
    /// The client's registered logo (https), if any.
    pub client_logo: Option<&'a str>,
    pub username: &'a str,
    pub action: &'a str,
    pub req_id: &'a str,
    pub csrf: &'a str,
    /// The scopes asked for, each with the claims it would release.
    pub scopes: &'a [Disclosure],
    /// Claims shared individually (the `claims` parameter, custom claims by name).
    pub claims: Vec<String>,
}

/// What a person is asked to share, in plain words.
fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are (your account identifier)".into(),
        "profile" => "See your profile".into(),
        "email" => "See your email address".into(),
        "address" => "See your postal address".into(),
        "phone" => "See your phone number".into(),
        "offline_access" => "Stay connected while you are away (offline access)".into(),
        api => format!("Use the “{api}” permission"),
    }
}

/// A claim in plain words; custom claims go by their (namespaced) name.
fn describe_claim(name: &str) -> String {
    let label = match name {
        "name" => "full name",
        "given_name" => "given name",
        "family_name" => "family name",
        "middle_name" => "middle name",
        "nickname" => "nickname",
        "preferred_username" => "preferred username",
        "profile" => "profile page",
        "picture" => "picture",
        "website" => "website",
        "gender" => "gender",
        "birthdate" => "birthdate",
        "zoneinfo" => "time zone",
        "locale" => "language and region",
        "updated_at" => "when your profile last changed",
        "email" => "email address",
        "email_verified" => "whether your email address is verified",
        "address" => "postal address",
        "phone_number" => "phone number",
        "phone_number_verified" => "whether your phone number is verified",
        custom => return custom.to_string(),
    };
    label.to_string()
}

fn describe_claims(names: &[String]) -> String {
    names
        .iter()
        .map(|n| describe_claim(n))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn consent_page(b: &Branding, v: ConsentView<'_>) -> Response<Body> {
    let scopes = v
        .scopes
        .iter()
        .map(|d| {
            let what = if d.claims.is_empty() || scope::SUPPORTED.contains(&d.scope.as_str()) {
                describe_scope(&d.scope)
            } else {
                // A deployer's scope that carries people's custom claims.
                format!("See your “{}” information", d.scope)
            };
            (what, describe_claims(&d.claims))
        })
        .collect();
    let claims = describe_claims(&v.claims);
    let logo = v.client_logo.map(|l| vec![l]).unwrap_or_default();
    respond(
        b,
        StatusCode::OK,
        ConsentPage {
            f: Frame::new(b),
            v,
            scopes,
            claims,
        }
        .render(),
        &logo,
        &[],
    )
}

#[derive(Template)]
#[template(path = "step_up.html")]
struct StepUpPage<'a> {
    f: Frame<'a>,
    v: StepUpView<'a>,
}

/// A person signed in below the level the request needs: what it needs, what they did, and
/// the ways on (sign in another way, add a passkey or an authenticator app, or cancel).
pub struct StepUpView<'a> {
    pub client_name: &'a str,
    /// What the request needs and what the person did, in plain words (`acr::Level::describe`).
    pub needs: &'a str,
    pub did: &'a str,
    /// The sign-in page of the same request, and the account page.
    pub sign_in: String,
    pub account: String,
    /// Where "Cancel" posts (with the request's id and CSRF token).
    pub action: &'a str,
    pub req_id: &'a str,
    pub csrf: &'a str,
}

pub fn step_up_page(b: &Branding, v: StepUpView<'_>) -> Response<Body> {
    respond(
        b,
        StatusCode::OK,
        StepUpPage {
            f: Frame::new(b),
            v,
        }
        .render(),
        &[],
        &[],
    )
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    f: Frame<'a>,
    code: &'a str,
    description: &'a str,
}

/// The answer of a page a person sees in a browser (the authorization request, sign-in,
/// consent, logout): the page, or, for an error, the error page, shown when redirecting is
/// not safe or not possible. The one way every page error is rendered.
pub trait PageOrError {
    fn or_error_page(self, branding: &Branding) -> Response<Body>;
}

impl PageOrError for Result<Response<Body>, OAuthError> {
    fn or_error_page(self, branding: &Branding) -> Response<Body> {
        self.unwrap_or_else(|e| {
            e.log();
            error_page(branding, e.status(), e.code.as_str(), &e.description)
        })
    }
}

pub fn error_page(
    b: &Branding,
    status: StatusCode,
    code: &str,
    description: &str,
) -> Response<Body> {
    respond(
        b,
        status,
        ErrorPage {
            f: Frame::new(b),
            code,
            description,
        }
        .render(),
        &[],
        &[],
    )
}

pub struct LogoutView<'a> {
    pub action: String,
    pub csrf: String,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
    pub id_token_hint: Option<&'a str>,
    pub client_name: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    f: Frame<'a>,
    v: &'a LogoutView<'a>,
}

pub fn logout_confirm_page(b: &Branding, v: &LogoutView<'_>) -> Response<Body> {
    respond(
        b,
        StatusCode::OK,
        LogoutPage {
            f: Frame::new(b),
            v,
        }
        .render(),
        &[],
        &[],
    )
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage<'a> {
    f: Frame<'a>,
    next: Option<Continue<'a>>,
}

/// Where a client asked to send the person after signing out, offered as a link to follow
/// rather than a redirect.
pub struct Continue<'a> {
    pub client_name: &'a str,
    /// The registered post_logout_redirect_uri, as shown.
    pub shown: &'a str,
    /// It with the client's `state`.
    pub url: String,
}

pub fn signed_out_page(b: &Branding, next: Option<Continue<'_>>) -> Response<Body> {
    respond(
        b,
        StatusCode::OK,
        SignedOutPage {
            f: Frame::new(b),
            next,
        }
        .render(),
        &[],
        &[],
    )
}

const FORM_POST_SCRIPT: &str = "document.forms[0].submit()";

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    params: &'a [(&'a str, &'a str)],
    script: &'static str,
}

/// The Form Post Response Mode page: a form that submits itself to the client. The CSP
/// admits only this page's one script (by hash) and lets the form go only to the client's
/// origin.
pub fn form_post_page(b: &Branding, action: &str, params: &[(&str, &str)]) -> Response<Body> {
    let page = FormPostPage {
        action,
        params,
        script: FORM_POST_SCRIPT,
    };
    let origin = url::Url::parse(action)
        .map(|u| u.origin().ascii_serialization())
        .ok()
        .filter(|o| o != "null")
        .unwrap_or_else(|| "'none'".into());
    let body = match page.render() {
        Ok(b) => b,
        Err(e) => return respond(b, StatusCode::INTERNAL_SERVER_ERROR, Err(e), &[], &[]),
    };
    let mut resp = http::html(StatusCode::OK, body);
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{}'; form-action {origin}; base-uri 'none'; frame-ancestors 'none'",
        b64(&crypto::sha256(FORM_POST_SCRIPT.as_bytes()))
    );
    http::page_headers(&mut resp, &csp);
    resp
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    f: Frame<'a>,
    v: TotpView<'a>,
}

/// The second step of a password sign-in: the code from the person's authenticator app,
/// or one of their recovery codes (`endpoints::login::totp`).
pub struct TotpView<'a> {
    pub client_name: &'a str,
    pub action: &'a str,
    pub req_id: &'a str,
    pub csrf: &'a str,
    /// Whose code it is: the step reads their factors and counters in its one read.
    pub sub: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// The recovery code's field instead of the app code's.
    pub recovery: bool,
    /// This page with the other field (a link: no script).
    pub other: String,
}

pub fn totp_page(b: &Branding, v: TotpView<'_>) -> Response<Body> {
    respond(
        b,
        StatusCode::OK,
        TotpPage {
            f: Frame::new(b),
            v,
        }
        .render(),
        &[],
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response<Body>) -> String {
        match r.body() {
            Body::Text(t) => t.clone(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn provider_logos_are_shown_and_only_their_origins_admitted() {
        let b = Branding::default();
        let link = |name, logo| ProviderLink {
            name,
            href: format!("https://op.example/federation/start?idp={name}"),
            logo,
        };
        let page = login_page(
            &b,
            LoginView {
                client_name: "App",
                action: "https://op.example/login",
                req_id: "r",
                csrf: "c",
                username: "",
                error: None,
                providers: vec![
                    link("Okta", Some("https://cdn.example/okta.svg")),
                    link("Plain", None),
                ],
                password: true,
                passkey: None,
                needs: None,
            },
        );
        let html = body(&page);
        assert!(
            html.contains(r#"<img src="https://cdn.example/okta.svg" alt="""#),
            "{html}"
        );
        assert_eq!(html.matches("<img").count(), 1, "no logo, no image");
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .expect("csp");
        assert!(
            csp.contains("img-src 'self' data: https://cdn.example;"),
            "{csp}"
        );
    }

    #[test]
    fn a_page_that_needs_a_passkey_offers_only_a_passkey_and_the_account_page() {
        let b = Branding::default();
        let page = login_page(
            &b,
            LoginView {
                client_name: "App",
                action: "https://op.example/login",
                req_id: "r",
                csrf: "c",
                username: "",
                error: None,
                providers: vec![],
                password: false,
                passkey: Some(PasskeyForm {
                    action: "https://op.example/login/passkey",
                    options: "{}".into(),
                }),
                needs: Some(("a passkey", "https://op.example/account".into())),
            },
        );
        let html = body(&page);
        assert!(!html.contains(r#"name="password""#), "{html}");
        assert!(
            html.contains(r#"id="passkey-button" class="primary""#),
            "{html}"
        );
        assert!(html.contains("needs a passkey to sign in"), "{html}");
        assert!(
            html.contains(r#"href="https://op.example/account""#),
            "{html}"
        );

        let page = step_up_page(
            &b,
            StepUpView {
                client_name: "App",
                needs: "a passkey",
                did: "a password",
                sign_in: "https://op.example/login?req=r".into(),
                account: "https://op.example/account".into(),
                action: "https://op.example/consent",
                req_id: "r",
                csrf: "c",
            },
        );
        let html = body(&page);
        assert!(html.contains("needs a passkey to sign in"), "{html}");
        assert!(html.contains("You signed in with a password"), "{html}");
        assert!(
            html.contains(r#"href="https://op.example/login?req=r""#),
            "{html}"
        );
        assert!(
            !html.contains(r#"name="decision""#),
            "Cancel is no consent answer"
        );
    }
}
