//! `WindowedStream`: a keyed stream cut into windows, evaluated by a window function.

use super::datastream::DataStream;
use super::keyed::{KeyedNext, KeyedStream};
use crate::data::{Data, Key};
use crate::error::ConfigError;
use crate::input::ChainHead;
use crate::operator::{OutputTag, Stage};
use crate::state::{AggregateFunction, StateValue};
use crate::window::{
    AggregateContents, Evictor, GlobalWindows, ProcessContents, ProcessWindowFunction, ReduceContents, Then, Trigger,
    WindowAssigner, WindowContents, WindowSettings, WindowStage,
};

/// A keyed stream with a window assigner (Flink's `WindowedStream`); choose trigger, evictor
/// and lateness, then a window function.
pub struct WindowedStream<T: Data, K, KS, M: Data, H: ChainHead<M>, L: Stage<M, T>> {
    keyed: KeyedStream<T, K, KS, M, H, L>,
    settings: WindowSettings,
    errors: Vec<String>,
    non_keyed: bool,
}

/// The stream out of a window function `C`.
pub type WindowNext<K, T, KS, C> = KeyedNext<<C as WindowContents<K, T>>::Out, T, WindowStage<KS, C, T>>;

impl<T, K, KS, M, H, L> WindowedStream<T, K, KS, M, H, L>
where
    T: Data + StateValue,
    K: Key,
    KS: Fn(&T) -> K + Clone + Send + 'static,
    M: Data,
    H: ChainHead<M>,
    L: Stage<M, T>,
{
    pub(crate) fn new(keyed: KeyedStream<T, K, KS, M, H, L>, assigner: WindowAssigner, non_keyed: bool) -> Self {
        let errors = assigner.validate().err().into_iter().collect();
        let settings =
            WindowSettings { assigner, trigger: None, evictor: None, allowed_lateness: 0, late_output: None };
        Self { keyed, settings, errors, non_keyed }
    }

    /// Replaces the assigner's default trigger.
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.settings.trigger = Some(trigger);
        self
    }

    /// Removes elements before the window is evaluated (the window then keeps all elements).
    pub fn evictor(mut self, evictor: Evictor) -> Self {
        self.settings.evictor = Some(evictor);
        self
    }

    /// Keeps windows for `lateness_ms` after their end: late elements re-fire them.
    pub fn allowed_lateness(mut self, lateness_ms: i64) -> Self {
        if lateness_ms < 0 {
            self.errors.push(format!("allowed lateness must not be negative, got {lateness_ms} ms"));
        } else if !self.settings.assigner.is_event_time() && lateness_ms > 0 {
            self.errors.push("allowed lateness only applies to event-time windows".to_string());
        }
        self.settings.allowed_lateness = lateness_ms;
        self
    }

    /// Sends elements that arrive too late for all their windows to the side output `tag`
    /// (read it with `get_side_output` on the result).
    pub fn side_output_late_data(mut self, tag: &OutputTag<T>) -> Self {
        self.settings.late_output = Some(tag.name().to_string());
        self
    }

    fn apply<C: WindowContents<K, T>>(self, name: &str, contents: C) -> WindowNext<K, T, KS, C>
    where
        C::Out: Data,
    {
        let env = self.keyed.env().clone();
        env.with(|e| {
            for reason in self.errors {
                e.graph.errors.push(ConfigError::InvalidWindow { operator: name.to_string(), reason });
            }
        });
        let settings = self.settings;
        let parallelism = self.non_keyed.then_some(1);
        self.keyed
            .keyed_with(name, parallelism, |id, key_selector| WindowStage::new(key_selector, contents, settings, id))
    }

    /// Incremental `reduce`: the window emits the reduction of its elements.
    pub fn reduce<F>(self, reduce: F) -> WindowNext<K, T, KS, ReduceContents<F, ()>>
    where
        T: StateValue,
        F: FnMut(T, T) -> T + Clone + Send + 'static,
    {
        self.apply("Window(Reduce)", ReduceContents::new(reduce))
    }

    /// Incremental `reduce`, then `process` over the single reduced value with window metadata.
    pub fn reduce_with_process<O: Data, F, P>(
        self,
        reduce: F,
        process: P,
    ) -> WindowNext<K, T, KS, ReduceContents<F, Then<P, O>>>
    where
        T: StateValue,
        F: FnMut(T, T) -> T + Clone + Send + 'static,
        P: ProcessWindowFunction<K, T, O>,
    {
        self.apply("Window(Reduce, Process)", ReduceContents::with_process(reduce, process))
    }

    /// Incremental aggregation with an accumulator.
    pub fn aggregate<A>(self, function: A) -> WindowNext<K, T, KS, AggregateContents<A, ()>>
    where
        A: AggregateFunction<T>,
        A::Out: Data,
    {
        self.apply("Window(Aggregate)", AggregateContents::new(function))
    }

    /// Incremental aggregation, then `process` over the single result with window metadata.
    pub fn aggregate_with_process<O: Data, A, P>(
        self,
        function: A,
        process: P,
    ) -> WindowNext<K, T, KS, AggregateContents<A, Then<P, O>>>
    where
        A: AggregateFunction<T>,
        P: ProcessWindowFunction<K, A::Out, O>,
    {
        self.apply("Window(Aggregate, Process)", AggregateContents::with_process(function, process))
    }

    /// A function over all elements of the window (they are all kept until it fires).
    pub fn process<O: Data, P>(self, process: P) -> WindowNext<K, T, KS, ProcessContents<P, O>>
    where
        T: StateValue,
        P: ProcessWindowFunction<K, T, O>,
    {
        self.apply("Window(Process)", ProcessContents::new(process))
    }
}

impl<T, K, KS, M, H, L> KeyedStream<T, K, KS, M, H, L>
where
    T: Data + StateValue,
    K: Key,
    KS: Fn(&T) -> K + Clone + Send + 'static,
    M: Data,
    H: ChainHead<M>,
    L: Stage<M, T>,
{
    /// Windows of each key, assigned by `assigner`.
    pub fn window(self, assigner: WindowAssigner) -> WindowedStream<T, K, KS, M, H, L> {
        WindowedStream::new(self, assigner, false)
    }

    /// One result per `size` elements of a key (`window(GlobalWindows).trigger(Purging(Count))`).
    pub fn count_window(self, size: u64) -> WindowedStream<T, K, KS, M, H, L> {
        self.window(GlobalWindows::create()).trigger(Trigger::Purging(Box::new(Trigger::Count(size))))
    }

    /// Every `slide` elements of a key, a result over its last `size` elements.
    pub fn count_window_sliding(self, size: usize, slide: u64) -> WindowedStream<T, K, KS, M, H, L> {
        self.window(GlobalWindows::create()).evictor(Evictor::Count(size)).trigger(Trigger::Count(slide))
    }
}

/// The key of a non-keyed (`window_all`) stream.
pub type AllKey = ();

/// The key selector of `window_all`: every element has the key `()`.
pub type AllKeySelector<T> = fn(&T) -> AllKey;

impl<T: Data + StateValue, M: Data, H: ChainHead<M>, L: Stage<M, T>> DataStream<T, M, H, L> {
    /// Windows over the whole stream (Flink's `windowAll`); the window operator runs with
    /// parallelism 1. Window functions see the key `()`.
    pub fn window_all(self, assigner: WindowAssigner) -> WindowedStream<T, AllKey, AllKeySelector<T>, M, H, L> {
        let selector: AllKeySelector<T> = |_| ();
        WindowedStream::new(KeyedStream::new(self, selector), assigner, true)
    }
}
