//! Throughput of the runtime core beside a hand-written loop of the same computation, in the
//! same run: WordCount (flat_map -> key_by -> rolling sum) at parallelism 1 and 2, a
//! map -> filter -> map chain over `from_sequence`, and a 5-stage stateless chain written with
//! the builder and with `dataflow!`. Inputs and checksums are those of
//! `../shared/bench/flink` (`mix64`, the 10,000-word vocabulary), so the checksums can be
//! compared with Flink's for the same `n`. WordCount has a second floor, `loop, owned records`:
//! the same loop with a `String` per word and a cloned output, the least work an engine that
//! moves owned records does (the first floor borrows every word from the line). `inline words`
//! is the builder job with a word type that stores short strings inline (`compact_str`), so no
//! record allocates: what a `String` per word costs an engine that moves records between threads.
//!
//! WindowAgg (bounded out-of-orderness 1 s -> key_by -> tumbling 10 s event-time window ->
//! aggregate + window end) is there too, also with Flink's generator and checksum. Every job
//! runs as a builder job, as a `dataflow!` job and as a hand-written loop. WindowAgg also runs
//! with a checkpoint every second (the overhead of checkpointing), and `recovery` measures how
//! long a WindowAgg job checkpointing every 100 ms takes from a failure to reading input again.
//! `latency` (only when asked for) runs WindowAgg with its source paced at half the measured
//! peak and reports the p50/p99 delay from a window's closing watermark to its result.
//!
//! `bigstate` (only when asked for) is WindowAgg with 10 million distinct keys
//! (`key(i) = mix64(i mod keys)`, as `bench/flink`'s `WindowAggKeys`), on the heap and, with the
//! `rocksdb` feature, on RocksDB (with its default in-memory write tier, without it, and with a
//! checkpoint every 10 s into file storage, incremental).
//!
//! `cargo bench -p streamcrab --bench core -- [lines=N] [longs=N] [events=N] [keys=N] [runs=N] [only=job,job,recovery,latency,bigstate] [config=TEXT]`
//! (`config=` keeps the configurations whose name contains TEXT, e.g. `config=rocksdb`;
//! arguments `state.backend.rocksdb.<option>=<value>` configure the RocksDB runs with Flink's keys)
//! (`bench/compare.sh` runs it interleaved with Apache Flink.)

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamcrab::checkpoint::RestartStrategy;
use streamcrab::prelude::*;
use streamcrab::state::StateBackend;
use streamcrab::watermark::WatermarkStrategy;
use streamcrab::window::{ProcessWindowContext, ProcessWindowFunction, TumblingEventTimeWindows};

// Records cross threads (allocated by the source, freed downstream): glibc's allocator spends
// most of WordCount's time on that; a job binary should pick a thread-friendly allocator.
// jemalloc handles that pattern better than mimalloc here (interleaved, 2026-12-01: WordCount
// p=1 4.8 M words/s against 4.3 M, p=2 5.65 M against 4.6 M; notes/allocator-ab-2026-12-01.txt).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a64(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn vocabulary() -> Vec<String> {
    (0..10_000u64)
        .map(|k| {
            let mut word: String =
                [(k / 676) % 26, (k / 26) % 26, k % 26].iter().map(|d| char::from(b'a' + *d as u8)).collect();
            let mut h = mix64(!k);
            for _ in 0..h % 6 {
                h = mix64(h);
                word.push(char::from(b'a' + (h % 26) as u8));
            }
            word
        })
        .collect()
}

fn line(vocab: &[String], i: u64) -> String {
    let mut line = String::with_capacity(100);
    write_line(vocab, i, &mut line);
    line
}

/// Line `i` into `line` (cleared first).
fn write_line(vocab: &[String], i: u64, line: &mut String) {
    line.clear();
    for j in 0..10 {
        if j > 0 {
            line.push(' ');
        }
        line.push_str(&vocab[(mix64(10 * i + j) % 10_000) as usize]);
    }
}

/// With `sink=discard`, sinks pass each output through `black_box` instead of adding up its
/// checksum: what the Flink and Rust peers' timing runs do (their checksums come from separate
/// `check=true` runs, ours from the default `sink=checksum`).
static DISCARD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn discarding() -> bool {
    DISCARD.load(Ordering::Relaxed)
}

/// Adds the checksum of `output` to `total`, or passes it through `black_box` when discarding.
#[inline(always)]
fn sink_output<T>(discard: bool, total: &mut u64, output: T, checksum: impl FnOnce(&T) -> u64) {
    if discard {
        black_box(output);
    } else {
        *total = total.wrapping_add(checksum(&output));
    }
}

fn word_checksum(word: &str, count: u64) -> u64 {
    mix64(fnv1a64(word) ^ mix64(count))
}

#[derive(Clone)]
struct ChecksumSink {
    total: Arc<AtomicU64>,
    count: Arc<AtomicU64>,
    local: (u64, u64),
    discard: bool,
}

impl ChecksumSink {
    fn new() -> Self {
        Self { total: Arc::default(), count: Arc::default(), local: (0, 0), discard: discarding() }
    }
    fn result(&self) -> (u64, u64) {
        (self.count.load(Ordering::SeqCst), self.total.load(Ordering::SeqCst))
    }
}

/// The checksum sink as a two-phase-commit sink: each transaction carries its partial sums,
/// committed once (by id) into the shared totals, so a restarted job counts every record once.
#[derive(Clone)]
struct ExactlyOnceChecksum {
    sink: ChecksumSink,
    committed: Arc<Mutex<std::collections::HashSet<u64>>>,
    next_id: Arc<AtomicU64>,
}

impl ExactlyOnceChecksum {
    fn new() -> Self {
        Self { sink: ChecksumSink::new(), committed: Arc::default(), next_id: Arc::default() }
    }
}

impl<T: Checksum> streamcrab::two_phase::TwoPhaseCommitSink<T> for ExactlyOnceChecksum {
    /// `(id, count, checksum)`.
    type Transaction = (u64, u64, u64);
    fn begin_transaction(&mut self) -> UserResult<(u64, u64, u64)> {
        Ok((self.next_id.fetch_add(1, Ordering::SeqCst), 0, 0))
    }
    fn invoke(&mut self, t: &mut (u64, u64, u64), value: T, _: Option<i64>) -> UserResult {
        t.1 += 1;
        t.2 = t.2.wrapping_add(value.checksum());
        Ok(())
    }
    fn pre_commit(&mut self, _: &mut (u64, u64, u64)) -> UserResult {
        Ok(())
    }
    fn commit(&mut self, (id, count, checksum): (u64, u64, u64)) -> UserResult {
        if self.committed.lock().map_err(|_| "poisoned")?.insert(id) {
            self.sink.count.fetch_add(count, Ordering::SeqCst);
            self.sink.total.fetch_add(checksum, Ordering::SeqCst);
        }
        Ok(())
    }
    fn abort(&mut self, _: (u64, u64, u64)) -> UserResult {
        Ok(())
    }
}

trait Checksum {
    fn checksum(&self) -> u64;
}

impl Checksum for (String, u64) {
    fn checksum(&self) -> u64 {
        word_checksum(&self.0, self.1)
    }
}

impl Checksum for u64 {
    fn checksum(&self) -> u64 {
        mix64(*self)
    }
}

impl<T: Checksum> SinkFunction<T> for ChecksumSink {
    #[inline]
    fn invoke(&mut self, value: T, _ctx: &mut SinkContext<'_>) -> UserResult {
        self.local.0 += 1;
        sink_output(self.discard, &mut self.local.1, value, T::checksum);
        Ok(())
    }
    fn finish(&mut self) -> UserResult {
        self.count.fetch_add(self.local.0, Ordering::SeqCst);
        self.total.fetch_add(self.local.1, Ordering::SeqCst);
        Ok(())
    }
}

type Outcome = (Duration, (u64, u64));

fn wordcount_engine(lines: u64, parallelism: u32) -> Outcome {
    let vocab = Arc::new(vocabulary());
    let sink = ChecksumSink::new();
    let env = StreamExecutionEnvironment::new("wordcount");
    env.set_parallelism(parallelism);
    env.from_fn(move |i| (i < lines).then(|| line(&vocab, i)))
        .flat_map(|l: String| l.split(' ').map(|w| (w.to_string(), 1u64)).collect::<Vec<_>>())
        .key_by(|(w, _): &(String, u64)| w.clone())
        .sum(|(_, c): &mut (String, u64)| c)
        .add_sink(sink.clone());
    let start = Instant::now();
    env.execute().expect("wordcount job");
    (start.elapsed(), sink.result())
}

fn wordcount_pipeline(lines: u64, parallelism: u32) -> Outcome {
    let vocab = Arc::new(vocabulary());
    let sink = ChecksumSink::new();
    let out = sink.clone();
    let job = streamcrab::dataflow!(|env| {
        env.set_parallelism(parallelism);
        env.from_fn(move |i| (i < lines).then(|| line(&vocab, i)))
            .flat_map(|l: String| l.split(' ').map(|w| (w.to_string(), 1u64)).collect::<Vec<_>>())
            .key_by(|(w, _): &(String, u64)| w.clone())
            .sum(|(_, c): &mut (String, u64)| c)
            .add_sink(out);
    });
    let start = Instant::now();
    job.execute().expect("wordcount pipeline");
    (start.elapsed(), sink.result())
}

/// A word stored inline (up to 24 bytes, every word of the vocabulary): no allocation per word.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
struct Word(compact_str::CompactString);

impl streamcrab::keygroup::KeyHash for Word {
    fn key_hash(&self) -> i32 {
        self.0.as_str().key_hash()
    }
}

impl Checksum for (Word, u64) {
    fn checksum(&self) -> u64 {
        word_checksum(&self.0.0, self.1)
    }
}

/// WordCount with [`Word`] records instead of a `String` per word.
fn wordcount_inline_words(lines: u64, parallelism: u32) -> Outcome {
    let vocab = Arc::new(vocabulary());
    let sink = ChecksumSink::new();
    let env = StreamExecutionEnvironment::new("wordcount");
    env.set_parallelism(parallelism);
    env.from_fn(move |i| (i < lines).then(|| line(&vocab, i)))
        .flat_map(|l: String| l.split(' ').map(|w| (Word(w.into()), 1u64)).collect::<Vec<_>>())
        .key_by(|(w, _): &(Word, u64)| w.clone())
        .sum(|(_, c): &mut (Word, u64)| c)
        .add_sink(sink.clone());
    let start = Instant::now();
    env.execute().expect("wordcount job");
    (start.elapsed(), sink.result())
}

/// As `../shared/bench`'s floor: one reused line buffer, a key allocated only for a new word.
fn wordcount_hand(lines: u64) -> Outcome {
    let (vocab, discard) = (vocabulary(), discarding());
    let start = Instant::now();
    let mut counts: hashbrown::HashMap<String, u64> = hashbrown::HashMap::new();
    let (mut n, mut total) = (0u64, 0u64);
    let mut line = String::with_capacity(100);
    for i in 0..lines {
        write_line(&vocab, i, &mut line);
        for word in line.split(' ') {
            let c = match counts.get_mut(word) {
                Some(c) => {
                    *c += 1;
                    *c
                }
                None => *counts.entry(word.to_string()).or_insert(1),
            };
            n += 1;
            sink_output(discard, &mut total, (word, c), |(w, c)| word_checksum(w, *c));
        }
    }
    (start.elapsed(), (n, black_box(total)))
}

/// The floor for an engine that moves owned records, on one thread: a `String` per word (what
/// `flat_map` hands on), the key's `(String, u64)` in a hash map (looked up by reference), and
/// every output a clone of it (what a rolling reduce emits). No channel, no key selector.
fn wordcount_owned_records(lines: u64) -> Outcome {
    let (vocab, discard) = (vocabulary(), discarding());
    let start = Instant::now();
    let mut state: hashbrown::HashMap<String, (String, u64)> = hashbrown::HashMap::new();
    let (mut n, mut total) = (0u64, 0u64);
    let mut line = String::with_capacity(100);
    for i in 0..lines {
        write_line(&vocab, i, &mut line);
        for word in line.split(' ') {
            let record = (word.to_string(), 1u64);
            let output = match state.get_mut(&record.0) {
                Some(acc) => {
                    acc.1 += record.1;
                    acc.clone()
                }
                None => {
                    state.insert(record.0.clone(), record.clone());
                    record
                }
            };
            n += 1;
            sink_output(discard, &mut total, output, |(w, c)| word_checksum(w, *c));
        }
    }
    (start.elapsed(), (n, black_box(total)))
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mapfilter_engine(longs: u64) -> Outcome {
    let sink = ChecksumSink::new();
    let env = StreamExecutionEnvironment::new("mapfilter");
    env.from_sequence(0, longs as i64 - 1)
        .map(|x: i64| (x as u64).wrapping_mul(GOLDEN))
        .filter(|x: &u64| x & 3 != 0)
        .map(|x: u64| x ^ (x >> 29))
        .add_sink(sink.clone());
    let start = Instant::now();
    env.execute().expect("mapfilter job");
    (start.elapsed(), sink.result())
}

fn mapfilter_pipeline(longs: u64) -> Outcome {
    let sink = ChecksumSink::new();
    let out = sink.clone();
    let job = streamcrab::dataflow!(|env| {
        env.from_sequence(0, longs as i64 - 1)
            .map(|x: i64| (x as u64).wrapping_mul(GOLDEN))
            .filter(|x: &u64| x & 3 != 0)
            .map(|x: u64| x ^ (x >> 29))
            .add_sink(out);
    });
    let start = Instant::now();
    job.execute().expect("mapfilter pipeline");
    (start.elapsed(), sink.result())
}

fn mapfilter_hand(longs: u64) -> Outcome {
    let discard = discarding();
    let start = Instant::now();
    let (mut n, mut total) = (0u64, 0u64);
    for x in 0..black_box(longs) {
        let x = x.wrapping_mul(GOLDEN);
        if x & 3 != 0 {
            let y = x ^ (x >> 29);
            n += 1;
            sink_output(discard, &mut total, y, |y| mix64(*y));
        }
    }
    (start.elapsed(), (n, black_box(total)))
}

fn chain5_builder(longs: u64) -> Outcome {
    let sink = ChecksumSink::new();
    let env = StreamExecutionEnvironment::new("chain5");
    env.from_sequence(0, longs as i64 - 1)
        .map(|x: i64| (x as u64).wrapping_mul(GOLDEN))
        .filter(|x: &u64| x & 3 != 0)
        .map(|x: u64| x ^ (x >> 29))
        .map(|x: u64| x.rotate_left(7))
        .filter(|x: &u64| x & 0x10 == 0)
        .add_sink(sink.clone());
    let start = Instant::now();
    env.execute().expect("chain5 job");
    (start.elapsed(), sink.result())
}

fn chain5_pipeline(longs: u64) -> Outcome {
    let sink = ChecksumSink::new();
    let out = sink.clone();
    let job = streamcrab::dataflow!(|env| {
        env.from_sequence(0, longs as i64 - 1)
            .map(|x: i64| (x as u64).wrapping_mul(GOLDEN))
            .filter(|x: &u64| x & 3 != 0)
            .map(|x: u64| x ^ (x >> 29))
            .map(|x: u64| x.rotate_left(7))
            .filter(|x: &u64| x & 0x10 == 0)
            .add_sink(out);
    });
    let start = Instant::now();
    job.execute().expect("chain5 pipeline");
    (start.elapsed(), sink.result())
}

fn chain5_hand(longs: u64) -> Outcome {
    let discard = discarding();
    let start = Instant::now();
    let (mut n, mut total) = (0u64, 0u64);
    for x in 0..black_box(longs) {
        let x = x.wrapping_mul(GOLDEN);
        if x & 3 != 0 {
            let y = (x ^ (x >> 29)).rotate_left(7);
            if y & 0x10 == 0 {
                n += 1;
                sink_output(discard, &mut total, y, |y| mix64(*y));
            }
        }
    }
    (start.elapsed(), (n, black_box(total)))
}

/// WindowAgg's event `i`: `(key, timestamp, value)`, 100,000 events per event-time second,
/// up to 1 s out of order.
fn window_event(i: u64) -> (u64, i64, u64) {
    let key = mix64(i) % 10_000;
    let ts = 1000 + (i * 1000 / 100_000) as i64 - (mix64(i ^ 0x5DEE_CE66D) % 1000) as i64;
    (key, ts, mix64(i ^ 0xAB_CDEF) % 1000)
}

fn window_checksum(key: u64, end: i64, sum: u64, count: u64) -> u64 {
    mix64(mix64(mix64(mix64(key) ^ end as u64) ^ sum) ^ count)
}

impl Checksum for (u64, i64, u64, u64) {
    fn checksum(&self) -> u64 {
        window_checksum(self.0, self.1, self.2, self.3)
    }
}

/// Sum and count of the values of a window.
#[derive(Clone)]
struct SumCount;

impl AggregateFunction<(u64, i64, u64)> for SumCount {
    type Acc = (u64, u64);
    type Out = (u64, u64);
    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, value: (u64, i64, u64), acc: &mut (u64, u64)) {
        acc.0 += value.2;
        acc.1 += 1;
    }
    fn get_result(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

/// Adds the key and the window end.
#[derive(Clone)]
struct WithEnd;

impl ProcessWindowFunction<u64, (u64, u64), (u64, i64, u64, u64)> for WithEnd {
    fn process(
        &mut self,
        key: &u64,
        ctx: &ProcessWindowContext<'_>,
        results: Vec<(u64, u64)>,
        out: &mut Collector<'_, (u64, i64, u64, u64)>,
    ) -> UserResult {
        for (sum, count) in results {
            out.collect((*key, ctx.window().end(), sum, count));
        }
        Ok(())
    }
}

fn windowagg_engine(events: u64, parallelism: u32, checkpoints: Option<Duration>) -> Outcome {
    let env = StreamExecutionEnvironment::new("windowagg");
    env.set_parallelism(parallelism);
    if let Some(interval) = checkpoints {
        env.enable_checkpointing(interval);
    }
    windowagg_on(&env, events, window_event)
}

/// Runs WindowAgg over `events` events made by `event` on `env`.
fn windowagg_on(
    env: &StreamExecutionEnvironment,
    events: u64,
    event: impl Fn(u64) -> (u64, i64, u64) + Clone + Send + 'static,
) -> Outcome {
    let sink = ChecksumSink::new();
    let watermarks =
        WatermarkStrategy::for_bounded_out_of_orderness(1000).with_timestamp_assigner(|e: &(u64, i64, u64), _| e.1);
    env.from_fn(move |i| (i < events).then(|| event(i)))
        .assign_timestamps_and_watermarks(watermarks)
        .key_by(|e: &(u64, i64, u64)| e.0)
        .window(TumblingEventTimeWindows::of(10_000))
        .aggregate_with_process(SumCount, WithEnd)
        .add_sink(sink.clone());
    let start = Instant::now();
    env.execute().expect("windowagg job");
    (start.elapsed(), sink.result())
}

fn windowagg_pipeline(events: u64, parallelism: u32) -> Outcome {
    let sink = ChecksumSink::new();
    let out = sink.clone();
    let job = streamcrab::dataflow!(|env| {
        env.set_parallelism(parallelism);
        let watermarks =
            WatermarkStrategy::for_bounded_out_of_orderness(1000).with_timestamp_assigner(|e: &(u64, i64, u64), _| e.1);
        env.from_fn(move |i| (i < events).then(|| window_event(i)))
            .assign_timestamps_and_watermarks(watermarks)
            .key_by(|e: &(u64, i64, u64)| e.0)
            .window(TumblingEventTimeWindows::of(10_000))
            .aggregate_with_process(SumCount, WithEnd)
            .add_sink(out);
    });
    let start = Instant::now();
    job.execute().expect("windowagg pipeline");
    (start.elapsed(), sink.result())
}

/// The WindowAgg job checkpointing every 100 ms, whose source fails once half-way: returns the
/// time from the failure to the first event the restarted job reads (restore and resume), and
/// the checksum.
fn windowagg_recovery(events: u64) -> (Duration, (u64, u64)) {
    let sink = ExactlyOnceChecksum::new();
    let env = StreamExecutionEnvironment::new("windowagg recovery");
    env.enable_checkpointing(Duration::from_millis(100))
        .set_restart_strategy(RestartStrategy::FixedDelay { attempts: 1, delay: Duration::ZERO });
    let failed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let resumed_after: Arc<Mutex<Option<Duration>>> = Arc::default();
    let (failure, resume) = (failed_at.clone(), resumed_after.clone());
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watermarks =
        WatermarkStrategy::for_bounded_out_of_orderness(1000).with_timestamp_assigner(|e: &(u64, i64, u64), _| e.1);
    env.from_fn(move |i| {
        if i == events / 2 && !failed.swap(true, Ordering::SeqCst) {
            *failure.lock().unwrap() = Some(Instant::now());
            panic!("injected failure");
        }
        if let Some(at) = *failure.lock().unwrap() {
            resume.lock().unwrap().get_or_insert_with(|| at.elapsed());
        }
        (i < events).then(|| window_event(i))
    })
    .assign_timestamps_and_watermarks(watermarks)
    .key_by(|e: &(u64, i64, u64)| e.0)
    .window(TumblingEventTimeWindows::of(10_000))
    .aggregate_with_process(SumCount, WithEnd)
    .add_two_phase_commit_sink(sink.clone());
    let result = env.execute().expect("windowagg recovers");
    assert_eq!(result.restarts(), 1);
    let resumed = resumed_after.lock().unwrap().expect("the job resumed");
    (resumed, sink.sink.result())
}

/// When each window of WindowAgg can close: the wall time (since the job's start) at which the
/// source's largest timestamp first reached `end + 1000` (the watermark trails it by 1 s).
type Closes = Arc<Mutex<HashMap<i64, Duration>>>;

/// Records, for every window result, its delay since its window could close.
#[derive(Clone)]
struct LatencySink {
    start: Instant,
    closes: Closes,
    delays_ms: Arc<Mutex<Vec<f64>>>,
}

impl SinkFunction<(u64, i64, u64, u64)> for LatencySink {
    fn invoke(&mut self, (_, end, _, _): (u64, i64, u64, u64), _: &mut SinkContext<'_>) -> UserResult {
        let now = self.start.elapsed();
        // Windows fired by the end of input never had a closing event: they are not counted.
        if let Some(closed) = self.closes.lock().map_err(|_| "poisoned")?.get(&end) {
            self.delays_ms.lock().map_err(|_| "poisoned")?.push((now.saturating_sub(*closed)).as_secs_f64() * 1000.0);
        }
        Ok(())
    }
}

/// WindowAgg at parallelism 1 with its source paced at `rate` events/s: the p50 and p99 delay
/// (ms) from the moment a window could close (its closing watermark was due) to its result at
/// the sink. Watermarks are emitted every 200 ms (Flink's default interval), which is part of
/// the delay.
fn windowagg_latency(events: u64, rate: f64) -> (f64, f64) {
    let start = Instant::now();
    let closes: Closes = Arc::default();
    let sink = LatencySink { start, closes: closes.clone(), delays_ms: Arc::default() };
    let env = StreamExecutionEnvironment::new("windowagg latency");
    let watermarks = WatermarkStrategy::for_bounded_out_of_orderness(1000)
        .with_timestamp_assigner(|e: &(u64, i64, u64), _| e.1)
        .with_auto_watermark_interval(Duration::from_millis(200));
    let (mut max_ts, mut next_end) = (i64::MIN, 10_000i64);
    env.from_fn(move |i| {
        if i.is_multiple_of(256) {
            let due = Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let event = window_event(i);
        if event.1 > max_ts {
            max_ts = event.1;
            while max_ts >= next_end + 1000 {
                closes.lock().expect("not poisoned").insert(next_end, start.elapsed());
                next_end += 10_000;
            }
        }
        (i < events).then_some(event)
    })
    .assign_timestamps_and_watermarks(watermarks)
    .key_by(|e: &(u64, i64, u64)| e.0)
    .window(TumblingEventTimeWindows::of(10_000))
    .aggregate_with_process(SumCount, WithEnd)
    .add_sink(sink.clone());
    env.execute().expect("windowagg latency job");
    let mut delays = std::mem::take(&mut *sink.delays_ms.lock().expect("not poisoned"));
    delays.sort_by(f64::total_cmp);
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

/// WindowAgg's event `i` with `keys` distinct keys instead of 10,000.
fn many_keys_event(i: u64, keys: u64) -> (u64, i64, u64) {
    let (_, ts, value) = window_event(i);
    (mix64(i % keys), ts, value)
}

/// WindowAgg over `keys` distinct keys with keyed state in `backend`; with a checkpoint
/// interval, checkpoints go to a temporary folder (incremental ones on RocksDB).
fn bigstate_engine(events: u64, keys: u64, backend: StateBackend, checkpoints: Option<Duration>) -> Outcome {
    let env = StreamExecutionEnvironment::new("bigstate");
    let storage = tempfile::tempdir().expect("a checkpoint folder");
    env.set_parallelism(1).set_state_backend(backend);
    if let Some(interval) = checkpoints {
        env.enable_checkpointing(interval).set_checkpoint_dir(storage.path());
    }
    windowagg_on(&env, events, move |i| many_keys_event(i, keys))
}

fn windowagg_hand(events: u64) -> Outcome {
    windowagg_hand_of(events, window_event)
}

/// The hand-written loop of WindowAgg over `events` events made by `event`.
fn windowagg_hand_of(events: u64, event: impl Fn(u64) -> (u64, i64, u64)) -> Outcome {
    let discard = discarding();
    let start = Instant::now();
    let mut windows: HashMap<(u64, i64), (u64, u64)> = HashMap::new();
    for i in 0..events {
        let (key, ts, value) = event(i);
        let acc = windows.entry((key, ts.div_euclid(10_000) * 10_000 + 10_000)).or_default();
        acc.0 += value;
        acc.1 += 1;
    }
    let (mut n, mut total) = (0u64, 0u64);
    for ((key, end), (sum, count)) in windows {
        n += 1;
        sink_output(discard, &mut total, (key, end, sum, count), |&(k, e, s, c)| window_checksum(k, e, s, c));
    }
    (start.elapsed(), (n, black_box(total)))
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat` (Linux clock ticks
/// of 10 ms); `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Resets the peak resident set size of this process (Linux `clear_refs` 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size since the last reset, in MiB (`VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Checksums Flink computed for the same jobs and `n` (../shared/bench/flink/README.md).
fn flink_checksum(job: &str, n: u64) -> Option<(u64, u64)> {
    match (job, n) {
        ("wordcount", 200_000) => Some((2_000_000, 5_209_496_234_821_382_903)),
        ("wordcount", 2_000_000) => Some((20_000_000, 4_268_405_462_986_879_544)),
        ("mapfilter", 1_000_000) => Some((750_000, 7_299_906_173_704_765_867)),
        ("mapfilter", 300_000_000) => Some((225_000_000, 4_490_388_647_967_883_129)),
        ("windowagg", 2_000_000) => Some((29_924, 7_559_516_588_894_046_775)),
        ("windowagg", 15_000_000) => Some((159_940, 17_593_447_193_885_757_402)),
        _ => None,
    }
}

type Job = Box<dyn Fn() -> Outcome>;

const SECOND: Duration = Duration::from_secs(1);

fn main() {
    let (mut lines, mut longs, mut events, mut runs) = (2_000_000u64, 300_000_000u64, 15_000_000u64, 5usize);
    let (mut keys, mut big_events) = (10_000_000u64, 10_000_000u64);
    let mut only: Vec<String> = Vec::new();
    let mut config_filter: Option<String> = None;
    #[allow(unused_mut)]
    let mut rocksdb_config: Vec<(String, String)> = vec![("state.backend.type".into(), "rocksdb".into())];
    for arg in std::env::args().skip(1) {
        match arg.split_once('=') {
            Some((key, v)) if key.starts_with("state.backend.rocksdb.") => rocksdb_config.push((key.into(), v.into())),
            Some(("lines", v)) => lines = v.parse().expect("lines=N"),
            Some(("longs", v)) => longs = v.parse().expect("longs=N"),
            Some(("runs", v)) => runs = v.parse().expect("runs=N"),
            Some(("events", v)) => events = v.parse().expect("events=N"),
            Some(("keys", v)) => keys = v.parse().expect("keys=N"),
            Some(("bigevents", v)) => big_events = v.parse().expect("bigevents=N"),
            Some(("only", v)) => only = v.split(',').map(str::to_string).collect(),
            Some(("config", v)) => config_filter = Some(v.to_string()),
            Some(("sink", v)) => DISCARD.store(v == "discard", Ordering::Relaxed),
            _ => {} // cargo bench passes `--bench`
        }
    }
    #[allow(unused_mut)]
    let mut configs: Vec<(&str, &str, u64, Job)> = vec![
        ("wordcount", "hand-written loop", lines, Box::new(move || wordcount_hand(lines))),
        ("wordcount", "loop, owned records", lines, Box::new(move || wordcount_owned_records(lines))),
        ("wordcount", "builder p=1", lines, Box::new(move || wordcount_engine(lines, 1))),
        ("wordcount", "builder p=2", lines, Box::new(move || wordcount_engine(lines, 2))),
        ("wordcount", "dataflow! p=1", lines, Box::new(move || wordcount_pipeline(lines, 1))),
        ("wordcount", "dataflow! p=2", lines, Box::new(move || wordcount_pipeline(lines, 2))),
        ("wordcount", "inline words p=1", lines, Box::new(move || wordcount_inline_words(lines, 1))),
        ("wordcount", "inline words p=2", lines, Box::new(move || wordcount_inline_words(lines, 2))),
        ("mapfilter", "hand-written loop", longs, Box::new(move || mapfilter_hand(longs))),
        ("mapfilter", "builder p=1", longs, Box::new(move || mapfilter_engine(longs))),
        ("mapfilter", "dataflow! p=1", longs, Box::new(move || mapfilter_pipeline(longs))),
        ("windowagg", "hand-written loop", events, Box::new(move || windowagg_hand(events))),
        ("windowagg", "builder p=1", events, Box::new(move || windowagg_engine(events, 1, None))),
        ("windowagg", "p=1 checkpoint 1s", events, Box::new(move || windowagg_engine(events, 1, Some(SECOND)))),
        ("windowagg", "builder p=2", events, Box::new(move || windowagg_engine(events, 2, None))),
        ("windowagg", "dataflow! p=1", events, Box::new(move || windowagg_pipeline(events, 1))),
        ("windowagg", "dataflow! p=2", events, Box::new(move || windowagg_pipeline(events, 2))),
        ("chain5", "hand-written loop", longs, Box::new(move || chain5_hand(longs))),
        ("chain5", "builder p=1", longs, Box::new(move || chain5_builder(longs))),
        ("chain5", "dataflow! p=1", longs, Box::new(move || chain5_pipeline(longs))),
        (
            "bigstate",
            "hand-written loop",
            big_events,
            Box::new(move || windowagg_hand_of(big_events, move |i| many_keys_event(i, keys))),
        ),
        (
            "bigstate",
            "heap p=1",
            big_events,
            Box::new(move || bigstate_engine(big_events, keys, StateBackend::Heap, None)),
        ),
    ];
    #[cfg(feature = "rocksdb")]
    {
        let options: Vec<(&str, &str)> = rocksdb_config.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let backend =
            StateBackend::from_config(options).expect("RocksDB options (Flink's state.backend.rocksdb.* keys)");
        let mut direct = backend.clone();
        if let StateBackend::RocksDb(options) = &mut direct {
            options.write_cache_bytes = 0;
        }
        let (rocksdb, rocksdb_checkpointed) = (backend.clone(), backend);
        let every_10s = Some(Duration::from_secs(10));
        configs.push((
            "bigstate",
            "rocksdb p=1 no write tier",
            big_events,
            Box::new(move || bigstate_engine(big_events, keys, direct.clone(), None)),
        ));
        configs.push((
            "bigstate",
            "rocksdb p=1",
            big_events,
            Box::new(move || bigstate_engine(big_events, keys, rocksdb.clone(), None)),
        ));
        configs.push((
            "bigstate",
            "rocksdb p=1 checkpoint 10s",
            big_events,
            Box::new(move || bigstate_engine(big_events, keys, rocksdb_checkpointed.clone(), every_10s)),
        ));
    }
    // The big-state job takes minutes: it runs only when asked for.
    let wanted = |job: &str| if only.is_empty() { job != "bigstate" } else { only.iter().any(|o| o == job) };
    let chosen = |name: &str| config_filter.as_ref().is_none_or(|f| name.contains(f.as_str()));
    let configs: Vec<_> = configs.into_iter().filter(|c| wanted(c.0) && chosen(c.1)).collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut rss: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut checksums: HashMap<&str, (u64, Option<u64>)> = HashMap::new();
    // Interleave the configurations so machine noise hits them alike.
    for _ in 0..runs {
        for (i, (job, name, n, run)) in configs.iter().enumerate() {
            reset_peak_rss();
            let cpu_before = cpu_seconds();
            let (elapsed, (count, checksum)) = run();
            if let (Some(before), Some(after)) = (cpu_before, cpu_seconds()) {
                cpu[i].push(after - before);
            }
            rss[i].extend(peak_rss_mib());
            // Discarding sinks add up no checksum: only their output counts are checked.
            let checksum = if discarding() { None } else { Some(checksum) };
            if let Some(want) = flink_checksum(job, *n) {
                assert_eq!(
                    (count, checksum),
                    (want.0, checksum.and(Some(want.1))),
                    "{job} {name}: differs from Flink's"
                );
            }
            let first = *checksums.entry(job).or_insert((count, checksum));
            assert_eq!((count, checksum), first, "{job} {name}: checksum differs from the other configurations");
            // WordCount counts words (10 per line), MapFilter source longs, as the Flink side does.
            let records = if *job == "wordcount" { n * 10 } else { *n };
            rates[i].push(records as f64 / elapsed.as_secs_f64());
        }
    }
    if only.is_empty() || only.iter().any(|o| o == "recovery") {
        let mut resumes: Vec<f64> = Vec::new();
        for _ in 0..runs {
            let (resumed, checksum) = windowagg_recovery(events);
            if let Some(want) = flink_checksum("windowagg", events) {
                assert_eq!(checksum, want, "windowagg recovery: checksum differs from Flink's");
            }
            resumes.push(resumed.as_secs_f64() * 1000.0);
        }
        println!("windowagg recovery: restore and resume after a failure, median {:.1} ms", median(resumes));
    }
    if only.iter().any(|o| o == "latency") {
        let peak =
            median((0..runs).map(|_| events as f64 / windowagg_engine(events, 1, None).0.as_secs_f64()).collect());
        let rate = peak / 2.0;
        let (p50, p99): (Vec<f64>, Vec<f64>) = (0..runs).map(|_| windowagg_latency(events, rate)).unzip();
        println!(
            "windowagg latency at {:.0} events/s (half of the measured peak {peak:.0}): window closing watermark to result, p50 {:.1} ms, p99 {:.1} ms (medians of {runs} runs)",
            rate,
            median(p50),
            median(p99)
        );
    }
    println!("median of {runs} runs; records/s = words/s (WordCount), events/s (WindowAgg), source longs/s (others)");
    println!(
        "CPU s: user + system of the whole process during the run; peak RSS: the process's, reset before each run"
    );
    println!(
        "{:<10} {:<19} {:>12} {:>16} {:>9} {:>8} {:>13}",
        "job", "config", "n", "records/s", "vs loop", "CPU s", "peak RSS MiB"
    );
    let mut floors: HashMap<&str, f64> = HashMap::new();
    for (((job, name, n, _), r), (c, m)) in configs.iter().zip(rates).zip(cpu.into_iter().zip(rss)) {
        let rate = median(r);
        if name.starts_with("hand") {
            floors.insert(job, rate);
        }
        let cpu = if c.is_empty() { f64::NAN } else { median(c) };
        let rss = if m.is_empty() { f64::NAN } else { median(m) };
        let vs_loop = floors.get(job).map_or("-".to_string(), |floor| format!("{:.2}x", rate / floor));
        println!("{job:<10} {name:<19} {n:>12} {rate:>16.0} {vs_loop:>9} {cpu:>8.2} {rss:>13.0}");
    }
    let mut jobs: Vec<_> = checksums.into_iter().collect();
    jobs.sort();
    for (job, (count, checksum)) in jobs {
        match checksum {
            Some(checksum) => {
                println!("checksum {job}: out_count={count} out_checksum={checksum} (every configuration)")
            }
            None => println!("checksum {job}: out_count={count} (sink=discard: no checksum)"),
        }
    }
}
