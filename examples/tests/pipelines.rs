//! Differential tests: each example's `#[pipeline]` version produces what its builder version
//! prints, and the descriptors pin the chains the compiler planned.

use std::fmt::Debug;

use streamcrab::environment::StreamExecutionEnvironment;
use streamcrab::pipeline::PipelineDescriptor;
use streamcrab_examples::pipelines::{self, Output};

mod common;
use common::sorted_lines as builder_output;

fn pipeline_output<T: Clone + Debug>(
    descriptor: &PipelineDescriptor,
    pipeline: fn(&mut StreamExecutionEnvironment, &mut Output<T>),
) -> Vec<String> {
    let mut out = None;
    descriptor.execute(|env| pipeline(env, &mut out)).unwrap();
    let mut lines: Vec<String> =
        out.expect("the pipeline sets its output").values().iter().map(|v| format!("{v:?}")).collect();
    lines.sort();
    lines
}

#[test]
fn wordcount_pipeline_equals_builder() {
    assert_eq!(pipeline_output(&pipelines::WORDCOUNT, pipelines::wordcount), builder_output("wordcount"));
}

#[test]
fn event_time_windows_pipeline_equals_builder() {
    let got = pipeline_output(&pipelines::EVENT_TIME_WINDOWS, pipelines::event_time_windows);
    assert!(!got.is_empty());
    assert_eq!(got, builder_output("event_time_windows"));
}

#[test]
fn sessions_pipeline_equals_builder() {
    assert_eq!(pipeline_output(&pipelines::SESSIONS, pipelines::sessions), builder_output("sessions"));
}

#[test]
fn descriptors_of_the_examples() {
    assert_eq!(
        pipelines::WORDCOUNT.describe(),
        "pipeline wordcount\n  chain 0 (parallelism 1): from_iter#0 -> flat_map#1 -> map#2\n  chain 1 (parallelism 1): reduce#3 -> collect_to_vec#4\n  #2 -> #3 HASH\n"
    );
    assert_eq!(
        pipelines::EVENT_TIME_WINDOWS.describe(),
        "pipeline event_time_windows\n  chain 0 (parallelism 1): from_iter#0 -> assign_timestamps_and_watermarks#1\n  chain 1 (parallelism 1): aggregate_with_process#2 -> collect_to_vec#3\n  #1 -> #2 HASH\n"
    );
    assert_eq!(
        pipelines::SESSIONS.mermaid(),
        "flowchart LR\n  subgraph chain0\n    op0[\"from_iter\"]\n    op1[\"assign_timestamps_and_watermarks\"]\n  end\n  subgraph chain1\n    op2[\"process\"]\n    op3[\"collect_to_vec\"]\n  end\n  op0 --> op1\n  op1 -->|HASH| op2\n  op2 --> op3\n"
    );
}

/// The chains the compiler planned are the tasks the runtime builds.
#[test]
fn compile_time_chains_match_runtime_tasks() {
    fn tasks<T>(pipeline: fn(&mut StreamExecutionEnvironment, &mut Output<T>)) -> usize {
        let mut env = StreamExecutionEnvironment::new("count");
        let mut out = None;
        pipeline(&mut env, &mut out);
        env.describe().lines().filter(|l| l.trim_start().starts_with('[')).count()
    }
    assert_eq!(tasks(pipelines::wordcount), pipelines::WORDCOUNT.chains as usize);
    assert_eq!(tasks(pipelines::event_time_windows), pipelines::EVENT_TIME_WINDOWS.chains as usize);
    assert_eq!(tasks(pipelines::sessions), pipelines::SESSIONS.chains as usize);
}

/// The checkpointed example through an injected failure: the `#[pipeline]` version (collecting
/// sink, committed with the checkpoints) and the builder version (exactly-once files) agree.
#[test]
fn exactly_once_pipeline_equals_builder() {
    let mut out = None;
    let heap = streamcrab::state::StateBackend::Heap;
    let result = pipelines::EXACTLY_ONCE.execute(|env| pipelines::exactly_once(env, &mut out, &heap)).unwrap();
    assert_eq!(result.restarts(), 1, "the injected failure restarted the job once");
    let mut got = out.expect("the pipeline sets its output").values();
    got.sort();
    assert_eq!(got, builder_output("exactly_once"));
}

/// The same job with its window state in RocksDB, as `#[pipeline]` and as the builder example
/// (`STREAMCRAB_STATE_BACKEND=rocksdb`): both commit what the heap run commits.
#[cfg(feature = "rocksdb")]
#[test]
fn exactly_once_on_rocksdb_equals_the_heap_run() {
    let mut out = None;
    let rocksdb = streamcrab::state::StateBackend::RocksDb(Default::default());
    let result = pipelines::EXACTLY_ONCE.execute(|env| pipelines::exactly_once(env, &mut out, &rocksdb)).unwrap();
    assert_eq!(result.restarts(), 1, "the injected failure restarted the job once");
    let mut got = out.expect("the pipeline sets its output").values();
    got.sort();
    let heap = builder_output("exactly_once");
    assert_eq!(got, heap);
    assert_eq!(common::sorted_lines_with("exactly_once", &[("STREAMCRAB_STATE_BACKEND", "rocksdb")]), heap);
}

/// A pipeline that is one chain: its task, built by chain id, runs on its own.
#[streamcrab::pipeline]
fn doubled(env: &mut StreamExecutionEnvironment, out: &mut Output<i64>) {
    *out = Some(env.from_sequence(1, 5).map(|x: i64| x * 2).collect_to_vec());
}

/// The factory from chain id to task: what another process running this binary would use to
/// run one chain of a job. The tasks match the compiler's chains; a single-chain job's task runs
/// to completion on a standalone context.
#[test]
fn tasks_are_built_by_chain_id() {
    let mut out = None;
    let tasks = DOUBLED.tasks(|env| doubled(env, &mut out)).unwrap();
    assert_eq!(tasks.len(), DOUBLED.chains as usize);
    let task = tasks.task(0).expect("chain 0 exists");
    let mut ctx = streamcrab::task::TaskContext::standalone(tasks.name(0).unwrap(), 0, 1, 128);
    task(&mut ctx).unwrap();
    assert_eq!(out.expect("built").values(), vec![2, 4, 6, 8, 10]);
    assert!(tasks.task(1).is_none());

    let mut words = None;
    let tasks = pipelines::WORDCOUNT.tasks(|env| pipelines::wordcount(env, &mut words)).unwrap();
    assert_eq!(tasks.len(), pipelines::WORDCOUNT.chains as usize);
    for chain in 0..tasks.len() {
        assert_eq!(tasks.parallelism(chain), Some(1));
        assert!(tasks.task(chain).is_some());
    }
}
