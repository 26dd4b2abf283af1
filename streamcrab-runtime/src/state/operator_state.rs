//! Operator (non-keyed) state: named lists per operator instance, as Flink's
//! `OperatorStateStore.getListState`. Sources keep their read position here, sinks their
//! pending work.

use std::any::{Any, TypeId};
use std::marker::PhantomData;

use std::collections::HashMap;

use super::{ListStateDescriptor, StateValue};
use crate::checkpoint::snapshot::{OperatorList, OperatorSnapshot, decode, encode};
use crate::error::StateError;

/// The operator state of one operator instance.
#[derive(Default)]
pub struct OperatorStateStore {
    lists: Vec<NamedList>,
    /// Restored lists not registered yet: name -> encoded elements.
    restored: HashMap<String, Vec<Vec<u8>>>,
}

struct NamedList {
    name: String,
    type_id: TypeId,
    values: Box<dyn Any + Send>,
    encode: EncodeList,
}

/// Encodes a type-erased list element by element.
type EncodeList = fn(&dyn Any) -> Result<Vec<Vec<u8>>, String>;

fn encode_list<V: StateValue>(values: &dyn Any) -> Result<Vec<Vec<u8>>, String> {
    let values = values.downcast_ref::<Vec<V>>().ok_or("operator state list of another type")?;
    values.iter().map(encode).collect()
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
                let values: Vec<V> = match self.restored.remove(name) {
                    Some(encoded) => encoded
                        .iter()
                        .map(|bytes| decode(bytes))
                        .collect::<Result<_, _>>()
                        .map_err(|reason| StateError::Restore { name: name.to_string(), reason })?,
                    None => Vec::new(),
                };
                let encode = encode_list::<V>;
                self.lists.push(NamedList { name: name.to_string(), type_id, values: Box::new(values), encode });
                self.lists.len() - 1
            }
        };
        Ok(OperatorListState { index, _value: PhantomData })
    }

    /// Writes every list into `out` (restored lists not registered again included).
    pub fn snapshot(&self, out: &mut OperatorSnapshot) -> Result<(), StateError> {
        for list in &self.lists {
            let elements = (list.encode)(list.values.as_ref())
                .map_err(|reason| StateError::Snapshot { name: list.name.clone(), reason })?;
            out.add_list(list.name.clone(), elements);
        }
        for (name, elements) in &self.restored {
            out.add_list(name.clone(), elements.clone());
        }
        Ok(())
    }

    /// Takes restored lists; each is decoded when it is registered again.
    pub fn restore(&mut self, lists: Vec<OperatorList>) {
        for list in lists {
            self.restored.entry(list.name).or_default().extend(list.elements);
        }
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

    #[test]
    fn lists_survive_a_snapshot_and_restore() {
        let mut store = OperatorStateStore::default();
        let offsets = store.get_list_state(&ListStateDescriptor::<u64>::new("offsets")).unwrap();
        offsets.update(&mut store, vec![5, 6]).unwrap();
        let mut snapshot = OperatorSnapshot::default();
        store.snapshot(&mut snapshot).unwrap();

        let mut restored = OperatorStateStore::default();
        restored.restore(snapshot.lists.clone());
        let mut carried = OperatorSnapshot::default();
        restored.snapshot(&mut carried).unwrap();
        assert_eq!(carried, snapshot, "restored lists not yet registered are kept");
        let offsets = restored.get_list_state(&ListStateDescriptor::<u64>::new("offsets")).unwrap();
        assert_eq!(offsets.get(&mut restored).unwrap(), vec![5, 6]);

        let mut wrong = OperatorStateStore::default();
        wrong.restore(snapshot.lists);
        let err = wrong.get_list_state(&ListStateDescriptor::<String>::new("offsets")).err().unwrap();
        assert!(matches!(err, StateError::Restore { name, .. } if name == "offsets"));
    }
}
