//! Client URIs: the one validator for every URI a client registers (redirect,
//! post-logout redirect and logo URIs; through dynamic registration, seed files and the admin
//! CLI alike), and exact matching at use (RFC 6749 §3.1.2, RFC 9700 §4.1.3: simple string
//! comparison, no patterns).

/// Exact, case-sensitive string match against the registered list.
pub fn is_registered(candidate: &str, registered: &[String]) -> bool {
    registered.iter().any(|r| r == candidate)
}

/// Which kinds of redirect URI may be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    /// `https://host/…`.
    pub https: bool,
    /// `http://127.0.0.1…`, `http://[::1]…` or `http://localhost…` (RFC 8252 §7.3).
    pub loopback: bool,
    /// A private-use scheme named by a reverse domain name, `com.example.app:/cb`
    /// (RFC 8252 §7.1).
    pub private_use: bool,
}

impl Kinds {
    /// What an administrator may register (seed files, the admin CLI).
    pub const ALL: Kinds = Kinds {
        https: true,
        loopback: true,
        private_use: true,
    };
    pub const HTTPS: Kinds = Kinds {
        https: true,
        loopback: false,
        private_use: false,
    };
    /// The names used in configuration (`REGISTRATION_REDIRECT_URIS`).
    pub const NAMES: [&'static str; 3] = ["https", "loopback", "private-use"];

    /// From configuration names; None for an unknown name.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Kinds> {
        let mut k = Kinds {
            https: false,
            loopback: false,
            private_use: false,
        };
        for n in names {
            match n {
                "https" => k.https = true,
                "loopback" => k.loopback = true,
                "private-use" => k.private_use = true,
                _ => return None,
            }
        }
        Some(k)
    }

    pub fn names(self) -> Vec<&'static str> {
        let on = [self.https, self.loopback, self.private_use];
        Self::NAMES
            .into_iter()
            .zip(on)
            .filter_map(|(n, on)| on.then_some(n))
            .collect()
    }
}

/// Longer URIs are refused: nothing legitimate needs more, and every one of them ends up in
/// a Location header or a page.
pub const MAX_LEN: usize = 2000;

/// Schemes that run or read something where they are opened: never a client URI.
const FORBIDDEN_SCHEMES: [&str; 4] = ["javascript", "data", "file", "vbscript"];

/// A redirect (or post-logout redirect) URI that may be registered: see [`check`]; no
/// fragment (RFC 6749 §3.1.2). Returns the problem, without the value.
pub fn check_redirect(uri: &str, kinds: Kinds) -> Result<(), &'static str> {
    check(uri, kinds)?;
    if uri.contains('#') {
        return Err("must not contain a fragment (RFC 6749 §3.1.2)");
    }
    Ok(())
}

/// A logo shown on the consent page: https only.
pub fn check_logo(uri: &str) -> Result<(), &'static str> {
    if !uri
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        return Err("must be an https URL");
    }
    check(uri, Kinds::HTTPS)
}

/// Whether a stored redirect URI can be sent to a browser: records written before the
/// validator existed are checked again before any redirect.
pub fn is_safe_target(uri: &str) -> bool {
    check_redirect(uri, Kinds::ALL).is_ok()
}

/// An absolute URI (RFC 3986 §4.3) of printable ASCII made only of the characters RFC 3986
/// allows, with well-formed percent-encoding, of an allowed kind. https and loopback http
/// need an authority without user information (`https://trusted.example@evil.example`).
fn check(uri: &str, kinds: Kinds) -> Result<(), &'static str> {
    if uri.is_empty() {
        return Err("is empty");
    }
    if uri.len() > MAX_LEN {
        return Err("is too long (at most 2000 characters)");
    }
    if !uri.bytes().all(is_uri_char) {
        return Err(
            "contains a control character, a space, a non-ASCII character or another character RFC 3986 does not allow",
        );
    }
    let bytes = uri.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err("has a malformed percent-encoding");
        }
    }
    let u = url::Url::parse(uri).map_err(|_| "is not an absolute URI")?;
    let scheme = u.scheme();
    if FORBIDDEN_SCHEMES.contains(&scheme) {
        return Err("uses a forbidden scheme");
    }
    let authority = uri
        .get(scheme.len() + 1..)
        .is_some_and(|rest| rest.starts_with("//"));
    let web = |allowed: bool, what: &'static str| {
        if !allowed {
            return Err(what);
        }
        if !authority || u.host_str().is_none_or(str::is_empty) {
            return Err("must name a host (scheme://host/...)");
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("must not contain user information (user@host)");
        }
        Ok(())
    };
    match scheme {
        "https" => web(kinds.https, "may not use https here"),
        "http" => {
            let loopback = matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            if !loopback {
                return Err("must use https (http is allowed for loopback addresses only)");
            }
            web(
                kinds.loopback,
                "may not be a loopback address here (https only)",
            )
        }
        s if s.contains('.') => {
            if !kinds.private_use {
                return Err("may not use a private-use scheme here");
            }
            // RFC 8252 §7.1: `com.example.app:/path`.
            if !uri[s.len() + 1..].starts_with('/') {
                return Err("must be of the form com.example.app:/path (RFC 8252 §7.1)");
            }
            Ok(())
        }
        _ => Err(
            "uses a scheme that is neither https, loopback http nor a reverse domain name (RFC 8252 §7.1)",
        ),
    }
}

/// RFC 3986 §2: unreserved, reserved and `%`.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only() {
        let reg = vec!["https://app.example/cb".to_string()];
        assert!(is_registered("https://app.example/cb", &reg));
        for bad in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://APP.example/cb",
            "https://app.example/c",
            "https://app.example/cb#",
        ] {
            assert!(!is_registered(bad, &reg), "{bad}");
        }
    }

    #[test]
    fn registration_rules() {
        let all = Kinds::ALL;
        for ok in [
            "https://a.example/cb",
            "https://a.example:8443/cb?x=1&y=%20",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost:3000/callback",
            "com.example.app:/cb",
        ] {
            assert_eq!(check_redirect(ok, all), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "http://a.example/cb",
            "https://a.example/cb#x",
            "/relative",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<b>",
            "file:///etc/passwd",
            "vbscript:x",
            "https://a.example/c\0b",
            "https://a.example/c\tb",
            "https://a.example/c b",
            "https://a.example/\u{e9}",
            "https://a.example/c\\b",
            "https://a.example/<b>",
            "https://a.example/%zz",
            "https:a.example/cb",
            "https://user@a.example/cb",
            "https://a.example@evil.example/cb",
            "myapp:/cb",
            "com.example.app:cb",
        ] {
            assert!(check_redirect(bad, all).is_err(), "{bad:?}");
        }
        assert!(check_redirect(&format!("https://a.example/{}", "a".repeat(2000)), all).is_err());
        let https_only = Kinds::HTTPS;
        assert!(check_redirect("http://127.0.0.1/cb", https_only).is_err());
        assert!(check_redirect("com.example.app:/cb", https_only).is_err());
        assert!(check_logo("https://a.example/logo.png").is_ok());
        assert!(check_logo("http://127.0.0.1/logo.png").is_err());
    }

    #[test]
    fn kinds_by_name() {
        assert_eq!(
            Kinds::parse(["https", "loopback", "private-use"]),
            Some(Kinds::ALL)
        );
        assert_eq!(Kinds::parse(["https"]), Some(Kinds::HTTPS));
        assert_eq!(Kinds::parse(["ftp"]), None);
        assert_eq!(Kinds::ALL.names(), Kinds::NAMES.to_vec());
    }
}
