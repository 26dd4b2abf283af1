//! Barrier alignment over the input channels of a task (Flink's `SingleCheckpointBarrierHandler`
//! for exactly-once, `CheckpointBarrierTracker` for at-least-once).
//!
//! Exactly-once: after `Barrier(n)` on a channel, that channel is blocked (the gate reads no more
//! from it) until `Barrier(n)` arrived on every channel that has not ended; then the task
//! snapshots and all channels resume. At-least-once: nothing is blocked; the snapshot is taken
//! when the last barrier arrives. A newer barrier during an alignment abandons the older
//! checkpoint (the coordinator times it out); older or repeated barriers are ignored. A channel
//! that ends counts as aligned.

use super::CheckpointingMode;
use crate::element::CheckpointBarrier;

/// The alignment state of one task's input channels.
#[derive(Debug)]
pub(crate) struct BarrierAligner {
    mode: CheckpointingMode,
    ended: Vec<bool>,
    arrived: Vec<bool>,
    pending: Option<CheckpointBarrier>,
    /// The newest checkpoint this task has snapshotted or abandoned.
    last: u64,
}

impl BarrierAligner {
    pub(crate) fn new(mode: CheckpointingMode, channels: usize) -> Self {
        Self { mode, ended: vec![false; channels], arrived: vec![false; channels], pending: None, last: 0 }
    }

    /// Whether the gate must not read from `channel` now. Savepoints always align.
    #[inline]
    pub(crate) fn is_blocked(&self, channel: usize) -> bool {
        let aligned = self.mode == CheckpointingMode::ExactlyOnce
            || self.pending.is_some_and(|b| b.kind == crate::element::CheckpointKind::Savepoint);
        aligned && self.arrived[channel]
    }

    /// `barrier` arrived on `channel`; returns the barrier to snapshot for, once aligned.
    pub(crate) fn on_barrier(&mut self, channel: usize, barrier: CheckpointBarrier) -> Option<CheckpointBarrier> {
        if barrier.id <= self.last {
            return None;
        }
        match self.pending {
            Some(pending) if barrier.id < pending.id => return None,
            Some(pending) if barrier.id > pending.id => self.abandon(),
            _ => {}
        }
        self.pending = Some(barrier);
        self.arrived[channel] = true;
        self.complete_if_aligned()
    }

    /// `channel` ended; returns the barrier to snapshot for if that completes an alignment.
    pub(crate) fn on_end(&mut self, channel: usize) -> Option<CheckpointBarrier> {
        self.ended[channel] = true;
        self.arrived[channel] = false;
        self.complete_if_aligned()
    }

    fn complete_if_aligned(&mut self) -> Option<CheckpointBarrier> {
        let pending = self.pending?;
        let aligned = self.arrived.iter().zip(&self.ended).all(|(arrived, ended)| *arrived || *ended);
        if !aligned {
            return None;
        }
        self.abandon();
        Some(pending)
    }

    fn abandon(&mut self) {
        if let Some(pending) = self.pending.take() {
            self.last = self.last.max(pending.id);
        }
        self.arrived.iter_mut().for_each(|a| *a = false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::CheckpointKind;

    fn barrier(id: u64) -> CheckpointBarrier {
        CheckpointBarrier { id, timestamp: 0, kind: CheckpointKind::Checkpoint }
    }

    #[test]
    fn exactly_once_blocks_each_channel_until_all_delivered() {
        let mut aligner = BarrierAligner::new(CheckpointingMode::ExactlyOnce, 3);
        assert_eq!(aligner.on_barrier(1, barrier(1)), None);
        assert!(aligner.is_blocked(1) && !aligner.is_blocked(0));
        assert_eq!(aligner.on_barrier(0, barrier(1)), None);
        assert_eq!(aligner.on_barrier(2, barrier(1)), Some(barrier(1)));
        assert!((0..3).all(|c| !aligner.is_blocked(c)), "all channels resume after the snapshot");
        assert_eq!(aligner.on_barrier(0, barrier(1)), None, "a repeated barrier is ignored");
    }

    #[test]
    fn at_least_once_never_blocks() {
        let mut aligner = BarrierAligner::new(CheckpointingMode::AtLeastOnce, 2);
        assert_eq!(aligner.on_barrier(0, barrier(4)), None);
        assert!(!aligner.is_blocked(0));
        assert_eq!(aligner.on_barrier(1, barrier(4)), Some(barrier(4)));
    }

    #[test]
    fn savepoints_align_even_in_at_least_once_mode() {
        let mut aligner = BarrierAligner::new(CheckpointingMode::AtLeastOnce, 2);
        let savepoint = CheckpointBarrier { id: 5, timestamp: 0, kind: CheckpointKind::Savepoint };
        assert_eq!(aligner.on_barrier(0, savepoint), None);
        assert!(aligner.is_blocked(0));
        assert_eq!(aligner.on_barrier(1, savepoint), Some(savepoint));
    }

    #[test]
    fn an_ended_channel_counts_as_aligned() {
        let mut aligner = BarrierAligner::new(CheckpointingMode::ExactlyOnce, 2);
        assert_eq!(aligner.on_end(1), None, "no checkpoint pending");
        assert_eq!(aligner.on_barrier(0, barrier(2)), Some(barrier(2)));
        let mut aligner = BarrierAligner::new(CheckpointingMode::ExactlyOnce, 2);
        assert_eq!(aligner.on_barrier(0, barrier(2)), None);
        assert_eq!(aligner.on_end(1), Some(barrier(2)));
    }

    #[test]
    fn a_newer_barrier_abandons_the_older_alignment() {
        let mut aligner = BarrierAligner::new(CheckpointingMode::ExactlyOnce, 2);
        assert_eq!(aligner.on_barrier(0, barrier(1)), None);
        assert_eq!(aligner.on_barrier(0, barrier(2)), None);
        assert_eq!(aligner.on_barrier(1, barrier(1)), None, "checkpoint 1 was abandoned");
        assert_eq!(aligner.on_barrier(1, barrier(2)), Some(barrier(2)));
    }
}
