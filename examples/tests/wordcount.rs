//! Runs the `wordcount` example binary and checks what it prints: Flink's rolling reduce emits
//! the new count of a word for every occurrence, in input order on one subtask.

mod common;

#[test]
fn wordcount_prints_the_rolling_counts() {
    let stdout = common::run_example("wordcount");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, vec![r#"("hello", 1)"#, r#"("world", 1)"#, r#"("hello", 2)"#, r#"("streamcrab", 1)"#]);
}
