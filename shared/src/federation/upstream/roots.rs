//! The root certificates the upstream client trusts: the system's. Read from the system's one
//! bundle file when there is one, as OpenSSL's default `CAfile` is, rather than from every
//! file of the certificate directory as well: on a Debian-style image that directory holds
//! about 300 hashed links to the same certificates, and reading them costs the federation
//! function about 1.5 ms of its cold start for nothing (`infra/bench`, BENCHMARKS.md).
//!
//! `SSL_CERT_FILE` or `SSL_CERT_DIR` set: exactly what they name (rustls-native-certs reads
//! them). No bundle file, or one without a usable certificate: the platform's whole store.
use std::path::Path;

use rustls::RootCertStore;

/// Where distributions keep their bundle: Amazon Linux 2023 (Lambda's `provided.al2023`) and
/// the Red Hat family, then Debian, Ubuntu and Alpine, then the BSDs.
const BUNDLES: [&str; 3] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
];

pub fn system_roots() -> RootCertStore {
    let configured = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|k| std::env::var_os(k).is_some());
    let bundle = BUNDLES.iter().map(Path::new).find(|p| p.is_file());
    if !configured && let Some(bundle) = bundle {
        let roots = from(rustls_native_certs::load_certs_from_paths(
            Some(bundle),
            None,
        ));
        if !roots.is_empty() {
            return roots;
        }
    }
    from(rustls_native_certs::load_native_certs())
}

fn from(found: rustls_native_certs::CertificateResult) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        // Not fatal: loopback upstreams over http still work; every https one will fail
        // with a certificate error that names the cause.
        tracing::warn!(errors = ?found.errors, "no trusted root certificates found");
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a machine with a bundle (every CI image), the roots come from it, and they are the
    /// same certificates the platform's whole store holds.
    #[test]
    fn the_bundle_holds_the_platforms_roots() {
        if BUNDLES.iter().all(|b| !Path::new(b).is_file())
            || std::env::var_os("SSL_CERT_FILE").is_some()
            || std::env::var_os("SSL_CERT_DIR").is_some()
        {
            return;
        }
        let bundle = system_roots();
        let all = from(rustls_native_certs::load_native_certs());
        assert!(bundle.len() > 50, "{}", bundle.len());
        let missing = all
            .roots
            .iter()
            .filter(|r| !bundle.roots.contains(r))
            .count();
        // A directory may hold a few certificates the bundle lacks (added by hand without
        // regenerating it): never more than a handful on a maintained image.
        assert!(
            missing <= 2,
            "{missing} of {} roots only in the directory",
            all.len()
        );
    }
}
