//! What the browser posts: `PublicKeyCredential.toJSON()` (WebAuthn L3 §5.1, the
//! RegistrationResponseJSON / AuthenticationResponseJSON dictionaries), decoded to bytes.
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::PasskeyError;
use super::auth_data::MAX_CREDENTIAL_ID_LEN;
use crate::crypto::b64url_decode;

/// §5.4.3: "A user handle is an opaque byte sequence with a maximum size of 64 bytes".
pub const MAX_USER_HANDLE_LEN: usize = 64;
/// Transports are hints echoed back in `allowCredentials`; a few short tokens at most.
const MAX_TRANSPORTS: usize = 8;
const MAX_TRANSPORT_LEN: usize = 32;

/// A RegistrationResponseJSON, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationResponse {
    /// `rawId` (checked equal to `id`).
    pub credential_id: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub attestation_object: Vec<u8>,
    /// `response.transports`, keeping only plausible tokens (see [`Self::from_json`]).
    pub transports: Vec<String>,
}

/// An AuthenticationResponseJSON, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionResponse {
    /// `rawId` (checked equal to `id`): the caller finds the credential record by it.
    pub credential_id: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub authenticator_data: Vec<u8>,
    pub signature: Vec<u8>,
    /// The user handle the credential was created with; always present for a discoverable
    /// credential. The caller checks it names the account owning `credential_id`.
    pub user_handle: Option<Vec<u8>>,
}

/// The PublicKeyCredential members both responses share. `clientExtensionResults`,
/// `authenticatorAttachment` and the convenience copies (`publicKey`, …) are not read:
/// everything verified comes from the signed or hashed structures.
#[derive(Deserialize)]
struct CredentialJson<R> {
    id: String,
    #[serde(rename = "rawId")]
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: R,
}

#[derive(Deserialize)]
struct AttestationJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "attestationObject")]
    attestation_object: String,
    #[serde(default)]
    transports: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct AssertionJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    signature: String,
    #[serde(rename = "userHandle", default)]
    user_handle: Option<String>,
}

fn decode(value: &str, what: &'static str) -> Result<Vec<u8>, PasskeyError> {
    b64url_decode(value).ok_or(PasskeyError::Malformed(what))
}

/// The envelope checks: JSON of the right shape, `type` "public-key", `id` the same
/// credential as `rawId` (both are base64url of the credential ID; compared decoded), and
/// an ID within §6.5.1's 1023 bytes. Returns the credential ID and the inner response.
fn envelope<R: DeserializeOwned>(json: &[u8]) -> Result<(Vec<u8>, R), PasskeyError> {
    let c: CredentialJson<R> =
        serde_json::from_slice(json).map_err(|_| PasskeyError::Malformed("credential JSON"))?;
    if c.kind != "public-key" {
        return Err(PasskeyError::Malformed("credential type is not public-key"));
    }
    let raw_id = decode(&c.raw_id, "rawId")?;
    if decode(&c.id, "id")? != raw_id {
        return Err(PasskeyError::CredentialIdMismatch);
    }
    if raw_id.is_empty() {
        return Err(PasskeyError::Malformed("empty credential id"));
    }
    if raw_id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(PasskeyError::CredentialIdTooLong);
    }
    Ok((raw_id, c.response))
}

impl RegistrationResponse {
    /// Parses the posted JSON. Transports are hints the client ignores when unknown, so
    /// instead of refusing a registration over them, only tokens of 1 to 32 characters from
    /// `[a-z0-9-]` are kept, at most 8, without repeats.
    pub fn from_json(json: &[u8]) -> Result<Self, PasskeyError> {
        let (credential_id, r) = envelope::<AttestationJson>(json)?;
        let mut transports: Vec<String> = Vec::new();
        for t in r.transports.unwrap_or_default() {
            let plausible = (1..=MAX_TRANSPORT_LEN).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if plausible && !transports.contains(&t) && transports.len() < MAX_TRANSPORTS {
                transports.push(t);
            }
        }
        Ok(Self {
            credential_id,
            client_data_json: decode(&r.client_data_json, "clientDataJSON")?,
            attestation_object: decode(&r.attestation_object, "attestationObject")?,
            transports,
        })
    }
}

impl AssertionResponse {
    /// Parses the posted JSON. A `userHandle` that is absent, null or "" is `None` (clients
    /// differ on how they say "none"); a present one is 1 to 64 bytes.
    pub fn from_json(json: &[u8]) -> Result<Self, PasskeyError> {
        let (credential_id, r) = envelope::<AssertionJson>(json)?;
        let user_handle = match r.user_handle.as_deref() {
            None | Some("") => None,
            Some(h) => {
                let h = decode(h, "userHandle")?;
                if h.len() > MAX_USER_HANDLE_LEN {
                    return Err(PasskeyError::Malformed("userHandle longer than 64 bytes"));
                }
                Some(h)
            }
        };
        Ok(Self {
            credential_id,
            client_data_json: decode(&r.client_data_json, "clientDataJSON")?,
            authenticator_data: decode(&r.authenticator_data, "authenticatorData")?,
            signature: decode(&r.signature, "signature")?,
            user_handle,
        })
    }
}
