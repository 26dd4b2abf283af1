//! Event time and processing time through the public API: watermark strategies, timers,
//! windows beyond the conformance cases, and bad input.

use std::collections::BTreeMap;
use std::time::Duration;

use streamcrab::element::{StreamElement, Watermark, WatermarkStatus};
use streamcrab::error::TaskError;
use streamcrab::operator::OperatorId;
use streamcrab::prelude::*;
use streamcrab::testing::{KeyedOneInputHarness, OneInputHarness};
use streamcrab::timer::TimeDomain;
use streamcrab::watermark::{TimestampsStage, WatermarkStrategy};
use streamcrab::window::{
    LATE_RECORDS_DROPPED, ReduceContents, Trigger, TumblingEventTimeWindows, TumblingProcessingTimeWindows,
    WindowSettings, WindowStage,
};

/// Emits `(key, value)` pairs with timestamps, explicit watermarks in between.
#[derive(Clone)]
struct Scripted(Vec<Step>);

#[derive(Clone)]
enum Step {
    Record(&'static str, i64, i64),
    Watermark(i64),
}

impl SourceFunction<(String, i64)> for Scripted {
    fn run(&mut self, ctx: &mut SourceContext<'_, (String, i64)>) -> UserResult {
        for step in &self.0 {
            match step {
                Step::Record(k, v, ts) => ctx.collect_with_timestamp((k.to_string(), *v), *ts)?,
                Step::Watermark(w) => ctx.emit_watermark(*w)?,
            }
        }
        Ok(())
    }
}

/// `assign_timestamps_and_watermarks` with bounded out-of-orderness: with disorder below the
/// bound nothing is late, so every window holds all its elements whatever the watermark timing.
#[test]
fn bounded_out_of_orderness_windows_lose_nothing() {
    let events: Vec<(String, i64, i64)> =
        (0..2000i64).map(|i| (format!("k{}", i % 7), i % 13, i * 10 - (i * 7919) % 300)).collect();
    let env = StreamExecutionEnvironment::new("bounded-ooo");
    env.set_parallelism(2);
    let strategy = WatermarkStrategy::for_bounded_out_of_orderness(300)
        .with_timestamp_assigner(|e: &(String, i64, i64), _| e.2)
        .with_auto_watermark_interval(Duration::ZERO);
    let out = env
        .from_iter(events.clone())
        .assign_timestamps_and_watermarks(strategy)
        .key_by(|e: &(String, i64, i64)| e.0.clone())
        .window(TumblingEventTimeWindows::of(1000))
        .reduce(|a, b| (a.0, a.1 + b.1, a.2.max(b.2)))
        .collect_to_vec();
    env.execute().unwrap();

    let mut expected: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for (k, v, ts) in &events {
        *expected.entry((k.clone(), ts.div_euclid(1000) * 1000 + 999)).or_default() += v;
    }
    let got: BTreeMap<(String, i64), i64> =
        out.records().into_iter().map(|r| ((r.value.0.clone(), r.timestamp.unwrap()), r.value.1)).collect();
    assert_eq!(got, expected);
    assert_eq!(out.len(), expected.len(), "each window fires once");
}

#[test]
fn timestamps_operator_emits_periodically_and_marks_idleness_on_processing_time() {
    let strategy = WatermarkStrategy::for_bounded_out_of_orderness(10)
        .with_auto_watermark_interval(Duration::from_millis(100))
        .with_idleness(Duration::from_millis(500));
    let mut h = OneInputHarness::new("timestamps", TimestampsStage::new(strategy, OperatorId(0)));
    h.set_processing_time(1).unwrap();
    h.process_element_at(1, 1000).unwrap();
    h.process_element_at(2, 900).unwrap();
    h.set_processing_time(50).unwrap();
    h.set_processing_time(101).unwrap();
    h.set_processing_time(700).unwrap();
    h.process_element_at(3, 2000).unwrap();
    h.set_processing_time(801).unwrap();
    let controls: Vec<_> = h.output().into_iter().filter(|e| !matches!(e, StreamElement::Record(_))).collect();
    assert_eq!(
        controls,
        vec![
            StreamElement::Watermark(Watermark(989)),
            StreamElement::WatermarkStatus(WatermarkStatus::Idle),
            StreamElement::WatermarkStatus(WatermarkStatus::Active),
            StreamElement::Watermark(Watermark(1989)),
        ]
    );
}

/// A processing-time timer: fires when the clock reaches it; its output has no timestamp.
#[derive(Clone)]
struct Reminder;

impl KeyedProcessFunction<String, String, (String, i64, Option<TimeDomain>)> for Reminder {
    fn process_element(
        &mut self,
        value: String,
        ctx: &mut KeyedContext<'_, String>,
        _: &mut Collector<'_, (String, i64, Option<TimeDomain>)>,
    ) -> UserResult {
        let at = ctx.current_processing_time() + 100;
        ctx.register_processing_time_timer(at);
        ctx.register_processing_time_timer(at);
        if value == "cancel" {
            ctx.delete_processing_time_timer(at);
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Collector<'_, (String, i64, Option<TimeDomain>)>,
    ) -> UserResult {
        out.collect((ctx.current_key().clone(), timestamp, ctx.time_domain()));
        Ok(())
    }
}

#[test]
fn processing_time_timers_fire_once_on_the_clock_without_timestamp() {
    let mut h = KeyedOneInputHarness::for_keyed_process(|s: &String| s.clone(), Reminder);
    h.set_processing_time(10).unwrap();
    h.process_element("a".to_string()).unwrap();
    h.process_element("cancel".to_string()).unwrap();
    h.set_processing_time(109).unwrap();
    assert!(h.records().is_empty());
    h.set_processing_time(500).unwrap();
    assert_eq!(h.records(), vec![StreamRecord::new(("a".to_string(), 110, Some(TimeDomain::ProcessingTime)))]);
}

fn settings(assigner: streamcrab::window::WindowAssigner, trigger: Option<Trigger>) -> WindowSettings {
    WindowSettings { assigner, trigger, evictor: None, allowed_lateness: 0, late_output: None }
}

fn window_harness(
    settings: WindowSettings,
) -> OneInputHarness<(char, i64), (char, i64), impl streamcrab::operator::Operator<(char, i64)>> {
    let stage = WindowStage::new(
        |e: &(char, i64)| e.0,
        ReduceContents::new(|a: (char, i64), b: (char, i64)| (a.0, a.1 + b.1)),
        settings,
        OperatorId(0),
    );
    OneInputHarness::new("window", stage)
}

/// Processing-time tumbling windows assign by the clock and fire when it reaches their end.
#[test]
fn processing_time_windows_follow_the_clock() {
    let settings = settings(TumblingProcessingTimeWindows::of(1000), None);
    let mut h = window_harness(settings);
    h.set_processing_time(100).unwrap();
    h.process_element(('a', 1)).unwrap();
    h.process_element(('a', 2)).unwrap();
    h.set_processing_time(998).unwrap();
    assert!(h.records().is_empty());
    h.set_processing_time(999).unwrap();
    assert_eq!(h.records(), vec![StreamRecord::with_timestamp(('a', 3), 999)]);
    h.set_processing_time(1000).unwrap();
    h.process_element(('a', 10)).unwrap();
    h.set_processing_time(2500).unwrap();
    assert_eq!(
        h.records(),
        vec![StreamRecord::with_timestamp(('a', 3), 999), StreamRecord::with_timestamp(('a', 10), 1999)]
    );
}

/// `ContinuousEventTimeTrigger.of(1 s)` on a 10 s window: early firings every second of event
/// time (accumulating), then the final one at the window's end.
#[test]
fn continuous_event_time_trigger_fires_early_and_at_the_end() {
    let settings = settings(TumblingEventTimeWindows::of(10_000), Some(Trigger::ContinuousEventTime(1000)));
    let mut h = window_harness(settings);
    h.process_element_at(('a', 1), 100).unwrap();
    h.process_watermark(999).unwrap();
    assert!(h.records().is_empty());
    h.process_watermark(1000).unwrap();
    h.process_element_at(('a', 2), 1500).unwrap();
    h.process_watermark(2000).unwrap();
    h.process_watermark(9999).unwrap();
    let values: Vec<i64> = h.values().into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, vec![1, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
}

/// `ContinuousProcessingTimeTrigger.of(1 s)`: firings every second of processing time, the
/// last one at the window's end.
#[test]
fn continuous_processing_time_trigger_fires_on_the_clock() {
    let settings = settings(TumblingProcessingTimeWindows::of(10_000), Some(Trigger::ContinuousProcessingTime(1000)));
    let mut h = window_harness(settings);
    h.set_processing_time(100).unwrap();
    h.process_element(('a', 1)).unwrap();
    h.set_processing_time(999).unwrap();
    assert!(h.records().is_empty());
    h.set_processing_time(1000).unwrap();
    h.process_element(('a', 2)).unwrap();
    h.set_processing_time(2000).unwrap();
    for t in (3000..=9000).step_by(1000) {
        h.set_processing_time(t).unwrap();
    }
    h.set_processing_time(20_000).unwrap();
    let values: Vec<i64> = h.values().into_iter().map(|(_, v)| v).collect();
    let mut expected = vec![1];
    expected.extend([3; 9]);
    assert_eq!(values, expected);
}

#[test]
fn a_record_without_timestamp_in_an_event_time_window_is_an_error() {
    let env = StreamExecutionEnvironment::new("no-timestamps");
    env.from_iter(vec![("a".to_string(), 1i64)])
        .key_by(|e: &(String, i64)| e.0.clone())
        .window(TumblingEventTimeWindows::of(1000))
        .reduce(|a, b| (a.0, a.1 + b.1))
        .name("needs time")
        .collect_to_vec();
    let err = env.execute().unwrap_err();
    assert!(
        matches!(err.task_error(), Some(TaskError::MissingTimestamp { operator }) if operator == "needs time"),
        "{err}"
    );
}

/// Flink: an element late for all its windows, without a late side output, is dropped and
/// counted in `numLateRecordsDropped`.
#[test]
fn late_records_without_side_output_are_counted() {
    let env = StreamExecutionEnvironment::new("late-drop");
    let source = Scripted(vec![
        Step::Record("a", 1, 100),
        Step::Watermark(2000),
        Step::Record("a", 5, 200),
        Step::Record("a", 7, 300),
        Step::Record("a", 9, 2500),
    ]);
    let out = env
        .add_source(source)
        .key_by(|e: &(String, i64)| e.0.clone())
        .window(TumblingEventTimeWindows::of(1000))
        .reduce(|a, b| (a.0, a.1 + b.1))
        .name("windows")
        .collect_to_vec();
    let result = env.execute().unwrap();
    assert_eq!(out.values(), vec![("a".to_string(), 1), ("a".to_string(), 9)]);
    assert_eq!(result.metrics().counter("windows", LATE_RECORDS_DROPPED), 2);
}

#[test]
fn window_all_counts_over_the_whole_stream_with_parallelism_one() {
    let env = StreamExecutionEnvironment::new("window-all");
    env.set_parallelism(3);
    let out = env
        .from_iter(1..=10i64)
        .window_all(streamcrab::window::GlobalWindows::create())
        .trigger(Trigger::Purging(Box::new(Trigger::Count(4))));
    let out = out.reduce(|a, b| a + b).collect_to_vec();
    let description = env.describe();
    env.execute().unwrap();
    // Two full count windows of 4 elements; the incomplete one never fires (Flink §1.10). The
    // sink runs with parallelism 3, so the order in which its subtasks hand results back is free.
    let mut sums = out.values();
    sums.sort();
    assert_eq!(sums, vec![1 + 2 + 3 + 4, 5 + 6 + 7 + 8]);
    assert!(description.contains("Window(Reduce) (parallelism 1)"), "{description}");
}

#[test]
fn invalid_window_parameters_are_rejected() {
    let env = StreamExecutionEnvironment::new("bad-window");
    env.from_iter(vec![1i64])
        .key_by(|x: &i64| *x)
        .window(TumblingEventTimeWindows::with_offset(1000, 1000))
        .allowed_lateness(-5)
        .reduce(|a, b| a + b)
        .print();
    let err = env.execute().unwrap_err().to_string();
    assert!(err.contains("abs(offset) < size") && err.contains("allowed lateness must not be negative"), "{err}");
}
