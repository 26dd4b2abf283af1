//! Runs conformance cases (Flink's expected output as data) through StreamCrab.
//!
//! `streamcrab-conformance [DIR]` (default `conformance/cases`): prints PASS/FAIL per case
//! with a diff, then `N passed, N failed`; exits non-zero if any case failed.

use std::path::PathBuf;
use std::process::ExitCode;

use streamcrab_examples::conformance;

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).map_or_else(|| PathBuf::from("conformance/cases"), PathBuf::from);
    let results = match conformance::run_dir(&dir) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for result in &results {
        println!("{result}");
    }
    println!("{}", conformance::summary(&results));
    if results.iter().all(|r| r.outcome.passed()) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
