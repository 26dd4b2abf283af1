//! Typed errors: invalid job settings, task failures and the job result.

use std::fmt;

/// Any error a user function returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of user functions (`ProcessFunction::process_element`, sinks, sources, ...).
pub type UserResult<T = ()> = Result<T, BoxError>;

/// An invalid job setting, found when the job is built or submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Parallelism must be at least 1.
    #[error("operator '{operator}': parallelism must be at least 1, got {value}")]
    ZeroParallelism {
        /// The operator the setting was made on.
        operator: String,
        /// The rejected value.
        value: u32,
    },
    /// Max parallelism must lie in `1..=32768`.
    #[error("operator '{operator}': max parallelism must be between 1 and 32768, got {value}")]
    MaxParallelismOutOfBounds {
        /// The operator the setting was made on.
        operator: String,
        /// The rejected value.
        value: u32,
    },
    /// Max parallelism must not be below the parallelism.
    #[error("operator '{operator}': max parallelism {max_parallelism} is below its parallelism {parallelism}")]
    MaxParallelismBelowParallelism {
        /// The operator at fault.
        operator: String,
        /// Its max parallelism.
        max_parallelism: u32,
        /// Its parallelism.
        parallelism: u32,
    },
    /// A non-parallel source was given a parallelism other than 1.
    #[error("source '{operator}' is not parallel: its parallelism must be 1, got {value}")]
    NonParallelSource {
        /// The source.
        operator: String,
        /// The rejected value.
        value: u32,
    },
    /// `forward()` between operators of different parallelism.
    #[error(
        "forward partitioning does not allow a change of parallelism: '{upstream}' has {upstream_parallelism}, '{downstream}' has {downstream_parallelism}"
    )]
    ForwardParallelismMismatch {
        /// The upstream operator.
        upstream: String,
        /// Its parallelism.
        upstream_parallelism: u32,
        /// The downstream operator.
        downstream: String,
        /// Its parallelism.
        downstream_parallelism: u32,
    },
    /// Two operators share a uid.
    #[error("uid '{uid}' is used by more than one operator ('{first}' and '{second}')")]
    DuplicateUid {
        /// The shared uid.
        uid: String,
        /// The first operator with it.
        first: String,
        /// The second operator with it.
        second: String,
    },
    /// Invalid checkpoint settings.
    #[error("checkpointing: {reason}")]
    InvalidCheckpointing {
        /// What is wrong.
        reason: String,
    },
    /// Invalid window parameters.
    #[error("operator '{operator}': {reason}")]
    InvalidWindow {
        /// The window operator.
        operator: String,
        /// What is wrong.
        reason: String,
    },
    /// The job has no operator to run.
    #[error("the job '{job}' has no sink or operator to execute")]
    EmptyJob {
        /// The job name.
        job: String,
    },
}

/// A list of [`ConfigError`]s, all found at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A stored state value that does not decode as the state's declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state '{name}' of operator uid '{operator_uid}' could not be read: {reason} (did its type change?)")]
pub struct UnreadableState {
    /// The state name.
    pub name: String,
    /// The uid of the operator that owns it.
    pub operator_uid: String,
    /// What the decoder reported.
    pub reason: String,
}

impl StateError {
    /// The error for state `name` of operator `operator_uid` whose value failed to decode.
    pub fn unreadable(name: &str, operator_uid: &str, reason: String) -> Self {
        Self::Deserialize(Box::new(UnreadableState {
            name: name.to_string(),
            operator_uid: operator_uid.to_string(),
            reason,
        }))
    }
}

/// A misuse of the state API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// A state name was registered twice with different types.
    #[error("state '{name}' is already registered with another type")]
    TypeMismatch {
        /// The state name.
        name: String,
    },
    /// A state handle was used with a context of another operator.
    #[error("state handle #{index} does not belong to this operator")]
    UnknownHandle {
        /// The handle's index.
        index: usize,
    },
    /// State could not be encoded for a checkpoint.
    #[error("state '{name}' could not be written to the checkpoint: {reason}")]
    Snapshot {
        /// The state name.
        name: String,
        /// What the encoder reported.
        reason: String,
    },
    /// Restored state could not be decoded (its type changed, or the checkpoint is damaged).
    #[error("state '{name}' could not be restored: {reason}")]
    Restore {
        /// The state name.
        name: String,
        /// What the decoder reported.
        reason: String,
    },
    /// A stored state value could not be decoded: its type changed since it was written.
    #[error("{0}")]
    Deserialize(Box<UnreadableState>),
    /// The state backend itself failed (RocksDB reported an error, a file could not be copied).
    #[error("state backend of operator uid '{operator_uid}': {reason}")]
    Backend {
        /// The uid of the operator whose backend failed.
        operator_uid: String,
        /// What went wrong.
        reason: String,
    },
    /// Restored keyed state was written by another kind of backend.
    #[error("keyed state written by the {found} backend cannot be restored into the {expected} backend")]
    BackendMismatch {
        /// The backend of this run.
        expected: &'static str,
        /// The backend the snapshot came from.
        found: &'static str,
    },
    /// Keyed state outside a keyed context.
    #[error("keyed state '{name}' is only available on a keyed stream (after key_by)")]
    NotKeyed {
        /// The state name.
        name: String,
    },
}

/// Why a task stopped without finishing its input.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A user function panicked.
    #[error("operator '{operator}' panicked: {message}")]
    Panic {
        /// The operator whose function panicked.
        operator: String,
        /// The panic message.
        message: String,
    },
    /// A user function returned an error.
    #[error("operator '{operator}' failed: {source}")]
    User {
        /// The operator whose function failed.
        operator: String,
        /// The error it returned.
        #[source]
        source: BoxError,
    },
    /// A state access failed.
    #[error("operator '{operator}': {source}")]
    State {
        /// The operator.
        operator: String,
        /// What went wrong.
        #[source]
        source: StateError,
    },
    /// Reading or writing a file failed.
    #[error("operator '{operator}': I/O error on '{path}': {source}")]
    Io {
        /// The source or sink.
        operator: String,
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A side output was requested with another type than the one it was declared with.
    #[error("operator '{operator}': side output '{tag}' is consumed with another type")]
    SideOutputType {
        /// The operator.
        operator: String,
        /// The output tag.
        tag: String,
    },
    /// A record without an event timestamp reached an event-time operator.
    #[error(
        "operator '{operator}' needs event timestamps, but a record has none: assign them with assign_timestamps_and_watermarks or emit them from the source"
    )]
    MissingTimestamp {
        /// The event-time operator.
        operator: String,
    },
    /// Merging session windows would move a window's end before the watermark.
    #[error(
        "operator '{operator}': the end timestamp of an event-time window cannot become earlier than the current watermark by merging (window {window})"
    )]
    LateMerge {
        /// The window operator.
        operator: String,
        /// The merged window.
        window: String,
    },
    /// The job graph was wired inconsistently (a bug in StreamCrab, not in the job).
    #[error("internal wiring error: {what}")]
    Wiring {
        /// What was missing.
        what: String,
    },
    /// An upstream task went away without ending its stream (it failed or was cancelled).
    #[error("an upstream task stopped without ending its stream")]
    UpstreamGone,
    /// A downstream task went away (it failed or was cancelled).
    #[error("a downstream task stopped")]
    DownstreamGone,
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl TaskError {
    /// Whether this error is only a consequence of another task's failure or of cancellation.
    pub fn is_secondary(&self) -> bool {
        matches!(self, Self::UpstreamGone | Self::DownstreamGone | Self::Cancelled)
    }
}

/// Why a job did not complete.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job's settings are invalid; nothing ran.
    #[error("invalid job: {0}")]
    InvalidJob(ConfigErrors),
    /// A task failed; the other tasks were cancelled.
    #[error("task '{task}' (subtask {subtask} of {parallelism}) failed: {source}")]
    TaskFailed {
        /// Name of the failed task (its chain of operators).
        task: String,
        /// Index of the failed subtask, from 0.
        subtask: u32,
        /// Parallelism of the task.
        parallelism: u32,
        /// The root cause.
        #[source]
        source: TaskError,
    },
    /// The job was cancelled through its [`JobHandle`](crate::executor::JobHandle).
    #[error("job cancelled")]
    Cancelled,
    /// More consecutive checkpoints failed than the job tolerates.
    #[error("{failures} consecutive checkpoints failed (the last: {last})")]
    CheckpointFailures {
        /// Consecutive failures.
        failures: u32,
        /// Why the last one failed.
        last: String,
    },
    /// The checkpoint or savepoint to start from could not be used.
    #[error("cannot restore: {0}")]
    Restore(#[from] crate::checkpoint::CheckpointError),
    /// A task thread could not be started.
    #[error("could not start task thread '{task}': {source}")]
    Spawn {
        /// The task.
        task: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl JobError {
    /// The task error behind a [`JobError::TaskFailed`].
    pub fn task_error(&self) -> Option<&TaskError> {
        match self {
            Self::TaskFailed { source, .. } => Some(source),
            _ => None,
        }
    }
}
