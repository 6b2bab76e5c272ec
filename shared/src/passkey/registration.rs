//! The registration ceremony, RP side: WebAuthn L3 §7.1 "Registering a New Credential".
use ciborium::value::Value;

use super::auth_data::{AuthenticatorData, BE, BS, UV};
use super::cbor::{lookup, read_whole, text_key};
use super::client_data::{self, Ceremony};
use super::cose::CoseKey;
use super::{PasskeyError, RegistrationResponse, RelyingParty};

/// What the caller stores as the credential record (§7.1 "Let credentialRecord be…"), once
/// it has checked that no account holds this credential ID yet (§7.1: a known credential ID
/// fails the ceremony, or an attacker could plant a victim's credential in their account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub credential_id: Vec<u8>,
    /// The COSE_Key exactly as the authenticator encoded it: what `verify_assertion` takes.
    pub public_key: Vec<u8>,
    /// Its COSE algorithm (`cose::ES256`, `EDDSA` or `RS256`), for display and audit.
    pub alg: i64,
    pub sign_count: u32,
    /// The UV flag (the record's `uvInitialized`).
    pub user_verified: bool,
    /// BE: a multi-device (synced) credential. §6.1: it never changes afterwards.
    pub backup_eligible: bool,
    /// BS: currently backed up.
    pub backed_up: bool,
    /// The authenticator model (§6.5.1), unverified without attestation; may be all zeros.
    /// L3 clients no longer zero it under `none` (§5.1.3), so it can name the passkey
    /// provider in the account's list of passkeys.
    pub aaguid: [u8; 16],
    /// From `getTransports()`: hints for `allowCredentials`, never trusted.
    pub transports: Vec<String>,
}

/// Verifies a registration against the challenge this browser session was given, in §7.1's
/// order. `require_uv`: the RP "requires user verification for this registration" (a
/// passkey as first factor does). Not checked here: that the credential ID is new, and the
/// user account the options named; both need the store.
pub fn verify_registration(
    rp: &RelyingParty,
    expected_challenge: &[u8],
    response: &RegistrationResponse,
    require_uv: bool,
) -> Result<NewCredential, PasskeyError> {
    client_data::verify(
        &response.client_data_json,
        Ceremony::Create,
        rp,
        expected_challenge,
    )?;
    let object = AttestationObject::parse(&response.attestation_object)?;
    let auth = AuthenticatorData::parse(&object.auth_data)?;
    auth.check(rp, require_uv)?;
    let attested = auth.attested.as_ref().ok_or(PasskeyError::Malformed(
        "registration without attested credential data",
    ))?;
    // "Verify that the alg parameter … matches … pubKeyCredParams": the parser accepts
    // exactly the algorithms offered, with a key aws-lc can use.
    let key = CoseKey::parse(attested.public_key)?;
    object.check_none()?;
    // §6.5.1 bounds credentialIdLength while parsing; the ID the client reported (rawId,
    // what the account will look it up by) must be the one the authenticator attested.
    if attested.credential_id != response.credential_id.as_slice() {
        return Err(PasskeyError::CredentialIdMismatch);
    }
    Ok(NewCredential {
        credential_id: attested.credential_id.to_vec(),
        public_key: attested.public_key.to_vec(),
        alg: key.alg,
        sign_count: auth.sign_count,
        user_verified: auth.has(UV),
        backup_eligible: auth.has(BE),
        backed_up: auth.has(BS),
        aaguid: attested.aaguid,
        transports: response.transports.clone(),
    })
}

/// §6.5.4 attestation object: `{fmt, attStmt, authData}`, one CBOR map and nothing after.
struct AttestationObject {
    fmt: String,
    att_stmt: Vec<(Value, Value)>,
    auth_data: Vec<u8>,
}

impl AttestationObject {
    fn parse(bytes: &[u8]) -> Result<Self, PasskeyError> {
        const WHAT: &str = "attestationObject";
        let Value::Map(map) = read_whole(bytes, WHAT)? else {
            return Err(PasskeyError::Malformed(WHAT));
        };
        let member = |name| lookup(&map, text_key(name), WHAT);
        let (Some(Value::Text(fmt)), Some(Value::Map(att_stmt)), Some(Value::Bytes(auth_data))) =
            (member("fmt")?, member("attStmt")?, member("authData")?)
        else {
            return Err(PasskeyError::Malformed(WHAT));
        };
        Ok(Self {
            fmt: fmt.clone(),
            att_stmt: att_stmt.clone(),
            auth_data: auth_data.clone(),
        })
    }

    /// Only `none` with its empty attStmt (§8.7) is accepted. The options ask for
    /// `attestation: "none"`: the RP keeps no attestation roots and decides nothing by
    /// authenticator model, so a statement it cannot evaluate would only be trusted blindly.
    /// Under `none` the client (§5.1.3, [[Create]]) rewrites every statement to `none`
    /// except self attestation (zero AAGUID, "packed", no x5c), which it passes through:
    /// such an authenticator is refused here until self attestation is verified too.
    fn check_none(&self) -> Result<(), PasskeyError> {
        if self.fmt == "none" && self.att_stmt.is_empty() {
            Ok(())
        } else {
            Err(PasskeyError::UnsupportedAttestation)
        }
    }
}
