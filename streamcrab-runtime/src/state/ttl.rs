//! State time-to-live (Flink's `StateTtlConfig`, processing time): a state declared with
//! `enable_time_to_live` stores each value (each list element, each map entry) with the time it
//! was last written, or read with [`UpdateType::OnReadAndWrite`]; once `ttl` has passed the value
//! is expired. As in Flink's TTL decorators, an expired value found by an access is removed, and
//! returned once more only with [`StateVisibility::ReturnExpiredIfNotCleanedUp`]. Time is the
//! job's processing-time clock, so `ManualClock` drives it in tests.
//!
//! Not built: Flink's background cleanup strategies (full-snapshot, incremental, RocksDB
//! compaction filter); expired values nobody reads stay until they are read or overwritten.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::keyed_backend::{KeyedStateBackend, MapKey, TableRef};
use super::{Namespace, StateScope, StateValue};
use crate::data::Key;
use crate::error::StateError;

/// When a value's timestamp is refreshed (Flink's `StateTtlConfig.UpdateType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpdateType {
    /// On creation and on every write (the default).
    #[default]
    OnCreateAndWrite,
    /// On reads too.
    OnReadAndWrite,
}

/// Whether an expired value not yet removed may still be read (Flink's
/// `StateTtlConfig.StateVisibility`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StateVisibility {
    /// Never (the default).
    #[default]
    NeverReturnExpired,
    /// Once: the read that finds it expired returns it and removes it.
    ReturnExpiredIfNotCleanedUp,
}

/// Time-to-live of a state's values (Flink's `StateTtlConfig`, processing time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateTtlConfig {
    /// How long a value lives after its last refresh.
    pub ttl: Duration,
    /// What refreshes it.
    pub update_type: UpdateType,
    /// Whether an expired value can still be read once.
    pub visibility: StateVisibility,
}

impl StateTtlConfig {
    /// Values live `ttl` after their last write (`StateTtlConfig.newBuilder(ttl)`).
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, update_type: UpdateType::default(), visibility: StateVisibility::default() }
    }

    /// Sets what refreshes a value.
    pub fn with_update_type(mut self, update_type: UpdateType) -> Self {
        self.update_type = update_type;
        self
    }

    /// Sets whether an expired value can still be read once.
    pub fn with_state_visibility(mut self, visibility: StateVisibility) -> Self {
        self.visibility = visibility;
        self
    }

    fn expired(&self, last_access: i64, now: i64) -> bool {
        let ttl = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        last_access.saturating_add(ttl) <= now
    }

    fn refresh_on_read(&self) -> bool {
        self.update_type == UpdateType::OnReadAndWrite
    }

    fn returns_expired(&self) -> bool {
        self.visibility == StateVisibility::ReturnExpiredIfNotCleanedUp
    }
}

/// A value with the time it was last refreshed (Flink's `TtlValue`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtlValue<V> {
    /// The user's value.
    pub value: V,
    /// Processing time of the last refresh, in ms.
    pub last_access: i64,
}

/// A state's entries with the current key group, key and processing time.
type Scoped<'a, K, N, S> = (TableRef<'a, K, N, S>, u32, &'a K, i64);

/// State `index`'s entries stored as `S`, with the current key group, key and processing time.
fn scoped<'a, K: Key, N: Namespace, S: StateValue>(
    scope: StateScope<'a, K>,
    index: usize,
) -> Result<Scoped<'a, K, N, S>, StateError> {
    let now = scope.clock.now_millis();
    let StateScope { backend, key, key_group, .. } = scope;
    Ok((backend.table::<N, S>(index)?, key_group, key, now))
}

/// The value of `(key, ns)` in state `index`, checked and refreshed per `ttl`; with `refresh`
/// false the read never refreshes (a read inside a write, as Flink's `getInternal`).
pub(crate) fn get<K: Key, N: Namespace, S: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    ttl: StateTtlConfig,
    refresh: bool,
) -> Result<Option<S>, StateError> {
    let (mut table, kg, key, now) = scoped::<_, N, TtlValue<S>>(scope, index)?;
    let Some(stored) = table.get(kg, key, ns)? else { return Ok(None) };
    if ttl.expired(stored.last_access, now) {
        table.delete(kg, key, ns)?;
        return Ok(ttl.returns_expired().then_some(stored.value));
    }
    if refresh && ttl.refresh_on_read() {
        table.put(kg, key, ns, TtlValue { value: stored.value.clone(), last_access: now })?;
    }
    Ok(Some(stored.value))
}

/// Writes `value` for `(key, ns)` with the current time.
pub(crate) fn put<K: Key, N: Namespace, S: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    value: S,
) -> Result<(), StateError> {
    let (mut table, kg, key, last_access) = scoped::<_, N, TtlValue<S>>(scope, index)?;
    table.put(kg, key, ns, TtlValue { value, last_access })
}

/// Removes what `(key, ns)` stores (`Stored`: a `TtlValue`, or a list of them).
pub(crate) fn clear<K: Key, N: Namespace, Stored: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
) -> Result<(), StateError> {
    let (mut table, kg, key, _) = scoped::<_, N, Stored>(scope, index)?;
    table.delete(kg, key, ns)
}

/// The live elements of the list of `(key, ns)`; expired ones are removed.
pub(crate) fn list_get<K: Key, N: Namespace, V: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    ttl: StateTtlConfig,
) -> Result<Vec<V>, StateError> {
    let (mut table, kg, key, now) = scoped::<_, N, Vec<TtlValue<V>>>(scope, index)?;
    let stored = table.list_get(kg, key, ns)?;
    let (live, expired): (Vec<_>, Vec<_>) = stored.into_iter().partition(|e| !ttl.expired(e.last_access, now));
    if !expired.is_empty() || (ttl.refresh_on_read() && !live.is_empty()) {
        let kept = live.iter().map(|e| TtlValue {
            value: e.value.clone(),
            last_access: if ttl.refresh_on_read() { now } else { e.last_access },
        });
        table.list_put(kg, key, ns, kept.collect())?;
    }
    let returned = if ttl.returns_expired() { expired.into_iter().chain(live).collect() } else { live };
    Ok(returned.into_iter().map(|e| e.value).collect())
}

/// Appends `value` to the list of `(key, ns)` with the current time.
pub(crate) fn list_add<K: Key, N: Namespace, V: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    value: V,
) -> Result<(), StateError> {
    let (mut table, kg, key, last_access) = scoped::<_, N, Vec<TtlValue<V>>>(scope, index)?;
    table.list_add(kg, key, ns, TtlValue { value, last_access })
}

/// Replaces the list of `(key, ns)`, every element stamped with the current time.
pub(crate) fn list_put<K: Key, N: Namespace, V: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    values: Vec<V>,
) -> Result<(), StateError> {
    let (mut table, kg, key, last_access) = scoped::<_, N, Vec<TtlValue<V>>>(scope, index)?;
    table.list_put(kg, key, ns, values.into_iter().map(|value| TtlValue { value, last_access }).collect())
}

/// The value under `user_key`, checked and refreshed per `ttl`.
pub(crate) fn map_get<K: Key, N: Namespace, UK: MapKey, UV: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    ttl: StateTtlConfig,
    user_key: &UK,
) -> Result<Option<UV>, StateError> {
    let (mut table, kg, key, now) = scoped::<_, N, HashMap<UK, TtlValue<UV>>>(scope, index)?;
    let Some(stored) = table.map_get(kg, key, ns, user_key)? else { return Ok(None) };
    if ttl.expired(stored.last_access, now) {
        table.map_remove(kg, key, ns, user_key)?;
        return Ok(ttl.returns_expired().then_some(stored.value));
    }
    if ttl.refresh_on_read() {
        table.map_put(kg, key, ns, user_key.clone(), TtlValue { value: stored.value.clone(), last_access: now })?;
    }
    Ok(Some(stored.value))
}

/// Puts `value` under `user_key` with the current time.
pub(crate) fn map_put<K: Key, N: Namespace, UK: MapKey, UV: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    user_key: UK,
    value: UV,
) -> Result<(), StateError> {
    let (mut table, kg, key, last_access) = scoped::<_, N, HashMap<UK, TtlValue<UV>>>(scope, index)?;
    table.map_put(kg, key, ns, user_key, TtlValue { value, last_access })
}

/// Removes `user_key`, returning its value if it was live (or visible though expired).
pub(crate) fn map_remove<K: Key, N: Namespace, UK: MapKey, UV: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    ttl: StateTtlConfig,
    user_key: &UK,
) -> Result<Option<UV>, StateError> {
    let (mut table, kg, key, now) = scoped::<_, N, HashMap<UK, TtlValue<UV>>>(scope, index)?;
    let removed = table.map_remove(kg, key, ns, user_key)?;
    Ok(removed.filter(|e| ttl.returns_expired() || !ttl.expired(e.last_access, now)).map(|e| e.value))
}

/// The live entries of `(key, ns)`; expired ones are removed.
pub(crate) fn map_entries<K: Key, N: Namespace, UK: MapKey, UV: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
    ttl: StateTtlConfig,
) -> Result<Vec<(UK, UV)>, StateError> {
    let (mut table, kg, key, now) = scoped::<_, N, HashMap<UK, TtlValue<UV>>>(scope, index)?;
    let mut entries = Vec::new();
    for (user_key, stored) in table.map_entries(kg, key, ns)? {
        if ttl.expired(stored.last_access, now) {
            table.map_remove(kg, key, ns, &user_key)?;
            if !ttl.returns_expired() {
                continue;
            }
        } else if ttl.refresh_on_read() {
            let refreshed = TtlValue { value: stored.value.clone(), last_access: now };
            table.map_put(kg, key, ns, user_key.clone(), refreshed)?;
        }
        entries.push((user_key, stored.value));
    }
    Ok(entries)
}

/// Removes the whole map of `(key, ns)`.
pub(crate) fn map_clear<K: Key, N: Namespace, UK: MapKey, UV: StateValue>(
    scope: StateScope<'_, K>,
    index: usize,
    ns: &N,
) -> Result<(), StateError> {
    let (mut table, kg, key, _) = scoped::<_, N, HashMap<UK, TtlValue<UV>>>(scope, index)?;
    table.map_clear(kg, key, ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_expires_when_its_time_to_live_has_fully_passed() {
        let config = StateTtlConfig::new(Duration::from_millis(10));
        assert!(!config.expired(100, 109));
        assert!(config.expired(100, 110), "Flink: expired once last access + ttl <= now");
        assert!(!StateTtlConfig::new(Duration::MAX).expired(i64::MAX - 1, i64::MAX - 1), "no overflow");
    }
}
