//! `StreamExecutionEnvironment`: where a job is described and from where it is executed.

use std::cell::RefCell;
use std::path::Path;
use std::rc::{Rc, Weak};

use super::chain::{Parts, PendingChain};
use super::datastream::{DataStream, SourceStream};
use crate::checkpoint::{CheckpointConfig, CheckpointStorage, FileCheckpointStorage, RestartStrategy};
use crate::data::Data;
use crate::error::{ConfigError, JobError};
use crate::executor::{self, JobExecutionResult, JobHandle};
use crate::graph::{HeadKind, JobGraph, VertexId};
use crate::input::ChainHead;
use crate::keygroup::UPPER_BOUND_MAX_PARALLELISM;
use crate::operator::OperatorId;
use crate::source::{FnSource, FunctionSource, IterSource, SequenceSource, SourceFunction, TextFileSource};
use crate::state::StateBackend;

/// The builder state shared by an environment and its streams.
pub(crate) struct EnvInner {
    pub(crate) graph: JobGraph,
    pub(crate) parallelism: u32,
    pub(crate) chain_breaks: Vec<VertexId>,
    pub(crate) pending: Vec<Weak<dyn PendingChain>>,
}

/// The entry point of a job (Flink's `StreamExecutionEnvironment`): create sources from it,
/// transform the streams, end them in sinks, then [`execute`](Self::execute).
///
/// ```
/// use streamcrab_runtime::api::StreamExecutionEnvironment;
///
/// let env = StreamExecutionEnvironment::new("doubles");
/// let out = env.from_sequence(1, 3).map(|x| x * 2).collect_to_vec();
/// env.execute().unwrap();
/// assert_eq!(out.values(), vec![2, 4, 6]);
/// ```
#[derive(Clone)]
pub struct StreamExecutionEnvironment {
    pub(crate) inner: Rc<RefCell<EnvInner>>,
}

impl StreamExecutionEnvironment {
    /// An environment for the job `name`, with default parallelism 1, running on the embedded
    /// executor.
    pub fn new(name: &str) -> Self {
        Self {
            inner: Rc::new(RefCell::new(EnvInner {
                graph: JobGraph::new(name),
                parallelism: 1,
                chain_breaks: Vec::new(),
                pending: Vec::new(),
            })),
        }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut EnvInner) -> R) -> R {
        f(&mut self.inner.borrow_mut())
    }

    /// Sets the default parallelism of operators (not of non-parallel sources). Must be at least 1.
    pub fn set_parallelism(&self, parallelism: u32) -> &Self {
        self.with(|env| {
            if parallelism == 0 {
                env.graph.errors.push(ConfigError::ZeroParallelism { operator: "environment".into(), value: 0 });
            } else {
                env.parallelism = parallelism;
            }
        });
        self
    }

    /// The default parallelism of operators.
    pub fn parallelism(&self) -> u32 {
        self.with(|env| env.parallelism)
    }

    /// Sets the default max parallelism (number of key groups) of keyed operators: `1..=32768`.
    pub fn set_max_parallelism(&self, max_parallelism: u32) -> &Self {
        self.with(|env| {
            if (1..=UPPER_BOUND_MAX_PARALLELISM).contains(&max_parallelism) {
                env.graph.default_max_parallelism = Some(max_parallelism);
            } else {
                env.graph.errors.push(ConfigError::MaxParallelismOutOfBounds {
                    operator: "environment".into(),
                    value: max_parallelism,
                });
            }
        });
        self
    }

    /// Sets the job's processing-time clock (default: the wall clock). Tests pass a
    /// [`ManualClock`](crate::clock::ManualClock) to drive processing-time timers and windows.
    pub fn set_clock(&self, clock: impl crate::clock::Clock) -> &Self {
        self.with(|env| env.graph.clock = std::sync::Arc::new(clock));
        self
    }

    /// Takes a checkpoint every `interval` (exactly-once, Flink's defaults otherwise; see
    /// [`set_checkpoint_config`](Self::set_checkpoint_config)). With checkpointing on, a failed
    /// job restarts from its latest completed checkpoint (by default every second, unlimited:
    /// see [`set_restart_strategy`](Self::set_restart_strategy)), and the collecting sink and
    /// two-phase-commit sinks publish their output exactly once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use streamcrab_runtime::api::StreamExecutionEnvironment;
    ///
    /// let env = StreamExecutionEnvironment::new("checkpointed");
    /// env.enable_checkpointing(Duration::from_millis(10));
    /// let doubled = env.from_sequence(1, 100).map(|x| x * 2).collect_to_vec();
    /// let result = env.execute().unwrap();
    /// assert_eq!(doubled.len(), 100, "committed with the job's final checkpoint");
    /// assert!(result.completed_checkpoints() >= 1);
    /// ```
    pub fn enable_checkpointing(&self, interval: std::time::Duration) -> &Self {
        self.set_checkpoint_config(CheckpointConfig::new(interval))
    }

    /// Sets every checkpoint setting at once (mode, timeout, concurrency, pause, tolerated
    /// failures, retention) and turns checkpointing on.
    pub fn set_checkpoint_config(&self, config: CheckpointConfig) -> &Self {
        self.with(|env| env.graph.recovery.checkpointing = Some(config));
        self
    }

    /// How a failed job restarts (default: not at all without checkpointing; fixed delay of 1 s,
    /// unlimited, with checkpointing).
    pub fn set_restart_strategy(&self, strategy: RestartStrategy) -> &Self {
        self.with(|env| env.graph.recovery.restart = Some(strategy));
        self
    }

    /// Keeps keyed state in `backend` (default: [`StateBackend::Heap`]), as Flink's
    /// `state.backend.type`.
    pub fn set_state_backend(&self, backend: StateBackend) -> &Self {
        self.with(|env| env.graph.state_backend = std::sync::Arc::new(backend));
        self
    }

    /// Keeps completed checkpoints as folders under `dir` (default: in memory).
    pub fn set_checkpoint_dir(&self, dir: impl AsRef<Path>) -> &Self {
        self.set_checkpoint_storage(FileCheckpointStorage::new(dir.as_ref()))
    }

    /// Keeps completed checkpoints in `storage`.
    pub fn set_checkpoint_storage(&self, storage: impl CheckpointStorage) -> &Self {
        self.with(|env| env.graph.recovery.storage = Some(std::sync::Arc::new(storage)));
        self
    }

    /// Starts the job from the savepoint (or retained checkpoint) in folder `path`: state is
    /// matched to operators by uid. State of an operator the job does not have is an error,
    /// unless `allow_non_restored_state`.
    pub fn restore_from_savepoint(&self, path: impl AsRef<Path>, allow_non_restored_state: bool) -> &Self {
        let path = path.as_ref().to_path_buf();
        self.with(|env| env.graph.recovery.restore_from = Some((path, allow_non_restored_state)));
        self
    }

    fn source<T: Data, H: ChainHead<T>>(
        &self,
        name: &str,
        kind: HeadKind,
        make: impl FnOnce(OperatorId) -> H,
    ) -> SourceStream<T, H> {
        let parts = self.with(|env| {
            let parallelism = if kind == HeadKind::NonParallelSource { 1 } else { env.parallelism };
            let id = env.graph.add_operator(name);
            let vertex = env.graph.add_vertex(kind, parallelism);
            env.graph.vertices[vertex.0].operators.push(id);
            Parts {
                vertex,
                head: make(id),
                last: crate::operator::Identity,
                last_operator: None,
                head_operator: Some(id),
                _types: std::marker::PhantomData,
            }
        });
        DataStream::from_parts(self.clone(), parts)
    }

    /// A source of the given elements, in order (non-parallel, as Flink's `fromCollection`).
    pub fn from_iter<T, I>(&self, items: I) -> SourceStream<T, IterSource<I>>
    where
        T: Data,
        I: IntoIterator<Item = T> + Clone + Send + 'static,
    {
        self.source("Source: Collection Source", HeadKind::NonParallelSource, |id| IterSource::new(items, id))
    }

    /// A parallel source of the numbers `start..=end` (Flink's `fromSequence`).
    pub fn from_sequence(&self, start: i64, end: i64) -> SourceStream<i64, SequenceSource> {
        self.source("Source: Sequence Source", HeadKind::ParallelSource, |id| SequenceSource::new(start, end, id))
    }

    /// A parallel generator source: subtask `s` of `p` emits `f(s)`, `f(s + p)`, ... until `f`
    /// returns `None` (bounded) or forever (unbounded).
    pub fn from_fn<T, F>(&self, f: F) -> SourceStream<T, FnSource<F, T>>
    where
        T: Data,
        F: FnMut(u64) -> Option<T> + Clone + Send + 'static,
    {
        self.source("Source: Generator Source", HeadKind::ParallelSource, |id| FnSource::new(f, id))
    }

    /// A source of the lines of a UTF-8 text file (non-parallel). A missing or unreadable file
    /// fails the job with an error naming the file.
    pub fn read_text_file(&self, path: impl AsRef<Path>) -> SourceStream<String, TextFileSource> {
        let path = path.as_ref().to_path_buf();
        self.source("Source: Text File", HeadKind::NonParallelSource, |id| TextFileSource::new(path, id))
    }

    /// A source running a user [`SourceFunction`], with the environment's parallelism.
    pub fn add_source<T: Data, S: SourceFunction<T>>(&self, function: S) -> SourceStream<T, FunctionSource<S>> {
        self.source("Source: Custom Source", HeadKind::ParallelSource, |id| FunctionSource::new(function, id))
    }

    /// Closes the chains of streams still open and hands the graph over, leaving an empty one.
    pub(crate) fn take_graph(&self) -> JobGraph {
        self.with(|env| {
            for pending in std::mem::take(&mut env.pending) {
                if let Some(chain) = pending.upgrade() {
                    chain.close(env);
                }
            }
            env.chain_breaks.clear();
            let name = env.graph.name.clone();
            let mut fresh = JobGraph::new(&name);
            fresh.clock = env.graph.clock.clone();
            fresh.state_backend = env.graph.state_backend.clone();
            fresh.default_max_parallelism = env.graph.default_max_parallelism;
            fresh.recovery = env.graph.recovery.clone();
            std::mem::replace(&mut env.graph, fresh)
        })
    }

    /// A text description of the job graph built so far: tasks (chains), their parallelism and
    /// inputs. Streams that are still open (not yet ended in a sink) are not complete in it.
    pub fn describe(&self) -> String {
        self.with(|env| env.graph.describe())
    }

    /// Runs the job on the embedded executor and waits for it to end. Streams of this
    /// environment must not be used afterwards.
    pub fn execute(&self) -> Result<JobExecutionResult, JobError> {
        self.execute_async()?.join()
    }

    /// Starts the job on the embedded executor and returns a handle to cancel or join it.
    pub fn execute_async(&self) -> Result<JobHandle, JobError> {
        executor::start(self.take_graph())
    }
}
