//! The spinbot contract shared by every process: the configuration (read once at start),
//! plans and their stages, jobs and their events, policy refusals, input limits and the
//! user-facing input errors, defaults. Pure types; the only I/O is reading the
//! configuration.

pub mod config;
pub mod input;
pub mod job;
pub mod limits;
pub mod plan;
pub mod refusal;
pub mod timbre;
pub mod voices;

pub use config::{Config, ConfigError, DeviceChoice};
pub use input::{sniff_audio, sniff_photo, AudioKind, InputError, SpeechText};
pub use job::{Job, JobClass, JobEvent, JobId, JobState, UserId};
pub use plan::{Crop, Plan, Speech, Stage, Target};
pub use refusal::Refusal;
pub use timbre::Timbre;
pub use voices::VoiceEntry;
