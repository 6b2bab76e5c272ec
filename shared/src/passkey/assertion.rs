//! The authentication ceremony, RP side: WebAuthn L3 §7.2 "Verifying an Authentication
//! Assertion".
use super::auth_data::{AuthenticatorData, BE, BS, UV};
use super::client_data::{self, Ceremony};
use super::cose::CoseKey;
use super::{AssertionResponse, PasskeyError, RelyingParty};
use crate::crypto::sha256;

/// A verified assertion: the credential record's new state (§7.2 "Update credentialRecord").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// Store it, with a conditional write (only if still below it), so two assertions
    /// racing with the same counter cannot both pass.
    pub sign_count: u32,
    pub user_verified: bool,
    /// BE: §6.1 says it never changes after registration; the caller may compare it with the
    /// stored value (§7.2 "If the credential backup state is used…").
    pub backup_eligible: bool,
    /// BS, the new backup state to store.
    pub backed_up: bool,
}

/// Verifies an assertion against the challenge this browser session was given and the
/// credential record the caller found for `response.credential_id`, in §7.2's order.
///
/// Before calling, the caller does §7.2's identification step: the credential ID is one of
/// the account's (for an identified user, also in the allow list it sent), and if
/// `response.user_handle` is present (always for a discoverable credential) it is that
/// account's user handle.
///
/// Signature counter (§7.2, §6.1.1): when the stored or the received count is non-zero,
/// the received one must be greater, or this returns [`PasskeyError::CounterRegressed`]
/// (after the signature verified). 0 and 0 passes: synced passkeys keep no counter.
pub fn verify_assertion(
    rp: &RelyingParty,
    expected_challenge: &[u8],
    response: &AssertionResponse,
    stored_public_key_cose: &[u8],
    stored_sign_count: u32,
    require_uv: bool,
) -> Result<Assertion, PasskeyError> {
    client_data::verify(
        &response.client_data_json,
        Ceremony::Get,
        rp,
        expected_challenge,
    )?;
    let auth = AuthenticatorData::parse(&response.authenticator_data)?;
    // §6.1: "For assertion signatures, the AT flag MUST NOT be set".
    if auth.attested.is_some() {
        return Err(PasskeyError::Malformed(
            "attested credential data in an assertion",
        ));
    }
    auth.check(rp, require_uv)?;

    let key = CoseKey::parse(stored_public_key_cose)?;
    let signed = [
        response.authenticator_data.as_slice(),
        &sha256(&response.client_data_json),
    ]
    .concat();
    key.verify(&signed, &response.signature)?;

    let received = auth.sign_count;
    if (received != 0 || stored_sign_count != 0) && received <= stored_sign_count {
        return Err(PasskeyError::CounterRegressed {
            stored: stored_sign_count,
            received,
        });
    }
    Ok(Assertion {
        sign_count: received,
        user_verified: auth.has(UV),
        backup_eligible: auth.has(BE),
        backed_up: auth.has(BS),
    })
}
