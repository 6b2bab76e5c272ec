//! Ceremony options for the browser, in the JSON form of WebAuthn L3 §5.1.8
//! (`PublicKeyCredential.parseCreationOptionsFromJSON`, PublicKeyCredentialCreationOptionsJSON)
//! and §5.1.9 (`parseRequestOptionsFromJSON`): byte strings as base64url.
use serde_json::{Value, json};

use super::RelyingParty;
use super::cose::SUPPORTED_ALGORITHMS;
use crate::crypto::b64url;

/// §15.1: the recommended default ceremony timeout (the range is 5 to 10 minutes). The
/// caller should let the stored challenge expire no earlier.
pub const TIMEOUT_MS: u64 = 300_000;

fn descriptors(ids: &[Vec<u8>]) -> Value {
    ids.iter()
        .map(|id| json!({"type": "public-key", "id": b64url(id)}))
        .collect()
}

/// Options for `navigator.credentials.create()`: a discoverable credential (a passkey, so
/// sign-in needs no username) with user verification, algorithms in preference order, no
/// attestation (see `registration.rs`).
///
/// `user_handle` is the account's WebAuthn user handle: random, at most 64 bytes, never the
/// username or e-mail (§14.6.1), stable for the account. `exclude_credential_ids`: the
/// account's credentials, so an authenticator that already holds one is not registered twice.
pub fn creation_options(
    rp: &RelyingParty,
    rp_name: &str,
    user_handle: &[u8],
    user_name: &str,
    display_name: &str,
    challenge: &[u8],
    exclude_credential_ids: &[Vec<u8>],
) -> Value {
    let params: Vec<Value> = SUPPORTED_ALGORITHMS
        .iter()
        .map(|alg| json!({"type": "public-key", "alg": alg}))
        .collect();
    json!({
        "rp": {"id": rp.id, "name": rp_name},
        "user": {"id": b64url(user_handle), "name": user_name, "displayName": display_name},
        "challenge": b64url(challenge),
        "pubKeyCredParams": params,
        "timeout": TIMEOUT_MS,
        "excludeCredentials": descriptors(exclude_credential_ids),
        "authenticatorSelection": {
            "residentKey": "required",
            // The Level 1 spelling of the same, for older clients (§5.4.4).
            "requireResidentKey": true,
            "userVerification": "required",
        },
        "attestation": "none",
    })
}

/// Options for `navigator.credentials.get()`. An empty `allow_credential_ids` asks for a
/// discoverable credential: the account picker, or conditional mediation (autofill) when
/// the page calls `get()` with `mediation: "conditional"`.
pub fn request_options(
    rp: &RelyingParty,
    challenge: &[u8],
    allow_credential_ids: &[Vec<u8>],
) -> Value {
    json!({
        "challenge": b64url(challenge),
        "timeout": TIMEOUT_MS,
        "rpId": rp.id,
        "allowCredentials": descriptors(allow_credential_ids),
        "userVerification": "required",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty {
            id: "id.example.com".into(),
            origin: "https://id.example.com".into(),
        }
    }

    #[test]
    fn creation_options_shape() {
        let o = creation_options(
            &rp(),
            "Example",
            &[1, 2, 3],
            "alice@example.com",
            "Alice",
            &[0xff; 32],
            &[vec![9, 9], vec![0xfb]],
        );
        assert_eq!(
            o,
            json!({
                "rp": {"id": "id.example.com", "name": "Example"},
                "user": {"id": "AQID", "name": "alice@example.com", "displayName": "Alice"},
                "challenge": "__________________________________________8",
                "pubKeyCredParams": [
                    {"type": "public-key", "alg": -7},
                    {"type": "public-key", "alg": -8},
                    {"type": "public-key", "alg": -257},
                ],
                "timeout": 300000,
                "excludeCredentials": [
                    {"type": "public-key", "id": "CQk"},
                    {"type": "public-key", "id": "-w"},
                ],
                "authenticatorSelection": {
                    "residentKey": "required",
                    "requireResidentKey": true,
                    "userVerification": "required",
                },
                "attestation": "none",
            })
        );
    }

    #[test]
    fn request_options_shape() {
        let o = request_options(&rp(), &[0; 16], &[]);
        assert_eq!(
            o,
            json!({
                "challenge": "AAAAAAAAAAAAAAAAAAAAAA",
                "timeout": 300000,
                "rpId": "id.example.com",
                "allowCredentials": [],
                "userVerification": "required",
            })
        );
        let o = request_options(&rp(), &[0; 16], &[vec![1]]);
        assert_eq!(
            o["allowCredentials"],
            json!([{"type": "public-key", "id": "AQ"}])
        );
    }
}
