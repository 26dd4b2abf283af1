//! The compile-time front end of StreamCrab.
//!
//! This crate will hold the `#[pipeline]` attribute and the `dataflow!` macro: thin proc-macro
//! entry points over a plain-Rust compiler (`plan/`: parse -> graph IR -> analysis -> chain
//! planning -> codegen -> diagnostics) that emits wiring into `streamcrab::__private`.
//! It has no macros yet; the runtime builder API (`streamcrab::environment`) is the only front
//! end so far.
