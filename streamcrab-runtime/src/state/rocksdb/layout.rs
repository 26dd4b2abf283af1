//! How state is laid out in RocksDB's byte keys and values.
//!
//! A key is `key group (2 bytes, big-endian) ++ key ++ namespace [++ user key]`, the three
//! serialized with bincode in big-endian fixed-width form. bincode's encoding is
//! self-delimiting, so the concatenation is unambiguous and every `(key group, key, namespace)`
//! is a prefix of exactly its map entries; the key-group prefix makes a key-group range one
//! contiguous key range. Values use bincode's compact (varint) form; a list is the
//! concatenation of its elements' encodings, so appending is a RocksDB merge that never reads.

use bincode::config::{BigEndian, Configuration, Fixint};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The serialized form of keys, namespaces and map keys.
const KEY_CONFIG: Configuration<BigEndian, Fixint> =
    bincode::config::standard().with_big_endian().with_fixed_int_encoding();
/// The serialized form of values.
const VALUE_CONFIG: Configuration = bincode::config::standard();

/// The largest max parallelism whose key groups fit the 2-byte prefix (Flink's upper bound).
pub(crate) const MAX_KEY_GROUPS: u32 = 1 << 15;

/// The 2-byte prefix of `key_group`.
pub(crate) fn key_group_prefix(key_group: u32) -> [u8; 2] {
    (key_group as u16).to_be_bytes()
}

/// The key group a stored key belongs to.
pub(crate) fn key_group_of(stored_key: &[u8]) -> Option<u32> {
    Some(u16::from_be_bytes(stored_key.get(..2)?.try_into().ok()?) as u32)
}

/// Writes `key_group ++ key ++ namespace` into `out` (cleared first).
pub(crate) fn entry_key<K: Serialize, N: Serialize>(
    out: &mut Vec<u8>,
    key_group: u32,
    key: &K,
    ns: &N,
) -> Result<(), String> {
    out.clear();
    out.extend_from_slice(&key_group_prefix(key_group));
    append_key(out, key)?;
    append_key(out, ns)
}

/// Appends the key form of `value` (a key, namespace or map key) to `out`.
pub(crate) fn append_key<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), String> {
    bincode::serde::encode_into_std_write(value, out, KEY_CONFIG).map(drop).map_err(|e| e.to_string())
}

/// Decodes a map key written by [`append_key`]; it must use every byte.
pub(crate) fn decode_key<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, KEY_CONFIG).map_err(|e| e.to_string())?;
    if read != bytes.len() {
        return Err(format!("{} unexpected trailing bytes in a map key", bytes.len() - read));
    }
    Ok(value)
}

/// The stored form of a value.
pub(crate) fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(value, VALUE_CONFIG).map_err(|e| e.to_string())
}

/// Appends the stored form of one list element to `out`.
pub(crate) fn append_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), String> {
    bincode::serde::encode_into_std_write(value, out, VALUE_CONFIG).map(drop).map_err(|e| e.to_string())
}

/// Decodes a value written by [`encode_value`]; it must use every byte.
pub(crate) fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, VALUE_CONFIG).map_err(|e| e.to_string())?;
    if read != bytes.len() {
        return Err(format!("{} unexpected trailing bytes", bytes.len() - read));
    }
    Ok(value)
}

/// Decodes the elements of a list: the concatenation of [`append_value`] encodings.
pub(crate) fn decode_list<T: DeserializeOwned>(mut bytes: &[u8]) -> Result<Vec<T>, String> {
    let mut values = Vec::new();
    while !bytes.is_empty() {
        let (value, read) = bincode::serde::decode_from_slice(bytes, VALUE_CONFIG).map_err(|e| e.to_string())?;
        values.push(value);
        bytes = &bytes[read..];
    }
    Ok(values)
}

/// The smallest key greater than every key starting with `prefix`, if there is one.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// RocksDB's merge for list state: the operands appended to the existing value.
pub(crate) fn append_merge(_key: &[u8], existing: Option<&[u8]>, operands: &rocksdb::MergeOperands) -> Option<Vec<u8>> {
    let mut merged = existing.map(<[u8]>::to_vec).unwrap_or_default();
    for operand in operands {
        merged.extend_from_slice(operand);
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_a_key_group_sort_together_and_prefixes_delimit_keys() {
        let mut a = Vec::new();
        entry_key(&mut a, 7, &"ab".to_string(), &3u64).unwrap();
        let mut b = Vec::new();
        entry_key(&mut b, 8, &"a".to_string(), &1u64).unwrap();
        assert!(a < b, "key group 7 sorts before key group 8 whatever the key");
        assert_eq!(key_group_of(&a), Some(7));
        let mut with_user_key = a.clone();
        append_key(&mut with_user_key, &5u32).unwrap();
        assert!(with_user_key.starts_with(&a));
        assert_eq!(decode_key::<u32>(&with_user_key[a.len()..]).unwrap(), 5);
    }

    #[test]
    fn unsigned_map_keys_sort_numerically() {
        let encode = |v: u64| {
            let mut out = Vec::new();
            append_key(&mut out, &v).unwrap();
            out
        };
        assert!(encode(2) < encode(10) && encode(10) < encode(256));
    }

    #[test]
    fn a_list_is_the_concatenation_of_its_elements() {
        let mut bytes = Vec::new();
        for v in ["x", "yy", ""] {
            append_value(&mut bytes, v).unwrap();
        }
        assert_eq!(decode_list::<String>(&bytes).unwrap(), vec!["x", "yy", ""]);
        assert!(decode_value::<u8>(&encode_value(&300u32).unwrap()).is_err());
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 255]), Some(vec![2]));
        assert_eq!(prefix_end(&[255, 255]), None);
    }
}
