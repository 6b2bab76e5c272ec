//! How the pages look: `PRODUCT_NAME`, `ACCENT_COLOR`, `LOGO_URL`.
use super::{ConfigError, vars::Vars};

#[derive(Debug, Clone)]
pub struct Branding {
    pub product_name: String,
    pub accent_color: String,
    /// An https (or `data:image/...`) logo shown on every page instead of the name.
    pub logo_url: Option<String>,
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            product_name: "OpenID Provider".into(),
            accent_color: "#2457d6".into(),
            logo_url: None,
        }
    }
}

impl Branding {
    pub(super) fn read(&mut self, v: Vars) -> Result<(), ConfigError> {
        if let Some(n) = v.get("PRODUCT_NAME") {
            self.product_name = n.to_string();
        }
        if let Some(col) = v.get("ACCENT_COLOR") {
            if !is_css_color(col) {
                return Err(ConfigError::Invalid(
                    "ACCENT_COLOR",
                    format!("expected #rrggbb, got {col:?}"),
                ));
            }
            self.accent_color = col.to_string();
        }
        if let Some(logo) = v.get("LOGO_URL") {
            if !is_logo_url(logo) {
                return Err(ConfigError::Invalid(
                    "LOGO_URL",
                    format!("expected an https URL or a data:image/ URI, got {logo:?}"),
                ));
            }
            self.logo_url = Some(logo.to_string());
        }
        Ok(())
    }
}

fn is_logo_url(v: &str) -> bool {
    v.starts_with("data:image/")
        || url::Url::parse(v).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
}

fn is_css_color(v: &str) -> bool {
    v.len() == 7 && v.starts_with('#') && v[1..].chars().all(|c| c.is_ascii_hexdigit())
}
