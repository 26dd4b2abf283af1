//! State descriptors and the handles they register.
//!
//! A handle is an index into its operator's [`StateRegistry`] plus the state's types. Methods
//! without a suffix use [`VoidNamespace`]; the `_in` methods take an explicit namespace.

use std::collections::HashMap;
use std::marker::PhantomData;

use super::backend::StateRegistry;
use super::keyed_backend::{KeyedStateBackend, MapKey, TableRef};
use super::ttl::{self, StateTtlConfig, TtlValue};
use super::{KeyedStateAccess, Namespace, StateScope, StateValue, VoidNamespace};
use crate::data::Key;
use crate::error::StateError;

/// A state's entries with the current key group and key.
type ScopedTable<'a, K, N, S> = (TableRef<'a, K, N, S>, u32, &'a K);

#[inline]
fn table_of<'a, K: Key, N: Namespace, S: StateValue>(
    scope: StateScope<'a, K>,
    index: usize,
) -> Result<ScopedTable<'a, K, N, S>, StateError> {
    let StateScope { backend, key, key_group, .. } = scope;
    Ok((backend.table::<N, S>(index)?, key_group, key))
}

macro_rules! descriptor {
    ($(#[$doc:meta])* $name:ident<$($p:ident),*>) => {
        $(#[$doc])*
        pub struct $name<$($p),*> {
            name: String,
            ttl: Option<StateTtlConfig>,
            _types: PhantomData<fn() -> ($($p,)*)>,
        }
        impl<$($p),*> $name<$($p),*> {
            /// A descriptor for the state called `name` (unique within its operator).
            pub fn new(name: impl Into<String>) -> Self {
                Self { name: name.into(), ttl: None, _types: PhantomData }
            }
            /// Values expire `config.ttl` after their last refresh (Flink's `enableTimeToLive`).
            pub fn enable_time_to_live(mut self, config: StateTtlConfig) -> Self {
                self.ttl = Some(config);
                self
            }
            /// The state's name.
            pub fn name(&self) -> &str {
                &self.name
            }
        }
    };
}

descriptor!(
    /// Declares a [`ValueState`]: one value per key.
    ValueStateDescriptor<V>
);
descriptor!(
    /// Declares a [`ListState`]: a list of values per key.
    ListStateDescriptor<V>
);
descriptor!(
    /// Declares a [`MapState`]: a map per key.
    MapStateDescriptor<UK, UV>
);

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident<$($p:ident),*>) => {
        $(#[$doc])*
        pub struct $name<$($p,)* N = VoidNamespace> {
            index: usize,
            ttl: Option<StateTtlConfig>,
            _types: PhantomData<fn() -> ($($p,)* N)>,
        }
        impl<$($p,)* N> Clone for $name<$($p,)* N> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<$($p,)* N> Copy for $name<$($p,)* N> {}
        impl<$($p,)* N> std::fmt::Debug for $name<$($p,)* N> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}#{}", stringify!($name), self.index)
            }
        }
    };
}

handle!(
    /// One value per key and namespace.
    ValueState<V>
);
handle!(
    /// A list of values per key and namespace.
    ListState<V>
);
handle!(
    /// A map per key and namespace.
    MapState<UK, UV>
);

impl<V: StateValue> ValueStateDescriptor<V> {
    /// Registers the state in namespace `N`.
    pub fn register<N: Namespace>(&self, registry: &mut StateRegistry) -> Result<ValueState<V, N>, StateError> {
        let index = match self.ttl {
            Some(_) => registry.register::<(N, TtlValue<V>)>(&self.name, "value")?,
            None => registry.register::<(N, V)>(&self.name, "value")?,
        };
        Ok(ValueState { index, ttl: self.ttl, _types: PhantomData })
    }
}

impl<V: StateValue, N: Namespace> ValueState<V, N> {
    /// The value of the current key in `ns`, if set.
    pub fn value_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<Option<V>, StateError> {
        if let Some(config) = self.ttl {
            return ttl::get(ctx.state_scope(), self.index, ns, config, true);
        }
        let (mut table, kg, key) = table_of::<_, N, V>(ctx.state_scope(), self.index)?;
        table.get(kg, key, ns)
    }

    /// Sets the value of the current key in `ns`.
    pub fn update_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N, value: V) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::put(ctx.state_scope(), self.index, ns, value);
        }
        let (mut table, kg, key) = table_of::<_, N, V>(ctx.state_scope(), self.index)?;
        table.put(kg, key, ns, value)
    }

    /// Removes the value of the current key in `ns`.
    pub fn clear_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::clear::<_, N, TtlValue<V>>(ctx.state_scope(), self.index, ns);
        }
        let (mut table, kg, key) = table_of::<_, N, V>(ctx.state_scope(), self.index)?;
        table.delete(kg, key, ns)
    }
}

impl<V: StateValue> ValueState<V> {
    /// The value of the current key, if set.
    pub fn value<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<Option<V>, StateError> {
        self.value_in(ctx, &VoidNamespace)
    }

    /// Sets the value of the current key.
    pub fn update<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, value: V) -> Result<(), StateError> {
        self.update_in(ctx, &VoidNamespace, value)
    }

    /// Removes the value of the current key.
    pub fn clear<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<(), StateError> {
        self.clear_in(ctx, &VoidNamespace)
    }
}

impl<V: StateValue> ListStateDescriptor<V> {
    /// Registers the state in namespace `N`.
    pub fn register<N: Namespace>(&self, registry: &mut StateRegistry) -> Result<ListState<V, N>, StateError> {
        let index = match self.ttl {
            Some(_) => registry.register::<(N, Vec<TtlValue<V>>)>(&self.name, "list")?,
            None => registry.register::<(N, Vec<V>)>(&self.name, "list")?,
        };
        Ok(ListState { index, ttl: self.ttl, _types: PhantomData })
    }
}

impl<V: StateValue, N: Namespace> ListState<V, N> {
    /// The list of the current key in `ns` (empty if never added to).
    pub fn get_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<Vec<V>, StateError> {
        if let Some(config) = self.ttl {
            return ttl::list_get(ctx.state_scope(), self.index, ns, config);
        }
        let (mut table, kg, key) = table_of::<_, N, Vec<V>>(ctx.state_scope(), self.index)?;
        table.list_get(kg, key, ns)
    }

    /// Appends `value` to the list of the current key in `ns`.
    pub fn add_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N, value: V) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::list_add(ctx.state_scope(), self.index, ns, value);
        }
        let (mut table, kg, key) = table_of::<_, N, Vec<V>>(ctx.state_scope(), self.index)?;
        table.list_add(kg, key, ns, value)
    }

    /// Replaces the list of the current key in `ns`.
    pub fn update_in<C: KeyedStateAccess + ?Sized>(
        &self,
        ctx: &mut C,
        ns: &N,
        values: Vec<V>,
    ) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::list_put(ctx.state_scope(), self.index, ns, values);
        }
        let (mut table, kg, key) = table_of::<_, N, Vec<V>>(ctx.state_scope(), self.index)?;
        table.list_put(kg, key, ns, values)
    }

    /// Removes the list of the current key in `ns`.
    pub fn clear_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::clear::<_, N, Vec<TtlValue<V>>>(ctx.state_scope(), self.index, ns);
        }
        let (mut table, kg, key) = table_of::<_, N, Vec<V>>(ctx.state_scope(), self.index)?;
        table.delete(kg, key, ns)
    }
}

impl<V: StateValue> ListState<V> {
    /// The list of the current key (empty if never added to).
    pub fn get<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<Vec<V>, StateError> {
        self.get_in(ctx, &VoidNamespace)
    }

    /// Appends `value` to the list of the current key.
    pub fn add<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, value: V) -> Result<(), StateError> {
        self.add_in(ctx, &VoidNamespace, value)
    }

    /// Replaces the list of the current key.
    pub fn update<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, values: Vec<V>) -> Result<(), StateError> {
        self.update_in(ctx, &VoidNamespace, values)
    }

    /// Removes the list of the current key.
    pub fn clear<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<(), StateError> {
        self.clear_in(ctx, &VoidNamespace)
    }
}

impl<UK, UV> MapStateDescriptor<UK, UV>
where
    UK: MapKey,
    UV: StateValue,
{
    /// Registers the state in namespace `N`.
    pub fn register<N: Namespace>(&self, registry: &mut StateRegistry) -> Result<MapState<UK, UV, N>, StateError> {
        let index = match self.ttl {
            Some(_) => registry.register::<(N, HashMap<UK, TtlValue<UV>>)>(&self.name, "map")?,
            None => registry.register::<(N, HashMap<UK, UV>)>(&self.name, "map")?,
        };
        Ok(MapState { index, ttl: self.ttl, _types: PhantomData })
    }
}

impl<UK, UV, N> MapState<UK, UV, N>
where
    UK: MapKey,
    UV: StateValue,
    N: Namespace,
{
    /// The value under `user_key` for the current key in `ns`.
    pub fn get_in<C: KeyedStateAccess + ?Sized>(
        &self,
        ctx: &mut C,
        ns: &N,
        user_key: &UK,
    ) -> Result<Option<UV>, StateError> {
        if let Some(config) = self.ttl {
            return ttl::map_get(ctx.state_scope(), self.index, ns, config, user_key);
        }
        let (mut table, kg, key) = table_of::<_, N, HashMap<UK, UV>>(ctx.state_scope(), self.index)?;
        table.map_get(kg, key, ns, user_key)
    }

    /// Puts `value` under `user_key` for the current key in `ns`.
    pub fn put_in<C: KeyedStateAccess + ?Sized>(
        &self,
        ctx: &mut C,
        ns: &N,
        user_key: UK,
        value: UV,
    ) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::map_put(ctx.state_scope(), self.index, ns, user_key, value);
        }
        let (mut table, kg, key) = table_of::<_, N, HashMap<UK, UV>>(ctx.state_scope(), self.index)?;
        table.map_put(kg, key, ns, user_key, value)
    }

    /// Removes `user_key` for the current key in `ns`, returning its value.
    pub fn remove_in<C: KeyedStateAccess + ?Sized>(
        &self,
        ctx: &mut C,
        ns: &N,
        user_key: &UK,
    ) -> Result<Option<UV>, StateError> {
        if let Some(config) = self.ttl {
            return ttl::map_remove(ctx.state_scope(), self.index, ns, config, user_key);
        }
        let (mut table, kg, key) = table_of::<_, N, HashMap<UK, UV>>(ctx.state_scope(), self.index)?;
        table.map_remove(kg, key, ns, user_key)
    }

    /// All entries of the current key in `ns`: unordered on the heap (as Flink's heap backend), in
    /// the order of the serialized user keys on RocksDB (as Flink's RocksDB backend).
    pub fn entries_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<Vec<(UK, UV)>, StateError> {
        if let Some(config) = self.ttl {
            return ttl::map_entries(ctx.state_scope(), self.index, ns, config);
        }
        let (mut table, kg, key) = table_of::<_, N, HashMap<UK, UV>>(ctx.state_scope(), self.index)?;
        table.map_entries(kg, key, ns)
    }

    /// Removes the whole map of the current key in `ns`.
    pub fn clear_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::map_clear::<_, N, UK, UV>(ctx.state_scope(), self.index, ns);
        }
        let (mut table, kg, key) = table_of::<_, N, HashMap<UK, UV>>(ctx.state_scope(), self.index)?;
        table.map_clear(kg, key, ns)
    }
}

impl<UK, UV> MapState<UK, UV>
where
    UK: MapKey,
    UV: StateValue,
{
    /// The value under `user_key` for the current key.
    pub fn get<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, user_key: &UK) -> Result<Option<UV>, StateError> {
        self.get_in(ctx, &VoidNamespace, user_key)
    }

    /// Puts `value` under `user_key` for the current key.
    pub fn put<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, user_key: UK, value: UV) -> Result<(), StateError> {
        self.put_in(ctx, &VoidNamespace, user_key, value)
    }

    /// Removes `user_key` for the current key, returning its value.
    pub fn remove<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, user_key: &UK) -> Result<Option<UV>, StateError> {
        self.remove_in(ctx, &VoidNamespace, user_key)
    }

    /// Whether `user_key` is present for the current key.
    pub fn contains<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, user_key: &UK) -> Result<bool, StateError> {
        Ok(self.get(ctx, user_key)?.is_some())
    }

    /// All entries of the current key (order as in [`MapState::entries_in`]).
    pub fn entries<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<Vec<(UK, UV)>, StateError> {
        self.entries_in(ctx, &VoidNamespace)
    }

    /// Removes the whole map of the current key.
    pub fn clear<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<(), StateError> {
        self.clear_in(ctx, &VoidNamespace)
    }
}

/// Declares a [`ReducingState`]: one value per key, folded with a reduce function on `add`.
pub struct ReducingStateDescriptor<V, F> {
    name: String,
    ttl: Option<StateTtlConfig>,
    reduce: F,
    _value: PhantomData<fn() -> V>,
}

impl<V: StateValue, F: Fn(V, V) -> V + Clone + Send + 'static> ReducingStateDescriptor<V, F> {
    /// A descriptor for the state `name` that combines values with `reduce`.
    pub fn new(name: impl Into<String>, reduce: F) -> Self {
        Self { name: name.into(), ttl: None, reduce, _value: PhantomData }
    }

    /// Values expire `config.ttl` after their last refresh (Flink's `enableTimeToLive`).
    pub fn enable_time_to_live(mut self, config: StateTtlConfig) -> Self {
        self.ttl = Some(config);
        self
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Registers the state in namespace `N`.
    pub fn register<N: Namespace>(&self, registry: &mut StateRegistry) -> Result<ReducingState<V, F, N>, StateError> {
        let index = match self.ttl {
            Some(_) => registry.register::<(N, TtlValue<V>, F)>(&self.name, "reducing")?,
            None => registry.register::<(N, V, F)>(&self.name, "reducing")?,
        };
        Ok(ReducingState { index, ttl: self.ttl, reduce: self.reduce.clone(), _types: PhantomData })
    }
}

/// One value per key and namespace; `add` folds the new value in with the reduce function.
pub struct ReducingState<V, F, N = VoidNamespace> {
    index: usize,
    ttl: Option<StateTtlConfig>,
    reduce: F,
    _types: PhantomData<fn() -> (V, N)>,
}

impl<V, F: Clone, N> Clone for ReducingState<V, F, N> {
    fn clone(&self) -> Self {
        Self { index: self.index, ttl: self.ttl, reduce: self.reduce.clone(), _types: PhantomData }
    }
}

impl<V: StateValue, F: Fn(V, V) -> V, N: Namespace> ReducingState<V, F, N> {
    /// The reduced value of the current key in `ns`.
    pub fn get_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<Option<V>, StateError> {
        if let Some(config) = self.ttl {
            return ttl::get(ctx.state_scope(), self.index, ns, config, true);
        }
        let (mut table, kg, key) = table_of::<_, N, V>(ctx.state_scope(), self.index)?;
        table.get(kg, key, ns)
    }

    /// Folds `value` into the current key's value in `ns` (the first value is stored as is).
    pub fn add_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N, value: V) -> Result<(), StateError> {
        if let Some(config) = self.ttl {
            let next = match ttl::get(ctx.state_scope(), self.index, ns, config, false)? {
                Some(acc) => (self.reduce)(acc, value),
                None => value,
            };
            return ttl::put(ctx.state_scope(), self.index, ns, next);
        }
        let (mut table, kg, key) = table_of::<_, N, V>(ctx.state_scope(), self.index)?;
        table.fold(kg, key, ns, |acc| match acc {
            Some(acc) => (self.reduce)(acc, value),
            None => value,
        })
    }

    /// Removes the current key's value in `ns`.
    pub fn clear_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::clear::<_, N, TtlValue<V>>(ctx.state_scope(), self.index, ns);
        }
        let (mut table, kg, key) = table_of::<_, N, V>(ctx.state_scope(), self.index)?;
        table.delete(kg, key, ns)
    }
}

impl<V: StateValue, F: Fn(V, V) -> V> ReducingState<V, F> {
    /// The reduced value of the current key.
    pub fn get<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<Option<V>, StateError> {
        self.get_in(ctx, &VoidNamespace)
    }

    /// Folds `value` into the current key's value.
    pub fn add<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, value: V) -> Result<(), StateError> {
        self.add_in(ctx, &VoidNamespace, value)
    }

    /// Removes the current key's value.
    pub fn clear<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<(), StateError> {
        self.clear_in(ctx, &VoidNamespace)
    }
}

/// An incremental aggregation with an accumulator (Flink's `AggregateFunction`).
pub trait AggregateFunction<In>: Clone + Send + 'static {
    /// The accumulator kept in state.
    type Acc: StateValue;
    /// The result handed out.
    type Out;
    /// A new, empty accumulator.
    fn create_accumulator(&self) -> Self::Acc;
    /// Adds `value` to `acc`.
    fn add(&self, value: In, acc: &mut Self::Acc);
    /// The result for `acc`.
    fn get_result(&self, acc: &Self::Acc) -> Self::Out;
    /// Merges two accumulators (used when session windows merge).
    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
}

/// Declares an [`AggregatingState`].
pub struct AggregatingStateDescriptor<In, A> {
    name: String,
    ttl: Option<StateTtlConfig>,
    function: A,
    _input: PhantomData<fn(In)>,
}

impl<In: 'static, A: AggregateFunction<In>> AggregatingStateDescriptor<In, A> {
    /// A descriptor for the state `name` that aggregates with `function`.
    pub fn new(name: impl Into<String>, function: A) -> Self {
        Self { name: name.into(), ttl: None, function, _input: PhantomData }
    }

    /// Accumulators expire `config.ttl` after their last refresh (Flink's `enableTimeToLive`).
    pub fn enable_time_to_live(mut self, config: StateTtlConfig) -> Self {
        self.ttl = Some(config);
        self
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Registers the state in namespace `N`.
    pub fn register<N: Namespace>(
        &self,
        registry: &mut StateRegistry,
    ) -> Result<AggregatingState<In, A, N>, StateError> {
        let index = match self.ttl {
            Some(_) => registry.register::<(N, TtlValue<A::Acc>, A)>(&self.name, "aggregating")?,
            None => registry.register::<(N, A::Acc, A)>(&self.name, "aggregating")?,
        };
        Ok(AggregatingState { index, ttl: self.ttl, function: self.function.clone(), _types: PhantomData })
    }
}

/// An accumulator per key and namespace, fed with `add`, read with `get`.
pub struct AggregatingState<In, A, N = VoidNamespace> {
    index: usize,
    ttl: Option<StateTtlConfig>,
    function: A,
    _types: PhantomData<fn(In) -> N>,
}

impl<In, A: Clone, N> Clone for AggregatingState<In, A, N> {
    fn clone(&self) -> Self {
        Self { index: self.index, ttl: self.ttl, function: self.function.clone(), _types: PhantomData }
    }
}

impl<In, A: AggregateFunction<In>, N: Namespace> AggregatingState<In, A, N> {
    /// The aggregate of the current key in `ns`, if anything was added.
    pub fn get_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<Option<A::Out>, StateError> {
        if let Some(config) = self.ttl {
            let acc = ttl::get::<_, N, A::Acc>(ctx.state_scope(), self.index, ns, config, true)?;
            return Ok(acc.map(|acc| self.function.get_result(&acc)));
        }
        let (mut table, kg, key) = table_of::<_, N, A::Acc>(ctx.state_scope(), self.index)?;
        Ok(table.get(kg, key, ns)?.map(|acc| self.function.get_result(&acc)))
    }

    /// Adds `value` to the current key's accumulator in `ns`.
    pub fn add_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N, value: In) -> Result<(), StateError> {
        if let Some(config) = self.ttl {
            let current = ttl::get(ctx.state_scope(), self.index, ns, config, false)?;
            let mut acc = current.unwrap_or_else(|| self.function.create_accumulator());
            self.function.add(value, &mut acc);
            return ttl::put(ctx.state_scope(), self.index, ns, acc);
        }
        let (mut table, kg, key) = table_of::<_, N, A::Acc>(ctx.state_scope(), self.index)?;
        table.update(kg, key, ns, || self.function.create_accumulator(), |acc| self.function.add(value, acc))
    }

    /// Removes the current key's accumulator in `ns`.
    pub fn clear_in<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, ns: &N) -> Result<(), StateError> {
        if self.ttl.is_some() {
            return ttl::clear::<_, N, TtlValue<A::Acc>>(ctx.state_scope(), self.index, ns);
        }
        let (mut table, kg, key) = table_of::<_, N, A::Acc>(ctx.state_scope(), self.index)?;
        table.delete(kg, key, ns)
    }
}

impl<In, A: AggregateFunction<In>> AggregatingState<In, A> {
    /// The aggregate of the current key, if anything was added.
    pub fn get<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<Option<A::Out>, StateError> {
        self.get_in(ctx, &VoidNamespace)
    }

    /// Adds `value` to the current key's accumulator.
    pub fn add<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C, value: In) -> Result<(), StateError> {
        self.add_in(ctx, &VoidNamespace, value)
    }

    /// Removes the current key's accumulator.
    pub fn clear<C: KeyedStateAccess + ?Sized>(&self, ctx: &mut C) -> Result<(), StateError> {
        self.clear_in(ctx, &VoidNamespace)
    }
}
