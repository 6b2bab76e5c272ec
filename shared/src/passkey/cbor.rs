//! The little CBOR (RFC 8949) reading WebAuthn needs, on top of ciborium's `Value`.
use ciborium::value::Value;

use super::PasskeyError;

/// Nesting allowed in anything read here. A COSE key is one map of scalars, an attestation
/// object a map holding a map, extension outputs rarely deeper than two: 16 is ample, and
/// far below the depth at which recursion would threaten the stack.
const MAX_DEPTH: usize = 16;

/// Reads the one data item at the front of `bytes`: its value and how many bytes it took.
/// §6.1 and §6.5.1: the credential public key and the extensions in authenticator data have
/// no length prefix, so the only way to find where they end is to decode them.
pub(crate) fn read_item(bytes: &[u8], what: &'static str) -> Result<(Value, usize), PasskeyError> {
    let mut rest = bytes;
    // ciborium reads exactly the bytes of the item (headers, then `read_exact` of their
    // lengths) and nothing past it, so what it left unread is what follows the item.
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
        .map_err(|_| PasskeyError::Malformed(what))?;
    Ok((value, bytes.len() - rest.len()))
}

/// `bytes` as exactly one data item, nothing after it.
pub(crate) fn read_whole(bytes: &[u8], what: &'static str) -> Result<Value, PasskeyError> {
    match read_item(bytes, what)? {
        (value, used) if used == bytes.len() => Ok(value),
        _ => Err(PasskeyError::Malformed(what)),
    }
}

/// The value under the key `key_matches` selects, if any. A key present twice is refused:
/// two readers of one object must never disagree on which value counts (RFC 8949 §5.6
/// leaves duplicate keys to the application).
pub(crate) fn lookup<'a>(
    map: &'a [(Value, Value)],
    key_matches: impl Fn(&Value) -> bool,
    what: &'static str,
) -> Result<Option<&'a Value>, PasskeyError> {
    let mut found = map.iter().filter(|(k, _)| key_matches(k)).map(|(_, v)| v);
    let first = found.next();
    if found.next().is_some() {
        return Err(PasskeyError::Malformed(what));
    }
    Ok(first)
}

/// Matches the integer key `n` (COSE labels, RFC 9052 §7).
pub(crate) fn int_key(n: i64) -> impl Fn(&Value) -> bool {
    move |k| matches!(k, Value::Integer(i) if i128::from(*i) == i128::from(n))
}

/// Matches the text key `s` (attestation object members, §6.5.4).
pub(crate) fn text_key(s: &'static str) -> impl Fn(&Value) -> bool {
    move |k| matches!(k, Value::Text(t) if t == s)
}

/// An integer value that fits an i64.
pub(crate) fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(i) => i64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
}

/// A byte string value.
pub(crate) fn as_bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

/// For the tests' software authenticator: the encoding of `value`.
#[cfg(test)]
pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).expect("writing CBOR to a Vec");
    out
}

/// An integer `Value`, for building test objects.
#[cfg(test)]
pub(crate) fn int(n: i64) -> Value {
    Value::Integer(ciborium::value::Integer::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_item_reports_the_length_of_the_first_item_only() {
        let map = Value::Map(vec![(int(1), int(2)), (int(3), Value::Bytes(vec![7; 40]))]);
        let mut bytes = encode(&map);
        let len = bytes.len();
        bytes.extend_from_slice(&[0xa0, 0xff, 0x00]);
        let (value, used) = read_item(&bytes, "item").expect("item");
        assert_eq!((value, used), (map, len));
        assert!(read_whole(&bytes, "item").is_err());
        assert!(read_whole(&bytes[..len], "item").is_ok());
    }

    #[test]
    fn indefinite_length_items_are_measured_too() {
        // [_ h'0102', h'03'] as an indefinite byte string, then a trailing 0x00.
        let bytes = [0x5f, 0x42, 1, 2, 0x41, 3, 0xff, 0x00];
        let (value, used) = read_item(&bytes, "item").expect("item");
        assert_eq!(value, Value::Bytes(vec![1, 2, 3]));
        assert_eq!(used, 7);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut bytes = vec![0x81; 10_000];
        bytes.push(0x00);
        assert_eq!(
            read_item(&bytes, "deep"),
            Err(PasskeyError::Malformed("deep"))
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let map = vec![(int(3), int(-7)), (int(3), int(-8))];
        assert!(lookup(&map, int_key(3), "dup").is_err());
        assert_eq!(
            lookup(&map[..1], int_key(3), "dup").expect("one"),
            Some(&int(-7))
        );
        assert_eq!(lookup(&map, int_key(1), "dup").expect("none"), None);
    }
}
