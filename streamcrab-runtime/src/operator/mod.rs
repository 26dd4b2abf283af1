//! Operators and their fusion into chains.
//!
//! An operator is push-based: its predecessor calls [`Operator::process`] for every record and
//! the cold control methods for watermarks, statuses, flushes and the end of input. Stateless
//! operators are generic structs over their successor (`Map<F, Next>`), so a chain is one
//! nested, monomorphized type that LLVM inlines into a single loop: no channel, no `dyn`, no
//! allocation per record between chained operators.
//!
//! A [`Stage`] is the recipe for one or more operators (cloned per subtask); `build` wraps it
//! around the rest of the chain. [`Then`] composes stages, [`Identity`] is the empty stage.

mod basic;
mod co;
mod keyed;
mod process;
pub(crate) mod side_output;

pub use basic::{Filter, FilterStage, FlatMap, FlatMapStage, Map, MapStage};
pub use co::{
    CoMapFunction, CoMapStage, CoProcessContext, CoProcessFunction, CoProcessStage, KeyedCoProcessContext,
    KeyedCoProcessFunction, KeyedCoProcessStage,
};
pub use co::{CoMapOperator, CoProcessOperator, KeyedCoProcessOperator, TwoInputOperator};
pub use keyed::{ReduceOperator, ReduceStage};
pub use process::{
    Collector, KeyedContext, KeyedProcessFunction, KeyedProcessOperator, KeyedProcessStage, ProcessContext,
    ProcessFunction, ProcessOperator, ProcessStage,
};
pub use side_output::{OutputTag, SideOutputs};

use std::marker::PhantomData;

use crate::checkpoint::TaskSnapshot;
use crate::element::{CheckpointBarrier, StreamRecord, Watermark, WatermarkStatus};
use crate::error::TaskError;
use crate::task::TaskContext;

/// One operator of a chain, receiving elements of type `In` from its predecessor.
pub trait Operator<In> {
    /// Prepares the operator (and its successors) before the first element.
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError>;
    /// Processes one record: the hot path.
    fn process(&mut self, record: StreamRecord<In>) -> Result<(), TaskError>;
    /// Processes a watermark of the operator's (combined) input.
    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError>;
    /// Processes a change of the input's watermark status.
    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError>;
    /// Processing time is now `now` ms: fire due processing-time timers and periodic work.
    fn on_processing_time(&mut self, now: i64) -> Result<(), TaskError>;
    /// Hands buffered output downstream (the task's input has nothing ready, or time passed).
    fn flush(&mut self) -> Result<(), TaskError>;
    /// The input has ended: emit what is pending and end the output.
    fn finish(&mut self) -> Result<(), TaskError>;
    /// Checkpoint `checkpoint_id` is about to be taken: emit what must precede its barrier
    /// (Flink's `prepareSnapshotPreBarrier`).
    fn prepare_snapshot_pre_barrier(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
    /// Writes the operator's state for `barrier` into `snapshot`, then passes the barrier on; the
    /// end of the chain forwards it downstream. Nothing may be emitted here.
    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError>;
    /// Checkpoint `checkpoint_id` is complete: everything before its barrier is durable.
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
    /// Checkpoint `checkpoint_id` was given up.
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
}

impl<In, O: Operator<In> + ?Sized> Operator<In> for Box<O> {
    #[inline]
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        (**self).open(ctx)
    }
    #[inline]
    fn process(&mut self, record: StreamRecord<In>) -> Result<(), TaskError> {
        (**self).process(record)
    }
    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        (**self).process_watermark(watermark)
    }
    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        (**self).process_watermark_status(status)
    }
    fn on_processing_time(&mut self, now: i64) -> Result<(), TaskError> {
        (**self).on_processing_time(now)
    }
    fn flush(&mut self) -> Result<(), TaskError> {
        (**self).flush()
    }
    fn finish(&mut self) -> Result<(), TaskError> {
        (**self).finish()
    }
    fn prepare_snapshot_pre_barrier(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
        (**self).prepare_snapshot_pre_barrier(checkpoint_id)
    }
    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        (**self).snapshot_state(barrier, snapshot)
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
        (**self).notify_checkpoint_complete(checkpoint_id)
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
        (**self).notify_checkpoint_aborted(checkpoint_id)
    }
}

/// Implements the control and checkpoint methods of an operator that only forwards them to
/// `self.next`. `no_open`: all but `open`; `control_only`: no `open`, no checkpoint methods.
macro_rules! forward_control {
    () => {
        fn open(&mut self, ctx: &mut $crate::task::TaskContext) -> Result<(), $crate::error::TaskError> {
            self.next.open(ctx)
        }
        $crate::operator::forward_control!(no_open);
    };
    (no_open) => {
        $crate::operator::forward_control!(control_only);
        $crate::operator::forward_checkpoint!();
    };
    (control_only) => {
        fn process_watermark(&mut self, watermark: $crate::element::Watermark) -> Result<(), $crate::error::TaskError> {
            self.next.process_watermark(watermark)
        }
        fn process_watermark_status(
            &mut self,
            status: $crate::element::WatermarkStatus,
        ) -> Result<(), $crate::error::TaskError> {
            self.next.process_watermark_status(status)
        }
        fn on_processing_time(&mut self, now: i64) -> Result<(), $crate::error::TaskError> {
            self.next.on_processing_time(now)
        }
        fn flush(&mut self) -> Result<(), $crate::error::TaskError> {
            self.next.flush()
        }
        fn finish(&mut self) -> Result<(), $crate::error::TaskError> {
            self.next.finish()
        }
    };
}
pub(crate) use forward_control;

/// Implements the checkpoint methods of an operator without state of its own: they only
/// forward to `self.next`. `no_snapshot`: all but `snapshot_state`.
macro_rules! forward_checkpoint {
    () => {
        fn snapshot_state(
            &mut self,
            barrier: $crate::element::CheckpointBarrier,
            snapshot: &mut $crate::checkpoint::TaskSnapshot,
        ) -> Result<(), $crate::error::TaskError> {
            self.next.snapshot_state(barrier, snapshot)
        }
        $crate::operator::forward_checkpoint!(no_snapshot);
    };
    (no_snapshot) => {
        fn prepare_snapshot_pre_barrier(&mut self, checkpoint_id: u64) -> Result<(), $crate::error::TaskError> {
            self.next.prepare_snapshot_pre_barrier(checkpoint_id)
        }
        fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), $crate::error::TaskError> {
            self.next.notify_checkpoint_complete(checkpoint_id)
        }
        fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), $crate::error::TaskError> {
            self.next.notify_checkpoint_aborted(checkpoint_id)
        }
    };
}
pub(crate) use forward_checkpoint;

/// Implements the checkpoint methods of the end of a chain that has no state and forwards no
/// barrier (a sink without state, a discarding tail).
macro_rules! stateless_end_checkpoint {
    () => {
        fn prepare_snapshot_pre_barrier(&mut self, _checkpoint_id: u64) -> Result<(), $crate::error::TaskError> {
            Ok(())
        }
        fn snapshot_state(
            &mut self,
            _barrier: $crate::element::CheckpointBarrier,
            _snapshot: &mut $crate::checkpoint::TaskSnapshot,
        ) -> Result<(), $crate::error::TaskError> {
            Ok(())
        }
        fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<(), $crate::error::TaskError> {
            Ok(())
        }
        fn notify_checkpoint_aborted(&mut self, _checkpoint_id: u64) -> Result<(), $crate::error::TaskError> {
            Ok(())
        }
    };
}
pub(crate) use stateless_end_checkpoint;

/// Implements `flush`, `finish` and `snapshot_state` of a keyed operator that runs a user
/// function: side outputs in `self.side`, timers in `self.timers` and
/// `self.processing_timers`, keyed state in `self.backend`, operator state in
/// `self.operator_state`.
macro_rules! keyed_function_end {
    () => {
        fn flush(&mut self) -> Result<(), $crate::error::TaskError> {
            self.side.flush()?;
            self.next.flush()
        }

        fn finish(&mut self) -> Result<(), $crate::error::TaskError> {
            self.side.finish()?;
            self.next.finish()
        }

        fn snapshot_state(
            &mut self,
            barrier: $crate::element::CheckpointBarrier,
            snapshot: &mut $crate::checkpoint::TaskSnapshot,
        ) -> Result<(), $crate::error::TaskError> {
            let timers = (&self.timers, &self.processing_timers);
            $crate::checkpoint::keyed_state::snapshot_keyed(
                (snapshot, &barrier),
                self.id,
                &self.name,
                &mut self.backend,
                timers,
                Some(&self.operator_state),
            )?;
            self.side.barrier(barrier)?;
            self.next.snapshot_state(barrier, snapshot)
        }
    };
}
pub(crate) use keyed_function_end;

/// Identifies an operator within its job (its position in the job's operator table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperatorId(pub u32);

/// The recipe for a run of chained operators turning `In` into `Out`, cloned once per subtask.
pub trait Stage<In, Out>: Clone + Send + 'static {
    /// The operators it builds in front of `N`.
    type Built<N: Operator<Out>>: Operator<In>;
    /// Builds the operators in front of `next`.
    fn build<N: Operator<Out>>(self, next: N) -> Self::Built<N>;
}

/// The empty stage.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity;

impl<T> Stage<T, T> for Identity {
    type Built<N: Operator<T>> = N;
    #[inline]
    fn build<N: Operator<T>>(self, next: N) -> N {
        next
    }
}

/// Stage `A` followed by stage `B`, meeting at type `M`.
pub struct Then<A, B, M> {
    first: A,
    second: B,
    _mid: PhantomData<fn() -> M>,
}

impl<A, B, M> Then<A, B, M> {
    /// `first`, then `second`.
    pub fn new(first: A, second: B) -> Self {
        Self { first, second, _mid: PhantomData }
    }
}

impl<A: Clone, B: Clone, M> Clone for Then<A, B, M> {
    fn clone(&self) -> Self {
        Self::new(self.first.clone(), self.second.clone())
    }
}

impl<In, M: 'static, Out, A: Stage<In, M>, B: Stage<M, Out>> Stage<In, Out> for Then<A, B, M> {
    type Built<N: Operator<Out>> = A::Built<B::Built<N>>;
    #[inline]
    fn build<N: Operator<Out>>(self, next: N) -> Self::Built<N> {
        self.first.build(self.second.build(next))
    }
}

/// The end of a chain: a sink, or the writer of an exchange to the next task.
pub trait Tail<T>: Clone + Send + 'static {
    /// The operator it builds.
    type Built: Operator<T>;
    /// Builds the operator for the task described by `ctx`.
    fn build(self, ctx: &mut TaskContext) -> Result<Self::Built, TaskError>;
}
