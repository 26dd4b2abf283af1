//! StreamCrab: stream processing with Apache Flink's semantics, in Rust.
//!
//! This is the crate jobs depend on. It re-exports the DataStream builder API, the function
//! traits, state, sources and sinks of [`streamcrab_runtime`]; [`prelude`] has the usual imports.
//!
//! Cargo feature `rocksdb`: the RocksDB keyed-state backend (`state::rocksdb`), chosen with
//! `env.set_state_backend(StateBackend::RocksDb(..))`. It builds RocksDB from source and needs
//! libclang (`apt-get install libclang-dev`).
//!
//! ```
//! use streamcrab::prelude::*;
//!
//! let env = StreamExecutionEnvironment::new("wordcount");
//! let counts = env
//!     .from_iter(vec!["to be or not to be".to_string()])
//!     .flat_map(|line: String| line.split_whitespace().map(String::from).collect::<Vec<_>>())
//!     .map(|word: String| (word, 1i32))
//!     .key_by(|(w, _): &(String, i32)| w.clone())
//!     .sum(|(_, c): &mut (String, i32)| c)
//!     .collect_to_vec();
//! env.execute().unwrap();
//! assert_eq!(counts.values().last(), Some(&("be".to_string(), 2)));
//! ```
//!
//! The same job as a compile-time pipeline (see [`pipeline`](macro@pipeline)):
//!
//! ```
//! use streamcrab::prelude::*;
//!
//! #[pipeline]
//! fn wordcount(env: &mut StreamExecutionEnvironment) {
//!     let words = env.from_iter(vec!["a b a".to_string()]).flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>());
//!     words.map(|w: String| (w, 1)).key_by(|(w, _): &(String, i32)| w.clone()).reduce(|a, b| (a.0, a.1 + b.1)).print();
//! }
//!
//! assert_eq!(WORDCOUNT.chains, 2);
//! WORDCOUNT.execute(wordcount).unwrap();
//! ```

/// serde, whose `Serialize` and `Deserialize` every key and state value implements (checkpoints
/// hold them).
pub use serde;
pub use streamcrab_macros::{dataflow, pipeline};

/// Compiled pipelines: the graph `#[pipeline]` / `dataflow!` analysed, and how to run them.
pub mod pipeline {
    pub use streamcrab_runtime::api::pipeline::*;
}

/// Stable paths for generated code; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use streamcrab_runtime::api::pipeline::{Dataflow, EdgeDescriptor, OperatorDescriptor, PipelineDescriptor};
}

/// The execution environment, where jobs start.
pub mod environment {
    pub use streamcrab_runtime::api::StreamExecutionEnvironment;
    pub use streamcrab_runtime::executor::{JobExecutionResult, JobHandle};
}

/// Streams and their transformations.
pub mod datastream {
    pub use streamcrab_runtime::api::*;
}

/// User-function traits and their contexts.
pub mod functions {
    pub use streamcrab_runtime::context::RuntimeContext;
    pub use streamcrab_runtime::operator::{
        CoMapFunction, CoProcessContext, CoProcessFunction, Collector, KeyedCoProcessContext, KeyedCoProcessFunction,
        KeyedContext, KeyedProcessFunction, OutputTag, ProcessContext, ProcessFunction,
    };
    pub use streamcrab_runtime::state::AggregateFunction;
    pub use streamcrab_runtime::window::{ProcessWindowContext, ProcessWindowFunction};
}

pub use streamcrab_runtime::{
    checkpoint, data, element, error, exchange, file_sink, input, keygroup, metrics, operator, sink, source, state,
    task, testing, timer, two_phase, valve, watermark, window,
};

/// The common imports of a job.
pub mod prelude {
    pub use crate::environment::StreamExecutionEnvironment;
    pub use crate::functions::*;
    pub use crate::{dataflow, pipeline};
    pub use streamcrab_runtime::data::{Data, Key};
    pub use streamcrab_runtime::element::StreamRecord;
    pub use streamcrab_runtime::error::{JobError, UserResult};
    pub use streamcrab_runtime::executor::JobExecutionResult;
    pub use streamcrab_runtime::sink::{SinkContext, SinkFunction};
    pub use streamcrab_runtime::source::{SourceContext, SourceFunction};
    pub use streamcrab_runtime::state::{
        ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, ValueStateDescriptor,
    };
}
