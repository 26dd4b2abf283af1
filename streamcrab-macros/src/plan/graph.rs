//! The logical graph of a pipeline and the analysis that builds it: every flow is walked with
//! the stream's shape (plain, keyed, windowed, connected, sink), operators become nodes,
//! shape changes and partitionings become edge properties, and every misuse becomes a
//! diagnostic. Analysis never stops at the first error.

use std::collections::HashMap;
use std::path::Path;

use proc_macro2::Span;
use syn::{Expr, Ident};

use super::diagnostics::{Code, Diagnostics};
use super::parse::{Body, Call, Flow, Root};
use super::registry::{self, OpSpec, Role, Shape};
use super::timers;

/// A job-graph operator.
pub struct Node {
    /// The method that created it.
    pub kind: String,
    /// `.name(..)`, if given.
    pub name: Option<String>,
    /// `.uid(..)`, if given.
    pub uid: Option<(String, Span)>,
    /// A literal parallelism, if known (non-parallel sources: 1).
    pub parallelism: Option<u32>,
    /// A literal max parallelism, if given.
    pub max_parallelism: Option<u32>,
    /// `.start_new_chain()` / `.disable_chaining()`.
    pub start_new_chain: bool,
    /// `.disable_chaining()`.
    pub disable_chaining: bool,
    /// Where it was written.
    pub span: Span,
}

/// A connection between two nodes.
pub struct Edge {
    /// Upstream node.
    pub from: usize,
    /// Downstream node.
    pub to: usize,
    /// An explicit partitioning (`None`: forward if possible, else rebalance).
    pub partitioning: Option<&'static str>,
}

/// The analysed pipeline.
#[derive(Default)]
pub struct Graph {
    /// Operators in source order.
    pub nodes: Vec<Node>,
    /// Edges between them.
    pub edges: Vec<Edge>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WindowTime {
    Event,
    Processing,
    Count,
    Unknown,
}

/// An upstream end that the next operator connects to.
#[derive(Clone, Copy)]
struct Upstream {
    node: usize,
    partitioning: Option<&'static str>,
}

/// The state of a stream while its calls are walked.
#[derive(Clone)]
struct Stream {
    shape: Shape,
    upstream: Vec<Upstream>,
    /// The node settings apply to.
    last: Option<usize>,
    timestamps: Option<bool>,
    window: Option<(WindowTime, Span)>,
    forward_from: Option<usize>,
}

impl Stream {
    fn env() -> Self {
        Self { shape: Shape::Env, upstream: Vec::new(), last: None, timestamps: None, window: None, forward_from: None }
    }

    /// Takes in the inputs of `other` (`union`, `connect`): the result has timestamps only if
    /// both have.
    fn merge(&mut self, other: Stream) {
        self.upstream.extend(other.upstream);
        self.timestamps = match (self.timestamps, other.timestamps) {
            (Some(a), Some(b)) => Some(a && b),
            _ => None,
        };
    }
}

struct Binding {
    stream: Stream,
    consumed: bool,
    span: Span,
}

fn path_text(expr: &Expr) -> String {
    quote::ToTokens::to_token_stream(expr).to_string()
}

fn window_time(call: &Call) -> WindowTime {
    let Some(arg) = call.args.first() else { return WindowTime::Unknown };
    let text = path_text(arg);
    if text.contains("EventTime") {
        WindowTime::Event
    } else if text.contains("ProcessingTime") {
        WindowTime::Processing
    } else if text.contains("GlobalWindows") {
        WindowTime::Count
    } else {
        WindowTime::Unknown
    }
}

/// Analyses the flows of `body`, reporting into `diagnostics`; `source_file` is where the
/// functions they use may be defined.
pub fn analyse(body: &Body, source_file: Option<&Path>, diagnostics: &mut Diagnostics) -> Graph {
    let mut analysis = Analysis {
        graph: Graph::default(),
        bindings: HashMap::new(),
        diagnostics,
        defined: Vec::new(),
        source_file,
        timer_types: None,
    };
    for flow in body.flows.iter().flatten() {
        analysis.flow(flow, body);
    }
    for (name, binding) in &analysis.bindings {
        if !binding.consumed && binding.stream.shape != Shape::Sink {
            analysis.diagnostics.warn(
                Code::UnconsumedStream,
                binding.span,
                format!("stream `{name}` is never consumed"),
                "end it in a sink (`print`, `add_sink`, ...) or remove it",
            );
        }
    }
    let mut uids: HashMap<String, Span> = HashMap::new();
    for node in &analysis.graph.nodes {
        if let Some((uid, span)) = &node.uid
            && uids.insert(uid.clone(), *span).is_some()
        {
            analysis.diagnostics.error(
                Code::DuplicateUid,
                *span,
                format!("uid \"{uid}\" is used by more than one operator"),
                "every operator needs its own uid: state is matched to operators by uid on restore",
            );
        }
    }
    analysis.graph
}

struct Analysis<'d> {
    graph: Graph,
    bindings: HashMap<String, Binding>,
    diagnostics: &'d mut Diagnostics,
    defined: Vec<String>,
    source_file: Option<&'d Path>,
    /// The types whose keyed process functions register event-time timers (found on first need).
    timer_types: Option<Vec<String>>,
}

impl Analysis<'_> {
    /// The stream a flow or an argument names, marking it consumed.
    fn take_stream(&mut self, name: &Ident, body: &Body) -> Option<Stream> {
        self.stream(name, body, true)
    }

    /// The stream `name`; `consume`: whether this use consumes it.
    fn stream(&mut self, name: &Ident, body: &Body, consume: bool) -> Option<Stream> {
        let key = name.to_string();
        let Some(binding) = self.bindings.get_mut(&key) else {
            if body.stream_names.contains(name) && !self.defined.contains(&key) {
                self.diagnostics.error(
                    Code::Cycle,
                    name.span(),
                    format!("stream `{name}` is used before it is defined: this would be a cycle"),
                    "define streams before using them; iterations are not supported",
                );
            }
            return None;
        };
        if !consume {
            return Some(binding.stream.clone());
        }
        if binding.consumed {
            self.diagnostics.error(
                Code::ConsumedTwice,
                name.span(),
                format!("stream `{name}` is consumed twice"),
                "a stream feeds exactly one consumer; build a second stream for the second use",
            );
        }
        binding.consumed = true;
        Some(binding.stream.clone())
    }

    fn add_node(&mut self, stream: &mut Stream, call: &Call, parallelism: Option<u32>) -> usize {
        let id = self.graph.nodes.len();
        self.graph.nodes.push(Node {
            kind: call.method.to_string(),
            name: None,
            uid: None,
            parallelism,
            max_parallelism: None,
            start_new_chain: false,
            disable_chaining: false,
            span: call.span(),
        });
        for up in std::mem::take(&mut stream.upstream) {
            self.graph.edges.push(Edge { from: up.node, to: id, partitioning: up.partitioning });
        }
        stream.upstream = vec![Upstream { node: id, partitioning: None }];
        stream.last = Some(id);
        id
    }

    fn flow(&mut self, flow: &Flow, body: &Body) {
        let mut stream = match &flow.root {
            Root::Env => Stream::env(),
            // `get_side_output` borrows the stream: the main output stays to be consumed.
            Root::Stream(name) => {
                match self.stream(name, body, flow.calls.first().is_none_or(|c| c.method != "get_side_output")) {
                    Some(stream) => stream,
                    None => return,
                }
            }
        };
        if flow.calls.is_empty() {
            return;
        }
        for call in &flow.calls {
            self.call(&mut stream, call, body);
        }
        if matches!(stream.shape, Shape::Windowed | Shape::Connected) && flow.binding.is_none() {
            let last = flow.calls.last().map_or(flow.root_span, Call::span);
            let (what, help) = if stream.shape == Shape::Windowed {
                ("a window needs a window function", "finish it with `reduce`, `aggregate` or `process`")
            } else {
                ("connected streams need a co-function", "finish them with `map` or `process`")
            };
            self.diagnostics.error(Code::Unfinished, last, what.to_string(), help);
        }
        if let Some(name) = &flow.binding {
            self.defined.push(name.to_string());
            self.bindings.insert(name.to_string(), Binding { stream, consumed: false, span: name.span() });
        }
    }

    fn call(&mut self, stream: &mut Stream, call: &Call, body: &Body) {
        let method = call.method.to_string();
        if stream.shape == Shape::Sink && !matches!(method.as_str(), "name" | "uid" | "set_parallelism") {
            self.diagnostics.error(
                Code::AfterSink,
                call.span(),
                format!("`{method}` after a sink: a sink ends its stream"),
                "apply operators before the sink, or start a new stream",
            );
            return;
        }
        let Some(spec) = registry::lookup(&method, stream.shape) else {
            let help = match registry::closest(&method) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "see the operators of `DataStream`, `KeyedStream` and `WindowedStream`".to_string(),
            };
            self.diagnostics.error(Code::UnknownOperator, call.span(), format!("unknown operator `{method}`"), &help);
            return;
        };
        if !spec.input.contains(&stream.shape) {
            self.wrong_shape(stream, call, spec);
            // Carry on as if it had applied, so one mistake is reported once.
            if spec.output == Shape::Windowed {
                stream.window = Some((WindowTime::Unknown, call.span()));
            }
            stream.shape = spec.output;
            return;
        }
        match spec.role {
            Role::Source { parallel, timestamps } => {
                let id = self.add_node(stream, call, if parallel { None } else { Some(1) });
                stream.timestamps = timestamps;
                if !parallel {
                    self.graph.nodes[id].parallelism = Some(1);
                }
            }
            Role::Operator => self.operator(stream, call, spec, body),
            Role::Shape => self.shape(stream, call, body),
            Role::WindowSetting => self.window_setting(stream, call),
            Role::Partition(partitioning) => {
                for up in &mut stream.upstream {
                    up.partitioning = Some(partitioning);
                }
                stream.forward_from = (partitioning == "FORWARD").then_some(stream.last).flatten();
            }
            Role::Setting => self.setting(stream, call, body),
            Role::Sink => {
                self.add_node(stream, call, None);
            }
        }
        stream.shape = spec.output;
    }

    fn wrong_shape(&mut self, stream: &Stream, call: &Call, spec: &OpSpec) {
        let method = call.method.to_string();
        let span = call.span();
        let d = &mut self.diagnostics;
        match (method.as_str(), stream.shape) {
            (_, Shape::Env) => d.error(
                Code::NoSource,
                span,
                format!("`{method}` needs a stream"),
                "start with a source: `from_iter`, `from_sequence`, `from_fn`, `read_text_file` or `add_source`",
            ),
            ("window" | "count_window" | "count_window_sliding", Shape::Plain) => d.error(
                Code::WindowNeedsKeys,
                span,
                format!("`{method}` needs a keyed stream"),
                "key the stream with `key_by` first, or use `window_all` for windows over the whole stream",
            ),
            ("window_all", Shape::Keyed) => d.error(
                Code::WindowAllOnKeyed,
                span,
                "`window_all` on a keyed stream".to_string(),
                "use `window` for windows per key",
            ),
            ("trigger" | "evictor" | "allowed_lateness" | "side_output_late_data", _) => d.error(
                Code::WindowSettingWithoutWindow,
                span,
                format!("`{method}` needs a window"),
                "call it after `window(..)` / `window_all(..)`, before the window function",
            ),
            (_, Shape::Connected) => d.error(
                Code::ConnectedNeedsCoFunction,
                span,
                format!("`{method}` is not available on connected streams"),
                "use `map` (a CoMapFunction) or `process` (a CoProcessFunction)",
            ),
            (_, Shape::Windowed) => d.error(
                Code::Unfinished,
                span,
                format!("`{method}` on a window"),
                "finish the window with `reduce`, `aggregate` or `process` first",
            ),
            _ if spec.input == [Shape::Keyed] || spec.input.contains(&Shape::Windowed) => d.error(
                Code::NeedsKeys,
                span,
                format!("`{method}` needs a keyed stream"),
                "key the stream with `key_by` first: keyed state lives per key",
            ),
            _ => d.error(
                Code::UnknownOperator,
                span,
                format!("`{method}` does not apply here"),
                "check the operator order",
            ),
        }
    }

    fn operator(&mut self, stream: &mut Stream, call: &Call, spec: &OpSpec, body: &Body) {
        if spec.input.contains(&Shape::Windowed) && stream.shape == Shape::Windowed {
            if let Some((WindowTime::Event, span)) = stream.window
                && stream.timestamps == Some(false)
            {
                self.diagnostics.error(
                    Code::EventTimeWithoutTimestamps,
                    span,
                    "event-time window on a stream without timestamps".to_string(),
                    "add `assign_timestamps_and_watermarks(..)` before `key_by`, or use a source that emits timestamps",
                );
            }
            stream.window = None;
        }
        if call.method == "process"
            && matches!(stream.shape, Shape::Keyed | Shape::Connected)
            && stream.timestamps == Some(false)
            && let Some(function) = call.args.first()
            && self.registers_event_time_timers(function, body)
        {
            self.diagnostics.error(
                Code::EventTimeWithoutTimestamps,
                call.span(),
                "event-time timers on a stream without timestamps".to_string(),
                "add `assign_timestamps_and_watermarks(..)` before `key_by`: without it no watermark advances \
                 and the timers fire only at the end of input",
            );
        }
        if call.method == "assign_timestamps_and_watermarks" {
            stream.timestamps = Some(true);
        }
        self.add_node(stream, call, None);
    }

    fn registers_event_time_timers(&mut self, function: &Expr, body: &Body) -> bool {
        let source_file = self.source_file;
        let types = self.timer_types.get_or_insert_with(|| {
            // The source file holds the body too; without it (unit tests, generated code), the
            // body's own items are what there is.
            match source_file.map(timers::file_items) {
                Some(items) if !items.is_empty() => timers::event_time_timer_types(&items),
                _ => timers::event_time_timer_types(&body.items),
            }
        });
        timers::registers_event_time_timers(function, types)
    }

    fn shape(&mut self, stream: &mut Stream, call: &Call, body: &Body) {
        match call.method.to_string().as_str() {
            "key_by" => {
                if call.args.is_empty() {
                    self.diagnostics.error(
                        Code::MissingArgument,
                        call.span(),
                        "`key_by` needs a key selector".to_string(),
                        "pass a closure returning the key, e.g. `key_by(|r| r.id)`",
                    );
                }
                for up in &mut stream.upstream {
                    up.partitioning = Some("HASH");
                }
            }
            "window" | "window_all" | "count_window" | "count_window_sliding" => {
                let time = if call.method == "window" || call.method == "window_all" {
                    window_time(call)
                } else {
                    WindowTime::Count
                };
                stream.window = Some((time, call.span()));
                if call.method == "window_all" {
                    for up in &mut stream.upstream {
                        up.partitioning.get_or_insert("REBALANCE");
                    }
                }
            }
            "union" => {
                let others = call.ident_args();
                if call.args.is_empty() {
                    self.diagnostics.warn(
                        Code::UnionOfOne,
                        call.span(),
                        "`union` of a single stream".to_string(),
                        "pass the streams to merge: `a.union(b)`",
                    );
                }
                for other in others {
                    if let Some(other) = self.take_stream(&other, body) {
                        stream.merge(other);
                    }
                }
            }
            "connect" => {
                let others = call.ident_args();
                if call.args.is_empty() {
                    self.diagnostics.error(
                        Code::ConnectMissingSide,
                        call.span(),
                        "`connect` needs the stream to connect with".to_string(),
                        "pass the second stream: `a.connect(b)`",
                    );
                }
                for other in others {
                    if let Some(other) = self.take_stream(&other, body) {
                        stream.merge(other);
                    }
                }
            }
            _ => {}
        }
    }

    fn window_setting(&mut self, stream: &mut Stream, call: &Call) {
        if call.method == "allowed_lateness"
            && let Some((time, _)) = stream.window
            && matches!(time, WindowTime::Processing)
        {
            self.diagnostics.error(
                Code::LatenessOnProcessingTime,
                call.span(),
                "`allowed_lateness` on a processing-time window".to_string(),
                "processing-time windows have no late elements; remove it or use an event-time window",
            );
        }
    }

    fn setting(&mut self, stream: &mut Stream, call: &Call, body: &Body) {
        let Some(node) = stream.last else { return };
        match call.method.to_string().as_str() {
            "name" => self.graph.nodes[node].name = call.str_arg(),
            "uid" => self.graph.nodes[node].uid = call.str_arg().map(|u| (u, call.span())),
            "set_parallelism" => {
                let Some(p) = call.int_arg() else { return };
                if p == 0 {
                    self.diagnostics.error(
                        Code::InvalidParallelism,
                        call.span(),
                        "parallelism must be at least 1".to_string(),
                        "use a positive parallelism",
                    );
                    return;
                }
                let p = p as u32;
                let n = &self.graph.nodes[node];
                if n.parallelism == Some(1) && p != 1 && ["from_iter", "read_text_file"].contains(&n.kind.as_str()) {
                    self.diagnostics.error(
                        Code::InvalidParallelism,
                        call.span(),
                        format!("`{}` is a non-parallel source: its parallelism must be 1", n.kind),
                        "use `from_sequence`, `from_fn` or `add_source` for a parallel source",
                    );
                }
                self.graph.nodes[node].parallelism = Some(p);
                self.check_forward(stream, node, body);
                self.check_max(node, call);
            }
            "set_max_parallelism" => {
                let Some(max) = call.int_arg() else { return };
                if max == 0 || max > 32768 {
                    self.diagnostics.error(
                        Code::InvalidParallelism,
                        call.span(),
                        format!("max parallelism must be between 1 and 32768, got {max}"),
                        "the max parallelism is the number of key groups",
                    );
                    return;
                }
                self.graph.nodes[node].max_parallelism = Some(max as u32);
                self.check_max(node, call);
            }
            "start_new_chain" => self.graph.nodes[node].start_new_chain = true,
            "disable_chaining" => {
                self.graph.nodes[node].start_new_chain = true;
                self.graph.nodes[node].disable_chaining = true;
            }
            _ => {}
        }
    }

    fn check_max(&mut self, node: usize, call: &Call) {
        let n = &self.graph.nodes[node];
        if let (Some(p), Some(max)) = (n.parallelism, n.max_parallelism)
            && max < p
        {
            self.diagnostics.error(
                Code::MaxBelowParallelism,
                call.span(),
                format!("max parallelism {max} is below the parallelism {p}"),
                "the max parallelism must be at least the parallelism",
            );
        }
    }

    fn check_forward(&mut self, stream: &Stream, node: usize, body: &Body) {
        let Some(from) = stream.forward_from else { return };
        let forwarded =
            self.graph.edges.iter().any(|e| e.from == from && e.to == node && e.partitioning == Some("FORWARD"));
        let upstream = self.graph.nodes[from].parallelism.or(body.env_parallelism).unwrap_or(1);
        let downstream = self.graph.nodes[node].parallelism.unwrap_or(upstream);
        if forwarded && upstream != downstream {
            self.diagnostics.error(
                Code::ForwardParallelism,
                self.graph.nodes[node].span,
                format!("`forward` from parallelism {upstream} to {downstream}"),
                "forward partitioning keeps subtask i to subtask i: use `rebalance` to change parallelism",
            );
        }
    }
}
