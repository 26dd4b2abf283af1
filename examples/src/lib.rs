//! Runnable StreamCrab jobs (the `[[example]]` targets of this package, each also run by the
//! tests in `tests/`) and the conformance runner (`streamcrab-conformance`).

pub mod conformance;
pub mod data;
pub mod pipelines;
