//! A person's TOTP second factor (RFC 6238) over the store: enrolling it (the account page
//! calls [`enrol`] once the person has typed a code from their app), removing it
//! ([`remove`]), and what a code typed at sign-in does to the person's factors
//! ([`use_code`], [`use_recovery_code`]).
//!
//! The secret is sealed to the person (`federation::seal::Binding::TotpSecret`) before it is
//! stored. Enrolment and removal write the factors and the user's `totp` flag in one atomic
//! write (`FactorStore::put_totp`): the password step reads the flag with the user, so it
//! knows without another round trip that a code is due. At sign-in, the factors after a
//! right code go into the sign-in's own atomic write, on their version: of two sign-ins
//! with one code, or with one recovery code, one wins.
use crate::{
    federation::seal::{SealError, Sealer},
    store::{FactorStore, Factors, StoreError, TotpFactor, User},
    totp::{self, TotpSecret},
};

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The code the person typed is not one of the secret's: the app holds another secret,
    /// or the phone's clock is off.
    #[error("the code does not match the secret")]
    WrongCode,
    /// The person's factors or record changed since they were read (another enrolment, a
    /// sign-in that used a code), or the person is gone: read again and decide again.
    #[error("the factors changed meanwhile")]
    Stale,
    #[error("sealing the secret: {0}")]
    Seal(#[from] SealError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Enrols `secret` as `user`'s TOTP factor, once `code` (typed from their app) proves the
/// app holds it, replacing any factor and recovery codes they had. Returns their ten new
/// recovery codes, to be shown once: only their digests are kept. The confirming code's
/// time step counts as used, so it cannot sign anyone in afterwards (RFC 6238 §5.2).
pub async fn enrol<S: FactorStore + ?Sized>(
    store: &S,
    sealer: &dyn Sealer,
    user: &User,
    secret: &TotpSecret,
    code: &str,
    now: i64,
) -> Result<Vec<String>, EnrolError> {
    let current = store.factors(&user.sub).await?;
    let current = current.unwrap_or_else(|| Factors::new(&user.sub));
    let (codes, _) = enrol_from(store, sealer, user, &current, secret, code, now).await?;
    Ok(codes)
}

/// [`enrol`] from the person's factors as the caller read them (`Factors::new` at version 0
/// for none): the recovery codes and the factors as written. A read saved where the caller
/// has them (the account page); stale ones are refused by the write, never overwritten.
pub async fn enrol_from<S: FactorStore + ?Sized>(
    store: &S,
    sealer: &dyn Sealer,
    user: &User,
    current: &Factors,
    secret: &TotpSecret,
    code: &str,
    now: i64,
) -> Result<(Vec<String>, Factors), EnrolError> {
    let step = totp::verify(secret, code, now, None).ok_or(EnrolError::WrongCode)?;
    let sealed_secret = sealer.seal_totp(&user.sub, secret).await?;
    let codes = totp::recovery_codes();
    let recovery = codes
        .iter()
        .filter_map(|c| totp::recovery_digest(&user.sub, c))
        .map(hex)
        .collect();
    let next = Factors {
        totp: Some(TotpFactor {
            sealed_secret,
            last_step: step,
            enrolled_at: now,
        }),
        recovery,
        ..current.next_version()
    };
    match store.put_totp(&next, user).await? {
        true => Ok((codes, next)),
        false => Err(EnrolError::Stale),
    }
}

/// Removes `user`'s TOTP factor and recovery codes (their passkeys stay). `false` if they
/// had none.
pub async fn remove<S: FactorStore + ?Sized>(store: &S, user: &User) -> Result<bool, EnrolError> {
    let Some(current) = store.factors(&user.sub).await? else {
        return Ok(false);
    };
    Ok(remove_from(store, user, &current).await?.is_some())
}

/// [`remove`] from the person's factors as the caller read them: the factors as written,
/// None if there was nothing to remove.
pub async fn remove_from<S: FactorStore + ?Sized>(
    store: &S,
    user: &User,
    current: &Factors,
) -> Result<Option<Factors>, EnrolError> {
    if current.totp.is_none() && current.recovery.is_empty() {
        return Ok(None);
    }
    let next = Factors {
        totp: None,
        recovery: vec![],
        ..current.next_version()
    };
    match store.put_totp(&next, user).await? {
        true => Ok(Some(next)),
        false => Err(EnrolError::Stale),
    }
}

/// What a code typed at sign-in does.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Right: the person's factors as they are after it (its time step used, or the
    /// recovery code spent), to write with the sign-in.
    Accepted(Box<Factors>),
    /// The code of a time step already used (RFC 6238 §5.2: the verifier "MUST NOT accept
    /// the second attempt"): a replay, or a code read over a shoulder.
    Replayed,
    Wrong,
}

/// A code from the app, checked against the person's (opened) `secret` at `now`: within a
/// step either side, and only of a step after the last one used.
pub fn use_code(f: &Factors, secret: &TotpSecret, code: &str, now: i64) -> Outcome {
    let Some(factor) = &f.totp else {
        return Outcome::Wrong;
    };
    // One check over the whole window: `verify` keeps the latest step that matches, so a
    // match at or below the last step used is a replay, never a newer step's code.
    match totp::verify(secret, code, now, None) {
        Some(step) if step > factor.last_step => Outcome::Accepted(Box::new(Factors {
            totp: Some(TotpFactor {
                last_step: step,
                ..factor.clone()
            }),
            ..f.next_version()
        })),
        Some(_) => Outcome::Replayed,
        None => Outcome::Wrong,
    }
}

/// A recovery code: right if it is one of the person's unused ones, which it then spends.
pub fn use_recovery_code(f: &Factors, typed: &str) -> Outcome {
    let Some(digest) = totp::recovery_digest(&f.sub, typed).map(hex) else {
        return Outcome::Wrong;
    };
    // Digests of 80-bit codes: comparing them openly tells a guesser nothing (the digest
    // is keyed by nothing it knows, and one of 2^80 is not found by timing).
    if !f.recovery.contains(&digest) {
        return Outcome::Wrong;
    }
    Outcome::Accepted(Box::new(Factors {
        recovery: f
            .recovery
            .iter()
            .filter(|d| **d != digest)
            .cloned()
            .collect(),
        ..f.next_version()
    }))
}

/// Lowercase hex, as `Factors::recovery` holds digests.
fn hex(bytes: [u8; 32]) -> String {
    data_encoding::HEXLOWER.encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        federation::seal::LocalSealer,
        store::{UserStore, embedded::EmbeddedStore},
        totp::{ALGORITHM, DIGITS, STEP, hotp, time_step},
    };

    const NOW: i64 = 1_700_000_015;

    /// Six digits that are no code of `secret` within a step of `now` (a fixed guess such as
    /// 123456 is one, once in some hundred thousand random secrets).
    fn not_a_code_of(secret: &TotpSecret, now: i64) -> String {
        let near: Vec<String> = [-30, 0, 30]
            .iter()
            .map(|d| code_at(secret, now + d))
            .collect();
        (0..)
            .map(|n| format!("{n:06}"))
            .find(|c| !near.contains(c))
            .expect("one of four")
    }

    fn code_at(secret: &TotpSecret, now: i64) -> String {
        hotp(
            secret.expose(),
            time_step(now as u64, STEP),
            DIGITS,
            ALGORITHM,
        )
    }

    async fn alice(store: &EmbeddedStore) -> User {
        let user = User::new(
            Some("sub-alice".into()),
            "alice".into(),
            "$argon2id$x".into(),
            Default::default(),
            vec![],
            0,
        );
        store.create_user(&user).await.expect("create");
        user
    }

    #[tokio::test]
    async fn enrolment_seals_the_secret_flags_the_person_and_gives_ten_codes_once() {
        let (store, sealer) = (
            EmbeddedStore::in_memory().expect("store"),
            LocalSealer::ephemeral(),
        );
        let user = alice(&store).await;
        let secret = TotpSecret::generate();
        let wrong = enrol(
            &store,
            &sealer,
            &user,
            &secret,
            &not_a_code_of(&secret, NOW),
            NOW,
        )
        .await;
        assert!(matches!(wrong, Err(EnrolError::WrongCode)), "{wrong:?}");
        let code = code_at(&secret, NOW);
        let codes = enrol(&store, &sealer, &user, &secret, &code, NOW)
            .await
            .expect("enrolled");
        assert_eq!(codes.len(), 10);
        let f = store
            .factors(&user.sub)
            .await
            .expect("read")
            .expect("factors");
        let factor = f.totp.clone().expect("totp");
        assert_eq!(
            factor.last_step,
            time_step(NOW as u64, STEP),
            "its code is used"
        );
        let opened = sealer
            .open_totp(&user.sub, &factor.sealed_secret)
            .await
            .expect("sealed to alice");
        assert_eq!(opened.expose(), secret.expose());
        assert_eq!(f.recovery.len(), 10);
        assert!(
            codes
                .iter()
                .all(|c| !f.recovery.iter().any(|d| d.contains(&c.replace('-', ""))))
        );
        let flagged = store
            .user_by_username("alice")
            .await
            .expect("read")
            .expect("alice");
        assert!(flagged.totp, "the password step sees it");
        assert!(
            store
                .user(&user.sub)
                .await
                .expect("read")
                .expect("alice")
                .totp
        );

        // The confirming code does not sign in; the next step's does, once.
        assert_eq!(use_code(&f, &secret, &code, NOW), Outcome::Replayed);
        let later = NOW + 30;
        let Outcome::Accepted(after) = use_code(&f, &secret, &code_at(&secret, later), later)
        else {
            panic!("the next code");
        };
        assert_eq!(after.version, f.version + 1);
        assert_eq!(
            use_code(&after, &secret, &code_at(&secret, later), later),
            Outcome::Replayed
        );
        let wrong = not_a_code_of(&secret, later);
        assert_eq!(use_code(&after, &secret, &wrong, later), Outcome::Wrong);

        assert!(remove(&store, &user).await.expect("removed"));
        assert!(!remove(&store, &user).await.expect("nothing left"));
        let f = store
            .factors(&user.sub)
            .await
            .expect("read")
            .expect("factors");
        assert!(f.totp.is_none() && f.recovery.is_empty());
        assert!(
            !store
                .user_by_username("alice")
                .await
                .expect("read")
                .expect("alice")
                .totp
        );
    }

    #[tokio::test]
    async fn a_recovery_code_is_spent_once_and_is_its_persons_only() {
        let (store, sealer) = (
            EmbeddedStore::in_memory().expect("store"),
            LocalSealer::ephemeral(),
        );
        let user = alice(&store).await;
        let secret = TotpSecret::generate();
        let codes = enrol(&store, &sealer, &user, &secret, &code_at(&secret, NOW), NOW)
            .await
            .expect("enrolled");
        let f = store
            .factors(&user.sub)
            .await
            .expect("read")
            .expect("factors");
        let Outcome::Accepted(after) = use_recovery_code(&f, &codes[3].to_lowercase()) else {
            panic!("any way of typing it");
        };
        assert_eq!(after.recovery.len(), 9);
        assert_eq!(
            use_recovery_code(&after, &codes[3]),
            Outcome::Wrong,
            "spent"
        );
        assert!(matches!(
            use_recovery_code(&after, &codes[4]),
            Outcome::Accepted(_)
        ));
        let bob = Factors {
            sub: "sub-bob".into(),
            ..f.clone()
        };
        assert_eq!(
            use_recovery_code(&bob, &codes[4]),
            Outcome::Wrong,
            "alice's"
        );
        assert_eq!(use_recovery_code(&f, "not a code"), Outcome::Wrong);
    }

    #[test]
    fn the_session_says_two_factors_and_which() {
        use crate::protocol::acr::Method;
        let app = Method::SecondFactor { recovery: false };
        assert_eq!(app.amr(), ["pwd", "otp", "mfa"], "RFC 8176 §2");
        assert_eq!(
            Method::SecondFactor { recovery: true }.amr(),
            ["pwd", "mfa"]
        );
        assert_eq!(app.idp(), None);
    }

    #[tokio::test]
    async fn an_update_of_the_person_keeps_the_flag() {
        let (store, sealer) = (
            EmbeddedStore::in_memory().expect("store"),
            LocalSealer::ephemeral(),
        );
        let stale = alice(&store).await;
        let secret = TotpSecret::generate();
        enrol(
            &store,
            &sealer,
            &stale,
            &secret,
            &code_at(&secret, NOW),
            NOW,
        )
        .await
        .expect("enrolled");
        // An administrator's change made from a read before the enrolment.
        let mut changed = stale.clone();
        changed.claims.insert("name".into(), "Alice".into());
        store.update_user(&changed).await.expect("update");
        let now = store.user(&stale.sub).await.expect("read").expect("alice");
        assert!(now.totp && now.claims.contains_key("name"));
    }
}
