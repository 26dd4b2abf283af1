//! Runs every conformance case in `conformance/cases` (expected outputs produced by Apache
//! Flink 2.3.0) through the runner, as `streamcrab-conformance` does.

use std::path::Path;

use streamcrab::state::StateBackend;
use streamcrab_examples::conformance::{Outcome, run_dir_on, summary};

#[test]
fn all_flink_conformance_cases_pass() {
    all_cases_pass_on(StateBackend::Heap);
}

/// The event-time cases (windows, timers, keyed state) again with state in RocksDB.
#[cfg(feature = "rocksdb")]
#[test]
fn all_flink_conformance_cases_pass_on_rocksdb() {
    all_cases_pass_on(StateBackend::RocksDb(Default::default()));
}

fn all_cases_pass_on(backend: StateBackend) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/cases");
    let results = run_dir_on(&dir, &backend).expect("read the cases");
    assert!(results.len() >= 27, "cases missing from {}", dir.display());
    for result in &results {
        println!("{result}");
    }
    println!("{}", summary(&results));
    let failed: Vec<_> = results.iter().filter(|r| !r.outcome.passed()).map(|r| r.id.clone()).collect();
    assert!(failed.is_empty(), "failing cases: {failed:?}");
}

#[test]
fn an_unknown_operator_is_reported_not_skipped() {
    let case = serde_json::json!({
        "id": "made_up", "kind": "pipeline", "parallelism": 1,
        "inputs": {"in": {"elements": [{"ts": 1, "rec": {"key": "a", "v": 1}}]}},
        "pipeline": [{"op": "source", "input": "in"}, {"op": "teleport"}],
        "expected": {"main": {"order": "exact", "records": []}}
    });
    let outcome = streamcrab_examples::conformance::run_case(&case);
    assert!(matches!(&outcome, Outcome::Unsupported(what) if what.contains("teleport")), "{outcome:?}");
}

#[test]
fn a_wrong_expectation_fails_with_a_diff() {
    let case = serde_json::json!({
        "id": "wrong", "kind": "pipeline", "parallelism": 1,
        "inputs": {"in": {"elements": [{"ts": 5, "rec": {"key": "a", "v": 1}}, {"ts": 6, "rec": {"key": "a", "v": 2}}]}},
        "pipeline": [{"op": "source", "input": "in"}, {"op": "key_by", "field": "key"}, {"op": "reduce", "fn": "sum", "field": "v"}],
        "expected": {"main": {"order": "exact", "records": [{"ts": 5, "value": {"key": "a", "v": 1}}, {"ts": 6, "value": {"key": "a", "v": 4}}]}}
    });
    match streamcrab_examples::conformance::run_case(&case) {
        Outcome::Fail(diff) => assert!(diff.contains("\"v\":3"), "{diff}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}
