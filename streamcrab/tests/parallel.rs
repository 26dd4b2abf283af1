//! Parallel execution: per-operator parallelism, chaining, partitioners and key groups.

use std::collections::{BTreeMap, HashMap};

use streamcrab::keygroup::{KeyGroupRange, assign_to_key_group, operator_index_for_key_group};
use streamcrab::prelude::*;

/// Emits every element with the index of the subtask that processed it.
#[derive(Clone)]
struct WhoAmI {
    subtask: u32,
}

impl<T: Data> ProcessFunction<T, (T, u32)> for WhoAmI {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.subtask = ctx.subtask_index();
        Ok(())
    }
    fn process_element(&mut self, v: T, _: &mut ProcessContext<'_>, out: &mut Collector<'_, (T, u32)>) -> UserResult {
        out.collect((v, self.subtask));
        Ok(())
    }
}

#[derive(Clone)]
struct KeyedWhoAmI {
    subtask: u32,
    parallelism: u32,
}

impl KeyedProcessFunction<i32, i32, (i32, u32)> for KeyedWhoAmI {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.subtask = ctx.subtask_index();
        self.parallelism = ctx.parallelism();
        Ok(())
    }
    fn process_element(
        &mut self,
        v: i32,
        ctx: &mut KeyedContext<'_, i32>,
        out: &mut Collector<'_, (i32, u32)>,
    ) -> UserResult {
        let range = KeyGroupRange::for_operator_index(128, self.parallelism, self.subtask);
        assert!(range.contains(assign_to_key_group(ctx.current_key(), 128)));
        out.collect((v, self.subtask));
        Ok(())
    }
}

/// Flink's `KeyGroupRangeAssignment`: a key goes to subtask `keyGroup * p / maxP`, with
/// `keyGroup = murmur(hashCode) % maxP` (Integer key 0 -> key group 94 -> subtask 2 of 3).
#[test]
fn keyed_records_go_to_the_subtask_owning_their_key_group() {
    let env = StreamExecutionEnvironment::new("key-groups");
    env.set_parallelism(3);
    let out = env
        .from_iter((0..200).map(|i| i % 40).collect::<Vec<i32>>())
        .key_by(|v: &i32| *v)
        .process(KeyedWhoAmI { subtask: 0, parallelism: 0 })
        .collect_to_vec();
    env.execute().unwrap();
    let records = out.values();
    assert_eq!(records.len(), 200);
    for (key, subtask) in records {
        let expected = operator_index_for_key_group(128, 3, assign_to_key_group(&key, 128));
        assert_eq!(subtask, expected, "key {key}");
    }
    assert_eq!(operator_index_for_key_group(128, 3, assign_to_key_group(&0i32, 128)), 2);
}

#[test]
fn rebalance_spreads_evenly_and_broadcast_reaches_every_subtask() {
    let env = StreamExecutionEnvironment::new("partitioners");
    env.set_parallelism(4);
    let balanced = env.from_iter(0..400).rebalance().process(WhoAmI { subtask: 0 }).collect_to_vec();
    let broadcast = env.from_iter(0..10).broadcast().process(WhoAmI { subtask: 0 }).collect_to_vec();
    let shuffled = env.from_iter(0..1000).shuffle().process(WhoAmI { subtask: 0 }).collect_to_vec();
    env.execute().unwrap();

    let mut per_subtask: BTreeMap<u32, usize> = BTreeMap::new();
    for (_, s) in balanced.values() {
        *per_subtask.entry(s).or_default() += 1;
    }
    assert_eq!(per_subtask.values().copied().collect::<Vec<_>>(), vec![100; 4]);

    let mut copies: HashMap<i32, Vec<u32>> = HashMap::new();
    for (v, s) in broadcast.values() {
        copies.entry(v).or_default().push(s);
    }
    assert_eq!(copies.len(), 10);
    for (_, mut subtasks) in copies {
        subtasks.sort();
        assert_eq!(subtasks, vec![0, 1, 2, 3]);
    }

    let shuffled = shuffled.values();
    assert_eq!(shuffled.len(), 1000);
    let mut values: Vec<i32> = shuffled.iter().map(|(v, _)| *v).collect();
    values.sort();
    assert_eq!(values, (0..1000).collect::<Vec<_>>());
    assert!((0..4).all(|s| shuffled.iter().any(|(_, t)| *t == s)));
}

#[test]
fn each_operator_runs_with_its_own_parallelism() {
    let env = StreamExecutionEnvironment::new("parallelism");
    let out = env
        .from_sequence(1, 1000)
        .set_parallelism(2)
        .map(|x| x * 2)
        .set_parallelism(3)
        .process(WhoAmI { subtask: 0 })
        .set_parallelism(3)
        .filter(|(x, _)| x % 4 == 0)
        .set_parallelism(1)
        .collect_to_vec();
    let description = env.describe();
    env.execute().unwrap();
    let records = out.values();
    assert_eq!(records.len(), 500);
    let subtasks: std::collections::BTreeSet<u32> = records.iter().map(|(_, s)| *s).collect();
    assert_eq!(subtasks, [0, 1, 2].into());
    assert!(description.contains("Source: Sequence Source (parallelism 2)"), "{description}");
    assert!(description.contains("Map -> Process (parallelism 3)"), "{description}");
}

#[test]
fn chaining_hints_split_tasks() {
    let env = StreamExecutionEnvironment::new("chaining");
    let out = env
        .from_sequence(1, 10)
        .map(|x| x + 1)
        .name("one")
        .map(|x| x + 1)
        .name("two")
        .disable_chaining()
        .map(|x| x + 1)
        .name("three")
        .map(|x| x + 1)
        .name("four")
        .start_new_chain()
        .collect_to_vec();
    let description = env.describe();
    env.execute().unwrap();
    assert_eq!(out.values(), (5..=14).collect::<Vec<i64>>());
    for task in ["Source: Sequence Source -> one (", "] two (", "] three (", "] four -> Sink: Collect ("] {
        assert!(description.contains(task), "{task} in {description}");
    }
    assert!(description.contains("<- [0] FORWARD"), "{description}");
}
