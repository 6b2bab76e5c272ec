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
    roots(|k| std::env::var_os(k).is_some(), &BUNDLES)
}

fn roots(is_set: impl Fn(&str) -> bool, bundles: &[&str]) -> RootCertStore {
    let configured = is_set("SSL_CERT_FILE") || is_set("SSL_CERT_DIR");
    let bundle = bundles.iter().map(Path::new).find(|p| p.is_file());
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

    /// The roots come from the first bundle there is, and they are the certificates the
    /// platform's whole store holds; without a bundle, the whole store.
    #[test]
    fn the_first_bundle_holds_the_platforms_roots() {
        let Some(bundle) = BUNDLES.iter().find(|b| Path::new(b).is_file()) else {
            return; // no distribution bundle on this machine: nothing to compare
        };
        let unset = |_: &str| false;
        let from_bundle = roots(unset, &BUNDLES);
        let only = from(rustls_native_certs::load_certs_from_paths(
            Some(Path::new(bundle)),
            None,
        ));
        assert_eq!(from_bundle.roots, only.roots);
        let all = from(rustls_native_certs::load_native_certs());
        assert!(from_bundle.len() > 50, "{}", from_bundle.len());
        let missing = all
            .roots
            .iter()
            .filter(|r| !from_bundle.roots.contains(r))
            .count();
        // A directory may hold a few certificates the bundle lacks (added by hand without
        // regenerating it): never more than a handful on a maintained image.
        assert!(
            missing <= 2,
            "{missing} of {} roots only in the directory",
            all.len()
        );
        // No bundle where we look, or SSL_CERT_* set: the platform's store.
        assert_eq!(roots(unset, &["/nonexistent/bundle.crt"]).roots, all.roots);
        assert_eq!(roots(|k| k == "SSL_CERT_DIR", &BUNDLES).roots, all.roots);
    }
}
