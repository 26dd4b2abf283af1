//! `KeyedStream`: a stream partitioned by key, with keyed operators and keyed state.

use std::marker::PhantomData;
use std::ops::Add;

use super::chain::{LastOperator, Parts};
use super::connected::ConnectedKeyedStreams;
use super::datastream::DataStream;
use crate::data::{Data, Key};
use crate::exchange::KeyGroupPartitioner;
use crate::graph::{EdgeId, Partitioning};
use crate::input::{ChainHead, ExchangeHead};
use crate::operator::{KeyedProcessFunction, KeyedProcessStage, OperatorId, ReduceStage, Stage};
use crate::state::StateValue;

/// A stream partitioned by key (Flink's `KeyedStream`): every record of a key reaches the same
/// subtask, which keeps that key's state.
pub struct KeyedStream<T: Data, K, KS, M: Data, H: ChainHead<M>, L: Stage<M, T>> {
    stream: DataStream<T, M, H, L>,
    key_selector: KS,
    _key: PhantomData<fn() -> K>,
}

/// The stream after a keyed operator `S`.
pub type KeyedNext<U, T, S> = DataStream<U, T, ExchangeHead<T>, S>;

impl<T, K, KS, M, H, L> KeyedStream<T, K, KS, M, H, L>
where
    T: Data,
    K: Key,
    KS: Fn(&T) -> K + Clone + Send + 'static,
    M: Data,
    H: ChainHead<M>,
    L: Stage<M, T>,
{
    pub(crate) fn new(stream: DataStream<T, M, H, L>, key_selector: KS) -> Self {
        Self { stream, key_selector, _key: PhantomData }
    }

    /// Ends the upstream chain in a hash exchange; returns the edge, the new vertex and the key
    /// selector.
    pub(crate) fn into_exchange(self) -> (crate::api::StreamExecutionEnvironment, EdgeId, crate::graph::VertexId, KS) {
        let env = self.stream.env().clone();
        let (edge, vertex) =
            self.stream.exchange(KeyGroupPartitioner::new(self.key_selector.clone()), Partitioning::Hash);
        (env, edge, vertex, self.key_selector)
    }

    pub(crate) fn env(&self) -> &crate::api::StreamExecutionEnvironment {
        self.stream.env()
    }

    pub(crate) fn into_parts(self) -> (KS, DataStream<T, M, H, L>) {
        (self.key_selector, self.stream)
    }

    fn keyed<U: Data, S: Stage<T, U>>(self, name: &str, stage: impl FnOnce(OperatorId, KS) -> S) -> KeyedNext<U, T, S> {
        self.keyed_with(name, None, stage)
    }

    /// The keyed operator `name` behind a hash exchange, with a fixed `parallelism` if given.
    pub(crate) fn keyed_with<U: Data, S: Stage<T, U>>(
        self,
        name: &str,
        parallelism: Option<u32>,
        stage: impl FnOnce(OperatorId, KS) -> S,
    ) -> KeyedNext<U, T, S> {
        let (env, edge, vertex, key_selector) = self.into_exchange();
        let id = env.with(|e| e.graph.add_operator(name));
        let parts = Parts {
            vertex,
            head: ExchangeHead::new(vec![edge]),
            last: stage(id, key_selector),
            last_operator: Some(LastOperator { id, parallelism, start_new_chain: false, disable_chaining: false }),
            head_operator: None,
            _types: PhantomData,
        };
        DataStream::from_parts(env, parts)
    }

    /// Rolling reduce: for every element, emits the new reduced value of its key (the first
    /// element of a key unchanged), with the element's timestamp.
    pub fn reduce<F>(self, reduce: F) -> KeyedNext<T, T, ReduceStage<KS, F>>
    where
        T: StateValue,
        F: FnMut(T, T) -> T + Clone + Send + 'static,
    {
        self.keyed("Keyed Reduce", |id, ks| ReduceStage::new(ks, reduce, id))
    }

    fn aggregate<A, F, C>(
        self,
        field: F,
        combine: C,
    ) -> KeyedNext<T, T, ReduceStage<KS, impl FnMut(T, T) -> T + Clone + Send + 'static>>
    where
        T: StateValue,
        A: Copy,
        F: Fn(&mut T) -> &mut A + Clone + Send + 'static,
        C: Fn(A, A) -> A + Clone + Send + 'static,
    {
        let fold = move |mut acc: T, mut value: T| {
            let v = *field(&mut value);
            let a = field(&mut acc);
            *a = combine(*a, v);
            acc
        };
        self.keyed("Keyed Aggregation", |id, ks| ReduceStage::new(ks, fold, id))
    }

    /// Rolling sum of the field `field` points at; the other fields come from the first
    /// element of the key (Flink's `sum`).
    pub fn sum<A, F>(self, field: F) -> KeyedNext<T, T, ReduceStage<KS, impl FnMut(T, T) -> T + Clone + Send + 'static>>
    where
        T: StateValue,
        A: Copy + Add<Output = A>,
        F: Fn(&mut T) -> &mut A + Clone + Send + 'static,
    {
        self.aggregate(field, |a, b| a + b)
    }

    /// Rolling minimum of the field `field` points at (Flink's `min`: other fields unchanged).
    pub fn min<A, F>(self, field: F) -> KeyedNext<T, T, ReduceStage<KS, impl FnMut(T, T) -> T + Clone + Send + 'static>>
    where
        T: StateValue,
        A: Copy + PartialOrd,
        F: Fn(&mut T) -> &mut A + Clone + Send + 'static,
    {
        self.aggregate(field, |a, b| if b < a { b } else { a })
    }

    /// Rolling maximum of the field `field` points at (Flink's `max`: other fields unchanged).
    pub fn max<A, F>(self, field: F) -> KeyedNext<T, T, ReduceStage<KS, impl FnMut(T, T) -> T + Clone + Send + 'static>>
    where
        T: StateValue,
        A: Copy + PartialOrd,
        F: Fn(&mut T) -> &mut A + Clone + Send + 'static,
    {
        self.aggregate(field, |a, b| if b > a { b } else { a })
    }

    /// Applies a [`KeyedProcessFunction`] with keyed state of the current key.
    pub fn process<U: Data, F: KeyedProcessFunction<K, T, U>>(
        self,
        function: F,
    ) -> KeyedNext<U, T, KeyedProcessStage<KS, F, T>> {
        self.keyed("KeyedProcess", |id, ks| KeyedProcessStage::new(ks, function, id))
    }

    /// Connects with another keyed stream of the same key type: a `KeyedCoProcessFunction`
    /// then sees both inputs with shared state per key.
    pub fn connect<T2, KS2, M2, H2, L2>(
        self,
        other: KeyedStream<T2, K, KS2, M2, H2, L2>,
    ) -> ConnectedKeyedStreams<T, T2, K, KS, KS2, M, H, L, M2, H2, L2>
    where
        T2: Data,
        KS2: Fn(&T2) -> K + Clone + Send + 'static,
        M2: Data,
        H2: ChainHead<M2>,
        L2: Stage<M2, T2>,
    {
        ConnectedKeyedStreams::new(self, other)
    }
}
