//! The context a user function sees in `open()`: where it is running and where it declares its
//! state (Flink's `RuntimeContext`).

use crate::error::StateError;
use crate::operator::OperatorId;
use crate::state::{
    AggregateFunction, AggregatingState, AggregatingStateDescriptor, ListState, ListStateDescriptor, MapState,
    MapStateDescriptor, OperatorListState, OperatorStateStore, ReducingState, ReducingStateDescriptor, StateRegistry,
    StateValue, ValueState, ValueStateDescriptor,
};
use crate::task::TaskContext;

/// Task information and state registration for a user function's `open()`.
pub struct RuntimeContext<'a> {
    task: &'a TaskContext,
    operator: OperatorId,
    keyed: Option<&'a mut StateRegistry>,
    operator_state: &'a mut OperatorStateStore,
}

impl<'a> RuntimeContext<'a> {
    pub(crate) fn new(
        task: &'a TaskContext,
        operator: OperatorId,
        keyed: Option<&'a mut StateRegistry>,
        operator_state: &'a mut OperatorStateStore,
    ) -> Self {
        Self { task, operator, keyed, operator_state }
    }

    /// Index of this subtask, from 0.
    pub fn subtask_index(&self) -> u32 {
        self.task.subtask_index()
    }

    /// Number of subtasks of this operator.
    pub fn parallelism(&self) -> u32 {
        self.task.parallelism()
    }

    /// Max parallelism (number of key groups) of this operator.
    pub fn max_parallelism(&self) -> u32 {
        self.task.max_parallelism()
    }

    /// The operator's name.
    pub fn operator_name(&self) -> String {
        self.task.operator_name(self.operator)
    }

    fn keyed(&mut self, name: &str) -> Result<&mut StateRegistry, StateError> {
        self.keyed.as_deref_mut().ok_or_else(|| StateError::NotKeyed { name: name.to_string() })
    }

    /// Declares a keyed [`ValueState`].
    pub fn get_state<V: StateValue>(
        &mut self,
        descriptor: &ValueStateDescriptor<V>,
    ) -> Result<ValueState<V>, StateError> {
        descriptor.register(self.keyed(descriptor.name())?)
    }

    /// Declares a keyed [`ListState`].
    pub fn get_list_state<V: StateValue>(
        &mut self,
        descriptor: &ListStateDescriptor<V>,
    ) -> Result<ListState<V>, StateError> {
        descriptor.register(self.keyed(descriptor.name())?)
    }

    /// Declares a keyed [`MapState`].
    pub fn get_map_state<UK, UV>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> Result<MapState<UK, UV>, StateError>
    where
        UK: Clone + Eq + std::hash::Hash + Send + serde::Serialize + serde::de::DeserializeOwned + 'static,
        UV: StateValue,
    {
        descriptor.register(self.keyed(descriptor.name())?)
    }

    /// Declares a keyed [`ReducingState`].
    pub fn get_reducing_state<V, F>(
        &mut self,
        descriptor: &ReducingStateDescriptor<V, F>,
    ) -> Result<ReducingState<V, F>, StateError>
    where
        V: StateValue,
        F: Fn(V, V) -> V + Clone + Send + 'static,
    {
        let name = descriptor.name().to_string();
        descriptor.register(self.keyed(&name)?)
    }

    /// Declares a keyed [`AggregatingState`].
    pub fn get_aggregating_state<In: 'static, A: AggregateFunction<In>>(
        &mut self,
        descriptor: &AggregatingStateDescriptor<In, A>,
    ) -> Result<AggregatingState<In, A>, StateError> {
        let name = descriptor.name().to_string();
        descriptor.register(self.keyed(&name)?)
    }

    /// Declares an operator (non-keyed) list state.
    pub fn get_operator_list_state<V: StateValue>(
        &mut self,
        descriptor: &ListStateDescriptor<V>,
    ) -> Result<OperatorListState<V>, StateError> {
        self.operator_state.get_list_state(descriptor)
    }
}
