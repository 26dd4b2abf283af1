//! Every operator the compiler knows, as data: what stream it takes, what it produces, and
//! whether it becomes an operator of the job graph. Analysis, chain planning, `describe` and
//! the "did you mean" hints all read this one table.

/// The stream shape an operator applies to or produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The environment (before a source).
    Env,
    /// A `DataStream`.
    Plain,
    /// A `KeyedStream` (after `key_by`).
    Keyed,
    /// A `WindowedStream` (after `window` / `window_all` / `count_window`).
    Windowed,
    /// `ConnectedStreams` (after `connect`).
    Connected,
    /// A sink: nothing may follow but its settings.
    Sink,
}

/// What an operator does to the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Starts a stream; `timestamps`: whether its records carry event timestamps
    /// (`None`: unknown, a user source).
    Source { parallel: bool, timestamps: Option<bool> },
    /// A job-graph operator.
    Operator,
    /// Changes the stream's shape without an operator of its own (`key_by`, `window`, ...).
    Shape,
    /// Configures the window being built (`trigger`, `allowed_lateness`, ...).
    WindowSetting,
    /// Chooses the partitioning of the next edge.
    Partition(&'static str),
    /// Sets a property of the last operator (`name`, `uid`, `set_parallelism`, ...).
    Setting,
    /// Ends the stream.
    Sink,
}

/// One operator form.
#[derive(Clone, Copy, Debug)]
pub struct OpSpec {
    /// The method name.
    pub name: &'static str,
    /// The shapes it applies to.
    pub input: &'static [Shape],
    /// The shape it produces.
    pub output: Shape,
    /// What it does to the graph.
    pub role: Role,
}

const PLAIN: &[Shape] = &[Shape::Plain];
const STREAM: &[Shape] = &[Shape::Plain, Shape::Keyed];
const KEYED: &[Shape] = &[Shape::Keyed];
const WINDOWED: &[Shape] = &[Shape::Windowed];
const SINKABLE: &[Shape] = &[Shape::Plain, Shape::Sink];
const ENV: &[Shape] = &[Shape::Env];

macro_rules! op {
    ($name:literal, $input:expr, $output:ident, $role:expr) => {
        OpSpec { name: $name, input: $input, output: Shape::$output, role: $role }
    };
}

/// The registry. Forms that exist for several shapes appear once per shape, most specific first.
pub const OPERATORS: &[OpSpec] = &[
    op!("from_iter", ENV, Plain, Role::Source { parallel: false, timestamps: Some(false) }),
    op!("from_sequence", ENV, Plain, Role::Source { parallel: true, timestamps: Some(false) }),
    op!("from_fn", ENV, Plain, Role::Source { parallel: true, timestamps: Some(false) }),
    op!("read_text_file", ENV, Plain, Role::Source { parallel: false, timestamps: Some(false) }),
    op!("add_source", ENV, Plain, Role::Source { parallel: true, timestamps: None }),
    op!("map", PLAIN, Plain, Role::Operator),
    op!("filter", PLAIN, Plain, Role::Operator),
    op!("flat_map", PLAIN, Plain, Role::Operator),
    op!("assign_timestamps_and_watermarks", PLAIN, Plain, Role::Operator),
    op!("process", PLAIN, Plain, Role::Operator),
    op!("process", KEYED, Plain, Role::Operator),
    op!("process", &[Shape::Connected], Plain, Role::Operator),
    op!("process", WINDOWED, Plain, Role::Operator),
    op!("map", &[Shape::Connected], Plain, Role::Operator),
    op!("union", PLAIN, Plain, Role::Shape),
    op!("connect", STREAM, Connected, Role::Shape),
    op!("key_by", STREAM, Keyed, Role::Shape),
    op!("reduce", KEYED, Plain, Role::Operator),
    op!("sum", KEYED, Plain, Role::Operator),
    op!("min", KEYED, Plain, Role::Operator),
    op!("max", KEYED, Plain, Role::Operator),
    op!("reduce", WINDOWED, Plain, Role::Operator),
    op!("aggregate", WINDOWED, Plain, Role::Operator),
    op!("reduce_with_process", WINDOWED, Plain, Role::Operator),
    op!("aggregate_with_process", WINDOWED, Plain, Role::Operator),
    op!("window", KEYED, Windowed, Role::Shape),
    op!("count_window", KEYED, Windowed, Role::Shape),
    op!("count_window_sliding", KEYED, Windowed, Role::Shape),
    op!("window_all", PLAIN, Windowed, Role::Shape),
    op!("trigger", WINDOWED, Windowed, Role::WindowSetting),
    op!("evictor", WINDOWED, Windowed, Role::WindowSetting),
    op!("allowed_lateness", WINDOWED, Windowed, Role::WindowSetting),
    op!("side_output_late_data", WINDOWED, Windowed, Role::WindowSetting),
    op!("get_side_output", PLAIN, Plain, Role::Shape),
    op!("rebalance", PLAIN, Plain, Role::Partition("REBALANCE")),
    op!("shuffle", PLAIN, Plain, Role::Partition("SHUFFLE")),
    op!("broadcast", PLAIN, Plain, Role::Partition("BROADCAST")),
    op!("forward", PLAIN, Plain, Role::Partition("FORWARD")),
    op!("name", SINKABLE, Plain, Role::Setting),
    op!("uid", SINKABLE, Plain, Role::Setting),
    op!("set_parallelism", SINKABLE, Plain, Role::Setting),
    op!("set_max_parallelism", PLAIN, Plain, Role::Setting),
    op!("disable_chaining", PLAIN, Plain, Role::Setting),
    op!("start_new_chain", PLAIN, Plain, Role::Setting),
    op!("print", PLAIN, Sink, Role::Sink),
    op!("add_sink", PLAIN, Sink, Role::Sink),
    op!("add_two_phase_commit_sink", PLAIN, Sink, Role::Sink),
    op!("write_as_text", PLAIN, Sink, Role::Sink),
    op!("collect_to_vec", PLAIN, Sink, Role::Sink),
];

/// The form of `name` that applies to `shape`, else any form of `name`.
pub fn lookup(name: &str, shape: Shape) -> Option<&'static OpSpec> {
    let mut forms = OPERATORS.iter().filter(|o| o.name == name);
    let all: Vec<&'static OpSpec> = forms.by_ref().collect();
    all.iter().find(|o| o.input.contains(&shape)).or(all.first()).copied()
}

/// The known operator closest to `name` (for "did you mean").
pub fn closest(name: &str) -> Option<&'static str> {
    OPERATORS
        .iter()
        .map(|o| (edit_distance(name, o.name), o.name))
        .filter(|(d, _)| *d <= 2.max(name.len() / 3))
        .min()
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb { previous } else { 1 + previous.min(row[j]).min(row[j + 1]) };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_prefers_the_form_for_the_shape() {
        assert_eq!(lookup("reduce", Shape::Windowed).unwrap().input, WINDOWED);
        assert_eq!(lookup("reduce", Shape::Keyed).unwrap().input, KEYED);
        assert!(lookup("reduce", Shape::Plain).is_some());
        assert!(lookup("teleport", Shape::Plain).is_none());
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("flatmap"), Some("flat_map"));
        assert_eq!(closest("keyby"), Some("key_by"));
        assert_eq!(closest("zzzzzzzz"), None);
    }
}
