//! Snapshot and restore of a keyed operator's state: its keyed-state backend and its two timer
//! services, all by key group.

use super::snapshot::{OperatorSnapshot, RestoredOperator};
use crate::data::Key;
use crate::error::{StateError, TaskError};
use crate::state::{HeapKeyedStateBackend, Namespace, OperatorStateStore};
use crate::timer::TimerService;

/// The snapshot section of event-time timers.
pub(crate) const EVENT_TIMERS: &str = "timers/event";
/// The snapshot section of processing-time timers.
pub(crate) const PROCESSING_TIMERS: &str = "timers/processing";

/// Writes the keyed state and both timer services into `out`.
pub(crate) fn snapshot_keyed<K: Key, N: Namespace>(
    out: &mut OperatorSnapshot,
    backend: &HeapKeyedStateBackend<K>,
    event_timers: &TimerService<K, N>,
    processing_timers: &TimerService<K, N>,
) -> Result<(), StateError> {
    backend.snapshot(out)?;
    event_timers.snapshot(EVENT_TIMERS, backend.max_parallelism(), out)?;
    processing_timers.snapshot(PROCESSING_TIMERS, backend.max_parallelism(), out)
}

/// Writes a keyed operator's state (keyed state, timers, operator state) into `out`, naming the
/// operator in an error.
pub(crate) fn snapshot_keyed_operator<K: Key, N: Namespace>(
    operator: &str,
    out: &mut OperatorSnapshot,
    backend: &HeapKeyedStateBackend<K>,
    timers: (&TimerService<K, N>, &TimerService<K, N>),
    operator_state: &OperatorStateStore,
) -> Result<(), TaskError> {
    snapshot_keyed(out, backend, timers.0, timers.1)
        .and_then(|()| operator_state.snapshot(out))
        .map_err(|source| TaskError::State { operator: operator.to_string(), source })
}

/// Hands restored keyed state to `backend` and re-registers the restored timers.
pub(crate) fn restore_keyed<K: Key, N: Namespace>(
    restored: &RestoredOperator,
    backend: &mut HeapKeyedStateBackend<K>,
    event_timers: &mut TimerService<K, N>,
    processing_timers: &mut TimerService<K, N>,
) -> Result<(), StateError> {
    backend.restore(&restored.keyed);
    event_timers.restore(EVENT_TIMERS, &restored.keyed)?;
    processing_timers.restore(PROCESSING_TIMERS, &restored.keyed)
}
