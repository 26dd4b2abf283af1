//! Open-time restore and snapshot of a keyed operator's state: its keyed-state backend, its two
//! timer services (all by key group) and, if it has one, its operator state. The keyed process,
//! keyed co-process and window operators share these two entry points.

use super::TaskSnapshot;
use crate::data::Key;
use crate::error::{StateError, TaskError};
use crate::operator::OperatorId;
use crate::state::{HeapKeyedStateBackend, Namespace, OperatorStateStore};
use crate::task::TaskContext;
use crate::timer::TimerService;

/// The snapshot section of event-time timers.
const EVENT_TIMERS: &str = "timers/event";
/// The snapshot section of processing-time timers.
const PROCESSING_TIMERS: &str = "timers/processing";

/// The event-time and the processing-time timers of a keyed operator.
pub(crate) type Timers<'a, K, N> = (&'a mut TimerService<K, N>, &'a mut TimerService<K, N>);

/// A new backend for operator `id`'s key groups, holding its restored keyed state (if the run
/// restores any); the restored timers are registered again and the operator state handed over.
pub(crate) fn open_keyed<K: Key, N: Namespace>(
    ctx: &TaskContext,
    id: OperatorId,
    operator: &str,
    (event_timers, processing_timers): Timers<'_, K, N>,
    operator_state: Option<&mut OperatorStateStore>,
) -> Result<HeapKeyedStateBackend<K>, TaskError> {
    let mut backend = HeapKeyedStateBackend::new(ctx.key_group_range(), ctx.max_parallelism());
    let Some(restored) = ctx.restored_state(id) else { return Ok(backend) };
    backend.restore(&restored.keyed);
    let timers = event_timers
        .restore(EVENT_TIMERS, &restored.keyed)
        .and_then(|()| processing_timers.restore(PROCESSING_TIMERS, &restored.keyed));
    timers.map_err(|source| TaskError::State { operator: operator.to_string(), source })?;
    if let Some(store) = operator_state {
        store.restore(restored.lists);
    }
    Ok(backend)
}

/// Writes operator `id`'s keyed state, both timer services and its operator state (if any)
/// into `snapshot`.
pub(crate) fn snapshot_keyed<K: Key, N: Namespace>(
    snapshot: &mut TaskSnapshot,
    id: OperatorId,
    operator: &str,
    backend: &HeapKeyedStateBackend<K>,
    (event_timers, processing_timers): (&TimerService<K, N>, &TimerService<K, N>),
    operator_state: Option<&OperatorStateStore>,
) -> Result<(), TaskError> {
    let out = snapshot.of(id);
    let written = (|| -> Result<(), StateError> {
        backend.snapshot(out)?;
        event_timers.snapshot(EVENT_TIMERS, backend.max_parallelism(), out)?;
        processing_timers.snapshot(PROCESSING_TIMERS, backend.max_parallelism(), out)?;
        operator_state.map_or(Ok(()), |store| store.snapshot(out))
    })();
    written.map_err(|source| TaskError::State { operator: operator.to_string(), source })
}
