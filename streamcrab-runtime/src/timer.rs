//! Event-time timers per key and namespace (Flink's `InternalTimerServiceImpl`).
//!
//! At most one timer exists per `(key, namespace, timestamp)`: registering it again is a
//! no-op, deleting a missing one too. Advancing the watermark to `w` pops timers in timestamp
//! order (insertion order among equal timestamps) while `timestamp <= w`; a timer registered
//! while firing with a timestamp `<= w` fires in the same advance.

use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;

use hashbrown::HashSet;

use crate::checkpoint::snapshot::{KeyedSection, OperatorSnapshot, decode, encode};
use crate::data::Key;
use crate::error::StateError;
use crate::keygroup::assign_to_key_group;
use crate::state::Namespace;

/// Which clock a timer follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeDomain {
    /// Event time: fires when the watermark reaches it.
    EventTime,
    /// Processing time: fires when the job's clock reaches it.
    ProcessingTime,
}

/// A timer that is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timer<K, N> {
    /// When it fires.
    pub timestamp: i64,
    /// The key it was registered for.
    pub key: K,
    /// Its namespace (a window, or `VoidNamespace`).
    pub namespace: N,
}

/// The event-time timers of one operator instance.
pub struct TimerService<K, N> {
    /// Timers by timestamp, in registration order (popped from the front: a window's end can
    /// hold a timer for every key).
    queue: BTreeMap<i64, VecDeque<(K, N)>>,
    registered: HashSet<(K, N, i64)>,
    current_watermark: i64,
}

impl<K, N> Default for TimerService<K, N> {
    fn default() -> Self {
        Self { queue: BTreeMap::new(), registered: HashSet::new(), current_watermark: i64::MIN }
    }
}

impl<K: Clone + Eq + Hash, N: Clone + Eq + Hash> TimerService<K, N> {
    /// The watermark the service last advanced to.
    pub fn current_watermark(&self) -> i64 {
        self.current_watermark
    }

    /// Registers a timer for `key` in `namespace` at `timestamp` (no-op if it exists).
    pub fn register(&mut self, key: &K, namespace: &N, timestamp: i64) {
        if self.registered.insert((key.clone(), namespace.clone(), timestamp)) {
            self.queue.entry(timestamp).or_default().push_back((key.clone(), namespace.clone()));
        }
    }

    /// Deletes the timer for `key` in `namespace` at `timestamp` (no-op if missing).
    pub fn delete(&mut self, key: &K, namespace: &N, timestamp: i64) {
        if self.registered.remove(&(key.clone(), namespace.clone(), timestamp))
            && let Some(entries) = self.queue.get_mut(&timestamp)
        {
            entries.retain(|(k, n)| k != key || n != namespace);
            if entries.is_empty() {
                self.queue.remove(&timestamp);
            }
        }
    }

    /// Sets the current watermark (before firing what it makes due).
    pub fn advance_watermark(&mut self, watermark: i64) {
        self.current_watermark = self.current_watermark.max(watermark);
    }

    /// The next timer due at the current watermark, removed from the service.
    pub fn poll_due(&mut self) -> Option<Timer<K, N>> {
        let mut first = self.queue.first_entry()?;
        let timestamp = *first.key();
        if timestamp > self.current_watermark {
            return None;
        }
        let Some((key, namespace)) = first.get_mut().pop_front() else {
            first.remove();
            return self.poll_due();
        };
        if first.get().is_empty() {
            first.remove();
        }
        self.registered.remove(&(key.clone(), namespace.clone(), timestamp));
        Some(Timer { timestamp, key, namespace })
    }

    /// Number of registered timers.
    pub fn len(&self) -> usize {
        self.registered.len()
    }

    /// Whether no timer is registered.
    pub fn is_empty(&self) -> bool {
        self.registered.is_empty()
    }
}

impl<K: Key, N: Namespace> TimerService<K, N> {
    /// Writes the registered timers, per key group of their key, as section `name` of `out`.
    pub fn snapshot(&self, name: &str, max_parallelism: u32, out: &mut OperatorSnapshot) -> Result<(), StateError> {
        let mut by_group: BTreeMap<u32, Vec<(i64, &K, &N)>> = BTreeMap::new();
        for (timestamp, entries) in &self.queue {
            for (key, namespace) in entries {
                let group = assign_to_key_group(key, max_parallelism);
                by_group.entry(group).or_default().push((*timestamp, key, namespace));
            }
        }
        for (group, timers) in by_group {
            let bytes = encode(&timers).map_err(|reason| StateError::Snapshot { name: name.to_string(), reason })?;
            out.add_keyed(group, name, bytes);
        }
        Ok(())
    }

    /// Registers the timers of the sections called `name` (the caller passes only its key groups).
    pub fn restore(&mut self, name: &str, sections: &[KeyedSection]) -> Result<(), StateError> {
        for section in sections.iter().filter(|s| s.name == name) {
            let timers: Vec<(i64, K, N)> =
                decode(&section.bytes).map_err(|reason| StateError::Restore { name: name.to_string(), reason })?;
            for (timestamp, key, namespace) in timers {
                self.register(&key, &namespace, timestamp);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_once_in_timestamp_order() {
        let mut timers = TimerService::<&str, ()>::default();
        timers.register(&"b", &(), 20);
        timers.register(&"a", &(), 10);
        timers.register(&"a", &(), 10);
        timers.register(&"c", &(), 30);
        timers.delete(&"c", &(), 30);
        timers.delete(&"x", &(), 5);
        timers.advance_watermark(25);
        let fired: Vec<_> = std::iter::from_fn(|| timers.poll_due()).map(|t| (t.key, t.timestamp)).collect();
        assert_eq!(fired, vec![("a", 10), ("b", 20)]);
        timers.advance_watermark(100);
        assert!(timers.poll_due().is_none());
    }

    #[test]
    fn timers_survive_a_snapshot_per_key_group() {
        let mut timers = TimerService::<String, i64>::default();
        timers.register(&"a".to_string(), &1, 20);
        timers.register(&"b".to_string(), &2, 10);
        let mut snapshot = OperatorSnapshot::default();
        timers.snapshot("timers/event", 128, &mut snapshot).unwrap();
        assert!(snapshot.keyed.iter().all(|s| s.key_group < 128 && s.name == "timers/event"));

        let mut restored = TimerService::<String, i64>::default();
        restored.restore("timers/event", &snapshot.keyed).unwrap();
        restored.restore("timers/processing", &snapshot.keyed).unwrap();
        restored.advance_watermark(i64::MAX);
        let fired: Vec<_> =
            std::iter::from_fn(|| restored.poll_due()).map(|t| (t.key, t.namespace, t.timestamp)).collect();
        assert_eq!(fired, vec![("b".to_string(), 2, 10), ("a".to_string(), 1, 20)]);
    }
}
