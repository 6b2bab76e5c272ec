//! The Relying Party as WebAuthn sees it (its RP ID and its one origin), and challenges.
use crate::crypto::{random_bytes, sha256};

/// Bytes of a fresh challenge. "Cryptographic Challenges" (WebAuthn L3 §13) asks for at
/// least 16; 32 is what the rest of the provider uses for its own secrets.
pub const CHALLENGE_LEN: usize = 32;

/// The RP ID the credentials are scoped to and the one origin allowed to use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The issuer's host (`id.example.com`): credentials are scoped to it (§6.1 rpIdHash).
    pub id: String,
    /// The issuer's origin (`https://id.example.com`), compared as an exact string with
    /// clientData `origin`: "Validating the origin of a credential" recommends exact matching
    /// for an application served at one origin, and every page here is under the issuer.
    pub origin: String,
}

impl RelyingParty {
    /// From the issuer URL (already validated by `Config`): RP ID = its host, origin = its
    /// scheme, host and non-default port. A path (`https://example.com/oidc`) is dropped: an
    /// origin has none. https, or http for loopback development, as for the issuer itself.
    ///
    /// Browsers refuse an IP address as RP ID, so a browser driven against a local server
    /// needs `http://localhost:PORT`; `127.0.0.1` only suits a software authenticator.
    pub fn from_issuer(issuer: &str) -> Result<Self, &'static str> {
        let url = url::Url::parse(issuer).map_err(|_| "the issuer is not a URL")?;
        let host = url.host_str().ok_or("the issuer has no host")?;
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err("passkeys need an https issuer (http for localhost only)");
        }
        Ok(Self {
            id: host.to_string(),
            origin: url.origin().ascii_serialization(),
        })
    }

    /// §6.1: what rpIdHash must be.
    pub(crate) fn id_hash(&self) -> Vec<u8> {
        sha256(self.id.as_bytes())
    }
}

/// A fresh random challenge for one ceremony. The caller keeps it server-side, bound to
/// the browser session, and consumes it once whatever the outcome: the verifier only
/// compares, so replay protection is the caller's single use.
pub fn challenge() -> Vec<u8> {
    random_bytes::<CHALLENGE_LEN>().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rp_from_issuer() {
        let rp = RelyingParty::from_issuer("https://id.example.com").expect("rp");
        assert_eq!(rp.id, "id.example.com");
        assert_eq!(rp.origin, "https://id.example.com");

        let rp = RelyingParty::from_issuer("https://Example.COM:8443/oidc/").expect("rp");
        assert_eq!(rp.id, "example.com");
        assert_eq!(rp.origin, "https://example.com:8443");

        // The default port is not part of the serialized origin (browsers omit it too).
        let rp = RelyingParty::from_issuer("https://id.example.com:443").expect("rp");
        assert_eq!(rp.origin, "https://id.example.com");

        let rp = RelyingParty::from_issuer("http://127.0.0.1:8080").expect("rp");
        assert_eq!(rp.id, "127.0.0.1");
        assert_eq!(rp.origin, "http://127.0.0.1:8080");

        assert!(RelyingParty::from_issuer("http://id.example.com").is_err());
        assert!(RelyingParty::from_issuer("not a url").is_err());
        assert!(RelyingParty::from_issuer("data:text/plain,x").is_err());
    }

    #[test]
    fn challenges_are_fresh() {
        let (a, b) = (challenge(), challenge());
        assert_eq!(a.len(), CHALLENGE_LEN);
        assert_ne!(a, b);
    }
}
