//! Proof of exactly-once by fault injection: keyed, windowed and timer jobs run with
//! checkpointing while seeded faults kill them (a panic in a user function, a failure while a
//! sink snapshots, a failure between a snapshot and its completion notification). Recovery runs,
//! and the committed output of the exactly-once file sink must equal the failure-free run's:
//! nothing lost, nothing duplicated (Flink's guarantee, SEMANTICS.md 6.1 and 6.4).
//!
//! Checkpoints go to file storage (so RocksDB's are incremental); every job runs on each state
//! backend (`heap::`, `rocksdb::`, `rocksdb_direct::`) and must commit what the failure-free heap run commits.
//!
//! `STREAMCRAB_FAULT_RUNS` sets the number of seeded runs per job (default 17, 51 per backend).

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use streamcrab::checkpoint::RestartStrategy;
use streamcrab::file_sink::{ExactlyOnceFileSink, FileTransaction};
use streamcrab::prelude::*;
use streamcrab::state::{MapState, StateBackend};
use streamcrab::two_phase::TwoPhaseCommitSink;
use streamcrab::watermark::{BoundedOutOfOrderness, FnTimestamps, WatermarkStrategy};
use streamcrab::window::TumblingEventTimeWindows;

const RECORDS: u64 = 6_000;
/// An even number: key parity is the index parity, so each key comes from one source subtask
/// and its records keep their order (rolling results are then deterministic).
const KEYS: u64 = 26;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Job {
    Keyed,
    Windowed,
    Timers,
}

/// Where a run is made to fail.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// A user function panics at this record.
    PanicAt(u64),
    /// The sink's n-th pre-commit (inside a snapshot) fails.
    FailPreCommit(u64),
    /// The sink fails on its first record after its n-th pre-commit, before the commit.
    FailAfterPreCommit(u64),
}

/// Fires one fault, once over all the job's runs.
struct FaultPlan {
    fault: Option<Fault>,
    fired: AtomicBool,
    pre_commits: AtomicU64,
    armed: AtomicBool,
}

impl FaultPlan {
    fn new(fault: Option<Fault>) -> Arc<Self> {
        Arc::new(Self {
            fault,
            fired: AtomicBool::new(false),
            pre_commits: AtomicU64::new(0),
            armed: AtomicBool::new(false),
        })
    }

    fn fire(&self) -> bool {
        !self.fired.swap(true, Ordering::SeqCst)
    }
}

/// The exactly-once file sink with the planned sink faults.
#[derive(Clone)]
struct FaultySink {
    inner: ExactlyOnceFileSink<String>,
    plan: Arc<FaultPlan>,
}

impl TwoPhaseCommitSink<String> for FaultySink {
    type Transaction = FileTransaction;

    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.inner.open(ctx)
    }
    fn begin_transaction(&mut self) -> UserResult<FileTransaction> {
        self.inner.begin_transaction()
    }
    fn invoke(&mut self, txn: &mut FileTransaction, value: String, timestamp: Option<i64>) -> UserResult {
        if self.plan.armed.load(Ordering::SeqCst) && self.plan.fire() {
            return Err("injected failure between a snapshot and its notification".into());
        }
        self.inner.invoke(txn, value, timestamp)
    }
    fn pre_commit(&mut self, txn: &mut FileTransaction) -> UserResult {
        let n = self.plan.pre_commits.fetch_add(1, Ordering::SeqCst) + 1;
        match self.plan.fault {
            Some(Fault::FailPreCommit(at)) if n == at && self.plan.fire() => {
                return Err("injected failure during a snapshot".into());
            }
            Some(Fault::FailAfterPreCommit(at)) if n == at => self.plan.armed.store(true, Ordering::SeqCst),
            _ => {}
        }
        self.inner.pre_commit(txn)
    }
    fn commit(&mut self, txn: FileTransaction) -> UserResult {
        self.plan.armed.store(false, Ordering::SeqCst);
        self.inner.commit(txn)
    }
    fn abort(&mut self, txn: FileTransaction) -> UserResult {
        self.inner.abort(txn)
    }
}

/// `(key, value, timestamp)`: timestamps rise with the index, out of order by up to 40 ms.
fn event(i: u64) -> (u64, u64, i64) {
    (i % KEYS, i, i as i64 - (i * 7919 % 41) as i64)
}

/// Sums per key in event-time buckets of 100 ms, emitted by an event-time timer at the end of
/// each bucket.
#[derive(Clone, Default)]
struct BucketSums {
    sums: Option<MapState<i64, u64>>,
}

impl KeyedProcessFunction<u64, (u64, u64, i64), String> for BucketSums {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.sums = Some(ctx.get_map_state(&MapStateDescriptor::new("sums"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (_, value, ts): (u64, u64, i64),
        ctx: &mut KeyedContext<'_, u64>,
        _: &mut Collector<'_, String>,
    ) -> UserResult {
        let sums = self.sums.as_ref().ok_or("not opened")?;
        let bucket_end = (ts.div_euclid(100) + 1) * 100;
        let current = sums.get(ctx, &bucket_end)?.unwrap_or(0);
        sums.put(ctx, bucket_end, current + value)?;
        ctx.register_event_time_timer(bucket_end - 1);
        Ok(())
    }

    fn on_timer(&mut self, ts: i64, ctx: &mut KeyedContext<'_, u64>, out: &mut Collector<'_, String>) -> UserResult {
        let sums = self.sums.as_ref().ok_or("not opened")?;
        if let Some(total) = sums.remove(ctx, &(ts + 1))? {
            out.collect(format!("timer {} @{ts}: {total}", ctx.current_key()));
        }
        Ok(())
    }
}

type Event = (u64, u64, i64);
type EventTime = WatermarkStrategy<BoundedOutOfOrderness, FnTimestamps<fn(&Event, Option<i64>) -> i64>>;

/// Timestamps from the events, watermarks 50 ms behind the largest, every millisecond.
fn event_time() -> EventTime {
    let timestamp: fn(&Event, Option<i64>) -> i64 = |e, _| e.2;
    WatermarkStrategy::for_bounded_out_of_orderness(50)
        .with_timestamp_assigner(timestamp)
        .with_auto_watermark_interval(Duration::from_millis(1))
}

/// Runs `job` into `dir` under `fault`; returns the committed lines (sorted) and the restarts.
fn run(backend: &StateBackend, job: Job, fault: Option<Fault>, seed: u64, dir: &std::path::Path) -> (Vec<String>, u32) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let checkpoints = tempfile::tempdir().unwrap();
    let env = StreamExecutionEnvironment::new("fault injection");
    env.set_parallelism(2).set_state_backend(backend.clone()).set_checkpoint_dir(checkpoints.path());
    env.enable_checkpointing(Duration::from_millis(rng.u64(1..4)));
    env.set_restart_strategy(RestartStrategy::FixedDelay { attempts: 5, delay: Duration::ZERO });
    let plan = FaultPlan::new(fault);
    let panic_plan = plan.clone();
    let pause_every = rng.u64(300..900);
    let seen = Arc::new(AtomicU64::new(0));
    let events = env
        .from_fn(move |i| {
            if i > 0 && i.is_multiple_of(pause_every) {
                std::thread::sleep(Duration::from_micros(300));
            }
            (i < RECORDS).then(|| event(i))
        })
        .map(move |e: (u64, u64, i64)| {
            let n = seen.fetch_add(1, Ordering::Relaxed);
            if let Some(Fault::PanicAt(at)) = panic_plan.fault
                && n == at
                && panic_plan.fire()
            {
                panic!("injected failure in a user function at record {n}");
            }
            e
        });
    let sink = FaultySink { inner: ExactlyOnceFileSink::new(dir), plan: plan.clone() };
    match job {
        Job::Keyed => events
            .key_by(|e: &(u64, u64, i64)| e.0)
            .reduce(|a, b| (a.0, a.1 + b.1, a.2.max(b.2)))
            .map(|(k, sum, _)| format!("key {k}: {sum}"))
            .add_two_phase_commit_sink(sink),
        Job::Windowed => events
            .assign_timestamps_and_watermarks(event_time())
            .key_by(|e: &(u64, u64, i64)| e.0)
            .window(TumblingEventTimeWindows::of(100))
            .reduce(|a, b| (a.0, a.1 + b.1, a.2.max(b.2)))
            .map(|(k, sum, last)| format!("window {k} ..{}: {sum}", last.div_euclid(100)))
            .add_two_phase_commit_sink(sink),
        Job::Timers => events
            .assign_timestamps_and_watermarks(event_time())
            .key_by(|e: &(u64, u64, i64)| e.0)
            .process(BucketSums::default())
            .add_two_phase_commit_sink(sink),
    };
    let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}, {job:?}, {fault:?}: the job must recover: {e}"));
    if fault.is_some() {
        assert!(plan.fired.load(Ordering::SeqCst) || result.restarts() == 0, "seed {seed}: fault state is consistent");
    }
    let mut committed = ExactlyOnceFileSink::<String>::read_committed(dir).unwrap();
    committed.sort();
    (committed, result.restarts())
}

fn expected(job: Job) -> &'static [String] {
    static KEYED: OnceLock<Vec<String>> = OnceLock::new();
    static WINDOWED: OnceLock<Vec<String>> = OnceLock::new();
    static TIMERS: OnceLock<Vec<String>> = OnceLock::new();
    let cell = match job {
        Job::Keyed => &KEYED,
        Job::Windowed => &WINDOWED,
        Job::Timers => &TIMERS,
    };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (lines, restarts) = run(&StateBackend::Heap, job, None, 0, dir.path());
        assert_eq!(restarts, 0);
        lines
    })
}

fn runs() -> u64 {
    std::env::var("STREAMCRAB_FAULT_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(17)
}

/// Runs `job` under seeded faults and compares every run with the failure-free output.
fn check(backend: StateBackend, job: Job, first_seed: u64) {
    let expected = expected(job);
    assert!(!expected.is_empty());
    let mut restarted = 0;
    for seed in first_seed..first_seed + runs() {
        let mut rng = fastrand::Rng::with_seed(seed);
        let fault = match rng.u8(0..3) {
            0 => Fault::PanicAt(rng.u64(0..RECORDS)),
            1 => Fault::FailPreCommit(rng.u64(1..6)),
            _ => Fault::FailAfterPreCommit(rng.u64(1..6)),
        };
        let dir = tempfile::tempdir().unwrap();
        let (lines, restarts) = run(&backend, job, Some(fault), seed, dir.path());
        restarted += u32::from(restarts > 0);
        assert!(
            lines == expected,
            "seed {seed}, {job:?}, {fault:?}: committed output differs from the failure-free run \
             ({} lines, expected {}; {restarts} restarts)",
            lines.len(),
            expected.len()
        );
    }
    eprintln!("{job:?}: {restarted} of {} runs restarted", runs());
    assert!(restarted > 0, "{job:?}: the faults made at least one run restart");
}

support::on_every_backend!(
    keyed_job_is_exactly_once_under_faults,
    windowed_job_is_exactly_once_under_faults,
    timer_job_is_exactly_once_under_faults,
);

fn keyed_job_is_exactly_once_under_faults(backend: StateBackend) {
    check(backend, Job::Keyed, 1_000);
}

fn windowed_job_is_exactly_once_under_faults(backend: StateBackend) {
    check(backend, Job::Windowed, 2_000);
}

fn timer_job_is_exactly_once_under_faults(backend: StateBackend) {
    check(backend, Job::Timers, 3_000);
}
