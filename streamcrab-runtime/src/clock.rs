//! Processing time behind a trait, so tests can drive it (Flink's `ProcessingTimeService`).
//!
//! Tasks read the job's clock after every input batch and while their input is idle, and
//! hand the time to their operators (`Operator::on_processing_time`), which fire their due
//! processing-time timers and periodic work (watermark emission, idleness).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of processing time in milliseconds since the epoch.
pub trait Clock: Send + Sync + 'static {
    /// The current processing time.
    fn now_millis(&self) -> i64;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock that moves only when told to (for tests).
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock at `start` ms.
    pub fn new(start: i64) -> Self {
        Self { now: Arc::new(AtomicI64::new(start)) }
    }

    /// Moves the clock to `millis` (never backwards).
    pub fn set(&self, millis: i64) {
        self.now.fetch_max(millis, Ordering::SeqCst);
    }

    /// Moves the clock forward by `millis`.
    pub fn advance(&self, millis: i64) {
        self.now.fetch_add(millis.max(0), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}
