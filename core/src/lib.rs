//! The spinbot contract shared by every process: plans and their stages, jobs and their
//! events, input limits and the user-facing input errors, defaults. Pure types, no I/O.

pub mod input;
pub mod job;
pub mod limits;
pub mod plan;

pub use input::{sniff_audio, sniff_photo, InputError, SpeechText};
pub use job::{JobEvent, JobId, JobState, UserId};
pub use plan::{Plan, Speech, Stage, Target};
