//! Keyed and operator state.
//!
//! Keyed state is addressed by `(key group, current key, namespace, state name)` (Flink's
//! `KeyedStateBackend`). A user function declares its states in `open()` from descriptors and
//! gets back small handles ([`ValueState`], [`ListState`], [`MapState`], [`ReducingState`],
//! [`AggregatingState`]). A handle holds no data: every access goes through the context of the
//! current call, which knows the current key, so handles are `Send` and cheap to store in the
//! function struct. Non-window state lives in [`VoidNamespace`]; windows use the window as
//! namespace.
//!
//! Where keyed state lives is the job's [`StateBackend`]: hash tables on the heap (default), or
//! RocksDB (module `rocksdb`, with the `rocksdb` feature). Operators reach either through
//! `KeyedBackend`, and both give the handles the same answers.
//!
//! Operator (non-keyed) state is a set of named lists per operator instance
//! ([`OperatorListState`]), for sources and sinks.

mod backend;
mod config;
mod handles;
mod keyed_backend;
mod operator_state;
#[cfg(feature = "rocksdb")]
pub mod rocksdb;
mod ttl;

pub(crate) use backend::Layout;
pub use backend::{HeapKeyedStateBackend, KeyedStateAccess, StateRegistry, StateScope};
pub use config::StateConfigError;
pub use handles::{
    AggregateFunction, AggregatingState, AggregatingStateDescriptor, ListState, ListStateDescriptor, MapState,
    MapStateDescriptor, ReducingState, ReducingStateDescriptor, ValueState, ValueStateDescriptor,
};
pub use keyed_backend::{KeyedBackend, MapKey, StateBackend};
pub(crate) use keyed_backend::{KeyedStateBackend, TableRef};
pub use operator_state::{OperatorListState, OperatorStateAccess, OperatorStateStore};
pub use ttl::{StateTtlConfig, StateVisibility, TtlValue, UpdateType};

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The namespace of state that does not belong to a window (Flink's `VoidNamespace`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VoidNamespace;

/// A state namespace: [`VoidNamespace`], or a window.
pub trait Namespace: Clone + Eq + Hash + Send + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Eq + Hash + Send + Serialize + DeserializeOwned + 'static> Namespace for T {}

/// Values that can be kept in state: serializable, since state is part of every checkpoint (and
/// RocksDB stores every value serialized).
///
/// Values are encoded with bincode, which is not self-describing: types whose `Deserialize`
/// needs `deserialize_any` (`serde_json::Value`, `#[serde(untagged)]` or `#[serde(flatten)]`)
/// are refused when read back, with [`StateError::Deserialize`](crate::error::StateError).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be kept in state",
    note = "state values must be `Clone + Send + 'static` and implement serde's `Serialize` and `Deserialize`"
)]
pub trait StateValue: Clone + Send + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Serialize + DeserializeOwned + 'static> StateValue for T {}
