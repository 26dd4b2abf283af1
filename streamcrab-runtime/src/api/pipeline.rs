//! What the `#[pipeline]` compiler saw: the analysed job graph as static data, travelling in
//! the binary (`describe`, mermaid, tests), and the way to run a compiled pipeline.

use std::fmt::Write as _;

use super::StreamExecutionEnvironment;
use crate::error::{ConfigErrors, JobError, TaskError};
use crate::executor::JobExecutionResult;
use crate::graph::{JobGraph, PlannedVertex};
use crate::task::TaskContext;

/// An operator of a compiled pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorDescriptor {
    /// Position in the pipeline (0, 1, ...).
    pub id: u32,
    /// Stable uid: the `.uid(..)` given, else derived from the pipeline name and position.
    pub uid: &'static str,
    /// Display name (the method, or `.name(..)`).
    pub name: &'static str,
    /// The method that created it (`map`, `window`, `print`, ...).
    pub kind: &'static str,
    /// Parallelism, when the compiler could read it (`0`: the environment's default).
    pub parallelism: u32,
    /// The chain (task) it belongs to.
    pub chain: u32,
}

/// A data exchange between two operators of different chains, or a chained edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeDescriptor {
    /// Upstream operator id.
    pub from: u32,
    /// Downstream operator id.
    pub to: u32,
    /// `FORWARD`, `REBALANCE`, `HASH`, `BROADCAST`, `SHUFFLE`.
    pub partitioning: &'static str,
    /// Whether both ends are fused in one chain.
    pub chained: bool,
}

/// A compiled pipeline's graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineDescriptor {
    /// The pipeline (function) name; also the job name.
    pub name: &'static str,
    /// Its operators in source order.
    pub operators: &'static [OperatorDescriptor],
    /// Its edges.
    pub edges: &'static [EdgeDescriptor],
    /// Number of chains (tasks).
    pub chains: u32,
}

impl PipelineDescriptor {
    /// The operators of chain `chain`, in order.
    pub fn chain(&self, chain: u32) -> impl Iterator<Item = &OperatorDescriptor> {
        self.operators.iter().filter(move |o| o.chain == chain)
    }

    /// A plain-text description: one line per chain, then the exchanges.
    pub fn describe(&self) -> String {
        let mut out = format!("pipeline {}\n", self.name);
        for chain in 0..self.chains {
            let names: Vec<String> = self.chain(chain).map(|o| format!("{}#{}", o.name, o.id)).collect();
            let parallelism = self.chain(chain).map(|o| o.parallelism).max().unwrap_or(0);
            let p = if parallelism == 0 { "default".to_string() } else { parallelism.to_string() };
            let _ = writeln!(out, "  chain {chain} (parallelism {p}): {}", names.join(" -> "));
        }
        for edge in self.edges.iter().filter(|e| !e.chained) {
            let _ = writeln!(out, "  #{} -> #{} {}", edge.from, edge.to, edge.partitioning);
        }
        out
    }

    /// A mermaid flowchart: one subgraph per chain.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for chain in 0..self.chains {
            let _ = writeln!(out, "  subgraph chain{chain}");
            for op in self.chain(chain) {
                let _ = writeln!(out, "    op{}[\"{}\"]", op.id, op.name);
            }
            out.push_str("  end\n");
        }
        for edge in self.edges {
            let label = if edge.chained { String::new() } else { format!("|{}|", edge.partitioning) };
            let _ = writeln!(out, "  op{} -->{label} op{}", edge.from, edge.to);
        }
        out
    }

    /// Builds the job with `build` and hands back its tasks by chain id: what a process running
    /// the same binary needs to run any one chain of the job (the cluster's task managers).
    /// Fails if the job is invalid or its chains are not the ones the compiler planned.
    pub fn tasks(&self, build: impl FnOnce(&mut StreamExecutionEnvironment)) -> Result<PipelineTasks, JobError> {
        let mut env = StreamExecutionEnvironment::new(self.name);
        build(&mut env);
        let graph = env.take_graph();
        let planned = graph.plan().map_err(|errors| JobError::InvalidJob(ConfigErrors(errors)))?;
        if planned.len() != self.chains as usize {
            let what = format!(
                "pipeline '{}': the compiler planned {} chains, the built job has {} tasks",
                self.name,
                self.chains,
                planned.len()
            );
            let source = TaskError::Wiring { what };
            return Err(JobError::TaskFailed { task: self.name.to_string(), subtask: 0, parallelism: 1, source });
        }
        Ok(PipelineTasks { graph, planned })
    }

    /// Builds the job with `build` on a new environment named after the pipeline and runs it.
    pub fn execute(&self, build: impl FnOnce(&mut StreamExecutionEnvironment)) -> Result<JobExecutionResult, JobError> {
        let mut env = StreamExecutionEnvironment::new(self.name);
        build(&mut env);
        env.execute()
    }
}

/// One subtask's run of a chain: given the subtask's context (its index, channels, clock), it
/// runs the fused chain until its input ends.
pub type ChainTask = Box<dyn FnOnce(&mut TaskContext) -> Result<(), TaskError> + Send>;

/// The tasks of a built pipeline, by chain id (the chain ids of [`PipelineDescriptor`]).
pub struct PipelineTasks {
    graph: JobGraph,
    planned: Vec<PlannedVertex>,
}

impl PipelineTasks {
    /// Number of chains.
    pub fn len(&self) -> usize {
        self.planned.len()
    }

    /// Whether the job has no chain.
    pub fn is_empty(&self) -> bool {
        self.planned.is_empty()
    }

    /// The task name of chain `chain` (its operators joined by ` -> `).
    pub fn name(&self, chain: usize) -> Option<&str> {
        self.planned.get(chain).map(|v| v.name.as_str())
    }

    /// The parallelism chain `chain` runs with.
    pub fn parallelism(&self, chain: usize) -> Option<u32> {
        self.planned.get(chain).map(|v| v.parallelism)
    }

    /// A new run of chain `chain`, for one of its subtasks.
    pub fn task(&self, chain: usize) -> Option<ChainTask> {
        self.graph.vertices.get(chain)?.body.as_ref().map(|body| body())
    }
}

/// A job written with `dataflow!`: its graph and the code that builds it.
pub struct Dataflow<F> {
    descriptor: &'static PipelineDescriptor,
    build: F,
}

impl<F: FnOnce(&mut StreamExecutionEnvironment)> Dataflow<F> {
    /// Used by `dataflow!`.
    #[doc(hidden)]
    pub fn new(descriptor: &'static PipelineDescriptor, build: F) -> Self {
        Self { descriptor, build }
    }

    /// The analysed graph.
    pub fn descriptor(&self) -> &'static PipelineDescriptor {
        self.descriptor
    }

    /// Builds the job on `env` (to add to it or run it yourself).
    pub fn build_on(self, env: &mut StreamExecutionEnvironment) {
        (self.build)(env);
    }

    /// Builds and runs the job on a new environment.
    pub fn execute(self) -> Result<JobExecutionResult, JobError> {
        self.descriptor.execute(self.build)
    }
}
