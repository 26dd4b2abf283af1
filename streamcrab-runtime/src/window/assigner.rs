//! Window assigners (Flink's `TumblingEventTimeWindows`, `SlidingEventTimeWindows`,
//! `EventTimeSessionWindows`, `GlobalWindows`).

use super::{TimeWindow, Window, window_start_with_offset};

/// Assigns every element to zero or more windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowAssigner {
    /// Fixed-size, non-overlapping event-time windows.
    Tumbling {
        /// Window size in ms.
        size: i64,
        /// Offset of the window starts in ms.
        offset: i64,
    },
    /// Fixed-size event-time windows starting every `slide` ms.
    Sliding {
        /// Window size in ms.
        size: i64,
        /// Distance between window starts in ms.
        slide: i64,
        /// Offset of the window starts in ms.
        offset: i64,
    },
    /// Event-time sessions: an element opens `[ts, ts + gap)`; overlapping or touching
    /// windows of a key merge.
    Session {
        /// Session gap in ms.
        gap: i64,
    },
    /// One global window per key (count windows); it needs a trigger to ever fire.
    Global,
    /// Fixed-size, non-overlapping windows of processing time.
    TumblingProcessingTime {
        /// Window size in ms.
        size: i64,
        /// Offset of the window starts in ms.
        offset: i64,
    },
    /// Fixed-size processing-time windows starting every `slide` ms.
    SlidingProcessingTime {
        /// Window size in ms.
        size: i64,
        /// Distance between window starts in ms.
        slide: i64,
        /// Offset of the window starts in ms.
        offset: i64,
    },
    /// Processing-time sessions closed by `gap` ms without elements.
    ProcessingTimeSession {
        /// Session gap in ms.
        gap: i64,
    },
}

/// `TumblingEventTimeWindows.of(size)`.
pub struct TumblingEventTimeWindows;

impl TumblingEventTimeWindows {
    /// Tumbling event-time windows of `size_ms`.
    pub fn of(size_ms: i64) -> WindowAssigner {
        WindowAssigner::Tumbling { size: size_ms, offset: 0 }
    }

    /// Tumbling event-time windows of `size_ms` whose starts are shifted by `offset_ms`.
    pub fn with_offset(size_ms: i64, offset_ms: i64) -> WindowAssigner {
        WindowAssigner::Tumbling { size: size_ms, offset: offset_ms }
    }
}

/// `SlidingEventTimeWindows.of(size, slide)`.
pub struct SlidingEventTimeWindows;

impl SlidingEventTimeWindows {
    /// Sliding event-time windows of `size_ms`, one starting every `slide_ms`.
    pub fn of(size_ms: i64, slide_ms: i64) -> WindowAssigner {
        WindowAssigner::Sliding { size: size_ms, slide: slide_ms, offset: 0 }
    }

    /// The same with window starts shifted by `offset_ms`.
    pub fn with_offset(size_ms: i64, slide_ms: i64, offset_ms: i64) -> WindowAssigner {
        WindowAssigner::Sliding { size: size_ms, slide: slide_ms, offset: offset_ms }
    }
}

/// `EventTimeSessionWindows.withGap(gap)`.
pub struct EventTimeSessionWindows;

impl EventTimeSessionWindows {
    /// Sessions closed by `gap_ms` without elements.
    pub fn with_gap(gap_ms: i64) -> WindowAssigner {
        WindowAssigner::Session { gap: gap_ms }
    }
}

/// `TumblingProcessingTimeWindows.of(size)`.
pub struct TumblingProcessingTimeWindows;

impl TumblingProcessingTimeWindows {
    /// Tumbling processing-time windows of `size_ms`.
    pub fn of(size_ms: i64) -> WindowAssigner {
        WindowAssigner::TumblingProcessingTime { size: size_ms, offset: 0 }
    }

    /// The same with window starts shifted by `offset_ms`.
    pub fn with_offset(size_ms: i64, offset_ms: i64) -> WindowAssigner {
        WindowAssigner::TumblingProcessingTime { size: size_ms, offset: offset_ms }
    }
}

/// `SlidingProcessingTimeWindows.of(size, slide)`.
pub struct SlidingProcessingTimeWindows;

impl SlidingProcessingTimeWindows {
    /// Sliding processing-time windows of `size_ms`, one starting every `slide_ms`.
    pub fn of(size_ms: i64, slide_ms: i64) -> WindowAssigner {
        WindowAssigner::SlidingProcessingTime { size: size_ms, slide: slide_ms, offset: 0 }
    }
}

/// `ProcessingTimeSessionWindows.withGap(gap)`.
pub struct ProcessingTimeSessionWindows;

impl ProcessingTimeSessionWindows {
    /// Processing-time sessions closed by `gap_ms` without elements.
    pub fn with_gap(gap_ms: i64) -> WindowAssigner {
        WindowAssigner::ProcessingTimeSession { gap: gap_ms }
    }
}

/// `GlobalWindows.create()`.
pub struct GlobalWindows;

impl GlobalWindows {
    /// One global window per key.
    pub fn create() -> WindowAssigner {
        WindowAssigner::Global
    }
}

impl WindowAssigner {
    /// Checks Flink's preconditions; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Self::Tumbling { size, offset } | Self::TumblingProcessingTime { size, offset }
                if size <= 0 || offset.abs() >= size =>
            {
                Err(format!(
                    "tumbling window parameters must satisfy abs(offset) < size, got size {size} ms, offset {offset} ms"
                ))
            }
            Self::Sliding { size, slide, offset } | Self::SlidingProcessingTime { size, slide, offset }
                if size <= 0 || slide <= 0 || offset.abs() >= slide =>
            {
                Err(format!(
                    "sliding window parameters must satisfy abs(offset) < slide and size > 0, got size {size} ms, slide {slide} ms, offset {offset} ms"
                ))
            }
            Self::Session { gap } | Self::ProcessingTimeSession { gap } if gap <= 0 => {
                Err(format!("session window parameters must satisfy 0 < size, got gap {gap} ms"))
            }
            _ => Ok(()),
        }
    }

    /// Whether windows are in event time (they then need timestamps and watermarks).
    pub fn is_event_time(&self) -> bool {
        matches!(self, Self::Tumbling { .. } | Self::Sliding { .. } | Self::Session { .. })
    }

    /// Whether windows of a key merge (sessions).
    pub fn is_merging(&self) -> bool {
        matches!(self, Self::Session { .. } | Self::ProcessingTimeSession { .. })
    }

    /// Whether every element belongs to exactly one window that never merges (tumbling and
    /// global windows), so that a key's windows follow one another in time.
    pub fn assigns_one_window(&self) -> bool {
        matches!(self, Self::Tumbling { .. } | Self::TumblingProcessingTime { .. } | Self::Global)
    }

    /// Pushes the windows of an element onto `out`: by its `timestamp` for event-time
    /// assigners, by the processing time `now` for processing-time ones.
    pub fn assign_windows(&self, timestamp: i64, now: i64, out: &mut Vec<Window>) {
        match *self {
            Self::TumblingProcessingTime { size, offset } => {
                Self::Tumbling { size, offset }.assign_windows(now, now, out)
            }
            Self::SlidingProcessingTime { size, slide, offset } => {
                Self::Sliding { size, slide, offset }.assign_windows(now, now, out)
            }
            Self::ProcessingTimeSession { gap } => Self::Session { gap }.assign_windows(now, now, out),
            Self::Tumbling { size, offset } => {
                let start = window_start_with_offset(timestamp, offset, size);
                out.push(Window::Time(TimeWindow::new(start, start + size)));
            }
            Self::Sliding { size, slide, offset } => {
                let last = window_start_with_offset(timestamp, offset, slide);
                let mut start = last;
                while start > timestamp - size {
                    out.push(Window::Time(TimeWindow::new(start, start + size)));
                    start -= slide;
                }
            }
            Self::Session { gap } => out.push(Window::Time(TimeWindow::new(timestamp, timestamp + gap))),
            Self::Global => out.push(Window::Global),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assign(assigner: WindowAssigner, ts: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        assigner.assign_windows(ts, ts, &mut out);
        out.into_iter().map(|w| (w.start(), w.end())).collect()
    }

    #[test]
    fn sliding_windows_per_element() {
        assert_eq!(assign(SlidingEventTimeWindows::of(5000, 1000), 0).len(), 5);
        assert_eq!(assign(SlidingEventTimeWindows::of(5000, 2000), 0).len(), 3);
        assert_eq!(assign(SlidingEventTimeWindows::of(5000, 2000), 1999).len(), 2);
    }

    /// The heap lays out window contents per window only where a key's windows follow one
    /// another: one window per element, never merged.
    #[test]
    fn only_tumbling_and_global_assign_one_window() {
        for one in [TumblingEventTimeWindows::of(10), TumblingProcessingTimeWindows::of(10), GlobalWindows::create()] {
            assert!(one.assigns_one_window() && !one.is_merging(), "{one:?}");
        }
        for many in [
            SlidingEventTimeWindows::of(10, 5),
            SlidingProcessingTimeWindows::of(10, 5),
            EventTimeSessionWindows::with_gap(10),
            ProcessingTimeSessionWindows::with_gap(10),
        ] {
            assert!(!many.assigns_one_window(), "{many:?}");
        }
    }

    #[test]
    fn preconditions() {
        assert!(
            TumblingEventTimeWindows::with_offset(5000, 5000).validate().unwrap_err().contains("abs(offset) < size")
        );
        assert!(SlidingEventTimeWindows::of(0, 10).validate().is_err());
        assert!(EventTimeSessionWindows::with_gap(0).validate().unwrap_err().contains("0 < size"));
        assert!(TumblingEventTimeWindows::with_offset(5000, -100).validate().is_ok());
    }
}
