//! The conformance runner: runs case files whose expected output Apache Flink 2.3.0 produced
//! (schema: `conformance/README.md`) through StreamCrab's public API and compares.
//!
//! Every case ends as PASS, FAIL (with a diff) or UNSUPPORTED (an operator or function the
//! runner cannot map, reported and counted as a failure, never skipped).

mod compare;
mod functions;
mod pipeline;
mod unit;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use streamcrab::state::StateBackend;

/// How one case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The engine produced what Flink produced.
    Pass,
    /// It did not; the text says where they differ.
    Fail(String),
    /// The case uses something the runner cannot map onto the engine.
    Unsupported(String),
}

impl Outcome {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        matches!(self, Self::Pass)
    }
}

/// The result of one case file.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case id (its file name without `.json`).
    pub id: String,
    /// How it ended.
    pub outcome: Outcome,
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Pass => write!(f, "PASS {}", self.id),
            Outcome::Fail(diff) => write!(f, "FAIL {}\n{}", self.id, indent(diff)),
            Outcome::Unsupported(what) => write!(f, "FAIL {} (unsupported: {what})", self.id),
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect::<String>().trim_end().to_string()
}

/// A case could not be read.
#[derive(Debug)]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// The `*.json` files of `dir`, sorted by name.
pub fn case_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError { path: dir.to_path_buf(), reason: e.to_string() })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Runs one case file.
pub fn run_file(path: &Path) -> CaseResult {
    run_file_on(path, &StateBackend::Heap)
}

/// Runs one case file with keyed state in `backend`.
pub fn run_file_on(path: &Path, backend: &StateBackend) -> CaseResult {
    let fallback_id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let case: Value = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}")))
    {
        Ok(case) => case,
        Err(reason) => return CaseResult { id: fallback_id, outcome: Outcome::Fail(reason) },
    };
    let id = case["id"].as_str().map(str::to_string).unwrap_or(fallback_id);
    let outcome = run_case_on(&case, backend);
    CaseResult { id, outcome }
}

/// Runs a parsed case.
pub fn run_case(case: &Value) -> Outcome {
    run_case_on(case, &StateBackend::Heap)
}

/// Runs a parsed case with keyed state in `backend`.
pub fn run_case_on(case: &Value, backend: &StateBackend) -> Outcome {
    match case["kind"].as_str() {
        Some("unit") => unit::run(case),
        Some("pipeline") => pipeline::run(case, backend),
        other => Outcome::Unsupported(format!("case kind {other:?}")),
    }
}

/// Runs every case of `dir`.
pub fn run_dir(dir: &Path) -> Result<Vec<CaseResult>, LoadError> {
    run_dir_on(dir, &StateBackend::Heap)
}

/// Runs every case of `dir` with keyed state in `backend`.
pub fn run_dir_on(dir: &Path, backend: &StateBackend) -> Result<Vec<CaseResult>, LoadError> {
    Ok(case_files(dir)?.iter().map(|p| run_file_on(p, backend)).collect())
}

/// The closing line: `N passed, N failed`.
pub fn summary(results: &[CaseResult]) -> String {
    let passed = results.iter().filter(|r| r.outcome.passed()).count();
    format!("{passed} passed, {} failed", results.len() - passed)
}
