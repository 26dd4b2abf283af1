//! Sources, sinks, backpressure and the end of bounded input.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use streamcrab::error::{JobError, TaskError};
use streamcrab::exchange::{BATCH_SIZE, CHANNEL_CAPACITY};
use streamcrab::prelude::*;
use streamcrab::state::OperatorListState;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamcrab-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bounded_generator_and_sequence_sources_split_over_subtasks() {
    let env = StreamExecutionEnvironment::new("generators");
    env.set_parallelism(3);
    let squares = env.from_fn(|i| (i < 10).then_some(i * i)).collect_to_vec();
    let sequence = env.from_sequence(-50, 49).collect_to_vec();
    env.execute().unwrap();
    let mut squares = squares.values();
    squares.sort();
    assert_eq!(squares, (0..10u64).map(|i| i * i).collect::<Vec<_>>());
    let mut sequence = sequence.values();
    sequence.sort();
    assert_eq!(sequence, (-50..=49).collect::<Vec<i64>>());
}

#[test]
fn text_file_source_and_sink_round_trip() {
    let dir = scratch("text");
    let input = dir.join("in.txt");
    std::fs::write(&input, "alpha\nbeta\n\ngamma\n").unwrap();
    let single = dir.join("out.txt");
    let parallel = dir.join("out-dir");
    let env = StreamExecutionEnvironment::new("files");
    env.read_text_file(&input).map(|l: String| l.to_uppercase()).write_as_text(&single);
    env.read_text_file(&input)
        .rebalance()
        .map(|l: String| l.len())
        .set_parallelism(2)
        .write_as_text(&parallel)
        .set_parallelism(2);
    env.execute().unwrap();
    assert_eq!(std::fs::read_to_string(&single).unwrap(), "ALPHA\nBETA\n\nGAMMA\n");
    let mut lengths: Vec<String> = ["1", "2"]
        .iter()
        .flat_map(|f| std::fs::read_to_string(parallel.join(f)).unwrap().lines().map(String::from).collect::<Vec<_>>())
        .collect();
    lengths.sort();
    assert_eq!(lengths, vec!["0", "4", "5", "5"]);
}

#[test]
fn a_missing_input_file_is_an_error_naming_it() {
    let dir = scratch("missing");
    let env = StreamExecutionEnvironment::new("missing-file");
    env.read_text_file(dir.join("nope.txt")).print();
    let err = env.execute().unwrap_err();
    let Some(TaskError::Io { path, .. }) = err.task_error() else { panic!("{err}") };
    assert!(path.ends_with("nope.txt"), "{path}");
}

/// A user source that keeps its position in operator state and emits `count` numbers per
/// subtask, each tagged with the subtask.
#[derive(Clone)]
struct Counter {
    count: u64,
    position: Option<OperatorListState<u64>>,
}

impl SourceFunction<(u32, u64)> for Counter {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.position = Some(ctx.get_operator_list_state(&ListStateDescriptor::new("position"))?);
        Ok(())
    }

    fn run(&mut self, ctx: &mut SourceContext<'_, (u32, u64)>) -> UserResult {
        let position = self.position.expect("opened");
        loop {
            let next = position.get(ctx)?.first().copied().unwrap_or(0);
            if next == self.count {
                return Ok(());
            }
            let subtask = ctx.subtask_index();
            ctx.collect((subtask, next))?;
            position.update(ctx, vec![next + 1])?;
        }
    }
}

#[test]
fn user_source_function_with_operator_state_runs_per_subtask() {
    let env = StreamExecutionEnvironment::new("user-source");
    env.set_parallelism(2);
    let out = env.add_source(Counter { count: 3, position: None }).collect_to_vec();
    env.execute().unwrap();
    let mut values = out.values();
    values.sort();
    assert_eq!(values, vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
}

/// A sink that takes `pause` per record and counts what it received.
#[derive(Clone)]
struct SlowSink {
    received: Arc<AtomicU64>,
    pause: Duration,
}

impl SinkFunction<u64> for SlowSink {
    fn invoke(&mut self, _value: u64, _ctx: &mut SinkContext<'_>) -> UserResult {
        std::thread::sleep(self.pause);
        self.received.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Backpressure: a fast unbounded source is slowed to a slow sink's pace. The records between
/// them are bounded by the channel capacity (plus one batch on each side), whatever the run time.
#[test]
fn a_slow_sink_slows_an_unbounded_source_with_bounded_buffering() {
    let emitted = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let env = StreamExecutionEnvironment::new("backpressure");
    let counter = emitted.clone();
    env.from_fn(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(i)
    })
    .rebalance()
    .add_sink(SlowSink { received: received.clone(), pause: Duration::from_micros(50) });
    let job = env.execute_async().unwrap();

    let bound = ((CHANNEL_CAPACITY + 2) * BATCH_SIZE) as u64;
    let mut largest_gap = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::SeqCst) < 4 * bound && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        let (r, e) = (received.load(Ordering::SeqCst), emitted.load(Ordering::SeqCst));
        largest_gap = largest_gap.max(e.saturating_sub(r));
    }
    job.cancel();
    assert!(matches!(job.join(), Err(JobError::Cancelled)));
    assert!(received.load(Ordering::SeqCst) >= 4 * bound, "the sink received too little");
    assert!(largest_gap <= bound, "{largest_gap} records in flight, bound {bound}");
}

#[test]
fn records_of_a_slow_unbounded_source_are_not_held_back_in_batches() {
    let received = Arc::new(AtomicU64::new(0));
    let env = StreamExecutionEnvironment::new("latency");
    env.from_fn(|i| {
        std::thread::sleep(Duration::from_millis(2));
        Some(i)
    })
    .rebalance()
    .add_sink(SlowSink { received: received.clone(), pause: Duration::ZERO });
    let job = env.execute_async().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    job.cancel();
    let _ = job.join();
    assert!(received.load(Ordering::SeqCst) >= 3, "records stayed in a half-full batch");
}
