//! `DataStream`: a stream under construction and its transformations.

use std::cell::RefCell;
use std::fmt::{Debug, Display};
use std::marker::PhantomData;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use super::chain::{Committed, LastOperator, Parts, PendingChain, cut};
use super::connected::ConnectedStreams;
use super::environment::{EnvInner, StreamExecutionEnvironment};
use super::keyed::KeyedStream;
use super::sink::DataStreamSink;
use crate::data::{Data, Key};
use crate::error::{ConfigError, TaskError};
use crate::exchange::{
    BroadcastPartitioner, ExchangeTail, ExchangeWriter, ForwardPartitioner, Partitioner, RebalancePartitioner,
    ShufflePartitioner, make_channels, take_exchange_output,
};
use crate::graph::{EdgeSource, HeadKind, Partitioning};
use crate::input::{ChainHead, ExchangeHead};
use crate::keygroup::UPPER_BOUND_MAX_PARALLELISM;
use crate::operator::side_output::erase_side_output;
use crate::operator::{
    FilterStage, FlatMapStage, Identity, MapStage, OperatorId, OutputTag, ProcessFunction, ProcessStage, Stage,
};
use crate::sink::{CollectTail, CollectedResults, PrintSink, SinkFunction, SinkTail, TextFileSink};

/// A stream of `T` (Flink's `DataStream`).
///
/// The type parameters describe the fused chain built so far: `H` is the head (source, input
/// gate, or operators already fused) producing `M`, and `L` the last operator, turning `M` into
/// `T`. Write functions over streams generically:
/// `fn f<M: Data, H: ChainHead<M>, L: Stage<M, String>>(s: DataStream<String, M, H, L>)`.
pub struct DataStream<T: Data, M: Data, H: ChainHead<M>, L: Stage<M, T>> {
    env: StreamExecutionEnvironment,
    parts: SharedParts<T, M, H, L>,
}

/// The open chain of a stream, shared with the environment until it is closed.
type SharedParts<T, M, H, L> = Rc<RefCell<Option<Parts<T, M, H, L>>>>;

/// A stream straight out of a source.
pub type SourceStream<T, H> = DataStream<T, T, H, Identity>;

/// A stream that starts a new task, reading from an exchange.
pub type ExchangeStream<T> = DataStream<T, T, ExchangeHead<T>, Identity>;

/// The stream after one more operator `S` (producing `U`) on a `DataStream<T, M, H, L>`.
pub type Next<U, T, M, H, L, S> = DataStream<U, T, Committed<M, H, L>, S>;

impl<T: Data, M: Data, H: ChainHead<M>, L: Stage<M, T>> Drop for DataStream<T, M, H, L> {
    fn drop(&mut self) {
        let parts = self.parts.borrow_mut().take();
        if let Some(parts) = parts {
            self.env.with(|env| {
                parts.finish(env, crate::sink::DiscardTail, None);
            });
        }
    }
}

impl<T: Data, M: Data, H: ChainHead<M>, L: Stage<M, T>> DataStream<T, M, H, L> {
    pub(crate) fn from_parts(env: StreamExecutionEnvironment, parts: Parts<T, M, H, L>) -> Self {
        let parts = Rc::new(RefCell::new(Some(parts)));
        let pending: Rc<dyn PendingChain> = parts.clone();
        env.with(|e| e.pending.push(Rc::downgrade(&pending)));
        Self { env, parts }
    }

    pub(crate) fn take_parts(&self) -> Parts<T, M, H, L> {
        self.parts.borrow_mut().take().expect("this stream belongs to a job that was already executed")
    }

    pub(crate) fn env(&self) -> &StreamExecutionEnvironment {
        &self.env
    }

    /// The environment this stream belongs to.
    pub fn execution_environment(&self) -> StreamExecutionEnvironment {
        self.env.clone()
    }

    fn edit(&self, f: impl FnOnce(&mut Parts<T, M, H, L>, &mut EnvInner)) {
        let mut parts = self.parts.borrow_mut();
        let parts = parts.as_mut().expect("this stream belongs to a job that was already executed");
        self.env.with(|env| f(parts, env));
    }

    fn named_operator(parts: &Parts<T, M, H, L>) -> Option<OperatorId> {
        parts.last_operator.map(|l| l.id).or(parts.head_operator)
    }

    /// Adds operator `name` built by `stage` after this stream's last operator.
    pub(crate) fn push<U: Data, S: Stage<T, U>>(
        self,
        name: &str,
        stage: impl FnOnce(OperatorId) -> S,
    ) -> Next<U, T, M, H, L, S> {
        let parts = self.take_parts();
        let next = self.env.with(|env| {
            let id = env.graph.add_operator(name);
            let (vertex, head) = parts.commit(env);
            Parts {
                vertex,
                head,
                last: stage(id),
                last_operator: Some(LastOperator {
                    id,
                    parallelism: None,
                    start_new_chain: false,
                    disable_chaining: false,
                }),
                head_operator: None,
                _types: PhantomData,
            }
        });
        DataStream::from_parts(self.env.clone(), next)
    }

    /// Ends this stream's chain in an exchange towards a new task, returning the exchange edge
    /// and the new task's vertex.
    pub(crate) fn exchange<P: Partitioner<T>>(
        self,
        partitioner: P,
        partitioning: Partitioning,
    ) -> (crate::graph::EdgeId, crate::graph::VertexId) {
        let parts = self.take_parts();
        self.env.with(|env| {
            let (vertex, head) = parts.commit(env);
            let parallelism = env.parallelism;
            cut(env, vertex, head, partitioner, partitioning, parallelism)
        })
    }

    /// Ends this stream's chain in a new exchange edge into the existing vertex `target`.
    pub(crate) fn exchange_into<P: Partitioner<T>>(
        self,
        target: crate::graph::VertexId,
        partitioner: P,
        partitioning: Partitioning,
    ) -> crate::graph::EdgeId {
        let parts = self.take_parts();
        self.env.with(|env| {
            let (from, head) = parts.commit(env);
            let edge = env.graph.add_edge(
                EdgeSource::Main(from),
                target,
                partitioning,
                Arc::new(|up, down, pointwise, max| make_channels::<T>(up, down, pointwise, max)),
            );
            super::chain::set_body(env, from, head, ExchangeTail::new(edge, partitioner));
            edge
        })
    }

    fn exchange_stream<P: Partitioner<T>>(self, partitioner: P, partitioning: Partitioning) -> ExchangeStream<T> {
        let env = self.env.clone();
        let (edge, vertex) = self.exchange(partitioner, partitioning);
        DataStream::from_parts(env, input_parts(vertex, vec![edge], None))
    }

    /// Applies `f` to every element.
    pub fn map<U: Data, F>(self, f: F) -> Next<U, T, M, H, L, MapStage<F>>
    where
        F: FnMut(T) -> U + Clone + Send + 'static,
    {
        self.push("Map", |id| MapStage::new(f, id))
    }

    /// Keeps the elements for which `f` is true.
    pub fn filter<F>(self, f: F) -> Next<T, T, M, H, L, FilterStage<F>>
    where
        F: FnMut(&T) -> bool + Clone + Send + 'static,
    {
        self.push("Filter", |id| FilterStage::new(f, id))
    }

    /// Replaces every element by the elements `f` returns for it.
    pub fn flat_map<U: Data, I, F>(self, f: F) -> Next<U, T, M, H, L, FlatMapStage<F>>
    where
        I: IntoIterator<Item = U>,
        F: FnMut(T) -> I + Clone + Send + 'static,
    {
        self.push("Flat Map", |id| FlatMapStage::new(f, id))
    }

    /// Applies a [`ProcessFunction`]: any number of outputs and side outputs per element.
    pub fn process<U: Data, F: ProcessFunction<T, U>>(self, function: F) -> Next<U, T, M, H, L, ProcessStage<F, T>> {
        self.push("Process", |id| ProcessStage::new(function, id))
    }

    /// Assigns event timestamps and generates watermarks (Flink's
    /// `assignTimestampsAndWatermarks`).
    pub fn assign_timestamps_and_watermarks<G, A>(
        self,
        strategy: crate::watermark::WatermarkStrategy<G, A>,
    ) -> Next<T, T, M, H, L, crate::watermark::TimestampsStage<G, A, T>>
    where
        G: crate::watermark::WatermarkGenerator,
        A: crate::watermark::TimestampAssigner<T>,
    {
        self.push("Timestamps/Watermarks", |id| crate::watermark::TimestampsStage::new(strategy, id))
    }

    /// Partitions the stream by the key `key_selector` returns (Flink's `keyBy`): every key goes
    /// to the subtask owning its key group.
    pub fn key_by<K: Key, KS>(self, key_selector: KS) -> KeyedStream<T, K, KS, M, H, L>
    where
        KS: Fn(&T) -> K + Clone + Send + 'static,
    {
        KeyedStream::new(self, key_selector)
    }

    /// Merges this stream with `other` (same element type); per-input order is preserved.
    pub fn union<M2: Data, H2: ChainHead<M2>, L2: Stage<M2, T>>(
        self,
        other: DataStream<T, M2, H2, L2>,
    ) -> ExchangeStream<T> {
        let env = self.env.clone();
        let (first, vertex) = self.exchange(RebalancePartitioner::default(), Partitioning::Default);
        let second = other.exchange_into(vertex, RebalancePartitioner::default(), Partitioning::Default);
        DataStream::from_parts(env, input_parts(vertex, vec![first, second], None))
    }

    /// Connects this stream with `other` for a two-input function (`map` / `process`).
    pub fn connect<T2: Data, M2: Data, H2: ChainHead<M2>, L2: Stage<M2, T2>>(
        self,
        other: DataStream<T2, M2, H2, L2>,
    ) -> ConnectedStreams<T, M, H, L, T2, M2, H2, L2> {
        ConnectedStreams::new(self, other)
    }

    /// Distributes elements round robin over the next operator's subtasks.
    pub fn rebalance(self) -> ExchangeStream<T> {
        self.exchange_stream(RebalancePartitioner::default(), Partitioning::Rebalance)
    }

    /// Distributes elements randomly over the next operator's subtasks.
    pub fn shuffle(self) -> ExchangeStream<T> {
        self.exchange_stream(ShufflePartitioner, Partitioning::Shuffle)
    }

    /// Sends every element to every subtask of the next operator.
    pub fn broadcast(self) -> ExchangeStream<T> {
        self.exchange_stream(BroadcastPartitioner, Partitioning::Broadcast)
    }

    /// Sends subtask `i`'s elements to subtask `i` of the next operator; the next operator must
    /// have the same parallelism (else the job is rejected).
    pub fn forward(self) -> ExchangeStream<T> {
        self.exchange_stream(ForwardPartitioner, Partitioning::Forward)
    }

    /// Names the last operator (shown in task names, errors and `describe`).
    pub fn name(self, name: &str) -> Self {
        self.edit(|parts, env| {
            if let Some(id) = Self::named_operator(parts) {
                env.graph.operators[id.0 as usize].name = name.to_string();
            }
        });
        self
    }

    /// Gives the last operator a stable id (unique in the job; used to match state on restore).
    pub fn uid(self, uid: &str) -> Self {
        self.edit(|parts, env| {
            if let Some(id) = Self::named_operator(parts) {
                env.graph.operators[id.0 as usize].uid = Some(uid.to_string());
            }
        });
        self
    }

    /// Sets the parallelism of the last operator (or of the source). Must be at least 1.
    pub fn set_parallelism(self, parallelism: u32) -> Self {
        self.edit(|parts, env| {
            if parallelism == 0 {
                let operator = Self::named_operator(parts)
                    .map_or_else(String::new, |id| env.graph.operators[id.0 as usize].name.clone());
                env.graph.errors.push(ConfigError::ZeroParallelism { operator, value: 0 });
                return;
            }
            match &mut parts.last_operator {
                Some(last) => last.parallelism = Some(parallelism),
                None => env.graph.vertices[parts.vertex.0].parallelism = parallelism,
            }
        });
        self
    }

    /// Sets the max parallelism (number of key groups) of the last operator: `1..=32768` and
    /// not below its parallelism.
    pub fn set_max_parallelism(self, max_parallelism: u32) -> Self {
        self.edit(|parts, env| {
            let Some(id) = Self::named_operator(parts) else { return };
            let meta = &mut env.graph.operators[id.0 as usize];
            if (1..=UPPER_BOUND_MAX_PARALLELISM).contains(&max_parallelism) {
                meta.max_parallelism = Some(max_parallelism);
            } else {
                let operator = meta.name.clone();
                env.graph.errors.push(ConfigError::MaxParallelismOutOfBounds { operator, value: max_parallelism });
            }
        });
        self
    }

    /// Starts a new chain at the last operator: it is not fused with what precedes it.
    pub fn start_new_chain(self) -> Self {
        self.edit(|parts, _| {
            if let Some(last) = &mut parts.last_operator {
                last.start_new_chain = true;
            }
        });
        self
    }

    /// Runs the last operator in a task of its own: fused neither with what precedes nor with
    /// what follows it.
    pub fn disable_chaining(self) -> Self {
        self.edit(|parts, _| {
            if let Some(last) = &mut parts.last_operator {
                last.start_new_chain = true;
                last.disable_chaining = true;
            }
        });
        self
    }

    /// The side output `tag` of the last operator, as a stream (empty if the operator never
    /// emits to it).
    pub fn get_side_output<S: Data>(&self, tag: &OutputTag<S>) -> ExchangeStream<S> {
        let mut operator = None;
        self.edit(|parts, _| operator = Self::named_operator(parts));
        let parts = self.env.with(|env| {
            let parallelism = env.parallelism;
            let target = env.graph.add_vertex(HeadKind::Input, parallelism);
            let Some(operator) = operator else {
                return input_parts(target, Vec::new(), None);
            };
            let writer: crate::task::SideOutputFactory = Arc::new(|ctx, edge| {
                let edge = edge.ok_or_else(|| TaskError::Wiring { what: "side output without an edge".into() })?;
                let output = take_exchange_output::<S>(ctx, edge)?;
                Ok(erase_side_output::<S>(Box::new(ExchangeWriter::new(output, RebalancePartitioner::default()))))
            });
            let edge = env.graph.add_edge(
                EdgeSource::Side { operator, tag: tag.name().to_string(), writer },
                target,
                Partitioning::Default,
                Arc::new(|up, down, pointwise, max| make_channels::<S>(up, down, pointwise, max)),
            );
            input_parts(target, vec![edge], None)
        });
        DataStream::from_parts(self.env.clone(), parts)
    }

    fn sink<Tl: crate::operator::Tail<T>>(self, name: &str, tail: impl FnOnce(OperatorId) -> Tl) -> DataStreamSink {
        let parts = self.take_parts();
        let id = self.env.with(|env| env.graph.add_operator(name));
        let tail = tail(id);
        DataStreamSink::new(self.env.clone(), id, move |env, parallelism| {
            parts.finish(env, tail, Some((id, parallelism)))
        })
    }

    /// Ends the stream in a [`TwoPhaseCommitSink`](crate::two_phase::TwoPhaseCommitSink): its
    /// output becomes visible when the checkpoint covering it completes (exactly once).
    pub fn add_two_phase_commit_sink<S: crate::two_phase::TwoPhaseCommitSink<T>>(self, sink: S) -> DataStreamSink {
        self.sink("Sink: Two-Phase Commit Sink", |id| crate::two_phase::TwoPhaseCommitTail::new(sink, id))
    }

    /// Ends the stream in a user [`SinkFunction`].
    pub fn add_sink<S: SinkFunction<T>>(self, function: S) -> DataStreamSink {
        self.sink("Sink: Custom Sink", |id| SinkTail::new(function, id))
    }

    /// Prints every element's `Debug` form to stdout, one per line (prefixed with `N> ` when
    /// the sink runs with parallelism above 1).
    pub fn print(self) -> DataStreamSink
    where
        T: Debug,
    {
        self.sink("Sink: Print to Std. Out", |id| SinkTail::new(PrintSink::default(), id))
    }

    /// Writes every element's `Display` form to a text file, one per line (a directory of one
    /// file per subtask when the sink's parallelism is above 1).
    pub fn write_as_text(self, path: impl AsRef<Path>) -> DataStreamSink
    where
        T: Display,
    {
        let sink = TextFileSink::new(path.as_ref().to_path_buf());
        self.sink("Sink: Text File", |id| SinkTail::new(sink, id))
    }

    /// Collects every element (with its timestamp); read them from the returned handle once
    /// the job has finished.
    pub fn collect_to_vec(self) -> CollectedResults<T> {
        let results = CollectedResults::default();
        let shared = results.clone();
        self.sink("Sink: Collect", move |id| CollectTail::new(shared, id));
        results
    }
}

/// The parts of a stream starting at an input vertex reading `edges`.
pub(crate) fn input_parts<T: Data>(
    vertex: crate::graph::VertexId,
    edges: Vec<crate::graph::EdgeId>,
    last: Option<LastOperator>,
) -> Parts<T, T, ExchangeHead<T>, Identity> {
    Parts {
        vertex,
        head: ExchangeHead::new(edges),
        last: Identity,
        last_operator: last,
        head_operator: None,
        _types: PhantomData,
    }
}
