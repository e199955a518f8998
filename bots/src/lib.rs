//! Where users meet the product. One conversation loop (message in -> agent -> job plane ->
//! live progress -> video out) shared by every chat platform; an adapter per platform only
//! translates its messages and calls.

pub mod conversation;
pub mod courier;
pub mod discord;
pub mod error;
pub mod media;
pub mod platform;
pub mod status;
pub mod telegram;
pub mod web;

pub use conversation::Conversation;
pub use courier::Courier;
pub use error::BotError;
pub use platform::{Incoming, IncomingFile, Platform};
