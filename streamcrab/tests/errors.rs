//! Failures: a panicking user function fails the job with a typed error naming the operator
//! and subtask; invalid settings are rejected before anything runs.

use streamcrab::error::{ConfigError, JobError, TaskError};
use streamcrab::prelude::*;

#[test]
fn a_panicking_map_fails_the_job_naming_operator_subtask_and_message() {
    let env = StreamExecutionEnvironment::new("panics");
    env.set_parallelism(2);
    env.from_sequence(1, 10_000)
        .map(|x| {
            if x == 4_321 {
                panic!("bad record {x}");
            }
            x
        })
        .name("fragile map")
        .collect_to_vec();
    let err = env.execute().unwrap_err();
    let JobError::TaskFailed { subtask, parallelism, source: TaskError::Panic { operator, message }, .. } = &err else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(operator, "fragile map");
    assert_eq!(message, "bad record 4321");
    // 1..=10000 split in two: 4321 is in the first half.
    assert_eq!((*subtask, *parallelism), (0, 2));
    assert!(err.to_string().contains("subtask 0 of 2"), "{err}");
}

#[test]
fn a_failure_downstream_of_an_unbounded_source_ends_the_job() {
    let env = StreamExecutionEnvironment::new("unbounded-failure");
    env.from_fn(Some)
        .rebalance()
        .map(|i: u64| {
            assert!(i < 50_000, "gave up at {i}");
            i
        })
        .name("checker")
        .collect_to_vec();
    let err = env.execute().unwrap_err();
    assert!(matches!(err.task_error(), Some(TaskError::Panic { operator, .. }) if operator == "checker"), "{err}");
}

#[test]
fn a_user_error_from_a_process_function_names_the_operator() {
    #[derive(Clone)]
    struct Rejects;
    impl ProcessFunction<i64, i64> for Rejects {
        fn process_element(&mut self, v: i64, _: &mut ProcessContext<'_>, _: &mut Collector<'_, i64>) -> UserResult {
            Err(format!("cannot handle {v}").into())
        }
    }
    let env = StreamExecutionEnvironment::new("user-error");
    env.from_sequence(7, 7).process(Rejects).name("rejecter").collect_to_vec();
    let err = env.execute().unwrap_err();
    let Some(TaskError::User { operator, source }) = err.task_error() else { panic!("{err}") };
    assert_eq!(operator, "rejecter");
    assert_eq!(source.to_string(), "cannot handle 7");
}

fn config_errors(err: JobError) -> Vec<ConfigError> {
    match err {
        JobError::InvalidJob(errors) => errors.0,
        other => panic!("expected an invalid job, got {other}"),
    }
}

#[test]
fn invalid_settings_are_all_reported_before_running() {
    let env = StreamExecutionEnvironment::new("invalid");
    env.from_sequence(1, 2).map(|x| x).name("zero").set_parallelism(0).print();
    env.from_sequence(1, 2).map(|x| x).name("too many groups").set_max_parallelism(40_000).print();
    env.from_sequence(1, 2).map(|x| x).name("below").set_parallelism(8).set_max_parallelism(4).print();
    env.from_iter(vec![1]).set_parallelism(2).print();
    env.from_sequence(1, 2).map(|x| x).uid("same").print();
    env.from_sequence(1, 2).map(|x| x).uid("same").print();
    let errors = config_errors(env.execute().unwrap_err());
    assert!(errors.contains(&ConfigError::ZeroParallelism { operator: "zero".into(), value: 0 }), "{errors:?}");
    assert!(
        errors.contains(&ConfigError::MaxParallelismOutOfBounds { operator: "too many groups".into(), value: 40_000 })
    );
    assert!(
        errors.iter().any(|e| matches!(
            e,
            ConfigError::MaxParallelismBelowParallelism { max_parallelism: 4, parallelism: 8, .. }
        ))
    );
    assert!(errors.iter().any(|e| matches!(e, ConfigError::NonParallelSource { value: 2, .. })));
    assert!(errors.iter().any(|e| matches!(e, ConfigError::DuplicateUid { uid, .. } if uid == "same")));
}

#[test]
fn forward_between_different_parallelisms_is_rejected() {
    let env = StreamExecutionEnvironment::new("forward");
    env.from_sequence(1, 2).set_parallelism(2).forward().map(|x| x).set_parallelism(3).print();
    let errors = config_errors(env.execute().unwrap_err());
    assert!(
        errors.iter().any(|e| matches!(
            e,
            ConfigError::ForwardParallelismMismatch { upstream_parallelism: 2, downstream_parallelism: 3, .. }
        )),
        "{errors:?}"
    );
}

#[test]
fn a_job_without_a_sink_is_rejected() {
    let env = StreamExecutionEnvironment::new("nothing");
    let _stream = env.from_sequence(1, 2).map(|x| x + 1);
    let errors = config_errors(env.execute().unwrap_err());
    assert_eq!(errors, vec![ConfigError::EmptyJob { job: "nothing".into() }]);
}

#[test]
fn a_zero_environment_parallelism_is_rejected() {
    let env = StreamExecutionEnvironment::new("env-zero");
    env.set_parallelism(0);
    env.from_sequence(1, 2).print();
    let errors = config_errors(env.execute().unwrap_err());
    assert!(errors.iter().any(|e| matches!(e, ConfigError::ZeroParallelism { .. })));
}
