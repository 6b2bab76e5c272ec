//! What a person signs in with besides a password: passkeys (WebAuthn) and a TOTP second
//! factor with its recovery codes.
//!
//! One record per person (`factors#<sub>`): the TOTP factor, the recovery codes and the
//! ids of the person's passkeys. Every change to it (a TOTP step used, a recovery code
//! spent, an enrolment) is one conditional write of the whole record on its `version`: of
//! two concurrent uses of the same code, one wins (`FactorStore::put_factors`).
//!
//! Each passkey is its own record, `passkey#<credential id>`, naming its person: a passkey
//! sign-in starts from nothing but the credential id the browser sends, so that is what it
//! reads by, in the same round trip as the sign-in's other reads; and a credential id can
//! be registered once, to one person, across the whole deployment (WebAuthn §7.1).
use serde::{Deserialize, Serialize};

use super::{SealedSecret, is_zero};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Factors {
    pub sub: String,
    /// 1 for the first record written, then one more at each write.
    pub version: u64,
    /// The person's WebAuthn user handle, base64url: 32 random bytes made at their first
    /// passkey, never personal data (WebAuthn §14.6.1), the same for all their passkeys.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_handle: String,
    /// The ids of the person's passkeys (`passkey#<id>` records), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passkeys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpFactor>,
    /// SHA-256 digests (hex) of the unused recovery codes (`totp::recovery_digest`); a code
    /// is spent by removing its digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery: Vec<String>,
    /// A passkey registration under way from the account page (WebAuthn §7.1): its
    /// challenge, spent by the write that adds the passkey (or by the next ceremony).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
}

/// The state of one registration ceremony, bound to the session that began it: a challenge
/// answered from another browser (another session) registers nothing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Registration {
    /// base64url, 32 random bytes.
    pub challenge: String,
    /// The `sid` of the session that began it.
    pub sid: String,
    /// The person's name for the new passkey.
    pub name: String,
    pub expires_at: i64,
}

/// A registered WebAuthn credential (WebAuthn L3 §4 "public key credential source", the
/// parts a relying party keeps).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Passkey {
    /// The credential id, base64url.
    pub id: String,
    /// Whose it is, and their user handle at registration (an assertion's `userHandle`
    /// must be it).
    pub sub: String,
    pub user_handle: String,
    /// The COSE public key as the authenticator sent it, base64url.
    pub public_key: String,
    /// Its COSE algorithm (-7 ES256, -8 EdDSA, -257 RS256).
    pub alg: i64,
    /// The signature counter last seen (WebAuthn §6.1.1): an assertion must raise it.
    #[serde(default)]
    pub sign_count: u32,
    /// The person's name for it ("Phone", "YubiKey").
    pub name: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_used_at: i64,
    /// Backup eligible and backed up (WebAuthn §6.1 BE, BS flags): a synced passkey.
    #[serde(default)]
    pub backup_eligible: bool,
    #[serde(default)]
    pub backed_up: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

/// An enrolled TOTP authenticator (RFC 6238).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TotpFactor {
    /// The shared secret, sealed (KMS on AWS, AES-GCM locally) to this person
    /// (`federation::seal::Binding::TotpSecret`): never stored in the clear, since unlike a
    /// password it must be read back to check a code.
    pub sealed_secret: SealedSecret,
    /// The last time step a code was accepted for: a code of that step or an earlier one is
    /// refused (RFC 6238 §5.2, "the verifier MUST NOT accept the second attempt").
    #[serde(default)]
    pub last_step: u64,
    pub enrolled_at: i64,
}

impl Factors {
    /// The record of a person who has none yet.
    pub fn new(sub: &str) -> Self {
        Self {
            sub: sub.into(),
            ..Self::default()
        }
    }

    /// The record to write after this one (`FactorStore::put_factors`): the same, one
    /// version on.
    pub fn next_version(&self) -> Factors {
        Factors {
            version: self.version + 1,
            ..self.clone()
        }
    }

    pub fn has_passkey(&self, id: &str) -> bool {
        self.passkeys.iter().any(|p| p == id)
    }

    /// Whether anything is enrolled (a record emptied by removals counts as none).
    pub fn is_empty(&self) -> bool {
        self.passkeys.is_empty() && self.totp.is_none() && self.recovery.is_empty()
    }
}
