//! One module per subcommand.

pub mod bench;
pub mod render;
pub mod voices;
