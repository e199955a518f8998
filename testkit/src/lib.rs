//! What tests and benchmarks share: services they start for themselves on loopback.

pub mod redis_server;

pub use redis_server::RedisServer;
