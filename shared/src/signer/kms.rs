//! KMS signer: see issue 3.
