//! Stateless one-to-one and one-to-many operators: `map`, `filter`, `flat_map`.

use super::{Operator, OperatorId, Stage, forward_control};
use crate::element::StreamRecord;
use crate::error::TaskError;
use crate::task::call_user;

macro_rules! closure_stage {
    ($(#[$doc:meta])* $stage:ident => $op:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $stage<F> {
            f: F,
            id: OperatorId,
        }

        impl<F> $stage<F> {
            /// The stage of operator `id` with function `f`.
            pub fn new(f: F, id: OperatorId) -> Self {
                Self { f, id }
            }
        }

        /// The operator built by the stage of the same name.
        pub struct $op<F, N> {
            f: F,
            id: OperatorId,
            next: N,
        }
    };
}

closure_stage!(
    /// `map`: one output per input.
    MapStage => Map
);
closure_stage!(
    /// `filter`: keeps the records for which the predicate holds.
    FilterStage => Filter
);
closure_stage!(
    /// `flat_map`: any number of outputs per input.
    FlatMapStage => FlatMap
);

impl<In, Out, F> Stage<In, Out> for MapStage<F>
where
    F: FnMut(In) -> Out + Clone + Send + 'static,
{
    type Built<N: Operator<Out>> = Map<F, N>;
    fn build<N: Operator<Out>>(self, next: N) -> Map<F, N> {
        Map { f: self.f, id: self.id, next }
    }
}

impl<In, Out, F: FnMut(In) -> Out, N: Operator<Out>> Operator<In> for Map<F, N> {
    #[inline]
    fn process(&mut self, record: StreamRecord<In>) -> Result<(), TaskError> {
        let f = &mut self.f;
        let value = call_user(self.id, || f(record.value));
        self.next.process(StreamRecord { value, timestamp: record.timestamp })
    }
    forward_control!();
}

impl<T, F> Stage<T, T> for FilterStage<F>
where
    F: FnMut(&T) -> bool + Clone + Send + 'static,
{
    type Built<N: Operator<T>> = Filter<F, N>;
    fn build<N: Operator<T>>(self, next: N) -> Filter<F, N> {
        Filter { f: self.f, id: self.id, next }
    }
}

impl<T, F: FnMut(&T) -> bool, N: Operator<T>> Operator<T> for Filter<F, N> {
    #[inline]
    fn process(&mut self, record: StreamRecord<T>) -> Result<(), TaskError> {
        let f = &mut self.f;
        if call_user(self.id, || f(&record.value)) { self.next.process(record) } else { Ok(()) }
    }
    forward_control!();
}

impl<In, Out, I, F> Stage<In, Out> for FlatMapStage<F>
where
    F: FnMut(In) -> I + Clone + Send + 'static,
    I: IntoIterator<Item = Out>,
{
    type Built<N: Operator<Out>> = FlatMap<F, N>;
    fn build<N: Operator<Out>>(self, next: N) -> FlatMap<F, N> {
        FlatMap { f: self.f, id: self.id, next }
    }
}

impl<In, Out, I, F, N> Operator<In> for FlatMap<F, N>
where
    F: FnMut(In) -> I,
    I: IntoIterator<Item = Out>,
    N: Operator<Out>,
{
    #[inline]
    fn process(&mut self, record: StreamRecord<In>) -> Result<(), TaskError> {
        let f = &mut self.f;
        let mut values = call_user(self.id, || f(record.value)).into_iter();
        while let Some(value) = call_user(self.id, || values.next()) {
            self.next.process(StreamRecord { value, timestamp: record.timestamp })?;
        }
        Ok(())
    }
    forward_control!();
}
