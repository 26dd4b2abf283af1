//! Two-phase-commit sinks: output that becomes visible exactly once, when the checkpoint that
//! covers it completes (Flink's `TwoPhaseCommitSinkFunction`).
//!
//! The operator keeps one open transaction and the pre-committed ones waiting for their
//! checkpoint. Call order, as Flink's (`SEMANTICS.md` 6.4):
//! * `open`: if restored, re-commit every pending transaction of the snapshot in creation order
//!   (`recover_and_commit`), then abort the transaction that was open at the snapshot
//!   (`recover_and_abort`); then `begin_transaction`.
//! * every record: `invoke` into the open transaction.
//! * snapshot for checkpoint `n`: `pre_commit` the open transaction, keep it as pending under
//!   `n`, begin a new one (unless the input has ended), store both in the snapshot.
//! * `notify_checkpoint_complete(n)`: `commit` every pending transaction with id `<= n`, in order.
//! * end of input: `finish_processing`; the final snapshot pre-commits the last transaction and
//!   opens none; the job's final checkpoint commits it.
//!
//! `commit` must be idempotent: a restore re-commits what may already be committed. Without
//! checkpointing, the open transaction is pre-committed and committed at the end of the input.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checkpoint::TaskSnapshot;
use crate::checkpoint::snapshot::{decode, encode};
use crate::context::RuntimeContext;
use crate::element::{CheckpointBarrier, StreamRecord, Watermark, WatermarkStatus};
use crate::error::{StateError, TaskError, UserResult};
use crate::operator::{Operator, OperatorId, Tail};
use crate::state::OperatorStateStore;
use crate::task::{TaskContext, call_user, enter_operator};

/// A sink with transactions (Flink's `TwoPhaseCommitSinkFunction`); see the module docs for the
/// order of calls.
pub trait TwoPhaseCommitSink<T>: Clone + Send + 'static {
    /// A handle to one transaction, stored in checkpoints (a file name, a transaction id).
    type Transaction: Clone + Send + Serialize + DeserializeOwned + 'static;

    /// Called once per subtask, before any transaction.
    fn open(&mut self, _ctx: &mut RuntimeContext<'_>) -> UserResult {
        Ok(())
    }
    /// Starts a transaction.
    fn begin_transaction(&mut self) -> UserResult<Self::Transaction>;
    /// Writes `value` into `transaction`.
    fn invoke(&mut self, transaction: &mut Self::Transaction, value: T, timestamp: Option<i64>) -> UserResult;
    /// Makes `transaction` ready to commit (flush, make durable); nothing may be written to it
    /// afterwards.
    fn pre_commit(&mut self, transaction: &mut Self::Transaction) -> UserResult;
    /// Makes a pre-committed transaction visible. Must be idempotent.
    fn commit(&mut self, transaction: Self::Transaction) -> UserResult;
    /// Discards a transaction.
    fn abort(&mut self, transaction: Self::Transaction) -> UserResult;
    /// Commits a transaction found pending in a restored snapshot (default: [`commit`](Self::commit)).
    fn recover_and_commit(&mut self, transaction: Self::Transaction) -> UserResult {
        self.commit(transaction)
    }
    /// Aborts the transaction that was open in a restored snapshot (default: [`abort`](Self::abort)).
    fn recover_and_abort(&mut self, transaction: Self::Transaction) -> UserResult {
        self.abort(transaction)
    }
    /// The input has ended; `transaction` is the last one.
    fn finish_processing(&mut self, _transaction: &mut Self::Transaction) -> UserResult {
        Ok(())
    }
}

/// The operator-state list a two-phase-commit sink keeps its transactions in.
const TRANSACTIONS_STATE: &str = "two-phase-commit-transactions";

/// What a snapshot holds: the open transaction and the pending ones by checkpoint id.
type TransactionState<X> = (Option<X>, Vec<(u64, X)>);

/// Ends a chain with a [`TwoPhaseCommitSink`].
#[derive(Clone)]
pub struct TwoPhaseCommitTail<S> {
    sink: S,
    id: OperatorId,
}

impl<S> TwoPhaseCommitTail<S> {
    pub(crate) fn new(sink: S, id: OperatorId) -> Self {
        Self { sink, id }
    }
}

impl<T: 'static, S: TwoPhaseCommitSink<T>> Tail<T> for TwoPhaseCommitTail<S> {
    type Built = TwoPhaseCommitOperator<S, T>;
    fn build(self, _ctx: &mut TaskContext) -> Result<Self::Built, TaskError> {
        Ok(TwoPhaseCommitOperator::new(self.sink, self.id))
    }
}

/// Runs a [`TwoPhaseCommitSink`].
pub struct TwoPhaseCommitOperator<S: TwoPhaseCommitSink<T>, T> {
    sink: S,
    id: OperatorId,
    name: String,
    current: Option<S::Transaction>,
    pending: Vec<(u64, S::Transaction)>,
    checkpointing: bool,
    finished: bool,
}

impl<S: TwoPhaseCommitSink<T>, T> TwoPhaseCommitOperator<S, T> {
    pub(crate) fn new(sink: S, id: OperatorId) -> Self {
        Self {
            sink,
            id,
            name: String::new(),
            current: None,
            pending: Vec::new(),
            checkpointing: false,
            finished: false,
        }
    }

    fn user(&self, result: UserResult) -> Result<(), TaskError> {
        result.map_err(|source| TaskError::User { operator: self.name.clone(), source })
    }

    fn state_error(&self, reason: String, restore: bool) -> TaskError {
        let name = TRANSACTIONS_STATE.to_string();
        let source = if restore { StateError::Restore { name, reason } } else { StateError::Snapshot { name, reason } };
        TaskError::State { operator: self.name.clone(), source }
    }

    /// Re-commits the restored pending transactions, then aborts the restored open ones.
    fn recover(&mut self, restored: Vec<Vec<u8>>) -> Result<(), TaskError> {
        let mut open = Vec::new();
        for bytes in restored {
            let (current, pending): TransactionState<S::Transaction> =
                decode(&bytes).map_err(|reason| self.state_error(reason, true))?;
            for (_, transaction) in pending {
                let result = call_user(self.id, || self.sink.recover_and_commit(transaction));
                self.user(result)?;
            }
            open.extend(current);
        }
        for transaction in open {
            let result = call_user(self.id, || self.sink.recover_and_abort(transaction));
            self.user(result)?;
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), TaskError> {
        let begun = call_user(self.id, || self.sink.begin_transaction());
        self.current = Some(begun.map_err(|source| TaskError::User { operator: self.name.clone(), source })?);
        Ok(())
    }

    fn commit_up_to(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
        let due = self.pending.iter().take_while(|(id, _)| *id <= checkpoint_id).count();
        for (_, transaction) in self.pending.drain(..due).collect::<Vec<_>>() {
            let result = call_user(self.id, || self.sink.commit(transaction));
            self.user(result)?;
        }
        Ok(())
    }
}

impl<T, S: TwoPhaseCommitSink<T>> Operator<T> for TwoPhaseCommitOperator<S, T> {
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.name = ctx.operator_name(self.id);
        self.checkpointing = ctx.checkpointing_mode().is_some();
        enter_operator(self.id);
        let mut operator_state = OperatorStateStore::default();
        let opened = self.sink.open(&mut RuntimeContext::new(ctx, self.id, None, &mut operator_state));
        self.user(opened)?;
        if let Some(restored) = ctx.restored_state(self.id) {
            let lists = restored.lists.into_iter().filter(|l| l.name == TRANSACTIONS_STATE);
            self.recover(lists.flat_map(|l| l.elements).collect())?;
        }
        self.begin()
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<T>) -> Result<(), TaskError> {
        let Some(transaction) = self.current.as_mut() else {
            return Err(TaskError::Wiring { what: format!("{}: a record after the end of input", self.name) });
        };
        let sink = &mut self.sink;
        let result = call_user(self.id, || sink.invoke(transaction, record.value, record.timestamp));
        self.user(result)
    }

    fn process_watermark(&mut self, _watermark: Watermark) -> Result<(), TaskError> {
        Ok(())
    }

    fn process_watermark_status(&mut self, _status: WatermarkStatus) -> Result<(), TaskError> {
        Ok(())
    }

    fn on_processing_time(&mut self, _now: i64) -> Result<(), TaskError> {
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), TaskError> {
        self.finished = true;
        let Some(mut transaction) = self.current.take() else { return Ok(()) };
        let result = call_user(self.id, || self.sink.finish_processing(&mut transaction));
        self.user(result)?;
        if self.checkpointing {
            self.current = Some(transaction);
            return Ok(());
        }
        let result =
            call_user(self.id, || self.sink.pre_commit(&mut transaction).and_then(|()| self.sink.commit(transaction)));
        self.user(result)
    }

    fn prepare_snapshot_pre_barrier(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }

    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        if let Some(mut transaction) = self.current.take() {
            let result = call_user(self.id, || self.sink.pre_commit(&mut transaction));
            self.user(result)?;
            self.pending.push((barrier.id, transaction));
        }
        if !self.finished {
            self.begin()?;
        }
        let state: TransactionState<&S::Transaction> =
            (self.current.as_ref(), self.pending.iter().map(|(id, t)| (*id, t)).collect());
        let bytes = encode(&state).map_err(|reason| self.state_error(reason, false))?;
        snapshot.of(self.id).add_list(TRANSACTIONS_STATE, vec![bytes]);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
        self.commit_up_to(checkpoint_id)
    }

    fn notify_checkpoint_aborted(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::checkpoint::CheckpointingMode;
    use crate::checkpoint::snapshot::{RestoredJob, SubtaskState};
    use crate::checkpoint::task::{FINAL_CHECKPOINT_ID, TaskCheckpointing};
    use crate::element::CheckpointKind;

    /// Records every call with its transaction.
    #[derive(Clone, Default)]
    struct Recording {
        calls: Arc<Mutex<Vec<String>>>,
        next: u32,
    }

    impl Recording {
        fn log(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }
    }

    impl TwoPhaseCommitSink<&'static str> for Recording {
        type Transaction = u32;
        fn begin_transaction(&mut self) -> UserResult<u32> {
            self.next += 1;
            self.log(format!("begin t{}", self.next));
            Ok(self.next)
        }
        fn invoke(&mut self, t: &mut u32, value: &'static str, _: Option<i64>) -> UserResult {
            self.log(format!("invoke t{t} {value}"));
            Ok(())
        }
        fn pre_commit(&mut self, t: &mut u32) -> UserResult {
            self.log(format!("pre_commit t{t}"));
            Ok(())
        }
        fn commit(&mut self, t: u32) -> UserResult {
            self.log(format!("commit t{t}"));
            Ok(())
        }
        fn abort(&mut self, t: u32) -> UserResult {
            self.log(format!("abort t{t}"));
            Ok(())
        }
        fn recover_and_commit(&mut self, t: u32) -> UserResult {
            self.log(format!("recover_and_commit t{t}"));
            Ok(())
        }
        fn recover_and_abort(&mut self, t: u32) -> UserResult {
            self.log(format!("recover_and_abort t{t}"));
            Ok(())
        }
        fn finish_processing(&mut self, t: &mut u32) -> UserResult {
            self.log(format!("finish_processing t{t}"));
            Ok(())
        }
    }

    fn context(restored: Option<RestoredJob>) -> TaskContext {
        let mut ctx = TaskContext::standalone("sink", 0, 1, 128);
        ctx.operator_uids = Arc::from(vec!["sink".to_string()]);
        ctx.restored = restored.map(Arc::new);
        let (reports, _) = crossbeam_channel::unbounded();
        let (_, notifications) = crossbeam_channel::unbounded();
        ctx.checkpointing = Some(TaskCheckpointing {
            mode: CheckpointingMode::ExactlyOnce,
            task: 0,
            triggers: Arc::default(),
            last_injected: 0,
            reports,
            notifications,
        });
        ctx
    }

    fn barrier(id: u64) -> CheckpointBarrier {
        CheckpointBarrier { id, timestamp: 0, kind: CheckpointKind::Checkpoint }
    }

    /// The call order of Flink's `TwoPhaseCommitSinkFunction` (SEMANTICS.md 6.4).
    #[test]
    fn calls_follow_flinks_two_phase_commit_order() {
        let sink = Recording::default();
        let mut op = TwoPhaseCommitOperator::new(sink.clone(), OperatorId(0));
        op.open(&mut context(None)).unwrap();
        op.process(StreamRecord::new("a")).unwrap();
        op.snapshot_state(barrier(1), &mut TaskSnapshot::default()).unwrap();
        op.process(StreamRecord::new("b")).unwrap();
        let mut second = TaskSnapshot::default();
        op.snapshot_state(barrier(2), &mut second).unwrap();
        assert_eq!(
            sink.take(),
            ["begin t1", "invoke t1 a", "pre_commit t1", "begin t2", "invoke t2 b", "pre_commit t2", "begin t3"]
        );
        op.notify_checkpoint_complete(2).unwrap();
        assert_eq!(sink.take(), ["commit t1", "commit t2"], "a later notification commits the earlier ones too");

        // Restore from checkpoint 2: re-commit its pending transactions in order, abort the open one.
        let state = SubtaskState {
            subtask: 0,
            parallelism: 1,
            key_groups: (0, 127),
            operators: second.into_operators().map(|(_, s)| ("sink".to_string(), s)).collect(),
        };
        let restored_sink = Recording { next: 10, ..Recording::default() };
        let mut op = TwoPhaseCommitOperator::new(restored_sink.clone(), OperatorId(0));
        op.open(&mut context(Some(RestoredJob::new(2, [state])))).unwrap();
        assert_eq!(
            restored_sink.take(),
            ["recover_and_commit t1", "recover_and_commit t2", "recover_and_abort t3", "begin t11"]
        );

        // End of input: finish, the final snapshot pre-commits without a new transaction.
        op.finish().unwrap();
        op.snapshot_state(barrier(FINAL_CHECKPOINT_ID), &mut TaskSnapshot::default()).unwrap();
        op.notify_checkpoint_complete(FINAL_CHECKPOINT_ID).unwrap();
        assert_eq!(restored_sink.take(), ["finish_processing t11", "pre_commit t11", "commit t11"]);
    }

    #[test]
    fn without_checkpointing_the_transaction_commits_at_the_end() {
        let sink = Recording::default();
        let mut op = TwoPhaseCommitOperator::new(sink.clone(), OperatorId(0));
        op.open(&mut TaskContext::standalone("sink", 0, 1, 128)).unwrap();
        op.process(StreamRecord::new("a")).unwrap();
        op.finish().unwrap();
        assert_eq!(sink.take(), ["begin t1", "invoke t1 a", "finish_processing t1", "pre_commit t1", "commit t1"]);
    }
}
