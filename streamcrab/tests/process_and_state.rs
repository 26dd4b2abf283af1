//! Process functions, side outputs and every kind of keyed state, end to end and on the
//! operator harnesses. The keyed-state tests take the backend as a parameter and run on the
//! heap and (with the `rocksdb` feature) on RocksDB.

mod support;

use std::time::Duration;
use streamcrab::functions::OutputTag;
use streamcrab::prelude::*;
use streamcrab::state::{
    AggregateFunction, AggregatingState, AggregatingStateDescriptor, ListState, MapState, ReducingState, StateBackend,
    StateTtlConfig, ValueState,
};
use streamcrab::testing::{KeyedOneInputHarness, OneInputHarness};

const ODD: &str = "odd";

/// Splits numbers: evens on the main output, odds (as text) on a side output.
#[derive(Clone)]
struct Splitter {
    odd: OutputTag<String>,
}

impl ProcessFunction<i64, i64> for Splitter {
    fn process_element(
        &mut self,
        value: i64,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, i64>,
    ) -> UserResult {
        if value % 2 == 0 {
            out.collect(value);
        } else {
            ctx.output(&self.odd, format!("odd {value}"));
        }
        Ok(())
    }
}

#[test]
fn side_output_reaches_its_own_stream() {
    let env = StreamExecutionEnvironment::new("side-output");
    let tag = OutputTag::<String>::new(ODD);
    let main = env.from_sequence(1, 6).process(Splitter { odd: tag.clone() });
    let odds = main.get_side_output(&tag).collect_to_vec();
    let evens = main.collect_to_vec();
    env.execute().unwrap();
    assert_eq!(evens.values(), vec![2, 4, 6]);
    assert_eq!(odds.values(), vec!["odd 1", "odd 3", "odd 5"]);
}

#[test]
fn side_output_consumed_while_the_main_stream_is_unused() {
    let env = StreamExecutionEnvironment::new("side-only");
    let tag = OutputTag::<String>::new(ODD);
    let main = env.from_sequence(1, 3).process(Splitter { odd: tag.clone() });
    let odds = main.get_side_output(&tag).collect_to_vec();
    env.execute().unwrap();
    assert_eq!(odds.values(), vec!["odd 1", "odd 3"]);
}

/// Flink: a side output nobody emits to is an empty stream; its consumer still ends normally.
#[test]
fn side_output_of_an_operator_without_side_outputs_is_empty() {
    let env = StreamExecutionEnvironment::new("no-side-output");
    env.set_parallelism(2);
    let main = env.from_sequence(1, 100).map(|x| x + 1);
    let side = main.get_side_output(&OutputTag::<String>::new("nothing")).collect_to_vec();
    let values = main.collect_to_vec();
    env.execute().unwrap();
    assert!(side.is_empty());
    assert_eq!(values.len(), 100);
}

#[test]
fn harness_collects_main_and_side_output_with_timestamps() {
    let tag = OutputTag::<String>::new(ODD);
    let mut h = OneInputHarness::for_process(Splitter { odd: tag.clone() }).with_side_output(&tag);
    h.process_element_at(1, 100).unwrap();
    h.process_element_at(2, 200).unwrap();
    h.process_watermark(150).unwrap();
    h.end_input().unwrap();
    assert_eq!(h.records(), vec![StreamRecord::with_timestamp(2, 200)]);
    assert_eq!(h.side_output(&tag), vec![StreamRecord::with_timestamp("odd 1".to_string(), 100)]);
    use streamcrab::element::{StreamElement, Watermark};
    assert_eq!(
        h.output(),
        vec![
            StreamElement::Record(StreamRecord::with_timestamp(2, 200)),
            StreamElement::Watermark(Watermark(150)),
            StreamElement::Watermark(Watermark::MAX),
            StreamElement::End,
        ]
    );
}

#[derive(Clone)]
struct Average;

impl AggregateFunction<i64> for Average {
    type Acc = (i64, i64);
    type Out = f64;
    fn create_accumulator(&self) -> (i64, i64) {
        (0, 0)
    }
    fn add(&self, value: i64, acc: &mut (i64, i64)) {
        acc.0 += value;
        acc.1 += 1;
    }
    fn get_result(&self, acc: &(i64, i64)) -> f64 {
        acc.0 as f64 / acc.1 as f64
    }
    fn merge(&self, a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

type Max = fn(i64, i64) -> i64;

/// Uses every keyed state kind; emits a summary of the key's state after each element.
#[derive(Clone, Default)]
struct AllStates {
    count: Option<ValueState<u32>>,
    history: Option<ListState<i64>>,
    seen: Option<MapState<i64, u32>>,
    max: Option<ReducingState<i64, Max>>,
    avg: Option<AggregatingState<i64, Average>>,
}

#[derive(Clone, Debug, PartialEq)]
struct Summary {
    key: String,
    count: u32,
    history: Vec<i64>,
    distinct: usize,
    max: i64,
    avg: f64,
}

impl KeyedProcessFunction<String, (String, i64), Summary> for AllStates {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.count = Some(ctx.get_state(&ValueStateDescriptor::new("count"))?);
        self.history = Some(ctx.get_list_state(&ListStateDescriptor::new("history"))?);
        self.seen = Some(ctx.get_map_state(&MapStateDescriptor::new("seen"))?);
        self.max = Some(ctx.get_reducing_state(&ReducingStateDescriptor::new("max", i64::max as Max))?);
        self.avg = Some(ctx.get_aggregating_state(&AggregatingStateDescriptor::new("avg", Average))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (key, v): (String, i64),
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Collector<'_, Summary>,
    ) -> UserResult {
        assert_eq!(ctx.current_key(), &key);
        let (count, history, seen) = (self.count.unwrap(), self.history.unwrap(), self.seen.unwrap());
        let (max, avg) = (self.max.clone().unwrap(), self.avg.clone().unwrap());
        let c = count.value(ctx)?.unwrap_or(0) + 1;
        count.update(ctx, c)?;
        history.add(ctx, v)?;
        let n = seen.get(ctx, &v)?.unwrap_or(0);
        seen.put(ctx, v, n + 1)?;
        max.add(ctx, v)?;
        avg.add(ctx, v)?;
        out.collect(Summary {
            key,
            count: c,
            history: history.get(ctx)?,
            distinct: seen.entries(ctx)?.len(),
            max: max.get(ctx)?.unwrap_or(i64::MIN),
            avg: avg.get(ctx)?.unwrap_or(f64::NAN),
        });
        Ok(())
    }
}

fn summaries_expected(input: &[(String, i64)]) -> Vec<Summary> {
    let mut per_key: std::collections::HashMap<String, Vec<i64>> = Default::default();
    input
        .iter()
        .map(|(k, v)| {
            let h = per_key.entry(k.clone()).or_default();
            h.push(*v);
            let mut distinct = h.clone();
            distinct.sort();
            distinct.dedup();
            Summary {
                key: k.clone(),
                count: h.len() as u32,
                history: h.clone(),
                distinct: distinct.len(),
                max: *h.iter().max().unwrap(),
                avg: h.iter().sum::<i64>() as f64 / h.len() as f64,
            }
        })
        .collect()
}

fn state_input() -> Vec<(String, i64)> {
    [("a", 3), ("b", 10), ("a", 3), ("a", 8), ("b", -2)].into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

support::on_every_backend!(
    keyed_state_of_every_kind_is_scoped_to_the_current_key_in_the_harness,
    keyed_state_of_every_kind_end_to_end_at_parallelism_two,
    clearing_state_of_every_kind_forgets_only_the_current_key,
    state_of_many_keys_is_written_cleared_and_written_again,
    map_state_iterates_every_entry_of_the_current_key,
    state_is_separate_per_namespace,
    rolling_reduce_harness_keeps_timestamps,
    a_state_whose_type_changed_is_a_typed_error_naming_state_and_operator,
    state_expires_after_its_time_to_live,
    state_ttl_update_type_and_visibility,
);

fn keyed_state_of_every_kind_is_scoped_to_the_current_key_in_the_harness(backend: StateBackend) {
    let input = state_input();
    let mut h = KeyedOneInputHarness::for_keyed_process(|(k, _): &(String, i64)| k.clone(), AllStates::default())
        .with_state_backend(backend);
    for element in input.clone() {
        h.process_element(element).unwrap();
    }
    assert_eq!(h.values(), summaries_expected(&input));
}

fn keyed_state_of_every_kind_end_to_end_at_parallelism_two(backend: StateBackend) {
    let input = state_input();
    let env = StreamExecutionEnvironment::new("states");
    env.set_parallelism(2).set_state_backend(backend);
    let out = env
        .from_iter(input.clone())
        .key_by(|(k, _): &(String, i64)| k.clone())
        .process(AllStates::default())
        .collect_to_vec();
    env.execute().unwrap();
    let mut got = out.values();
    let mut expected = summaries_expected(&input);
    let order = |s: &Summary| (s.key.clone(), s.count);
    got.sort_by_key(order);
    expected.sort_by_key(order);
    assert_eq!(got, expected);
}

#[test]
fn keyed_state_outside_a_keyed_stream_is_a_typed_error() {
    #[derive(Clone)]
    struct NeedsKey;
    impl ProcessFunction<i64, i64> for NeedsKey {
        fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
            ctx.get_state(&ValueStateDescriptor::<i64>::new("oops"))?;
            Ok(())
        }
        fn process_element(&mut self, v: i64, _: &mut ProcessContext<'_>, out: &mut Collector<'_, i64>) -> UserResult {
            out.collect(v);
            Ok(())
        }
    }
    let env = StreamExecutionEnvironment::new("not-keyed");
    env.from_sequence(1, 2).process(NeedsKey).name("needs a key").collect_to_vec();
    let err = env.execute().unwrap_err().to_string();
    assert!(err.contains("needs a key") && err.contains("only available on a keyed stream"), "{err}");
}

fn rolling_reduce_harness_keeps_timestamps(backend: StateBackend) {
    let mut h = KeyedOneInputHarness::for_reduce(|(k, _): &(char, i32)| *k, |(k, a), (_, b)| (k, a + b))
        .with_state_backend(backend);
    h.process_element_at(('x', 1), 10).unwrap();
    h.process_element_at(('x', 2), 20).unwrap();
    h.process_element_at(('y', 5), 30).unwrap();
    assert_eq!(
        h.records(),
        vec![
            StreamRecord::with_timestamp(('x', 1), 10),
            StreamRecord::with_timestamp(('x', 3), 20),
            StreamRecord::with_timestamp(('y', 5), 30),
        ]
    );
}

/// Commands for [`Commands`]: what to do with the current key's state.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Command {
    Fill(i64),
    Clear,
    ListUpdate(Vec<i64>),
    MapRemove(i64),
    Show,
}

/// Applies commands to every kind of state of the current key; `Show` emits what is stored.
#[derive(Clone, Default)]
struct Commands {
    ttl: Option<StateTtlConfig>,
    states: Option<States>,
    max: Option<ReducingState<i64, Max>>,
    avg: Option<AggregatingState<i64, Average>>,
}

type States = (ValueState<i64>, ListState<i64>, MapState<i64, i64>);

type Shown = (String, Option<i64>, Vec<i64>, Vec<(i64, i64)>, Option<i64>, Option<f64>, bool);

impl KeyedProcessFunction<String, (String, Command), Shown> for Commands {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        let (mut value, mut list, mut map) =
            (ValueStateDescriptor::new("value"), ListStateDescriptor::new("list"), MapStateDescriptor::new("map"));
        let mut max = ReducingStateDescriptor::new("max", i64::max as Max);
        let mut avg = AggregatingStateDescriptor::new("avg", Average);
        if let Some(ttl) = self.ttl {
            (value, list, map) =
                (value.enable_time_to_live(ttl), list.enable_time_to_live(ttl), map.enable_time_to_live(ttl));
            (max, avg) = (max.enable_time_to_live(ttl), avg.enable_time_to_live(ttl));
        }
        self.states = Some((ctx.get_state(&value)?, ctx.get_list_state(&list)?, ctx.get_map_state(&map)?));
        self.max = Some(ctx.get_reducing_state(&max)?);
        self.avg = Some(ctx.get_aggregating_state(&avg)?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (key, command): (String, Command),
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Collector<'_, Shown>,
    ) -> UserResult {
        let (value, list, map) = self.states.unwrap();
        let (max, avg) = (self.max.clone().unwrap(), self.avg.clone().unwrap());
        match command {
            Command::Fill(v) => {
                value.update(ctx, v)?;
                list.add(ctx, v)?;
                map.put(ctx, v, v * 10)?;
                max.add(ctx, v)?;
                avg.add(ctx, v)?;
            }
            Command::Clear => {
                value.clear(ctx)?;
                list.clear(ctx)?;
                map.clear(ctx)?;
                max.clear(ctx)?;
                avg.clear(ctx)?;
            }
            Command::ListUpdate(values) => list.update(ctx, values)?,
            Command::MapRemove(k) => {
                map.remove(ctx, &k)?;
            }
            Command::Show => {
                let mut entries = map.entries(ctx)?;
                entries.sort();
                let has_one = map.contains(ctx, &1)?;
                out.collect((key, value.value(ctx)?, list.get(ctx)?, entries, max.get(ctx)?, avg.get(ctx)?, has_one));
            }
        }
        Ok(())
    }
}

fn run_commands(backend: StateBackend, commands: Vec<(&str, Command)>) -> Vec<Shown> {
    run_commands_at(backend, None, commands.into_iter().map(|(k, c)| (0, k, c)).collect())
}

/// Runs `(processing time, key, command)`s with every state's time-to-live `ttl`.
fn run_commands_at(
    backend: StateBackend,
    ttl: Option<StateTtlConfig>,
    commands: Vec<(i64, &str, Command)>,
) -> Vec<Shown> {
    let function = Commands { ttl, ..Commands::default() };
    let mut h = KeyedOneInputHarness::for_keyed_process(|(k, _): &(String, Command)| k.clone(), function)
        .with_state_backend(backend);
    for (time, key, command) in commands {
        h.set_processing_time(time).unwrap();
        h.process_element((key.to_string(), command)).unwrap();
    }
    h.values()
}

/// Flink's state TTL (`StateTtlConfig`, processing time, `OnCreateAndWrite`,
/// `NeverReturnExpired`): a value is gone once `ttl` has passed since its last write, for every
/// state kind; list elements and map entries expire one by one; a read does not refresh.
fn state_expires_after_its_time_to_live(backend: StateBackend) {
    use Command::*;
    let ttl = Some(StateTtlConfig::new(Duration::from_millis(10)));
    let shown = run_commands_at(
        backend.clone(),
        ttl,
        vec![(0, "a", Fill(1)), (6, "a", Fill(2)), (9, "a", Show), (12, "a", Show), (16, "a", Show)],
    );
    assert_eq!(shown[0], ("a".into(), Some(2), vec![1, 2], vec![(1, 10), (2, 20)], Some(2), Some(1.5), true));
    // At 12 the writes of time 0 expired: the first list element and map entry are gone; the
    // value, max and average were rewritten at 6 and live on.
    assert_eq!(shown[1], ("a".into(), Some(2), vec![2], vec![(2, 20)], Some(2), Some(1.5), false));
    assert_eq!(shown[2], ("a".into(), None, vec![], vec![], None, None, false));
    let cleared = run_commands_at(backend.clone(), ttl, vec![(0, "a", Fill(1)), (1, "a", Clear), (2, "a", Show)]);
    assert_eq!(cleared[0], ("a".into(), None, vec![], vec![], None, None, false), "clear() works with a TTL too");
}

/// `OnReadAndWrite` refreshes on reads; `ReturnExpiredIfNotCleanedUp` returns an expired value
/// once, from the read that removes it.
fn state_ttl_update_type_and_visibility(backend: StateBackend) {
    use Command::*;
    use streamcrab::state::{StateVisibility, UpdateType};
    let refreshing = StateTtlConfig::new(Duration::from_millis(10)).with_update_type(UpdateType::OnReadAndWrite);
    let shown = run_commands_at(
        backend.clone(),
        Some(refreshing),
        vec![(0, "a", Fill(1)), (8, "a", Show), (15, "a", Show), (30, "a", Show)],
    );
    assert_eq!(shown[1].1, Some(1), "the read at 8 kept the value alive past 10");
    assert_eq!(shown[2], ("a".into(), None, vec![], vec![], None, None, false));
    let visible = StateTtlConfig::new(Duration::from_millis(10))
        .with_state_visibility(StateVisibility::ReturnExpiredIfNotCleanedUp);
    let shown =
        run_commands_at(backend.clone(), Some(visible), vec![(0, "a", Fill(1)), (20, "a", Show), (21, "a", Show)]);
    assert_eq!(shown[0], ("a".into(), Some(1), vec![1], vec![(1, 10)], Some(1), Some(1.0), false));
    assert_eq!(shown[1], ("a".into(), None, vec![], vec![], None, None, false));
}

/// Flink: `clear()` removes the current key's value of that state; other keys keep theirs; an
/// updated-to-empty list reads as empty.
fn clearing_state_of_every_kind_forgets_only_the_current_key(backend: StateBackend) {
    use Command::*;
    let shown = run_commands(
        backend.clone(),
        vec![("a", Fill(1)), ("a", Fill(3)), ("b", Fill(7)), ("a", Clear), ("a", Show), ("b", Show)],
    );
    assert_eq!(shown[0], ("a".into(), None, vec![], vec![], None, None, false));
    assert_eq!(shown[1], ("b".into(), Some(7), vec![7], vec![(7, 70)], Some(7), Some(7.0), false));
    let shown = run_commands(backend.clone(), vec![("a", Fill(1)), ("a", ListUpdate(vec![])), ("a", Show)]);
    assert_eq!(shown[0].2, Vec::<i64>::new());
    let shown = run_commands(backend.clone(), vec![("a", Fill(1)), ("a", ListUpdate(vec![5, 6])), ("a", Show)]);
    assert_eq!(shown[0].2, vec![5, 6]);
}

/// Flink: each key's state is its own however many keys there are; `clear()` forgets a value
/// written long before (here it has reached RocksDB behind the write tier), and a value written
/// after `clear()` starts afresh (the reducing max and the average forget the old inputs).
fn state_of_many_keys_is_written_cleared_and_written_again(backend: StateBackend) {
    use Command::*;
    let keys: Vec<String> = (0..40).map(|k| format!("key-{k}")).collect();
    let mut commands: Vec<(&str, Command)> = Vec::new();
    for (round, command) in [Fill(100), Fill(1), Clear, Fill(5)].into_iter().enumerate() {
        for key in &keys {
            commands.push((key, command.clone()));
        }
        if round == 1 || round == 3 {
            commands.extend(keys.iter().map(|k| (k.as_str(), Show)));
        }
    }
    let shown = run_commands(backend, commands);
    let (before, after) = shown.split_at(keys.len());
    for (key, s) in keys.iter().zip(before) {
        assert_eq!(s, &(key.clone(), Some(1), vec![100, 1], vec![(1, 10), (100, 1000)], Some(100), Some(50.5), true));
    }
    for (key, s) in keys.iter().zip(after) {
        assert_eq!(s, &(key.clone(), Some(5), vec![5], vec![(5, 50)], Some(5), Some(5.0), false));
    }
}

/// Flink: `MapState.entries()` holds every user key of the current key once, with its latest
/// value; `remove` takes one out and `contains` sees it gone.
fn map_state_iterates_every_entry_of_the_current_key(backend: StateBackend) {
    use Command::*;
    let shown = run_commands(
        backend,
        vec![
            ("a", Fill(1)),
            ("a", Fill(300)),
            ("a", Fill(2)),
            ("b", Fill(1)),
            ("a", Fill(2)),
            ("a", Show),
            ("a", MapRemove(1)),
            ("a", Show),
        ],
    );
    assert_eq!(shown[0].3, vec![(1, 10), (2, 20), (300, 3000)]);
    assert!(shown[0].6);
    assert_eq!(shown[1].3, vec![(2, 20), (300, 3000)]);
    assert!(!shown[1].6);
}

/// Flink: window state is namespaced by window; the same key's windows never see each other's
/// contents. Counted with a count trigger (state per key and window) over sliding windows.
fn state_is_separate_per_namespace(backend: StateBackend) {
    use streamcrab::window::{SlidingEventTimeWindows, Trigger};
    let env = StreamExecutionEnvironment::new("namespaces");
    env.set_state_backend(backend);
    let out = env
        .from_iter((0..12i64).map(|t| ("k".to_string(), t)))
        .assign_timestamps_and_watermarks(
            streamcrab::watermark::WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|(_, t): &(String, i64), _| *t),
        )
        .key_by(|(k, _): &(String, i64)| k.clone())
        .window(SlidingEventTimeWindows::of(4, 2))
        .trigger(Trigger::Count(3))
        .reduce(|(k, a), (_, b)| (k, a + b))
        .collect_to_vec();
    env.execute().unwrap();
    let mut sums: Vec<i64> = out.values().into_iter().map(|(_, v)| v).collect();
    sums.sort();
    // Each window [2n-2, 2n+2) fires once its third element arrives: the sum of its first three.
    let mut expected: Vec<i64> = (-1..6i64)
        .filter_map(|n| {
            let members: Vec<i64> = (0..12).filter(|t| *t >= 2 * n && *t < 2 * n + 4).collect();
            (members.len() >= 3).then(|| members[..3].iter().sum())
        })
        .collect();
    expected.sort();
    assert_eq!(sums, expected);
}

/// A state's stored values that no longer decode as the declared type (the type changed between
/// a savepoint and the restoring job) fail the job with a typed error naming the state and the
/// operator uid, not a panic.
fn a_state_whose_type_changed_is_a_typed_error_naming_state_and_operator(backend: StateBackend) {
    #[derive(Clone)]
    struct Remember<V>(Option<ValueState<V>>, fn() -> V);
    impl<V: streamcrab::state::StateValue> KeyedProcessFunction<String, String, String> for Remember<V> {
        fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
            self.0 = Some(ctx.get_state(&ValueStateDescriptor::new("remembered"))?);
            Ok(())
        }
        fn process_element(
            &mut self,
            _: String,
            ctx: &mut KeyedContext<'_, String>,
            _: &mut Collector<'_, String>,
        ) -> UserResult {
            let state = self.0.unwrap();
            if state.value(ctx)?.is_none() {
                state.update(ctx, (self.1)())?;
            }
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let savepoint = dir.path().join("savepoint");
    let env = StreamExecutionEnvironment::new("writes-u64");
    env.set_state_backend(backend.clone()).enable_checkpointing(std::time::Duration::from_secs(3600));
    env.from_fn(|_| {
        std::thread::sleep(std::time::Duration::from_millis(1));
        Some("a".to_string())
    })
    .key_by(|k: &String| k.clone())
    .process(Remember::<u64>(None, || 5))
    .uid("remember")
    .collect_to_vec();
    let handle = env.execute_async().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    handle.stop_with_savepoint(&savepoint).expect("the first job stops with a savepoint");

    let env = StreamExecutionEnvironment::new("reads-string");
    env.set_state_backend(backend).restore_from_savepoint(&savepoint, true);
    env.from_iter(vec!["a".to_string()])
        .key_by(|k: &String| k.clone())
        .process(Remember::<String>(None, String::new))
        .uid("remember")
        .collect_to_vec();
    let err = env.execute().unwrap_err().to_string();
    assert!(
        err.contains("'remembered'") && err.contains("uid 'remember'") && err.contains("did its type change"),
        "{err}"
    );
}
