//! The enrolment URI authenticator apps read from the QR code, in Google Authenticator's
//! Key Uri Format: `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&...`.
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::code::{ALGORITHM, DIGITS, STEP};
use super::secret::TotpSecret;

/// Everything but RFC 3986 §2.3's unreserved characters is percent-encoded, in the label
/// and in the query alike. The Key Uri Format forbids a colon inside the issuer or the
/// account (it separates the two), so one there must arrive as `%3A`; a space must be
/// `%20`, never `+`, which apps would show as a plus; `&`, `=`, `#`, `?` and `/` would
/// break the URI's structure. `@` needs no escape in a path (RFC 3986 §3.3) but `%40` is
/// equally valid and one rule is easier to trust than a list of exceptions.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The otpauth URI for `account` at `issuer` (the provider's display name). The issuer is
/// both the label's prefix and the `issuer` parameter, as the Key Uri Format recommends
/// (apps show the parameter; older ones only the prefix). Every parameter is spelled out,
/// though each equals the format's default, so an app that guesses nothing differently
/// agrees with [`super::verify`].
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = utf8_percent_encode(issuer, COMPONENT);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm={algorithm}&digits={digits}&period={period}",
        account = utf8_percent_encode(account, COMPONENT),
        secret = secret.to_base32(),
        algorithm = ALGORITHM.uri_name(),
        digits = DIGITS.count(),
        period = STEP,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> TotpSecret {
        // The Key Uri Format's example key is 10 bytes, under our 16-byte minimum; this
        // is RFC 4648 §10's "foobar" stretched to 16 bytes.
        TotpSecret::from_bytes(b"foobarfoobarfoob").expect("16 bytes")
    }

    #[test]
    fn plain_issuer_and_account() {
        assert_eq!(
            otpauth_uri(&secret(), "Example", "alice"),
            "otpauth://totp/Example:alice?secret=MZXW6YTBOJTG633CMFZGM33PMI\
             &issuer=Example&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn issuer_with_a_space_and_account_with_at_and_colon() {
        assert_eq!(
            otpauth_uri(&secret(), "ACME Co", "john.doe@example.com"),
            "otpauth://totp/ACME%20Co:john.doe%40example.com\
             ?secret=MZXW6YTBOJTG633CMFZGM33PMI&issuer=ACME%20Co\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            otpauth_uri(&secret(), "Big: Corp & Co", "ops:alice+1@x.io"),
            "otpauth://totp/Big%3A%20Corp%20%26%20Co:ops%3Aalice%2B1%40x.io\
             ?secret=MZXW6YTBOJTG633CMFZGM33PMI&issuer=Big%3A%20Corp%20%26%20Co\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn non_ascii_is_utf8_percent_encoded() {
        let uri = otpauth_uri(&secret(), "Zürich Bank", "josé");
        assert!(
            uri.starts_with("otpauth://totp/Z%C3%BCrich%20Bank:jos%C3%A9?"),
            "{uri}"
        );
    }

    #[test]
    fn parses_back_with_a_url_parser() {
        // An independent reader (the url crate) finds each part where an app would.
        let uri = otpauth_uri(&secret(), "ACME Co", "a:b@c d");
        let parsed = url::Url::parse(&uri).expect("a URL");
        assert_eq!(parsed.scheme(), "otpauth");
        assert_eq!(parsed.host_str(), Some("totp"));
        let label = percent_encoding::percent_decode_str(&parsed.path()[1..])
            .decode_utf8()
            .expect("utf-8");
        assert_eq!(label, "ACME Co:a:b@c d");
        assert_eq!(parsed.path().matches(':').count(), 1, "one literal colon");
        let query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let get = |k: &str| {
            query
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("issuer"), Some("ACME Co"));
        assert_eq!(get("secret"), Some("MZXW6YTBOJTG633CMFZGM33PMI"));
        assert_eq!(get("algorithm"), Some("SHA1"));
        assert_eq!(get("digits"), Some("6"));
        assert_eq!(get("period"), Some("30"));
    }
}
