//! Marker traits for what may flow through a stream and what may serve as a key.

use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keygroup::KeyHash;

/// A value that can flow through a stream: moved between threads, cloned on broadcast.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot flow through a stream",
    note = "stream elements must be `Clone + Send + 'static`"
)]
pub trait Data: Clone + Send + 'static {}
impl<T: Clone + Send + 'static> Data for T {}

/// A value that can key a stream (`key_by`): hashable with a stable [`KeyHash`], and
/// serializable because keys are part of every checkpoint of keyed state.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a key",
    note = "keys must be `Clone + Eq + Hash + Send + 'static`, implement `streamcrab::keygroup::KeyHash` and serde's `Serialize` and `Deserialize`"
)]
pub trait Key: Data + Eq + Hash + KeyHash + Serialize + DeserializeOwned {}
impl<T: Data + Eq + Hash + KeyHash + Serialize + DeserializeOwned> Key for T {}
