//! The DataStream builder API (Flink's `StreamExecutionEnvironment` / `DataStream`).
//!
//! Operators added here are fused into chains through generics (see [`chain`]): within a task
//! the records flow through one nested, monomorphized call tree.

pub mod chain;
mod connected;
mod datastream;
mod environment;
mod keyed;
pub mod pipeline;
mod sink;
mod windowed;

pub use chain::{Committed, EitherHead, OpHead};
pub use connected::{CoStream, ConnectedKeyedStreams, ConnectedStreams};
pub use datastream::{DataStream, ExchangeStream, Next, SourceStream};
pub use environment::StreamExecutionEnvironment;
pub use keyed::{KeyedNext, KeyedStream};
pub use sink::DataStreamSink;
pub use windowed::{AllKey, AllKeySelector, WindowNext, WindowedStream};
