//! Choosing the state backend from configuration, with Flink's option names.
//!
//! `state.backend.type` is `hashmap` (the default) or `rocksdb`; the RocksDB options are those
//! of Flink's `RocksDBOptions` / `RocksDBConfigurableOptions` that this backend has, with
//! Flink's memory-size syntax (`64mb`, `1 gb`, `4096`). An unknown `state.backend.rocksdb.*`
//! key is an error (a typo would otherwise be silently ignored); other keys are left to whoever
//! else reads the configuration.

use super::keyed_backend::StateBackend;

/// A configuration value the state backend cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration '{key}: {value}': {reason}")]
pub struct StateConfigError {
    /// The option.
    pub key: String,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl StateBackend {
    /// The backend that the Flink-style options `config` describe.
    pub fn from_config<'a>(
        config: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<StateBackend, StateConfigError> {
        let config: Vec<(&str, &str)> = config.into_iter().collect();
        let error = |key: &str, value: &str, reason: &str| StateConfigError {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let kind = config.iter().rev().find(|(k, _)| *k == "state.backend.type").map(|(_, v)| v.trim());
        match kind {
            None | Some("hashmap") => match config.iter().find(|(k, _)| k.starts_with("state.backend.rocksdb.")) {
                Some((k, v)) => Err(error(k, v, "a RocksDB option, but state.backend.type is not rocksdb")),
                None => Ok(StateBackend::Heap),
            },
            #[cfg(feature = "rocksdb")]
            Some("rocksdb") => rocksdb_options(&config).map(StateBackend::RocksDb),
            #[cfg(not(feature = "rocksdb"))]
            Some("rocksdb") => Err(error(
                "state.backend.type",
                "rocksdb",
                "this build has no RocksDB backend (enable the `rocksdb` feature)",
            )),
            Some(other) => Err(error("state.backend.type", other, "expected hashmap or rocksdb")),
        }
    }
}

#[cfg(feature = "rocksdb")]
fn rocksdb_options(config: &[(&str, &str)]) -> Result<super::rocksdb::RocksDbOptions, StateConfigError> {
    use super::rocksdb::{Compression, RocksDbOptions};
    let mut options = RocksDbOptions::default();
    for &(key, value) in config {
        let error = |reason: &str| StateConfigError {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let size = || memory_size(value).ok_or_else(|| error("expected a memory size such as 64mb"));
        let trimmed = value.trim();
        match key {
            "state.backend.rocksdb.localdir" => options.local_dir = Some(trimmed.into()),
            "state.backend.rocksdb.block.cache-size" => options.block_cache_bytes = size()?,
            "state.backend.rocksdb.writebuffer.size" => options.write_buffer_bytes = size()?,
            "state.backend.rocksdb.write-cache.size" => options.write_cache_bytes = size()?,
            "state.backend.rocksdb.memory.fixed-per-slot" => options.memory_budget_per_slot = Some(size()?),
            "state.backend.rocksdb.memory.write-buffer-ratio" => {
                options.write_buffer_ratio = trimmed
                    .parse()
                    .ok()
                    .filter(|r: &f64| (0.0..=1.0).contains(r))
                    .ok_or_else(|| error("expected a ratio between 0 and 1"))?;
            }
            "state.backend.rocksdb.compression.per.level" => {
                let first = trimmed.split([';', ',']).next().unwrap_or_default().trim();
                options.compression = match first.to_ascii_uppercase().as_str() {
                    "NO_COMPRESSION" => Compression::None,
                    "LZ4_COMPRESSION" => Compression::Lz4,
                    "ZSTD_COMPRESSION" => Compression::Zstd,
                    _ => return Err(error("expected NO_COMPRESSION, LZ4_COMPRESSION or ZSTD_COMPRESSION")),
                };
            }
            "execution.checkpointing.incremental" => {
                options.incremental = trimmed.parse().map_err(|_| error("expected true or false"))?;
            }
            other if other.starts_with("state.backend.rocksdb.") => {
                return Err(error("not an option of this RocksDB backend"));
            }
            _ => {}
        }
    }
    Ok(options)
}

/// Bytes of a Flink memory size: a number with an optional unit (`b`, `kb`, `mb`, `gb`, `tb`,
/// or their one-letter forms), case-insensitive.
#[cfg_attr(not(feature = "rocksdb"), allow(dead_code, reason = "only RocksDB options are memory sizes"))]
pub(crate) fn memory_size(text: &str) -> Option<usize> {
    let text = text.trim().to_ascii_lowercase();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let shift = match unit.trim() {
        "" | "b" | "bytes" => 0,
        "k" | "kb" | "kibibytes" => 10,
        "m" | "mb" | "mebibytes" => 20,
        "g" | "gb" | "gibibytes" => 30,
        "t" | "tb" | "tebibytes" => 40,
        _ => return None,
    };
    number.parse::<usize>().ok()?.checked_mul(1usize.checked_shl(shift)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_use_flinks_units() {
        assert_eq!(memory_size("4096"), Some(4096));
        assert_eq!(memory_size("64mb"), Some(64 << 20));
        assert_eq!(memory_size(" 1 GB "), Some(1 << 30));
        assert_eq!(memory_size("12 parsecs"), None);
        assert_eq!(memory_size("mb"), None);
    }

    #[test]
    fn the_default_is_the_heap_and_bad_values_name_their_key() {
        assert!(matches!(StateBackend::from_config([]), Ok(StateBackend::Heap)));
        assert!(matches!(StateBackend::from_config([("state.backend.type", "hashmap")]), Ok(StateBackend::Heap)));
        let err = StateBackend::from_config([("state.backend.type", "forst")]).unwrap_err();
        assert_eq!(err.key, "state.backend.type");
        let err = StateBackend::from_config([("state.backend.rocksdb.localdir", "/tmp")]).unwrap_err();
        assert!(err.reason.contains("not rocksdb"), "{err}");
    }

    #[cfg(feature = "rocksdb")]
    #[test]
    fn rocksdb_options_are_read_with_flinks_names() {
        use crate::state::rocksdb::Compression;
        let backend = StateBackend::from_config([
            ("state.backend.type", "rocksdb"),
            ("state.backend.rocksdb.localdir", "/data/rocks"),
            ("state.backend.rocksdb.block.cache-size", "32mb"),
            ("state.backend.rocksdb.writebuffer.size", "16 mb"),
            ("state.backend.rocksdb.write-cache.size", "0"),
            ("state.backend.rocksdb.memory.fixed-per-slot", "256mb"),
            ("state.backend.rocksdb.compression.per.level", "ZSTD_COMPRESSION"),
            ("execution.checkpointing.incremental", "false"),
            ("pipeline.name", "ignored"),
        ])
        .unwrap();
        let StateBackend::RocksDb(options) = backend else { panic!("expected RocksDB") };
        assert_eq!(options.local_dir.as_deref(), Some(std::path::Path::new("/data/rocks")));
        assert_eq!((options.block_cache_bytes, options.write_buffer_bytes), (32 << 20, 16 << 20));
        assert_eq!(options.write_cache_bytes, 0);
        assert_eq!(options.memory_budget_per_slot, Some(256 << 20));
        assert_eq!((options.compression, options.incremental), (Compression::Zstd, false));
        let typo = StateBackend::from_config([
            ("state.backend.type", "rocksdb"),
            ("state.backend.rocksdb.block.cache-sise", "32mb"),
        ])
        .unwrap_err();
        assert_eq!(typo.key, "state.backend.rocksdb.block.cache-sise");
        let bad = StateBackend::from_config([
            ("state.backend.type", "rocksdb"),
            ("state.backend.rocksdb.writebuffer.size", "lots"),
        ])
        .unwrap_err();
        assert!(bad.to_string().contains("writebuffer.size: lots"), "{bad}");
    }
}
