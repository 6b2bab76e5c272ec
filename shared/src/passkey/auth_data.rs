//! Authenticator data (WebAuthn L3 §6.1) and the attested credential data inside it
//! (§6.5.1): parsed with every length checked, nothing left over.
use super::{PasskeyError, RelyingParty, cbor};

/// §6.1 flags, bit 0 the least significant.
pub(crate) const UP: u8 = 1 << 0;
pub(crate) const UV: u8 = 1 << 2;
pub(crate) const BE: u8 = 1 << 3;
pub(crate) const BS: u8 = 1 << 4;
pub(crate) const AT: u8 = 1 << 6;
pub(crate) const ED: u8 = 1 << 7;

/// §6.5.1: credentialIdLength "MUST be ≤ 1023".
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

const MALFORMED: PasskeyError = PasskeyError::Malformed("authenticator data");

#[derive(Debug)]
pub(crate) struct AuthenticatorData<'a> {
    pub rp_id_hash: &'a [u8],
    pub flags: u8,
    pub sign_count: u32,
    /// Present exactly when the AT flag is.
    pub attested: Option<AttestedCredentialData<'a>>,
}

#[derive(Debug)]
pub(crate) struct AttestedCredentialData<'a> {
    pub aaguid: [u8; 16],
    pub credential_id: &'a [u8],
    /// The COSE_Key exactly as encoded: what is stored, and parsed again at each assertion.
    pub public_key: &'a [u8],
}

/// The next `n` bytes of `rest`, or `MALFORMED` when there are fewer.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], PasskeyError> {
    let (head, tail) = rest.split_at_checked(n).ok_or(MALFORMED)?;
    *rest = tail;
    Ok(head)
}

/// The next `N` bytes of `rest` as an array.
fn take_array<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], PasskeyError> {
    take(rest, N)?.try_into().map_err(|_| MALFORMED)
}

impl<'a> AuthenticatorData<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, PasskeyError> {
        let mut rest = bytes;
        let rp_id_hash = take(&mut rest, 32)?;
        let [flags] = take_array(&mut rest)?;
        let sign_count = u32::from_be_bytes(take_array(&mut rest)?);

        let attested = if flags & AT != 0 {
            let aaguid = take_array(&mut rest)?;
            let id_len = u16::from_be_bytes(take_array(&mut rest)?);
            if usize::from(id_len) > MAX_CREDENTIAL_ID_LEN {
                return Err(PasskeyError::CredentialIdTooLong);
            }
            let credential_id = take(&mut rest, usize::from(id_len))?;
            // The key has no length prefix (§6.1 note): decode it to learn where it ends.
            let (_, key_len) = cbor::read_item(rest, "credential public key")?;
            let public_key = take(&mut rest, key_len)?;
            Some(AttestedCredentialData {
                aaguid,
                credential_id,
                public_key,
            })
        } else {
            None
        };

        if flags & ED != 0 {
            // Extension outputs: a CBOR map (§6.1). Their content is ignored: §7.1 / §7.2 let
            // the RP ignore any extension output, and none is requested.
            let (extensions, used) = cbor::read_item(rest, "authenticator extensions")?;
            if !matches!(extensions, ciborium::value::Value::Map(_)) {
                return Err(PasskeyError::Malformed("authenticator extensions"));
            }
            take(&mut rest, used)?;
        }

        // §6.1: the structure describes its own length. Bytes past it belong to no field, and
        // no authenticator sends them: refused rather than ignored.
        if !rest.is_empty() {
            return Err(PasskeyError::Malformed(
                "trailing bytes after authenticator data",
            ));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The authenticator data checks both ceremonies share, in their §7.1 / §7.2 order:
    /// rpIdHash, UP, UV when required, then BS only with BE.
    ///
    /// UP is required in registration too: §7.1 waives it only for conditional create
    /// (`mediation: "conditional"`), which these pages do not use.
    pub(crate) fn check(&self, rp: &RelyingParty, require_uv: bool) -> Result<(), PasskeyError> {
        if self.rp_id_hash != rp.id_hash().as_slice() {
            return Err(PasskeyError::RpIdMismatch);
        }
        if !self.has(UP) {
            return Err(PasskeyError::UserNotPresent);
        }
        if require_uv && !self.has(UV) {
            return Err(PasskeyError::UserNotVerified);
        }
        if self.has(BS) && !self.has(BE) {
            return Err(PasskeyError::BackupStateWithoutEligibility);
        }
        Ok(())
    }
}
