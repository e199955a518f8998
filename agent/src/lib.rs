//! The agent: what a person writes (and attaches) turned into actions on the job plane,
//! through a rig agent whose tools call the job plane when Ollama is configured, and
//! through the built-in parser when it is not, is unreachable, too slow or unusable.
//! It owns the conversation state kept between messages, and the prompts.

pub mod action;
pub mod admin;
pub mod agent;
pub mod conversation;
pub mod error;
pub mod eval;
pub mod executor;
pub mod model;
pub mod prompts;
pub mod run;
pub mod tools;
pub mod understand;

pub use action::{Action, Pressed};
pub use agent::{Agent, DecidedBy, Message, Reply};
pub use error::AgentError;
pub use executor::{Ask, Caller, Declined, Executor, Hands, Upload};
pub use prompts::Prompts;
pub use spinbot_core::config::OllamaSettings;
