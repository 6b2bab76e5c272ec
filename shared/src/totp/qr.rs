//! The enrolment QR code as inline SVG, drawn here: the secret never leaves the provider
//! for a QR-code service, and the page needs no image request or script.
use qrcode::{EcLevel, QrCode, render::svg};

use super::TotpError;

/// The drawn size in CSS pixels: large enough for a phone camera at arm's length, small
/// enough to sit beside the typed-secret fallback on a narrow screen.
pub const QR_SIZE_PX: u32 = 240;

/// The otpauth URI as an `<svg>` element to inline in an HTML page. Error correction M
/// (about 15% of the code may be unreadable): L fails sooner on a glare-streaked monitor,
/// Q and H only make the modules smaller at the same size. The quiet zone is the QR
/// standard's 4 modules; modules are black on white, the contrast every scanner expects
/// (inverted codes confuse some).
///
/// The markup holds only the library's fixed tags, numbers and the two colours below: the
/// URI (and so the secret, issuer and account) is in the modules alone, never text, so
/// nothing from the user can reach the page through it. The XML declaration is dropped
/// (inside HTML it is a bogus comment), and the `viewBox` counts modules while
/// `width`/`height` fix the drawn size at [`QR_SIZE_PX`] whatever the code's version.
pub fn qr_svg(uri: &str) -> Result<String, TotpError> {
    // Every error the library reports for byte data comes down to "too long" (it picks
    // the version and the encoding itself).
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|_| TotpError::QrTooLong)?;
    let markup = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let svg = markup
        .find("<svg")
        .map_or(markup.as_str(), |start| &markup[start..]);
    // The renderer writes the module-unit size twice: as the `<svg>`'s width and height
    // (replaced here by the display size) and as its viewBox (kept, so it scales).
    let modules = code.width() + 8;
    let natural = format!(r#" width="{modules}" height="{modules}" viewBox"#);
    let fixed = format!(r#" width="{QR_SIZE_PX}" height="{QR_SIZE_PX}" viewBox"#);
    Ok(svg.replacen(&natural, &fixed, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::totp::{TotpSecret, otpauth_uri};

    fn uri() -> String {
        let secret = TotpSecret::from_bytes(b"foobarfoobarfoob").expect("16 bytes");
        otpauth_uri(&secret, "ACME Co", "john.doe@example.com")
    }

    #[test]
    fn an_svg_of_fixed_size_with_a_module_viewbox() {
        let svg = qr_svg(&uri()).expect("fits");
        assert!(svg.starts_with("<svg "), "{}", &svg[..60]);
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#" width="240" height="240" viewBox="0 0 "#));
        // Version and quiet zone: 4v + 17 modules plus 4 either side, in the viewBox.
        let code = QrCode::with_error_correction_level(uri().as_bytes(), EcLevel::M).expect("fits");
        let n = code.width() + 8;
        assert!(svg.contains(&format!(r#"viewBox="0 0 {n} {n}""#)), "{n}");
        assert!(svg.contains(r##"fill="#000000""##));
        assert!(svg.contains(r##"fill="#ffffff""##));
    }

    #[test]
    fn nothing_from_the_uri_or_any_script_is_in_the_markup() {
        let svg = qr_svg(&uri()).expect("fits");
        let lower = svg.to_lowercase();
        for absent in [
            "<script",
            "javascript:",
            "onload",
            "href",
            "<?xml",
            "otpauth",
            "acme",
            "mzxw6",
        ] {
            assert!(!lower.contains(absent), "{absent}");
        }
        // Nothing but the tags and attributes the renderer writes.
        assert_eq!(
            svg.matches('<').count(),
            4,
            "<svg>, <rect/>, <path/>, </svg>"
        );
    }

    #[test]
    fn deterministic() {
        assert_eq!(qr_svg(&uri()).expect("fits"), qr_svg(&uri()).expect("fits"));
        assert_ne!(
            qr_svg(&uri()).expect("fits"),
            qr_svg("otpauth://totp/x").expect("fits")
        );
    }

    #[test]
    fn too_long_is_an_error_not_a_panic() {
        // Version 40 at level M holds 2331 bytes.
        assert_eq!(qr_svg(&"a".repeat(3000)), Err(TotpError::QrTooLong));
        assert!(qr_svg("").is_ok());
    }
}
