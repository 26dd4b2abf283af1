//! Open-time restore and snapshot of a keyed operator's state: its keyed-state backend, its two
//! timer services (all by key group) and, if it has one, its operator state. The keyed process,
//! keyed co-process and window operators share these two entry points.

use super::TaskSnapshot;
use crate::checkpoint::RestoredOperator;
use crate::data::Key;
use crate::element::CheckpointBarrier;
use crate::error::{StateError, TaskError};
use crate::operator::OperatorId;
use crate::state::{KeyedBackend, KeyedStateBackend, Namespace, OperatorStateStore};
use crate::task::TaskContext;
use crate::timer::TimerService;

/// The snapshot section of event-time timers.
const EVENT_TIMERS: &str = "timers/event";
/// The snapshot section of processing-time timers.
const PROCESSING_TIMERS: &str = "timers/processing";

/// The event-time and the processing-time timers of a keyed operator.
pub(crate) type Timers<'a, K, N> = (&'a mut TimerService<K, N>, &'a mut TimerService<K, N>);

/// A new backend (of the job's kind) for operator `id`'s key groups, holding its restored
/// keyed state; also the operator's restored state, if the run restores any.
pub(crate) fn keyed_backend<K: Key>(
    ctx: &TaskContext,
    id: OperatorId,
) -> Result<(KeyedBackend<K>, Option<RestoredOperator>), StateError> {
    let mut backend = KeyedBackend::create(
        ctx.state_backend(),
        ctx.key_group_range(),
        ctx.max_parallelism(),
        &ctx.operator_uid(id),
        ctx.shared_state_dir(),
    )?;
    let restored = ctx.restored_state(id);
    if let Some(restored) = &restored {
        backend.restore(restored)?;
    }
    Ok((backend, restored))
}

/// [`keyed_backend`], and the restored timers registered again and the operator state handed
/// over.
pub(crate) fn open_keyed<K: Key, N: Namespace>(
    ctx: &TaskContext,
    id: OperatorId,
    operator: &str,
    (event_timers, processing_timers): Timers<'_, K, N>,
    operator_state: Option<&mut OperatorStateStore>,
) -> Result<KeyedBackend<K>, TaskError> {
    let state_error = |source| TaskError::State { operator: operator.to_string(), source };
    let (backend, restored) = keyed_backend(ctx, id).map_err(state_error)?;
    let Some(restored) = restored else { return Ok(backend) };
    let timers = event_timers
        .restore(EVENT_TIMERS, &restored.keyed)
        .and_then(|()| processing_timers.restore(PROCESSING_TIMERS, &restored.keyed));
    timers.map_err(state_error)?;
    if let Some(store) = operator_state {
        store.restore(restored.lists);
    }
    Ok(backend)
}

/// Writes operator `id`'s keyed state, both timer services and its operator state (if any)
/// into `snapshot`.
pub(crate) fn snapshot_keyed<K: Key, N: Namespace>(
    (snapshot, barrier): (&mut TaskSnapshot, &CheckpointBarrier),
    id: OperatorId,
    operator: &str,
    backend: &mut KeyedBackend<K>,
    (event_timers, processing_timers): (&TimerService<K, N>, &TimerService<K, N>),
    operator_state: Option<&OperatorStateStore>,
) -> Result<(), TaskError> {
    let out = snapshot.of(id);
    let written = (|| -> Result<(), StateError> {
        backend.snapshot(barrier, out)?;
        event_timers.snapshot(EVENT_TIMERS, backend.max_parallelism(), out)?;
        processing_timers.snapshot(PROCESSING_TIMERS, backend.max_parallelism(), out)?;
        operator_state.map_or(Ok(()), |store| store.snapshot(out))
    })();
    written.map_err(|source| TaskError::State { operator: operator.to_string(), source })
}
