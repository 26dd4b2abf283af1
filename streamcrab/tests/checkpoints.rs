//! Exactly-once checkpoints through the public API (Flink's F3, SEMANTICS.md section 6): after a
//! failure the job restarts from its latest completed checkpoint, sources replay from their
//! checkpointed positions, and every record affects state and the exactly-once sinks once.
//! The tests with keyed state run on every state backend (`heap::`, `rocksdb::`, `rocksdb_direct::`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use streamcrab::checkpoint::{CheckpointConfig, CheckpointError, CheckpointingMode, RestartStrategy};
use streamcrab::prelude::*;
use streamcrab::state::StateBackend;

const RECORDS: u64 = 40_000;

fn quick_restarts() -> RestartStrategy {
    RestartStrategy::FixedDelay { attempts: 3, delay: Duration::ZERO }
}

/// Indices whose generator calls are counted: each is generated once unless a run restarts
/// from scratch (checkpoints complete long before the generator gets far past them).
const EARLY: u64 = 100;

/// A generator of `(key, 1)` over 17 keys that sleeps a little every 500 records of a subtask,
/// so that checkpoints complete while it runs; `early_calls` counts calls for indices below
/// [`EARLY`].
fn slow_keys(early_calls: Arc<AtomicU64>) -> impl FnMut(u64) -> Option<(String, u64)> + Clone + Send + 'static {
    move |i| {
        if i < EARLY {
            early_calls.fetch_add(1, Ordering::Relaxed);
        }
        if (i / 2).is_multiple_of(500) {
            std::thread::sleep(Duration::from_millis(1));
        }
        (i < RECORDS).then(|| (format!("k{}", i % 17), 1))
    }
}

/// A pass-through map that panics once, at the record numbered `at` (counted over all its
/// subtasks and runs); `None`: never.
fn fail_once_at<T>(at: Option<u64>) -> impl FnMut(T) -> T + Clone + Send + 'static {
    let (failed, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    move |record| {
        if at == Some(seen.fetch_add(1, Ordering::Relaxed)) && !failed.swap(true, Ordering::SeqCst) {
            panic!("injected failure");
        }
        record
    }
}

/// Runs the rolling count per key; the map panics once when it sees record `fail_at` (if any).
fn rolling_counts(
    backend: &StateBackend,
    parallelism: u32,
    fail_at: Option<u64>,
) -> (Vec<(String, u64)>, JobExecutionResult, u64) {
    let env = StreamExecutionEnvironment::new("rolling counts");
    env.set_parallelism(parallelism).set_state_backend(backend.clone());
    env.enable_checkpointing(Duration::from_millis(2)).set_restart_strategy(quick_restarts());
    let calls = Arc::new(AtomicU64::new(0));
    let out = env
        .from_fn(slow_keys(calls.clone()))
        .map(fail_once_at(fail_at))
        .key_by(|(k, _): &(String, u64)| k.clone())
        .reduce(|(k, a), (_, b)| (k, a + b))
        .collect_to_vec();
    let result = env.execute().expect("the job recovers");
    (out.values(), result, calls.load(Ordering::Relaxed))
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Asserts equal multisets, reporting sizes and the first difference instead of both lists.
fn assert_same_records<T: Ord + std::fmt::Debug>(actual: Vec<T>, expected: Vec<T>, what: &str) {
    let (actual, expected) = (sorted(actual), sorted(expected));
    if actual != expected {
        let first = actual.iter().zip(&expected).position(|(a, e)| a != e);
        let at = first.map(|i| format!("{:?} where {:?} was expected", actual[i], expected[i]));
        panic!("{what}: {} records, {} expected; first difference: {at:?}", actual.len(), expected.len());
    }
}

support::on_every_backend!(
    keyed_state_is_restored_and_the_sink_sees_every_record_once,
    a_corrupt_newest_checkpoint_is_skipped_on_recovery,
    a_job_stopped_with_a_savepoint_resumes_from_it_exactly_once,
    keyed_state_rescales_by_key_group_on_restore,
    concurrent_checkpoints_stay_exactly_once,
);

fn keyed_state_is_restored_and_the_sink_sees_every_record_once(backend: StateBackend) {
    let (expected, clean, _) = rolling_counts(&backend, 2, None);
    assert_eq!(expected.len() as u64, RECORDS);
    assert_eq!(clean.restarts(), 0);
    let (recovered, result, early_calls) = rolling_counts(&backend, 2, Some(RECORDS * 3 / 4));
    assert_eq!(result.restarts(), 1);
    assert_same_records(recovered, expected, "nothing lost, nothing duplicated");
    assert!(result.completed_checkpoints() >= 2, "a checkpoint before the failure and the final one");
    assert_eq!(early_calls, EARLY, "sources resumed from their checkpointed positions, not from the start");
}

/// Flink's at-least-once mode (SEMANTICS.md 6.2): barriers do not block channels, so after a
/// restore some records may count twice in state, but none is lost.
#[test]
fn at_least_once_mode_loses_nothing() {
    let env = StreamExecutionEnvironment::new("at least once");
    env.set_parallelism(2);
    let mut config = CheckpointConfig::new(Duration::from_millis(2));
    config.mode = CheckpointingMode::AtLeastOnce;
    env.set_checkpoint_config(config).set_restart_strategy(quick_restarts());
    let failed = Arc::new(AtomicBool::new(false));
    let out = env
        .from_fn(slow_keys(Arc::new(AtomicU64::new(0))))
        .map(move |record: (String, u64)| {
            if record.0 == "k3" && !failed.swap(true, Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            record
        })
        .key_by(|(k, _): &(String, u64)| k.clone())
        .reduce(|(k, a), (_, b)| (k, a + b))
        .collect_to_vec();
    env.execute().unwrap();
    let mut final_counts = std::collections::HashMap::new();
    for (k, n) in out.values() {
        let max = final_counts.entry(k).or_insert(0);
        *max = n.max(*max);
    }
    for k in 0..17 {
        let expected = (0..RECORDS).filter(|i| i % 17 == k).count() as u64;
        assert!(final_counts[&format!("k{k}")] >= expected, "key k{k} lost records");
    }
}

/// Checkpoints on disk: a restart skips a damaged newest checkpoint and restores the one before
/// (checksums on every file); retention keeps at most the configured number of folders.
///
/// State restored from the older checkpoint is consistent with the sources' positions in it, so
/// the final counts are exact and nothing is lost; the output the sink had already committed
/// for the damaged checkpoint is produced again (falling back past a committed checkpoint
/// cannot be exactly-once for any external system).
fn a_corrupt_newest_checkpoint_is_skipped_on_recovery(backend: StateBackend) {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().to_path_buf();
    let env = StreamExecutionEnvironment::new("corrupt checkpoint");
    env.set_state_backend(backend.clone());
    let mut config = CheckpointConfig::new(Duration::from_millis(2));
    config.retained = 3;
    env.set_checkpoint_config(config).set_restart_strategy(quick_restarts()).set_checkpoint_dir(&checkpoints);
    let calls = Arc::new(AtomicU64::new(0));
    let corrupted = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    let damaged = corrupted.clone();
    // Past half the input the generator waits for the injected failure, so that on a loaded
    // machine the job cannot finish before two checkpoints are on disk.
    let (mut generate, waiting) = (slow_keys(calls.clone()), corrupted.clone());
    let out = env
        .from_fn(move |i| {
            if i > RECORDS / 2 && !waiting.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            generate(i)
        })
        .map(move |record: (String, u64)| {
            let n = seen.fetch_add(1, Ordering::Relaxed);
            let due = n > RECORDS / 4 && n.is_multiple_of(64) && !damaged.load(Ordering::SeqCst);
            let ids = if due { checkpoint_ids(&checkpoints) } else { Vec::new() };
            if ids.len() >= 2 && !damaged.swap(true, Ordering::SeqCst) {
                let newest = checkpoints.join(format!("chk-{}", ids.last().unwrap()));
                for file in std::fs::read_dir(&newest).unwrap() {
                    let path = file.unwrap().path();
                    if path.extension().is_some_and(|e| e == "state") {
                        std::fs::write(&path, b"SCRB garbage").unwrap();
                    }
                }
                panic!("injected failure after damaging {}", newest.display());
            }
            record
        })
        .key_by(|(k, _): &(String, u64)| k.clone())
        .reduce(|(k, a), (_, b)| (k, a + b))
        .collect_to_vec();
    let result = env.execute().expect("recovers from the previous checkpoint");
    assert!(corrupted.load(Ordering::SeqCst));
    assert_eq!(result.restarts(), 1);
    let (expected, _, _) = rolling_counts(&backend, 1, None);
    let mut distinct = out.values();
    distinct.sort();
    distinct.dedup();
    assert_same_records(distinct, expected.clone(), "nothing lost");
    let finals = |records: Vec<(String, u64)>| {
        let mut last = std::collections::BTreeMap::new();
        for (k, n) in records {
            let max = last.entry(k).or_insert(0);
            *max = n.max(*max);
        }
        last
    };
    assert_eq!(finals(out.values()), finals(expected), "every record counted once in state");
    // On a loaded machine the checkpoint fallen back to may have been taken within the first
    // EARLY records; from scratch, every one of them would be generated twice.
    assert!(calls.load(Ordering::Relaxed) < 2 * EARLY, "restored from a checkpoint, not from scratch");
    assert!(checkpoint_ids(dir.path()).len() <= 3, "retention keeps three checkpoints");
}

fn checkpoint_ids(dir: &std::path::Path) -> Vec<u64> {
    use streamcrab::checkpoint::CheckpointStorage;
    streamcrab::checkpoint::FileCheckpointStorage::new(dir).list().unwrap()
}

/// A failing checkpoint storage for the tolerable-failure count.
struct FailingStorage {
    inner: streamcrab::checkpoint::MemoryCheckpointStorage,
    failures_left: AtomicU64,
}

impl streamcrab::checkpoint::CheckpointStorage for FailingStorage {
    fn store(&self, checkpoint: &streamcrab::checkpoint::CompletedCheckpoint) -> Result<(), CheckpointError> {
        if self.failures_left.load(Ordering::SeqCst) > 0 {
            self.failures_left.fetch_sub(1, Ordering::SeqCst);
            return Err(CheckpointError::Failed { reason: "disk full (injected)".into() });
        }
        self.inner.store(checkpoint)
    }
    fn list(&self) -> Result<Vec<u64>, CheckpointError> {
        self.inner.list()
    }
    fn load(&self, id: u64) -> Result<streamcrab::checkpoint::CompletedCheckpoint, CheckpointError> {
        self.inner.load(id)
    }
    fn discard(&self, id: u64) -> Result<(), CheckpointError> {
        self.inner.discard(id)
    }
    fn location(&self) -> String {
        "failing".into()
    }
}

fn job_with_failing_storage(failures: u64, tolerable: u32) -> Result<JobExecutionResult, JobError> {
    let env = StreamExecutionEnvironment::new("failing storage");
    let mut config = CheckpointConfig::new(Duration::from_millis(1));
    config.tolerable_failures = tolerable;
    env.set_checkpoint_config(config).set_restart_strategy(RestartStrategy::NoRestart);
    env.set_checkpoint_storage(FailingStorage { inner: Default::default(), failures_left: AtomicU64::new(failures) });
    env.from_fn(slow_keys(Arc::new(AtomicU64::new(0)))).map(|r| r.1).collect_to_vec();
    env.execute()
}

/// Flink's tolerable checkpoint failures: a failed checkpoint does not fail the job until more
/// than the tolerated number fail in a row.
#[test]
fn failed_checkpoints_fail_the_job_only_past_the_tolerated_count() {
    assert!(job_with_failing_storage(2, 2).is_ok(), "two failures are tolerated");
    match job_with_failing_storage(2, 1) {
        Err(JobError::CheckpointFailures { failures, last }) => {
            assert_eq!(failures, 2);
            assert!(last.contains("disk full"), "{last}");
        }
        other => panic!("expected a checkpoint failure, got {other:?}"),
    }
}

/// A job over `RECORDS` events that writes `key:count` lines into `out` exactly once; its
/// operators have uids so that a savepoint of one version can start another. The source runs
/// with parallelism 2, the counts and the sink with `keyed_parallelism`.
fn savepointable_job(out: &std::path::Path, uid_prefix: &str, keyed_parallelism: u32) -> StreamExecutionEnvironment {
    savepointable_job_on(&StateBackend::Heap, out, uid_prefix, keyed_parallelism)
}

fn savepointable_job_on(
    backend: &StateBackend,
    out: &std::path::Path,
    uid_prefix: &str,
    keyed_parallelism: u32,
) -> StreamExecutionEnvironment {
    use streamcrab::file_sink::ExactlyOnceFileSink;
    let env = StreamExecutionEnvironment::new("savepoints");
    env.set_state_backend(backend.clone());
    env.set_parallelism(keyed_parallelism).enable_checkpointing(Duration::from_secs(3600));
    env.set_restart_strategy(RestartStrategy::NoRestart);
    env.from_fn(|i| {
        if (i / 2).is_multiple_of(200) {
            std::thread::sleep(Duration::from_millis(1));
        }
        (i < RECORDS).then(|| (format!("k{}", i % 10), 1_u64))
    })
    .set_parallelism(2)
    .uid(&format!("{uid_prefix}source"))
    .key_by(|(k, _): &(String, u64)| k.clone())
    .reduce(|(k, a), (_, b)| (k, a + b))
    .uid(&format!("{uid_prefix}counts"))
    .map(|(k, n)| format!("{k}:{n}"))
    .add_two_phase_commit_sink(ExactlyOnceFileSink::new(out))
    .uid(&format!("{uid_prefix}sink"));
    env
}

/// The lines of one uninterrupted run of [`savepointable_job`].
fn savepointable_job_output() -> Vec<String> {
    let mut expected = Vec::new();
    for k in 0..10 {
        let n = (0..RECORDS).filter(|i| i % 10 == k).count();
        expected.extend((1..=n).map(|c| format!("k{k}:{c}")));
    }
    expected
}

/// Flink's savepoints: triggered on a running job, stop-with-savepoint, and a new job started
/// from it with state matched by uid; the exactly-once output of both runs together is the
/// output of one uninterrupted run.
fn a_job_stopped_with_a_savepoint_resumes_from_it_exactly_once(backend: StateBackend) {
    use streamcrab::file_sink::ExactlyOnceFileSink;
    let out = tempfile::tempdir().unwrap();
    let savepoints = tempfile::tempdir().unwrap();
    let handle = savepointable_job_on(&backend, out.path(), "", 2).execute_async().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let first = handle.trigger_savepoint(savepoints.path().join("sp-1")).expect("a savepoint of a running job");
    assert!(first.join("_metadata").exists());
    std::thread::sleep(Duration::from_millis(20));
    let stopped = handle.stop_with_savepoint(savepoints.path().join("sp-2")).expect("stops with a savepoint");
    let savepoint = stopped.savepoint().expect("the result names the savepoint").to_path_buf();
    let before = ExactlyOnceFileSink::<String>::read_committed(out.path()).unwrap().len() as u64;
    assert!(before < RECORDS, "the job was stopped before its end ({before} lines)");

    let resumed = savepointable_job_on(&backend, out.path(), "", 2);
    resumed.restore_from_savepoint(&savepoint, false);
    resumed.execute().expect("the job resumes from the savepoint");
    let lines = ExactlyOnceFileSink::<String>::read_committed(out.path()).unwrap();
    assert_same_records(lines, savepointable_job_output(), "the two runs together count every record once");
}

/// State of an operator the job does not have is an error unless allowed (Flink's
/// `--allowNonRestoredState`).
#[test]
fn a_savepoint_with_unknown_operators_is_refused_unless_allowed() {
    let out = tempfile::tempdir().unwrap();
    let savepoints = tempfile::tempdir().unwrap();
    let handle = savepointable_job(out.path(), "", 2).execute_async().unwrap();
    let savepoint = handle.trigger_savepoint(savepoints.path().join("sp")).unwrap();
    handle.cancel();
    assert!(matches!(handle.join(), Err(JobError::Cancelled)));

    let renamed = savepointable_job(out.path(), "v2-", 2);
    renamed.restore_from_savepoint(&savepoint, false);
    match renamed.execute() {
        Err(JobError::Restore(CheckpointError::UnknownOperator { uid })) => {
            assert!(uid == "source" || uid == "counts" || uid == "sink", "{uid}")
        }
        other => panic!("expected an unknown-operator error, got {other:?}"),
    }
    let renamed = savepointable_job(tempfile::tempdir().unwrap().path(), "v2-", 2);
    renamed.restore_from_savepoint(&savepoint, true);
    renamed.execute().expect("unknown state is skipped when allowed");
}

/// A savepoint needs checkpointing; a damaged savepoint is refused naming the file.
#[test]
fn savepoint_errors_are_typed() {
    let env = StreamExecutionEnvironment::new("no checkpointing");
    env.from_fn(|i| {
        std::thread::sleep(Duration::from_millis(1));
        (i < 50).then_some(i)
    })
    .map(|i| i + 1)
    .collect_to_vec();
    let handle = env.execute_async().unwrap();
    let dir = tempfile::tempdir().unwrap();
    match handle.trigger_savepoint(dir.path().join("sp")) {
        Err(JobError::Restore(CheckpointError::Failed { reason })) => {
            assert!(reason.contains("checkpointing"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    handle.join().unwrap();

    std::fs::create_dir_all(dir.path().join("broken")).unwrap();
    std::fs::write(dir.path().join("broken").join("_metadata"), b"SCRB").unwrap();
    let env = savepointable_job(dir.path(), "", 2);
    env.restore_from_savepoint(dir.path().join("broken"), false);
    match env.execute() {
        Err(JobError::Restore(CheckpointError::Corrupt { path, .. })) => assert!(path.ends_with("broken/_metadata")),
        other => panic!("expected a corrupt savepoint, got {other:?}"),
    }
}

/// Tags the records of two inputs.
#[derive(Clone)]
struct Tag;

impl CoMapFunction<(String, u64), (String, u64), (String, u64)> for Tag {
    fn map1(&mut self, value: (String, u64)) -> (String, u64) {
        (format!("a-{}", value.0), value.1)
    }
    fn map2(&mut self, value: (String, u64)) -> (String, u64) {
        (format!("b-{}", value.0), value.1)
    }
}

/// Alignment on a two-input operator and on a union (several inputs): barriers of every
/// channel of both inputs are aligned, so a restore counts every record once.
#[test]
fn two_input_and_union_operators_align_barriers() {
    let run = |fail: bool| {
        let env = StreamExecutionEnvironment::new("two inputs");
        env.set_parallelism(2);
        env.enable_checkpointing(Duration::from_millis(2)).set_restart_strategy(quick_restarts());
        let first = env.from_fn(slow_keys(Arc::new(AtomicU64::new(0))));
        let second = env.from_fn(slow_keys(Arc::new(AtomicU64::new(0))));
        let third = env.from_fn(slow_keys(Arc::new(AtomicU64::new(0))));
        let out = first
            .connect(second.union(third).rebalance())
            .map(Tag)
            .map(fail_once_at(fail.then_some(RECORDS)))
            .key_by(|(k, _): &(String, u64)| k.clone())
            .reduce(|(k, a), (_, b)| (k, a + b))
            .collect_to_vec();
        let result = env.execute().unwrap();
        (out.values(), result.restarts())
    };
    let (expected, _) = run(false);
    let (recovered, restarts) = run(true);
    assert_eq!(restarts, 1);
    assert_same_records(recovered, expected, "every record of all three sources counted once");
}

/// The side output of an operator that emits none still carries barriers to its consumer, so
/// checkpoints complete while the job runs (not only the final one).
#[test]
fn barriers_reach_the_consumer_of_an_unused_side_output() {
    let env = StreamExecutionEnvironment::new("unused side output");
    env.enable_checkpointing(Duration::from_millis(2));
    let main = env.from_fn(slow_keys(Arc::new(AtomicU64::new(0)))).map(|(_, n)| n);
    let side = main.get_side_output(&streamcrab::operator::OutputTag::<String>::new("nothing")).collect_to_vec();
    let values = main.collect_to_vec();
    let result = env.execute().unwrap();
    assert!(side.is_empty());
    assert_eq!(values.len() as u64, RECORDS);
    assert!(result.completed_checkpoints() >= 2, "{} checkpoints completed", result.completed_checkpoints());
}

/// A user source keeping its read position in operator state (Flink's `CheckpointedFunction`
/// pattern): after a restore it resumes from the checkpointed position.
#[derive(Clone, Default)]
struct Counter {
    position: Option<streamcrab::state::OperatorListState<u64>>,
}

impl SourceFunction<(String, u64)> for Counter {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.position = Some(ctx.get_operator_list_state(&ListStateDescriptor::new("position"))?);
        Ok(())
    }

    fn run(&mut self, ctx: &mut SourceContext<'_, (String, u64)>) -> UserResult {
        let position = self.position.ok_or("not opened")?;
        let mut next = position.get(ctx)?.first().copied().unwrap_or(0);
        while next < RECORDS {
            if next.is_multiple_of(500) {
                std::thread::sleep(Duration::from_millis(1));
            }
            ctx.collect((format!("k{}", next % 17), 1))?;
            next += 1;
            position.update(ctx, vec![next])?;
        }
        Ok(())
    }
}

#[test]
fn a_user_source_resumes_from_its_operator_state() {
    let run = |fail: bool| {
        let env = StreamExecutionEnvironment::new("user source");
        env.enable_checkpointing(Duration::from_millis(2)).set_restart_strategy(quick_restarts());
        let out = env
            .add_source(Counter::default())
            .map(fail_once_at(fail.then_some(RECORDS * 3 / 4)))
            .key_by(|(k, _): &(String, u64)| k.clone())
            .reduce(|(k, a), (_, b)| (k, a + b))
            .collect_to_vec();
        let result = env.execute().unwrap();
        (out.values(), result.restarts())
    };
    let (expected, _) = run(false);
    let (recovered, restarts) = run(true);
    assert_eq!(restarts, 1);
    // Restored counts with a source starting over would count the first records twice.
    assert_same_records(recovered, expected, "every record of the user source counted once");
}

/// Key groups are the unit of restore (SEMANTICS.md 2.3): a savepoint taken with the keyed
/// operator at parallelism 2 restores into parallelism 3, each new subtask taking the key groups
/// it now owns from whichever old subtask wrote them.
fn keyed_state_rescales_by_key_group_on_restore(backend: StateBackend) {
    use streamcrab::file_sink::ExactlyOnceFileSink;
    let out = tempfile::tempdir().unwrap();
    let savepoints = tempfile::tempdir().unwrap();
    let handle = savepointable_job_on(&backend, out.path(), "", 2).execute_async().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let stopped = handle.stop_with_savepoint(savepoints.path().join("sp")).unwrap();
    let rescaled = savepointable_job_on(&backend, out.path(), "", 3);
    rescaled.restore_from_savepoint(stopped.savepoint().unwrap(), false);
    rescaled.execute().expect("restores with another parallelism");
    let lines = ExactlyOnceFileSink::<String>::read_committed(out.path()).unwrap();
    assert_same_records(lines, savepointable_job_output(), "counts continue across the rescale, each record once");
}

/// Several checkpoints in flight at once (`max_concurrent`): sources emit every due barrier in
/// order, a completed checkpoint subsumes older ones still in flight, and a restore is still
/// exactly-once.
fn concurrent_checkpoints_stay_exactly_once(backend: StateBackend) {
    let run = |fail: bool| {
        let env = StreamExecutionEnvironment::new("concurrent checkpoints");
        env.set_parallelism(2).set_state_backend(backend.clone());
        let mut config = CheckpointConfig::new(Duration::from_millis(1));
        config.max_concurrent = 3;
        env.set_checkpoint_config(config).set_restart_strategy(quick_restarts());
        let out = env
            .from_fn(slow_keys(Arc::new(AtomicU64::new(0))))
            .map(fail_once_at(fail.then_some(RECORDS * 3 / 4)))
            .key_by(|(k, _): &(String, u64)| k.clone())
            .reduce(|(k, a), (_, b)| (k, a + b))
            .collect_to_vec();
        let result = env.execute().expect("no checkpoint failure with several in flight");
        (out.values(), result)
    };
    let (expected, _) = run(false);
    let (recovered, result) = run(true);
    assert_eq!(result.restarts(), 1);
    assert!(result.completed_checkpoints() >= 2);
    assert_same_records(recovered, expected, "every record counted once");
}

/// RocksDB's incremental checkpoints restore into another parallelism (Flink restores a
/// retained checkpoint with `-s <chk-dir>` the same way): a job cancelled after checkpoints
/// completed starts again from the newest checkpoint folder with the keyed operator at
/// parallelism 3; each new instance takes the key groups it now owns out of the old instances'
/// SST files. Counts continue and the exactly-once sink commits every line once.
#[cfg(feature = "rocksdb")]
#[test]
fn rocksdb_incremental_checkpoints_restore_into_another_parallelism() {
    use streamcrab::file_sink::ExactlyOnceFileSink;
    // The default write tier: every change is still in memory when a checkpoint flushes it.
    let rocksdb = support::rocksdb_backend(streamcrab::state::rocksdb::RocksDbOptions::default().write_cache_bytes);
    let (out, checkpoints) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let env = savepointable_job_on(&rocksdb, out.path(), "", 2);
    env.enable_checkpointing(Duration::from_millis(5)).set_checkpoint_dir(checkpoints.path());
    let handle = env.execute_async().unwrap();
    while checkpoint_ids(checkpoints.path()).is_empty() {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!handle.is_finished(), "the job is cancelled while it runs");
    handle.cancel();
    let _ = handle.join();
    let newest = *checkpoint_ids(checkpoints.path()).last().unwrap();
    let folder = checkpoints.path().join(format!("chk-{newest}"));
    let shared = std::fs::read_dir(checkpoints.path().join("shared")).unwrap().count();
    assert!(shared >= 2, "each RocksDB instance put its SST files in the shared folder");

    let rescaled = savepointable_job_on(&rocksdb, out.path(), "", 3);
    rescaled.restore_from_savepoint(&folder, false);
    rescaled.execute().expect("restores the incremental checkpoint at parallelism 3");
    let lines = ExactlyOnceFileSink::<String>::read_committed(out.path()).unwrap();
    assert_same_records(lines, savepointable_job_output(), "counts continue across the rescale, each record once");
}
