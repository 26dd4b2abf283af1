//! Key groups: Flink's unit of keyed-state partitioning (`KeyGroupRangeAssignment`).
//!
//! A key is hashed to a stable 32-bit code ([`KeyHash`]), scrambled with Flink's `murmurHash`,
//! and reduced modulo the max parallelism to a key group. Each subtask of a keyed operator owns
//! a contiguous [`KeyGroupRange`]. [`KeyHash`] reproduces Java's `hashCode` for the usual key
//! types, so a key lands in the same key group (and subtask) as it would in Flink.

use std::fmt;

/// Highest max parallelism Flink (and StreamCrab) accepts: `1 << 15`.
pub const UPPER_BOUND_MAX_PARALLELISM: u32 = 1 << 15;
/// Lowest default max parallelism: `1 << 7`.
pub const DEFAULT_LOWER_BOUND_MAX_PARALLELISM: u32 = 1 << 7;

/// A stable 32-bit hash of a key, identical in every process and run.
///
/// Implementations for strings, integers, booleans, chars and tuples give Java's `hashCode`
/// (tuples as Flink's `Tuple2.hashCode`: `31 * h(f0) + h(f1)`, and so on).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a key: it does not implement `KeyHash`",
    label = "key type without a stable hash",
    note = "implement `streamcrab::keygroup::KeyHash` for it (combine the fields' `key_hash` as `31 * h + field`)"
)]
pub trait KeyHash {
    /// Java-compatible `hashCode` of the key.
    fn key_hash(&self) -> i32;
}

impl KeyHash for str {
    fn key_hash(&self) -> i32 {
        // Java's String.hashCode runs over UTF-16 code units.
        self.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
    }
}

impl KeyHash for String {
    fn key_hash(&self) -> i32 {
        self.as_str().key_hash()
    }
}

impl<T: KeyHash + ?Sized> KeyHash for &T {
    fn key_hash(&self) -> i32 {
        (**self).key_hash()
    }
}

macro_rules! int_key_hash {
    ($($t:ty),*) => {$(
        impl KeyHash for $t {
            fn key_hash(&self) -> i32 {
                i32::from(*self)
            }
        }
    )*};
}
int_key_hash!(i8, i16, i32, u8, u16);

impl KeyHash for u32 {
    fn key_hash(&self) -> i32 {
        i32::from_ne_bytes(self.to_ne_bytes())
    }
}

impl KeyHash for i64 {
    fn key_hash(&self) -> i32 {
        // Java's Long.hashCode: (int)(value ^ (value >>> 32)).
        let v = *self as u64;
        (v ^ (v >> 32)) as u32 as i32
    }
}

impl KeyHash for u64 {
    fn key_hash(&self) -> i32 {
        (*self as i64).key_hash()
    }
}

impl KeyHash for usize {
    fn key_hash(&self) -> i32 {
        (*self as u64).key_hash()
    }
}

impl KeyHash for bool {
    fn key_hash(&self) -> i32 {
        if *self { 1231 } else { 1237 }
    }
}

impl KeyHash for char {
    fn key_hash(&self) -> i32 {
        // Java's Character.hashCode is the UTF-16 unit; for chars beyond the BMP use the code point.
        *self as i32
    }
}

impl KeyHash for () {
    fn key_hash(&self) -> i32 {
        0
    }
}

macro_rules! tuple_key_hash {
    ($($name:ident),+) => {
        impl<$($name: KeyHash),+> KeyHash for ($($name,)+) {
            #[allow(non_snake_case, reason = "the type parameters name the tuple fields")]
            fn key_hash(&self) -> i32 {
                let ($($name,)+) = self;
                let mut h = 0i32;
                $( h = h.wrapping_mul(31).wrapping_add($name.key_hash()); )+
                h
            }
        }
    };
}
tuple_key_hash!(A);
tuple_key_hash!(A, B);
tuple_key_hash!(A, B, C);
tuple_key_hash!(A, B, C, D);

/// Flink's `MathUtils.murmurHash(int)`: a non-negative scramble of a 32-bit hash.
pub fn murmur_hash(code: i32) -> i32 {
    let mut h = code.wrapping_mul(0xcc9e_2d51_u32 as i32);
    h = h.rotate_left(15);
    h = h.wrapping_mul(0x1b87_3593);
    h = h.rotate_left(13);
    h = h.wrapping_mul(5).wrapping_add(0xe654_6b64_u32 as i32);
    h ^= 4;
    h = fmix32(h);
    if h >= 0 {
        h
    } else if h != i32::MIN {
        -h
    } else {
        0
    }
}

fn fmix32(mut h: i32) -> i32 {
    h ^= ((h as u32) >> 16) as i32;
    h = h.wrapping_mul(0x85eb_ca6b_u32 as i32);
    h ^= ((h as u32) >> 13) as i32;
    h = h.wrapping_mul(0xc2b2_ae35_u32 as i32);
    h ^= ((h as u32) >> 16) as i32;
    h
}

/// Key group of a key hash: `murmurHash(hash) % max_parallelism`
/// (`KeyGroupRangeAssignment.computeKeyGroupForKeyHash`).
pub fn key_group_for_hash(key_hash: i32, max_parallelism: u32) -> u32 {
    let scrambled = murmur_hash(key_hash) as u32;
    // The scramble is never negative, so for a power of two (the default) a mask gives the
    // remainder without a division.
    if max_parallelism.is_power_of_two() { scrambled & (max_parallelism - 1) } else { scrambled % max_parallelism }
}

/// Key group of a key (`KeyGroupRangeAssignment.assignToKeyGroup`).
pub fn assign_to_key_group<K: KeyHash + ?Sized>(key: &K, max_parallelism: u32) -> u32 {
    key_group_for_hash(key.key_hash(), max_parallelism)
}

/// Subtask that owns a key group: `key_group * parallelism / max_parallelism`
/// (`KeyGroupRangeAssignment.computeOperatorIndexForKeyGroup`).
pub fn operator_index_for_key_group(max_parallelism: u32, parallelism: u32, key_group: u32) -> u32 {
    (u64::from(key_group) * u64::from(parallelism) / u64::from(max_parallelism)) as u32
}

/// Flink's `computeDefaultMaxParallelism`: `min(max(roundUpToPowerOfTwo(p + p / 2), 128), 32768)`.
pub fn default_max_parallelism(parallelism: u32) -> u32 {
    let wanted = parallelism.saturating_add(parallelism / 2);
    let rounded = wanted.checked_next_power_of_two().unwrap_or(UPPER_BOUND_MAX_PARALLELISM);
    rounded.clamp(DEFAULT_LOWER_BOUND_MAX_PARALLELISM, UPPER_BOUND_MAX_PARALLELISM)
}

/// An inclusive, contiguous range of key groups owned by one subtask.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyGroupRange {
    /// First key group of the range.
    pub start: u32,
    /// Last key group of the range (inclusive).
    pub end: u32,
}

impl KeyGroupRange {
    /// The range `[start, end]`.
    pub fn new(start: u32, end: u32) -> Self {
        Self { start, end }
    }

    /// Range of subtask `operator_index` (`computeKeyGroupRangeForOperatorIndex`):
    /// `[ceil(i * maxP / p), floor(((i + 1) * maxP - 1) / p)]`.
    pub fn for_operator_index(max_parallelism: u32, parallelism: u32, operator_index: u32) -> Self {
        let (max_p, p, i) = (u64::from(max_parallelism), u64::from(parallelism), u64::from(operator_index));
        let start = (i * max_p).div_ceil(p);
        let end = ((i + 1) * max_p - 1) / p;
        Self::new(start as u32, end as u32)
    }

    /// Number of key groups in the range.
    pub fn len(&self) -> usize {
        (self.end + 1).saturating_sub(self.start) as usize
    }

    /// Whether the range holds no key group.
    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }

    /// Whether `key_group` lies in the range.
    pub fn contains(&self, key_group: u32) -> bool {
        self.start <= key_group && key_group <= self.end
    }
}

impl fmt::Debug for KeyGroupRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyGroupRange[{}, {}]", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_codes() {
        assert_eq!("".key_hash(), 0);
        assert_eq!("a".key_hash(), 97);
        // Java: "key1".hashCode() == 3288498
        assert_eq!("key1".key_hash(), 3_288_498);
        assert_eq!((-1i64).key_hash(), 0);
        assert_eq!((1i64 << 32).key_hash(), 1);
        assert_eq!(true.key_hash(), 1231);
    }

    /// Flink: `computeKeyGroupForKeyHash` is `murmurHash(hash) % maxParallelism`. The mask
    /// used for powers of two must give the same key group, including for `i32::MIN`.
    #[test]
    fn key_group_is_the_murmur_remainder_for_every_max_parallelism() {
        let hashes = [0, 1, -1, 97, 3_288_498, i32::MIN, i32::MAX, -123_456_789];
        for max_parallelism in [1, 2, 3, 100, 128, 129, 256, 1000, 1 << 15] {
            for &hash in &hashes {
                let remainder = murmur_hash(hash) as u32 % max_parallelism;
                assert_eq!(key_group_for_hash(hash, max_parallelism), remainder, "hash {hash}, max {max_parallelism}");
            }
        }
    }

    #[test]
    fn ranges_cover_all_key_groups_once() {
        for p in 1..=7 {
            let mut next = 0;
            for i in 0..p {
                let r = KeyGroupRange::for_operator_index(128, p, i);
                assert_eq!(r.start, next);
                next = r.end + 1;
                for kg in r.start..=r.end {
                    assert_eq!(operator_index_for_key_group(128, p, kg), i);
                }
            }
            assert_eq!(next, 128);
        }
    }

    #[test]
    fn default_max_parallelism_bounds() {
        assert_eq!(default_max_parallelism(1), 128);
        assert_eq!(default_max_parallelism(86), 256);
        assert_eq!(default_max_parallelism(u32::MAX / 2), UPPER_BOUND_MAX_PARALLELISM);
    }
}
