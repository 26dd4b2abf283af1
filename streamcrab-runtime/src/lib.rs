//! The StreamCrab engine: elements, operators and their fusion into chains, tasks, in-process
//! channels and partitioners, key groups, keyed and operator state, sources and sinks, the
//! DataStream builder API, the embedded executor and operator test harnesses.
//!
//! Users depend on the facade crate `streamcrab`, which re-exports this one.

pub mod api;
pub mod checkpoint;
pub mod clock;
pub mod context;
pub mod data;
pub mod element;
pub mod error;
pub mod exchange;
pub mod executor;
pub mod file_sink;
pub mod graph;
pub mod input;
pub mod keygroup;
pub mod metrics;
pub mod operator;
pub mod sink;
pub mod source;
pub mod state;
pub mod task;
pub mod testing;
pub mod timer;
pub mod two_phase;
pub mod valve;
pub mod watermark;
pub mod window;
