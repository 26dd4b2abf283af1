//! Runs the `wordcount` example binary and checks what it prints: Flink's rolling reduce emits
//! the new count of a word for every occurrence, in input order on one subtask.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // Test binaries live in `<target>/<profile>/deps`, examples in `<target>/<profile>/examples`;
    // cargo builds the examples before it runs the tests.
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().join("examples").join(name)
}

#[test]
fn wordcount_prints_the_rolling_counts() {
    let output = Command::new(example("wordcount")).output().expect("run the wordcount example");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, vec![r#"("hello", 1)"#, r#"("world", 1)"#, r#"("hello", 2)"#, r#"("streamcrab", 1)"#]);
}
