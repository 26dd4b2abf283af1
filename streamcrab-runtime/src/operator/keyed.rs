//! Keyed operators without a user-visible context: the rolling `reduce` (and the `sum`, `min`,
//! `max` built on it).

use super::{Operator, OperatorId, Stage, forward_checkpoint, forward_control};
use crate::checkpoint::TaskSnapshot;
use crate::checkpoint::keyed_state::keyed_backend;
use crate::data::Key;
use crate::element::{CheckpointBarrier, StreamRecord};
use crate::error::TaskError;
use crate::keygroup::assign_to_key_group;
use crate::state::{KeyedBackend, KeyedStateBackend, StateValue, VoidNamespace};
use crate::task::{TaskContext, call_user};

/// The stage of a rolling `reduce` on a keyed stream.
#[derive(Clone)]
pub struct ReduceStage<KS, F> {
    key_selector: KS,
    reduce: F,
    id: OperatorId,
}

impl<KS, F> ReduceStage<KS, F> {
    /// The stage of operator `id`, keyed by `key_selector`, folding with `reduce`.
    pub fn new(key_selector: KS, reduce: F, id: OperatorId) -> Self {
        Self { key_selector, reduce, id }
    }
}

/// Rolling reduce (Flink's `StreamGroupedReduceOperator`): for every input it stores and emits
/// the new reduced value of the input's key, with the input's timestamp; the first value of a
/// key is stored and emitted unchanged.
pub struct ReduceOperator<K, KS, F, N> {
    key_selector: KS,
    reduce: F,
    id: OperatorId,
    name: String,
    backend: KeyedBackend<K>,
    state: usize,
    next: N,
}

impl<K, T, KS, F> Stage<T, T> for ReduceStage<KS, F>
where
    K: Key,
    T: StateValue,
    KS: Fn(&T) -> K + Clone + Send + 'static,
    F: FnMut(T, T) -> T + Clone + Send + 'static,
{
    type Built<N: Operator<T>> = ReduceOperator<K, KS, F, N>;
    fn build<N: Operator<T>>(self, next: N) -> Self::Built<N> {
        ReduceOperator {
            key_selector: self.key_selector,
            reduce: self.reduce,
            id: self.id,
            name: String::new(),
            backend: KeyedBackend::placeholder(),
            state: 0,
            next,
        }
    }
}

impl<K, T, KS, F, N> Operator<T> for ReduceOperator<K, KS, F, N>
where
    K: Key,
    T: StateValue,
    KS: Fn(&T) -> K,
    F: FnMut(T, T) -> T,
    N: Operator<T>,
{
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.next.open(ctx)?;
        self.name = ctx.operator_name(self.id);
        let opened = keyed_backend(ctx, self.id).and_then(|(mut backend, _)| {
            self.state = backend.registry().register::<(VoidNamespace, Option<T>)>("reduce", "value")?;
            Ok(backend)
        });
        self.backend = opened.map_err(|source| TaskError::State { operator: self.name.clone(), source })?;
        Ok(())
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<T>) -> Result<(), TaskError> {
        let selector = &self.key_selector;
        let key = call_user(self.id, || selector(&record.value));
        let key_group = assign_to_key_group(&key, self.backend.max_parallelism());
        // On the heap the slot is taken and refilled in place: one hash lookup, and the key is
        // cloned only when it is new.
        let (id, timestamp, reduce) = (self.id, record.timestamp, &mut self.reduce);
        let reduced = self
            .backend
            .table::<VoidNamespace, Option<T>>(self.state)
            .and_then(|mut table| {
                table.update(
                    key_group,
                    &key,
                    &VoidNamespace,
                    || None,
                    |slot| {
                        let reduced = match slot.take() {
                            Some(acc) => call_user(id, || reduce(acc, record.value)),
                            None => record.value,
                        };
                        *slot = Some(reduced.clone());
                        reduced
                    },
                )
            })
            .map_err(|source| TaskError::State { operator: self.name.clone(), source })?;
        self.next.process(StreamRecord { value: reduced, timestamp })
    }

    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        let state = self.backend.snapshot(&barrier, snapshot.of(self.id));
        state.map_err(|source| TaskError::State { operator: self.name.clone(), source })?;
        self.next.snapshot_state(barrier, snapshot)
    }

    forward_control!(control_only);
    forward_checkpoint!(no_snapshot);
}
