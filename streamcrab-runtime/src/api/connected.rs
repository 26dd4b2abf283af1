//! Connected streams: two inputs of possibly different types into one two-input function.

use std::marker::PhantomData;

use super::chain::Parts;
use super::datastream::DataStream;
use super::keyed::KeyedStream;
use crate::data::{Data, Key};
use crate::exchange::{KeyGroupPartitioner, RebalancePartitioner};
use crate::graph::Partitioning;
use crate::input::{ChainHead, CoStage, TwoInputHead};
use crate::operator::{
    CoMapFunction, CoMapStage, CoProcessFunction, CoProcessStage, Identity, KeyedCoProcessFunction,
    KeyedCoProcessStage, OperatorId, Stage,
};

/// The stream out of a two-input function `CS`.
pub type CoStream<O, CS, T1, T2> = DataStream<O, O, TwoInputHead<CS, T1, T2>, Identity>;

/// Two streams connected for a two-input function (Flink's `ConnectedStreams`).
pub struct ConnectedStreams<T1, M1, H1, L1, T2, M2, H2, L2>
where
    T1: Data,
    M1: Data,
    H1: ChainHead<M1>,
    L1: Stage<M1, T1>,
    T2: Data,
    M2: Data,
    H2: ChainHead<M2>,
    L2: Stage<M2, T2>,
{
    first: DataStream<T1, M1, H1, L1>,
    second: DataStream<T2, M2, H2, L2>,
}

fn co_stream<O: Data, T1: Data, T2: Data, CS: CoStage<T1, T2, O>>(
    env: crate::api::StreamExecutionEnvironment,
    name: &str,
    vertex: crate::graph::VertexId,
    edges: (crate::graph::EdgeId, crate::graph::EdgeId),
    stage: impl FnOnce(OperatorId) -> CS,
) -> CoStream<O, CS, T1, T2> {
    let id = env.with(|e| {
        let id = e.graph.add_operator(name);
        e.graph.vertices[vertex.0].operators.push(id);
        id
    });
    let parts = Parts {
        vertex,
        head: TwoInputHead::new(stage(id), vec![edges.0], vec![edges.1]),
        last: Identity,
        last_operator: None,
        head_operator: Some(id),
        _types: PhantomData,
    };
    DataStream::from_parts(env, parts)
}

impl<T1, M1, H1, L1, T2, M2, H2, L2> ConnectedStreams<T1, M1, H1, L1, T2, M2, H2, L2>
where
    T1: Data,
    M1: Data,
    H1: ChainHead<M1>,
    L1: Stage<M1, T1>,
    T2: Data,
    M2: Data,
    H2: ChainHead<M2>,
    L2: Stage<M2, T2>,
{
    pub(crate) fn new(first: DataStream<T1, M1, H1, L1>, second: DataStream<T2, M2, H2, L2>) -> Self {
        Self { first, second }
    }

    fn two_input<O: Data, CS: CoStage<T1, T2, O>>(
        self,
        name: &str,
        stage: impl FnOnce(OperatorId) -> CS,
    ) -> CoStream<O, CS, T1, T2> {
        let env = self.first.execution_environment();
        let (e1, vertex) = self.first.exchange(RebalancePartitioner::default(), Partitioning::Default);
        let e2 = self.second.exchange_into(vertex, RebalancePartitioner::default(), Partitioning::Default);
        co_stream(env, name, vertex, (e1, e2), stage)
    }

    /// Applies a [`CoMapFunction`]: `map1` to the first input, `map2` to the second.
    pub fn map<O: Data, F: CoMapFunction<T1, T2, O>>(self, function: F) -> CoStream<O, CoMapStage<F>, T1, T2> {
        self.two_input("Co-Map", |id| CoMapStage::new(function, id))
    }

    /// Applies a [`CoProcessFunction`].
    pub fn process<O: Data, F: CoProcessFunction<T1, T2, O>>(
        self,
        function: F,
    ) -> CoStream<O, CoProcessStage<F>, T1, T2> {
        self.two_input("Co-Process", |id| CoProcessStage::new(function, id))
    }
}

/// Two keyed streams with the same key type, connected (keyed `connect`).
pub struct ConnectedKeyedStreams<T1, T2, K, KS1, KS2, M1, H1, L1, M2, H2, L2>
where
    T1: Data,
    T2: Data,
    M1: Data,
    H1: ChainHead<M1>,
    L1: Stage<M1, T1>,
    M2: Data,
    H2: ChainHead<M2>,
    L2: Stage<M2, T2>,
{
    first: KeyedStream<T1, K, KS1, M1, H1, L1>,
    second: KeyedStream<T2, K, KS2, M2, H2, L2>,
}

impl<T1, T2, K, KS1, KS2, M1, H1, L1, M2, H2, L2> ConnectedKeyedStreams<T1, T2, K, KS1, KS2, M1, H1, L1, M2, H2, L2>
where
    T1: Data,
    T2: Data,
    K: Key,
    KS1: Fn(&T1) -> K + Clone + Send + 'static,
    KS2: Fn(&T2) -> K + Clone + Send + 'static,
    M1: Data,
    H1: ChainHead<M1>,
    L1: Stage<M1, T1>,
    M2: Data,
    H2: ChainHead<M2>,
    L2: Stage<M2, T2>,
{
    pub(crate) fn new(first: KeyedStream<T1, K, KS1, M1, H1, L1>, second: KeyedStream<T2, K, KS2, M2, H2, L2>) -> Self {
        Self { first, second }
    }

    /// Applies a [`KeyedCoProcessFunction`]: both inputs share the keyed state of a key.
    pub fn process<O: Data, F: KeyedCoProcessFunction<K, T1, T2, O>>(
        self,
        function: F,
    ) -> CoStream<O, KeyedCoProcessStage<KS1, KS2, F>, T1, T2> {
        let (env, e1, vertex, ks1) = self.first.into_exchange();
        let (ks2, second) = self.second.into_parts();
        let e2 = second.exchange_into(vertex, KeyGroupPartitioner::new(ks2.clone()), Partitioning::Hash);
        co_stream(env, "Keyed Co-Process", vertex, (e1, e2), |id| KeyedCoProcessStage::new(ks1, ks2, function, id))
    }
}
