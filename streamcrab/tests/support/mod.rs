//! What several test files share: running one test body on every keyed-state backend.

use streamcrab::state::StateBackend;

/// The backends the keyed-state suite runs on: the heap, and RocksDB with the `rocksdb` feature.
#[allow(dead_code)]
pub fn rocksdb_backend() -> StateBackend {
    #[cfg(feature = "rocksdb")]
    return StateBackend::RocksDb(streamcrab::state::rocksdb::RocksDbOptions::default());
    #[cfg(not(feature = "rocksdb"))]
    StateBackend::Heap
}

/// Turns each listed `fn name(backend: StateBackend)` into the tests `heap::name` and (with the
/// `rocksdb` feature) `rocksdb::name`: one suite, run against both backends.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod heap {
            $( #[test] fn $test() { super::$test(streamcrab::state::StateBackend::Heap) } )*
        }
        #[cfg(feature = "rocksdb")]
        mod rocksdb {
            $( #[test] fn $test() { super::$test(crate::support::rocksdb_backend()) } )*
        }
    };
}
pub(crate) use on_every_backend;
