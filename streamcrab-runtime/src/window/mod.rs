//! Windows with Flink's exact rules: windows, assigners, triggers, evictors and the operator.
//!
//! * A [`TimeWindow`] `[start, end)` holds `start <= t < end`; `max_timestamp = end - 1` is when
//!   it fires and the timestamp of its results. [`Window::Global`]'s is `i64::MAX`.
//! * Window starts are floor-aligned with the offset: correct for negative timestamps.
//! * The default event-time trigger fires when the watermark reaches `max_timestamp`, and
//!   again for every element added during allowed lateness; state is cleaned up at
//!   `max_timestamp + allowed_lateness`.
//! * Session windows merge eagerly; touching windows merge.

mod assigner;
mod contents;
mod merging;
mod operator;

pub use assigner::{
    EventTimeSessionWindows, GlobalWindows, ProcessingTimeSessionWindows, SlidingEventTimeWindows,
    SlidingProcessingTimeWindows, TumblingEventTimeWindows, TumblingProcessingTimeWindows, WindowAssigner,
};
pub use contents::{
    AggregateContents, ProcessContents, ProcessWindowContext, ProcessWindowFunction, ReduceContents, Then,
    WindowContents,
};
pub use merging::merge_windows;
pub use operator::{Evictor, LATE_RECORDS_DROPPED, Trigger, WindowOperator, WindowSettings, WindowStage};

/// A time window `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct TimeWindow {
    /// First timestamp in the window.
    pub start: i64,
    /// First timestamp after the window.
    pub end: i64,
}

impl TimeWindow {
    /// The window `[start, end)`.
    pub fn new(start: i64, end: i64) -> Self {
        Self { start, end }
    }

    /// `end - 1`: when the window fires and the timestamp of its results.
    pub fn max_timestamp(&self) -> i64 {
        self.end - 1
    }

    /// Whether the windows overlap or touch (Flink's `TimeWindow.intersects`).
    pub fn intersects(&self, other: &TimeWindow) -> bool {
        self.start <= other.end && self.end >= other.start
    }

    /// The smallest window containing both.
    pub fn cover(&self, other: &TimeWindow) -> TimeWindow {
        TimeWindow::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// Start of the window of size `size` with offset `offset` that contains `timestamp`
/// (Flink's `TimeWindow.getWindowStartWithOffset`): the largest `s <= timestamp` with
/// `s ≡ offset (mod size)`.
pub fn window_start_with_offset(timestamp: i64, offset: i64, size: i64) -> i64 {
    let remainder = (timestamp - offset) % size;
    if remainder < 0 { timestamp - (remainder + size) } else { timestamp - remainder }
}

/// A window: a time window, or the single global window of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Window {
    /// A time window.
    Time(TimeWindow),
    /// The global window (count windows): never ends.
    Global,
}

impl Window {
    /// When the window fires and the timestamp of its results (`i64::MAX` for the global window).
    pub fn max_timestamp(&self) -> i64 {
        match self {
            Self::Time(w) => w.max_timestamp(),
            Self::Global => i64::MAX,
        }
    }

    /// The window's start (`i64::MIN` for the global window).
    pub fn start(&self) -> i64 {
        match self {
            Self::Time(w) => w.start,
            Self::Global => i64::MIN,
        }
    }

    /// The window's end, exclusive (`i64::MAX` for the global window).
    pub fn end(&self) -> i64 {
        match self {
            Self::Time(w) => w.end,
            Self::Global => i64::MAX,
        }
    }

    fn time(&self) -> Option<TimeWindow> {
        match self {
            Self::Time(w) => Some(*w),
            Self::Global => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_start_is_floor_aligned_for_negative_timestamps() {
        assert_eq!(window_start_with_offset(-1, 0, 5000), -5000);
        assert_eq!(window_start_with_offset(-5000, 0, 5000), -5000);
        assert_eq!(window_start_with_offset(-5001, 0, 5000), -10000);
        assert_eq!(window_start_with_offset(4899, -100, 5000), -100);
        assert_eq!(window_start_with_offset(4900, -100, 5000), 4900);
    }
}
