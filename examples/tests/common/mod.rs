//! Running the example binaries from tests.

use std::path::PathBuf;
use std::process::Command;

/// Runs example `name` and returns what it printed; fails the test if it failed.
#[allow(dead_code, reason = "not every test binary runs examples unsorted")]
pub fn run_example(name: &str) -> String {
    run_example_with(name, &[])
}

/// Runs example `name` with the environment variables `vars` set and returns what it printed;
/// fails the test if it failed.
///
/// Test binaries live in `<target>/<profile>/deps`, examples in `<target>/<profile>/examples`;
/// cargo builds the examples before it runs the tests.
pub fn run_example_with(name: &str, vars: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path: PathBuf =
        exe.parent().and_then(|deps| deps.parent()).expect("a target directory").join("examples").join(name);
    let output = Command::new(&path)
        .envs(vars.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The lines example `name` printed, sorted.
#[allow(dead_code, reason = "not every test binary compares sorted output")]
pub fn sorted_lines(name: &str) -> Vec<String> {
    sorted_lines_with(name, &[])
}

/// The lines example `name` printed with the environment variables `vars`, sorted.
#[allow(dead_code, reason = "not every test binary compares sorted output")]
pub fn sorted_lines_with(name: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let mut lines: Vec<String> = run_example_with(name, vars).lines().map(String::from).collect();
    lines.sort();
    lines
}
