//! End-to-end tests of the stateless and keyed operators through the builder API.

use streamcrab::prelude::*;

#[test]
fn map_filter_flat_map_keep_order_on_one_subtask() {
    let env = StreamExecutionEnvironment::new("stateless");
    let out = env
        .from_iter(vec![1, 2, 3, 4])
        .flat_map(|x: i32| vec![x; x as usize])
        .filter(|x: &i32| x % 2 == 0)
        .map(|x: i32| x * 10)
        .collect_to_vec();
    env.execute().unwrap();
    assert_eq!(out.values(), vec![20, 20, 40, 40, 40, 40]);
}

/// Flink `StreamGroupedReduceOperator`: one output per input, the first value of a key
/// unchanged, each output with the input's timestamp.
#[test]
fn rolling_reduce_emits_every_intermediate_value() {
    let env = StreamExecutionEnvironment::new("reduce");
    let input: Vec<(String, i32)> =
        [("a", 1), ("b", 5), ("a", 2), ("a", 3), ("b", 1)].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let out = env
        .from_iter(input.clone())
        .key_by(|(k, _): &(String, i32)| k.clone())
        .reduce(|(k, a), (_, b)| (k, a + b))
        .collect_to_vec();
    env.execute().unwrap();
    let mut expected = Vec::new();
    let mut sums = std::collections::HashMap::new();
    for (k, v) in input {
        let s = sums.entry(k.clone()).or_insert(0);
        *s += v;
        expected.push((k, *s));
    }
    assert_eq!(out.values(), expected);
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Reading {
    sensor: String,
    label: String,
    value: i64,
}

fn readings() -> Vec<Reading> {
    [("s1", "first", 5), ("s1", "second", 2), ("s2", "x", 7), ("s1", "third", 9)]
        .into_iter()
        .map(|(s, l, v)| Reading { sensor: s.into(), label: l.into(), value: v })
        .collect()
}

/// Flink `sum/min/max(field)`: only the aggregated field changes; the other fields come from the
/// stored (first) element of the key.
#[test]
fn sum_min_max_by_field_keep_other_fields_of_the_first_element() {
    let env = StreamExecutionEnvironment::new("aggregations");
    let sums = env
        .from_iter(readings())
        .key_by(|r: &Reading| r.sensor.clone())
        .sum(|r: &mut Reading| &mut r.value)
        .collect_to_vec();
    let mins = env
        .from_iter(readings())
        .key_by(|r: &Reading| r.sensor.clone())
        .min(|r: &mut Reading| &mut r.value)
        .collect_to_vec();
    let maxs = env
        .from_iter(readings())
        .key_by(|r: &Reading| r.sensor.clone())
        .max(|r: &mut Reading| &mut r.value)
        .collect_to_vec();
    env.execute().unwrap();
    let pick = |rs: Vec<Reading>| rs.into_iter().map(|r| (r.label, r.value)).collect::<Vec<_>>();
    let expect = |v: [(&str, i64); 4]| v.map(|(l, v)| (l.to_string(), v)).to_vec();
    assert_eq!(pick(sums.values()), expect([("first", 5), ("first", 7), ("x", 7), ("first", 16)]));
    assert_eq!(pick(mins.values()), expect([("first", 5), ("first", 2), ("x", 7), ("first", 2)]));
    assert_eq!(pick(maxs.values()), expect([("first", 5), ("first", 5), ("x", 7), ("first", 9)]));
}

#[test]
fn union_merges_all_inputs() {
    let env = StreamExecutionEnvironment::new("union");
    let a = env.from_iter(vec![1, 2, 3]);
    let b = env.from_sequence(10, 12).map(|x| x as i32);
    let out = a.union(b).map(|x| x + 1).collect_to_vec();
    env.execute().unwrap();
    let mut values = out.values();
    values.sort();
    assert_eq!(values, vec![2, 3, 4, 11, 12, 13]);
}

#[derive(Clone)]
struct Tagger;

impl CoMapFunction<i32, String, String> for Tagger {
    fn map1(&mut self, value: i32) -> String {
        format!("int:{value}")
    }
    fn map2(&mut self, value: String) -> String {
        format!("str:{value}")
    }
}

#[test]
fn connect_with_co_map_sees_both_inputs_in_their_order() {
    let env = StreamExecutionEnvironment::new("comap");
    let ints = env.from_iter(vec![1, 2]);
    let strings = env.from_iter(vec!["a".to_string(), "b".to_string()]);
    let out = ints.connect(strings).map(Tagger).collect_to_vec();
    env.execute().unwrap();
    let values = out.values();
    assert_eq!(values.len(), 4);
    let ints: Vec<_> = values.iter().filter(|v| v.starts_with("int")).cloned().collect();
    let strs: Vec<_> = values.iter().filter(|v| v.starts_with("str")).cloned().collect();
    assert_eq!(ints, vec!["int:1", "int:2"]);
    assert_eq!(strs, vec!["str:a", "str:b"]);
}

/// A `KeyedCoProcessFunction` sees one state per key, shared by both inputs: the running
/// total of a key counts orders from input 1 and refunds from input 2.
#[derive(Clone, Default)]
struct Balance {
    total: Option<streamcrab::state::ValueState<i64>>,
}

impl KeyedCoProcessFunction<String, (String, i64), (String, i64), (String, i64)> for Balance {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.total = Some(ctx.get_state(&ValueStateDescriptor::new("total"))?);
        Ok(())
    }
    fn process_element1(
        &mut self,
        (k, v): (String, i64),
        ctx: &mut KeyedCoProcessContext<'_, String>,
        out: &mut Collector<'_, (String, i64)>,
    ) -> UserResult {
        let state = self.total.expect("opened");
        let total = state.value(ctx)?.unwrap_or(0) + v;
        state.update(ctx, total)?;
        out.collect((k, total));
        Ok(())
    }
    fn process_element2(
        &mut self,
        (k, v): (String, i64),
        ctx: &mut KeyedCoProcessContext<'_, String>,
        out: &mut Collector<'_, (String, i64)>,
    ) -> UserResult {
        self.process_element1((k, -v), ctx, out)
    }
}

#[test]
fn keyed_connect_shares_state_per_key_across_inputs() {
    let env = StreamExecutionEnvironment::new("keyed-connect");
    env.set_parallelism(2);
    let orders = env.from_iter(vec![("a".to_string(), 10), ("b".to_string(), 3), ("a".to_string(), 5)]);
    let refunds = env.from_iter(vec![("a".to_string(), 4), ("b".to_string(), 3)]);
    let out = orders
        .key_by(|(k, _): &(String, i64)| k.clone())
        .connect(refunds.key_by(|(k, _): &(String, i64)| k.clone()))
        .process(Balance::default())
        .collect_to_vec();
    env.execute().unwrap();
    let values = out.values();
    assert_eq!(values.len(), 5);
    // One subtask owns a key, so its totals come out in processing order: whatever the
    // interleaving of the inputs, the last total of a key is its orders minus its refunds.
    let totals = |key: &str| values.iter().filter(|(k, _)| k == key).map(|(_, t)| *t).collect::<Vec<_>>();
    assert_eq!(totals("a").len(), 3);
    assert_eq!(totals("a").last(), Some(&11));
    assert_eq!(totals("b").len(), 2);
    assert_eq!(totals("b").last(), Some(&0));
}
