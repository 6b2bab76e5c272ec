//! Recovery codes: ten single-use second factors shown once at enrolment, for the day the
//! phone is lost. Made here and digested here; keeping each usable only once (removing
//! its digest with a conditional write) is the store's job.
//!
//! Each code is 16 characters of Crockford's base32 (digits and letters without I, L, O
//! and U): 80 random bits, read aloud or typed without ambiguity, and forgiving of the
//! confusions people make (I and L read as 1, O as 0, any case, dashes or not).
//!
//! 80 bits is why a fast hash is enough at rest, as for client secrets (SHA-256 of 32
//! random bytes, `crate::secret`): a slow hash such as argon2 defends guessable secrets,
//! and nobody guesses one of 2^80 values, online or from a leaked table (2^80 SHA-256s,
//! about 2^57 each even against ten million stored codes at once, which then still need
//! the account's password). Argon2 would only make every recovery sign-in slower.
use aws_lc_rs::digest;

use crate::crypto;

/// How many codes an enrolment makes.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Crockford's base32 alphabet: 0-9 and A-Z without I, L, O, U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters per code: 16 × 5 bits = 80 bits, from 10 random bytes.
const CODE_CHARS: usize = 16;
const CODE_BYTES: usize = CODE_CHARS * 5 / 8;
/// Characters between dashes in the display form `XXXX-XXXX-XXXX-XXXX`.
const GROUP: usize = 4;

/// Ten fresh codes in their display form, `XXXX-XXXX-XXXX-XXXX`, all different. Shown to
/// the person once; the caller keeps only their [`recovery_digest`]s.
pub fn recovery_codes() -> Vec<String> {
    let mut codes: Vec<String> = Vec::with_capacity(RECOVERY_CODE_COUNT);
    while codes.len() < RECOVERY_CODE_COUNT {
        let code = display(&encode(crypto::random_bytes::<CODE_BYTES>()));
        // Two equal codes out of 2^80 will not happen; if they did, the person would hold
        // one code fewer than told, so the rule is checked rather than trusted.
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The SHA-256 to store for `sub`'s code, or to look up when one is typed: the code is
/// first brought to its canonical form (uppercase, dashes and whitespace dropped, I and L
/// read as 1, O as 0), so every way of typing it gives the same digest. None if what
/// remains is not exactly 16 characters of the alphabet.
///
/// The person's `sub` is hashed in: from a stolen table, a guess then tests one person's
/// codes, not everyone's at once.
pub fn recovery_digest(sub: &str, typed: &str) -> Option<[u8; 32]> {
    let canonical = canonical(typed)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    // The length first, so that no (sub, code) pair hashes like another.
    ctx.update(&(sub.len() as u64).to_be_bytes());
    ctx.update(sub.as_bytes());
    ctx.update(&canonical);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Some(out)
}

/// The 16 canonical characters of a typed code. Stops at the first character too many,
/// so pasting a novel costs nothing.
fn canonical(typed: &str) -> Option<[u8; CODE_CHARS]> {
    let mut out = [0u8; CODE_CHARS];
    let mut len = 0;
    for c in typed.chars().filter(|&c| c != '-' && !c.is_whitespace()) {
        let c = match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        // Any character outside the alphabet (U, punctuation, any non-ASCII) is refused.
        let byte = u8::try_from(c).ok().filter(|b| ALPHABET.contains(b))?;
        *out.get_mut(len)? = byte;
        len += 1;
    }
    (len == CODE_CHARS).then_some(out)
}

/// 80 bits as 16 alphabet characters, most significant first.
fn encode(bytes: [u8; CODE_BYTES]) -> [u8; CODE_CHARS] {
    let value = bytes
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    let mut out = [0u8; CODE_CHARS];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 5 * (CODE_CHARS - 1 - i);
        *slot = ALPHABET[((value >> shift) & 0x1f) as usize];
    }
    out
}

/// `XXXXXXXXXXXXXXXX` as `XXXX-XXXX-XXXX-XXXX`.
fn display(chars: &[u8; CODE_CHARS]) -> String {
    chars
        .chunks(GROUP)
        .map(|group| group.iter().map(|&b| char::from(b)).collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    const SUB: &str = "sub-1";

    use super::*;

    #[test]
    fn ten_distinct_codes_in_display_form() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10, "distinct");
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            for (i, c) in code.chars().enumerate() {
                if i % 5 == 4 {
                    assert_eq!(c, '-', "{code}");
                } else {
                    assert!(ALPHABET.contains(&(c as u8)), "{code}");
                }
            }
            assert!(recovery_digest(SUB, code).is_some(), "{code}");
        }
    }

    #[test]
    fn encoding_is_crockford_base32() {
        assert_eq!(&encode([0; 10]), b"0000000000000000");
        assert_eq!(&encode([0xff; 10]), b"ZZZZZZZZZZZZZZZZ");
        // 0x00 01 ... 09 as an 80-bit number, five bits at a time.
        assert_eq!(&encode([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), b"000G40R40M30E209");
        assert_eq!(
            display(&encode([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
            "000G-40R4-0M30-E209"
        );
    }

    #[test]
    fn every_way_of_typing_a_code_gives_one_digest() {
        let want = recovery_digest(SUB, "1K0Z-AB1C-D0EF-0GH1").expect("canonical");
        for typed in [
            "1K0ZAB1CD0EF0GH1",
            "1k0z-ab1c-d0ef-0gh1",
            " 1K0Z AB1C D0EF 0GH1 ",
            "IK0Z-ABlC-DOEF-oGHL",
            "ik0z-abic-doef-0ghl",
            "1-K-0-Z-A-B-1-C-D-0-E-F-0-G-H-1",
        ] {
            assert_eq!(recovery_digest(SUB, typed), Some(want), "{typed:?}");
        }
        assert_ne!(recovery_digest(SUB, "1K0Z-AB1C-D0EF-0GH2"), Some(want));
    }

    #[test]
    fn the_digest_is_sha256_of_the_person_and_the_canonical_form() {
        let code = recovery_codes().remove(0);
        let canonical = code.replace('-', "");
        let input = [&5u64.to_be_bytes()[..], b"alice", canonical.as_bytes()].concat();
        assert_eq!(
            recovery_digest("alice", &code).map(Vec::from),
            Some(crypto::sha256(&input))
        );
        assert_ne!(
            recovery_digest("alice", &code),
            recovery_digest("bob", &code),
            "bound to its person"
        );
    }

    #[test]
    fn wrong_lengths_and_characters_are_refused() {
        for typed in [
            "",
            "----",
            "1K0Z-AB1C-D0EF-0GH",
            "1K0Z-AB1C-D0EF-0GH12",
            "1K0Z-AB1C-D0EF-0GHU", // U is not in Crockford's alphabet
            "1K0Z-AB1C-D0EF-0GH*",
            "1K0Z_AB1C_D0EF_0GH1",
            "1K0Z-AB1C-D0EF-0GHé",
            "１K0Z-AB1C-D0EF-0GH1", // a full-width digit
        ] {
            assert_eq!(recovery_digest(SUB, typed), None, "{typed:?}");
        }
        assert_eq!(recovery_digest(SUB, &"A".repeat(100_000)), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(typed in ".{0,40}") {
            let _ = recovery_digest(SUB, &typed);
        }

        #[test]
        fn any_generated_code_round_trips(bytes in proptest::prelude::any::<[u8; 10]>()) {
            let code = display(&encode(bytes));
            let lower = code.to_lowercase();
            proptest::prop_assert!(recovery_digest(SUB, &code).is_some());
            proptest::prop_assert_eq!(recovery_digest(SUB, &code), recovery_digest(SUB, &lower));
        }
    }
}
