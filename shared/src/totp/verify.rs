//! Checking a code a person typed: within one time step of now (RFC 6238 §5.2), compared
//! in constant time, and never accepted twice (RFC 6238 §5.2: "the verifier MUST NOT
//! accept the second attempt of the OTP after the successful validation").
use super::code::{ALGORITHM, DIGITS, STEP, hotp, time_step};
use super::secret::TotpSecret;
use crate::crypto::constant_time_eq;

/// How many steps either side of now are accepted. RFC 6238 §5.2 recommends at most one
/// step of network delay; one ahead as well forgives a phone clock a little fast. Each
/// step more adds another one-in-a-million chance to every online guess.
pub const SKEW_STEPS: u64 = 1;

/// Checks `code` against the secret at `now` (Unix seconds, as `Clock::now` reads it).
/// Accepts the code of the current step or of one step either side, but only of a step
/// later than `last_used_step`: a code works once, and after a newer step's code was used,
/// an older step's code is refused too (it could only be a captured one). Returns the
/// step that matched, which the caller stores as the new `last_used_step` with a
/// conditional write, so that two requests racing with one code cannot both pass.
///
/// The code may hold spaces ("123 456", as apps show it); anything else that is not
/// exactly six ASCII digits is refused. A time before 1970 matches nothing.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now: i64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let mut buf = [0u8; 8];
    let typed = typed_digits(code, &mut buf, DIGITS.count())?;
    let current = time_step(u64::try_from(now).ok()?, STEP);
    let mut matched = None;
    for step in current.saturating_sub(SKEW_STEPS)..=current.saturating_add(SKEW_STEPS) {
        if last_used_step.is_some_and(|last| step <= last) {
            continue;
        }
        // Every candidate is computed and compared, with no early exit: how long the
        // answer takes says nothing about which step, if any, came close. Of two steps
        // that share a code (one chance in 10^6), the later one is kept, so storing it
        // refuses the code at both.
        let expected = hotp(secret.expose(), step, DIGITS, ALGORITHM);
        if constant_time_eq(expected.as_bytes(), typed) {
            matched = Some(step);
        }
    }
    matched
}

/// The digits of `code` with whitespace removed, if there are exactly `count` of them and
/// nothing else. Stops at the first character too many, so input of any size is cheap.
fn typed_digits<'b>(code: &str, buf: &'b mut [u8; 8], count: usize) -> Option<&'b [u8]> {
    let mut len = 0;
    for c in code.chars().filter(|c| !c.is_whitespace()) {
        if !c.is_ascii_digit() || len == count {
            return None;
        }
        *buf.get_mut(len)? = c as u8;
        len += 1;
    }
    buf.get(..count).filter(|_| len == count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::totp::{Algorithm, Digits};

    const NOW: i64 = 1_700_000_015;

    fn secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").expect("20 bytes")
    }

    fn step_now() -> u64 {
        time_step(NOW as u64, STEP)
    }

    fn code_at_step(step: u64) -> String {
        hotp(secret().expose(), step, Digits::Six, Algorithm::Sha1)
    }

    #[test]
    fn current_and_adjacent_steps_are_accepted() {
        let s = step_now();
        for step in [s - 1, s, s + 1] {
            assert_eq!(
                verify(&secret(), &code_at_step(step), NOW, None),
                Some(step),
                "step {step}"
            );
        }
    }

    #[test]
    fn two_steps_away_is_refused() {
        let s = step_now();
        for step in [s - 2, s + 2, s - 10, s + 10] {
            let code = code_at_step(step);
            // Unless the code happens to equal one inside the window (1 in 10^6 each).
            if [s - 1, s, s + 1].iter().all(|&w| code_at_step(w) != code) {
                assert_eq!(verify(&secret(), &code, NOW, None), None, "step {step}");
            }
        }
    }

    #[test]
    fn a_used_step_is_refused() {
        let code = code_at_step(step_now());
        let used = verify(&secret(), &code, NOW, None).expect("first use");
        assert_eq!(verify(&secret(), &code, NOW, Some(used)), None, "replay");
        assert_eq!(
            verify(&secret(), &code, NOW + 29, Some(used)),
            None,
            "replay later in the window"
        );
    }

    #[test]
    fn an_older_step_is_refused_after_a_newer_one() {
        let s = step_now();
        // The next step's code was used (a fast phone clock); the current step's code
        // is older and must not pass now.
        assert_eq!(verify(&secret(), &code_at_step(s), NOW, Some(s + 1)), None);
        assert_eq!(verify(&secret(), &code_at_step(s - 1), NOW, Some(s)), None);
        // A newer step than the last used one passes.
        assert_eq!(
            verify(&secret(), &code_at_step(s + 1), NOW, Some(s)),
            Some(s + 1)
        );
    }

    #[test]
    fn spaces_are_ignored() {
        let code = code_at_step(step_now());
        let (a, b) = code.split_at(3);
        for typed in [
            format!("{a} {b}"),
            format!(" {a}  {b} "),
            format!("{a}\u{a0}{b}"),
            format!("{a}\t{b}\n"),
        ] {
            assert_eq!(
                verify(&secret(), &typed, NOW, None),
                Some(step_now()),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        let code = code_at_step(step_now());
        for typed in [
            "12345a".to_owned(),
            String::new(),
            " ".to_owned(),
            "1234567".to_owned(),
            "12345".to_owned(),
            format!("{code}0"),
            format!("-{code}"),
            format!("+{code}"),
            code[..5].to_owned(),
            "١٢٣٤٥٦".to_owned(), // Arabic-Indic digits are not ASCII digits
        ] {
            assert_eq!(verify(&secret(), &typed, NOW, None), None, "{typed:?}");
        }
    }

    #[test]
    fn the_epoch_edges_do_not_underflow() {
        // Step 0 has no step before it; a time before 1970 has no step at all.
        assert_eq!(verify(&secret(), &code_at_step(0), 0, None), Some(0));
        assert_eq!(verify(&secret(), &code_at_step(1), 0, None), Some(1));
        assert_eq!(verify(&secret(), &code_at_step(0), -1, None), None);
        assert_eq!(verify(&secret(), &code_at_step(0), i64::MIN, None), None);
        let last = time_step(i64::MAX as u64, STEP);
        assert_eq!(
            verify(&secret(), &code_at_step(last), i64::MAX, None),
            Some(last)
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(code in ".{0,40}", now in proptest::prelude::any::<i64>(),
                        last in proptest::prelude::any::<Option<u64>>()) {
            let _ = verify(&secret(), &code, now, last);
        }

        #[test]
        fn any_window_code_is_accepted_once(now in 0i64..4_000_000_000, delta in -1i64..=1) {
            let step = (time_step(now as u64, STEP) as i64 + delta).max(0) as u64;
            let code = code_at_step(step);
            let used = verify(&secret(), &code, now, None);
            proptest::prop_assert!(used.is_some_and(|u| u >= step));
            proptest::prop_assert_eq!(verify(&secret(), &code, now, used), None);
        }
    }
}
