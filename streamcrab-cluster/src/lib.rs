//! The distributed roles of StreamCrab.
//!
//! This crate will hold the JobManager and TaskManager: a gRPC control plane (tonic + prost),
//! a TCP data plane with credit-based flow control, the scheduler, the checkpoint coordinator,
//! failover and rescaling, and the job-binary roles (`jobmanager`, `taskmanager`, `submit`, ...).
//! It is empty so far: jobs run on the embedded executor of `streamcrab-runtime`.
