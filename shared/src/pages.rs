//! Server-rendered pages (askama templates compiled into the binary; no runtime file reads).
//! Every page response carries the same security headers and a CSP that admits only the
//! page's own inline stylesheet, by hash.
use askama::Template;
use lambda_http::{Body, Response, http::StatusCode};

use crate::{config::Branding, crypto, http};

const BASE_CSS: &str = include_str!("../templates/style.css");

fn css(b: &Branding) -> String {
    format!(":root{{--accent:{}}}\n{BASE_CSS}", b.accent_color)
}

/// `default-src 'none'`: no scripts at all; the stylesheet by its SHA-256; forms may post
/// to the provider and navigate on to the client (redirects after POST).
pub fn csp(b: &Branding) -> String {
    let hash = crypto::sha256(css(b).as_bytes());
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, hash)
    )
}

fn respond(
    b: &Branding,
    status: StatusCode,
    body: Result<String, askama::Error>,
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
    http::page_headers(&mut resp, &csp(b));
    resp
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    css: String,
    product: &'a str,
    client_name: &'a str,
    action: &'a str,
    req_id: &'a str,
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

pub struct LoginView<'a> {
    pub client_name: &'a str,
    pub action: &'a str,
    pub req_id: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

pub fn login_page(b: &Branding, v: LoginView<'_>) -> Response<Body> {
    let page = LoginPage {
        css: css(b),
        product: &b.product_name,
        client_name: v.client_name,
        action: v.action,
        req_id: v.req_id,
        csrf: v.csrf,
        username: v.username,
        error: v.error,
    };
    respond(b, StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    css: String,
    product: &'a str,
    client_name: &'a str,
    username: &'a str,
    action: &'a str,
    req_id: &'a str,
    csrf: &'a str,
    scopes: Vec<&'static str>,
    claims: Vec<String>,
}

pub struct ConsentView<'a> {
    pub client_name: &'a str,
    pub username: &'a str,
    pub action: &'a str,
    pub req_id: &'a str,
    pub csrf: &'a str,
    pub scopes: &'a [String],
    /// Claims asked for individually (the `claims` parameter).
    pub claims: Vec<String>,
}

/// What a person is asked to share, in plain words.
fn describe_scope(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "Know who you are (your account identifier)",
        "profile" => "Your profile: name, nickname, picture, birthdate, locale",
        "email" => "Your email address",
        "address" => "Your postal address",
        "phone" => "Your phone number",
        _ => return None,
    })
}

pub fn consent_page(b: &Branding, v: ConsentView<'_>) -> Response<Body> {
    let page = ConsentPage {
        css: css(b),
        product: &b.product_name,
        client_name: v.client_name,
        username: v.username,
        action: v.action,
        req_id: v.req_id,
        csrf: v.csrf,
        scopes: v.scopes.iter().filter_map(|s| describe_scope(s)).collect(),
        claims: v.claims,
    };
    respond(b, StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    css: String,
    product: &'a str,
    code: &'a str,
    description: &'a str,
}

pub fn error_page(
    b: &Branding,
    status: StatusCode,
    code: &str,
    description: &str,
) -> Response<Body> {
    let page = ErrorPage {
        css: css(b),
        product: &b.product_name,
        code,
        description,
    };
    respond(b, status, page.render())
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
    let script_hash = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        crypto::sha256(FORM_POST_SCRIPT.as_bytes()),
    );
    let origin = url::Url::parse(action)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "'none'".into());
    let origin = if origin == "null" {
        "'none'".to_string()
    } else {
        origin
    };
    let body = match page.render() {
        Ok(b) => b,
        Err(e) => return respond(b, StatusCode::INTERNAL_SERVER_ERROR, Err(e)),
    };
    let mut resp = http::html(StatusCode::OK, body);
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{script_hash}'; form-action {origin}; base-uri 'none'; frame-ancestors 'none'"
    );
    http::page_headers(&mut resp, &csp);
    resp
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
    css: String,
    product: &'a str,
    v: &'a LogoutView<'a>,
}

pub fn logout_confirm_page(b: &Branding, v: &LogoutView<'_>) -> Response<Body> {
    respond(
        b,
        StatusCode::OK,
        LogoutPage {
            css: css(b),
            product: &b.product_name,
            v,
        }
        .render(),
    )
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage<'a> {
    css: String,
    product: &'a str,
}

pub fn signed_out_page(b: &Branding) -> Response<Body> {
    respond(
        b,
        StatusCode::OK,
        SignedOutPage {
            css: css(b),
            product: &b.product_name,
        }
        .render(),
    )
}
