//! What tests and benchmarks share: services they start for themselves on loopback, and
//! media checks.

pub mod media;
pub mod postgres_server;
pub mod redis_server;
pub mod seaweed_server;

pub use postgres_server::PostgresServer;
pub use redis_server::RedisServer;
pub use seaweed_server::SeaweedServer;
