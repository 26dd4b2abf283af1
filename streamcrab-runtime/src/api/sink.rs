//! `DataStreamSink`: the end of a stream in a sink, whose settings may still change.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::chain::PendingChain;
use super::environment::{EnvInner, StreamExecutionEnvironment};
use crate::error::ConfigError;
use crate::graph::VertexId;
use crate::operator::OperatorId;

type FinishSink = Box<dyn FnOnce(&mut EnvInner, u32) -> VertexId>;

struct SinkCell {
    operator: OperatorId,
    parallelism: Cell<Option<u32>>,
    finish: RefCell<Option<FinishSink>>,
}

impl PendingChain for SinkCell {
    fn close(&self, env: &mut EnvInner) {
        let finish = self.finish.borrow_mut().take();
        if let Some(finish) = finish {
            let parallelism = self.parallelism.get().unwrap_or(env.parallelism);
            let vertex = finish(env, parallelism);
            env.graph.vertices[vertex.0].is_sink = true;
        }
    }
}

/// A sink at the end of a stream (Flink's `DataStreamSink`). Its chain is closed when it is
/// dropped or when the job is executed, so its settings can still be changed until then.
pub struct DataStreamSink {
    env: StreamExecutionEnvironment,
    cell: Rc<SinkCell>,
}

impl DataStreamSink {
    pub(crate) fn new(
        env: StreamExecutionEnvironment,
        operator: OperatorId,
        finish: impl FnOnce(&mut EnvInner, u32) -> VertexId + 'static,
    ) -> Self {
        let cell =
            Rc::new(SinkCell { operator, parallelism: Cell::new(None), finish: RefCell::new(Some(Box::new(finish))) });
        let pending: Rc<dyn PendingChain> = cell.clone();
        env.with(|e| e.pending.push(Rc::downgrade(&pending)));
        Self { env, cell }
    }

    /// Names the sink.
    pub fn name(self, name: &str) -> Self {
        self.env.with(|env| env.graph.operators[self.cell.operator.0 as usize].name = name.to_string());
        self
    }

    /// Gives the sink a stable id.
    pub fn uid(self, uid: &str) -> Self {
        self.env.with(|env| env.graph.operators[self.cell.operator.0 as usize].uid = Some(uid.to_string()));
        self
    }

    /// Sets the sink's parallelism. Must be at least 1.
    pub fn set_parallelism(self, parallelism: u32) -> Self {
        if parallelism == 0 {
            self.env.with(|env| {
                let operator = env.graph.operators[self.cell.operator.0 as usize].name.clone();
                env.graph.errors.push(ConfigError::ZeroParallelism { operator, value: 0 });
            });
        } else {
            self.cell.parallelism.set(Some(parallelism));
        }
        self
    }
}

impl Drop for DataStreamSink {
    fn drop(&mut self) {
        self.env.with(|env| self.cell.close(env));
    }
}
