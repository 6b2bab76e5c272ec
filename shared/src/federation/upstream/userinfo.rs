//! The upstream's userinfo endpoint (OIDC Core §5.3), for providers whose ID token carries
//! too few claims.
use serde_json::{Map, Value};

use super::error::{Step, UpstreamError};
use super::fetch::{Credentials, Fetch, at};
use super::metadata::Metadata;

/// Reads the upstream's userinfo with the access token of the code exchange (RFC 6750 §2.1)
/// and returns its claims. OIDC Core §5.3.2: the answer must be a JSON object (a signed or
/// encrypted userinfo is not supported and fails as not JSON); §5.3.4: its `sub` must be the
/// ID token's, or the claims are of someone else and are refused.
pub async fn userinfo(
    fetch: &dyn Fetch,
    metadata: &Metadata,
    access_token: &str,
    expected_sub: &str,
) -> Result<Map<String, Value>, UpstreamError> {
    let url = metadata
        .userinfo_endpoint
        .as_ref()
        .ok_or(UpstreamError::Userinfo(
            "the upstream has no userinfo endpoint",
        ))?;
    let resp = fetch
        .get(url, Credentials::Bearer(access_token))
        .await
        .map_err(at(Step::Userinfo, url))?;
    if !resp.is_success() {
        return Err(UpstreamError::Status {
            step: Step::Userinfo,
            status: resp.status,
        });
    }
    let claims = resp.json_object().ok_or(UpstreamError::NotJson {
        step: Step::Userinfo,
    })?;
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if sub == expected_sub => Ok(claims),
        _ => Err(UpstreamError::Userinfo("its subject is not the ID token's")),
    }
}
