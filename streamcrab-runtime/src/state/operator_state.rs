//! Operator (non-keyed) state: named lists per operator instance, as Flink's
//! `OperatorStateStore.getListState`. Sources keep their read position here, sinks their
//! pending work.

use std::any::{Any, TypeId};
use std::marker::PhantomData;

use super::{ListStateDescriptor, StateValue};
use crate::error::StateError;

/// The operator state of one operator instance.
#[derive(Default)]
pub struct OperatorStateStore {
    lists: Vec<NamedList>,
}

struct NamedList {
    name: String,
    type_id: TypeId,
    values: Box<dyn Any + Send>,
}

impl OperatorStateStore {
    /// Registers (or finds again) the list state of `descriptor`.
    pub fn get_list_state<V: StateValue>(
        &mut self,
        descriptor: &ListStateDescriptor<V>,
    ) -> Result<OperatorListState<V>, StateError> {
        let type_id = TypeId::of::<Vec<V>>();
        let name = descriptor.name();
        let index = match self.lists.iter().position(|l| l.name == name) {
            Some(index) if self.lists[index].type_id == type_id => index,
            Some(_) => return Err(StateError::TypeMismatch { name: name.to_string() }),
            None => {
                self.lists.push(NamedList { name: name.to_string(), type_id, values: Box::new(Vec::<V>::new()) });
                self.lists.len() - 1
            }
        };
        Ok(OperatorListState { index, _value: PhantomData })
    }

    fn list_mut<V: 'static>(&mut self, index: usize) -> Result<&mut Vec<V>, StateError> {
        let list = self.lists.get_mut(index).ok_or(StateError::UnknownHandle { index })?;
        let name = &list.name;
        list.values.downcast_mut::<Vec<V>>().ok_or_else(|| StateError::TypeMismatch { name: name.clone() })
    }
}

/// A context that gives access to its operator's [`OperatorStateStore`].
pub trait OperatorStateAccess {
    /// The operator state of the current operator instance.
    fn operator_state(&mut self) -> &mut OperatorStateStore;
}

impl OperatorStateAccess for OperatorStateStore {
    fn operator_state(&mut self) -> &mut OperatorStateStore {
        self
    }
}

/// Handle to a list in operator state.
pub struct OperatorListState<V> {
    index: usize,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for OperatorListState<V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for OperatorListState<V> {}

impl<V: StateValue> OperatorListState<V> {
    /// The current list.
    pub fn get<C: OperatorStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<Vec<V>, StateError> {
        Ok(ctx.operator_state().list_mut::<V>(self.index)?.clone())
    }

    /// Appends `value`.
    pub fn add<C: OperatorStateAccess + ?Sized>(&self, ctx: &mut C, value: V) -> Result<(), StateError> {
        ctx.operator_state().list_mut::<V>(self.index)?.push(value);
        Ok(())
    }

    /// Replaces the list.
    pub fn update<C: OperatorStateAccess + ?Sized>(&self, ctx: &mut C, values: Vec<V>) -> Result<(), StateError> {
        *ctx.operator_state().list_mut::<V>(self.index)? = values;
        Ok(())
    }

    /// Empties the list.
    pub fn clear<C: OperatorStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<(), StateError> {
        ctx.operator_state().list_mut::<V>(self.index)?.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_typed_and_named() {
        let mut store = OperatorStateStore::default();
        let offsets = store.get_list_state(&ListStateDescriptor::<u64>::new("offsets")).unwrap();
        offsets.add(&mut store, 3).unwrap();
        offsets.add(&mut store, 4).unwrap();
        assert_eq!(offsets.get(&mut store).unwrap(), vec![3, 4]);
        let again = store.get_list_state(&ListStateDescriptor::<u64>::new("offsets")).unwrap();
        again.update(&mut store, vec![9]).unwrap();
        assert_eq!(offsets.get(&mut store).unwrap(), vec![9]);
        assert!(store.get_list_state(&ListStateDescriptor::<String>::new("offsets")).is_err());
    }
}
