//! What the `#[pipeline]` compiler saw: the analysed job graph as static data, travelling in
//! the binary (`describe`, mermaid, tests), and the way to run a compiled pipeline.

use std::fmt::Write as _;

use super::StreamExecutionEnvironment;
use crate::error::JobError;
use crate::executor::JobExecutionResult;

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

    /// Builds the job with `build` on a new environment named after the pipeline and runs it.
    pub fn execute(&self, build: impl FnOnce(&mut StreamExecutionEnvironment)) -> Result<JobExecutionResult, JobError> {
        let mut env = StreamExecutionEnvironment::new(self.name);
        build(&mut env);
        env.execute()
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
