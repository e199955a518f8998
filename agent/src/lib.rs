//! The agent: what a person writes (and attaches) turned into actions on the job plane,
//! through a rig agent whose tools call the job plane when Ollama is configured, and
//! through the built-in parser when it is not, is unreachable, too slow or unusable.

pub mod action;
pub mod eval;
pub mod parser;

pub use action::Action;
