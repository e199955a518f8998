//! The spinbot contract shared by every process: plans and their stages, input limits and
//! the user-facing input errors, render defaults. Pure types, no I/O.

pub mod input;
pub mod limits;
pub mod plan;

pub use input::{InputError, SpeechText};
pub use plan::{Plan, Speech, Stage, Target};
