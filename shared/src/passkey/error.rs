//! Why a ceremony was refused: one variant per rule of WebAuthn L3 §7.1 / §7.2, so a test
//! can tell which rule fired and an audit log can say it. The messages are for logs; a
//! page shows the user one generic "that passkey could not be used" whatever the variant.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyError {
    /// Not the shape the spec defines (JSON, base64url, CBOR, authenticator data layout).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// `id` and `rawId` name different credentials, or the credential ID in the attested
    /// credential data is not the one the client reported.
    #[error("credential id mismatch")]
    CredentialIdMismatch,
    /// §6.5.1: credentialIdLength "MUST be ≤ 1023"; §7.1 says fail the ceremony.
    #[error("credential id longer than 1023 bytes")]
    CredentialIdTooLong,
    /// clientDataJSON `type` is not the ceremony's (`webauthn.create` / `webauthn.get`).
    #[error("client data type is not {0}")]
    WrongType(&'static str),
    #[error("challenge mismatch")]
    ChallengeMismatch,
    #[error("origin mismatch")]
    OriginMismatch,
    /// `crossOrigin: true` or a `topOrigin`: the pages never run inside another site's iframe.
    #[error("cross-origin ceremony")]
    CrossOrigin,
    #[error("rpIdHash is not the hash of the RP ID")]
    RpIdMismatch,
    #[error("user not present")]
    UserNotPresent,
    #[error("user not verified")]
    UserNotVerified,
    /// §7.1 / §7.2: "If the BE bit … is not set, verify that the BS bit is not set."
    #[error("backup state without backup eligibility")]
    BackupStateWithoutEligibility,
    /// Any attestation statement format but `none` (see `registration.rs`).
    #[error("unsupported attestation format")]
    UnsupportedAttestation,
    /// A COSE algorithm, key type or curve this verifier does not implement.
    #[error("unsupported public key algorithm")]
    UnsupportedAlgorithm,
    /// A supported algorithm with key material that cannot be used: wrong lengths, not a
    /// curve point, an RSA modulus outside 2048..=8192 bits.
    #[error("invalid public key: {0}")]
    InvalidKey(&'static str),
    #[error("bad signature")]
    BadSignature,
    /// §7.2 / §6.1.1: a signature that verified, with a counter not above the stored one
    /// while either is non-zero: the private key may exist twice (a cloned authenticator).
    /// Returned only after the signature verified, so it is never a forger's doing: refuse
    /// the sign-in, keep the stored counter, and audit it.
    #[error("signature counter did not increase (stored {stored}, received {received})")]
    CounterRegressed { stored: u32, received: u32 },
}
