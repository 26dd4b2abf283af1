//! The job graph: operators, vertices (chains run as tasks) and edges between them.
//!
//! The builder API fills it in while the user describes the job; the executor validates it,
//! fixes every vertex's parallelism and max parallelism, creates the channels of every edge
//! and starts one task per subtask. Type information lives in the closures a vertex and an
//! edge carry (the task body and the channel factory), so the graph itself is untyped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use crate::checkpoint::{CheckpointConfig, CheckpointStorage, RestartStrategy};
use crate::error::{ConfigError, TaskError};
use crate::exchange::ErasedChannels;
use crate::keygroup::{UPPER_BOUND_MAX_PARALLELISM, default_max_parallelism};
use crate::operator::OperatorId;
use crate::task::{SideOutputFactory, TaskContext};

/// Identifies an edge of the job graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EdgeId(pub usize);

/// Identifies a vertex (a chain) of the job graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VertexId(pub usize);

/// How records are distributed over the subtasks of an edge's consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Partitioning {
    /// Forward when both sides have the same parallelism, else rebalance (Flink's default).
    Default,
    /// Subtask `i` to subtask `i`; requires equal parallelism.
    Forward,
    /// Round robin.
    Rebalance,
    /// Random.
    Shuffle,
    /// Every record to every subtask.
    Broadcast,
    /// By key group of the record's key.
    Hash,
}

impl Partitioning {
    fn label(self) -> &'static str {
        match self {
            // `Default` between equal parallelisms is shown as FORWARD by `describe`.
            Self::Default | Self::Rebalance => "REBALANCE",
            Self::Forward => "FORWARD",
            Self::Shuffle => "SHUFFLE",
            Self::Broadcast => "BROADCAST",
            Self::Hash => "HASH",
        }
    }
}

/// Runs one subtask of a vertex (called again for every run after a restart).
pub(crate) type TaskBody = Box<dyn Fn() -> TaskRun + Send>;

/// One subtask's run, handed to its thread.
pub(crate) type TaskRun = Box<dyn FnOnce(&mut TaskContext) -> Result<(), TaskError> + Send>;

/// Creates the channels of an edge: `(upstream p, downstream p, pointwise, downstream max p)`.
pub(crate) type ChannelFactory = Arc<dyn Fn(u32, u32, bool, u32) -> ErasedChannels + Send + Sync>;

/// An operator as the user described it.
#[derive(Clone, Debug)]
pub(crate) struct OperatorMeta {
    pub(crate) name: String,
    pub(crate) uid: Option<String>,
    pub(crate) max_parallelism: Option<u32>,
}

/// Whether a vertex starts with a source, and whether that source can run in parallel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadKind {
    ParallelSource,
    NonParallelSource,
    Input,
}

/// A chain of operators, run as `parallelism` subtasks.
pub(crate) struct Vertex {
    pub(crate) operators: Vec<OperatorId>,
    pub(crate) parallelism: u32,
    pub(crate) head: HeadKind,
    pub(crate) body: Option<TaskBody>,
    pub(crate) is_sink: bool,
}

/// Where an edge's records come from.
#[derive(Clone)]
pub(crate) enum EdgeSource {
    /// The main output of a vertex.
    Main(VertexId),
    /// A side output of an operator (its vertex is resolved at execution).
    Side { operator: OperatorId, tag: String, writer: SideOutputFactory },
}

/// A data exchange between two vertices.
pub(crate) struct Edge {
    pub(crate) source: EdgeSource,
    pub(crate) target: VertexId,
    pub(crate) partitioning: Partitioning,
    pub(crate) channels: ChannelFactory,
}

/// The job graph under construction.
pub(crate) struct JobGraph {
    pub(crate) name: String,
    pub(crate) operators: Vec<OperatorMeta>,
    pub(crate) vertices: Vec<Vertex>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) default_max_parallelism: Option<u32>,
    pub(crate) clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// Where keyed operators keep their state.
    pub(crate) state_backend: std::sync::Arc<crate::state::StateBackend>,
    pub(crate) recovery: Recovery,
}

/// How a job checkpoints, restarts and starts.
#[derive(Clone, Default)]
pub(crate) struct Recovery {
    pub(crate) checkpointing: Option<CheckpointConfig>,
    pub(crate) restart: Option<RestartStrategy>,
    pub(crate) storage: Option<Arc<dyn CheckpointStorage>>,
    /// A savepoint or checkpoint folder to start from, and whether state of operators the job
    /// does not have may be skipped.
    pub(crate) restore_from: Option<(PathBuf, bool)>,
}

/// A vertex with its settled parallelism, as the executor runs it.
pub(crate) struct PlannedVertex {
    pub(crate) name: String,
    pub(crate) parallelism: u32,
    pub(crate) max_parallelism: u32,
}

impl JobGraph {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            operators: Vec::new(),
            vertices: Vec::new(),
            edges: Vec::new(),
            errors: Vec::new(),
            default_max_parallelism: None,
            clock: std::sync::Arc::new(crate::clock::SystemClock),
            state_backend: std::sync::Arc::default(),
            recovery: Recovery::default(),
        }
    }

    /// The uid of every operator: the one given with `.uid(..)`, or one derived from its
    /// position and name (stable as long as the job is built the same way).
    pub(crate) fn operator_uids(&self) -> Vec<String> {
        self.operators
            .iter()
            .enumerate()
            .map(|(index, op)| op.uid.clone().unwrap_or_else(|| format!("{index}:{}", op.name)))
            .collect()
    }

    pub(crate) fn add_operator(&mut self, name: &str) -> OperatorId {
        self.operators.push(OperatorMeta { name: name.to_string(), uid: None, max_parallelism: None });
        OperatorId(self.operators.len() as u32 - 1)
    }

    pub(crate) fn add_vertex(&mut self, head: HeadKind, parallelism: u32) -> VertexId {
        self.vertices.push(Vertex { operators: Vec::new(), parallelism, head, body: None, is_sink: false });
        VertexId(self.vertices.len() - 1)
    }

    pub(crate) fn add_edge(
        &mut self,
        source: EdgeSource,
        target: VertexId,
        partitioning: Partitioning,
        channels: ChannelFactory,
    ) -> EdgeId {
        self.edges.push(Edge { source, target, partitioning, channels });
        EdgeId(self.edges.len() - 1)
    }

    pub(crate) fn vertex_of(&self, operator: OperatorId) -> Option<VertexId> {
        self.vertices.iter().position(|v| v.operators.contains(&operator)).map(VertexId)
    }

    pub(crate) fn source_vertex(&self, edge: &Edge) -> Option<VertexId> {
        match &edge.source {
            EdgeSource::Main(v) => Some(*v),
            EdgeSource::Side { operator, .. } => self.vertex_of(*operator),
        }
    }

    /// The name of a vertex: its operators joined by ` -> ` (as Flink names chains).
    pub(crate) fn vertex_name(&self, vertex: VertexId) -> String {
        let names: Vec<&str> =
            self.vertices[vertex.0].operators.iter().map(|id| self.operators[id.0 as usize].name.as_str()).collect();
        if names.is_empty() { format!("Exchange #{}", vertex.0) } else { names.join(" -> ") }
    }

    /// Every vertex with its parallelism and max parallelism, or all the setting errors found.
    pub(crate) fn plan(&self) -> Result<Vec<PlannedVertex>, Vec<ConfigError>> {
        let mut errors = self.errors.clone();
        let mut planned = Vec::new();
        for (index, vertex) in self.vertices.iter().enumerate() {
            let name = self.vertex_name(VertexId(index));
            if vertex.head == HeadKind::NonParallelSource && vertex.parallelism != 1 {
                errors.push(ConfigError::NonParallelSource { operator: name.clone(), value: vertex.parallelism });
            }
            let explicit = vertex.operators.iter().filter_map(|id| self.operators[id.0 as usize].max_parallelism).max();
            let max_parallelism = explicit
                .or(self.default_max_parallelism)
                .unwrap_or_else(|| default_max_parallelism(vertex.parallelism));
            if !(1..=UPPER_BOUND_MAX_PARALLELISM).contains(&max_parallelism) {
                errors.push(ConfigError::MaxParallelismOutOfBounds { operator: name.clone(), value: max_parallelism });
            } else if max_parallelism < vertex.parallelism {
                errors.push(ConfigError::MaxParallelismBelowParallelism {
                    operator: name.clone(),
                    max_parallelism,
                    parallelism: vertex.parallelism,
                });
            }
            planned.push(PlannedVertex { name, parallelism: vertex.parallelism, max_parallelism });
        }
        for edge in &self.edges {
            let Some(source) = self.source_vertex(edge) else { continue };
            let (up, down) = (&planned[source.0], &planned[edge.target.0]);
            if edge.partitioning == Partitioning::Forward && up.parallelism != down.parallelism {
                errors.push(ConfigError::ForwardParallelismMismatch {
                    upstream: up.name.clone(),
                    upstream_parallelism: up.parallelism,
                    downstream: down.name.clone(),
                    downstream_parallelism: down.parallelism,
                });
            }
        }
        let mut uids: HashMap<&str, &str> = HashMap::new();
        for op in &self.operators {
            if let Some(uid) = &op.uid
                && let Some(first) = uids.insert(uid, &op.name)
            {
                errors.push(ConfigError::DuplicateUid {
                    uid: uid.clone(),
                    first: first.to_string(),
                    second: op.name.clone(),
                });
            }
        }
        if let Some(problem) = self.recovery.checkpointing.as_ref().and_then(CheckpointConfig::problem) {
            errors.push(ConfigError::InvalidCheckpointing { reason: problem });
        }
        if !self.vertices.iter().any(|v| v.is_sink) {
            errors.push(ConfigError::EmptyJob { job: self.name.clone() });
        }
        if errors.is_empty() { Ok(planned) } else { Err(errors) }
    }

    /// A plain-text description of the planned graph: one line per vertex, then its inputs.
    pub(crate) fn describe(&self) -> String {
        let mut out = format!("Job '{}'\n", self.name);
        for (index, vertex) in self.vertices.iter().enumerate() {
            let _ =
                writeln!(out, "  [{index}] {} (parallelism {})", self.vertex_name(VertexId(index)), vertex.parallelism);
            for edge in self.edges.iter().filter(|e| e.target.0 == index) {
                let from = match &edge.source {
                    EdgeSource::Main(v) => format!("[{}]", v.0),
                    EdgeSource::Side { operator, tag, .. } => {
                        let v = self.vertex_of(*operator).map_or("?".to_string(), |v| v.0.to_string());
                        format!("[{v}] side output '{tag}'")
                    }
                };
                let label = match (edge.partitioning, self.source_vertex(edge)) {
                    (Partitioning::Default, Some(v)) if self.vertices[v.0].parallelism == vertex.parallelism => {
                        "FORWARD"
                    }
                    (partitioning, _) => partitioning.label(),
                };
                let _ = writeln!(out, "      <- {from} {label}");
            }
        }
        out
    }
}
