//! The job plane every role shares: submit with admission (per-user rate limit, caps, a
//! global bound) and fair share, all as atomic Redis scripts so they hold whichever process
//! submits; leases for workers on a Redis Streams consumer group, reclaimed when a worker
//! goes silent; retries, dead letters, cancel and the job events; the lasting record in
//! Postgres and its recorder; the object store that carries inputs, stage outputs and
//! results between machines; the metrics. Async on tokio throughout, and every client
//! reconnects by itself.

pub mod config;
pub mod error;
pub mod gpu;
pub mod housekeeping;
pub mod keys;
pub mod members;
pub mod metrics;
pub mod queue;
pub mod record;
pub mod recorder;
pub mod retry;
pub mod store;

pub use config::QueueConfig;
pub use error::JobsError;
pub use keys::Keys;
pub use members::Member;
pub use queue::{
    Admission, Claim, Delivery, EventReader, Finished, JobStatus, Lease, Outcome, Queue,
};
pub use record::Record;
pub use store::{LocalStore, S3Store, Store};
