//! The client data checks both ceremonies share (WebAuthn L3 §7.1 and §7.2, the steps
//! from "Let JSONtext be…" to "If C.topOrigin is present…"; §5.8.1 CollectedClientData).
use serde::Deserialize;

use super::{PasskeyError, RelyingParty};
use crate::crypto::{b64url_decode, constant_time_eq};

/// Which ceremony the client data must belong to: the `type` member, which keeps a
/// signature made for one ceremony from being replayed as the other.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ceremony {
    Create,
    Get,
}

impl Ceremony {
    fn type_name(self) -> &'static str {
        match self {
            Ceremony::Create => "webauthn.create",
            Ceremony::Get => "webauthn.get",
        }
    }
}

/// §5.8.1: the members checked. Others (`extraData`, future members) are ignored, as the
/// spec announces clientDataJSON "may be extended"; a member given twice is refused by
/// serde, so no two readers of the same bytes can see different values.
#[derive(Deserialize)]
struct CollectedClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default)]
    top_origin: Option<String>,
}

/// Checks clientDataJSON for `ceremony`, in the order of §7.1 / §7.2.
pub(crate) fn verify(
    client_data_json: &[u8],
    ceremony: Ceremony,
    rp: &RelyingParty,
    expected_challenge: &[u8],
) -> Result<(), PasskeyError> {
    // "UTF-8 decode": a leading byte order mark is stripped, anything else must be UTF-8
    // (serde_json refuses invalid UTF-8 in strings).
    let json = client_data_json
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(client_data_json);
    let c: CollectedClientData =
        serde_json::from_slice(json).map_err(|_| PasskeyError::Malformed("clientDataJSON"))?;

    if c.kind != ceremony.type_name() {
        return Err(PasskeyError::WrongType(ceremony.type_name()));
    }
    // "C.challenge equals the base64url encoding of the challenge": the decoded bytes are
    // compared, in constant time as for any secret (the decoder refuses padding and
    // non-canonical trailing bits, so one byte string has exactly one accepted encoding).
    let challenge = b64url_decode(&c.challenge).ok_or(PasskeyError::ChallengeMismatch)?;
    if !constant_time_eq(&challenge, expected_challenge) {
        return Err(PasskeyError::ChallengeMismatch);
    }
    // Exact string match: scheme, host and port all count, so neither http for https, a
    // subdomain, nor another port of the same host is accepted.
    if c.origin != rp.origin {
        return Err(PasskeyError::OriginMismatch);
    }
    // The pages that run ceremonies are the provider's own and are never meant to be framed
    // by another site: a cross-origin iframe, or any topOrigin at all, is unexpected.
    if c.cross_origin == Some(true) || c.top_origin.is_some() {
        return Err(PasskeyError::CrossOrigin);
    }
    Ok(())
}
