//! A scripted person at a browser: keeps cookies, follows the provider's redirects, fills the
//! sign-in form and answers the consent page, and stops at the first redirect that leaves
//! the provider (to the client's redirect_uri) or at a page it cannot get past.
use reqwest::{Method, StatusCode};
use url::Url;

#[derive(Debug)]
pub enum Outcome {
    /// The provider sent the browser to the client with this URL.
    Redirect(Url),
    /// The provider showed a page and stopped there (an error page, or a form shown
    /// again, e.g. after a wrong password).
    Page { status: u16, body: String },
}

impl Outcome {
    pub fn param(&self, name: &str) -> Option<String> {
        match self {
            Outcome::Redirect(u) => u
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned()),
            Outcome::Page { .. } => None,
        }
    }

    pub fn redirect(&self) -> &Url {
        match self {
            Outcome::Redirect(u) => u,
            Outcome::Page { status, body } => {
                panic!("expected a redirect, got a {status} page:\n{body}")
            }
        }
    }
}

pub struct Browser {
    http: reqwest::Client,
    /// Redirects to URLs under this prefix stay within the provider and are followed.
    provider: String,
    /// What the scripted person saw, in order ("login", "consent").
    pub pages_seen: Vec<&'static str>,
}

/// Undoes the HTML escaping of an attribute value.
pub fn unescape(v: &str) -> String {
    v.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(unescape(&html[start..start + end]))
}

/// The WebAuthn options (JSON) in the `data-options` of the form with id `form_id`.
pub fn data_options(html: &str, form_id: &str) -> serde_json::Value {
    let form = &html[html.find(&format!("id=\"{form_id}\"")).expect("the form")..];
    let json = attr_after(form, "data-options=\"").expect("its options");
    serde_json::from_str(&json).expect("options JSON")
}

/// The `value` of the input named `name` in an HTML page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    attr_after(html, &format!("name=\"{name}\" value=\""))
}

/// Where the page's form posts to.
pub fn form_action(html: &str) -> Option<String> {
    let form = html.find("<form")?;
    attr_after(&html[form..], "action=\"")
}

impl Browser {
    pub fn new(provider: &str) -> Self {
        Self::at(provider, None)
    }

    /// A browser whose connections come from `address` (a loopback address such as
    /// 127.0.0.2: the local server sees it as the client's address).
    pub fn from_address(provider: &str, address: std::net::IpAddr) -> Self {
        Self::at(provider, Some(address))
    }

    fn at(provider: &str, address: Option<std::net::IpAddr>) -> Self {
        crate::tls_ready();
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(address)
            .build()
            .expect("browser client");
        Self {
            http,
            provider: provider.to_string(),
            pages_seen: vec![],
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// Starts at `url` (GET) and plays the person: signs in with `creds` when asked (None:
    /// stop at the sign-in page), and answers consent with `decision` ("": stop at the
    /// consent page).
    pub async fn authorize(
        &mut self,
        url: &str,
        creds: Option<(&str, &str)>,
        decision: &str,
    ) -> Outcome {
        let resp = self.http.get(url).send().await.expect("GET authorize");
        self.follow(resp, creds, decision).await
    }

    /// Like [`authorize`], starting with a form POST of the parameters to `/authorize`.
    pub async fn authorize_post(
        &mut self,
        endpoint: &str,
        form: &[(&str, &str)],
        creds: Option<(&str, &str)>,
        decision: &str,
    ) -> Outcome {
        let resp = self
            .http
            .post(endpoint)
            .form(form)
            .send()
            .await
            .expect("POST authorize");
        self.follow(resp, creds, decision).await
    }

    pub async fn follow(
        &mut self,
        mut resp: reqwest::Response,
        creds: Option<(&str, &str)>,
        decision: &str,
    ) -> Outcome {
        let mut submitted_login = false;
        for _ in 0..10 {
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .expect("redirect has a Location")
                    .to_string();
                let next = Url::parse(&location).expect("absolute Location");
                if !location.starts_with(&self.provider) {
                    return Outcome::Redirect(next);
                }
                resp = self.http.get(next).send().await.expect("follow redirect");
                continue;
            }
            let body = resp.text().await.expect("page body");
            if status != StatusCode::OK {
                return Outcome::Page {
                    status: status.as_u16(),
                    body,
                };
            }
            let (req, csrf) = (input_value(&body, "req"), input_value(&body, "csrf"));
            let action = form_action(&body).unwrap_or_default();
            if body.contains("name=\"password\"") {
                self.pages_seen.push("login");
                let (Some((user, pass)), false) = (creds, submitted_login) else {
                    return Outcome::Page { status: 200, body };
                };
                submitted_login = true;
                let form = [
                    ("req", req.unwrap_or_default()),
                    ("csrf", csrf.unwrap_or_default()),
                    ("username", user.into()),
                    ("password", pass.into()),
                ];
                resp = self.post_form(&action, &form).await;
            } else if body.contains("name=\"decision\"") {
                self.pages_seen.push("consent");
                if decision.is_empty() {
                    return Outcome::Page { status: 200, body };
                }
                let form = [
                    ("req", req.unwrap_or_default()),
                    ("csrf", csrf.unwrap_or_default()),
                    ("decision", decision.into()),
                ];
                resp = self.post_form(&action, &form).await;
            } else {
                return Outcome::Page { status: 200, body };
            }
        }
        panic!("too many redirects");
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, String)]) -> reqwest::Response {
        self.http
            .request(Method::POST, url)
            .form(form)
            .send()
            .await
            .expect("form post")
    }

    /// Posts a form to a path under the provider prefix.
    pub async fn submit(&self, path: &str, form: &[(&str, String)]) -> reqwest::Response {
        self.post_form(
            &format!("{}{}", self.provider.trim_end_matches('/'), path),
            form,
        )
        .await
    }
}
