//! The 30-operator pipeline runs, and the compiler planned it as a single chain.

use std::process::Command;

#[test]
fn long_pipeline_runs() {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|deps| deps.parent()).unwrap().join("examples").join("long_pipeline");
    let output = Command::new(&path).output().expect("run long_pipeline");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.lines().count() > 0, "some values pass all filters");
    for line in printed.lines() {
        assert_eq!((line.parse::<u64>().expect("a number") >> 40) % 97, 0);
    }
}
