//! Window functions: how a window accumulates its elements and what it emits when it fires
//! (`reduce`, `aggregate`, `process`, and the first two followed by a `ProcessWindowFunction`).

use std::marker::PhantomData;

use super::Window;
use crate::data::Data;
use crate::error::UserResult;
use crate::operator::Collector;
use crate::state::{AggregateFunction, StateValue};

/// What a [`ProcessWindowFunction`] knows about the window it evaluates.
pub struct ProcessWindowContext<'a> {
    pub(crate) window: &'a Window,
    pub(crate) current_watermark: i64,
}

impl ProcessWindowContext<'_> {
    /// The window being evaluated.
    pub fn window(&self) -> &Window {
        self.window
    }

    /// The operator's current watermark.
    pub fn current_watermark(&self) -> i64 {
        self.current_watermark
    }
}

/// A function over all elements of a window, with its metadata (Flink's
/// `ProcessWindowFunction`). Combined with `reduce`/`aggregate` it gets the single
/// pre-aggregated value.
pub trait ProcessWindowFunction<K, In, Out>: Clone + Send + 'static {
    /// Evaluates one window of `key`.
    fn process(
        &mut self,
        key: &K,
        ctx: &ProcessWindowContext<'_>,
        elements: Vec<In>,
        out: &mut Collector<'_, Out>,
    ) -> UserResult;
}

/// How a window accumulates its elements and what it emits when it fires.
pub trait WindowContents<K, T>: Clone + Send + 'static {
    /// What is kept per window.
    type Acc: StateValue;
    /// What a firing emits.
    type Out;
    /// Adds `value` to the window's accumulator (`None` for an empty window).
    fn add(&mut self, acc: Option<Self::Acc>, value: T) -> Self::Acc;
    /// Merges two accumulators (session windows).
    fn merge(&mut self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// Emits the result of a firing.
    fn emit(
        &mut self,
        key: &K,
        ctx: &ProcessWindowContext<'_>,
        acc: &Self::Acc,
        out: &mut Collector<'_, Self::Out>,
    ) -> UserResult;
}

/// Folds `value` into `acc` with `reduce` (the first value is kept as is).
fn reduce_into<T>(reduce: &mut impl FnMut(T, T) -> T, acc: Option<T>, value: T) -> T {
    match acc {
        Some(acc) => reduce(acc, value),
        None => value,
    }
}

/// Adds `value` to `acc` (a new accumulator if there is none).
fn aggregate_into<T, A: AggregateFunction<T>>(function: &A, acc: Option<A::Acc>, value: T) -> A::Acc {
    let mut acc = acc.unwrap_or_else(|| function.create_accumulator());
    function.add(value, &mut acc);
    acc
}

/// `reduce(f)`, optionally followed by a process function over the reduced value.
#[derive(Clone)]
pub struct ReduceContents<F, P> {
    reduce: F,
    process: P,
}

impl<F> ReduceContents<F, ()> {
    /// Incremental `reduce` emitting the reduced value.
    pub fn new(reduce: F) -> Self {
        Self { reduce, process: () }
    }
}

impl<F, P, O> ReduceContents<F, Then<P, O>> {
    /// Incremental `reduce` whose single result `process` turns into the output.
    pub fn with_process(reduce: F, process: P) -> Self {
        Self { reduce, process: Then(process, PhantomData) }
    }
}

impl<K, T: Data + StateValue, F: FnMut(T, T) -> T + Clone + Send + 'static> WindowContents<K, T>
    for ReduceContents<F, ()>
{
    type Acc = T;
    type Out = T;
    fn add(&mut self, acc: Option<T>, value: T) -> T {
        reduce_into(&mut self.reduce, acc, value)
    }
    fn merge(&mut self, a: T, b: T) -> T {
        (self.reduce)(a, b)
    }
    fn emit(&mut self, _: &K, _: &ProcessWindowContext<'_>, acc: &T, out: &mut Collector<'_, T>) -> UserResult {
        out.collect(acc.clone());
        Ok(())
    }
}

/// A [`ProcessWindowFunction`] (producing `O`) applied after an incremental function.
pub struct Then<P, O>(P, PhantomData<fn() -> O>);

impl<P: Clone, O> Clone for Then<P, O> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<K, T, O: 'static, F, P> WindowContents<K, T> for ReduceContents<F, Then<P, O>>
where
    T: Data + StateValue,
    F: FnMut(T, T) -> T + Clone + Send + 'static,
    P: ProcessWindowFunction<K, T, O>,
{
    type Acc = T;
    type Out = O;
    fn add(&mut self, acc: Option<T>, value: T) -> T {
        reduce_into(&mut self.reduce, acc, value)
    }
    fn merge(&mut self, a: T, b: T) -> T {
        (self.reduce)(a, b)
    }
    fn emit(&mut self, key: &K, ctx: &ProcessWindowContext<'_>, acc: &T, out: &mut Collector<'_, O>) -> UserResult {
        self.process.0.process(key, ctx, vec![acc.clone()], out)
    }
}

/// `aggregate(f)`, optionally followed by a process function over the aggregate.
#[derive(Clone)]
pub struct AggregateContents<A, P> {
    function: A,
    process: P,
}

impl<A> AggregateContents<A, ()> {
    /// Incremental aggregation emitting `get_result`.
    pub fn new(function: A) -> Self {
        Self { function, process: () }
    }
}

impl<A, P, O> AggregateContents<A, Then<P, O>> {
    /// Incremental aggregation whose result `process` turns into the output.
    pub fn with_process(function: A, process: P) -> Self {
        Self { function, process: Then(process, PhantomData) }
    }
}

impl<K, T, A: AggregateFunction<T>> WindowContents<K, T> for AggregateContents<A, ()> {
    type Acc = A::Acc;
    type Out = A::Out;
    fn add(&mut self, acc: Option<A::Acc>, value: T) -> A::Acc {
        aggregate_into(&self.function, acc, value)
    }
    fn merge(&mut self, a: A::Acc, b: A::Acc) -> A::Acc {
        self.function.merge(a, b)
    }
    fn emit(
        &mut self,
        _: &K,
        _: &ProcessWindowContext<'_>,
        acc: &A::Acc,
        out: &mut Collector<'_, A::Out>,
    ) -> UserResult {
        out.collect(self.function.get_result(acc));
        Ok(())
    }
}

impl<K, T, O: 'static, A, P> WindowContents<K, T> for AggregateContents<A, Then<P, O>>
where
    A: AggregateFunction<T>,
    P: ProcessWindowFunction<K, A::Out, O>,
{
    type Acc = A::Acc;
    type Out = O;
    fn add(&mut self, acc: Option<A::Acc>, value: T) -> A::Acc {
        aggregate_into(&self.function, acc, value)
    }
    fn merge(&mut self, a: A::Acc, b: A::Acc) -> A::Acc {
        self.function.merge(a, b)
    }
    fn emit(
        &mut self,
        key: &K,
        ctx: &ProcessWindowContext<'_>,
        acc: &A::Acc,
        out: &mut Collector<'_, O>,
    ) -> UserResult {
        self.process.0.process(key, ctx, vec![self.function.get_result(acc)], out)
    }
}

/// `process(f)`: all elements are kept and handed to the function (producing `O`).
pub struct ProcessContents<P, O>(P, PhantomData<fn() -> O>);

impl<P: Clone, O> Clone for ProcessContents<P, O> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<P, O> ProcessContents<P, O> {
    /// Keeps all elements and evaluates them with `process`.
    pub fn new(process: P) -> Self {
        Self(process, PhantomData)
    }
}

impl<K, T: Data + StateValue, O: 'static, P: ProcessWindowFunction<K, T, O>> WindowContents<K, T>
    for ProcessContents<P, O>
{
    type Acc = Vec<T>;
    type Out = O;
    fn add(&mut self, acc: Option<Vec<T>>, value: T) -> Vec<T> {
        let mut acc = acc.unwrap_or_default();
        acc.push(value);
        acc
    }
    fn merge(&mut self, mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
        a.extend(b);
        a
    }
    fn emit(
        &mut self,
        key: &K,
        ctx: &ProcessWindowContext<'_>,
        acc: &Vec<T>,
        out: &mut Collector<'_, O>,
    ) -> UserResult {
        self.0.process(key, ctx, acc.clone(), out)
    }
}
