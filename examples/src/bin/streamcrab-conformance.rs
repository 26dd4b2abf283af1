//! Runs conformance cases (Flink's expected output as data) through StreamCrab.
//!
//! `streamcrab-conformance [--state-backend heap|rocksdb] [DIR]` (default `conformance/cases`,
//! heap): prints PASS/FAIL per case with a diff, then `N passed, N failed`; exits non-zero if
//! any case failed. `rocksdb` needs the `rocksdb` feature.

use std::path::PathBuf;
use std::process::ExitCode;

use streamcrab::state::StateBackend;
use streamcrab_examples::conformance;

/// The backend called `name`.
fn backend(name: &str) -> Option<StateBackend> {
    match name {
        "heap" => Some(StateBackend::Heap),
        #[cfg(feature = "rocksdb")]
        "rocksdb" => Some(StateBackend::RocksDb(Default::default())),
        _ => None,
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let backend = match args.iter().position(|a| a == "--state-backend") {
        Some(at) => {
            let name = args.get(at + 1).cloned().unwrap_or_default();
            args.drain(at..(at + 2).min(args.len()));
            match backend(&name) {
                Some(backend) => backend,
                None => {
                    eprintln!("error: unknown state backend '{name}' (heap, or rocksdb with the rocksdb feature)");
                    return ExitCode::from(2);
                }
            }
        }
        None => StateBackend::Heap,
    };
    let dir = args.first().map_or_else(|| PathBuf::from("conformance/cases"), PathBuf::from);
    let results = match conformance::run_dir_on(&dir, &backend) {
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
