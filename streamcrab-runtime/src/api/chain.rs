//! How the builder fuses operators: the state of an open chain and the decisions that close it.
//!
//! A stream under construction is a head `H` (a source, an input gate, or the operators fused
//! so far) followed by its *last* operator `L`, whose settings (parallelism, chaining hints)
//! may still change. When the next operator arrives, or the stream ends in a sink or an
//! exchange, the last operator is *committed*: chained into the head's task when Flink's rules
//! allow it (same parallelism, no hint against it), or placed behind a new task boundary. The
//! committed head is `OpHead<EitherHead<H, ExchangeHead<M>>, L>`: both shapes are compiled, one
//! is chosen when the job is built. The chained shape costs nothing per record; the cut shape
//! boxes the chain behind the new task's input gate (one virtual call per record at the task
//! boundary), which keeps compile time linear in the number of operators.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;

use super::environment::EnvInner;
use crate::data::Data;
use crate::error::TaskError;
use crate::exchange::{ExchangeTail, Partitioner, RebalancePartitioner, make_channels};
use crate::graph::{EdgeId, EdgeSource, HeadKind, Partitioning, VertexId};
use crate::input::{ChainHead, ExchangeHead};
use crate::operator::{Operator, OperatorId, Stage, Tail};
use crate::task::TaskContext;

/// A head followed by one more stage: the operators fused so far.
pub struct OpHead<H, S, M> {
    head: H,
    stage: S,
    _mid: PhantomData<fn() -> M>,
}

impl<H: Clone, S: Clone, M> Clone for OpHead<H, S, M> {
    fn clone(&self) -> Self {
        Self { head: self.head.clone(), stage: self.stage.clone(), _mid: PhantomData }
    }
}

impl<M: 'static, T, H: ChainHead<M>, S: Stage<M, T>> ChainHead<T> for OpHead<H, S, M> {
    #[inline]
    fn run<O: Operator<T>>(self, chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.head.run(self.stage.build(chain), ctx)
    }
}

/// Either the chained head or the input gate of a new task, chosen when the job is built.
#[derive(Clone)]
pub enum EitherHead<A, B> {
    /// The operator is chained to what precedes it.
    Chained(A),
    /// The operator starts a new task.
    Input(B),
}

impl<T, A: ChainHead<T>, B: ChainHead<T>> ChainHead<T> for EitherHead<A, B> {
    fn run<O: Operator<T>>(self, chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        match self {
            Self::Chained(head) => head.run(chain, ctx),
            // A task boundary: the chain is boxed once here (one virtual call per record), so the
            // input gate is compiled once per element type instead of once per chain shape.
            Self::Input(head) => {
                let chain: Box<dyn Operator<T> + '_> = Box::new(chain);
                head.run(chain, ctx)
            }
        }
    }
}

/// Settings of the last, not yet committed operator.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LastOperator {
    pub(crate) id: OperatorId,
    pub(crate) parallelism: Option<u32>,
    pub(crate) start_new_chain: bool,
    pub(crate) disable_chaining: bool,
}

/// An open chain: head, last operator and where they live.
pub(crate) struct Parts<T, M, H, L> {
    /// The vertex of the head.
    pub(crate) vertex: VertexId,
    pub(crate) head: H,
    pub(crate) last: L,
    pub(crate) last_operator: Option<LastOperator>,
    /// The operator that `name`/`uid` apply to when there is no last operator (a source).
    pub(crate) head_operator: Option<OperatorId>,
    pub(crate) _types: PhantomData<fn() -> (T, M)>,
}

/// The head type after committing the last operator.
pub type Committed<M, H, L> = OpHead<EitherHead<H, ExchangeHead<M>>, L, M>;

/// Runs `head` into `tail` as the task body of `vertex`.
pub(crate) fn set_body<T, C: ChainHead<T>, Tl: Tail<T>>(env: &mut EnvInner, vertex: VertexId, head: C, tail: Tl) {
    env.graph.vertices[vertex.0].body = Some(Box::new(move || {
        let (head, tail) = (head.clone(), tail.clone());
        Box::new(move |ctx: &mut TaskContext| {
            let tail = tail.build(ctx)?;
            head.run(tail, ctx)
        })
    }));
}

/// Ends `vertex` with `head` writing into a new edge towards a new input vertex.
pub(crate) fn cut<T: Data, C: ChainHead<T>, P: Partitioner<T>>(
    env: &mut EnvInner,
    vertex: VertexId,
    head: C,
    partitioner: P,
    partitioning: Partitioning,
    parallelism: u32,
) -> (EdgeId, VertexId) {
    let target = env.graph.add_vertex(HeadKind::Input, parallelism);
    let edge = env.graph.add_edge(
        EdgeSource::Main(vertex),
        target,
        partitioning,
        Arc::new(|up, down, pointwise, max| make_channels::<T>(up, down, pointwise, max)),
    );
    set_body(env, vertex, head, ExchangeTail::new(edge, partitioner));
    (edge, target)
}

impl<T: Data, M: Data, H: ChainHead<M>, L: Stage<M, T>> Parts<T, M, H, L> {
    /// Commits the last operator: chains it to the head, or cuts before it.
    pub(crate) fn commit(self, env: &mut EnvInner) -> (VertexId, Committed<M, H, L>) {
        let Some(last) = self.last_operator else {
            return (self.vertex, OpHead { head: EitherHead::Chained(self.head), stage: self.last, _mid: PhantomData });
        };
        let parallelism = last.parallelism.unwrap_or(env.parallelism);
        let (vertex_id, head) = if join_chain(env, self.vertex, last.id, parallelism, last.start_new_chain) {
            (self.vertex, EitherHead::Chained(self.head))
        } else {
            let (edge, target) =
                cut(env, self.vertex, self.head, RebalancePartitioner::default(), Partitioning::Default, parallelism);
            env.graph.vertices[target.0].operators.push(last.id);
            (target, EitherHead::Input(ExchangeHead::new(vec![edge])))
        };
        if last.disable_chaining {
            env.chain_breaks.push(vertex_id);
        }
        (vertex_id, OpHead { head, stage: self.last, _mid: PhantomData })
    }

    /// Commits the last operator and ends the chain in `tail`, run by an operator with
    /// `parallelism` (`None`: chained, whatever the parallelism).
    pub(crate) fn finish<Tl: Tail<T>>(
        self,
        env: &mut EnvInner,
        tail: Tl,
        tail_operator: Option<(OperatorId, u32)>,
    ) -> VertexId {
        let (vertex, head) = self.commit(env);
        let Some((operator, parallelism)) = tail_operator else {
            set_body(env, vertex, head, tail);
            return vertex;
        };
        if join_chain(env, vertex, operator, parallelism, false) {
            set_body(env, vertex, head, tail);
            vertex
        } else {
            let (edge, target) =
                cut(env, vertex, head, RebalancePartitioner::default(), Partitioning::Default, parallelism);
            env.graph.vertices[target.0].operators.push(operator);
            set_body(env, target, ExchangeHead::<T>::new(vec![edge]), tail);
            target
        }
    }
}

/// Flink's chaining rule for `operator` after the chain of `vertex`: it joins a fresh input
/// vertex (which takes its parallelism) or a chain of the same parallelism without a chain
/// break. Returns whether it joined.
fn join_chain(
    env: &mut EnvInner,
    vertex: VertexId,
    operator: OperatorId,
    parallelism: u32,
    start_new_chain: bool,
) -> bool {
    let broken = env.chain_breaks.contains(&vertex);
    let v = &mut env.graph.vertices[vertex.0];
    let fresh_input = v.head == HeadKind::Input && v.operators.is_empty();
    if fresh_input {
        v.parallelism = parallelism;
    } else if v.parallelism != parallelism || start_new_chain || broken {
        return false;
    }
    v.operators.push(operator);
    true
}

/// A stream whose chain is still open when the job is executed (or when it is dropped): it is
/// closed with a discarding tail, so operators with consumed side outputs still run.
pub(crate) trait PendingChain {
    fn close(&self, env: &mut EnvInner);
}

impl<T: Data, M: Data, H: ChainHead<M>, L: Stage<M, T>> PendingChain for RefCell<Option<Parts<T, M, H, L>>> {
    fn close(&self, env: &mut EnvInner) {
        if let Some(parts) = self.borrow_mut().take() {
            parts.finish(env, crate::sink::DiscardTail, None);
        }
    }
}
