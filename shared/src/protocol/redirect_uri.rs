//! redirect_uri rules: registration-time validation and exact matching at use
//! (RFC 6749 §3.1.2, RFC 9700 §4.1.3: simple string comparison, no patterns).

/// Exact, case-sensitive string match against the registered list.
pub fn is_registered(candidate: &str, registered: &[String]) -> bool {
    registered.iter().any(|r| r == candidate)
}

/// A redirect_uri that may be registered: absolute, no fragment (RFC 6749 §3.1.2), https
/// unless `allow_http` is set or it is a loopback address (RFC 8252 §7.3), or a private-use
/// scheme for native apps (RFC 8252 §7.1).
pub fn validate_for_registration(uri: &str, allow_http: bool) -> Result<(), String> {
    let u = url::Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URI: {e}"))?;
    if u.fragment().is_some() || uri.contains('#') {
        return Err(format!("{uri:?} must not contain a fragment"));
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if allow_http || loopback {
                Ok(())
            } else {
                Err(format!(
                    "{uri:?} must use https (http is allowed for loopback only)"
                ))
            }
        }
        "javascript" | "data" | "file" | "vbscript" => {
            Err(format!("{uri:?} uses a forbidden scheme"))
        }
        s if s.contains('.') => Ok(()),
        _ => Err(format!(
            "{uri:?}: custom schemes must be reverse domain names (RFC 8252 §7.1)"
        )),
    }
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
        assert!(validate_for_registration("https://a.example/cb", false).is_ok());
        assert!(validate_for_registration("http://127.0.0.1:8080/cb", false).is_ok());
        assert!(validate_for_registration("http://a.example/cb", false).is_err());
        assert!(validate_for_registration("https://a.example/cb#x", false).is_err());
        assert!(validate_for_registration("/relative", false).is_err());
        assert!(validate_for_registration("javascript:alert(1)", true).is_err());
        assert!(validate_for_registration("com.example.app:/cb", false).is_ok());
    }
}
