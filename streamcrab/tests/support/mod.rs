//! What several test files share: running one test body on every keyed-state backend.

use streamcrab::state::StateBackend;

/// RocksDB with an in-memory write tier of `write_cache_bytes` (the heap without the
/// `rocksdb` feature).
#[allow(dead_code)]
pub fn rocksdb_backend(write_cache_bytes: usize) -> StateBackend {
    #[cfg(feature = "rocksdb")]
    return StateBackend::RocksDb(streamcrab::state::rocksdb::RocksDbOptions {
        write_cache_bytes,
        ..Default::default()
    });
    #[cfg(not(feature = "rocksdb"))]
    {
        let _ = write_cache_bytes;
        StateBackend::Heap
    }
}

/// A write tier so small that it goes to RocksDB every few writes: tests then cross the tier,
/// its flushes and RocksDB's reads in one run.
#[allow(dead_code)]
pub const TINY_WRITE_CACHE: usize = 256;

/// Turns each listed `fn name(backend: StateBackend)` into the tests `heap::name` and, with the
/// `rocksdb` feature, `rocksdb::name` (RocksDB behind a tiny write tier) and
/// `rocksdb_direct::name` (every access reaching RocksDB): one suite, run against every backend.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod heap {
            $( #[test] fn $test() { super::$test(streamcrab::state::StateBackend::Heap) } )*
        }
        #[cfg(feature = "rocksdb")]
        mod rocksdb {
            $( #[test] fn $test() { super::$test(crate::support::rocksdb_backend(crate::support::TINY_WRITE_CACHE)) } )*
        }
        #[cfg(feature = "rocksdb")]
        mod rocksdb_direct {
            $( #[test] fn $test() { super::$test(crate::support::rocksdb_backend(0)) } )*
        }
    };
}
pub(crate) use on_every_backend;
